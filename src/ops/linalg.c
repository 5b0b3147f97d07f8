/* linalg.c: mm, bmm, matmul (1-D, 2-D, batched with broadcasting), dot, mv, outer, addmm, baddbmm. */
#include <string.h>

#include "../backend/backend.h"
#include "../tg.h"

static const char *torch_type(tg_dtype d) {
  static const char *n[TG_NDTYPES] = {"float", "double", "long int", "bool"};
  return n[d];
}

/* out = a @ b via the backend; a layout BLAS cannot take is copied first */
static tg_tensor *mm_raw(tg_ctx *c, tg_tensor *a, tg_tensor *b, int nd, const int64_t *osz) {
  const tg_backend *be = tg_backend_of(a);
  if (!be->supports(TG_K_MM, 0, a->dtype)) /* bool: PyTorch's message */
    return tg_errp(c, "\"addmm\" not implemented for '%s'", tg_torch_dtype_name(a->dtype));
  tg_tensor *out = tg_tensor_empty_on(c, be, a->dtype, nd, osz); /* cuda boundary: on a's device */
  if (!out) return NULL;
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

/* t with dims d0 and d1 swapped, as a struct on the caller's stack: only
 * for reading during the call (never referenced, never freed) */
static void stack_transpose(tg_tensor *v, const tg_tensor *t, int d0, int d1) {
  *v = *t;
  v->grad = NULL, v->grad_fn = NULL, v->grad_acc = NULL, v->hooks = NULL, v->view_base = NULL;
  int64_t s = v->size[d0]; v->size[d0] = v->size[d1]; v->size[d1] = s;
  s = v->stride[d0]; v->stride[d0] = v->stride[d1]; v->stride[d1] = s;
}

/* The transpose of a contiguous matrix (F.linear's w:t()): its gradient is
 * computed as the transpose of a product that comes out in w's own layout,
 * as PyTorch's mm_mat2_backward does, so that the leaf gets a contiguous
 * gradient instead of a strided copy of a transposed one. */
static bool col_major(const tg_tensor *t, int d0, int d1) {
  return t->size[d0] > 1 && t->size[d1] > 1 && t->stride[d0] == 1 && t->stride[d1] == t->size[d0];
}

/* x @ y with y's last two dims the product's: the shape of the result */
static tg_tensor *mm_plain(tg_ctx *c, tg_tensor *x, tg_tensor *y, bool batched) {
  int64_t osz[3] = {x->size[0], x->size[1], y->size[batched + 1]};
  if (!batched) osz[1] = y->size[1];
  return mm_raw(c, x, y, batched ? 3 : 2, osz);
}

/* X @ Y for a gradient, X = x or x^T (tx), Y = y or y^T (ty); when `flip`,
 * computed as (Y^T @ X^T)^T: a transposed view of a product laid out like
 * the column-major operand it is the gradient of. Without grad mode BLAS
 * reads the transposes in place (stack views); with it, the ops are
 * recorded (double backward). */
static tg_tensor *grad_product(tg_ctx *c, tg_tensor *x, bool tx, tg_tensor *y, bool ty, bool batched, bool flip) {
  int d0 = batched, d1 = batched + 1;
  if (flip) { /* (Y^T @ X^T): the left operand is y, transposed unless ty */
    tg_tensor *s = x; bool st = tx;
    x = y, tx = !ty, y = s, ty = !st;
  }
  tg_tensor *p = NULL;
  if (!c->grad_enabled) {
    tg_tensor xv, yv;
    if (tx) stack_transpose(&xv, x, d0, d1);
    if (ty) stack_transpose(&yv, y, d0, d1);
    p = mm_plain(c, tx ? &xv : x, ty ? &yv : y, batched);
  } else {
    tg_tensor *xt = tx ? tg_transpose(c, x, d0, d1) : tg_tensor_ref(x);
    tg_tensor *yt = xt ? (ty ? tg_transpose(c, y, d0, d1) : tg_tensor_ref(y)) : NULL;
    if (yt) p = batched ? tg_bmm(c, xt, yt) : tg_mm(c, xt, yt);
    tg_tensor_unref(xt), tg_tensor_unref(yt);
  }
  if (!p || !flip) return p;
  tg_tensor *r = tg_transpose(c, p, d0, d1);
  tg_tensor_unref(p);
  return r;
}

static int mm_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  tg_tensor *a = tg_unpack(c, n, 0), *b = a ? tg_unpack(c, n, 1) : NULL;
  int rc = -1;
  bool batched = n->ip[0];
  int d0 = batched, d1 = batched + 1;
  if (!b) goto done;
  if (tg_needs_input_grad(n, 0) && /* g @ b^T */
      !(gin[0] = grad_product(c, gout[0], false, b, true, batched, col_major(a, d0, d1))))
    goto done;
  if (tg_needs_input_grad(n, 1) && /* a^T @ g */
      !(gin[1] = grad_product(c, a, true, gout[0], false, batched, col_major(b, d0, d1))))
    goto done;
  rc = 0;
done:
  tg_tensor_unref(a), tg_tensor_unref(b);
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

/* the general case: 1-D operands are unsqueezed and the extra dim squeezed
 * after; more than 2 dims broadcast the batch dims into bmm */
static tg_tensor *matmul_general(tg_ctx *c, tg_tensor *a, tg_tensor *b) {
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

static tg_tensor *renamed(tg_tensor *r, const char *grad_name) {
  if (r && r->grad_fn) r->grad_fn->name = grad_name;
  return r;
}

/* matmul as PyTorch dispatches it (and so with its grad_fn names): dot, mv,
 * mm; a batched left operand times a matrix or vector folds its batch dims
 * into one mm; the rest goes through bmm with broadcast batch dims */
tg_tensor *tg_matmul(tg_ctx *c, tg_tensor *a, tg_tensor *b) {
  if (a->ndim == 1 && b->ndim == 1 && a->size[0] == b->size[0] && a->dtype == b->dtype) return tg_dot(c, a, b);
  if (a->ndim == 2 && b->ndim == 1 && a->dtype == b->dtype) return tg_mv(c, a, b);
  if (a->ndim == 2 && b->ndim == 2) return tg_mm(c, a, b);
  if (a->ndim >= 3 && (b->ndim == 1 || b->ndim == 2)) { /* fold the batch dims of a */
    int64_t k = a->size[a->ndim - 1], flat[2] = {-1, k}, osz[TG_MAX_DIMS];
    int no = a->ndim - 1;
    memcpy(osz, a->size, sizeof(int64_t) * (size_t)no);
    if (b->ndim == 2) osz[no++] = b->size[1];
    tg_tensor *A = tg_reshape(c, a, 2, flat);
    tg_tensor *P = A ? (b->ndim == 2 ? tg_mm(c, A, b) : tg_mv(c, A, b)) : NULL;
    tg_tensor *r = P ? tg_reshape(c, P, no, osz) : NULL;
    tg_tensor_unref(A), tg_tensor_unref(P);
    return renamed(r, "UnsafeViewBackward0");
  }
  tg_tensor *r = matmul_general(c, a, b);
  if (a->ndim == 1 && b->ndim == 2) return renamed(r, "SqueezeBackward4");
  if (a->ndim >= 3 || b->ndim >= 3) return renamed(r, a->ndim == 1 || b->ndim == 1 ? "SqueezeBackward4" : "UnsafeViewBackward0");
  return r;
}

/* ------------------------------------------------------------- dot, mv */
/* t viewed as a matrix (rows x cols) with the given strides, no autograd */
static tg_tensor *as_matrix(tg_ctx *c, tg_tensor *t, int64_t rows, int64_t cols, int64_t srow, int64_t scol) {
  int64_t sz[2] = {rows, cols}, st[2] = {srow, scol};
  return tg_tensor_as_strided(c, t, 2, sz, st, t->offset);
}

static int dot_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  tg_tensor *a = tg_unpack(c, n, 0), *b = a ? tg_unpack(c, n, 1) : NULL;
  int rc = -1;
  if (!b) goto done;
  if (tg_needs_input_grad(n, 0) && !(gin[0] = tg_mul(c, gout[0], b))) goto done;
  if (tg_needs_input_grad(n, 1) && !(gin[1] = tg_mul(c, gout[0], a))) goto done;
  rc = 0;
done:
  tg_tensor_unref(a), tg_tensor_unref(b);
  return rc;
}
static const tg_node_kind dot_kind = {"DotBackward0", dot_backward, NULL};

static tg_tensor *record2(tg_ctx *c, const tg_node_kind *k, tg_tensor *out, tg_tensor *a, tg_tensor *b) {
  tg_tensor *ins[2] = {a, b};
  tg_node *n = tg_record(c, k, out, 2, ins, 2);
  if (n && (tg_save(c, n, 0, a, false) < 0 || tg_save(c, n, 1, b, false) < 0)) {
    tg_tensor_unref(out);
    return NULL;
  }
  return out;
}

tg_tensor *tg_dot(tg_ctx *c, tg_tensor *a, tg_tensor *b) {
  if (a->ndim != 1 || b->ndim != 1)
    return tg_errp(c, "1D tensors expected, but got %dD and %dD tensors", a->ndim, b->ndim);
  if (a->size[0] != b->size[0])
    return tg_errp(c, "inconsistent tensor size, expected tensor [%lld] and src [%lld] to have the same number of elements, but got %lld and %lld elements respectively",
                   (long long)a->size[0], (long long)b->size[0], (long long)a->size[0], (long long)b->size[0]);
  if (a->dtype != b->dtype)
    return tg_errp(c, "dot : expected both vectors to have same dtype, but found %s and %s", tg_torch_dtype_name(a->dtype), tg_torch_dtype_name(b->dtype));
  int64_t k = a->size[0], one[2] = {1, 1};
  tg_tensor *A = as_matrix(c, a, 1, k, k * a->stride[0], a->stride[0]);
  tg_tensor *B = A ? as_matrix(c, b, k, 1, b->stride[0], 1) : NULL;
  tg_tensor *out = B ? mm_raw(c, A, B, 2, one) : NULL;
  tg_tensor_unref(A), tg_tensor_unref(B);
  if (!out) return NULL;
  out->ndim = 0;
  return record2(c, &dot_kind, out, a, b);
}

static int mv_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  tg_tensor *a = tg_unpack(c, n, 0), *v = a ? tg_unpack(c, n, 1) : NULL, *t = NULL;
  int rc = -1;
  if (!v) goto done;
  if (tg_needs_input_grad(n, 0) && !(gin[0] = tg_outer(c, gout[0], v))) goto done;
  if (tg_needs_input_grad(n, 1)) {
    if (!(t = tg_transpose(c, a, 0, 1)) || !(gin[1] = tg_mv(c, t, gout[0]))) goto done;
  }
  rc = 0;
done:
  tg_tensor_unref(a), tg_tensor_unref(v), tg_tensor_unref(t);
  return rc;
}
static const tg_node_kind mv_kind = {"MvBackward0", mv_backward, NULL};

tg_tensor *tg_mv(tg_ctx *c, tg_tensor *a, tg_tensor *v) {
  if (a->ndim != 2 || v->ndim != 1)
    return tg_errp(c, "vector + matrix @ vector expected, got 1, %d, %d", a->ndim, v->ndim);
  if (a->size[1] != v->size[0])
    return tg_errp(c, "size mismatch, got input (%lld), mat (%lldx%lld), vec (%lld)", (long long)a->size[0],
                   (long long)a->size[0], (long long)a->size[1], (long long)v->size[0]);
  if (a->dtype != v->dtype)
    return tg_errp(c, "expected m1 and m2 to have the same dtype, but got: %s != %s", torch_type(a->dtype), torch_type(v->dtype));
  int64_t m = a->size[0], k = a->size[1], osz[2] = {m, 1};
  tg_tensor *V = as_matrix(c, v, k, 1, v->stride[0], 1);
  tg_tensor *out = V ? mm_raw(c, a, V, 2, osz) : NULL;
  tg_tensor_unref(V);
  if (!out) return NULL;
  out->ndim = 1;
  out->stride[0] = 1;
  return record2(c, &mv_kind, out, a, v);
}

/* outer as PyTorch composes it: a.reshape(-1, 1) * b (MulBackward0) */
tg_tensor *tg_outer(tg_ctx *c, tg_tensor *a, tg_tensor *b) {
  if (a->ndim != 1) return tg_errp(c, "outer: Expected 1-D argument self, but got %d-D", a->ndim);
  if (b->ndim != 1) return tg_errp(c, "outer: Expected 1-D argument vec2, but got %d-D", b->ndim);
  int64_t col[2] = {-1, 1};
  tg_tensor *ac = tg_reshape(c, a, 2, col);
  tg_tensor *r = ac ? tg_mul(c, ac, b) : NULL;
  tg_tensor_unref(ac);
  return r;
}

/* ------------------------------------------------------ addmm, baddbmm */
/* dp[0] beta, dp[1] alpha; ip[0] batched; saved m1, m2 */
static int addmm_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  double beta = n->dp[0], alpha = n->dp[1];
  bool batched = n->ip[0];
  tg_tensor *g = gout[0], *m1 = tg_unpack(c, n, 0), *m2 = m1 ? tg_unpack(c, n, 1) : NULL, *p = NULL;
  int rc = -1;
  int d0 = batched, d1 = batched + 1;
  if (!m2) goto done;
  if (tg_needs_input_grad(n, 0) && !(gin[0] = beta == 1.0 ? tg_tensor_ref(g) : tg_mul_scalar(c, g, beta))) goto done;
  if (tg_needs_input_grad(n, 1)) { /* alpha * g @ m2^T */
    if (!(p = grad_product(c, g, false, m2, true, batched, col_major(m1, d0, d1)))) goto done;
    if (!(gin[1] = alpha == 1.0 ? tg_tensor_ref(p) : tg_mul_scalar(c, p, alpha))) goto done;
    tg_tensor_unref(p), p = NULL;
  }
  if (tg_needs_input_grad(n, 2)) { /* alpha * m1^T @ g */
    if (!(p = grad_product(c, m1, true, g, false, batched, col_major(m2, d0, d1)))) goto done;
    if (!(gin[2] = alpha == 1.0 ? tg_tensor_ref(p) : tg_mul_scalar(c, p, alpha))) goto done;
  }
  rc = 0;
done:
  tg_tensor_unref(m1), tg_tensor_unref(m2), tg_tensor_unref(p);
  return rc;
}
static const tg_node_kind addmm_kind = {"AddmmBackward0", addmm_backward, NULL};
static const tg_node_kind baddbmm_kind = {"BaddbmmBackward0", addmm_backward, NULL};

static tg_tensor *addmm_impl(tg_ctx *c, tg_tensor *self, tg_tensor *a, tg_tensor *b, double beta, double alpha, bool batched) {
  if (self->dtype != a->dtype)
    return tg_errp(c, "self and mat2 must have the same dtype, but got %s and %s", tg_torch_dtype_name(self->dtype), tg_torch_dtype_name(a->dtype));
  bool gm = c->grad_enabled;
  c->grad_enabled = false;
  tg_tensor *p = batched ? tg_bmm(c, a, b) : tg_mm(c, a, b), *e = NULL, *s = NULL, *out = NULL;
  if (p) e = tg_expand(c, self, p->ndim, p->size); /* self must broadcast to the product */
  if (e) {
    s = alpha == 1.0 ? tg_tensor_ref(p) : tg_mul_scalar(c, p, alpha);
    if (s && beta == 0.0) out = tg_contiguous(c, s); /* beta = 0 ignores self (even nan) */
    else if (s && beta == 1.0) out = tg_add(c, e, s);
    else if (s) {
      tg_tensor *be = tg_mul_scalar(c, e, beta);
      out = be ? tg_add(c, be, s) : NULL;
      tg_tensor_unref(be);
    }
  }
  c->grad_enabled = gm;
  tg_tensor_unref(p), tg_tensor_unref(e), tg_tensor_unref(s);
  if (!out) return NULL;
  if (out->refs > 1) { /* a shared result (alpha 1, beta 0): own it */
    tg_tensor *o = tg_cast_raw(c, out, out->dtype);
    tg_tensor_unref(out);
    if (!(out = o)) return NULL;
  }
  tg_tensor *ins[3] = {self, a, b};
  tg_node *n = tg_record(c, batched ? &baddbmm_kind : &addmm_kind, out, 3, ins, 2);
  if (n) {
    n->dp[0] = beta, n->dp[1] = alpha, n->ip[0] = batched;
    if (tg_save(c, n, 0, a, false) < 0 || tg_save(c, n, 1, b, false) < 0) {
      tg_tensor_unref(out);
      return NULL;
    }
  }
  return out;
}

tg_tensor *tg_addmm(tg_ctx *c, tg_tensor *self, tg_tensor *a, tg_tensor *b, double beta, double alpha) {
  return addmm_impl(c, self, a, b, beta, alpha, false);
}

tg_tensor *tg_baddbmm(tg_ctx *c, tg_tensor *self, tg_tensor *a, tg_tensor *b, double beta, double alpha) {
  return addmm_impl(c, self, a, b, beta, alpha, true);
}
