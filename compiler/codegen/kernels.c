/*
** kernels.c -- which emitter builds each op's kernel: one table indexed by
** Op, checked against the op table (size at compile time, completeness at
** run time), and the rule for which nodes get a kernel at all.
*/
#include "cg.h"

#include <stdarg.h>
#include <stdio.h>

/* NULL only for sources that live in the arena as they are (filled by the
** runtime): input, param, buffer. */
static const Emitter emitters[] = {
	[OP_INPUT] = NULL,
	[OP_PARAM] = NULL,
	[OP_BUFFER] = NULL,
	[OP_CONST] = cg_const,
	[OP_CONV2D] = cg_conv2d,
	[OP_DENSE] = cg_dense,
	[OP_MATMUL] = cg_matmul,
	[OP_ADD] = cg_binary,
	[OP_SUB] = cg_binary,
	[OP_MUL] = cg_binary,
	[OP_DIV] = cg_binary,
	[OP_NEG] = cg_unary,
	[OP_RELU] = cg_unary,
	[OP_SIGMOID] = cg_unary,
	[OP_TANH] = cg_unary,
	[OP_EXP] = cg_unary,
	[OP_LOG] = cg_unary,
	[OP_GAVG] = cg_global,
	[OP_GMAX] = cg_global,
	[OP_GMIN] = cg_global,
	[OP_MAXPOOL] = cg_pool,
	[OP_AVGPOOL] = cg_pool,
	[OP_BATCHNORM] = cg_batchnorm,
	[OP_CONCAT] = cg_concat,
	[OP_RESHAPE] = cg_copy,
	[OP_SOFTMAX] = cg_softmax,
	[OP_LOGSOFTMAX] = cg_softmax,
	[OP_DROPOUT] = cg_dropout,
};
_Static_assert(sizeof emitters / sizeof emitters[0] == OP_COUNT, "codegen: an op has no emitter entry");

/* The emitter for op. */
Emitter cg_emitter(Op op)
{
	return op >= 0 && op < OP_COUNT ? emitters[op] : NULL;
}

/* Every op but input / param / buffer must have an emitter. */
int cg_check_table(Err *e)
{
	for (int op = 0; op < OP_COUNT; op++) {
		int bare = op == OP_INPUT || op == OP_PARAM || op == OP_BUFFER;
		if (!bare && !emitters[op])
			return ir_errorf(e, "codegen: internal error: no emitter for op '%s'", ir_ops[op].name);
	}
	return 0;
}

/* A node gets a kernel unless it is dead, a source the runtime fills, a
** constant read in place, or a copy that the planner put on its operand. */
int cg_needs_kernel(const Cg *c, const Node *nd)
{
	if (nd->dead || !cg_emitter(nd->op))
		return 0;
	if (nd->op == OP_CONST)
		return c->p->off[nd->id] >= 0;
	return !(cg_is_copy(nd) && cg_same_storage(c, nd->id, nd->in[0]));
}

/* "loc: codegen: op: message" (or "%id: ..." without a location). */
int cg_fail(Cg *c, const Node *nd, const char *fmt, ...)
{
	char why[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	if (nd->loc)
		return ir_errorf(c->e, "%s: codegen: %s: %s", nd->loc, ir_ops[nd->op].name, why);
	return ir_errorf(c->e, "%%%d: codegen: %s: %s", nd->id, ir_ops[nd->op].name, why);
}
