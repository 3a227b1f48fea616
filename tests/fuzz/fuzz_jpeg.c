/*
** fuzz_jpeg.c -- JPEG images through img_decode (the body is fuzz_image.h;
** the seed corpus is JPEG files).
*/
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_image("jpeg", data, size);
}
