/*
** image.h -- medical images for the runtime: decoding PNG (libpng), JPEG
** (libjpeg-turbo) and BMP (our own reader) into float tensors, resizing,
** channel conversion, and the seeded augmentations of training.
**
** Errors follow rt.h: 0 on success or -1 with the RtErr filled; every
** message names the file ("scan.png: truncated PNG data"). A corrupt or
** truncated image never crashes and never leaves a partial result.
*/
#ifndef LUNAC_IMAGE_H
#define LUNAC_IMAGE_H

#include <stdint.h>

#include "rt.h"

/* A decoded 8-bit image: h rows of w pixels of c channels (1 grey, 3 RGB;
** grey+alpha and RGBA are reduced to 1 and 3 on decoding), interleaved. */
typedef struct Image {
	int w, h, c;
	uint8_t *px;            /* malloc'ed, w*h*c bytes */
} Image;

/* Decoded images are bounded before anything is allocated: sides up to
** 32768 and at most img_max_pixels() pixels, by default IMG_MAX_PIXELS
** (2^26 = 67,108,864, e.g. 8192 x 8192), changed by the environment
** variable LUNAC_MAX_IMAGE_PIXELS (read once; an integer from 1 to 2^30)
** or img_set_max_pixels. A larger image is an error naming the file, its
** dimensions and the limit. */
#define IMG_MAX_PIXELS (1ll << 26)
#define IMG_LIMIT_PIXELS (1ll << 30)    /* the largest limit that can be set */

/* The pixel limit in force; -1 when LUNAC_MAX_IMAGE_PIXELS is not a valid
** value (img_check_size then says so for every image). */
int64_t img_max_pixels(void);
/* Set the pixel limit (1 .. IMG_LIMIT_PIXELS), overriding the environment;
** before decoding threads start. */
void img_set_max_pixels(int64_t n);

/* Decode path by its content (PNG, JPEG or BMP signature, not the file
** name), the whole image in memory (w * h * c bytes). */
int img_decode(const char *path, Image *out, RtErr *e);
void img_free(Image *im);

/* How images are resized (image_resize.c says exactly): IMG_AREA, an
** exact area average when shrinking and bilinear when enlarging (the
** default), or IMG_BILINEAR, PIL's antialiased bilinear resize byte for
** byte (torchvision's Resize on a PIL image). */
typedef enum { IMG_AREA, IMG_BILINEAR } ImgFilter;

/* "area" or "bilinear"; parse returns -1 for any other text. */
const char *img_filter_name(ImgFilter f);
int img_filter_parse(const char *s, ImgFilter *f);

/* The preprocessing of training and prediction: convert im to c channels
** (grey -> 3 by repetition; RGB -> 1 by ITU-R BT.601 luma), resize to h x w
** by filter f, scale to [0, 1], and write planar float [c, h, w] to dst.
** -1 when out of memory (or c, h, w out of range). img_to_tensor: IMG_AREA. */
int img_to_tensor_as(const Image *im, int c, int h, int w, ImgFilter f, float *dst);
int img_to_tensor(const Image *im, int c, int h, int w, float *dst);

/* What an image file held before it was preprocessed: its size and its
** channels (1 or 3; alpha is dropped on decoding). */
typedef struct ImgSrc {
	int w, h, c;
} ImgSrc;

/* Decode and preprocess in one step, streaming: the decoder's rows go
** straight into the resize (filter f), so the full-size image is never
** held (PNG and JPEG are decoded row by row; an interlaced PNG needs its
** whole image of w * h * channels bytes, a BMP file is in memory anyway).
** src (may be NULL) gets the file's size and channels. On failure dst is
** zeroed. img_load: IMG_AREA, no src. */
int img_load_as(const char *path, int c, int h, int w, ImgFilter f, float *dst, ImgSrc *src,
                RtErr *e);
int img_load(const char *path, int c, int h, int w, float *dst, RtErr *e);

/* Augmentation of one planar float image [c, h, w] in place, in this
** order: rotation by deg degrees about the centre (bilinear, zero fill),
** translation by (dx, dy) pixels (zero fill), horizontal and vertical
** flips, brightness (multiply by factor, clamp to [0, 1]). Identity values:
** deg 0, dx = dy = 0, no flips, factor 1. tmp holds c*h*w floats. */
typedef struct Augment {
	float deg, dx, dy, brightness;
	int hflip, vflip;
} Augment;
void img_augment(float *x, int c, int h, int w, const Augment *a, float *tmp);

/* Write 8-bit pixels as a PNG file atomically (the synthetic data tool). */
int img_write_png(const char *path, const Image *im, RtErr *e);

#endif
