/* tgrad's small-GEMM kernel (src/backend/cpu/cpu_gemm_small.c) against the
 * BLAS's cblas_sgemm/dgemm on small and skinny shapes, interleaved in one
 * process (best of 9 short repetitions each), and the largest error against
 * a float64 reference. Built and run by bench/gemm_small.sh; it sets the
 * threshold TG_GEMM_SMALL_MNK in cpu_gemm_small.h.
 * The kernel is timed up to TG_GEMM_SMALL_MNK (build with -DTG_GEMM_SMALL_MNK=1000000000 to see it
 * lose to the BLAS on big shapes); "tgrad" says whether tgrad's mm takes the kernel for that shape.
 * prints: SMALL <dtype> <m>x<k>@<k>x<n> <kernel GF/s> <blas GF/s> <kernel/blas speed> <max rel err> <tgrad|blas> */
#include "bench_ref.h"
#include <math.h>
#include <cblas.h>
#include "../src/backend/cpu/cpu_gemm_small.h"

static double best_of(int f64, int tg, int m, int n, int k, void *a, void *b, void *c) {
  long iters = 1;
  double b9 = 1e30;
  for (;;) { /* calibrate to ~2 ms */
    double s = now();
    for (long i = 0; i < iters; i++) {
      if (tg) { if (f64) tg_gemm_small_f64(m, n, k, a, k, 1, b, n, 1, c); else tg_gemm_small_f32(m, n, k, a, k, 1, b, n, 1, c); }
      else if (f64) cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
      else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
    }
    double t = now() - s;
    if (t > 0.002) { if (t / iters < b9) b9 = t / iters; break; }
    iters *= 2;
  }
  for (int r = 0; r < 9; r++) {
    double s = now();
    for (long i = 0; i < iters; i++) {
      if (tg) { if (f64) tg_gemm_small_f64(m, n, k, a, k, 1, b, n, 1, c); else tg_gemm_small_f32(m, n, k, a, k, 1, b, n, 1, c); }
      else if (f64) cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
      else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
    }
    double t = (now() - s) / iters;
    if (t < b9) b9 = t;
  }
  return b9;
}

int main(void) {
  static const int shapes[][3] = {{5, 1, 3}, {1, 32, 4}, {1, 2, 32}, {4, 32, 32}, {8, 8, 8}, {16, 16, 16},
                                  {32, 32, 32}, {40, 40, 40}, {48, 48, 48}, {64, 64, 64}, {64, 16, 64},
                                  {1, 256, 128}, {128, 1, 128}, {100, 3, 100}, {3, 100, 100}, {16, 64, 256}, {96, 96, 96},
                                  {128, 128, 128}, {192, 192, 192}, {256, 256, 256}, {64, 256, 784}, {64, 784, 256}};
  openblas_set_num_threads(1);
  for (int f64 = 0; f64 < 2; f64++)
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
      int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
      if ((long)m * n * k > TG_GEMM_SMALL_MNK * 8L) continue;
      size_t es = f64 ? 8 : 4;
      char *a = malloc(m * k * es), *b = malloc(k * n * es), *c = malloc(m * n * es);
      for (int i = 0; i < m * k; i++) { double v = rand() / (double)RAND_MAX - .5; if (f64) ((double *)a)[i] = v; else ((float *)a)[i] = (float)v; }
      for (int i = 0; i < k * n; i++) { double v = rand() / (double)RAND_MAX - .5; if (f64) ((double *)b)[i] = v; else ((float *)b)[i] = (float)v; }
      /* the kernel runs for any size when called directly: bigger shapes show where the BLAS wins */
      double err = 0;
      if (f64) tg_gemm_small_f64(m, n, k, (double *)a, k, 1, (double *)b, n, 1, (double *)c);
      else tg_gemm_small_f32(m, n, k, (float *)a, k, 1, (float *)b, n, 1, (float *)c);
      int ran = (long)m * n * k <= TG_GEMM_SMALL_MNK;
      for (int i = 0; ran && i < m; i++)
        for (int j = 0; j < n; j++) {
          double ref = 0, sc = 0;
          for (int p = 0; p < k; p++) {
            double x = f64 ? ((double *)a)[i * k + p] : ((float *)a)[i * k + p], y = f64 ? ((double *)b)[p * n + j] : ((float *)b)[p * n + j];
            ref += x * y; sc += fabs(x * y);
          }
          double got = f64 ? ((double *)c)[i * n + j] : ((float *)c)[i * n + j];
          if (fabs(got - ref) / sc > err) err = fabs(got - ref) / sc;
        }
      double fl = 2.0 * m * n * k;
      double ttg = ran ? best_of(f64, 1, m, n, k, a, b, c) : 0, tbl = best_of(f64, 0, m, n, k, a, b, c);
      printf("SMALL %s %dx%d@%dx%d %.3g %.3g %.2f %.2g %s\n", f64 ? "float64" : "float32", m, k, k, n,
             ran ? fl / ttg / 1e9 : 0, fl / tbl / 1e9, ran ? tbl / ttg : 0, err,
             tg_gemm_small_ok(m, n, k, 1) ? "tgrad" : "blas");
      fflush(stdout);
      free(a); free(b); free(c);
    }
  return 0;
}
