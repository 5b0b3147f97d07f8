/* activation.c (helper act): the activations of ops.def's TG_ACT rows as core ops, each with
 * PyTorch's grad_fn name, forward builder and backward formula side by side:
 *   ELU / SELU  EluBackward0 (in place: EluBackward1), p = {alpha, scale, input_scale}
 *   CELU        CeluBackward0 (CeluBackward1), elu with input_scale = 1 / alpha
 *   LEAKY_RELU  LeakyReluBackward0 (LeakyReluBackward1), p = {negative_slope}
 *   HARDTANH    HardtanhBackward0 (relu6 = hardtanh(0, 6)), p = {min_val, max_val}
 *   HARDSWISH HARDSIGMOID MISH LOGSIGMOID: their ...Backward0
 * Forward and the fused backward are kernels behind the backend's activation slot. The backward
 * runs that one kernel when no graph of the gradient is wanted (grad mode off inside backward),
 * else the formula in differentiable ops (double backward). tg_act_fused_grad also serves the
 * unary ops of elementwise.c (relu, sigmoid, tanh, gelu, silu, softplus).
 * The in-place forms of elu/celu/leaky_relu save the result (the input is overwritten), as
 * PyTorch's; the result form of the formula is marked by the parameter `is_result` (p[3] for
 * ELU/CELU, p[1] for LEAKY_RELU). */
#include <string.h>

#include "../backend/backend.h"
#include "../tg.h"

#define ACT_FIRST TG_OP_ELU
#define ACT_N (TG_OP_COUNT - TG_OP_ELU)

static int act_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin);

static const tg_node_kind act_kinds[ACT_N] = {
#define TG_ACT(E, name, gname, int_ok) [TG_OP_##E - ACT_FIRST] = {#gname, act_backward, NULL},
#include "../ops.def"
};
/* the in-place nodes that PyTorch names differently (they save the result) */
static const tg_node_kind elu_ip_kind = {"EluBackward1", act_backward, NULL};
static const tg_node_kind celu_ip_kind = {"CeluBackward1", act_backward, NULL};
static const tg_node_kind leaky_ip_kind = {"LeakyReluBackward1", act_backward, NULL};

static bool is_act(tg_op op) { return op >= ACT_FIRST && op < TG_OP_COUNT; }
static int n_params(tg_op op) {
  switch (op) {
    case TG_OP_ELU: case TG_OP_CELU: return 4;
    case TG_OP_LEAKY_RELU: case TG_OP_HARDTANH: return 2;
    default: return 0;
  }
}

/* PyTorch's kernel names in its dtype errors */
static const char *kernel_name(tg_op op) {
  switch (op) {
    case TG_OP_ELU: case TG_OP_CELU: return "elu_cpu";
    case TG_OP_LEAKY_RELU: return "leaky_relu_cpu";
    case TG_OP_HARDSWISH: return "hardswish_cpu";
    case TG_OP_HARDSIGMOID: return "hardsigmoid_cpu";
    case TG_OP_MISH: return "mish_cpu";
    case TG_OP_LOGSIGMOID: return "log_sigmoid_cpu";
    default: return "hardtanh_cpu";
  }
}

/* ----------------------------------------------- temporaries of the formulas (as elementwise.c) */
#define TMPS_MAX 16
typedef struct tmps { tg_tensor *t[TMPS_MAX]; int n; bool bad; } tmps;
static tg_tensor *keep(tg_ctx *c, tmps *A, tg_tensor *t) {
  if (!t || A->n == TMPS_MAX) {
    if (t) tg_err(c, "internal error: too many temporaries"), tg_tensor_unref(t);
    A->bad = true;
    return NULL;
  }
  return A->t[A->n++] = t;
}
#define K(e) (A.bad ? NULL : keep(c, &A, (e)))
#define MULS(x, s) tg_binary_scalar(c, TG_OP_MUL, x, s, false, false)
#define ADDS(x, s) tg_binary_scalar(c, TG_OP_ADD, x, s, false, false)
#define RSUBS(s, x) tg_binary_scalar(c, TG_OP_SUB, x, s, false, true) /* s - x */
#define CMPS(op, x, s) tg_binary_scalar(c, op, x, s, false, false)    /* bool */

/* g f'(s) in differentiable ops; s is the input, or the result where p says so */
static tg_tensor *act_grad_ops(tg_ctx *c, tg_op op, tg_tensor *g, tg_tensor *s, const double *p) {
  tmps A = {.n = 0};
  tg_tensor *r = NULL, *t1, *t2, *t3, *t4, *t5;
  switch (op) {
    case TG_OP_ELU: case TG_OP_CELU: {
      double alpha = p[0], scale = p[1], iscale = p[2];
      t1 = K(CMPS(TG_OP_GT, s, 0.0));
      t2 = K(MULS(g, scale));                                          /* positive side */
      if (p[3] != 0) {                                                 /* from y: iscale (y + alpha scale) */
        t3 = K(ADDS(s, alpha * scale));
        t4 = K(MULS(t3, iscale));
      } else {                                                         /* from x: scale alpha iscale exp(iscale x) */
        double zero = 0.0;
        t3 = K(tg_clamp(c, s, NULL, &zero, false));                    /* exp never overflows on the unused side */
        t4 = K(MULS(t3, iscale));
        t4 = K(tg_unary(c, TG_OP_EXP, t4));
        t4 = K(MULS(t4, scale * alpha * iscale));
      }
      t5 = K(tg_mul(c, g, t4));
      r = K(tg_where(c, t1, t2, t5));
      break;
    }
    case TG_OP_LEAKY_RELU:
      t1 = K(CMPS(TG_OP_GT, s, 0.0));
      t2 = K(MULS(g, p[0]));
      r = K(tg_where(c, t1, g, t2));
      break;
    case TG_OP_HARDTANH:                                               /* g where lo < x < hi */
      t1 = K(CMPS(TG_OP_GT, s, p[0]));
      t2 = K(CMPS(TG_OP_LT, s, p[1]));
      t3 = K(tg_binary(c, TG_OP_LOGICAL_AND, t1, t2));
      r = K(tg_mul(c, g, t3));
      break;
    case TG_OP_HARDSWISH:                                              /* g (x/3 + 1/2) on (-3, 3), g from 3 on */
      t1 = K(CMPS(TG_OP_GT, s, -3.0));
      t2 = K(CMPS(TG_OP_LT, s, 3.0));
      t3 = K(tg_binary(c, TG_OP_LOGICAL_AND, t1, t2));
      t4 = K(MULS(s, 1.0 / 3.0));
      t4 = K(ADDS(t4, 0.5));
      t4 = K(tg_mul(c, t4, t3));
      t5 = K(CMPS(TG_OP_GE, s, 3.0));
      t4 = K(tg_add(c, t4, t5));
      r = K(tg_mul(c, g, t4));
      break;
    case TG_OP_HARDSIGMOID:                                            /* g / 6 on (-3, 3) */
      t1 = K(CMPS(TG_OP_GT, s, -3.0));
      t2 = K(CMPS(TG_OP_LT, s, 3.0));
      t3 = K(tg_binary(c, TG_OP_LOGICAL_AND, t1, t2));
      t4 = K(MULS(g, (double)(1.0f / 6.0f)));                          /* PyTorch's float 1/6 */
      r = K(tg_mul(c, t4, t3));
      break;
    case TG_OP_MISH:                                                   /* g (t + x sigmoid(x) (1 - t^2)), t = tanh(softplus(x)) */
      t1 = K(tg_softplus(c, s, 1.0, 20.0));
      t1 = K(tg_unary(c, TG_OP_TANH, t1));
      t2 = K(tg_mul(c, t1, t1));
      t2 = K(RSUBS(1.0, t2));
      t3 = K(tg_unary(c, TG_OP_SIGMOID, s));
      t3 = K(tg_mul(c, s, t3));
      t3 = K(tg_mul(c, t3, t2));
      t3 = K(tg_add(c, t1, t3));
      r = K(tg_mul(c, g, t3));
      break;
    case TG_OP_LOGSIGMOID:                                             /* g sigmoid(-x) */
      t1 = K(tg_neg(c, s));
      t1 = K(tg_unary(c, TG_OP_SIGMOID, t1));
      r = K(tg_mul(c, g, t1));
      break;
    default: tg_err(c, "no derivative for %s", tg_op_infos[op].name); break;
  }
  if (r && !A.bad) tg_tensor_ref(r);
  else r = NULL;
  for (int i = 0; i < A.n; i++) tg_tensor_unref(A.t[i]);
  return r;
}

/* the ops tg_act_fused_grad knows, and whether grad mode is off */
static bool fusable(tg_op op) {
  switch (op) {
    case TG_OP_RELU: case TG_OP_SIGMOID: case TG_OP_TANH: case TG_OP_GELU: case TG_OP_SILU: case TG_OP_SOFTPLUS:
      return true;
    default: return is_act(op);
  }
}

int tg_act_fused_grad(tg_ctx *c, tg_op op, tg_tensor *g, tg_tensor *s, const double *p, tg_tensor **out) {
  *out = NULL;
  if (c->grad_enabled || !fusable(op) || !s || !tg_is_float(s->dtype)) return 0;
  const tg_backend *be = tg_backend_of(s);
  if (!be->activation || tg_backend_of(g) != be || !tg_same_shape(g, s)) return 0;
  tg_tensor *gc = g->dtype == s->dtype ? tg_tensor_ref(g) : tg_cast_raw(c, g, s->dtype);
  if (!gc) return -1;
  tg_tensor *r = tg_tensor_empty_on(c, be, s->dtype, s->ndim, s->size);
  if (r && tg_numel(r) && be->activation(c, op, r, s, gc, p) < 0) {
    tg_tensor_unref(r);
    r = NULL;
  }
  tg_tensor_unref(gc);
  if (!r) return -1;
  *out = r;
  return 1;
}

static int act_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  tg_op op = (tg_op)n->ip[0];
  const double *p = n->dp;
  if ((op == TG_OP_ELU || op == TG_OP_CELU) && p[3] != 0 && p[0] < 0)
    return tg_err(c, "In-place elu backward calculation is triggered with a negative slope which is not "
                     "supported. This is caused by calling in-place forward function with a negative slope, "
                     "please call out-of-place version instead.");
  if (op == TG_OP_LEAKY_RELU && p[1] != 0 && p[0] < 0)
    return tg_err(c, "In-place leakyReLu backward calculation is triggered with a negative slope which is not "
                     "supported. This is caused by calling in-place forward function with a negative slope, "
                     "please call out-of-place version instead. File an issue at "
                     "https://github.com/pytorch/pytorch if you do require supporting in-place leakRelu "
                     "backward calculation with negative slope");
  double q[4] = {p[0], p[1], p[2], p[3]};
  if (op == TG_OP_CELU) q[2] = 1.0 / (double)(float)p[0]; /* PyTorch's CeluBackward: 1.0 / alpha.toFloat() */
  p = q;
  tg_tensor *s = tg_unpack(c, n, 0);
  if (!s) return -1;
  int rc = tg_act_fused_grad(c, op, gout[0], s, p, &gin[0]);
  if (rc == 0) gin[0] = act_grad_ops(c, op, gout[0], s, p);
  tg_tensor_unref(s);
  return gin[0] ? 0 : -1;
}

/* out = op(x) recorded with kind (NULL: the op's Backward0); result: save the output */
static tg_tensor *act_forward(tg_ctx *c, tg_op op, tg_tensor *x, const double *p, const tg_node_kind *kind,
                              bool result) {
  if (!is_act(op)) return tg_errp(c, "internal error: %d is not an activation", (int)op);
  if (x->dtype == TG_BOOL && op == TG_OP_HARDTANH) return tg_errp(c, "Bool inputs not supported for hardtanh");
  if (!tg_is_float(x->dtype)) {
    if (op == TG_OP_HARDTANH && x->dtype == TG_INT64) return tg_clamp(c, x, &p[0], &p[1], true); /* as PyTorch */
    return tg_errp(c, "\"%s\" not implemented for '%s'", kernel_name(op), tg_torch_dtype_name(x->dtype));
  }
  const tg_backend *be = tg_backend_of(x);
  if (!be->activation) return tg_errp(c, "\"%s\" not implemented on %s", tg_op_infos[op].name, be->name);
  tg_tensor *out = tg_tensor_empty_on(c, be, x->dtype, x->ndim, x->size);
  if (!out) return NULL;
  if (tg_numel(out) && be->activation(c, op, out, x, NULL, p) < 0) {
    tg_tensor_unref(out);
    return NULL;
  }
  tg_node *n = tg_record(c, kind ? kind : &act_kinds[op - ACT_FIRST], out, 1, &x, 1);
  if (n) {
    n->ip[0] = op;
    for (int i = 0; i < n_params(op); i++) n->dp[i] = p[i];
    if (tg_save(c, n, 0, result ? out : x, result) < 0) {
      tg_tensor_unref(out);
      return NULL;
    }
  }
  return out;
}

/* the parameters with is_result cleared or set, checked */
static int act_params(tg_ctx *c, tg_op op, const double *p, bool result, double *q) {
  memset(q, 0, sizeof(double) * 4);
  for (int i = 0; i < n_params(op); i++) q[i] = p[i];
  if (op == TG_OP_ELU || op == TG_OP_CELU) q[3] = result;
  if (op == TG_OP_LEAKY_RELU) q[1] = result;
  if (op == TG_OP_CELU && p[0] == 0) return tg_err(c, "ZeroDivisionError: alpha cannot be 0 for CELU");
  if (op == TG_OP_HARDTANH && p[0] > p[1]) return tg_err(c, "min_val cannot be greater than max_val");
  return 0;
}

tg_tensor *tg_activation(tg_ctx *c, tg_op op, tg_tensor *x, const double *p) {
  double q[4];
  if (act_params(c, op, p, false, q) < 0) return NULL;
  return act_forward(c, op, x, q, NULL, false);
}

int tg_activation_(tg_ctx *c, tg_op op, tg_tensor *self, const double *p) {
  bool result = op == TG_OP_ELU || op == TG_OP_CELU || op == TG_OP_LEAKY_RELU;
  double q[4];
  if (act_params(c, op, p, result, q) < 0) return -1;
  if (tg_check_inplace(c, self) < 0) return -1;
  const tg_node_kind *kind = op == TG_OP_ELU ? &elu_ip_kind : op == TG_OP_CELU ? &celu_ip_kind
                           : op == TG_OP_LEAKY_RELU ? &leaky_ip_kind : NULL;
  uint64_t seq0 = c->seq;
  tg_tensor *r = act_forward(c, op, self, q, kind, result);
  if (!r) return -1;
  int rc = tg_inplace_commit(c, self, r, seq0);
  tg_tensor_unref(r);
  return rc;
}
