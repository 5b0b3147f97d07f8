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
 * ones in the baseline clone); v8u is the unaligned, may-alias twin for loads */
typedef float v8f __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));
typedef double v4d __attribute__((vector_size(32)));
#define LD(p) (*(const v8u *)(p))
#define LO(v) __builtin_convertvector(__builtin_shufflevector(v, v, 0, 1, 2, 3), v4d)
#define HI(v) __builtin_convertvector(__builtin_shufflevector(v, v, 4, 5, 6, 7), v4d)

#define ROW_ADD(p)                                                                 \
  (a0 += LD(p), a1 += LD((p) + 8), a2 += LD((p) + 16), a3 += LD((p) + 24),         \
   a4 += LD((p) + 32), a5 += LD((p) + 40), a6 += LD((p) + 48), a7 += LD((p) + 56))
#define TO_DOUBLE()                                                                \
  (d0 += LO(a0), d1 += HI(a0), d2 += LO(a1), d3 += HI(a1), d0 += LO(a2), d1 += HI(a2), \
   d2 += LO(a3), d3 += HI(a3), d0 += LO(a4), d1 += HI(a4), d2 += LO(a5), d3 += HI(a5), \
   d0 += LO(a6), d1 += HI(a6), d2 += LO(a7), d3 += HI(a7))

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
