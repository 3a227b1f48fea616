/*
** fuzz_png.c -- PNG images through img_decode (the body is fuzz_image.h;
** the seed corpus is PNG files).
*/
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_image("png", data, size);
}
