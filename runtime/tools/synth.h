/*
** synth.h -- bin/lunac-synth, the synthetic data tool (docs/data.md,
** "Synthetic data"): a dermoscopy-like and an MRI-like modality whose
** classes carry a learnable signal under nuisance variation, and
** Fashion-MNIST exported as two image-folder datasets.
**
** Every random draw is keyed by (seed, sample, purpose) through the
** runtime's counter-based rt_uniform, so an image depends on nothing but
** its seed and sample number: not on the order of generation nor on the
** thread count. Errors follow rt.h: 0, or -1 with the RtErr filled.
*/
#ifndef LUNAC_SYNTH_H
#define LUNAC_SYNTH_H

#include <signal.h>
#include <stdint.h>

#include "../image.h"

#define SYN_DERM_CLASSES 5
#define SYN_MRI_CLASSES 7

/* Class folder names ("0_round", ...), in label order. */
extern const char *const syn_derm_classes[SYN_DERM_CLASSES];
extern const char *const syn_mri_classes[SYN_MRI_CLASSES];

/* Random-stream purposes: one per kind of draw, so adding a draw to one
** never shifts another. */
enum {
	SYN_DERM_SHAPE = 0x100, SYN_DERM_SKIN, SYN_DERM_TEXTURE, SYN_DERM_ZONES,
	SYN_DERM_HAIR, SYN_DERM_NOISE,
	SYN_MRI_HEAD = 0x200, SYN_MRI_TISSUE, SYN_MRI_PATTERN, SYN_MRI_DIFFUSE, SYN_MRI_NOISE,
};

/* A stream of random numbers keyed by (seed, sample, stream); n counts draws. */
typedef struct SynRng {
	uint64_t seed, sample;
	uint32_t stream;
	uint64_t n;
} SynRng;

SynRng syn_rng(uint64_t seed, uint64_t sample, uint32_t stream);
float syn_u(SynRng *r);                           /* uniform in [0, 1) */
float syn_range(SynRng *r, float lo, float hi);   /* uniform in [lo, hi) */
float syn_normal(SynRng *r);                      /* standard normal */
/* Smooth value noise in [0, 1] at (x, y) in [0, 1]^2 on a cells x cells
** lattice whose values are keyed by r's (seed, sample, stream); r is not advanced. */
float syn_vnoise(const SynRng *r, int cells, float x, float y);

float syn_clamp(float x, float lo, float hi);
/* Coverage of a soft edge: 1 well inside (d > 0 inside), 0 outside, linear over w. */
float syn_edge(float d, float w);

/* An s x s float image of c interleaved channels, values meant for [0, 1],
** and an s x s scratch plane for the drawing code. */
typedef struct Canvas {
	int s, c;
	float *px, *aux;
} Canvas;

int syn_canvas_new(Canvas *cv, int s, int c, RtErr *e);
void syn_canvas_free(Canvas *cv);
/* Add Gaussian noise of deviation sigma to every sample of cv. */
void syn_add_noise(Canvas *cv, SynRng *r, float sigma);
/* Clamp to [0, 1], round to 8 bits and write as a PNG (atomically). */
int syn_canvas_write(const Canvas *cv, const char *path, RtErr *e);

/* Draw one sample of class cls into cv (s x s, 3 channels for derm, 1 for mri). */
void syn_derm(uint64_t seed, uint64_t sample, int cls, Canvas *cv);
void syn_mri(uint64_t seed, uint64_t sample, int cls, Canvas *cv);

/* ---- output (synth_out.c) ---------------------------------------------- */

/* Set by SIGINT / SIGTERM: the jobs stop and the staged output is removed. */
extern volatile sig_atomic_t syn_interrupted;

/* A dataset directory being built: everything goes into tmp ("OUT.tmp.PID")
** and is renamed to out when complete. */
typedef struct SynStage {
	char *out, *tmp;
} SynStage;

/* Check out is absent or an empty directory and create the staging directory. */
int syn_stage_begin(SynStage *st, const char *out, RtErr *e);
/* Rename the staging directory to out. */
int syn_stage_commit(SynStage *st, RtErr *e);
/* Remove the staging directory and all in it; safe after a commit. */
void syn_stage_abort(SynStage *st);
/* mkdir tmp/rel (rel is relative to the staging directory). */
int syn_mkdir(const SynStage *st, const char *rel, RtErr *e);

/* Run fn(ctx, i, e) for i in [0, n) on nthreads threads; the first error wins
** and stops the rest. fn must be safe to run concurrently for distinct i. */
typedef int (*SynJob)(void *ctx, int64_t i, RtErr *e);
int syn_run_jobs(int64_t n, int nthreads, SynJob fn, void *ctx, RtErr *e);

/* ---- the commands (synth_dermmri.c, synth_fashion.c) -------------------- */

typedef enum { SYN_FOLDERS, SYN_PAIRED } SynLayout;

typedef struct SynOpts {
	const char *out;
	int64_t count;       /* derm-mri: samples per modality; fashion-pair: training images per dataset (0: all) */
	int size;
	uint64_t seed;
	SynLayout layout;
	int threads;
} SynOpts;

int syn_derm_mri(const SynOpts *o, RtErr *e);
int syn_fashion_pair(const SynOpts *o, RtErr *e);

#endif
