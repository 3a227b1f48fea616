/*
** ops.h -- the op table, the single source of truth for every graph-IR op.
**
** OP(ENUM, "name", min, max, kind, differentiable, attrs)
**   min, max: the number of operands (conv2d and dense take an optional
**         bias; concat takes up to IR_MAXIN)
**   kind:  K_SOURCE (no operands, a value of its own), K_ELEMWISE (same shape
**          in and out), K_BROADCAST (numpy broadcasting of two operands),
**          K_INJECTIVE (moves data, no arithmetic), K_REDUCTION, K_CONVLIKE,
**          K_OPAQUE (anything else: softmax, batch norm, dropout)
**   differentiable: 1 if autodiff must have a backward rule for it
**   attrs: which fields of Attrs the op uses (A_* bits); the printer and the
**          parser read and write exactly these, in this order.
**
** Every other per-op table (shape rules, interpreter, codegen, backward) is a
** switch or an array indexed by Op and is checked against OP_COUNT.
** ORDER OP: append new ops at the end of a group; golden IR prints names only.
*/
OP(INPUT,     "input",     0,0, K_SOURCE,    0, A_NAME)
OP(PARAM,     "param",     0,0, K_SOURCE,    0, A_NAME | A_INIT)
OP(BUFFER,    "buffer",    0,0, K_SOURCE,    0, A_NAME | A_INIT)
OP(CONST,     "const",     0,0, K_SOURCE,    0, A_DATA)
OP(CONV2D,    "conv2d",    2,3, K_CONVLIKE,  1, A_STRIDE | A_PAD)
OP(DENSE,     "dense",    2,3, K_CONVLIKE,  1, 0)
OP(MATMUL,    "matmul",    2,2, K_CONVLIKE,  1, 0)
OP(ADD,       "add",       2,2, K_BROADCAST, 1, 0)
OP(SUB,       "sub",       2,2, K_BROADCAST, 1, 0)
OP(MUL,       "mul",       2,2, K_BROADCAST, 1, 0)
OP(DIV,       "div",       2,2, K_BROADCAST, 1, 0)
OP(NEG,       "neg",       1,1, K_ELEMWISE,  1, 0)
OP(RELU,      "relu",      1,1, K_ELEMWISE,  1, 0)
OP(SIGMOID,   "sigmoid",   1,1, K_ELEMWISE,  1, 0)
OP(TANH,      "tanh",      1,1, K_ELEMWISE,  1, 0)
OP(EXP,       "exp",       1,1, K_ELEMWISE,  1, 0)
OP(LOG,       "log",       1,1, K_ELEMWISE,  1, 0)
OP(GAVG,      "gavg",      1,1, K_REDUCTION, 1, A_KEEPDIMS)
OP(GMAX,      "gmax",      1,1, K_REDUCTION, 1, A_KEEPDIMS)
OP(GMIN,      "gmin",      1,1, K_REDUCTION, 1, A_KEEPDIMS)
OP(MAXPOOL,   "maxpool",   1,1, K_CONVLIKE,  1, A_KERNEL | A_STRIDE | A_PAD)
OP(AVGPOOL,   "avgpool",   1,1, K_CONVLIKE,  1, A_KERNEL | A_STRIDE | A_PAD)
OP(BATCHNORM, "batchnorm", 5,5, K_OPAQUE,    1, A_MODE | A_EPS | A_MOMENTUM)
OP(CONCAT,    "concat",   1,IR_MAXIN, K_INJECTIVE, 1, A_AXIS)
OP(RESHAPE,   "reshape",   1,1, K_INJECTIVE, 1, A_SHAPE)
OP(SOFTMAX,   "softmax",   1,1, K_OPAQUE,    1, 0)
OP(LOGSOFTMAX,"logsoftmax",1,1, K_OPAQUE,    1, 0)
OP(DROPOUT,   "dropout",   1,1, K_OPAQUE,    1, A_MODE | A_P | A_STREAM)
/* training: gradients, losses, optimizer state (docs/ir.md, "Training ops") */
OP(SUMTO,     "sumto",     1,1, K_REDUCTION, 0, A_SHAPE)
OP(BROADCAST, "broadcast", 1,1, K_BROADCAST, 0, A_SHAPE)
OP(CONV2D_DX, "conv2d_dx", 2,2, K_CONVLIKE,  0, A_STRIDE | A_PAD | A_SHAPE)
OP(CONV2D_DW, "conv2d_dw", 2,2, K_CONVLIKE,  0, A_STRIDE | A_PAD | A_SHAPE)
OP(MATMUL_NT, "matmul_nt", 2,2, K_CONVLIKE,  0, 0)
OP(MATMUL_TN, "matmul_tn", 2,2, K_CONVLIKE,  0, 0)
OP(RELU_DX,   "relu_dx",   2,2, K_BROADCAST, 0, 0)
OP(GSEL_DX,   "gsel_dx",   3,3, K_OPAQUE,    0, 0)
OP(MAXPOOL_DX,"maxpool_dx",2,2, K_CONVLIKE,  0, A_KERNEL | A_STRIDE | A_PAD)
OP(AVGPOOL_DX,"avgpool_dx",1,1, K_CONVLIKE,  0, A_KERNEL | A_STRIDE | A_PAD | A_SHAPE)
OP(BN_DX,     "bn_dx",     3,3, K_OPAQUE,    0, A_EPS)
OP(BN_DGAMMA, "bn_dgamma", 2,2, K_REDUCTION, 0, A_EPS)
OP(BN_MEAN,   "bn_mean",   1,1, K_REDUCTION, 0, 0)
OP(BN_VAR,    "bn_var",    1,1, K_REDUCTION, 0, 0)
OP(SLICE,     "slice",     1,1, K_INJECTIVE, 0, A_AXIS | A_START | A_SHAPE)
OP(SOFTMAX_DX,"softmax_dx",2,2, K_OPAQUE,    0, 0)
OP(LOGSOFTMAX_DX,"logsoftmax_dx",2,2, K_OPAQUE, 0, 0)
OP(XENT,      "xent",      2,2, K_OPAQUE,    1, A_SMOOTHING)
OP(XENT_DX,   "xent_dx",   3,3, K_OPAQUE,    0, A_SMOOTHING)
OP(BMEAN,     "bmean",     1,1, K_REDUCTION, 1, 0)
OP(BMEAN_DX,  "bmean_dx",  1,1, K_BROADCAST, 0, A_SHAPE)
OP(SQRT,      "sqrt",      1,1, K_ELEMWISE,  1, 0)
OP(MINIMUM,   "minimum",   2,2, K_BROADCAST, 0, 0)
OP(STATE,     "state",     0,0, K_SOURCE,    0, A_NAME | A_INIT)
OP(ASSIGN,    "assign",    2,2, K_OPAQUE,    0, 0)
