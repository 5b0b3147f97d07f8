/* cpu_activation.c (helper act): the backend's activation slot on the CPU.
 * Forward: y = f(x) for the TG_ACT ops of ops.def. Backward: gx = g f'(s) in one pass, with no
 * temporaries, for those and for relu, sigmoid, tanh, gelu, silu, softplus (s is what the node
 * saved: the output for relu/sigmoid/tanh and the is_result forms, else the input).
 * Each loop has a contiguous body the compiler vectorises (float32 exp is cpu_vmath.h's), a body
 * for a broadcast (stride 0) gradient, as sum()'s backward hands down, and a strided one. */
#include <stdint.h>
#include <tgmath.h>

#include "../../ops/scalar_math.h"
#include "cpu.h"
#include "cpu_vmath.h"

typedef float f32;
typedef double f64;

#define C(v) ((T)(v))
#define VEXP(x) TG_VEXP(x)
/* stable log(1 + exp(x)) and sigmoid for T */
#define SOFTPLUS1(x) (((x) > 0 ? (x) : C(0)) + log1p(VEXP(-fabs(x))))
#define SIGM(x) ((x) >= 0 ? C(1) / (C(1) + VEXP(-(x))) : VEXP(x) / (C(1) + VEXP(x)))

/* ---- forward expressions of v (the parameters: a0 a1 a2, T) */
#define F_ELU (v > 0 ? a1 * v : a1 * a0 * (VEXP(v * a2) - C(1)))
#define F_CELU F_ELU
#define F_LEAKY_RELU (v > 0 ? v : v * a0)
#define F_HARDTANH (v < a0 ? a0 : (v > a1 ? a1 : v))
#define F_HARDSWISH (v * (v + C(3) < 0 ? C(0) : (v + C(3) > C(6) ? C(6) : v + C(3))) / C(6))
#define F_HARDSIGMOID ((v + C(3) < 0 ? C(0) : (v + C(3) > C(6) ? C(6) : v + C(3))) / C(6))
#define F_MISH (v * TG_VTANH(SOFTPLUS1(v)))
#define F_LOGSIGMOID ((v < 0 ? v : C(0)) - log1p(VEXP(-fabs(v))))

/* ---- backward expressions of (d = g, v = saved) */
#define B_RELU (v > 0 ? d : C(0))
#define B_SIGMOID (d * v * (C(1) - v))
#define B_TANH (d * (C(1) - v * v))
#define B_SILU                                                                                  \
  ({                                                                                            \
    T sg_ = SIGM(v);                                                                            \
    d * sg_ * (C(1) + v * (C(1) - sg_));                                                        \
  })
#define B_SOFTPLUS (v * a0 > a1 ? d : d * SIGM(v * a0))
#define B_GELU_ERF                                                                              \
  (d * (C(0.5) * (C(1) + erf(v * C(0.70710678118654752440))) +                                 \
        v * C(0.39894228040143267794) * VEXP(C(-0.5) * v * v)))
#define GELU_TH(v) TG_VTANH(C(0.79788456080286535588) * ((v) + C(0.044715) * (v) * (v) * (v)))
#define B_GELU_TANH                                                                             \
  ({                                                                                            \
    T th_ = GELU_TH(v);                                                                         \
    d * (C(0.5) * (C(1) + th_) +                                                                \
         C(0.5) * v * (C(1) - th_ * th_) * C(0.79788456080286535588) * (C(1) + C(3 * 0.044715) * v * v)); \
  })
#define B_ELU (v > 0 ? d * a1 : d * a1 * a0 * a2 * VEXP(v * a2))
#define B_ELU_RESULT (v > 0 ? d * a1 : d * a2 * (v + a0 * a1))
#define B_LEAKY_RELU (v > 0 ? d : d * a0)
#define B_HARDTANH (v > a0 && v < a1 ? d : C(0))
#define B_HARDSWISH (v <= C(-3) ? C(0) : (v < C(3) ? d * (v / C(3) + C(0.5)) : d))
#define B_HARDSIGMOID (v > C(-3) && v < C(3) ? d * C(1.0f / 6.0f) : C(0)) /* PyTorch's float 1/6 */
#define B_MISH                                                                                  \
  ({                                                                                            \
    T t_ = TG_VTANH(SOFTPLUS1(v));                                                                  \
    d * (t_ + v * SIGM(v) * (C(1) - t_ * t_));                                                  \
  })
#define B_LOGSIGMOID (d * SIGM(-v))

#define PARAMS(TY)                                      \
  typedef TY T;                                        \
  const double *prm = (const double *)arg;             \
  const T a0 = (T)prm[0], a1 = (T)prm[1], a2 = (T)prm[2]; \
  (void)a0, (void)a1, (void)a2;

#define FWD(NAME, TY, EXPR)                                                                 \
  TG_CLONES static void fw_##NAME##_##TY(int64_t n, char **p, const int64_t *s, const void *arg) { \
    PARAMS(TY)                                                                               \
    if (s[0] == sizeof(T) && s[1] == sizeof(T)) {                                          \
      T *restrict y = (T *)p[0];                                                           \
      const T *restrict x = (const T *)p[1];                                               \
      for (int64_t i = 0; i < n; i++) { T v = x[i]; y[i] = (EXPR); }                       \
    } else {                                                                               \
      for (int64_t i = 0; i < n; i++) {                                                    \
        T v = *(const T *)(p[1] + i * s[1]);                                               \
        *(T *)(p[0] + i * s[0]) = (EXPR);                                                  \
      }                                                                                    \
    }                                                                                      \
  }

/* operands: 0 = gx (contiguous), 1 = g, 2 = saved */
#define BWD(NAME, TY, EXPR)                                                                 \
  TG_CLONES static void bw_##NAME##_##TY(int64_t n, char **p, const int64_t *s, const void *arg) { \
    PARAMS(TY)                                                                               \
    T *restrict o = (T *)p[0];                                                             \
    if (s[0] == sizeof(T) && s[1] == sizeof(T) && s[2] == sizeof(T)) {                     \
      const T *restrict gp = (const T *)p[1], *restrict x = (const T *)p[2];               \
      for (int64_t i = 0; i < n; i++) { T d = gp[i], v = x[i]; o[i] = (EXPR); }            \
    } else if (s[0] == sizeof(T) && s[1] == 0 && s[2] == sizeof(T)) {                      \
      const T d = *(const T *)p[1];                                                        \
      const T *restrict x = (const T *)p[2];                                               \
      for (int64_t i = 0; i < n; i++) { T v = x[i]; o[i] = (EXPR); }                       \
    } else {                                                                               \
      for (int64_t i = 0; i < n; i++) {                                                    \
        T d = *(const T *)(p[1] + i * s[1]), v = *(const T *)(p[2] + i * s[2]);            \
        *(T *)(p[0] + i * s[0]) = (EXPR);                                                  \
      }                                                                                    \
    }                                                                                      \
  }

#define BOTH(M, NAME, EXPR) M(NAME, f32, EXPR) M(NAME, f64, EXPR)
BOTH(FWD, ELU, F_ELU)
BOTH(FWD, LEAKY_RELU, F_LEAKY_RELU)
BOTH(FWD, HARDTANH, F_HARDTANH)
BOTH(FWD, HARDSWISH, F_HARDSWISH)
BOTH(FWD, HARDSIGMOID, F_HARDSIGMOID)
BOTH(FWD, MISH, F_MISH)
BOTH(FWD, LOGSIGMOID, F_LOGSIGMOID)
BOTH(BWD, RELU, B_RELU)
BOTH(BWD, SIGMOID, B_SIGMOID)
BOTH(BWD, TANH, B_TANH)
BOTH(BWD, SILU, B_SILU)
BOTH(BWD, SOFTPLUS, B_SOFTPLUS)
BOTH(BWD, GELU_ERF, B_GELU_ERF)
BOTH(BWD, GELU_TANH, B_GELU_TANH)
BOTH(BWD, ELU, B_ELU)
BOTH(BWD, ELU_RESULT, B_ELU_RESULT)
BOTH(BWD, LEAKY_RELU, B_LEAKY_RELU)
BOTH(BWD, HARDTANH, B_HARDTANH)
BOTH(BWD, HARDSWISH, B_HARDSWISH)
BOTH(BWD, HARDSIGMOID, B_HARDSIGMOID)
BOTH(BWD, MISH, B_MISH)
BOTH(BWD, LOGSIGMOID, B_LOGSIGMOID)

#define PICK(pfx, NAME) (f64 ? pfx##_##NAME##_f64 : pfx##_##NAME##_f32)

static tg_loop_fn fwd_loop(tg_op op, bool f64) {
  switch (op) {
    case TG_OP_ELU: case TG_OP_CELU: return PICK(fw, ELU);
    case TG_OP_LEAKY_RELU: return PICK(fw, LEAKY_RELU);
    case TG_OP_HARDTANH: return PICK(fw, HARDTANH);
    case TG_OP_HARDSWISH: return PICK(fw, HARDSWISH);
    case TG_OP_HARDSIGMOID: return PICK(fw, HARDSIGMOID);
    case TG_OP_MISH: return PICK(fw, MISH);
    case TG_OP_LOGSIGMOID: return PICK(fw, LOGSIGMOID);
    default: return NULL;
  }
}

static tg_loop_fn bwd_loop(tg_op op, bool f64, const double *p) {
  switch (op) {
    case TG_OP_RELU: return PICK(bw, RELU);
    case TG_OP_SIGMOID: return PICK(bw, SIGMOID);
    case TG_OP_TANH: return PICK(bw, TANH);
    case TG_OP_SILU: return PICK(bw, SILU);
    case TG_OP_SOFTPLUS: return PICK(bw, SOFTPLUS);
    case TG_OP_GELU: return p[0] != 0 ? PICK(bw, GELU_TANH) : PICK(bw, GELU_ERF);
    case TG_OP_ELU: case TG_OP_CELU: return p[3] != 0 ? PICK(bw, ELU_RESULT) : PICK(bw, ELU);
    case TG_OP_LEAKY_RELU: return PICK(bw, LEAKY_RELU);
    case TG_OP_HARDTANH: return PICK(bw, HARDTANH);
    case TG_OP_HARDSWISH: return PICK(bw, HARDSWISH);
    case TG_OP_HARDSIGMOID: return PICK(bw, HARDSIGMOID);
    case TG_OP_MISH: return PICK(bw, MISH);
    case TG_OP_LOGSIGMOID: return PICK(bw, LOGSIGMOID);
    default: return NULL;
  }
}

int tg_cpu_activation(tg_ctx *c, tg_op op, tg_tensor *out, const tg_tensor *x, const tg_tensor *g, const double *p) {
  static const double none[4] = {0, 0, 0, 0};
  if (!p) p = none;
  if (x->dtype != TG_FLOAT32 && x->dtype != TG_FLOAT64)
    return tg_err(c, "\"%s\" not implemented for '%s'", tg_op_infos[op].name, tg_dtype_name(x->dtype));
  bool f64 = x->dtype == TG_FLOAT64;
  tg_loop_fn f = g ? bwd_loop(op, f64, p) : fwd_loop(op, f64);
  if (!f) return tg_err(c, "internal error: no activation kernel for %s", tg_op_infos[op].name);
  tg_iter it;
  const tg_tensor *ts[3] = {out, g ? g : x, x};
  if (g) tg_iter_init(&it, 3, ts);
  else tg_iter_init(&it, 2, (const tg_tensor *const[]){out, x});
  tg_iter_run(c, &it, f, p, true);
  return 0;
}
