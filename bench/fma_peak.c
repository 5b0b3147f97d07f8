/* The physical limit of one core for GEMM: FMA units x vector width x clock.
 * The vector width is detected at run time (AVX-512F, else AVX2+FMA); the
 * clock is measured with a chain of dependent integer adds (1 cycle each on
 * every x86 core), and /proc/cpuinfo's "cpu MHz" is printed next to it; the
 * FMA units are the measured FMA throughput (16 independent accumulators)
 * divided by lanes x clock, rounded.
 * prints: PEAK <isa> <lanes32> <units> <clock GHz> <clock source> <f32 GF/s> <f64 GF/s> <measured f32 GF/s>
 * (built by bench/run.sh and bench/gemm_candidates.sh without -march=native:
 * the wide code is behind __attribute__((target))). */
#include "bench_ref.h" /* first: it sets _POSIX_C_SOURCE */
#include <immintrin.h>
#include <string.h>

#define NACC 12 /* AVX2 has 16 ymm registers: 12 accumulators + 2 operands */

__attribute__((target("avx2,fma"))) static double fma_avx2(long iters) {
  __m256 acc[NACC], x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
  for (int i = 0; i < NACC; i++) acc[i] = _mm256_set1_ps((float)i);
  double t = now();
  for (long it = 0; it < iters; it++)
#pragma GCC unroll 16
    for (int i = 0; i < NACC; i++) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
  t = now() - t;
  float s = 0, o[8];
  for (int i = 0; i < NACC; i++) { _mm256_storeu_ps(o, acc[i]); s += o[0]; }
  if (s == 12345.f) printf("#");
  return (double)iters * NACC * 8 * 2 / t / 1e9;
}

__attribute__((target("avx512f"))) static double fma_avx512(long iters) {
  __m512 acc[16], x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  for (int i = 0; i < 16; i++) acc[i] = _mm512_set1_ps((float)i);
  double t = now();
  for (long it = 0; it < iters; it++)
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
  t = now() - t;
  float s = 0, o[16];
  for (int i = 0; i < 16; i++) { _mm512_storeu_ps(o, acc[i]); s += o[0]; }
  if (s == 12345.f) printf("#");
  return (double)iters * 16 * 16 * 2 / t / 1e9;
}

/* 8 dependent adds per iteration: 8 cycles (the loop counter runs beside) */
static double clock_ghz(long iters) {
  unsigned long x = 0;
  double t = now();
  __asm__ volatile("1:\n\t"
                   "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
                   "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
                   "dec %1\n\tjnz 1b"
                   : "+r"(x), "+r"(iters)::"cc");
  t = now() - t;
  return (double)x / t / 1e9;
}

static double cpuinfo_mhz(void) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[512];
  double mhz = 0;
  if (!f) return 0;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "cpu MHz", 7)) { sscanf(strchr(line, ':') + 1, "%lf", &mhz); break; }
  fclose(f);
  return mhz;
}

int main(void) {
  __builtin_cpu_init();
  int avx512 = __builtin_cpu_supports("avx512f"), avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (!avx2 && !avx512) { printf("PEAK none 4 0 0 none 0 0 0\n"); return 0; }
  double best_clk = 0, best_fma = 0;
  for (int r = 0; r < 300; r++) { /* best of 300 short runs (~1 ms each): the machine may be shared */
    double c = clock_ghz(300000L), f = avx512 ? fma_avx512(200000L) : fma_avx2(200000L);
    if (c > best_clk) best_clk = c;
    if (f > best_fma) best_fma = f;
  }
  int lanes = avx512 ? 16 : 8;
  int units = (int)(best_fma / (lanes * 2 * best_clk) + 0.5);
  if (units < 1) units = 1;
  double peak32 = units * lanes * 2 * best_clk;
  printf("PEAK %s %d %d %.3f measured-add-chain %.1f %.1f %.1f cpuinfo_mhz=%.0f\n", avx512 ? "avx512" : "avx2", lanes,
         units, best_clk, peak32, peak32 / 2, best_fma, cpuinfo_mhz());
  return 0;
}
