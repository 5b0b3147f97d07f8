/* linalg.c: mm, bmm and matmul (1-D, 2-D, batched with broadcasting). */
#include <string.h>

#include "../backend/backend.h"
#include "../tg.h"

static const char *torch_type(tg_dtype d) {
  static const char *n[TG_NDTYPES] = {"float", "double", "long int", "bool"};
  return n[d];
}

/* out = a @ b via the backend; a layout BLAS cannot take is copied first */
static tg_tensor *mm_raw(tg_ctx *c, tg_tensor *a, tg_tensor *b, int nd, const int64_t *osz) {
  tg_tensor *out = tg_tensor_empty(c, a->dtype, nd, osz);
  if (!out) return NULL;
  const tg_backend *be = tg_backend_of(a);
  if (!be->supports(TG_K_MM, 0, a->dtype)) {
    tg_tensor_unref(out);
    return tg_errp(c, "\"addmm\" not implemented for '%s'", tg_dtype_name(a->dtype));
  }
  int rc = be->mm(c, out, a, b);
  if (rc == 1) { /* retry with contiguous operands */
    tg_tensor *ac = tg_cast_raw(c, a, a->dtype), *bc = ac ? tg_cast_raw(c, b, b->dtype) : NULL;
    rc = bc ? be->mm(c, out, ac, bc) : -1;
    tg_tensor_unref(ac), tg_tensor_unref(bc);
  }
  if (rc != 0) {
    tg_tensor_unref(out);
    return NULL;
  }
  return out;
}

static int check_same_dtype(tg_ctx *c, const tg_tensor *a, const tg_tensor *b) {
  if (a->dtype != b->dtype)
    return tg_err(c, "expected m1 and m2 to have the same dtype, but got: %s != %s", torch_type(a->dtype),
                  torch_type(b->dtype));
  return 0;
}

static int mm_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  tg_tensor *a = tg_unpack(c, n, 0), *b = a ? tg_unpack(c, n, 1) : NULL, *t = NULL;
  int rc = -1;
  bool batched = n->ip[0];
  int d0 = batched, d1 = batched + 1;
  if (!b) goto done;
  if (tg_needs_input_grad(n, 0)) { /* g @ b^T */
    if (!(t = tg_transpose(c, b, d0, d1))) goto done;
    if (!(gin[0] = batched ? tg_bmm(c, gout[0], t) : tg_mm(c, gout[0], t))) goto done;
    tg_tensor_unref(t), t = NULL;
  }
  if (tg_needs_input_grad(n, 1)) { /* a^T @ g */
    if (!(t = tg_transpose(c, a, d0, d1))) goto done;
    if (!(gin[1] = batched ? tg_bmm(c, t, gout[0]) : tg_mm(c, t, gout[0]))) goto done;
  }
  rc = 0;
done:
  tg_tensor_unref(a), tg_tensor_unref(b), tg_tensor_unref(t);
  return rc;
}
static const tg_node_kind mm_kind = {"MmBackward0", mm_backward, NULL};
static const tg_node_kind bmm_kind = {"BmmBackward0", mm_backward, NULL};

static tg_tensor *record_mm(tg_ctx *c, tg_tensor *out, tg_tensor *a, tg_tensor *b, bool batched) {
  tg_tensor *ins[2] = {a, b};
  tg_node *n = tg_record(c, batched ? &bmm_kind : &mm_kind, out, 2, ins, 2);
  if (n) {
    n->ip[0] = batched;
    if (tg_save(c, n, 0, a, false) < 0 || tg_save(c, n, 1, b, false) < 0) {
      tg_tensor_unref(out);
      return NULL;
    }
  }
  return out;
}

tg_tensor *tg_mm(tg_ctx *c, tg_tensor *a, tg_tensor *b) {
  if (a->ndim != 2) return tg_errp(c, "self must be a matrix");
  if (b->ndim != 2) return tg_errp(c, "mat2 must be a matrix");
  if (a->size[1] != b->size[0])
    return tg_errp(c, "mat1 and mat2 shapes cannot be multiplied (%lldx%lld and %lldx%lld)", (long long)a->size[0],
                   (long long)a->size[1], (long long)b->size[0], (long long)b->size[1]);
  if (check_same_dtype(c, a, b) < 0) return NULL;
  int64_t osz[2] = {a->size[0], b->size[1]};
  tg_tensor *out = mm_raw(c, a, b, 2, osz);
  return out ? record_mm(c, out, a, b, false) : NULL;
}

tg_tensor *tg_bmm(tg_ctx *c, tg_tensor *a, tg_tensor *b) {
  if (a->ndim != 3) return tg_errp(c, "batch1 must be a 3D tensor");
  if (b->ndim != 3) return tg_errp(c, "batch2 must be a 3D tensor");
  if (a->size[0] != b->size[0]) return tg_errp(c, "batch1 and batch2 must have same number of batches, got %lld and %lld", (long long)a->size[0], (long long)b->size[0]);
  if (a->size[2] != b->size[1])
    return tg_errp(c, "Expected size for first two dimensions of batch2 tensor to be: [%lld, %lld] but got: [%lld, %lld].",
                   (long long)a->size[0], (long long)a->size[2], (long long)b->size[0], (long long)b->size[1]);
  if (check_same_dtype(c, a, b) < 0) return NULL;
  int64_t osz[3] = {a->size[0], a->size[1], b->size[2]};
  tg_tensor *out = mm_raw(c, a, b, 3, osz);
  return out ? record_mm(c, out, a, b, true) : NULL;
}

/* matmul as PyTorch composes it: 1-D operands are unsqueezed and the extra
 * dim squeezed after; more than 2 dims broadcast the batch dims into bmm */
tg_tensor *tg_matmul(tg_ctx *c, tg_tensor *a, tg_tensor *b) {
  if (a->ndim == 0 || b->ndim == 0)
    return tg_errp(c, "both arguments to matmul need to be at least 1D, but they are %dD and %dD", a->ndim, b->ndim);
  if (a->ndim == 1 && b->ndim == 1) {
    if (a->size[0] != b->size[0])
      return tg_errp(c, "inconsistent tensor size, expected tensor [%lld] and src [%lld] to have the same number of elements, but got %lld and %lld elements respectively",
                     (long long)a->size[0], (long long)b->size[0], (long long)a->size[0], (long long)b->size[0]);
  }
  tg_tensor *A = a->ndim == 1 ? tg_unsqueeze(c, a, 0) : tg_tensor_ref(a);
  tg_tensor *B = b->ndim == 1 ? tg_unsqueeze(c, b, 1) : tg_tensor_ref(b);
  tg_tensor *r = NULL, *A3 = NULL, *B3 = NULL, *P = NULL;
  if (!A || !B) goto done;
  if (A->ndim == 2 && B->ndim == 2) {
    r = tg_mm(c, A, B);
  } else {
    int64_t m = A->size[A->ndim - 2], k = A->size[A->ndim - 1], k2 = B->size[B->ndim - 2], p = B->size[B->ndim - 1];
    if (k != k2) {
      tg_errp(c, "Expected size for first two dimensions of batch2 tensor to be: [%lld, %lld] but got: [%lld, %lld].",
              0LL, (long long)k, 0LL, (long long)k2);
      goto done;
    }
    int nb;
    int64_t bs[TG_MAX_DIMS], ea[TG_MAX_DIMS], eb[TG_MAX_DIMS], osz[TG_MAX_DIMS];
    if (tg_broadcast_shapes(c, A->ndim - 2, A->size, B->ndim - 2, B->size, &nb, bs) < 0) goto done;
    int64_t batch = tg_shape_numel(nb, bs);
    memcpy(ea, bs, sizeof(int64_t) * (size_t)nb), ea[nb] = m, ea[nb + 1] = k;
    memcpy(eb, bs, sizeof(int64_t) * (size_t)nb), eb[nb] = k, eb[nb + 1] = p;
    tg_tensor *Ae = tg_expand(c, A, nb + 2, ea), *Be = Ae ? tg_expand(c, B, nb + 2, eb) : NULL;
    int64_t a3[3] = {batch, m, k}, b3[3] = {batch, k, p};
    A3 = Be ? tg_reshape(c, Ae, 3, a3) : NULL;
    B3 = A3 ? tg_reshape(c, Be, 3, b3) : NULL;
    tg_tensor_unref(Ae), tg_tensor_unref(Be);
    P = B3 ? tg_bmm(c, A3, B3) : NULL;
    memcpy(osz, bs, sizeof(int64_t) * (size_t)nb), osz[nb] = m, osz[nb + 1] = p;
    r = P ? tg_view(c, P, nb + 2, osz) : NULL;
  }
  if (r && (a->ndim == 1 || b->ndim == 1)) {
    tg_tensor *s = tg_squeeze(c, r, a->ndim == 1 ? r->ndim - 2 : r->ndim - 1);
    if (s && a->ndim == 1 && b->ndim == 1) { /* dot: squeeze both */
      tg_tensor *s2 = tg_squeeze(c, s, 0);
      tg_tensor_unref(s);
      s = s2;
    }
    tg_tensor_unref(r);
    r = s;
  }
done:
  tg_tensor_unref(A), tg_tensor_unref(B), tg_tensor_unref(A3), tg_tensor_unref(B3), tg_tensor_unref(P);
  return r;
}
