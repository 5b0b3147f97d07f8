/* Workload 4 reference: cblas_sgemm called directly (OpenBLAS), C = A B,
 * n x n float32, row-major; threads from OPENBLAS_NUM_THREADS. */
#include "bench_ref.h" /* first: it sets _POSIX_C_SOURCE */
#include <cblas.h>

typedef struct { int n; float *a, *b, *c; } job;

static void gemm(void *p) {
  job *j = p;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, j->n, j->n, j->n,
              1.0f, j->a, j->n, j->b, j->n, 0.0f, j->c, j->n);
}

int main(void) {
  static const int sizes[] = {256, 512, 1024, 2048};
  for (int k = 0; k < 4; k++) {
    int n = sizes[k];
    size_t nn = (size_t)n * n;
    job j = {n, randf(nn), randf(nn), randf(nn)};
    double t = measure(gemm, &j);
    printf("RESULT matmul n%d %.6g GF/s\n", n, 2.0 * n * n * n / t / 1e9);
    fflush(stdout);
    free(j.a); free(j.b); free(j.c);
  }
  return 0;
}
