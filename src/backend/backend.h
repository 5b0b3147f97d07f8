/* backend.h: the device vtable (docs/design.md rule 7, after ggml-backend).
 * Generic code never dereferences a data pointer that may live on a device:
 * it asks the tensor's backend. A backend may leave a slot NULL or answer
 * false from supports(); the op then fails with a clear error. */
#ifndef TG_BACKEND_H
#define TG_BACKEND_H

#include "../tg.h"

/* the kinds of kernels a backend provides, for supports() */
typedef enum {
  TG_K_UNARY, TG_K_BINARY, TG_K_COPY, TG_K_FILL, TG_K_SUM, TG_K_MM, TG_K_RANDOM
} tg_kernel;

/* ---- nn kernels' arguments (helper nn: softmax, losses) */
/* nll_loss as a linear map between x (N, C, D) and a loss (N, D) or its sum:
 * loss[n,d] = -scale (1 - eps) w[t] x[n,t,d] - scale eps/C sum_c w[c] x[n,c,d]
 * with t = target[n,d] - 1 (1-based ids), 0 where target == ignore_index.
 * backward = the adjoint: out (N, C, D) gets g[n,d] (or g) times those factors. */
typedef struct tg_nll_args {
  const tg_tensor *target;  /* int64 (N, D) contiguous */
  const tg_tensor *weight;  /* (C) contiguous, x's dtype; NULL = ones */
  int64_t n, c, d;
  int64_t ignore_index;
  double smoothing;         /* label smoothing eps */
  double scale;
  bool reduce;              /* the loss is one scalar (the sum), else (N, D) */
  bool mean;                /* forward: also divide by total_weight */
  double total_weight;      /* out (forward): sum of w[t] over non-ignored entries */
} tg_nll_args;

/* elementwise loss terms for the pointwise_loss kernel */
/* the _GRAD kinds give d loss / d x */
typedef enum {
  TG_LOSS_MSE, TG_LOSS_BCE, TG_LOSS_BCE_LOGITS, TG_LOSS_SMOOTH_L1, TG_LOSS_HUBER,
  TG_LOSS_MSE_GRAD, TG_LOSS_BCE_GRAD, TG_LOSS_BCE_LOGITS_GRAD, TG_LOSS_SMOOTH_L1_GRAD, TG_LOSS_HUBER_GRAD
} tg_loss_kind;

struct tg_optim_args; /* optim: src/optim.h */
/* ---- convolution (helper conv: cpu_conv.c). One geometry for the three products of a
 * convolution x (n, cin, in) * w (cout, cin/groups, k) -> y (n, cout, out), 2-D (a 1-D
 * convolution has in[0] = out[0] = k[0] = stride[0] = dil[0] = 1, pad[0] = 0):
 *   y[n, co, o] = sum_{ci in co's group, kk} w[co, ci, kk] x[n, ci, o * stride - pad + kk * dil]
 * (x read as 0 outside [0, in)). Asymmetric padding is implicit in `out`. */
typedef struct tg_conv_geom {
  int64_t n, cin, cout, groups;
  int64_t in[2], out[2], k[2], stride[2], pad[2], dil[2];
} tg_conv_geom;
/* the conv slot's kinds: FORWARD out = y from (a = x, b = w) [+ bias over cout];
 * TRANSPOSE out = x-shaped adjoint from (a = y, b = w) [+ bias over cin];
 * WEIGHT out = w-shaped adjoint from (a = x, b = y) */
enum { TG_CONV_FORWARD, TG_CONV_TRANSPOSE, TG_CONV_WEIGHT };
struct tg_pool2d_args;    /* pool: backend_pool.h */
struct tg_resample_plan;

struct tg_backend {
  const char *name; /* "cpu", "cuda" */
  void *(*alloc)(tg_ctx *c, size_t nbytes);
  void (*free)(tg_ctx *c, void *p, size_t nbytes);
  bool (*supports)(tg_kernel k, int op, tg_dtype dt);
  /* dst = src (shapes equal after the caller broadcast src; dtypes may differ) */
  int (*copy)(tg_ctx *c, tg_tensor *dst, const tg_tensor *src);
  int (*fill)(tg_ctx *c, tg_tensor *t, double v);
  /* out = op(x); out contiguous, same shape and dtype as x */
  int (*unary)(tg_ctx *c, tg_op op, tg_tensor *out, const tg_tensor *x);
  /* the same for the ops with parameters (ops.def TG_UNARY_P): gelu {approximate},
   * softplus {beta, threshold}, clamp {lo, hi, has_lo, has_hi} (helper: elementwise) */
  int (*unary_p)(tg_ctx *c, tg_op op, tg_tensor *out, const tg_tensor *x, const double *params);
  /* out = op(a, b): a and b already viewed to out's shape (stride 0 where
   * broadcast) and of the compute dtype; out's dtype is the result dtype */
  int (*binary)(tg_ctx *c, tg_op op, tg_tensor *out, const tg_tensor *a, const tg_tensor *b);
  /* out (keepdim shape, contiguous) = sum of x over dims where reduce[d] */
  int (*sum)(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const bool *reduce);
  /* out[m,n] = a[m,k] @ b[k,n] for 2-D, or batched over a leading dim for 3-D;
   * a and b may be transposed views */
  int (*mm)(tg_ctx *c, tg_tensor *out, const tg_tensor *a, const tg_tensor *b);
  /* fill with U[0,1) or N(0,1) from the context's generator */
  int (*random)(tg_ctx *c, tg_tensor *t, bool normal);
  /* ---- nn kernels (helper nn: cpu_nn.c) */
  /* out (contiguous, x's shape) = softmax or log_softmax of x along dim; x any strides */
  int (*softmax)(tg_ctx *c, tg_tensor *out, const tg_tensor *x, int dim, bool log);
  /* out = y (g - sum(g y)) (softmax) or g - exp(y) sum(g) (log_softmax) along dim */
  int (*softmax_backward)(tg_ctx *c, tg_tensor *out, const tg_tensor *g, const tg_tensor *y, int dim, bool log);
  /* see tg_nll_args: forward out = loss (x is (N, C, D)); backward out (N, C, D) from x = g */
  int (*nll)(tg_ctx *c, tg_tensor *out, const tg_tensor *x, tg_nll_args *a, bool backward);
  /* out = scale * f(x, y) [* w]: x, y, w (w may be NULL; for BCE_LOGITS(_GRAD) w is pos_weight)
   * viewed to out's shape and dtype; p = beta/delta. BCE fails unless 0 <= x <= 1. */
  int (*pointwise_loss)(tg_ctx *c, tg_loss_kind k, tg_tensor *out, const tg_tensor *x, const tg_tensor *y,
                        const tg_tensor *w, double p, double scale);
  /* ---- reductions (helper reduce: cpu_reduce.c). reduce: out (keepdim shape, contiguous, result
   * dtype; NULL for arg-only) = kind (TG_RED_*) over dims where reduce[d]; idx (NULL or int64,
   * keepdim shape) gets for MAX/MIN the position within the reduced sub-tensor (row-major) plus p
   * (the index base); otherwise p is the var/std correction or the norm order. */
  int (*reduce)(tg_ctx *c, int kind, tg_tensor *out, tg_tensor *idx, const tg_tensor *x, const bool *reduce,
                double p);
  /* out (contiguous, same shape) = cumsum (kind 0) or cumprod (kind 1) along dim, from the end if reverse */
  int (*scan)(tg_ctx *c, int kind, bool reverse, tg_tensor *out, const tg_tensor *x, int dim);
  /* out = exact gradient of cumprod along dim for output gradient g (zeros allowed);
   * g == NULL: the product of the other elements along dim (prod's gradient) */
  int (*cumprod_grad)(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const tg_tensor *g, int dim);
  /* values/indices (contiguous, size k along dim) = first k of each lane sorted stably; 1-based indices */
  int (*sort)(tg_ctx *c, tg_tensor *values, tg_tensor *indices, const tg_tensor *x, int dim, int64_t k,
              bool descending);
  /* take: out[.., j, ..] = x[.., idx[.., j, ..], ..]; put: out[.., idx[.., j, ..], ..] += src (1-based) */
  int (*take_along)(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const tg_tensor *idx, int dim);
  int (*put_along)(tg_ctx *c, tg_tensor *out, const tg_tensor *src, const tg_tensor *idx, int dim);
  /* ---- norm (helper norm: cpu_norm.c). Outputs are contiguous; per-channel tensors (weight, bias,
   * mean, invstd, running stats) are 1-D of x's dtype, NULL = absent; running stats contiguous. */
  /* batch norm of x (N, C, *): training: mean/invstd (C) get the batch statistics and the running
   * stats (each may be NULL) move by momentum toward them (unbiased variance); eval: mean/invstd get
   * running_mean and 1/sqrt(running_var + eps). out = (x - mean) invstd w + b */
  int (*batch_norm)(tg_ctx *c, tg_tensor *out, tg_tensor *mean, tg_tensor *invstd, const tg_tensor *x,
                    const tg_tensor *w, const tg_tensor *b, tg_tensor *running_mean, tg_tensor *running_var,
                    bool training, double momentum, double eps);
  /* gx, gw, gb (each may be NULL) of batch norm from g; training: mean/invstd are the batch's */
  int (*batch_norm_backward)(tg_ctx *c, tg_tensor *gx, tg_tensor *gw, tg_tensor *gb, const tg_tensor *g,
                             const tg_tensor *x, const tg_tensor *mean, const tg_tensor *invstd,
                             const tg_tensor *w, bool training);
  /* group norm of x seen as (N, C, L) in G groups; mean/rstd (N G); weight/bias (C). Layer norm is
   * N = rows, C = normalized numel, L = 1, G = 1 */
  int (*group_norm)(tg_ctx *c, tg_tensor *out, tg_tensor *mean, tg_tensor *rstd, const tg_tensor *x,
                    const tg_tensor *w, const tg_tensor *b, int64_t N, int64_t C, int64_t L, int64_t G, double eps);
  int (*group_norm_backward)(tg_ctx *c, tg_tensor *gx, tg_tensor *gw, tg_tensor *gb, const tg_tensor *g,
                             const tg_tensor *x, const tg_tensor *mean, const tg_tensor *rstd, const tg_tensor *w,
                             int64_t N, int64_t C, int64_t L, int64_t G);
  /* embedding: ids int64 1-based (any shape, n values), weight (V, D) any strides; "index out of range
   * in self" for an id outside [1, V]. forward: out (n, D) = the rows; backward: gw (V, D) = the rows of
   * g (n, D) summed per id, times 1/count(id) when scale, none for the padding row (0-based, -1: none);
   * scale: out (n) = each id's factor in that sum (0 for padding); renorm: rows whose norm_type-norm
   * exceeds max_norm are scaled in place to max_norm / (norm + 1e-7) */
  int (*embedding)(tg_ctx *c, tg_tensor *out, const tg_tensor *weight, const tg_tensor *ids);
  int (*embedding_backward)(tg_ctx *c, tg_tensor *gw, const tg_tensor *g, const tg_tensor *ids, int64_t padding_idx,
                            bool scale_grad_by_freq);
  int (*embedding_scale)(tg_ctx *c, tg_tensor *out, const tg_tensor *ids, int64_t num_weights, int64_t padding_idx,
                         bool scale_grad_by_freq);
  int (*embedding_renorm)(tg_ctx *c, tg_tensor *weight, const tg_tensor *ids, double max_norm, double norm_type);
  /* ---- optim (helper optim: src/optim.h, cpu_optim.c). One fused optimizer step of one parameter
   * (a->kind: SGD, Adam/AdamW, RMSprop, Adagrad, Adadelta, Adamax, NAdam, RAdam, Rprop, ASGD): param, grad and the state tensors
   * (NULL where the kind does not use them) contiguous, of one dtype and size */
  int (*optim_step)(tg_ctx *c, const struct tg_optim_args *a, tg_tensor *param, const tg_tensor *grad,
                    tg_tensor *const *state);
  /* ---- convolution (helper conv: cpu_conv.c): see tg_conv_geom; a, b, bias (NULL or 1-D)
   * and out contiguous, one float dtype */
  int (*conv)(tg_ctx *c, int kind, tg_tensor *out, const tg_tensor *a, const tg_tensor *b, const tg_tensor *bias,
              const tg_conv_geom *g);
  /* ---- pool: pooling, padding, resizing (helper pool: cpu_pool.c; arguments in backend_pool.h).
   * Inputs contiguous (P, H, W) planes, outputs contiguous; indices int64, 1-based within a plane.
   * backward = true: out is the gradient of x (x's shape) from x = the output's gradient. */
  int (*max_pool2d)(tg_ctx *c, tg_tensor *out, tg_tensor *idx, const tg_tensor *x, const struct tg_pool2d_args *a);
  int (*adaptive_max_pool2d)(tg_ctx *c, tg_tensor *out, tg_tensor *idx, const tg_tensor *x);
  /* gx = zeros, then gx[p, idx[p, j]] += g[p, j] (the max pools' backward) */
  int (*max_pool2d_backward)(tg_ctx *c, tg_tensor *gx, const tg_tensor *g, const tg_tensor *idx);
  int (*avg_pool2d)(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const struct tg_pool2d_args *a, bool backward);
  int (*adaptive_avg_pool2d)(tg_ctx *c, tg_tensor *out, const tg_tensor *x, bool backward);
  int (*resample)(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const struct tg_resample_plan *p, bool backward);
  /* ---- cuda boundary (helper cuda): the indexing kernels and device plumbing, so that no file
   * outside src/backend/cpu/ names a CPU kernel. Index tensors are int64 and 1-based (negative
   * counts from the end); check_index validates them once ("index v is out of bounds for
   * dimension d with size n"), the other slots then trust them. */
  int (*check_index)(tg_ctx *c, const tg_tensor *idx, int64_t n, int dim);
  /* out (contiguous, idx's shape) [p] = x[p with p[dim] = idx[p]] */
  int (*gather)(tg_ctx *c, tg_tensor *out, const tg_tensor *x, int dim, const tg_tensor *idx);
  /* over idx's shape: dst[p with p[dim] = idx[p]] = src[p] (or += when add); src NULL writes value */
  int (*scatter)(tg_ctx *c, tg_tensor *dst, int dim, const tg_tensor *idx, const tg_tensor *src, double value,
                 bool add);
  /* out (contiguous) [p] = x[p with p[dim] = idx[p[dim]]]; idx 1-D */
  int (*index_select)(tg_ctx *c, tg_tensor *out, const tg_tensor *x, int dim, const tg_tensor *idx);
  /* over src's shape: dst[p with p[dim] = idx[p[dim]]] += alpha * src[p]; idx 1-D */
  int (*index_add)(tg_ctx *c, tg_tensor *dst, int dim, const tg_tensor *idx, const tg_tensor *src, double alpha);
  /* out = cond ? a : b; cond (bool), a, b viewed to out's shape, a and b of out's dtype */
  int (*where)(tg_ctx *c, tg_tensor *out, const tg_tensor *cond, const tg_tensor *a, const tg_tensor *b);
  /* zero the elements of t (ndim >= 2) outside the band: lower keeps j - i <= k, upper j - i >= k */
  int (*tri)(tg_ctx *c, tg_tensor *t, int64_t k, bool lower);
  /* 1-based row-major positions of the true elements of a bool tensor, as a new 1-D int64 tensor
   * on the same backend */
  tg_tensor *(*mask_positions)(tg_ctx *c, const tg_tensor *mask);
  /* cross-device copy: dst = src, one of them on this backend and the other on the CPU (or both
   * here), same dtype and numel, both contiguous. Generic code calls it through tg_copy_across. */
  int (*copy_across)(tg_ctx *c, tg_tensor *dst, const tg_tensor *src);
  /* the context is closing: release the backend's cached blocks (later frees must still work) */
  void (*ctx_close)(tg_ctx *c);
  /* ---- act (helper act: cpu_activation.c): g NULL: out = f(x) for a TG_ACT op; else out = the
   * input gradient g f'(x) of op (relu, sigmoid, tanh, gelu, silu, softplus or a TG_ACT op) from g
   * and the saved x (the output for relu/sigmoid/tanh and the is_result forms), one pass.
   * out contiguous, x and g any strides (g may be expanded), one float dtype; p: the op's params */
  int (*activation)(tg_ctx *c, tg_op op, tg_tensor *out, const tg_tensor *x, const tg_tensor *g, const double *p);
  /* ---- perop2 (src/ops/binary_fast.c): out = op(a, b) over n elements of dt (the result and compute
   * dtype), no broadcasting: out, a and b contiguous with n elements, except the one named by
   * scalar_pos (1: a, 2: b, 0: none), a single element read for every position. out may be a or b. */
  int (*binary_flat)(tg_ctx *c, tg_op op, tg_dtype dt, int64_t n, void *out, const void *a, const void *b,
                     int scalar_pos);
};

/* reduction kinds for the reduce slot (helper reduce) */
enum {
  TG_RED_PROD, TG_RED_MAX, TG_RED_MIN, TG_RED_VAR, TG_RED_STD, TG_RED_NORM, TG_RED_LOGSUMEXP,
  TG_RED_ALL, TG_RED_ANY, TG_RED_COUNT_NONZERO
};

extern const tg_backend tg_cpu_backend;

static inline const tg_backend *tg_backend_of(const tg_tensor *t) {
  const tg_storage *s = t->storage;
  /* capture: a context recording a step (src/capture.h) answers its recording backend for CPU tensors */
  if (__builtin_expect(s->ctx && s->ctx->capture_be && s->backend == &tg_cpu_backend, 0)) return s->ctx->capture_be;
  return s->backend;
}
/* cuda boundary: the backend that moves data between a and b's devices (the non-CPU one) */
static inline const tg_backend *tg_backend_across(const tg_tensor *dst, const tg_tensor *src) {
  return tg_backend_of(dst) != &tg_cpu_backend ? tg_backend_of(dst) : tg_backend_of(src);
}

#endif
