/* ops.h: the op builders. Each returns a new tensor (and records a graph node
 * when grad mode is on and an input requires grad) or NULL with ctx->err set.
 * Dimension arguments here are 0-based and already wrapped; the binding
 * converts Lua's 1-based/negative dims. */
#ifndef TG_OPS_H
#define TG_OPS_H

typedef enum {
#define TG_UNARY(E, name, gname, int_ok) TG_OP_##E,
#define TG_BINARY(E, name, gname, kind) TG_OP_##E,
#define TG_ACT(E, name, gname, int_ok) TG_OP_##E, /* act */
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
/* a / b rounded: mode 1 "trunc", 2 "floor" (DivBackward2, zero gradient), else a / b */
tg_tensor *tg_div_rounding(tg_ctx *c, tg_tensor *a, tg_tensor *b, int mode);
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
tg_dtype tg_result_type_n(int n, const tg_tensor *const *ts); /* PyTorch's result_type (NULLs skipped) */
/* add/sub with PyTorch's alpha: a + alpha b, a - alpha b (op is TG_OP_ADD or TG_OP_SUB) */
tg_tensor *tg_add_alpha(tg_ctx *c, tg_op op, tg_tensor *a, tg_tensor *b, double alpha, bool alpha_is_int);
tg_tensor *tg_gelu(tg_ctx *c, tg_tensor *x, bool tanh_approx);
tg_tensor *tg_softplus(tg_ctx *c, tg_tensor *x, double beta, double threshold);
/* clamp with number bounds (NULL = none; ints: the given bounds are integers, for the
 * result dtype), or with tensor bounds (NULL = none) */
tg_tensor *tg_clamp(tg_ctx *c, tg_tensor *x, const double *min, const double *max, bool ints);
tg_tensor *tg_clamp_tensor(tg_ctx *c, tg_tensor *x, tg_tensor *min, tg_tensor *max);
tg_tensor *tg_logical_not(tg_ctx *c, tg_tensor *x);
/* in place (ops/inplace.c): bump the version; refuse leaves that require grad */
int tg_check_inplace(tg_ctx *c, tg_tensor *t);
int tg_fill_(tg_ctx *c, tg_tensor *t, double v);
int tg_copy_(tg_ctx *c, tg_tensor *dst, tg_tensor *src);
int tg_add_inplace_raw(tg_ctx *c, tg_tensor *dst, tg_tensor *src); /* no autograd */
/* act: activations (ops/activation.c). op: a TG_ACT row of ops.def; p[4]: ELU/CELU {alpha, scale,
 * input_scale}, LEAKY_RELU {negative_slope}, HARDTANH {min_val, max_val}; the in-place form records
 * PyTorch's in-place node (EluBackward1, ...). tg_act_fused_grad: the input gradient of a unary or
 * TG_ACT op in one kernel when no graph of it is wanted: 1 done (*out), 0 not handled, -1 error */
tg_tensor *tg_activation(tg_ctx *c, tg_op op, tg_tensor *x, const double *p);
int tg_activation_(tg_ctx *c, tg_op op, tg_tensor *x, const double *p);
tg_tensor *tg_unsafe_view(tg_ctx *c, tg_tensor *x, int nd, const int64_t *size); /* ops/shape.c */
int tg_act_fused_grad(tg_ctx *c, tg_op op, tg_tensor *g, tg_tensor *s, const double *p, tg_tensor **out);

/* reductions (ops/reduce.c) --------------------------------------------- */
/* dims: 0-based, n_dims == 0 means all */
tg_tensor *tg_sum(tg_ctx *c, tg_tensor *x, int n_dims, const int *dims, bool keepdim);
tg_tensor *tg_mean(tg_ctx *c, tg_tensor *x, int n_dims, const int *dims, bool keepdim);
tg_tensor *tg_sum_to(tg_ctx *c, tg_tensor *x, int ndim, const int64_t *size); /* undo broadcast */
/* ... more reductions (helper: reductions) */
/* (helper reduce: ops/reduce.c, ops/sort.c) dims 0-based, n_dims == 0 means all dims;
 * index tensors are int64 holding 1-based indices, as Lua sees them */
tg_tensor *tg_prod(tg_ctx *c, tg_tensor *x, int n_dims, const int *dims, bool keepdim);
tg_tensor *tg_amax(tg_ctx *c, tg_tensor *x, int n_dims, const int *dims, bool keepdim, bool is_max);
tg_tensor *tg_max_all(tg_ctx *c, tg_tensor *x, bool is_max); /* max() / min() */
/* max(dim) / min(dim): the values; *indices gets the 1-based int64 indices */
tg_tensor *tg_max_dim(tg_ctx *c, tg_tensor *x, int dim, bool keepdim, bool is_max, tg_tensor **indices);
tg_tensor *tg_argmax(tg_ctx *c, tg_tensor *x, int dim, bool keepdim, bool is_max); /* dim < 0: flattened */
tg_tensor *tg_var(tg_ctx *c, tg_tensor *x, int n_dims, const int *dims, double correction, bool keepdim,
                  bool is_std);
tg_tensor *tg_norm(tg_ctx *c, tg_tensor *x, double p, int n_dims, const int *dims, bool keepdim);
tg_tensor *tg_logsumexp(tg_ctx *c, tg_tensor *x, int n_dims, const int *dims, bool keepdim);
tg_tensor *tg_all(tg_ctx *c, tg_tensor *x, int n_dims, const int *dims, bool keepdim, bool any);
tg_tensor *tg_count_nonzero(tg_ctx *c, tg_tensor *x, int n_dims, const int *dims, bool keepdim);
tg_tensor *tg_cumsum(tg_ctx *c, tg_tensor *x, int dim);
tg_tensor *tg_cumprod(tg_ctx *c, tg_tensor *x, int dim);
tg_tensor *tg_sort(tg_ctx *c, tg_tensor *x, int dim, bool descending, tg_tensor **indices);
tg_tensor *tg_topk(tg_ctx *c, tg_tensor *x, int64_t k, int dim, bool largest, tg_tensor **indices);
/* the differentiable pair behind the index-selecting backward formulas (1-based idx):
 * take: out = x gathered along dim at idx; put: zeros(shape) with src added at idx along dim */
tg_tensor *tg_take_along_dim(tg_ctx *c, tg_tensor *x, tg_tensor *idx, int dim);
tg_tensor *tg_put_along_dim(tg_ctx *c, tg_tensor *src, tg_tensor *idx, int dim, int ndim, const int64_t *size);

/* shape and views (ops/shape.c) ----------------------------------------- */
tg_tensor *tg_view(tg_ctx *c, tg_tensor *x, int ndim, const int64_t *size);
tg_tensor *tg_reshape(tg_ctx *c, tg_tensor *x, int ndim, const int64_t *size);
tg_tensor *tg_transpose(tg_ctx *c, tg_tensor *x, int d0, int d1);
tg_tensor *tg_t(tg_ctx *c, tg_tensor *x); /* 2-D only: TBackward0 */
tg_tensor *tg_permute(tg_ctx *c, tg_tensor *x, const int *perm);
tg_tensor *tg_unsqueeze(tg_ctx *c, tg_tensor *x, int d);
tg_tensor *tg_squeeze(tg_ctx *c, tg_tensor *x, int d); /* d < 0: all size-1 dims */
tg_tensor *tg_expand(tg_ctx *c, tg_tensor *x, int ndim, const int64_t *size); /* -1 keeps */
tg_tensor *tg_select(tg_ctx *c, tg_tensor *x, int d, int64_t i); /* i 0-based, wrapped */
tg_tensor *tg_narrow(tg_ctx *c, tg_tensor *x, int d, int64_t start, int64_t len);
/* ... more views, copies and indexing (helper: shape) */
tg_tensor *tg_cat(tg_ctx *c, int n, tg_tensor *const *ts, int d); /* d wrapped by the caller */
tg_tensor *tg_stack(tg_ctx *c, int n, tg_tensor *const *ts, int d); /* d in [0, ndim] */
/* split into pieces of sizes[0..n_sizes) along d (with_sizes: SplitWithSizes), or of
 * size sizes[0] each (the last one smaller) when n_sizes == 1 and !with_sizes.
 * *outs is a new malloc'ed array of new references; returns the count or -1 */
int tg_split(tg_ctx *c, tg_tensor *x, int d, int n_sizes, const int64_t *sizes, bool with_sizes, tg_tensor ***outs);
int tg_chunk(tg_ctx *c, tg_tensor *x, int chunks, int d, tg_tensor ***outs);
int tg_unbind(tg_ctx *c, tg_tensor *x, int d, tg_tensor ***outs);
void tg_free_list(int n, tg_tensor **ts); /* unref each and free the array */
tg_tensor *tg_flatten(tg_ctx *c, tg_tensor *x, int start, int end);
tg_tensor *tg_repeat(tg_ctx *c, tg_tensor *x, int n, const int64_t *reps);
tg_tensor *tg_flip(tg_ctx *c, tg_tensor *x, int n, const int *dims);
tg_tensor *tg_roll(tg_ctx *c, tg_tensor *x, int n, const int64_t *shifts, const int *dims); /* n dims == 0: flat */
tg_tensor *tg_tril(tg_ctx *c, tg_tensor *x, int64_t k);
tg_tensor *tg_triu(tg_ctx *c, tg_tensor *x, int64_t k);
/* indexing copies (ops/index.c): index tensors are int64 holding 1-based values */
tg_tensor *tg_index_select(tg_ctx *c, tg_tensor *x, int d, tg_tensor *idx);
tg_tensor *tg_index_add(tg_ctx *c, tg_tensor *x, int d, tg_tensor *idx, tg_tensor *src, double alpha);
tg_tensor *tg_gather(tg_ctx *c, tg_tensor *x, int d, tg_tensor *idx);
tg_tensor *tg_scatter(tg_ctx *c, tg_tensor *x, int d, tg_tensor *idx, tg_tensor *src);
tg_tensor *tg_scatter_value(tg_ctx *c, tg_tensor *x, int d, tg_tensor *idx, double value);
tg_tensor *tg_scatter_add(tg_ctx *c, tg_tensor *x, int d, tg_tensor *idx, tg_tensor *src);
tg_tensor *tg_where(tg_ctx *c, tg_tensor *cond, tg_tensor *a, tg_tensor *b);
tg_tensor *tg_masked_fill(tg_ctx *c, tg_tensor *x, tg_tensor *mask, tg_tensor *value); /* value 0-d */
/* t with 0 where m == 0 (m broadcast to t): the masked gradients of std at 0 and pow with exponent 0 */
tg_tensor *tg_zero_where_zero(tg_ctx *c, tg_tensor *t, tg_tensor *m);
tg_tensor *tg_masked_select(tg_ctx *c, tg_tensor *x, tg_tensor *mask);
tg_tensor *tg_mask_positions(tg_ctx *c, tg_tensor *mask); /* 1-based flat positions of true elements */

/* linear algebra (ops/linalg.c) ----------------------------------------- */
tg_tensor *tg_mm(tg_ctx *c, tg_tensor *a, tg_tensor *b);
tg_tensor *tg_bmm(tg_ctx *c, tg_tensor *a, tg_tensor *b);
tg_tensor *tg_matmul(tg_ctx *c, tg_tensor *a, tg_tensor *b);
/* ... more linear algebra (helper: shape) */
tg_tensor *tg_dot(tg_ctx *c, tg_tensor *a, tg_tensor *b);
tg_tensor *tg_mv(tg_ctx *c, tg_tensor *a, tg_tensor *v);
tg_tensor *tg_outer(tg_ctx *c, tg_tensor *a, tg_tensor *b);
tg_tensor *tg_addmm(tg_ctx *c, tg_tensor *self, tg_tensor *a, tg_tensor *b, double beta, double alpha);
tg_tensor *tg_baddbmm(tg_ctx *c, tg_tensor *self, tg_tensor *a, tg_tensor *b, double beta, double alpha);

/* losses (ops/loss.c) ---------------------------------------------------- */
tg_tensor *tg_bce_with_logits(tg_ctx *c, tg_tensor *x, tg_tensor *y, tg_tensor *weight,
                              tg_tensor *pos_weight, tg_reduction r);
tg_tensor *tg_mse_loss(tg_ctx *c, tg_tensor *a, tg_tensor *b, tg_reduction r);
/* softmax (ops/softmax.c) and more losses (ops/loss.c) (helper: nn) */
tg_tensor *tg_softmax(tg_ctx *c, tg_tensor *x, int dim);
tg_tensor *tg_log_softmax(tg_ctx *c, tg_tensor *x, int dim);
/* target: int64 1-based class ids; entries equal to ignore_index are skipped */
tg_tensor *tg_nll_loss(tg_ctx *c, tg_tensor *x, tg_tensor *target, tg_tensor *weight, int64_t ignore_index,
                       tg_reduction r);
/* target: class ids (as nll_loss) or class probabilities of x's shape */
tg_tensor *tg_cross_entropy(tg_ctx *c, tg_tensor *x, tg_tensor *target, tg_tensor *weight, int64_t ignore_index,
                            double label_smoothing, tg_reduction r);
tg_tensor *tg_bce_loss(tg_ctx *c, tg_tensor *x, tg_tensor *y, tg_tensor *weight, tg_reduction r);
tg_tensor *tg_l1_loss(tg_ctx *c, tg_tensor *x, tg_tensor *y, tg_reduction r);
tg_tensor *tg_smooth_l1_loss(tg_ctx *c, tg_tensor *x, tg_tensor *y, double beta, tg_reduction r);
tg_tensor *tg_huber_loss(tg_ctx *c, tg_tensor *x, tg_tensor *y, double delta, tg_reduction r);
/* batchmean: the sum divided by x's first size (r is then ignored) */
tg_tensor *tg_kl_div(tg_ctx *c, tg_tensor *x, tg_tensor *y, bool log_target, bool batchmean, tg_reduction r);

/* convolution (ops/conv.c; helper conv) ---------------------------------- */
/* PyTorch's conv options; a parameter list of length 1 means that value for every
 * spatial dim (n_* = 1, the defaults: stride 1, padding 0, dilation 1, output_padding 0) */
#define TG_CONV_MAX_PARAMS 8
typedef struct tg_conv_opts {
  int nsp;          /* 1 or 2 spatial dims: conv1d / conv2d */
  bool transposed;  /* conv_transpose1d / conv_transpose2d */
  bool same;        /* padding = "same" (not transposed) */
  int n_stride, n_padding, n_dilation, n_output_padding;
  int64_t stride[TG_CONV_MAX_PARAMS], padding[TG_CONV_MAX_PARAMS], dilation[TG_CONV_MAX_PARAMS],
      output_padding[TG_CONV_MAX_PARAMS];
  int64_t groups;
} tg_conv_opts;
/* x (N, C, spatial) or unbatched (C, spatial); bias NULL or 1-D; grad_fn ConvolutionBackward0 */
tg_tensor *tg_convolution(tg_ctx *c, tg_tensor *x, tg_tensor *w, tg_tensor *bias, const tg_conv_opts *o);

/* cuda boundary (helper cuda): a contiguous copy of x on backend be, differentiable (ops/device.c) */
tg_tensor *tg_to_backend(tg_ctx *c, tg_tensor *x, const tg_backend *be);

#endif
