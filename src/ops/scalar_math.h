/* scalar_math.h: the scalar math of each elementwise op, written once.
 * Type-generic: in C the kernels include <tgmath.h>, in CUDA C++ the std
 * overloads apply, so exp(x) is expf for float and exp for double. */
#ifndef TG_SCALAR_MATH_H
#define TG_SCALAR_MATH_H

#define TG_SM_NEG(x) (-(x))
#define TG_SM_EXP(x) exp(x)
#define TG_SM_LOG(x) log(x)
#define TG_SM_LOG1P(x) log1p(x)
#define TG_SM_SQRT(x) sqrt(x)
#define TG_SM_ABS(x) ((x) < 0 ? -(x) : (x))
#define TG_SM_SIGN(x) (((x) > 0) - ((x) < 0))
/* stable in both tails */
#define TG_SM_SIGMOID(x) ((x) >= 0 ? 1 / (1 + exp(-(x))) : exp(x) / (1 + exp(x)))
#define TG_SM_TANH(x) tanh(x)
#define TG_SM_RELU(x) ((x) > 0 ? (x) : 0)

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

#endif
