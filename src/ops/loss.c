/* loss.c: the losses of tg.nn.functional, forward next to backward.
 *
 * Fused (own kernel, own node, PyTorch's grad_fn name):
 *   mse_loss (MseLossBackward0), binary_cross_entropy (BinaryCrossEntropyBackward0),
 *   binary_cross_entropy_with_logits (BinaryCrossEntropyWithLogitsBackward0),
 *   smooth_l1_loss (SmoothL1LossBackward0), huber_loss (HuberLossBackward0):
 *     one pass of the backend's pointwise_loss kernel, then the reduction;
 *   nll_loss (NllLossBackward0, NllLoss2DBackward0 for inputs of 3+ dims):
 *     a gather of the picked log-probabilities (the backend's nll kernel) whose
 *     backward is its adjoint, a scatter into zeros (NllLossBackwardBackward0),
 *     whose backward is the gather again: both linear, so grad of grad works.
 *   cross_entropy with class ids = log_softmax + nll_loss (as PyTorch, so its
 *     grad_fn is NllLossBackward0); with label smoothing (1 - eps) nll + eps smooth, the
 *     smooth term a gather with smoothing 1 (AddBackward0, as PyTorch).
 * Composite, as in PyTorch (so the grad_fn is that of the last op):
 *   l1_loss, kl_div, cross_entropy with class probabilities.
 * Backward formulas are written with differentiable tgrad ops. */
#include <math.h>
#include <string.h>

#include "../backend/backend.h"
#include "../tg.h"

#define NO_GRAD_BEGIN(c) bool gm__ = (c)->grad_enabled; (c)->grad_enabled = false
#define NO_GRAD_END(c) (c)->grad_enabled = gm__

static tg_tensor *reduce(tg_ctx *c, tg_tensor *x, tg_reduction r) {
  if (r == TG_REDUCTION_NONE) return tg_tensor_ref(x);
  return r == TG_REDUCTION_SUM ? tg_sum(c, x, 0, NULL, false) : tg_mean(c, x, 0, NULL, false);
}

/* the incoming gradient as a per-element factor: g (none), g (sum), g/n (mean) */
static tg_tensor *grad_scale(tg_ctx *c, tg_node *n, tg_tensor *g) {
  if (n->ip[0] == TG_REDUCTION_MEAN) return tg_mul_scalar(c, g, 1.0 / n->dp[0]);
  return tg_tensor_ref(g);
}

static tg_tensor *mul_opt(tg_ctx *c, tg_tensor *a, tg_tensor *b) { /* b NULL = 1 */
  return b ? tg_mul(c, a, b) : tg_tensor_ref(a);
}

static void unref_all(tg_tensor **ts, int n) {
  for (int i = 0; i < n; i++) tg_tensor_unref(ts[i]);
}

static int check_float(tg_ctx *c, const char *fn, tg_tensor *x) {
  if (!tg_is_float(x->dtype))
    return tg_err(c, "%s: expected a floating point input, but got %s", fn, tg_torch_dtype_name(x->dtype));
  return 0;
}

/* ------------------------------------------------- the pointwise kernel op
 * out = scale f(x, y) [w] with x, y (and w) broadcast together, in the promoted
 * floating dtype; no autograd here. */
static tg_tensor *pointwise(tg_ctx *c, tg_loss_kind k, tg_tensor *x, tg_tensor *y, tg_tensor *w, double p,
                            double scale) {
  int nd;
  int64_t shape[TG_MAX_DIMS];
  if (tg_broadcast_shapes(c, x->ndim, x->size, y->ndim, y->size, &nd, shape) < 0) return NULL;
  if (w) {
    int64_t xy[TG_MAX_DIMS];
    memcpy(xy, shape, sizeof(int64_t) * (size_t)nd);
    if (tg_broadcast_shapes(c, nd, xy, w->ndim, w->size, &nd, shape) < 0) return NULL;
  }
  tg_dtype dt = tg_promote(x->dtype, y->dtype);
  if (!tg_is_float(dt)) dt = TG_FLOAT32;
  const tg_backend *be = tg_backend_of(x);
  if (!be->pointwise_loss) return tg_errp(c, "losses are not implemented on %s", be->name);
  tg_tensor xv, yv, wv, *hx = NULL, *hy = NULL, *hw = NULL, *out = NULL;
  if (tg_operand_view(c, x, dt, nd, shape, &xv, &hx) < 0 || tg_operand_view(c, y, dt, nd, shape, &yv, &hy) < 0 ||
      (w && tg_operand_view(c, w, dt, nd, shape, &wv, &hw) < 0))
    goto done;
  if (!(out = tg_tensor_empty(c, dt, nd, shape))) goto done;
  if (be->pointwise_loss(c, k, out, &xv, &yv, w ? &wv : NULL, p, scale) < 0) {
    tg_tensor_unref(out);
    out = NULL;
  }
done:
  tg_tensor_unref(hx), tg_tensor_unref(hy), tg_tensor_unref(hw);
  return out;
}

/* The input gradient in one kernel pass (gk: a _GRAD kind), used when no
 * graph of the gradient is wanted (grad mode off in backward). wop: the
 * kernel's w operand (BCE: weight, BCE_LOGITS: pos_weight, else NULL); mul:
 * one more factor (BCE_LOGITS: weight) or NULL. Reduction "none" folds g into
 * w when the kernel has it free, else multiplies after. */
static tg_tensor *fast_grad(tg_ctx *c, tg_node *n, tg_loss_kind gk, tg_tensor *x, tg_tensor *y, tg_tensor *wop,
                            tg_tensor *mul, tg_tensor *g) {
  tg_tensor *r = NULL, *t = NULL;
  if (n->ip[0] != TG_REDUCTION_NONE) {
    if (!tg_on_cpu(g)) return tg_errp(c, "loss backward: gradient not on the CPU");
    double scale = tg_get_flat(g, 0);
    if (n->ip[0] == TG_REDUCTION_MEAN) scale /= n->dp[0];
    r = pointwise(c, gk, x, y, wop, n->dp[1], scale);
  } else if (!wop && gk != TG_LOSS_BCE_LOGITS_GRAD) { /* g as the kernel's multiplier */
    r = pointwise(c, gk, x, y, g, n->dp[1], 1.0);
  } else {
    t = pointwise(c, gk, x, y, wop, n->dp[1], 1.0);
    r = t ? tg_mul(c, t, g) : NULL;
  }
  tg_tensor_unref(t);
  if (r && mul) {
    t = r;
    r = tg_mul(c, t, mul);
    tg_tensor_unref(t);
  }
  return r;
}

/* ------------------------------------- mse, bce, smooth_l1, huber (fused) */
/* node: ip[0] reduction, ip[1] kind; dp[0] element count, dp[1] beta/delta;
 * saved: x, y, weight */
static int pointwise_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  tg_loss_kind k = (tg_loss_kind)n->ip[1];
  double p = n->dp[1];
  tg_tensor *x = tg_unpack(c, n, 0), *y = x ? tg_unpack(c, n, 1) : NULL;
  tg_tensor *w = n->saved[2].data ? tg_unpack(c, n, 2) : NULL;
  tg_tensor *t[10] = {0}, *gx = NULL;
  int rc = -1;
  if (!y || (n->saved[2].data && !w)) goto done;
  if (!c->grad_enabled && (k != TG_LOSS_BCE || !tg_needs_input_grad(n, 1))) {
    static const tg_loss_kind gk[] = {[TG_LOSS_MSE] = TG_LOSS_MSE_GRAD, [TG_LOSS_BCE] = TG_LOSS_BCE_GRAD,
                                      [TG_LOSS_SMOOTH_L1] = TG_LOSS_SMOOTH_L1_GRAD, [TG_LOSS_HUBER] = TG_LOSS_HUBER_GRAD};
    if (!(gx = fast_grad(c, n, gk[k], x, y, w, NULL, gout[0]))) goto done;
    if (tg_needs_input_grad(n, 0)) gin[0] = tg_tensor_ref(gx);
    if (tg_needs_input_grad(n, 1) && !(gin[1] = tg_neg(c, gx))) goto done;
    rc = 0;
    goto done;
  }
  tg_tensor *gs = t[0] = grad_scale(c, n, gout[0]);
  if (!gs) goto done;
  tg_tensor *d = t[1] = tg_sub(c, x, y);
  if (!d) goto done;
  switch (k) {
    case TG_LOSS_MSE: /* 2 (x - y) g */
      if ((t[2] = tg_mul_scalar(c, d, 2.0))) gx = tg_mul(c, t[2], gs);
      break;
    case TG_LOSS_BCE: { /* g w (x - y) / max(x (1 - x), 1e-12); d/dy = g w (log(1 - x) - log(x)) */
      tg_tensor *gw = t[2] = mul_opt(c, gs, w);
      if (!gw) goto done;
      if (tg_needs_input_grad(n, 0)) {
        tg_tensor *om = t[3] = tg_binary_scalar(c, TG_OP_SUB, x, 1.0, false, true);
        tg_tensor *den = om ? (t[4] = tg_mul(c, x, om)) : NULL;
        /* clamp_min(den, 1e-12) as den + m (1e-12 - den), m = den < 1e-12 (a constant) */
        tg_tensor *m = den ? (t[5] = tg_binary_scalar(c, TG_OP_LT, den, 1e-12, false, false)) : NULL;
        tg_tensor *fix = m ? (t[6] = tg_binary_scalar(c, TG_OP_SUB, den, 1e-12, false, true)) : NULL;
        tg_tensor *mf = fix ? (t[7] = tg_mul(c, m, fix)) : NULL;
        tg_tensor *dc = mf ? (t[8] = tg_add(c, den, mf)) : NULL;
        tg_tensor *q = dc ? (t[9] = tg_div(c, d, dc)) : NULL;
        if (!q || !(gin[0] = tg_mul(c, q, gw))) goto done;
        unref_all(t + 3, 7);
        memset(t + 3, 0, sizeof(tg_tensor *) * 7);
      }
      if (tg_needs_input_grad(n, 1)) {
        tg_tensor *om = t[3] = tg_binary_scalar(c, TG_OP_SUB, x, 1.0, false, true);
        tg_tensor *l1 = om ? (t[4] = tg_unary(c, TG_OP_LOG, om)) : NULL;
        tg_tensor *l0 = l1 ? (t[5] = tg_unary(c, TG_OP_LOG, x)) : NULL;
        tg_tensor *df = l0 ? (t[6] = tg_sub(c, l1, l0)) : NULL;
        if (!df || !(gin[1] = tg_mul(c, df, gw))) goto done;
      }
      rc = 0;
      goto done;
    }
    case TG_LOSS_SMOOTH_L1:
    case TG_LOSS_HUBER: {
      /* smooth_l1: clamp(d / beta, -1, 1); huber: clamp(d, -delta, delta), as
       * s + m (lin - s) with s = bound * sign(d), m = |d| <= bound (constant) */
      tg_tensor *ad = t[2] = tg_unary(c, TG_OP_ABS, d);
      tg_tensor *m = ad ? (t[3] = tg_binary_scalar(c, TG_OP_LE, ad, p, false, false)) : NULL;
      tg_tensor *sg = m ? (t[4] = tg_unary(c, TG_OP_SIGN, d)) : NULL;
      tg_tensor *s = sg ? (t[5] = tg_mul_scalar(c, sg, k == TG_LOSS_HUBER ? p : 1.0)) : NULL;
      tg_tensor *lin = s ? (t[6] = k == TG_LOSS_HUBER ? tg_tensor_ref(d) : tg_mul_scalar(c, d, 1.0 / p)) : NULL;
      tg_tensor *df = lin ? (t[7] = tg_sub(c, lin, s)) : NULL;
      tg_tensor *mdf = df ? (t[8] = tg_mul(c, m, df)) : NULL;
      tg_tensor *r = mdf ? (t[9] = tg_add(c, s, mdf)) : NULL;
      if (r) gx = tg_mul(c, r, gs);
      break;
    }
    default: tg_err(c, "no derivative for %s", n->name); goto done;
  }
  if (!gx) goto done;
  if (tg_needs_input_grad(n, 0)) gin[0] = tg_tensor_ref(gx);
  if (tg_needs_input_grad(n, 1) && !(gin[1] = tg_neg(c, gx))) goto done;
  rc = 0;
done:
  tg_tensor_unref(x), tg_tensor_unref(y), tg_tensor_unref(w), tg_tensor_unref(gx);
  unref_all(t, 10);
  return rc;
}

static const tg_node_kind mse_kind = {"MseLossBackward0", pointwise_backward, NULL};
static const tg_node_kind bce_kind = {"BinaryCrossEntropyBackward0", pointwise_backward, NULL};
static const tg_node_kind smooth_l1_kind = {"SmoothL1LossBackward0", pointwise_backward, NULL};
static const tg_node_kind huber_kind = {"HuberLossBackward0", pointwise_backward, NULL};

/* the node of a pointwise loss: inputs saved[0..1] (x, y), all of saved kept; ip[0] the
 * reduction, dp[0] el's element count, dp[1] p. When saving fails *out is freed, set to NULL */
static tg_node *record_loss(tg_ctx *c, const tg_node_kind *kind, tg_tensor **out, tg_tensor *const *saved,
                            int n_saved, tg_reduction r, const tg_tensor *el, double p) {
  tg_node *n = tg_record(c, kind, *out, 2, saved, n_saved);
  if (!n) return NULL;
  n->ip[0] = r;
  n->dp[0] = (double)tg_numel(el);
  n->dp[1] = p;
  for (int i = 0; i < n_saved; i++)
    if (tg_save(c, n, i, saved[i], false) < 0) {
      tg_tensor_unref(*out);
      *out = NULL;
      return NULL;
    }
  return n;
}

static tg_tensor *pointwise_loss(tg_ctx *c, const tg_node_kind *kind, tg_loss_kind k, tg_tensor *x, tg_tensor *y,
                                 tg_tensor *w, double p, tg_reduction r) {
  tg_tensor *el, *out;
  NO_GRAD_BEGIN(c);
  el = pointwise(c, k, x, y, w, p, 1.0);
  out = el ? reduce(c, el, r) : NULL;
  NO_GRAD_END(c);
  if (!out) {
    tg_tensor_unref(el);
    return NULL;
  }
  tg_tensor *saved[3] = {x, y, w};
  tg_node *n = record_loss(c, kind, &out, saved, 3, r, el, p);
  if (n) n->ip[1] = k;
  tg_tensor_unref(el);
  return out;
}

tg_tensor *tg_mse_loss(tg_ctx *c, tg_tensor *a, tg_tensor *b, tg_reduction r) {
  if (check_float(c, "mse_loss", a) < 0) return NULL;
  return pointwise_loss(c, &mse_kind, TG_LOSS_MSE, a, b, NULL, 0, r);
}

tg_tensor *tg_bce_loss(tg_ctx *c, tg_tensor *x, tg_tensor *y, tg_tensor *w, tg_reduction r) {
  if (!tg_same_shape(x, y)) {
    char a[128], b[128];
    tg_format_shape(a, sizeof a, y->ndim, y->size);
    tg_format_shape(b, sizeof b, x->ndim, x->size);
    return tg_errp(c,
                   "Using a target size (torch.Size(%s)) that is different to the input size (torch.Size(%s)) is "
                   "deprecated. Please ensure they have the same size.",
                   a, b);
  }
  if (check_float(c, "binary_cross_entropy", x) < 0) return NULL;
  return pointwise_loss(c, &bce_kind, TG_LOSS_BCE, x, y, w, 0, r);
}

tg_tensor *tg_smooth_l1_loss(tg_ctx *c, tg_tensor *x, tg_tensor *y, double beta, tg_reduction r) {
  if (beta < 0) return tg_errp(c, "smooth_l1_loss does not support negative values for beta.");
  if (beta == 0) return tg_l1_loss(c, x, y, r); /* as PyTorch */
  if (check_float(c, "smooth_l1_loss", x) < 0) return NULL;
  return pointwise_loss(c, &smooth_l1_kind, TG_LOSS_SMOOTH_L1, x, y, NULL, beta, r);
}

tg_tensor *tg_huber_loss(tg_ctx *c, tg_tensor *x, tg_tensor *y, double delta, tg_reduction r) {
  if (!(delta > 0)) return tg_errp(c, "huber_loss does not support non-positive values for delta.");
  if (check_float(c, "huber_loss", x) < 0) return NULL;
  return pointwise_loss(c, &huber_kind, TG_LOSS_HUBER, x, y, NULL, delta, r);
}

/* ------------------------------------------- binary_cross_entropy_with_logits
 * loss = (1 - y) x + (1 + (pw - 1) y) softplus(-x), times weight
 * d/dx = (sigmoid(x) (1 + (pw - 1) y) - pw y), d/dy = -x + (pw - 1) softplus(-x) */
static tg_tensor *softplus_neg(tg_ctx *c, tg_tensor *x) { /* log1p(exp(-|x|)) + relu(-x) */
  tg_tensor *a = tg_unary(c, TG_OP_ABS, x), *na = a ? tg_neg(c, a) : NULL, *e = na ? tg_unary(c, TG_OP_EXP, na) : NULL;
  tg_tensor *l = e ? tg_unary(c, TG_OP_LOG1P, e) : NULL, *nx = l ? tg_neg(c, x) : NULL;
  tg_tensor *r = nx ? tg_unary(c, TG_OP_RELU, nx) : NULL, *s = r ? tg_add(c, l, r) : NULL;
  tg_tensor_unref(a), tg_tensor_unref(na), tg_tensor_unref(e), tg_tensor_unref(l), tg_tensor_unref(nx), tg_tensor_unref(r);
  return s;
}

/* (1 + (pw - 1) y), or NULL meaning 1 when there is no pos_weight */
static tg_tensor *pw_factor(tg_ctx *c, tg_tensor *y, tg_tensor *pw, bool *err) {
  *err = false;
  if (!pw) return NULL;
  tg_tensor *p1 = tg_add_scalar(c, pw, -1.0), *t = p1 ? tg_mul(c, p1, y) : NULL, *f = t ? tg_add_scalar(c, t, 1.0) : NULL;
  tg_tensor_unref(p1), tg_tensor_unref(t);
  *err = f == NULL;
  return f;
}

static int bce_logits_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  tg_tensor *x = tg_unpack(c, n, 0), *y = x ? tg_unpack(c, n, 1) : NULL;
  tg_tensor *w = n->saved[2].data ? tg_unpack(c, n, 2) : NULL, *pw = n->saved[3].data ? tg_unpack(c, n, 3) : NULL;
  tg_tensor *gs = NULL, *gw = NULL, *f = NULL, *t1 = NULL, *t2 = NULL, *t3 = NULL;
  bool err;
  int rc = -1;
  if (!y || (n->saved[2].data && !w) || (n->saved[3].data && !pw)) goto done;
  if (!c->grad_enabled && !tg_needs_input_grad(n, 1)) {
    rc = (gin[0] = fast_grad(c, n, TG_LOSS_BCE_LOGITS_GRAD, x, y, pw, w, gout[0])) ? 0 : -1;
    goto done;
  }
  gs = grad_scale(c, n, gout[0]);
  gw = gs ? mul_opt(c, gs, w) : NULL;
  if (!gw) goto done;
  f = pw_factor(c, y, pw, &err);
  if (err) goto done;
  if (tg_needs_input_grad(n, 0)) {
    tg_tensor *py = NULL;
    if (!(t1 = tg_unary(c, TG_OP_SIGMOID, x)) || !(t2 = mul_opt(c, t1, f))) goto done;
    py = pw ? tg_mul(c, pw, y) : tg_tensor_ref(y);
    if (!py || !(t3 = tg_sub(c, t2, py))) { tg_tensor_unref(py); goto done; }
    tg_tensor_unref(py);
    if (!(gin[0] = tg_mul(c, t3, gw))) goto done;
    tg_tensor_unref(t1), tg_tensor_unref(t2), tg_tensor_unref(t3);
    t1 = t2 = t3 = NULL;
  }
  if (tg_needs_input_grad(n, 1)) {
    if (!(t1 = tg_neg(c, x))) goto done;
    if (pw) {
      tg_tensor *sp = softplus_neg(c, x), *p1 = sp ? tg_add_scalar(c, pw, -1.0) : NULL;
      t2 = p1 ? tg_mul(c, p1, sp) : NULL;
      tg_tensor_unref(sp), tg_tensor_unref(p1);
      if (!t2 || !(t3 = tg_add(c, t1, t2))) goto done;
    } else {
      t3 = tg_tensor_ref(t1);
    }
    if (!(gin[1] = tg_mul(c, t3, gw))) goto done;
  }
  rc = 0;
done:
  tg_tensor_unref(x), tg_tensor_unref(y), tg_tensor_unref(w), tg_tensor_unref(pw), tg_tensor_unref(gs);
  tg_tensor_unref(gw), tg_tensor_unref(f), tg_tensor_unref(t1), tg_tensor_unref(t2), tg_tensor_unref(t3);
  return rc;
}
static const tg_node_kind bce_logits_kind = {"BinaryCrossEntropyWithLogitsBackward0", bce_logits_backward, NULL};

tg_tensor *tg_bce_with_logits(tg_ctx *c, tg_tensor *x, tg_tensor *y, tg_tensor *w, tg_tensor *pw, tg_reduction r) {
  if (!tg_same_shape(x, y)) {
    char a[128], b[128];
    tg_format_shape(a, sizeof a, y->ndim, y->size);
    tg_format_shape(b, sizeof b, x->ndim, x->size);
    return tg_errp(c, "Target size (torch.Size(%s)) must be the same as input size (torch.Size(%s))", a, b);
  }
  if (!tg_is_float(x->dtype) || !tg_is_float(y->dtype))
    return tg_errp(c, "binary_cross_entropy_with_logits: input and target must be floating point tensors");
  tg_tensor *out = NULL, *el = NULL;
  NO_GRAD_BEGIN(c);
  el = pointwise(c, TG_LOSS_BCE_LOGITS, x, y, pw, 0, 1.0);
  if (el && w) {
    tg_tensor *we = tg_mul(c, el, w);
    tg_tensor_unref(el);
    el = we;
  }
  if (el) out = reduce(c, el, r);
  NO_GRAD_END(c);
  if (!out) {
    tg_tensor_unref(el);
    return NULL;
  }
  tg_tensor *saved[4] = {x, y, w, pw};
  record_loss(c, &bce_logits_kind, &out, saved, 4, r, el, 0);
  tg_tensor_unref(el);
  return out;
}

/* ---------------------------------------------------------- l1_loss, kl_div
 * composites, as PyTorch: |x - y| reduced; kl_div = y (log y - x) with
 * y log y taken as 0 where y == 0 (xlogy), or exp(y) (y - x) for log targets */
tg_tensor *tg_l1_loss(tg_ctx *c, tg_tensor *x, tg_tensor *y, tg_reduction r) {
  if (check_float(c, "l1_loss", x) < 0) return NULL;
  tg_tensor *d = tg_sub(c, x, y), *a = d ? tg_unary(c, TG_OP_ABS, d) : NULL, *out = a ? reduce(c, a, r) : NULL;
  tg_tensor_unref(d), tg_tensor_unref(a);
  return out;
}

tg_tensor *tg_kl_div(tg_ctx *c, tg_tensor *x, tg_tensor *y, bool log_target, bool batchmean, tg_reduction r) {
  if (check_float(c, "kl_div", x) < 0) return NULL;
  tg_tensor *t[6] = {0}, *el = NULL, *out = NULL;
  if (log_target) { /* exp(y) (y - x) */
    if ((t[0] = tg_unary(c, TG_OP_EXP, y)) && (t[1] = tg_sub(c, y, x))) el = tg_mul(c, t[0], t[1]);
  } else { /* xlogy(y, y) - y x */
    if ((t[0] = tg_binary_scalar(c, TG_OP_EQ, y, 0.0, false, false)) && (t[1] = tg_add(c, y, t[0])) &&
        (t[2] = tg_unary(c, TG_OP_LOG, t[1])) && (t[3] = tg_mul(c, y, t[2])) && (t[4] = tg_mul(c, y, x)))
      el = tg_sub(c, t[3], t[4]);
  }
  if (el) {
    if (batchmean) {
      tg_tensor *s = tg_sum(c, el, 0, NULL, false);
      out = s && x->ndim > 0 ? tg_binary_scalar(c, TG_OP_DIV, s, (double)x->size[0], true, false) : tg_tensor_ref(s);
      tg_tensor_unref(s);
    } else {
      out = reduce(c, el, r);
    }
  }
  unref_all(t, 6);
  tg_tensor_unref(el);
  return out;
}

/* --------------------------------------------------------------- nll_loss
 * x (N, C, d...) or (C); target (N, d...) or () of 1-based class ids.
 * nll_apply runs the gather (scatter = false: src is x, out the loss) or the
 * scatter (src is the loss gradient, out x-shaped) and records its node. */
typedef struct nll_p {
  tg_tensor *target, *weight; /* contiguous; weight in x's dtype or NULL */
  int64_t ignore_index;
  double smoothing, scale;
  bool reduce, two_d;
} nll_p;

static int nll_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin);
static const tg_node_kind nll_kind = {"NllLossBackward0", nll_backward, NULL};
static const tg_node_kind nll2d_kind = {"NllLoss2DBackward0", nll_backward, NULL};
static const tg_node_kind nll_bwd_kind = {"NllLossBackwardBackward0", nll_backward, NULL};

static void nll_dims(const tg_meta *xm, int64_t *N, int64_t *C, int64_t *D) {
  *N = xm->ndim >= 2 ? xm->size[0] : 1;
  *C = xm->ndim >= 2 ? xm->size[1] : xm->ndim == 1 ? xm->size[0] : 1;
  *D = 1;
  for (int d = 2; d < xm->ndim; d++) *D *= xm->size[d];
}

static void meta_of(tg_meta *m, const tg_tensor *t) {
  m->dtype = t->dtype;
  m->ndim = t->ndim;
  memcpy(m->size, t->size, sizeof(int64_t) * (size_t)t->ndim);
}

/* xm: x's shape; lm: the loss's shape; mean_fwd: divide by the total weight
 * (the user-level forward), which is returned in *total */
static tg_tensor *nll_apply(tg_ctx *c, tg_tensor *src, const tg_meta *xm, const tg_meta *lm, const nll_p *p,
                            bool scatter, bool mean_fwd, double *total) {
  const tg_backend *be = tg_backend_of(src);
  if (!be->nll) return tg_errp(c, "nll_loss is not implemented on %s", be->name);
  tg_dtype dt = xm->dtype;
  tg_tensor *s = src->dtype == dt ? tg_contiguous_raw(c, src) : tg_cast_raw(c, src, dt);
  if (!s) return NULL;
  const tg_meta *om = scatter ? xm : lm;
  tg_tensor *out = tg_tensor_empty(c, dt, om->ndim, om->size);
  tg_nll_args a = {.target = p->target, .weight = p->weight, .ignore_index = p->ignore_index,
                   .smoothing = p->smoothing, .scale = p->scale, .reduce = p->reduce, .mean = mean_fwd};
  nll_dims(xm, &a.n, &a.c, &a.d);
  if (out && be->nll(c, out, s, &a, scatter) < 0) {
    tg_tensor_unref(out);
    out = NULL;
  }
  tg_tensor_unref(s);
  if (!out) return NULL;
  if (total) *total = a.total_weight;
  const tg_node_kind *kind = scatter ? &nll_bwd_kind : p->two_d ? &nll2d_kind : &nll_kind;
  tg_node *n = tg_record(c, kind, out, 1, &src, 2);
  if (n) {
    n->ip[0] = p->reduce;
    n->ip[1] = p->ignore_index;
    n->ip[2] = p->two_d;
    n->dp[0] = p->smoothing;
    n->dp[1] = mean_fwd ? 1.0 / a.total_weight : p->scale;
    if (tg_save(c, n, 0, p->target, false) < 0 || tg_save(c, n, 1, p->weight, false) < 0) {
      tg_tensor_unref(out);
      return NULL;
    }
  }
  return out;
}

static int nll_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  bool scatter = n->kind != &nll_bwd_kind; /* the gather's backward is the scatter and back */
  nll_p p = {.ignore_index = n->ip[1], .smoothing = n->dp[0], .scale = n->dp[1], .reduce = n->ip[0] != 0,
             .two_d = n->ip[2] != 0};
  if (!(p.target = tg_unpack(c, n, 0))) return -1;
  if (n->saved[1].data && !(p.weight = tg_unpack(c, n, 1))) {
    tg_tensor_unref(p.target);
    return -1;
  }
  const tg_meta *xm = scatter ? &n->in[0] : &n->out[0], *lm = scatter ? &n->out[0] : &n->in[0];
  gin[0] = nll_apply(c, gout[0], xm, lm, &p, scatter, false, NULL);
  tg_tensor_unref(p.target), tg_tensor_unref(p.weight);
  return gin[0] ? 0 : -1;
}

static int shape_err(tg_ctx *c, const char *fmt, int na, const int64_t *sa, int nb, const int64_t *sb) {
  char a[160], b[160];
  tg_format_shape(a, sizeof a, na, sa);
  tg_format_shape(b, sizeof b, nb, sb);
  return tg_err(c, fmt, a, b);
}

/* PyTorch's checks on nll_loss's arguments (class-id targets) */
static int nll_check(tg_ctx *c, tg_tensor *x, tg_tensor *target, tg_tensor *weight) {
  if (!tg_is_float(x->dtype))
    return tg_err(c, "\"nll_loss\" not implemented for '%s'", tg_torch_dtype_name(x->dtype));
  if (x->ndim < 1) return tg_err(c, "Expected 1 or more dimensions (got %d)", x->ndim);
  if (target->dtype != TG_INT64)
    return tg_err(c, "expected target dtype to be Long (int64 class indices), but got %s",
                  tg_torch_dtype_name(target->dtype));
  if (x->ndim == 1) {
    if (target->ndim > 1) return tg_err(c, "0D or 1D target tensor expected, multi-target not supported");
    if (tg_numel(target) != 1)
      return shape_err(c, "size mismatch (got input: %s, target: %s)", x->ndim, x->size, target->ndim, target->size);
  } else {
    int64_t tb = target->ndim ? target->size[0] : 0;
    if (x->size[0] != tb)
      return tg_err(c, "Expected input batch_size (%lld) to match target batch_size (%lld).", (long long)x->size[0],
                    (long long)tb);
    if (x->ndim == 2 && target->ndim != 1)
      return tg_err(c, "0D or 1D target tensor expected, multi-target not supported");
    if (x->ndim > 2) {
      int64_t want[TG_MAX_DIMS];
      want[0] = x->size[0];
      for (int d = 2; d < x->ndim; d++) want[d - 1] = x->size[d];
      bool ok = target->ndim == x->ndim - 1;
      for (int d = 0; ok && d < target->ndim; d++) ok = target->size[d] == want[d];
      if (!ok) return shape_err(c, "Expected target size %s, got %s", x->ndim - 1, want, target->ndim, target->size);
    }
  }
  int64_t C = x->ndim == 1 ? x->size[0] : x->size[1];
  if (weight && (weight->ndim != 1 || weight->size[0] != C)) {
    char b[160];
    tg_format_shape(b, sizeof b, weight->ndim, weight->size);
    return tg_err(c, "weight tensor should be defined either for all %lld classes or no classes but got weight "
                  "tensor of shape: %s", (long long)C, b);
  }
  return 0;
}

/* logp already checked; the user-level nll over it */
static tg_tensor *nll_forward(tg_ctx *c, tg_tensor *logp, tg_tensor *target, tg_tensor *weight, int64_t ignore_index,
                              double smoothing, tg_reduction r) {
  nll_p p = {.ignore_index = ignore_index, .smoothing = smoothing, .scale = 1.0, .reduce = r != TG_REDUCTION_NONE,
             .two_d = logp->ndim >= 3};
  tg_tensor *out = NULL;
  if (!(p.target = tg_contiguous_raw(c, target))) return NULL;
  if (weight && !(p.weight = weight->dtype == logp->dtype ? tg_contiguous_raw(c, weight)
                                                          : tg_cast_raw(c, weight, logp->dtype)))
    goto done;
  tg_meta xm, lm;
  meta_of(&xm, logp);
  if (p.reduce) lm.ndim = 0;
  else meta_of(&lm, target);
  lm.dtype = logp->dtype;
  if (logp->ndim == 1) lm.ndim = 0;
  out = nll_apply(c, logp, &xm, &lm, &p, false, r == TG_REDUCTION_MEAN, NULL);
done:
  tg_tensor_unref(p.target), tg_tensor_unref(p.weight);
  return out;
}

tg_tensor *tg_nll_loss(tg_ctx *c, tg_tensor *x, tg_tensor *target, tg_tensor *weight, int64_t ignore_index,
                       tg_reduction r) {
  if (nll_check(c, x, target, weight) < 0) return NULL;
  return nll_forward(c, x, target, weight, ignore_index, 0.0, r);
}

/* ---------------------------------------------------------- cross_entropy */
/* class probabilities: -(log_softmax(x) * y' * w).sum(class dim), reduced;
 * y' = y (1 - eps) + eps / C; mean divides by numel / C (as PyTorch) */
static tg_tensor *cross_entropy_probs(tg_ctx *c, tg_tensor *x, tg_tensor *y, tg_tensor *weight, double eps,
                                      tg_reduction r) {
  if (!tg_is_float(y->dtype))
    return tg_errp(c, "Expected floating point type for target with class probabilities, got %s",
                   tg_torch_dtype_name(y->dtype));
  int cd = x->ndim == 1 ? 0 : 1;
  int64_t C = x->size[cd];
  if (weight && (weight->ndim != 1 || weight->size[0] != C)) {
    char b[160];
    tg_format_shape(b, sizeof b, weight->ndim, weight->size);
    return tg_errp(c, "weight tensor should be defined either for all %lld classes or no classes but got weight "
                   "tensor of shape: %s", (long long)C, b);
  }
  tg_tensor *t[8] = {0}, *out = NULL;
  tg_tensor *lp = t[0] = tg_log_softmax(c, x, cd), *yy = y;
  if (!lp) goto done;
  if (eps > 0) {
    if (!(t[1] = tg_mul_scalar(c, y, 1.0 - eps)) || !(yy = t[2] = tg_add_scalar(c, t[1], eps / (double)C))) goto done;
  }
  if (weight) {
    int64_t ws[TG_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) ws[d] = d == cd ? C : 1;
    if (!(t[3] = tg_reshape(c, weight, x->ndim, ws)) || !(lp = t[4] = tg_mul(c, t[0], t[3]))) goto done;
  }
  tg_tensor *prod = t[5] = tg_mul(c, lp, yy);
  if (!prod) goto done;
  if (r == TG_REDUCTION_NONE) {
    if ((t[6] = tg_sum(c, prod, 1, &cd, false))) out = tg_neg(c, t[6]);
  } else {
    if ((t[6] = tg_sum(c, prod, 0, NULL, false)) && (t[7] = tg_neg(c, t[6])))
      out = r == TG_REDUCTION_SUM ? tg_tensor_ref(t[7])
                                  : tg_binary_scalar(c, TG_OP_DIV, t[7], C ? (double)(tg_numel(x) / C) : 0.0, false, false); /* 0 classes: 0/0 = nan, as PyTorch */
  }
done:
  unref_all(t, 8);
  return out;
}

tg_tensor *tg_cross_entropy(tg_ctx *c, tg_tensor *x, tg_tensor *target, tg_tensor *weight, int64_t ignore_index,
                            double label_smoothing, tg_reduction r) {
  if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
    return tg_errp(c, "label_smoothing must be between 0.0 and 1.0. Got: %g", label_smoothing);
  if (!tg_is_float(x->dtype))
    return tg_errp(c, "\"log_softmax_lastdim_kernel_impl\" not implemented for '%s'", tg_torch_dtype_name(x->dtype));
  if (x->ndim >= 1 && tg_same_shape(x, target))
    return cross_entropy_probs(c, x, target, weight, label_smoothing, r);
  if (nll_check(c, x, target, weight) < 0) return NULL;
  tg_tensor *lp = tg_log_softmax(c, x, x->ndim == 1 ? 0 : 1);
  if (!lp) return NULL;
  tg_tensor *out;
  if (label_smoothing > 0) { /* act: (1 - eps) nll + eps smooth, as PyTorch (its grad_fn is AddBackward0) */
    tg_tensor *a = nll_forward(c, lp, target, weight, ignore_index, 0.0, r);
    tg_tensor *b = a ? nll_forward(c, lp, target, weight, ignore_index, 1.0, r) : NULL;
    tg_tensor *a2 = b ? tg_mul_scalar(c, a, 1.0 - label_smoothing) : NULL;
    tg_tensor *b2 = a2 ? tg_mul_scalar(c, b, label_smoothing) : NULL;
    out = b2 ? tg_add(c, a2, b2) : NULL;
    tg_tensor_unref(a), tg_tensor_unref(b), tg_tensor_unref(a2), tg_tensor_unref(b2);
  } else {
    out = nll_forward(c, lp, target, weight, ignore_index, label_smoothing, r);
  }
  tg_tensor_unref(lp);
  return out;
}
