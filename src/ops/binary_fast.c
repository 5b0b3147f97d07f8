/* binary_fast.c (perop2): see binary_fast.h. The kernels are the backend's
 * binary_flat slot (on the CPU the same inner loops as its binary slot), so
 * a fast result has the bits of the general one: the Lua number is cast to
 * the compute dtype first, as the general path's 0-d wrapped tensor is. */
#include "../backend/backend.h"
#include "binary_fast.h"

/* the ops and dtypes taken here: the result dtype is the operand dtype and
 * no error is possible (sub of bool, int division and the int-zero checks of
 * fmod/remainder all stay on the general path) */
static bool op_ok(tg_op op, tg_dtype dt) {
  switch (op) {
    case TG_OP_ADD: case TG_OP_SUB: case TG_OP_MUL: return tg_is_float(dt) || dt == TG_INT64;
    case TG_OP_DIV: return tg_is_float(dt);
    default: return false;
  }
}

/* the plain backend of t when it has the slot, not recording a capture */
static const tg_backend *flat_backend(tg_ctx *c, const tg_tensor *t) {
  if (c->capture_be) return NULL;
  const tg_backend *be = tg_backend_of(t);
  return be->binary_flat ? be : NULL;
}

static bool needs_graph(tg_ctx *c, tg_tensor *a, tg_tensor *b) {
  tg_tensor *ts[2] = {a, b};
  return tg_any_requires_grad(c, b ? 2 : 1, ts);
}

bool tg_binary_number_fast_ok(tg_ctx *c, tg_op op, tg_tensor *t, int kind) {
  tg_dtype dt = t->dtype;
  /* a float tensor keeps its dtype with any number; an int64 one with an integer (PyTorch's
   * wrapped-number rule); the rest (int * float -> float32, bools) is the general path's */
  if (!op_ok(op, dt) || (dt == TG_INT64 && kind != TG_NUM_INT)) return false;
  return flat_backend(c, t) && tg_is_contiguous(t) && !needs_graph(c, t, NULL);
}

int tg_binary_number_fast(tg_ctx *c, tg_op op, tg_tensor *t, int kind, double v, int64_t iv, bool num_first,
                          tg_tensor **out) {
  if (!tg_binary_number_fast_ok(c, op, t, kind)) return 0;
  tg_dtype dt = t->dtype;
  const tg_backend *be = tg_backend_of(t);
  union { float f32; double f64; int64_t i64; } s; /* the 0-d wrapped tensor's value cast to dt */
  if (dt == TG_FLOAT32) s.f32 = kind == TG_NUM_INT ? (float)iv : (float)v;
  else if (dt == TG_FLOAT64) s.f64 = kind == TG_NUM_INT ? (double)iv : v;
  else s.i64 = iv;
  int64_t n = tg_numel(t);
  tg_tensor *r = tg_tensor_empty_on(c, be, dt, t->ndim, t->size);
  if (!r) return -1;
  if (n && be->binary_flat(c, op, dt, n, tg_data(r), num_first ? (void *)&s : tg_data(t),
                           num_first ? tg_data(t) : (void *)&s, num_first ? 1 : 2) < 0) {
    tg_tensor_unref(r);
    return -1;
  }
  *out = r;
  return 1;
}

static bool same_layout(const tg_tensor *a, const tg_tensor *b) {
  return a->dtype == b->dtype && !a->wrapped_number && !b->wrapped_number && tg_same_shape(a, b) &&
         tg_is_contiguous(a) && tg_is_contiguous(b);
}

/* the shapes are equal once leading size-1 dims are dropped ((1, 32) and (32): a
 * row and a bias): broadcasting then pairs the elements in memory order */
static bool same_but_leading_ones(const tg_tensor *a, const tg_tensor *b) {
  const tg_tensor *l = a->ndim >= b->ndim ? a : b, *s = l == a ? b : a;
  int k = l->ndim - s->ndim;
  for (int d = 0; d < k; d++)
    if (l->size[d] != 1) return false;
  for (int d = 0; d < s->ndim; d++)
    if (l->size[k + d] != s->size[d]) return false;
  return true;
}

int tg_binary_same_fast(tg_ctx *c, tg_op op, tg_tensor *a, tg_tensor *b, tg_tensor **out) {
  if (!op_ok(op, a->dtype) || a->dtype != b->dtype || a->wrapped_number || b->wrapped_number ||
      !same_but_leading_ones(a, b) || !tg_is_contiguous(a) || !tg_is_contiguous(b))
    return 0;
  const tg_backend *be = flat_backend(c, a);
  if (!be || tg_backend_of(b) != be) return 0;
  const tg_tensor *l = a->ndim >= b->ndim ? a : b; /* the broadcast shape */
  int64_t n = tg_numel(l);
  tg_tensor *r = tg_tensor_empty_on(c, be, a->dtype, l->ndim, l->size);
  if (!r) return -1;
  if (n && be->binary_flat(c, op, a->dtype, n, tg_data(r), tg_data(a), tg_data(b), 0) < 0) {
    tg_tensor_unref(r);
    return -1;
  }
  *out = r;
  return 1;
}

int tg_binary_inplace_fast(tg_ctx *c, tg_op op, tg_tensor *self, tg_tensor *o) {
  if (!op_ok(op, self->dtype) || !same_layout(self, o)) return 0;
  const tg_backend *be = flat_backend(c, self);
  /* the same memory (also after x.data = y) stays on the general path */
  if (!be || tg_backend_of(o) != be || o->storage->data == self->storage->data || needs_graph(c, self, o)) return 0;
  int64_t n = tg_numel(self);
  if (n && be->binary_flat(c, op, self->dtype, n, tg_data(self), tg_data(self), tg_data(o), 0) < 0) return -1;
  return 1;
}
