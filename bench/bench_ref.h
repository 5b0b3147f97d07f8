/* Timing helpers shared by the C references (header-only). */
#ifndef BENCH_REF_H
#define BENCH_REF_H
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

#define REPS 7
/* Median seconds per call of fn(arg): warm up 0.2 s, calibrate iterations
 * to about 0.3 s per repetition, as common.lua does. */
static double measure(void (*fn)(void *), void *arg) {
  double t0 = now();
  long n = 0;
  do { fn(arg); n++; } while (now() - t0 < 0.2 || n < 3);
  long iters = (long)(0.3 / ((now() - t0) / n));
  if (iters < 1) iters = 1;
  double times[REPS];
  for (int r = 0; r < REPS; r++) {
    double s = now();
    for (long i = 0; i < iters; i++) fn(arg);
    times[r] = (now() - s) / iters;
  }
  qsort(times, REPS, sizeof times[0], cmp_double);
  return times[REPS / 2];
}

static float *randf(size_t n) {
  float *p = malloc(n * sizeof *p);
  if (!p) { perror("malloc"); exit(1); }
  for (size_t i = 0; i < n; i++) p[i] = (float)rand() / RAND_MAX - 0.5f;
  return p;
}
#endif
