/*
** data.h -- training data for the runtime: datasets of one or more image
** arrays ("modalities") and one or more label arrays ("tasks"), read from
** IDX or .npy files (data_idx.c, data_npy.c), class folders of images
** (data_folders.c), a metadata CSV (data_csv.c) or a paired CSV
** (data_paired.c), named by data spec strings (data.c; syntax in
** docs/data.md); datasets joined by index (data_join.c); train/validation
** splits and per-epoch shuffles (data_split.c); normalisation and seeded
** augmentation (data_aug.c) and the prefetching batch loader (loader.c).
**
** Errors follow rt.h: functions return 0 on success or -1 with the RtErr
** filled (the first error wins); every message names the file or spec.
** Nothing here prints or exits.
*/
#ifndef LUNAC_DATA_H
#define LUNAC_DATA_H

#include <stdint.h>

#include "image.h"
#include "rt.h"

/* Where the Debian package dataset-fashion-mnist installs its files. */
#ifndef DATA_FASHION_MNIST_DIR
#define DATA_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
#endif

#define DATA_MAXMOD 4               /* image arrays in one dataset */
#define DATA_MAXTASK 4              /* label arrays in one dataset */
#define DATA_MAXCHAN 16             /* channels --normalize can describe */

/* What image files held that did not fit the input they were read for:
** total files read, n of them resized or converted (resized: resized), the
** range of those n's sizes, and bit c set when one had c channels. */
typedef struct DataSeen {
	int64_t total, n, resized;
	int wmin, wmax, hmin, hmax;
	int chans;
} DataSeen;

/* One image array: `rows` stored images [c,h,w]; sample s of the dataset is
** row s, or row map[s] when the array was resampled to a longer dataset. */
typedef struct DataImages {
	char *name;                 /* for messages: a path, a CSV column, a model input */
	int64_t c, h, w;
	int64_t rows;
	float *px;                  /* rows*c*h*w floats, C order, in [0,1] for 8-bit data */
	int64_t *map;               /* NULL, or count entries */
	char **ids;                 /* rows file names (owned), the images' sources; NULL for
	                               arrays (idx, npy), whose rows are known by index */
	DataSeen seen;              /* image files: what was resized or converted */
	ImgFilter resize;           /* ... and by which filter */
} DataImages;

/* One label array: class indices of `rows` samples (map as in DataImages). */
typedef struct DataLabels {
	char *name;                 /* a CSV column or a model task; NULL: not named */
	char *path;                 /* what label messages name (a file, a folder) */
	int64_t rows;
	int32_t *y;                 /* each >= 0 */
	int64_t *map;
	int nclasses;               /* the number of class names, else max label + 1 */
	char **names;               /* nclasses class names (owned), or NULL */
} DataLabels;

/* A labelled dataset held in memory: count samples, each with nmod images
** and ntask labels. A spec of one kind gives one image array and one label
** array; a paired CSV gives one per bound column; data_join joins several. */
typedef struct Dataset {
	char *name;                 /* the spec: messages name it */
	char *note;                 /* something the user should know (skipped files), or NULL */
	int64_t count;
	int nmod, ntask;
	DataImages mod[DATA_MAXMOD];
	DataLabels task[DATA_MAXTASK];
	int in_order;               /* data_join keeps its order: paired by index (paired:SPEC) */
} Dataset;

/* An image input of the model, as data_open resizes and binds to it. */
typedef struct DataInput {
	const char *name;
	int64_t c, h, w;
} DataInput;

/* How data_open reads images and binds CSV columns. */
typedef struct DataOpts {
	int64_t c, h, w;            /* folders:, csv:: decode and resize every image to
	                               [c,h,w]; 0: the spec cannot be read */
	const DataInput *inputs;    /* paired:: the model's image inputs ... */
	int ninputs;
	const char *const *tasks;   /* ... and task names, that columns bind to */
	int ntasks;
	int threads;                /* image decoding threads; <= 1: one */
	ImgFilter resize;           /* how images are resized (--resize) */
} DataOpts;

/* ---- datasets (data.c and one file per kind) --------------------------- */

/* Open a dataset named by a spec (docs/data.md):
**   idx:IMAGES,LABELS   npy:IMAGES.npy,LABELS.npy   fashion-mnist:train|test
**   folders:DIR[,SUB]   csv:META.csv,IMAGEDIR,ID_COLUMN,LABEL_COLUMN[,EXT]
**   paired:FILE.csv[,INPUT=COLUMN,...,TASK=COLUMN,...]
** and, without labels (ntask 0; for predict): npy:IMAGES.npy, images:DIR.
** o may be NULL for the kinds that hold arrays (idx, npy, fashion-mnist). */
int data_open(const char *spec, const DataOpts *o, Dataset *out, RtErr *e);

/* Read IDX images (magic 0x0803, u8 [count,rows,cols]) and labels (0x0801,
** u8 [count]), gzip-compressed or plain. name labels the dataset in later
** messages (NULL: the images path). */
int data_idx_read(const char *images, const char *labels, const char *name,
                  Dataset *out, RtErr *e);

/* Read .npy images ([count,C,H,W] or [count,H,W]; f4, f8 or f2 taken as
** they are, u1 divided by 255) and labels ([count], any integer dtype;
** labels NULL: none, ntask 0). */
int data_npy_read(const char *images, const char *labels, const char *name,
                  Dataset *out, RtErr *e);

/* The kinds with image files (spec: the text after "kind:"). */
int data_folders_read(const char *spec, const char *rest, const DataOpts *o, Dataset *out,
                      RtErr *e);
int data_csv_read(const char *spec, const char *rest, const DataOpts *o, Dataset *out,
                  RtErr *e);
int data_paired_read(const char *spec, const char *rest, const DataOpts *o, Dataset *out,
                     RtErr *e);
/* images:DIR: the images directly in DIR (name order), without labels. */
int data_images_read(const char *spec, const char *rest, const DataOpts *o, Dataset *out,
                     RtErr *e);

/* Free what a Dataset owns and zero it; safe on a zeroed Dataset. */
void data_free(Dataset *ds);

/* Sample s's image of array k ([c,h,w] floats) and label of array t. */
const float *data_image(const Dataset *ds, int k, int64_t s);
int32_t data_label(const Dataset *ds, int t, int64_t s);

/* Check every label of array t is in [0, nclasses) and that named classes
** are no more than nclasses; the message names the labels file, the label,
** its sample index and the data's class count. */
int data_check_labels(const Dataset *ds, int t, int nclasses, RtErr *e);

/* Check image array k's [C,H,W] equals the model input's per-sample shape
** (in: an f32 input of shape [-1,C,H,W]). */
int data_check_input(const Dataset *ds, int k, const RtTensor *in, RtErr *e);

/* ---- building datasets (data_build.c) ---------------------------------- */

/* Decode paths[0..n) in parallel threads into a new array [n,c,h,w], each
** by data_image_load with filter f, counting what was resized or converted
** into *seen (may be NULL). The first failing path (in list order) is the
** one reported, so the message does not depend on thread timing. */
int data_load_images(const char *const *paths, int64_t n, int64_t c, int64_t h, int64_t w,
                     ImgFilter f, int threads, float **px, DataSeen *seen, RtErr *e);

/* Labels from text: all non-negative integers give those classes (no
** names); otherwise the distinct strings, sorted by bytes, are the class
** names and each value its index. what names the column for messages. */
int data_labels_from_text(const char *const *vals, int64_t n, const char *what,
                          DataLabels *out, RtErr *e);

/* The lines of joined ("a\nb\nc"; LF, CRLF or CR line ends) as n new names;
** NULL on out of memory. */
char **data_names_split(const char *joined, int *n);
/* A copy of names[0..n) (NULL on out of memory). */
char **data_names_dup(const char *const *names, int n);
void data_names_free(char **names, int n);

/* Give t's labels the class order of names[0..k) by name; a class that is
** not among them is an error naming it (where: the weights file). */
int data_remap_classes(DataLabels *t, const char *const *names, int k, const char *where,
                       RtErr *e);

/* ---- joining datasets by index (data_join.c) --------------------------- */

/* Move every array of parts[0..n) into out, in order: out->count is the
** largest count, and a part with fewer samples is resampled to it by a
** map that repeats shuffled orders of its indices (each shuffle fixed by
** seed and the part's position). Parts marked in_order (truly paired
** arrays: sample i of one belongs with sample i of the others) keep their
** order and must all hold the same count; in_order parts cannot be mixed
** with others. The parts are left empty. */
int data_join(Dataset *parts, int n, uint64_t seed, Dataset *out, RtErr *e);

/* map[0..n): sample s of a part of m rows resampled to n, 0 < m <= n: the
** concatenation of shuffles of 0..m-1 (the last one cut short), pass r
** keyed by (seed, part, r). -1 when out of memory. */
int data_resample(int64_t *map, int64_t n, int64_t m, uint64_t seed, uint64_t part);

/* ---- normalisation and augmentation (data_aug.c) ----------------------- */

/* x <- (x - mean[c]) / std[c] per channel; n = 1: one pair for every
** channel; n = 0: none. */
typedef struct DataNorm {
	int n;
	float mean[DATA_MAXCHAN], std[DATA_MAXCHAN];
} DataNorm;

/* Parse "mean,std[,mean2,std2...]" (flag names the option for messages;
** "" or "none": no normalisation). std must be positive. */
int data_norm_parse(const char *text, const char *flag, DataNorm *n, RtErr *e);
/* Check n fits images of c channels (1 pair, or c pairs). */
int data_norm_check(const DataNorm *n, int64_t c, const char *what, RtErr *e);
void data_norm_apply(const DataNorm *n, float *x, int64_t c, int64_t h, int64_t w);

typedef enum { DATA_AUG_NONE, DATA_AUG_AUTHORS, DATA_AUG_FLIPS, DATA_AUG_ALL } DataAugment;

/* "none", "authors", "flips", "all" <-> DataAugment; parse returns -1 if unknown. */
int data_augment_parse(const char *text, DataAugment *a);
const char *data_augment_name(DataAugment a);

/* Augment image x [c,h,w] of sample s, array k, in epoch `epoch`, as mode
** says; every draw is rt_uniform keyed by (seed, epoch, sample, array), so
** the same arguments give the same bytes. tmp holds c*h*w floats. */
void data_augment(DataAugment mode, uint64_t seed, uint64_t epoch, int64_t s, int k, float *x,
                  int64_t c, int64_t h, int64_t w, float *tmp);

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
** into one of two buffers (augmenting and normalising them) while the
** consumer works on the other. The batches depend only on the order, the
** epoch and the options, never on thread timing. */
typedef struct Loader Loader;

/* What the loader does to each image after copying it: augmentation
** (training only) on the [0,1] image, then normalisation. */
typedef struct LoaderOpts {
	DataAugment augment;
	uint64_t seed;
	DataNorm norm;
} LoaderOpts;

/* One batch: n samples; x[k] holds image array k's [n,c,h,w], y[t] label
** array t's [n]. */
typedef struct Batch {
	int64_t n;
	const float *x[DATA_MAXMOD];
	const int32_t *y[DATA_MAXTASK];
} Batch;

/* Start a loader over ds (which must outlive it) for order[0..n) (copied)
** in batches of `batch` samples, as epoch 0. o may be NULL (no changes). */
int loader_open(Loader **out, const Dataset *ds, const LoaderOpts *o, const int64_t *order,
                int64_t n, int64_t batch, RtErr *e);

/* The next batch, valid until the next loader_next, loader_restart or
** loader_close; b->n is batch except for a short last batch. Returns 1
** with a batch, 0 when the order is used up. */
int loader_next(Loader *L, Batch *b);

/* Begin a new pass over order[0..n) (copied) as epoch `epoch` (it keys the
** augmentation) with the same buffers. */
int loader_restart(Loader *L, const int64_t *order, int64_t n, uint64_t epoch, RtErr *e);

/* Stop the thread and free the loader; safe on NULL. */
void loader_close(Loader *L);

/* ---- the one way a file reaches a model (input.c) ---------------------- */

/* .npy images of path into a new f32 array: uint8 divided by 255, floats
** taken as they are, other dtypes refused. [count,C,H,W] stays as it is;
** [count,H,W] becomes [count,1,H,W] (grey images). When chw gives the
** input's [C,H,W] (predict, mc), a 3-D array is one image [1,C,H,W] if it
** is [C,H,W], grey images if C is 1 and H, W fit, else left 3-D for the
** caller's shape check to name as it is. */
int data_npy_images(const char *path, const int64_t *chw, RtArray *a, RtErr *e);
/* Decode the image file path (PNG, JPEG, BMP by content), converted to c
** channels and resized to h x w by filter f, scaled to [0, 1], into dst
** ([c,h,w] floats); src (may be NULL) gets what the file held. */
int data_image_load(const char *path, int64_t c, int64_t h, int64_t w, ImgFilter f, float *dst,
                    ImgSrc *src, RtErr *e);
/* path by its content: .npy images (data_npy_images) or one image file
** (data_image_load, counted into seen, which may be NULL) as [1,c,h,w]. */
int data_file_read(const char *path, int64_t c, int64_t h, int64_t w, ImgFilter f, int one_ok,
                   RtArray *a, DataSeen *seen, RtErr *e);

/* Count one image file that held src, read for an input [c,h,w]. */
void data_seen_add(DataSeen *s, const ImgSrc *src, int64_t c, int64_t h, int64_t w);
/* What s counted, for the user: "a: 240 images 64x64 RGB resized to 32x32
** grey (area)" (label first); NULL when nothing was resized or converted,
** or out of memory (then s->n > 0). Malloc'ed. */
char *data_seen_note(const char *label, const DataSeen *s, int64_t c, int64_t h, int64_t w,
                     ImgFilter f);
/* Append text (NULL: nothing) to *note, "; " between; -1 out of memory. */
int data_note_add(char **note, const char *text);

/* How predict and mc preprocess their inputs: the normalisation, the
** resize filter, and where rt_input_read appends what it resized or
** converted (note: NULL, or a malloc'ed string the caller frees). */
typedef struct DataPrep {
	DataNorm norm;
	ImgFilter resize;
	char **note;
} DataPrep;

/* Read a model input from path for predict and mc: for an image input
** [N,C,H,W] f32, data_file_read (one file: one or more samples) then
** data_norm_apply with p's normalisation (p may be NULL: none, area); for
** any other input the .npy file as it is (rt_npy_read). */
int rt_input_read(const char *path, const RtTensor *t, const DataPrep *p, RtArray *a, RtErr *e);

/* What a weights file says about preprocessing and classes: its
** checkpoint metadata "train.normalize" into *norm (*found set when
** present), and "classes.<task>" (newline-separated names) into names[i]
** for task i (owned; NULL when absent). Either pointer may be NULL. */
int rt_weights_preproc(const char *path, const RtModel *m, DataNorm *norm, int *found,
                       char **names, RtErr *e);

/* The preprocessing of eval, predict and mc into p (p->note kept): the
** normalisation --normalize gives (norm_flag; NULL: not given), else the
** checkpoint's train.normalize, else none; the filter --resize gives
** (resize_flag), else the checkpoint's train.resize, else area. A
** --resize that differs from the checkpoint's is followed, with a note
** appended to *p->note. classes (may be NULL) as rt_weights_preproc gives
** them. The weights' origin is checked first (rt_weights_origin into warn). */
int rt_prep_for(const char *weights, const RtModel *m, const char *norm_flag,
                const char *resize_flag, DataPrep *p, char **classes, RtErr *e, RtErr *warn);

#endif
