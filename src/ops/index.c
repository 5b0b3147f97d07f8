/* index.c: indexing copies: index_select, index_add, gather, scatter,
 * scatter_add, masked_fill, masked_select, where; forward builders next to
 * their backward formulas (written with differentiable tgrad ops).
 *
 * Index tensors are int64 and hold 1-based values (negative counts from the
 * end), as everywhere in tgrad's Lua API; dims here are 0-based. The kernels
 * are backend slots (the CPU ones in backend/cpu/cpu_index.c). */
#include <stdio.h>
#include <string.h>

#include "../backend/backend.h"
#include "../tg.h"

static int need_cpu(tg_ctx *c, const char *op, const tg_tensor *t) {
  if (!tg_on_cpu(t)) return tg_err(c, "%s: only implemented for CPU tensors (got a %s tensor)", op, tg_backend_of(t)->name);
  return 0;
}

static int need_index(tg_ctx *c, const char *op, const tg_tensor *idx) {
  if (idx->dtype != TG_INT64) return tg_err(c, "%s(): Expected dtype int64 for index", op);
  return need_cpu(c, op, idx);
}

tg_node *tg_record_indexed(tg_ctx *c, const tg_node_kind *kind, tg_tensor **out, int n_in, tg_tensor *const *ins,
                           int dim, tg_tensor *idx) {
  tg_node *n = tg_record(c, kind, *out, n_in, ins, 1);
  if (!n) return NULL;
  n->ip[0] = dim;
  if (tg_save(c, n, 0, idx, false) < 0) {
    tg_tensor_unref(*out);
    *out = NULL;
    return NULL;
  }
  return n;
}

/* a 0-d zero that takes the other operand's dtype (a wrapped Lua number) */
static tg_tensor *wrapped_zero(tg_ctx *c) {
  tg_tensor *z = tg_tensor_scalar(c, TG_INT64, 0);
  if (z) z->wrapped_number = true;
  return z;
}

/* zero-padding of g at the end of each dim up to size (differentiable, via cat) */
static tg_tensor *pad_to(tg_ctx *c, tg_tensor *g, const int64_t *size) {
  tg_tensor *r = tg_tensor_ref(g);
  for (int d = 0; d < g->ndim && r; d++) {
    if (r->size[d] == size[d]) continue;
    int64_t zs[TG_MAX_DIMS];
    memcpy(zs, r->size, sizeof zs);
    zs[d] = size[d] - r->size[d];
    tg_tensor *z = tg_tensor_zeros(c, r->dtype, r->ndim, zs);
    tg_tensor *parts[2] = {r, z};
    tg_tensor *n = z ? tg_cat(c, 2, parts, d) : NULL;
    tg_tensor_unref(z);
    tg_tensor_unref(r);
    r = n;
  }
  return r;
}

/* ------------------------------------------------------------ index_select */
static int index_select_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  tg_tensor *idx = tg_unpack(c, n, 0);
  if (!idx) return -1;
  tg_tensor *z = tg_tensor_zeros(c, gout[0]->dtype, n->in[0].ndim, n->in[0].size);
  gin[0] = z ? tg_index_add(c, z, (int)n->ip[0], idx, gout[0], 1.0) : NULL;
  tg_tensor_unref(z);
  tg_tensor_unref(idx);
  return gin[0] ? 0 : -1;
}
static const tg_node_kind index_select_kind = {"IndexSelectBackward0", index_select_backward, NULL};

static int check_index_vector(tg_ctx *c, const char *op, const tg_tensor *x, int dim, const tg_tensor *idx) {
  if (need_index(c, op, idx) < 0 || need_cpu(c, op, x) < 0) return -1;
  if (idx->ndim > 1) return tg_err(c, "%s(): Index is supposed to be a vector", op);
  if (x->ndim == 0) return tg_err(c, "%s(): cannot be applied to a 0-dim tensor", op);
  if (dim < 0 || dim >= x->ndim)
    return tg_err(c, "Dimension out of range (expected to be in range of [%d, %d], but got %d)", -x->ndim, x->ndim, dim + 1);
  return tg_backend_of(x)->check_index(c, idx, x->size[dim], dim);
}

tg_tensor *tg_index_select(tg_ctx *c, tg_tensor *x, int dim, tg_tensor *idx) {
  if (check_index_vector(c, "index_select", x, dim, idx) < 0) return NULL;
  int64_t sz[TG_MAX_DIMS];
  memcpy(sz, x->size, sizeof sz);
  sz[dim] = tg_numel(idx);
  tg_tensor *out = tg_tensor_empty(c, x->dtype, x->ndim, sz);
  if (!out) return NULL;
  if (tg_numel(out)) tg_backend_of(x)->index_select(c, out, x, dim, idx);
  tg_record_indexed(c, &index_select_kind, &out, 1, &x, dim, idx);
  return out;
}

/* --------------------------------------------------------------- index_add */
static int index_add_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  if (tg_needs_input_grad(n, 0)) gin[0] = tg_tensor_ref(gout[0]);
  if (tg_needs_input_grad(n, 1)) {
    tg_tensor *idx = tg_unpack(c, n, 0);
    tg_tensor *s = idx ? tg_index_select(c, gout[0], (int)n->ip[0], idx) : NULL;
    tg_tensor_unref(idx);
    if (!s) return -1;
    if (n->dp[0] != 1.0) {
      gin[1] = tg_mul_scalar(c, s, n->dp[0]);
      tg_tensor_unref(s);
    } else {
      gin[1] = s;
    }
    if (!gin[1]) return -1;
  }
  return 0;
}
static const tg_node_kind index_add_kind = {"IndexAddBackward0", index_add_backward, NULL};

tg_tensor *tg_index_add(tg_ctx *c, tg_tensor *x, int dim, tg_tensor *idx, tg_tensor *src, double alpha) {
  if (check_index_vector(c, "index_add", x, dim, idx) < 0 || need_cpu(c, "index_add", src) < 0) return NULL;
  if (src->dtype != x->dtype)
    return tg_errp(c, "index_add_(): self (%s) and source (%s) must have the same scalar type", tg_torch_dtype_name(x->dtype),
                   tg_torch_dtype_name(src->dtype));
  int64_t ns = src->ndim ? src->size[src->ndim > dim ? dim : 0] : 1;
  if (src->ndim != x->ndim && !(src->ndim == 0 && x->ndim == 1))
    return tg_errp(c, "index_add_(): Source/destination tensor must have same number of dimensions");
  if (tg_numel(idx) != ns)
    return tg_errp(c, "index_add_(): Number of indices (%lld) should be equal to source.size(dim): (%lld), for dim: %d",
                   (long long)tg_numel(idx), (long long)ns, dim + 1);
  for (int d = 0; d < src->ndim; d++)
    if (d != dim && src->size[d] != x->size[d]) {
      char a[128], b[128];
      tg_format_shape(a, sizeof a, x->ndim, x->size);
      tg_format_shape(b, sizeof b, src->ndim, src->size);
      return tg_errp(c, "index_add_(): source %s and self %s must match in every dimension but dimension %d", b, a, dim + 1);
    }
  tg_tensor *out = tg_cast_raw(c, x, x->dtype);
  if (!out) return NULL;
  if (tg_numel(src)) {
    tg_tensor sv = *src;
    if (src->ndim == 0) sv.ndim = 1, sv.size[0] = 1, sv.stride[0] = 1;
    tg_backend_of(out)->index_add(c, out, dim, idx, &sv, alpha);
  }
  tg_tensor *ins[2] = {x, src};
  tg_node *n = tg_record_indexed(c, &index_add_kind, &out, 2, ins, dim, idx);
  if (n) n->dp[0] = alpha;
  return out;
}

/* ------------------------------------------------------------------ gather */
static int gather_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  tg_tensor *idx = tg_unpack(c, n, 0);
  if (!idx) return -1;
  tg_tensor *z = tg_tensor_zeros(c, gout[0]->dtype, n->in[0].ndim, n->in[0].size);
  gin[0] = z ? tg_scatter_add(c, z, (int)n->ip[0], idx, gout[0]) : NULL;
  tg_tensor_unref(z);
  tg_tensor_unref(idx);
  return gin[0] ? 0 : -1;
}
static const tg_node_kind gather_kind = {"GatherBackward0", gather_backward, NULL};

/* a 0-d tensor as 1-d [1] (gather/scatter treat scalars so) */
static tg_tensor as1d(const tg_tensor *t) {
  tg_tensor v = *t;
  if (v.ndim == 0) v.ndim = 1, v.size[0] = 1, v.stride[0] = 1;
  return v;
}

tg_tensor *tg_gather(tg_ctx *c, tg_tensor *x, int dim, tg_tensor *idx) {
  if (need_index(c, "gather", idx) < 0 || need_cpu(c, "gather", x) < 0 || tg_check_dim(c, x, dim) < 0) return NULL;
  tg_tensor xv = as1d(x), iv = as1d(idx);
  if (xv.ndim != iv.ndim) return tg_errp(c, "Index tensor must have the same number of dimensions as input tensor");
  for (int d = 0; d < xv.ndim; d++)
    if (d != dim && iv.size[d] > xv.size[d]) {
      char a[128], b[128];
      tg_format_shape(a, sizeof a, idx->ndim, idx->size);
      tg_format_shape(b, sizeof b, x->ndim, x->size);
      return tg_errp(c, "Size does not match at dimension %d expected index %s to be no larger than self %s apart from dimension %d",
                     d + 1, a, b, dim + 1);
    }
  if (tg_backend_of(x)->check_index(c, idx, xv.size[dim], dim) < 0) return NULL;
  tg_tensor *out = tg_tensor_empty(c, x->dtype, idx->ndim, idx->size);
  if (!out) return NULL;
  if (tg_numel(out)) {
    tg_tensor ov = as1d(out);
    tg_backend_of(out)->gather(c, &ov, &xv, dim, &iv);
  }
  tg_record_indexed(c, &gather_kind, &out, 1, &x, dim, idx);
  return out;
}

/* ----------------------------------------------------- scatter, scatter_add */
/* ip[0] dim, ip[1] kind: 0 scatter src, 1 scatter value, 2 scatter_add */
static int scatter_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  int dim = (int)n->ip[0], kind = (int)n->ip[1];
  tg_tensor *idx = tg_unpack(c, n, 0), *g = gout[0];
  if (!idx) return -1;
  int rc = -1;
  if (tg_needs_input_grad(n, 0)) {
    gin[0] = kind == 2 ? tg_tensor_ref(g) : tg_scatter_value(c, g, dim, idx, 0.0);
    if (!gin[0]) goto done;
  }
  if (kind != 1 && tg_needs_input_grad(n, 1)) {
    tg_tensor *s = tg_gather(c, g, dim, idx);
    gin[1] = s ? pad_to(c, s, n->in[1].size) : NULL;
    tg_tensor_unref(s);
    if (!gin[1]) goto done;
  }
  rc = 0;
done:
  tg_tensor_unref(idx);
  return rc;
}
static const tg_node_kind scatter_src_kind = {"ScatterBackward0", scatter_backward, NULL};
static const tg_node_kind scatter_value_kind = {"ScatterBackward1", scatter_backward, NULL};
static const tg_node_kind scatter_add_kind = {"ScatterAddBackward0", scatter_backward, NULL};

static tg_tensor *scatter_impl(tg_ctx *c, tg_tensor *x, int dim, tg_tensor *idx, tg_tensor *src, double value, int kind) {
  const char *op = kind == 2 ? "scatter_add" : "scatter";
  if (need_index(c, op, idx) < 0 || need_cpu(c, op, x) < 0 || tg_check_dim(c, x, dim) < 0) return NULL;
  if (src && need_cpu(c, op, src) < 0) return NULL;
  if (src && src->dtype != x->dtype) return tg_errp(c, "%s(): Expected self.dtype to be equal to src.dtype", op);
  tg_tensor xv = as1d(x), iv = as1d(idx), sv;
  if (src) sv = as1d(src);
  if (iv.ndim != xv.ndim || (src && sv.ndim != iv.ndim))
    return tg_errp(c, "Index tensor must have the same number of dimensions as self tensor");
  for (int d = 0; d < xv.ndim; d++)
    if ((d != dim && iv.size[d] > xv.size[d]) || (src && iv.size[d] > sv.size[d])) {
      char a[128], b[128], s[128] = "";
      tg_format_shape(a, sizeof a, idx->ndim, idx->size);
      tg_format_shape(b, sizeof b, x->ndim, x->size);
      if (src) tg_format_shape(s, sizeof s, src->ndim, src->size);
      if (src)
        return tg_errp(c, "Expected index %s to be no larger than self %s apart from dimension %d and to be no larger size than src %s",
                       a, b, dim + 1, s);
      return tg_errp(c, "Expected index %s to be no larger than self %s apart from dimension %d", a, b, dim + 1);
    }
  if (tg_backend_of(x)->check_index(c, idx, xv.size[dim], dim) < 0) return NULL;
  tg_tensor *out = tg_cast_raw(c, x, x->dtype);
  if (!out) return NULL;
  if (tg_numel(idx)) {
    tg_tensor ov = as1d(out);
    tg_backend_of(out)->scatter(c, &ov, dim, &iv, src ? &sv : NULL, value, kind == 2);
  }
  tg_tensor *ins[2] = {x, src};
  const tg_node_kind *k = kind == 0 ? &scatter_src_kind : kind == 1 ? &scatter_value_kind : &scatter_add_kind;
  tg_node *n = tg_record_indexed(c, k, &out, src ? 2 : 1, ins, dim, idx);
  if (n) n->ip[1] = kind;
  return out;
}

tg_tensor *tg_scatter(tg_ctx *c, tg_tensor *x, int dim, tg_tensor *idx, tg_tensor *src) {
  return scatter_impl(c, x, dim, idx, src, 0, 0);
}
tg_tensor *tg_scatter_value(tg_ctx *c, tg_tensor *x, int dim, tg_tensor *idx, double value) {
  return scatter_impl(c, x, dim, idx, NULL, value, 1);
}
tg_tensor *tg_scatter_add(tg_ctx *c, tg_tensor *x, int dim, tg_tensor *idx, tg_tensor *src) {
  return scatter_impl(c, x, dim, idx, src, 0, 2);
}

/* ------------------------------------------------------------------- where */
static int where_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  tg_tensor *cond = tg_unpack(c, n, 0), *z = cond ? wrapped_zero(c) : NULL;
  int rc = -1;
  if (!z) goto done;
  if (tg_needs_input_grad(n, 0) && !(gin[0] = tg_where(c, cond, gout[0], z))) goto done;
  if (tg_needs_input_grad(n, 1) && !(gin[1] = tg_where(c, cond, z, gout[0]))) goto done;
  rc = 0;
done:
  tg_tensor_unref(cond), tg_tensor_unref(z);
  return rc;
}
static const tg_node_kind where_kind = {"WhereBackward0", where_backward, NULL};

/* out = cond ? a : b of dtype dt, all broadcast together (no autograd) */
static tg_tensor *where_raw(tg_ctx *c, tg_tensor *cond, tg_tensor *a, tg_tensor *b, tg_dtype dt) {
  int nd, nd2;
  int64_t s1[TG_MAX_DIMS], shape[TG_MAX_DIMS];
  if (tg_broadcast_shapes(c, a->ndim, a->size, b->ndim, b->size, &nd, s1) < 0) return NULL;
  if (tg_broadcast_shapes(c, cond->ndim, cond->size, nd, s1, &nd2, shape) < 0) return NULL;
  tg_tensor cv, av, bv, *hc, *ha = NULL, *hb = NULL, *out = NULL;
  if (tg_operand_view(c, cond, TG_BOOL, nd2, shape, &cv, &hc) < 0) return NULL;
  if (tg_operand_view(c, a, dt, nd2, shape, &av, &ha) < 0 || tg_operand_view(c, b, dt, nd2, shape, &bv, &hb) < 0)
    goto done;
  out = tg_tensor_empty(c, dt, nd2, shape);
  if (out && tg_numel(out)) tg_backend_of(out)->where(c, out, &cv, &av, &bv);
done:
  tg_tensor_unref(hc), tg_tensor_unref(ha), tg_tensor_unref(hb);
  return out;
}

tg_tensor *tg_where(tg_ctx *c, tg_tensor *cond, tg_tensor *a, tg_tensor *b) {
  if (cond->dtype != TG_BOOL)
    return tg_errp(c, "where expected condition to be a boolean tensor, but got a tensor with dtype %s", tg_torch_dtype_name(cond->dtype));
  if (need_cpu(c, "where", cond) < 0 || need_cpu(c, "where", a) < 0 || need_cpu(c, "where", b) < 0) return NULL;
  tg_tensor *out = where_raw(c, cond, a, b, tg_result_type(a, b));
  if (!out || !tg_is_float(out->dtype)) return out;
  tg_tensor *ins[2] = {a, b};
  tg_node *n = tg_record(c, &where_kind, out, 2, ins, 1);
  if (n && tg_save(c, n, 0, cond, false) < 0) {
    tg_tensor_unref(out);
    return NULL;
  }
  return out;
}

/* ------------------------------------------------------------- masked_fill */
static int masked_fill_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  tg_tensor *mask = tg_unpack(c, n, 0), *z = mask ? wrapped_zero(c) : NULL, *t = NULL;
  int rc = -1;
  if (!z) goto done;
  if (tg_needs_input_grad(n, 0) && !(gin[0] = tg_where(c, mask, z, gout[0]))) goto done;
  if (n->n_in > 1 && tg_needs_input_grad(n, 1)) { /* value: the sum of g where mask */
    if (!(t = tg_where(c, mask, gout[0], z)) || !(gin[1] = tg_sum(c, t, 0, NULL, false))) goto done;
  }
  rc = 0;
done:
  tg_tensor_unref(mask), tg_tensor_unref(z), tg_tensor_unref(t);
  return rc;
}
static const tg_node_kind masked_fill_kind = {"MaskedFillBackward0", masked_fill_backward, NULL};
static const tg_node_kind masked_fill_t_kind = {"MaskedFillBackward1", masked_fill_backward, NULL};

tg_tensor *tg_masked_fill(tg_ctx *c, tg_tensor *x, tg_tensor *mask, tg_tensor *value) {
  if (mask->dtype != TG_BOOL)
    return tg_errp(c, "masked_fill_ only supports boolean masks, but got mask with dtype %s",
                   mask->dtype == TG_FLOAT32 ? "float" : mask->dtype == TG_FLOAT64 ? "double" : "long int");
  if (value->ndim != 0)
    return tg_errp(c, "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with %d dimension(s).", value->ndim);
  if (need_cpu(c, "masked_fill", x) < 0 || need_cpu(c, "masked_fill", mask) < 0 || need_cpu(c, "masked_fill", value) < 0)
    return NULL;
  tg_tensor *out = where_raw(c, mask, value, x, x->dtype);
  if (!out || !tg_is_float(out->dtype)) return out;
  bool vt = !value->wrapped_number;
  tg_tensor *ins[2] = {x, value};
  tg_node *n = tg_record(c, vt ? &masked_fill_t_kind : &masked_fill_kind, out, vt ? 2 : 1, ins, 1);
  if (n && tg_save(c, n, 0, mask, false) < 0) {
    tg_tensor_unref(out);
    return NULL;
  }
  return out;
}

/* ----------------------------------------------------------- masked_select */
/* saved: the 1-based flat positions; ip: the broadcast shape */
static int masked_select_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  tg_tensor *pos = tg_unpack(c, n, 0);
  if (!pos) return -1;
  int nd = (int)n->ni;
  int64_t shape[TG_MAX_DIMS], total = 1;
  for (int d = 0; d < nd; d++) shape[d] = n->ip[d], total *= shape[d];
  tg_tensor *z = tg_tensor_zeros(c, gout[0]->dtype, 1, &total);
  tg_tensor *f = z ? tg_index_add(c, z, 0, pos, gout[0], 1.0) : NULL;
  gin[0] = f ? tg_reshape(c, f, nd, shape) : NULL;
  tg_tensor_unref(pos), tg_tensor_unref(z), tg_tensor_unref(f);
  return gin[0] ? 0 : -1;
}
static const tg_node_kind masked_select_kind = {"MaskedSelectBackward0", masked_select_backward, NULL};

tg_tensor *tg_masked_select(tg_ctx *c, tg_tensor *x, tg_tensor *mask) {
  if (mask->dtype != TG_BOOL) return tg_errp(c, "masked_select: expected BoolTensor for mask");
  if (need_cpu(c, "masked_select", x) < 0 || need_cpu(c, "masked_select", mask) < 0) return NULL;
  int nd;
  int64_t shape[TG_MAX_DIMS];
  if (tg_broadcast_shapes(c, x->ndim, x->size, mask->ndim, mask->size, &nd, shape) < 0) return NULL;
  tg_tensor mv, *hm;
  if (tg_operand_view(c, mask, TG_BOOL, nd, shape, &mv, &hm) < 0) return NULL;
  tg_tensor *pos = tg_backend_of(mask)->mask_positions(c, &mv), *flat = NULL, *out = NULL;
  int64_t total = tg_shape_numel(nd, shape);
  if (!pos) goto done;
  flat = tg_tensor_empty(c, x->dtype, nd, shape); /* x broadcast, contiguous */
  if (!flat || (total && tg_copy_raw(c, flat, x) < 0)) goto done;
  flat->ndim = 1, flat->size[0] = total, flat->stride[0] = 1;
  out = tg_tensor_empty(c, x->dtype, 1, pos->size);
  if (out && tg_numel(out)) tg_backend_of(flat)->index_select(c, out, flat, 0, pos);
  tg_node *n = out ? tg_record(c, &masked_select_kind, out, 1, &x, 1) : NULL;
  if (n) {
    n->ni = nd;
    for (int d = 0; d < nd; d++) n->ip[d] = shape[d];
    if (tg_save(c, n, 0, pos, false) < 0) {
      tg_tensor_unref(out);
      out = NULL;
    }
  }
done:
  tg_tensor_unref(hm), tg_tensor_unref(pos), tg_tensor_unref(flat);
  return out;
}

tg_tensor *tg_mask_positions(tg_ctx *c, tg_tensor *mask) {
  if (mask->dtype != TG_BOOL) return tg_errp(c, "expected a bool mask, got %s", tg_dtype_name(mask->dtype));
  if (need_cpu(c, "nonzero", mask) < 0) return NULL;
  return tg_backend_of(mask)->mask_positions(c, mask);
}
