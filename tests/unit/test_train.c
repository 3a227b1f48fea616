/*
** test_train.c -- the pieces of `train` that need no generated code: the
** extended descriptor (entries as objects, tasks, input roles, state),
** learning-rate schedules and early stopping, the settings' text round
** trip, checkpoints (metadata and tensors, and every way a resume is
** refused, and every value range-checked), the run directory (lock,
** temporaries, metrics.jsonl cut back; empty, very long and odd names)
** and how a dataset binds to a model.
*/
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "t.h"
#include "train.h"

static char dir[64];

/* A path in the test's directory. */
static const char *P(const char *name)
{
	static char buf[4][256];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
	return buf[k];
}

/* fixed: w [2,3] @0, b [2] @32, rm [2] @64, opt.m.w @96, opt.m.b @128, opt.v.w @160,
** opt.v.b @192, hyper.lr @224, loss @228; 256 bytes. batched: image [1,1,3] @0,
** label @12, probs [2] @16; 24 bytes. Inputs and outputs are listed out of the
** runtime's order on purpose. */
#define PRM(n, s, o, k, i) "{\"name\":\"" n "\",\"dtype\":\"f32\",\"shape\":" s ",\"offset\":" #o \
	",\"batched\":false,\"kind\":\"" k "\",\"init\":\"" i "\",\"fan_in\":3,\"fan_out\":2}"
#define DESC(hash, task, entries) \
	"{\"format\":\"lunac-model-1\",\"name\":\"tiny\",\"compiler\":\"lunac test\"," \
	"\"spec_hash\":\"" hash "\",\"fixed_bytes\":256,\"batch_bytes\":24,\"inputs\":[" \
	"{\"name\":\"hyper.lr\",\"dtype\":\"f32\",\"shape\":[1],\"offset\":224,\"batched\":false}," \
	"{\"name\":\"y\",\"dtype\":\"i32\",\"shape\":[-1],\"offset\":12,\"batched\":true}," \
	"{\"name\":\"image\",\"dtype\":\"f32\",\"shape\":[-1,1,1,3],\"offset\":0,\"batched\":true}]," \
	"\"outputs\":[{\"name\":\"loss\",\"dtype\":\"f32\",\"shape\":[1],\"offset\":228,\"batched\":false}," \
	"{\"name\":\"probs\",\"dtype\":\"f32\",\"shape\":[-1,2],\"offset\":16,\"batched\":true}]," \
	"\"params\":[" PRM("w", "[2,3]", 0, "param", "glorot") "," PRM("b", "[2]", 32, "param", "zeros") \
	"," PRM("rm", "[2]", 64, "buffer", "ones") "," PRM("opt.m.w", "[2,3]", 96, "state", "zeros") \
	"," PRM("opt.m.b", "[2]", 128, "state", "zeros") "," PRM("opt.v.w", "[2,3]", 160, "state", "zeros") \
	"," PRM("opt.v.b", "[2]", 192, "state", "zeros") "],\"tasks\":[" task "],\"entries\":[" entries "]}"
#define TASK "{\"name\":\"kind\",\"output\":\"probs\",\"label\":\"y\",\"classes\":2,\"weight\":0.5}"
#define ENTRIES "{\"name\":\"predict\",\"outputs\":[\"probs\"]},{\"name\":\"eval\",\"outputs\":[\"probs\",\"loss\"]}," \
	"{\"name\":\"train_adam\",\"outputs\":[\"loss\"]}"

static RtModel model;

/* Parse json; expect failure mentioning want (NULL: expect success). */
static void parse_case(const char *name, const char *json, const char *want)
{
	RtModel m;
	RtErr e = {0};
	int rc = rt_model_parse(&m, json, &e);
	if (!rc)
		rt_model_free(&m);
	if (!want)
		t_check(rc == 0, name, "%s", e.msg);
	else
		t_check(rc != 0 && strstr(e.msg, want) && strstr(e.msg, "internal error"), name,
		        "rc %d: %s", rc, e.msg);
}

static void test_descriptor(void)
{
	RtErr e = {0};
	int rc = rt_model_parse(&model, DESC("abc1", TASK, ENTRIES), &e);
	t_check(rc == 0, "descriptor: entries as objects, tasks, state", "%s", e.msg);
	if (rc)
		exit(t_done());
	t_check(model.ndata == 1 && !strcmp(model.inputs[0].name, "image") &&
	        !strcmp(model.inputs[1].name, "y") && model.inputs[1].role == RT_ROLE_LABEL &&
	        !strcmp(model.inputs[2].name, "hyper.lr") && model.inputs[2].role == RT_ROLE_HYPER,
	        "descriptor: inputs ordered data, labels, hyper-parameters", "%s %s %s",
	        model.inputs[0].name, model.inputs[1].name, model.inputs[2].name);
	t_check(model.npredict == 1 && !strcmp(model.outputs[0].name, "probs"),
	        "descriptor: predict's outputs come first", "%d %s", model.npredict, model.outputs[0].name);
	const RtTask *t = &model.tasks[0];
	t_check(model.ntasks == 1 && t->output == 0 && t->label == 1 && t->classes == 2 &&
	        t->weight == 0.5, "descriptor: the task's indices follow the reordering", "%d %d", t->output,
	        t->label);
	const RtEntry *ev = rt_model_entry(&model, "eval");
	t_check(ev && ev->noutputs == 2 && rt_entry_writes(ev, 0) && rt_entry_writes(ev, 1) &&
	        !rt_entry_writes(rt_model_entry(&model, "predict"), 1),
	        "descriptor: entries know their outputs", "");
	t_check(model.params[3].kind == RT_STATE && model.params[2].kind == RT_BUFFER &&
	        rt_param_count(&model) == 8 && rt_weight_bytes(&model) == 40,
	        "descriptor: kinds; state is not counted as weights", "%lld %lld",
	        (long long)rt_param_count(&model), (long long)rt_weight_bytes(&model));
	parse_case("descriptor: a task's class count must match its output",
	           DESC("h", "{\"name\":\"k\",\"output\":\"probs\",\"label\":\"y\",\"classes\":3}", ENTRIES),
	           "is not f32 [N,3]");
	parse_case("descriptor: a task's labels must be i32 [N]",
	           DESC("h", "{\"name\":\"k\",\"output\":\"probs\",\"label\":\"image\",\"classes\":2}", ENTRIES),
	           "is not i32 [N]");
	parse_case("descriptor: an entry's outputs must exist",
	           DESC("h", TASK, "{\"name\":\"predict\",\"outputs\":[\"nope\"]}"), "names an output");
	parse_case("descriptor: there must be a predict entry",
	           DESC("h", TASK, "{\"name\":\"eval\",\"outputs\":[\"loss\"]}"), "no \"predict\" entry");
	parse_case("descriptor: a custom loss needs no task", DESC("h", "", ENTRIES), NULL);
	parse_case("descriptor: entry names are unique",
	           DESC("h", TASK, "\"predict\",\"predict\""), "twice");
	parse_case("descriptor: old-style entry names still parse", DESC("h", TASK, "\"predict\""), NULL);
}

/* Settings with every field away from its default. */
static void some_opts(RtTrainOpts *o)
{
	rt_train_defaults(o);
	o->data = strdup("a=npy:a.npy,b.npy\nb=folders:x");
	o->label_task = strdup("kind");
	o->task = strdup("a=task2\nb=task1");
	o->normalize = strdup("0.5,0.25,0.4,0.2,0.3,0.1");
	o->augment = DATA_AUG_ALL;
	o->val_split = 0.1;
	o->lr = 0.0123456789;
	o->momentum = 0.85;
	o->weight_decay = 1e-4;
	o->clip = 2.5;
	o->plateau_factor = 0.3;
	o->min_lr = 3e-6;
	o->epochs = 77;
	o->batch = 17;
	o->plateau_patience = 4;
	o->early_stop = 9;
	o->min_delta = 0.0025;
	o->seed = 18446744073709551615ull;
	o->optimizer = RT_OPT_ADAMW;
	o->schedule = RT_SCHED_COSINE;
}

static void test_settings(void)
{
	RtTrainOpts a, b;
	some_opts(&a);
	rt_train_defaults(&b);
	int same = 1;
	for (int s = 0; s < RT_NSETTINGS; s++) {
		char ta[1100], tb[1100];
		RtErr e = {0};
		rt_setting_format(&a, (RtSetting)s, ta, sizeof ta);
		if (!ta[0] && s == RT_SET_VAL_DATA)
			continue;
		if (rt_setting_parse(&b, (RtSetting)s, ta, 1, &e))
			same = 0, printf("# %s: %s\n", rt_setting_flag((RtSetting)s), e.msg);
		rt_setting_format(&b, (RtSetting)s, tb, sizeof tb);
		same &= !strcmp(ta, tb);
	}
	t_check(same && b.lr == a.lr && b.min_lr == a.min_lr && b.seed == a.seed &&
	        b.optimizer == a.optimizer && b.schedule == a.schedule && !strcmp(b.label_task, "kind") &&
	        b.augment == DATA_AUG_ALL && !strcmp(b.task, a.task) && !strcmp(b.data, a.data),
	        "settings: every setting's text reads back to the same value", "");
	t_check(b.given == ((1u << RT_NSETTINGS) - 1) - (1u << RT_SET_VAL_DATA),
	        "settings: flags from the command line are marked given", "%x", b.given);
	static const struct { RtSetting s; const char *v, *msg; } bad[] = {
		{RT_SET_LR, "0", "--lr 0: not a positive number"},
		{RT_SET_LR, "abc", "--lr abc: not a positive number"},
		{RT_SET_LR, "nan", "not a positive number"},
		{RT_SET_OPTIMIZER, "adagrad", "unknown optimizer (adam, adamw or sgd)"},
		{RT_SET_SCHEDULE, "step", "unknown schedule"},
		{RT_SET_VAL_SPLIT, "1", "not a fraction"},
		{RT_SET_EPOCHS, "0", "--epochs 0"},
		{RT_SET_BATCH, "-3", "--batch -3"},
		{RT_SET_SEED, "1.5", "--seed 1.5"},
		{RT_SET_MOMENTUM, "1", "--momentum 1"},
		{RT_SET_PLATEAU_FACTOR, "1", "--plateau-factor 1"},
		{RT_SET_MIN_DELTA, "-0.1", "--min-delta -0.1: not a number from 0 to 1"},
		{RT_SET_MIN_DELTA, "2", "--min-delta 2: not a number from 0 to 1"},
		{RT_SET_DATA, "", "empty"},
		{RT_SET_AUGMENT, "rotate", "--augment rotate: unknown augmentation (none, authors, flips or all)"},
		{RT_SET_NORMALIZE, "0.5", "--normalize 0.5: 1 numbers: expected mean,std pairs"},
		{RT_SET_NORMALIZE, "0.5,0", "a standard deviation must be positive"},
		{RT_SET_NORMALIZE, "0.5,x", "expected mean,std numbers"},
	};
	int all = 1;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		RtErr e = {0};
		if (!rt_setting_parse(&b, bad[i].s, bad[i].v, 1, &e) || !strstr(e.msg, bad[i].msg))
			all = 0, printf("# %s %s: %s\n", rt_setting_flag(bad[i].s), bad[i].v, e.msg);
	}
	t_check(all, "settings: bad values are refused, naming the flag", "");
	RtTrainOpts d;
	rt_train_defaults(&d);
	t_check(d.optimizer == RT_OPT_ADAM && d.lr == 1e-3 && d.batch == 32 && d.val_split == 0.2 &&
	        d.schedule == RT_SCHED_PLATEAU && d.plateau_factor == 0.2 && d.plateau_patience == 5 &&
	        d.min_lr == 1e-5 && d.early_stop == 100 && d.epochs == 200,
	        "settings: the defaults are the authors' recipe", "");
	rt_train_opts_free(&a);
	rt_train_opts_free(&b);
}

static void test_cosine(void)
{
	double lr0 = 0.1, lo = 0.001;
	int ok = rt_sched_cosine(lr0, lo, 0, 10) == lr0 && fabs(rt_sched_cosine(lr0, lo, 5, 10) -
	         (lr0 + lo) / 2) < 1e-15 && rt_sched_cosine(lr0, lo, 10, 10) == lo;
	for (int e = 1; e <= 10; e++)
		ok &= rt_sched_cosine(lr0, lo, e, 10) < rt_sched_cosine(lr0, lo, e - 1, 10);
	t_check(ok, "cosine: lr0 at 0, the midpoint halfway, min_lr at E, falling", "");
	RtTrainOpts o;
	RtTrainState st;
	rt_train_defaults(&o);
	o.schedule = RT_SCHED_COSINE;
	o.lr = lr0, o.min_lr = lo, o.epochs = 4, o.early_stop = 0;
	rt_train_state_init(&st, &o);
	double seen[4];
	for (int e = 0; e < 4; e++) {
		seen[e] = st.lr;
		rt_sched_epoch_end(&o, &st, 1.0 / (e + 1));
	}
	t_check(seen[0] == lr0 && seen[2] == rt_sched_cosine(lr0, lo, 2, 4) && st.lr == lo,
	        "cosine: each epoch runs at its lr, ending at min_lr", "%g %g %g", seen[0], seen[2], st.lr);
}

static void test_plateau(void)
{
	RtTrainOpts o;
	RtTrainState st;
	rt_train_defaults(&o);   /* lr 1e-3, x0.2 after 5, floor 1e-5, early stop 100 */
	rt_train_state_init(&st, &o);
	int f = rt_sched_epoch_end(&o, &st, 1.0);
	t_check(f == RT_SCHED_IMPROVED && st.best_loss == 1.0 && st.best_epoch == 1 && st.epoch == 1,
	        "plateau: the first epoch improves on +inf", "%d", f);
	int changed_at = 0;
	for (int k = 1; k <= 5; k++)
		if (rt_sched_epoch_end(&o, &st, 1.0) & RT_SCHED_LR_CHANGED)
			changed_at = k;
	t_check(changed_at == 5 && fabs(st.lr - 2e-4) < 1e-18 && st.plateau_wait == 0,
	        "plateau: an equal loss is no improvement; x0.2 after 5 such epochs", "%d %g", changed_at,
	        st.lr);
	rt_sched_epoch_end(&o, &st, 1.0);
	rt_sched_epoch_end(&o, &st, 1.0);
	f = rt_sched_epoch_end(&o, &st, 0.5);
	t_check((f & RT_SCHED_IMPROVED) && st.plateau_wait == 0 && st.early_stop_wait == 0 &&
	        st.best_epoch == 9, "plateau: an improvement resets both counters", "%d", f);
	for (int k = 0; k < 15; k++)
		rt_sched_epoch_end(&o, &st, 0.7);
	t_check(st.lr == 1e-5, "plateau: the lr stops at min_lr", "%g", st.lr);
	f = 0;
	for (int k = 0; k < 5; k++)
		f |= rt_sched_epoch_end(&o, &st, 0.7);
	t_check(!(f & RT_SCHED_LR_CHANGED) && st.lr == 1e-5, "plateau: at the floor, nothing changes", "");
	f = rt_sched_epoch_end(&o, &st, NAN);
	t_check(!(f & RT_SCHED_IMPROVED) && st.best_loss == 0.5, "a NaN loss never improves", "");
	o.schedule = RT_SCHED_NONE;
	double lr = st.lr;
	for (int k = 0; k < 10; k++)
		rt_sched_epoch_end(&o, &st, 0.9);
	t_check(st.lr == lr, "schedule none: the lr stays", "");
}

/* A loss that only wiggles by float rounding is no improvement (--min-delta). */
static void test_min_delta(void)
{
	RtTrainOpts o;
	RtTrainState st;
	rt_train_defaults(&o);   /* min_delta 1e-4, patience 5 */
	t_check(o.min_delta == 1e-4, "min-delta: the default is PyTorch's relative 1e-4", "%g",
	        o.min_delta);
	rt_train_state_init(&st, &o);
	rt_sched_epoch_end(&o, &st, 0.5);
	int f = 0, changed = 0;
	for (int k = 1; k <= 5; k++) {
		f |= rt_sched_epoch_end(&o, &st, 0.5 - 1e-7 * k);   /* each a new low by 2e-7 relative */
		changed |= f & RT_SCHED_LR_CHANGED;
	}
	t_check(!(f & RT_SCHED_IMPROVED) && changed && st.best_loss == 0.5 && st.best_epoch == 1,
	        "min-delta: 1e-7 wiggles are no improvement; the plateau reduces the lr", "%d %.9g", f,
	        st.best_loss);
	f = rt_sched_epoch_end(&o, &st, 0.5 * (1 - 2e-4));
	t_check((f & RT_SCHED_IMPROVED) && st.early_stop_wait == 0,
	        "min-delta: a relative 2e-4 drop improves and resets early stopping", "%d", f);
	o.min_delta = 0;
	rt_train_state_init(&st, &o);
	rt_sched_epoch_end(&o, &st, 0.5);
	f = rt_sched_epoch_end(&o, &st, 0.5 - 1e-7);
	t_check(f & RT_SCHED_IMPROVED, "min-delta 0: any lower loss improves", "%d", f);
	t_check(rt_sched_improves(-1.001, -1.0, 1e-4) && !rt_sched_improves(-1.00001, -1.0, 1e-4) &&
	        rt_sched_improves(1e30, INFINITY, 1e-4) && !rt_sched_improves(NAN, 1.0, 0),
	        "min-delta: negative losses, +inf and NaN", "");
	RtErr e = {0};
	o.min_delta = 0.5;
	t_check(!rt_setting_parse(&o, RT_SET_MIN_DELTA, "", 0, &e) && o.min_delta == 0,
	        "min-delta: a checkpoint from before the setting resumes comparing strictly", "%s %g",
	        e.msg, o.min_delta);
}

static void test_early_stop(void)
{
	RtTrainOpts o;
	RtTrainState st;
	rt_train_defaults(&o);
	o.early_stop = 3;
	rt_train_state_init(&st, &o);
	int f[5];
	double loss[5] = {1, 0.9, 0.95, 0.95, 0.91};
	for (int k = 0; k < 5; k++)
		f[k] = rt_sched_epoch_end(&o, &st, loss[k]);
	t_check(!(f[3] & RT_SCHED_STOP) && (f[4] & RT_SCHED_STOP) && st.best_epoch == 2,
	        "early stop: after 3 epochs without a new best", "");
	o.early_stop = 0;
	rt_train_state_init(&st, &o);
	int any = 0;
	for (int k = 0; k < 300; k++)
		any |= rt_sched_epoch_end(&o, &st, 1.0) & RT_SCHED_STOP;
	t_check(!any, "early stop 0: never", "");
}

/* An arena for the test model with every fixed float set to a distinct value. */
static char *filled_arena(void)
{
	RtErr e = {0};
	char *a = rt_arena_new(&model, 1, &e);
	float *f = (float *)a;
	for (int i = 0; i < 224 / 4; i++)
		f[i] = (float)i * 0.37f - 3.1f;
	return a;
}

/* Whether params of kind k (all kinds when k < 0) agree between arenas a and b. */
static int same_params(const char *a, const char *b, int k)
{
	for (int i = 0; i < model.nparams; i++) {
		const RtTensor *p = &model.params[i];
		if ((k < 0 || (int)p->kind == k) &&
		    memcmp(a + p->offset, b + p->offset, 4 * (size_t)rt_numel(p, 0)))
			return 0;
	}
	return 1;
}

static void test_checkpoint(void)
{
	RtTrainOpts o, back;
	some_opts(&o);
	RtTrainState st = {7, 123, 0.000123456789, 0.333333333333, 5, 2, 3}, st2;
	char *a = filled_arena();
	RtErr e = {0};
	int rc = rt_ckpt_save(&model, a, P("c.safetensors"), &o, &st, &e);
	t_check(rc == 0, "checkpoint: save", "%s", e.msg);
	StFile f;
	rc = st_open(&f, P("c.safetensors"), &e);
	t_check(rc == 0, "checkpoint: a valid safetensors file", "%s", e.msg);
	if (rc)
		return;
	static const char *keys[] = {"format", "model", "spec_hash", "compiler", "epoch", "step", "seed",
	                             "optimizer", "lr", "best_val_loss", "best_epoch", "plateau_wait",
	                             "early_stop_wait", "train.data", "train.epochs", "train.lr"};
	int have = 1;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (!st_meta(&f, keys[i]))
			have = 0, printf("# missing %s\n", keys[i]);
	t_check(have && !strcmp(st_meta(&f, "format"), "lunac-checkpoint") &&
	        !strcmp(st_meta(&f, "optimizer"), "adamw"), "checkpoint: the metadata keys", "");
	rt_train_defaults(&back);
	rc = rt_ckpt_read_meta(&model, &f, &back, &st2, &e);
	int same = !rc && !memcmp(&st, &st2, sizeof st);
	for (int s = 0; same && s < RT_NSETTINGS; s++) {
		char x[1100], y[1100];
		rt_setting_format(&o, (RtSetting)s, x, sizeof x);
		rt_setting_format(&back, (RtSetting)s, y, sizeof y);
		same = !strcmp(x, y);
	}
	t_check(same && back.lr == o.lr && back.seed == o.seed, "checkpoint: state and settings round trip exactly",
	        "%s", e.msg);
	RtErr dummy = {0};
	char *b = rt_arena_new(&model, 1, &dummy);
	rc = rt_ckpt_read_tensors(&model, &f, &back, b, &e);
	t_check(!rc && same_params(a, b, -1), "checkpoint: params, buffers and state round trip", "%s", e.msg);
	st_close(&f);

	/* inference reads a checkpoint: state ignored */
	memset(b, 0, 256);
	rc = rt_weights_load(&model, b, P("c.safetensors"), &e, NULL);
	t_check(!rc && same_params(a, b, RT_PARAM) && same_params(a, b, RT_BUFFER) &&
	        ((float *)b)[96 / 4] == 0, "checkpoint: loads as weights, optimizer state ignored", "%s", e.msg);

	/* a setting that changes the run is refused; one that may change is taken */
	RtTrainOpts g;
	rt_train_defaults(&g);
	g.seed = 5, g.epochs = 100;
	g.given = 1u << RT_SET_SEED | 1u << RT_SET_EPOCHS;
	st_open(&f, P("c.safetensors"), &e);
	RtErr e2 = {0};
	rc = rt_ckpt_read_meta(&model, &f, &g, &st2, &e2);
	t_check(rc && strstr(e2.msg, "--seed 5 differs from the checkpoint's 18446744073709551615"),
	        "checkpoint: resume refuses a changed seed", "%s", e2.msg);
	g.seed = o.seed;
	RtErr e3 = {0};
	rc = rt_ckpt_read_meta(&model, &f, &g, &st2, &e3);
	t_check(!rc && g.epochs == 100 && g.batch == 17, "checkpoint: resume may extend --epochs", "%s", e3.msg);
	st_close(&f);
	rt_train_opts_free(&g);

	/* another model's checkpoint */
	RtModel other;
	RtErr e4 = {0};
	rt_model_parse(&other, DESC("ffff", TASK, ENTRIES), &e4);
	st_open(&f, P("c.safetensors"), &e4);
	RtTrainOpts h;
	rt_train_defaults(&h);
	rc = rt_ckpt_read_meta(&other, &f, &h, &st2, &e4);
	t_check(rc && strstr(e4.msg, "was made for model \"tiny\" (spec hash abc1), but this executable "
	                     "is model \"tiny\" (spec hash ffff): a resumed run needs the same model"),
	        "checkpoint: another model's is refused, naming both models", "%s", e4.msg);
	st_close(&f);
	rt_model_free(&other);
	rt_train_opts_free(&h);

	/* SGD writes only opt.v (its momentum); Adam then lacks opt.m */
	o.optimizer = RT_OPT_SGD;
	RtErr e5 = {0};
	rt_ckpt_save(&model, a, P("s.safetensors"), &o, &st, &e5);
	st_open(&f, P("s.safetensors"), &e5);
	int nom = st_find(&f, "opt.m.w") < 0 && st_find(&f, "opt.v.w") >= 0;
	back.optimizer = RT_OPT_ADAM;
	rc = rt_ckpt_read_tensors(&model, &f, &back, b, &e5);
	t_check(nom && rc && strstr(e5.msg, "lacks the optimizer state \"opt.m.w\" that adam needs"),
	        "checkpoint: SGD's holds opt.v only; Adam refuses it", "%s", e5.msg);
	st_close(&f);

	/* a weights file is not a checkpoint */
	RtErr e6 = {0};
	rt_weights_save(&model, a, P("w.safetensors"), &e6);
	st_open(&f, P("w.safetensors"), &e6);
	int nostate = st_find(&f, "opt.m.w") < 0;
	RtTrainOpts w;
	rt_train_defaults(&w);
	rc = rt_ckpt_read_meta(&model, &f, &w, &st2, &e6);
	t_check(nostate && rc && strstr(e6.msg, "is not a training checkpoint") && strstr(e6.msg, "--weights"),
	        "checkpoint: a weights file (no state) is refused for resume", "%s", e6.msg);
	st_close(&f);

	/* a fresh run's +inf best loss survives the text round trip */
	RtTrainState fresh;
	rt_train_state_init(&fresh, &o);
	RtErr e7 = {0};
	rt_ckpt_save(&model, a, P("f.safetensors"), &o, &fresh, &e7);
	st_open(&f, P("f.safetensors"), &e7);
	rt_train_defaults(&w);
	rc = rt_ckpt_read_meta(&model, &f, &w, &st2, &e7);
	t_check(!rc && isinf(st2.best_loss) && st2.best_epoch == 0, "checkpoint: an infinite best loss round trips",
	        "%s", e7.msg);
	st_close(&f);
	rt_train_opts_free(&w);
	rt_train_opts_free(&o);
	rt_train_opts_free(&back);
	rt_arena_free(a);
	rt_arena_free(b);
}

/* Save a checkpoint with state st (settings o), read its metadata back: 0
** or -1 with the message in msg. */
static int ckpt_round(const RtTrainOpts *o, const RtTrainState *st, char *msg, size_t len)
{
	char *a = filled_arena();
	RtErr e = {0};
	StFile f = {0};
	RtTrainOpts back;
	RtTrainState st2;
	rt_train_defaults(&back);
	int rc = rt_ckpt_save(&model, a, P("r.safetensors"), o, st, &e) ||
	         st_open(&f, P("r.safetensors"), &e) || rt_ckpt_read_meta(&model, &f, &back, &st2, &e);
	if (f.path)
		st_close(&f);
	snprintf(msg, len, "%s", e.msg);
	rt_train_opts_free(&back);
	rt_arena_free(a);
	return rc ? -1 : 0;
}

/* Every value read back from a checkpoint is checked as the flag parser
** checks it (one table), and the counters against each other. */
static void test_checkpoint_ranges(void)
{
	RtTrainOpts o;
	some_opts(&o);
	RtTrainState good = {7, 123, o.lr, 0.25, 5, 2, 3};
	static const struct {
		RtTrainState st;
		const char *want, *name;
	} bad[] = {
		{{7, 123, -0.01, 0.25, 5, 2, 3}, "metadata \"lr\" is -0.01, not a non-negative number",
		 "a negative learning rate"},
		{{7, 123, NAN, 0.25, 5, 2, 3}, "metadata \"lr\" is nan, not", "a NaN learning rate"},
		{{7, 123, 1e7, 0.25, 5, 2, 3}, "metadata \"lr\" is 10000000, not", "a learning rate above 10^6"},
		{{7, 123, 0.5, 0.25, 5, 2, 3}, "outside [", "a learning rate above --lr"},
		{{7, 123, 1e-4, NAN, 5, 2, 3}, "metadata \"best_val_loss\" is nan", "a NaN best loss"},
		{{7, 123, 1e-4, -INFINITY, 5, 2, 3}, "metadata \"best_val_loss\" is -inf", "-inf best loss"},
		{{7, 123, 1e-4, 0.25, 9, 2, 3}, "metadata \"best_epoch\" is 9, more than the 7 epochs",
		 "a best epoch after the last"},
		{{7, 123, 1e-4, 0.25, 5, 8, 3}, "\"plateau_wait\" is 8", "a plateau wait too long"},
		{{7, 123, 1e-4, 0.25, 0, 2, 3}, "disagree", "a best loss without a best epoch"},
		{{-1, 123, 1e-4, 0.25, 0, 0, 0}, "metadata \"epoch\" is -1, not an integer from 0",
		 "a negative epoch"},
		{{7, UINT64_MAX, 1e-4, 0.25, 5, 2, 3}, "metadata \"step\"", "a step past 2^62"},
	};
	char msg[RT_ERRLEN];
	good.lr = o.lr;
	int rc = ckpt_round(&o, &good, msg, sizeof msg);
	t_check(rc == 0, "checkpoint ranges: a sound state reads back", "%s", msg);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char name[160];
		snprintf(name, sizeof name, "checkpoint ranges: %s is refused, naming the file and key",
		         bad[i].name);
		rc = ckpt_round(&o, &bad[i].st, msg, sizeof msg);
		t_check(rc && strstr(msg, bad[i].want) && strstr(msg, "r.safetensors"), name, "%s", msg);
	}
	/* a setting stored out of range: the same rule and words as the flag's */
	RtTrainOpts neg = o;
	neg.lr = -1;
	good.lr = 1e-4;
	rc = ckpt_round(&neg, &good, msg, sizeof msg);
	t_check(rc && strstr(msg, "metadata \"train.lr\": --lr -1: not a positive number"),
	        "checkpoint ranges: a negative train.lr is refused as --lr -1 is", "%s", msg);
	neg = o;
	neg.momentum = 1.5;
	rc = ckpt_round(&neg, &good, msg, sizeof msg);
	t_check(rc && strstr(msg, "train.momentum"), "checkpoint ranges: momentum 1.5 is refused", "%s", msg);
	uint64_t u;
	double d;
	RtErr e = {0};
	t_check(rt_state_parse(RT_STATE_LR, "1e-3", &u, &d, &e) == 0 && d == 1e-3 &&
	        rt_state_parse(RT_STATE_BEST_LOSS, "inf", &u, &d, &e) == 0 && isinf(d) &&
	        rt_state_parse(RT_STATE_EPOCH, "12", &u, &d, &e) == 0 && u == 12,
	        "checkpoint ranges: good values parse", "%s", e.msg);
	RtErr e2 = {0};
	t_check(rt_state_parse(RT_STATE_EPOCH, NULL, &u, &d, &e2) && strstr(e2.msg, "\"epoch\" is missing"),
	        "checkpoint ranges: a missing key is named", "%s", e2.msg);
	rt_train_opts_free(&o);
}

/* Write text to path. */
static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	fputs(text, f);
	fclose(f);
}

/* The contents of path (static buffer). */
static const char *get(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	buf[n] = 0;
	if (f)
		fclose(f);
	return buf;
}

/* Empty, very long and odd directory names: an error or a run directory,
** never a write outside the buffer (ASan) or into "/". */
static void test_rundir_names(void)
{
	RtRunDir r;
	RtErr e = {0};
	int rc = rt_rundir_open(&r, "", 0, 0, &e);
	t_check(rc && strstr(e.msg, "the run directory name is empty"), "rundir: an empty name is refused",
	        "%s", e.msg);
	rt_rundir_close(&r);
	size_t n = strlen(dir) + 5000;
	char *longp = malloc(n + 1);
	snprintf(longp, n + 1, "%s/", dir);
	for (size_t k = strlen(longp); k < n; k++)
		longp[k] = k % 200 == 0 ? '/' : 'd';
	longp[n] = 0;
	RtErr e2 = {0};
	rc = rt_rundir_open(&r, longp, 0, 0, &e2);
	t_check(rc && strstr(e2.msg, "cannot create the run directory") && strstr(e2.msg, "...") &&
	        strlen(e2.msg) < RT_ERRLEN, "rundir: a 5000-character name is an error, the message cut with ...",
	        "%s", e2.msg);
	rt_rundir_close(&r);
	for (size_t k = strlen(dir) + 1; k < n; k++)
		longp[k] = 'x';   /* one component far over NAME_MAX */
	RtErr e3 = {0};
	rc = rt_rundir_open(&r, longp, 0, 0, &e3);
	t_check(rc && strstr(e3.msg, "cannot create the run directory") && strstr(e3.msg, "..."),
	        "rundir: a name over NAME_MAX is an error", "%s", e3.msg);
	rt_rundir_close(&r);
	free(longp);
	RtErr e4 = {0};
	rc = rt_rundir_open(&r, P("slash//twice/"), 0, 0, &e4);
	t_check(!rc && access(P("slash/twice/metrics.jsonl"), F_OK) == 0,
	        "rundir: double and trailing slashes work", "%s", e4.msg);
	rt_rundir_close(&r);
	mkfifo(P("fifo.d"), 0666);
	mkdir(P("fifo.d2"), 0777);
	mkfifo(P("fifo.d2/metrics.jsonl"), 0666);
	RtErr e5 = {0};
	rc = rt_rundir_open(&r, P("fifo.d2"), 0, 0, &e5);
	t_check(rc && strstr(e5.msg, "metrics.jsonl is not a regular file"),
	        "rundir: a FIFO as metrics.jsonl is refused, not waited on", "%s", e5.msg);
	rt_rundir_close(&r);
}

static void test_rundir(void)
{
	RtRunDir r, r2;
	RtErr e = {0};
	char d[128];
	snprintf(d, sizeof d, "%s", P("run/nested"));
	int rc = rt_rundir_open(&r, d, 0, 0, &e);
	t_check(rc == 0 && access(P("run/nested/metrics.jsonl"), F_OK) == 0,
	        "rundir: created with its parents, metrics.jsonl opened", "%s", e.msg);
	RtErr e2 = {0};
	rc = rt_rundir_open(&r2, d, 1, 0, &e2);
	t_check(rc && strstr(e2.msg, "in use by another training run"), "rundir: locked while in use", "%s", e2.msg);
	rt_rundir_close(&r2);
	rt_rundir_log(&r, "{\"epoch\":1}", &e);
	rt_rundir_log(&r, "{\"epoch\":2}", &e);
	rt_rundir_close(&r);
	t_check(!strcmp(get(P("run/nested/metrics.jsonl")), "{\"epoch\":1}\n{\"epoch\":2}\n"),
	        "rundir: lines appended", "%s", get(P("run/nested/metrics.jsonl")));
	put(P("run/nested/metrics.jsonl"), "{\"epoch\":1}\n{\"epoch\":2}\n{\"epoch\":3}\n{\"epo");
	put(P("run/nested/last.safetensors"), "x");
	put(P("run/nested/last.safetensors.tmp.123.0"), "half");
	RtErr e3 = {0};
	rc = rt_rundir_open(&r, d, 1, 2, &e3);
	t_check(!rc && !strcmp(get(P("run/nested/metrics.jsonl")), "{\"epoch\":1}\n{\"epoch\":2}\n"),
	        "rundir: resuming cuts metrics.jsonl back to the checkpoint's epoch", "%s %s", e3.msg,
	        get(P("run/nested/metrics.jsonl")));
	t_check(access(P("run/nested/last.safetensors.tmp.123.0"), F_OK) != 0,
	        "rundir: a killed run's temporary is removed", "");
	rt_rundir_close(&r);
	RtErr e4 = {0};
	rc = rt_rundir_open(&r, d, 0, 0, &e4);
	t_check(rc && strstr(e4.msg, "already holds a training run") && strstr(e4.msg, "--resume"),
	        "rundir: a fresh run refuses a directory holding a run", "%s", e4.msg);
	rt_rundir_close(&r);
	put(P("file"), "x");
	RtErr e5 = {0};
	rc = rt_rundir_open(&r, P("file"), 0, 0, &e5);
	t_check(rc != 0, "rundir: a file is not a directory", "%s", e5.msg);
	rt_rundir_close(&r);
	test_rundir_names();
}

/* Save an f32 [n,1,1,3] images array (sample s holds s*10+j+base) and i32 labels (s % k). */
static void put_xy(const char *x, const char *y, int64_t n, int k, float base)
{
	float *px = malloc(sizeof(float) * 3 * (size_t)n);
	int32_t *lab = malloc(sizeof(int32_t) * (size_t)n);
	for (int64_t s = 0; s < n; s++) {
		for (int j = 0; j < 3; j++)
			px[s * 3 + j] = base + (float)(s * 10 + j);
		lab[s] = (int32_t)(s % k);
	}
	RtArray a = {RT_F32, 4, {n, 1, 1, 3}, px}, b = {RT_I32, 1, {n}, lab};
	RtErr e = {0};
	if (rt_npy_write(x, &a, &e) || rt_npy_write(y, &b, &e))
		printf("# %s\n", e.msg);
	free(px);
	free(lab);
}

/* Open data for m; expect success (want NULL) or a message containing want. */
static int open_case(const char *name, const RtModel *m, const RtDataArgs *a, const char *want,
                     RtFeed *f, Dataset *ds)
{
	RtErr e = {0};
	int rc = rt_data_open(m, a, f, ds, &e);
	if (want)
		t_check(rc && strstr(e.msg, want), name, "rc %d: %s", rc, e.msg);
	else
		t_check(!rc, name, "%s", e.msg);
	return rc;
}

/* One dataset, one input: the binding of the old single-task models. */
static void test_feed_one(void)
{
	char spec[600];
	snprintf(spec, sizeof spec, "npy:%s,%s", P("x.npy"), P("y.npy"));
	put_xy(P("x.npy"), P("y.npy"), 6, 2, 0);
	RtFeed f;
	Dataset ds;
	RtDataArgs a = {.data = spec, .train = 1, .threads = 1};
	if (!open_case("feed: the image input and the only task", &model, &a, NULL, &f, &ds))
		t_check(f.nimages == 1 && f.image[0] == 0 && f.ntasks == 1 && f.task[0].task == 0 &&
		        f.task[0].classes == 2 && ds.count == 6, "feed: bound to input 0 and task 0",
		        "%d %d %d", f.nimages, f.ntasks, f.task[0].task);
	data_free(&ds);
	a.label_task = "nope";
	open_case("feed: an unknown --label-task", &model, &a,
	          "--label-task nope: the model has no such task (its tasks: \"kind\")", &f, &ds);
	a.label_task = NULL;
	RtModel m;
	RtErr e3 = {0};
	rt_model_parse(&m, DESC("h", "", ENTRIES), &e3);
	if (!open_case("feed: a custom loss", &m, &a, NULL, &f, &ds))
		t_check(m.ndata == 1 && f.task[0].task == -1 && f.task[0].label == 1 &&
		        f.task[0].output == 0 && f.task[0].classes == 2,
		        "feed: a custom loss: its i32 [N] input takes the labels", "%d", f.task[0].label);
	data_free(&ds);
	rt_model_free(&m);
	rt_model_parse(&m, "{\"format\":\"lunac-model-1\",\"name\":\"r\",\"compiler\":\"c\","
	               "\"spec_hash\":\"h\",\"fixed_bytes\":0,\"batch_bytes\":20,\"inputs\":["
	               "{\"name\":\"image\",\"dtype\":\"f32\",\"shape\":[-1,1,1,3],\"offset\":0,\"batched\":true}],"
	               "\"outputs\":[{\"name\":\"score\",\"dtype\":\"f32\",\"shape\":[-1,1],"
	               "\"offset\":12,\"batched\":true}],\"params\":[],\"entries\":[\"predict\"]}", &e3);
	a.train = 0;
	open_case("feed: eval needs a classifier output or a loss", &m, &a,
	          "no classifier output [N,K] to evaluate", &f, &ds);
	a.train = 1;
	open_case("feed: training needs a label input", &m, &a, "reads no label input", &f, &ds);
	rt_model_free(&m);
}

/* Two inputs a, b [1,1,3] and two tasks t1, t2 (3 and 2 classes). */
#define DESC2 \
	"{\"format\":\"lunac-model-1\",\"name\":\"two\",\"compiler\":\"c\",\"spec_hash\":\"h\"," \
	"\"fixed_bytes\":4,\"batch_bytes\":52,\"inputs\":[" \
	"{\"name\":\"a\",\"dtype\":\"f32\",\"shape\":[-1,1,1,3],\"offset\":0,\"batched\":true}," \
	"{\"name\":\"b\",\"dtype\":\"f32\",\"shape\":[-1,1,1,3],\"offset\":12,\"batched\":true}," \
	"{\"name\":\"t1.label\",\"dtype\":\"i32\",\"shape\":[-1],\"offset\":24,\"batched\":true}," \
	"{\"name\":\"t2.label\",\"dtype\":\"i32\",\"shape\":[-1],\"offset\":28,\"batched\":true}]," \
	"\"outputs\":[{\"name\":\"t1\",\"dtype\":\"f32\",\"shape\":[-1,3],\"offset\":32,\"batched\":true}," \
	"{\"name\":\"t2\",\"dtype\":\"f32\",\"shape\":[-1,2],\"offset\":44,\"batched\":true}," \
	"{\"name\":\"loss\",\"dtype\":\"f32\",\"shape\":[1],\"offset\":0,\"batched\":false}]," \
	"\"params\":[],\"tasks\":[{\"name\":\"t1\",\"output\":\"t1\",\"label\":\"t1.label\",\"classes\":3}," \
	"{\"name\":\"t2\",\"output\":\"t2\",\"label\":\"t2.label\",\"classes\":2}]," \
	"\"entries\":[{\"name\":\"predict\",\"outputs\":[\"t1\",\"t2\"]}," \
	"{\"name\":\"eval\",\"outputs\":[\"t1\",\"t2\",\"loss\"]}]}"

/* Two datasets paired by index: resampling, labels follow their images,
** the feed copies every array to its input. */
static void test_feed_two(void)
{
	RtModel m;
	RtErr e = {0};
	if (rt_model_parse(&m, DESC2, &e)) {
		t_check(0, "feed: two-input descriptor", "%s", e.msg);
		return;
	}
	put_xy(P("xa.npy"), P("ya.npy"), 10, 3, 0);
	put_xy(P("xb.npy"), P("yb.npy"), 4, 2, 1000);
	char spec[1200];
	snprintf(spec, sizeof spec, "a=npy:%s,%s\nb=npy:%s,%s", P("xa.npy"), P("ya.npy"),
	         P("xb.npy"), P("yb.npy"));
	RtFeed f;
	Dataset ds, ds2;
	RtDataArgs a = {.data = spec, .train = 1, .threads = 1, .seed = 5};
	if (open_case("feed: --data a=SPEC --data b=SPEC", &m, &a, NULL, &f, &ds))
		return;
	int uses[4] = {0}, uses0[10] = {0}, ok = ds.count == 10 && ds.nmod == 2 && ds.ntask == 2 &&
	          f.image[0] == 0 && f.image[1] == 1 && f.task[0].task == 0 && f.task[1].task == 1 && ds.mod[1].map;
	for (int64_t s = 0; ok && s < 10; s++) {
		const float *xb = data_image(&ds, 1, s);
		int row = (int)((xb[0] - 1000) / 10), row0 = (int)(data_image(&ds, 0, s)[0] / 10);
		ok = row >= 0 && row < 4 && data_label(&ds, 1, s) == row % 2 && row0 >= 0 && row0 < 10 &&
		     data_label(&ds, 0, s) == row0 % 3;
		if (ok)
			uses[row]++, uses0[row0]++;
	}
	for (int i = 0; ok && i < 4; i++)
		ok = uses[i] == 2 || uses[i] == 3;
	for (int i = 0; ok && i < 10; i++)   /* the longer part: a permutation of its own */
		ok = uses0[i] == 1;
	t_check(ok, "feed: the shorter dataset is resampled (each sample 2-3 times), labels follow",
	        "count %lld uses %d %d %d %d", (long long)ds.count, uses[0], uses[1], uses[2], uses[3]);
	open_case("feed: the same seed, the same pairing", &m, &a, NULL, &f, &ds2);
	t_check(!memcmp(ds.mod[1].map, ds2.mod[1].map, 10 * sizeof(int64_t)),
	        "feed: resampling is fixed by the seed", "maps differ");
	data_free(&ds2);
	char arena[4 + 52 * 3];
	Loader *L;
	int64_t order[3] = {7, 2, 5};
	Batch bt;
	RtErr e2 = {0};
	loader_open(&L, &ds, NULL, order, 3, 3, &e2);
	loader_next(L, &bt);
	rt_feed_batch(&m, &f, arena, &bt);
	loader_close(L);
	const float *fa = (const float *)(arena + 4), *fb = (const float *)(arena + 4 + 12 * 3);
	const int32_t *l1 = (const int32_t *)(arena + 4 + 24 * 3), *l2 = (const int32_t *)(arena + 4 + 28 * 3);
	t_check(fa[3] == data_image(&ds, 0, 2)[0] && fa[6] == data_image(&ds, 0, 5)[0] &&
	        l1[0] == data_label(&ds, 0, 7) && l1[1] == data_label(&ds, 0, 2) && fb[0] == data_image(&ds, 1, 7)[0] &&
	        l2[2] == data_label(&ds, 1, 5), "feed: a batch fills both images and both labels",
	        "%g %g %d %d", fa[3], fa[6], l1[0], l1[1]);
	data_free(&ds);
	a.tasks = "a=t2\nb=t1";
	open_case("feed: --task swaps the tasks", &m, &a, "label 2 at index 2 is out of range for 2 classes",
	          &f, &ds);
	a.tasks = "b=none";
	open_case("feed: a task without labels", &m, &a, "the task \"t2\" has no labels", &f, &ds);
	a.tasks = "a=t1\nb=t1";
	open_case("feed: two datasets for one task", &m, &a, "would get the labels of two datasets",
	          &f, &ds);
	a.tasks = "a=t9";
	open_case("feed: --task with an unknown task", &m, &a, "--task a=t9: the model has no such task",
	          &f, &ds);
	a.tasks = "c=t1";
	open_case("feed: --task for an input without data", &m, &a, "no dataset is given", &f, &ds);
	a.tasks = NULL;
	snprintf(spec, sizeof spec, "npy:%s,%s", P("xa.npy"), P("ya.npy"));
	open_case("feed: one unnamed dataset for two inputs", &m, &a,
	          "the model has 2 image inputs (\"a\" and \"b\"): give one dataset per input", &f, &ds);
	snprintf(spec, sizeof spec, "a=npy:%s,%s", P("xa.npy"), P("ya.npy"));
	open_case("feed: an input without data", &m, &a,
	          "the model's image input \"b\" has no data: add --data b=SPEC", &f, &ds);
	snprintf(spec, sizeof spec, "a=npy:%s,%s\na=npy:%s,%s", P("xa.npy"), P("ya.npy"), P("xb.npy"),
	         P("yb.npy"));
	open_case("feed: two datasets for one input", &m, &a,
	          "the image input \"a\" is given two datasets", &f, &ds);
	snprintf(spec, sizeof spec, "c=npy:%s,%s", P("xa.npy"), P("ya.npy"));
	open_case("feed: a dataset for an input the model lacks", &m, &a,
	          "the model has no image input \"c\" (its inputs: \"a\" and \"b\")", &f, &ds);
	snprintf(spec, sizeof spec, "a=paired:%s", P("p.csv"));
	open_case("feed: a paired CSV is not given per input", &m, &a,
	          "a paired CSV binds its columns to every input itself", &f, &ds);
	rt_model_free(&m);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/lunac-test-train-XXXXXX");
	if (!mkdtemp(dir))
		return 2;
	test_descriptor();
	test_settings();
	test_cosine();
	test_plateau();
	test_min_delta();
	test_early_stop();
	test_checkpoint();
	test_checkpoint_ranges();
	test_rundir();
	test_feed_one();
	test_feed_two();
	rt_model_free(&model);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 2;
	return t_done();
}
