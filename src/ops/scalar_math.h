/* scalar_math.h: the scalar math of each elementwise op, written once.
 * Type-generic: in C the kernels include <tgmath.h>, in CUDA C++ the std
 * overloads apply, so exp(x) is expf for float and exp for double.
 * Constants go through TG_SM_C(x, v) (v in x's type) so that float32 math
 * stays in float. Semantics follow PyTorch's CPU kernels. */
#ifndef TG_SCALAR_MATH_H
#define TG_SCALAR_MATH_H

#ifdef __cplusplus
#include <type_traits>
#define TG_SM_C(x, v) (static_cast<typename std::decay<decltype(x)>::type>(v))
#else
#define TG_SM_C(x, v) ((__typeof__(x))(v))
#endif

#define TG_SM_NEG(x) (-(x))
#define TG_SM_EXP(x) exp(x)
#define TG_SM_LOG(x) log(x)
#define TG_SM_LOG1P(x) log1p(x)
#define TG_SM_SQRT(x) sqrt(x)
#define TG_SM_ABS(x) ((x) < 0 ? -(x) : (x))
#define TG_SM_SIGN(x) (((x) > 0) - ((x) < 0)) /* sign(nan) = 0, as PyTorch */
/* stable in both tails */
#define TG_SM_SIGMOID(x) ((x) >= 0 ? 1 / (1 + exp(-(x))) : exp(x) / (1 + exp(x)))
#define TG_SM_TANH(x) tanh(x)
#define TG_SM_RELU(x) ((x) > 0 || (x) != (x) ? (x) : 0) /* relu(nan) = nan */
#define TG_SM_EXPM1(x) expm1(x)
#define TG_SM_RSQRT(x) (1 / sqrt(x))
#define TG_SM_SIN(x) sin(x)
#define TG_SM_COS(x) cos(x)
#define TG_SM_TAN(x) tan(x)
#define TG_SM_SILU(x) ((x) / (1 + exp(-(x))))
#define TG_SM_ERF(x) erf(x)
#define TG_SM_FLOOR(x) floor(x)
#define TG_SM_CEIL(x) ceil(x)
#define TG_SM_ROUND(x) nearbyint(x) /* half to even (default rounding mode), as torch.round */
#define TG_SM_TRUNC(x) trunc(x)
#define TG_SM_RECIPROCAL(x) (1 / (x))
#define TG_SM_SQUARE(x) ((x) * (x))

/* ops with parameters (TG_UNARY_P) */
/* gelu: exact x * Phi(x), or (approx) PyTorch's tanh form */
#define TG_SM_GELU(x, approx)                                                                      \
  ((approx) ? TG_SM_C(x, 0.5) * (x) *                                                              \
                  (1 + tanh(TG_SM_C(x, 0.79788456080286535588) * ((x) + TG_SM_C(x, 0.044715) * (x) * (x) * (x)))) \
            : (x) * TG_SM_C(x, 0.5) * (1 + erf((x) * TG_SM_C(x, 0.70710678118654752440))))
/* softplus: linear above the threshold, as PyTorch */
#define TG_SM_SOFTPLUS(x, beta, threshold) \
  ((x) * (beta) > (threshold) ? (x) : log1p(exp((x) * (beta))) / (beta))
/* clamp: min(max(x, lo), hi) with NaN kept, either side optional; lo > hi gives hi */
#define TG_SM_CLAMP(x, lo, hi, has_lo, has_hi)                                     \
  ((has_hi) && (hi) < ((has_lo) && (x) < (lo) ? (lo) : (x)) ? (hi)                 \
                                                            : ((has_lo) && (x) < (lo) ? (lo) : (x)))

#define TG_SM_ADD(a, b) ((a) + (b))
#define TG_SM_SUB(a, b) ((a) - (b))
#define TG_SM_MUL(a, b) ((a) * (b))
#define TG_SM_DIV(a, b) ((a) / (b))
#define TG_SM_POW(a, b) pow(a, b)
#define TG_SM_EQ(a, b) ((a) == (b))
#define TG_SM_NE(a, b) ((a) != (b))
#define TG_SM_LT(a, b) ((a) < (b))
#define TG_SM_LE(a, b) ((a) <= (b))
#define TG_SM_GT(a, b) ((a) > (b))
#define TG_SM_GE(a, b) ((a) >= (b))
/* NaN propagates from either side (a != a only for NaN) */
#define TG_SM_MAXIMUM(a, b) (((a) != (a) || (a) > (b)) ? (a) : (b))
#define TG_SM_MINIMUM(a, b) (((a) != (a) || (a) < (b)) ? (a) : (b))
#define TG_SM_ATAN2(a, b) atan2(a, b)
/* fmod: the sign of the dividend (C's fmod / %); remainder: the sign of the
 * divisor (Python's %). Integer forms: the caller rejects b == 0
 * (ZeroDivisionError); b == -1 is answered without % (INT64_MIN % -1 traps). */
#define TG_SM_FMOD(a, b) fmod(a, b)
#define TG_SM_REMAINDER(a, b)                                              \
  ({                                                                       \
    __typeof__(a) m_ = fmod(a, b);                                         \
    (m_ != 0 && (((b) < 0) != (m_ < 0))) ? m_ + (b) : m_;                  \
  })
#define TG_SM_IFMOD(a, b) ((b) == 0 || (b) == -1 ? 0 : (a) % (b))
#define TG_SM_IREMAINDER(a, b)                                             \
  ({                                                                       \
    __typeof__(a) m_ = TG_SM_IFMOD(a, b);                                  \
    (m_ != 0 && (((b) < 0) != (m_ < 0))) ? m_ + (b) : m_;                  \
  })
/* bool arithmetic as PyTorch: + is or, * is and */
#define TG_SM_BOOL_ADD(a, b) ((a) || (b))
#define TG_SM_BOOL_MUL(a, b) ((a) && (b))
#define TG_SM_LOGICAL_AND(a, b) ((a) != 0 && (b) != 0)
#define TG_SM_LOGICAL_OR(a, b) ((a) != 0 || (b) != 0)
#define TG_SM_LOGICAL_XOR(a, b) (((a) != 0) != ((b) != 0))

#endif
