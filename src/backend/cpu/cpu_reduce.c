/* cpu_reduce.c: sum over a set of dims. Contiguous float32 runs are summed
 * in float blocks widened to double (cpu_sum.c: as fast as a float loop, more
 * accurate than PyTorch's cascade); other float32 partial sums accumulate in
 * double, int64/bool in int64 (wrapping). */
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "cpu_sum.h"

/* Contiguous sums in 32 independent double lanes: the compiler vectorises
 * the lanes (a single accumulator is a serial chain it may not reorder);
 * 32 lanes are 8 AVX2 (4 AVX-512) registers, enough to hide the add
 * latency. Every float32 element is converted and added in double. */
#define SUM_LANES(T)                                                                 \
  TG_CLONES static double sum_lanes_##T(const T *x, int64_t n) {                    \
    double a[32] = {0};                                                              \
    int64_t i = 0;                                                                   \
    for (; i + 32 <= n; i += 32)                                                     \
      for (int k = 0; k < 32; k++) a[k] += (double)x[i + k];                         \
    for (int w = 16; w >= 1; w /= 2) /* pairwise */                                  \
      for (int k = 0; k < w; k++) a[k] += a[k + w];                                  \
    double acc = a[0];                                                               \
    for (; i < n; i++) acc += (double)x[i];                                          \
    return acc;                                                                      \
  }
SUM_LANES(double)
#define sum_lanes_float(x, n) tg_cpu_sum_f32(x, n) /* cpu_sum.c */
#define sum_lanes_int64_t(x, n) sum_lanes_int(x, n)
#define sum_lanes_bool(x, n) sum_lanes_int(x, n)
/* integer sums wrap around on overflow, as PyTorch's (two's complement, no UB) */
#define sum_lanes_int(x, n) ({ uint64_t acc_ = 0; for (int64_t i_ = 0; i_ < (n); i_++) acc_ += (uint64_t)(x)[i_]; (int64_t)acc_; })
#define ACC_ADD(a, b) _Generic((a), int64_t: (int64_t)((uint64_t)(a) + (uint64_t)(b)), default: (a) + (b))

#define SUM_LOOP(T, ACC)                                                             \
  TG_CLONES static void sum_##T(int64_t n, char **p, const int64_t *s, const void *arg) {      \
    (void)arg;                                                                       \
    if (s[0] == 0) {                                                                 \
      ACC acc = 0;                                                                   \
      if (s[1] == sizeof(T)) {                                                       \
        acc = (ACC)sum_lanes_##T((const T *)p[1], n);                                \
      } else {                                                                       \
        for (int64_t i = 0; i < n; i++) acc = ACC_ADD(acc, *(const T *)(p[1] + i * s[1])); \
      }                                                                              \
      *(ACC *)p[0] = ACC_ADD(*(ACC *)p[0], acc);                                     \
    } else if (s[0] == sizeof(ACC) && s[1] == sizeof(T)) { /* reducing outer dims */ \
      ACC *restrict a = (ACC *)p[0];                                                 \
      const T *restrict x = (const T *)p[1];                                         \
      for (int64_t i = 0; i < n; i++) a[i] = ACC_ADD(a[i], (ACC)x[i]);               \
    } else {                                                                         \
      for (int64_t i = 0; i < n; i++)                                                \
        *(ACC *)(p[0] + i * s[0]) = ACC_ADD(*(ACC *)(p[0] + i * s[0]), *(const T *)(p[1] + i * s[1])); \
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

/* below this many elements a float32 sum stays on the calling thread */
#define TG_SUM_GRAIN 131072

/* A contiguous float tensor whose reduced dims are one run of dims is an
 * (A, R, C) array summed over R: out[a][c] = sum_r x[a][r][c]. Rows (C == 1)
 * go through the row kernel, columns (C > 1) accumulate rows into a tile of
 * double sums. Threads take whole outputs (a ranges, or column ranges when
 * A is smaller than the team), so every output is computed the same way
 * whatever the thread count. Returns 1 when it took the job. */
#define SUM_TILE 512
#define SUM_DIMS(T)                                                                          \
  TG_CLONES static void sum_cols_##T(double *restrict acc, const T *restrict x, int64_t R, int64_t C, \
                                     int64_t tn) {                                              \
    for (int64_t k = 0; k < tn; k++) acc[k] = 0;                                                \
    for (int64_t r = 0; r < R; r++)                                                             \
      for (int64_t k = 0; k < tn; k++) acc[k] += (double)x[r * C + k];                         \
  }                                                                                             \
  static void sum_arc_##T(T *out, const T *x, int64_t R, int64_t C, int64_t a0, int64_t a1, int64_t c0, \
                          int64_t c1) {                                                          \
    for (int64_t a = a0; a < a1; a++) {                                                         \
      const T *xa = x + a * R * C;                                                              \
      if (C == 1) {                                                                             \
        out[a] = (T)sum_lanes_##T(xa, R);                                                       \
        continue;                                                                               \
      }                                                                                         \
      for (int64_t t0 = c0; t0 < c1; t0 += SUM_TILE) {                                          \
        int64_t tn = c1 - t0 < SUM_TILE ? c1 - t0 : SUM_TILE;                                   \
        double acc[SUM_TILE];                                                                   \
        sum_cols_##T(acc, xa + t0, R, C, tn);                                                   \
        for (int64_t k = 0; k < tn; k++) out[a * C + t0 + k] = (T)acc[k];                       \
      }                                                                                         \
    }                                                                                           \
  }
SUM_DIMS(float)
SUM_DIMS(double)

static int sum_dims_fast(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const bool *reduce) {
  if ((x->dtype != TG_FLOAT32 && x->dtype != TG_FLOAT64) || out->dtype != x->dtype || !tg_is_contiguous(x) ||
      !tg_is_contiguous(out))
    return 0;
  /* the reduced dims (size-1 dims aside) must be one run */
  int first = -1, last = -1;
  for (int d = 0; d < x->ndim; d++)
    if (reduce[d] && x->size[d] != 1) {
      if (first < 0) first = d;
      last = d;
    }
  if (first < 0) return 0;
  for (int d = first; d <= last; d++)
    if (!reduce[d] && x->size[d] != 1) return 0;
  int64_t A = 1, R = 1, C = 1;
  for (int d = 0; d < x->ndim; d++) {
    if (d < first) A *= x->size[d];
    else if (d <= last) R *= x->size[d];
    else C *= x->size[d];
  }
  if (A * C == 1) return 0; /* a full sum: tg_cpu_sum's own path */
  int64_t n = A * R * C;
  int nt = n >= TG_SUM_GRAIN ? c->num_threads : 1;
  /* split the a's when there are enough, else the columns (tiles of 16) */
  bool by_a = A >= nt || C == 1;
  int64_t units = by_a ? A : (C + 15) / 16;
  if (nt > units) nt = (int)units;
  if (nt < 1) nt = 1;
  int64_t chunk = (units + nt - 1) / nt;
  void *op = tg_data(out);
  const void *xp = tg_data(x);
  bool f32 = x->dtype == TG_FLOAT32;
  TG_PARALLEL_FOR(
  for (int t = 0; t < nt; t++) {
    int64_t lo = t * chunk, hi = lo + chunk < units ? lo + chunk : units;
    if (lo >= hi) continue;
    int64_t a0 = by_a ? lo : 0, a1 = by_a ? hi : A;
    int64_t c0 = by_a ? 0 : lo * 16, c1 = by_a ? C : (hi * 16 < C ? hi * 16 : C);
    if (f32) sum_arc_float(op, xp, R, C, a0, a1, c0, c1);
    else sum_arc_double(op, xp, R, C, a0, a1, c0, c1);
  }
  );
  return 1;
}

int tg_cpu_sum(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const bool *reduce) {
  int64_t on = tg_numel(out);
  bool is_int = !tg_is_float(x->dtype);
  tg_dtype acc_dt = is_int ? TG_INT64 : TG_FLOAT64;
  int64_t n = tg_numel(x);
  /* whole contiguous float32: parallel partial sums */
  if (on == 1 && x->dtype == TG_FLOAT32 && tg_is_contiguous(x)) {
    const float *xp = tg_data(x);
    /* threads only past TG_SUM_GRAIN; each sums whole cascade blocks, and the
     * partial sums are added in thread order: the same bits for a given
     * thread count (and within float rounding of the serial sum) */
    int nt = n >= TG_SUM_GRAIN ? c->num_threads : 1;
    if (nt > 1 && nt > n / (TG_SUM_GRAIN / 2)) nt = (int)(n / (TG_SUM_GRAIN / 2));
    if (nt > 1) {
      double part[TG_MAX_THREADS];
      int64_t chunk = tg_cpu_sum_f32_chunk(n, nt);
#pragma omp parallel for num_threads(nt) schedule(static)
      for (int t = 0; t < nt; t++) {
        int64_t lo = t * chunk, hi = lo + chunk < n ? lo + chunk : n;
        part[t] = lo < hi ? tg_cpu_sum_f32(xp + lo, hi - lo) : 0;
      }
      double total = 0;
      for (int t = 0; t < nt; t++) total += part[t];
      *(float *)tg_data(out) = (float)total;
    } else {
      *(float *)tg_data(out) = (float)tg_cpu_sum_f32(xp, n);
    }
    return 0;
  }
  if (n > 0 && sum_dims_fast(c, out, x, reduce)) return 0;
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

/* ======================================================================
 * The other reductions, scans, sort and the take/put-along-dim pair.
 * A reduction visits, for each output element, the "lane" of reduced
 * elements (row-major over the reduced dims, coalesced where possible);
 * a lane is read into a double (float input) or int64 (int64/bool input)
 * buffer and reduced there, so float32 always accumulates in double
 * (sum itself is tg_cpu_sum above).
 * Contiguous float64 lanes are read in place; float32 lanes with unit
 * stride are widened in a tight loop. Lanes are split across threads.
 * ==================================================================== */
#include <math.h>

typedef struct {
  int nk, nr;
  int64_t ks[TG_MAX_DIMS], kst[TG_MAX_DIMS]; /* kept dims: sizes, element strides in x */
  int64_t rs[TG_MAX_DIMS], rst[TG_MAX_DIMS]; /* reduced dims */
  int64_t nout, rn;
} rgeom;

static void rgeom_init(rgeom *g, const tg_tensor *x, const bool *reduce) {
  g->nk = g->nr = 0;
  g->nout = g->rn = 1;
  for (int d = 0; d < x->ndim; d++) {
    if (reduce[d]) {
      g->rn *= x->size[d];
      if (x->size[d] == 1) continue;
      if (g->nr > 0 && g->rst[g->nr - 1] == x->stride[d] * x->size[d]) { /* coalesce */
        g->rs[g->nr - 1] *= x->size[d];
        g->rst[g->nr - 1] = x->stride[d];
      } else {
        g->rs[g->nr] = x->size[d];
        g->rst[g->nr++] = x->stride[d];
      }
    } else {
      g->nout *= x->size[d];
      if (x->size[d] == 1) continue;
      g->ks[g->nk] = x->size[d];
      g->kst[g->nk++] = x->stride[d];
    }
  }
}

/* element offset of the o-th lane (row-major over the kept dims) */
static int64_t lane_offset(const rgeom *g, int64_t o) {
  int64_t off = 0;
  for (int d = g->nk - 1; d >= 0; d--) {
    off += (o % g->ks[d]) * g->kst[d];
    o /= g->ks[d];
  }
  return off;
}

static inline double load_d(const void *p, tg_dtype dt, int64_t i) {
  switch (dt) {
    case TG_FLOAT32: return ((const float *)p)[i];
    case TG_FLOAT64: return ((const double *)p)[i];
    case TG_INT64: return (double)((const int64_t *)p)[i];
    default: return ((const bool *)p)[i];
  }
}

static inline int64_t load_i(const void *p, tg_dtype dt, int64_t i) {
  switch (dt) {
    case TG_FLOAT32: return (int64_t)((const float *)p)[i];
    case TG_FLOAT64: return (int64_t)((const double *)p)[i];
    case TG_INT64: return ((const int64_t *)p)[i];
    default: return ((const bool *)p)[i];
  }
}

static inline void store_d(void *p, tg_dtype dt, int64_t i, double v) {
  switch (dt) {
    case TG_FLOAT32: ((float *)p)[i] = (float)v; break;
    case TG_FLOAT64: ((double *)p)[i] = v; break;
    case TG_INT64: ((int64_t *)p)[i] = (int64_t)v; break;
    default: ((bool *)p)[i] = v != 0; break;
  }
}

static inline void store_i(void *p, tg_dtype dt, int64_t i, int64_t v) {
  switch (dt) {
    case TG_FLOAT32: ((float *)p)[i] = (float)v; break;
    case TG_FLOAT64: ((double *)p)[i] = (double)v; break;
    case TG_INT64: ((int64_t *)p)[i] = v; break;
    default: ((bool *)p)[i] = v != 0; break;
  }
}

/* read n elements at element stride s from base (element offset) of x */
static const double *read_lane_d(const tg_tensor *x, int64_t off, int64_t n, int64_t s, double *buf) {
  const char *p = (const char *)x->storage->data + (x->offset + off) * (int64_t)tg_dtype_size(x->dtype);
  if (x->dtype == TG_FLOAT64 && s == 1) return (const double *)p;
  if (x->dtype == TG_FLOAT32 && s == 1) {
    const float *f = (const float *)p;
    for (int64_t i = 0; i < n; i++) buf[i] = f[i];
  } else {
    for (int64_t i = 0; i < n; i++) buf[i] = load_d(p, x->dtype, i * s);
  }
  return buf;
}

static const int64_t *read_lane_i(const tg_tensor *x, int64_t off, int64_t n, int64_t s, int64_t *buf) {
  const char *p = (const char *)x->storage->data + (x->offset + off) * (int64_t)tg_dtype_size(x->dtype);
  if (x->dtype == TG_INT64 && s == 1) return (const int64_t *)p;
  for (int64_t i = 0; i < n; i++) buf[i] = load_i(p, x->dtype, i * s);
  return buf;
}

/* the reduced lane of output o, in row-major order of the reduced dims */
static const double *gather_lane_d(const rgeom *g, const tg_tensor *x, int64_t off, double *buf) {
  if (g->nr == 0) return read_lane_d(x, off, 1, 0, buf);
  if (g->nr == 1) return read_lane_d(x, off, g->rn, g->rst[0], buf);
  int64_t idx[TG_MAX_DIMS] = {0}, inner = g->rs[g->nr - 1], is = g->rst[g->nr - 1];
  for (int64_t i = 0; i < g->rn; i += inner) {
    int64_t o = off;
    for (int d = 0; d < g->nr - 1; d++) o += idx[d] * g->rst[d];
    const double *r = read_lane_d(x, o, inner, is, buf + i);
    if (r != buf + i) memcpy(buf + i, r, sizeof(double) * (size_t)inner);
    for (int d = g->nr - 2; d >= 0; d--) {
      if (++idx[d] < g->rs[d]) break;
      idx[d] = 0;
    }
  }
  return buf;
}

static const int64_t *gather_lane_i(const rgeom *g, const tg_tensor *x, int64_t off, int64_t *buf) {
  if (g->nr == 0) return read_lane_i(x, off, 1, 0, buf);
  if (g->nr == 1) return read_lane_i(x, off, g->rn, g->rst[0], buf);
  int64_t idx[TG_MAX_DIMS] = {0}, inner = g->rs[g->nr - 1], is = g->rst[g->nr - 1];
  for (int64_t i = 0; i < g->rn; i += inner) {
    int64_t o = off;
    for (int d = 0; d < g->nr - 1; d++) o += idx[d] * g->rst[d];
    const int64_t *r = read_lane_i(x, o, inner, is, buf + i);
    if (r != buf + i) memcpy(buf + i, r, sizeof(int64_t) * (size_t)inner);
    for (int d = g->nr - 2; d >= 0; d--) {
      if (++idx[d] < g->rs[d]) break;
      idx[d] = 0;
    }
  }
  return buf;
}

/* reduce a float lane; *arg gets the chosen position for max/min */
static double red_lane_d(int kind, const double *b, int64_t n, double p, int64_t *arg) {
  switch (kind) {
    case TG_RED_PROD: {
      double acc = 1;
      for (int64_t i = 0; i < n; i++) acc *= b[i];
      return acc;
    }
    case TG_RED_MAX:
    case TG_RED_MIN: { /* NaN wins as in PyTorch; the index is the first occurrence */
      if (n == 0) return NAN;
      double m = b[0];
      bool nan = false;
      if (kind == TG_RED_MAX)
        for (int64_t i = 0; i < n; i++) { nan |= b[i] != b[i]; m = b[i] > m ? b[i] : m; }
      else
        for (int64_t i = 0; i < n; i++) { nan |= b[i] != b[i]; m = b[i] < m ? b[i] : m; }
      if (arg) {
        int64_t i = 0;
        if (nan) while (!isnan(b[i])) i++;
        else while (b[i] != m) i++;
        *arg = i;
      }
      return nan ? NAN : m;
    }
    case TG_RED_VAR:
    case TG_RED_STD: { /* two passes; divisor max(0, n - correction) */
      double m = 0, s = 0;
      for (int64_t i = 0; i < n; i++) m += b[i];
      m /= (double)n;
      for (int64_t i = 0; i < n; i++) s += (b[i] - m) * (b[i] - m);
      double div = (double)n - p;
      double v = s / (div > 0 ? div : 0);
      return kind == TG_RED_STD ? sqrt(v) : v;
    }
    case TG_RED_NORM: {
      double acc = 0;
      if (p == 2) {
        for (int64_t i = 0; i < n; i++) acc += b[i] * b[i];
        return sqrt(acc);
      }
      if (p == 1) {
        for (int64_t i = 0; i < n; i++) acc += fabs(b[i]);
        return acc;
      }
      if (p == 0) {
        for (int64_t i = 0; i < n; i++) acc += b[i] != 0;
        return acc;
      }
      if (isinf(p)) {
        acc = p > 0 ? 0 : INFINITY;
        for (int64_t i = 0; i < n; i++) {
          double a = fabs(b[i]);
          if (isnan(a)) return a;
          if (p > 0 ? a > acc : a < acc) acc = a;
        }
        return acc;
      }
      for (int64_t i = 0; i < n; i++) acc += pow(fabs(b[i]), p);
      return pow(acc, 1.0 / p);
    }
    case TG_RED_LOGSUMEXP: {
      double m = -INFINITY, s = 0;
      for (int64_t i = 0; i < n; i++)
        if (b[i] > m) m = b[i];
      if (isinf(m)) m = 0; /* all -inf, or some +inf: no shift (PyTorch's masking) */
      for (int64_t i = 0; i < n; i++) s += exp(b[i] - m);
      return log(s) + m;
    }
    case TG_RED_ALL:
      for (int64_t i = 0; i < n; i++)
        if (b[i] == 0) return 0;
      return 1;
    case TG_RED_ANY:
      for (int64_t i = 0; i < n; i++)
        if (b[i] != 0) return 1;
      return 0;
    case TG_RED_COUNT_NONZERO: {
      int64_t k = 0;
      for (int64_t i = 0; i < n; i++) k += b[i] != 0;
      return (double)k;
    }
    default: return NAN;
  }
}

static int64_t red_lane_i(int kind, const int64_t *b, int64_t n, int64_t *arg) {
  switch (kind) {
    case TG_RED_PROD: {
      uint64_t acc = 1; /* wraps like PyTorch's int64 */
      for (int64_t i = 0; i < n; i++) acc *= (uint64_t)b[i];
      return (int64_t)acc;
    }
    case TG_RED_MAX:
    case TG_RED_MIN: {
      int64_t best = 0;
      for (int64_t i = 1; i < n; i++)
        if (kind == TG_RED_MAX ? b[i] > b[best] : b[i] < b[best]) best = i;
      if (arg) *arg = best;
      return n ? b[best] : 0;
    }
    case TG_RED_ALL:
      for (int64_t i = 0; i < n; i++)
        if (b[i] == 0) return 0;
      return 1;
    case TG_RED_ANY:
      for (int64_t i = 0; i < n; i++)
        if (b[i] != 0) return 1;
      return 0;
    case TG_RED_COUNT_NONZERO: {
      int64_t k = 0;
      for (int64_t i = 0; i < n; i++) k += b[i] != 0;
      return k;
    }
    default: return 0;
  }
}

/* threads for a job of `work` elements split in `units` pieces */
static int n_threads_for(tg_ctx *c, int64_t work, int64_t units) {
  int nt = c->num_threads;
  if (nt <= 1 || work < 32768 || units < 2) return 1;
  return units < nt ? (int)units : nt;
}

int tg_cpu_reduce(tg_ctx *c, int kind, tg_tensor *out, tg_tensor *idx, const tg_tensor *x, const bool *reduce,
                  double p) {
  rgeom g;
  rgeom_init(&g, x, reduce);
  bool int_path = !tg_is_float(x->dtype);
  if (int_path && (kind == TG_RED_VAR || kind == TG_RED_STD || kind == TG_RED_NORM || kind == TG_RED_LOGSUMEXP))
    return tg_err(c, "reduction %d needs a floating point input", kind);
  void *op = out ? tg_data(out) : NULL, *ip = idx ? tg_data(idx) : NULL;
  int64_t base = (int64_t)p; /* index base for max/min (1 for Lua indices) */
  int nt = n_threads_for(c, g.nout * g.rn, g.nout);
  int64_t chunk = (g.nout + nt - 1) / nt;
  bool oom = false;
  TG_PARALLEL_FOR(
  for (int t = 0; t < nt; t++) {
    int64_t lo = t * chunk, hi = lo + chunk < g.nout ? lo + chunk : g.nout;
    if (lo >= hi) continue;
    void *buf = malloc(sizeof(double) * (size_t)(g.rn ? g.rn : 1));
    if (!buf) {
_Pragma("omp atomic write")
      oom = true;
      continue;
    }
    for (int64_t o = lo; o < hi; o++) {
      int64_t off = lane_offset(&g, o), arg = 0, *argp = ip ? &arg : NULL;
      if (int_path) {
        int64_t v = red_lane_i(kind, gather_lane_i(&g, x, off, buf), g.rn, argp);
        if (op) store_i(op, out->dtype, o, v);
      } else {
        double v = red_lane_d(kind, gather_lane_d(&g, x, off, buf), g.rn, p, argp);
        if (op) store_d(op, out->dtype, o, v);
      }
      if (ip) ((int64_t *)ip)[o] = arg + base;
    }
    free(buf);
  }
  );
  return oom ? tg_err(c, "out of memory") : 0;
}

/* ---------------------------------------------------------------- lanes */
/* lanes along one dim: the other dims row-major */
typedef struct {
  int no;
  int64_t os[TG_MAX_DIMS], ost[TG_MAX_OPS][TG_MAX_DIMS];
  int64_t nlanes, n, s[TG_MAX_OPS];
} lanes;

static void lanes_init(lanes *l, int nops, const tg_tensor *const *ts, int dim) {
  const tg_tensor *ref = ts[0];
  l->no = 0;
  l->nlanes = 1;
  l->n = ref->ndim ? ref->size[dim] : 1;
  for (int k = 0; k < nops; k++) l->s[k] = ts[k] && ts[k]->ndim ? ts[k]->stride[dim] : 0;
  for (int d = 0; d < ref->ndim; d++) {
    if (d == dim || ref->size[d] == 1) continue;
    l->os[l->no] = ref->size[d];
    for (int k = 0; k < nops; k++) l->ost[k][l->no] = ts[k] ? ts[k]->stride[d] : 0;
    l->no++;
    l->nlanes *= ref->size[d];
  }
}

static void lanes_offsets(const lanes *l, int nops, int64_t lane, int64_t *off) {
  for (int k = 0; k < nops; k++) off[k] = 0;
  for (int d = l->no - 1; d >= 0; d--) {
    int64_t i = lane % l->os[d];
    lane /= l->os[d];
    for (int k = 0; k < nops; k++) off[k] += i * l->ost[k][d];
  }
}

static inline char *elem_ptr(const tg_tensor *t, int64_t off) {
  return (char *)t->storage->data + (t->offset + off) * (int64_t)tg_dtype_size(t->dtype);
}

/* out (contiguous, same shape; float or int64) = cumsum (kind 0) / cumprod (kind 1) of x along dim */
int tg_cpu_scan(tg_ctx *c, int kind, bool reverse, tg_tensor *out, const tg_tensor *x, int dim) {
  if (tg_numel(x) == 0) return 0;
  const tg_tensor *ts[2] = {out, x};
  lanes l;
  lanes_init(&l, 2, ts, dim);
  int nt = n_threads_for(c, l.nlanes * l.n, l.nlanes);
  int64_t chunk = (l.nlanes + nt - 1) / nt;
  bool is_int = !tg_is_float(out->dtype);
  TG_PARALLEL_FOR(
  for (int t = 0; t < nt; t++) {
    int64_t lo = t * chunk, hi = lo + chunk < l.nlanes ? lo + chunk : l.nlanes;
    for (int64_t lane = lo; lane < hi; lane++) {
      int64_t off[2];
      lanes_offsets(&l, 2, lane, off);
      char *op = elem_ptr(out, off[0]), *xp = elem_ptr(x, off[1]);
      int64_t step = reverse ? -1 : 1, i0 = reverse ? l.n - 1 : 0;
      if (is_int) {
        uint64_t acc = kind ? 1 : 0;
        for (int64_t j = 0, i = i0; j < l.n; j++, i += step) {
          uint64_t v = (uint64_t)load_i(xp, x->dtype, i * l.s[1]);
          acc = kind ? acc * v : acc + v;
          store_i(op, out->dtype, i * l.s[0], (int64_t)acc);
        }
      } else {
        double acc = kind ? 1 : 0;
        for (int64_t j = 0, i = i0; j < l.n; j++, i += step) {
          double v = load_d(xp, x->dtype, i * l.s[1]);
          acc = kind ? acc * v : acc + v;
          store_d(op, out->dtype, i * l.s[0], acc);
        }
      }
    }
  }
  );
  return 0;
}

/* the exact gradient of cumprod along dim, zeros included, in O(n):
 * gx_k = E_k * S_k, E_k = prod_{j<k} x_j, S_k = g_k + x_{k+1} S_{k+1}.
 * g == NULL means g = e_last, which gives prod_{j != k} x_j (prod's gradient). */
int tg_cpu_cumprod_grad(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const tg_tensor *g, int dim) {
  if (tg_numel(x) == 0) return 0;
  const tg_tensor *ts[3] = {out, x, g};
  lanes l;
  lanes_init(&l, 3, ts, dim);
  int nt = n_threads_for(c, l.nlanes * l.n, l.nlanes);
  int64_t chunk = (l.nlanes + nt - 1) / nt;
  TG_PARALLEL_FOR(
  for (int t = 0; t < nt; t++) {
    int64_t lo = t * chunk, hi = lo + chunk < l.nlanes ? lo + chunk : l.nlanes;
    for (int64_t lane = lo; lane < hi; lane++) {
      int64_t off[3];
      lanes_offsets(&l, 3, lane, off);
      char *op = elem_ptr(out, off[0]), *xp = elem_ptr(x, off[1]), *gp = g ? elem_ptr(g, off[2]) : NULL;
      /* S from the end, stored in out; then multiply by E from the front */
      double s = 0;
      for (int64_t k = l.n - 1; k >= 0; k--) {
        double gk = gp ? load_d(gp, g->dtype, k * l.s[2]) : (k == l.n - 1);
        s = k == l.n - 1 ? gk : gk + load_d(xp, x->dtype, (k + 1) * l.s[1]) * s;
        store_d(op, out->dtype, k * l.s[0], s);
      }
      double e = 1;
      for (int64_t k = 0; k < l.n; k++) {
        store_d(op, out->dtype, k * l.s[0], e * load_d(op, out->dtype, k * l.s[0]));
        e *= load_d(xp, x->dtype, k * l.s[1]);
      }
    }
  }
  );
  return 0;
}

/* ----------------------------------------------------------------- sort */
/* stable merge sort of positions by key; NaN is the largest value */
static inline bool before_d(double a, double b, bool desc) {
  if (desc) return (isnan(a) && !isnan(b)) || a > b;
  return (!isnan(a) && isnan(b)) || a < b;
}

static void msort_d(int64_t *ix, int64_t *tmp, int64_t n, const double *key, bool desc) {
  if (n < 2) return;
  if (n <= 16) { /* insertion sort: stable */
    for (int64_t i = 1; i < n; i++) {
      int64_t v = ix[i], j = i;
      while (j > 0 && before_d(key[v], key[ix[j - 1]], desc)) { ix[j] = ix[j - 1]; j--; }
      ix[j] = v;
    }
    return;
  }
  int64_t h = n / 2;
  msort_d(ix, tmp, h, key, desc);
  msort_d(ix + h, tmp, n - h, key, desc);
  int64_t i = 0, j = h, k = 0;
  while (i < h && j < n) tmp[k++] = before_d(key[ix[j]], key[ix[i]], desc) ? ix[j++] : ix[i++];
  while (i < h) tmp[k++] = ix[i++];
  while (j < n) tmp[k++] = ix[j++];
  memcpy(ix, tmp, sizeof(int64_t) * (size_t)n);
}

static inline bool before_i(int64_t a, int64_t b, bool desc) { return desc ? a > b : a < b; }

static void msort_i(int64_t *ix, int64_t *tmp, int64_t n, const int64_t *key, bool desc) {
  if (n < 2) return;
  if (n <= 16) {
    for (int64_t i = 1; i < n; i++) {
      int64_t v = ix[i], j = i;
      while (j > 0 && before_i(key[v], key[ix[j - 1]], desc)) { ix[j] = ix[j - 1]; j--; }
      ix[j] = v;
    }
    return;
  }
  int64_t h = n / 2;
  msort_i(ix, tmp, h, key, desc);
  msort_i(ix + h, tmp, n - h, key, desc);
  int64_t i = 0, j = h, k = 0;
  while (i < h && j < n) tmp[k++] = before_i(key[ix[j]], key[ix[i]], desc) ? ix[j++] : ix[i++];
  while (i < h) tmp[k++] = ix[i++];
  while (j < n) tmp[k++] = ix[j++];
  memcpy(ix, tmp, sizeof(int64_t) * (size_t)n);
}

/* values/indices (contiguous, size k along dim) = the first k of each lane of x
 * sorted along dim (stable); indices are 1-based */
int tg_cpu_sort(tg_ctx *c, tg_tensor *values, tg_tensor *indices, const tg_tensor *x, int dim, int64_t k,
                bool descending) {
  if (tg_numel(values) == 0) return 0;
  const tg_tensor *ts[3] = {x, values, indices};
  lanes l;
  lanes_init(&l, 3, ts, dim);
  bool is_int = !tg_is_float(x->dtype);
  int nt = n_threads_for(c, l.nlanes * l.n, l.nlanes);
  int64_t chunk = (l.nlanes + nt - 1) / nt;
  bool oom = false;
  TG_PARALLEL_FOR(
  for (int t = 0; t < nt; t++) {
    int64_t lo = t * chunk, hi = lo + chunk < l.nlanes ? lo + chunk : l.nlanes;
    if (lo >= hi) continue;
    size_t n = (size_t)l.n;
    char *mem = malloc(n * 3 * 8);
    if (!mem) {
_Pragma("omp atomic write")
      oom = true;
      continue;
    }
    int64_t *ix = (int64_t *)mem, *tmp = ix + n;
    void *key = tmp + n;
    for (int64_t lane = lo; lane < hi; lane++) {
      int64_t off[3];
      lanes_offsets(&l, 3, lane, off);
      char *xp = elem_ptr(x, off[0]), *vp = elem_ptr(values, off[1]), *ip = elem_ptr(indices, off[2]);
      for (int64_t i = 0; i < l.n; i++) ix[i] = i;
      if (is_int) {
        int64_t *kk = key;
        for (int64_t i = 0; i < l.n; i++) kk[i] = load_i(xp, x->dtype, i * l.s[0]);
        msort_i(ix, tmp, l.n, kk, descending);
        for (int64_t j = 0; j < k; j++) store_i(vp, values->dtype, j * l.s[1], kk[ix[j]]);
      } else {
        double *kd = key;
        for (int64_t i = 0; i < l.n; i++) kd[i] = load_d(xp, x->dtype, i * l.s[0]);
        msort_d(ix, tmp, l.n, kd, descending);
        for (int64_t j = 0; j < k; j++) store_d(vp, values->dtype, j * l.s[1], kd[ix[j]]);
      }
      for (int64_t j = 0; j < k; j++) ((int64_t *)ip)[j * l.s[2]] = ix[j] + 1;
    }
    free(mem);
  }
  );
  return oom ? tg_err(c, "out of memory") : 0;
}

/* ------------------------------------------------------- take/put along */
/* out = x.take_along(idx, dim) (gather); out and idx share a shape, x differs
 * only along dim. Indices are 1-based. put: out (zeroed) += src at idx. */
static int along(tg_ctx *c, bool put, tg_tensor *dst, const tg_tensor *src, const tg_tensor *idx, int dim) {
  int64_t n = tg_numel(idx);
  if (n == 0) return 0;
  const tg_tensor *big = put ? dst : src, *small = put ? src : dst;
  int64_t lim = big->ndim ? big->size[dim] : 1;
  int64_t pos[TG_MAX_DIMS] = {0};
  int nd = idx->ndim;
  int64_t bs = big->ndim ? big->stride[dim] : 0;
  const char *ixp = (const char *)idx->storage->data;
  for (int64_t e = 0; e < n; e++) {
    int64_t io = idx->offset, so = small->offset, bo = big->offset;
    for (int d = 0; d < nd; d++) {
      io += pos[d] * idx->stride[d];
      so += pos[d] * small->stride[d];
      if (d != dim) bo += pos[d] * big->stride[d];
    }
    int64_t j = ((const int64_t *)ixp)[io];
    if (j < 1 || j > lim)
      return tg_err(c, "index %lld is out of bounds for dimension %d with size %lld", (long long)j, dim + 1,
                    (long long)lim);
    bo += (j - 1) * bs;
    size_t es = tg_dtype_size(big->dtype);
    char *bp = (char *)big->storage->data + bo * (int64_t)es;
    char *sp = (char *)small->storage->data + so * (int64_t)tg_dtype_size(small->dtype);
    if (put) store_d(bp, big->dtype, 0, load_d(bp, big->dtype, 0) + load_d(sp, small->dtype, 0));
    else if (tg_is_float(big->dtype)) store_d(sp, small->dtype, 0, load_d(bp, big->dtype, 0));
    else store_i(sp, small->dtype, 0, load_i(bp, big->dtype, 0));
    for (int d = nd - 1; d >= 0; d--) {
      if (++pos[d] < idx->size[d]) break;
      pos[d] = 0;
    }
  }
  return 0;
}

int tg_cpu_take_along(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const tg_tensor *idx, int dim) {
  return along(c, false, out, x, idx, dim);
}

int tg_cpu_put_along(tg_ctx *c, tg_tensor *out, const tg_tensor *src, const tg_tensor *idx, int dim) {
  return along(c, true, out, src, idx, dim);
}
