/*
** lunac.c -- the compiler driver: `lunac build | ir | stats | passes`.
** The only place in compiler/ that prints to the user and exits.
*/
#include "../compile.h"
#include "../codegen/codegen.h"
#include "../../frontend/frontend.h"
#include "../ir/ir.h"
#include "../passes/passes.h"
#include "../version.h"
#include "../../runtime/rt.h"
#include "phase.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MAXDEFS = 64 };

typedef struct Options {
	const char *cmd, *model, *out;
	EmitKind emit;
	Define defs[MAXDEFS];
	int ndefs;
	PassOpts passes;
	int entry_given;       /* --entry was given */
	int level_kernel;      /* ir --level=kernel */
	CgOptions cg;
	int64_t max_bytes;     /* the model size limit (--max-bytes) */
	int64_t lua_memory;    /* the script's memory cap (--lua-memory), 0: default */
	int64_t lua_instr;     /* the script's instruction budget (--lua-instructions), 0: default */
	char *home;            /* where lunac's files are (find_home), malloc'ed */
	const char *home_why;  /* how home was found, for messages */
} Options;

static const char usage[] =
	"usage: lunac COMMAND [options]\n"
	"\n"
	"commands:\n"
	"  build MODEL -o OUT   compile a model (.lua script or .ir text) to an executable\n"
	"  ir MODEL             print the model's graph IR, which `lunac build` takes back\n"
	"                       (with --entry: the graph after the pass pipeline for that entry;\n"
	"                       with --level=kernel: every entry's kernels and their schedules)\n"
	"  stats MODEL          trainable parameters, multiply-accumulates, memory\n"
	"  passes               list the passes, in pipeline order\n"
	"\n"
	"options:\n"
	"  -o PATH              output file (build)\n"
	"  -D KEY=VALUE         override a config value of the model script\n"
	"  --emit=KIND          exe (default), obj, llvm (.ll text) or asm (.s)\n"
	"  --entry=NAME         the entry point `ir` and `stats` show: predict (default),\n"
	"                       mc, eval, train_adam or train_sgd (build makes them all)\n"
	"  --print-after=PASS   print the IR after PASS (a pass name, input, or all) to stderr\n"
	"  --dump-dir=DIR       build: write every level to DIR (made if missing): each entry's\n"
	"                       graph IR before and after each pass, its memory plan, the\n"
	"                       kernel level and the LLVM IR as generated\n"
	"  --level=LEVEL        what `ir` prints: graph (default) or kernel\n"
	"  --disable-pass=A,B   skip optional passes\n"
	"  --passes=A,B|none    run only these optional passes (the required ones always run)\n"
	"  --cpu=NAME           generate code for that CPU (an LLVM name: x86-64-v2,\n"
	"                       skylake-avx512, ...; `llc-19 -mcpu=help` lists them) with its\n"
	"                       own features; default: this machine's CPU and features\n"
	"  --features=+a,-b     LLVM features to add or remove on top of those\n"
	"  -O0 .. -O3           LLVM optimisation level (default -O3)\n"
	"  --max-bytes=SIZE     refuse a model whose parameters, or activations per sample,\n"
	"                       take more than SIZE bytes (default 16G; suffixes K M G T P)\n"
	"  --lua-memory=SIZE    memory a model script may hold (default 512M)\n"
	"  --lua-instructions=N Lua instructions a model script may run (default 200M)\n"
	"  --version, --help\n";

/* Print a one-line error and exit with status 1 (2 for usage errors). */
static void die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
#include <stdarg.h>
static void die(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("lunac: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (status == 2)
		fputs("run 'lunac --help' for usage\n", stderr);
	exit(status);
}

/* Find lunac's home: LUNAC_HOME if set, else the folder above the one that
** holds this executable (/proc/self/exe, symbolic links resolved): PREFIX
** for an installed bin/lunac, the source tree for a built one. */
static void find_home(Options *o)
{
	const char *env = getenv("LUNAC_HOME");
	if (env && *env) {
		o->home = strdup(env);
		o->home_why = "from LUNAC_HOME";
	} else {
		o->home = realpath("/proc/self/exe", NULL);
		if (!o->home)
			die(1, "cannot find my own executable (/proc/self/exe: %s); set LUNAC_HOME to the PREFIX lunac "
			       "was installed to, or to its source tree", strerror(errno));
		for (int up = 0; up < 2; up++) {
			char *slash = strrchr(o->home, '/');
			if (slash)
				*slash = 0;   /* "/bin/lunac" gives "": paths start with "/" */
		}
		o->home_why = "above this lunac's bin/";
	}
	if (!o->home)
		die(1, "out of memory");
}

/* Where each of lunac's parts lives under its home, per layout: installed
** (make install) or the source tree. Part 0 is the Lua library, part 1 the
** runtime library linked into every executable. */
static const char *const layout[2][2] = {{"share/lunac/lua", "lib/lunac"}, {"frontend/lib", "lib"}};

/* The folder (malloc'ed) of part that holds file, in the first layout that
** has it; or stop, saying where it looked and how to point lunac at it. */
static char *find_part(Options *o, int part, const char *file)
{
	if (!o->home)
		find_home(o);
	char *dir[2] = {NULL, NULL}, *path = NULL;
	for (int l = 0; l < 2; l++) {
		if (asprintf(&dir[l], "%s/%s", o->home, layout[l][part]) < 0 || asprintf(&path, "%s/%s", dir[l], file) < 0)
			die(1, "out of memory");
		int found = access(path, R_OK) == 0;
		free(path);
		if (found) {
			free(dir[1 - l]);
			return dir[l];
		}
	}
	die(1, "cannot find %s %s: looked in %s and %s (%s is %s); set LUNAC_HOME to the PREFIX lunac was installed "
	       "to (make install PREFIX=...) or to its source tree", part ? "the runtime library" : "the Lua library",
	    file, dir[0], dir[1], o->home, o->home_why);
}

/* Parse the value of --emit. */
static EmitKind parse_emit(const char *s)
{
	if (!strcmp(s, "exe")) return EMIT_EXE;
	if (!strcmp(s, "obj")) return EMIT_OBJ;
	if (!strcmp(s, "llvm")) return EMIT_LLVM;
	if (!strcmp(s, "asm")) return EMIT_ASM;
	die(2, "--emit: expected exe, obj, llvm or asm, got \"%s\"", s);
}

/* Parse the size given to flag: a whole number, or with a suffix K, M, G,
** T or P (powers of 1024; "16G", "512M"), at least 1 and at most
** IR_MAX_MAX_BYTES. */
static int64_t parse_size(const char *flag, const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	static const char units[] = "KMGTP";
	int shift = 0;
	if (*end && end[1] == 0 && strchr(units, *end))
		shift = 10 * (int)(strchr(units, *end) - units + 1), end++;
	if (end == s || *end || errno || s[0] == '-' || s[0] == '+' || v == 0 ||
	    v > (unsigned long long)IR_MAX_MAX_BYTES >> shift)
		die(2, "%s: expected a size from 1 to 1P (a whole number, or with K, M, G, T, P), got \"%s\"", flag, s);
	return (int64_t)(v << shift);
}

/* Record one -D KEY=VALUE. */
static void add_define(Options *o, char *kv)
{
	char *eq = strchr(kv, '=');
	if (!eq || eq == kv)
		die(2, "-D: expected KEY=VALUE, got \"%s\"", kv);
	if (o->ndefs == MAXDEFS)
		die(2, "-D: too many definitions");
	*eq = 0;
	o->defs[o->ndefs++] = (Define){kv, eq + 1};
}

/* Value of "--flag=value" or "--flag value"; advances *i for the latter. */
static const char *flag_value(int argc, char **argv, int *i, const char *flag)
{
	size_t n = strlen(flag);
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (*i + 1 >= argc)
		die(2, "%s needs a value", flag);
	return argv[++*i];
}

/* 1 if argv[i] is the long flag (with or without "=value"). */
static int is_flag(const char *arg, const char *flag)
{
	size_t n = strlen(flag);
	return !strncmp(arg, flag, n) && (arg[n] == 0 || arg[n] == '=');
}

/* Parse the command line into o. */
static void parse_args(Options *o, int argc, char **argv)
{
	o->emit = EMIT_EXE;
	o->cg.opt_level = 3;
	o->max_bytes = IR_DEFAULT_MAX_BYTES;
	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage, stdout);
			exit(0);
		} else if (!strcmp(a, "--version")) {
			printf("%s\n", LUNAC_VERSION_STRING);
			exit(0);
		} else if (!strcmp(a, "-o")) {
			if (++i >= argc)
				die(2, "-o needs a path");
			o->out = argv[i];
		} else if (!strncmp(a, "-D", 2)) {
			if (a[2])
				add_define(o, a + 2);
			else if (++i < argc)
				add_define(o, argv[i]);
			else
				die(2, "-D needs KEY=VALUE");
		} else if (is_flag(a, "--emit")) {
			o->emit = parse_emit(flag_value(argc, argv, &i, "--emit"));
		} else if (is_flag(a, "--entry")) {
			const char *m = flag_value(argc, argv, &i, "--entry");
			if (pass_entry_parse(m, &o->passes.entry, &o->passes.optimizer))
				die(2, "--entry: expected predict, mc, eval, train_adam or train_sgd, got \"%s\"", m);
			o->entry_given = 1;
		} else if (is_flag(a, "--level")) {
			const char *l = flag_value(argc, argv, &i, "--level");
			if (strcmp(l, "graph") && strcmp(l, "kernel"))
				die(2, "--level: expected graph or kernel, got \"%s\"", l);
			o->level_kernel = !strcmp(l, "kernel");
		} else if (is_flag(a, "--print-after")) {
			o->passes.print_after = flag_value(argc, argv, &i, "--print-after");
		} else if (is_flag(a, "--dump-dir")) {
			o->passes.dump_dir = flag_value(argc, argv, &i, "--dump-dir");
			if (!*o->passes.dump_dir)
				die(2, "--dump-dir: the value is empty");
		} else if (is_flag(a, "--disable-pass")) {
			o->passes.disable = flag_value(argc, argv, &i, "--disable-pass");
		} else if (is_flag(a, "--passes")) {
			o->passes.only = flag_value(argc, argv, &i, "--passes");
			if (!*o->passes.only)
				die(2, "--passes: the value is empty (--passes=none runs only the required passes)");
		} else if (is_flag(a, "--max-bytes")) {
			o->max_bytes = parse_size("--max-bytes", flag_value(argc, argv, &i, "--max-bytes"));
		} else if (is_flag(a, "--lua-memory")) {
			o->lua_memory = parse_size("--lua-memory", flag_value(argc, argv, &i, "--lua-memory"));
		} else if (is_flag(a, "--lua-instructions")) {
			o->lua_instr = parse_size("--lua-instructions", flag_value(argc, argv, &i, "--lua-instructions"));
		} else if (is_flag(a, "--cpu")) {
			o->cg.cpu = flag_value(argc, argv, &i, "--cpu");
			if (!*o->cg.cpu)
				die(2, "--cpu: expected a CPU name (`llc-19 -mcpu=help` lists them), got nothing");
		} else if (is_flag(a, "--features")) {
			o->cg.features = flag_value(argc, argv, &i, "--features");
		} else if (a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '3' && !a[3]) {
			o->cg.opt_level = a[2] - '0';
		} else if (a[0] == '-' && a[1]) {
			die(2, "unknown option \"%s\"", a);
		} else if (!o->cmd) {
			o->cmd = a;
		} else if (!o->model) {
			o->model = a;
		} else {
			die(2, "unexpected argument \"%s\"", a);
		}
	}
	if (!o->cmd)
		die(2, "no command given");
	if (o->level_kernel && strcmp(o->cmd, "ir"))
		die(2, "--level=kernel is an option of `lunac ir`");
	if (o->passes.dump_dir && strcmp(o->cmd, "build"))
		die(2, "--dump-dir is an option of `lunac build`");
}

/* Read a whole text file into a malloc'ed string; a NUL byte in it (which
** would end the text early) is an error naming its line. */
static char *slurp(const char *path, Err *e)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		ir_errorf(e, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	size_t cap = 1 << 16, n = 0, k;
	char *s = malloc(cap);
	while (s && (k = fread(s + n, 1, cap - n - 1, f)) > 0) {
		n += k;
		if (n + 1 == cap) {
			char *t = realloc(s, cap *= 2);
			if (!t)
				free(s);
			s = t;
		}
	}
	int bad = ferror(f);
	fclose(f);
	if (!s || bad) {
		free(s);
		ir_errorf(e, "cannot read %s: %s", path, s ? "read error" : "out of memory");
		return NULL;
	}
	s[n] = 0;
	if (strlen(s) != n) {
		int line = 1;
		for (const char *p = s; *p; p++)
			line += *p == '\n';
		ir_errorf(e, "%s:%d: a NUL byte in IR text", path, line);
		free(s);
		return NULL;
	}
	return s;
}

/* 1 if path ends with suffix. */
static int ends_with(const char *path, const char *suffix)
{
	size_t a = strlen(path), b = strlen(suffix);
	return a >= b && !strcmp(path + a - b, suffix);
}

/* Load the model: a Lua script through the frontend, or IR text. */
static Graph *load_model(Options *o, Err *e)
{
	if (!o->model) {
		ir_errorf(e, "%s: no model file given", o->cmd);
		return NULL;
	}
	Graph *g;
	if (ends_with(o->model, ".ir")) {
		if (o->ndefs)
			ir_errorf(e, "-D applies to Lua model scripts, not to IR text");
		char *text = e->set ? NULL : slurp(o->model, e);
		g = text ? ir_parse(text, o->model, e) : NULL;
		free(text);
		if (g && g->entry) {
			ir_errorf(e, "%s: this graph was printed after the pass pipeline for the entry point %s (entry=%s on its "
			             "graph line); lunac takes a model's graph, as `lunac ir MODEL` or --print-after=input print it",
			          o->model, g->entry, g->entry);
			ir_free(g);
			return NULL;
		}
		if (g && ir_verify_model(g, o->model, e)) {
			ir_free(g);
			return NULL;
		}
	} else {
		char *libdir = find_part(o, 0, "nn.lua");
		FeOptions fo = {.defs = o->defs, .ndefs = o->ndefs, .libdir = libdir, .max_bytes = o->max_bytes,
		              .max_memory = (size_t)o->lua_memory, .max_instructions = o->lua_instr};
		g = fe_load(o->model, &fo, e);
		free(libdir);
		return g;
	}
	if (g && ir_check_size(g, o->max_bytes, o->model, e)) {
		ir_free(g);
		return NULL;
	}
	return g;
}

/* Run a program (argv[0] looked up in PATH) and wait; 0 if it exited 0. */
static int run(char *const argv[], Err *e)
{
	pid_t pid = fork();
	if (pid < 0)
		return ir_errorf(e, "cannot start %s: %s", argv[0], strerror(errno));
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "lunac: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return ir_errorf(e, "%s failed", argv[0]);
	return 0;
}

/* Link obj with the runtime library in rtdir into the executable out (via
** a temporary). */
static int link_exe(const char *rtdir, const char *obj, const char *out, Err *e)
{
	char rt[PATH_MAX + 32], tmp[PATH_MAX + 16];
	if (strlen(rtdir) > PATH_MAX)
		return ir_errorf(e, "the runtime library's folder %s is longer than PATH_MAX", rtdir);
	snprintf(rt, sizeof rt, "%s/liblunacrt.a", rtdir);
	snprintf(tmp, sizeof tmp, "%s.tmp%d", out, (int)getpid());
	const char *cc = getenv("CC") ? getenv("CC") : "cc";
	char *argv[] = {(char *)cc, "-o", tmp, (char *)obj, rt,
	                "-lcjson", "-lpng", "-ljpeg", "-lz", "-lm", "-lpthread", NULL};
	if (run(argv, e)) {
		unlink(tmp);
		return ir_errorf(e, "linking %s failed", out);
	}
	if (rename(tmp, out)) {
		unlink(tmp);
		return ir_errorf(e, "cannot write %s: %s", out, strerror(errno));
	}
	return 0;
}

/* Refuse an output path that exists but is not a regular file (the
** runtime's rule, rt_out_check: the output is renamed into place). */
static int out_not_regular(const char *out, Err *e)
{
	RtErr re = {0};
	return rt_out_check(out, &re) ? ir_errorf(e, "build: -o %s", re.msg) : 0;
}

/* Show what build does next on a terminal's status line (phase.c), unless
** --print-after writes IR to the same stderr. */
static void phase(const Options *o, const char *what)
{
	if (!o->passes.print_after)
		drv_phase(what);
}

/* lunac build: the compile recipe (compile.c), then linking. */
static int cmd_build(Options *o, Graph *g, Err *e)
{
	Compiled c;
	int rc = -1;
	if (!o->out)
		return ir_errorf(e, "build: -o OUT is required");
	if (!o->out[0] || strlen(o->out) >= PATH_MAX)
		return ir_errorf(e, "build: -o: the path is %s", o->out[0] ? "too long" : "empty");
	if (out_not_regular(o->out, e) || compile_dump_prepare(o->passes.dump_dir, e))
		return -1;
	char *rtdir = o->emit == EMIT_EXE ? find_part(o, 1, "liblunacrt.a") : NULL;   /* before any work */
	phase(o, "passes and memory plans");
	if (compile_plan(g, &o->passes, &c, e)) {
		rc = -1;
	} else if (o->emit != EMIT_EXE) {
		rc = compile_emit(&c, &o->cg, o->emit, o->out, e);
	} else {
		char obj[PATH_MAX + 16];
		snprintf(obj, sizeof obj, "%s.o.tmp%d", o->out, (int)getpid());
		rc = compile_emit(&c, &o->cg, EMIT_OBJ, obj, e) ||
		     (phase(o, "linking"), link_exe(rtdir, obj, o->out, e)) ? -1 : 0;
		unlink(obj);
	}
	free(rtdir);
	compile_free(&c);
	return rc;
}

/* lunac stats: parameters, MACs, memory. */
static int cmd_stats(Options *o, Graph *g, Err *e)
{
	Plan plan;
	int64_t params = ir_param_count(g), buffers = ir_buffer_count(g), macs = ir_macs(g);
	if (pass_pipeline(g, &o->passes, e) || pass_plan(g, NULL, &plan, e))
		return -1;
	char h[4][32];
	printf("model            %s\n", g->name);
	printf("parameters       %lld trainable (%s)\n", (long long)params, ir_human(h[0], 32, (double)params, 0));
	printf("buffers          %lld (batch-norm running statistics)\n", (long long)buffers);
	printf("MACs per sample  %lld (%s)\n", (long long)macs, ir_human(h[1], 32, (double)macs, 0));
	printf("arena (%s)  %lld bytes (%s) fixed + %lld bytes (%s) per sample\n",
	       pass_entry_name(o->passes.entry, o->passes.optimizer), (long long)plan.fixed_bytes,
	       ir_human(h[2], 32, (double)plan.fixed_bytes, 1), (long long)plan.batch_bytes,
	       ir_human(h[3], 32, (double)plan.batch_bytes, 1));
	return 0;
}

/* lunac ir: the model's graph, which build compiles into every entry point
** (after running the pipeline for the default entry, so that ir refuses what
** build would); with --entry, the graph after the pipeline for that entry;
** with --print-after, only the graphs it prints (on stderr). */
static int cmd_ir(Options *o, Graph *g, Err *e)
{
	if (o->level_kernel) {
		Compiled c;   /* every entry, as build plans and schedules them (--entry: that one) */
		int rc = compile_plan(g, &o->passes, &c, e), k = 0;
		const char *want = pass_entry_name(o->passes.entry, o->passes.optimizer);
		while (o->entry_given && k < c.n && strcmp(c.es[k].name, want))
			k++;
		if (!rc && o->entry_given && k == c.n)
			rc = ir_errorf(e, "%s: the model has no %s entry (it has no %s)", g->name, want,
			               o->passes.entry == ENTRY_MC ? "dropout" : "loss");
		if (!rc)
			rc = cg_print_kernels(c.es + k, o->entry_given ? 1 : c.n, &o->cg, stdout, e);
		compile_free(&c);
		return rc;
	}
	if (o->passes.print_after && pass_listed(o->passes.print_after, "plan")) {
		Compiled c;   /* every entry, as build plans them: the plan needs the shared layout */
		int rc = compile_plan(g, &o->passes, &c, e);
		compile_free(&c);
		return rc;
	}
	Graph *c = o->entry_given || o->passes.print_after ? g : ir_clone(g);
	int rc = pass_pipeline(c, &o->passes, e);
	if (c != g)
		ir_free(c);
	if (!rc && !o->passes.print_after)
		ir_print(g, stdout);
	return rc;
}

/* lunac passes: the pipeline, in order. */
static void cmd_passes(void)
{
	for (int i = 0; i < pass_count; i++)
		printf("%-10s %s%s\n", pass_list[i].name, pass_list[i].what,
		       pass_list[i].can_disable ? "" : " (required)");
}

/* Flush stdout: 0, or 1 after saying why it failed. A reader that went
** away (`lunac ir M | head`, with SIGPIPE ignored by whoever started lunac)
** ends lunac quietly, as SIGPIPE does by default. */
static int finish_stdout(void)
{
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return 0;
	int err = errno;
	struct pollfd p = {STDOUT_FILENO, POLLOUT, 0};
	if (err == EPIPE || (poll(&p, 1, 0) == 1 && (p.revents & POLLERR))) {
		signal(SIGPIPE, SIG_DFL);
		raise(SIGPIPE);
		_exit(141);
	}
	fprintf(stderr, "lunac: cannot write to standard output%s%s\n", err ? ": " : "", err ? strerror(err) : "");
	return 1;
}

int main(int argc, char **argv)
{
	static Options o;
	Err e = {0};
	parse_args(&o, argc, argv);
	if (!strcmp(o.cmd, "passes")) {
		cmd_passes();
		return finish_stdout();
	}
	if (strcmp(o.cmd, "build") && strcmp(o.cmd, "ir") && strcmp(o.cmd, "stats"))
		die(2, "unknown command \"%s\"", o.cmd);
	if (!strcmp(o.cmd, "build")) {
		phase(&o, "running the model script");
		if (!o.passes.print_after)
			o.cg.phase = drv_phase;
	}
	Graph *g = load_model(&o, &e);
	int rc = !g;
	if (g && !strcmp(o.cmd, "build"))
		rc = cmd_build(&o, g, &e) != 0;
	else if (g && !strcmp(o.cmd, "stats"))
		rc = cmd_stats(&o, g, &e) != 0;
	else if (g)
		rc = cmd_ir(&o, g, &e) != 0;
	ir_free(g);
	drv_phase_end();
	if (rc)
		fprintf(stderr, "%s\n", e.msg);
	return finish_stdout() || rc;
}
