/* cuda_backend.c: the CUDA backend's vtable, linked into tgrad/cuda_backend.so
 * (cuda.mk) with the nvcc-built kernels (cuda_rt.h). It shares tg.h's struct
 * layouts but calls no function of the core (tgrad.so is loaded RTLD_LOCAL):
 * errors go straight into c->err. Slots left NULL are not implemented on CUDA
 * yet (see README, "CUDA"). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../../tg.h"
#include "../../ops.h"
#include "../backend.h"
#include "cuda_rt.h"
#include "tg_cuda.h"

static const tg_backend tg_cuda_backend;

static int cerr(tg_ctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->err, sizeof c->err, fmt, ap);
  va_end(ap);
  return -1;
}

static tgcu_state *state(tg_ctx *c) { return (tgcu_state *)c->device_state; }
static int fail(tg_ctx *c) { return cerr(c, "%s", tgcu_error(state(c))); }
static bool on_cuda(const tg_tensor *t) { return t->storage->backend == &tg_cuda_backend; }
static size_t dsize(tg_dtype d) { return d == TG_FLOAT32 ? 4 : d == TG_BOOL ? 1 : 8; }
static int dcode(tg_dtype d) {
  return d == TG_FLOAT32 ? TGCU_F32 : d == TG_FLOAT64 ? TGCU_F64 : d == TG_INT64 ? TGCU_I64 : TGCU_BOOL;
}
/* tg_data without the core's tg_dtype_size */
static void *dptr(const tg_tensor *t) { return (char *)t->storage->data + t->offset * (int64_t)dsize(t->dtype); }
static int64_t numel(const tg_tensor *t) {
  int64_t n = 1;
  for (int d = 0; d < t->ndim; d++) n *= t->size[d];
  return n;
}
static bool contiguous(const tg_tensor *t) {
  int64_t s = 1;
  for (int d = t->ndim - 1; d >= 0; d--) {
    if (t->size[d] != 1 && t->stride[d] != s) return false;
    s *= t->size[d];
  }
  return true;
}

/* the geometry of out over up to two inputs (viewed to out's shape) */
static void geom(tgcu_geom *g, const tg_tensor *out, const tg_tensor *a, const tg_tensor *b) {
  memset(g, 0, sizeof *g);
  g->ndim = out->ndim;
  for (int d = 0; d < out->ndim; d++) {
    g->size[d] = out->size[d];
    g->stride[0][d] = out->stride[d];
    g->stride[1][d] = a ? a->stride[d] : 0;
    g->stride[2][d] = b ? b->stride[d] : 0;
  }
}

static int need_cuda(tg_ctx *c, const char *op, const tg_tensor *t) {
  if (t && !on_cuda(t))
    return cerr(c, "Expected all tensors to be on the same device, but found at least two devices, cuda:0 and %s! (in %s)",
                t->storage->backend->name, op);
  return 0;
}

static void *cu_alloc(tg_ctx *c, size_t nbytes) {
  void *p = tgcu_alloc(state(c), nbytes);
  if (!p) fail(c);
  return p;
}
static void cu_free(tg_ctx *c, void *p, size_t nbytes) { tgcu_free(state(c), p, nbytes); }

static bool cu_supports(tg_kernel k, int op, tg_dtype dt) {
  switch (k) {
    case TG_K_UNARY: return tgcu_unary_supported(op, dcode(dt));
    case TG_K_BINARY: return tgcu_binary_supported(op, dcode(dt));
    case TG_K_COPY: case TG_K_FILL: return true;
    case TG_K_MM: return tg_is_float(dt);
    default: return false;
  }
}

static int cu_copy(tg_ctx *c, tg_tensor *dst, const tg_tensor *src) {
  if (need_cuda(c, "copy", dst) < 0 || need_cuda(c, "copy", src) < 0) return -1;
  tgcu_geom g;
  geom(&g, dst, src, NULL);
  return tgcu_copy(state(c), dptr(dst), dcode(dst->dtype), dptr(src), dcode(src->dtype), &g) < 0 ? fail(c) : 0;
}

static int cu_fill(tg_ctx *c, tg_tensor *t, double v) {
  if (need_cuda(c, "fill", t) < 0) return -1;
  tgcu_geom g;
  geom(&g, t, NULL, NULL);
  return tgcu_fill(state(c), dptr(t), dcode(t->dtype), v, &g) < 0 ? fail(c) : 0;
}

static int unary_any(tg_ctx *c, tg_op op, tg_tensor *out, const tg_tensor *x, const double *params) {
  if (need_cuda(c, "unary", out) < 0 || need_cuda(c, "unary", x) < 0) return -1;
  tgcu_geom g;
  geom(&g, out, x, NULL);
  int r = tgcu_unary(state(c), (int)op, dcode(x->dtype), dptr(out), dptr(x), params, &g);
  if (r > 0) return cerr(c, "this elementwise op is not implemented on cuda for %s", x->dtype == TG_FLOAT32 ? "float32" : x->dtype == TG_FLOAT64 ? "float64" : x->dtype == TG_INT64 ? "int64" : "bool");
  return r < 0 ? fail(c) : 0;
}
static int cu_unary(tg_ctx *c, tg_op op, tg_tensor *out, const tg_tensor *x) { return unary_any(c, op, out, x, NULL); }
static int cu_unary_p(tg_ctx *c, tg_op op, tg_tensor *out, const tg_tensor *x, const double *p) {
  return unary_any(c, op, out, x, p);
}

static int cu_binary(tg_ctx *c, tg_op op, tg_tensor *out, const tg_tensor *a, const tg_tensor *b) {
  if (need_cuda(c, "binary", out) < 0 || need_cuda(c, "binary", a) < 0 || need_cuda(c, "binary", b) < 0) return -1;
  tgcu_geom g;
  geom(&g, out, a, b);
  int r = tgcu_binary(state(c), (int)op, dcode(a->dtype), dptr(out), dptr(a), dptr(b), &g);
  if (r > 0) return cerr(c, "this elementwise op is not implemented on cuda for %s", a->dtype == TG_FLOAT32 ? "float32" : a->dtype == TG_FLOAT64 ? "float64" : a->dtype == TG_INT64 ? "int64" : "bool");
  return r < 0 ? fail(c) : 0;
}

static int cu_mm(tg_ctx *c, tg_tensor *out, const tg_tensor *a, const tg_tensor *b) {
  if (need_cuda(c, "mm", out) < 0 || need_cuda(c, "mm", a) < 0 || need_cuda(c, "mm", b) < 0) return -1;
  if (!contiguous(out) || a->ndim != b->ndim || (a->ndim != 2 && a->ndim != 3))
    return cerr(c, "mm on cuda: expected 2-D or 3-D operands of one rank and a contiguous output");
  bool batched = a->ndim == 3;
  int o = batched ? 1 : 0;
  int64_t sa[3] = {batched ? a->stride[0] : 0, a->stride[o], a->stride[o + 1]};
  int64_t sb[3] = {batched ? b->stride[0] : 0, b->stride[o], b->stride[o + 1]};
  if (batched && a->size[0] == 1) sa[0] = 0;
  if (batched && b->size[0] == 1) sb[0] = 0;
  int64_t batch = batched ? out->size[0] : 1;
  int r = tgcu_gemm(state(c), dcode(out->dtype), batch, a->size[o], b->size[o + 1], a->size[o + 1], dptr(a), sa,
                    dptr(b), sb, dptr(out));
  return r < 0 ? fail(c) : 0;
}

static int cu_copy_across(tg_ctx *c, tg_tensor *dst, const tg_tensor *src) {
  if (!contiguous(dst) || !contiguous(src) || dst->dtype != src->dtype || numel(dst) != numel(src))
    return cerr(c, "copy across devices: expected contiguous tensors of one dtype and size");
  int kind = on_cuda(dst) ? (on_cuda(src) ? 2 : 0) : 1;
  size_t n = (size_t)numel(dst) * dsize(dst->dtype);
  if (n == 0) return 0;
  return tgcu_memcpy(state(c), dptr(dst), dptr(src), n, kind) < 0 ? fail(c) : 0;
}

static void cu_ctx_close(tg_ctx *c) {
  tgcu_close(state(c));
  c->device_state = NULL; /* later frees go straight to cudaFree */
}

/* ---- the slots the CUDA backend does not implement yet: a clear error instead of a NULL
 * call (the ops that reach them on a CUDA tensor fail; move it with t:cpu()) */
static void refuse(tg_ctx *c, const char *slot) {
  cerr(c, "the \"%s\" kernel is not implemented on cuda yet (tgrad's CUDA backend covers copies, fill, elementwise ops "
          "and mm; move the tensor with t:cpu())", slot);
}
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
static int no_sum(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const bool *reduce) {
  refuse(c, "sum");
  return -1;
}
static int no_random(tg_ctx *c, tg_tensor *t, bool normal) {
  refuse(c, "random");
  return -1;
}
static int no_softmax(tg_ctx *c, tg_tensor *out, const tg_tensor *x, int dim, bool log) {
  refuse(c, "softmax");
  return -1;
}
static int no_softmax_backward(tg_ctx *c, tg_tensor *out, const tg_tensor *g, const tg_tensor *y, int dim, bool log) {
  refuse(c, "softmax_backward");
  return -1;
}
static int no_nll(tg_ctx *c, tg_tensor *out, const tg_tensor *x, tg_nll_args *a, bool backward) {
  refuse(c, "nll");
  return -1;
}
static int no_pointwise_loss(tg_ctx *c, tg_loss_kind k, tg_tensor *out, const tg_tensor *x, const tg_tensor *y, const tg_tensor *w, double p, double scale) {
  refuse(c, "pointwise_loss");
  return -1;
}
static int no_reduce(tg_ctx *c, int kind, tg_tensor *out, tg_tensor *idx, const tg_tensor *x, const bool *reduce, double p) {
  refuse(c, "reduce");
  return -1;
}
static int no_scan(tg_ctx *c, int kind, bool reverse, tg_tensor *out, const tg_tensor *x, int dim) {
  refuse(c, "scan");
  return -1;
}
static int no_cumprod_grad(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const tg_tensor *g, int dim) {
  refuse(c, "cumprod_grad");
  return -1;
}
static int no_sort(tg_ctx *c, tg_tensor *values, tg_tensor *indices, const tg_tensor *x, int dim, int64_t k, bool descending) {
  refuse(c, "sort");
  return -1;
}
static int no_take_along(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const tg_tensor *idx, int dim) {
  refuse(c, "take_along");
  return -1;
}
static int no_put_along(tg_ctx *c, tg_tensor *out, const tg_tensor *src, const tg_tensor *idx, int dim) {
  refuse(c, "put_along");
  return -1;
}
static int no_batch_norm(tg_ctx *c, tg_tensor *out, tg_tensor *mean, tg_tensor *invstd, const tg_tensor *x, const tg_tensor *w, const tg_tensor *b, tg_tensor *running_mean, tg_tensor *running_var, bool training, double momentum, double eps) {
  refuse(c, "batch_norm");
  return -1;
}
static int no_batch_norm_backward(tg_ctx *c, tg_tensor *gx, tg_tensor *gw, tg_tensor *gb, const tg_tensor *g, const tg_tensor *x, const tg_tensor *mean, const tg_tensor *invstd, const tg_tensor *w, bool training) {
  refuse(c, "batch_norm_backward");
  return -1;
}
static int no_group_norm(tg_ctx *c, tg_tensor *out, tg_tensor *mean, tg_tensor *rstd, const tg_tensor *x, const tg_tensor *w, const tg_tensor *b, int64_t N, int64_t C, int64_t L, int64_t G, double eps) {
  refuse(c, "group_norm");
  return -1;
}
static int no_group_norm_backward(tg_ctx *c, tg_tensor *gx, tg_tensor *gw, tg_tensor *gb, const tg_tensor *g, const tg_tensor *x, const tg_tensor *mean, const tg_tensor *rstd, const tg_tensor *w, int64_t N, int64_t C, int64_t L, int64_t G) {
  refuse(c, "group_norm_backward");
  return -1;
}
static int no_embedding(tg_ctx *c, tg_tensor *out, const tg_tensor *weight, const tg_tensor *ids) {
  refuse(c, "embedding");
  return -1;
}
static int no_embedding_backward(tg_ctx *c, tg_tensor *gw, const tg_tensor *g, const tg_tensor *ids, int64_t padding_idx, bool scale_grad_by_freq) {
  refuse(c, "embedding_backward");
  return -1;
}
static int no_embedding_scale(tg_ctx *c, tg_tensor *out, const tg_tensor *ids, int64_t num_weights, int64_t padding_idx, bool scale_grad_by_freq) {
  refuse(c, "embedding_scale");
  return -1;
}
static int no_embedding_renorm(tg_ctx *c, tg_tensor *weight, const tg_tensor *ids, double max_norm, double norm_type) {
  refuse(c, "embedding_renorm");
  return -1;
}
static int no_optim_step(tg_ctx *c, const struct tg_optim_args *a, tg_tensor *param, const tg_tensor *grad, tg_tensor *const *state) {
  refuse(c, "optim_step");
  return -1;
}
static int no_conv(tg_ctx *c, int kind, tg_tensor *out, const tg_tensor *a, const tg_tensor *b, const tg_tensor *bias, const tg_conv_geom *g) {
  refuse(c, "conv");
  return -1;
}
static int no_max_pool2d(tg_ctx *c, tg_tensor *out, tg_tensor *idx, const tg_tensor *x, const struct tg_pool2d_args *a) {
  refuse(c, "max_pool2d");
  return -1;
}
static int no_adaptive_max_pool2d(tg_ctx *c, tg_tensor *out, tg_tensor *idx, const tg_tensor *x) {
  refuse(c, "adaptive_max_pool2d");
  return -1;
}
static int no_max_pool2d_backward(tg_ctx *c, tg_tensor *gx, const tg_tensor *g, const tg_tensor *idx) {
  refuse(c, "max_pool2d_backward");
  return -1;
}
static int no_avg_pool2d(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const struct tg_pool2d_args *a, bool backward) {
  refuse(c, "avg_pool2d");
  return -1;
}
static int no_adaptive_avg_pool2d(tg_ctx *c, tg_tensor *out, const tg_tensor *x, bool backward) {
  refuse(c, "adaptive_avg_pool2d");
  return -1;
}
static int no_resample(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const struct tg_resample_plan *p, bool backward) {
  refuse(c, "resample");
  return -1;
}
static int no_check_index(tg_ctx *c, const tg_tensor *idx, int64_t n, int dim) {
  refuse(c, "check_index");
  return -1;
}
static int no_gather(tg_ctx *c, tg_tensor *out, const tg_tensor *x, int dim, const tg_tensor *idx) {
  refuse(c, "gather");
  return -1;
}
static int no_scatter(tg_ctx *c, tg_tensor *dst, int dim, const tg_tensor *idx, const tg_tensor *src, double value, bool add) {
  refuse(c, "scatter");
  return -1;
}
static int no_index_select(tg_ctx *c, tg_tensor *out, const tg_tensor *x, int dim, const tg_tensor *idx) {
  refuse(c, "index_select");
  return -1;
}
static int no_index_add(tg_ctx *c, tg_tensor *dst, int dim, const tg_tensor *idx, const tg_tensor *src, double alpha) {
  refuse(c, "index_add");
  return -1;
}
static int no_where(tg_ctx *c, tg_tensor *out, const tg_tensor *cond, const tg_tensor *a, const tg_tensor *b) {
  refuse(c, "where");
  return -1;
}
static int no_tri(tg_ctx *c, tg_tensor *t, int64_t k, bool lower) {
  refuse(c, "tri");
  return -1;
}
static tg_tensor * no_mask_positions(tg_ctx *c, const tg_tensor *mask) {
  refuse(c, "mask_positions");
  return NULL;
}
#pragma GCC diagnostic pop

static const tg_backend tg_cuda_backend = {
    .name = "cuda",
    .alloc = cu_alloc,
    .free = cu_free,
    .supports = cu_supports,
    .copy = cu_copy,
    .fill = cu_fill,
    .unary = cu_unary,
    .unary_p = cu_unary_p,
    .binary = cu_binary,
    .mm = cu_mm,
    .copy_across = cu_copy_across,
    .ctx_close = cu_ctx_close,
    .sum = no_sum,
    .random = no_random,
    .softmax = no_softmax,
    .softmax_backward = no_softmax_backward,
    .nll = no_nll,
    .pointwise_loss = no_pointwise_loss,
    .reduce = no_reduce,
    .scan = no_scan,
    .cumprod_grad = no_cumprod_grad,
    .sort = no_sort,
    .take_along = no_take_along,
    .put_along = no_put_along,
    .batch_norm = no_batch_norm,
    .batch_norm_backward = no_batch_norm_backward,
    .group_norm = no_group_norm,
    .group_norm_backward = no_group_norm_backward,
    .embedding = no_embedding,
    .embedding_backward = no_embedding_backward,
    .embedding_scale = no_embedding_scale,
    .embedding_renorm = no_embedding_renorm,
    .optim_step = no_optim_step,
    .conv = no_conv,
    .max_pool2d = no_max_pool2d,
    .adaptive_max_pool2d = no_adaptive_max_pool2d,
    .max_pool2d_backward = no_max_pool2d_backward,
    .avg_pool2d = no_avg_pool2d,
    .adaptive_avg_pool2d = no_adaptive_avg_pool2d,
    .resample = no_resample,
    .check_index = no_check_index,
    .gather = no_gather,
    .scatter = no_scatter,
    .index_select = no_index_select,
    .index_add = no_index_add,
    .where = no_where,
    .tri = no_tri,
    .mask_positions = no_mask_positions,
};

/* ---- the entry points the core looks up (tg_cuda.h) */
int tg_cuda_device_count(char *why, size_t n) { return tgcu_device_count(why, n); }

const tg_backend *tg_cuda_backend_open(tg_ctx *c, int dev, char *why, size_t n) {
  if (c->device_backend) return c->device_backend;
  tgcu_state *st = tgcu_open(dev, why, n);
  if (!st) return NULL;
  c->device_state = st;
  c->device_backend = &tg_cuda_backend;
  return &tg_cuda_backend;
}

void tg_cuda_memory_stats(tg_ctx *c, size_t stats[3]) {
  if (state(c)) tgcu_stats(state(c), stats);
  else stats[0] = stats[1] = stats[2] = 0;
}

void tg_cuda_empty_cache(tg_ctx *c) {
  if (state(c)) tgcu_empty_cache(state(c));
}

int tg_cuda_synchronize(tg_ctx *c) {
  if (!state(c)) return 0;
  return tgcu_synchronize(state(c)) < 0 ? fail(c) : 0;
}
