/* ops.h: the op builders. Each returns a new tensor (and records a graph node
 * when grad mode is on and an input requires grad) or NULL with ctx->err set.
 * Dimension arguments here are 0-based and already wrapped; the binding
 * converts Lua's 1-based/negative dims. */
#ifndef TG_OPS_H
#define TG_OPS_H

typedef enum {
#define TG_UNARY(E, name, gname, int_ok) TG_OP_##E,
#define TG_BINARY(E, name, gname, kind) TG_OP_##E,
#include "ops.def"
  TG_OP_COUNT
} tg_op;

typedef enum { TG_KIND_UNARY, TG_KIND_ARITH, TG_KIND_COMPARE, TG_KIND_LOGICAL } tg_op_kind;
typedef struct tg_op_info { const char *name, *grad_name; tg_op_kind kind; bool int_ok; } tg_op_info;
extern const tg_op_info tg_op_infos[TG_OP_COUNT];

typedef enum { TG_REDUCTION_NONE, TG_REDUCTION_MEAN, TG_REDUCTION_SUM } tg_reduction;

/* creation (ops/creation.c) --------------------------------------------- */
tg_tensor *tg_arange(tg_ctx *c, double start, double end, double step, tg_dtype dt);
tg_tensor *tg_linspace(tg_ctx *c, double a, double b, int64_t n, tg_dtype dt);
tg_tensor *tg_eye(tg_ctx *c, int64_t n, int64_t m, tg_dtype dt);
tg_tensor *tg_rand(tg_ctx *c, tg_dtype dt, int ndim, const int64_t *size);
tg_tensor *tg_randn(tg_ctx *c, tg_dtype dt, int ndim, const int64_t *size);
tg_tensor *tg_randint(tg_ctx *c, int64_t lo, int64_t hi, tg_dtype dt, int ndim, const int64_t *size);

/* elementwise (ops/elementwise.c) --------------------------------------- */
tg_tensor *tg_unary(tg_ctx *c, tg_op op, tg_tensor *x);
tg_tensor *tg_binary(tg_ctx *c, tg_op op, tg_tensor *a, tg_tensor *b);
tg_tensor *tg_binary_scalar(tg_ctx *c, tg_op op, tg_tensor *a, double s, bool s_is_int, bool scalar_first);
tg_tensor *tg_add(tg_ctx *c, tg_tensor *a, tg_tensor *b);
tg_tensor *tg_sub(tg_ctx *c, tg_tensor *a, tg_tensor *b);
tg_tensor *tg_mul(tg_ctx *c, tg_tensor *a, tg_tensor *b);
tg_tensor *tg_div(tg_ctx *c, tg_tensor *a, tg_tensor *b);
tg_tensor *tg_neg(tg_ctx *c, tg_tensor *a);
tg_tensor *tg_mul_scalar(tg_ctx *c, tg_tensor *a, double s);
tg_tensor *tg_add_scalar(tg_ctx *c, tg_tensor *a, double s);
tg_tensor *tg_pow_scalar(tg_ctx *c, tg_tensor *a, double e);
tg_tensor *tg_to_dtype(tg_ctx *c, tg_tensor *x, tg_dtype dt); /* differentiable */
tg_tensor *tg_clone(tg_ctx *c, tg_tensor *x);
tg_tensor *tg_contiguous(tg_ctx *c, tg_tensor *x);
/* t (cast to dt) viewed with a broadcast shape; *hold keeps a cast copy alive */
int tg_operand_view(tg_ctx *c, tg_tensor *t, tg_dtype dt, int nd, const int64_t *shape, tg_tensor *view,
                    tg_tensor **hold);
/* ... more elementwise ops (helper: elementwise) */
/* in place (ops/inplace.c): bump the version; refuse leaves that require grad */
int tg_check_inplace(tg_ctx *c, tg_tensor *t);
int tg_fill_(tg_ctx *c, tg_tensor *t, double v);
int tg_copy_(tg_ctx *c, tg_tensor *dst, tg_tensor *src);
int tg_add_inplace_raw(tg_ctx *c, tg_tensor *dst, tg_tensor *src); /* no autograd */

/* reductions (ops/reduce.c) --------------------------------------------- */
/* dims: 0-based, n_dims == 0 means all */
tg_tensor *tg_sum(tg_ctx *c, tg_tensor *x, int n_dims, const int *dims, bool keepdim);
tg_tensor *tg_mean(tg_ctx *c, tg_tensor *x, int n_dims, const int *dims, bool keepdim);
tg_tensor *tg_sum_to(tg_ctx *c, tg_tensor *x, int ndim, const int64_t *size); /* undo broadcast */
/* ... more reductions (helper: reductions) */

/* shape and views (ops/shape.c) ----------------------------------------- */
tg_tensor *tg_view(tg_ctx *c, tg_tensor *x, int ndim, const int64_t *size);
tg_tensor *tg_reshape(tg_ctx *c, tg_tensor *x, int ndim, const int64_t *size);
tg_tensor *tg_transpose(tg_ctx *c, tg_tensor *x, int d0, int d1);
tg_tensor *tg_permute(tg_ctx *c, tg_tensor *x, const int *perm);
tg_tensor *tg_unsqueeze(tg_ctx *c, tg_tensor *x, int d);
tg_tensor *tg_squeeze(tg_ctx *c, tg_tensor *x, int d); /* d < 0: all size-1 dims */
tg_tensor *tg_expand(tg_ctx *c, tg_tensor *x, int ndim, const int64_t *size); /* -1 keeps */
tg_tensor *tg_select(tg_ctx *c, tg_tensor *x, int d, int64_t i); /* i 0-based, wrapped */
tg_tensor *tg_narrow(tg_ctx *c, tg_tensor *x, int d, int64_t start, int64_t len);
/* ... more views, copies and indexing (helper: shape) */

/* linear algebra (ops/linalg.c) ----------------------------------------- */
tg_tensor *tg_mm(tg_ctx *c, tg_tensor *a, tg_tensor *b);
tg_tensor *tg_bmm(tg_ctx *c, tg_tensor *a, tg_tensor *b);
tg_tensor *tg_matmul(tg_ctx *c, tg_tensor *a, tg_tensor *b);
/* ... more linear algebra (helper: shape) */

/* losses (ops/loss.c) ---------------------------------------------------- */
tg_tensor *tg_bce_with_logits(tg_ctx *c, tg_tensor *x, tg_tensor *y, tg_tensor *weight,
                              tg_tensor *pos_weight, tg_reduction r);
tg_tensor *tg_mse_loss(tg_ctx *c, tg_tensor *a, tg_tensor *b, tg_reduction r);
/* ... softmax and more losses (helper: nn) */

#endif
