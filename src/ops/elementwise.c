/* elementwise.c: unary and binary ops (forward builders next to their
 * backward formulas, which are written with tgrad's own ops so that
 * create_graph differentiates them again). */
#include <math.h>
#include <string.h>

#include "../backend/backend.h"
#include "../tg.h"
#include "binary_fast.h" /* perop2 */

const tg_op_info tg_op_infos[TG_OP_COUNT] = {
#define TG_UNARY(E, name, gname, int_ok) [TG_OP_##E] = {#name, #gname, TG_KIND_UNARY, int_ok},
#define TG_BINARY(E, name, gname, kind) [TG_OP_##E] = {#name, #gname, TG_KIND_##kind, true},
#define TG_ACT(E, name, gname, int_ok) [TG_OP_##E] = {#name, #gname, TG_KIND_UNARY, int_ok}, /* act */
#include "../ops.def"
};

static int unary_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin);
static int binary_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin);

static const tg_node_kind op_kinds[TG_OP_COUNT] = {
#define TG_UNARY(E, name, gname, int_ok) [TG_OP_##E] = {#gname, unary_backward, NULL},
#define TG_BINARY(E, name, gname, kind) [TG_OP_##E] = {#gname, binary_backward, NULL},
#include "../ops.def"
};

static int check_supported(tg_ctx *c, const tg_tensor *t, tg_kernel k, int op) {
  if (!tg_backend_of(t)->supports(k, op, t->dtype))
    return tg_err(c, "\"%s\" not implemented for '%s' on %s", op >= 0 ? tg_op_infos[op].name : "kernel",
                  tg_dtype_name(t->dtype), tg_backend_of(t)->name);
  return 0;
}

/* ----------------------------------------------- temporaries in backward
 * Backward formulas chain many small ops; each result goes through K(), which
 * keeps it for release at the end and turns the first failure into a no-op
 * for every later K() (write one op per statement, never nest K()). */
#define TMPS_MAX 40
typedef struct tmps { tg_tensor *t[TMPS_MAX]; int n; bool bad; } tmps;
static tg_tensor *tmps_keep(tg_ctx *c, tmps *A, tg_tensor *t) {
  if (!t || A->n == TMPS_MAX) {
    if (t) tg_err(c, "internal error: too many temporaries"), tg_tensor_unref(t);
    A->bad = true;
    return NULL;
  }
  return A->t[A->n++] = t;
}
static void tmps_free(tmps *A) {
  for (int i = 0; i < A->n; i++) tg_tensor_unref(A->t[i]);
  A->n = 0;
}
#define K(e) (A.bad ? NULL : tmps_keep(c, &A, (e)))
/* small differentiable helpers */
#define MULS(x, s) tg_binary_scalar(c, TG_OP_MUL, x, s, false, false)
#define ADDS(x, s) tg_binary_scalar(c, TG_OP_ADD, x, s, false, false)
#define RSUBS(s, x) tg_binary_scalar(c, TG_OP_SUB, x, s, false, true) /* s - x */
#define CMPS(op, x, s) tg_binary_scalar(c, op, x, s, false, false)    /* bool */

/* ------------------------------------------------------------------ unary */
typedef enum { SAVE_NONE, SAVE_INPUT, SAVE_OUTPUT } save_kind;

static save_kind unary_saves(tg_op op) {
  switch (op) {
    case TG_OP_NEG: case TG_OP_SIGN: case TG_OP_FLOOR: case TG_OP_CEIL: case TG_OP_ROUND: case TG_OP_TRUNC:
      return SAVE_NONE;
    case TG_OP_EXP: case TG_OP_SQRT: case TG_OP_SIGMOID: case TG_OP_TANH: case TG_OP_RELU: case TG_OP_EXPM1:
    case TG_OP_RSQRT: case TG_OP_TAN: case TG_OP_RECIPROCAL:
      return SAVE_OUTPUT;
    default: return SAVE_INPUT;
  }
}

static bool has_params(tg_op op) { return op == TG_OP_GELU || op == TG_OP_SOFTPLUS || op == TG_OP_CLAMP; }

/* the dtype the op computes in, from the input's (PyTorch's choices) */
static int unary_dtype(tg_ctx *c, tg_op op, tg_dtype in, tg_dtype *dt) {
  const char *name = tg_op_infos[op].name;
  if ((op == TG_OP_GELU || op == TG_OP_SILU || op == TG_OP_SOFTPLUS) && !tg_is_float(in))
    return tg_err(c, "\"%s\" not implemented for '%s'", name, tg_torch_dtype_name(in));
  if (in == TG_BOOL) {
    switch (op) {
      case TG_OP_NEG:
        return tg_err(c, "Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
                         "to invert a mask, use the `~` or `logical_not()` operator instead.");
      case TG_OP_RELU: return tg_err(c, "Boolean inputs not supported for relu");
      case TG_OP_ABS: case TG_OP_FLOOR: case TG_OP_CEIL: case TG_OP_ROUND: case TG_OP_TRUNC:
        return tg_err(c, "\"%s\" not implemented for '%s'", name, tg_torch_dtype_name(in));
      case TG_OP_SIGN: *dt = TG_BOOL; return 0; /* sign of a bool is itself */
      default: *dt = tg_op_infos[op].int_ok ? TG_INT64 : TG_FLOAT32; return 0;
    }
  }
  *dt = tg_is_float(in) || tg_op_infos[op].int_ok ? in : TG_FLOAT32; /* exp(int) is float */
  return 0;
}

/* out = op(x) computed in dt (x cast first), no autograd */
static tg_tensor *unary_raw_dt(tg_ctx *c, tg_op op, tg_tensor *x, tg_dtype dt, const double *params) {
  if (dt == TG_BOOL) return tg_cast_raw(c, x, TG_BOOL); /* sign(bool) */
  if (check_supported(c, x, TG_K_UNARY, op) < 0) return NULL;
  const tg_backend *be = tg_backend_of(x);
  if (has_params(op) && !be->unary_p)
    return tg_errp(c, "\"%s\" not implemented on %s", tg_op_infos[op].name, be->name);
  tg_tensor *in = dt == x->dtype ? tg_tensor_ref(x) : tg_cast_raw(c, x, dt);
  if (!in) return NULL;
  tg_tensor *out = tg_tensor_empty_on(c, be, dt, x->ndim, x->size); /* cuda boundary: on x's device */
  if (out && tg_numel(out)) {
    int rc = has_params(op) ? be->unary_p(c, op, out, in, params) : be->unary(c, op, out, in);
    if (rc < 0) {
      tg_tensor_unref(out);
      out = NULL;
    }
  }
  tg_tensor_unref(in);
  return out;
}

/* record the node of a unary op (params kept in dp[]) */
static tg_tensor *unary_record(tg_ctx *c, tg_op op, tg_tensor *x, tg_tensor *out, const double *params, int np) {
  if (!out || !tg_is_float(out->dtype)) return out;
  save_kind sk = unary_saves(op);
  tg_node *n = tg_record(c, &op_kinds[op], out, 1, &x, sk == SAVE_NONE ? 0 : 1);
  if (n) {
    n->ip[0] = op;
    for (int i = 0; i < np && i < 4; i++) n->dp[i] = params[i];
    if (sk != SAVE_NONE && tg_save(c, n, 0, sk == SAVE_OUTPUT ? out : x, sk == SAVE_OUTPUT) < 0) {
      tg_tensor_unref(out);
      return NULL;
    }
  }
  return out;
}

tg_tensor *tg_unary(tg_ctx *c, tg_op op, tg_tensor *x) {
  switch (op) { /* the parametrised ops with their defaults */
    case TG_OP_GELU: return tg_gelu(c, x, false);
    case TG_OP_SOFTPLUS: return tg_softplus(c, x, 1.0, 20.0);
    case TG_OP_CLAMP: return tg_clamp(c, x, NULL, NULL, false);
    default: break;
  }
  tg_dtype dt = x->dtype;
  if (unary_dtype(c, op, x->dtype, &dt) < 0) return NULL;
  return unary_record(c, op, x, unary_raw_dt(c, op, x, dt, NULL), NULL, 0);
}

tg_tensor *tg_neg(tg_ctx *c, tg_tensor *a) { return tg_unary(c, TG_OP_NEG, a); }

tg_tensor *tg_gelu(tg_ctx *c, tg_tensor *x, bool tanh_approx) {
  double p[1] = {tanh_approx ? 1.0 : 0.0};
  tg_dtype dt = x->dtype;
  if (unary_dtype(c, TG_OP_GELU, x->dtype, &dt) < 0) return NULL;
  return unary_record(c, TG_OP_GELU, x, unary_raw_dt(c, TG_OP_GELU, x, dt, p), p, 1);
}

tg_tensor *tg_softplus(tg_ctx *c, tg_tensor *x, double beta, double threshold) {
  double p[2] = {beta, threshold};
  tg_dtype dt = x->dtype;
  if (unary_dtype(c, TG_OP_SOFTPLUS, x->dtype, &dt) < 0) return NULL;
  return unary_record(c, TG_OP_SOFTPLUS, x, unary_raw_dt(c, TG_OP_SOFTPLUS, x, dt, p), p, 2);
}

tg_tensor *tg_clamp(tg_ctx *c, tg_tensor *x, const double *min, const double *max, bool ints) {
  if (!min && !max) return tg_errp(c, "torch.clamp: At least one of 'min' or 'max' must not be None");
  double p[4] = {min ? *min : 0, max ? *max : 0, min != NULL, max != NULL};
  /* the python-scalar rule: integer bounds keep an integer tensor integral */
  tg_dtype dt = tg_is_float(x->dtype) ? x->dtype : ints ? TG_INT64 : TG_FLOAT32;
  return unary_record(c, TG_OP_CLAMP, x, unary_raw_dt(c, TG_OP_CLAMP, x, dt, p), p, 4);
}

tg_tensor *tg_logical_not(tg_ctx *c, tg_tensor *x) {
  tg_tensor *f = tg_tensor_scalar(c, TG_BOOL, 0);
  if (!f) return NULL;
  f->wrapped_number = true; /* compares in x's own dtype */
  tg_tensor *r = tg_binary(c, TG_OP_EQ, x, f);
  tg_tensor_unref(f);
  return r;
}

/* d out / d x times g, per op (p = the op's parameters) */
static tg_tensor *unary_grad(tg_ctx *c, tg_op op, tg_tensor *g, tg_tensor *s, const double *p) {
  tmps A = {.n = 0};
  tg_tensor *r = NULL, *t1, *t2, *t3, *t4, *t5, *t6;
  switch (op) {
    case TG_OP_NEG: r = K(tg_neg(c, g)); break;
    case TG_OP_SIGN: case TG_OP_FLOOR: case TG_OP_CEIL: case TG_OP_ROUND: case TG_OP_TRUNC:
      r = K(tg_tensor_zeros(c, g->dtype, g->ndim, g->size));
      break;
    case TG_OP_EXP: r = K(tg_mul(c, g, s)); break;                     /* g * out */
    case TG_OP_LOG: r = K(tg_div(c, g, s)); break;                     /* g / x */
    case TG_OP_LOG1P:                                                  /* g / (1 + x) */
      t1 = K(ADDS(s, 1.0));
      r = K(tg_div(c, g, t1));
      break;
    case TG_OP_SQRT:                                                   /* g / (2 out) */
      t1 = K(MULS(s, 2.0));
      r = K(tg_div(c, g, t1));
      break;
    case TG_OP_ABS:                                                    /* g * sign(x) */
      t1 = K(tg_unary(c, TG_OP_SIGN, s));
      r = K(tg_mul(c, g, t1));
      break;
    case TG_OP_SIGMOID:                                                /* g * out * (1 - out) */
      t1 = K(RSUBS(1.0, s));
      t2 = K(tg_mul(c, s, t1));
      r = K(tg_mul(c, g, t2));
      break;
    case TG_OP_TANH:                                                   /* g * (1 - out^2) */
      t1 = K(tg_mul(c, s, s));
      t2 = K(RSUBS(1.0, t1));
      r = K(tg_mul(c, g, t2));
      break;
    case TG_OP_RELU:                                                   /* g * (out > 0) */
      t1 = K(CMPS(TG_OP_GT, s, 0.0));
      r = K(tg_mul(c, g, t1));
      break;
    case TG_OP_EXPM1:                                                  /* g * (out + 1) */
      t1 = K(ADDS(s, 1.0));
      r = K(tg_mul(c, g, t1));
      break;
    case TG_OP_RSQRT:                                                  /* -g out^3 / 2 */
      t1 = K(tg_mul(c, s, s));
      t2 = K(tg_mul(c, t1, s));
      t3 = K(MULS(t2, -0.5));
      r = K(tg_mul(c, g, t3));
      break;
    case TG_OP_SIN:                                                    /* g cos(x) */
      t1 = K(tg_unary(c, TG_OP_COS, s));
      r = K(tg_mul(c, g, t1));
      break;
    case TG_OP_COS:                                                    /* -g sin(x) */
      t1 = K(tg_unary(c, TG_OP_SIN, s));
      t2 = K(tg_neg(c, t1));
      r = K(tg_mul(c, g, t2));
      break;
    case TG_OP_TAN:                                                    /* g (1 + out^2) */
      t1 = K(tg_mul(c, s, s));
      t2 = K(ADDS(t1, 1.0));
      r = K(tg_mul(c, g, t2));
      break;
    case TG_OP_SILU:                                                   /* g sg (1 + x (1 - sg)) */
      t1 = K(tg_unary(c, TG_OP_SIGMOID, s));
      t2 = K(RSUBS(1.0, t1));
      t3 = K(tg_mul(c, s, t2));
      t4 = K(ADDS(t3, 1.0));
      t5 = K(tg_mul(c, t1, t4));
      r = K(tg_mul(c, g, t5));
      break;
    case TG_OP_ERF:                                                    /* g 2/sqrt(pi) exp(-x^2) */
      t1 = K(tg_mul(c, s, s));
      t2 = K(MULS(t1, -1.0));
      t3 = K(tg_unary(c, TG_OP_EXP, t2));
      t4 = K(MULS(t3, 1.12837916709551257390));
      r = K(tg_mul(c, g, t4));
      break;
    case TG_OP_RECIPROCAL:                                             /* -g out^2 */
      t1 = K(tg_mul(c, s, s));
      t2 = K(tg_neg(c, t1));
      r = K(tg_mul(c, g, t2));
      break;
    case TG_OP_SQUARE:                                                 /* 2 g x */
      t1 = K(MULS(s, 2.0));
      r = K(tg_mul(c, g, t1));
      break;
    case TG_OP_GELU:
      if (p[0] == 0) { /* g (Phi(x) + x phi(x)) */
        t1 = K(MULS(s, 0.70710678118654752440));
        t2 = K(tg_unary(c, TG_OP_ERF, t1));
        t3 = K(ADDS(t2, 1.0));
        t4 = K(MULS(t3, 0.5));                                         /* Phi */
        t1 = K(tg_mul(c, s, s));
        t2 = K(MULS(t1, -0.5));
        t3 = K(tg_unary(c, TG_OP_EXP, t2));
        t5 = K(MULS(t3, 0.39894228040143267794));                      /* phi */
        t6 = K(tg_mul(c, s, t5));
        t1 = K(tg_add(c, t4, t6));
        r = K(tg_mul(c, g, t1));
      } else { /* PyTorch's tanh form: 0.5 (1 + th) + 0.5 x (1 - th^2) k (1 + 3 kappa x^2) */
        const double kb = 0.79788456080286535588, kk = 0.044715;
        t1 = K(tg_mul(c, s, s));                                       /* x^2 */
        t2 = K(tg_mul(c, t1, s));
        t3 = K(MULS(t2, kk));
        t4 = K(tg_add(c, t3, s));
        t5 = K(MULS(t4, kb));
        t6 = K(tg_unary(c, TG_OP_TANH, t5));                           /* th */
        t2 = K(ADDS(t6, 1.0));
        t3 = K(MULS(t2, 0.5));                                         /* left derivative */
        t4 = K(tg_mul(c, t6, t6));
        t5 = K(RSUBS(1.0, t4));                                        /* 1 - th^2 */
        t4 = K(MULS(t1, 3.0 * kk));
        t6 = K(ADDS(t4, 1.0));
        t4 = K(MULS(t6, 0.5 * kb));
        t6 = K(tg_mul(c, t4, t5));
        t4 = K(tg_mul(c, s, t6));                                      /* right derivative */
        t5 = K(tg_add(c, t3, t4));
        r = K(tg_mul(c, g, t5));
      }
      break;
    case TG_OP_SOFTPLUS: /* g sigmoid(beta x) below the threshold, g above */
      t1 = K(MULS(s, p[0]));
      t2 = K(tg_unary(c, TG_OP_SIGMOID, t1));
      t3 = K(CMPS(TG_OP_LE, t1, p[1]));
      t4 = K(tg_mul(c, t2, t3));
      t5 = K(CMPS(TG_OP_GT, t1, p[1]));
      t6 = K(tg_add(c, t4, t5));
      r = K(tg_mul(c, g, t6));
      break;
    case TG_OP_CLAMP: /* g where min < x < max (PyTorch 2.x: no gradient on the bounds) */
      t1 = p[2] != 0 ? K(CMPS(TG_OP_GT, s, p[0])) : NULL;
      t2 = p[3] != 0 ? K(CMPS(TG_OP_LT, s, p[1])) : NULL;
      t3 = t1 && t2 ? K(tg_binary(c, TG_OP_LOGICAL_AND, t1, t2)) : t1 ? t1 : t2;
      r = K(tg_mul(c, g, t3));
      break;
    default: tg_err(c, "no derivative for %s", tg_op_infos[op].name); break;
  }
  if (r && !A.bad) tg_tensor_ref(r);
  else r = NULL;
  tmps_free(&A);
  return r;
}

static int unary_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  tg_op op = (tg_op)n->ip[0];
  tg_tensor *s = NULL;
  if (unary_saves(op) != SAVE_NONE && !(s = tg_unpack(c, n, 0))) return -1;
  int fused = tg_act_fused_grad(c, op, gout[0], s, n->dp, &gin[0]); /* act: one kernel without create_graph */
  if (fused < 0) {
    tg_tensor_unref(s);
    return -1;
  }
  if (!fused) gin[0] = unary_grad(c, op, gout[0], s, n->dp);
  tg_tensor_unref(s);
  return gin[0] ? 0 : -1;
}

/* ----------------------------------------------------------------- binary */
static int binary_compute_dtype(tg_ctx *c, tg_op op, const tg_tensor *a, const tg_tensor *b, tg_dtype *out) {
  if (op == TG_OP_SUB && a->dtype == TG_BOOL && b->dtype == TG_BOOL)
    return tg_err(c, "Subtraction, the `-` operator, with two bool tensors is not supported. "
                     "Use the `^` or `logical_xor()` operator instead.");
  if (op == TG_OP_SUB && (a->dtype == TG_BOOL || b->dtype == TG_BOOL))
    return tg_err(c, "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying "
                     "to invert a mask, use the `~` or `logical_not()` operator instead.");
  /* perop: one dtype and no Lua number: the promotion is that dtype */
  tg_dtype dt = a->dtype == b->dtype && !a->wrapped_number && !b->wrapped_number ? a->dtype : tg_result_type(a, b);
  if ((op == TG_OP_DIV || op == TG_OP_ATAN2) && !tg_is_float(dt)) dt = TG_FLOAT32; /* true division */
  if (tg_op_infos[op].kind == TG_KIND_ARITH && dt == TG_BOOL) {
    switch (op) {
      case TG_OP_ADD: case TG_OP_MUL: case TG_OP_MAXIMUM: case TG_OP_MINIMUM: break; /* or, and */
      default: return tg_err(c, "\"%s\" not implemented for 'Bool'", tg_op_infos[op].name);
    }
  }
  *out = dt;
  return 0;
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

/* perop: a 0-d CPU operand of another dtype (a Lua number) cast into a scalar
 * on the caller's stack and broadcast with 0 strides: no cast tensor, no
 * allocation. The cast is the copy kernel's ((TD)x, != 0 for bool). Not taken
 * when the tensor's backend is not the plain CPU one (a device, a recording). */
static bool same_sizes(const int64_t *a, const int64_t *b, int n) {
  for (int d = 0; d < n; d++)
    if (a[d] != b[d]) return false;
  return true;
}

typedef struct stack_scalar {
  tg_tensor t;
  tg_storage s;
  union { double f64; float f32; int64_t i64; bool b8; } v;
} stack_scalar;

static bool scalar_view(const tg_tensor *t, tg_dtype dt, int nd, const int64_t *shape, stack_scalar *ss) {
  if (t->ndim != 0 || tg_backend_of(t) != &tg_cpu_backend) return false;
  const char *p = tg_data(t);
#define STORE(TS)                                                  \
  {                                                                \
    TS x = *(const TS *)p;                                         \
    switch (dt) {                                                  \
      case TG_FLOAT32: ss->v.f32 = (float)x; break;                \
      case TG_FLOAT64: ss->v.f64 = (double)x; break;               \
      case TG_INT64: ss->v.i64 = (int64_t)x; break;                \
      default: ss->v.b8 = x != 0; break;                           \
    }                                                              \
  }
  switch (t->dtype) {
    case TG_FLOAT32: STORE(float) break;
    case TG_FLOAT64: STORE(double) break;
    case TG_INT64: STORE(int64_t) break;
    default: STORE(bool) break;
  }
#undef STORE
  memset(&ss->s, 0, sizeof ss->s);
  ss->s.refs = 1;
  ss->s.data = &ss->v;
  ss->s.nbytes = tg_dtype_size(dt);
  ss->s.backend = &tg_cpu_backend;
  memset(&ss->t, 0, offsetof(tg_tensor, size));
  ss->t.refs = 1;
  ss->t.storage = &ss->s;
  ss->t.dtype = dt;
  ss->t.ndim = nd;
  for (int d = 0; d < nd; d++) ss->t.size[d] = shape[d], ss->t.stride[d] = 0;
  return true;
}

/* out = op(a, b) computed in dt, with broadcasting, no autograd */
static tg_tensor *binary_raw_dt(tg_ctx *c, tg_op op, tg_tensor *a, tg_tensor *b, tg_dtype dt) {
  int nd;
  int64_t shape[TG_MAX_DIMS];
  if (tg_backend_of(a) != tg_backend_of(b)) {
    /* cuda boundary: a 0-d cpu tensor (a Lua number) joins the other operand's device, as in PyTorch */
    tg_tensor *cpu0 = a->ndim == 0 && tg_on_cpu(a) ? a : b->ndim == 0 && tg_on_cpu(b) ? b : NULL;
    if (!cpu0)
      return tg_errp(c, "Expected all tensors to be on the same device, but found at least two devices, %s%s and %s%s!",
                     tg_backend_of(a)->name, tg_on_cpu(a) ? "" : ":0", tg_backend_of(b)->name, tg_on_cpu(b) ? "" : ":0");
    tg_tensor *moved = tg_to_backend(c, cpu0, tg_backend_of(cpu0 == a ? b : a));
    if (!moved) return NULL;
    moved->wrapped_number = cpu0->wrapped_number;
    tg_tensor *r = cpu0 == a ? binary_raw_dt(c, op, moved, b, dt) : binary_raw_dt(c, op, a, moved, dt);
    tg_tensor_unref(moved);
    return r;
  }
  if (tg_broadcast_shapes(c, a->ndim, a->size, b->ndim, b->size, &nd, shape) < 0) return NULL;
  tg_dtype odt = tg_op_infos[op].kind == TG_KIND_ARITH ? dt : TG_BOOL;
  tg_tensor av, bv, *ha = NULL, *hb = NULL, *pa = &av, *pb = &bv;
  stack_scalar sa, sb;
  /* perop: an operand already of the result's shape and dtype is its own view
   * (no 300-byte struct copy), a 0-d one of another dtype a stack scalar;
   * otherwise a broadcast and/or cast view */
  if (a->dtype == dt && a->ndim == nd && same_sizes(a->size, shape, nd)) pa = a;
  else if (a->dtype != dt && scalar_view(a, dt, nd, shape, &sa)) pa = &sa.t;
  else if (tg_operand_view(c, a, dt, nd, shape, &av, &ha) < 0) return NULL;
  if (b->dtype == dt && b->ndim == nd && same_sizes(b->size, shape, nd)) pb = b;
  else if (b->dtype != dt && scalar_view(b, dt, nd, shape, &sb)) pb = &sb.t;
  else if (tg_operand_view(c, b, dt, nd, shape, &bv, &hb) < 0) {
    tg_tensor_unref(ha);
    return NULL;
  }
  tg_tensor *out = check_supported(c, pa, TG_K_BINARY, op) < 0 ? NULL : tg_tensor_empty_on(c, tg_backend_of(a), odt, nd, shape); /* cuda boundary */
  if (out && tg_numel(out) && tg_backend_of(a)->binary(c, op, out, pa, pb) < 0) {
    tg_tensor_unref(out);
    out = NULL;
  }
  tg_tensor_unref(ha);
  tg_tensor_unref(hb);
  return out;
}

static tg_tensor *binary_raw(tg_ctx *c, tg_op op, tg_tensor *a, tg_tensor *b) {
  tg_tensor *r = NULL; /* perop2: one shape and dtype, contiguous */
  int fast = tg_binary_same_fast(c, op, a, b, &r);
  if (fast) return fast > 0 ? r : NULL;
  tg_dtype dt;
  if (binary_compute_dtype(c, op, a, b, &dt) < 0) return NULL;
  return binary_raw_dt(c, op, a, b, dt);
}

static bool binary_saves_inputs(tg_op op) {
  switch (op) {
    case TG_OP_MUL: case TG_OP_DIV: case TG_OP_POW: case TG_OP_MAXIMUM: case TG_OP_MINIMUM: case TG_OP_ATAN2:
    case TG_OP_FMOD: case TG_OP_REMAINDER:
      return true;
    default: return false;
  }
}

tg_tensor *tg_binary(tg_ctx *c, tg_op op, tg_tensor *a, tg_tensor *b) {
  /* an integer tensor to a negative Lua integer power, as PyTorch refuses it */
  if (op == TG_OP_POW && b->wrapped_number && b->dtype == TG_INT64 && !tg_is_float(a->dtype) &&
      *(const int64_t *)tg_data(b) < 0)
    return tg_errp(c, "Integers to negative integer powers are not allowed.");
  tg_tensor *out = binary_raw(c, op, a, b);
  if (!out || tg_op_infos[op].kind != TG_KIND_ARITH || !tg_is_float(out->dtype)) return out;
  tg_tensor *ins[2] = {a, b};
  tg_node *n = tg_record(c, &op_kinds[op], out, 2, ins, 3);
  if (!n) return out;
  n->ip[0] = op;
  /* save only what the backward of the inputs that need a gradient reads (as PyTorch):
   * a * ft with ft constant keeps ft, not a; a / ft keeps ft only */
  bool save = binary_saves_inputs(op), na = tg_needs_input_grad(n, 0), nb = tg_needs_input_grad(n, 1);
  bool linear_in_a = op == TG_OP_MUL || op == TG_OP_DIV || op == TG_OP_FMOD || op == TG_OP_REMAINDER;
  bool save_a = save && (!linear_in_a || nb), save_b = save && (op != TG_OP_MUL || na);
  if (op == TG_OP_FMOD || op == TG_OP_REMAINDER) save_b = save && nb;
  if ((save_a && tg_save(c, n, 0, a, false) < 0) || (save_b && tg_save(c, n, 1, b, false) < 0) ||
      (op == TG_OP_POW && tg_save(c, n, 2, out, true) < 0)) {
    tg_tensor_unref(out);
    return NULL;
  }
  /* PyTorch's names for the forms with a Lua number */
  if (op == TG_OP_POW) n->name = b->wrapped_number ? "PowBackward0" : a->wrapped_number ? "PowBackward2" : "PowBackward1";
  if (op == TG_OP_SUB && a->wrapped_number) n->name = "RsubBackward1";
  if (op == TG_OP_FMOD && b->wrapped_number) n->name = "FmodBackward0";
  if (op == TG_OP_REMAINDER && b->wrapped_number) n->name = "RemainderBackward0";
  return out;
}

tg_tensor *tg_binary_scalar(tg_ctx *c, tg_op op, tg_tensor *a, double s, bool s_is_int, bool scalar_first) {
  tg_tensor *r = NULL; /* perop2: no wrapped tensor when no graph is recorded */
  int fast = tg_binary_number_fast(c, op, a, s_is_int ? TG_NUM_INT : TG_NUM_FLOAT, s, (int64_t)s, scalar_first, &r);
  if (fast) return fast > 0 ? r : NULL;
  tg_tensor *st = tg_tensor_scalar(c, s_is_int ? TG_INT64 : TG_FLOAT64, s);
  if (!st) return NULL;
  st->wrapped_number = true;
  r = scalar_first ? tg_binary(c, op, st, a) : tg_binary(c, op, a, st);
  tg_tensor_unref(st);
  return r;
}

tg_tensor *tg_add(tg_ctx *c, tg_tensor *a, tg_tensor *b) { return tg_binary(c, TG_OP_ADD, a, b); }
tg_tensor *tg_sub(tg_ctx *c, tg_tensor *a, tg_tensor *b) { return tg_binary(c, TG_OP_SUB, a, b); }
tg_tensor *tg_mul(tg_ctx *c, tg_tensor *a, tg_tensor *b) { return tg_binary(c, TG_OP_MUL, a, b); }
tg_tensor *tg_div(tg_ctx *c, tg_tensor *a, tg_tensor *b) { return tg_binary(c, TG_OP_DIV, a, b); }
/* div with rounding_mode (torch.div(a, b, rounding_mode=)): mode 1 "trunc", 2 "floor".
 * Computed in the promoted dtype (int64 stays int64, unlike true division), with
 * PyTorch's scalar formulas (div_floor_floating / div_floor_integer); the gradient is
 * zero for both inputs (DivBackward2 with a rounding mode). */
#define DIV_FLOOR_FLOAT(T, FMOD, FLOOR, a, b, out)                 \
  do {                                                             \
    T a_ = (a), b_ = (b), m_, d_, f_;                              \
    if (b_ == 0) { out = a_ / b_; break; }                         \
    m_ = FMOD(a_, b_);                                             \
    d_ = (a_ - m_) / b_;                                           \
    if (m_ != 0 && ((b_ < 0) != (m_ < 0))) d_ -= (T)1;             \
    if (d_ != 0) {                                                 \
      f_ = FLOOR(d_);                                              \
      if (d_ - f_ > (T)0.5) f_ += (T)1;                            \
    } else {                                                       \
      f_ = copysign((T)0, a_ / b_);                                \
    }                                                              \
    out = f_;                                                      \
  } while (0)

static int div_rounding_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  (void)gout;
  for (int i = 0; i < n->n_in; i++) {
    if (!tg_needs_input_grad(n, i)) continue;
    gin[i] = tg_tensor_full(c, n->in[i].dtype, n->in[i].ndim, n->in[i].size, 0);
    if (!gin[i]) {
      for (int j = 0; j < i; j++) tg_tensor_unref(gin[j]), gin[j] = NULL;
      return -1;
    }
  }
  return 0;
}
static const tg_node_kind div_rounding_kind = {"DivBackward2", div_rounding_backward, NULL};

tg_tensor *tg_div_rounding(tg_ctx *c, tg_tensor *a, tg_tensor *b, int mode) {
  if (mode != 1 && mode != 2) return tg_div(c, a, b);
  const char *mname = mode == 1 ? "trunc" : "floor";
  if (!tg_on_cpu(a) || !tg_on_cpu(b)) return tg_errp(c, "div(rounding_mode='%s'): only the cpu backend is supported", mname);
  tg_dtype dt = tg_result_type(a, b);
  if (dt == TG_BOOL) return tg_errp(c, "\"div_%s_cpu\" not implemented for 'Bool'", mname);
  int nd;
  int64_t shape[TG_MAX_DIMS];
  if (tg_broadcast_shapes(c, a->ndim, a->size, b->ndim, b->size, &nd, shape) < 0) return NULL;
  tg_tensor av, bv, *ha, *hb;
  if (tg_operand_view(c, a, dt, nd, shape, &av, &ha) < 0) return NULL;
  if (tg_operand_view(c, b, dt, nd, shape, &bv, &hb) < 0) {
    tg_tensor_unref(ha);
    return NULL;
  }
  tg_tensor *out = tg_tensor_empty(c, dt, nd, shape);
  int64_t numel = out ? tg_numel(out) : 0;
  void *o = out ? tg_data(out) : NULL;
  for (int64_t i = 0; i < numel; i++) {
    if (dt == TG_INT64) {
      int64_t x = tg_get_flat_i64(&av, i), y = tg_get_flat_i64(&bv, i), q;
      if (y == 0) {
        tg_tensor_unref(out);
        out = tg_errp(c, "ZeroDivisionError");
        break;
      }
      if (y == -1) q = (int64_t)(0 - (uint64_t)x); /* INT64_MIN / -1 wraps */
      else {
        q = x / y;
        if (mode == 2 && (x % y) != 0 && ((x < 0) != (y < 0))) q -= 1;
      }
      ((int64_t *)o)[i] = q;
    } else if (dt == TG_FLOAT32) {
      float x = (float)tg_get_flat(&av, i), y = (float)tg_get_flat(&bv, i), q;
      if (mode == 1) q = truncf(x / y);
      else DIV_FLOOR_FLOAT(float, fmodf, floorf, x, y, q);
      ((float *)o)[i] = q;
    } else {
      double x = tg_get_flat(&av, i), y = tg_get_flat(&bv, i), q;
      if (mode == 1) q = trunc(x / y);
      else DIV_FLOOR_FLOAT(double, fmod, floor, x, y, q);
      ((double *)o)[i] = q;
    }
  }
  tg_tensor_unref(ha);
  tg_tensor_unref(hb);
  if (!out || !tg_is_float(dt)) return out;
  tg_tensor *ins[2] = {a, b};
  tg_record(c, &div_rounding_kind, out, 2, ins, 0);
  return out;
}
#undef DIV_FLOOR_FLOAT

tg_tensor *tg_zero_where_zero(tg_ctx *c, tg_tensor *t, tg_tensor *m) {
  tg_tensor *z = tg_binary_scalar(c, TG_OP_EQ, m, 0, false, false);
  tg_tensor *zero = z ? tg_tensor_scalar(c, t->dtype, 0) : NULL;
  tg_tensor *f = zero ? tg_masked_fill(c, t, z, zero) : NULL;
  tg_tensor_unref(z), tg_tensor_unref(zero);
  return f;
}

tg_tensor *tg_mul_scalar(tg_ctx *c, tg_tensor *a, double s) { return tg_binary_scalar(c, TG_OP_MUL, a, s, false, false); }
tg_tensor *tg_add_scalar(tg_ctx *c, tg_tensor *a, double s) { return tg_binary_scalar(c, TG_OP_ADD, a, s, false, false); }
tg_tensor *tg_pow_scalar(tg_ctx *c, tg_tensor *a, double e) { return tg_binary_scalar(c, TG_OP_POW, a, e, false, false); }

/* a + alpha b / a - alpha b: AddBackward0 / SubBackward0 with alpha in dp[0] */
tg_tensor *tg_add_alpha(tg_ctx *c, tg_op op, tg_tensor *a, tg_tensor *b, double alpha, bool alpha_is_int) {
  if (op != TG_OP_ADD && op != TG_OP_SUB) return tg_errp(c, "alpha is only defined for add and sub");
  if (alpha == 1) return tg_binary(c, op, a, b);
  tg_dtype dt;
  if (binary_compute_dtype(c, op, a, b, &dt) < 0) return NULL;
  if (!tg_is_float(dt) && !alpha_is_int)
    return tg_errp(c, "For integral input tensors, argument alpha must not be a floating point number.");
  tg_tensor *ac = NULL, *bc = NULL, *al = NULL, *sb = NULL, *out = NULL;
  /* everything in dt: alpha b, then a (+|-) that */
  if (!(ac = a->dtype == dt ? tg_tensor_ref(a) : tg_cast_raw(c, a, dt))) goto done;
  if (!(bc = b->dtype == dt ? tg_tensor_ref(b) : tg_cast_raw(c, b, dt))) goto done;
  if (!(al = tg_tensor_scalar(c, dt, dt == TG_BOOL ? (alpha != 0) : alpha))) goto done;
  if (!(sb = binary_raw_dt(c, TG_OP_MUL, bc, al, dt))) goto done;
  out = binary_raw_dt(c, op, ac, sb, dt);
  if (out && tg_is_float(dt)) {
    tg_tensor *ins[2] = {a, b};
    tg_node *n = tg_record(c, &op_kinds[op], out, 2, ins, 0);
    if (n) {
      n->ip[0] = op;
      n->ip[1] = 1;
      n->dp[0] = alpha;
    }
  }
done:
  tg_tensor_unref(ac), tg_tensor_unref(bc), tg_tensor_unref(al), tg_tensor_unref(sb);
  return out;
}

/* mask (bool) as a tensor of dtype dt (a constant: no graph) */
#define MASKF(m, dt) tg_to_dtype(c, m, dt)

static int binary_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  tg_op op = (tg_op)n->ip[0];
  tg_tensor *g = gout[0], *a = NULL, *b = NULL, *out = NULL;
  tg_tensor *t1, *t2, *t3, *t4, *t5, *ga = NULL, *gb = NULL;
  bool na = tg_needs_input_grad(n, 0), nb = tg_needs_input_grad(n, 1);
  double alpha = n->ip[1] ? n->dp[0] : 1.0;
  tmps A = {.n = 0};
  if (binary_saves_inputs(op)) {
    /* a slot left empty (not needed by the inputs that need a gradient) stays NULL */
    if (n->saved[0].data || n->freed) a = K(tg_unpack(c, n, 0));
    if (n->saved[1].data || n->freed) b = K(tg_unpack(c, n, 1));
    if (op == TG_OP_POW) out = K(tg_unpack(c, n, 2));
    /* a Lua number takes the gradient's dtype, as a scalar does in PyTorch's formulas
     * (two wrapped numbers would otherwise promote to float32) */
    if (a && a->wrapped_number) a = K(tg_cast_raw(c, a, g->dtype));
    if (b && b->wrapped_number) b = K(tg_cast_raw(c, b, g->dtype));
  }
  switch (op) {
    case TG_OP_ADD:
    case TG_OP_SUB:
      if (na) ga = K(tg_tensor_ref(g));
      if (nb) gb = K(alpha == 1 && op == TG_OP_ADD ? tg_tensor_ref(g) : MULS(g, op == TG_OP_SUB ? -alpha : alpha));
      break;
    case TG_OP_MUL:
      if (na) ga = K(tg_mul(c, g, b));
      if (nb) gb = K(tg_mul(c, g, a));
      break;
    case TG_OP_DIV: /* d/da = 1/b, d/db = -a/b^2 */
      if (na) ga = K(tg_div(c, g, b));
      if (nb) {
        t1 = K(tg_div(c, g, b));
        t2 = K(tg_div(c, a, b));
        t3 = K(tg_mul(c, t1, t2));
        gb = K(tg_neg(c, t3));
      }
      break;
    case TG_OP_POW:
      if (na) { /* g * b * a^(b-1), and 0 where b == 0 (as PyTorch: not 0 * a^-1 at a = 0) */
        t1 = K(tg_binary_scalar(c, TG_OP_SUB, b, 1.0, false, false));
        t2 = K(tg_binary(c, TG_OP_POW, a, t1));
        t3 = K(tg_mul(c, t2, b));
        t4 = K(tg_mul(c, g, t3));
        ga = K(tg_zero_where_zero(c, t4, b));
      }
      if (nb) { /* g * out * log(a), taken as 0 where a == 0 and b >= 0 (as PyTorch: 0^b at b < 0
                 * gives inf * log(0) = -inf); log in out's dtype */
        t5 = K(tg_to_dtype(c, a, out->dtype));
        t1 = K(CMPS(TG_OP_EQ, t5, 0.0));
        t2 = K(CMPS(TG_OP_GE, b, 0.0));
        t3 = K(MASKF(t1, out->dtype));
        t4 = K(MASKF(t2, out->dtype));
        t1 = K(tg_mul(c, t3, t4));
        t2 = K(tg_add(c, t5, t1));
        t3 = K(tg_unary(c, TG_OP_LOG, t2));
        t4 = K(tg_mul(c, out, t3));
        gb = K(tg_mul(c, g, t4));
      }
      break;
    case TG_OP_MAXIMUM:
    case TG_OP_MINIMUM: {
      /* as PyTorch: the gradient goes to the larger (smaller) input, split in half on ties */
      tg_op lose_a = op == TG_OP_MAXIMUM ? TG_OP_LT : TG_OP_GT, lose_b = op == TG_OP_MAXIMUM ? TG_OP_GT : TG_OP_LT;
      t1 = K(tg_binary(c, TG_OP_EQ, a, b));
      t2 = K(MASKF(t1, g->dtype));
      t3 = K(MULS(t2, 0.5));               /* 0.5 on ties */
      t4 = K(RSUBS(1.0, t3));
      if (na) {
        t1 = K(tg_binary(c, lose_a, a, b));
        t2 = K(MASKF(t1, g->dtype));
        t5 = K(tg_sub(c, t4, t2));
        ga = K(tg_mul(c, g, t5));
      }
      if (nb) {
        t1 = K(tg_binary(c, lose_b, a, b));
        t2 = K(MASKF(t1, g->dtype));
        t5 = K(tg_sub(c, t4, t2));
        gb = K(tg_mul(c, g, t5));
      }
      break;
    }
    case TG_OP_ATAN2: /* (g b, -g a) / (a^2 + b^2) */
      t1 = K(tg_mul(c, a, a));
      t2 = K(tg_mul(c, b, b));
      t3 = K(tg_add(c, t1, t2));
      t4 = K(tg_div(c, g, t3));
      if (na) ga = K(tg_mul(c, t4, b));
      if (nb) {
        t5 = K(tg_mul(c, t4, a));
        gb = K(tg_neg(c, t5));
      }
      break;
    case TG_OP_FMOD:      /* (g, -g trunc(a / b)) */
    case TG_OP_REMAINDER: /* (g, -g floor(a / b)) */
      if (na) ga = K(tg_tensor_ref(g));
      if (nb) {
        t1 = K(tg_div(c, a, b));
        t2 = K(tg_unary(c, op == TG_OP_FMOD ? TG_OP_TRUNC : TG_OP_FLOOR, t1));
        t3 = K(tg_mul(c, g, t2));
        gb = K(tg_neg(c, t3));
      }
      break;
    default: tg_err(c, "no derivative for %s", n->name); A.bad = true; break;
  }
  int rc = A.bad ? -1 : 0;
  if (rc == 0) {
    gin[0] = tg_tensor_ref(ga);
    gin[1] = tg_tensor_ref(gb);
  }
  tmps_free(&A);
  return rc;
}

/* ------------------------------------------------ clamp with tensor bounds */
/* PyTorch's ClampBackward0 (measured on PyTorch 2.x): the gradient goes to
 * whichever of x, min, max the output is; on a tie it is split in half, except
 * that x == min == max gives it all to x; min > max gives it all to max:
 *   gx   = le (inside + (x == min)/2 + (x == max)/2)       le = min <= max
 *   gmin = le (x < min) + lt (x == min)/2                  lt = min < max
 *   gmax = gt + le (x > max) + lt (x == max)/2             gt = min > max
 * with one bound only: gx = (x > min) + (x == min)/2, gmin = (x < min) + (x == min)/2
 * (and the mirror image for max), which is maximum's / minimum's rule. */
static int clamp_tensor_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  bool hmin = n->ip[1], hmax = n->ip[2];
  int imin = 1, imax = hmin ? 2 : 1;
  tg_tensor *g = gout[0], *x, *lo = NULL, *hi = NULL, *t1, *t2, *t3, *m1, *m2, *m3, *m4;
  tg_dtype dt = g->dtype;
  tmps A = {.n = 0};
  x = K(tg_unpack(c, n, 0));
  if (hmin) lo = K(tg_unpack(c, n, imin));
  if (hmax) hi = K(tg_unpack(c, n, imax));
  if (A.bad) goto done;
  /* a comparison as a 0/1 tensor of g's dtype */
#define CMPF(dst, op, p, q) do { t1 = K(tg_binary(c, op, p, q)); dst = K(MASKF(t1, dt)); } while (0)
  if (hmin && hmax) {
    tg_tensor *le, *lt, *gt, *eqlo, *eqhi;
    CMPF(le, TG_OP_LE, lo, hi);
    CMPF(lt, TG_OP_LT, lo, hi);
    CMPF(gt, TG_OP_GT, lo, hi);
    CMPF(eqlo, TG_OP_EQ, x, lo);
    CMPF(eqhi, TG_OP_EQ, x, hi);
    if (tg_needs_input_grad(n, 0)) {
      CMPF(m1, TG_OP_GT, x, lo);
      CMPF(m2, TG_OP_LT, x, hi);
      m3 = K(tg_mul(c, m1, m2));                  /* inside */
      t2 = K(tg_add(c, eqlo, eqhi));
      t3 = K(MULS(t2, 0.5));
      m4 = K(tg_add(c, m3, t3));
      t2 = K(tg_mul(c, le, m4));
      t3 = K(tg_mul(c, g, t2));
      if (!A.bad) gin[0] = tg_tensor_ref(t3);
    }
    for (int s = 0; s < 2; s++) { /* min, then max: the same rule, and max also gets gt */
      int ib = s ? imax : imin;
      if (!tg_needs_input_grad(n, ib)) continue;
      CMPF(m1, s ? TG_OP_GT : TG_OP_LT, x, s ? hi : lo);
      m2 = K(tg_mul(c, le, m1));
      t2 = K(tg_mul(c, lt, s ? eqhi : eqlo));
      t3 = K(MULS(t2, 0.5));
      m3 = K(tg_add(c, m2, t3));
      if (s) m3 = K(tg_add(c, m3, gt));
      m4 = K(tg_mul(c, g, m3));
      if (!A.bad) gin[ib] = tg_tensor_ref(m4);
    }
  } else {
    tg_tensor *b = hmin ? lo : hi, *half;
    int ib = hmin ? imin : imax;
    tg_op toward_x = hmin ? TG_OP_GT : TG_OP_LT, toward_b = hmin ? TG_OP_LT : TG_OP_GT;
    CMPF(m1, TG_OP_EQ, x, b);
    half = K(MULS(m1, 0.5));
    for (int s = 0; s < 2; s++) { /* x, then the bound: the same rule toward each side */
      int i = s ? ib : 0;
      if (!tg_needs_input_grad(n, i)) continue;
      CMPF(m2, s ? toward_b : toward_x, x, b);
      m3 = K(tg_add(c, m2, half));
      m4 = K(tg_mul(c, g, m3));
      if (!A.bad) gin[i] = tg_tensor_ref(m4);
    }
  }
#undef CMPF
done:;
  int rc = A.bad ? -1 : 0;
  if (rc < 0)
    for (int i = 0; i < n->n_in; i++) tg_tensor_unref(gin[i]), gin[i] = NULL;
  tmps_free(&A);
  return rc;
}
static const tg_node_kind clamp_tensor_kind = {"ClampBackward0", clamp_tensor_backward, NULL};

tg_tensor *tg_clamp_tensor(tg_ctx *c, tg_tensor *x, tg_tensor *min, tg_tensor *max) {
  if (!min && !max) return tg_errp(c, "torch.clamp: At least one of 'min' or 'max' must not be None");
  const tg_tensor *all[3] = {x, min, max};
  tg_dtype dt = tg_result_type_n(3, all);
  if (dt == TG_BOOL) return tg_errp(c, "\"clamp\" not implemented for 'Bool'");
  tg_tensor *r = NULL, *t = NULL;
  /* min(max(x, lo), hi): NaN in x stays NaN, lo > hi gives hi, as PyTorch */
  if (!(r = x->dtype == dt ? tg_tensor_ref(x) : tg_cast_raw(c, x, dt))) return NULL;
  if (min) {
    t = binary_raw_dt(c, TG_OP_MAXIMUM, r, min, dt);
    tg_tensor_unref(r);
    if (!(r = t)) return NULL;
  }
  if (max) {
    t = binary_raw_dt(c, TG_OP_MINIMUM, r, max, dt);
    tg_tensor_unref(r);
    if (!(r = t)) return NULL;
  }
  if (!tg_is_float(dt)) return r;
  tg_tensor *ins[3];
  int k = 0;
  ins[k++] = x;
  if (min) ins[k++] = min;
  if (max) ins[k++] = max;
  tg_node *n = tg_record(c, &clamp_tensor_kind, r, k, ins, k);
  if (n) {
    n->ip[1] = min != NULL;
    n->ip[2] = max != NULL;
    for (int i = 0; i < k; i++)
      if (tg_save(c, n, i, ins[i], false) < 0) {
        tg_tensor_unref(r);
        return NULL;
      }
  }
  return r;
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
