/* out.c: PyTorch's out= (tg.add(a, b, {out = c})): the result written into a
 * tensor the caller owns, so that a loop over large tensors allocates nothing.
 * binding/out.c parses the option; this file checks `out` and writes it.
 *
 * Semantics (PyTorch's, with one choice of ours):
 * - out's dtype: the result's type must be castable to it ("result type Float
 *   can't be cast to the desired output type Long"); a wider float is fine.
 * - out's shape: an empty out (no elements) is resized to the result's shape;
 *   an out with elements and another shape is an error (PyTorch resizes it
 *   with a deprecation warning; we refuse, as the warning says it will).
 * - autograd: refused when grad mode is on and an input or out requires grad,
 *   with PyTorch's text.
 * - out may be an input (tg.add(a, b, {out = a}) acts as a:add_(b)); when out
 *   shares memory with an input in any other way the result is computed into a
 *   temporary first, so the answer never depends on the order of the writes.
 * - out's version counter is bumped (saved tensors see the write).
 * Direct paths (no temporary): elementwise float ops and mm/matmul of matrices;
 * everything else computes its result and copies it in (tg_out_write). */
#include <string.h>

#include "../backend/backend.h"
#include "../tg.h"

int tg_out_check_grad(tg_ctx *c, const char *fname, int n, tg_tensor *const *ins, tg_tensor *out) {
  if (!tg_grad_mode(c)) return 0;
  bool any = tg_requires_grad(out);
  for (int i = 0; i < n && !any; i++) any = tg_requires_grad(ins[i]);
  if (any)
    return tg_err(c, "%s(): functions with out=... arguments don't support automatic differentiation, but one of "
                     "the arguments requires grad.", fname);
  return 0;
}

/* PyTorch's canCast: no float to integral, nothing but bool to bool */
static bool can_cast(tg_dtype from, tg_dtype to) {
  if (tg_is_float(from) && !tg_is_float(to)) return false;
  if (from != TG_BOOL && to == TG_BOOL) return false;
  return true;
}

/* out (with no elements) given a fresh contiguous storage of the shape */
static int out_resize(tg_ctx *c, tg_tensor *out, int nd, const int64_t *shape) {
  if (out->view_base)
    return tg_err(c, "out= : cannot resize the empty output tensor: it is a view of another tensor");
  tg_storage *s = tg_storage_new(c, out->storage->backend, (size_t)tg_shape_numel(nd, shape) * tg_dtype_size(out->dtype));
  if (!s) return -1;
  s->version = out->storage->version;
  tg_storage_unref(out->storage);
  out->storage = s;
  out->offset = 0;
  out->ndim = nd;
  if (nd) memcpy(out->size, shape, sizeof(int64_t) * (size_t)nd);
  tg_contiguous_strides(nd, shape, out->stride);
  return 0;
}

int tg_out_prepare(tg_ctx *c, const char *fname, tg_tensor *out, const tg_backend *be, tg_dtype rdt, int nd,
                   const int64_t *shape) {
  if (tg_backend_of(out) != be)
    return tg_err(c, "%s(): Expected out tensor to have device %s, but got %s instead", fname, be->name,
                  tg_backend_of(out)->name);
  if (!can_cast(rdt, out->dtype))
    return tg_err(c, "result type %s can't be cast to the desired output type %s", tg_torch_dtype_name(rdt),
                  tg_torch_dtype_name(out->dtype));
  bool same = out->ndim == nd;
  for (int d = 0; same && d < nd; d++) same = out->size[d] == shape[d];
  if (!same) {
    if (tg_numel(out) != 0) {
      char have[256], want[256];
      tg_format_shape(have, sizeof have, out->ndim, out->size);
      tg_format_shape(want, sizeof want, nd, shape);
      return tg_err(c, "%s(): the out tensor has shape %s, which does not match the required output shape %s "
                       "(only an out with no elements is resized)", fname, have, want);
    }
    if (out_resize(c, out, nd, shape) < 0) return -1;
  }
  for (int d = 0; d < out->ndim; d++)
    if (out->stride[d] == 0 && out->size[d] > 1)
      return tg_err(c, "unsupported operation: more than one element of the written-to tensor refers to a single "
                       "memory location. Please clone() the tensor before performing the operation.");
  return 0;
}

int tg_out_write(tg_ctx *c, const char *fname, tg_tensor *out, tg_tensor *r) {
  if (tg_out_prepare(c, fname, out, tg_backend_of(r), r->dtype, r->ndim, r->size) < 0) return -1;
  if (tg_numel(out) && tg_copy_raw(c, out, r) < 0) return -1;
  tg_bump_version(out);
  return 0;
}

/* x, read as the broadcast shape with strides st, is exactly the memory out writes
 * (same storage, offset and strides): an elementwise kernel may then run in place */
static bool same_view(const tg_tensor *x, const tg_tensor *out) {
  if (x->storage != out->storage) return true; /* no sharing at all */
  if (x->offset != out->offset || x->dtype != out->dtype) return false;
  for (int d = 0; d < out->ndim; d++)
    if (out->size[d] > 1 && x->stride[d] != out->stride[d]) return false;
  return true;
}

/* the generic path: the op's result (a new tensor), copied into out */
static int finish(tg_ctx *c, const char *fname, tg_tensor *out, tg_tensor *r) {
  if (!r) return -1;
  int rc = tg_out_write(c, fname, out, r);
  tg_tensor_unref(r);
  return rc;
}

int tg_unary_out(tg_ctx *c, tg_op op, tg_tensor *x, tg_tensor *out) {
  const char *fname = tg_op_infos[op].name;
  if (tg_out_check_grad(c, fname, 1, &x, out) < 0) return -1;
  const tg_backend *be = tg_backend_of(x);
  bool direct = tg_is_float(x->dtype) && out->dtype == x->dtype && op != TG_OP_GELU && op != TG_OP_SOFTPLUS &&
                op != TG_OP_CLAMP && be->supports(TG_K_UNARY, op, x->dtype) && tg_backend_of(out) == be;
  if (!direct) return finish(c, fname, out, tg_unary(c, op, x));
  if (tg_out_prepare(c, fname, out, be, x->dtype, x->ndim, x->size) < 0) return -1;
  if (!same_view(x, out)) return finish(c, fname, out, tg_unary(c, op, x));
  if (tg_numel(out) && be->unary(c, op, out, x) < 0) return -1;
  tg_bump_version(out);
  return 0;
}

int tg_binary_out(tg_ctx *c, tg_op op, tg_tensor *a, tg_tensor *b, tg_tensor *out) {
  const char *fname = tg_op_infos[op].name;
  tg_tensor *ins[2] = {a, b};
  if (tg_out_check_grad(c, fname, 2, ins, out) < 0) return -1;
  const tg_backend *be = tg_backend_of(a);
  tg_dtype dt = tg_result_type(a, b);
  if ((op == TG_OP_DIV || op == TG_OP_ATAN2) && !tg_is_float(dt)) dt = TG_FLOAT32;
  bool direct = tg_op_infos[op].kind == TG_KIND_ARITH && tg_is_float(dt) && out->dtype == dt &&
                tg_backend_of(b) == be && tg_backend_of(out) == be && be->supports(TG_K_BINARY, op, dt);
  if (!direct) return finish(c, fname, out, tg_binary(c, op, a, b));
  int nd;
  int64_t shape[TG_MAX_DIMS];
  if (tg_broadcast_shapes(c, a->ndim, a->size, b->ndim, b->size, &nd, shape) < 0) return -1;
  if (tg_out_prepare(c, fname, out, be, dt, nd, shape) < 0) return -1;
  tg_tensor av, bv, *ha, *hb;
  if (tg_operand_view(c, a, dt, nd, shape, &av, &ha) < 0) return -1;
  if (tg_operand_view(c, b, dt, nd, shape, &bv, &hb) < 0) {
    tg_tensor_unref(ha);
    return -1;
  }
  int rc = 0;
  if (!same_view(&av, out) || !same_view(&bv, out)) rc = finish(c, fname, out, tg_binary(c, op, a, b));
  else if (tg_numel(out) && be->binary(c, op, out, &av, &bv) < 0) rc = -1;
  else tg_bump_version(out);
  tg_tensor_unref(ha);
  tg_tensor_unref(hb);
  return rc;
}

/* mm / matmul of two matrices straight into a contiguous out of their dtype */
int tg_mm_out(tg_ctx *c, const char *fname, tg_tensor *a, tg_tensor *b, tg_tensor *out, bool matmul) {
  tg_tensor *ins[2] = {a, b};
  if (tg_out_check_grad(c, fname, 2, ins, out) < 0) return -1;
  const tg_backend *be = tg_backend_of(a);
  bool direct = a->ndim == 2 && b->ndim == 2 && a->dtype == b->dtype && tg_is_float(a->dtype) &&
                out->dtype == a->dtype && a->size[1] == b->size[0] && tg_backend_of(b) == be &&
                tg_backend_of(out) == be && be->mm && be->supports(TG_K_MM, 0, a->dtype) &&
                out->storage != a->storage && out->storage != b->storage;
  if (direct) {
    int64_t shape[2] = {a->size[0], b->size[1]};
    if (tg_out_prepare(c, fname, out, be, a->dtype, 2, shape) < 0) return -1;
    if (tg_is_contiguous(out)) {
      int rc = tg_numel(out) ? be->mm(c, out, a, b) : 0;
      if (rc < 0) return -1;
      if (rc == 0) {
        tg_bump_version(out);
        return 0;
      }
    }
  }
  return finish(c, fname, out, matmul ? tg_matmul(c, a, b) : tg_mm(c, a, b));
}
