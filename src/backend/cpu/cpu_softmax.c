/* cpu_softmax.c (helper rows, issue 11): softmax / log_softmax forward and
 * backward on the CPU, vectorised.
 *
 * A tensor is seen as (outer, C, inner) around the softmax dim.
 *  - inner == 1 (the last dim of a contiguous tensor): one row of C contiguous
 *    values at a time: max, exp-and-sum (tg_vexpf for float), scale; each loop
 *    is `omp simd`, compiled for AVX-512 / AVX2 / baseline (TG_CLONES).
 *  - inner > 1 (a non-last dim): columns of up to COLS contiguous values are
 *    walked row by row (j over C), so every inner loop is a contiguous vector
 *    loop; the per-column max and sums live in a small stack buffer.
 * Sums of float values are taken in float vector lanes over chunks of
 * SM_CHUNK terms (SM_CROWS rows per column in the column path) and the chunk
 * sums added in double: within a few ulp of a double sum for any row length,
 * at the speed of a float one.
 * Work is split over (outer row, column block) tasks; every task computes its
 * values alone, so any thread count gives the same bits.
 * Semantics as PyTorch: a row of all -inf gives nan; a nan anywhere in a row
 * gives a row of nan; +-inf and large finite inputs are handled by the max
 * subtraction. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"
#include "cpu_nn.h"
#include "cpu_vmath.h"

#define SM_GRAIN 32768 /* elements: below this one thread */
#define SM_CHUNK 256   /* float terms summed in vector lanes before a double add */
#define SM_CROWS 16    /* column path: rows summed in float per column before a double add */
#define SM_COLS 256    /* inner columns per block in the non-last-dim path */

static inline float sm_log_float(double s) { return logf((float)s); }
static inline double sm_log_double(double s) { return log(s); }

/* Row kernels (inner == 1). x, y (and g) hold C values. */
#define SM_INLINE __attribute__((always_inline)) inline
#define SM_ROW_KERNELS(T, EXP)                                                                     \
  static SM_INLINE T sm_max_##T(const T *x, int64_t C) {                                           \
    T m = -INFINITY;                                                                               \
    _Pragma("omp simd reduction(max : m)") for (int64_t j = 0; j < C; j++) m = x[j] > m ? x[j] : m; \
    return m;                                                                                      \
  }                                                                                                \
  /* sum of exp(x - m), storing the exponentials in y when y != NULL */                          \
  static SM_INLINE double sm_expsum_##T(const T *x, T *y, int64_t C, T m) {                        \
    double s = 0;                                                                                  \
    for (int64_t j0 = 0; j0 < C; j0 += SM_CHUNK) {                                                 \
      int64_t j1 = j0 + SM_CHUNK < C ? j0 + SM_CHUNK : C;                                          \
      T ps = 0;                                                                                    \
      if (y) {                                                                                     \
        _Pragma("omp simd reduction(+ : ps)") for (int64_t j = j0; j < j1; j++) {                  \
          T e = EXP(x[j] - m);                                                                     \
          y[j] = e;                                                                                \
          ps += e;                                                                                 \
        }                                                                                          \
      } else {                                                                                     \
        _Pragma("omp simd reduction(+ : ps)") for (int64_t j = j0; j < j1; j++) ps += EXP(x[j] - m); \
      }                                                                                            \
      s += (double)ps;                                                                             \
    }                                                                                              \
    return s;                                                                                      \
  }                                                                                                \
  static SM_INLINE void sm_scale_##T(T *y, int64_t C, T inv) {                                     \
    _Pragma("omp simd") for (int64_t j = 0; j < C; j++) y[j] *= inv;                               \
  }                                                                                                \
  static SM_INLINE void sm_logout_##T(const T *x, T *y, int64_t C, T m, T ls) {                    \
    _Pragma("omp simd") for (int64_t j = 0; j < C; j++) y[j] = (x[j] - m) - ls;                    \
  }                                                                                                \
  /* sum(g) (log) or sum(g y) */                                                                  \
  static SM_INLINE double sm_dot_##T(const T *g, const T *y, int64_t C, bool log) {                \
    double s = 0;                                                                                  \
    for (int64_t j0 = 0; j0 < C; j0 += SM_CHUNK) {                                                 \
      int64_t j1 = j0 + SM_CHUNK < C ? j0 + SM_CHUNK : C;                                          \
      T ps = 0;                                                                                    \
      if (log) {                                                                                   \
        _Pragma("omp simd reduction(+ : ps)") for (int64_t j = j0; j < j1; j++) ps += g[j];        \
      } else {                                                                                     \
        _Pragma("omp simd reduction(+ : ps)") for (int64_t j = j0; j < j1; j++) ps += g[j] * y[j]; \
      }                                                                                            \
      s += (double)ps;                                                                             \
    }                                                                                              \
    return s;                                                                                      \
  }                                                                                                \
  /* softmax gx = y (g - s); log_softmax gx = g - exp(y) s */                                     \
  static SM_INLINE void sm_bwd_out_##T(const T *g, const T *y, T *o, int64_t C, T s, bool log) {   \
    if (log) {                                                                                     \
      _Pragma("omp simd") for (int64_t j = 0; j < C; j++) o[j] = g[j] - EXP(y[j]) * s;             \
    } else {                                                                                       \
      _Pragma("omp simd") for (int64_t j = 0; j < C; j++) o[j] = y[j] * (g[j] - s);                \
    }                                                                                              \
  }                                                                                                \
  static SM_INLINE void sm_row_##T(const T *x, T *y, int64_t C, bool log) {                                  \
    T m = sm_max_##T(x, C);                                                                        \
    if (log) {                                                                                     \
      double s = sm_expsum_##T(x, NULL, C, m);                                                     \
      sm_logout_##T(x, y, C, m, sm_log_##T(s));                                                    \
    } else {                                                                                       \
      double s = sm_expsum_##T(x, y, C, m);                                                        \
      sm_scale_##T(y, C, (T)(1.0 / s));                                                            \
    }                                                                                              \
  }                                                                                                \
  static SM_INLINE void sm_bwd_row_##T(const T *g, const T *y, T *o, int64_t C, bool log) {                  \
    sm_bwd_out_##T(g, y, o, C, (T)sm_dot_##T(g, y, C, log), log);                                  \
  }                                                                                                \
  /* rows [r0, r1): one dispatch to the ISA's clone per range, the row helpers inlined in it */   \
  TG_CLONES static void sm_rows_##T(const T *x, T *y, const T *g, int64_t r0, int64_t r1, int64_t C, bool log) { \
    for (int64_t r = r0; r < r1; r++) {                                                            \
      if (g) sm_bwd_row_##T(g + r * C, x + r * C, y + r * C, C, log);                              \
      else sm_row_##T(x + r * C, y + r * C, C, log);                                               \
    }                                                                                              \
  }

/* Column-block kernels (inner > 1): x + j * in + i for j < C, i < w (w <= SM_COLS). */
#define SM_COL_KERNELS(T, EXP)                                                                     \
  TG_CLONES static void sm_cols_##T(const T *x, T *y, int64_t C, int64_t in, int64_t w, bool log) { \
    T mx[SM_COLS], ps[SM_COLS];                                                                    \
    double acc[SM_COLS];                                                                           \
    for (int64_t i = 0; i < w; i++) mx[i] = -INFINITY, ps[i] = 0, acc[i] = 0;                      \
    for (int64_t j = 0; j < C; j++) {                                                              \
      const T *xr = x + j * in;                                                                    \
      _Pragma("omp simd") for (int64_t i = 0; i < w; i++) mx[i] = xr[i] > mx[i] ? xr[i] : mx[i];   \
    }                                                                                              \
    for (int64_t j = 0; j < C; j++) {                                                              \
      const T *xr = x + j * in;                                                                    \
      T *yr = y + j * in;                                                                          \
      if (log) {                                                                                   \
        _Pragma("omp simd") for (int64_t i = 0; i < w; i++) ps[i] += EXP(xr[i] - mx[i]);           \
      } else {                                                                                     \
        _Pragma("omp simd") for (int64_t i = 0; i < w; i++) {                                      \
          T e = EXP(xr[i] - mx[i]);                                                                \
          yr[i] = e;                                                                               \
          ps[i] += e;                                                                              \
        }                                                                                          \
      }                                                                                            \
      if ((j + 1) % SM_CROWS == 0 || j + 1 == C)                                                   \
        for (int64_t i = 0; i < w; i++) acc[i] += (double)ps[i], ps[i] = 0;                        \
    }                                                                                              \
    /* reuse ps: log(sum) or 1 / sum */                                                            \
    for (int64_t i = 0; i < w; i++) ps[i] = log ? sm_log_##T(acc[i]) : (T)(1.0 / acc[i]);          \
    for (int64_t j = 0; j < C; j++) {                                                              \
      const T *xr = x + j * in;                                                                    \
      T *yr = y + j * in;                                                                          \
      if (log) {                                                                                   \
        _Pragma("omp simd") for (int64_t i = 0; i < w; i++) yr[i] = (xr[i] - mx[i]) - ps[i];       \
      } else {                                                                                     \
        _Pragma("omp simd") for (int64_t i = 0; i < w; i++) yr[i] *= ps[i];                        \
      }                                                                                            \
    }                                                                                              \
  }                                                                                                \
  TG_CLONES static void sm_bwd_cols_##T(const T *g, const T *y, T *o, int64_t C, int64_t in, int64_t w, \
                                        bool log) {                                                \
    T ps[SM_COLS];                                                                                 \
    double acc[SM_COLS];                                                                           \
    for (int64_t i = 0; i < w; i++) ps[i] = 0, acc[i] = 0;                                         \
    for (int64_t j = 0; j < C; j++) {                                                              \
      const T *gr = g + j * in, *yr = y + j * in;                                                  \
      if (log) {                                                                                   \
        _Pragma("omp simd") for (int64_t i = 0; i < w; i++) ps[i] += gr[i];                        \
      } else {                                                                                     \
        _Pragma("omp simd") for (int64_t i = 0; i < w; i++) ps[i] += gr[i] * yr[i];                \
      }                                                                                            \
      if ((j + 1) % SM_CROWS == 0 || j + 1 == C)                                                   \
        for (int64_t i = 0; i < w; i++) acc[i] += (double)ps[i], ps[i] = 0;                        \
    }                                                                                              \
    for (int64_t i = 0; i < w; i++) ps[i] = (T)acc[i];                                             \
    for (int64_t j = 0; j < C; j++) {                                                              \
      const T *gr = g + j * in, *yr = y + j * in;                                                  \
      T *orow = o + j * in;                                                                        \
      if (log) {                                                                                   \
        _Pragma("omp simd") for (int64_t i = 0; i < w; i++) orow[i] = gr[i] - EXP(yr[i]) * ps[i];  \
      } else {                                                                                     \
        _Pragma("omp simd") for (int64_t i = 0; i < w; i++) orow[i] = yr[i] * (gr[i] - ps[i]);     \
      }                                                                                            \
    }                                                                                              \
  }

SM_ROW_KERNELS(float, tg_vexpf)
SM_ROW_KERNELS(double, exp)
SM_COL_KERNELS(float, tg_vexpf)
SM_COL_KERNELS(double, exp)

/* A nan never wins the max, but exp(nan - m) makes the row's sum nan, so the
 * whole row comes out nan, as PyTorch's. */
#define SM_RUN(T)                                                                                  \
  static void sm_run_##T(tg_ctx *c, T *o, const T *x, const T *g, int64_t outer, int64_t C, int64_t in, \
                         bool log) {                                                               \
    int64_t nb = (in + SM_COLS - 1) / SM_COLS, tasks = outer * nb;                                 \
    int nt = c->num_threads > 0 ? c->num_threads : 1;                                              \
    if (outer * C * in < SM_GRAIN || tasks < 2) nt = 1;                                            \
    if (nt > tasks) nt = (int)tasks;                                                               \
    if (in == 1) { /* nt ranges of rows; each row computed alone: the same bits for any split */ \
      TG_PARALLEL_FOR(for (int t = 0; t < nt; t++)                                                 \
                        sm_rows_##T(x, o, g, outer * t / nt, outer * (t + 1) / nt, C, log););     \
      return;                                                                                      \
    }                                                                                              \
    TG_PARALLEL_FOR(for (int64_t t = 0; t < tasks; t++) {                                          \
      int64_t r = t / nb, i0 = (t % nb) * SM_COLS, w = in - i0 < SM_COLS ? in - i0 : SM_COLS;      \
      int64_t off = r * C * in + i0;                                                               \
      if (g) sm_bwd_cols_##T(g + off, x + off, o + off, C, in, w, log);                            \
      else sm_cols_##T(x + off, o + off, C, in, w, log);                                           \
    });                                                                                            \
  }
SM_RUN(float)
SM_RUN(double)

static void split_dims(const tg_tensor *x, int dim, int64_t *outer, int64_t *cn, int64_t *inner) {
  *outer = 1, *inner = 1, *cn = x->ndim ? x->size[dim] : 1;
  for (int d = 0; d < dim; d++) *outer *= x->size[d];
  for (int d = dim + 1; d < x->ndim; d++) *inner *= x->size[d];
}

int tg_cpu_softmax(tg_ctx *c, tg_tensor *out, const tg_tensor *x, int dim, bool log) {
  if (!tg_is_float(x->dtype) || out->dtype != x->dtype) return tg_err(c, "softmax: expected a floating point tensor");
  int64_t outer, C, in;
  split_dims(x, dim, &outer, &C, &in);
  if (outer * C * in == 0) return 0;
  tg_tensor *xc = tg_contiguous_raw(c, (tg_tensor *)x);
  if (!xc) return -1;
  if (x->dtype == TG_FLOAT32) sm_run_float(c, tg_data(out), tg_data(xc), NULL, outer, C, in, log);
  else sm_run_double(c, tg_data(out), tg_data(xc), NULL, outer, C, in, log);
  tg_tensor_unref(xc);
  return 0;
}

int tg_cpu_softmax_backward(tg_ctx *c, tg_tensor *out, const tg_tensor *g, const tg_tensor *y, int dim, bool log) {
  if (!tg_is_float(y->dtype) || g->dtype != y->dtype || out->dtype != y->dtype)
    return tg_err(c, "softmax_backward: expected gradient and output of one floating point dtype");
  int64_t outer, C, in;
  split_dims(y, dim, &outer, &C, &in);
  if (outer * C * in == 0) return 0;
  tg_tensor *gc = tg_contiguous_raw(c, (tg_tensor *)g), *yc = gc ? tg_contiguous_raw(c, (tg_tensor *)y) : NULL;
  if (!yc) {
    tg_tensor_unref(gc);
    return -1;
  }
  if (y->dtype == TG_FLOAT32) sm_run_float(c, tg_data(out), tg_data(yc), tg_data(gc), outer, C, in, log);
  else sm_run_double(c, tg_data(out), tg_data(yc), tg_data(gc), outer, C, in, log);
  tg_tensor_unref(gc), tg_tensor_unref(yc);
  return 0;
}
