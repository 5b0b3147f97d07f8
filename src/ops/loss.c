/* loss.c: fused losses with their own backward (computed here with tgrad
 * ops with grad mode off; the backward is written with differentiable ops). */
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

static int check_same_size(tg_ctx *c, tg_tensor *x, tg_tensor *y) {
  if (!tg_same_shape(x, y)) {
    char a[128], b[128];
    tg_format_shape(a, sizeof a, y->ndim, y->size);
    tg_format_shape(b, sizeof b, x->ndim, x->size);
    return tg_err(c, "Target size (torch.Size(%s)) must be the same as input size (torch.Size(%s))", a, b);
  }
  return 0;
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

static tg_tensor *mul_opt(tg_ctx *c, tg_tensor *a, tg_tensor *b) { /* b NULL = 1 */
  return b ? tg_mul(c, a, b) : tg_tensor_ref(a);
}

static int bce_logits_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  tg_tensor *x = tg_unpack(c, n, 0), *y = x ? tg_unpack(c, n, 1) : NULL;
  tg_tensor *w = n->saved[2].data ? tg_unpack(c, n, 2) : NULL, *pw = n->saved[3].data ? tg_unpack(c, n, 3) : NULL;
  tg_tensor *gs = y ? grad_scale(c, n, gout[0]) : NULL, *gw = gs ? mul_opt(c, gs, w) : NULL;
  tg_tensor *f = NULL, *t1 = NULL, *t2 = NULL, *t3 = NULL;
  bool err;
  int rc = -1;
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
  if (check_same_size(c, x, y) < 0) return NULL;
  if (!tg_is_float(x->dtype) || !tg_is_float(y->dtype))
    return tg_errp(c, "binary_cross_entropy_with_logits: input and target must be floating point tensors");
  tg_tensor *out = NULL, *sp = NULL, *f = NULL, *t1 = NULL, *t2 = NULL, *t3 = NULL, *el = NULL;
  bool err;
  NO_GRAD_BEGIN(c);
  if (!(sp = softplus_neg(c, x))) goto done;
  f = pw_factor(c, y, pw, &err);
  if (err) goto done;
  if (!(t1 = tg_binary_scalar(c, TG_OP_SUB, y, 1.0, false, true)) || !(t2 = tg_mul(c, t1, x)) ||
      !(t3 = mul_opt(c, sp, f)) || !(el = tg_add(c, t2, t3)))
    goto done;
  if (w) {
    tg_tensor *we = tg_mul(c, el, w);
    tg_tensor_unref(el);
    if (!(el = we)) goto done;
  }
  out = reduce(c, el, r);
done:
  NO_GRAD_END(c);
  tg_tensor_unref(sp), tg_tensor_unref(f), tg_tensor_unref(t1), tg_tensor_unref(t2), tg_tensor_unref(t3), tg_tensor_unref(el);
  if (!out) return NULL;
  tg_tensor *ins[2] = {x, y};
  tg_node *n = tg_record(c, &bce_logits_kind, out, 2, ins, 4);
  if (n) {
    n->ip[0] = r;
    n->dp[0] = (double)tg_numel(x);
    if (tg_save(c, n, 0, x, false) < 0 || tg_save(c, n, 1, y, false) < 0 || tg_save(c, n, 2, w, false) < 0 ||
        tg_save(c, n, 3, pw, false) < 0) {
      tg_tensor_unref(out);
      return NULL;
    }
  }
  return out;
}

/* --------------------------------------------------------------- mse_loss */
static int mse_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  tg_tensor *a = tg_unpack(c, n, 0), *b = a ? tg_unpack(c, n, 1) : NULL;
  tg_tensor *d = b ? tg_sub(c, a, b) : NULL, *gs = d ? grad_scale(c, n, gout[0]) : NULL;
  tg_tensor *t = gs ? tg_mul_scalar(c, d, 2.0) : NULL, *ga = t ? tg_mul(c, t, gs) : NULL;
  int rc = ga ? 0 : -1;
  if (ga && tg_needs_input_grad(n, 0)) gin[0] = tg_tensor_ref(ga);
  if (ga && tg_needs_input_grad(n, 1) && !(gin[1] = tg_neg(c, ga))) rc = -1;
  tg_tensor_unref(a), tg_tensor_unref(b), tg_tensor_unref(d), tg_tensor_unref(gs), tg_tensor_unref(t), tg_tensor_unref(ga);
  return rc;
}
static const tg_node_kind mse_kind = {"MseLossBackward0", mse_backward, NULL};

tg_tensor *tg_mse_loss(tg_ctx *c, tg_tensor *a, tg_tensor *b, tg_reduction r) {
  tg_tensor *out = NULL, *d = NULL, *sq = NULL;
  NO_GRAD_BEGIN(c);
  if ((d = tg_sub(c, a, b)) && (sq = tg_mul(c, d, d))) out = reduce(c, sq, r);
  NO_GRAD_END(c);
  if (out) {
    tg_tensor *ins[2] = {a, b};
    tg_node *n = tg_record(c, &mse_kind, out, 2, ins, 2);
    if (n) {
      n->ip[0] = r;
      n->dp[0] = (double)tg_numel(sq);
      if (tg_save(c, n, 0, a, false) < 0 || tg_save(c, n, 1, b, false) < 0) {
        tg_tensor_unref(out);
        out = NULL;
      }
    }
  }
  tg_tensor_unref(d), tg_tensor_unref(sq);
  return out;
}
