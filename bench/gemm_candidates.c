/* GEMM candidates side by side: one binary per BLAS (bench/gemm_candidates.sh
 * builds it with -DUSE_OPENBLAS, -DUSE_BLIS or -DUSE_MKL), float32 and
 * float64, on the shapes of bench/gemm_shapes.h.
 * usage: gemm_candidates THREADS [MAX_N]
 * prints: ROW <lib> <dtype> <threads> <shape> <GF/s> (best of N repetitions:
 * the machine is shared, the fastest repetition is the least disturbed). */
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

/* best seconds per call: warm-up, then reps of ~0.1 s each (fewer for big shapes) */
static double best(job *j) {
  double t0 = now();
  long n = 0;
  do { run(j); n++; } while (now() - t0 < 0.05 && n < 1000000);
  double per = (now() - t0) / n;
  long iters = (long)(0.1 / per);
  if (iters < 1) iters = 1;
  int reps = per > 0.5 ? 3 : 7;
  double b = 1e30;
  for (int r = 0; r < reps; r++) {
    double s = now();
    for (long i = 0; i < iters; i++) run(j);
    double t = (now() - s) / iters;
    if (t < b) b = t;
  }
  return b;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  int max_n = argc > 2 ? atoi(argv[2]) : 2048;
  set_threads(threads);
  describe();
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
      double t = best(&j);
      printf("ROW %s %s %d %s %.4g\n", LIB, f64 ? "float64" : "float32", threads, s->name,
             2.0 * s->m * s->n * s->k / t / 1e9);
      fflush(stdout);
      free(j.a); free(j.b); free(j.c);
    }
  return 0;
}
