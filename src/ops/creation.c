/* creation.c: ranges, identity and random tensors (from the context's generator). */
#include <math.h>

#include "../backend/backend.h"
#include "../tg.h"

/* fill a fresh float64 tensor from f(i), then cast to dt */
static tg_tensor *from_index(tg_ctx *c, int64_t n, tg_dtype dt, double a, double step) {
  int64_t sz[1] = {n};
  tg_tensor *t = tg_tensor_empty(c, TG_FLOAT64, 1, sz);
  if (!t) return NULL;
  double *p = tg_data(t);
  for (int64_t i = 0; i < n; i++) p[i] = a + step * (double)i;
  if (dt == TG_FLOAT64) return t;
  tg_tensor *o = tg_cast_raw(c, t, dt);
  tg_tensor_unref(t);
  return o;
}

tg_tensor *tg_arange(tg_ctx *c, double start, double end, double step, tg_dtype dt) {
  if (step == 0) return tg_errp(c, "step must be nonzero");
  if (!isfinite(start) || !isfinite(end)) return tg_errp(c, "unsupported range: %g -> %g", start, end);
  if ((step > 0 && end < start) || (step < 0 && end > start))
    return tg_errp(c, "upper bound and larger bound inconsistent with step sign");
  int64_t n = (int64_t)ceil((end - start) / step);
  return from_index(c, n, dt, start, step);
}

tg_tensor *tg_linspace(tg_ctx *c, double a, double b, int64_t n, tg_dtype dt) {
  if (n < 0) return tg_errp(c, "number of steps must be non-negative");
  tg_tensor *t = from_index(c, n, TG_FLOAT64, a, n > 1 ? (b - a) / (double)(n - 1) : 0);
  if (!t) return NULL;
  if (n > 1) ((double *)tg_data(t))[n - 1] = b;
  if (dt == TG_FLOAT64) return t;
  tg_tensor *o = tg_cast_raw(c, t, dt);
  tg_tensor_unref(t);
  return o;
}

tg_tensor *tg_eye(tg_ctx *c, int64_t n, int64_t m, tg_dtype dt) {
  if (n < 0) return tg_errp(c, "n must be greater or equal to 0, got %lld", (long long)n);
  if (m < 0) return tg_errp(c, "m must be greater or equal to 0, got %lld", (long long)m);
  int64_t sz[2] = {n, m};
  tg_tensor *t = tg_tensor_zeros(c, dt, 2, sz);
  if (!t) return NULL;
  int64_t k = n < m ? n : m, d1[1] = {k}, s1[1] = {k ? m + 1 : 1};
  if (k == 0) return t; /* no diagonal (and m + 1 may overflow) */
  tg_tensor *diag = tg_tensor_as_strided(c, t, 1, d1, s1, 0);
  if (!diag) { tg_tensor_unref(t); return NULL; }
  tg_fill_raw(c, diag, 1);
  tg_tensor_unref(diag);
  return t;
}

static tg_tensor *random_tensor(tg_ctx *c, tg_dtype dt, int ndim, const int64_t *size, bool normal) {
  if (!tg_is_float(dt))
    return tg_errp(c, "\"%s\" not implemented for '%s'", normal ? "normal_kernel_cpu" : "uniform_kernel_cpu",
                   dt == TG_INT64 ? "Long" : "Bool");
  tg_tensor *t = tg_tensor_empty(c, dt, ndim, size);
  if (t && tg_backend_of(t)->random(c, t, normal) < 0) {
    tg_tensor_unref(t);
    return NULL;
  }
  return t;
}

tg_tensor *tg_rand(tg_ctx *c, tg_dtype dt, int ndim, const int64_t *size) { return random_tensor(c, dt, ndim, size, false); }
tg_tensor *tg_randn(tg_ctx *c, tg_dtype dt, int ndim, const int64_t *size) { return random_tensor(c, dt, ndim, size, true); }

tg_tensor *tg_randint(tg_ctx *c, int64_t lo, int64_t hi, tg_dtype dt, int ndim, const int64_t *size) {
  if (hi <= lo) return tg_errp(c, "random_ expects 'from' to be less than 'to', but got from=%lld >= to=%lld", (long long)lo, (long long)hi);
  tg_tensor *t = tg_tensor_empty(c, TG_INT64, ndim, size);
  if (!t) return NULL;
  int64_t n = tg_numel(t), *p = tg_data(t);
  uint64_t span = (uint64_t)hi - (uint64_t)lo; /* in unsigned: [INT64_MIN, INT64_MAX) fits, no overflow */
  for (int64_t i = 0; i < n; i++) p[i] = (int64_t)((uint64_t)lo + tg_rng_next(&c->rng) % span);
  if (dt == TG_INT64) return t;
  tg_tensor *o = tg_cast_raw(c, t, dt);
  tg_tensor_unref(t);
  return o;
}
