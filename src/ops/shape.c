/* shape.c: views that share storage (view, reshape, transpose, permute,
 * squeeze, unsqueeze, expand, select, narrow) and their backward formulas. */
#include <stdio.h>
#include <string.h>

#include "../tg.h"

static tg_tensor *make_view(tg_ctx *c, tg_tensor *x, int nd, const int64_t *size, const int64_t *stride,
                            int64_t offset, const tg_node_kind *kind) {
  tg_tensor *v = tg_tensor_as_strided(c, x, nd, size, stride, offset);
  if (v && kind) tg_record(c, kind, v, 1, &x, 0);
  return v;
}

/* ------------------------------------------------------------- view/reshape */
/* infer one -1 and check the element count */
static int infer_size(tg_ctx *c, int64_t numel, int nd, const int64_t *in, int64_t *out) {
  int neg = -1;
  int64_t prod = 1;
  for (int d = 0; d < nd; d++) {
    if (in[d] == -1) {
      if (neg >= 0) return tg_err(c, "only one dimension can be inferred");
      neg = d;
    } else if (in[d] < 0) {
      return tg_err(c, "invalid shape dimension %lld", (long long)in[d]);
    } else {
      prod *= in[d];
    }
    out[d] = in[d];
  }
  if (neg >= 0 && prod != 0 && numel % prod == 0) out[neg] = numel / prod;
  if ((neg >= 0 && (prod == 0 || numel % prod)) || (neg < 0 && prod != numel)) {
    char buf[256];
    tg_format_shape(buf, sizeof buf, nd, in);
    return tg_err(c, "shape '%s' is invalid for input of size %lld", buf, (long long)numel);
  }
  return 0;
}

/* PyTorch's computeStride: strides for viewing x as size, or false */
static bool view_strides(const tg_tensor *x, int nd, const int64_t *size, int64_t *stride) {
  if (tg_numel(x) == 0 || x->ndim == 0) {
    tg_contiguous_strides(nd, size, stride);
    return true;
  }
  int view_d = nd - 1;
  int64_t chunk_base_stride = x->stride[x->ndim - 1], tensor_numel = 1, view_numel = 1;
  for (int td = x->ndim - 1; td >= 0; td--) {
    tensor_numel *= x->size[td];
    if (td == 0 || (x->size[td - 1] != 1 && x->stride[td - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || size[view_d] == 1)) {
        stride[view_d] = view_numel * chunk_base_stride;
        view_numel *= size[view_d];
        view_d--;
      }
      if (view_numel != tensor_numel) return false;
      if (td > 0) {
        chunk_base_stride = x->stride[td - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

static int view_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  gin[0] = tg_reshape(c, gout[0], n->in[0].ndim, n->in[0].size);
  return gin[0] ? 0 : -1;
}
static const tg_node_kind view_kind = {"ViewBackward0", view_backward, NULL};
static const tg_node_kind unsafe_view_kind = {"UnsafeViewBackward0", view_backward, NULL};

tg_tensor *tg_view(tg_ctx *c, tg_tensor *x, int nd, const int64_t *size) {
  int64_t sz[TG_MAX_DIMS], st[TG_MAX_DIMS];
  if (nd > TG_MAX_DIMS) return tg_errp(c, "too many dimensions (%d)", nd);
  if (infer_size(c, tg_numel(x), nd, size, sz) < 0) return NULL;
  if (!view_strides(x, nd, sz, st))
    return tg_errp(c, "view size is not compatible with input tensor's size and stride (at least one "
                      "dimension spans across two contiguous subspaces). Use .reshape(...) instead.");
  return make_view(c, x, nd, sz, st, x->offset, &view_kind);
}

tg_tensor *tg_reshape(tg_ctx *c, tg_tensor *x, int nd, const int64_t *size) {
  int64_t sz[TG_MAX_DIMS], st[TG_MAX_DIMS];
  if (nd > TG_MAX_DIMS) return tg_errp(c, "too many dimensions (%d)", nd);
  if (infer_size(c, tg_numel(x), nd, size, sz) < 0) return NULL;
  if (view_strides(x, nd, sz, st)) return make_view(c, x, nd, sz, st, x->offset, &view_kind);
  /* not viewable: copy, then view the copy (UnsafeViewBackward0, as PyTorch) */
  bool gm = c->grad_enabled;
  tg_tensor *cp = tg_cast_raw(c, x, x->dtype);
  if (!cp) return NULL;
  tg_contiguous_strides(nd, sz, st);
  tg_tensor *v = tg_tensor_as_strided(c, cp, nd, sz, st, 0);
  tg_tensor_unref(cp);
  if (v && gm) tg_record(c, &unsafe_view_kind, v, 1, &x, 0);
  return v;
}

/* ----------------------------------------------------------- transpose etc */
static int transpose_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  gin[0] = tg_transpose(c, gout[0], (int)n->ip[0], (int)n->ip[1]);
  return gin[0] ? 0 : -1;
}
static const tg_node_kind transpose_kind = {"TransposeBackward0", transpose_backward, NULL};

tg_tensor *tg_transpose(tg_ctx *c, tg_tensor *x, int d0, int d1) {
  int64_t sz[TG_MAX_DIMS], st[TG_MAX_DIMS];
  memcpy(sz, x->size, sizeof sz);
  memcpy(st, x->stride, sizeof st);
  int64_t t = sz[d0]; sz[d0] = sz[d1]; sz[d1] = t;
  t = st[d0]; st[d0] = st[d1]; st[d1] = t;
  tg_tensor *v = tg_tensor_as_strided(c, x, x->ndim, sz, st, x->offset);
  tg_node *n = v ? tg_record(c, &transpose_kind, v, 1, &x, 0) : NULL;
  if (n) n->ip[0] = d0, n->ip[1] = d1;
  return v;
}

static int permute_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  int inv[TG_MAX_DIMS];
  for (int d = 0; d < n->ni; d++) inv[n->ip[d]] = d;
  gin[0] = tg_permute(c, gout[0], inv);
  return gin[0] ? 0 : -1;
}
static const tg_node_kind permute_kind = {"PermuteBackward0", permute_backward, NULL};

tg_tensor *tg_permute(tg_ctx *c, tg_tensor *x, const int *perm) {
  int64_t sz[TG_MAX_DIMS], st[TG_MAX_DIMS];
  bool seen[TG_MAX_DIMS] = {false};
  for (int d = 0; d < x->ndim; d++) {
    if (perm[d] < 0 || perm[d] >= x->ndim || seen[perm[d]])
      return tg_errp(c, "permute(): duplicate or out-of-range dims in the permutation");
    seen[perm[d]] = true;
    sz[d] = x->size[perm[d]];
    st[d] = x->stride[perm[d]];
  }
  tg_tensor *v = tg_tensor_as_strided(c, x, x->ndim, sz, st, x->offset);
  tg_node *n = v ? tg_record(c, &permute_kind, v, 1, &x, 0) : NULL;
  if (n) {
    n->ni = x->ndim;
    for (int d = 0; d < x->ndim; d++) n->ip[d] = perm[d];
  }
  return v;
}

static int unsqueeze_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  gin[0] = tg_reshape(c, gout[0], n->in[0].ndim, n->in[0].size);
  return gin[0] ? 0 : -1;
}
static const tg_node_kind unsqueeze_kind = {"UnsqueezeBackward0", unsqueeze_backward, NULL};
static const tg_node_kind squeeze_all_kind = {"SqueezeBackward0", unsqueeze_backward, NULL};
static const tg_node_kind squeeze_dim_kind = {"SqueezeBackward1", unsqueeze_backward, NULL};

tg_tensor *tg_unsqueeze(tg_ctx *c, tg_tensor *x, int d) {
  int64_t sz[TG_MAX_DIMS], st[TG_MAX_DIMS];
  if (x->ndim + 1 > TG_MAX_DIMS) return tg_errp(c, "too many dimensions");
  if (d < 0 || d > x->ndim) return tg_errp(c, "unsqueeze: dimension out of range");
  for (int i = 0, j = 0; i <= x->ndim; i++) {
    if (i == d) {
      sz[i] = 1;
      st[i] = d < x->ndim ? x->size[d] * x->stride[d] : 1;
    } else {
      sz[i] = x->size[j];
      st[i] = x->stride[j];
      j++;
    }
  }
  return make_view(c, x, x->ndim + 1, sz, st, x->offset, &unsqueeze_kind);
}

tg_tensor *tg_squeeze(tg_ctx *c, tg_tensor *x, int d) {
  int64_t sz[TG_MAX_DIMS], st[TG_MAX_DIMS];
  int k = 0;
  for (int i = 0; i < x->ndim; i++) {
    bool drop = x->size[i] == 1 && (d < 0 || i == d);
    if (!drop) sz[k] = x->size[i], st[k] = x->stride[i], k++;
  }
  return make_view(c, x, k, sz, st, x->offset, d < 0 ? &squeeze_all_kind : &squeeze_dim_kind);
}

static int expand_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  gin[0] = tg_sum_to(c, gout[0], n->in[0].ndim, n->in[0].size);
  return gin[0] ? 0 : -1;
}
static const tg_node_kind expand_kind = {"ExpandBackward0", expand_backward, NULL};

tg_tensor *tg_expand(tg_ctx *c, tg_tensor *x, int nd, const int64_t *size) {
  int64_t sz[TG_MAX_DIMS], st[TG_MAX_DIMS];
  char want[256], have[256];
  if (nd < x->ndim) {
    tg_format_shape(want, sizeof want, nd, size);
    tg_format_shape(have, sizeof have, x->ndim, x->size);
    return tg_errp(c, "expand(size=%s): the number of sizes provided (%d) must be greater or equal to the "
                      "number of dimensions in the tensor (%d)", want, nd, x->ndim);
  }
  for (int i = 0; i < nd; i++) {
    int j = i - (nd - x->ndim);
    int64_t have_sz = j >= 0 ? x->size[j] : 1;
    int64_t want_sz = size[i] == -1 ? have_sz : size[i];
    if (size[i] == -1 && j < 0)
      return tg_errp(c, "The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension %d", i + 1);
    if (have_sz != want_sz && have_sz != 1) {
      tg_format_shape(want, sizeof want, nd, size);
      tg_format_shape(have, sizeof have, x->ndim, x->size);
      return tg_errp(c, "The expanded size of the tensor (%lld) must match the existing size (%lld) at "
                        "non-singleton dimension %d.  Target sizes: %s.  Tensor sizes: %s",
                     (long long)want_sz, (long long)have_sz, i + 1, want, have);
    }
    if (want_sz < 0) return tg_errp(c, "Trying to create tensor with negative dimension %lld", (long long)want_sz);
    sz[i] = want_sz;
    st[i] = (j >= 0 && x->size[j] == want_sz) ? x->stride[j] : 0;
  }
  return make_view(c, x, nd, sz, st, x->offset, &expand_kind);
}

/* ---------------------------------------------------------- select/narrow */
/* backward of select/narrow: zeros of the input's shape with g written into
 * the same region (and its own backward takes the region again) */
static tg_tensor *embed(tg_ctx *c, tg_node *n, tg_tensor *g);
static tg_tensor *region(tg_ctx *c, tg_tensor *x, int kind, int d, int64_t a, int64_t b);

static int embed_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  gin[0] = region(c, gout[0], (int)n->ip[0], (int)n->ip[1], n->ip[2], n->ip[3]);
  return gin[0] ? 0 : -1;
}
static const tg_node_kind select_bb_kind = {"SelectBackwardBackward0", embed_backward, NULL};
static const tg_node_kind slice_bb_kind = {"SliceBackwardBackward0", embed_backward, NULL};

static tg_tensor *embed(tg_ctx *c, tg_node *n, tg_tensor *g) {
  tg_meta *m = &n->in[0];
  tg_tensor *z = tg_tensor_zeros(c, g->dtype, m->ndim, m->size);
  if (!z) return NULL;
  bool gm = c->grad_enabled;
  c->grad_enabled = false;
  tg_tensor *r = region(c, z, (int)n->ip[0], (int)n->ip[1], n->ip[2], n->ip[3]);
  c->grad_enabled = gm;
  int rc = r ? tg_copy_raw(c, r, g) : -1;
  tg_tensor_unref(r);
  if (rc < 0) {
    tg_tensor_unref(z);
    return NULL;
  }
  tg_node *bn = tg_record(c, n->ip[0] == 0 ? &select_bb_kind : &slice_bb_kind, z, 1, &g, 0);
  if (bn) memcpy(bn->ip, n->ip, sizeof bn->ip);
  return z;
}

static int region_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  gin[0] = embed(c, n, gout[0]);
  return gin[0] ? 0 : -1;
}
static const tg_node_kind select_kind = {"SelectBackward0", region_backward, NULL};
static const tg_node_kind slice_kind = {"SliceBackward0", region_backward, NULL};

/* kind 0: select(d, a); kind 1: narrow(d, a, len b) */
static tg_tensor *region(tg_ctx *c, tg_tensor *x, int kind, int d, int64_t a, int64_t b) {
  int64_t sz[TG_MAX_DIMS], st[TG_MAX_DIMS];
  int nd = 0;
  for (int i = 0; i < x->ndim; i++) {
    if (i == d && kind == 0) continue;
    sz[nd] = i == d ? b : x->size[i];
    st[nd] = x->stride[i];
    nd++;
  }
  tg_tensor *v = tg_tensor_as_strided(c, x, nd, sz, st, x->offset + a * x->stride[d]);
  tg_node *n = v ? tg_record(c, kind == 0 ? &select_kind : &slice_kind, v, 1, &x, 0) : NULL;
  if (n) n->ip[0] = kind, n->ip[1] = d, n->ip[2] = a, n->ip[3] = b;
  return v;
}

tg_tensor *tg_select(tg_ctx *c, tg_tensor *x, int d, int64_t i) {
  if (x->ndim == 0) return tg_errp(c, "select() cannot be applied to a 0-dim tensor.");
  int64_t n = x->size[d];
  if (i < -n || i >= n)
    return tg_errp(c, "index %lld is out of bounds for dimension %d with size %lld", (long long)(i < 0 ? i : i + 1),
                   d + 1, (long long)n);
  return region(c, x, 0, d, i < 0 ? i + n : i, 0);
}

tg_tensor *tg_narrow(tg_ctx *c, tg_tensor *x, int d, int64_t start, int64_t len) {
  if (x->ndim == 0) return tg_errp(c, "narrow() cannot be applied to a 0-dim tensor.");
  int64_t n = x->size[d];
  if (start < 0) start += n;
  if (start < 0 || start > n) return tg_errp(c, "start out of range (expected to be in range of [1, %lld], but got %lld)", (long long)n, (long long)(start + 1));
  if (len < 0 || start + len > n)
    return tg_errp(c, "start (%lld) + length (%lld) exceeds dimension size (%lld).", (long long)(start + 1), (long long)len, (long long)n);
  return region(c, x, 1, d, start, len);
}
