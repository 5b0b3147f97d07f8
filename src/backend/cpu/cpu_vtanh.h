/* cpu_vtanh.h (helper act): float32 tanh that GCC vectorises (libm's tanhf is a call per element,
 * 4-5x slower than PyTorch's vectorised tanh on 1e6 floats). Cephes' tanhf: an odd polynomial for
 * |x| < 0.625, 1 - 2 / (exp(2|x|) + 1) beyond (exp from cpu_vmath.h), about 2 ulp; NaN passes
 * through the polynomial; large |x| gives +-1. Both sides are plain arithmetic, so the vector body
 * and the scalar tail of a loop give the same bits. */
#ifndef TG_CPU_VTANH_H
#define TG_CPU_VTANH_H

#include "cpu_vmath.h"

static inline float tg_vtanhf(float x) {
  float a = x < 0 ? -x : x;
  float z = x * x;
  float p = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z + 1.33314422036e-1f) * z -
             3.33332819422e-1f) * z * x + x;
  float e = tg_vexpf(2.0f * (a > 44.0f ? 44.0f : a));
  float q = 1.0f - 2.0f / (e + 1.0f);
  q = x < 0 ? -q : q;
  p = z == 0 ? x : p; /* keeps -0 (and tiny x, where z underflows, is its own tanh) */
  return a < 0.625f ? p : q;
}

/* tanh for the operand's type: the vector-friendly one for float */
#define TG_VTANH(x) _Generic((x), float: tg_vtanhf, default: tanh)(x)

#endif
