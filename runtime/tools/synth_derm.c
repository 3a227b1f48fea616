/*
** synth_derm.c -- modality A of lunac-synth: a dermoscopy-like RGB image.
**
** Nuisance (every class): skin tone, an illumination gradient and
** vignetting, skin texture, hair-like dark strokes, sensor noise; the
** lesion's position, size, rotation and colour are jittered.
** Signal (the class): the lesion's shape and texture.
**   0 round        near-circular, smooth soft border, even colour
**   1 irregular    jagged, notched border (several angular harmonics)
**   2 multicolour  round-ish with dark-brown, light-brown and blue-grey zones
**   3 dotted       light lesion filled with dark globules
**   4 elongated    an ellipse 2.2-3.2 times longer than wide
*/
#include <math.h>

#include "synth.h"

const char *const syn_derm_classes[SYN_DERM_CLASSES] = {
	"0_round", "1_irregular", "2_multicolour", "3_dotted", "4_elongated",
};

#define PI 3.14159265f
#define MAXDOTS 32
#define MAXHARM 6

/* The lesion of one sample, in image units ([0, 1] across the image). */
typedef struct Lesion {
	int cls;
	float cx, cy, a, b, cosr, sinr;    /* centre, semi-axes, rotation */
	float amp[MAXHARM], ph[MAXHARM];   /* border harmonics k = 2..7 */
	float col[3];                       /* base colour */
	float edge;                         /* border softness, in pixels */
	float dx[MAXDOTS], dy[MAXDOTS], dr[MAXDOTS];   /* globules, lesion units */
	int ndots;
} Lesion;

/* Draw the lesion's geometry, colour and (class 3) globules. */
static void lesion_new(Lesion *L, int cls, SynRng *r)
{
	L->cls = cls;
	L->cx = syn_range(r, 0.32f, 0.68f);
	L->cy = syn_range(r, 0.32f, 0.68f);
	float r0 = syn_range(r, 0.15f, 0.24f);
	float aspect = cls == 4 ? syn_range(r, 2.2f, 3.2f) : syn_range(r, 1.0f, 1.25f);
	L->a = r0 * sqrtf(aspect);
	L->b = r0 / sqrtf(aspect);
	float rot = syn_range(r, 0, PI);
	L->cosr = cosf(rot);
	L->sinr = sinf(rot);
	for (int k = 0; k < MAXHARM; k++) {
		int big = cls == 1 && k >= 1;   /* harmonics 3..7 */
		L->amp[k] = big ? syn_range(r, 0.05f, 0.12f) : syn_range(r, 0, 0.02f);
		L->ph[k] = syn_range(r, 0, 2 * PI);
	}
	float shade = syn_range(r, 0.8f, 1.15f);
	static const float brown[3] = {0.45f, 0.28f, 0.18f}, light[3] = {0.64f, 0.46f, 0.34f};
	for (int c = 0; c < 3; c++)
		L->col[c] = (cls == 3 ? light[c] : brown[c]) * shade * syn_range(r, 0.92f, 1.08f);
	L->edge = cls == 0 ? 3.0f : 1.2f;
	L->ndots = cls == 3 ? 14 + (int)(syn_u(r) * 14) : 0;
	for (int k = 0; k < L->ndots; k++) {
		float rad = 0.85f * sqrtf(syn_u(r)), ang = syn_range(r, 0, 2 * PI);
		L->dx[k] = rad * cosf(ang);
		L->dy[k] = rad * sinf(ang);
		L->dr[k] = syn_range(r, 0.09f, 0.14f);
	}
}

/* The lesion's colour at lesion coordinates (u, v) (the unit disc is the
** lesion before its border harmonics); x, y in image units. */
static void lesion_colour(const Lesion *L, const SynRng *tex, const SynRng *zones,
                          float u, float v, float x, float y, int s, float out[3])
{
	float t = syn_vnoise(tex, 10, x, y) - 0.5f;
	float rho = sqrtf(u * u + v * v);
	for (int c = 0; c < 3; c++)
		out[c] = L->col[c] * (1.0f - 0.15f * (1.0f - syn_clamp(rho, 0, 1))) + 0.08f * t;
	if (L->cls == 2) {
		static const float z[3][3] = {{0.28f, 0.16f, 0.11f}, {0.66f, 0.46f, 0.33f},
		                              {0.42f, 0.47f, 0.60f}};
		float w = syn_vnoise(zones, 4, x, y) * 2.0f;   /* 0..2 across the three zones */
		int k = w < 1 ? 0 : 1;
		float f = syn_clamp(w - k, 0, 1);
		for (int c = 0; c < 3; c++)
			out[c] = z[k][c] + (z[k + 1][c] - z[k][c]) * f + 0.06f * t;
	}
	for (int k = 0; k < L->ndots; k++) {
		float du = u - L->dx[k], dv = v - L->dy[k];
		float d = (L->dr[k] - sqrtf(du * du + dv * dv)) * L->b * s;
		float a = syn_edge(d, 1.0f);
		static const float dot[3] = {0.20f, 0.12f, 0.08f};
		for (int c = 0; c < 3; c++)
			out[c] += (dot[c] - out[c]) * a;
	}
}

/* How much of pixel (x, y) the lesion covers, and its colour there. */
static float lesion_at(const Lesion *L, const SynRng *tex, const SynRng *zones,
                       float x, float y, int s, float col[3])
{
	float px = x - L->cx, py = y - L->cy;
	float u = (px * L->cosr + py * L->sinr) / L->a;
	float v = (-px * L->sinr + py * L->cosr) / L->b;
	float rho = sqrtf(u * u + v * v), phi = atan2f(v, u);
	float R = 1.0f;
	for (int k = 0; k < MAXHARM; k++)
		R += L->amp[k] * sinf((k + 2) * phi + L->ph[k]);
	float cover = syn_edge((R - rho) * L->b * s, L->edge);
	if (cover > 0)
		lesion_colour(L, tex, zones, u, v, x, y, s, col);
	return cover;
}

/* Add 0-6 hair strokes (quadratic curves) to the coverage map hair[s*s]. */
static void hair_strokes(float *hair, int s, SynRng *r)
{
	int n = (int)(syn_u(r) * 7);
	for (int h = 0; h < n; h++) {
		float x0 = syn_range(r, -0.1f, 1.1f), y0 = syn_range(r, -0.1f, 1.1f);
		float ang = syn_range(r, 0, 2 * PI), len = syn_range(r, 0.3f, 0.9f);
		float bend = syn_range(r, -0.25f, 0.25f), w = syn_range(r, 0.5f, 1.1f);
		float x2 = x0 + len * cosf(ang), y2 = y0 + len * sinf(ang);
		float x1 = (x0 + x2) / 2 - bend * len * sinf(ang), y1 = (y0 + y2) / 2 + bend * len * cosf(ang);
		int steps = (int)(len * s * 2) + 2;
		for (int k = 0; k <= steps; k++) {
			float t = (float)k / steps, m = 1 - t;
			float qx = (m * m * x0 + 2 * m * t * x1 + t * t * x2) * s;
			float qy = (m * m * y0 + 2 * m * t * y1 + t * t * y2) * s;
			for (int j = (int)floorf(qy - w - 1); j <= (int)ceilf(qy + w + 1); j++)
				for (int i = (int)floorf(qx - w - 1); i <= (int)ceilf(qx + w + 1); i++) {
					if (i < 0 || j < 0 || i >= s || j >= s)
						continue;
					float dx = i + 0.5f - qx, dy = j + 0.5f - qy;
					float a = syn_edge(w - sqrtf(dx * dx + dy * dy), 1.0f);
					if (a > hair[j * s + i])
						hair[j * s + i] = a;
				}
		}
	}
}

/* The skin colour at (x, y): base tone under the illumination gradient,
** vignetting and a faint texture. */
static void skin_at(const float tone[3], const float light[3], const SynRng *tex,
                    float x, float y, float out[3])
{
	float g = 1 + light[0] * ((x - 0.5f) * light[1] + (y - 0.5f) * light[2]);
	float d2 = (x - 0.5f) * (x - 0.5f) + (y - 0.5f) * (y - 0.5f);
	g *= 1 - 0.5f * d2;
	float t = 0.05f * (syn_vnoise(tex, 6, x, y) - 0.5f);
	for (int c = 0; c < 3; c++)
		out[c] = tone[c] * g + t;
}

/* Draw sample `sample` of class cls: skin, lesion, hair, noise (see the top). */
void syn_derm(uint64_t seed, uint64_t sample, int cls, Canvas *cv)
{
	int s = cv->s;
	SynRng shape = syn_rng(seed, sample, SYN_DERM_SHAPE), skin = syn_rng(seed, sample, SYN_DERM_SKIN);
	SynRng tex = syn_rng(seed, sample, SYN_DERM_TEXTURE), zones = syn_rng(seed, sample, SYN_DERM_ZONES);
	SynRng hr = syn_rng(seed, sample, SYN_DERM_HAIR), noise = syn_rng(seed, sample, SYN_DERM_NOISE);
	Lesion L;
	lesion_new(&L, cls, &shape);
	float r0 = syn_range(&skin, 0.78f, 0.93f);
	float tone[3] = {r0, r0 * syn_range(&skin, 0.70f, 0.80f), r0 * syn_range(&skin, 0.56f, 0.68f)};
	float ang = syn_range(&skin, 0, 2 * PI);
	float light[3] = {syn_range(&skin, 0.1f, 0.35f), cosf(ang), sinf(ang)};
	float hair_col[3] = {0.16f, 0.11f, 0.08f};
	float *hcov = cv->aux;
	for (int k = 0; k < s * s; k++)
		hcov[k] = 0;
	hair_strokes(hcov, s, &hr);
	for (int j = 0; j < s; j++)
		for (int i = 0; i < s; i++) {
			float x = (i + 0.5f) / s, y = (j + 0.5f) / s, sk[3], le[3];
			skin_at(tone, light, &tex, x, y, sk);
			float a = lesion_at(&L, &tex, &zones, x, y, s, le);
			float h = hcov[j * s + i];
			float *p = cv->px + ((size_t)j * s + i) * 3;
			for (int c = 0; c < 3; c++) {
				float v = sk[c] + (a > 0 ? (le[c] - sk[c]) * a : 0);
				p[c] = v + (hair_col[c] - v) * h;
			}
		}
	syn_add_noise(cv, &noise, syn_range(&noise, 0.015f, 0.035f));
}
