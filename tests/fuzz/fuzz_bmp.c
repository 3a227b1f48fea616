/*
** fuzz_bmp.c -- BMP images through img_decode (the body is fuzz_image.h;
** the seed corpus is BMP files).
*/
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_image("bmp", data, size);
}
