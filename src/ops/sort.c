/* sort.c: scans (cumsum, cumprod), sort, topk, and the differentiable
 * take/put-along-dim pair their backward formulas (and max(dim)'s) use.
 * Index tensors are int64 holding 1-based indices, as Lua sees them. */
#include <string.h>

#include "../backend/backend.h"
#include "../tg.h"

/* -------------------------------------------------- take/put along dim */
static int take_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  tg_tensor *idx = tg_unpack(c, n, 0);
  if (!idx) return -1;
  gin[0] = tg_put_along_dim(c, gout[0], idx, (int)n->ip[0], n->in[0].ndim, n->in[0].size);
  tg_tensor_unref(idx);
  return gin[0] ? 0 : -1;
}

static int put_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  tg_tensor *idx = tg_unpack(c, n, 0);
  if (!idx) return -1;
  gin[0] = tg_take_along_dim(c, gout[0], idx, (int)n->ip[0]);
  tg_tensor_unref(idx);
  return gin[0] ? 0 : -1;
}

static const tg_node_kind take_kind = {"GatherBackward0", take_backward, NULL};
static const tg_node_kind put_kind = {"ScatterAddBackward0", put_backward, NULL};

static int along_shapes(tg_ctx *c, const char *name, int nd, const int64_t *size, const tg_tensor *idx, int dim) {
  if (idx->dtype != TG_INT64) return tg_err(c, "%s(): Expected dtype int64 for index", name);
  if (idx->ndim != nd) return tg_err(c, "Index tensor must have the same number of dimensions as input tensor");
  for (int d = 0; d < nd; d++)
    if (d != dim && idx->size[d] != size[d])
      return tg_err(c, "Size does not match at dimension %d expected index %lld to be the same as input %lld",
                    d + 1, (long long)idx->size[d], (long long)size[d]);
  return 0;
}

tg_tensor *tg_take_along_dim(tg_ctx *c, tg_tensor *x, tg_tensor *idx, int dim) {
  if (tg_check_dim(c, x, dim) < 0 || along_shapes(c, "gather", x->ndim, x->size, idx, dim) < 0) return NULL;
  const tg_backend *be = tg_backend_of(x);
  if (!be->take_along) return tg_errp(c, "gather is not implemented on %s", be->name);
  tg_tensor *out = tg_tensor_empty(c, x->dtype, idx->ndim, idx->size);
  if (!out) return NULL;
  if (be->take_along(c, out, x, idx, dim) < 0) {
    tg_tensor_unref(out);
    return NULL;
  }
  if (tg_is_float(x->dtype)) tg_record_indexed(c, &take_kind, &out, 1, &x, dim, idx);
  return out;
}

tg_tensor *tg_put_along_dim(tg_ctx *c, tg_tensor *src, tg_tensor *idx, int dim, int ndim, const int64_t *size) {
  if (along_shapes(c, "scatter_add", ndim, size, idx, dim) < 0) return NULL;
  if (!tg_same_shape(src, idx)) return tg_errp(c, "scatter_add(): Expected index and src to have the same shape");
  const tg_backend *be = tg_backend_of(src);
  if (!be->put_along) return tg_errp(c, "scatter_add is not implemented on %s", be->name);
  tg_tensor *out = tg_tensor_zeros(c, src->dtype, ndim, size);
  if (!out) return NULL;
  if (be->put_along(c, out, src, idx, dim) < 0) {
    tg_tensor_unref(out);
    return NULL;
  }
  if (tg_is_float(src->dtype)) tg_record_indexed(c, &put_kind, &out, 1, &src, dim, idx);
  return out;
}

/* ------------------------------------------------------------------ scans */
static tg_tensor *scan_raw(tg_ctx *c, int kind, bool reverse, tg_tensor *x, int dim) {
  const tg_backend *be = tg_backend_of(x);
  if (!be->scan) return tg_errp(c, "%s is not implemented on %s", kind ? "cumprod" : "cumsum", be->name);
  tg_dtype dt = tg_is_float(x->dtype) ? x->dtype : TG_INT64;
  tg_tensor *out = tg_tensor_empty(c, dt, x->ndim, x->size);
  if (out && be->scan(c, kind, reverse, out, x, x->ndim ? dim : 0) < 0) {
    tg_tensor_unref(out);
    return NULL;
  }
  return out;
}

static tg_tensor *cumsum_dir(tg_ctx *c, tg_tensor *x, int dim, bool reverse);

/* cumsum backward: the reversed cumsum (and the other way round) */
static int cumsum_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  gin[0] = cumsum_dir(c, gout[0], (int)n->ip[0], !n->ip[1]);
  return gin[0] ? 0 : -1;
}

static const tg_node_kind cumsum_kind = {"CumsumBackward0", cumsum_backward, NULL};

static tg_tensor *cumsum_dir(tg_ctx *c, tg_tensor *x, int dim, bool reverse) {
  if (tg_check_dim(c, x, dim) < 0) return NULL;
  tg_tensor *out = scan_raw(c, 0, reverse, x, dim);
  if (!out || !tg_is_float(out->dtype)) return out;
  tg_node *n = tg_record(c, &cumsum_kind, out, 1, &x, 0);
  if (n) {
    n->ip[0] = dim;
    n->ip[1] = reverse;
  }
  return out;
}

tg_tensor *tg_cumsum(tg_ctx *c, tg_tensor *x, int dim) { return cumsum_dir(c, x, dim, false); }

/* the differentiable gradient of cumprod when x holds zeros (create_graph):
 * gx_k = sum_{i >= k} g_i cumprod(x with x_k replaced by 1)_i */
static tg_tensor *cumprod_grad_zeros(tg_ctx *c, tg_tensor *x, tg_tensor *g, int dim) {
  int64_t n = x->size[dim];
  tg_tensor *acc = NULL;
  for (int64_t k = 0; k < n && (k == 0 || acc); k++) {
    int64_t size[TG_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) size[d] = d == dim ? n : 1;
    tg_tensor *e = tg_tensor_zeros(c, x->dtype, x->ndim, size), *tail = tg_tensor_zeros(c, x->dtype, x->ndim, size);
    tg_tensor *t[7] = {0}, *sum = NULL;
    if (e && tail) {
      tg_tensor *ek = tg_narrow(c, e, dim, k, 1), *tk = tg_narrow(c, tail, dim, k, n - k);
      if (ek && tk && tg_fill_raw(c, ek, 1.0) == 0 && tg_fill_raw(c, tk, 1.0) == 0 &&
          (t[0] = tg_binary_scalar(c, TG_OP_SUB, e, 1.0, false, true)) && (t[1] = tg_mul(c, x, t[0])) &&
          (t[2] = tg_add(c, t[1], e)) && (t[3] = tg_cumprod(c, t[2], dim)) && (t[4] = tg_mul(c, t[3], g)) &&
          (t[5] = tg_mul(c, t[4], tail)) && (t[6] = tg_sum(c, t[5], 1, &dim, true))) {
        tg_tensor *term = tg_mul(c, t[6], e);
        sum = term && acc ? tg_add(c, acc, term) : tg_tensor_ref(term);
        tg_tensor_unref(term);
      }
      tg_tensor_unref(ek);
      tg_tensor_unref(tk);
    }
    for (int i = 0; i < 7; i++) tg_tensor_unref(t[i]);
    tg_tensor_unref(e);
    tg_tensor_unref(tail);
    tg_tensor_unref(acc);
    acc = sum;
  }
  return acc;
}

static int cumprod_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  int dim = (int)n->ip[0];
  tg_tensor *x = tg_unpack(c, n, 0), *out = x ? tg_unpack(c, n, 1) : NULL, *g = gout[0];
  if (!out) goto done;
  if (x->ndim == 0 || x->size[dim] <= 1) {
    gin[0] = tg_tensor_ref(g);
  } else if (!c->grad_enabled) { /* first order only: the exact O(n) kernel */
    gin[0] = tg_tensor_empty(c, x->dtype, x->ndim, x->size);
    if (gin[0] && tg_backend_of(x)->cumprod_grad(c, gin[0], x, g, dim) < 0) {
      tg_tensor_unref(gin[0]);
      gin[0] = NULL;
    }
  } else {
    tg_tensor *a = tg_all(c, x, 0, NULL, false, false);
    if (a) {
      bool no_zero = tg_get_flat(a, 0) != 0;
      tg_tensor_unref(a);
      if (no_zero) { /* reversed cumsum of g * out, divided by x */
        tg_tensor *go = tg_mul(c, g, out), *rc = go ? cumsum_dir(c, go, dim, true) : NULL;
        if (rc) gin[0] = tg_div(c, rc, x);
        tg_tensor_unref(go);
        tg_tensor_unref(rc);
      } else {
        gin[0] = cumprod_grad_zeros(c, x, g, dim);
      }
    }
  }
done:
  tg_tensor_unref(x);
  tg_tensor_unref(out);
  return gin[0] ? 0 : -1;
}

static const tg_node_kind cumprod_kind = {"CumprodBackward0", cumprod_backward, NULL};

tg_tensor *tg_cumprod(tg_ctx *c, tg_tensor *x, int dim) {
  if (tg_check_dim(c, x, dim) < 0) return NULL;
  tg_tensor *out = scan_raw(c, 1, false, x, dim);
  if (!out || !tg_is_float(out->dtype)) return out;
  tg_node *n = tg_record(c, &cumprod_kind, out, 1, &x, 2);
  if (n) {
    n->ip[0] = dim;
    if (tg_save(c, n, 0, x, false) < 0 || tg_save(c, n, 1, out, true) < 0) {
      tg_tensor_unref(out);
      return NULL;
    }
  }
  return out;
}

/* ------------------------------------------------------------- sort, topk */
/* the values are x taken along dim at the indices: take_along_dim's backward */
static const tg_node_kind sort_kind = {"SortBackward0", take_backward, NULL};
static const tg_node_kind topk_kind = {"TopkBackward0", take_backward, NULL};

static tg_tensor *sort_impl(tg_ctx *c, tg_tensor *x, int64_t k, int dim, bool descending, bool topk,
                            tg_tensor **indices) {
  if (tg_check_dim(c, x, dim) < 0) return NULL;
  const tg_backend *be = tg_backend_of(x);
  if (!be->sort) return tg_errp(c, "%s is not implemented on %s", topk ? "topk" : "sort", be->name);
  int64_t size[TG_MAX_DIMS];
  memcpy(size, x->size, sizeof(int64_t) * (size_t)x->ndim);
  if (x->ndim) size[dim] = k;
  tg_tensor *v = tg_tensor_empty(c, x->dtype, x->ndim, size);
  tg_tensor *i = v ? tg_tensor_empty(c, TG_INT64, x->ndim, size) : NULL;
  if (!i || be->sort(c, v, i, x, x->ndim ? dim : 0, k, descending) < 0) {
    tg_tensor_unref(v);
    tg_tensor_unref(i);
    return NULL;
  }
  if (tg_is_float(x->dtype)) {
    tg_record_indexed(c, topk ? &topk_kind : &sort_kind, &v, 1, &x, x->ndim ? dim : 0, i);
    if (!v) {
      tg_tensor_unref(i);
      return NULL;
    }
  }
  *indices = i;
  return v;
}

tg_tensor *tg_sort(tg_ctx *c, tg_tensor *x, int dim, bool descending, tg_tensor **indices) {
  if (tg_check_dim(c, x, dim) < 0) return NULL;
  return sort_impl(c, x, x->ndim ? x->size[dim] : 1, dim, descending, false, indices);
}

tg_tensor *tg_topk(tg_ctx *c, tg_tensor *x, int64_t k, int dim, bool largest, tg_tensor **indices) {
  if (tg_check_dim(c, x, dim) < 0) return NULL;
  if (x->dtype == TG_BOOL) return tg_errp(c, "\"topk_cpu\" not implemented for 'Bool'");
  int64_t n = x->ndim ? x->size[dim] : 1;
  if (k < 0 || k > n) return tg_errp(c, "selected index k out of range");
  return sort_impl(c, x, k, dim, largest, true, indices);
}
