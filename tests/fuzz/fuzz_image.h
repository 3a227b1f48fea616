/*
** fuzz_image.h -- the body of the image harnesses (fuzz_png.c, fuzz_jpeg.c,
** fuzz_bmp.c): img_decode, the runtime's decoding entry point, which picks
** the decoder by signature, on the input as a file; each harness has its
** own seed corpus of one format. An image that decodes has 1 or 3
** channels, sides within the limits and every pixel byte readable; it is
** then preprocessed (img_to_tensor) to 1 and 3 channels of a small size,
** as training does, and every value must lie in [0,1].
*/
#include <string.h>

#include "fuzz.h"
#include "image.h"

/* Decode the input; check the image and its preprocessing. The streaming
** path (img_load: datasets and predict) must agree with decoding whole and
** preprocessing (img_decode + img_to_tensor) bit for bit, and fail exactly
** when it fails. The pixel limit is lowered to 2^22 so that tiny files that
** declare huge images are refused quickly (the check is the same code). */
static int fuzz_image(const char *parser, const uint8_t *data, size_t size)
{
	static int limited;
	if (!limited) {
		img_set_max_pixels(1 << 22);
		limited = 1;
	}
	char *path = fuzz_file("in.img", data, size);
	Image im;
	RtErr e = {0};
	int whole = img_decode(path, &im, &e) == 0;
	float t[3 * 5 * 7], s[3 * 5 * 7];
	if (whole) {
		if ((im.c != 1 && im.c != 3) || im.w < 1 || im.h < 1 || im.w > 32768 || im.h > 32768 ||
		    !im.px)
			fuzz_fail(parser, "a decoded image has an impossible shape");
		volatile unsigned sum = 0;
		for (size_t i = 0; i < (size_t)im.w * im.h * im.c; i++)
			sum += im.px[i];
	} else {
		fuzz_check_failure(parser, e.set, e.msg);
	}
	for (int c = 1; c <= 3; c += 2) {
		RtErr es = {0};
		int streamed = img_load(path, c, 5, 7, s, &es) == 0;
		if (!streamed)
			fuzz_check_failure(parser, es.set, es.msg);
		if (streamed != whole)
			fuzz_fail(parser, "img_load and img_decode disagree on whether the image decodes");
		if (!whole)
			continue;
		img_to_tensor(&im, c, 5, 7, t);
		for (int i = 0; i < c * 5 * 7; i++) {
			if (!(t[i] >= 0 && t[i] <= 1))
				fuzz_fail(parser, "a preprocessed pixel is outside [0,1]");
			if (memcmp(&t[i], &s[i], sizeof t[i]))
				fuzz_fail(parser, "img_load differs from img_decode + img_to_tensor");
		}
	}
	if (whole)
		img_free(&im);
	free(path);
	return 0;
}
