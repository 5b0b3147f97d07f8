/* cpu_gemm_packed.h: tgrad's packed float32 GEMM (cpu_gemm_packed.c), a
 * BLIS-style blocked product with a register micro-kernel, for the products
 * where it beats the BLAS (the MLP's layer shapes: a skinny K, a small M).
 * No tgrad types here: bench/gemm_packed.c builds the .c file on its own. */
#ifndef TG_CPU_GEMM_PACKED_H
#define TG_CPU_GEMM_PACKED_H
#include <stdbool.h>
#include <stdint.h>

/* o[m x n] (row stride ldo, unit column stride) = A[m x k] @ B[k x n], any
 * element strides sa0/sa1 (A's rows/cols) and sb0/sb1 (B's); o is written
 * once from registers (no zeroing pass: beta = 0). k = 0 writes zeros.
 * Returns false only when its packing buffers cannot be allocated (the caller
 * then uses the BLAS). The instruction set (AVX-512, AVX2 + FMA, the x86-64
 * baseline) is chosen at run time. */
bool tg_gemm_packed_f32(int64_t m, int64_t n, int64_t k, const float *a, int64_t sa0, int64_t sa1, const float *b,
                        int64_t sb0, int64_t sb1, float *o, int64_t ldo);
/* the same, added to o: o += A @ B (beta = 1; k = 0 leaves o as it is) */
bool tg_gemm_packed_f32_acc(int64_t m, int64_t n, int64_t k, const float *a, int64_t sa0, int64_t sa1, const float *b,
                            int64_t sb0, int64_t sb1, float *o, int64_t ldo);

/* Which float32 products go to it rather than the BLAS (those above the small kernel's bound reach it, but for
 * narrow ones). bench/gemm_packed.c against OpenBLAS 0.3.21 on Zen 3, one thread, interleaved: the MLP's
 * products 1.0-1.1x, squares 128-512 1.0-1.05x, conv's (64 x 576 @ 576 x 3136 and its transposes, 7x7 stems)
 * 1.1-1.5x, a skinny m = 16 with a wide n at parity, squares of 1024-2048 0.94-1.0x: every shape with n >= 16
 * and m >= 16 but those with m, n and k all >= 1024 (the BLAS), and below m = 16 up to 256 x 512 x 512 (a
 * product with a few rows is a matrix-vector product, the BLAS's gemv). A narrow C
 * (2 <= n < 16, m and k >= 32: the MLP's 10-class layer) is taken transposed (C^T = B^T A^T): 1.1-1.5x
 * OpenBLAS and 1.6-2.4x the small kernel there (tg_gemm_packed_narrow: ahead of the small kernel). */
#ifndef TG_GEMM_PACKED_MNK
#define TG_GEMM_PACKED_MNK ((int64_t)256 * 512 * 512)
#endif
static inline bool tg_gemm_packed_narrow(int64_t m, int64_t n, int64_t k) {
  return n >= 2 && n < 16 && m >= 32 && k >= 32;
}
static inline bool tg_gemm_packed_ok(int64_t m, int64_t n, int64_t k) {
  return m > 0 && k > 0 &&
         ((n >= 16 && (m >= 16 || m * n * k <= TG_GEMM_PACKED_MNK) && (m < 1024 || n < 1024 || k < 1024)) ||
          tg_gemm_packed_narrow(m, n, k));
}
#endif
