/*
** image_dec.h -- private to the image_*.c files: the three decoders, each
** working on the whole file in memory and handing the decoded rows, top
** to bottom, to a sink (a full image, or the streaming resize of
** img_load); the size limit they share; the streaming resize.
** Each decoder returns 0 after the sink has had every row, or -1 with e
** naming path; none prints, exits or leaks on any input. Each checks the
** header's dimensions with img_check_size before it allocates anything
** that grows with them.
*/
#ifndef LUNAC_IMAGE_DEC_H
#define LUNAC_IMAGE_DEC_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"

#define IMG_MAX_SIDE 32768

/* 0 when w x h is within the limits (sides 1..32768, at most
** img_max_pixels() pixels), else -1 with a message naming path, what
** ("PNG"), the dimensions, the limit and how to change it. */
int img_check_size(const char *path, const char *what, int64_t w, int64_t h, RtErr *e);

/* Where a decoder puts its rows: begin once with the dimensions and the
** channels of the rows (1 grey or 3 RGB), then row for y = 0 .. h-1, each
** w * c bytes (valid during the call only). */
typedef struct ImgSink {
	int (*begin)(struct ImgSink *s, const char *path, int w, int h, int c, RtErr *e);
	void (*row)(struct ImgSink *s, const uint8_t *px);
} ImgSink;

int img_png_decode(const char *path, const uint8_t *buf, size_t n, ImgSink *s, RtErr *e);
int img_jpeg_decode(const char *path, const uint8_t *buf, size_t n, ImgSink *s, RtErr *e);
int img_bmp_decode(const char *path, const uint8_t *buf, size_t n, ImgSink *s, RtErr *e);

/* The resize of img_to_tensor fed one source row at a time (image_resize.c):
** it keeps the rows of the output still open, never the source image. */
typedef struct ImgResize ImgResize;

/* A resize of an sw x sh image of sc channels to planar float [c, h, w] at
** dst by filter f; NULL when out of memory. */
ImgResize *img_resize_new(int sw, int sh, int sc, int c, int h, int w, ImgFilter f, float *dst);
/* Add the next source row (sw * sc bytes); the last one completes dst. */
void img_resize_row(ImgResize *r, const uint8_t *row);
void img_resize_free(ImgResize *r);

#endif
