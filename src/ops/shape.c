/* shape.c: views that share storage (view, reshape, transpose, permute,
 * squeeze, unsqueeze, expand, select, narrow) and their backward formulas. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../backend/backend.h" /* cuda boundary */
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
  bool zero = false, overflow = false;
  for (int d = 0; d < nd; d++) {
    if (in[d] == -1) {
      if (neg >= 0) return tg_err(c, "only one dimension can be inferred");
      neg = d;
    } else if (in[d] < 0) {
      return tg_err(c, "invalid shape dimension %lld", (long long)in[d]);
    } else if (in[d] == 0) {
      zero = true;
    } else {
      overflow |= __builtin_mul_overflow(prod, in[d], &prod);
    }
    out[d] = in[d];
  }
  if (zero) prod = 0;
  else if (overflow) {
    char buf[256];
    tg_format_shape(buf, sizeof buf, nd, in);
    return tg_err(c, "shape '%s' is invalid for input of size %lld", buf, (long long)numel);
  }
  if (neg >= 0 && prod != 0 && numel % prod == 0) out[neg] = numel / prod;
  if (neg >= 0 && prod == 0 && numel == 0) {
    char buf[256];
    tg_format_shape(buf, sizeof buf, nd, in);
    return tg_err(c, "cannot reshape tensor of 0 elements into shape %s because the unspecified dimension size -1 "
                     "can be any value and is ambiguous", buf);
  }
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

/* act: a view recorded as UnsafeViewBackward0 (PyTorch's _unsafe_view: F.linear's last step) */
tg_tensor *tg_unsafe_view(tg_ctx *c, tg_tensor *x, int nd, const int64_t *size) {
  int64_t sz[TG_MAX_DIMS], st[TG_MAX_DIMS];
  if (nd > TG_MAX_DIMS) return tg_errp(c, "too many dimensions (%d)", nd);
  if (infer_size(c, tg_numel(x), nd, size, sz) < 0) return NULL;
  if (!view_strides(x, nd, sz, st)) return tg_reshape(c, x, nd, size);
  return make_view(c, x, nd, sz, st, x->offset, &unsafe_view_kind);
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

/* t(): the 2-D transpose, a node of its own as in PyTorch (TBackward0) */
static int t_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  (void)n;
  gin[0] = tg_t(c, gout[0]);
  return gin[0] ? 0 : -1;
}
static const tg_node_kind t_kind = {"TBackward0", t_backward, NULL};

tg_tensor *tg_t(tg_ctx *c, tg_tensor *x) {
  if (x->ndim != 2) return tg_errp(c, "t() expects a 2-D tensor here, got %d-D", x->ndim);
  int64_t sz[2] = {x->size[1], x->size[0]}, st[2] = {x->stride[1], x->stride[0]};
  tg_tensor *v = tg_tensor_as_strided(c, x, 2, sz, st, x->offset);
  if (v) tg_record(c, &t_kind, v, 1, &x, 0);
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
    if (perm[d] < 0 || perm[d] >= x->ndim)
      return tg_errp(c, "Dimension out of range (expected to be in range of [%d, %d], but got %d)", -x->ndim, x->ndim,
                     perm[d] < 0 ? perm[d] : perm[d] + 1);
    if (seen[perm[d]]) return tg_errp(c, "permute(): duplicate dims are not allowed.");
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
  if (i < -n || i >= n) {
    char buf[256];
    tg_format_shape(buf, sizeof buf, x->ndim, x->size);
    return tg_errp(c, "select(): index %lld out of range for tensor of size %s at dimension %d",
                   (long long)(i < 0 ? i : i + 1), buf, d + 1);
  }
  return region(c, x, 0, d, i < 0 ? i + n : i, 0);
}

tg_tensor *tg_narrow(tg_ctx *c, tg_tensor *x, int d, int64_t start, int64_t len) {
  if (x->ndim == 0) return tg_errp(c, "narrow() cannot be applied to a 0-dim tensor.");
  int64_t n = x->size[d];
  if (start < 0) start += n;
  if (start < 0 || start > n) return tg_errp(c, "start out of range (expected to be in range of [1, %lld], but got %lld)", (long long)n, (long long)(start + 1));
  if (len < 0 || len > n - start) /* not start + len: no overflow near INT64_MAX */
    return tg_errp(c, "start (%lld) + length (%lld) exceeds dimension size (%lld).", (long long)(start + 1), (long long)len, (long long)n);
  return region(c, x, 1, d, start, len);
}

/* ------------------------------------------------------------ flatten */
tg_tensor *tg_flatten(tg_ctx *c, tg_tensor *x, int start, int end) {
  if (x->ndim == 0) {
    int64_t one = 1;
    return tg_reshape(c, x, 1, &one);
  }
  if (start > end) return tg_errp(c, "flatten() has invalid args: start_dim cannot come after end_dim");
  if (start == end) return tg_tensor_ref(x);
  int64_t sz[TG_MAX_DIMS];
  int k = 0;
  for (int d = 0; d < x->ndim; d++) {
    if (d > start && d <= end) sz[k - 1] *= x->size[d];
    else sz[k++] = x->size[d];
  }
  return tg_reshape(c, x, k, sz);
}

/* a narrow view without autograd */
static tg_tensor *slice_raw(tg_ctx *c, tg_tensor *x, int d, int64_t start, int64_t len) {
  int64_t sz[TG_MAX_DIMS];
  memcpy(sz, x->size, sizeof sz);
  sz[d] = len;
  return tg_tensor_as_strided(c, x, x->ndim, sz, x->stride, x->offset + start * x->stride[d]);
}

static tg_tensor *to_input_dtype(tg_ctx *c, tg_tensor *g, tg_dtype dt) {
  if (!g || g->dtype == dt) return g;
  tg_tensor *r = tg_to_dtype(c, g, dt);
  tg_tensor_unref(g);
  return r;
}

/* ---------------------------------------------------------------- cat */
static bool legacy_empty(const tg_tensor *t) { return t->ndim == 1 && t->size[0] == 0; }

static int cat_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  int d = (int)n->ip[0];
  int64_t off = 0;
  for (int i = 0; i < n->n_in; i++) {
    tg_meta *m = &n->in[i];
    bool skipped = m->ndim != n->out[0].ndim;
    int64_t len = skipped ? 0 : m->size[d];
    if (tg_needs_input_grad(n, i)) {
      gin[i] = skipped ? tg_tensor_zeros(c, m->dtype, m->ndim, m->size)
                       : to_input_dtype(c, tg_narrow(c, gout[0], d, off, len), m->dtype);
      if (!gin[i]) return -1;
    }
    off += len;
  }
  return 0;
}
static const tg_node_kind cat_kind = {"CatBackward0", cat_backward, NULL};

tg_tensor *tg_cat(tg_ctx *c, int n, tg_tensor *const *ts, int d) {
  if (n == 0) return tg_errp(c, "torch.cat(): expected a non-empty list of Tensors");
  const tg_tensor *ref = NULL;
  tg_dtype dt = ts[0]->dtype;
  for (int i = 0; i < n; i++) {
    if (ts[i]->ndim == 0) return tg_errp(c, "zero-dimensional tensor (at position %d) cannot be concatenated", i + 1);
    if (!tg_on_cpu(ts[i])) return tg_errp(c, "cat: only implemented for CPU tensors");
    dt = tg_promote(dt, ts[i]->dtype);
    if (!ref && !legacy_empty(ts[i])) ref = ts[i];
  }
  if (!ref) ref = ts[0];
  if (d < 0 || d >= ref->ndim)
    return tg_errp(c, "Dimension out of range (expected to be in range of [%d, %d], but got %d)", -ref->ndim, ref->ndim, d + 1);
  int64_t sz[TG_MAX_DIMS];
  memcpy(sz, ref->size, sizeof sz);
  sz[d] = 0;
  for (int i = 0; i < n; i++) {
    const tg_tensor *t = ts[i];
    if (legacy_empty(t) && ref->ndim != 1) continue;
    if (t->ndim != ref->ndim)
      return tg_errp(c, "Tensors must have same number of dimensions: got %d and %d", ref->ndim, t->ndim);
    for (int k = 0; k < t->ndim; k++)
      if (k != d && t->size[k] != ref->size[k])
        return tg_errp(c, "Sizes of tensors must match except in dimension %d. Expected size %lld but got size %lld for tensor number %d in the list.",
                       d + 1, (long long)ref->size[k], (long long)t->size[k], i + 1);
    if (__builtin_add_overflow(sz[d], t->size[d], &sz[d]))
      return tg_errp(c, "cat: the sizes of the tensors in dimension %d add up to more than %lld", d + 1,
                     (long long)INT64_MAX);
  }
  tg_tensor *out = tg_tensor_empty(c, dt, ref->ndim, sz);
  if (!out) return NULL;
  int64_t off = 0;
  for (int i = 0; i < n; i++) {
    tg_tensor *t = ts[i];
    if (legacy_empty(t) && ref->ndim != 1) continue;
    tg_tensor *v = slice_raw(c, out, d, off, t->size[d]);
    int rc = v ? tg_copy_raw(c, v, t) : -1;
    tg_tensor_unref(v);
    if (rc < 0) {
      tg_tensor_unref(out);
      return NULL;
    }
    off += t->size[d];
  }
  if (tg_is_float(dt)) {
    tg_node *nd = tg_record(c, &cat_kind, out, n, ts, 0);
    if (nd) nd->ip[0] = d;
  }
  return out;
}

static int stack_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  for (int i = 0; i < n->n_in; i++)
    if (tg_needs_input_grad(n, i) && !(gin[i] = to_input_dtype(c, tg_select(c, gout[0], (int)n->ip[0], i), n->in[i].dtype)))
      return -1;
  return 0;
}
static const tg_node_kind stack_kind = {"StackBackward0", stack_backward, NULL};

tg_tensor *tg_stack(tg_ctx *c, int n, tg_tensor *const *ts, int d) {
  if (n == 0) return tg_errp(c, "stack expects a non-empty TensorList");
  for (int i = 1; i < n; i++)
    if (!tg_same_shape(ts[i], ts[0])) {
      char a[128], b[128];
      tg_format_shape(a, sizeof a, ts[0]->ndim, ts[0]->size);
      tg_format_shape(b, sizeof b, ts[i]->ndim, ts[i]->size);
      return tg_errp(c, "stack expects each tensor to be equal size, but got %s at entry 1 and %s at entry %d", a, b, i + 1);
    }
  if (d < 0 || d > ts[0]->ndim)
    return tg_errp(c, "Dimension out of range (expected to be in range of [%d, %d], but got %d)", -(ts[0]->ndim + 1),
                   ts[0]->ndim + 1, d + 1);
  tg_tensor **u = calloc((size_t)n, sizeof *u), *out = NULL;
  if (!u) return tg_errp(c, "out of memory");
  bool gm = c->grad_enabled;
  c->grad_enabled = false;
  int i;
  for (i = 0; i < n; i++)
    if (!(u[i] = tg_unsqueeze(c, ts[i], d))) break;
  if (i == n) out = tg_cat(c, n, u, d);
  c->grad_enabled = gm;
  tg_free_list(n, u);
  if (out && tg_is_float(out->dtype)) {
    tg_node *nd = tg_record(c, &stack_kind, out, n, ts, 0);
    if (nd) nd->ip[0] = d;
  }
  return out;
}

/* ------------------------------------------------- split, chunk, unbind */
void tg_free_list(int n, tg_tensor **ts) {
  if (!ts) return;
  for (int i = 0; i < n; i++) tg_tensor_unref(ts[i]);
  free(ts);
}

static int split_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  gin[0] = tg_cat(c, n->n_out, gout, (int)n->ip[0]);
  return gin[0] ? 0 : -1;
}
static const tg_node_kind split_kind = {"SplitBackward0", split_backward, NULL};
static const tg_node_kind split_ws_kind = {"SplitWithSizesBackward0", split_backward, NULL};

static int unbind_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  gin[0] = tg_stack(c, n->n_out, gout, (int)n->ip[0]);
  return gin[0] ? 0 : -1;
}
static const tg_node_kind unbind_kind = {"UnbindBackward0", unbind_backward, NULL};

/* one node for all the pieces (PyTorch's multi-output view nodes) */
static int record_multi(tg_ctx *c, const tg_node_kind *kind, tg_tensor *x, int cnt, tg_tensor **outs, int d) {
  for (int i = 0; i < cnt; i++) tg_track_view(c, outs[i], x); /* each piece is a view of x's base */
  if (!tg_any_requires_grad(c, 1, &x)) return 0;
  tg_node *n = tg_node_new(c, kind, 1, cnt, 0);
  if (!n) return -1;
  tg_node_set_input(c, n, 0, x);
  for (int i = 0; i < cnt; i++) tg_node_set_output(n, i, outs[i]);
  n->ip[0] = d;
  tg_node_unref(n);
  return 0;
}

static void format_list(char *buf, size_t len, int n, const int64_t *v) { tg_format_shape(buf, len, n, v); }

/* split/chunk/unbind make one tensor per piece: a count past this (possible on
 * zero-element tensors, whose dims may be near INT64_MAX) is an error, not a hang */
#define TG_MAX_PIECES ((int64_t)1 << 24)
static int too_many_pieces(tg_ctx *c, const char *op, int64_t n) {
  return tg_err(c, "%s: %lld pieces is more than the supported maximum of %lld", op, (long long)n,
                (long long)TG_MAX_PIECES);
}

int tg_split(tg_ctx *c, tg_tensor *x, int d, int n_sizes, const int64_t *sizes, bool with_sizes, tg_tensor ***outs) {
  *outs = NULL;
  if (x->ndim == 0) return tg_err(c, "split expects at least a 1-dimensional tensor");
  if (d < 0 || d >= x->ndim)
    return tg_err(c, "Dimension out of range (expected to be in range of [%d, %d], but got %d)", -x->ndim, x->ndim, d + 1);
  int64_t dimsize = x->size[d], total = 0;
  int cnt;
  if (!with_sizes) {
    int64_t s = sizes[0];
    if (s < 0) return tg_err(c, "split expects split_size be non-negative, but got split_size=%lld", (long long)s);
    if (s == 0 && dimsize != 0)
      return tg_err(c, "split_size can only be 0 if dimension size is 0, but got dimension size of %lld", (long long)dimsize);
    int64_t k = s == 0 ? 1 : dimsize / s + (dimsize % s != 0); /* no dimsize + s - 1 overflow */
    if (k > TG_MAX_PIECES) return too_many_pieces(c, "split", k);
    cnt = (int)(k < 1 ? 1 : k);
  } else {
    cnt = n_sizes;
    bool overflow = false;
    for (int i = 0; i < n_sizes; i++) overflow |= sizes[i] < 0 || __builtin_add_overflow(total, sizes[i], &total);
    if (overflow) total = -1; /* reported as not summing to the dim size (or a negative entry) */
    for (int i = 0; i < n_sizes; i++)
      if (sizes[i] < 0 || total != dimsize) {
        char buf[512];
        format_list(buf, sizeof buf, n_sizes, sizes);
        if (sizes[i] < 0)
          return tg_err(c, "split_with_sizes expects split_sizes have only non-negative entries, but got split_sizes=%s", buf);
        return tg_err(c, "split_with_sizes expects split_sizes to sum exactly to %lld (input tensor's size at dimension %d), but got split_sizes=%s",
                      (long long)dimsize, d + 1, buf);
      }
    if (n_sizes == 0) return tg_err(c, "split_with_sizes expects a non-empty list of sizes");
  }
  if (cnt <= 0) cnt = 1;
  tg_tensor **o = calloc((size_t)cnt, sizeof *o);
  if (!o) return tg_err(c, "out of memory");
  int64_t off = 0;
  for (int i = 0; i < cnt; i++) {
    int64_t len = with_sizes ? sizes[i] : (sizes[0] <= dimsize - off ? sizes[0] : dimsize - off);
    if (!(o[i] = slice_raw(c, x, d, off, len))) {
      tg_free_list(cnt, o);
      return -1;
    }
    off += len;
  }
  if (record_multi(c, with_sizes ? &split_ws_kind : &split_kind, x, cnt, o, d) < 0) {
    tg_free_list(cnt, o);
    return -1;
  }
  *outs = o;
  return cnt;
}

int tg_chunk(tg_ctx *c, tg_tensor *x, int chunks, int d, tg_tensor ***outs) {
  *outs = NULL;
  if (x->ndim == 0) return tg_err(c, "chunk expects at least a 1-dimensional tensor");
  if (chunks <= 0) return tg_err(c, "chunk expects `chunks` to be greater than 0, got: %d", chunks);
  if (d < 0 || d >= x->ndim)
    return tg_err(c, "Dimension out of range (expected to be in range of [%d, %d], but got %d)", -x->ndim, x->ndim, d + 1);
  int64_t dimsize = x->size[d];
  if (dimsize == 0) { /* as PyTorch: `chunks` empty pieces */
    if (chunks > TG_MAX_PIECES) return too_many_pieces(c, "chunk", chunks);
    int64_t *zs = calloc((size_t)chunks, sizeof *zs);
    if (!zs) return tg_err(c, "out of memory");
    int r = tg_split(c, x, d, chunks, zs, true, outs);
    free(zs);
    return r;
  }
  int64_t s = dimsize / chunks + (dimsize % chunks != 0);
  return tg_split(c, x, d, 1, &s, false, outs);
}

int tg_unbind(tg_ctx *c, tg_tensor *x, int d, tg_tensor ***outs) {
  *outs = NULL;
  if (x->ndim == 0) return tg_err(c, "Dimension specified as 1 but tensor has no dimensions");
  if (d < 0 || d >= x->ndim)
    return tg_err(c, "Dimension out of range (expected to be in range of [%d, %d], but got %d)", -x->ndim, x->ndim, d + 1);
  if (x->size[d] > TG_MAX_PIECES) return too_many_pieces(c, "unbind", x->size[d]);
  int cnt = (int)x->size[d];
  tg_tensor **o = calloc((size_t)x->size[d] + 1, sizeof *o);
  if (!o) return tg_err(c, "out of memory");
  int64_t sz[TG_MAX_DIMS], st[TG_MAX_DIMS];
  int k = 0;
  for (int i = 0; i < x->ndim; i++)
    if (i != d) sz[k] = x->size[i], st[k] = x->stride[i], k++;
  for (int i = 0; i < cnt; i++)
    if (!(o[i] = tg_tensor_as_strided(c, x, k, sz, st, x->offset + i * x->stride[d]))) {
      tg_free_list(cnt, o);
      return -1;
    }
  if (cnt && record_multi(c, &unbind_kind, x, cnt, o, d) < 0) {
    tg_free_list(cnt, o);
    return -1;
  }
  *outs = o;
  return cnt;
}

/* ------------------------------------------------------------- repeat */
/* x viewed as (r0, s0, r1, s1, ...) with stride 0 on the r dims is copied;
 * size-1 factors are left out. ip[0..ni) the big shape, dp[0] the bitmask
 * of its repeat dims (summed by the backward). */
static int repeat_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  int64_t big[TG_MAX_DIMS] = {0};
  int dims[TG_MAX_DIMS], nd = 0, nb = n->ni;
  unsigned mask = (unsigned)n->dp[0];
  for (int i = 0; i < nb; i++) {
    big[i] = n->ip[i];
    if (mask & (1u << i)) dims[nd++] = i;
  }
  tg_tensor *r = tg_reshape(c, gout[0], nb, big);
  tg_tensor *s = r && nd ? tg_sum(c, r, nd, dims, false) : tg_tensor_ref(r);
  gin[0] = s ? tg_reshape(c, s, n->in[0].ndim, n->in[0].size) : NULL;
  tg_tensor_unref(r), tg_tensor_unref(s);
  return gin[0] ? 0 : -1;
}
static const tg_node_kind repeat_kind = {"RepeatBackward0", repeat_backward, NULL};

tg_tensor *tg_repeat(tg_ctx *c, tg_tensor *x, int n, const int64_t *reps) {
  if (n < x->ndim)
    return tg_errp(c, "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor");
  int64_t big[TG_MAX_DIMS] = {0}, bst[TG_MAX_DIMS] = {0}, osz[TG_MAX_DIMS];
  unsigned mask = 0;
  int nb = 0, lead = n - x->ndim;
  for (int i = 0; i < n; i++) {
    if (reps[i] < 0) {
      char buf[256];
      tg_format_shape(buf, sizeof buf, n, reps);
      return tg_errp(c, "Trying to create tensor with negative dimension %lld: %s", (long long)reps[i], buf);
    }
    int64_t s = i < lead ? 1 : x->size[i - lead], st = i < lead ? 0 : x->stride[i - lead];
    if (__builtin_mul_overflow(s, reps[i], &osz[i]))
      return tg_errp(c, "repeat: the size of dimension %d (%lld repeated %lld times) overflows", i + 1, (long long)s,
                     (long long)reps[i]);
    if (nb + 2 > TG_MAX_DIMS) return tg_errp(c, "repeat: too many dimensions");
    if (reps[i] != 1) mask |= 1u << nb, big[nb] = reps[i], bst[nb] = 0, nb++;
    if (s != 1) big[nb] = s, bst[nb] = st, nb++;
  }
  tg_tensor view = *x;
  view.ndim = nb;
  memcpy(view.size, big, sizeof(int64_t) * (size_t)nb);
  memcpy(view.stride, bst, sizeof(int64_t) * (size_t)nb);
  tg_tensor *out = tg_tensor_empty(c, x->dtype, nb, big);
  if (!out) return NULL;
  if (tg_numel(out) && tg_copy_raw(c, out, &view) < 0) {
    tg_tensor_unref(out);
    return NULL;
  }
  out->ndim = n; /* contiguous: the final shape is a metadata change */
  memcpy(out->size, osz, sizeof(int64_t) * (size_t)n);
  tg_contiguous_strides(n, osz, out->stride);
  tg_node *nd = tg_is_float(x->dtype) ? tg_record(c, &repeat_kind, out, 1, &x, 0) : NULL;
  if (nd) {
    nd->ni = nb;
    memcpy(nd->ip, big, sizeof(int64_t) * (size_t)nb);
    nd->dp[0] = (double)mask;
  }
  return out;
}

/* --------------------------------------------------------------- flip */
static int flip_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  int dims[TG_MAX_DIMS];
  for (int i = 0; i < n->ni; i++) dims[i] = (int)n->ip[i];
  gin[0] = tg_flip(c, gout[0], n->ni, dims);
  return gin[0] ? 0 : -1;
}
static const tg_node_kind flip_kind = {"FlipBackward0", flip_backward, NULL};

static int check_dim_list(tg_ctx *c, const tg_tensor *x, int n, const int *dims) {
  bool seen[TG_MAX_DIMS] = {false};
  int nd = x->ndim ? x->ndim : 1;
  for (int i = 0; i < n; i++) {
    if (dims[i] < 0 || dims[i] >= nd)
      return tg_err(c, "Dimension out of range (expected to be in range of [%d, %d], but got %d)", -nd, nd, dims[i] + 1);
    if (seen[dims[i]]) return tg_err(c, "dim %d appears multiple times in the list of dims", dims[i] + 1);
    seen[dims[i]] = true;
  }
  return 0;
}

tg_tensor *tg_flip(tg_ctx *c, tg_tensor *x, int n, const int *dims) {
  if (check_dim_list(c, x, n, dims) < 0) return NULL;
  tg_tensor view = *x; /* a negative-stride view, copied */
  for (int i = 0; i < n && x->ndim; i++) {
    int d = dims[i];
    if (x->size[d] > 1) view.offset += (x->size[d] - 1) * x->stride[d], view.stride[d] = -x->stride[d];
  }
  tg_tensor *out = tg_cast_raw(c, &view, x->dtype);
  tg_node *nd = out && tg_is_float(x->dtype) ? tg_record(c, &flip_kind, out, 1, &x, 0) : NULL;
  if (nd) {
    nd->ni = n;
    for (int i = 0; i < n; i++) nd->ip[i] = dims[i];
  }
  return out;
}

/* --------------------------------------------------------------- roll */
/* ip[i] = shift * 32 + dim with the shift normalised to [0, size); ni pairs;
 * ni == 0 rolls the flattened tensor by dp[0] */
static int roll_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  int64_t shifts[TG_MAX_DIMS];
  int dims[TG_MAX_DIMS];
  for (int i = 0; i < n->ni; i++) dims[i] = (int)(n->ip[i] % 32), shifts[i] = -(n->ip[i] / 32);
  if (n->ni == 0) shifts[0] = -(int64_t)n->dp[0];
  gin[0] = tg_roll(c, gout[0], n->ni ? n->ni : 1, shifts, n->ni ? dims : NULL);
  return gin[0] ? 0 : -1;
}
static const tg_node_kind roll_kind = {"RollBackward0", roll_backward, NULL};

/* out = x rolled by s (in [0, size)) along d: a contiguous copy */
static tg_tensor *roll_raw(tg_ctx *c, tg_tensor *x, int64_t s, int d) {
  tg_tensor *out = tg_tensor_empty(c, x->dtype, x->ndim, x->size);
  if (!out) return NULL;
  int64_t n = x->size[d];
  tg_tensor *a = slice_raw(c, out, d, 0, s), *b = slice_raw(c, x, d, n - s, s);
  tg_tensor *a2 = slice_raw(c, out, d, s, n - s), *b2 = slice_raw(c, x, d, 0, n - s);
  int rc = a && b && a2 && b2 ? 0 : -1;
  if (rc == 0 && tg_numel(a)) rc = tg_copy_raw(c, a, b);
  if (rc == 0 && tg_numel(a2)) rc = tg_copy_raw(c, a2, b2);
  tg_tensor_unref(a), tg_tensor_unref(b), tg_tensor_unref(a2), tg_tensor_unref(b2);
  if (rc < 0) {
    tg_tensor_unref(out);
    return NULL;
  }
  return out;
}

tg_tensor *tg_roll(tg_ctx *c, tg_tensor *x, int n, const int64_t *shifts, const int *dims) {
  tg_tensor *out = NULL;
  int64_t flat_shift = 0;
  int64_t packed[TG_MAX_DIMS];
  if (!dims) { /* the flattened tensor, viewed back */
    if (n != 1) return tg_errp(c, "shifts and dimensions must align. shifts: %d, dims:0", n);
    int64_t total = tg_numel(x);
    tg_tensor *flat = tg_tensor_empty(c, x->dtype, x->ndim, x->size); /* a contiguous copy */
    if (!flat) return NULL;
    if (total && tg_copy_raw(c, flat, x) < 0) {
      tg_tensor_unref(flat);
      return NULL;
    }
    flat->ndim = 1, flat->size[0] = total, flat->stride[0] = 1;
    flat_shift = total ? ((shifts[0] % total) + total) % total : 0;
    out = total ? roll_raw(c, flat, flat_shift, 0) : tg_tensor_ref(flat);
    tg_tensor_unref(flat);
    if (!out) return NULL;
    out->ndim = x->ndim;
    memcpy(out->size, x->size, sizeof out->size);
    tg_contiguous_strides(x->ndim, x->size, out->stride);
  } else {
    if (check_dim_list(c, x, n, dims) < 0 || x->ndim == 0) {
      if (x->ndim == 0) tg_err(c, "roll: cannot roll a 0-dim tensor along a dimension");
      return NULL;
    }
    out = tg_tensor_ref(x);
    for (int i = 0; i < n && out; i++) {
      int64_t size = x->size[dims[i]];
      int64_t s = size ? ((shifts[i] % size) + size) % size : 0;
      packed[i] = s * 32 + dims[i];
      if (s == 0 && out != x) continue;
      tg_tensor *r = roll_raw(c, out, s, dims[i]);
      tg_tensor_unref(out);
      out = r;
    }
    if (!out) return NULL;
  }
  tg_node *nd = tg_is_float(x->dtype) ? tg_record(c, &roll_kind, out, 1, &x, 0) : NULL;
  if (nd) {
    nd->ni = dims ? n : 0;
    if (dims) memcpy(nd->ip, packed, sizeof(int64_t) * (size_t)n);
    nd->dp[0] = (double)flat_shift;
  }
  return out;
}

/* ---------------------------------------------------------- tril/triu */
static int tri_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  gin[0] = n->ip[1] ? tg_tril(c, gout[0], n->ip[0]) : tg_triu(c, gout[0], n->ip[0]);
  return gin[0] ? 0 : -1;
}
static const tg_node_kind tril_kind = {"TrilBackward0", tri_backward, NULL};
static const tg_node_kind triu_kind = {"TriuBackward0", tri_backward, NULL};

static tg_tensor *tri(tg_ctx *c, tg_tensor *x, int64_t k, bool lower) {
  if (x->ndim < 2) return tg_errp(c, "%s: input tensor must have at least 2 dimensions", lower ? "tril" : "triu");
  if (!tg_on_cpu(x)) return tg_errp(c, "%s: only implemented for CPU tensors", lower ? "tril" : "triu");
  tg_tensor *out = tg_cast_raw(c, x, x->dtype);
  if (!out) return NULL;
  if (tg_numel(out)) tg_backend_of(out)->tri(c, out, k, lower);
  tg_node *n = tg_is_float(x->dtype) ? tg_record(c, lower ? &tril_kind : &triu_kind, out, 1, &x, 0) : NULL;
  if (n) n->ip[0] = k, n->ip[1] = lower;
  return out;
}

tg_tensor *tg_tril(tg_ctx *c, tg_tensor *x, int64_t k) { return tri(c, x, k, true); }
tg_tensor *tg_triu(tg_ctx *c, tg_tensor *x, int64_t k) { return tri(c, x, k, false); }
