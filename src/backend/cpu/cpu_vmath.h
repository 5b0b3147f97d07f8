/* cpu_vmath.h: float32 math written so that GCC vectorises the loops that
 * call it (libm's expf is a call per element: ~4 ns, 10x a vector lane).
 *
 * tg_vexpf is Cephes' expf: x = n ln2 + r with |r| <= ln2/2, exp(r) by a
 * degree-6 polynomial (about 1 ulp), 2^n built in the exponent bits. Every
 * step is plain arithmetic, so the vector body and the scalar tail of a loop
 * compute the same bits. 2^n is applied as two factors, so results that
 * underflow to subnormals round once, as libm's do. */
#ifndef TG_CPU_VMATH_H
#define TG_CPU_VMATH_H

#include <stdint.h>
#include <string.h>

static inline float tg_pow2i(int32_t k) { /* 2^k for k in [-126, 127] */
  uint32_t bits = (uint32_t)(k + 127) << 23;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

static inline float tg_vexpf(float x) {
  /* beyond these exp overflows to inf / underflows to 0; NaN passes through */
  float xc = x < -104.0f ? -104.0f : (x > 89.0f ? 89.0f : x);
  /* n = round(x / ln2): adding 1.5 * 2^23 rounds to an integer (|n| < 2^22) */
  float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = xc - n * 0.693359375f;   /* ln2 in two parts: the first is exact in float */
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t k = (int32_t)n, k1 = k / 2, k2 = k - k1;
  return p * tg_pow2i(k1) * tg_pow2i(k2);
}

/* exp for the operand's type: the vector-friendly one for float */
#define TG_VEXP(x) _Generic((x), float: tg_vexpf, default: exp)(x)

#endif
