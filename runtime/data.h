/*
** data.h -- training data for the runtime: datasets read from IDX or .npy
** files (data_idx.c, data_npy.c), the data spec strings that name them
** (data.c; syntax in docs/data.md), train/validation splits and per-epoch
** shuffles (data_split.c) and the prefetching batch loader (loader.c).
**
** Errors follow rt.h: functions return 0 on success or -1 with the RtErr
** filled (the first error wins); every message names the file or spec.
** Nothing here prints or exits.
*/
#ifndef LUNAC_DATA_H
#define LUNAC_DATA_H

#include <stdint.h>

#include "rt.h"

/* Where the Debian package dataset-fashion-mnist installs its files. */
#ifndef DATA_FASHION_MNIST_DIR
#define DATA_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
#endif

/* A labelled image dataset held in memory. */
typedef struct Dataset {
	char *name;                 /* the spec or images path: messages name it */
	char *labels_path;          /* the labels file: label messages name it */
	int64_t count;              /* samples */
	int64_t c, h, w;            /* per-sample shape [C,H,W] */
	float *images;              /* count*c*h*w floats, C order, in [0,1] for u8 data */
	int32_t *labels;            /* count labels, each >= 0 */
	int nclasses;               /* max label + 1 (data_check_labels tests a model's K) */
	const char *const *class_names;  /* nclasses names when known (static), else NULL */
} Dataset;

/* ---- datasets (data.c, data_idx.c, data_npy.c) ------------------------- */

/* Open a dataset named by a spec: "idx:IMAGES,LABELS", "npy:IMAGES,LABELS",
** "fashion-mnist:train" or "fashion-mnist:test" (docs/data.md). */
int data_open(const char *spec, Dataset *out, RtErr *e);

/* Read IDX images (magic 0x0803, u8 [count,rows,cols]) and labels (0x0801,
** u8 [count]), gzip-compressed or plain. name labels the dataset in later
** messages (NULL: the images path). */
int data_idx_read(const char *images, const char *labels, const char *name,
                  Dataset *out, RtErr *e);

/* Read .npy images ([count,C,H,W] or [count,H,W]; f4, f8 or f2 taken as
** they are, u1 divided by 255) and labels ([count], any integer dtype). */
int data_npy_read(const char *images, const char *labels, const char *name,
                  Dataset *out, RtErr *e);

/* Free what a Dataset owns and zero it; safe on a zeroed Dataset. */
void data_free(Dataset *ds);

/* Check every label is in [0, nclasses); the message names the labels
** file, the label and its index. */
int data_check_labels(const Dataset *ds, int nclasses, RtErr *e);

/* Check the dataset's [C,H,W] equals the model input's per-sample shape
** (in: an f32 input of shape [-1,C,H,W]). */
int data_check_input(const Dataset *ds, const RtTensor *in, RtErr *e);

/* ---- splits and shuffles (data_split.c) -------------------------------- */

/* A list of sample indices (an order over a Dataset). */
typedef struct DataIndex {
	int64_t *idx;
	int64_t n;
} DataIndex;

/* Split ds's samples at random (fixed by seed) into train and validation:
** round(count * val_fraction) validation samples, at least one when
** val_fraction > 0, and at least one left for training. Both lists come out
** sorted ascending; 0 <= val_fraction < 1. */
int data_split(const Dataset *ds, double val_fraction, uint64_t seed,
               DataIndex *train, DataIndex *val, RtErr *e);

/* Permute idx[0..n) in place: a Fisher-Yates shuffle driven by (seed,
** epoch) alone. Apply it to the same base order every epoch (a copy), so
** epoch e's order never depends on earlier epochs and a resumed run sees
** the same batches. */
void data_shuffle(int64_t *idx, int64_t n, uint64_t seed, uint64_t epoch);

void data_index_free(DataIndex *x);

/* ---- the batch loader (loader.c) --------------------------------------- */

/* A prefetching batch loader: a thread copies the samples of the next batch
** into one of two buffers while the consumer works on the other. The
** batches depend only on the order given, never on thread timing. */
typedef struct Loader Loader;

/* Start a loader over ds (which must outlive it) for order[0..n) (copied)
** in batches of `batch` samples. */
int loader_open(Loader **out, const Dataset *ds, const int64_t *order, int64_t n,
                int64_t batch, RtErr *e);

/* The next batch: images [n,C,H,W] floats and labels [n] int32, valid until
** the next loader_next, loader_restart or loader_close. *n is batch except
** for a short last batch. Returns 1 with a batch, 0 when the order is used
** up. */
int loader_next(Loader *L, const float **images, const int32_t **labels, int64_t *n);

/* Begin a new pass over order[0..n) (copied) with the same buffers: the
** next epoch, or the same one again. */
int loader_restart(Loader *L, const int64_t *order, int64_t n, RtErr *e);

/* Stop the thread and free the loader; safe on NULL. */
void loader_close(Loader *L);

#endif
