/*
** fuzz_npy.c -- the .npy reader (runtime/npy.c) and the npy: dataset kind
** (runtime/data_npy.c): the input read as f32 and as i32, its header alone,
** and as the images of a dataset whose labels file (zeros, one per image)
** the harness writes to match it. An array that reads has a shape whose
** element count the data holds, and agrees with rt_npy_header.
*/
#include "fuzz.h"
#include "data.h"

/* Read path as dtype want and check the result. */
static void read_as(const char *path, RtDtype want)
{
	RtArray a;
	RtErr e = {0};
	if (rt_npy_read(path, want, &a, &e)) {
		fuzz_check_failure("npy", e.set, e.msg);
		return;
	}
	char descr[16];
	int fortran, ndim;
	int64_t shape[RT_MAXDIM];
	RtErr e2 = {0};
	if (rt_npy_header(path, descr, &fortran, &ndim, shape, &e2) || fortran || ndim != a.ndim ||
	    memcmp(shape, a.shape, sizeof(int64_t) * (size_t)ndim))
		fuzz_fail("npy", "rt_npy_header disagrees with rt_npy_read");
	if (a.dtype != want || !a.data)
		fuzz_fail("npy", "the array read has the wrong dtype or no data");
	/* touch every element: ASan reports a buffer shorter than the shape */
	uint64_t n = 1;
	for (int i = 0; i < a.ndim; i++)
		n *= (uint64_t)a.shape[i];
	volatile unsigned char sum = 0;
	for (uint64_t i = 0; i < n * 4; i++)
		sum += ((unsigned char *)a.data)[i];
	rt_array_free(&a);
}

/* The input as a dataset's images, with count zero labels to match. */
static void as_dataset(const char *path)
{
	char descr[16];
	int fortran, ndim;
	int64_t shape[RT_MAXDIM];
	RtErr e = {0};
	if (rt_npy_header(path, descr, &fortran, &ndim, shape, &e) || ndim < 1 || shape[0] < 1 ||
	    shape[0] > 4096)
		return;
	int32_t zeros[4096] = {0};
	RtArray lab = {.dtype = RT_I32, .ndim = 1, .shape = {shape[0]}, .data = zeros};
	char *labels = fuzz_path("labels.npy");
	if (rt_npy_write(labels, &lab, &e))
		fuzz_fail("npy", "cannot write the labels file");
	Dataset ds;
	if (data_npy_read(path, labels, NULL, &ds, &e) == 0) {
		if (ds.count != shape[0] || !ds.mod[0].px || !ds.task[0].y)
			fuzz_fail("npy", "a dataset read has the wrong count or no data");
		data_free(&ds);
	} else {
		fuzz_check_failure("npy", e.set, e.msg);
	}
	free(labels);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = fuzz_file("in.npy", data, size);
	read_as(path, RT_F32);
	read_as(path, RT_I32);
	char descr[16];
	int fortran, ndim;
	int64_t shape[RT_MAXDIM];
	RtErr e = {0};
	if (rt_npy_header(path, descr, &fortran, &ndim, shape, &e))
		fuzz_check_failure("npy", e.set, e.msg);
	as_dataset(path);
	free(path);
	return 0;
}
