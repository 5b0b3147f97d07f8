/* device.c: moving a tensor between backends (t:cuda(), t:cpu()) through the
 * backends' copy_across slot; differentiable (ToCopyBackward0 moves the
 * gradient back to the input's device). */
#include <string.h>

#include "../tg.h"
#include "../backend/backend.h"

/* ip[0]: 1 when the input lived on the CPU, 0 when on the context's device backend */
static int to_copy_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  const tg_backend *be = n->ip[0] ? &tg_cpu_backend : c->device_backend;
  if (!be) return tg_err(c, "ToCopyBackward0: the device backend is gone");
  gin[0] = tg_to_backend(c, gout[0], be);
  return gin[0] ? 0 : -1;
}
static const tg_node_kind to_copy_kind = {"ToCopyBackward0", to_copy_backward, NULL};

/* a contiguous copy of x on backend be (x itself when it is there already) */
tg_tensor *tg_to_backend(tg_ctx *c, tg_tensor *x, const tg_backend *be) {
  if (x->storage->backend == be) return tg_tensor_ref(x); /* not tg_backend_of: capture's recording backend */
  if (!be->copy_across) return tg_errp(c, "the %s backend cannot copy across devices", be->name);
  /* a strided source is made contiguous on its own device first */
  tg_tensor *src = tg_is_contiguous(x) ? tg_tensor_ref(x) : NULL;
  if (!src) {
    const tg_backend *sb = tg_backend_of(x);
    src = tg_tensor_empty_on(c, sb, x->dtype, x->ndim, x->size);
    if (!src) return NULL;
    if (tg_numel(x) && sb->copy(c, src, x) < 0) {
      tg_tensor_unref(src);
      return NULL;
    }
  }
  tg_tensor *out = tg_tensor_empty(c, x->dtype, 0, NULL); /* the struct; its storage is replaced */
  if (!out) {
    tg_tensor_unref(src);
    return NULL;
  }
  int64_t n = tg_numel(x);
  tg_storage *s = tg_storage_new(c, be, (size_t)n * tg_dtype_size(x->dtype));
  if (!s) {
    tg_tensor_unref(out), tg_tensor_unref(src);
    return NULL;
  }
  tg_storage_unref(out->storage);
  out->storage = s;
  out->ndim = x->ndim;
  memcpy(out->size, x->size, sizeof out->size);
  tg_contiguous_strides(out->ndim, out->size, out->stride);
  /* tg_data(src) folds in src's offset, also for a device pointer (no dereference) */
  if (n && tg_backend_across(out, src)->copy_across(c, out, src) < 0) {
    tg_tensor_unref(out), tg_tensor_unref(src);
    return NULL;
  }
  tg_tensor_unref(src);
  tg_node *node = tg_record(c, &to_copy_kind, out, 1, &x, 1);
  if (node) node->ip[0] = tg_on_cpu(x);
  return out;
}
