/* cpu_sum.c: the float32 sum kernel (helper kern, issue 11 "Kernels").
 *
 * A two-level cascade, as fast as a plain float loop and more accurate than
 * PyTorch's float cascade:
 *
 *   - a block of SUM_ROWS x 64 floats is summed in float by 64 independent
 *     lanes (8 vector registers, enough to hide the add latency): each lane
 *     adds only SUM_ROWS (8) values, short serial chains of small partials;
 *   - each block's 64 lane sums are widened to double and added to 16 double
 *     lanes, where the count of blocks no longer matters (1e7 floats are
 *     2e4 blocks: 2e4 * 2^-53 is far below a float ulp);
 *   - the tail (< one block) goes through the same float lanes row by row,
 *     the last < 64 elements are added in double.
 *
 * The conversions cost one vector op per 8 loads, hidden behind memory
 * bandwidth. Measured against the exact sum over 20 random normal inputs of
 * 1e6 (helper kern, see spec/sum_accuracy_spec.lua): RMS error 6.5 ulp of the
 * result against PyTorch's 18.6 (a float64 accumulator: 0.36, but 2x slower
 * in cache). Every step is plain float/double arithmetic in a fixed order, so
 * the result depends only on n and on the split points the caller chooses (a
 * given thread count always gives the same bits). */
#include <stdint.h>

#include "cpu.h"
#include "cpu_sum.h"

#define SUM_LANES 64
#define SUM_ROWS 8
#define SUM_BLOCK (SUM_LANES * SUM_ROWS)

/* 8 floats / 4 doubles (GCC's generic vectors: one AVX register, two SSE
 * ones in the baseline clone); v8u is the unaligned, may-alias twin for loads.
 * A block's 8-float lane sums are widened as one 8-double vector and split
 * into halves: GCC lowers that to two vcvtps2pd ymm, where converting each
 * half (a shuffle to 4 floats, then a convert) went through the stack
 * (helper stream: ~100 instructions per block less; the same additions in
 * the same order, so the same bits). */
typedef float v8f __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));
typedef double v4d __attribute__((vector_size(32)));
typedef double v8d __attribute__((vector_size(64)));
#define LD(p) (*(const v8u *)(p))

#define ROW_ADD(p)                                                                 \
  (a0 += LD(p), a1 += LD((p) + 8), a2 += LD((p) + 16), a3 += LD((p) + 24),         \
   a4 += LD((p) + 32), a5 += LD((p) + 40), a6 += LD((p) + 48), a7 += LD((p) + 56))
/* lo += v's first 4 lanes, hi += its last 4, in double */
#define WIDEN_ADD(v, lo, hi)                                     \
  do {                                                           \
    v8d w_ = __builtin_convertvector(v, v8d);                    \
    lo += __builtin_shufflevector(w_, w_, 0, 1, 2, 3);           \
    hi += __builtin_shufflevector(w_, w_, 4, 5, 6, 7);           \
  } while (0)
#define TO_DOUBLE()                                                              \
  do {                                                                           \
    WIDEN_ADD(a0, d0, d1); WIDEN_ADD(a1, d2, d3); WIDEN_ADD(a2, d0, d1);         \
    WIDEN_ADD(a3, d2, d3); WIDEN_ADD(a4, d0, d1); WIDEN_ADD(a5, d2, d3);         \
    WIDEN_ADD(a6, d0, d1); WIDEN_ADD(a7, d2, d3);                                \
  } while (0)

TG_CLONES double tg_cpu_sum_f32(const float *x, int64_t n) {
  v4d d0 = {0}, d1 = {0}, d2 = {0}, d3 = {0};
  /* eight named float accumulators stay in registers (an array is spilled) */
  v8f a0, a1, a2, a3, a4, a5, a6, a7;
  int64_t i = 0;
  for (; i + SUM_BLOCK <= n; i += SUM_BLOCK) {
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = (v8f){0};
    for (int r = 0; r < SUM_ROWS; r++) ROW_ADD(x + i + r * SUM_LANES);
    TO_DOUBLE();
  }
  /* the tail: its whole rows of 64 in the same float lanes, the rest in double */
  a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = (v8f){0};
  for (; i + SUM_LANES <= n; i += SUM_LANES) ROW_ADD(x + i);
  TO_DOUBLE();
  d0 += d1, d2 += d3, d0 += d2;
  double s = (d0[0] + d0[1]) + (d0[2] + d0[3]);
  for (; i < n; i++) s += x[i];
  return s;
}

/* the split points used by the threaded sum: whole blocks per thread */
int64_t tg_cpu_sum_f32_chunk(int64_t n, int nt) {
  int64_t blocks = (n + SUM_BLOCK - 1) / SUM_BLOCK;
  return (blocks + nt - 1) / nt * SUM_BLOCK;
}
