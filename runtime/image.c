/*
** image.c -- decoding by content: read the whole file, look at its first
** bytes (PNG, JPEG or BMP signature; the file name does not matter) and
** hand it to that format's decoder, with a sink that keeps the whole image
** (img_decode) or resizes the rows as they come (img_load). Also the pixel
** limit every decoder checks from the header before allocating.
*/
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_dec.h"

/* The pixel limit: set by img_set_max_pixels, else read from the
** environment once. */
static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static int64_t env_limit, set_limit;

/* Read LUNAC_MAX_IMAGE_PIXELS (unset or empty: the default; invalid: -1). */
static void read_env(void)
{
	const char *s = getenv("LUNAC_MAX_IMAGE_PIXELS");
	env_limit = IMG_MAX_PIXELS;
	if (!s || !*s)
		return;
	char *end;
	errno = 0;
	long long v = s[0] >= '0' && s[0] <= '9' ? strtoll(s, &end, 10) : -1;
	env_limit = v >= 1 && v <= IMG_LIMIT_PIXELS && !errno && !*end ? v : -1;
}

int64_t img_max_pixels(void)
{
	if (set_limit)
		return set_limit;
	pthread_once(&env_once, read_env);
	return env_limit;
}

void img_set_max_pixels(int64_t n)
{
	set_limit = n < 1 ? 1 : n > IMG_LIMIT_PIXELS ? IMG_LIMIT_PIXELS : n;
}

int img_check_size(const char *path, const char *what, int64_t w, int64_t h, RtErr *e)
{
	int64_t max = img_max_pixels();
	if (max < 0)
		return rt_errorf(e, "%s: LUNAC_MAX_IMAGE_PIXELS=%s is not a number of pixels from 1 to "
		                 "%lld", path, getenv("LUNAC_MAX_IMAGE_PIXELS"), IMG_LIMIT_PIXELS);
	if (w < 1 || h < 1)
		return rt_errorf(e, "%s: %s image has no pixels (%lldx%lld)", path, what,
		                 (long long)w, (long long)h);
	if (w > IMG_MAX_SIDE || h > IMG_MAX_SIDE)
		return rt_errorf(e, "%s: %s image dimensions %lldx%lld exceed the limit of %d pixels a "
		                 "side", path, what, (long long)w, (long long)h, IMG_MAX_SIDE);
	if (w * h > max)
		return rt_errorf(e, "%s: %s image of %lldx%lld = %lld pixels exceeds the limit of %lld "
		                 "pixels (set LUNAC_MAX_IMAGE_PIXELS to raise it, up to %lld)", path,
		                 what, (long long)w, (long long)h, (long long)(w * h), (long long)max,
		                 IMG_LIMIT_PIXELS);
	return 0;
}

/* The whole of path, malloc'ed, in *buf and *n. */
static int slurp(const char *path, uint8_t **buf, size_t *n, RtErr *e)
{
	*buf = NULL;
	*n = 0;
	int fd = rt_open_read(path, e);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		rt_errorf(e, "%s: cannot stat: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return rt_errorf(e, "%s: not a regular file", path);
	}
	/* the largest image within the limit as a 32-bit BMP, plus room for headers */
	int64_t max = img_max_pixels();
	if (max > 0 && (uint64_t)st.st_size > (uint64_t)max * 4 + (1u << 24)) {
		close(fd);
		return rt_errorf(e, "%s: file too large for an image within the limit of %lld pixels "
		                 "(%lld bytes; see LUNAC_MAX_IMAGE_PIXELS)", path, (long long)max,
		                 (long long)st.st_size);
	}
	size_t len = (size_t)st.st_size;
	uint8_t *p = malloc(len ? len : 1);
	if (!p) {
		close(fd);
		return rt_errorf(e, "%s: out of memory reading %zu bytes", path, len);
	}
	int rc = rt_pread_full(fd, p, len, 0, path, e);
	close(fd);
	if (rc) {
		free(p);
		return -1;
	}
	*buf = p;
	*n = len;
	return 0;
}

/* Decode path by its signature into sink s. */
static int decode_into(const char *path, ImgSink *s, RtErr *e)
{
	uint8_t *buf;
	size_t n;
	if (slurp(path, &buf, &n, e))
		return -1;
	int rc;
	if (n == 0)
		rc = rt_errorf(e, "%s: empty file (not an image)", path);
	else if (n >= 8 && !memcmp(buf, "\x89PNG\r\n\x1a\n", 8))
		rc = img_png_decode(path, buf, n, s, e);
	else if (n >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF)
		rc = img_jpeg_decode(path, buf, n, s, e);
	else if (n >= 2 && buf[0] == 'B' && buf[1] == 'M')
		rc = img_bmp_decode(path, buf, n, s, e);
	else {
		char hex[16] = "";
		for (size_t i = 0, k = 0; i < n && i < 4; i++)
			k += snprintf(hex + k, sizeof hex - k, "%s%02x", i ? " " : "", buf[i]);
		rc = rt_errorf(e, "%s: not a PNG, JPEG or BMP image (it starts with bytes %s)",
		               path, hex);
	}
	free(buf);
	return rc;
}

/* A sink that keeps the whole image. */
typedef struct Whole {
	ImgSink sink;
	Image *im;
	int y;
} Whole;

static int whole_begin(ImgSink *s, const char *path, int w, int h, int c, RtErr *e)
{
	Whole *k = (Whole *)s;
	if (!(k->im->px = malloc((size_t)w * h * c)))
		return rt_errorf(e, "%s: out of memory for a %dx%d image", path, w, h);
	k->im->w = w, k->im->h = h, k->im->c = c;
	return 0;
}

static void whole_row(ImgSink *s, const uint8_t *px)
{
	Whole *k = (Whole *)s;
	size_t len = (size_t)k->im->w * k->im->c;
	if (k->y < k->im->h)
		memcpy(k->im->px + (size_t)k->y++ * len, px, len);
}

int img_decode(const char *path, Image *out, RtErr *e)
{
	memset(out, 0, sizeof *out);
	Whole k = {{whole_begin, whole_row}, out, 0};
	int rc = decode_into(path, &k.sink, e);
	if (rc) {
		free(out->px);
		memset(out, 0, sizeof *out);
	}
	return rc;
}

void img_free(Image *im)
{
	if (!im)
		return;
	free(im->px);
	memset(im, 0, sizeof *im);
}

/* A sink that resizes the rows as they come into [c, h, w] floats. */
typedef struct Shrink {
	ImgSink sink;
	int c, h, w;
	ImgFilter f;
	float *dst;
	ImgResize *r;
	ImgSrc src;
} Shrink;

static int shrink_begin(ImgSink *s, const char *path, int w, int h, int c, RtErr *e)
{
	Shrink *k = (Shrink *)s;
	k->src = (ImgSrc){w, h, c};
	if (!(k->r = img_resize_new(w, h, c, k->c, k->h, k->w, k->f, k->dst)))
		return rt_errorf(e, "%s: out of memory resizing a %dx%d image", path, w, h);
	return 0;
}

static void shrink_row(ImgSink *s, const uint8_t *px)
{
	img_resize_row(((Shrink *)s)->r, px);
}

int img_load_as(const char *path, int c, int h, int w, ImgFilter f, float *dst, ImgSrc *src,
                RtErr *e)
{
	if ((c != 1 && c != 3) || h < 1 || w < 1)
		return rt_errorf(e, "%s: cannot load an image as %d channels of %dx%d "
		                 "(channels must be 1 or 3, sides positive)", path, c, h, w);
	Shrink k = {{shrink_begin, shrink_row}, c, h, w, f, dst, NULL, {0, 0, 0}};
	int rc = decode_into(path, &k.sink, e);
	img_resize_free(k.r);
	if (rc)
		memset(dst, 0, sizeof *dst * (size_t)c * h * w);
	if (src)
		*src = k.src;
	return rc;
}

int img_load(const char *path, int c, int h, int w, float *dst, RtErr *e)
{
	return img_load_as(path, c, h, w, IMG_AREA, dst, NULL, e);
}
