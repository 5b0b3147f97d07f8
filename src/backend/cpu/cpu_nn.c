/* cpu_nn.c: fused CPU kernels for softmax / log_softmax (forward and
 * backward), nll_loss (a gather of the picked log-probabilities and its
 * adjoint scatter) and the elementwise loss terms.
 *
 * Softmax subtracts the row maximum and accumulates the sum of exponentials
 * in double for float32 too. A tensor is seen as (outer, C, inner) around the
 * softmax dim; inner == 1 (the last dim of a contiguous tensor) is the fast
 * path: one row of C contiguous values at a time. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "cpu_vmath.h"
#include "cpu_nn.h"

#define NN_PARALLEL_GRAIN 32768

static void split_dims(const tg_tensor *x, int dim, int64_t *outer, int64_t *cn, int64_t *inner) {
  *outer = 1, *inner = 1, *cn = x->ndim ? x->size[dim] : 1;
  for (int d = 0; d < dim; d++) *outer *= x->size[d];
  for (int d = dim + 1; d < x->ndim; d++) *inner *= x->size[d];
}

static int threads_for(tg_ctx *c, int64_t work, int64_t outer) {
  int nt = c->num_threads > 0 ? c->num_threads : 1;
  if (work < NN_PARALLEL_GRAIN || outer < 2) return 1;
  return outer < nt ? (int)outer : nt;
}

/* ---------------------------------------------------------------- softmax */
/* one block of C x inner values; mx (T) and acc (double) are inner-long scratch */
#define SOFTMAX_KERNELS(T, EXP)                                                                      \
  static void softmax_row_##T(const T *x, T *y, int64_t C, bool log) {                               \
    T m = -INFINITY;                                                                                 \
    _Pragma("omp simd reduction(max : m)") \
    for (int64_t j = 0; j < C; j++) m = x[j] > m ? x[j] : m;                                         \
    double s = 0;                                                                                    \
    if (log) {                                                                                       \
      _Pragma("omp simd reduction(+ : s)") \
      for (int64_t j = 0; j < C; j++) s += EXP(x[j] - m);                                            \
      T ls = (T)logf_or_log_##T(s);                                                                  \
      _Pragma("omp simd") \
      for (int64_t j = 0; j < C; j++) y[j] = (x[j] - m) - ls;                                        \
    } else {                                                                                         \
      _Pragma("omp simd reduction(+ : s)") \
      for (int64_t j = 0; j < C; j++) {                                                              \
        T e = EXP(x[j] - m);                                                                         \
        y[j] = e;                                                                                    \
        s += e;                                                                                      \
      }                                                                                              \
      double inv = 1.0 / s;                                                                          \
      _Pragma("omp simd") \
      for (int64_t j = 0; j < C; j++) y[j] = (T)(y[j] * inv);                                        \
    }                                                                                                \
  }                                                                                                  \
  static void softmax_block_##T(const T *x, T *y, int64_t C, int64_t in, bool log, T *mx, double *acc) { \
    for (int64_t i = 0; i < in; i++) mx[i] = -INFINITY, acc[i] = 0;                                  \
    for (int64_t j = 0; j < C; j++) {                                                                \
      const T *xr = x + j * in;                                                                      \
      _Pragma("omp simd") \
      for (int64_t i = 0; i < in; i++) mx[i] = xr[i] > mx[i] ? xr[i] : mx[i];                        \
    }                                                                                                \
    for (int64_t j = 0; j < C; j++) {                                                                \
      const T *xr = x + j * in;                                                                      \
      T *yr = y + j * in;                                                                            \
      _Pragma("omp simd") \
      for (int64_t i = 0; i < in; i++) {                                                             \
        T e = EXP(xr[i] - mx[i]);                                                                    \
        if (!log) yr[i] = e;                                                                         \
        acc[i] += e;                                                                                 \
      }                                                                                              \
    }                                                                                                \
    for (int64_t i = 0; i < in; i++) acc[i] = log ? (double)logf_or_log_##T(acc[i]) : 1.0 / acc[i];  \
    for (int64_t j = 0; j < C; j++) {                                                                \
      const T *xr = x + j * in;                                                                      \
      T *yr = y + j * in;                                                                            \
      if (log)                                                                                       \
        _Pragma("omp simd") \
        for (int64_t i = 0; i < in; i++) yr[i] = (xr[i] - mx[i]) - (T)acc[i];                        \
      else                                                                                           \
        _Pragma("omp simd") \
        for (int64_t i = 0; i < in; i++) yr[i] = (T)(yr[i] * acc[i]);                                \
    }                                                                                                \
  }                                                                                                  \
  /* backward: softmax gx = y (g - sum(g y)); log_softmax gx = g - exp(y) sum(g) */                  \
  static void softmax_bwd_row_##T(const T *g, const T *y, T *o, int64_t C, bool log) {               \
    double s = 0;                                                                                    \
    if (log) {                                                                                       \
      _Pragma("omp simd reduction(+ : s)") \
      for (int64_t j = 0; j < C; j++) s += g[j];                                                     \
      T ts = (T)s;                                                                                   \
      _Pragma("omp simd") \
      for (int64_t j = 0; j < C; j++) o[j] = g[j] - EXP(y[j]) * ts;                                  \
    } else {                                                                                         \
      _Pragma("omp simd reduction(+ : s)") \
      for (int64_t j = 0; j < C; j++) s += (double)g[j] * y[j];                                      \
      T ts = (T)s;                                                                                   \
      _Pragma("omp simd") \
      for (int64_t j = 0; j < C; j++) o[j] = y[j] * (g[j] - ts);                                     \
    }                                                                                                \
  }                                                                                                  \
  static void softmax_bwd_block_##T(const T *g, const T *y, T *o, int64_t C, int64_t in, bool log,   \
                                    double *acc) {                                                   \
    for (int64_t i = 0; i < in; i++) acc[i] = 0;                                                     \
    for (int64_t j = 0; j < C; j++) {                                                                \
      const T *gr = g + j * in, *yr = y + j * in;                                                    \
      if (log)                                                                                       \
        for (int64_t i = 0; i < in; i++) acc[i] += gr[i];                                            \
      else                                                                                           \
        for (int64_t i = 0; i < in; i++) acc[i] += (double)gr[i] * yr[i];                            \
    }                                                                                                \
    for (int64_t j = 0; j < C; j++) {                                                                \
      const T *gr = g + j * in, *yr = y + j * in;                                                    \
      T *orow = o + j * in;                                                                          \
      if (log)                                                                                       \
        _Pragma("omp simd") \
        for (int64_t i = 0; i < in; i++) orow[i] = gr[i] - EXP(yr[i]) * (T)acc[i];                   \
      else                                                                                           \
        _Pragma("omp simd") \
        for (int64_t i = 0; i < in; i++) orow[i] = yr[i] * (gr[i] - (T)acc[i]);                      \
    }                                                                                                \
  }

static inline float logf_or_log_float(double s) { return logf((float)s); }
static inline double logf_or_log_double(double s) { return log(s); }
SOFTMAX_KERNELS(float, tg_vexpf)
SOFTMAX_KERNELS(double, exp)

/* run fwd (g == NULL) or bwd over (outer, C, inner) blocks, in parallel when large */
#define SOFTMAX_DRIVER(T)                                                                              \
  static int softmax_run_##T(tg_ctx *c, T *o, const T *x, const T *g, int64_t outer, int64_t C,       \
                             int64_t in, bool log) {                                                   \
    int nt = threads_for(c, outer * C * in, outer);                                                    \
    if (in == 1) {                                                                                     \
      TG_PARALLEL_FOR(for (int64_t r = 0; r < outer; r++) {                                            \
        if (g) softmax_bwd_row_##T(g + r * C, x + r * C, o + r * C, C, log);                           \
        else softmax_row_##T(x + r * C, o + r * C, C, log);                                            \
      });                                                                                              \
      return 0;                                                                                        \
    }                                                                                                  \
    size_t per = (size_t)in * (sizeof(T) + sizeof(double));                                            \
    char *buf = malloc(per * (size_t)nt);                                                              \
    if (!buf) return tg_err(c, "out of memory");                                                       \
    TG_PARALLEL_FOR(for (int64_t r = 0; r < outer; r++) {                                              \
      int tid = 0;                                                                                     \
      if (nt > 1) tid = omp_tid();                                                                     \
      double *acc = (double *)(buf + per * (size_t)tid);                                               \
      T *mx = (T *)(acc + in);                                                                         \
      int64_t off = r * C * in;                                                                        \
      if (g) softmax_bwd_block_##T(g + off, x + off, o + off, C, in, log, acc);                        \
      else softmax_block_##T(x + off, o + off, C, in, log, mx, acc);                                   \
    });                                                                                                \
    free(buf);                                                                                         \
    return 0;                                                                                          \
  }

static inline int omp_tid(void) { return omp_get_thread_num(); }
SOFTMAX_DRIVER(float)
SOFTMAX_DRIVER(double)

int tg_cpu_softmax(tg_ctx *c, tg_tensor *out, const tg_tensor *x, int dim, bool log) {
  if (!tg_is_float(x->dtype) || out->dtype != x->dtype) return tg_err(c, "softmax: expected a floating point tensor");
  int64_t outer, C, in;
  split_dims(x, dim, &outer, &C, &in);
  if (outer * C * in == 0) return 0;
  tg_tensor *xc = tg_contiguous_raw(c, (tg_tensor *)x);
  if (!xc) return -1;
  int rc = x->dtype == TG_FLOAT32 ? softmax_run_float(c, tg_data(out), tg_data(xc), NULL, outer, C, in, log)
                                  : softmax_run_double(c, tg_data(out), tg_data(xc), NULL, outer, C, in, log);
  tg_tensor_unref(xc);
  return rc;
}

int tg_cpu_softmax_backward(tg_ctx *c, tg_tensor *out, const tg_tensor *g, const tg_tensor *y, int dim, bool log) {
  if (!tg_is_float(y->dtype) || g->dtype != y->dtype || out->dtype != y->dtype)
    return tg_err(c, "softmax_backward: expected gradient and output of one floating point dtype");
  int64_t outer, C, in;
  split_dims(y, dim, &outer, &C, &in);
  if (outer * C * in == 0) return 0;
  tg_tensor *gc = tg_contiguous_raw(c, (tg_tensor *)g), *yc = gc ? tg_contiguous_raw(c, (tg_tensor *)y) : NULL;
  int rc = -1;
  if (yc)
    rc = y->dtype == TG_FLOAT32 ? softmax_run_float(c, tg_data(out), tg_data(yc), tg_data(gc), outer, C, in, log)
                                : softmax_run_double(c, tg_data(out), tg_data(yc), tg_data(gc), outer, C, in, log);
  tg_tensor_unref(gc), tg_tensor_unref(yc);
  return rc;
}

/* --------------------------------------------------------------- nll_loss */
static int nll_bad_target(tg_ctx *c, int64_t t) {
  if (t == 0) /* a 0-based class id from PyTorch code */
    return tg_err(c, "Target 0 is out of bounds. (targets are 1-based in tgrad: classes are 1..C)");
  return tg_err(c, "Target %lld is out of bounds.", (long long)t);
}

#define NLL_KERNELS(T)                                                                               \
  static int nll_fwd_##T(tg_ctx *c, T *out, const T *x, tg_nll_args *a) {                            \
    const int64_t *tgt = tg_data(a->target);                                                          \
    const T *w = a->weight ? (const T *)tg_data(a->weight) : NULL;                                   \
    int64_t N = a->n, C = a->c, D = a->d;                                                            \
    double keep = 1.0 - a->smoothing, eps_c = a->smoothing / (double)C, total = 0, sum = 0;          \
    for (int64_t n = 0; n < N; n++)                                                                  \
      for (int64_t d = 0; d < D; d++) {                                                              \
        int64_t t = tgt[n * D + d];                                                                   \
        double v = 0;                                                                                \
        if (t != a->ignore_index) {                                                                  \
          if (t < 1 || t > C) return nll_bad_target(c, t);                                           \
          const T *xp = x + n * C * D + d;                                                           \
          double wt = w ? (double)w[t - 1] : 1.0;                                                    \
          v = -keep * wt * (double)xp[(t - 1) * D];                                                  \
          if (eps_c != 0) {                                                                          \
            double s = 0;                                                                            \
            for (int64_t k = 0; k < C; k++) s += (w ? (double)w[k] : 1.0) * (double)xp[k * D];       \
            v -= eps_c * s;                                                                          \
          }                                                                                          \
          total += wt;                                                                               \
        }                                                                                            \
        if (a->reduce) sum += v;                                                                     \
        else out[n * D + d] = (T)(v * a->scale);                                                     \
      }                                                                                              \
    a->total_weight = total;                                                                         \
    if (a->reduce) out[0] = (T)(a->mean ? sum * a->scale / total : sum * a->scale);                  \
    return 0;                                                                                        \
  }                                                                                                  \
  static int nll_bwd_##T(tg_ctx *c, T *out, const T *g, tg_nll_args *a) {                            \
    const int64_t *tgt = tg_data(a->target);                                                          \
    const T *w = a->weight ? (const T *)tg_data(a->weight) : NULL;                                   \
    int64_t N = a->n, C = a->c, D = a->d;                                                            \
    double keep = 1.0 - a->smoothing, eps_c = a->smoothing / (double)C;                              \
    memset(out, 0, sizeof(T) * (size_t)(N * C * D));                                                 \
    for (int64_t n = 0; n < N; n++)                                                                  \
      for (int64_t d = 0; d < D; d++) {                                                              \
        int64_t t = tgt[n * D + d];                                                                   \
        if (t == a->ignore_index) continue;                                                          \
        if (t < 1 || t > C) return nll_bad_target(c, t);                                            \
        double gv = -(double)(a->reduce ? g[0] : g[n * D + d]) * a->scale;                           \
        T *op = out + n * C * D + d;                                                                 \
        op[(t - 1) * D] = (T)(gv * keep * (w ? (double)w[t - 1] : 1.0));                             \
        if (eps_c != 0)                                                                              \
          for (int64_t k = 0; k < C; k++) op[k * D] += (T)(gv * eps_c * (w ? (double)w[k] : 1.0));   \
      }                                                                                              \
    return 0;                                                                                        \
  }
NLL_KERNELS(float)
NLL_KERNELS(double)

int tg_cpu_nll(tg_ctx *c, tg_tensor *out, const tg_tensor *x, tg_nll_args *a, bool backward) {
  if (!tg_is_contiguous(x) || !tg_is_contiguous(out) || !tg_is_contiguous(a->target) || a->target->dtype != TG_INT64 ||
      out->dtype != x->dtype || (a->weight && (a->weight->dtype != x->dtype || !tg_is_contiguous(a->weight))))
    return tg_err(c, "nll_loss kernel: bad operands");
  if (x->dtype == TG_FLOAT32)
    return backward ? nll_bwd_float(c, tg_data(out), tg_data(x), a) : nll_fwd_float(c, tg_data(out), tg_data(x), a);
  if (x->dtype == TG_FLOAT64)
    return backward ? nll_bwd_double(c, tg_data(out), tg_data(x), a) : nll_fwd_double(c, tg_data(out), tg_data(x), a);
  return tg_err(c, "nll_loss: expected a floating point input");
}

/* -------------------------------------------------------- pointwise losses */
typedef struct loss_arg {
  tg_loss_kind kind;
  double p, scale;
  bool has_w, w_mul; /* w multiplies the term (all kinds but BCE_LOGITS*: there it is pos_weight) */
  int *bad;          /* BCE: an input outside [0, 1] */
} loss_arg;

static inline double sign_of(double d) { return (double)((d > 0) - (d < 0)); }

static inline double loss_term(const loss_arg *la, double x, double y, double w) {
  double d = x - y, ad = fabs(d), p = la->p;
  switch (la->kind) {
    case TG_LOSS_MSE: return d * d;
    case TG_LOSS_BCE: {
      double l1 = log1p(-x), l0 = log(x);
      if (l1 < -100) l1 = -100;
      if (l0 < -100) l0 = -100;
      return (y - 1) * l1 - y * l0;
    }
    case TG_LOSS_BCE_LOGITS: { /* (1 - y) x + (1 + (pw - 1) y) softplus(-x); w = pw */
      double sp = (x < 0 ? -x : 0) + log1p(exp(-fabs(x)));
      return (1 - y) * x + (1 + (w - 1) * y) * sp;
    }
    case TG_LOSS_SMOOTH_L1: return ad < p ? 0.5 * ad * ad / p : ad - 0.5 * p;
    case TG_LOSS_HUBER: return ad < p ? 0.5 * ad * ad : p * (ad - 0.5 * p);
    case TG_LOSS_MSE_GRAD: return 2 * d;
    case TG_LOSS_BCE_GRAD: {
      double den = x * (1 - x);
      return d / (den < 1e-12 ? 1e-12 : den);
    }
    case TG_LOSS_BCE_LOGITS_GRAD: {
      double sg = x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
      return sg * (1 + (w - 1) * y) - w * y;
    }
    case TG_LOSS_SMOOTH_L1_GRAD: return ad <= p ? d / p : sign_of(d);
    case TG_LOSS_HUBER_GRAD: return ad <= p ? d : p * sign_of(d);
  }
  return 0;
}

#define LOSS_LOOP(T)                                                                         \
  static void loss_loop_##T(int64_t n, char **p, const int64_t *s, const void *arg) {       \
    const loss_arg *la = arg;                                                                \
    for (int64_t i = 0; i < n; i++) {                                                        \
      double x = *(const T *)(p[1] + i * s[1]), y = *(const T *)(p[2] + i * s[2]);           \
      double w = la->has_w ? (double)*(const T *)(p[3] + i * s[3]) : 1.0;                    \
      if (la->kind == TG_LOSS_BCE && !(x >= 0 && x <= 1)) __atomic_store_n(la->bad, 1, __ATOMIC_RELAXED); \
      double v = loss_term(la, x, y, w) * la->scale;                                         \
      *(T *)(p[0] + i * s[0]) = (T)(la->w_mul ? v * w : v);                                  \
    }                                                                                        \
  }
LOSS_LOOP(float)
LOSS_LOOP(double)

int tg_cpu_pointwise_loss(tg_ctx *c, tg_loss_kind k, tg_tensor *out, const tg_tensor *x, const tg_tensor *y,
                          const tg_tensor *w, double p, double scale) {
  if (!tg_is_float(out->dtype) || x->dtype != out->dtype || y->dtype != out->dtype || (w && w->dtype != out->dtype))
    return tg_err(c, "loss kernel: operands must share a floating point dtype");
  int bad = 0;
  bool logits = k == TG_LOSS_BCE_LOGITS || k == TG_LOSS_BCE_LOGITS_GRAD;
  loss_arg la = {k, p, scale, w != NULL, w != NULL && !logits, &bad};
  if (tg_numel(out) == 0) return 0;
  const tg_tensor *ts[4] = {out, x, y, w};
  tg_iter it;
  tg_iter_init(&it, w ? 4 : 3, ts);
  tg_iter_run(c, &it, out->dtype == TG_FLOAT32 ? loss_loop_float : loss_loop_double, &la, true);
  if (bad) return tg_err(c, "all elements of input should be between 0 and 1");
  return 0;
}
