/*
** parse.c -- read the IR's text form (docs/ir.md) back into a graph, so
** that pass tests can start from IR. Errors read "file:line: message".
** Each node, output and task remembers its line, so that the model rules
** checked after parsing (ir_verify_model, ir_check_size) can name it.
*/
#include "ir.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct Parser {
	Graph *g;
	const char *file;
	int line;
	const char *p;      /* cursor in the current line */
	Err *e;
	int seen_graph;     /* graph lines read */
} Parser;

/* Report a syntax error at the current line. */
static int perr(Parser *ps, const char *what)
{
	return ir_errorf(ps->e, "%s:%d: %s", ps->file, ps->line, what);
}

/* Skip blanks (not newlines). */
static void blank(Parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r')
		ps->p++;
}

/* Consume c if it is next; 1 if it was. */
static int accept(Parser *ps, char c)
{
	blank(ps);
	if (*ps->p != c)
		return 0;
	ps->p++;
	return 1;
}

/* True when c may be part of a word. */
static int word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-' || c == '+';
}

/* Skip blanks; the length of the word (letters, digits, _ . - +) that follows. */
static size_t word_len(Parser *ps)
{
	blank(ps);
	size_t k = 0;
	while (word_char(ps->p[k]))
		k++;
	return k;
}

/* Read an identifier-like word into buf; a word that does not fit is an
** error, never cut short. */
static int word(Parser *ps, char *buf, size_t cap)
{
	size_t k = word_len(ps);
	if (k == 0)
		return perr(ps, "expected a word");
	if (k >= cap)
		return ir_errorf(ps->e, "%s:%d: \"%.20s...\" is longer than any keyword", ps->file, ps->line, ps->p);
	memcpy(buf, ps->p, k);
	buf[k] = 0;
	ps->p += k;
	return 0;
}

/* Read a word of any length into the graph's arena. */
static int long_word(Parser *ps, const char **out)
{
	size_t k = word_len(ps);
	if (k == 0)
		return perr(ps, "expected a word");
	char *d = ir_alloc(&ps->g->arena, k + 1);
	memcpy(d, ps->p, k);
	*out = d;
	ps->p += k;
	return 0;
}

/* Read a double-quoted string (no escapes) into the graph's arena. */
static int string(Parser *ps, const char **out)
{
	if (!accept(ps, '"'))
		return perr(ps, "expected a string");
	const char *s = ps->p;
	while (*ps->p && *ps->p != '"' && *ps->p != '\n')
		ps->p++;
	if (*ps->p != '"')
		return perr(ps, "unterminated string");
	char *d = ir_alloc(&ps->g->arena, (size_t)(ps->p - s) + 1);
	memcpy(d, s, (size_t)(ps->p - s));
	*out = d;
	ps->p++;
	return 0;
}

/* Read an integer. */
static int integer(Parser *ps, int64_t *v)
{
	blank(ps);
	char *end;
	errno = 0;
	long long x = strtoll(ps->p, &end, 10);
	if (end == ps->p)
		return perr(ps, "expected an integer");
	if (errno)
		return perr(ps, "integer out of range");
	ps->p = end;
	*v = x;
	return 0;
}

/* Read an integer that must fit in an int. */
static int small_integer(Parser *ps, int *v)
{
	int64_t x;
	if (integer(ps, &x))
		return -1;
	if (x < INT_MIN || x > INT_MAX)
		return perr(ps, "integer out of range");
	*v = (int)x;
	return 0;
}

/* Read a float. */
static int number(Parser *ps, float *v)
{
	blank(ps);
	char *end;
	double x = strtod(ps->p, &end);
	if (end == ps->p)
		return perr(ps, "expected a number");
	ps->p = end;
	*v = (float)x;
	return 0;
}

/* Read "%K", a reference to an earlier node. */
static int ref(Parser *ps, int *id)
{
	int64_t v;
	if (!accept(ps, '%') || integer(ps, &v))
		return perr(ps, "expected %N");
	if (v < 0 || v >= ps->g->nnodes)
		return perr(ps, "reference to an undefined node");
	*id = (int)v;
	return 0;
}

/* Read a shape "[N,3,28,28]". */
static int shape(Parser *ps, Shape *s)
{
	s->rank = 0;
	if (!accept(ps, '['))
		return perr(ps, "expected [");
	if (accept(ps, ']'))
		return 0;
	do {
		if (s->rank == IR_MAXDIM)
			return perr(ps, "too many dimensions");
		blank(ps);
		if (*ps->p == 'N') {
			ps->p++;
			s->d[s->rank++] = IR_N;
		} else if (integer(ps, &s->d[s->rank++])) {
			return -1;
		}
	} while (accept(ps, ','));
	return accept(ps, ']') ? 0 : perr(ps, "expected ]");
}

/* Read "A" or "A,B" into a pair. */
static int pair(Parser *ps, int64_t v[2])
{
	if (integer(ps, &v[0]))
		return -1;
	v[1] = v[0];
	return accept(ps, ',') ? integer(ps, &v[1]) : 0;
}

/* Read const values "[v, ...]" into an array in the graph's arena (the
** line's length bounds their number). */
static int values(Parser *ps, Node *nd, int64_t *count)
{
	size_t k = 0, cap = 16;
	float *v = malloc(cap * sizeof *v);
	int rc = -1;
	if (!v)
		return perr(ps, "out of memory");
	if (!accept(ps, '[')) {
		perr(ps, "expected [");
		goto done;
	}
	if (!accept(ps, ']')) {
		do {
			if (k == cap) {
				float *nv = realloc(v, (cap *= 2) * sizeof *v);
				if (!nv) {
					perr(ps, "out of memory");
					goto done;
				}
				v = nv;
			}
			if (number(ps, &v[k++]))
				goto done;
		} while (accept(ps, ','));
		if (!accept(ps, ']')) {
			perr(ps, "expected ]");
			goto done;
		}
	}
	nd->a.data = ir_alloc(&ps->g->arena, sizeof(float) * (k ? k : 1));
	memcpy(nd->a.data, v, sizeof(float) * k);
	*count = (int64_t)k;
	rc = 0;
done:
	free(v);
	return rc;
}

/* Index of name in a table of n strings, or -1. */
static int lookup(const char *const *tab, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(tab[i], name) == 0)
			return i;
	return -1;
}

/* Read one "key=value" attribute into nd. */
static int attr(Parser *ps, Node *nd)
{
	static const char *const modes[] = {"none", "off", "train", "mc", "running", "batch"};
	static const char *const inits[] = {"none", "zeros", "ones", "glorot"};
	char key[32], val[32];
	if (word(ps, key, sizeof key) || !accept(ps, '='))
		return perr(ps, "expected key=value");
	Attrs *a = &nd->a;
	if (!strcmp(key, "stride")) return pair(ps, a->stride);
	if (!strcmp(key, "pad")) return pair(ps, a->pad);
	if (!strcmp(key, "kernel")) return pair(ps, a->kernel);
	if (!strcmp(key, "eps")) return number(ps, &a->eps);
	if (!strcmp(key, "momentum")) return number(ps, &a->momentum);
	if (!strcmp(key, "p")) return number(ps, &a->p);
	if (!strcmp(key, "smoothing")) return number(ps, &a->smoothing);
	if (!strcmp(key, "start")) return integer(ps, &a->start);
	if (!strcmp(key, "shape")) return shape(ps, &a->shape);
	if (!strcmp(key, "keepdims") || !strcmp(key, "axis") || !strcmp(key, "stream"))
		return small_integer(ps, key[0] == 'k' ? &a->keepdims : key[0] == 'a' ? &a->axis : &a->stream);
	if (!strcmp(key, "mode") || !strcmp(key, "init")) {
		int m = key[0] == 'm';
		if (word(ps, val, sizeof val))
			return -1;
		int k = m ? lookup(modes, 6, val) : lookup(inits, 4, val);
		if (k < 0)
			return perr(ps, m ? "unknown mode" : "unknown initialiser");
		if (m) a->mode = (Mode)k; else a->init = (Init)k;
		return 0;
	}
	return perr(ps, "unknown attribute");
}

/* Read the trailing "# file:line" location, if any. */
static void location(Parser *ps, Node *nd)
{
	if (!accept(ps, '#'))
		return;
	blank(ps);
	const char *s = ps->p;
	while (*ps->p && *ps->p != '\n')
		ps->p++;
	const char *e = ps->p;
	while (e > s && (e[-1] == ' ' || e[-1] == '\r'))
		e--;
	char *d = ir_alloc(&ps->g->arena, (size_t)(e - s) + 1);
	memcpy(d, s, (size_t)(e - s));
	nd->loc = d;
}

/* Read the rest of a node line after "%K =". */
static int node_line(Parser *ps)
{
	char opname[32];
	int in[IR_MAXIN], nin = 0;
	int64_t nvals = -1;
	if (word(ps, opname, sizeof opname))
		return -1;
	Op op = ir_op_lookup(opname);
	if (op == OP_COUNT)
		return perr(ps, "unknown op");
	blank(ps);
	while (*ps->p == '%') {
		if (nin == IR_MAXIN)
			return perr(ps, "too many operands");
		if (ref(ps, &in[nin++]))
			return -1;
		if (!accept(ps, ','))
			break;
		blank(ps);
	}
	if (ps->g->nnodes >= IR_MAXNODES)
		return ir_errorf(ps->e, "%s:%d: the graph has more than %d nodes", ps->file, ps->line, IR_MAXNODES);
	Node *nd = ir_add(ps->g, op, nin, in, NULL);
	nd->line = ps->line;
	int has_type = 0;
	for (;;) {
		blank(ps);
		char c = *ps->p;
		if (c == 0 || c == '\n' || c == '#')
			break;
		if (c == '"') {
			if (string(ps, &nd->a.name)) return -1;
		} else if (c == '[') {
			if (values(ps, nd, &nvals)) return -1;
		} else if (c == ':') {
			ps->p++;
			char dt[8];
			if (word(ps, dt, sizeof dt) || shape(ps, &nd->shape))
				return -1;
			if (strcmp(dt, "f32") && strcmp(dt, "i32"))
				return perr(ps, "unknown dtype");
			nd->dtype = dt[0] == 'i' ? DT_I32 : DT_F32;
			has_type = 1;
		} else if (attr(ps, nd)) {
			return -1;
		}
	}
	location(ps, nd);
	if (ir_ops[op].kind == K_SOURCE) {
		if (!has_type)
			return perr(ps, "a source needs its type (: f32[...])");
		if (op == OP_CONST && nvals != ir_numel(&nd->shape, 1))
			return perr(ps, "constant has the wrong number of values for its type");
	}
	Shape want = nd->shape;
	Err se = {0};
	if (ir_infer_node(ps->g, nd, &se))
		return ir_errorf(ps->e, "%s:%d: %s", ps->file, ps->line, se.msg);
	if (has_type && !ir_shape_eq(&want, &nd->shape))
		return perr(ps, "written type does not match the inferred one");
	return 0;
}

/* Read "key=" and check the key. */
static int key_is(Parser *ps, const char *want)
{
	char key[32];
	if (word(ps, key, sizeof key) || strcmp(key, want) || !accept(ps, '='))
		return ir_errorf(ps->e, "%s:%d: task: expected %s=", ps->file, ps->line, want);
	return 0;
}

/* Read the rest of a task line: "name" output="o" label="l" classes=K weight=W. */
static int task_line(Parser *ps)
{
	Graph *g = ps->g;
	Task t = {.line = ps->line};
	if (string(ps, &t.name) || key_is(ps, "output") || string(ps, &t.output) || key_is(ps, "label") ||
	    string(ps, &t.label) || key_is(ps, "classes") || small_integer(ps, &t.classes) || key_is(ps, "weight") ||
	    number(ps, &t.weight))
		return -1;
	Task *nt = ir_alloc(&g->arena, sizeof(Task) * (size_t)(g->ntasks + 1));
	if (g->ntasks)
		memcpy(nt, g->tasks, sizeof(Task) * (size_t)g->ntasks);
	nt[g->ntasks++] = t;
	g->tasks = nt;
	return 0;
}

/* Read the value of "key=" (a word) into *out; 1 if the next word is key=
** and was read, 0 if it is not, -1 on an error. */
static int graph_attr(Parser *ps, const char *key, const char **out)
{
	size_t k = strlen(key);
	blank(ps);
	if (strncmp(ps->p, key, k) || ps->p[k] != '=')
		return 0;
	if (*out)
		return perr(ps, "a graph attribute is given twice"), -1;
	ps->p += k + 1;
	if (!word_len(ps))
		return perr(ps, "expected a value after the graph attribute"), -1;
	return long_word(ps, out) ? -1 : 1;
}

/* The rest of "graph NAME [spec=HEX] [entry=NAME]" (docs/ir.md). */
static int graph_line(Parser *ps)
{
	if (ps->seen_graph++)
		return perr(ps, "a second graph line (IR text holds one graph; --print-after with several passes prints one graph per pass)");
	if (long_word(ps, &ps->g->name))
		return -1;
	for (;;) {
		int a = graph_attr(ps, "spec", &ps->g->spec_hash);
		int b = a ? 0 : graph_attr(ps, "entry", &ps->g->entry);
		if (a < 0 || b < 0)
			return -1;
		if (!a && !b)
			break;
	}
	for (const char *h = ps->g->spec_hash; h && *h; h++)
		if (!isxdigit((unsigned char)*h))
			return perr(ps, "spec= expects the hexadecimal spec hash");
	return 0;
}

/* Parse one line of text. */
static int line(Parser *ps)
{
	char kw[32];
	blank(ps);
	if (*ps->p == '#')
		while (*ps->p && *ps->p != '\n')
			ps->p++;
	if (*ps->p == 0 || *ps->p == '\n')
		return 0;
	if (*ps->p == '%') {
		int64_t id;
		ps->p++;
		if (integer(ps, &id))
			return -1;
		if (id != ps->g->nnodes)
			return perr(ps, "nodes must be numbered %0, %1, ... in order");
		if (!accept(ps, '='))
			return perr(ps, "expected =");
		return node_line(ps);
	}
	if (word(ps, kw, sizeof kw))
		return -1;
	if (!strcmp(kw, "graph"))
		return graph_line(ps);
	if (!strcmp(kw, "output")) {
		const char *name;
		int id;
		if (string(ps, &name) || ref(ps, &id))
			return -1;
		if (ir_find_output(ps->g, name) >= 0)
			return perr(ps, "duplicate output name");
		ir_add_output(ps->g, name, id);
		ps->g->outputs[ps->g->noutputs - 1].line = ps->line;
		return 0;
	}
	if (!strcmp(kw, "task"))
		return task_line(ps);
	return perr(ps, "expected graph, output, task or %N = op");
}

/* Parse a whole IR text into a new graph (shapes inferred). */
Graph *ir_parse(const char *text, const char *filename, Err *e)
{
	Parser ps = {ir_new("model"), filename ? filename : "<ir>", 0, text, e, 0};
	while (*ps.p) {
		ps.line++;
		if (line(&ps))
			goto fail;
		blank(&ps);
		if (*ps.p && *ps.p != '\n') {
			perr(&ps, "unexpected text at the end of the line");
			goto fail;
		}
		if (*ps.p == '\n')
			ps.p++;
	}
	return ps.g;
fail:
	ir_free(ps.g);
	return NULL;
}
