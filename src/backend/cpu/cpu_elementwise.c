/* cpu_elementwise.c: unary, binary, copy/cast and fill kernels.
 * The math is TG_SM_<OP> from ops/scalar_math.h; <tgmath.h> picks the float
 * or double libm function from the operand type. */
#include <stdint.h>
#include <tgmath.h>

#include "../../ops/scalar_math.h"
#include "cpu.h"
#include "cpu_vmath.h"

/* float32 exp and what is built on it: the vectorisable exp (cpu_vmath.h) */
#undef TG_SM_EXP
#define TG_SM_EXP(x) TG_VEXP(x)
#undef TG_SM_SIGMOID
/* one exp per element: exp(-|x|) is the exp of both branches (the same bits as writing each) */
#define TG_SM_SIGMOID(x)                                                  \
  ({                                                                      \
    __typeof__(x) e_ = TG_VEXP((x) < 0 ? (x) : -(x));                     \
    (x) >= 0 ? 1 / (1 + e_) : e_ / (1 + e_);                              \
  })
#undef TG_SM_SILU
#define TG_SM_SILU(x) ((x) / (1 + TG_VEXP(-(x))))
/* float32 tanh: Cephes' polynomial / exp form (cpu_vmath.h; helper kern) */
#undef TG_SM_TANH
#define TG_SM_TANH(x) TG_VTANH(x)
#undef TG_SM_LOG
#define TG_SM_LOG(x) TG_VLOG(x)

typedef float f32;
typedef double f64;
typedef int64_t i64;
typedef bool b8;

static inline int64_t ipow(int64_t b, int64_t e) {
  if (e < 0) return b == 1 ? 1 : (b == -1 ? ((e & 1) ? -1 : 1) : 0);
  int64_t r = 1;
  while (e) { if (e & 1) r *= b; b *= b; e >>= 1; }
  return r;
}

/* ---- unary: y = f(x); ops with parameters read them from arg (const double *) */
#define UNARY_LOOP_X(E, T, EXPR)                                                      \
  TG_CLONES static void un_##E##_##T(int64_t n, char **p, const int64_t *s, const void *arg) {  \
    const double *prm = (const double *)arg;                                          \
    (void)prm;                                                                        \
    if (s[0] == sizeof(T) && s[1] == sizeof(T)) {                                     \
      T *restrict y = (T *)p[0];                                                      \
      const T *restrict x = (const T *)p[1];                                          \
      for (int64_t i = 0; i < n; i++) { T v = x[i]; y[i] = (T)(EXPR); }               \
    } else {                                                                          \
      for (int64_t i = 0; i < n; i++) {                                               \
        T v = *(const T *)(p[1] + i * s[1]);                                          \
        *(T *)(p[0] + i * s[0]) = (T)(EXPR);                                          \
      }                                                                               \
    }                                                                                 \
  }
#define UNARY_LOOP(E, T) UNARY_LOOP_X(E, T, TG_SM_##E(v))
#define TG_UNARY(E, name, gname, int_ok) UNARY_LOOP(E, f32) UNARY_LOOP(E, f64)
#define TG_UNARY_P(E, name, gname, int_ok)
#include "../../ops.def"
/* integer versions only where defined on integers; rounding is the identity */
UNARY_LOOP(NEG, i64)
UNARY_LOOP(ABS, i64)
UNARY_LOOP(SIGN, i64)
UNARY_LOOP(RELU, i64)
UNARY_LOOP(SQUARE, i64)
UNARY_LOOP_X(FLOOR, i64, v)
UNARY_LOOP_X(CEIL, i64, v)
UNARY_LOOP_X(ROUND, i64, v)
UNARY_LOOP_X(TRUNC, i64, v)
/* parameters: gelu {approximate}, softplus {beta, threshold}, clamp {lo, hi, has_lo, has_hi} */
#define GELU_EXPR(T) TG_SM_GELU(v, prm[0] != 0)
#define SOFTPLUS_EXPR(T) TG_SM_SOFTPLUS(v, (T)prm[0], (T)prm[1])
#define CLAMP_EXPR(T) TG_SM_CLAMP(v, (T)prm[0], (T)prm[1], prm[2] != 0, prm[3] != 0)
UNARY_LOOP_X(GELU, f32, GELU_EXPR(f32))
UNARY_LOOP_X(GELU, f64, GELU_EXPR(f64))
UNARY_LOOP_X(SOFTPLUS, f32, SOFTPLUS_EXPR(f32))
UNARY_LOOP_X(SOFTPLUS, f64, SOFTPLUS_EXPR(f64))
UNARY_LOOP_X(CLAMP, f32, CLAMP_EXPR(f32))
UNARY_LOOP_X(CLAMP, f64, CLAMP_EXPR(f64))
UNARY_LOOP_X(CLAMP, i64, CLAMP_EXPR(i64))

static bool has_params(tg_op op) { return op == TG_OP_GELU || op == TG_OP_SOFTPLUS || op == TG_OP_CLAMP; }

static tg_loop_fn unary_loop(tg_op op, tg_dtype dt) {
  switch (dt) {
    case TG_FLOAT32:
      switch (op) {
#define TG_UNARY(E, name, gname, int_ok) case TG_OP_##E: return un_##E##_f32;
#include "../../ops.def"
        default: return NULL;
      }
    case TG_FLOAT64:
      switch (op) {
#define TG_UNARY(E, name, gname, int_ok) case TG_OP_##E: return un_##E##_f64;
#include "../../ops.def"
        default: return NULL;
      }
    case TG_INT64:
      switch (op) {
        case TG_OP_NEG: return un_NEG_i64;
        case TG_OP_ABS: return un_ABS_i64;
        case TG_OP_SIGN: return un_SIGN_i64;
        case TG_OP_RELU: return un_RELU_i64;
        case TG_OP_SQUARE: return un_SQUARE_i64;
        case TG_OP_FLOOR: return un_FLOOR_i64;
        case TG_OP_CEIL: return un_CEIL_i64;
        case TG_OP_ROUND: return un_ROUND_i64;
        case TG_OP_TRUNC: return un_TRUNC_i64;
        case TG_OP_CLAMP: return un_CLAMP_i64;
        default: return NULL;
      }
    default: return NULL;
  }
}

int tg_cpu_unary_p(tg_ctx *c, tg_op op, tg_tensor *out, const tg_tensor *x, const double *params) {
  tg_loop_fn f = unary_loop(op, x->dtype);
  if (!f) return tg_err(c, "\"%s\" not implemented for '%s'", tg_op_infos[op].name, tg_dtype_name(x->dtype));
  if (has_params(op) && !params) return tg_err(c, "%s: missing parameters", tg_op_infos[op].name);
  tg_iter it;
  const tg_tensor *ts[2] = {out, x};
  tg_iter_init(&it, 2, ts);
  tg_iter_run(c, &it, f, params, true);
  return 0;
}

int tg_cpu_unary(tg_ctx *c, tg_op op, tg_tensor *out, const tg_tensor *x) {
  return tg_cpu_unary_p(c, op, out, x, NULL);
}

/* ---- binary: z = f(a, b); TO is the output type */
#define BINARY_LOOP(E, T, TO, F)                                                      \
  TG_CLONES static void bin_##E##_##T(int64_t n, char **p, const int64_t *s, const void *arg) { \
    (void)arg;                                                                        \
    if (s[0] == sizeof(TO) && s[1] == sizeof(T) && s[2] == sizeof(T)) {               \
      TO *restrict z = (TO *)p[0];                                                    \
      const T *restrict a = (const T *)p[1], *restrict b = (const T *)p[2];           \
      for (int64_t i = 0; i < n; i++) z[i] = (TO)(F(a[i], b[i]));                     \
    } else if (s[0] == sizeof(TO) && s[1] == sizeof(T) && s[2] == 0) {                \
      TO *restrict z = (TO *)p[0];                                                    \
      const T *restrict a = (const T *)p[1];                                          \
      const T bv = *(const T *)p[2];                                                  \
      for (int64_t i = 0; i < n; i++) z[i] = (TO)(F(a[i], bv));                       \
    } else if (s[0] == sizeof(TO) && s[1] == 0 && s[2] == sizeof(T)) {                \
      TO *restrict z = (TO *)p[0];                                                    \
      const T av = *(const T *)p[1];                                                  \
      const T *restrict b = (const T *)p[2];                                          \
      for (int64_t i = 0; i < n; i++) z[i] = (TO)(F(av, b[i]));                       \
    } else {                                                                          \
      for (int64_t i = 0; i < n; i++) {                                               \
        T av = *(const T *)(p[1] + i * s[1]), bv = *(const T *)(p[2] + i * s[2]);     \
        *(TO *)(p[0] + i * s[0]) = (TO)(F(av, bv));                                   \
      }                                                                               \
    }                                                                                 \
  }

#define TG_SM_IPOW(a, b) ipow(a, b)
#define FLOAT_LOOPS(E, F) BINARY_LOOP(E, f32, f32, F) BINARY_LOOP(E, f64, f64, F)
#define ARITH_LOOPS(E, F) FLOAT_LOOPS(E, F) BINARY_LOOP(E, i64, i64, F)
#define CMP_LOOPS(E, F) \
  BINARY_LOOP(E, f32, b8, F) BINARY_LOOP(E, f64, b8, F) BINARY_LOOP(E, i64, b8, F) BINARY_LOOP(E, b8, b8, F)
ARITH_LOOPS(ADD, TG_SM_ADD)
ARITH_LOOPS(SUB, TG_SM_SUB)
ARITH_LOOPS(MUL, TG_SM_MUL)
FLOAT_LOOPS(DIV, TG_SM_DIV)
FLOAT_LOOPS(POW, TG_SM_POW)
BINARY_LOOP(POW, i64, i64, TG_SM_IPOW)
ARITH_LOOPS(MAXIMUM, TG_SM_MAXIMUM)
ARITH_LOOPS(MINIMUM, TG_SM_MINIMUM)
FLOAT_LOOPS(ATAN2, TG_SM_ATAN2)
FLOAT_LOOPS(FMOD, TG_SM_FMOD)
BINARY_LOOP(FMOD, i64, i64, TG_SM_IFMOD)
FLOAT_LOOPS(REMAINDER, TG_SM_REMAINDER)
BINARY_LOOP(REMAINDER, i64, i64, TG_SM_IREMAINDER)
BINARY_LOOP(ADD, b8, b8, TG_SM_BOOL_ADD)
BINARY_LOOP(MUL, b8, b8, TG_SM_BOOL_MUL)
BINARY_LOOP(MAXIMUM, b8, b8, TG_SM_MAXIMUM)
BINARY_LOOP(MINIMUM, b8, b8, TG_SM_MINIMUM)
CMP_LOOPS(EQ, TG_SM_EQ)
CMP_LOOPS(NE, TG_SM_NE)
CMP_LOOPS(LT, TG_SM_LT)
CMP_LOOPS(LE, TG_SM_LE)
CMP_LOOPS(GT, TG_SM_GT)
CMP_LOOPS(GE, TG_SM_GE)
CMP_LOOPS(LOGICAL_AND, TG_SM_LOGICAL_AND)
CMP_LOOPS(LOGICAL_OR, TG_SM_LOGICAL_OR)
CMP_LOOPS(LOGICAL_XOR, TG_SM_LOGICAL_XOR)

static tg_loop_fn binary_loop(tg_op op, tg_dtype dt) {
#define BY_DTYPE_F(E)                                      \
  switch (dt) {                                            \
    case TG_FLOAT32: return bin_##E##_f32;                 \
    case TG_FLOAT64: return bin_##E##_f64;                 \
    default: return NULL;                                  \
  }
#define BY_DTYPE(E)                                        \
  switch (dt) {                                            \
    case TG_FLOAT32: return bin_##E##_f32;                 \
    case TG_FLOAT64: return bin_##E##_f64;                 \
    case TG_INT64: return bin_##E##_i64;                   \
    default: return NULL;                                  \
  }
#define BY_DTYPE_B(E)                                      \
  switch (dt) {                                            \
    case TG_FLOAT32: return bin_##E##_f32;                 \
    case TG_FLOAT64: return bin_##E##_f64;                 \
    case TG_INT64: return bin_##E##_i64;                   \
    case TG_BOOL: return bin_##E##_b8;                     \
    default: return NULL;                                  \
  }
  switch (op) {
    case TG_OP_ADD: BY_DTYPE_B(ADD)
    case TG_OP_SUB: BY_DTYPE(SUB)
    case TG_OP_MUL: BY_DTYPE_B(MUL)
    case TG_OP_POW: BY_DTYPE(POW)
    case TG_OP_DIV: BY_DTYPE_F(DIV)
    case TG_OP_MAXIMUM: BY_DTYPE_B(MAXIMUM)
    case TG_OP_MINIMUM: BY_DTYPE_B(MINIMUM)
    case TG_OP_ATAN2: BY_DTYPE_F(ATAN2)
    case TG_OP_FMOD: BY_DTYPE(FMOD)
    case TG_OP_REMAINDER: BY_DTYPE(REMAINDER)
    case TG_OP_EQ: BY_DTYPE_B(EQ)
    case TG_OP_NE: BY_DTYPE_B(NE)
    case TG_OP_LT: BY_DTYPE_B(LT)
    case TG_OP_LE: BY_DTYPE_B(LE)
    case TG_OP_GT: BY_DTYPE_B(GT)
    case TG_OP_GE: BY_DTYPE_B(GE)
    case TG_OP_LOGICAL_AND: BY_DTYPE_B(LOGICAL_AND)
    case TG_OP_LOGICAL_OR: BY_DTYPE_B(LOGICAL_OR)
    case TG_OP_LOGICAL_XOR: BY_DTYPE_B(LOGICAL_XOR)
    default: return NULL;
  }
}

tg_loop_fn tg_cpu_binary_loop(tg_op op, tg_dtype dt) { return binary_loop(op, dt); } /* perop2 */

/* sets *(bool *)arg when an int64 element is 0 (run serially) */
static void any_zero_i64(int64_t n, char **p, const int64_t *s, const void *arg) {
  bool *found = (bool *)(uintptr_t)arg;
  for (int64_t i = 0; i < n && !*found; i++)
    if (*(const i64 *)(p[0] + i * s[0]) == 0) *found = true;
}

int tg_cpu_binary(tg_ctx *c, tg_op op, tg_tensor *out, const tg_tensor *a, const tg_tensor *b) {
  tg_loop_fn f = binary_loop(op, a->dtype);
  if (!f) return tg_err(c, "\"%s\" not implemented for '%s'", tg_op_infos[op].name, tg_dtype_name(a->dtype));
  if ((op == TG_OP_FMOD || op == TG_OP_REMAINDER) && a->dtype == TG_INT64) {
    /* integer division by zero: PyTorch's error, never SIGFPE */
    bool zero = false;
    tg_iter zi;
    const tg_tensor *zs[1] = {b};
    tg_iter_init(&zi, 1, zs);
    tg_iter_run(c, &zi, any_zero_i64, &zero, false);
    if (zero) return tg_err(c, "ZeroDivisionError");
  }
  tg_iter it;
  const tg_tensor *ts[3] = {out, a, b};
  tg_iter_init(&it, 3, ts);
  tg_iter_run(c, &it, f, NULL, true);
  return 0;
}

/* ---- copy with cast: dst = (TD) src */
#define CAST(TD, x) ((TD)(x))
#define CAST_b8(x) ((x) != 0)
#define COPY_LOOP(TS, TD, CONV)                                                       \
  TG_CLONES static void cp_##TS##_##TD(int64_t n, char **p, const int64_t *s, const void *arg) { \
    (void)arg;                                                                        \
    if (s[0] == sizeof(TD) && s[1] == sizeof(TS)) {                                   \
      TD *restrict y = (TD *)p[0];                                                    \
      const TS *restrict x = (const TS *)p[1];                                        \
      for (int64_t i = 0; i < n; i++) y[i] = CONV(x[i]);                              \
    } else {                                                                          \
      for (int64_t i = 0; i < n; i++)                                                 \
        *(TD *)(p[0] + i * s[0]) = CONV(*(const TS *)(p[1] + i * s[1]));               \
    }                                                                                 \
  }
#define CONV_f32(x) ((f32)(x))
#define CONV_f64(x) ((f64)(x))
#define CONV_i64(x) ((i64)(x))
#define CONV_b8(x) ((x) != 0)
#define COPY_FROM(TS) COPY_LOOP(TS, f32, CONV_f32) COPY_LOOP(TS, f64, CONV_f64) \
  COPY_LOOP(TS, i64, CONV_i64) COPY_LOOP(TS, b8, CONV_b8)
COPY_FROM(f32)
COPY_FROM(f64)
COPY_FROM(i64)
COPY_FROM(b8)

static tg_loop_fn copy_loop(tg_dtype s, tg_dtype d) {
  static const tg_loop_fn table[TG_NDTYPES][TG_NDTYPES] = {
      {cp_f32_f32, cp_f32_f64, cp_f32_i64, cp_f32_b8},
      {cp_f64_f32, cp_f64_f64, cp_f64_i64, cp_f64_b8},
      {cp_i64_f32, cp_i64_f64, cp_i64_i64, cp_i64_b8},
      {cp_b8_f32, cp_b8_f64, cp_b8_i64, cp_b8_b8},
  };
  return table[s][d];
}

int tg_cpu_copy(tg_ctx *c, tg_tensor *dst, const tg_tensor *src) {
  tg_iter it;
  const tg_tensor *ts[2] = {dst, src};
  tg_iter_init(&it, 2, ts);
  tg_iter_run(c, &it, copy_loop(src->dtype, dst->dtype), NULL, true);
  return 0;
}

/* ---- fill */
#define FILL_LOOP(T, CONV)                                                           \
  static void fill_##T(int64_t n, char **p, const int64_t *s, const void *arg) {     \
    T v = CONV(*(const double *)arg);                                                \
    if (s[0] == sizeof(T)) {                                                         \
      T *restrict y = (T *)p[0];                                                     \
      for (int64_t i = 0; i < n; i++) y[i] = v;                                      \
    } else {                                                                         \
      for (int64_t i = 0; i < n; i++) *(T *)(p[0] + i * s[0]) = v;                    \
    }                                                                                \
  }
FILL_LOOP(f32, CONV_f32)
FILL_LOOP(f64, CONV_f64)
FILL_LOOP(i64, CONV_i64)
FILL_LOOP(b8, CONV_b8)

int tg_cpu_fill(tg_ctx *c, tg_tensor *t, double v) {
  static const tg_loop_fn table[TG_NDTYPES] = {fill_f32, fill_f64, fill_i64, fill_b8};
  tg_iter it;
  const tg_tensor *ts[1] = {t};
  tg_iter_init(&it, 1, ts);
  tg_iter_run(c, &it, table[t->dtype], &v, true);
  return 0;
}
