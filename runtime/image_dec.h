/*
** image_dec.h -- private to the image_*.c files: the three decoders, each
** working on the whole file in memory, and the size limit they share.
** Each returns 0 with out filled (px malloc'ed) or -1 with e naming path
** and out zeroed; none prints, exits or leaks on any input.
*/
#ifndef LUNAC_IMAGE_DEC_H
#define LUNAC_IMAGE_DEC_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"

#define IMG_MAX_SIDE   32768
#define IMG_MAX_PIXELS (1ll << 28)

/* 0 when w x h is within the limits (sides 1..32768, at most 2^28 pixels),
** else -1 with a message "path: what image dimensions WxH exceed ...". */
int img_check_size(const char *path, const char *what, int64_t w, int64_t h, RtErr *e);

int img_png_decode(const char *path, const uint8_t *buf, size_t n, Image *out, RtErr *e);
int img_jpeg_decode(const char *path, const uint8_t *buf, size_t n, Image *out, RtErr *e);
int img_bmp_decode(const char *path, const uint8_t *buf, size_t n, Image *out, RtErr *e);

#endif
