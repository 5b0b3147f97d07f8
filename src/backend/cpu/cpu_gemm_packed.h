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

/* Which float32 products go to it rather than the BLAS (those above the small
 * kernel's bound reach it; bench/gemm_packed.c against OpenBLAS 0.3.21 on Zen 3,
 * one thread, interleaved): the MLP's x^T @ g 1.1-1.3x OpenBLAS (its k is the
 * batch, and OpenBLAS first zeroes the 784 x 256 C in a pass of its own),
 * g @ w^T 1.05-1.15x, x @ w 0.97-1.05x, squares to 256 at parity; n = 512
 * at parity to 0.9x, 1024 and 2048 5-15% behind: up to 256 x 512 x 512 (the
 * MLP's largest is 256 x 784 x 256), square 512 and up stay on OpenBLAS; below 16
 * columns the 16-wide tile wastes most of its lanes. */
#ifndef TG_GEMM_PACKED_MNK
#define TG_GEMM_PACKED_MNK ((int64_t)256 * 512 * 512)
#endif
static inline bool tg_gemm_packed_ok(int64_t m, int64_t n, int64_t k) {
  return m > 0 && n >= 16 && k > 0 && m * n * k <= TG_GEMM_PACKED_MNK;
}
#endif
