/*
** fuzz_image.h -- the body of the image harnesses (fuzz_png.c, fuzz_jpeg.c,
** fuzz_bmp.c): img_decode, the runtime's decoding entry point, which picks
** the decoder by signature, on the input as a file; each harness has its
** own seed corpus of one format. An image that decodes has 1 or 3
** channels, sides within the limits and every pixel byte readable; it is
** then preprocessed (img_to_tensor) to 1 and 3 channels of a small size,
** as training does, and every value must lie in [0,1].
*/
#include "fuzz.h"
#include "image.h"

/* Decode the input; check the image and its preprocessing. */
static int fuzz_image(const char *parser, const uint8_t *data, size_t size)
{
	char *path = fuzz_file("in.img", data, size);
	Image im;
	RtErr e = {0};
	if (img_decode(path, &im, &e) == 0) {
		if ((im.c != 1 && im.c != 3) || im.w < 1 || im.h < 1 || im.w > 32768 || im.h > 32768 ||
		    !im.px)
			fuzz_fail(parser, "a decoded image has an impossible shape");
		volatile unsigned sum = 0;
		for (size_t i = 0; i < (size_t)im.w * im.h * im.c; i++)
			sum += im.px[i];
		float t[3 * 5 * 7];
		for (int c = 1; c <= 3; c += 2) {
			img_to_tensor(&im, c, 5, 7, t);
			for (int i = 0; i < c * 5 * 7; i++)
				if (!(t[i] >= 0 && t[i] <= 1))
					fuzz_fail(parser, "a preprocessed pixel is outside [0,1]");
		}
		img_free(&im);
	} else {
		fuzz_check_failure(parser, e.set, e.msg);
	}
	free(path);
	return 0;
}
