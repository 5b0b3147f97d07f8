/* cpu_sum.c: the float32 sum kernel (helper kern, issue 11 "Kernels").
 *
 * A cascade (blocked pairwise) sum in float, as fast as the memory allows
 * and more accurate than a float64 accumulator needs to be:
 *
 *   - 64 independent float lanes (8 AVX2 / 4 AVX-512 registers, enough to
 *     hide the add latency) each add SUM_ROWS consecutive rows of 64
 *     elements: a "block" of 64 * SUM_ROWS elements, summed with short
 *     serial chains (SUM_ROWS adds per lane);
 *   - the block's 64 lane sums are combined with earlier blocks by a binary
 *     counter (level j holds the sum of 2^j blocks; a new block carries up
 *     like an increment), which is a pairwise sum over the blocks, done on
 *     whole 64-lane vectors so it costs ~1 vector add per block;
 *   - at the end the levels are added smallest first and the 64 lanes are
 *     folded pairwise (32+32, 16+16, ...).
 *
 * The error bound is about (SUM_ROWS + log2(n / block) + 6) ulp of the sum of
 * |x|, against PyTorch's cascade (4 levels of 16, then linear) and the
 * (n) ulp of a naive float loop. Every step is plain float arithmetic in a
 * fixed order, so the result depends only on n and the split points chosen by
 * the caller (a given thread count always gives the same bits). */
#include <stdint.h>
#include <string.h>

#include "cpu.h"
#include "cpu_sum.h"

#define SUM_LANES 64
#define SUM_ROWS 16
#define SUM_BLOCK (SUM_LANES * SUM_ROWS)
#define SUM_LEVELS 48 /* 2^48 blocks: more than any tensor */

/* 8 floats (GCC's generic vectors: one AVX register, two SSE ones in the
 * baseline clone); the unaligned, may-alias twin for loads */
typedef float v8f __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));
#define NV (SUM_LANES / 8)
#define LD(p) (*(const v8u *)(p))

TG_CLONES float tg_cpu_sum_f32(const float *x, int64_t n) {
  v8f lv[SUM_LEVELS][NV];
  uint64_t nb = 0; /* blocks so far: bit j set <=> level j holds a partial sum */
  int64_t i = 0;
  for (; i + SUM_BLOCK <= n; i += SUM_BLOCK) {
    /* eight named accumulators stay in registers (an array would be spilled) */
    const float *p = x + i;
    v8f a0 = LD(p), a1 = LD(p + 8), a2 = LD(p + 16), a3 = LD(p + 24);
    v8f a4 = LD(p + 32), a5 = LD(p + 40), a6 = LD(p + 48), a7 = LD(p + 56);
    for (int r = 1; r < SUM_ROWS; r++) {
      p += SUM_LANES;
      a0 += LD(p), a1 += LD(p + 8), a2 += LD(p + 16), a3 += LD(p + 24);
      a4 += LD(p + 32), a5 += LD(p + 40), a6 += LD(p + 48), a7 += LD(p + 56);
    }
    /* carry: while level j is occupied, fold it in and move up */
    int j = 0;
    for (uint64_t b = nb; b & 1; b >>= 1, j++) {
      a0 += lv[j][0], a1 += lv[j][1], a2 += lv[j][2], a3 += lv[j][3];
      a4 += lv[j][4], a5 += lv[j][5], a6 += lv[j][6], a7 += lv[j][7];
    }
    lv[j][0] = a0, lv[j][1] = a1, lv[j][2] = a2, lv[j][3] = a3;
    lv[j][4] = a4, lv[j][5] = a5, lv[j][6] = a6, lv[j][7] = a7;
    nb++;
  }
  /* the tail (< one block): whole rows, then the last < 64 elements, lane by lane */
  float acc[SUM_LANES] = {0};
  for (; i + SUM_LANES <= n; i += SUM_LANES)
    for (int k = 0; k < SUM_LANES; k++) acc[k] += x[i + k];
  for (int k = 0; i + k < n; k++) acc[k] += x[i + k];
  /* levels, smallest first (the tail is smaller than any of them) */
  for (int j = 0; nb >> j; j++)
    if (nb >> j & 1)
      for (int v = 0; v < NV; v++)
        for (int k = 0; k < 8; k++) acc[v * 8 + k] += lv[j][v][k];
  for (int w = SUM_LANES / 2; w >= 1; w /= 2)
    for (int k = 0; k < w; k++) acc[k] += acc[k + w];
  return acc[0];
}

/* the split points used by the threaded sum: whole blocks per thread, so a
 * thread's part is summed exactly as the serial code would sum it */
int64_t tg_cpu_sum_f32_chunk(int64_t n, int nt) {
  int64_t blocks = (n + SUM_BLOCK - 1) / SUM_BLOCK;
  return (blocks + nt - 1) / nt * SUM_BLOCK;
}
