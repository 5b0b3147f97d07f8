/* elementwise.c: unary and binary ops (forward builders next to their
 * backward formulas, which are written with tgrad's own ops so that
 * create_graph differentiates them again). */
#include <string.h>

#include "../backend/backend.h"
#include "../tg.h"

const tg_op_info tg_op_infos[TG_OP_COUNT] = {
#define TG_UNARY(E, name, gname, int_ok) [TG_OP_##E] = {#name, #gname, TG_KIND_UNARY, int_ok},
#define TG_BINARY(E, name, gname, kind) [TG_OP_##E] = {#name, #gname, TG_KIND_##kind, true},
#include "../ops.def"
};

static int unary_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin);
static int binary_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin);

static const tg_node_kind op_kinds[TG_OP_COUNT] = {
#define TG_UNARY(E, name, gname, int_ok) [TG_OP_##E] = {#gname, unary_backward, NULL},
#define TG_BINARY(E, name, gname, kind) [TG_OP_##E] = {#gname, binary_backward, NULL},
#include "../ops.def"
};

/* ops whose backward wants the output rather than the input */
static bool saves_output(tg_op op) {
  return op == TG_OP_EXP || op == TG_OP_SQRT || op == TG_OP_SIGMOID || op == TG_OP_TANH || op == TG_OP_RELU;
}

static int check_supported(tg_ctx *c, const tg_tensor *t, tg_kernel k, int op) {
  if (!tg_backend_of(t)->supports(k, op, t->dtype))
    return tg_err(c, "\"%s\" not implemented for '%s' on %s", op >= 0 ? tg_op_infos[op].name : "kernel",
                  tg_dtype_name(t->dtype), tg_backend_of(t)->name);
  return 0;
}

/* ------------------------------------------------------------------ unary */
static tg_tensor *unary_raw(tg_ctx *c, tg_op op, tg_tensor *x) {
  tg_dtype dt = x->dtype;
  if (dt == TG_BOOL && op == TG_OP_NEG)
    return tg_errp(c, "Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
                      "to invert a mask, use the `~` or `logical_not()` operator instead.");
  if (!tg_is_float(dt) && !tg_op_infos[op].int_ok) dt = TG_FLOAT32; /* exp(int) is float */
  if (dt == TG_BOOL) dt = TG_INT64;
  if (check_supported(c, x, TG_K_UNARY, op) < 0) return NULL;
  tg_tensor *in = dt == x->dtype ? tg_tensor_ref(x) : tg_cast_raw(c, x, dt);
  if (!in) return NULL;
  tg_tensor *out = tg_tensor_empty(c, dt, x->ndim, x->size);
  if (out && tg_numel(out) && tg_backend_of(in)->unary(c, op, out, in) < 0) {
    tg_tensor_unref(out);
    out = NULL;
  }
  tg_tensor_unref(in);
  return out;
}

tg_tensor *tg_unary(tg_ctx *c, tg_op op, tg_tensor *x) {
  tg_tensor *out = unary_raw(c, op, x);
  if (!out || !tg_is_float(out->dtype)) return out;
  tg_node *n = tg_record(c, &op_kinds[op], out, 1, &x, 1);
  if (n) {
    n->ip[0] = op;
    if (tg_save(c, n, 0, saves_output(op) ? out : x, saves_output(op)) < 0) {
      tg_tensor_unref(out);
      return NULL;
    }
  }
  return out;
}

tg_tensor *tg_neg(tg_ctx *c, tg_tensor *a) { return tg_unary(c, TG_OP_NEG, a); }

/* d out / d x times g, per op */
static int unary_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  tg_op op = (tg_op)n->ip[0];
  tg_tensor *g = gout[0], *s = NULL, *t1 = NULL, *t2 = NULL, *r = NULL;
  if (op != TG_OP_NEG && op != TG_OP_SIGN) {
    s = tg_unpack(c, n, 0);
    if (!s) return -1;
  }
  switch (op) {
    case TG_OP_NEG: r = tg_neg(c, g); break;
    case TG_OP_SIGN: r = tg_mul_scalar(c, g, 0.0); break;
    case TG_OP_EXP: r = tg_mul(c, g, s); break;                     /* g * out */
    case TG_OP_LOG: r = tg_div(c, g, s); break;                     /* g / x */
    case TG_OP_LOG1P:                                               /* g / (1 + x) */
      t1 = tg_add_scalar(c, s, 1.0);
      r = t1 ? tg_div(c, g, t1) : NULL;
      break;
    case TG_OP_SQRT:                                                /* g / (2 out) */
      t1 = tg_mul_scalar(c, s, 2.0);
      r = t1 ? tg_div(c, g, t1) : NULL;
      break;
    case TG_OP_ABS:                                                 /* g * sign(x) */
      t1 = tg_unary(c, TG_OP_SIGN, s);
      r = t1 ? tg_mul(c, g, t1) : NULL;
      break;
    case TG_OP_SIGMOID:                                             /* g * out * (1 - out) */
      t1 = tg_binary_scalar(c, TG_OP_SUB, s, 1.0, false, true);
      t2 = t1 ? tg_mul(c, s, t1) : NULL;
      r = t2 ? tg_mul(c, g, t2) : NULL;
      break;
    case TG_OP_TANH:                                                /* g * (1 - out^2) */
      t1 = tg_mul(c, s, s);
      t2 = t1 ? tg_binary_scalar(c, TG_OP_SUB, t1, 1.0, false, true) : NULL;
      r = t2 ? tg_mul(c, g, t2) : NULL;
      break;
    case TG_OP_RELU:                                                /* g * (out > 0) */
      t1 = tg_binary_scalar(c, TG_OP_GT, s, 0.0, false, false);
      r = t1 ? tg_mul(c, g, t1) : NULL;
      break;
    default: tg_err(c, "no derivative for %s", n->name); break;
  }
  tg_tensor_unref(s);
  tg_tensor_unref(t1);
  tg_tensor_unref(t2);
  if (!r) return -1;
  gin[0] = r;
  return 0;
}

/* ----------------------------------------------------------------- binary */
static tg_dtype binary_compute_dtype(tg_op op, const tg_tensor *a, const tg_tensor *b) {
  tg_dtype dt = tg_result_type(a, b);
  if (op == TG_OP_DIV && !tg_is_float(dt)) dt = TG_FLOAT32; /* true division */
  if (tg_op_infos[op].kind == TG_KIND_ARITH && dt == TG_BOOL) dt = TG_INT64;
  return dt;
}

/* view t (cast to dt if needed) with out's broadcast shape; *hold keeps the cast alive */
int tg_operand_view(tg_ctx *c, tg_tensor *t, tg_dtype dt, int nd, const int64_t *shape, tg_tensor *view,
                    tg_tensor **hold) {
  *hold = NULL;
  if (t->dtype != dt) {
    *hold = tg_cast_raw(c, t, dt);
    if (!*hold) return -1;
    t = *hold;
  }
  *view = *t;
  view->ndim = nd;
  memcpy(view->size, shape, sizeof(int64_t) * (size_t)nd);
  tg_broadcast_strides(t, nd, shape, view->stride);
  return 0;
}

static tg_tensor *binary_raw(tg_ctx *c, tg_op op, tg_tensor *a, tg_tensor *b) {
  int nd;
  int64_t shape[TG_MAX_DIMS];
  if (tg_backend_of(a) != tg_backend_of(b))
    return tg_errp(c, "Expected all tensors to be on the same device, but found at least two devices, %s and %s!",
                   tg_backend_of(a)->name, tg_backend_of(b)->name);
  if (tg_broadcast_shapes(c, a->ndim, a->size, b->ndim, b->size, &nd, shape) < 0) return NULL;
  tg_dtype dt = binary_compute_dtype(op, a, b);
  tg_dtype odt = tg_op_infos[op].kind == TG_KIND_ARITH ? dt : TG_BOOL;
  tg_tensor av, bv, *ha, *hb;
  if (tg_operand_view(c, a, dt, nd, shape, &av, &ha) < 0) return NULL;
  if (tg_operand_view(c, b, dt, nd, shape, &bv, &hb) < 0) {
    tg_tensor_unref(ha);
    return NULL;
  }
  tg_tensor *out = check_supported(c, &av, TG_K_BINARY, op) < 0 ? NULL : tg_tensor_empty(c, odt, nd, shape);
  if (out && tg_numel(out) && tg_backend_of(a)->binary(c, op, out, &av, &bv) < 0) {
    tg_tensor_unref(out);
    out = NULL;
  }
  tg_tensor_unref(ha);
  tg_tensor_unref(hb);
  return out;
}

tg_tensor *tg_binary(tg_ctx *c, tg_op op, tg_tensor *a, tg_tensor *b) {
  tg_tensor *out = binary_raw(c, op, a, b);
  if (!out || tg_op_infos[op].kind != TG_KIND_ARITH || !tg_is_float(out->dtype)) return out;
  tg_tensor *ins[2] = {a, b};
  tg_node *n = tg_record(c, &op_kinds[op], out, 2, ins, 3);
  if (!n) return out;
  n->ip[0] = op;
  bool save_a = op == TG_OP_MUL || op == TG_OP_DIV || op == TG_OP_POW;
  bool save_b = op == TG_OP_MUL || op == TG_OP_DIV || op == TG_OP_POW;
  if ((save_a && tg_save(c, n, 0, a, false) < 0) || (save_b && tg_save(c, n, 1, b, false) < 0) ||
      (op == TG_OP_POW && tg_save(c, n, 2, out, true) < 0)) {
    tg_tensor_unref(out);
    return NULL;
  }
  /* PyTorch's names for the forms with a Lua number */
  if (op == TG_OP_POW) n->name = b->wrapped_number ? "PowBackward0" : a->wrapped_number ? "PowBackward2" : "PowBackward1";
  if (op == TG_OP_SUB && a->wrapped_number) n->name = "RsubBackward1";
  return out;
}

tg_tensor *tg_binary_scalar(tg_ctx *c, tg_op op, tg_tensor *a, double s, bool s_is_int, bool scalar_first) {
  tg_tensor *st = tg_tensor_scalar(c, s_is_int ? TG_INT64 : TG_FLOAT64, s);
  if (!st) return NULL;
  st->wrapped_number = true;
  tg_tensor *r = scalar_first ? tg_binary(c, op, st, a) : tg_binary(c, op, a, st);
  tg_tensor_unref(st);
  return r;
}

tg_tensor *tg_add(tg_ctx *c, tg_tensor *a, tg_tensor *b) { return tg_binary(c, TG_OP_ADD, a, b); }
tg_tensor *tg_sub(tg_ctx *c, tg_tensor *a, tg_tensor *b) { return tg_binary(c, TG_OP_SUB, a, b); }
tg_tensor *tg_mul(tg_ctx *c, tg_tensor *a, tg_tensor *b) { return tg_binary(c, TG_OP_MUL, a, b); }
tg_tensor *tg_div(tg_ctx *c, tg_tensor *a, tg_tensor *b) { return tg_binary(c, TG_OP_DIV, a, b); }
tg_tensor *tg_mul_scalar(tg_ctx *c, tg_tensor *a, double s) { return tg_binary_scalar(c, TG_OP_MUL, a, s, false, false); }
tg_tensor *tg_add_scalar(tg_ctx *c, tg_tensor *a, double s) { return tg_binary_scalar(c, TG_OP_ADD, a, s, false, false); }
tg_tensor *tg_pow_scalar(tg_ctx *c, tg_tensor *a, double e) { return tg_binary_scalar(c, TG_OP_POW, a, e, false, false); }

/* a tensor's gradient: g * d, reusing tmp holders; NULL on failure */
static int binary_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  tg_op op = (tg_op)n->ip[0];
  tg_tensor *g = gout[0], *a = NULL, *b = NULL, *out = NULL, *t1 = NULL, *t2 = NULL, *t3 = NULL;
  bool na = tg_needs_input_grad(n, 0), nb = tg_needs_input_grad(n, 1);
  int rc = -1;
  if (op == TG_OP_MUL || op == TG_OP_DIV || op == TG_OP_POW) {
    if (!(a = tg_unpack(c, n, 0)) || !(b = tg_unpack(c, n, 1))) goto done;
    if (op == TG_OP_POW && !(out = tg_unpack(c, n, 2))) goto done;
  }
  switch (op) {
    case TG_OP_ADD:
      if (na) gin[0] = tg_tensor_ref(g);
      if (nb) gin[1] = tg_tensor_ref(g);
      break;
    case TG_OP_SUB:
      if (na) gin[0] = tg_tensor_ref(g);
      if (nb && !(gin[1] = tg_neg(c, g))) goto done;
      break;
    case TG_OP_MUL:
      if (na && !(gin[0] = tg_mul(c, g, b))) goto done;
      if (nb && !(gin[1] = tg_mul(c, g, a))) goto done;
      break;
    case TG_OP_DIV: /* d/da = 1/b, d/db = -a/b^2 */
      if (na && !(gin[0] = tg_div(c, g, b))) goto done;
      if (nb) {
        if (!(t1 = tg_div(c, g, b)) || !(t2 = tg_div(c, a, b)) || !(t3 = tg_mul(c, t1, t2))) goto done;
        if (!(gin[1] = tg_neg(c, t3))) goto done;
      }
      break;
    case TG_OP_POW:
      if (na) { /* g * b * a^(b-1) */
        if (!(t1 = tg_binary_scalar(c, TG_OP_SUB, b, 1.0, false, false)) || !(t2 = tg_binary(c, TG_OP_POW, a, t1)) ||
            !(t3 = tg_mul(c, t2, b)))
          goto done;
        if (!(gin[0] = tg_mul(c, g, t3))) goto done;
        tg_tensor_unref(t1), tg_tensor_unref(t2), tg_tensor_unref(t3);
        t1 = t2 = t3 = NULL;
      }
      if (nb) { /* g * out * log(a), taken as 0 where a == 0 (as PyTorch) */
        if (!(t1 = tg_binary_scalar(c, TG_OP_EQ, a, 0.0, false, false)) || !(t2 = tg_add(c, a, t1))) goto done;
        tg_tensor_unref(t1);
        if (!(t1 = tg_unary(c, TG_OP_LOG, t2)) || !(t3 = tg_mul(c, out, t1))) goto done;
        if (!(gin[1] = tg_mul(c, g, t3))) goto done;
      }
      break;
    default: tg_err(c, "no derivative for %s", n->name); goto done;
  }
  rc = 0;
done:
  tg_tensor_unref(a), tg_tensor_unref(b), tg_tensor_unref(out);
  tg_tensor_unref(t1), tg_tensor_unref(t2), tg_tensor_unref(t3);
  return rc;
}

/* ------------------------------------------------------- dtype and copies */
static int to_copy_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  gin[0] = tg_to_dtype(c, gout[0], n->in[0].dtype);
  return gin[0] ? 0 : -1;
}
static const tg_node_kind to_copy_kind = {"ToCopyBackward0", to_copy_backward, NULL};

tg_tensor *tg_to_dtype(tg_ctx *c, tg_tensor *x, tg_dtype dt) {
  if (x->dtype == dt) return tg_tensor_ref(x);
  tg_tensor *out = tg_cast_raw(c, x, dt);
  if (out && tg_is_float(dt) && tg_is_float(x->dtype)) tg_record(c, &to_copy_kind, out, 1, &x, 0);
  return out;
}

static int clone_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  (void)c, (void)n;
  gin[0] = tg_tensor_ref(gout[0]);
  return 0;
}
static const tg_node_kind clone_kind = {"CloneBackward0", clone_backward, NULL};

tg_tensor *tg_clone(tg_ctx *c, tg_tensor *x) {
  tg_tensor *out = tg_cast_raw(c, x, x->dtype);
  if (out) tg_record(c, &clone_kind, out, 1, &x, 0);
  return out;
}

tg_tensor *tg_contiguous(tg_ctx *c, tg_tensor *x) {
  return tg_is_contiguous(x) ? tg_tensor_ref(x) : tg_clone(c, x);
}

int tg_add_inplace_raw(tg_ctx *c, tg_tensor *dst, tg_tensor *src) {
  tg_tensor sv, *hold;
  if (tg_numel(dst) == 0) return 0;
  if (tg_operand_view(c, src, dst->dtype, dst->ndim, dst->size, &sv, &hold) < 0) return -1;
  int rc = tg_backend_of(dst)->binary(c, TG_OP_ADD, dst, dst, &sv);
  tg_tensor_unref(hold);
  if (rc == 0) tg_bump_version(dst);
  return rc;
}
