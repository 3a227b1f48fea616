/*
** shape_impl.h -- helpers shared by the shape-rule files (shape.c,
** shape_train.c); not part of the IR's public interface.
*/
#ifndef LUNAC_SHAPE_IMPL_H
#define LUNAC_SHAPE_IMPL_H

#include "ir.h"

/* Report "loc: op: message" for nd; returns -1. */
int sh_fail(Err *e, const Node *nd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Operand k's shape. */
const Shape *sh_arg(const Graph *g, const Node *nd, int k);
/* "[N,3,28,28]" into buf (128 bytes); returns buf. */
const char *sh_fmt(char *buf, const Shape *s);
/* numpy broadcasting of a and b into out; -1 if they do not broadcast. */
int sh_broadcast(const Shape *a, const Shape *b, Shape *out);
/* The result shape of a window op (conv, pool) over x; -1 if it does not fit. */
int sh_conv_out(const Shape *x, int64_t o, int64_t kh, int64_t kw, const int64_t stride[2], const int64_t pad[2],
                Shape *out);
/* Shape rules of the training ops; returns 1 when op is not one of them. */
int sh_infer_train(const Graph *g, Node *nd, Err *e);

#endif
