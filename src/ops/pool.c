/* pool.c: max, avg and adaptive pools (1-D and 2-D), forward next to backward,
 * and the linear-op family that the avg pools and the resampling ops share.
 *
 *   max_pool2d, adaptive_max_pool2d: one kernel pass saving the argmax (1-based
 *     within each H*W plane); MaxPool2DWithIndicesBackward0 / AdaptiveMaxPool2DBackward0
 *     scatter the gradient there: a fused kernel when no graph of the gradient is
 *     wanted, else put_along_dim (differentiable; its own backward is a gather).
 *   avg_pool2d, adaptive_avg_pool2d (and resize.c's resampling): linear maps.
 *     Their backward is the adjoint kernel, recorded as an op of its own
 *     (AvgPool2DBackwardBackward0 ...) whose backward is the forward map again,
 *     so gradients of any order work and every pass is one fused kernel.
 *   max_unpool2d: x written at its indices into zeros; MaxUnpool2DBackward0 gathers.
 *   The 1-D pools are the 2-D ones on x:unsqueeze(-2), then squeezed, as PyTorch
 *     does (so their grad_fn is SqueezeBackward1, as PyTorch's).
 * Shape rules and error texts are PyTorch's (aten/src/ATen/native/Pool.h). */
#include <stdlib.h>
#include <string.h>

#include "../backend/backend.h"
#include "pool.h"

#define I(v) ((long long)(v))

/* ------------------------------------------------------------ linear ops */
static tg_linop *linop_copy(const tg_linop *op) {
  tg_linop *r = malloc(op->bytes);
  if (!r) return NULL;
  memcpy(r, op, op->bytes);
  /* the plan's tables live in the block: move the pointers with it */
  ptrdiff_t shift = (char *)r - (char *)op;
  for (int d = 0; d < 3; d++)
    for (int t = 0; t < 4; t++) {
      if (r->plan.idx[d][t]) r->plan.idx[d][t] = (int64_t *)((char *)op->plan.idx[d][t] + shift);
      if (r->plan.w[d][t]) r->plan.w[d][t] = (double *)((char *)op->plan.w[d][t] + shift);
    }
  return r;
}

/* PyTorch's adaptive pools refuse to backpropagate into an empty output */
static int check_adaptive_grad(tg_ctx *c, const char *fn, const tg_tensor *g) {
  for (int i = 1; i < g->ndim; i++)
    if (g->size[i] == 0) {
      char s[256];
      tg_format_shape(s, sizeof s, g->ndim, g->size);
      return tg_err(c, "%s_backward(): Expected grad_output to have non-zero size for non-batch dimensions, but "
                       "grad_output has sizes %s with dimension %d being empty", fn, s, i + 1);
    }
  return 0;
}

static int linop_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  if (!gout[0]) return 0;
  const tg_linop *op = n->aux;
  if (op->kind == TG_LIN_ADAPTIVE_AVG && n->ip[0] == 0 && check_adaptive_grad(c, "adaptive_avg_pool2d", gout[0]) < 0)
    return -1;
  gin[0] = tg_linop_apply(c, n->aux, gout[0], n->ip[0] == 0);
  return gin[0] ? 0 : -1;
}

/* the name is set per node (n->name) from the op */
static const tg_node_kind linop_kind = {"LinearMapBackward0", linop_backward, NULL};

tg_tensor *tg_linop_apply(tg_ctx *c, const tg_linop *op, tg_tensor *x, bool adjoint) {
  const tg_backend *be = tg_backend_of(x);
  bool ok = op->kind == TG_LIN_AVG ? be->avg_pool2d != NULL
            : op->kind == TG_LIN_ADAPTIVE_AVG ? be->adaptive_avg_pool2d != NULL
                                               : be->resample != NULL;
  if (!ok) return tg_errp(c, "%s is not implemented on %s", op->name[0], be->name);
  tg_tensor *xc = x->dtype == op->dtype ? tg_contiguous_raw(c, x) : tg_cast_raw(c, x, op->dtype);
  if (!xc) return NULL;
  tg_tensor *out = tg_tensor_empty(c, op->dtype, op->ndim, adjoint ? op->in : op->out);
  int rc = out ? 0 : -1;
  if (out && tg_numel(out) > 0) {
    if (tg_numel(xc) == 0) rc = tg_fill_raw(c, out, 0);
    else if (op->kind == TG_LIN_AVG) rc = be->avg_pool2d(c, out, xc, &op->pool, adjoint);
    else if (op->kind == TG_LIN_ADAPTIVE_AVG) rc = be->adaptive_avg_pool2d(c, out, xc, adjoint);
    else rc = be->resample(c, out, xc, &op->plan, adjoint);
  }
  tg_tensor_unref(xc);
  if (rc < 0) {
    tg_tensor_unref(out);
    return NULL;
  }
  tg_node *n = tg_record(c, &linop_kind, out, 1, &x, 0);
  if (n) {
    n->name = op->name[adjoint ? 1 : 0];
    n->ip[0] = adjoint;
    if (!(n->aux = linop_copy(op))) {
      tg_tensor_unref(out);
      return tg_errp(c, "out of memory");
    }
  }
  return out;
}

/* ------------------------------------------------------------ shape rules */
static int64_t floordiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0))) q--;
  return q;
}

/* PyTorch's pooling_output_shape: with ceil_mode the last window must start
 * inside the input or its left padding */
static int pool_out_size(tg_ctx *c, int64_t in, int64_t k, int64_t pad, int64_t s, int64_t d, bool ceil,
                         int64_t *out) {
  if (s == 0) return tg_err(c, "stride should not be zero");
  if (pad < 0) return tg_err(c, "pad must be non-negative, but got pad: %lld", I(pad));
  if (pad > ((k - 1) * d + 1) / 2)
    return tg_err(c, "pad should be at most half of effective kernel size, but got pad=%lld, kernel_size=%lld and "
                     "dilation=%lld", I(pad), I(k), I(d));
  int64_t o = floordiv(in + 2 * pad - d * (k - 1) - 1 + (ceil ? s - 1 : 0), s) + 1;
  if (ceil && (o - 1) * s >= in + pad) o--;
  *out = o;
  return 0;
}

/* PyTorch's pool2d_shape_check */
static int pool2d_check(tg_ctx *c, const tg_tensor *x, const tg_pool2d_args *a, int64_t oh, int64_t ow) {
  if (a->kh <= 0 || a->kw <= 0)
    return tg_err(c, "kernel size should be greater than zero, but got kH: %lld kW: %lld", I(a->kh), I(a->kw));
  if (a->sh <= 0 || a->sw <= 0)
    return tg_err(c, "stride should be greater than zero, but got dH: %lld dW: %lld", I(a->sh), I(a->sw));
  if (a->dh <= 0 || a->dw <= 0)
    return tg_err(c, "dilation should be greater than zero, but got dilationH: %lld dilationW: %lld", I(a->dh),
                  I(a->dw));
  int nd = x->ndim;
  bool valid = nd >= 3 && x->size[1] != 0 && x->size[2] != 0;
  if (!((nd == 3 && x->size[0] != 0 && valid) || (nd == 4 && valid && x->size[3] != 0))) {
    char s[256];
    tg_format_shape(s, sizeof s, x->ndim, x->size);
    return tg_err(c, "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:%s", s);
  }
  if (a->kw / 2 < a->pw || a->kh / 2 < a->ph)
    return tg_err(c, "pad should be smaller than or equal to half of kernel size, but got padW = %lld, padH = %lld, "
                     "kW = %lld, kH = %lld", I(a->pw), I(a->ph), I(a->kw), I(a->kh));
  if (oh < 1 || ow < 1) {
    int64_t pl = x->size[nd - 3];
    return tg_err(c, "Given input size: (%lldx%lldx%lld). Calculated output size: (%lldx%lldx%lld). Output size is "
                     "too small", I(pl), I(x->size[nd - 2]), I(x->size[nd - 1]), I(pl), I(oh), I(ow));
  }
  return 0;
}

/* x's shape with the last two sizes replaced */
static void out_shape(const tg_tensor *x, int64_t oh, int64_t ow, int64_t *size) {
  memcpy(size, x->size, sizeof(int64_t) * (size_t)x->ndim);
  size[x->ndim - 2] = oh;
  size[x->ndim - 1] = ow;
}

static int check_dtype(tg_ctx *c, const tg_tensor *x, const char *kernel, bool int_ok) {
  if (tg_is_float(x->dtype) || (int_ok && x->dtype == TG_INT64)) return 0;
  return tg_err(c, "\"%s\" not implemented for '%s'", kernel, tg_torch_dtype_name(x->dtype));
}

/* -------------------------------------------------------------- max pools */
/* node: saved[0] the indices; n->in[0] x's shape */
static const tg_node_kind adaptive_max_kind;

static int max_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  tg_tensor *g = gout[0];
  if (!g) return 0;
  if (n->kind == &adaptive_max_kind && check_adaptive_grad(c, "adaptive_max_pool2d", g) < 0) return -1;
  tg_tensor *idx = tg_unpack(c, n, 0);
  if (!idx) return -1;
  const tg_meta *m = &n->in[0];
  int64_t hw = m->size[m->ndim - 2] * m->size[m->ndim - 1];
  int64_t P = hw ? tg_shape_numel(m->ndim, m->size) / hw : 0;
  int64_t ohw = P ? tg_numel(idx) / P : 0;
  const tg_backend *be = tg_backend_of(g);
  tg_tensor *gx = NULL;
  if (P == 0 || ohw == 0) {
    gx = tg_tensor_zeros(c, m->dtype, m->ndim, m->size);
  } else if (!c->grad_enabled && be->max_pool2d_backward && tg_backend_of(idx) == be) {
    tg_tensor *gc = g->dtype == m->dtype ? tg_contiguous_raw(c, g) : tg_cast_raw(c, g, m->dtype);
    tg_tensor *ic = gc ? tg_contiguous_raw(c, idx) : NULL;
    if (ic && (gx = tg_tensor_empty(c, m->dtype, m->ndim, m->size)) && be->max_pool2d_backward(c, gx, gc, ic) < 0) {
      tg_tensor_unref(gx);
      gx = NULL;
    }
    tg_tensor_unref(gc), tg_tensor_unref(ic);
  } else { /* differentiable: put_along_dim on (P, OH*OW) -> (P, H*W) */
    int64_t s2[2] = {P, ohw}, sx[2] = {P, hw};
    tg_tensor *g2 = tg_reshape(c, g, 2, s2), *i2 = g2 ? tg_reshape(c, idx, 2, s2) : NULL;
    tg_tensor *r = i2 ? tg_put_along_dim(c, g2, i2, 1, 2, sx) : NULL;
    if (r) gx = tg_reshape(c, r, m->ndim, m->size);
    tg_tensor_unref(g2), tg_tensor_unref(i2), tg_tensor_unref(r);
  }
  tg_tensor_unref(idx);
  gin[0] = gx;
  return gx ? 0 : -1;
}

static const tg_node_kind max_pool_kind = {"MaxPool2DWithIndicesBackward0", max_backward, NULL};
static const tg_node_kind adaptive_max_kind = {"AdaptiveMaxPool2DBackward0", max_backward, NULL};

/* run a max kernel (a NULL: adaptive) into out (.., oh, ow); indices when wanted or recorded */
static tg_tensor *max_pool_run(tg_ctx *c, tg_tensor *x, const tg_pool2d_args *a, int64_t oh, int64_t ow,
                               tg_tensor **indices) {
  const tg_backend *be = tg_backend_of(x);
  if (a ? !be->max_pool2d : !be->adaptive_max_pool2d)
    return tg_errp(c, "%s is not implemented on %s", a ? "max_pool2d" : "adaptive_max_pool2d", be->name);
  int64_t size[TG_MAX_DIMS];
  out_shape(x, oh, ow, size);
  bool record = tg_grad_mode(c) && tg_requires_grad(x);
  tg_tensor *xc = tg_contiguous_raw(c, x), *out = NULL, *idx = NULL;
  if (!xc) return NULL;
  if (!(out = tg_tensor_empty(c, x->dtype, x->ndim, size))) goto fail;
  if ((indices || record) && !(idx = tg_tensor_empty(c, TG_INT64, x->ndim, size))) goto fail;
  if (tg_numel(out) > 0 && (a ? be->max_pool2d(c, out, idx, xc, a) : be->adaptive_max_pool2d(c, out, idx, xc)) < 0)
    goto fail;
  tg_tensor_unref(xc);
  xc = NULL;
  tg_node *n = tg_record(c, a ? &max_pool_kind : &adaptive_max_kind, out, 1, &x, 1);
  if (n && tg_save(c, n, 0, idx, false) < 0) goto fail;
  if (indices) *indices = idx;
  else tg_tensor_unref(idx);
  return out;
fail:
  tg_tensor_unref(xc), tg_tensor_unref(out), tg_tensor_unref(idx);
  return NULL;
}

tg_tensor *tg_max_pool2d(tg_ctx *c, tg_tensor *x, const int64_t k[2], const int64_t s[2], const int64_t p[2],
                         const int64_t d[2], bool ceil_mode, tg_tensor **indices) {
  if (x->ndim != 3 && x->ndim != 4) return tg_errp(c, "non-empty 3D or 4D (batch mode) tensor expected for input");
  if (check_dtype(c, x, "max_pool2d", true) < 0) return NULL;
  tg_pool2d_args a = {k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1], false, 0};
  int64_t oh, ow;
  if (pool_out_size(c, x->size[x->ndim - 2], a.kh, a.ph, a.sh, a.dh, ceil_mode, &oh) < 0 ||
      pool_out_size(c, x->size[x->ndim - 1], a.kw, a.pw, a.sw, a.dw, ceil_mode, &ow) < 0 ||
      pool2d_check(c, x, &a, oh, ow) < 0)
    return NULL;
  return max_pool_run(c, x, &a, oh, ow, indices);
}

tg_tensor *tg_adaptive_max_pool2d(tg_ctx *c, tg_tensor *x, const int64_t os[2], tg_tensor **indices) {
  char s[256];
  if (x->ndim != 3 && x->ndim != 4) {
    tg_format_shape(s, sizeof s, x->ndim, x->size);
    return tg_errp(c, "adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: %s", s);
  }
  for (int i = 1; i < x->ndim; i++)
    if (x->size[i] <= 0) {
      tg_format_shape(s, sizeof s, x->ndim, x->size);
      return tg_errp(c, "adaptive_max_pool2d(): Expected input to have non-zero size for non-batch dimensions, but "
                        "input has sizes %s with dimension %d being empty", s, i + 1);
    }
  if (os[0] < 0 || os[1] < 0) {
    int64_t size[TG_MAX_DIMS];
    out_shape(x, os[0], os[1], size);
    tg_format_shape(s, sizeof s, x->ndim, size);
    return tg_errp(c, "Trying to create tensor with negative dimension %lld: %s", I(os[0] < 0 ? os[0] : os[1]), s);
  }
  if (check_dtype(c, x, "adaptive_max_pool2d", false) < 0) return NULL;
  return max_pool_run(c, x, NULL, os[0], os[1], indices);
}

/* ---------------------------------------------------------------- avg pools */
static void linop_init(tg_linop *op, tg_lin_kind kind, const char *n0, const char *n1, const tg_tensor *x,
                       const int64_t *osize, size_t bytes) {
  memset(op, 0, sizeof *op);
  op->bytes = bytes;
  op->kind = kind;
  op->name[0] = n0, op->name[1] = n1;
  op->dtype = x->dtype;
  op->ndim = x->ndim;
  memcpy(op->in, x->size, sizeof(int64_t) * (size_t)x->ndim);
  memcpy(op->out, osize, sizeof(int64_t) * (size_t)x->ndim);
}

tg_tensor *tg_avg_pool2d(tg_ctx *c, tg_tensor *x, const int64_t k[2], const int64_t s[2], const int64_t p[2],
                         bool ceil_mode, bool count_include_pad, int64_t divisor) {
  if (x->ndim < 3) {
    if (x->ndim == 0) return tg_errp(c, "Dimension specified as -3 but tensor has no dimensions");
    return tg_errp(c, "Dimension out of range (expected to be in range of [%d, %d], but got -3)", -x->ndim, x->ndim);
  }
  tg_pool2d_args a = {k[0], k[1], s[0], s[1], p[0], p[1], 1, 1, count_include_pad, divisor};
  int64_t oh, ow;
  if (pool_out_size(c, x->size[x->ndim - 2], a.kh, a.ph, a.sh, 1, ceil_mode, &oh) < 0 ||
      pool_out_size(c, x->size[x->ndim - 1], a.kw, a.pw, a.sw, 1, ceil_mode, &ow) < 0 ||
      pool2d_check(c, x, &a, oh, ow) < 0 || check_dtype(c, x, "avg_pool2d", false) < 0)
    return NULL;
  int64_t size[TG_MAX_DIMS];
  out_shape(x, oh, ow, size);
  tg_linop op;
  linop_init(&op, TG_LIN_AVG, "AvgPool2DBackward0", "AvgPool2DBackwardBackward0", x, size, sizeof op);
  op.pool = a;
  return tg_linop_apply(c, &op, x, false);
}

tg_tensor *tg_adaptive_avg_pool2d(tg_ctx *c, tg_tensor *x, const int64_t os[2]) {
  char s[256];
  if (os[0] < 0 || os[1] < 0)
    return tg_errp(c, "adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 but received "
                      "{%lld, %lld}", I(os[0]), I(os[1]));
  bool record = tg_grad_mode(c) && tg_requires_grad(x);
  /* PyTorch takes the mean (MeanBackward1); without a graph the kernel gives the same numbers faster */
  bool kernel_ok = !record && (x->ndim == 3 || x->ndim == 4) && x->size[x->ndim - 1] > 0 && x->size[x->ndim - 2] > 0;
  if (os[0] == 1 && os[1] == 1 && !kernel_ok) {
    if (x->ndim < 2) return tg_errp(c, "adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got %s",
                                    (tg_format_shape(s, sizeof s, x->ndim, x->size), s));
    int dims[2] = {x->ndim - 1, x->ndim - 2};
    return tg_mean(c, x, 2, dims, true);
  }
  if (x->ndim != 3 && x->ndim != 4) {
    tg_format_shape(s, sizeof s, x->ndim, x->size);
    return tg_errp(c, "adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got %s", s);
  }
  for (int i = x->ndim - 2; i < x->ndim; i++)
    if (x->size[i] <= 0) {
      tg_format_shape(s, sizeof s, x->ndim, x->size);
      return tg_errp(c, "adaptive_avg_pool2d(): Expected input to have non-zero size for non-batch dimensions, but "
                        "input has sizes %s with dimension %d being empty", s, i + 1);
    }
  if (check_dtype(c, x, "adaptive_avg_pool2d", false) < 0) return NULL;
  int64_t size[TG_MAX_DIMS];
  out_shape(x, os[0], os[1], size);
  tg_linop op;
  linop_init(&op, TG_LIN_ADAPTIVE_AVG, "AdaptiveAvgPool2DBackward0", "AdaptiveAvgPool2DBackwardBackward0", x, size,
             sizeof op);
  return tg_linop_apply(c, &op, x, false);
}

/* ------------------------------------------------------------------ 1-D */
static int check_1d(tg_ctx *c, const tg_tensor *x, const char *fn) {
  if (x->ndim == 2 || x->ndim == 3) return 0;
  return tg_err(c, "Expected 2 to 3 dimensions, but got %d-dimensional tensor for argument #1 'self' (while checking "
                   "arguments for %s)", x->ndim, fn);
}

/* out (and *indices) of a 2-D pool on x:unsqueeze(-2), squeezed back */
static tg_tensor *squeeze_back(tg_ctx *c, tg_tensor *out, tg_tensor *x1, int d, tg_tensor **indices) {
  tg_tensor_unref(x1);
  if (!out) return NULL;
  tg_tensor *r = tg_squeeze(c, out, d);
  tg_tensor_unref(out);
  if (r && indices && *indices) {
    tg_tensor *i = tg_squeeze(c, *indices, d);
    tg_tensor_unref(*indices);
    *indices = i;
    if (!i) {
      tg_tensor_unref(r);
      r = NULL;
    }
  }
  return r;
}

tg_tensor *tg_max_pool1d(tg_ctx *c, tg_tensor *x, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode,
                         tg_tensor **indices) {
  if (x->ndim != 2 && x->ndim != 3) {
    char sh[256];
    tg_format_shape(sh, sizeof sh, x->ndim, x->size);
    return tg_errp(c, "max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for input, "
                      "but got:%s", sh);
  }
  if (k <= 0) return tg_errp(c, "max_pool1d() kernel_size must be greater than zero, but got %lld", I(k));
  if (s <= 0) return tg_errp(c, "max_pool1d() stride must be greater than zero, but got %lld", I(s));
  if (p < 0) return tg_errp(c, "max_pool1d() padding must be non-negative, but got %lld", I(p));
  if (p > k / 2)
    return tg_errp(c, "max_pool1d() padding should be at most half of kernel size, but got padding=%lld and "
                      "kernel_size=%lld", I(p), I(k));
  if (d <= 0) return tg_errp(c, "max_pool1d() dilation must be greater than zero, but got %lld", I(d));
  int64_t ow;
  if (pool_out_size(c, x->size[x->ndim - 1], k, p, s, d, ceil_mode, &ow) < 0) return NULL;
  if (ow <= 0) return tg_errp(c, "max_pool1d() Invalid computed output size: %lld", I(ow));
  int dd = x->ndim - 1;
  tg_tensor *x1 = tg_unsqueeze(c, x, dd);
  if (!x1) return NULL;
  int64_t k2[2] = {1, k}, s2[2] = {1, s}, p2[2] = {0, p}, d2[2] = {1, d};
  return squeeze_back(c, tg_max_pool2d(c, x1, k2, s2, p2, d2, ceil_mode, indices), x1, dd, indices);
}

tg_tensor *tg_avg_pool1d(tg_ctx *c, tg_tensor *x, int64_t k, int64_t s, int64_t p, bool ceil_mode,
                         bool count_include_pad) {
  if (check_1d(c, x, "avg_pool1d") < 0) return NULL;
  int dd = x->ndim - 1;
  tg_tensor *x1 = tg_unsqueeze(c, x, dd);
  if (!x1) return NULL;
  int64_t k2[2] = {1, k}, s2[2] = {1, s}, p2[2] = {0, p};
  return squeeze_back(c, tg_avg_pool2d(c, x1, k2, s2, p2, ceil_mode, count_include_pad, 0), x1, dd, NULL);
}

tg_tensor *tg_adaptive_avg_pool1d(tg_ctx *c, tg_tensor *x, int64_t os) {
  if (check_1d(c, x, "adaptive_avg_pool1d") < 0) return NULL;
  int dd = x->ndim - 1;
  tg_tensor *x1 = tg_unsqueeze(c, x, dd);
  if (!x1) return NULL;
  int64_t o2[2] = {1, os};
  return squeeze_back(c, tg_adaptive_avg_pool2d(c, x1, o2), x1, dd, NULL);
}

tg_tensor *tg_adaptive_max_pool1d(tg_ctx *c, tg_tensor *x, int64_t os, tg_tensor **indices) {
  if (check_1d(c, x, "adaptive_max_pool1d") < 0) return NULL;
  int dd = x->ndim - 1;
  tg_tensor *x1 = tg_unsqueeze(c, x, dd);
  if (!x1) return NULL;
  int64_t o2[2] = {1, os};
  return squeeze_back(c, tg_adaptive_max_pool2d(c, x1, o2, indices), x1, dd, indices);
}

/* ------------------------------------------------------------ max unpool */
/* max_unpool2d: zeros of (.., OH, OW) with x written at its 1-based indices (the
 * last write wins where indices repeat, as PyTorch's CPU kernel). MaxUnpool2DBackward0
 * gathers the gradient back from those indices (take_along_dim, differentiable). */
static int max_unpool_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  tg_tensor *g = gout[0];
  if (!g) return 0;
  tg_tensor *idx = tg_unpack(c, n, 0);
  if (!idx) return -1;
  const tg_meta *m = &n->in[0];
  int64_t hw = m->size[m->ndim - 2] * m->size[m->ndim - 1];
  int64_t P = hw ? tg_shape_numel(m->ndim, m->size) / hw : 0;
  tg_tensor *gx = NULL;
  if (P == 0) {
    gx = tg_tensor_zeros(c, m->dtype, m->ndim, m->size);
  } else {
    int64_t sg[2] = {P, tg_numel(g) / P}, si[2] = {P, hw};
    tg_tensor *g2 = tg_reshape(c, g, 2, sg), *i2 = g2 ? tg_reshape(c, idx, 2, si) : NULL;
    tg_tensor *r = i2 ? tg_take_along_dim(c, g2, i2, 1) : NULL;
    if (r) gx = tg_reshape(c, r, m->ndim, m->size);
    tg_tensor_unref(g2), tg_tensor_unref(i2), tg_tensor_unref(r);
  }
  tg_tensor_unref(idx);
  gin[0] = gx;
  return gx ? 0 : -1;
}

static const tg_node_kind max_unpool_kind = {"MaxUnpool2DBackward0", max_unpool_backward, NULL};

tg_tensor *tg_max_unpool2d(tg_ctx *c, tg_tensor *x, tg_tensor *idx, const int64_t os[2]) {
  char s1[256], s2[256];
  if (idx->dtype != TG_INT64)
    return tg_errp(c, "elements in indices should be type int64 but got: %s", tg_torch_dtype_name(idx->dtype));
  if (x->ndim != 3 && x->ndim != 4)
    return tg_errp(c, "Input to max_unpooling2d should be a 3d or 4d Tensor, but got a tensor with %d dimensions.",
                   x->ndim);
  tg_format_shape(s1, sizeof s1, x->ndim, x->size);
  if (!tg_same_shape(x, idx)) {
    tg_format_shape(s2, sizeof s2, idx->ndim, idx->size);
    return tg_errp(c, "Expected shape of indices to be same as that of the input tensor (%s) but got indices tensor "
                      "with shape: %s", s1, s2);
  }
  for (int i = 1; i < x->ndim; i++)
    if (x->size[i] <= 0)
      return tg_errp(c, "max_unpooling2d_forward_out_cpu(): Expected input to have non-zero size for non-batch "
                        "dimensions, but got %s with dimension %d being empty.", s1, i + 1);
  if (os[0] < 0 || os[1] < 0) return tg_errp(c, "max_unpool2d: output_size must be non-negative");
  if (check_dtype(c, x, "max_unpooling2d_forward_out_frame", false) < 0) return NULL;
  int64_t hw = x->size[x->ndim - 2] * x->size[x->ndim - 1], P = tg_numel(x) / hw, ohw = os[0] * os[1];
  tg_tensor *ic = tg_contiguous_raw(c, idx);
  if (!ic) return NULL;
  if (tg_on_cpu(ic)) {
    const int64_t *ip = tg_data(ic);
    for (int64_t j = 0, n = tg_numel(ic); j < n; j++)
      if (ip[j] < 1 || ip[j] > ohw) {
        tg_tensor_unref(ic);
        return tg_errp(c, "Found an invalid max index: %lld (output volumes are of size %lldx%lld)", I(ip[j]),
                       I(os[0]), I(os[1]));
      }
  }
  int64_t s2d[2] = {P, ohw}, sx[2] = {P, hw}, size[TG_MAX_DIMS], st[TG_MAX_DIMS];
  out_shape(x, os[0], os[1], size);
  bool gm = c->grad_enabled;
  c->grad_enabled = false;
  tg_tensor *z = tg_tensor_zeros(c, x->dtype, 2, s2d);
  tg_tensor *x2 = z ? tg_reshape(c, x, 2, sx) : NULL, *i2 = x2 ? tg_reshape(c, ic, 2, sx) : NULL;
  tg_tensor *r = i2 ? tg_scatter(c, z, 1, i2, x2) : NULL;
  c->grad_enabled = gm;
  tg_contiguous_strides(x->ndim, size, st);
  tg_tensor *out = r ? tg_tensor_as_strided(c, r, x->ndim, size, st, r->offset) : NULL;
  tg_tensor_unref(z), tg_tensor_unref(x2), tg_tensor_unref(i2), tg_tensor_unref(r), tg_tensor_unref(ic);
  if (!out) return NULL;
  tg_node *n = tg_record(c, &max_unpool_kind, out, 1, &x, 1);
  if (n && tg_save(c, n, 0, idx, false) < 0) {
    tg_tensor_unref(out);
    return NULL;
  }
  return out;
}

tg_tensor *tg_max_unpool1d(tg_ctx *c, tg_tensor *x, tg_tensor *idx, int64_t os) {
  int dd = x->ndim, di = idx->ndim;
  tg_tensor *x1 = tg_unsqueeze(c, x, dd);
  tg_tensor *i1 = x1 ? tg_unsqueeze(c, idx, di) : NULL;
  int64_t o2[2] = {os, 1};
  tg_tensor *r = i1 ? tg_max_unpool2d(c, x1, i1, o2) : NULL;
  tg_tensor_unref(i1);
  return squeeze_back(c, r, x1, dd, NULL);
}
