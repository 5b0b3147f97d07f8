/* cpu_tr8.h: an 8 x 8 float (and a 4 x 4 double) transpose in vector registers (GCC's vector extensions: unpack, shufps,
 * perm2f128 under AVX2), shared by the small GEMM's packing of a transposed B (cpu_gemm_small.c) and the
 * packed GEMM's packing of A and B (cpu_gemm_packed.c). Always inlined: it takes the instruction set of the
 * function it lands in (a target_clones or target("avx2,fma") build). No tgrad types: bench/gemm_packed.c
 * builds cpu_gemm_packed.c on its own. */
#ifndef TG_CPU_TR8_H
#define TG_CPU_TR8_H
#include <stdint.h>
#include <string.h>

/* d[q * ldd + r] = s[r * lds + q] for r < nrow (6 or 8 rows of s) and q < 8. With nrow = 6 rows 6 and 7
 * repeat row 5; every one of the 8 stores writes 8 floats, in order of q, so with ldd = 6 each store
 * overwrites the previous one's 2 extra floats and the last spills 2 floats past the block (the caller's
 * buffer has room). */
static inline __attribute__((always_inline)) void tg_tr8_f32(const float *s, int64_t lds, int nrow, float *d,
                                                             int64_t ldd) {
  typedef float v8 __attribute__((vector_size(32)));
  typedef int i8 __attribute__((vector_size(32)));
  v8 r0, r1, r2, r3, r4, r5, r6, r7;
  memcpy(&r0, s, 32), memcpy(&r1, s + lds, 32), memcpy(&r2, s + 2 * lds, 32), memcpy(&r3, s + 3 * lds, 32);
  memcpy(&r4, s + 4 * lds, 32), memcpy(&r5, s + 5 * lds, 32);
  if (nrow == 8) memcpy(&r6, s + 6 * lds, 32), memcpy(&r7, s + 7 * lds, 32);
  else r6 = r7 = r5;
  const i8 lo = {0, 8, 1, 9, 4, 12, 5, 13}, hi = {2, 10, 3, 11, 6, 14, 7, 15};
  const i8 s44 = {0, 1, 8, 9, 4, 5, 12, 13}, sEE = {2, 3, 10, 11, 6, 7, 14, 15};
  const i8 p20 = {0, 1, 2, 3, 8, 9, 10, 11}, p31 = {4, 5, 6, 7, 12, 13, 14, 15};
  v8 t0 = __builtin_shuffle(r0, r1, lo), t1 = __builtin_shuffle(r0, r1, hi);
  v8 t2 = __builtin_shuffle(r2, r3, lo), t3 = __builtin_shuffle(r2, r3, hi);
  v8 t4 = __builtin_shuffle(r4, r5, lo), t5 = __builtin_shuffle(r4, r5, hi);
  v8 t6 = __builtin_shuffle(r6, r7, lo), t7 = __builtin_shuffle(r6, r7, hi);
  v8 u0 = __builtin_shuffle(t0, t2, s44), u1 = __builtin_shuffle(t0, t2, sEE);
  v8 u2 = __builtin_shuffle(t1, t3, s44), u3 = __builtin_shuffle(t1, t3, sEE);
  v8 u4 = __builtin_shuffle(t4, t6, s44), u5 = __builtin_shuffle(t4, t6, sEE);
  v8 u6 = __builtin_shuffle(t5, t7, s44), u7 = __builtin_shuffle(t5, t7, sEE);
  v8 o0 = __builtin_shuffle(u0, u4, p20), o1 = __builtin_shuffle(u1, u5, p20);
  v8 o2 = __builtin_shuffle(u2, u6, p20), o3 = __builtin_shuffle(u3, u7, p20);
  v8 o4 = __builtin_shuffle(u0, u4, p31), o5 = __builtin_shuffle(u1, u5, p31);
  v8 o6 = __builtin_shuffle(u2, u6, p31), o7 = __builtin_shuffle(u3, u7, p31);
  memcpy(d, &o0, 32), memcpy(d + ldd, &o1, 32), memcpy(d + 2 * ldd, &o2, 32), memcpy(d + 3 * ldd, &o3, 32);
  memcpy(d + 4 * ldd, &o4, 32), memcpy(d + 5 * ldd, &o5, 32), memcpy(d + 6 * ldd, &o6, 32);
  memcpy(d + 7 * ldd, &o7, 32);
}
/* d[q * ldd + r] = s[r * lds + q] for r, q < 4: the 4 x 4 double transpose (unpack, then perm2f128 under AVX2) */
static inline __attribute__((always_inline)) void tg_tr4_f64(const double *s, int64_t lds, double *d, int64_t ldd) {
  typedef double v4 __attribute__((vector_size(32)));
  typedef long long i4 __attribute__((vector_size(32)));
  v4 r0, r1, r2, r3;
  memcpy(&r0, s, 32), memcpy(&r1, s + lds, 32), memcpy(&r2, s + 2 * lds, 32), memcpy(&r3, s + 3 * lds, 32);
  const i4 lo = {0, 4, 2, 6}, hi = {1, 5, 3, 7};
  v4 t0 = __builtin_shuffle(r0, r1, lo), t1 = __builtin_shuffle(r0, r1, hi); /* r00 r10 r02 r12 | r01 r11 r03 r13 */
  v4 t2 = __builtin_shuffle(r2, r3, lo), t3 = __builtin_shuffle(r2, r3, hi);
  const i4 lo2 = {0, 1, 4, 5}, hi2 = {2, 3, 6, 7};
  v4 o0 = __builtin_shuffle(t0, t2, lo2), o2 = __builtin_shuffle(t0, t2, hi2);
  v4 o1 = __builtin_shuffle(t1, t3, lo2), o3 = __builtin_shuffle(t1, t3, hi2);
  memcpy(d, &o0, 32), memcpy(d + ldd, &o1, 32), memcpy(d + 2 * ldd, &o2, 32), memcpy(d + 3 * ldd, &o3, 32);
}

#endif
