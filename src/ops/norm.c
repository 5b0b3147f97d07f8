/* norm.c: batch norm, layer norm and group norm: forward builders next to
 * their backward, as PyTorch's native_batch_norm / native_layer_norm /
 * native_group_norm (grad_fn NativeBatchNormBackward0 ...).
 *
 * The forward and the backward run the backend's fused kernels (statistics
 * and normalisation; grad_input, grad_weight and grad_bias together). When a
 * graph of the gradient is wanted (grad mode on inside backward, i.e.
 * create_graph), the backward is the same formula written with tgrad's own
 * differentiable ops, the statistics recomputed from x, so that double
 * backward works:
 *   xhat = (x - mean) rstd,  gxhat = g w
 *   gx = rstd (gxhat - mean(gxhat) - xhat mean(gxhat xhat))   (means over a statistics group)
 *   gw = sum(g xhat),  gb = sum(g)                             (sums over all but the affine dims)
 * Batch norm in evaluation mode uses constant statistics: gx = g w rstd.
 *
 * Saved: x, weight, mean, rstd (the kernel's statistics: for batch norm in
 * evaluation mode the running mean and 1/sqrt(running_var + eps) at forward time). */
#include <stdio.h>
#include <string.h>

#include "../backend/backend.h"
#include "norm.h"

/* ------------------------------------------------------------ temporaries */
/* a list of the intermediate tensors of a formula, released together; K(e)
 * evaluates e only while nothing has failed, so a NULL never reaches an op */
typedef struct tmps { tg_tensor *t[48]; int n; bool fail; } tmps;
static tg_tensor *keep(tmps *s, tg_tensor *t) {
  if (!t || s->n == 48) {
    tg_tensor_unref(t);
    s->fail = true;
    return NULL;
  }
  return s->t[s->n++] = t;
}
#define K(e) (s.fail ? NULL : keep(&s, (e)))
static void tmps_free(tmps *s) {
  for (int i = 0; i < s->n; i++) tg_tensor_unref(s->t[i]);
}

/* ------------------------------------------------------------------ checks */
static void fmt_shape(char *buf, size_t n, const tg_tensor *t) { tg_format_shape(buf, n, t->ndim, t->size); }

/* the other tensors of a norm on x's device and of x's dtype (PyTorch's CPU texts) */
static int check_params(tg_ctx *c, tg_tensor *x, int n, tg_tensor *const *ps) {
  for (int i = 0; i < n; i++) {
    if (!ps[i]) continue;
    if (tg_backend_of(ps[i]) != tg_backend_of(x))
      return tg_err(c, "Expected all tensors to be on the same device, but found at least two devices, %s and %s!",
                    tg_backend_of(x)->name, tg_backend_of(ps[i])->name);
    if (ps[i]->dtype != x->dtype) {
      if (x->dtype == TG_FLOAT32)
        return tg_err(c, "mixed dtype (CPU): expect parameter to have scalar type of Float");
      return tg_err(c, "mixed dtype (CPU): all inputs must share same datatype.");
    }
  }
  return 0;
}

/* PyTorch's _verify_batch_size: sizes[0] * sizes[2] * ... must exceed 1 */
static int verify_batch_size(tg_ctx *c, int n, const int64_t *sizes) {
  int64_t p = sizes[0];
  for (int i = 2; i < n; i++) p *= sizes[i];
  if (p != 1) return 0;
  char buf[256];
  tg_format_shape(buf, sizeof buf, n, sizes);
  return tg_err(c, "Expected more than 1 value per channel when training, got input size %s", buf);
}

static tg_tensor *empty_vec(tg_ctx *c, tg_dtype dt, int64_t n) { return tg_tensor_empty(c, dt, 1, &n); }

/* t (C values) viewed as (1, C, 1, ..., 1) with nd dims, differentiable */
static tg_tensor *channel_view(tg_ctx *c, tg_tensor *t, int nd) {
  int64_t sz[TG_MAX_DIMS];
  for (int d = 0; d < nd; d++) sz[d] = 1;
  sz[1] = tg_numel(t);
  return tg_reshape(c, t, nd, sz);
}

/* g in x's dtype (the engine may hand another) */
static tg_tensor *grad_as(tg_ctx *c, tg_tensor *g, tg_dtype dt) {
  return g->dtype == dt ? tg_tensor_ref(g) : tg_cast_raw(c, g, dt);
}

/* ------------------------------------------------ the differentiable backward */
/* x has shape xs; statistics are over dims red of x viewed as sshape (snd dims);
 * wv: the weight broadcastable to x, or NULL; mean_c / rstd_c: constant
 * statistics broadcastable to x (batch norm in eval), else recomputed from x.
 * Out (new refs, when asked): *gx, and *gxh = g xhat in x's shape. */
static int norm_grad_ops(tg_ctx *c, tg_tensor *x, tg_tensor *g, tg_tensor *wv, tg_tensor *mean_c, tg_tensor *rstd_c,
                         int snd, const int64_t *sshape, int nred, const int *red, double eps, tg_tensor **gx,
                         tg_tensor **gxh) {
  tmps s = {0};
  tg_tensor *xhat, *xhat_s = NULL, *rstd_s = NULL;
  if (mean_c) {
    xhat = K(tg_mul(c, K(tg_sub(c, x, mean_c)), rstd_c));
  } else {
    tg_tensor *xs = K(tg_reshape(c, x, snd, sshape));
    tg_tensor *mu = K(tg_mean(c, xs, nred, red, true));
    tg_tensor *d = K(tg_sub(c, xs, mu));
    tg_tensor *var = K(tg_mean(c, K(tg_mul(c, d, d)), nred, red, true));
    rstd_s = K(tg_pow_scalar(c, K(tg_add_scalar(c, var, eps)), -0.5));
    xhat_s = K(tg_mul(c, d, rstd_s));
    xhat = K(tg_reshape(c, xhat_s, x->ndim, x->size));
  }
  tg_tensor *r_gxh = gxh ? K(tg_mul(c, g, xhat)) : NULL, *r_gx = NULL;
  if (gx) {
    tg_tensor *gxhat = wv ? K(tg_mul(c, g, wv)) : g;
    if (mean_c) {
      r_gx = K(tg_mul(c, gxhat, rstd_c));
    } else {
      tg_tensor *gs = K(tg_reshape(c, gxhat, snd, sshape));
      tg_tensor *a = K(tg_mean(c, gs, nred, red, true));
      tg_tensor *b = K(tg_mean(c, K(tg_mul(c, gs, xhat_s)), nred, red, true));
      tg_tensor *inner = K(tg_sub(c, K(tg_sub(c, gs, a)), K(tg_mul(c, xhat_s, b))));
      r_gx = K(tg_reshape(c, K(tg_mul(c, rstd_s, inner)), x->ndim, x->size));
    }
  }
  bool ok = !s.fail;
  if (ok) {
    if (gx) *gx = tg_tensor_ref(r_gx);
    if (gxh) *gxh = tg_tensor_ref(r_gxh);
  }
  tmps_free(&s);
  return ok ? 0 : -1;
}

/* sum of t over every dim but `keep_dims` (a mask), reshaped to meta's shape */
static tg_tensor *sum_to_param(tg_ctx *c, tg_tensor *t, const bool *keepd, const tg_meta *m) {
  int dims[TG_MAX_DIMS], nd = 0;
  for (int d = 0; d < t->ndim; d++)
    if (!keepd[d]) dims[nd++] = d;
  tg_tensor *r = nd ? tg_sum(c, t, nd, dims, false) : tg_tensor_ref(t);
  if (!r) return NULL;
  tg_tensor *v = tg_reshape(c, r, m->ndim, m->size);
  tg_tensor_unref(r);
  return v;
}

/* unpack the saved x, weight, mean, rstd (weight may be absent) */
static int unpack4(tg_ctx *c, tg_node *n, tg_tensor **x, tg_tensor **w, tg_tensor **mean, tg_tensor **rstd) {
  *w = *mean = *rstd = NULL;
  if (!(*x = tg_unpack(c, n, 0))) return -1;
  if (n->saved[1].data && !(*w = tg_unpack(c, n, 1))) return -1;
  if (!(*mean = tg_unpack(c, n, 2)) || !(*rstd = tg_unpack(c, n, 3))) return -1;
  return 0;
}

static tg_tensor *empty_meta(tg_ctx *c, const tg_meta *m) { return tg_tensor_empty(c, m->dtype, m->ndim, m->size); }

/* allocate the fused kernels' outputs the node needs */
static int alloc_grads(tg_ctx *c, tg_node *n, tg_tensor *x, tg_tensor **gin) {
  if (tg_needs_input_grad(n, 0) && !(gin[0] = tg_tensor_empty(c, x->dtype, x->ndim, x->size))) return -1;
  if (tg_needs_input_grad(n, 1) && !(gin[1] = empty_meta(c, &n->in[1]))) return -1;
  if (tg_needs_input_grad(n, 2) && !(gin[2] = empty_meta(c, &n->in[2]))) return -1;
  return 0;
}

static void drop_grads(tg_tensor **gin) {
  for (int i = 0; i < 3; i++) {
    tg_tensor_unref(gin[i]);
    gin[i] = NULL;
  }
}

/* the differentiable path shared by the three norms; keepd: the affine dims of x */
static int grads_by_ops(tg_ctx *c, tg_node *n, tg_tensor *x, tg_tensor *g, tg_tensor *wv, tg_tensor *mean_c,
                        tg_tensor *rstd_c, int snd, const int64_t *sshape, int nred, const int *red,
                        const bool *keepd, tg_tensor **gin) {
  bool need_gx = tg_needs_input_grad(n, 0), need_gw = tg_needs_input_grad(n, 1);
  tg_tensor *gxh = NULL;
  if (norm_grad_ops(c, x, g, wv, mean_c, rstd_c, snd, sshape, nred, red, n->dp[0], need_gx ? &gin[0] : NULL,
                    need_gw ? &gxh : NULL) < 0)
    return -1;
  if (need_gw) {
    gin[1] = sum_to_param(c, gxh, keepd, &n->in[1]);
    tg_tensor_unref(gxh);
    if (!gin[1]) return -1;
  }
  if (tg_needs_input_grad(n, 2) && !(gin[2] = sum_to_param(c, g, keepd, &n->in[2]))) return -1;
  return 0;
}

/* ------------------------------------------------------------ batch norm */
static int batch_norm_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  bool training = n->ip[0] != 0;
  tg_tensor *x, *w, *mean, *rstd, *g = NULL, *wv = NULL, *mv = NULL, *rv = NULL;
  int rc = -1;
  if (unpack4(c, n, &x, &w, &mean, &rstd) < 0 || !(g = grad_as(c, gout[0], x->dtype))) goto done;
  const tg_backend *be = tg_backend_of(x);
  if (!c->grad_enabled && be->batch_norm_backward && tg_backend_of(g) == be) {
    if (alloc_grads(c, n, x, gin) == 0 &&
        be->batch_norm_backward(c, gin[0], gin[1], gin[2], g, x, mean, rstd, w, training) == 0)
      rc = 0;
  } else {
    bool keepd[TG_MAX_DIMS] = {false};
    keepd[1] = true;
    int red[TG_MAX_DIMS], nred = 0;
    for (int d = 0; d < x->ndim; d++)
      if (d != 1) red[nred++] = d;
    if ((!w || (wv = channel_view(c, w, x->ndim))) &&
        (training || ((mv = channel_view(c, mean, x->ndim)) && (rv = channel_view(c, rstd, x->ndim)))))
      rc = grads_by_ops(c, n, x, g, wv, mv, rv, x->ndim, x->size, nred, red, keepd, gin);
  }
done:
  if (rc < 0) drop_grads(gin);
  tg_tensor_unref(x), tg_tensor_unref(w), tg_tensor_unref(mean), tg_tensor_unref(rstd), tg_tensor_unref(g);
  tg_tensor_unref(wv), tg_tensor_unref(mv), tg_tensor_unref(rv);
  return rc;
}
static const tg_node_kind batch_norm_kind = {"NativeBatchNormBackward0", batch_norm_backward, NULL};

/* record the node of a norm: inputs x, weight, bias; saved x, weight, mean, rstd */
static tg_tensor *record_norm(tg_ctx *c, const tg_node_kind *kind, tg_tensor *out, tg_tensor *x, tg_tensor *w,
                              tg_tensor *b, tg_tensor *mean, tg_tensor *rstd, double eps, const int64_t *ip, int ni) {
  tg_tensor *ins[3] = {x, w, b};
  tg_node *n = tg_record(c, kind, out, 3, ins, 4);
  if (!n) return out;
  n->dp[0] = eps;
  for (int i = 0; i < ni; i++) n->ip[i] = ip[i];
  n->ni = ni;
  if (tg_save(c, n, 0, x, false) < 0 || tg_save(c, n, 1, w, false) < 0 || tg_save(c, n, 2, mean, false) < 0 ||
      tg_save(c, n, 3, rstd, false) < 0) {
    tg_tensor_unref(out);
    return NULL;
  }
  return out;
}

/* PyTorch's empty-input path: a clone of x, times weight[0], plus bias[0] (keeps the graph) */
static tg_tensor *batch_norm_empty(tg_ctx *c, tg_tensor *x, tg_tensor *w, tg_tensor *b) {
  tg_tensor *out = tg_clone(c, x);
  tg_tensor *ps[2] = {w, b};
  for (int i = 0; i < 2 && out; i++) {
    if (!ps[i] || tg_numel(ps[i]) == 0) continue;
    tg_tensor *flat = tg_reshape(c, ps[i], 1, (int64_t[]){-1});
    tg_tensor *p0 = flat ? tg_select(c, flat, 0, 0) : NULL;
    tg_tensor *r = p0 ? (i == 0 ? tg_mul(c, out, p0) : tg_add(c, out, p0)) : NULL;
    tg_tensor_unref(flat), tg_tensor_unref(p0), tg_tensor_unref(out);
    out = r;
  }
  return out;
}

static int check_count(tg_ctx *c, const char *what, int64_t want, tg_tensor *t) {
  if (t && tg_numel(t) != want)
    return tg_err(c, "%s should contain %lld elements not %lld", what, (long long)want, (long long)tg_numel(t));
  return 0;
}

tg_tensor *tg_batch_norm(tg_ctx *c, tg_tensor *x, tg_tensor *rm, tg_tensor *rv, tg_tensor *w, tg_tensor *b,
                         bool training, double momentum, double eps) {
  if (x->ndim < 2) {
    int nd = x->ndim ? x->ndim : 1;
    return tg_errp(c, "Dimension out of range (expected to be in range of [%d, %d], but got 2)", -nd, nd);
  }
  if (training && verify_batch_size(c, x->ndim, x->size) < 0) return NULL;
  if (tg_numel(x) == 0) return batch_norm_empty(c, x, w, b);
  int64_t C = x->size[1];
  if (rm) {
    if (check_count(c, "running_mean", C, rm) < 0) return NULL;
  } else if (!training) {
    return tg_errp(c, "running_mean must be defined in evaluation mode");
  }
  if (rv) {
    if (check_count(c, "running_var", C, rv) < 0) return NULL;
  } else if (!training) {
    return tg_errp(c, "running_var must be defined in evaluation mode");
  }
  if (check_count(c, "weight", C, w) < 0 || check_count(c, "bias", C, b) < 0) return NULL;
  if (!tg_is_float(x->dtype))
    return tg_errp(c, "\"batch_norm\" not implemented for '%s'", tg_torch_dtype_name(x->dtype));
  tg_tensor *ps[4] = {w, b, rm, rv};
  if (check_params(c, x, 4, ps) < 0) return NULL;
  const tg_backend *be = tg_backend_of(x);
  if (!be->batch_norm) return tg_errp(c, "batch_norm is not implemented on %s", be->name);

  /* running stats the kernel can write: themselves, or contiguous copies written back */
  tg_tensor *rs[2] = {training ? rm : NULL, training ? rv : NULL}, *rc_[2] = {NULL, NULL};
  tg_tensor *out = NULL, *mean = NULL, *rstd = NULL;
  bool ok = false;
  for (int i = 0; i < 2; i++)
    if (rs[i] && !(rc_[i] = tg_contiguous_raw(c, rs[i]))) goto done;
  out = tg_tensor_empty(c, x->dtype, x->ndim, x->size);
  mean = out ? empty_vec(c, x->dtype, C) : NULL;
  rstd = mean ? empty_vec(c, x->dtype, C) : NULL;
  if (!rstd) goto done;
  /* eval: the kernel reads the running stats (any strides: contiguous copies) */
  tg_tensor *erm = NULL, *erv = NULL;
  if (!training && (!(erm = tg_contiguous_raw(c, rm)) || !(erv = tg_contiguous_raw(c, rv)))) {
    tg_tensor_unref(erm);
    goto done;
  }
  int k = be->batch_norm(c, out, mean, rstd, x, w, b, training ? rc_[0] : erm, training ? rc_[1] : erv, training,
                         momentum, eps);
  tg_tensor_unref(erm), tg_tensor_unref(erv);
  if (k < 0) goto done;
  for (int i = 0; i < 2; i++) {
    if (!rs[i]) continue;
    if (rc_[i] != rs[i] && tg_copy_raw(c, rs[i], rc_[i]) < 0) goto done;
    tg_bump_version(rs[i]);
  }
  ok = true;
done:
  tg_tensor_unref(rc_[0]), tg_tensor_unref(rc_[1]);
  if (!ok) {
    tg_tensor_unref(out), tg_tensor_unref(mean), tg_tensor_unref(rstd);
    return NULL;
  }
  int64_t ip[1] = {training};
  out = record_norm(c, &batch_norm_kind, out, x, w, b, mean, rstd, eps, ip, 1);
  tg_tensor_unref(mean), tg_tensor_unref(rstd);
  return out;
}

/* ------------------------------------------------ group norm, layer norm */
/* ip: N, C, L, G, and for layer norm the number of normalized dims (else 0) */
static int group_norm_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  int64_t N = n->ip[0], C = n->ip[1], L = n->ip[2], G = n->ip[3];
  int n_norm = (int)n->ip[4];
  tg_tensor *x, *w, *mean, *rstd, *g = NULL, *wv = NULL;
  int rc = -1;
  if (unpack4(c, n, &x, &w, &mean, &rstd) < 0 || !(g = grad_as(c, gout[0], x->dtype))) goto done;
  const tg_backend *be = tg_backend_of(x);
  if (!c->grad_enabled && be->group_norm_backward && tg_backend_of(g) == be) {
    if (alloc_grads(c, n, x, gin) == 0 &&
        be->group_norm_backward(c, gin[0], gin[1], gin[2], g, x, mean, rstd, w, N, C, L, G) == 0)
      rc = 0;
  } else if (n_norm) { /* layer norm: statistics over the last n_norm dims, the weight broadcasts as is */
    bool keepd[TG_MAX_DIMS] = {false};
    int red[TG_MAX_DIMS], nred = 0;
    for (int d = x->ndim - n_norm; d < x->ndim; d++) keepd[d] = true, red[nred++] = d;
    rc = grads_by_ops(c, n, x, g, w, NULL, NULL, x->ndim, x->size, nred, red, keepd, gin);
  } else { /* group norm: statistics over x viewed as (N, G, C/G * L) */
    bool keepd[TG_MAX_DIMS] = {false};
    keepd[1] = true;
    int64_t ss[3] = {N, G, G ? C / G * L : 0};
    int red[1] = {2};
    if (!w || (wv = channel_view(c, w, x->ndim))) rc = grads_by_ops(c, n, x, g, wv, NULL, NULL, 3, ss, 1, red, keepd, gin);
  }
done:
  if (rc < 0) drop_grads(gin);
  tg_tensor_unref(x), tg_tensor_unref(w), tg_tensor_unref(mean), tg_tensor_unref(rstd), tg_tensor_unref(g);
  tg_tensor_unref(wv);
  return rc;
}
static const tg_node_kind group_norm_kind = {"NativeGroupNormBackward0", group_norm_backward, NULL};
static const tg_node_kind layer_norm_kind = {"NativeLayerNormBackward0", group_norm_backward, NULL};

static tg_tensor *group_norm_run(tg_ctx *c, const tg_node_kind *kind, tg_tensor *x, tg_tensor *w, tg_tensor *b,
                                 int64_t N, int64_t C, int64_t L, int64_t G, int n_norm, double eps) {
  const tg_backend *be = tg_backend_of(x);
  if (!be->group_norm) return tg_errp(c, "%s is not implemented on %s", n_norm ? "layer_norm" : "group_norm", be->name);
  tg_tensor *out = tg_tensor_empty(c, x->dtype, x->ndim, x->size);
  tg_tensor *mean = out ? empty_vec(c, x->dtype, N * G) : NULL;
  tg_tensor *rstd = mean ? empty_vec(c, x->dtype, N * G) : NULL;
  if (!rstd || be->group_norm(c, out, mean, rstd, x, w, b, N, C, L, G, eps) < 0) {
    tg_tensor_unref(out), tg_tensor_unref(mean), tg_tensor_unref(rstd);
    return NULL;
  }
  int64_t ip[5] = {N, C, L, G, n_norm};
  out = record_norm(c, kind, out, x, w, b, mean, rstd, eps, ip, 5);
  tg_tensor_unref(mean), tg_tensor_unref(rstd);
  return out;
}

static int check_norm_shape(tg_ctx *c, const char *what, tg_tensor *t, int n, const int64_t *ns) {
  if (!t) return 0;
  if (t->ndim == n && !memcmp(t->size, ns, sizeof(int64_t) * (size_t)n)) return 0;
  char a[256], bb[256];
  fmt_shape(a, sizeof a, t);
  tg_format_shape(bb, sizeof bb, n, ns);
  return tg_err(c, "Expected %s to be of same shape as normalized_shape, but got %s of shape %s and normalized_shape = %s",
                what, what, a, bb);
}

tg_tensor *tg_layer_norm(tg_ctx *c, tg_tensor *x, int n_norm, const int64_t *ns, tg_tensor *w, tg_tensor *b,
                         double eps) {
  char a[256], bb[256];
  if (n_norm < 1)
    return tg_errp(c, "Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one "
                      "element, but got normalized_shape = []");
  if (check_norm_shape(c, "weight", w, n_norm, ns) < 0 || check_norm_shape(c, "bias", b, n_norm, ns) < 0) return NULL;
  if (x->ndim < n_norm || memcmp(x->size + x->ndim - n_norm, ns, sizeof(int64_t) * (size_t)n_norm)) {
    tg_format_shape(bb, sizeof bb, n_norm, ns);
    char star[272];
    snprintf(star, sizeof star, "[*, %s", bb + 1);
    fmt_shape(a, sizeof a, x);
    return tg_errp(c, "Given normalized_shape=%s, expected input with shape %s, but got input of size%s", bb, star, a);
  }
  if (!tg_is_float(x->dtype))
    return tg_errp(c, "\"LayerNormKernelImpl\" not implemented for '%s'", tg_torch_dtype_name(x->dtype));
  tg_tensor *ps[2] = {w, b};
  if (check_params(c, x, 2, ps) < 0) return NULL;
  int64_t K = tg_shape_numel(n_norm, ns), M = tg_shape_numel(x->ndim - n_norm, x->size);
  return group_norm_run(c, &layer_norm_kind, x, w, b, M, K, 1, 1, n_norm, eps);
}

tg_tensor *tg_group_norm(tg_ctx *c, tg_tensor *x, int64_t G, tg_tensor *w, tg_tensor *b, double eps) {
  char a[256], bb[256];
  if (x->ndim < 2) return tg_errp(c, "Expected at least 2 dimensions for input tensor but received %d", x->ndim);
  if (G <= 0) return tg_errp(c, "Expected num_groups to be positive, but got num_groups=%lld", (long long)G);
  int64_t N = x->size[0], C = x->size[1], L = tg_shape_numel(x->ndim - 2, x->size + 2);
  int64_t vs[TG_MAX_DIMS];
  memcpy(vs, x->size, sizeof(int64_t) * (size_t)x->ndim);
  vs[0] = N * C / G;
  vs[1] = G;
  if (verify_batch_size(c, x->ndim, vs) < 0) return NULL;
  fmt_shape(a, sizeof a, x);
  if (C % G)
    return tg_errp(c, "Expected number of channels in input to be divisible by num_groups, but got input of shape %s "
                      "and num_groups=%lld", a, (long long)G);
  tg_tensor *ps[2] = {w, b};
  const char *names[2] = {"weight", "bias"};
  for (int i = 0; i < 2; i++)
    if (ps[i] && (ps[i]->ndim != 1 || ps[i]->size[0] != C)) {
      fmt_shape(bb, sizeof bb, ps[i]);
      return tg_errp(c, "Expected %s to be a vector of size equal to the number of channels in input, but got %s "
                        "of shape %s and input of shape %s", names[i], names[i], bb, a);
    }
  /* PyTorch refuses empty groups of a non-empty batch (an empty batch is fine) */
  if (N * C > 0 && L == 0) return tg_errp(c, "Expected HxW to be greater than 0, got 0");
  if (!tg_is_float(x->dtype))
    return tg_errp(c, "\"GroupNormKernelImpl\" not implemented for '%s'", tg_torch_dtype_name(x->dtype));
  if (check_params(c, x, 2, ps) < 0) return NULL;
  return group_norm_run(c, &group_norm_kind, x, w, b, N, C, L, G, 0, eps);
}
