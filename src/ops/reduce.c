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
  out->ndim = no; /* contiguous: dropping size-1 dims is a metadata change */
  memcpy(out->size, osz, sizeof(int64_t) * (size_t)no);
  tg_contiguous_strides(no, osz, out->stride);
  return out;
}

/* backward of sum/mean: g viewed with the kept shape, expanded to the input */
static tg_tensor *expand_back(tg_ctx *c, tg_node *n, tg_tensor *g) {
  tg_meta *m = &n->in[0];
  int64_t keep[TG_MAX_DIMS];
  for (int d = 0; d < m->ndim; d++) keep[d] = n->ip[1 + d] ? 1 : m->size[d];
  tg_tensor *k = tg_reshape(c, g, m->ndim, keep);
  if (!k) return NULL;
  tg_tensor *e = tg_expand(c, k, m->ndim, m->size);
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
    for (int d = 0; d < x->ndim; d++) n->ip[1 + d] = red[d];
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
  tg_tensor *s = tg_sum(c, x, nd, dims, true);
  if (!s) return NULL;
  tg_tensor *r = tg_reshape(c, s, ndim, size);
  tg_tensor_unref(s);
  return r;
}
