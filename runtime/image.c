/*
** image.c -- decoding by content: read the whole file, look at its first
** bytes (PNG, JPEG or BMP signature; the file name does not matter) and
** hand it to that format's decoder. Also img_free and img_load.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_dec.h"

/* Larger files are refused before reading: 2^28 pixels of 32-bit BMP
** (the largest image within the limits) plus headers fit. */
#define MAX_FILE (((uint64_t)IMG_MAX_PIXELS * 4) + (1u << 20))

int img_check_size(const char *path, const char *what, int64_t w, int64_t h, RtErr *e)
{
	if (w < 1 || h < 1)
		return rt_errorf(e, "%s: %s image has no pixels (%lldx%lld)", path, what,
		                 (long long)w, (long long)h);
	if (w > IMG_MAX_SIDE || h > IMG_MAX_SIDE || w * h > IMG_MAX_PIXELS)
		return rt_errorf(e, "%s: %s image dimensions %lldx%lld exceed the limit "
		                 "(sides up to %d, at most %lld pixels)", path, what,
		                 (long long)w, (long long)h, IMG_MAX_SIDE, IMG_MAX_PIXELS);
	return 0;
}

/* The whole of path, malloc'ed, in *buf and *n. */
static int slurp(const char *path, uint8_t **buf, size_t *n, RtErr *e)
{
	*buf = NULL;
	*n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return rt_errorf(e, "%s: cannot open: %s", path, strerror(errno));
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
	if ((uint64_t)st.st_size > MAX_FILE) {
		close(fd);
		return rt_errorf(e, "%s: file too large for an image (%lld bytes)", path,
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

int img_decode(const char *path, Image *out, RtErr *e)
{
	memset(out, 0, sizeof *out);
	uint8_t *buf;
	size_t n;
	if (slurp(path, &buf, &n, e))
		return -1;
	int rc;
	if (n == 0)
		rc = rt_errorf(e, "%s: empty file (not an image)", path);
	else if (n >= 8 && !memcmp(buf, "\x89PNG\r\n\x1a\n", 8))
		rc = img_png_decode(path, buf, n, out, e);
	else if (n >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF)
		rc = img_jpeg_decode(path, buf, n, out, e);
	else if (n >= 2 && buf[0] == 'B' && buf[1] == 'M')
		rc = img_bmp_decode(path, buf, n, out, e);
	else {
		char hex[16] = "";
		for (size_t i = 0, k = 0; i < n && i < 4; i++)
			k += snprintf(hex + k, sizeof hex - k, "%s%02x", i ? " " : "", buf[i]);
		rc = rt_errorf(e, "%s: not a PNG, JPEG or BMP image (it starts with bytes %s)",
		               path, hex);
	}
	free(buf);
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

int img_load(const char *path, int c, int h, int w, float *dst, RtErr *e)
{
	if ((c != 1 && c != 3) || h < 1 || w < 1)
		return rt_errorf(e, "%s: cannot load an image as %d channels of %dx%d "
		                 "(channels must be 1 or 3, sides positive)", path, c, h, w);
	Image im;
	if (img_decode(path, &im, e))
		return -1;
	img_to_tensor(&im, c, h, w, dst);
	img_free(&im);
	return 0;
}
