/* Workload 5 reference: STREAM-like loops on float32, GB/s counting bytes
 * read + written. "add"/"exp" write a freshly malloc'd output every call
 * (what an allocating op pays: page faults on large buffers); the *_reuse
 * variants write into one existing buffer; add_inplace is a[i] += b[i].
 * Single-threaded unless built with -fopenmp (then OMP_NUM_THREADS). */
#include "bench_ref.h"
#include <math.h>

typedef struct { long n; float *a, *b, *c; } job;

static void add_alloc(void *p) {
  job *j = p;
  float *c = malloc(j->n * sizeof *c);
  #pragma omp parallel for schedule(static)
  for (long i = 0; i < j->n; i++) c[i] = j->a[i] + j->b[i];
  __asm__ volatile("" : : "r"(c) : "memory");
  free(c);
}
static void add_reuse(void *p) {
  job *j = p;
  #pragma omp parallel for schedule(static)
  for (long i = 0; i < j->n; i++) j->c[i] = j->a[i] + j->b[i];
  __asm__ volatile("" : : : "memory");
}
static void add_inplace(void *p) {
  job *j = p;
  #pragma omp parallel for schedule(static)
  for (long i = 0; i < j->n; i++) j->c[i] += j->b[i];
  __asm__ volatile("" : : : "memory");
}
static void exp_alloc(void *p) {
  job *j = p;
  float *c = malloc(j->n * sizeof *c);
  #pragma omp parallel for schedule(static)
  for (long i = 0; i < j->n; i++) c[i] = expf(j->a[i]);
  __asm__ volatile("" : : "r"(c) : "memory");
  free(c);
}
static void exp_reuse(void *p) {
  job *j = p;
  #pragma omp parallel for schedule(static)
  for (long i = 0; i < j->n; i++) j->c[i] = expf(j->a[i]);
  __asm__ volatile("" : : : "memory");
}
static volatile float sink;
static void sum(void *p) {
  job *j = p;
  float s = 0;
  #pragma omp parallel for schedule(static) reduction(+ : s)
  for (long i = 0; i < j->n; i++) s += j->a[i];
  sink = s;
}

int main(void) {
  static const struct { const char *name; int bytes; void (*fn)(void *); } ops[] = {
    {"add", 12, add_alloc}, {"add_reuse", 12, add_reuse},
    {"exp", 8, exp_alloc}, {"exp_reuse", 8, exp_reuse},
    {"sum", 4, sum}, {"add_inplace", 12, add_inplace},
  };
  static const long sizes[] = {1000000, 10000000};
  for (int k = 0; k < 2; k++) {
    long n = sizes[k];
    job j = {n, randf(n), randf(n), randf(n)};
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
      double t = measure(ops[o].fn, &j);
      printf("RESULT elementwise %s_%s %.6g GB/s\n", ops[o].name,
             k == 0 ? "1e6" : "1e7", ops[o].bytes * (double)n / t / 1e9);
      fflush(stdout);
    }
    free(j.a); free(j.b); free(j.c);
  }
  return 0;
}
