/*
** image_jpeg.c -- JPEG decoding with libjpeg-turbo's libjpeg API, from
** memory. Grey JPEGs stay grey, everything else is decoded to RGB; CMYK and
** YCCK are refused with a message (convert them to RGB first). EXIF
** orientation is not applied (neither PIL nor Keras's load_img does).
** libjpeg's error_exit longjmps back here instead of calling exit(); the
** "premature end of JPEG file" warning (a truncated file, which libjpeg
** would pad with grey) is made an error too, other warnings are ignored.
** A progressive file with more than MAX_SCANS scans is refused (a known
** way for a tiny file to take minutes to decode). Scanlines go to the sink
** one at a time (a progressive file still needs libjpeg's coefficient
** buffer, about 2 bytes per pixel and component, bounded by the pixel
** limit checked from the header).
*/
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "image_dec.h"

#define MAX_SCANS 1000

typedef struct JErr {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
	char msg[JMSG_LENGTH_MAX];
	int truncated, scans;
} JErr;

static void on_error_exit(j_common_ptr cinfo)
{
	JErr *je = (JErr *)cinfo->err;
	cinfo->err->format_message(cinfo, je->msg);
	longjmp(je->jb, 1);
}

static void on_emit(j_common_ptr cinfo, int level)
{
	JErr *je = (JErr *)cinfo->err;
	if (level >= 0)
		return;   /* trace messages */
	if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
		je->truncated = 1;
		longjmp(je->jb, 1);
	}
	cinfo->err->num_warnings++;
}

static void on_output(j_common_ptr cinfo)
{
	(void)cinfo;   /* never print */
}

static void on_progress(j_common_ptr cinfo)
{
	if (!cinfo->is_decompressor)
		return;
	JErr *je = (JErr *)cinfo->err;
	if (((j_decompress_ptr)cinfo)->input_scan_number > MAX_SCANS) {
		je->scans = 1;
		longjmp(je->jb, 1);
	}
}

/* The message for a failed decode. */
static int jpeg_fail(const char *path, const JErr *je, RtErr *e)
{
	if (je->truncated)
		return rt_errorf(e, "%s: truncated JPEG data (the file ends early)", path);
	if (je->scans)
		return rt_errorf(e, "%s: corrupt JPEG: more than %d progressive scans", path, MAX_SCANS);
	return rt_errorf(e, "%s: corrupt JPEG: %s", path, je->msg);
}

int img_jpeg_decode(const char *path, const uint8_t *buf, size_t n, ImgSink *sink, RtErr *e)
{
	struct jpeg_decompress_struct cinfo;
	struct jpeg_progress_mgr prog = {.progress_monitor = on_progress};
	JErr je;
	memset(&je, 0, sizeof je);
	cinfo.err = jpeg_std_error(&je.pub);
	je.pub.error_exit = on_error_exit;
	je.pub.emit_message = on_emit;
	je.pub.output_message = on_output;
	uint8_t *volatile px = NULL;
	volatile int rc = -1;
	if (setjmp(je.jb)) {
		jpeg_fail(path, &je, e);
		goto done;
	}
	jpeg_create_decompress(&cinfo);
	cinfo.progress = &prog;
	jpeg_mem_src(&cinfo, buf, (unsigned long)n);
	jpeg_read_header(&cinfo, TRUE);
	if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
		rt_errorf(e, "%s: CMYK JPEG is not supported (convert it to RGB first)", path);
		goto done;
	}
	if (img_check_size(path, "JPEG", cinfo.image_width, cinfo.image_height, e))
		goto done;
	cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_start_decompress(&cinfo);
	int c = cinfo.output_components;
	size_t w = cinfo.output_width, h = cinfo.output_height, stride = w * c;
	if ((c != 1 && c != 3) || w != cinfo.image_width || h != cinfo.image_height) {
		rt_errorf(e, "%s: JPEG layout not understood (%d components)", path, c);
		goto done;
	}
	if (!(px = malloc(stride))) {
		rt_errorf(e, "%s: out of memory decoding a %zux%zu JPEG", path, w, h);
		goto done;
	}
	if (sink->begin(sink, path, (int)w, (int)h, c, e))
		goto done;
	while (cinfo.output_scanline < h) {
		JSAMPROW row = px;
		if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) {
			rt_errorf(e, "%s: truncated JPEG data (the file ends early)", path);
			goto done;
		}
		sink->row(sink, px);
	}
	jpeg_finish_decompress(&cinfo);
	rc = 0;
done:
	jpeg_destroy_decompress(&cinfo);
	free(px);
	return rc;
}
