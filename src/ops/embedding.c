/* embedding.c: the rows of a weight matrix at 1-based ids (PyTorch's
 * embedding / embedding_renorm_ / embedding_dense_backward), forward next to
 * backward, with the backend's fused kernels.
 *
 * EmbeddingBackward0: gw (V, D) = the rows of g summed per id (times
 * 1/count(id) with scale_grad_by_freq; none for padding_idx). With a graph of
 * the gradient wanted (create_graph) it is the same sum written as a
 * differentiable index_add of g scaled per id, so double backward works. */
#include <string.h>

#include "../backend/backend.h"
#include "norm.h"

static const char *tensor_type_name(tg_dtype d) {
  static const char *n[TG_NDTYPES] = {"torch.FloatTensor", "torch.DoubleTensor", "torch.LongTensor",
                                      "CPUBoolType"};
  return n[d];
}

/* ip: V, padding_idx (0-based, -1 none), scale_grad_by_freq; saved: ids */
static int embedding_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  const tg_meta *wm = &n->in[0];
  int64_t V = n->ip[0], pad = n->ip[1], D = wm->size[1];
  bool scale = n->ip[2] != 0;
  tg_tensor *ids = tg_unpack(c, n, 0);
  if (!ids) return -1;
  tg_tensor *g = gout[0]->dtype == wm->dtype ? tg_tensor_ref(gout[0]) : tg_cast_raw(c, gout[0], wm->dtype);
  tg_tensor *g2 = NULL, *f = NULL, *gs = NULL, *idx = NULL, *z = NULL, *r = NULL;
  int64_t nids = tg_numel(ids);
  const tg_backend *be = tg_backend_of(ids);
  if (!g) goto done;
  if (!c->grad_enabled && be->embedding_backward && tg_backend_of(g) == be) {
    r = tg_tensor_empty(c, wm->dtype, 2, wm->size);
    if (r && be->embedding_backward(c, r, g, ids, pad, scale) < 0) {
      tg_tensor_unref(r);
      r = NULL;
    }
    goto done;
  }
  if (!be->embedding_scale) {
    tg_err(c, "embedding backward is not implemented on %s", be->name);
    goto done;
  }
  int64_t s2[2] = {nids, D}, s1[2] = {nids, 1};
  if (!(g2 = tg_reshape(c, g, 2, s2)) || !(idx = tg_reshape(c, ids, 1, &nids))) goto done;
  if (pad >= 0 || scale) { /* each id's factor: 0 for padding, 1/count with scale */
    if (!(f = tg_tensor_empty(c, wm->dtype, 2, s1)) || be->embedding_scale(c, f, ids, V, pad, scale) < 0 ||
        !(gs = tg_mul(c, g2, f)))
      goto done;
  } else {
    gs = tg_tensor_ref(g2);
  }
  if ((z = tg_tensor_zeros(c, wm->dtype, 2, wm->size))) r = tg_index_add(c, z, 0, idx, gs, 1.0);
done:
  tg_tensor_unref(ids), tg_tensor_unref(g), tg_tensor_unref(g2), tg_tensor_unref(f), tg_tensor_unref(gs);
  tg_tensor_unref(idx), tg_tensor_unref(z);
  gin[0] = r;
  return r ? 0 : -1;
}
static const tg_node_kind embedding_kind = {"EmbeddingBackward0", embedding_backward, NULL};

tg_tensor *tg_embedding(tg_ctx *c, tg_tensor *w, tg_tensor *ids, int64_t pad, bool scale, bool has_max_norm,
                        double max_norm, double norm_type) {
  if (w->ndim != 2) return tg_errp(c, "'weight' must be 2-D");
  if (ids->dtype != TG_INT64)
    return tg_errp(c, "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, "
                      "Int; but got %s instead (while checking arguments for embedding)", tensor_type_name(ids->dtype));
  const tg_backend *be = tg_backend_of(w);
  if (tg_backend_of(ids) != be)
    return tg_errp(c, "Expected all tensors to be on the same device, but found at least two devices, %s and %s!",
                   be->name, tg_backend_of(ids)->name);
  if (!be->embedding) return tg_errp(c, "embedding is not implemented on %s", be->name);
  if (has_max_norm) {
    if (!tg_is_float(w->dtype))
      return tg_errp(c, "embedding_renorm_: expected a floating point weight, got %s", tg_torch_dtype_name(w->dtype));
    if (!be->embedding_renorm) return tg_errp(c, "embedding_renorm_ is not implemented on %s", be->name);
    if (be->embedding_renorm(c, w, ids, max_norm, norm_type) < 0) return NULL;
    tg_bump_version(w);
  }
  int64_t sz[TG_MAX_DIMS];
  if (ids->ndim + 1 > TG_MAX_DIMS) return tg_errp(c, "embedding: too many dimensions");
  memcpy(sz, ids->size, sizeof(int64_t) * (size_t)ids->ndim);
  sz[ids->ndim] = w->size[1];
  tg_tensor *out = tg_tensor_empty(c, w->dtype, ids->ndim + 1, sz);
  if (!out) return NULL;
  if (be->embedding(c, out, w, ids) < 0) {
    tg_tensor_unref(out);
    return NULL;
  }
  tg_node *n = tg_record(c, &embedding_kind, out, 1, &w, 1);
  if (n) {
    n->ip[0] = w->size[0];
    n->ip[1] = pad;
    n->ip[2] = scale;
    if (tg_save(c, n, 0, ids, false) < 0) {
      tg_tensor_unref(out);
      return NULL;
    }
  }
  return out;
}
