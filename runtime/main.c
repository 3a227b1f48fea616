/*
** main.c -- the command line of every generated executable:
**
**   MODEL info
**   MODEL init [--seed N] -o W.safetensors
**   MODEL predict --weights W.safetensors --input NAME=X.npy|IMAGE ... [-o OUT.npy] [--batch B]
**   MODEL predict --weights W.safetensors --data [INPUT=]SPEC ... [-o RESULTS.csv|.jsonl]
**   MODEL mc --weights W.safetensors --samples T --input NAME=X.npy|IMAGE ... [--seed S] [--json]
**   MODEL train --data [INPUT=]SPEC ... --out RUNDIR [options] | --resume RUNDIR/last.safetensors
**   MODEL eval --weights W.safetensors --data [INPUT=]SPEC ... [--batch B] [--json]
**              [--per-sample RESULTS.csv|.jsonl]
**   MODEL export --weights CKPT.safetensors -o W.safetensors
**   MODEL help [COMMAND] | --help | --version
**
** Exit status: 0 success, 1 a runtime error (a bad file, out of memory),
** 2 a usage error (unknown command or flag, missing or malformed value).
** This is the only file that prints to stderr or exits, and the only one
** that names the generated symbols. Every entry but predict is declared
** weak: a model without a loss has no eval or train entries and still
** links; the commands that need them say so.
*/
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train.h"
#include "data.h"

extern const char lunac_model_json[];
/* Each entry's kernel calls, for --profile (weak: hand-written stand-ins for
** generated code in the tests have none). */
__attribute__((weak)) extern const char lunac_profile_json[];
void lunac_predict(char *arena, int64_t n, const RtCtx *ctx);
__attribute__((weak)) void lunac_mc(char *arena, int64_t n, const RtCtx *ctx);
__attribute__((weak)) void lunac_eval(char *arena, int64_t n, const RtCtx *ctx);
__attribute__((weak)) void lunac_train_sgd(char *arena, int64_t n, const RtCtx *ctx);
__attribute__((weak)) void lunac_train_adam(char *arena, int64_t n, const RtCtx *ctx);

#define MAXFLAGS 32

static const char *prog = "model";
static const char *argv0 = "model";   /* as invoked, for commands to copy ("./m train ...") */
static RtModel model;

/* A flag a command takes; arg: the name of its value (NULL: it takes none);
** many: it may repeat. */
typedef struct Flag {
	const char *name;
	char shortc;
	const char *arg;
	int many;
	const char *help;
} Flag;

/* One command: its flags and what it does. */
typedef struct Cmd {
	const char *name, *args, *summary;
	const Flag *flags;
	int (*run)(const struct Cmd *c, const char **vals[], int nvals[]);
} Cmd;

/* ---- messages ---------------------------------------------------------- */

/* A usage error: one line, a hint, exit status 2. */
static int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nRun '%s help%s%s' for usage.\n", prog, cmd ? " " : "", cmd ? cmd : "");
	return 2;
}

/* Set when the reader of stdout went away: main exits as a SIGPIPE would. */
static int stdout_closed;

/* A runtime error from the library: exit status 1. A closed stdout pipe
** (`| head`) is not reported (see main). */
static int runtime_error(const RtErr *e)
{
	if (e->pipe_closed)
		stdout_closed = 1;
	else
		fprintf(stderr, "%s: error: %s\n", prog, e->msg);
	return 1;
}

/* Print a warning if w holds one. */
static void warn(const RtErr *w)
{
	if (w->set)
		fprintf(stderr, "%s: warning: %s\n", prog, w->msg);
}

/* ---- value parsing ----------------------------------------------------- */

/* A decimal integer in [lo, hi] from s; -1 when s is anything else. */
static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *v)
{
	if (!s || *s < '0' || *s > '9')
		return -1;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || *end || x < lo || x > hi)
		return -1;
	*v = x;
	return 0;
}

/* The values of a repeatable flag as one string, a line each (malloc'ed;
** NULL when there are none). */
static char *lines(const char **vals, int n)
{
	size_t len = 1;
	for (int i = 0; i < n; i++)
		len += strlen(vals[i]) + 1;
	char *s = n ? malloc(len) : NULL;
	if (s)
		s[0] = 0;
	for (int i = 0; s && i < n; i++)
		strcat(strcat(s, i ? "\n" : ""), vals[i]);
	return s;
}

/* --normalize and --resize checked as usage errors (exit 2); 0 when fine. */
static int prep_flags(const char *cmd, const char *norm, const char *resize)
{
	DataNorm n;
	ImgFilter f;
	RtErr e = {0};
	if (norm && data_norm_parse(norm, "normalize", &n, &e))
		return usage_error(cmd, "%s", e.msg);
	if (resize && img_filter_parse(resize, &f))
		return usage_error(cmd, "--resize %s: use area (the default) or bilinear", resize);
	return 0;
}

/* Print and free the notes of a run (what was resized, a flag that overrides
** the checkpoint). */
static void notes(char *note)
{
	if (note)
		fprintf(stderr, "%s: note: %s\n", prog, note);
	free(note);
}

/* The index of the model tensor called name in ts, or -1. */
static int find(const RtTensor *ts, int n, const char *name, size_t len)
{
	for (int i = 0; i < n; i++)
		if (strlen(ts[i].name) == len && !strncmp(ts[i].name, name, len))
			return i;
	return -1;
}

/* "a", "b" and "c" for a message. */
static const char *names(const RtTensor *ts, int n)
{
	static char buf[1024];
	size_t k = 0;
	buf[0] = 0;
	for (int i = 0; i < n && k < sizeof buf; i++)
		k += snprintf(buf + k, sizeof buf - k, "%s\"%s\"", i == 0 ? "" : i + 1 < n ? ", " : " and ",
		              ts[i].name);
	if (k >= sizeof buf)
		memcpy(buf + sizeof buf - 4, "...", 4);   /* cut: say so */
	return buf;
}

/* Bind each "NAME=FILE" of vals to a tensor of ts (paths[i] for ts[i]); a
** bare FILE goes to ts[0] when bare_ok. what: "input" or "output". */
static int bind(const char *cmd, const char *flag, const char *what, const char **vals, int nvals,
                const RtTensor *ts, int n, int bare_ok, const char **paths)
{
	for (int k = 0; k < nvals; k++) {
		const char *v = vals[k], *eq = strchr(v, '='), *path = v;
		int i = 0;
		if (eq && !memchr(v, '/', eq - v)) {
			if ((i = find(ts, n, v, eq - v)) < 0)
				return usage_error(cmd, "%s %s: the model has no %s \"%.*s\" (its %ss: %s)", flag, v,
				                   what, (int)(eq - v), v, what, names(ts, n));
			path = eq + 1;
		} else if (!bare_ok) {
			return usage_error(cmd, "%s %s: write NAME=FILE (the model's %ss: %s)", flag, v, what,
			                   names(ts, n));
		}
		if (!*path)
			return usage_error(cmd, "%s %s: the file name is empty", flag, v);
		if (paths[i])
			return usage_error(cmd, "%s \"%s\" is given twice", what, ts[i].name);
		paths[i] = path;
	}
	return 0;
}

/* ---- the commands ------------------------------------------------------ */

/* Flag slots: indices into each command's flag table below (help is 0 in all). */
enum { F_HELP };
enum { INIT_SEED = 1, INIT_OUT };
enum { P_WEIGHTS = 1, P_INPUT, P_OUTPUT, P_BATCH, P_THREADS, P_QUIET, P_NORMALIZE, P_RESIZE, P_DATA,
       P_PROFILE };
enum { X_WEIGHTS = 1, X_OUT };

/* `info` */
static int cmd_info(const Cmd *c, const char **vals[], int nvals[])
{
	RtErr e = {0};
	return rt_info(&model, stdout, &e) ? runtime_error(&e) : 0;
}

/* The entry functions this executable links. */
static RtEntries entries(void)
{
	return (RtEntries){lunac_predict, lunac_mc, lunac_eval, lunac_train_sgd, lunac_train_adam};
}

/* `export --weights CKPT -o W.safetensors` */
static int cmd_export(const Cmd *c, const char **vals[], int nvals[])
{
	if (!nvals[X_WEIGHTS])
		return usage_error(c->name, "export needs --weights CKPT.safetensors (a checkpoint or "
		                   "weights file)");
	if (!nvals[X_OUT])
		return usage_error(c->name, "export needs -o FILE.safetensors");
	const char *out = vals[X_OUT][0];
	size_t n = strlen(out);
	if (n < 12 || strcmp(out + n - 12, ".safetensors"))
		return usage_error(c->name, "-o %s: the weights file must end in .safetensors", out);
	RtErr e = {0}, w = {0};
	int nt = 0;
	int rc = rt_export(&model, vals[X_WEIGHTS][0], out, &nt, &e, &w);
	warn(&w);
	if (rc)
		return runtime_error(&e);
	fprintf(stderr, "%s: wrote %s (%d tensors: parameters and buffers, no optimizer state)\n",
	        prog, out, nt);
	return 0;
}

/* `init [--seed N] -o W.safetensors` */
static int cmd_init(const Cmd *c, const char **vals[], int nvals[])
{
	uint64_t seed = 0;
	if (nvals[INIT_SEED] && parse_u64(vals[INIT_SEED][0], 0, UINT64_MAX, &seed))
		return usage_error(c->name, "--seed %s: not a non-negative integer", vals[INIT_SEED][0]);
	if (!nvals[INIT_OUT])
		return usage_error(c->name, "init needs -o FILE.safetensors");
	RtErr e = {0};
	if (rt_init_file(&model, seed, vals[INIT_OUT][0], &e))
		return runtime_error(&e);
	int np, nb, nt = rt_weights_count(&model, &np, &nb);
	fprintf(stderr, "%s: wrote %s (%d tensors: %d parameter%s, %d buffer%s; seed %llu)\n", prog,
	        vals[INIT_OUT][0], nt, np, np == 1 ? "" : "s", nb, nb == 1 ? "" : "s",
	        (unsigned long long)seed);
	return 0;
}

/* The rows of eval --per-sample and predict --data are done: say where they went. */
static int rows_done(const char *path, const RtEvalResult *r)
{
	if (r->ds.note)
		fprintf(stderr, "%s: note: %s\n", prog, r->ds.note);
	if (path)
		fprintf(stderr, "%s: wrote %s (%lld rows)\n", prog, path, (long long)r->samples);
	return 0;
}

/* `predict --weights W --data [INPUT=]SPEC ... [-o RESULTS.csv|.jsonl]`: one row per sample. */
static int predict_data(const Cmd *c, const char **vals[], int nvals[], uint64_t batch,
                        uint64_t threads)
{
	RtErr e = {0}, w = {0};
	if (nvals[P_INPUT])
		return usage_error(c->name, "--input and --data exclude each other (--data reads many "
		                   "cases, --input one file per model input)");
	if (nvals[P_OUTPUT] > 1)
		return usage_error(c->name, "with --data, -o takes one FILE.csv or FILE.jsonl");
	if (nvals[P_PROFILE])
		return usage_error(c->name, "--profile profiles --input runs (bench --profile times any "
		                   "entry at any batch)");
	if (nvals[P_OUTPUT] && rt_results_format(vals[P_OUTPUT][0], &e) < 0)
		return usage_error(c->name, "-o %s", e.msg);
	RtEvalOpts o = {.weights = vals[P_WEIGHTS][0], .batch = batch ? (int64_t)batch : 32,
	                .threads = (int)threads, .predict = 1,
	                .normalize = nvals[P_NORMALIZE] ? vals[P_NORMALIZE][0] : NULL,
	                .resize = nvals[P_RESIZE] ? vals[P_RESIZE][0] : NULL,
	                .per_sample = nvals[P_OUTPUT] ? vals[P_OUTPUT][0] : NULL,
	                .table = nvals[P_QUIET] ? NULL : stdout};
	int bad = prep_flags(c->name, o.normalize, o.resize);
	if (bad)
		return bad;
	char *data = lines(vals[P_DATA], nvals[P_DATA]);
	o.data = (RtDataArgs){.data = data, .threads = (int)threads};
	RtEntries fns = entries();
	RtEvalResult r = {0};
	int rc = data ? rt_eval(&model, &fns, &o, &r, &e, &w) : rt_errorf(&e, "out of memory");
	warn(&w);
	rc = rc ? runtime_error(&e) : rows_done(o.per_sample, &r);
	rt_eval_result_free(&r);
	free(data);
	return rc;
}

/* `predict --weights W --input NAME=X.npy ... [-o [NAME=]OUT.npy] [--batch B] [--threads T] [-q]` */
static int predict(const Cmd *c, const char **vals[], int nvals[], const char **in, const char **out)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t batch = 0, threads = ncpu > 0 ? (uint64_t)ncpu : 1;
	if (!nvals[P_WEIGHTS])
		return usage_error(c->name, "predict needs --weights FILE.safetensors");
	if (nvals[P_BATCH] && parse_u64(vals[P_BATCH][0], 1, INT64_MAX, &batch))
		return usage_error(c->name, "--batch %s: not a positive integer", vals[P_BATCH][0]);
	if (nvals[P_THREADS] && parse_u64(vals[P_THREADS][0], 1, 4096, &threads))
		return usage_error(c->name, "--threads %s: not an integer from 1 to 4096", vals[P_THREADS][0]);
	if (nvals[P_DATA])
		return predict_data(c, vals, nvals, batch, threads);
	int rc = bind(c->name, "--input", "input", vals[P_INPUT], nvals[P_INPUT], model.inputs, model.ndata,
	              model.ndata == 1, in);
	if (!rc)
		rc = bind(c->name, "-o", "output", vals[P_OUTPUT], nvals[P_OUTPUT], model.outputs, model.npredict, 1, out);
	for (int i = 0; !rc && i < model.ndata; i++)
		if (!in[i])
			rc = usage_error(c->name, "input \"%s\" is missing (--input %s=FILE.npy or an image)",
			                 model.inputs[i].name, model.inputs[i].name);
	if (rc)
		return rc;
	const char *nf = nvals[P_NORMALIZE] ? vals[P_NORMALIZE][0] : NULL;
	const char *rf = nvals[P_RESIZE] ? vals[P_RESIZE][0] : NULL;
	if ((rc = prep_flags(c->name, nf, rf)))
		return rc;
	char *note = NULL;
	DataPrep prep = {.note = &note};
	RtErr e = {0}, w = {0};
	rc = rt_prep_for(vals[P_WEIGHTS][0], &model, nf, rf, &prep, NULL, &e, &w);
	RtProf prof = {.prev = -1};
	RtPredictOpts o = {vals[P_WEIGHTS][0], in, out, (int64_t)batch, (int)threads,
	                   nvals[P_QUIET] ? NULL : stdout, &prep, nvals[P_PROFILE] ? &prof : NULL};
	if (!rc && nvals[P_PROFILE])
		rc = rt_prof_open(&prof, lunac_profile_json ? lunac_profile_json : "{}", "predict", &e);
	if (!rc)
		rc = rt_predict(&model, lunac_predict, &o, &e, &w);
	if (!rc && nvals[P_PROFILE])
		rt_prof_print(&prof, 0, stderr);
	rt_prof_free(&prof);
	warn(&w);
	notes(note);
	return rc ? runtime_error(&e) : 0;
}

/* `predict`: the input and output path tables around predict(). */
static int cmd_predict(const Cmd *c, const char **vals[], int nvals[])
{
	const char **in = calloc(model.ninputs + 1, sizeof *in);
	const char **out = calloc(model.noutputs + 1, sizeof *out);
	int rc = in && out ? predict(c, vals, nvals, in, out)
	                   : (fprintf(stderr, "%s: out of memory\n", prog), 1);
	free(in);
	free(out);
	return rc;
}


/* The number of CPUs (1 if unknown). */
static int ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 && n < 4096 ? (int)n : 1;
}

/* Flag slots of train and eval (the order of their tables below). */
enum { T_OUT = 1 + RT_NSETTINGS, T_RESUME, T_WEIGHTS, T_THREADS, T_NFLAGS };
enum { E_WEIGHTS = 1, E_DATA, E_BATCH, E_THREADS, E_JSON, E_LABEL_TASK, E_TASK, E_NORMALIZE,
       E_SEED, E_RESIZE, E_PER_SAMPLE };

/* `train`: settings from flags (each checked), then the run. */
static int cmd_train(const Cmd *c, const char **vals[], int nvals[])
{
	RtTrainOpts o;
	RtErr e = {0};
	uint64_t threads = (uint64_t)ncpus();
	rt_train_defaults(&o);
	int rc = 0;
	for (int i = 1; c->flags[i].name && !rc; i++)
		for (int s = 0; s < RT_NSETTINGS && !rc; s++) {
			if (!nvals[i] || strcmp(c->flags[i].name, rt_setting_flag((RtSetting)s)))
				continue;
			char *text = lines(vals[i], nvals[i]);   /* --data a=X --data b=Y: two lines */
			if (!text)
				rc = (fprintf(stderr, "%s: out of memory\n", prog), 1);
			else if (rt_setting_parse(&o, (RtSetting)s, text, 1, &e))
				rc = usage_error(c->name, "%s", e.msg);
			free(text);
		}
	if (!rc && nvals[T_THREADS] && parse_u64(vals[T_THREADS][0], 1, 4096, &threads))
		rc = usage_error(c->name, "--threads %s: not an integer from 1 to 4096", vals[T_THREADS][0]);
	o.out = nvals[T_OUT] ? vals[T_OUT][0] : NULL;
	o.resume = nvals[T_RESUME] ? vals[T_RESUME][0] : NULL;
	o.weights = nvals[T_WEIGHTS] ? vals[T_WEIGHTS][0] : NULL;
	if (!rc && !o.resume && !o.data)
		rc = usage_error(c->name, "train needs --data SPEC (e.g. npy:x.npy,y.npy, or --data a=SPEC "
		                 "--data b=SPEC for a model with two image inputs)");
	if (!rc && !o.resume && !o.out)
		rc = usage_error(c->name, "train needs --out RUNDIR (the directory for checkpoints and metrics)");
	if (!rc && o.resume && o.weights)
		rc = usage_error(c->name, "--resume and --weights exclude each other (a checkpoint holds the weights)");
	if (!rc) {
		o.threads = (int)threads;
		o.prog = argv0;
		o.log = stderr;
		o.tty = isatty(STDERR_FILENO);
		RtEntries fns = entries();
		RtTrainResult res;
		if (rt_train(&model, &fns, &o, &res, &e))
			rc = runtime_error(&e);
		else if (res.interrupted)
			rc = 128 + res.interrupted;   /* the shell's status for a signal */
	}
	rt_train_opts_free(&o);
	return rc;
}

/* `eval`'s report as JSON: {"model","weights","data","samples","loss","tasks":{name: metrics}}. */
static int eval_json(const RtEvalOpts *o, const RtEvalResult *r)
{
	cJSON *j = cJSON_CreateObject(), *t = NULL;
	int ok = j && cJSON_AddStringToObject(j, "model", model.name) &&
	         cJSON_AddStringToObject(j, "weights", o->weights) &&
	         cJSON_AddStringToObject(j, "data", r->ds.name) &&
	         cJSON_AddNumberToObject(j, "samples", (double)r->samples) &&
	         (isnan(r->loss) ? cJSON_AddNullToObject(j, "loss") != NULL
	                         : cJSON_AddNumberToObject(j, "loss", r->loss) != NULL) &&
	         (t = cJSON_AddObjectToObject(j, "tasks"));
	for (int q = 0; ok && q < r->ntasks; q++) {
		cJSON *mj = r->has_metrics[q] ? metrics_json(&r->metrics[q], r->class_names[q])
		                              : cJSON_CreateNull();
		ok = mj && cJSON_AddItemToObject(t, r->task[q], mj);
	}
	char *text = ok ? cJSON_Print(j) : NULL;
	cJSON_Delete(j);
	if (!text)
		return fprintf(stderr, "%s: out of memory\n", prog), 1;
	RtErr e = {0};
	printf("%s\n", text);
	free(text);
	return rt_flush_out(stdout, &e) ? runtime_error(&e) : 0;
}

/* `eval`'s report as tables, one per task. */
static int eval_table(const RtEvalOpts *o, const RtEvalResult *r)
{
	printf("model %s, weights %s\ndata %s: %lld samples", model.name, o->weights, r->ds.name,
	       (long long)r->samples);
	if (!isnan(r->loss))
		printf(", loss %.4f", r->loss);
	printf("\n");
	for (int q = 0; q < r->ntasks; q++) {
		if (!r->has_metrics[q])
			continue;
		printf("\ntask %s (%d classes)\n", r->task[q], r->metrics[q].k);
		metrics_print(&r->metrics[q], r->class_names[q], stdout);
	}
	RtErr e = {0};
	return rt_flush_out(stdout, &e) ? runtime_error(&e) : 0;
}

/* `eval --weights W --data [INPUT=]SPEC ... [--batch B] [--threads T] [--json] [--task
** INPUT=TASK ...] [--label-task NAME] [--normalize M,S] [--seed S]` */
static int cmd_eval(const Cmd *c, const char **vals[], int nvals[])
{
	uint64_t batch = 32, threads = (uint64_t)ncpus(), seed = 0;
	if (!nvals[E_WEIGHTS])
		return usage_error(c->name, "eval needs --weights FILE.safetensors");
	if (!nvals[E_DATA])
		return usage_error(c->name, "eval needs --data SPEC (e.g. npy:x.npy,y.npy)");
	if (nvals[E_BATCH] && parse_u64(vals[E_BATCH][0], 1, 1 << 30, &batch))
		return usage_error(c->name, "--batch %s: not a positive integer", vals[E_BATCH][0]);
	if (nvals[E_THREADS] && parse_u64(vals[E_THREADS][0], 1, 4096, &threads))
		return usage_error(c->name, "--threads %s: not an integer from 1 to 4096", vals[E_THREADS][0]);
	if (nvals[E_SEED] && parse_u64(vals[E_SEED][0], 0, UINT64_MAX, &seed))
		return usage_error(c->name, "--seed %s: not a non-negative integer", vals[E_SEED][0]);
	RtErr fe = {0};
	if (nvals[E_PER_SAMPLE] && rt_results_format(vals[E_PER_SAMPLE][0], &fe) < 0)
		return usage_error(c->name, "--per-sample %s", fe.msg);
	RtEvalOpts o = {.weights = vals[E_WEIGHTS][0], .batch = (int64_t)batch, .threads = (int)threads,
	                .normalize = nvals[E_NORMALIZE] ? vals[E_NORMALIZE][0] : NULL,
	                .resize = nvals[E_RESIZE] ? vals[E_RESIZE][0] : NULL,
	                .per_sample = nvals[E_PER_SAMPLE] ? vals[E_PER_SAMPLE][0] : NULL};
	int bad = prep_flags(c->name, o.normalize, o.resize);
	if (bad)
		return bad;
	char *data = lines(vals[E_DATA], nvals[E_DATA]), *tasks = lines(vals[E_TASK], nvals[E_TASK]);
	o.data = (RtDataArgs){.data = data, .tasks = tasks, .threads = (int)threads, .seed = seed,
	                      .label_task = nvals[E_LABEL_TASK] ? vals[E_LABEL_TASK][0] : NULL};
	RtEntries fns = entries();
	RtEvalResult r = {0};
	RtErr e = {0}, w = {0};
	int rc = data ? rt_eval(&model, &fns, &o, &r, &e, &w) : rt_errorf(&e, "out of memory");
	warn(&w);
	if (!rc)
		rows_done(o.per_sample, &r);
	if (rc)
		rc = runtime_error(&e);
	else
		rc = nvals[E_JSON] ? eval_json(&o, &r) : eval_table(&o, &r);
	rt_eval_result_free(&r);
	free(data);
	free(tasks);
	return rc;
}

enum { M_WEIGHTS = 1, M_INPUT, M_SAMPLES, M_SEED, M_BATCH, M_THREADS, M_JSON, M_NORMALIZE, M_RESIZE };

/* `mc --weights W --samples T --input NAME=FILE ... [--seed S] [--batch B] [--json]` */
static int mc(const Cmd *c, const char **vals[], int nvals[], const char **in)
{
	uint64_t T = 30, seed = 0, batch = 0, threads = (uint64_t)ncpus();
	if (!nvals[M_WEIGHTS])
		return usage_error(c->name, "mc needs --weights FILE.safetensors");
	if ((nvals[M_SAMPLES] && parse_u64(vals[M_SAMPLES][0], 1, 1 << 20, &T)) ||
	    (nvals[M_BATCH] && parse_u64(vals[M_BATCH][0], 1, 1 << 20, &batch)) ||
	    (nvals[M_THREADS] && parse_u64(vals[M_THREADS][0], 1, 4096, &threads)))
		return usage_error(c->name, "--samples, --batch and --threads take positive integers");
	if (nvals[M_SEED] && parse_u64(vals[M_SEED][0], 0, UINT64_MAX, &seed))
		return usage_error(c->name, "--seed %s: not a non-negative integer", vals[M_SEED][0]);
	int rc = bind(c->name, "--input", "input", vals[M_INPUT], nvals[M_INPUT], model.inputs,
	              model.ndata, model.ndata == 1, in);
	for (int i = 0; !rc && i < model.ndata; i++)
		if (!in[i])
			rc = usage_error(c->name, "input \"%s\" is missing (--input %s=IMAGE or FILE.npy)",
			                 model.inputs[i].name, model.inputs[i].name);
	if (rc)
		return rc;
	const char *nf = nvals[M_NORMALIZE] ? vals[M_NORMALIZE][0] : NULL;
	const char *rf = nvals[M_RESIZE] ? vals[M_RESIZE][0] : NULL;
	if ((rc = prep_flags(c->name, nf, rf)))
		return rc;
	RtErr e = {0}, w = {0};
	char *classes[RT_MAXFEED] = {0}, *note = NULL;
	DataPrep prep = {.note = &note};
	RtMcResult r = {0};
	if (entries().mc && rt_model_entry(&model, "mc"))   /* else rt_mc says there is no mc */
		rc = rt_prep_for(vals[M_WEIGHTS][0], &model, nf, rf, &prep,
		                 model.ntasks <= RT_MAXFEED ? classes : NULL, &e, &w);
	RtMcOpts o = {vals[M_WEIGHTS][0], in, &prep, (int64_t)T, (int64_t)batch, seed, (int)threads,
	              classes};
	if (!rc)
		rc = rt_mc(&model, entries().mc, &o, &r, &e, &w);
	warn(&w);
	notes(note);
	if (!rc && rt_mc_print(&model, &r, nvals[M_JSON], stdout, &e))
		rc = -1;
	rc = rc ? runtime_error(&e) : 0;
	rt_mc_free(&r);
	for (int t = 0; t < RT_MAXFEED; t++)
		free(classes[t]);
	return rc;
}

/* `mc`: the input path table around mc(). */
static int cmd_mc(const Cmd *c, const char **vals[], int nvals[])
{
	const char **in = calloc(model.ninputs + 1, sizeof *in);
	int rc = in ? mc(c, vals, nvals, in) : (fprintf(stderr, "%s: out of memory\n", prog), 1);
	free(in);
	return rc;
}

enum { B_ENTRY = 1, B_BATCH, B_STEPS, B_REPEAT, B_THREADS, B_PROFILE, B_WARMUP };

/* `bench [--entry E] [--batch B] [--steps S] [--repeat R] [--threads T]`:
** one JSON line of timings on synthetic data (bench/ compares it with PyTorch). */
static int cmd_bench(const Cmd *c, const char **vals[], int nvals[])
{
	uint64_t batch = 64, steps = 20, repeat = 5, threads = (uint64_t)ncpus(), warmup = 3;
	const char *name = nvals[B_ENTRY] ? vals[B_ENTRY][0] : "train_adam";
	if ((nvals[B_BATCH] && parse_u64(vals[B_BATCH][0], 1, 1 << 20, &batch)) ||
	    (nvals[B_STEPS] && parse_u64(vals[B_STEPS][0], 1, 1 << 20, &steps)) ||
	    (nvals[B_REPEAT] && parse_u64(vals[B_REPEAT][0], 1, 1000, &repeat)) ||
	    (nvals[B_THREADS] && parse_u64(vals[B_THREADS][0], 1, 4096, &threads)))
		return usage_error(c->name, "--batch, --steps, --repeat and --threads take positive integers");
	if (nvals[B_WARMUP] && parse_u64(vals[B_WARMUP][0], 0, 1 << 20, &warmup))
		return usage_error(c->name, "--warmup %s: not a non-negative integer", vals[B_WARMUP][0]);
	RtEntries fns = entries();
	RtPredictFn fn = !strcmp(name, "predict") ? fns.predict : !strcmp(name, "mc") ? fns.mc
	               : !strcmp(name, "eval") ? fns.eval : !strcmp(name, "train_sgd") ? fns.train_sgd
	               : !strcmp(name, "train_adam") ? fns.train_adam : NULL;
	if (!fn)
		return usage_error(c->name, "--entry %s: this model has no such entry (see info)", name);
	double ms[1000];
	RtErr e = {0};
	RtProf prof = {.prev = -1};
	if (nvals[B_PROFILE] && rt_prof_open(&prof, lunac_profile_json ? lunac_profile_json : "{}", name, &e))
		return runtime_error(&e);
	if (rt_bench(&model, fn, (int64_t)batch, (int)warmup, (int)steps, (int)repeat, (int)threads, ms,
	             nvals[B_PROFILE] ? &prof : NULL, &e)) {
		rt_prof_free(&prof);
		return runtime_error(&e);
	}
	double sorted[1000];
	memcpy(sorted, ms, sizeof(double) * repeat);
	for (uint64_t i = 1; i < repeat; i++)
		for (uint64_t j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
			double t = sorted[j];
			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	double median = repeat % 2 ? sorted[repeat / 2] : (sorted[repeat / 2 - 1] + sorted[repeat / 2]) / 2;
	printf("{\"model\": \"%s\", \"entry\": \"%s\", \"batch\": %llu, \"threads\": %llu, \"ms_per_step\": [",
	       model.name, name, (unsigned long long)batch, (unsigned long long)threads);
	for (uint64_t r = 0; r < repeat; r++)
		printf("%s%.3f", r ? ", " : "", ms[r]);
	printf("], \"median_ms\": %.3f}\n", median);
	if (nvals[B_PROFILE])
		rt_prof_print(&prof, (int64_t)batch, stdout);
	rt_prof_free(&prof);
	return 0;
}

static const Flag info_flags[] = {
	{"help", 'h', NULL, 0, "this help"},
	{0},
};
static const Flag init_flags[] = {
	{"help", 'h', NULL, 0, "this help"},
	{"seed", 0, "N", 0, "the random seed, a non-negative integer (default 0)"},
	{"output", 'o', "FILE", 0, "the weights file to write (.safetensors)"},
	{0},
};
static const Flag predict_flags[] = {
	{"help", 'h', NULL, 0, "this help"},
	{"weights", 'w', "FILE", 0, "trained weights (.safetensors)"},
	{"input", 'i', "NAME=FILE", 1, "a .npy file or an image (PNG, JPEG, BMP) for each model input "
	 "(just FILE if there is one)"},
	{"output", 'o', "[NAME=]FILE", 1, "also save an output as .npy (just FILE: the first output)"},
	{"batch", 'b', "B", 0, "run at most B samples at a time (default: all at once)"},
	{"threads", 't', "T", 0, "threads the model runs on (default: every CPU); the results do not depend on it"},
	{"quiet", 'q', NULL, 0, "print nothing on stdout (with -o)"},
	{"normalize", 0, "M,S[,...]", 0, "normalise images per channel (default: as the checkpoint "
	 "was trained, else none)"},
	{"resize", 0, "FILTER", 0, "area or bilinear (torchvision's), for image files (default: as "
	 "the checkpoint was trained, else area)"},
	{"data", 'd', "[INPUT=]SPEC", 1, "many cases at once instead of --input: any data spec "
	 "(docs/data.md), labelled or not (npy:X.npy, images:DIR); one row per case, to -o "
	 "FILE.csv or FILE.jsonl, else a table (--batch default 32)"},
	{"profile", 0, NULL, 0, "with --input: on stderr, the time, share and GFLOP/s (or GB/s) of "
	 "each kernel call of the model, slowest first"},
	{0},
};
static const Flag export_flags[] = {
	{"help", 'h', NULL, 0, "this help"},
	{"weights", 'w', "FILE", 0, "a training checkpoint or weights file (.safetensors)"},
	{"output", 'o', "FILE", 0, "the weights file to write (.safetensors): parameters and "
	 "buffers, no optimizer state"},
	{0},
};
static const Flag mc_flags[] = {
	{"help", 'h', NULL, 0, "this help"},
	{"weights", 'w', "FILE", 0, "trained weights or a checkpoint (.safetensors)"},
	{"input", 'i', "NAME=FILE", 1, "an image (PNG, JPEG, BMP) or a .npy file for each model input"},
	{"samples", 'T', "T", 0, "stochastic passes (default 30)"},
	{"seed", 0, "S", 0, "dropout seed (default 0); the same seed gives the same numbers"},
	{"batch", 'b', "B", 0, "passes per call of the model (default: all T at once)"},
	{"threads", 't', "T", 0, "threads the model runs on (default: every CPU); the results do not depend on it"},
	{"json", 0, NULL, 0, "print JSON instead of tables"},
	{"normalize", 0, "M,S[,...]", 0, "normalise images per channel (default: as the checkpoint "
	 "was trained, else none)"},
	{"resize", 0, "FILTER", 0, "area or bilinear (torchvision's), for image files (default: as "
	 "the checkpoint was trained, else area)"},
	{0},
};

static const Flag train_flags[] = {
	{"help", 'h', NULL, 0, "this help"},
	/* one per RtSetting, in its order */
	{"data", 'd', "[INPUT=]SPEC", 1, "training data (docs/data.md): npy:X.npy,Y.npy, folders:DIR, "
	 "csv:..., paired:FILE.csv, fashion-mnist:train; one per image input as INPUT=SPEC"},
	{"val-data", 0, "[INPUT=]SPEC", 1, "validation data (default: --val-split of --data)"},
	{"val-split", 0, "F", 0, "fraction of --data held out for validation (default 0.2; 0: none)"},
	{"label-task", 0, "NAME", 0, "the task the labels are for (default: the model's only task)"},
	{"epochs", 'e', "N", 0, "train up to N epochs in all (default 200)"},
	{"batch", 'b', "B", 0, "samples per step (default 32)"},
	{"lr", 0, "X", 0, "learning rate (default 0.001)"},
	{"optimizer", 0, "NAME", 0, "adam, adamw or sgd (default adam)"},
	{"seed", 0, "S", 0, "seed of initialisation, split, shuffling and dropout (default 0)"},
	{"momentum", 0, "M", 0, "SGD momentum (default 0.9)"},
	{"weight-decay", 0, "W", 0, "L2 (sgd, adam) or decoupled (adamw) weight decay (default 0)"},
	{"clip", 0, "C", 0, "clip gradients to global norm C (default 0: off)"},
	{"schedule", 0, "NAME", 0, "none, plateau or cosine (default plateau)"},
	{"plateau-factor", 0, "F", 0, "plateau: multiply lr by F (default 0.2)"},
	{"plateau-patience", 0, "N", 0, "plateau: after N epochs without improvement (default 5)"},
	{"min-lr", 0, "X", 0, "plateau and cosine: lowest lr (default 1e-05)"},
	{"early-stop", 0, "N", 0, "stop after N epochs without improvement (default 100; 0: off)"},
	{"task", 0, "INPUT=TASK", 1, "the task INPUT's dataset's labels train (default: the k-th "
	 "input's labels train the k-th task; TASK none: unused)"},
	{"normalize", 0, "M,S[,...]", 0, "normalise images: mean,std for all channels or a pair per "
	 "channel (default: none, images in [0,1])"},
	{"augment", 0, "MODE", 0, "none (default), authors, flips or all (training images only)"},
	{"resize", 0, "FILTER", 0, "how image files are resized: area (default: exact area average "
	 "when shrinking) or bilinear (torchvision's Resize, PIL's antialiased bilinear)"},
	{"min-delta", 0, "R", 0, "an epoch improves when its loss beats the best by this fraction "
	 "(default 0.0001; plateau, early stopping and best.safetensors)"},
	{"out", 'o', "RUNDIR", 0, "directory for best/last.safetensors and metrics.jsonl"},
	{"resume", 0, "CKPT", 0, "continue the run of RUNDIR/last.safetensors exactly"},
	{"weights", 'w', "FILE", 0, "start from these weights instead of a fresh initialisation"},
	{"threads", 't', "T", 0, "threads the model runs on and that decode image files (default: every CPU); "
	 "the results do not depend on it"},
	{0},
};
_Static_assert(sizeof train_flags / sizeof train_flags[0] == T_NFLAGS + 1, "train flags");
static const Flag eval_flags[] = {
	{"help", 'h', NULL, 0, "this help"},
	{"weights", 'w', "FILE", 0, "weights or a training checkpoint (.safetensors)"},
	{"data", 'd', "[INPUT=]SPEC", 1, "labelled data (docs/data.md); one per image input as "
	 "INPUT=SPEC"},
	{"batch", 'b', "B", 0, "samples at a time (default 32)"},
	{"threads", 't', "T", 0, "threads the model runs on and that decode image files (default: every CPU); "
	 "the results do not depend on it"},
	{"json", 0, NULL, 0, "print the metrics as JSON"},
	{"label-task", 0, "NAME", 0, "the task the labels are for (default: the model's only task)"},
	{"task", 0, "INPUT=TASK", 1, "the task INPUT's dataset's labels are for (as in train)"},
	{"normalize", 0, "M,S[,...]", 0, "normalise images (default: as the checkpoint was trained)"},
	{"seed", 0, "S", 0, "seed of the resampling of a shorter dataset (default 0)"},
	{"resize", 0, "FILTER", 0, "area or bilinear, for image files (default: as the checkpoint "
	 "was trained, else area)"},
	{"per-sample", 0, "FILE", 0, "also write one row per sample to FILE.csv or FILE.jsonl: "
	 "predicted and true class, every probability"},
	{0},
};

static const Flag bench_flags[] = {
	{"help", 'h', NULL, 0, "this help"},
	{"entry", 0, "NAME", 0, "the entry to time: train_adam (default), train_sgd, predict, mc, eval"},
	{"batch", 'b', "B", 0, "samples per call (default 64)"},
	{"steps", 0, "S", 0, "calls per round (default 20)"},
	{"repeat", 0, "R", 0, "rounds; the median is reported (default 5)"},
	{"threads", 't', "T", 0, "threads the model runs on (default: every CPU)"},
	{"profile", 0, NULL, 0, "after the JSON line, a table of the timed calls' kernels: time, "
	 "share and GFLOP/s (or GB/s) of each, slowest first"},
	{"warmup", 0, "W", 0, "untimed calls before the first round (default 3)"},
	{0},
};

static const Cmd cmds[] = {
	{"info", "", "describe the model (inputs, outputs, parameters) as JSON", info_flags, cmd_info},
	{"init", "[--seed N] -o W.safetensors", "write freshly initialised weights", init_flags, cmd_init},
	{"predict", "--weights W.safetensors (--input NAME=X.npy|IMAGE ... [-o OUT.npy] | --data "
	 "[INPUT=]SPEC ... [-o RESULTS.csv|.jsonl]) [--batch B]",
	 "run the model on .npy or image inputs (JSON), or on many cases (--data: a row each)",
	 predict_flags, cmd_predict},
	{"mc", "--weights W.safetensors --samples T --input NAME=IMAGE ... [--seed S] [--json]",
	 "Monte-Carlo dropout: mean probabilities and uncertainty per task", mc_flags, cmd_mc},
	{"train", "--data [INPUT=]SPEC ... --out RUNDIR [options] | --resume RUNDIR/last.safetensors",
	 "train the model, writing checkpoints and metrics to RUNDIR", train_flags, cmd_train},
	{"eval", "--weights W.safetensors --data [INPUT=]SPEC ... [--batch B] [--json]",
	 "evaluate weights on labelled data: accuracy, precision, recall, F1, AUC", eval_flags, cmd_eval},
	{"export", "--weights CKPT.safetensors -o W.safetensors",
	 "write the model's weights alone (no optimizer state), for shipping and PyTorch",
	 export_flags, cmd_export},
	{"bench", "[--entry train_adam] [--batch B] [--steps S] [--repeat R] [--threads T] [--warmup W] [--profile]",
	 "time an entry point on synthetic data (JSON; for bench/)", bench_flags, cmd_bench},
};
#define NCMDS ((int)(sizeof cmds / sizeof cmds[0]))

/* ---- help -------------------------------------------------------------- */

/* The overview: every command. */
static void overview(FILE *f)
{
	fprintf(f, "usage: %s COMMAND [OPTIONS]\n\n", prog);
	fprintf(f, "Model \"%s\", compiled by %s.\n\ncommands:\n", model.name, model.compiler);
	for (int i = 0; i < NCMDS; i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "  %-8s %s\n\n", "help", "help COMMAND: a command's options");
	fprintf(f, "  --help, --version\n\nExit status: 0 success, 1 error, 2 bad command line, 130 or 143 train\n"
	        "interrupted by SIGINT or SIGTERM (it says how to resume).\n");
}

/* A model tensor list for help: "  image  f32[N,1,28,28]". */
static void tensors(FILE *f, const char *title, const RtTensor *ts, int n)
{
	fprintf(f, "\n%s:\n", title);
	for (int i = 0; i < n; i++) {
		char s[RT_SHAPE_STRLEN];
		fprintf(f, "  %-12s %s%s\n", ts[i].name, rt_dtype_name(ts[i].dtype),
		        rt_shape_str(s, sizeof s, ts[i].ndim, ts[i].shape));
	}
}

/* One command's usage and flags. */
static void cmd_help(FILE *f, const Cmd *c)
{
	fprintf(f, "usage: %s %s %s\n\n%s.\n\noptions:\n", prog, c->name, c->args, c->summary);
	for (const Flag *fl = c->flags; fl->name; fl++) {
		char left[64];
		snprintf(left, sizeof left, "%c%c%s--%s %s", fl->shortc ? '-' : ' ',
		         fl->shortc ? fl->shortc : ' ', fl->shortc ? ", " : "  ", fl->name,
		         fl->arg ? fl->arg : "");
		fprintf(f, "  %-26s %s\n", left, fl->help);
	}
	if (c->run == cmd_predict || c->run == cmd_mc) {
		tensors(f, "inputs (N: the number of samples; a file may also hold one sample without N)",
		        model.inputs, model.ndata);
		tensors(f, "outputs", model.outputs, model.npredict);
	}
	if ((c->run == cmd_train || c->run == cmd_eval) && model.ntasks) {
		fprintf(f, "\ntasks:\n");
		for (int i = 0; i < model.ntasks; i++)
			fprintf(f, "  %-12s %d classes (output \"%s\", labels \"%s\")\n", model.tasks[i].name,
			        model.tasks[i].classes, model.outputs[model.tasks[i].output].name,
			        model.inputs[model.tasks[i].label].name);
	}
	if (c->run == cmd_train && !rt_model_entry(&model, "train_adam") && !rt_model_entry(&model, "train_sgd"))
		fprintf(f, "\nNote: %s.\n", RT_NO_LOSS_MSG);
}

/* ---- flag parsing ------------------------------------------------------ */

/* The flag of c that arg names (--name, --name=..., -x), or -1. */
static int which_flag(const Cmd *c, const char *arg, const char **inline_val)
{
	*inline_val = NULL;
	for (int i = 0; c->flags[i].name; i++) {
		const Flag *fl = &c->flags[i];
		size_t n = strlen(fl->name);
		if (arg[0] == '-' && arg[1] == '-' && !strncmp(arg + 2, fl->name, n) &&
		    (arg[2 + n] == 0 || (arg[2 + n] == '=' && fl->arg))) {
			if (arg[2 + n] == '=')
				*inline_val = arg + 3 + n;
			return i;
		}
		if (fl->shortc && arg[0] == '-' && arg[1] == fl->shortc && arg[2] == 0)
			return i;
	}
	return -1;
}

/* Collect argv's flags into vals[flag] / nvals[flag]; 2 on a usage error. */
static int parse_flags(const Cmd *c, int argc, char **argv, const char **vals[], int nvals[])
{
	for (int k = 0; k < argc; k++) {
		const char *v;
		int i = which_flag(c, argv[k], &v);
		if (i < 0)
			return usage_error(c->name, argv[k][0] == '-' ? "unknown flag \"%s\" for %s"
			                   : "unexpected argument \"%s\" for %s", argv[k], c->name);
		const Flag *fl = &c->flags[i];
		if (fl->arg && !v) {
			if (k + 1 >= argc)
				return usage_error(c->name, "%s needs a value", argv[k]);
			v = argv[++k];
		}
		if (fl->arg && !*v)   /* a file, a directory, a number or a name: never empty */
			return usage_error(c->name, "--%s: the value is empty", fl->name);
		if (nvals[i] && !fl->many)
			return usage_error(c->name, "--%s is given twice", fl->name);
		vals[i][nvals[i]++] = v ? v : "";
	}
	return 0;
}

/* Parse the flags of command c and run it. */
static int run_cmd(const Cmd *c, int argc, char **argv)
{
	const char **vals[MAXFLAGS] = {0};
	int nvals[MAXFLAGS] = {0}, nflags = 0, rc = 0;
	while (c->flags[nflags].name)
		nflags++;
	for (int i = 0; i < nflags && !rc; i++)
		if (!(vals[i] = calloc(argc + 1, sizeof *vals[i])))
			rc = (fprintf(stderr, "%s: out of memory\n", prog), 1);
	if (!rc)
		rc = parse_flags(c, argc, argv, vals, nvals);
	if (!rc && nvals[F_HELP])
		cmd_help(stdout, c);
	else if (!rc)
		rc = c->run(c, vals, nvals);
	for (int i = 0; i < nflags; i++)
		free(vals[i]);
	return rc;
}

/* The command called name, or NULL. */
static const Cmd *lookup(const char *name)
{
	for (int i = 0; i < NCMDS; i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

/* `help [COMMAND]` */
static int help(int argc, char **argv)
{
	if (argc == 0) {
		overview(stdout);
		return 0;
	}
	const Cmd *c = lookup(argv[0]);
	if (argc > 1 || !c)
		return usage_error(NULL, argc > 1 ? "help takes one command" : "unknown command \"%s\"", argv[0]);
	cmd_help(stdout, c);
	return 0;
}

/* Whether command c runs the model's compiled code (info, init, export and
** help only read the descriptor and weight files). */
static int runs_model(const Cmd *c)
{
	static const char *const readers[] = {"info", "init", "export"};
	for (size_t i = 0; i < sizeof readers / sizeof readers[0]; i++)
		if (!strcmp(c->name, readers[i]))
			return 0;
	return 1;
}

/* Dispatch on argv[1]. */
static int dispatch(int argc, char **argv)
{
	if (argc < 2) {
		overview(stderr);
		return 2;
	}
	const char *a = argv[1];
	if (!strcmp(a, "--help") || !strcmp(a, "-h"))
		return help(0, NULL);
	if (!strcmp(a, "--version")) {
		printf("%s (model \"%s\", %s, spec %s)\n", prog, model.name, model.compiler, model.spec_hash);
		return 0;
	}
	if (!strcmp(a, "help"))
		return help(argc - 2, argv + 2);
	const Cmd *c = lookup(a);
	if (!c)
		return usage_error(NULL, a[0] == '-' ? "unknown flag \"%s\"" : "unknown command \"%s\"", a);
	RtErr e = {0};
	if (runs_model(c) && rt_cpu_check(&model, &e))
		return runtime_error(&e);
	return run_cmd(c, argc - 2, argv + 2);
}

/* An allocation by cJSON failed (the descriptor's parse reports that as
** invalid JSON, which it is not). */
static int json_oom;

/* cJSON's malloc: remembers a failure. */
static void *json_malloc(size_t n)
{
	void *p = malloc(n);
	json_oom |= !p;
	return p;
}

int main(int argc, char **argv)
{
	if (argc > 0 && argv[0][0]) {
		const char *slash = strrchr(argv[0], '/');
		prog = slash ? slash + 1 : argv[0];
		argv0 = argv[0];
	}
	/* A closed stdout (`| head`) becomes a write error, so staged output
	** files are removed instead of left behind by a SIGPIPE death; the
	** process ends by SIGPIPE after that, without a message (stdout_closed). */
	signal(SIGPIPE, SIG_IGN);
	RtErr e = {0};
	cJSON_InitHooks(&(cJSON_Hooks){json_malloc, free});
	if (rt_model_parse(&model, lunac_model_json, &e)) {
		if (json_oom)
			return fprintf(stderr, "%s: error: out of memory reading the model descriptor\n", prog), 1;
		return runtime_error(&e);
	}
	int rc = dispatch(argc, argv);
	rt_model_free(&model);
	if (stdout_closed) {   /* every output file is committed or removed by now */
		signal(SIGPIPE, SIG_DFL);
		raise(SIGPIPE);
	}
	return rc;
}
