/*
** metrics.c -- accuracy, per-class and macro precision / recall / F1, the
** confusion matrix, one-vs-rest ROC AUC and cross-entropy from predicted
** probabilities. The conventions are in metrics.h.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

/* One sample's score for the class whose AUC is computed. */
typedef struct Scored {
	float s;
	int pos;
} Scored;

/* qsort order of Scored by score. */
static int cmp_scored(const void *a, const void *b)
{
	float x = ((const Scored *)a)->s, y = ((const Scored *)b)->s;
	return (x > y) - (x < y);
}

/* One-vs-rest AUC of class c: the Mann-Whitney U of the positives' scores
** over the negatives', ties counted half, divided by npos * nneg. */
static double auc_class(const float *probs, const int32_t *labels, int64_t n, int k, int c,
                        Scored *sc)
{
	int64_t npos = 0;
	for (int64_t i = 0; i < n; i++) {
		sc[i].s = probs[i * k + c];
		sc[i].pos = labels[i] == c;
		npos += sc[i].pos;
	}
	int64_t nneg = n - npos;
	if (npos == 0 || nneg == 0)
		return NAN;
	qsort(sc, (size_t)n, sizeof *sc, cmp_scored);
	double ranks = 0;   /* sum of the positives' 1-based ranks, ties at their mean rank */
	for (int64_t i = 0; i < n;) {
		int64_t j = i, p = 0;
		while (j < n && sc[j].s == sc[i].s)
			p += sc[j++].pos;
		ranks += (double)p * ((double)(i + 1) + (double)j) / 2;
		i = j;
	}
	return (ranks - (double)npos * ((double)npos + 1) / 2) / ((double)npos * (double)nneg);
}

/* Check the inputs: labels in range, probabilities finite. */
static int check(const float *probs, const int32_t *labels, int64_t n, int k,
                 const char *name, RtErr *e)
{
	if (n <= 0 || k <= 0)
		return rt_errorf(e, "%s: no metrics for %lld samples of %d classes", name,
		                 (long long)n, k);
	for (int64_t i = 0; i < n; i++) {
		if (labels[i] < 0 || labels[i] >= k)
			return rt_errorf(e, "%s: label %d at index %lld is out of range for %d classes",
			                 name, labels[i], (long long)i, k);
		for (int c = 0; c < k; c++)
			if (!isfinite(probs[i * k + c]))
				return rt_errorf(e, "%s: the predicted probabilities of sample %lld hold %g "
				                 "(did training diverge?)", name, (long long)i,
				                 (double)probs[i * k + c]);
	}
	return 0;
}

/* The arg-max of row p[0..k), the first on ties. */
static int argmax(const float *p, int k)
{
	int best = 0;
	for (int c = 1; c < k; c++)
		if (p[c] > p[best])
			best = c;
	return best;
}

/* Allocate m's arrays (one block) for k classes. */
static int alloc(Metrics *m, int k, const char *name, RtErr *e)
{
	size_t kk = (size_t)k;
	char *b = calloc(1, sizeof(double) * 4 * kk + sizeof(int64_t) * (2 * kk + kk * kk));
	if (!b)
		return rt_errorf(e, "%s: out of memory for the metrics of %d classes", name, k);
	m->precision = (double *)b;
	m->recall = m->precision + kk;
	m->f1 = m->recall + kk;
	m->auc = m->f1 + kk;
	m->support = (int64_t *)(m->auc + kk);
	m->predicted = m->support + kk;
	m->confusion = m->predicted + kk;
	return 0;
}

/* Per-class and macro precision, recall and F1 from the confusion matrix. */
static void prf(Metrics *m)
{
	int k = m->k, used = 0;
	for (int c = 0; c < k; c++) {
		double tp = (double)m->confusion[(size_t)c * k + c];
		double p = m->predicted[c] ? tp / (double)m->predicted[c] : 0;
		double r = m->support[c] ? tp / (double)m->support[c] : 0;
		m->precision[c] = p;
		m->recall[c] = r;
		m->f1[c] = p + r > 0 ? 2 * p * r / (p + r) : 0;
		if (m->support[c] || m->predicted[c]) {
			used++;
			m->macro_precision += p;
			m->macro_recall += r;
			m->macro_f1 += m->f1[c];
		}
	}
	m->macro_classes = used;
	m->macro_precision /= used;
	m->macro_recall /= used;
	m->macro_f1 /= used;
}

int metrics_compute(const float *probs, const int32_t *labels, int64_t n, int k,
                    const char *name, Metrics *m, RtErr *e)
{
	memset(m, 0, sizeof *m);
	if (check(probs, labels, n, k, name, e) || alloc(m, k, name, e))
		return -1;
	Scored *sc = malloc(sizeof *sc * (size_t)n);
	if (!sc) {
		metrics_free(m);
		return rt_errorf(e, "%s: out of memory for the AUC of %lld samples", name, (long long)n);
	}
	m->k = k;
	m->n = n;
	int64_t right = 0;
	double ce = 0;
	for (int64_t i = 0; i < n; i++) {
		const float *p = probs + i * k;
		int t = labels[i], q = argmax(p, k);
		m->confusion[(size_t)t * k + q]++;
		m->support[t]++;
		m->predicted[q]++;
		right += t == q;
		ce -= log(fmax((double)p[t], METRICS_EPS));
	}
	m->accuracy = (double)right / (double)n;
	m->cross_entropy = ce / (double)n;
	prf(m);
	double sum = 0;
	for (int c = 0; c < k; c++) {
		m->auc[c] = auc_class(probs, labels, n, k, c, sc);
		if (!isnan(m->auc[c]))
			sum += m->auc[c], m->auc_classes++;
	}
	m->macro_auc = m->auc_classes ? sum / m->auc_classes : NAN;
	free(sc);
	return 0;
}

void metrics_free(Metrics *m)
{
	free(m->precision);
	memset(m, 0, sizeof *m);
}
