/*
** synth_mri.c -- modality B of lunac-synth: an MRI-like grey axial slice.
**
** Nuisance (every class): the head's position, scale and rotation (up to
** 20 degrees), tissue texture, ventricle size within the normal range, a
** bias field, overall contrast, and Rician noise.
** Signal (the class): an intensity pattern inside the brain, placed at
** random (so left/right flips keep the class):
**   0 healthy     nothing
**   1 mass        one compact bright blob
**   2 ring        a bright ring around a dark core (ring enhancement)
**   3 diffuse     a large faint bright region with a soft, uneven edge
**   4 spots       4-8 small bright spots
**   5 dark        one dark (hypo-intense) region
**   6 ventricles  the two central dark ventricles enlarged about twice
*/
#include <math.h>

#include "synth.h"

const char *const syn_mri_classes[SYN_MRI_CLASSES] = {
	"0_healthy", "1_mass", "2_ring", "3_diffuse", "4_spots", "5_dark", "6_ventricles",
};

#define MAXSPOTS 8

/* One sample's anatomy and pattern, in head units: the head is the unit
** disc after un-rotating and un-scaling image coordinates. */
typedef struct Head {
	float cx, cy, ax, ay, cosr, sinr;   /* centre, semi-axes, rotation (image units) */
	float vent, contrast, bias[3];
	int cls, nspots;
	float px[MAXSPOTS], py[MAXSPOTS], pr[MAXSPOTS], amp;
} Head;

/* A point drawn uniformly from the disc of radius rmax. */
static void in_disc(SynRng *r, float rmax, float *x, float *y)
{
	float rad = rmax * sqrtf(syn_u(r)), ang = syn_range(r, 0, 6.2831853f);
	*x = rad * cosf(ang);
	*y = rad * sinf(ang);
}

/* Draw the head's pose and the class pattern. */
static void head_new(Head *H, int cls, SynRng *r, SynRng *pat)
{
	float scale = syn_range(r, 0.88f, 1.08f), rot = syn_range(r, -0.35f, 0.35f);
	H->cx = 0.5f + syn_range(r, -0.04f, 0.04f);
	H->cy = 0.5f + syn_range(r, -0.04f, 0.04f);
	H->ax = 0.34f * scale;
	H->ay = 0.42f * scale;
	H->cosr = cosf(rot);
	H->sinr = sinf(rot);
	H->vent = cls == 6 ? syn_range(r, 1.8f, 2.3f) : syn_range(r, 0.8f, 1.2f);
	H->contrast = syn_range(r, 0.85f, 1.15f);
	float ang = syn_range(r, 0, 6.2831853f);
	H->bias[0] = syn_range(r, 0.05f, 0.2f);
	H->bias[1] = cosf(ang);
	H->bias[2] = sinf(ang);
	H->cls = cls;
	H->nspots = cls == 4 ? 4 + (int)(syn_u(pat) * 5) : cls == 1 || cls == 2 || cls == 3 || cls == 5;
	for (int k = 0; k < H->nspots; k++) {
		in_disc(pat, cls == 4 ? 0.7f : 0.5f, &H->px[k], &H->py[k]);
		H->pr[k] = cls == 4 ? syn_range(pat, 0.035f, 0.05f) : cls == 3 ? syn_range(pat, 0.22f, 0.3f)
		         : cls == 2 ? syn_range(pat, 0.13f, 0.18f) : syn_range(pat, 0.1f, 0.15f);
	}
	H->amp = cls == 3 ? syn_range(pat, 0.15f, 0.22f) : cls == 5 ? -syn_range(pat, 0.22f, 0.3f)
	       : syn_range(pat, 0.35f, 0.5f);
}

/* The two ventricles: dark tilted ellipses beside the midline; 1 inside. */
static float ventricles(const Head *H, float u, float v, float px)
{
	float best = 0;
	for (int side = -1; side <= 1; side += 2) {
		float du = u - side * 0.11f * H->vent, dv = v + 0.04f;
		float c = cosf(side * 0.35f), s = sinf(side * 0.35f);
		float a = (du * c + dv * s) / (0.06f * H->vent), b = (-du * s + dv * c) / (0.2f * H->vent);
		float rho = sqrtf(a * a + b * b);
		float cover = syn_edge((1 - rho) * 0.06f * H->vent / px, 1.5f);
		best = cover > best ? cover : best;
	}
	return best;
}

/* The class pattern's intensity change at head point (u, v); px: a pixel in head units. */
static float pattern(const Head *H, const SynRng *diffuse, float u, float v, float px)
{
	float add = 0;
	for (int k = 0; k < H->nspots; k++) {
		float du = u - H->px[k], dv = v - H->py[k], d = sqrtf(du * du + dv * dv), r = H->pr[k];
		if (H->cls == 3) {
			float wob = 0.6f + 0.8f * syn_vnoise(diffuse, 5, (u + 1) / 2, (v + 1) / 2);
			add += H->amp * expf(-d * d / (2 * r * r)) * wob;
		} else if (H->cls == 2) {
			float ring = syn_edge((0.045f - fabsf(d - r)) / px, 1.5f);
			add += H->amp * ring - 0.15f * syn_edge((r - 0.045f - d) / px, 1.5f);
		} else {
			add += H->amp * syn_edge((r - d) / px, 2.0f);
		}
	}
	return add;
}

/* The noise-free intensity at head point (u, v): skull ring, CSF gap,
** brain with texture, ventricles and the pattern. */
static float tissue(const Head *H, const SynRng *tex, const SynRng *diffuse, float u, float v, float px)
{
	float rho = sqrtf(u * u + v * v);
	float skull = syn_edge((1 - rho) / px, 1.5f) * syn_edge((rho - 0.91f) / px, 1.5f);
	float brain = syn_edge((0.86f - rho) / px, 1.5f);
	float t = syn_vnoise(tex, 8, (u + 1) / 2, (v + 1) / 2) - 0.5f;
	float b = 0.45f + 0.12f * t + 0.07f * syn_edge((0.55f - rho) / px, 6.0f);
	b += (0.1f - b) * ventricles(H, u, v, px);
	b += pattern(H, diffuse, u, v, px);
	return 0.85f * skull + 0.12f * (1 - skull) * (rho < 1) + (b - 0.12f) * brain;
}

/* Draw sample `sample` of class cls: head, tissue, pattern, bias field, Rician noise. */
void syn_mri(uint64_t seed, uint64_t sample, int cls, Canvas *cv)
{
	int s = cv->s;
	SynRng head = syn_rng(seed, sample, SYN_MRI_HEAD), pat = syn_rng(seed, sample, SYN_MRI_PATTERN);
	SynRng tex = syn_rng(seed, sample, SYN_MRI_TISSUE), dif = syn_rng(seed, sample, SYN_MRI_DIFFUSE);
	SynRng noise = syn_rng(seed, sample, SYN_MRI_NOISE);
	Head H;
	head_new(&H, cls, &head, &pat);
	float sigma = syn_range(&noise, 0.02f, 0.04f);
	float px = 1.0f / (s * H.ax);   /* a pixel in head units (about) */
	for (int j = 0; j < s; j++)
		for (int i = 0; i < s; i++) {
			float x = (i + 0.5f) / s - H.cx, y = (j + 0.5f) / s - H.cy;
			float u = (x * H.cosr + y * H.sinr) / H.ax, v = (-x * H.sinr + y * H.cosr) / H.ay;
			float val = tissue(&H, &tex, &dif, u, v, px) * H.contrast;
			val *= 1 + H.bias[0] * (2 * x * H.bias[1] + 2 * y * H.bias[2]);
			float n1 = sigma * syn_normal(&noise), n2 = sigma * syn_normal(&noise);
			cv->px[(size_t)j * s + i] = sqrtf((val + n1) * (val + n1) + n2 * n2);
		}
}
