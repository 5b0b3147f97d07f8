/* softmax.c: softmax and log_softmax along one dim, fused kernels (the
 * backend's softmax slots) with their own backward:
 *   SoftmaxBackward0:    gx = y * (g - sum(g * y, dim))
 *   LogSoftmaxBackward0: gx = g - exp(y) * sum(g, dim)
 * The backward runs the fused kernel when no graph of the gradient is wanted
 * (grad mode off inside backward), else the same formula in differentiable
 * ops so that double backward works. Both save only the output y. */
#include "../backend/backend.h"
#include "../tg.h"

/* the differentiable form of the backward */
static tg_tensor *softmax_grad_ops(tg_ctx *c, tg_tensor *g, tg_tensor *y, int dim, bool log) {
  tg_tensor *t1 = NULL, *s = NULL, *t2 = NULL, *r = NULL;
  if (log) { /* g - exp(y) * sum(g) */
    if ((t1 = tg_unary(c, TG_OP_EXP, y)) && (s = tg_sum(c, g, 1, &dim, true)) && (t2 = tg_mul(c, t1, s)))
      r = tg_sub(c, g, t2);
  } else { /* y * (g - sum(g y)) */
    if ((t1 = tg_mul(c, g, y)) && (s = tg_sum(c, t1, 1, &dim, true)) && (t2 = tg_sub(c, g, s)))
      r = tg_mul(c, y, t2);
  }
  tg_tensor_unref(t1), tg_tensor_unref(s), tg_tensor_unref(t2);
  return r;
}

static int softmax_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  int dim = (int)n->ip[0];
  bool log = n->ip[1] != 0;
  tg_tensor *y = tg_unpack(c, n, 0), *g = gout[0];
  if (!y) return -1;
  const tg_backend *be = tg_backend_of(y);
  if (!c->grad_enabled && be->softmax_backward && tg_backend_of(g) == be) {
    tg_tensor *gc = g->dtype == y->dtype ? tg_tensor_ref(g) : tg_cast_raw(c, g, y->dtype);
    tg_tensor *r = gc ? tg_tensor_empty(c, y->dtype, y->ndim, y->size) : NULL;
    if (r && be->softmax_backward(c, r, gc, y, dim, log) < 0) {
      tg_tensor_unref(r);
      r = NULL;
    }
    tg_tensor_unref(gc);
    gin[0] = r;
  } else {
    gin[0] = softmax_grad_ops(c, g, y, dim, log);
  }
  tg_tensor_unref(y);
  return gin[0] ? 0 : -1;
}

static const tg_node_kind softmax_kind = {"SoftmaxBackward0", softmax_backward, NULL};
static const tg_node_kind log_softmax_kind = {"LogSoftmaxBackward0", softmax_backward, NULL};

static tg_tensor *softmax_op(tg_ctx *c, tg_tensor *x, int dim, bool log) {
  const char *name = log ? "log_softmax" : "softmax";
  if (!tg_is_float(x->dtype))
    return tg_errp(c, "\"%s_lastdim_kernel_impl\" not implemented for '%s'", name, tg_torch_dtype_name(x->dtype));
  int nd = x->ndim ? x->ndim : 1;
  if (dim < 0 || dim >= nd)
    return tg_errp(c, "Dimension out of range (expected to be in range of [%d, %d], but got %d)", -nd, nd, dim + 1);
  const tg_backend *be = tg_backend_of(x);
  if (!be->softmax) return tg_errp(c, "%s is not implemented on %s", name, be->name);
  tg_tensor *out = tg_tensor_empty(c, x->dtype, x->ndim, x->size);
  if (!out) return NULL;
  if (be->softmax(c, out, x, dim, log) < 0) {
    tg_tensor_unref(out);
    return NULL;
  }
  tg_node *n = tg_record(c, log ? &log_softmax_kind : &softmax_kind, out, 1, &x, 1);
  if (n) {
    n->ip[0] = dim;
    n->ip[1] = log;
    if (tg_save(c, n, 0, out, true) < 0) {
      tg_tensor_unref(out);
      return NULL;
    }
  }
  return out;
}

tg_tensor *tg_softmax(tg_ctx *c, tg_tensor *x, int dim) { return softmax_op(c, x, dim, false); }
tg_tensor *tg_log_softmax(tg_ctx *c, tg_tensor *x, int dim) { return softmax_op(c, x, dim, true); }
