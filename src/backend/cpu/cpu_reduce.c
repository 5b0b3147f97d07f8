/* cpu_reduce.c: sum over a set of dims. float32 accumulates in double,
 * int64/bool in int64 (ARCHITECTURE: reductions accumulate f32 in double). */
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

#define SUM_LOOP(T, ACC)                                                             \
  static void sum_##T(int64_t n, char **p, const int64_t *s, const void *arg) {      \
    (void)arg;                                                                       \
    if (s[0] == 0) {                                                                 \
      ACC acc = 0;                                                                   \
      if (s[1] == sizeof(T)) {                                                       \
        const T *x = (const T *)p[1];                                                \
        for (int64_t i = 0; i < n; i++) acc += x[i];                                 \
      } else {                                                                       \
        for (int64_t i = 0; i < n; i++) acc += *(const T *)(p[1] + i * s[1]);        \
      }                                                                              \
      *(ACC *)p[0] += acc;                                                           \
    } else {                                                                         \
      for (int64_t i = 0; i < n; i++)                                                \
        *(ACC *)(p[0] + i * s[0]) += *(const T *)(p[1] + i * s[1]);                  \
    }                                                                                \
  }
SUM_LOOP(float, double)
SUM_LOOP(double, double)
SUM_LOOP(int64_t, int64_t)
SUM_LOOP(bool, int64_t)

/* a contiguous tensor over caller-owned memory, for accumulators */
static void wrap(tg_tensor *t, tg_storage *s, void *data, tg_dtype dt, int ndim, const int64_t *size,
                 const int64_t *stride) {
  memset(s, 0, sizeof *s);
  memset(t, 0, sizeof *t);
  s->data = data;
  t->storage = s;
  t->dtype = dt;
  t->ndim = ndim;
  for (int d = 0; d < ndim; d++) { t->size[d] = size[d]; t->stride[d] = stride[d]; }
}

static double sum_contig_f32(const float *x, int64_t n) {
  double acc = 0;
  for (int64_t i = 0; i < n; i++) acc += x[i];
  return acc;
}

int tg_cpu_sum(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const bool *reduce) {
  int64_t on = tg_numel(out);
  bool is_int = !tg_is_float(x->dtype);
  tg_dtype acc_dt = is_int ? TG_INT64 : TG_FLOAT64;
  int64_t n = tg_numel(x);
  /* whole contiguous float32: parallel partial sums */
  if (on == 1 && x->dtype == TG_FLOAT32 && tg_is_contiguous(x)) {
    const float *xp = tg_data(x);
    int nt = n >= 65536 ? c->num_threads : 1;
    double total = 0;
    if (nt > 1) {
      int64_t chunk = (n + nt - 1) / nt;
#pragma omp parallel for num_threads(nt) reduction(+ : total) schedule(static)
      for (int t = 0; t < nt; t++) {
        int64_t lo = t * chunk, hi = lo + chunk < n ? lo + chunk : n;
        if (lo < hi) total += sum_contig_f32(xp + lo, hi - lo);
      }
    } else {
      total = sum_contig_f32(xp, n);
    }
    *(float *)tg_data(out) = (float)total;
    return 0;
  }
  void *acc = calloc((size_t)(on ? on : 1), 8);
  if (!acc) return tg_err(c, "out of memory");
  /* accumulator viewed with x's shape: stride 0 on reduced dims */
  int64_t astride[TG_MAX_DIMS], ostride[TG_MAX_DIMS];
  tg_contiguous_strides(out->ndim, out->size, ostride);
  for (int d = 0; d < x->ndim; d++) astride[d] = reduce[d] ? 0 : ostride[d];
  tg_storage as;
  tg_tensor at;
  wrap(&at, &as, acc, acc_dt, x->ndim, x->size, astride);
  if (n > 0) {
    tg_iter it;
    const tg_tensor *ts[2] = {&at, x};
    tg_iter_init(&it, 2, ts);
    static const tg_loop_fn loops[TG_NDTYPES] = {sum_float, sum_double, sum_int64_t, sum_bool};
    tg_iter_run(c, &it, loops[x->dtype], NULL, false);
  }
  /* cast the accumulator into out */
  tg_storage cs;
  tg_tensor ct;
  wrap(&ct, &cs, acc, acc_dt, out->ndim, out->size, ostride);
  tg_cpu_copy(c, out, &ct);
  free(acc);
  return 0;
}
