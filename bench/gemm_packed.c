/* tgrad's packed float32 GEMM (src/backend/cpu/cpu_gemm_packed.c) against the
 * BLAS's cblas_sgemm on the MLP's products (with the transpositions autograd
 * gives them) and square ones, one thread, interleaved in one process (best
 * of 15 alternating short repetitions each), and the largest error against a
 * float64 reference. Build and run:
 *   gcc -O2 -Isrc -o /tmp/gemm_packed bench/gemm_packed.c src/backend/cpu/cpu_gemm_packed.c -O3 -lopenblas -lm && /tmp/gemm_packed
 * "/tmp/gemm_packed '' check" prints only the errors (build with -DTG_GEMM_PACKED_FORCE_EMU16 to check the AVX-512
 * build's 6 x 32 blocking in AVX2 instructions, -DTG_GEMM_PACKED_FORCE_BASE for the SSE2 build).
 * A/B of two versions of the packed GEMM in one process (the second takes the BLAS's place): build the other
 * version as tg_gemm_packed_f32_ref, e.g.
 *   git show HEAD~1:src/backend/cpu/cpu_gemm_packed.c > /tmp/ref.c && gcc -O3 -Isrc/backend/cpu -c /tmp/ref.c
 *     -Dtg_gemm_packed_f32=tg_gemm_packed_f32_ref -Dtg_gemm_packed_f32_acc=tg_gemm_packed_f32_acc_ref -o /tmp/ref.o
 *   gcc -O2 -Isrc -DGEMM_AB -o /tmp/gemm_ab bench/gemm_packed.c src/backend/cpu/cpu_gemm_packed.c /tmp/ref.o -O3 -lopenblas -lm
 * (the "blas" columns are then the other version's). GEMM_REPS=<n> sets the number of alternations (15).
 * prints: PACKED <name> <m>x<k>@<k>x<n> <packed GF/s> <blas GF/s> <blas time / packed time> <max rel err>
 *   median-pair <the median over the alternations of blas time / packed time: steadier on a busy machine>
 *   peak <the FMA peak of one core measured between the alternations, GF/s> <packed as % of it> */
#include "bench_ref.h"
#include <math.h>
#include <string.h>
#include <cblas.h>
#include <immintrin.h>
#include "../src/backend/cpu/cpu_gemm_packed.h"

typedef struct { const char *name; int m, n, k, ta, tb; } shape;

#ifdef GEMM_AB
bool tg_gemm_packed_f32_ref(int64_t m, int64_t n, int64_t k, const float *a, int64_t sa0, int64_t sa1, const float *b,
                            int64_t sb0, int64_t sb1, float *o, int64_t ldo);
#endif

static void run(int tg, const shape *s, const float *a, const float *b, float *c) {
  int m = s->m, n = s->n, k = s->k;
  /* A stored k x m when ta (A = stored^T), B stored n x k when tb */
  if (tg)
    tg_gemm_packed_f32(m, n, k, a, s->ta ? 1 : k, s->ta ? m : 1, b, s->tb ? 1 : n, s->tb ? k : 1, c, n);
  else
#ifdef GEMM_AB
    tg_gemm_packed_f32_ref(m, n, k, a, s->ta ? 1 : k, s->ta ? m : 1, b, s->tb ? 1 : n, s->tb ? k : 1, c, n);
#else
    cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans, s->tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f,
                a, s->ta ? m : k, b, s->tb ? k : n, 0.0f, c, n);
#endif
}

/* the FMA peak of one core, measured next to each shape (the machine is shared: its clock and load vary):
 * 12 independent accumulators of 8 floats (AVX2 + FMA), flops per second over the process's CPU time */
__attribute__((target("avx2,fma"))) static double fma_rate(long iters) {
  __m256 acc[12], x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
  for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_ps((float)i);
  struct timespec t0, t1;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
  for (long it = 0; it < iters; it++)
#pragma GCC unroll 16
    for (int i = 0; i < 12; i++) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
  float sink = 0, o[8];
  for (int i = 0; i < 12; i++) { _mm256_storeu_ps(o, acc[i]); sink += o[0]; }
  if (sink == 12345.f) puts("");
  return 12.0 * 16 * iters / ((double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
}

/* the process's CPU time: time the core gives other processes of a shared machine does not count */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double time_it(int tg, const shape *s, const float *a, const float *b, float *c, long iters) {
  double t0 = cpu_now();
  for (long i = 0; i < iters; i++) run(tg, s, a, b, c);
  return (cpu_now() - t0) / iters;
}

int main(int argc, char **argv) {
  static const shape shapes[] = {
      {"b64_fwd", 64, 256, 784, 0, 0},   {"b64_dx", 64, 784, 256, 0, 1},   {"b64_dw", 784, 256, 64, 1, 0},
      {"b256_fwd", 256, 256, 784, 0, 0}, {"b256_dx", 256, 784, 256, 0, 1}, {"b256_dw", 784, 256, 256, 1, 0},
      {"l2_fwd", 64, 128, 256, 0, 0},    {"l2_dx", 64, 256, 128, 0, 1},    {"l2_dw", 256, 128, 64, 1, 0},
      {"b256_l2fwd", 256, 128, 256, 0, 0}, {"b256_l2dx", 256, 256, 128, 0, 1}, {"b256_l2dw", 256, 128, 256, 1, 0},
      {"l3_fwd", 64, 10, 128, 0, 0},     {"l3_dw", 128, 10, 64, 1, 0},     {"l3_dx", 64, 128, 10, 0, 1},
      {"n128", 128, 128, 128, 0, 0},     {"n256", 256, 256, 256, 0, 0},    {"n512", 512, 512, 512, 0, 0},
      {"n1024", 1024, 1024, 1024, 0, 0}, {"n2048", 2048, 2048, 2048, 0, 0}, {"n512_tt", 512, 512, 512, 1, 1},
      {"odd", 97, 131, 333, 0, 0},
      /* above the old bound (256 x 512 x 512): conv's GEMMs (cout x HW, k = cin kh kw; dw = y @ col^T, dx = w^T @ y),
       * a skinny m, a wide k */
      {"cv_fwd", 64, 3136, 576, 0, 0},   {"cv_dw", 64, 576, 3136, 0, 1},   {"cv_dx", 576, 3136, 64, 1, 0},
      {"cv7_fwd", 64, 12544, 147, 0, 0}, {"m16", 16, 4096, 2048, 0, 0},    {"m6_bt", 6, 2048, 2048, 0, 1},
      {"k4096", 256, 256, 4096, 0, 0},   {"n1536_bt", 1536, 1536, 1536, 0, 1},
  };
  openblas_set_num_threads(1);
  const char *only = argc > 1 ? argv[1] : NULL;
  for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
    const shape *s = &shapes[si];
    if (only && !strstr(s->name, only)) continue;
    int m = s->m, n = s->n, k = s->k;
    float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n), *c = malloc(sizeof(float) * m * n);
    for (int i = 0; i < m * k; i++) a[i] = rand() / (float)RAND_MAX - .5f;
    for (int i = 0; i < k * n; i++) b[i] = rand() / (float)RAND_MAX - .5f;
    run(1, s, a, b, c);
    double err = 0;
    for (int i = 0; i < m && m * (double)n * k < 3e8; i++)
      for (int j = 0; j < n; j++) {
        double ref = 0, sc = 0;
        for (int p = 0; p < k; p++) {
          double x = s->ta ? a[p * m + i] : a[i * k + p], y = s->tb ? b[j * k + p] : b[p * n + j];
          ref += x * y; sc += fabs(x * y);
        }
        if (fabs(c[i * n + j] - ref) / sc > err) err = fabs(c[i * n + j] - ref) / sc;
      }
    double fl = 2.0 * m * n * k;
    if (argc > 2 && !strcmp(argv[2], "check")) { /* errors only (the forced builds of the kernel's tests) */
      printf("CHECK %-9s %.2g\n", s->name, err);
      free(a); free(b); free(c);
      continue;
    }
    long iters = (long)(2e-3 / (fl / 80e9)) + 1;
    double bt = 1e30, bb = 1e30;
    time_it(0, s, a, b, c, iters); time_it(1, s, a, b, c, iters);
    int reps = getenv("GEMM_REPS") ? atoi(getenv("GEMM_REPS")) : 15; /* more on a busy machine */
    double peak = 0;
    double *ratio = malloc(sizeof(double) * (size_t)(reps > 0 ? reps : 1));
    for (int r = 0; r < reps; r++) {
      double t1 = time_it(1, s, a, b, c, iters), t0 = time_it(0, s, a, b, c, iters);
      ratio[r] = t0 / t1;
      if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        double pk = fma_rate(100000);
        if (pk > peak) peak = pk;
      }
      if (t1 < bt) bt = t1;
      if (t0 < bb) bb = t0;
    }
    qsort(ratio, (size_t)reps, sizeof *ratio, cmp_double);
    printf("PACKED %-9s %dx%d@%dx%d%s%s %.1f %.1f %.2f %.2g median-pair %.3f peak %.1f %.0f%%\n", s->name, m, k, k, n,
           s->ta ? " At" : "", s->tb ? " Bt" : "", fl / bt / 1e9, fl / bb / 1e9, bb / bt, err,
           reps > 0 ? ratio[reps / 2] : 0.0, peak / 1e9, peak > 0 ? 100 * fl / bt / peak : 0.0);
    free(ratio);
    fflush(stdout);
    free(a); free(b); free(c);
  }
  return 0;
}
