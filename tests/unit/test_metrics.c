/*
** test_metrics.c -- classification metrics against hand-computed values:
** a 3-class example (P/R/F1, confusion, AUC with a tie, cross-entropy),
** perfect and reversed classifiers, an absent class, JSON and the table.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "t.h"

/* |a - b| < 1e-9, or both NaN. */
static int near(double a, double b)
{
	return (isnan(a) && isnan(b)) || fabs(a - b) < 1e-9;
}

/* The 3-class example. True: 0 0 0 1 1 2 2 2; arg-max: 0 1 0 1 1 2 0 0
** (sample 6 ties 0.4/0.4 between classes 0 and 2: the first wins).
** Confusion rows (true) x columns (predicted): [2 1 0; 0 2 0; 2 0 1].
** Precision 2/4, 2/3, 1/1; recall 2/3, 2/2, 1/3; F1 4/7, 4/5, 1/2.
** AUC by pairs (positive above negative, ties half): class 0: positives
** .7 .3 .5 over .2 .1 .1 .4 .6 -> 12/15; class 1: .7 .5 over .2 .6 .4 .2 .2 .1
** -> 11/12; class 2: .7 .4 .3 over .1 .1 .1 .1 .4 -> (5 + 4.5 + 4)/15 = .9. */
static const float P3[8][3] = {
	{.7f, .2f, .1f}, {.3f, .6f, .1f}, {.5f, .4f, .1f}, {.2f, .7f, .1f},
	{.1f, .5f, .4f}, {.1f, .2f, .7f}, {.4f, .2f, .4f}, {.6f, .1f, .3f},
};
static const int32_t Y3[8] = {0, 0, 0, 1, 1, 2, 2, 2};
/* Always answering class 0 (or 2), the most frequent, is right 3 times in 8. */
#define CHANCE3 0.375

/* P/R/F1, confusion, accuracy, AUC and cross-entropy of the example. */
static void test_three(void)
{
	Metrics m;
	RtErr e = {0};
	int rc = metrics_compute(&P3[0][0], Y3, 8, 3, "ex", &m, &e);
	t_check(rc == 0, "3-class computes", "%s", e.msg);
	if (rc)
		return;
	const int64_t conf[9] = {2, 1, 0, 0, 2, 0, 2, 0, 1};
	t_check(!memcmp(m.confusion, conf, sizeof conf), "3-class confusion (rows true)",
	        "[%lld %lld %lld; ...]", (long long)m.confusion[0], (long long)m.confusion[1],
	        (long long)m.confusion[2]);
	t_check(near(m.accuracy, 5.0 / 8), "3-class accuracy", "%g", m.accuracy);
	double p[3] = {0.5, 2.0 / 3, 1}, r[3] = {2.0 / 3, 1, 1.0 / 3}, f[3] = {4.0 / 7, 0.8, 0.5};
	int ok = 1;
	for (int c = 0; c < 3; c++)
		ok &= near(m.precision[c], p[c]) && near(m.recall[c], r[c]) && near(m.f1[c], f[c]);
	t_check(ok, "3-class per-class P/R/F1", "P %g %g %g R %g %g %g F1 %g %g %g",
	        m.precision[0], m.precision[1], m.precision[2], m.recall[0], m.recall[1],
	        m.recall[2], m.f1[0], m.f1[1], m.f1[2]);
	t_check(near(m.macro_precision, (p[0] + p[1] + p[2]) / 3) &&
	        near(m.macro_recall, 2.0 / 3) && near(m.macro_f1, (f[0] + f[1] + f[2]) / 3) &&
	        m.macro_classes == 3, "3-class macro P/R/F1", "%g %g %g", m.macro_precision,
	        m.macro_recall, m.macro_f1);
	t_check(near(m.support[0], 3) && near(m.predicted[0], 4) && near(m.predicted[2], 1),
	        "3-class support and predicted counts", "");
	t_check(near(m.auc[0], 0.8) && near(m.auc[1], 11.0 / 12) && near(m.auc[2], 0.9),
	        "3-class AUC with a tie", "%.12g %.12g %.12g", m.auc[0], m.auc[1], m.auc[2]);
	t_check(near(m.macro_auc, (0.8 + 11.0 / 12 + 0.9) / 3) && m.auc_classes == 3,
	        "3-class macro AUC", "%g", m.macro_auc);
	double ce = 0;
	for (int i = 0; i < 8; i++)
		ce -= log((double)P3[i][Y3[i]]);
	t_check(near(m.cross_entropy, ce / 8) && fabs(m.cross_entropy - 0.72256943627) < 1e-9,
	        "3-class cross-entropy", "%.12g", m.cross_entropy);
	metrics_free(&m);
}

/* Binary AUCs: ties counted half, perfect 1, reversed 0, all tied 0.5. */
static void test_auc(void)
{
	/* class-1 scores, positives .8 .4 .4, negatives .4 .2 .9:
	** .8 beats .4 .2 (2); each .4 ties .4 and beats .2 (1.5) -> 5/9 */
	const float s[6] = {.8f, .4f, .4f, .4f, .2f, .9f};
	const int32_t y[6] = {1, 1, 1, 0, 0, 0};
	float p[6][2];
	for (int i = 0; i < 6; i++)
		p[i][0] = 1 - s[i], p[i][1] = s[i];
	Metrics m;
	RtErr e = {0};
	metrics_compute(&p[0][0], y, 6, 2, "t", &m, &e);
	t_check(near(m.auc[1], 5.0 / 9) && near(m.auc[0], 5.0 / 9), "AUC with ties counts half",
	        "%g %g", m.auc[0], m.auc[1]);
	metrics_free(&m);
	const int32_t yp[6] = {0, 1, 0, 1, 0, 1};
	const float sp[6] = {.1f, .9f, .3f, .6f, .45f, .55f};
	for (int i = 0; i < 6; i++)
		p[i][0] = 1 - sp[i], p[i][1] = sp[i];
	metrics_compute(&p[0][0], yp, 6, 2, "t", &m, &e);
	t_check(m.auc[0] == 1 && m.auc[1] == 1 && m.macro_auc == 1 && m.accuracy == 1,
	        "perfect classifier: AUC 1", "%g %g", m.auc[0], m.auc[1]);
	metrics_free(&m);
	for (int i = 0; i < 6; i++)
		p[i][0] = sp[i], p[i][1] = 1 - sp[i];
	metrics_compute(&p[0][0], yp, 6, 2, "t", &m, &e);
	t_check(m.auc[0] == 0 && m.auc[1] == 0 && m.accuracy == 0 && m.macro_f1 == 0,
	        "reversed classifier: AUC 0", "%g %g", m.auc[0], m.auc[1]);
	metrics_free(&m);
	for (int i = 0; i < 6; i++)
		p[i][0] = p[i][1] = 0.5f;
	metrics_compute(&p[0][0], yp, 6, 2, "t", &m, &e);
	t_check(m.auc[0] == 0.5 && m.auc[1] == 0.5 && m.predicted[0] == 6 && m.precision[1] == 0,
	        "constant scores: AUC 0.5, never-predicted precision 0", "%g", m.auc[0]);
	metrics_free(&m);
	t_check(!e.set, "binary cases compute", "%s", e.msg);
}

/* A model with 3 classes on data holding two: NaN AUC, left out of macros. */
static void test_absent(void)
{
	const float p[4][3] = {{.9f, .1f, 0}, {.2f, .8f, 0}, {.6f, .3f, .1f}, {.3f, .6f, .1f}};
	const int32_t y[4] = {0, 1, 1, 0};
	Metrics m;
	RtErr e = {0};
	metrics_compute(&p[0][0], y, 4, 3, "t", &m, &e);
	t_check(isnan(m.auc[2]) && m.auc_classes == 2 && near(m.macro_auc, (m.auc[0] + m.auc[1]) / 2),
	        "absent class: AUC NaN, out of the macro AUC", "%g %d", m.auc[2], m.auc_classes);
	t_check(m.macro_classes == 2 && near(m.macro_precision, 0.5) && m.precision[2] == 0 &&
	        m.recall[2] == 0, "absent, never-predicted class: out of macro P/R/F1",
	        "%d %g", m.macro_classes, m.macro_precision);
	cJSON *j = metrics_json(&m, NULL);
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;
	t_check(s && strstr(s, "\"class\":2,\"precision\":0,\"recall\":0,\"f1\":0,\"auc\":null"),
	        "JSON: NaN AUC is null", "%s", s ? s : "(null)");
	cJSON *macro = cJSON_GetObjectItem(j, "macro");
	t_check(cJSON_IsNumber(cJSON_GetObjectItem(macro, "auc")) &&
	        cJSON_GetObjectItem(macro, "auc_classes")->valueint == 2, "JSON: macro AUC", "");
	free(s);
	cJSON_Delete(j);
	metrics_free(&m);
}

/* JSON fields and the printed table of the 3-class example. */
static void test_report(void)
{
	Metrics m;
	RtErr e = {0};
	metrics_compute(&P3[0][0], Y3, 8, 3, "ex", &m, &e);
	const char *names[3] = {"cat", "dog", "bird"};
	cJSON *j = metrics_json(&m, names);
	cJSON *conf = cJSON_GetObjectItem(j, "confusion");
	cJSON *per = cJSON_GetObjectItem(j, "per_class");
	t_check(j && cJSON_GetObjectItem(j, "accuracy")->valuedouble == 0.625 &&
	        cJSON_GetObjectItem(j, "samples")->valueint == 8 &&
	        cJSON_GetArraySize(conf) == 3 &&
	        cJSON_GetArrayItem(cJSON_GetArrayItem(conf, 2), 0)->valueint == 2 &&
	        !strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(per, 2), "name")->valuestring, "bird") &&
	        cJSON_GetObjectItem(cJSON_GetArrayItem(per, 0), "predicted")->valueint == 4,
	        "JSON fields", "");
	double ch = cJSON_GetNumberValue(cJSON_GetObjectItem(j, "chance_accuracy"));
	double chce = cJSON_GetNumberValue(cJSON_GetObjectItem(j, "chance_cross_entropy"));
	t_check(near(ch, CHANCE3) && near(chce, log(3.0)),
	        "JSON: chance is the most frequent class's share and ln K", "%g %g", ch, chce);
	cJSON_Delete(j);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	metrics_print(&m, names, f);
	fclose(f);
	char want[64];
	snprintf(want, sizeof want, "chance          accuracy %.4f   cross-entropy 1.0986", CHANCE3);
	t_check(strstr(buf, want) != NULL, "table: chance line", "\n%s", buf);
	t_check(strstr(buf, "accuracy 0.6250") && strstr(buf, "2 bird") &&
	        strstr(buf, "rows: true class") && strstr(buf, "macro") &&
	        strstr(buf, "\n     2    2    0    1\n"), "table", "\n%s", buf);
	free(buf);
	metrics_free(&m);
}

/* Bad inputs: a label out of range, NaN, no samples; clipped log. */
static void test_errors(void)
{
	const float p[2][2] = {{1, 0}, {NAN, 1}};
	const int32_t y[2] = {1, 2};
	Metrics m;
	RtErr e1 = {0}, e2 = {0}, e3 = {0};
	t_check(metrics_compute(&p[0][0], y, 2, 2, "val", &m, &e1) == -1 &&
	        !strcmp(e1.msg, "val: label 2 at index 1 is out of range for 2 classes"),
	        "label out of range", "'%s'", e1.msg);
	const int32_t y2[2] = {1, 0};
	t_check(metrics_compute(&p[0][0], y2, 2, 2, "val", &m, &e2) == -1 &&
	        strstr(e2.msg, "val: the predicted probabilities of sample 1 hold nan"),
	        "NaN probability", "'%s'", e2.msg);
	t_check(metrics_compute(&p[0][0], y2, 0, 2, "val", &m, &e3) == -1 &&
	        strstr(e3.msg, "0 samples"),
	        "no samples", "'%s'", e3.msg);
	RtErr e = {0};
	metrics_compute(&p[0][0], y2, 1, 2, "val", &m, &e);
	t_check(near(m.cross_entropy, -log(METRICS_EPS)), "probability 0 is clipped",
	        "%g", m.cross_entropy);
	metrics_free(&m);
	metrics_free(&m);   /* twice is safe */
}

int main(void)
{
	test_three();
	test_auc();
	test_absent();
	test_report();
	test_errors();
	return t_done();
}
