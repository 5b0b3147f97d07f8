/* cpu_conv.c: convolution kernels (helper conv): im2col / col2im + GEMM through
 * OpenBLAS, float32 and float64. The three products of one geometry
 * (backend.h, tg_conv_geom), per sample n and group gr, with
 * col = im2col(x[n]) of (cig * kh * kw) x (oh * ow):
 *   FORWARD   y[n, gr] = w[gr] @ col[gr]                     (+ bias)
 *   TRANSPOSE x[n]     = col2im(w[gr]^T @ y[n, gr])          (+ bias)
 *   WEIGHT    w[gr]   += y[n, gr] @ col[gr]^T   summed over n
 * A 1x1 kernel with stride 1 and no padding needs no im2col: col is x[n].
 * Threads (ctx->num_threads): samples are split across OpenMP threads, each
 * with its own column buffer and a one-thread GEMM; a single sample uses
 * threaded GEMMs and splits im2col/col2im by channel. */
#include <omp.h>
#include <string.h>

#include "cpu.h"

/* ---------------------------------------------------------- im2col / col2im */
/* Columns of the channels [c0, c1) of one sample x (cin planes of in[0] x in[1]):
 * row (c, ki, kj) of col (rows ld elements apart) holds x[c, o0 * s0 - p0 + ki * d0, o1 * s1 - p1 + kj * d1]
 * for every output position (o0, o1), 0 outside the input. */

/* the range [lo, hi) of outputs o with 0 <= o * s + off < n */
static inline void valid_range(int64_t n, int64_t s, int64_t off, int64_t nout, int64_t *lo, int64_t *hi) {
  int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
  int64_t h = n - off > 0 ? (n - off + s - 1) / s : 0;
  if (l > nout) l = nout;
  if (h > nout) h = nout;
  if (h < l) h = l;
  *lo = l, *hi = h;
}

/* Stride 1 with out and in rows of one width: out position p = i * ow + j reads
 * x[p + delta], delta = off0 * iw + off1, for the rows [ilo, ihi) that exist and the
 * columns [lo, hi); elsewhere in those rows it reads a wrapped neighbour (zeroed
 * after). [q0, q1) is the part of [ilo ow, ihi ow) whose reads stay inside x. */
static inline void flat_range(int64_t ih, int64_t iw, int64_t oh, int64_t ow, int64_t off0, int64_t delta,
                              int64_t *ilo, int64_t *ihi, int64_t *q0, int64_t *q1) {
  valid_range(ih, 1, off0, oh, ilo, ihi);
  int64_t a = *ilo * ow, b = *ihi * ow;
  if (a < -delta) a = -delta;
  if (b > ih * iw - delta) b = ih * iw - delta;
  if (b < a) b = a;
  *q0 = a, *q1 = b;
}

/* GCC turns the zeroing and copying loops into memset/memcpy calls, a call per short
 * row (49 elements in a 7x7 layer): kept as inline loops */
#if defined(__GNUC__) && !defined(__clang__)
#define NO_LIBC_LOOPS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define NO_LIBC_LOOPS
#endif

#define IM2COL(T)                                                                                       \
  TG_CLONES NO_LIBC_LOOPS static void im2col_##T(const T *x, T *col, int64_t ld, int64_t c0, int64_t c1, const tg_conv_geom *g) { \
    const int64_t ih = g->in[0], iw = g->in[1], oh = g->out[0], ow = g->out[1], kh = g->k[0], kw = g->k[1]; \
    const int64_t s0 = g->stride[0], s1 = g->stride[1];                                                 \
    const bool flat = s0 == 1 && s1 == 1 && ow == iw;                                                   \
    for (int64_t ch = c0; ch < c1; ch++)                                                                \
      for (int64_t ki = 0; ki < kh; ki++)                                                               \
        for (int64_t kj = 0; kj < kw; kj++) {                                                           \
          T *row = col + ((ch * kh + ki) * kw + kj) * ld;                                               \
          const T *xc = x + ch * ih * iw;                                                               \
          int64_t off0 = ki * g->dil[0] - g->pad[0], off1 = kj * g->dil[1] - g->pad[1], lo, hi;         \
          valid_range(iw, s1, off1, ow, &lo, &hi);                                                      \
          if (flat) { /* one shifted block of x, then the wrapped edge columns zeroed */                \
            int64_t ilo, ihi, q0, q1, delta = off0 * iw + off1;                                         \
            flat_range(ih, iw, oh, ow, off0, delta, &ilo, &ihi, &q0, &q1);                              \
            for (int64_t p = 0; p < q0; p++) row[p] = 0;                                                \
            for (int64_t p = q0; p < q1; p++) row[p] = xc[p + delta];                                   \
            for (int64_t p = q1; p < oh * ow; p++) row[p] = 0;                                          \
            if (lo > 0 || hi < ow)                                                                      \
              for (int64_t i = ilo; i < ihi; i++) {                                                     \
                for (int64_t j = 0; j < lo; j++) row[i * ow + j] = 0;                                   \
                for (int64_t j = hi; j < ow; j++) row[i * ow + j] = 0;                                  \
              }                                                                                         \
            continue;                                                                                   \
          }                                                                                             \
          for (int64_t i = 0; i < oh; i++) {                                                            \
            T *r = row + i * ow;                                                                        \
            int64_t y = i * s0 + off0;                                                                  \
            if (y < 0 || y >= ih) { /* loops, not libc calls: rows are short (7 in a late layer) */    \
              for (int64_t j = 0; j < ow; j++) r[j] = 0;                                                \
              continue;                                                                                 \
            }                                                                                           \
            const T *xr = xc + y * iw + off1;                                                           \
            for (int64_t j = 0; j < lo; j++) r[j] = 0;                                                  \
            if (s1 == 1)                                                                                \
              for (int64_t j = lo; j < hi; j++) r[j] = xr[j];                                           \
            else if (s1 == 2) /* a constant stride vectorises */                                        \
              for (int64_t j = lo; j < hi; j++) r[j] = xr[j * 2];                                       \
            else                                                                                        \
              for (int64_t j = lo; j < hi; j++) r[j] = xr[j * s1];                                      \
            for (int64_t j = hi; j < ow; j++) r[j] = 0;                                                 \
          }                                                                                             \
        }                                                                                               \
  }                                                                                                     \
  /* the adjoint: x[c] += the columns of channel c, for c in [c0, c1) */                                \
  TG_CLONES NO_LIBC_LOOPS static void col2im_##T(T *col, T *x, int64_t ld, int64_t c0, int64_t c1, const tg_conv_geom *g) {       \
    const int64_t ih = g->in[0], iw = g->in[1], oh = g->out[0], ow = g->out[1], kh = g->k[0], kw = g->k[1]; \
    const int64_t s0 = g->stride[0], s1 = g->stride[1];                                                 \
    const bool flat = s0 == 1 && s1 == 1 && ow == iw;                                                   \
    for (int64_t ch = c0; ch < c1; ch++)                                                                \
      for (int64_t ki = 0; ki < kh; ki++)                                                               \
        for (int64_t kj = 0; kj < kw; kj++) {                                                           \
          T *row = col + ((ch * kh + ki) * kw + kj) * ld;                                               \
          T *xc = x + ch * ih * iw;                                                                     \
          int64_t off0 = ki * g->dil[0] - g->pad[0], off1 = kj * g->dil[1] - g->pad[1], lo, hi;         \
          valid_range(iw, s1, off1, ow, &lo, &hi);                                                      \
          if (flat) { /* the wrapped edge columns of the scratch col zeroed, then one shifted add */    \
            int64_t ilo, ihi, q0, q1, delta = off0 * iw + off1;                                         \
            flat_range(ih, iw, oh, ow, off0, delta, &ilo, &ihi, &q0, &q1);                              \
            if (lo > 0 || hi < ow)                                                                      \
              for (int64_t i = ilo; i < ihi; i++) {                                                     \
                for (int64_t j = 0; j < lo; j++) row[i * ow + j] = 0;                                   \
                for (int64_t j = hi; j < ow; j++) row[i * ow + j] = 0;                                  \
              }                                                                                         \
            for (int64_t p = q0; p < q1; p++) xc[p + delta] += row[p];                                  \
            continue;                                                                                   \
          }                                                                                             \
          for (int64_t i = 0; i < oh; i++) {                                                            \
            int64_t y = i * s0 + off0;                                                                  \
            if (y < 0 || y >= ih) continue;                                                             \
            const T *r = row + i * ow;                                                                  \
            T *xr = xc + y * iw + off1;                                                                 \
            if (s1 == 1)                                                                                \
              for (int64_t j = lo; j < hi; j++) xr[j] += r[j];                                          \
            else                                                                                        \
              for (int64_t j = lo; j < hi; j++) xr[j * s1] += r[j];                                     \
          }                                                                                             \
        }                                                                                               \
  }
IM2COL(float)
IM2COL(double)

/* ------------------------------------------------------------------ GEMM */
/* row-major C[m x n] = A[m x k] (op) @ B[k x n] (op) + beta C, alpha 1, split across nt of tgrad's
 * threads with the BLAS on one thread each (tg_cpu_gemm, cpu_blas.c): OpenBLAS's own pool next to
 * OpenMP's spin-waiting team made a 2-thread conv 3x slower than a 1-thread one */
#define gemm(nt, ...) tg_cpu_gemm(nt, __VA_ARGS__)

/* --------------------------------------------------------------- drivers */
typedef struct conv_run {
  tg_dtype dt;
  size_t es;
  const tg_conv_geom *g;
  int64_t cig, cog, ck, o, i; /* channels per group, col rows per group, out and in plane sizes */
  bool direct;                /* 1x1, stride 1, no padding: col is x itself */
  int nt_inner;               /* threads for im2col/col2im inside one sample */
  const char *a, *b, *bias;
  char *out;
} conv_run;

static void run_im2col(const conv_run *r, const char *x, char *col) {
  int64_t cin = r->g->cin;
  int nt = r->nt_inner > 1 && cin > 1 ? r->nt_inner : 1;
  if (nt == 1) {
    if (r->dt == TG_FLOAT32) im2col_float((const float *)x, (float *)col, r->o, 0, cin, r->g);
    else im2col_double((const double *)x, (double *)col, r->o, 0, cin, r->g);
    return;
  }
  TG_PARALLEL_FOR(for (int64_t ch = 0; ch < cin; ch++) {
    if (r->dt == TG_FLOAT32) im2col_float((const float *)x, (float *)col, r->o, ch, ch + 1, r->g);
    else im2col_double((const double *)x, (double *)col, r->o, ch, ch + 1, r->g);
  });
}

static void run_col2im(const conv_run *r, char *col, char *x) {
  int64_t cin = r->g->cin;
  int nt = r->nt_inner > 1 && cin > 1 ? r->nt_inner : 1;
  if (nt == 1) {
    if (r->dt == TG_FLOAT32) col2im_float((float *)col, (float *)x, r->o, 0, cin, r->g);
    else col2im_double((double *)col, (double *)x, r->o, 0, cin, r->g);
    return;
  }
  TG_PARALLEL_FOR(for (int64_t ch = 0; ch < cin; ch++) {
    if (r->dt == TG_FLOAT32) col2im_float((float *)col, (float *)x, r->o, ch, ch + 1, r->g);
    else col2im_double((double *)col, (double *)x, r->o, ch, ch + 1, r->g);
  });
}

/* plane[c][0..len) = v[c] (+= when add) for c < nc; v NULL: zeros */
static void fill_planes(const conv_run *r, char *p, int64_t nc, int64_t len, const char *v, bool add) {
  for (int64_t ch = 0; ch < nc; ch++) {
    if (r->dt == TG_FLOAT32) {
      float *q = (float *)p + ch * len, b = v ? ((const float *)v)[ch] : 0.0f;
      if (add) for (int64_t j = 0; j < len; j++) q[j] += b;
      else for (int64_t j = 0; j < len; j++) q[j] = b;
    } else {
      double *q = (double *)p + ch * len, b = v ? ((const double *)v)[ch] : 0.0;
      if (add) for (int64_t j = 0; j < len; j++) q[j] += b;
      else for (int64_t j = 0; j < len; j++) q[j] = b;
    }
  }
}

/* y[s] from x[s] */
static void forward_sample(const conv_run *r, int64_t s, char *col) {
  const tg_conv_geom *g = r->g;
  size_t es = r->es;
  const char *x = r->a + (size_t)(s * g->cin * r->i) * es;
  char *y = r->out + (size_t)(s * g->cout * r->o) * es;
  if (r->bias || r->ck == 0) fill_planes(r, y, g->cout, r->o, r->bias, false);
  if (r->ck == 0) return;
  if (r->direct) col = (char *)x;
  else run_im2col(r, x, col);
  for (int64_t gr = 0; gr < g->groups; gr++)
    gemm(r->nt_inner, r->dt, false, false, r->cog, r->o, r->ck, r->b + (size_t)(gr * r->cog * r->ck) * es, r->ck,
         col + (size_t)(gr * r->ck * r->o) * es, r->o, r->bias ? 1.0 : 0.0, y + (size_t)(gr * r->cog * r->o) * es,
         r->o);
}

/* x[s] from y[s] */
static void transpose_sample(const conv_run *r, int64_t s, char *col) {
  const tg_conv_geom *g = r->g;
  size_t es = r->es;
  const char *y = r->a + (size_t)(s * g->cout * r->o) * es;
  char *x = r->out + (size_t)(s * g->cin * r->i) * es;
  if (r->cog == 0 || r->o == 0) {
    fill_planes(r, x, g->cin, r->i, r->bias, false);
    return;
  }
  char *dst = r->direct ? x : col;
  for (int64_t gr = 0; gr < g->groups; gr++)
    gemm(r->nt_inner, r->dt, true, false, r->ck, r->o, r->cog, r->b + (size_t)(gr * r->cog * r->ck) * es, r->ck,
         y + (size_t)(gr * r->cog * r->o) * es, r->o, 0.0, dst + (size_t)(gr * r->ck * r->o) * es, r->o);
  if (!r->direct) {
    memset(x, 0, (size_t)(g->cin * r->i) * es);
    run_col2im(r, col, x);
  }
  if (r->bias) fill_planes(r, x, g->cin, r->i, r->bias, true);
}

/* dw += the contribution of sample s */
static void weight_sample(const conv_run *r, int64_t s, char *col, char *dw) {
  const tg_conv_geom *g = r->g;
  size_t es = r->es;
  const char *x = r->a + (size_t)(s * g->cin * r->i) * es;
  const char *y = r->b + (size_t)(s * g->cout * r->o) * es;
  if (r->o == 0 || r->ck == 0) return;
  if (r->direct) col = (char *)x;
  else run_im2col(r, x, col);
  for (int64_t gr = 0; gr < g->groups; gr++)
    gemm(r->nt_inner, r->dt, false, true, r->cog, r->ck, r->o, y + (size_t)(gr * r->cog * r->o) * es, r->o,
         col + (size_t)(gr * r->ck * r->o) * es, r->o, 1.0, dw + (size_t)(gr * r->cog * r->ck) * es, r->ck);
}

/* ---- batched: the samples [s0, s0 + m) side by side in one column matrix (cin kh kw
 * rows of m * o), so that each group is one GEMM with m * o columns. Small planes
 * (a 7x7 late layer) make per-sample GEMMs too thin to run at speed. The outputs
 * (and, for the adjoints, the incoming y) go through a (cout, m * o) buffer. */
static void sample_im2col(const conv_run *r, const char *x, char *col, int64_t ld) {
  if (r->dt == TG_FLOAT32) im2col_float((const float *)x, (float *)col, ld, 0, r->g->cin, r->g);
  else im2col_double((const double *)x, (double *)col, ld, 0, r->g->cin, r->g);
}

static void sample_col2im(const conv_run *r, char *col, char *x, int64_t ld) {
  if (r->dt == TG_FLOAT32) col2im_float((float *)col, (float *)x, ld, 0, r->g->cin, r->g);
  else col2im_double((double *)col, (double *)x, ld, 0, r->g->cin, r->g);
}

/* y (n, c, o) sample s <-> buf (c, ld) columns [s o, s o + o) */
static void gather_planes(const conv_run *r, const char *y, int64_t nc, char *buf, int64_t ld, int64_t s) {
  size_t es = r->es, ob = (size_t)r->o * es;
  for (int64_t ch = 0; ch < nc; ch++) memcpy(buf + (size_t)(ch * ld + s * r->o) * es, y + ch * ob, ob);
}

static void scatter_planes(const conv_run *r, const char *buf, int64_t nc, char *y, int64_t ld, int64_t s) {
  size_t es = r->es, ob = (size_t)r->o * es;
  for (int64_t ch = 0; ch < nc; ch++) memcpy(y + ch * ob, buf + (size_t)(ch * ld + s * r->o) * es, ob);
}

#define THREAD_FLOPS 2e6              /* work per thread worth a team */
#define BATCH_BYTES ((size_t)48 << 20) /* column and plane buffers per chunk of samples */
#define BATCH_MAX_O 128                /* batch the samples below this many output positions */

static int conv_batched(tg_ctx *c, int kind, conv_run *r, int nt, bool big) {
  const tg_conv_geom *g = r->g;
  size_t es = r->es;
  int64_t nsamp = g->n, o = r->o, rows = g->cin * g->k[0] * g->k[1];
  size_t colb = (size_t)(rows * o) * es, planeb = (size_t)(g->cout * o) * es;
  int64_t nb = (int64_t)(BATCH_BYTES / (colb + planeb + 1));
  if (nb < 1) nb = 1;
  if (nb > nsamp) nb = nsamp;
  size_t total = (colb + planeb) * (size_t)nb;
  char *col = tg_cpu_alloc(c, total);
  if (!col) return tg_err(c, "out of memory");
  char *buf = col + colb * (size_t)nb;
  int gnt = big ? nt : 1; /* the GEMM's threads */
  size_t xb = (size_t)(g->cin * r->i) * es, yb = planeb;
  for (int64_t s0 = 0; s0 < nsamp; s0 += nb) {
    int64_t m = nsamp - s0 < nb ? nsamp - s0 : nb, ld = m * o;
    if (kind == TG_CONV_FORWARD) {
      TG_PARALLEL_FOR(for (int64_t s = 0; s < m; s++) sample_im2col(r, r->a + (size_t)(s0 + s) * xb, col + (size_t)(s * o) * es, ld););
      for (int64_t gr = 0; gr < g->groups; gr++)
        gemm(gnt, r->dt, false, false, r->cog, ld, r->ck, r->b + (size_t)(gr * r->cog * r->ck) * es, r->ck,
             col + (size_t)(gr * r->ck * ld) * es, ld, 0.0, buf + (size_t)(gr * r->cog * ld) * es, ld);
      TG_PARALLEL_FOR(for (int64_t s = 0; s < m; s++) {
        char *y = r->out + (size_t)(s0 + s) * yb;
        scatter_planes(r, buf, g->cout, y, ld, s);
        if (r->bias) fill_planes(r, y, g->cout, o, r->bias, true);
      });
    } else if (kind == TG_CONV_TRANSPOSE) {
      TG_PARALLEL_FOR(for (int64_t s = 0; s < m; s++) gather_planes(r, r->a + (size_t)(s0 + s) * yb, g->cout, buf, ld, s););
      for (int64_t gr = 0; gr < g->groups; gr++)
        gemm(gnt, r->dt, true, false, r->ck, ld, r->cog, r->b + (size_t)(gr * r->cog * r->ck) * es, r->ck,
             buf + (size_t)(gr * r->cog * ld) * es, ld, 0.0, col + (size_t)(gr * r->ck * ld) * es, ld);
      TG_PARALLEL_FOR(for (int64_t s = 0; s < m; s++) {
        char *x = r->out + (size_t)(s0 + s) * xb;
        memset(x, 0, xb);
        sample_col2im(r, col + (size_t)(s * o) * es, x, ld);
        if (r->bias) fill_planes(r, x, g->cin, r->i, r->bias, true);
      });
    } else {
      TG_PARALLEL_FOR(for (int64_t s = 0; s < m; s++) {
        sample_im2col(r, r->a + (size_t)(s0 + s) * xb, col + (size_t)(s * o) * es, ld);
        gather_planes(r, r->b + (size_t)(s0 + s) * yb, g->cout, buf, ld, s);
      });
      for (int64_t gr = 0; gr < g->groups; gr++)
        gemm(gnt, r->dt, false, true, r->cog, r->ck, ld, buf + (size_t)(gr * r->cog * ld) * es, ld,
             col + (size_t)(gr * r->ck * ld) * es, ld, 1.0, r->out + (size_t)(gr * r->cog * r->ck) * es, r->ck);
    }
  }
  tg_cpu_free(c, col, total);
  return 0;
}

int tg_cpu_conv(tg_ctx *c, int kind, tg_tensor *out, const tg_tensor *a, const tg_tensor *b, const tg_tensor *bias,
                const tg_conv_geom *g) {
  conv_run r = {0};
  r.dt = out->dtype;
  r.es = tg_dtype_size(r.dt);
  r.g = g;
  r.cig = g->cin / g->groups, r.cog = g->cout / g->groups;
  r.ck = r.cig * g->k[0] * g->k[1];
  r.o = g->out[0] * g->out[1], r.i = g->in[0] * g->in[1];
  r.direct = g->k[0] == 1 && g->k[1] == 1 && g->stride[0] == 1 && g->stride[1] == 1 && g->pad[0] == 0 &&
             g->pad[1] == 0 && g->in[0] == g->out[0] && g->in[1] == g->out[1];
  r.a = tg_data(a), r.b = tg_data(b), r.bias = bias ? tg_data(bias) : NULL;
  r.out = tg_data(out);
  size_t es = r.es;
  int64_t nsamp = g->n;
  if (kind == TG_CONV_WEIGHT) memset(r.out, 0, (size_t)(g->cout * r.ck) * es);
  if (nsamp == 0) return 0;

  /* threads only for work worth a team (a parallel region costs microseconds, and much
   * more when the cores are shared): about 2 MFLOP per thread */
  double flops = 2.0 * (double)nsamp * (double)g->cout * (double)r.o * (double)r.ck;
  bool big = flops >= 2 * THREAD_FLOPS;
  int nt = c->num_threads > 1 ? c->num_threads : 1;
  if (flops < THREAD_FLOPS * nt) nt = big ? (int)(flops / THREAD_FLOPS) : 1;
  if (nt > c->num_threads) nt = c->num_threads;
  /* small planes with several samples: one GEMM over a chunk of samples (measured
   * here: better below about 100 output positions, worse from 14x14 up, where a
   * sample's columns stay in cache and the chunk's do not) */
  if (nsamp > 1 && r.o < BATCH_MAX_O && r.ck > 0 && r.o > 0 && r.cog > 0) return conv_batched(c, kind, &r, nt, big);
  if (nt > nsamp) nt = (int)nsamp;
  size_t colsz = r.direct ? 0 : (size_t)(g->cin * g->k[0] * g->k[1] * r.o) * es;
  size_t dwsz = kind == TG_CONV_WEIGHT ? (size_t)(g->cout * r.ck) * es : 0;
  if (nt > 1) {
    /* samples across threads: one buffer per thread (col, and a partial dw) */
    size_t per = (colsz + dwsz + 63) & ~(size_t)63;
    size_t total = per * (size_t)nt;
    char *buf = total ? tg_cpu_alloc(c, total) : NULL;
    if (total && !buf) return tg_err(c, "out of memory");
    if (dwsz) memset(buf, 0, total);
    r.nt_inner = 1; /* inside this team: serial GEMMs and im2col */
#pragma omp parallel num_threads(nt)
    {
      int t = omp_get_thread_num();
      char *col = buf ? buf + per * (size_t)t : NULL, *dw = col ? col + colsz : NULL;
      int64_t lo = nsamp * t / nt, hi = nsamp * (t + 1) / nt;
      for (int64_t s = lo; s < hi; s++) {
        if (kind == TG_CONV_FORWARD) forward_sample(&r, s, col);
        else if (kind == TG_CONV_TRANSPOSE) transpose_sample(&r, s, col);
        else weight_sample(&r, s, col, dw);
      }
    }
    if (dwsz) { /* sum the partial weight gradients */
      int64_t m = g->cout * r.ck;
      for (int t = 0; t < nt; t++) {
        const char *p = buf + per * (size_t)t + colsz;
        if (r.dt == TG_FLOAT32)
          for (int64_t j = 0; j < m; j++) ((float *)r.out)[j] += ((const float *)p)[j];
        else
          for (int64_t j = 0; j < m; j++) ((double *)r.out)[j] += ((const double *)p)[j];
      }
    }
    if (buf) tg_cpu_free(c, buf, total);
    return 0;
  }
  /* one thread per sample loop: threaded GEMMs, im2col split by channel (big work only) */
  r.nt_inner = big ? c->num_threads : 1;
  char *col = colsz ? tg_cpu_alloc(c, colsz) : NULL;
  if (colsz && !col) return tg_err(c, "out of memory");
  for (int64_t s = 0; s < nsamp; s++) {
    if (kind == TG_CONV_FORWARD) forward_sample(&r, s, col);
    else if (kind == TG_CONV_TRANSPOSE) transpose_sample(&r, s, col);
    else weight_sample(&r, s, col, r.out);
  }
  if (col) tg_cpu_free(c, col, colsz);
  return 0;
}
