/* cpu_gemm_small.c: a register-blocked GEMM for small and skinny products
 * (m * n * k <= TG_GEMM_SMALL_MNK), where the BLAS call's own overhead
 * (argument checks, thread setup, packing) costs more than the arithmetic:
 * the seed loop's 5x3 @ 3x1, the tiny policy's 1x4 @ 4x32 and 32x32 layers.
 *
 * Plain C with GCC's vector extensions (no intrinsics): blocks of MR rows x
 * NR columns of the output are accumulated in registers over all of k (A's
 * element broadcast, a row of B loaded as vectors, one FMA per vector), then
 * stored once. It is
 * compiled three times (AVX-512, AVX2 + FMA, the x86-64 baseline) and the
 * loader picks one for the CPU at hand (GCC's target_clones, an ifunc): never
 * -march=native. Results differ from the BLAS's only by rounding (another
 * summation order, FMA). */
#include "cpu_gemm_small.h"
#include "cpu_tr8.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define GEMM_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define GEMM_CLONES
#endif

#define MR 4

/* 32-byte vectors (GCC's vector extensions): ymm registers under AVX2 and
 * AVX-512, pairs of xmm on the baseline; a scalar times a vector broadcasts.
 * NR = 2 vectors: the MR x NR block is 8 vector accumulators, + 2 loads of B
 * + 1 broadcast of A, within the 16 registers of AVX2. */
typedef float vf32 __attribute__((vector_size(32)));
typedef double vf64 __attribute__((vector_size(32)));

/* perop2: B's rows not contiguous but its columns are (sb0 == 1: B is a transposed
 * contiguous matrix S = B^T, as W^T in a linear layer's input gradient): pack
 * (k x n) = S^T by 8 x 8 (float) / 4 x 4 (double) register transposes, the
 * edges element by element. A copy: the product's bits do not change. */
static inline __attribute__((always_inline)) void tr8_f32(const float *s, int64_t lds, float *d, int64_t ldd) {
  tg_tr8_f32(s, lds, 8, d, ldd);
}
/* one pack loop for both widths: W x W blocks by TR, the edges element by element */
#define PACK_T(NAME, T, W, TR)                                                                             \
  static inline __attribute__((always_inline)) void NAME(const T *b, int64_t sb1, int64_t k, int64_t n, \
                                                          T *pack) {                                     \
    int64_t j = 0;                                                                                       \
    for (; j + W <= n; j += W) {                                                                         \
      int64_t p = 0;                                                                                     \
      for (; p + W <= k; p += W) TR(b + j * sb1 + p, sb1, pack + p * n + j, n); /* rows j.. of S, columns p.. */ \
      for (; p < k; p++)                                                                                 \
        for (int64_t jj = j; jj < j + W; jj++) pack[p * n + jj] = b[jj * sb1 + p];                     \
    }                                                                                                    \
    for (; j < n; j++)                                                                                   \
      for (int64_t p = 0; p < k; p++) pack[p * n + j] = b[j * sb1 + p];                                 \
  }
PACK_T(pack_t_f32, float, 8, tr8_f32)
PACK_T(pack_t_f64, double, 4, tg_tr4_f64)
#define PACK_T_float pack_t_f32
#define PACK_T_double pack_t_f64

#define GEMM_SMALL(T, V, NAME)                                                                              \
  GEMM_CLONES bool NAME(int64_t m, int64_t n, int64_t k, const T *a, int64_t sa0, int64_t sa1, const T *b,  \
                        int64_t sb0, int64_t sb1, T *o) {                                                  \
    enum { VL = (int)(sizeof(V) / sizeof(T)), NR = 2 * VL };                                               \
    if (m <= 0 || n <= 0 || k <= 0 || m * n * k > TG_GEMM_SMALL_MNK) return false;                            \
    T pack[TG_GEMM_SMALL_PACK];                                                                            \
    int64_t ldb = sb0;                                                                                     \
    if (sb1 != 1 && n > 1) { /* B's rows are not contiguous: pack them */                                  \
      if (k * n > TG_GEMM_SMALL_PACK) return false;                                                        \
      if (sb0 == 1) PACK_T_##T(b, sb1, k, n, pack); /* perop2: columns contiguous */                      \
      else                                                                                                 \
        for (int64_t p = 0; p < k; p++)                                                                    \
          for (int64_t j = 0; j < n; j++) pack[p * n + j] = b[p * sb0 + j * sb1];                          \
      b = pack;                                                                                            \
      ldb = n;                                                                                             \
    }                                                                                                      \
    int64_t i = 0;                                                                                         \
    for (; i + MR <= m; i += MR) {                                                                         \
      const T *ar = a + i * sa0;                                                                           \
      T *orow = o + i * n;                                                                                 \
      int64_t j = 0;                                                                                       \
      for (; j + NR <= n; j += NR) { /* the MR x NR block in registers */                                  \
        V c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};          \
        for (int64_t p = 0; p < k; p++) {                                                                  \
          V b0, b1;                                                                                        \
          __builtin_memcpy(&b0, b + p * ldb + j, sizeof b0);                                               \
          __builtin_memcpy(&b1, b + p * ldb + j + VL, sizeof b1);                                          \
          const T *ap = ar + p * sa1;                                                                      \
          T a0 = ap[0], a1 = ap[sa0], a2 = ap[2 * sa0], a3 = ap[3 * sa0];                                  \
          c00 += a0 * b0; c01 += a0 * b1;                                                                  \
          c10 += a1 * b0; c11 += a1 * b1;                                                                  \
          c20 += a2 * b0; c21 += a2 * b1;                                                                  \
          c30 += a3 * b0; c31 += a3 * b1;                                                                  \
        }                                                                                                  \
        __builtin_memcpy(orow + j, &c00, sizeof c00); __builtin_memcpy(orow + j + VL, &c01, sizeof c01);   \
        __builtin_memcpy(orow + n + j, &c10, sizeof c10);                                                  \
        __builtin_memcpy(orow + n + j + VL, &c11, sizeof c11);                                             \
        __builtin_memcpy(orow + 2 * n + j, &c20, sizeof c20);                                              \
        __builtin_memcpy(orow + 2 * n + j + VL, &c21, sizeof c21);                                         \
        __builtin_memcpy(orow + 3 * n + j, &c30, sizeof c30);                                              \
        __builtin_memcpy(orow + 3 * n + j + VL, &c31, sizeof c31);                                         \
      }                                                                                                    \
      for (; j + VL <= n; j += VL) { /* MR x one vector */                                                 \
        V c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0};                                                          \
        for (int64_t p = 0; p < k; p++) {                                                                  \
          V b0;                                                                                            \
          __builtin_memcpy(&b0, b + p * ldb + j, sizeof b0);                                               \
          const T *ap = ar + p * sa1;                                                                      \
          c0 += ap[0] * b0; c1 += ap[sa0] * b0; c2 += ap[2 * sa0] * b0; c3 += ap[3 * sa0] * b0;            \
        }                                                                                                  \
        __builtin_memcpy(orow + j, &c0, sizeof c0); __builtin_memcpy(orow + n + j, &c1, sizeof c1);        \
        __builtin_memcpy(orow + 2 * n + j, &c2, sizeof c2);                                                \
        __builtin_memcpy(orow + 3 * n + j, &c3, sizeof c3);                                                \
      }                                                                                                    \
      for (; j < n; j++) { /* the last n % VL columns: MR dot products */                                  \
        T c0 = 0, c1 = 0, c2 = 0, c3 = 0;                                                                  \
        for (int64_t p = 0; p < k; p++) {                                                                  \
          const T *ap = ar + p * sa1;                                                                      \
          T bv = b[p * ldb + j];                                                                           \
          c0 += ap[0] * bv; c1 += ap[sa0] * bv; c2 += ap[2 * sa0] * bv; c3 += ap[3 * sa0] * bv;            \
        }                                                                                                  \
        orow[j] = c0; orow[n + j] = c1; orow[2 * n + j] = c2; orow[3 * n + j] = c3;                        \
      }                                                                                                    \
    }                                                                                                      \
    for (; i < m; i++) { /* the last m % MR rows, one at a time */                                         \
      const T *ar = a + i * sa0;                                                                           \
      T *orow = o + i * n;                                                                                 \
      int64_t j = 0;                                                                                       \
      for (; j + NR <= n; j += NR) {                                                                       \
        V c0 = {0}, c1 = {0};                                                                              \
        for (int64_t p = 0; p < k; p++) {                                                                  \
          V b0, b1;                                                                                        \
          __builtin_memcpy(&b0, b + p * ldb + j, sizeof b0);                                               \
          __builtin_memcpy(&b1, b + p * ldb + j + VL, sizeof b1);                                          \
          T av = ar[p * sa1];                                                                              \
          c0 += av * b0; c1 += av * b1;                                                                    \
        }                                                                                                  \
        __builtin_memcpy(orow + j, &c0, sizeof c0); __builtin_memcpy(orow + j + VL, &c1, sizeof c1);       \
      }                                                                                                    \
      for (; j < n; j++) {                                                                                 \
        T acc = 0;                                                                                         \
        for (int64_t p = 0; p < k; p++) acc += ar[p * sa1] * b[p * ldb + j];                               \
        orow[j] = acc;                                                                                     \
      }                                                                                                    \
    }                                                                                                      \
    return true;                                                                                           \
  }

GEMM_SMALL(float, vf32, tg_gemm_small_f32)
GEMM_SMALL(double, vf64, tg_gemm_small_f64)
