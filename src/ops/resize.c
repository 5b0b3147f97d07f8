/* resize.c: F.pad and F.interpolate, forward next to backward.
 *
 *   constant padding: fill + one copy (negative pads crop); ConstantPadNdBackward0
 *     is constant padding of the gradient by the negated pads (so any order works).
 *   reflect / replicate padding and the nearest / linear / cubic resizing: index maps
 *     with weights per dim (a tg_resample_plan), run by the backend's resample kernel;
 *     a linear op of pool.c's family (ReflectionPad2DBackward0, UpsampleBilinear2DBackward0,
 *     ...), whose backward is the adjoint kernel, itself differentiable.
 *   circular padding: copies into slices of the output, as PyTorch (grad_fn CopySlices).
 * Source-index rules are PyTorch's (aten/src/ATen/native/UpSample.h, PaddingKernel.cpp):
 * nearest in float arithmetic, linear and cubic in the input's precision. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../backend/backend.h"
#include "pool.h"

#define I(v) ((long long)(v))
#define MAX0(v) ((v) > 0 ? (v) : 0)

/* ------------------------------------------------------------- constant */
static int constant_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin);
static const tg_node_kind constant_pad_kind = {"ConstantPadNdBackward0", constant_backward, NULL};

static tg_tensor *constant_pad(tg_ctx *c, tg_tensor *x, int n, const int64_t *pad, double value) {
  int nd = x->ndim, k = n / 2;
  int64_t osz[TG_MAX_DIMS], ooff = 0, ioff = x->offset, csz[TG_MAX_DIMS];
  memcpy(osz, x->size, sizeof(int64_t) * (size_t)nd);
  memcpy(csz, x->size, sizeof(int64_t) * (size_t)nd);
  for (int i = 0; i < k; i++) { /* the kept part of x */
    int d = nd - 1 - i;
    csz[d] = x->size[d] - MAX0(-pad[2 * i]) - MAX0(-pad[2 * i + 1]);
    if (csz[d] < 0) return tg_errp(c, "narrow(): length must be non-negative.");
  }
  for (int i = 0; i < k; i++) {
    int d = nd - 1 - i;
    if (__builtin_add_overflow(x->size[d], pad[2 * i], &osz[d]) ||
        __builtin_add_overflow(osz[d], pad[2 * i + 1], &osz[d]))
      return tg_errp(c, "pad: padding %lld and %lld overflow the size of dimension %d", I(pad[2 * i]), I(pad[2 * i + 1]),
                     d + 1);
    if (osz[d] < 0)
      return tg_errp(c, "The input size %lld, plus negative padding %lld and %lld resulted in a negative output "
                        "size, which is invalid. Check dimension %d of your input.", I(x->size[d]), I(pad[2 * i]),
                     I(pad[2 * i + 1]), d + 1);
  }
  tg_tensor *out = tg_tensor_full(c, x->dtype, nd, osz, value);
  if (!out) return NULL;
  int64_t ost[TG_MAX_DIMS];
  tg_contiguous_strides(nd, osz, ost);
  for (int i = 0; i < k; i++) {
    int d = nd - 1 - i;
    ooff += MAX0(pad[2 * i]) * ost[d];
    ioff += MAX0(-pad[2 * i]) * x->stride[d];
  }
  if (tg_shape_numel(nd, csz) > 0) {
    tg_tensor *ov = tg_tensor_as_strided(c, out, nd, csz, ost, ooff);
    tg_tensor *iv = ov ? tg_tensor_as_strided(c, x, nd, csz, x->stride, ioff) : NULL;
    int rc = iv ? tg_copy_raw(c, ov, iv) : -1;
    tg_tensor_unref(ov), tg_tensor_unref(iv);
    if (rc < 0) {
      tg_tensor_unref(out);
      return NULL;
    }
  }
  tg_node *nd_ = tg_is_float(x->dtype) ? tg_record(c, &constant_pad_kind, out, 1, &x, 0) : NULL;
  if (nd_) {
    int64_t *p = malloc(sizeof(int64_t) * (size_t)(n + 1)); /* n may be 0 */
    if (!p) {
      tg_tensor_unref(out);
      return tg_errp(c, "out of memory");
    }
    for (int i = 0; i < n; i++) p[i] = -pad[i];
    nd_->aux = p;
    nd_->ip[0] = n;
  }
  return out;
}

static int constant_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  if (!gout[0]) return 0;
  gin[0] = constant_pad(c, gout[0], (int)n->ip[0], n->aux, 0.0);
  return gin[0] ? 0 : -1;
}

/* ------------------------------------------------------------ resample plans */
/* a linear op resampling the last nd dims of x to osp[nd]; tables ready to fill
 * (one tap each, index 0, weight 1), in the block after the op */
static tg_linop *plan_new(tg_ctx *c, const tg_tensor *x, int nd, const int64_t *osp, const char *n0, const char *n1) {
  int64_t pin[3] = {1, 1, 1}, pout[3] = {1, 1, 1};
  for (int i = 0; i < nd; i++) {
    pin[3 - nd + i] = x->size[x->ndim - nd + i];
    pout[3 - nd + i] = osp[i];
  }
  /* the output must be allocatable (and its tables' size must not overflow) */
  int64_t osz[TG_MAX_DIMS], numel = 1;
  memcpy(osz, x->size, sizeof(int64_t) * (size_t)x->ndim);
  for (int i = 0; i < nd; i++) osz[x->ndim - nd + i] = osp[i];
  bool over = false;
  for (int i = 0; i < x->ndim; i++) over |= osz[i] > ((int64_t)1 << 40) || __builtin_mul_overflow(numel, osz[i], &numel);
  if (over || numel > ((int64_t)1 << 60) / 8) {
    char s[256];
    tg_format_shape(s, sizeof s, x->ndim, osz);
    return tg_errp(c, "Storage size calculation overflowed with sizes=%s", s);
  }
  size_t bytes = sizeof(tg_linop);
  for (int d = 0; d < 3; d++) bytes += (size_t)pout[d] * 8 * sizeof(int64_t);
  tg_linop *op = calloc(1, bytes);
  if (!op) return tg_errp(c, "out of memory");
  op->bytes = bytes;
  op->kind = TG_LIN_RESAMPLE;
  op->name[0] = n0, op->name[1] = n1;
  op->dtype = x->dtype;
  op->ndim = x->ndim;
  memcpy(op->in, x->size, sizeof(int64_t) * (size_t)x->ndim);
  memcpy(op->out, x->size, sizeof(int64_t) * (size_t)x->ndim);
  for (int i = 0; i < nd; i++) op->out[x->ndim - nd + i] = osp[i];
  char *p = (char *)(op + 1);
  for (int d = 0; d < 3; d++) {
    op->plan.in[d] = pin[d], op->plan.out[d] = pout[d], op->plan.taps[d] = 1;
    size_t sz = (size_t)pout[d] * sizeof(int64_t);
    for (int t = 0; t < 4; t++) op->plan.idx[d][t] = (int64_t *)p, p += sz;
    for (int t = 0; t < 4; t++) op->plan.w[d][t] = (double *)p, p += sz;
    for (int64_t o = 0; o < pout[d]; o++) op->plan.w[d][0][o] = 1.0;
  }
  return op;
}

static tg_tensor *plan_run(tg_ctx *c, tg_linop *op, tg_tensor *x) {
  if (!op) return NULL;
  tg_tensor *r = tg_linop_apply(c, op, x, false);
  free(op);
  return r;
}

/* ---------------------------------------------------------------- padding */
static const char *const pad_names[2][3][2] = {
    {{"ReflectionPad1DBackward0", "ReflectionPad1DBackwardBackward0"},
     {"ReflectionPad2DBackward0", "ReflectionPad2DBackwardBackward0"},
     {"ReflectionPad3DBackward0", "ReflectionPad3DBackwardBackward0"}},
    {{"ReplicationPad1DBackward0", "ReplicationPad1DBackwardBackward0"},
     {"ReplicationPad2DBackward0", "ReplicationPad2DBackwardBackward0"},
     {"ReplicationPad3DBackward0", "ReplicationPad3DBackwardBackward0"}}};

static tg_tensor *index_pad(tg_ctx *c, tg_tensor *x, int k, const int64_t *pad, bool reflect) {
  int nd = x->ndim;
  char s[256];
  tg_format_shape(s, sizeof s, nd, x->size);
  bool batched = nd == k + 2;
  for (int d = batched ? 1 : 0; d < nd; d++)
    if (x->size[d] == 0)
      return tg_errp(c, "Expected %dD or %dD (batch mode) tensor with possibly 0 batch size and other non-zero "
                        "dimensions for input, but got: %s", k + 1, k + 2, s);
  int64_t osp[3] = {1, 1, 1};
  for (int i = 0; i < k; i++) { /* spatial dim nd-1-i gets pad[2i], pad[2i+1] */
    int d = nd - 1 - i;
    if (reflect && (pad[2 * i] >= x->size[d] || pad[2 * i + 1] >= x->size[d]))
      return tg_errp(c, "Argument #%d: Padding size should be less than the corresponding input dimension, but got: "
                        "padding (%lld, %lld) at dimension %d of input %s", 4 + 2 * i, I(pad[2 * i]),
                     I(pad[2 * i + 1]), d + 1, s);
    if (__builtin_add_overflow(x->size[d], pad[2 * i], &osp[k - 1 - i]) ||
        __builtin_add_overflow(osp[k - 1 - i], pad[2 * i + 1], &osp[k - 1 - i]))
      return tg_errp(c, "pad: padding %lld and %lld overflow the size of dimension %d", I(pad[2 * i]), I(pad[2 * i + 1]),
                     d + 1);
  }
  bool small = false;
  for (int i = 0; i < k; i++) small |= osp[i] < 1;
  if (small) {
    const int64_t *in = x->size + nd - k;
    if (k == 1) return tg_errp(c, "input (W: %lld) is too small. Calculated output W: %lld", I(in[0]), I(osp[0]));
    if (k == 2)
      return tg_errp(c, "Calculated output H: %lld W: %lld must be >= 1 in every dimension (input H: %lld, W: %lld)",
                     I(osp[0]), I(osp[1]), I(in[0]), I(in[1]));
    return tg_errp(c, "Calculated output D: %lld H: %lld W: %lld must be >= 1 in every dimension (input D: %lld, H: "
                      "%lld, W: %lld)", I(osp[0]), I(osp[1]), I(osp[2]), I(in[0]), I(in[1]), I(in[2]));
  }
  const char *const *nm = pad_names[reflect ? 0 : 1][k - 1];
  tg_linop *op = plan_new(c, x, k, osp, nm[0], nm[1]);
  if (!op) return NULL;
  for (int i = 0; i < k; i++) {
    int d = nd - 1 - i, pd = 2 - i; /* the plan's dim */
    int64_t size = x->size[d], pl = pad[2 * i];
    int64_t offset = -MAX0(pl) + MAX0(-pl);
    for (int64_t j = 0; j < osp[k - 1 - i]; j++) {
      int64_t ix;
      if (j < pl) ix = reflect ? pl * 2 - j : pl;
      else if (j < size + pl) ix = j;
      else ix = reflect ? (size + pl - 1) * 2 - j : size + pl - 1;
      op->plan.idx[pd][0][j] = ix + offset;
    }
  }
  return plan_run(c, op, x);
}

static tg_tensor *narrow_or_null(tg_ctx *c, tg_tensor *t, int d, int64_t start, int64_t len, tg_tensor **hold) {
  tg_tensor *r = tg_narrow(c, t, d, start, len);
  tg_tensor_unref(*hold);
  *hold = r;
  return r;
}

static tg_tensor *circular_pad(tg_ctx *c, tg_tensor *x, int k, const int64_t *pad) {
  int nd = x->ndim;
  int64_t osz[TG_MAX_DIMS];
  memcpy(osz, x->size, sizeof(int64_t) * (size_t)nd);
  for (int i = 0; i < k; i++) {
    int d = nd - 1 - i;
    if (pad[2 * i] > x->size[d] || pad[2 * i + 1] > x->size[d])
      return tg_errp(c, "Padding value causes wrapping around more than once.");
    osz[d] = x->size[d] + pad[2 * i] + pad[2 * i + 1]; /* no overflow: both pads are at most the size */
    if (osz[d] < 0) return tg_errp(c, "Negative padding value is resulting in an empty dimension.");
  }
  tg_tensor *out = tg_tensor_empty(c, x->dtype, nd, osz);
  if (!out) return NULL;
  tg_tensor *os = tg_tensor_ref(out), *is = tg_tensor_ref(x), *a = NULL, *b = NULL;
  int rc = 0;
  for (int i = 0; i < k && rc == 0; i++) {
    int d = nd - 1 - i;
    int64_t pl = pad[2 * i], pr = pad[2 * i + 1];
    if (!narrow_or_null(c, os, d, MAX0(pl), osz[d] - MAX0(pl) - MAX0(pr), &os) ||
        !narrow_or_null(c, is, d, MAX0(-pl), x->size[d] - MAX0(-pl) - MAX0(-pr), &is))
      rc = -1;
  }
  if (rc == 0) rc = tg_copy_(c, os, is);
  for (int i = 0; i < k && rc == 0; i++) {
    int d = nd - 1 - i;
    int64_t pl = pad[2 * i], pr = pad[2 * i + 1];
    if (pl > 0) {
      if (!narrow_or_null(c, out, d, 0, pl, &a) || !narrow_or_null(c, out, d, osz[d] - pl - MAX0(pr), pl, &b) ||
          tg_copy_(c, a, b) < 0)
        rc = -1;
    }
    if (rc == 0 && pr > 0) {
      if (!narrow_or_null(c, out, d, osz[d] - pr, pr, &a) || !narrow_or_null(c, out, d, MAX0(pl), pr, &b) ||
          tg_copy_(c, a, b) < 0)
        rc = -1;
    }
  }
  tg_tensor_unref(os), tg_tensor_unref(is), tg_tensor_unref(a), tg_tensor_unref(b);
  if (rc < 0) {
    tg_tensor_unref(out);
    return NULL;
  }
  return out;
}

tg_tensor *tg_pad(tg_ctx *c, tg_tensor *x, int n, const int64_t *pad, int mode, double value) {
  if (n % 2) return tg_errp(c, "Padding length must be divisible by 2");
  if (n / 2 > x->ndim)
    return tg_errp(c, "Padding length should be less than or equal to two times the input dimension but got padding "
                      "length %d and input of dimension %d", n, x->ndim);
  if (mode == TG_PAD_CONSTANT) return constant_pad(c, x, n, pad, value);
  int k = n / 2;
  if (!(k >= 1 && k <= 3 && (x->ndim == k + 1 || x->ndim == k + 2)))
    return tg_errp(c, "Padding size %d is not supported for %dD input tensor.\nSupported combinations for "
                      "non-constant padding:\n  - 2D or 3D input: padding size = 2 (pads last dimension)\n  - 3D or "
                      "4D input: padding size = 4 (pads last 2 dimensions)\n  - 4D or 5D input: padding size = 6 "
                      "(pads last 3 dimensions)", n, x->ndim);
  if (mode == TG_PAD_CIRCULAR) return circular_pad(c, x, k, pad);
  if (!tg_is_float(x->dtype) && x->dtype != TG_INT64)
    return tg_errp(c, "\"%s_pad%dd\" not implemented for '%s'", mode == TG_PAD_REFLECT ? "reflection" : "replication",
                   k, tg_torch_dtype_name(x->dtype));
  return index_pad(c, x, k, pad, mode == TG_PAD_REFLECT);
}

/* --------------------------------------------------------------- upsample */
static const char *const up_names[4][3][2] = {
    {{"UpsampleNearest1DBackward0", "UpsampleNearest1DBackwardBackward0"},
     {"UpsampleNearest2DBackward0", "UpsampleNearest2DBackwardBackward0"},
     {"UpsampleNearest3DBackward0", "UpsampleNearest3DBackwardBackward0"}},
    {{"UpsampleNearestExact1DBackward0", "UpsampleNearestExact1DBackwardBackward0"},
     {"UpsampleNearestExact2DBackward0", "UpsampleNearestExact2DBackwardBackward0"},
     {"UpsampleNearestExact3DBackward0", "UpsampleNearestExact3DBackwardBackward0"}},
    {{"UpsampleLinear1DBackward0", "UpsampleLinear1DBackwardBackward0"},
     {"UpsampleBilinear2DBackward0", "UpsampleBilinear2DBackwardBackward0"},
     {"UpsampleTrilinear3DBackward0", "UpsampleTrilinear3DBackwardBackward0"}},
    {{"", ""}, {"UpsampleBicubic2DBackward0", "UpsampleBicubic2DBackwardBackward0"}, {"", ""}}};

/* v rounded to the opmath precision (float32 inputs compute in float, as PyTorch) */
static inline double rnd(double v, bool f32) { return f32 ? (double)(float)v : v; }

static void nearest_table(tg_resample_plan *pl, int d, double scale, bool exact) {
  int64_t in = pl->in[d], out = pl->out[d];
  float s = scale > 0 ? (float)(1.0 / scale) : (float)in / (float)out;
  for (int64_t o = 0; o < out; o++) {
    int64_t i;
    if (!exact && out == in) i = o;
    else if (!exact && out == 2 * in) i = o >> 1;
    else if (exact) i = (int64_t)floorf((float)(((double)o + 0.5) * (double)s));
    else i = (int64_t)floorf((float)o * s);
    pl->idx[d][0][o] = i < in - 1 ? i : in - 1;
  }
}

static void linear_table(tg_resample_plan *pl, int d, double scale, bool align, bool f32) {
  int64_t in = pl->in[d], out = pl->out[d];
  pl->taps[d] = 2;
  double s;
  if (align) s = out > 1 ? rnd((double)(in - 1) / (double)(out - 1), f32) : 0.0;
  else s = scale > 0 ? rnd(1.0 / scale, f32) : rnd((double)in / (double)out, f32);
  for (int64_t o = 0; o < out; o++) {
    int64_t i0, i1;
    double l0, l1;
    if (in == out) {
      i0 = i1 = o, l0 = 1, l1 = 0;
    } else {
      double src = align ? rnd(s * (double)o, f32) : rnd(rnd(s * rnd((double)o + 0.5, f32), f32) - 0.5, f32);
      if (!align && src < 0) src = 0;
      i0 = (int64_t)floor(src);
      if (i0 > in - 1) i0 = in - 1;
      l1 = rnd(src - (double)i0, f32);
      l1 = l1 < 0 ? 0 : l1 > 1 ? 1 : l1;
      i1 = i0 + (i0 < in - 1 ? 1 : 0);
      l0 = rnd(1.0 - l1, f32);
    }
    pl->idx[d][0][o] = i0, pl->idx[d][1][o] = i1;
    pl->w[d][0][o] = l0, pl->w[d][1][o] = l1;
  }
}

/* PyTorch's cubic convolution (A = -0.75), four taps clamped to the input */
static inline double cubic1(double x, double a, bool f32) {
  return rnd(rnd(rnd(rnd(rnd((a + 2) * x, f32) - (a + 3), f32) * x, f32) * x, f32) + 1, f32);
}
static inline double cubic2(double x, double a, bool f32) {
  return rnd(rnd(rnd(rnd(rnd(rnd(a * x, f32) - 5 * a, f32) * x, f32) + 8 * a, f32) * x, f32) - 4 * a, f32);
}

static void cubic_table(tg_resample_plan *pl, int d, double scale, bool align, bool f32) {
  int64_t in = pl->in[d], out = pl->out[d];
  const double A = -0.75;
  pl->taps[d] = 4;
  double s;
  if (align) s = out > 1 ? rnd((double)(in - 1) / (double)(out - 1), f32) : 0.0;
  else s = scale > 0 ? rnd(1.0 / scale, f32) : rnd((double)in / (double)out, f32);
  for (int64_t o = 0; o < out; o++) {
    double src = align ? rnd(s * (double)o, f32) : rnd(rnd(s * rnd((double)o + 0.5, f32), f32) - 0.5, f32);
    int64_t i0 = (int64_t)floor(src);
    if (i0 > in - 1) i0 = in - 1;
    double t = rnd(src - (double)i0, f32);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double t2 = rnd(1.0 - t, f32);
    double cw[4] = {cubic2(rnd(t + 1.0, f32), A, f32), cubic1(t, A, f32), cubic1(t2, A, f32),
                    cubic2(rnd(t2 + 1.0, f32), A, f32)};
    for (int j = 0; j < 4; j++) {
      int64_t ix = i0 - 1 + j;
      pl->idx[d][j][o] = ix < 0 ? 0 : ix > in - 1 ? in - 1 : ix;
      pl->w[d][j][o] = cw[j];
    }
  }
}

tg_tensor *tg_upsample(tg_ctx *c, tg_tensor *x, int mode, int nd, const int64_t *size, const double *scales,
                       bool align_corners) {
  if (nd < 1 || nd > 3 || x->ndim != nd + 2 || (mode == TG_UPSAMPLE_CUBIC && nd != 2))
    return tg_errp(c, "upsample: expected a %dD input (N, C, spatial...), but got %dD", nd + 2, x->ndim);
  bool bad = false;
  for (int i = 0; i < nd; i++) bad |= size[i] <= 0 || x->size[2 + i] <= 0;
  if (bad) {
    static const char *const lab[3][3] = {{"W"}, {"H", "W"}, {"D", "H", "W"}};
    char a[128] = "", b[128] = "";
    size_t la = 0, lb = 0;
    for (int i = 0; i < nd; i++) {
      la += (size_t)snprintf(a + la, sizeof a - la, "%s%s: %lld", i ? ", " : "", lab[nd - 1][i], I(x->size[2 + i]));
      lb += (size_t)snprintf(b + lb, sizeof b - lb, "%s%s: %lld", i ? ", " : "", lab[nd - 1][i], I(size[i]));
    }
    return tg_errp(c, "Input and output sizes should be greater than 0, but got input (%s) output (%s)", a, b);
  }
  if (!tg_is_float(x->dtype)) {
    static const char *const kn[4] = {"upsample_nearest", "_upsample_nearest_exact", "upsample_linear",
                                      "upsample_bicubic"};
    return tg_errp(c, "\"%s%dd\" not implemented for '%s'", kn[mode], nd, tg_torch_dtype_name(x->dtype));
  }
  const char *const *nm = up_names[mode][nd - 1];
  tg_linop *op = plan_new(c, x, nd, size, nm[0], nm[1]);
  if (!op) return NULL;
  for (int i = 0; i < nd; i++) {
    int d = 3 - nd + i;
    double sc = scales ? scales[i] : 0;
    if (mode == TG_UPSAMPLE_LINEAR) linear_table(&op->plan, d, sc, align_corners, x->dtype == TG_FLOAT32);
    else if (mode == TG_UPSAMPLE_CUBIC) cubic_table(&op->plan, d, sc, align_corners, x->dtype == TG_FLOAT32);
    else nearest_table(&op->plan, d, sc, mode == TG_UPSAMPLE_NEAREST_EXACT);
  }
  return plan_run(c, op, x);
}
