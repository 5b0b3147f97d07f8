/* GEMM candidates side by side: one binary per BLAS (bench/gemm_candidates.sh
 * builds it with -DUSE_OPENBLAS, -DUSE_BLIS or -DUSE_MKL), float32 and
 * float64, on the shapes of bench/gemm_shapes.h.
 * usage: gemm_candidates THREADS [MAX_N]
 * prints: ROW <lib> <dtype> <threads> <shape> <GF/s> (the best call: see best()). */
#include "bench_ref.h" /* first: it sets _POSIX_C_SOURCE */
#include <string.h>

#include "gemm_shapes.h"
#if defined(USE_MKL)
#include <mkl.h>
#define LIB "mkl"
static void set_threads(int n) { mkl_set_num_threads(n); }
static void describe(void) {
  char v[256];
  mkl_get_version_string(v, sizeof v);
  printf("INFO mkl %s\n", v);
}
#elif defined(USE_BLIS)
#include <blis.h>
#define LIB "blis"
static void set_threads(int n) { bli_thread_set_num_threads(n); }
static void describe(void) {
  printf("INFO blis %s arch %s\n", bli_info_get_version_str(), bli_arch_string(bli_arch_query_id()));
}
#else
#include <cblas.h>
#define LIB "openblas"
static void set_threads(int n) { openblas_set_num_threads(n); }
static void describe(void) { printf("INFO openblas %s core %s\n", openblas_get_config(), openblas_get_corename()); }
#endif

typedef struct {
  const gemm_shape *s;
  int f64;
  void *a, *b, *c;
} job;

static void run(void *p) {
  job *j = p;
  const gemm_shape *s = j->s;
  int lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
  enum CBLAS_TRANSPOSE TA = s->ta ? CblasTrans : CblasNoTrans, TB = s->tb ? CblasTrans : CblasNoTrans;
  if (j->f64)
    cblas_dgemm(CblasRowMajor, TA, TB, s->m, s->n, s->k, 1.0, j->a, lda, j->b, ldb, 0.0, j->c, s->n);
  else
    cblas_sgemm(CblasRowMajor, TA, TB, s->m, s->n, s->k, 1.0f, j->a, lda, j->b, ldb, 0.0f, j->c, s->n);
}

/* Seconds per call, the best single call over ~0.6 s of calls (at least 3).
 * With 1 thread the clock is the process's CPU time, so the time other
 * processes hold the core does not count (a shared machine); with more
 * threads it is wall time, and only the best of many calls says much. */
static double clk(int cpu) {
  struct timespec ts;
  clock_gettime(cpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static double best(job *j, int cpu) {
  run(j); /* warm-up */
  double b = 1e30, t0 = now();
  long calls = 0;
  while (calls < 3 || (now() - t0 < 0.6 && calls < 200000)) {
    int batch = 1; /* tiny calls: time a batch of them, the clock costs ~50 ns */
    if (b < 2e-6) batch = 100;
    double s = clk(cpu);
    for (int i = 0; i < batch; i++) run(j);
    double t = (clk(cpu) - s) / batch;
    if (t < b) b = t;
    calls += batch;
  }
  return b;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  int max_n = argc > 2 ? atoi(argv[2]) : 2048;
  set_threads(threads);
  describe();
  printf("INFO clock: %s, best single call\n", threads == 1 ? "process CPU time" : "wall time");
  for (int f64 = 0; f64 < 2; f64++)
    for (int i = 0; i < N_GEMM_SHAPES; i++) {
      const gemm_shape *s = &gemm_shapes[i];
      if (s->m > max_n && s->n > max_n) continue;
      size_t es = f64 ? 8 : 4;
      job j = {s, f64, malloc((size_t)s->m * s->k * es), malloc((size_t)s->k * s->n * es),
               malloc((size_t)s->m * s->n * es)};
      for (size_t q = 0; q < (size_t)s->m * s->k; q++)
        if (f64) ((double *)j.a)[q] = rand() / (double)RAND_MAX - 0.5; else ((float *)j.a)[q] = rand() / (float)RAND_MAX - 0.5f;
      for (size_t q = 0; q < (size_t)s->k * s->n; q++)
        if (f64) ((double *)j.b)[q] = rand() / (double)RAND_MAX - 0.5; else ((float *)j.b)[q] = rand() / (float)RAND_MAX - 0.5f;
      double t = best(&j, threads == 1);
      printf("ROW %s %s %d %s %.4g\n", LIB, f64 ? "float64" : "float32", threads, s->name,
             2.0 * s->m * s->n * s->k / t / 1e9);
      fflush(stdout);
      free(j.a); free(j.b); free(j.c);
    }
  return 0;
}
