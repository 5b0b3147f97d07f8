/* reduce.c: sum and mean over all, one or several dims, and sum_to (the
 * engine's one place for undoing broadcasting). */
#include <string.h>

#include "../backend/backend.h"
#include "../tg.h"

/* mark reduced dims; n_dims == 0 means all */
static int reduce_mask(tg_ctx *c, const tg_tensor *x, int n_dims, const int *dims, bool *red) {
  for (int d = 0; d < x->ndim; d++) red[d] = n_dims == 0;
  for (int i = 0; i < n_dims; i++) {
    if (dims[i] < 0 || dims[i] >= (x->ndim ? x->ndim : 1))
      return tg_err(c, "Dimension out of range (expected to be in range of [%d, %d], but got %d)", -x->ndim,
                    x->ndim, dims[i] + 1);
    if (x->ndim == 0) continue;
    if (red[dims[i]]) return tg_err(c, "dim %d appears multiple times in the list of dims", dims[i] + 1);
    red[dims[i]] = true;
  }
  return 0;
}

/* the kept shape: 1 on reduced dims; the result shape drops them unless keepdim */
static void reduced_shapes(const tg_tensor *x, const bool *red, bool keepdim, int64_t *keep, int *nout,
                           int64_t *outsz) {
  int k = 0;
  for (int d = 0; d < x->ndim; d++) {
    keep[d] = red[d] ? 1 : x->size[d];
    if (keepdim || !red[d]) outsz[k++] = keep[d];
  }
  *nout = k;
}

/* a contiguous result made with the kept shape takes the result shape: dropping
 * size-1 dims is a metadata change */
static void set_result_shape(tg_tensor *t, int no, const int64_t *osz) {
  t->ndim = no;
  memcpy(t->size, osz, sizeof(int64_t) * (size_t)no);
  tg_contiguous_strides(no, osz, t->stride);
}

static void store_mask(tg_node *n, const tg_tensor *x, const bool *red) {
  for (int d = 0; d < x->ndim; d++) n->ip[1 + d] = red[d];
}

/* t (a result) viewed with the kept shape: 1 on the reduced dims */
static tg_tensor *keep_view(tg_ctx *c, tg_node *n, tg_tensor *t) {
  tg_meta *m = &n->in[0];
  int64_t keep[TG_MAX_DIMS];
  for (int d = 0; d < m->ndim; d++) keep[d] = n->ip[1 + d] ? 1 : m->size[d];
  return tg_reshape(c, t, m->ndim, keep);
}

static tg_tensor *sum_raw(tg_ctx *c, tg_tensor *x, const bool *red, bool keepdim) {
  int64_t keep[TG_MAX_DIMS], osz[TG_MAX_DIMS];
  int no;
  reduced_shapes(x, red, keepdim, keep, &no, osz);
  tg_dtype dt = tg_is_float(x->dtype) ? x->dtype : TG_INT64;
  tg_tensor *out = tg_tensor_empty(c, dt, x->ndim, keep);
  if (!out) return NULL;
  if (tg_backend_of(x)->sum(c, out, x, red) < 0) {
    tg_tensor_unref(out);
    return NULL;
  }
  set_result_shape(out, no, osz);
  return out;
}

/* backward of sum/mean: g viewed with the kept shape, expanded to the input */
static tg_tensor *expand_back(tg_ctx *c, tg_node *n, tg_tensor *g) {
  tg_tensor *k = keep_view(c, n, g);
  if (!k) return NULL;
  tg_tensor *e = tg_expand(c, k, n->in[0].ndim, n->in[0].size);
  tg_tensor_unref(k);
  return e;
}

static int sum_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  gin[0] = expand_back(c, n, gout[0]);
  return gin[0] ? 0 : -1;
}

static int mean_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  tg_tensor *e = expand_back(c, n, gout[0]);
  if (!e) return -1;
  gin[0] = tg_mul_scalar(c, e, 1.0 / n->dp[0]);
  tg_tensor_unref(e);
  return gin[0] ? 0 : -1;
}

static const tg_node_kind sum_all_kind = {"SumBackward0", sum_backward, NULL};
static const tg_node_kind sum_dim_kind = {"SumBackward1", sum_backward, NULL};
static const tg_node_kind mean_all_kind = {"MeanBackward0", mean_backward, NULL};
static const tg_node_kind mean_dim_kind = {"MeanBackward1", mean_backward, NULL};

static tg_tensor *reduce_op(tg_ctx *c, tg_tensor *x, int n_dims, const int *dims, bool keepdim, bool mean) {
  bool red[TG_MAX_DIMS];
  if (reduce_mask(c, x, n_dims, dims, red) < 0) return NULL;
  if (mean && !tg_is_float(x->dtype))
    return tg_errp(c, "mean(): could not infer output dtype. Input dtype must be either a floating point "
                      "or complex dtype. Got: %s", x->dtype == TG_INT64 ? "Long" : "Bool");
  tg_tensor *out = sum_raw(c, x, red, keepdim);
  if (!out) return NULL;
  double count = 1;
  for (int d = 0; d < x->ndim; d++)
    if (red[d]) count *= (double)x->size[d];
  if (mean) {
    bool gm = c->grad_enabled;
    c->grad_enabled = false;
    tg_tensor *m = tg_mul_scalar(c, out, 1.0 / count);
    c->grad_enabled = gm;
    tg_tensor_unref(out);
    if (!m) return NULL;
    out = m;
  }
  if (!tg_is_float(out->dtype)) return out;
  const tg_node_kind *k = mean ? (n_dims ? &mean_dim_kind : &mean_all_kind) : (n_dims ? &sum_dim_kind : &sum_all_kind);
  tg_node *n = tg_record(c, k, out, 1, &x, 0);
  if (n) {
    n->dp[0] = count;
    store_mask(n, x, red);
  }
  return out;
}

tg_tensor *tg_sum(tg_ctx *c, tg_tensor *x, int n_dims, const int *dims, bool keepdim) {
  return reduce_op(c, x, n_dims, dims, keepdim, false);
}

tg_tensor *tg_mean(tg_ctx *c, tg_tensor *x, int n_dims, const int *dims, bool keepdim) {
  return reduce_op(c, x, n_dims, dims, keepdim, true);
}

tg_tensor *tg_sum_to(tg_ctx *c, tg_tensor *x, int ndim, const int64_t *size) {
  int lead = x->ndim - ndim, dims[TG_MAX_DIMS], nd = 0;
  if (lead < 0) return tg_errp(c, "sum_to: cannot sum a %d-D tensor to %d dimensions", x->ndim, ndim);
  for (int d = 0; d < x->ndim; d++)
    if (d < lead || (size[d - lead] == 1 && x->size[d] != 1)) dims[nd++] = d;
  if (nd == 0) return tg_reshape(c, x, ndim, size);
  /* perop: only size-1 dims to sum away (a bias's gradient at batch 1) and no graph
   * to record: the sum is a reshape (with a graph, SumBackward0 stays as PyTorch's) */
  bool ones = !c->grad_enabled;
  for (int i = 0; i < nd && ones; i++) ones = x->size[dims[i]] == 1;
  if (ones) {
    /* box: a fresh contiguous copy in the target shape, as PyTorch's sum gives (not
     * a view of x): a leaf's AccumulateGrad then takes it as its .grad, where a view
     * of a gradient that other inputs still hold had to be copied there anyway */
    tg_tensor *r = tg_cast_raw(c, x, x->dtype);
    if (!r) return NULL;
    r->ndim = ndim; /* r is new and only ours: reshaped in place (same elements, contiguous) */
    if (ndim) memcpy(r->size, size, sizeof(int64_t) * (size_t)ndim);
    tg_contiguous_strides(ndim, size, r->stride);
    return r;
  }
  tg_tensor *s = tg_sum(c, x, nd, dims, true);
  if (!s) return NULL;
  tg_tensor *r = tg_reshape(c, s, ndim, size);
  tg_tensor_unref(s);
  return r;
}

/* ======================================================================
 * prod, amax/amin, max/min (all or with indices), argmax/argmin, var/std,
 * norm, logsumexp, all/any, count_nonzero. Their backward formulas are
 * written with tgrad's own ops (create_graph differentiates them again).
 * Index tensors are int64 and 1-based, as Lua sees them.
 * ==================================================================== */
#include <math.h>

/* run a reduce kernel: the result (and indices) with the result shape */
static int reduce_run(tg_ctx *c, int kind, tg_tensor *x, const bool *red, bool keepdim, tg_dtype odt,
                      double p, tg_tensor **out, tg_tensor **idx) {
  const tg_backend *be = tg_backend_of(x);
  if (!be->reduce) return tg_err(c, "reductions are not implemented on %s", be->name);
  int64_t keep[TG_MAX_DIMS], osz[TG_MAX_DIMS];
  int no;
  reduced_shapes(x, red, keepdim, keep, &no, osz);
  tg_tensor *o = out ? tg_tensor_empty(c, odt, x->ndim, keep) : NULL;
  tg_tensor *i = idx ? tg_tensor_empty(c, TG_INT64, x->ndim, keep) : NULL;
  if ((out && !o) || (idx && !i) || be->reduce(c, kind, o, i, x, red, p) < 0) {
    tg_tensor_unref(o);
    tg_tensor_unref(i);
    return -1;
  }
  tg_tensor *r[2] = {o, i};
  for (int k = 0; k < 2; k++)
    if (r[k]) set_result_shape(r[k], no, osz);
  if (out) *out = o;
  if (idx) *idx = i;
  return 0;
}

/* the reduced dims of a node as a list; returns the count */
static int node_dims(const tg_node *n, int *dims) {
  int k = 0;
  for (int d = 0; d < n->in[0].ndim; d++)
    if (n->ip[1 + d]) dims[k++] = d;
  return k;
}

/* the node of a reduction over x with mask red; saves x and, with save_out, the
 * result (what most backward formulas here read). Frees out and returns NULL
 * when saving fails; *np (if given) gets the node, NULL when none */
static tg_tensor *record_reduction(tg_ctx *c, const tg_node_kind *kind, tg_tensor *out, tg_tensor *x,
                                   const bool *red, bool save_out, tg_node **np) {
  tg_node *n = tg_record(c, kind, out, 1, &x, save_out ? 2 : 1);
  if (np) *np = n;
  if (n) {
    store_mask(n, x, red);
    if (tg_save(c, n, 0, x, false) < 0 || (save_out && tg_save(c, n, 1, out, true) < 0)) {
      tg_tensor_unref(out);
      if (np) *np = NULL;
      return NULL;
    }
  }
  return out;
}

/* a backward's saved input x and result r, and g and r viewed with the kept shape */
typedef struct saved_xr { tg_tensor *x, *r, *gk, *rk; } saved_xr;

static bool unpack_xr(tg_ctx *c, tg_node *n, tg_tensor *g, saved_xr *s) {
  s->x = tg_unpack(c, n, 0);
  s->r = s->x ? tg_unpack(c, n, 1) : NULL;
  s->gk = s->r ? keep_view(c, n, g) : NULL;
  s->rk = s->gk ? keep_view(c, n, s->r) : NULL;
  return s->rk != NULL;
}

static void release_xr(saved_xr *s) {
  tg_tensor_unref(s->x);
  tg_tensor_unref(s->r);
  tg_tensor_unref(s->gk);
  tg_tensor_unref(s->rk);
}

static int64_t reduced_count(const tg_tensor *x, const bool *red) {
  int64_t k = 1;
  for (int d = 0; d < x->ndim; d++)
    if (red[d]) k *= x->size[d];
  return k;
}

/* a constant (no autograd) tensor of x's dtype with the shape [1.., n at dim, ..1] holding 1 at
 * positions [lo, hi) along dim and 0 elsewhere */
static tg_tensor *dim_indicator(tg_ctx *c, tg_dtype dt, int ndim, int dim, int64_t n, int64_t lo, int64_t hi) {
  int64_t size[TG_MAX_DIMS], stride[TG_MAX_DIMS];
  for (int d = 0; d < ndim; d++) size[d] = d == dim ? n : 1;
  tg_tensor *t = tg_tensor_zeros(c, dt, ndim, size);
  if (!t || hi <= lo) return t;
  tg_contiguous_strides(ndim, size, stride);
  size[dim] = hi - lo;
  tg_tensor *v = tg_tensor_as_strided(c, t, ndim, size, stride, t->offset + lo * stride[dim]);
  int rc = v ? tg_fill_raw(c, v, 1.0) : -1;
  tg_tensor_unref(v);
  if (rc < 0) {
    tg_tensor_unref(t);
    return NULL;
  }
  return t;
}

/* does x hold a zero? (a raw check, no autograd) */
static int has_zero(tg_ctx *c, tg_tensor *x) {
  bool red[TG_MAX_DIMS];
  for (int d = 0; d < x->ndim; d++) red[d] = true;
  tg_tensor *a = NULL;
  if (reduce_run(c, TG_RED_ALL, x, red, false, TG_BOOL, 0, &a, NULL) < 0) return -1;
  int r = tg_get_flat(a, 0) == 0;
  tg_tensor_unref(a);
  return r;
}

/* x with the reduced dims moved last and flattened into one: [kept..., R] (differentiable);
 * perm gets the permutation used */
static tg_tensor *flatten_reduced(tg_ctx *c, tg_tensor *x, const bool *red, int *perm) {
  int k = 0, nk = 0;
  int64_t size[TG_MAX_DIMS], r = 1;
  for (int d = 0; d < x->ndim; d++)
    if (!red[d]) { perm[k++] = d; size[nk++] = x->size[d]; }
  for (int d = 0; d < x->ndim; d++)
    if (red[d]) { perm[k++] = d; r *= x->size[d]; }
  size[nk] = r;
  tg_tensor *p = tg_permute(c, x, perm);
  if (!p) return NULL;
  tg_tensor *f = tg_reshape(c, p, nk + 1, size);
  tg_tensor_unref(p);
  return f;
}

/* the inverse of flatten_reduced: back to x's shape (meta m) */
static tg_tensor *unflatten_reduced(tg_ctx *c, tg_tensor *f, const tg_meta *m, const int *perm) {
  int64_t size[TG_MAX_DIMS];
  int inv[TG_MAX_DIMS];
  for (int d = 0; d < m->ndim; d++) {
    size[d] = m->size[perm[d]];
    inv[perm[d]] = d;
  }
  tg_tensor *r = tg_reshape(c, f, m->ndim, size);
  if (!r) return NULL;
  tg_tensor *p = tg_permute(c, r, inv);
  tg_tensor_unref(r);
  return p;
}

/* ------------------------------------------------------------------- prod */
/* the product of the other reduced elements, for each element of x (zeros allowed).
 * Without grad mode: an exact O(n) kernel. With grad mode (create_graph): a
 * differentiable sum over k of prod(x with x_k replaced by 1) at k. */
static tg_tensor *prod_others(tg_ctx *c, tg_tensor *x, const bool *red, const tg_meta *m) {
  int perm[TG_MAX_DIMS];
  tg_tensor *f = flatten_reduced(c, x, red, perm), *acc = NULL;
  if (!f) return NULL;
  int last = f->ndim - 1;
  int64_t n = f->size[last];
  if (!c->grad_enabled) {
    const tg_backend *be = tg_backend_of(x);
    acc = tg_tensor_empty(c, x->dtype, f->ndim, f->size);
    if (acc && be->cumprod_grad(c, acc, f, NULL, last) < 0) {
      tg_tensor_unref(acc);
      acc = NULL;
    }
  } else {
    for (int64_t k = 0; k < n && (k == 0 || acc); k++) {
      tg_tensor *e = dim_indicator(c, x->dtype, f->ndim, last, n, k, k + 1);
      tg_tensor *keep = NULL, *xk = NULL, *pk = NULL, *term = NULL, *sum = NULL;
      /* x * (1 - e_k) + e_k: x with x_k replaced by 1 */
      tg_tensor *one_minus = e ? tg_binary_scalar(c, TG_OP_SUB, e, 1.0, false, true) : NULL;
      if (one_minus) keep = tg_mul(c, f, one_minus);
      if (keep) xk = tg_add(c, keep, e);
      int dl = last;
      if (xk) pk = tg_prod(c, xk, 1, &dl, true);
      if (pk) term = tg_mul(c, pk, e);
      if (term) sum = acc ? tg_add(c, acc, term) : tg_tensor_ref(term);
      tg_tensor_unref(e);
      tg_tensor_unref(one_minus);
      tg_tensor_unref(keep);
      tg_tensor_unref(xk);
      tg_tensor_unref(pk);
      tg_tensor_unref(term);
      tg_tensor_unref(acc);
      acc = sum;
    }
  }
  tg_tensor_unref(f);
  if (!acc) return NULL;
  tg_tensor *r = unflatten_reduced(c, acc, m, perm);
  tg_tensor_unref(acc);
  return r;
}

/* torch: no zeros: g * result / x; zeros: g * (product of the others) */
static int prod_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  tg_tensor *x = tg_unpack(c, n, 0), *r = x ? tg_unpack(c, n, 1) : NULL;
  tg_tensor *gk = NULL, *rk = NULL, *t = NULL;
  if (!r) goto done;
  if (x->ndim == 0) {
    gin[0] = tg_tensor_ref(gout[0]);
    goto done;
  }
  gk = keep_view(c, n, gout[0]);
  int z = gk ? has_zero(c, x) : -1;
  if (z < 0) goto done;
  if (!z) {
    rk = keep_view(c, n, r);
    t = rk ? tg_div(c, rk, x) : NULL;
  } else {
    bool red[TG_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) red[d] = n->ip[1 + d];
    t = prod_others(c, x, red, &n->in[0]);
  }
  if (t) gin[0] = tg_mul(c, gk, t);
done:
  tg_tensor_unref(x);
  tg_tensor_unref(r);
  tg_tensor_unref(gk);
  tg_tensor_unref(rk);
  tg_tensor_unref(t);
  return gin[0] ? 0 : -1;
}

static const tg_node_kind prod_all_kind = {"ProdBackward0", prod_backward, NULL};
static const tg_node_kind prod_dim_kind = {"ProdBackward1", prod_backward, NULL};

tg_tensor *tg_prod(tg_ctx *c, tg_tensor *x, int n_dims, const int *dims, bool keepdim) {
  bool red[TG_MAX_DIMS];
  tg_tensor *out;
  if (reduce_mask(c, x, n_dims, dims, red) < 0) return NULL;
  tg_dtype dt = tg_is_float(x->dtype) ? x->dtype : TG_INT64;
  if (reduce_run(c, TG_RED_PROD, x, red, keepdim, dt, 0, &out, NULL) < 0) return NULL;
  if (!tg_is_float(dt)) return out;
  return record_reduction(c, n_dims ? &prod_dim_kind : &prod_all_kind, out, x, red, true, NULL);
}

/* --------------------------------------------------------- amax, max() */
static int empty_check(tg_ctx *c, const char *name, tg_tensor *x, int n_dims, const bool *red) {
  if (tg_numel(x) != 0) return 0;
  if (n_dims == 0)
    return tg_err(c, "%s(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
                     "reduction dim with the 'dim' argument.", name);
  for (int d = 0; d < x->ndim; d++)
    if (red[d] && x->size[d] == 0)
      return tg_err(c, "%s(): Expected reduction dim %d to have non-zero size.", name, d + 1);
  return 0;
}

static const tg_node_kind max_all_kind, min_all_kind;

/* the elements that produced the result: equal to it, or (max()/min() of
 * everything, as PyTorch) NaN where the result is NaN */
static tg_tensor *result_mask(tg_ctx *c, tg_node *n, saved_xr *s) {
  tg_tensor *eq = tg_binary(c, TG_OP_EQ, s->x, s->rk);
  if (!eq || (n->kind != &max_all_kind && n->kind != &min_all_kind)) return eq;
  tg_tensor *xn = tg_binary(c, TG_OP_NE, s->x, s->x), *rn = xn ? tg_binary(c, TG_OP_NE, s->rk, s->rk) : NULL;
  tg_tensor *both = rn ? tg_binary(c, TG_OP_LOGICAL_AND, xn, rn) : NULL;
  tg_tensor *m = both ? tg_binary(c, TG_OP_LOGICAL_OR, eq, both) : NULL;
  tg_tensor_unref(eq), tg_tensor_unref(xn), tg_tensor_unref(rn), tg_tensor_unref(both);
  return m;
}

/* the gradient is shared evenly among the elements that produced the result */
static int amax_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  saved_xr s;
  tg_tensor *mask = NULL, *cnt = NULL, *q = NULL;
  int dims[TG_MAX_DIMS], nd = node_dims(n, dims);
  if (unpack_xr(c, n, gout[0], &s)) mask = result_mask(c, n, &s);
  if (mask) cnt = nd ? tg_sum(c, mask, nd, dims, true) : tg_tensor_ref(mask);
  if (cnt) q = tg_div(c, s.gk, cnt);
  if (q) gin[0] = tg_mul(c, q, mask);
  release_xr(&s);
  tg_tensor_unref(mask);
  tg_tensor_unref(cnt);
  tg_tensor_unref(q);
  return gin[0] ? 0 : -1;
}

static const tg_node_kind amax_kind = {"AmaxBackward0", amax_backward, NULL};
static const tg_node_kind amin_kind = {"AminBackward0", amax_backward, NULL};
static const tg_node_kind max_all_kind = {"MaxBackward1", amax_backward, NULL};
static const tg_node_kind min_all_kind = {"MinBackward1", amax_backward, NULL};

static tg_tensor *amax_impl(tg_ctx *c, tg_tensor *x, int n_dims, const int *dims, bool keepdim, bool is_max,
                            const char *name, const tg_node_kind *kind) {
  bool red[TG_MAX_DIMS];
  tg_tensor *out;
  if (reduce_mask(c, x, n_dims, dims, red) < 0 || empty_check(c, name, x, n_dims, red) < 0) return NULL;
  if (reduce_run(c, is_max ? TG_RED_MAX : TG_RED_MIN, x, red, keepdim, x->dtype, 0, &out, NULL) < 0)
    return NULL;
  if (!tg_is_float(x->dtype)) return out;
  return record_reduction(c, kind, out, x, red, true, NULL);
}

tg_tensor *tg_amax(tg_ctx *c, tg_tensor *x, int n_dims, const int *dims, bool keepdim, bool is_max) {
  return amax_impl(c, x, n_dims, dims, keepdim, is_max, is_max ? "amax" : "amin",
                   is_max ? &amax_kind : &amin_kind);
}

tg_tensor *tg_max_all(tg_ctx *c, tg_tensor *x, bool is_max) {
  return amax_impl(c, x, 0, NULL, false, is_max, is_max ? "max" : "min", is_max ? &max_all_kind : &min_all_kind);
}

/* ---------------------------------------------------- max(dim), argmax */
/* the gradient goes to the chosen index only */
static int max_dim_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  tg_tensor *idx = tg_unpack(c, n, 0), *gk = NULL, *ik = NULL;
  int dim = (int)n->ip[0];
  if (idx) gk = keep_view(c, n, gout[0]);
  if (gk) ik = keep_view(c, n, idx);
  if (ik) gin[0] = tg_put_along_dim(c, gk, ik, dim, n->in[0].ndim, n->in[0].size);
  tg_tensor_unref(idx);
  tg_tensor_unref(gk);
  tg_tensor_unref(ik);
  return gin[0] ? 0 : -1;
}

static const tg_node_kind max_dim_kind = {"MaxBackward0", max_dim_backward, NULL};
static const tg_node_kind min_dim_kind = {"MinBackward0", max_dim_backward, NULL};

tg_tensor *tg_max_dim(tg_ctx *c, tg_tensor *x, int dim, bool keepdim, bool is_max, tg_tensor **indices) {
  bool red[TG_MAX_DIMS];
  tg_tensor *out, *idx;
  if (reduce_mask(c, x, 1, &dim, red) < 0 || empty_check(c, is_max ? "max" : "min", x, 1, red) < 0) return NULL;
  if (reduce_run(c, is_max ? TG_RED_MAX : TG_RED_MIN, x, red, keepdim, x->dtype, 1, &out, &idx) < 0) return NULL;
  if (tg_is_float(x->dtype)) {
    tg_node *n = tg_record_indexed(c, is_max ? &max_dim_kind : &min_dim_kind, &out, 1, &x, x->ndim ? dim : 0, idx);
    if (n) store_mask(n, x, red);
    if (!out) {
      tg_tensor_unref(idx);
      return NULL;
    }
  }
  *indices = idx;
  return out;
}

tg_tensor *tg_argmax(tg_ctx *c, tg_tensor *x, int dim, bool keepdim, bool is_max) {
  bool red[TG_MAX_DIMS];
  tg_tensor *idx;
  const char *name = is_max ? "argmax" : "argmin";
  if (dim >= 0) {
    if (reduce_mask(c, x, 1, &dim, red) < 0 || empty_check(c, name, x, 1, red) < 0) return NULL;
  } else {
    if (reduce_mask(c, x, 0, NULL, red) < 0) return NULL;
    if (tg_numel(x) == 0)
      return tg_errp(c, "%s(): Expected reduction dim to be specified for input.numel() == 0.", name);
  }
  if (reduce_run(c, is_max ? TG_RED_MAX : TG_RED_MIN, x, red, keepdim, x->dtype, 1, NULL, &idx) < 0) return NULL;
  return idx;
}

/* ---------------------------------------------------------------- var/std */
static int var_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  bool is_std = n->ip[0];
  tg_tensor *x = tg_unpack(c, n, 0), *r = NULL, *gk = NULL, *m = NULL, *dev = NULL, *s = NULL, *t = NULL;
  int dims[TG_MAX_DIMS], nd = node_dims(n, dims);
  double div = n->dp[1] - n->dp[0]; /* N - correction */
  if (x) gk = keep_view(c, n, gout[0]);
  if (gk) m = tg_mean(c, x, nd, dims, true);
  if (m) dev = tg_sub(c, x, m);
  if (dev && is_std) { /* g (x - mean) / (std (N - correction)) */
    r = tg_unpack(c, n, 1);
    tg_tensor *rk = r ? keep_view(c, n, r) : NULL;
    t = rk ? tg_div(c, gk, rk) : NULL;
    if (t) { /* where std == 0 the gradient is 0 (PyTorch), not 0 * inf */
      tg_tensor *f = tg_zero_where_zero(c, t, rk);
      tg_tensor_unref(t);
      t = f;
    }
    tg_tensor_unref(rk);
    s = t ? tg_mul_scalar(c, t, 1.0 / div) : NULL;
  } else if (dev) { /* 2 g (x - mean) / (N - correction) */
    s = tg_mul_scalar(c, gk, 2.0 / div);
  }
  if (s) gin[0] = tg_mul(c, s, dev);
  tg_tensor_unref(x);
  tg_tensor_unref(r);
  tg_tensor_unref(gk);
  tg_tensor_unref(m);
  tg_tensor_unref(dev);
  tg_tensor_unref(s);
  tg_tensor_unref(t);
  return gin[0] ? 0 : -1;
}

static const tg_node_kind var_kind = {"VarBackward0", var_backward, NULL};
static const tg_node_kind std_kind = {"StdBackward0", var_backward, NULL};

tg_tensor *tg_var(tg_ctx *c, tg_tensor *x, int n_dims, const int *dims, double correction, bool keepdim,
                  bool is_std) {
  bool red[TG_MAX_DIMS];
  tg_tensor *out;
  if (reduce_mask(c, x, n_dims, dims, red) < 0) return NULL;
  if (!tg_is_float(x->dtype)) return tg_errp(c, "std and var only support floating point and complex dtypes");
  if (reduce_run(c, is_std ? TG_RED_STD : TG_RED_VAR, x, red, keepdim, x->dtype, correction, &out, NULL) < 0)
    return NULL;
  tg_node *n;
  out = record_reduction(c, is_std ? &std_kind : &var_kind, out, x, red, is_std, &n);
  if (n) {
    n->ip[0] = is_std;
    n->dp[0] = correction;
    n->dp[1] = (double)reduced_count(x, red);
  }
  return out;
}

/* ------------------------------------------------------------------ norm */
/* t + (t == 0): a denominator safe where t is 0 (the masked positions are zeroed after) */
static tg_tensor *nonzero_safe(tg_ctx *c, tg_tensor *t, tg_tensor **nonzero) {
  tg_tensor *z = tg_binary_scalar(c, TG_OP_EQ, t, 0.0, false, false);
  if (!z) return NULL;
  *nonzero = tg_binary_scalar(c, TG_OP_NE, t, 0.0, false, false);
  tg_tensor *r = *nonzero ? tg_add(c, t, z) : NULL;
  tg_tensor_unref(z);
  return r;
}

/* PyTorch's norm_backward (torch/csrc/autograd/FunctionsManual.cpp) */
static int norm_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  double p = n->dp[0];
  int dims[TG_MAX_DIMS], nd = node_dims(n, dims);
  saved_xr s;
  tg_tensor *t[8] = {0};
  bool ok = unpack_xr(c, n, gout[0], &s);
  tg_tensor *x = s.x, *gk = s.gk, *rk = s.rk;
  if (!ok) goto done;
  if (p == 0) {
    tg_tensor *e = tg_mul_scalar(c, x, 0.0);
    if (e) gin[0] = tg_mul(c, e, gk);
    tg_tensor_unref(e);
  } else if (p == 1) { /* sign(x) g */
    t[0] = tg_unary(c, TG_OP_SIGN, x);
    if (t[0]) gin[0] = tg_mul(c, t[0], gk);
  } else if (p == 2) { /* x g / norm, 0 where norm == 0 */
    if ((t[0] = nonzero_safe(c, rk, &t[1])) && (t[2] = tg_div(c, gk, t[0])) && (t[3] = tg_mul(c, t[2], t[1])))
      gin[0] = tg_mul(c, x, t[3]);
  } else if (isinf(p)) { /* sign(x) g / count where |x| == norm (or NaN) */
    tg_tensor *eq = NULL, *isnan_ = NULL;
    if ((t[0] = tg_unary(c, TG_OP_ABS, x)) && (eq = tg_binary(c, TG_OP_EQ, t[0], rk)) &&
        (isnan_ = tg_binary(c, TG_OP_NE, t[0], t[0])) && (t[1] = tg_cast_raw(c, eq, x->dtype)) &&
        (t[2] = tg_cast_raw(c, isnan_, x->dtype)) && (t[3] = tg_add(c, t[1], t[2])) &&
        (t[4] = nd ? tg_sum(c, t[3], nd, dims, true) : tg_tensor_ref(t[3])) && (t[5] = tg_div(c, gk, t[4])) &&
        (t[6] = tg_mul(c, t[5], t[3])) && (t[7] = tg_unary(c, TG_OP_SIGN, x)))
      gin[0] = tg_mul(c, t[7], t[6]);
    tg_tensor_unref(eq);
    tg_tensor_unref(isnan_);
  } else if (p < 1) { /* sign(x) |x|^(p-1) (0 at x == 0) g norm^(1-p) */
    tg_tensor *nz = NULL;
    if ((t[0] = tg_unary(c, TG_OP_ABS, x)) && (t[1] = nonzero_safe(c, t[0], &nz)) &&
        (t[2] = tg_pow_scalar(c, t[1], p - 1)) && (t[3] = tg_mul(c, t[2], nz)) &&
        (t[4] = tg_unary(c, TG_OP_SIGN, x)) && (t[5] = tg_mul(c, t[4], t[3])) &&
        (t[6] = tg_pow_scalar(c, rk, 1 - p)) && (t[7] = tg_mul(c, t[6], gk)))
      gin[0] = tg_mul(c, t[5], t[7]);
    tg_tensor_unref(nz);
  } else { /* x |x|^(p-2) g / norm^(p-1), 0 where norm == 0; sign(x)|x|^(p-1) for p < 2 */
    tg_tensor *nz = NULL;
    if ((t[0] = tg_unary(c, TG_OP_ABS, x)) &&
        (t[1] = p < 2 ? tg_pow_scalar(c, t[0], p - 1) : tg_pow_scalar(c, t[0], p - 2)) &&
        (t[2] = p < 2 ? tg_unary(c, TG_OP_SIGN, x) : tg_tensor_ref(x)) && (t[3] = tg_mul(c, t[2], t[1])) &&
        (t[4] = nonzero_safe(c, rk, &nz)) && (t[5] = tg_pow_scalar(c, t[4], p - 1)) &&
        (t[6] = tg_div(c, gk, t[5])) && (t[7] = tg_mul(c, t[6], nz)))
      gin[0] = tg_mul(c, t[3], t[7]);
    tg_tensor_unref(nz);
  }
done:
  for (int i = 0; i < 8; i++) tg_tensor_unref(t[i]);
  release_xr(&s);
  return gin[0] ? 0 : -1;
}

static const tg_node_kind norm_kind = {"LinalgVectorNormBackward0", norm_backward, NULL};

tg_tensor *tg_norm(tg_ctx *c, tg_tensor *x, double p, int n_dims, const int *dims, bool keepdim) {
  bool red[TG_MAX_DIMS];
  tg_tensor *out;
  if (reduce_mask(c, x, n_dims, dims, red) < 0) return NULL;
  if (!tg_is_float(x->dtype))
    return tg_errp(c, "linalg.vector_norm: Expected a floating point or complex tensor as input. Got %s",
                   tg_torch_dtype_name(x->dtype));
  if (isnan(p)) return tg_errp(c, "linalg.vector_norm: the order p must not be NaN");
  if ((p < 0 || isinf(p)) && tg_numel(x) == 0)
    return tg_errp(c, "linalg.vector_norm cannot compute the %g norm on an empty tensor because the operation "
                      "does not have an identity", p);
  if (reduce_run(c, TG_RED_NORM, x, red, keepdim, x->dtype, p, &out, NULL) < 0) return NULL;
  tg_node *n;
  out = record_reduction(c, &norm_kind, out, x, red, true, &n);
  if (n) n->dp[0] = p;
  return out;
}

/* ------------------------------------------------------------- logsumexp */
static int logsumexp_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  saved_xr s;
  tg_tensor *d = NULL, *e = NULL;
  if (unpack_xr(c, n, gout[0], &s)) d = tg_sub(c, s.x, s.rk);
  if (d) e = tg_unary(c, TG_OP_EXP, d);
  if (e) gin[0] = tg_mul(c, s.gk, e);
  release_xr(&s);
  tg_tensor_unref(d);
  tg_tensor_unref(e);
  return gin[0] ? 0 : -1;
}

static const tg_node_kind logsumexp_kind = {"LogsumexpBackward0", logsumexp_backward, NULL};

tg_tensor *tg_logsumexp(tg_ctx *c, tg_tensor *x, int n_dims, const int *dims, bool keepdim) {
  bool red[TG_MAX_DIMS];
  tg_tensor *out;
  if (reduce_mask(c, x, n_dims, dims, red) < 0) return NULL;
  if (!tg_is_float(x->dtype)) { /* integers: computed in the default float dtype, as PyTorch */
    tg_tensor *f = tg_cast_raw(c, x, TG_FLOAT32);
    if (!f) return NULL;
    int rc = reduce_run(c, TG_RED_LOGSUMEXP, f, red, keepdim, TG_FLOAT32, 0, &out, NULL);
    tg_tensor_unref(f);
    return rc < 0 ? NULL : out;
  }
  if (reduce_run(c, TG_RED_LOGSUMEXP, x, red, keepdim, x->dtype, 0, &out, NULL) < 0) return NULL;
  return record_reduction(c, &logsumexp_kind, out, x, red, true, NULL);
}

/* ------------------------------------------------- all, any, count_nonzero */
tg_tensor *tg_all(tg_ctx *c, tg_tensor *x, int n_dims, const int *dims, bool keepdim, bool any) {
  bool red[TG_MAX_DIMS];
  tg_tensor *out;
  if (reduce_mask(c, x, n_dims, dims, red) < 0) return NULL;
  return reduce_run(c, any ? TG_RED_ANY : TG_RED_ALL, x, red, keepdim, TG_BOOL, 0, &out, NULL) < 0 ? NULL : out;
}

tg_tensor *tg_count_nonzero(tg_ctx *c, tg_tensor *x, int n_dims, const int *dims, bool keepdim) {
  bool red[TG_MAX_DIMS];
  tg_tensor *out;
  if (reduce_mask(c, x, n_dims, dims, red) < 0) return NULL;
  return reduce_run(c, TG_RED_COUNT_NONZERO, x, red, keepdim, TG_INT64, 0, &out, NULL) < 0 ? NULL : out;
}
