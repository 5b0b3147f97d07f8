/* cpu_vmath.h: float32 math written so that GCC vectorises the loops that
 * call it (libm's expf is a call per element: ~4 ns, 10x a vector lane).
 *
 * tg_vexpf is Cephes' expf: x = n ln2 + r with |r| <= ln2/2, exp(r) by a
 * degree-7 polynomial (under 1 ulp), 2^n built in the exponent bits. Every
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
  /* exp(r) = 1 + r + r^2 P(r), P of degree 5 with SLEEF's expf_u10 coefficients
   * (Cephes' were fitted for a separate multiply and add: with the FMAs GCC
   * forms in the AVX2/AVX-512 clones they reached 1.01 ulp). Checked over every
   * float in [-104, 88.7] against double exp: 0.987 ulp with FMA, 0.966 without. */
  float p = 1.98527617612853646278381e-4f;
  p = p * r + 1.39304355252534151077271e-3f;
  p = p * r + 8.33336077630519866943359e-3f;
  p = p * r + 4.16664853692054748535156e-2f;
  p = p * r + 1.66666671633720397949219e-1f;
  p = p * r + 0.5f;
  float r2 = r * r;
  p = r2 * p + r;
  p = p + 1.0f;
  /* k >> 1 (floor) rather than k / 2: one shift instead of three vector ops,
   * and both halves stay in [-75, 64], so p * 2^k1 is exact as before */
  int32_t k = (int32_t)n, k1 = k >> 1, k2 = k - k1;
  return p * tg_pow2i(k1) * tg_pow2i(k2);
}

/* exp for the operand's type: the vector-friendly one for float */
#define TG_VEXP(x) _Generic((x), float: tg_vexpf, default: exp)(x)

/* tanh (helper kern, issue 11): glibc's tanhf is a call of ~100 ns per
 * element on the machines measured (PyTorch's vector tanh: ~3 ns). Cephes'
 * tanhf: below |x| = 0.625 an odd polynomial, above it 1 - 2 / (e^2|x| + 1)
 * with the sign of x (e^2|x| overflows to inf past 44: the result is +-1).
 * Both sides are computed and one is selected, so the loop vectorises; NaN
 * takes the exp side and stays NaN. Checked within 2 ulp of float64's tanh
 * (spec/vmath_spec.lua). */
static inline float tg_vtanhf(float x) {
  float z = __builtin_fabsf(x), s = x * x;
  float p = -5.70498872745e-3f;
  p = p * s + 2.06390887954e-2f;
  p = p * s - 5.37397155531e-2f;
  p = p * s + 1.33314422036e-1f;
  p = p * s - 3.33332819422e-1f;
  p = p * s * x + x;
  float q = 1.0f - 2.0f / (tg_vexpf(2.0f * z) + 1.0f);
  return __builtin_copysignf(z < 0.625f ? p : q, x); /* tanh(-0) = -0 */
}
/* log (helper kern): glibc's logf is a call per element. Cephes' logf:
 * x = m 2^e with m in [sqrt(1/2), sqrt(2)), log(m) by a degree-9 polynomial
 * in m - 1, e ln2 added in two parts. Subnormals are scaled by 2^23 first;
 * 0 -> -inf, negatives -> nan, inf and nan pass through (selects, so the
 * loop vectorises). Checked within 2 ulp of float64's log (spec/vmath_spec.lua). */
static inline float tg_vlogf(float x) {
  int sub = x < 1.17549435e-38f; /* below the smallest normal (or <= 0) */
  float xs = sub ? x * 8388608.0f : x;
  uint32_t b;
  memcpy(&b, &xs, sizeof b);
  int32_t e = (int32_t)((b >> 23) & 0xff) - 126 - (sub ? 23 : 0);
  uint32_t mb = (b & 0x007fffffu) | 0x3f000000u; /* the mantissa in [0.5, 1) */
  float m;
  memcpy(&m, &mb, sizeof m);
  int lo = m < 0.707106781186547524f;
  float ef = (float)(lo ? e - 1 : e);
  float f = lo ? m + m - 1.0f : m - 1.0f;
  float z = f * f;
  float y = 7.0376836292e-2f;
  y = y * f - 1.1514610310e-1f;
  y = y * f + 1.1676998740e-1f;
  y = y * f - 1.2420140846e-1f;
  y = y * f + 1.4249322787e-1f;
  y = y * f - 1.6668057665e-1f;
  y = y * f + 2.0000714765e-1f;
  y = y * f - 2.4999993993e-1f;
  y = y * f + 3.3333331174e-1f;
  y = y * f * z;
  y += -2.12194440e-4f * ef;
  y += -0.5f * z;
  float r = f + y;
  r += 0.693359375f * ef;
  r = x == __builtin_inff() ? x : r;
  r = x == 0.0f ? -__builtin_inff() : r;
  r = x < 0.0f ? __builtin_nanf("") : r;
  return x != x ? x : r;
}
#define TG_VLOG(x) _Generic((x), float: tg_vlogf, default: log)(x)
#define TG_VTANH(x) _Generic((x), float: tg_vtanhf, default: tanh)(x)

#endif
