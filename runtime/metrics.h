/*
** metrics.h -- classification metrics from predicted probabilities [n,K]
** and true labels [n] (metrics.c), as JSON or a readable table
** (metrics_report.c).
**
** Conventions (docs/metrics.md), chosen to match scikit-learn's defaults:
** - the predicted class is the arg-max of a row (the first on ties);
** - a class never predicted has precision 0, a class absent from the labels
**   has recall 0, and F1 is 0 when precision + recall is 0
**   (sklearn's zero_division=0);
** - macro precision, recall and F1 average the per-class numbers over the
**   classes that occur in the labels or the predictions (sklearn's default
**   label set); macro F1 is the mean of the per-class F1s;
** - the confusion matrix has the true class in rows, the prediction in
**   columns;
** - one-vs-rest ROC AUC per class is the Mann-Whitney statistic with ties
**   counted half; a class absent from the labels (or present in all of
**   them) has AUC NaN, printed as null in JSON and left out of the macro
**   AUC, which is NaN when no class has an AUC;
** - cross-entropy is the mean of -log p[i][label i], p clipped below at
**   METRICS_EPS.
*/
#ifndef LUNAC_METRICS_H
#define LUNAC_METRICS_H

#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "rt.h"

#define METRICS_EPS 1e-12

/* Everything metrics_compute finds; the arrays live in one block. */
typedef struct Metrics {
	int k;                      /* classes */
	int64_t n;                  /* samples */
	double accuracy;
	double cross_entropy;
	double *precision, *recall, *f1, *auc;   /* [k] */
	int64_t *support;           /* [k] samples whose label is c */
	int64_t *predicted;         /* [k] samples predicted as c */
	int64_t *confusion;         /* [k*k]: confusion[t*k + p] */
	double macro_precision, macro_recall, macro_f1, macro_auc;
	int macro_classes;          /* classes in the P/R/F1 averages */
	int auc_classes;            /* classes in the macro AUC */
} Metrics;

/* Compute every metric of probs [n,k] (row-major) against labels [n].
** name labels the data in messages. Errors: n or k not positive, a label
** outside [0,k), a probability that is NaN or infinite. */
int metrics_compute(const float *probs, const int32_t *labels, int64_t n, int k,
                    const char *name, Metrics *m, RtErr *e);

/* Free what metrics_compute allocated and zero m; safe on a zeroed m. */
void metrics_free(Metrics *m);

/* m as a JSON object (NaN as null); class_names (k names) may be NULL.
** NULL when out of memory. */
cJSON *metrics_json(const Metrics *m, const char *const *class_names);

/* m as a table: the summary, per-class rows, the macro row and the
** confusion matrix. class_names may be NULL. */
void metrics_print(const Metrics *m, const char *const *class_names, FILE *out);

#endif
