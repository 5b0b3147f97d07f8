/* Workload 4 reference: cblas_sgemm called directly (OpenBLAS), C = A B,
 * n x n float32, row-major; threads from OPENBLAS_NUM_THREADS. Timed as
 * bench/matmul.lua: the best single call over ~0.6 s, on the process's CPU
 * time with one thread (a shared machine's other processes do not count),
 * wall time with more. */
#include "bench_ref.h" /* first: it sets _POSIX_C_SOURCE */
#include <cblas.h>

typedef struct { int n; float *a, *b, *c; } job;

static void gemm(void *p) {
  job *j = p;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, j->n, j->n, j->n,
              1.0f, j->a, j->n, j->b, j->n, 0.0f, j->c, j->n);
}

static double best(job *j, int cpu) {
  gemm(j);
  double b = 1e30, t0 = now();
  int calls = 0;
  while (calls < 3 || now() - t0 < 0.6) {
    struct timespec s, e;
    clock_gettime(cpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &s);
    gemm(j);
    clock_gettime(cpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &e);
    double t = (double)(e.tv_sec - s.tv_sec) + 1e-9 * (double)(e.tv_nsec - s.tv_nsec);
    if (t < b) b = t;
    calls++;
  }
  return b;
}

int main(void) {
  const char *th = getenv("OPENBLAS_NUM_THREADS");
  int cpu = !th || atoi(th) <= 1;
  (void)measure; /* bench_ref.h's median timing: the other references use it */
  static const int sizes[] = {256, 512, 1024, 2048};
  for (int k = 0; k < 4; k++) {
    int n = sizes[k];
    size_t nn = (size_t)n * n;
    job j = {n, randf(nn), randf(nn), randf(nn)};
    double t = best(&j, cpu);
    printf("RESULT matmul n%d %.6g GF/s\n", n, 2.0 * n * n * n / t / 1e9);
    fflush(stdout);
    free(j.a); free(j.b); free(j.c);
  }
  return 0;
}
