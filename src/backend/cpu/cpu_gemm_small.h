/* cpu_gemm_small.h: tgrad's own GEMM for small and skinny products, where a
 * BLAS call costs more than the arithmetic (cpu_gemm_small.c). No tgrad
 * types here: bench/gemm_small.c builds the .c file on its own. */
#ifndef TG_CPU_GEMM_SMALL_H
#define TG_CPU_GEMM_SMALL_H
#include <stdbool.h>
#include <stdint.h>

/* The largest product handled (m * n * k; with several threads the BLAS
 * splits products above 64^3, so the bound is lower there), and the largest
 * B (k * n) that is packed when its rows are not contiguous; above these the
 * BLAS is faster on AVX2 (bench/gemm_small.c: 96^3 runs at ~95 GF/s, 1.3x
 * OpenBLAS, and 128^3 at parity). A skinny product (n below one vector) with
 * a large A is a matrix-vector product: the BLAS's gemv is faster there. */
#ifndef TG_GEMM_SMALL_MNK
#define TG_GEMM_SMALL_MNK (96 * 96 * 96)
#endif
#define TG_GEMM_SMALL_MNK_THREADED (64 * 64 * 64)
#define TG_GEMM_SMALL_PACK 8192

/* Is (m, n, k) for the small kernel, with this many threads allowed? */
static inline bool tg_gemm_small_ok(int64_t m, int64_t n, int64_t k, int threads) {
  int64_t mnk = m * n * k;
  return mnk <= (threads > 1 ? TG_GEMM_SMALL_MNK_THREADED : TG_GEMM_SMALL_MNK) && (n >= 8 || m * k <= 4096);
}

/* o[m x n] (contiguous, row-major) = A[m x k] @ B[k x n]; element strides
 * sa0/sa1 (A's rows/cols), sb0/sb1 (B's); any strides (B is packed when
 * sb1 != 1). Returns false when it does not take the product (empty, too
 * big, or B too big to pack), and the caller uses the BLAS. */
bool tg_gemm_small_f32(int64_t m, int64_t n, int64_t k, const float *a, int64_t sa0, int64_t sa1, const float *b,
                       int64_t sb0, int64_t sb1, float *o);
bool tg_gemm_small_f64(int64_t m, int64_t n, int64_t k, const double *a, int64_t sa0, int64_t sa1, const double *b,
                       int64_t sb0, int64_t sb1, double *o);
#endif
