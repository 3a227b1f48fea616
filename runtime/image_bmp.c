/*
** image_bmp.c -- our own BMP reader. Accepts a BITMAPINFOHEADER or any
** later header (V2-V5, 40 bytes and up); uncompressed 1/4/8-bit palette,
** 16, 24 and 32-bit pixels; BI_BITFIELDS / BI_ALPHABITFIELDS masks for 16
** and 32-bit; bottom-up and top-down rows. RLE, JPEG- and PNG-in-BMP and
** the OS/2 1.x header are refused with a message. A palette whose colours
** are all grey gives a 1-channel image; everything else is RGB; alpha is
** dropped; a pixel whose index is past the palette's colours is an error
** naming its row and column (not black). Every size is checked against the file length in 64-bit
** arithmetic after the dimensions are bounded, so nothing can overflow.
*/
#include <stdlib.h>
#include <string.h>

#include "image_dec.h"

enum { BI_RGB, BI_RLE8, BI_RLE4, BI_BITFIELDS, BI_JPEG, BI_PNG, BI_ALPHABITFIELDS };

typedef struct Bmp {
	const char *path;
	const uint8_t *buf;
	size_t n;
	int64_t w, h;           /* h > 0; topdown says the row order */
	int topdown, bpp, comp;
	uint64_t data;          /* offset of the pixel rows */
	uint32_t mask[3];       /* R, G, B for 16 and 32-bit */
	uint8_t pal[256][3];    /* R, G, B */
	int npal;               /* the palette's colours: a larger index is an error */
	int grey;               /* a palette of grey colours only */
} Bmp;

static uint32_t u16(const uint8_t *p) { return p[0] | (uint32_t)p[1] << 8; }
static uint32_t u32(const uint8_t *p) { return u16(p) | u16(p + 2) << 16; }

/* The file header and the fixed fields of the info header. */
static int read_header(Bmp *b, RtErr *e)
{
	const uint8_t *p = b->buf;
	if (b->n < 14 + 4)
		return rt_errorf(e, "%s: truncated BMP header", b->path);
	uint64_t hsize = u32(p + 14);
	if (hsize == 12)
		return rt_errorf(e, "%s: OS/2 1.x BMP (12-byte header) is not supported", b->path);
	if (hsize < 40)
		return rt_errorf(e, "%s: corrupt BMP: info header of %llu bytes", b->path,
		                 (unsigned long long)hsize);
	if (14 + hsize > b->n)
		return rt_errorf(e, "%s: truncated BMP header", b->path);
	int64_t w = (int32_t)u32(p + 18), h = (int32_t)u32(p + 22);
	b->bpp = (int)u16(p + 28);
	b->comp = (int)u32(p + 30);
	if (b->comp == BI_RLE8 || b->comp == BI_RLE4)
		return rt_errorf(e, "%s: RLE-compressed BMP is not supported (save it uncompressed)",
		                 b->path);
	if (b->comp == BI_JPEG || b->comp == BI_PNG)
		return rt_errorf(e, "%s: BMP with embedded %s data is not supported", b->path,
		                 b->comp == BI_JPEG ? "JPEG" : "PNG");
	if (b->comp != BI_RGB && b->comp != BI_BITFIELDS && b->comp != BI_ALPHABITFIELDS)
		return rt_errorf(e, "%s: BMP compression %d is not supported", b->path, b->comp);
	if (u16(p + 26) != 1)
		return rt_errorf(e, "%s: corrupt BMP: %u planes", b->path, u16(p + 26));
	b->topdown = h < 0;
	b->w = w;
	b->h = h < 0 ? -h : h;
	if (img_check_size(b->path, "BMP", b->w, b->h, e))
		return -1;
	b->data = u32(p + 10);
	return 0;
}

/* Masks for 16 and 32-bit: in the header (V2 and later) or right after a
** 40-byte one -- the same offset -- or the defaults of BI_RGB. */
static int read_masks(Bmp *b, RtErr *e)
{
	if (b->comp == BI_RGB) {
		if (b->bpp == 16)
			b->mask[0] = 0x7C00, b->mask[1] = 0x03E0, b->mask[2] = 0x001F;
		else
			b->mask[0] = 0xFF0000, b->mask[1] = 0xFF00, b->mask[2] = 0xFF;
		return 0;
	}
	uint64_t at = 14 + 40;
	if (at + 12 > b->n)
		return rt_errorf(e, "%s: truncated BMP header (bit field masks)", b->path);
	for (int k = 0; k < 3; k++) {
		b->mask[k] = u32(b->buf + at + 4 * k);
		if (b->bpp == 16 && b->mask[k] > 0xFFFF)
			return rt_errorf(e, "%s: corrupt BMP: mask %08x wider than 16 bits", b->path,
			                 b->mask[k]);
	}
	return 0;
}

/* The palette of a 1/4/8-bit image, starting at off. */
static int read_palette(Bmp *b, uint64_t off, RtErr *e)
{
	uint64_t max = 1u << b->bpp, used = u32(b->buf + 46);
	if (used == 0)
		used = max;
	if (used > max)
		return rt_errorf(e, "%s: corrupt BMP: %llu palette colours for %d bits per pixel",
		                 b->path, (unsigned long long)used, b->bpp);
	if (off + 4 * used > b->n)
		return rt_errorf(e, "%s: truncated BMP palette", b->path);
	b->grey = 1;
	b->npal = (int)used;
	for (uint64_t i = 0; i < used; i++) {
		const uint8_t *q = b->buf + off + 4 * i;
		b->pal[i][0] = q[2], b->pal[i][1] = q[1], b->pal[i][2] = q[0];
		b->grey &= q[0] == q[1] && q[1] == q[2];
	}
	return 0;
}

/* A masked field scaled to 0..255. */
static uint8_t field(uint32_t v, uint32_t mask)
{
	if (!mask)
		return 0;
	int shift = __builtin_ctz(mask);
	uint64_t max = ((uint64_t)mask >> shift), x = ((uint64_t)(v & mask)) >> shift;
	return (uint8_t)((x * 255 + max / 2) / max);
}

/* Decode one stored row into dst (c channels per pixel); -1 at a palette
** index past the palette, its column in *bad. */
static int decode_row(const Bmp *b, const uint8_t *row, uint8_t *dst, int c, int64_t *bad)
{
	for (int64_t x = 0; x < b->w; x++) {
		uint8_t *d = dst + x * c;
		if (b->bpp <= 8) {
			int per = 8 / b->bpp;
			int byte = row[x / per], sh = 8 - b->bpp * (int)(x % per + 1);
			int idx = (byte >> sh) & ((1 << b->bpp) - 1);
			if (idx >= b->npal) {
				*bad = x;
				return -1;
			}
			const uint8_t *col = b->pal[idx];
			if (c == 1)
				d[0] = col[0];
			else
				d[0] = col[0], d[1] = col[1], d[2] = col[2];
		} else if (b->bpp == 24) {
			d[0] = row[3 * x + 2], d[1] = row[3 * x + 1], d[2] = row[3 * x];
		} else {
			uint32_t v = b->bpp == 16 ? u16(row + 2 * x) : u32(row + 4 * x);
			for (int k = 0; k < 3; k++)
				d[k] = field(v, b->mask[k]);
		}
	}
	return 0;
}

int img_bmp_decode(const char *path, const uint8_t *buf, size_t n, ImgSink *sink, RtErr *e)
{
	Bmp *b = calloc(1, sizeof *b);
	if (!b)
		return rt_errorf(e, "%s: out of memory", path);
	b->path = path, b->buf = buf, b->n = n;
	int rc = -1;
	if (read_header(b, e))
		goto done;
	if (b->bpp != 1 && b->bpp != 4 && b->bpp != 8 && b->bpp != 16 && b->bpp != 24 &&
	    b->bpp != 32) {
		rt_errorf(e, "%s: BMP with %d bits per pixel is not supported", path, b->bpp);
		goto done;
	}
	if (b->comp != BI_RGB && b->bpp != 16 && b->bpp != 32) {
		rt_errorf(e, "%s: corrupt BMP: bit fields with %d bits per pixel", path, b->bpp);
		goto done;
	}
	if (b->bpp > 8 ? read_masks(b, e)
	               : read_palette(b, 14 + (uint64_t)u32(buf + 14), e))
		goto done;
	/* w <= 32768 and bpp <= 32, so stride <= 128 KiB and stride * h < 2^33. */
	uint64_t stride = ((uint64_t)b->w * b->bpp + 31) / 32 * 4;
	if (b->data > n || stride * b->h > n - b->data) {
		rt_errorf(e, "%s: truncated BMP: %lldx%lld pixels at %d bits need %llu bytes "
		          "from offset %llu, the file has %zu", path, (long long)b->w,
		          (long long)b->h, b->bpp, (unsigned long long)(stride * b->h),
		          (unsigned long long)b->data, n);
		goto done;
	}
	int c = b->bpp <= 8 && b->grey ? 1 : 3;
	uint8_t *px = malloc((size_t)(b->w * c));
	if (!px) {
		rt_errorf(e, "%s: out of memory decoding a BMP", path);
		goto done;
	}
	if (!sink->begin(sink, path, (int)b->w, (int)b->h, c, e)) {
		rc = 0;
		for (int64_t y = 0, x; !rc && y < b->h; y++) {
			int64_t src = b->topdown ? y : b->h - 1 - y;
			if (decode_row(b, buf + b->data + src * stride, px, c, &x))
				rc = rt_errorf(e, "%s: corrupt BMP: row %lld, column %lld: palette index past the "
				               "palette's %d colours", path, (long long)y, (long long)x, b->npal);
			else
				sink->row(sink, px);
		}
	}
	free(px);
done:
	free(b);
	return rc;
}
