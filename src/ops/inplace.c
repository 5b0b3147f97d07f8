/* inplace.c: in-place ops on top of the out-of-place ones (PyTorch's
 * semantics): the leaf check, version bumps, history rebasing, and
 * CopySlices for writes through a view.
 *
 * An in-place op computes r = op(self, ...) out of place (recorded as usual),
 * then tg_inplace_commit writes r into self and makes self's grad_fn r's.
 * When self is a view of a base that is part of a graph, the base's history
 * becomes CopySlices(base_old, r): the base's gradient is g with the view's
 * region zeroed, and r's is the region of g (PyTorch's CopySlices, written
 * with two linear ops whose backward formulas are each other). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../backend/backend.h"
#include "../tg.h"
#include "binary_fast.h" /* perop2 */

static const char *MSG_LEAF = "a leaf Variable that requires grad is being used in an in-place operation.";

int tg_check_inplace(tg_ctx *c, tg_tensor *t) {
  if (t->view_base) tg_view_refresh(c, t);
  if (c->grad_enabled && t->view_base && t->view_meta != TG_VIEW_DEFAULT &&
      (tg_requires_grad(t) || tg_requires_grad(t->view_base)))
    return tg_view_meta_error(c, t, (t->view_meta & TG_VIEW_INVALID) != 0);
  if (c->grad_enabled) {
    if (t->requires_grad && !t->grad_fn) return tg_err(c, "%s", MSG_LEAF);
    tg_tensor *b = t->view_base;
    if (b && b->requires_grad && !b->grad_fn)
      return tg_err(c, "a view of a leaf Variable that requires grad is being used in an in-place operation.");
  }
  for (int d = 0; d < t->ndim; d++)
    if (t->size[d] > 1 && t->stride[d] == 0)
      return tg_err(c, "unsupported operation: more than one element of the written-to tensor refers to a single "
                       "memory location. Please clone() the tensor before performing the operation.");
  return 0;
}

/* ------------------------------------------------------------ view geometry */
typedef struct geom {
  int bnd, vnd;
  int64_t bsize[TG_MAX_DIMS], bstride[TG_MAX_DIMS];
  int64_t vsize[TG_MAX_DIMS], vstride[TG_MAX_DIMS], voff; /* voff: from the base's offset */
} geom;

/* strides that cover numel elements exactly once (any dim order) */
static bool dense(const tg_tensor *b) {
  int idx[TG_MAX_DIMS], k = 0;
  for (int d = 0; d < b->ndim; d++) {
    if (b->size[d] == 0) return true;
    if (b->size[d] > 1) idx[k++] = d;
  }
  for (int i = 1; i < k; i++) /* insertion sort by stride */
    for (int j = i; j > 0 && b->stride[idx[j - 1]] > b->stride[idx[j]]; j--) {
      int t = idx[j]; idx[j] = idx[j - 1]; idx[j - 1] = t;
    }
  int64_t expect = 1;
  for (int i = 0; i < k; i++) {
    if (b->stride[idx[i]] != expect) return false;
    expect *= b->size[idx[i]];
  }
  return true;
}

static int make_geom(tg_ctx *c, const tg_tensor *v, const tg_tensor *b, geom *g) {
  if (!dense(b) || v->offset < b->offset)
    return tg_err(c, "in-place operation on a view of a tensor whose memory is not dense is not supported; "
                     "clone() the base first");
  g->bnd = b->ndim;
  memcpy(g->bsize, b->size, sizeof(int64_t) * (size_t)b->ndim);
  memcpy(g->bstride, b->stride, sizeof(int64_t) * (size_t)b->ndim);
  g->vnd = v->ndim;
  memcpy(g->vsize, v->size, sizeof(int64_t) * (size_t)v->ndim);
  memcpy(g->vstride, v->stride, sizeof(int64_t) * (size_t)v->ndim);
  g->voff = v->offset - b->offset;
  return 0;
}

static geom *geom_dup(tg_ctx *c, const geom *g) {
  geom *d = malloc(sizeof *d);
  if (!d) return tg_errp(c, "out of memory");
  *d = *g;
  return d;
}

/* an uninitialised tensor of the base's shape laid out as the base */
static tg_tensor *base_layout(tg_ctx *c, tg_dtype dt, const geom *g) {
  int64_t n = tg_shape_numel(g->bnd, g->bsize);
  tg_tensor *flat = tg_tensor_empty(c, dt, 1, &n);
  if (!flat) return NULL;
  tg_tensor *t = tg_tensor_as_strided(c, flat, g->bnd, g->bsize, g->bstride, 0);
  tg_tensor_unref(flat);
  return t;
}

static tg_tensor *region_of(tg_ctx *c, tg_tensor *t, const geom *g) {
  return tg_tensor_as_strided(c, t, g->vnd, g->vsize, g->vstride, g->voff);
}

/* the view's region of x (x has the base's shape), as a new tensor */
static tg_tensor *take_raw(tg_ctx *c, tg_tensor *x, const geom *g) {
  tg_tensor *tmp = base_layout(c, x->dtype, g), *v = NULL, *out = NULL;
  if (tmp && tg_copy_raw(c, tmp, x) == 0 && (v = region_of(c, tmp, g))) out = tg_cast_raw(c, v, v->dtype);
  tg_tensor_unref(v);
  tg_tensor_unref(tmp);
  return out;
}

/* zeros of the base's shape with x (the view's shape) written into the region */
static tg_tensor *put_raw(tg_ctx *c, tg_tensor *x, const geom *g) {
  tg_tensor *tmp = base_layout(c, x->dtype, g), *v = NULL;
  int rc = -1;
  if (tmp && tg_fill_raw(c, tmp, 0) == 0 && (v = region_of(c, tmp, g))) rc = tg_copy_raw(c, v, x);
  tg_tensor_unref(v);
  if (rc < 0) {
    tg_tensor_unref(tmp);
    return NULL;
  }
  return tmp;
}

static tg_tensor *region_take(tg_ctx *c, tg_tensor *x, const geom *g);
static tg_tensor *region_put(tg_ctx *c, tg_tensor *x, const geom *g);

static int take_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  gin[0] = region_put(c, gout[0], n->aux);
  return gin[0] ? 0 : -1;
}
static int put_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  gin[0] = region_take(c, gout[0], n->aux);
  return gin[0] ? 0 : -1;
}
static const tg_node_kind take_kind = {"AsStridedBackward0", take_backward, NULL};
static const tg_node_kind put_kind = {"AsStridedScatterBackward0", put_backward, NULL};

static tg_tensor *record_geom(tg_ctx *c, const tg_node_kind *k, tg_tensor *out, tg_tensor *x, const geom *g) {
  if (!out) return NULL;
  tg_node *n = tg_record(c, k, out, 1, &x, 0);
  if (n && !(n->aux = geom_dup(c, g))) {
    tg_tensor_unref(out);
    return NULL;
  }
  return out;
}

static tg_tensor *region_take(tg_ctx *c, tg_tensor *x, const geom *g) {
  return record_geom(c, &take_kind, take_raw(c, x, g), x, g);
}
static tg_tensor *region_put(tg_ctx *c, tg_tensor *x, const geom *g) {
  return record_geom(c, &put_kind, put_raw(c, x, g), x, g);
}

int tg_view_regenerate(tg_ctx *c, tg_tensor *t, tg_tensor *b) {
  geom g;
  if (make_geom(c, t, b, &g) < 0) return -1;
  tg_node *n = tg_node_new(c, &take_kind, 1, 1, 0);
  if (!n) return -1;
  if (!(n->aux = geom_dup(c, &g))) {
    tg_node_unref(n);
    return -1;
  }
  tg_node_set_input(c, n, 0, b);
  tg_node_set_output(n, 0, t);
  tg_node_unref(n); /* t holds it */
  return 0;
}

/* CopySlices: inputs (base's old history, the value written into the view) */
static int copy_slices_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  const geom *g = n->aux;
  tg_tensor *gr = region_take(c, gout[0], g);
  if (!gr) return -1;
  if (tg_needs_input_grad(n, 0)) {
    tg_tensor *back = region_put(c, gr, g);
    gin[0] = back ? tg_sub(c, gout[0], back) : NULL;
    tg_tensor_unref(back);
    if (!gin[0]) {
      tg_tensor_unref(gr);
      return -1;
    }
  }
  if (tg_needs_input_grad(n, 1)) gin[1] = gr;
  else tg_tensor_unref(gr);
  return 0;
}
static const tg_node_kind copy_slices_kind = {"CopySlices", copy_slices_backward, NULL};

static void move_retained(tg_tensor *self, tg_node *fn, int nr) {
  tg_node *old = self->grad_fn;
  if (!self->retains_grad) return;
  if (old && old->retained && old->retained[self->output_nr] == self) old->retained[self->output_nr] = NULL;
  if (!fn->retained) fn->retained = calloc((size_t)fn->n_out, sizeof *fn->retained);
  if (fn->retained) fn->retained[nr] = self;
  else self->retains_grad = false;
}

int tg_rebase_history(tg_ctx *c, tg_tensor *self, tg_node *fn, int nr) {
  tg_tensor *b = self->view_base;
  if (!b) {
    move_retained(self, fn, nr);
    tg_node_ref(fn);
    tg_node_unref(self->grad_fn);
    self->grad_fn = fn;
    self->output_nr = nr;
    self->requires_grad = false;
    return 0;
  }
  geom g;
  if (make_geom(c, self, b, &g) < 0) return -1;
  tg_node *cs = tg_node_new(c, &copy_slices_kind, 2, 1, 0);
  if (!cs) return -1;
  if (!(cs->aux = geom_dup(c, &g))) {
    tg_node_unref(cs);
    return -1;
  }
  tg_node_set_input(c, cs, 0, b);
  cs->next[1].fn = tg_node_ref(fn);
  cs->next[1].input_nr = nr;
  cs->in[1].dtype = self->dtype;
  cs->in[1].ndim = self->ndim;
  memcpy(cs->in[1].size, self->size, sizeof(int64_t) * (size_t)self->ndim);
  tg_node_set_output(cs, 0, b);
  tg_node_unref(cs); /* b holds it */
  if (tg_view_regenerate(c, self, b) < 0) return -1;
  self->view_stamp = tg_fn_stamp(b);
  return 0;
}

/* ------------------------------------------------------------------ commit */
static int category(tg_dtype d) { return d == TG_BOOL ? 0 : d == TG_INT64 ? 1 : 2; }

/* Saved tensors that alias self and still hold the value they were saved
 * with (same version) get a private copy of it before self is overwritten:
 * the nodes that saved them stay correct (PyTorch's in-place formulas save
 * "original self" the same way), and no saved view keeps self's base alive
 * through its own new history (no cycle). Searched: the nodes reachable from
 * the result made since self's base was computed (or since the op began). */
static bool aliases_self(const tg_tensor *d, const tg_tensor *self) {
  return d->storage == self->storage && !(d->requires_grad && !d->grad_fn);
}

typedef struct ptrset { const void **slot; size_t cap, n; } ptrset;

static bool ptrset_add(ptrset *s, const void *p) { /* true when newly added */
  if ((s->n + 1) * 2 > s->cap) {
    size_t ncap = s->cap ? s->cap * 2 : 64;
    const void **ns = calloc(ncap, sizeof *ns);
    if (!ns) return false;
    for (size_t i = 0; i < s->cap; i++) {
      if (!s->slot[i]) continue;
      size_t j = ((uintptr_t)s->slot[i] >> 4) & (ncap - 1);
      while (ns[j]) j = (j + 1) & (ncap - 1);
      ns[j] = s->slot[i];
    }
    free(s->slot);
    s->slot = ns;
    s->cap = ncap;
  }
  size_t j = ((uintptr_t)p >> 4) & (s->cap - 1);
  while (s->slot[j]) {
    if (s->slot[j] == p) return false;
    j = (j + 1) & (s->cap - 1);
  }
  s->slot[j] = p;
  s->n++;
  return true;
}

static int preserve_saved(tg_ctx *c, tg_node *start, tg_tensor *self, uint64_t seq0) {
  /* only nodes made by this op: a node made before it that saved self (an input,
   * or an output as sigmoid/exp/tanh save theirs) must see the version bump and
   * refuse at backward, as PyTorch does */
  uint64_t seq_min = seq0;
  if (!start || start->seq < seq_min || start->variable) return 0;
  ptrset seen = {0};
  size_t sp = 0, cap = 64;
  tg_node **stack = malloc(sizeof *stack * cap);
  int rc = 0;
  if (!stack || !ptrset_add(&seen, start)) rc = tg_err(c, "out of memory");
  else stack[sp++] = start;
  while (sp > 0 && rc == 0) {
    tg_node *n = stack[--sp];
    for (int i = 0; i < n->n_saved && !n->freed; i++) {
      tg_saved *s = &n->saved[i];
      tg_tensor *d = s->data;
      if (!d || !aliases_self(d, self) || s->version != d->storage->version) continue;
      tg_tensor *cp = tg_cast_raw(c, d, d->dtype);
      if (!cp) { rc = -1; break; }
      cp->grad_fn = tg_node_ref(d->grad_fn);
      cp->output_nr = d->output_nr;
      cp->requires_grad = d->requires_grad;
      s->data = cp;
      s->version = cp->storage->version;
      tg_tensor_unref(d);
    }
    for (int i = 0; i < n->n_in && rc == 0; i++) {
      tg_node *m = n->next[i].fn;
      if (!m || m->seq < seq_min || m->variable || !ptrset_add(&seen, m)) continue;
      if (sp == cap) {
        tg_node **big = realloc(stack, sizeof *big * cap * 2);
        if (!big) { rc = tg_err(c, "out of memory"); break; }
        stack = big;
        cap *= 2;
      }
      stack[sp++] = m;
    }
  }
  free(stack);
  free(seen.slot);
  return rc;
}

int tg_inplace_commit(tg_ctx *c, tg_tensor *self, tg_tensor *r, uint64_t seq0) {
  if (r == self) return 0;
  if (!tg_same_shape(r, self)) {
    int nd;
    int64_t bs[TG_MAX_DIMS];
    char a[160], b[160];
    if (tg_broadcast_shapes(c, self->ndim, self->size, r->ndim, r->size, &nd, bs) < 0) return -1;
    if (nd != self->ndim || memcmp(bs, self->size, sizeof(int64_t) * (size_t)nd)) {
      tg_format_shape(a, sizeof a, self->ndim, self->size);
      tg_format_shape(b, sizeof b, nd, bs);
      return tg_err(c, "output with shape %s doesn't match the broadcast shape %s", a, b);
    }
  }
  if (category(r->dtype) > category(self->dtype))
    return tg_err(c, "result type %s can't be cast to the desired output type %s", tg_torch_dtype_name(r->dtype),
                  tg_torch_dtype_name(self->dtype));
  bool rec = c->grad_enabled && tg_requires_grad(r) && tg_is_float(self->dtype);
  tg_tensor *w = tg_tensor_ref(r);
  int rc = -1;
  if (rec) {
    if (w->dtype != self->dtype) {
      tg_tensor *t = tg_to_dtype(c, w, self->dtype);
      tg_tensor_unref(w);
      if (!(w = t)) return -1;
    }
    if (!tg_same_shape(w, self)) {
      tg_tensor *t = tg_expand(c, w, self->ndim, self->size);
      tg_tensor_unref(w);
      if (!(w = t)) return -1;
    }
    if (self->view_base && self->view_meta != TG_VIEW_DEFAULT) { /* the other operand requires grad */
      rc = tg_view_meta_error(c, self, false);
      goto out;
    }
    if (preserve_saved(c, w->grad_fn, self, seq0) < 0) goto out;
  }
  if (tg_copy_raw(c, self, w) < 0) goto out;
  tg_bump_version(self);
  rc = rec ? tg_rebase_history(c, self, w->grad_fn, w->output_nr) : 0;
out:
  tg_tensor_unref(w);
  return rc;
}

/* ------------------------------------------------------------------- ops */
static bool recording(tg_ctx *c, tg_tensor *a, tg_tensor *b) {
  tg_tensor *ts[2] = {a, b};
  return tg_any_requires_grad(c, b ? 2 : 1, ts);
}

int tg_unary_(tg_ctx *c, tg_op op, tg_tensor *self) {
  if (tg_check_inplace(c, self) < 0) return -1;
  bool same_dtype = tg_is_float(self->dtype) || (self->dtype == TG_INT64 && tg_op_infos[op].int_ok);
  if (!recording(c, self, NULL) && same_dtype && tg_is_contiguous(self) &&
      tg_backend_of(self)->supports(TG_K_UNARY, op, self->dtype)) {
    if (tg_numel(self) && tg_backend_of(self)->unary(c, op, self, self) < 0) return -1;
    tg_bump_version(self);
    return 0;
  }
  uint64_t seq0 = c->seq;
  tg_tensor *r = tg_unary(c, op, self);
  if (!r) return -1;
  int rc = tg_inplace_commit(c, self, r, seq0);
  tg_tensor_unref(r);
  return rc;
}

/* self op= alpha * other (alpha only for add/sub; 1 otherwise) */
int tg_binary_(tg_ctx *c, tg_op op, tg_tensor *self, tg_tensor *other, double alpha) {
  if (tg_check_inplace(c, self) < 0) return -1;
  uint64_t seq0 = c->seq;
  tg_tensor *o = tg_tensor_ref(other), *r = NULL;
  if (alpha != 1.0) {
    tg_tensor *t = tg_binary_scalar(c, TG_OP_MUL, other, alpha, alpha == (double)(int64_t)alpha, false);
    tg_tensor_unref(o);
    if (!(o = t)) return -1;
  }
  int fast = tg_binary_inplace_fast(c, op, self, o); /* perop2: one shape and dtype, contiguous */
  if (fast) {
    tg_tensor_unref(o);
    if (fast < 0) return -1;
    tg_bump_version(self);
    return 0;
  }
  if (!recording(c, self, o) && tg_op_infos[op].kind == TG_KIND_ARITH && tg_result_type(self, o) == self->dtype &&
      !(op == TG_OP_DIV && !tg_is_float(self->dtype)) && tg_backend_of(self) == tg_backend_of(o) &&
      tg_backend_of(self)->supports(TG_K_BINARY, op, self->dtype)) {
    /* the kernel reads a[i], b[i] before writing out[i]: safe with out == a */
    tg_tensor ov, *hold;
    int nd;
    int64_t bs[TG_MAX_DIMS];
    int rc = tg_broadcast_shapes(c, self->ndim, self->size, o->ndim, o->size, &nd, bs);
    if (rc == 0 && nd == self->ndim && !memcmp(bs, self->size, sizeof(int64_t) * (size_t)nd) &&
        o->storage->data != self->storage->data) { /* same memory: also after x.data = y */
      rc = tg_operand_view(c, o, self->dtype, nd, bs, &ov, &hold);
      if (rc == 0 && tg_numel(self)) rc = tg_backend_of(self)->binary(c, op, self, self, &ov);
      tg_tensor_unref(hold);
      tg_tensor_unref(o);
      if (rc == 0) tg_bump_version(self);
      return rc;
    }
  }
  r = tg_binary(c, op, self, o);
  tg_tensor_unref(o);
  if (!r) return -1;
  int rc = tg_inplace_commit(c, self, r, seq0);
  tg_tensor_unref(r);
  return rc;
}

/* fill_/zero_: the value does not depend on self: its gradient is zero */
static int fill_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  (void)n;
  gin[0] = tg_mul_scalar(c, gout[0], 0.0);
  return gin[0] ? 0 : -1;
}
static const tg_node_kind fill_kind = {"FillBackward0", fill_backward, NULL};
static const tg_node_kind zero_kind = {"ZeroBackward0", fill_backward, NULL};

static int fill_impl(tg_ctx *c, tg_tensor *t, double v, const tg_node_kind *k) {
  if (tg_check_inplace(c, t) < 0) return -1;
  if (!recording(c, t, NULL)) {
    if (tg_fill_raw(c, t, v) < 0) return -1;
    tg_bump_version(t);
    return 0;
  }
  uint64_t seq0 = c->seq;
  tg_tensor *r = tg_tensor_full(c, t->dtype, t->ndim, t->size, v);
  if (!r) return -1;
  tg_record(c, k, r, 1, &t, 0);
  int rc = tg_inplace_commit(c, t, r, seq0);
  tg_tensor_unref(r);
  return rc;
}

int tg_fill_(tg_ctx *c, tg_tensor *t, double v) { return fill_impl(c, t, v, &fill_kind); }
int tg_zero_(tg_ctx *c, tg_tensor *t) { return fill_impl(c, t, 0.0, &zero_kind); }

/* copy_: self gets no gradient (its old value is gone), src gets g summed
 * to its shape and cast to its dtype (the engine does both) */
static int copy_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  if (tg_needs_input_grad(n, 0) && !(gin[0] = tg_mul_scalar(c, gout[0], 0.0))) return -1;
  if (tg_needs_input_grad(n, 1)) gin[1] = tg_tensor_ref(gout[0]);
  return 0;
}
static const tg_node_kind copy_kind = {"CopyBackwards", copy_backward, NULL};

/* the byte range [lo, hi] that t's elements span in its storage */
static void byte_span(const tg_tensor *t, int64_t *lo, int64_t *hi) {
  int64_t a = t->offset, b = t->offset;
  for (int d = 0; d < t->ndim; d++) {
    int64_t e = (t->size[d] - 1) * t->stride[d];
    if (e < 0) a += e; else b += e;
  }
  int64_t es = (int64_t)tg_dtype_size(t->dtype);
  *lo = a * es;
  *hi = (b + 1) * es - 1;
}

/* src and dst share memory but are not the same view: a direct copy would
 * read elements it has already overwritten */
static bool partial_overlap(const tg_tensor *dst, const tg_tensor *src) {
  if (dst->storage->data != src->storage->data || tg_numel(dst) == 0 || tg_numel(src) == 0) return false;
  if (dst->offset == src->offset && dst->dtype == src->dtype && tg_same_shape(dst, src) &&
      !memcmp(dst->stride, src->stride, sizeof(int64_t) * (size_t)dst->ndim))
    return false;
  int64_t dl, dh, sl, sh;
  byte_span(dst, &dl, &dh);
  byte_span(src, &sl, &sh);
  return dl <= sh && sl <= dh;
}

int tg_copy_(tg_ctx *c, tg_tensor *dst, tg_tensor *src) {
  if (tg_check_inplace(c, dst) < 0) return -1;
  if (!recording(c, dst, src) || !tg_is_float(dst->dtype)) {
    if (partial_overlap(dst, src)) { /* through a copy of src */
      tg_tensor *tmp = tg_cast_raw(c, src, src->dtype);
      int rc = tmp ? tg_copy_raw(c, dst, tmp) : -1;
      tg_tensor_unref(tmp);
      if (rc < 0) return -1;
      tg_bump_version(dst);
      return 0;
    }
    if (tg_copy_raw(c, dst, src) < 0) return -1;
    tg_bump_version(dst);
    return 0;
  }
  uint64_t seq0 = c->seq;
  tg_tensor *r = tg_tensor_empty(c, dst->dtype, dst->ndim, dst->size);
  if (!r) return -1;
  if (tg_copy_raw(c, r, src) < 0) {
    tg_tensor_unref(r);
    return -1;
  }
  tg_tensor *ins[2] = {dst, src};
  tg_record(c, &copy_kind, r, 2, ins, 0);
  int rc = tg_inplace_commit(c, dst, r, seq0);
  tg_tensor_unref(r);
  return rc;
}
