/* cpu_norm_impl.h: the typed bodies of the normalisation and embedding
 * kernels, included by cpu_norm.c once per floating dtype with
 *   T   the element type (float, double)
 *   SFX the name suffix (_f32, _f64)
 * Statistics accumulate in double for both dtypes: a sum of (x - shift) and of
 * (x - shift)^2, shifted by one element of the group, so one pass over the data
 * gives the mean and variance without the cancellation of a plain sum of
 * squares. Everything here runs on contiguous memory. */
#define NAME2(a, b) a##b
#define NAME1(a, b) NAME2(a, b)
#define NAME(f) NAME1(f, SFX)

/* ---------------------------------------------------------------- leaves */
/* s1 += sum(x - shift), s2 += sum((x - shift)^2): blocks of 256 summed in T's
 * vector lanes (the shift keeps the terms small), the blocks' sums added in double */
#define NORM_BLOCK 256
TG_CLONES static void NAME(shifted_sums)(const T *x, int64_t n, double shift, double *s1, double *s2) {
  const T sh = (T)shift;
  double da = 0, db = 0;
  for (int64_t i0 = 0; i0 < n; i0 += NORM_BLOCK) {
    int64_t i1 = i0 + NORM_BLOCK < n ? i0 + NORM_BLOCK : n;
    T a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
    for (int64_t i = i0; i < i1; i++) {
      T d = x[i] - sh;
      a += d;
      b += d * d;
    }
    da += (double)a;
    db += (double)b;
  }
  /* the shift as T: account for its rounding */
  double e = (double)sh - shift;
  *s1 += da + e * (double)n;
  *s2 += db + 2 * e * da + e * e * (double)n;
}

/* y = x * scale + shift */
TG_CLONES static void NAME(scale_shift)(const T *x, T *y, int64_t n, T scale, T shift) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) y[i] = x[i] * scale + shift;
}

/* y = ((x - mh) - ml) * scale + shift, the mean m = mh + ml split in two T's (helper
 * rows): x - mh is exact near the mean, so a mean far from 0 (data at 1e4 with unit
 * spread) loses nothing to its rounding, where x * scale - m * scale would cancel */
TG_CLONES static void NAME(centre_scale_shift)(const T *x, T *y, int64_t n, T mh, T ml, T scale, T shift) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) y[i] = ((x[i] - mh) - ml) * scale + shift;
}

/* sg += sum(g), sgx += sum(g (x - mean)), in blocks as shifted_sums */
TG_CLONES static void NAME(grad_sums)(const T *g, const T *x, int64_t n, double mean, double *sg, double *sgx) {
  const T m = (T)mean;
  double da = 0, db = 0;
  for (int64_t i0 = 0; i0 < n; i0 += NORM_BLOCK) {
    int64_t i1 = i0 + NORM_BLOCK < n ? i0 + NORM_BLOCK : n;
    T a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
    for (int64_t i = i0; i < i1; i++) {
      a += g[i];
      b += g[i] * (x[i] - m);
    }
    da += (double)a;
    db += (double)b;
  }
  *sg += da;
  *sgx += db + ((double)m - mean) * da;
}

/* gx = g * A + x * B + C */
TG_CLONES static void NAME(grad_apply)(const T *g, const T *x, T *gx, int64_t n, T A, T B, T C) {
  if (B == 0 && C == 0) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) gx[i] = g[i] * A;
    return;
  }
#pragma omp simd
  for (int64_t i = 0; i < n; i++) gx[i] = g[i] * A + x[i] * B + C;
}

/* mean and 1/sqrt(biased var + eps) of n values that sit in `chunks` pieces of
 * `len` contiguous values `step` apart (a channel of a batch, a group) */
static void NAME(moments)(const T *x, int64_t chunks, int64_t len, int64_t step, double *mean, double *var) {
  double shift = chunks * len > 0 ? (double)x[0] : 0, s1 = 0, s2 = 0;
  for (int64_t k = 0; k < chunks; k++) NAME(shifted_sums)(x + k * step, len, shift, &s1, &s2);
  double n = (double)(chunks * len);
  double m = s1 / n;
  double v = s2 / n - m * m;
  *mean = shift + m;
  *var = v > 0 ? v : 0;
}

/* ------------------------------------------------------------ batch norm */
/* x (N, C, L): per channel the statistics (training) or the given ones, then
 * the normalisation while the channel is still in cache */
static void NAME(bn_channel)(const T *x, T *y, T *mean, T *invstd, const T *w, const T *b, T *rm, T *rv,
                             int64_t N, int64_t C, int64_t L, int64_t c, bool training, double momentum,
                             double eps) {
  double m, istd;
  if (training) {
    double v;
    NAME(moments)(x + c * L, N, L, C * L, &m, &v);
    istd = 1.0 / sqrt(v + eps);
    int64_t M = N * L;
    if (rm) rm[c] = (T)((1 - momentum) * (double)rm[c] + momentum * m);
    if (rv) rv[c] = (T)((1 - momentum) * (double)rv[c] + momentum * v * (double)M / (double)(M - 1));
  } else {
    m = (double)rm[c];
    istd = 1.0 / sqrt((double)rv[c] + eps);
  }
  mean[c] = (T)m;
  invstd[c] = (T)istd;
  double scale = istd * (w ? (double)w[c] : 1.0);
  double shift = (b ? (double)b[c] : 0.0) - m * scale;
  for (int64_t n = 0; n < N; n++) {
    int64_t off = (n * C + c) * L;
    NAME(scale_shift)(x + off, y + off, L, (T)scale, (T)shift);
  }
}

/* x (N, C) (L == 1): rows of C channels; a block of channels accumulates
 * across the rows (contiguous and vectorised), then normalises */
#define BN_BLOCK 256
static void NAME(bn_rows)(const T *x, T *y, T *mean, T *invstd, const T *w, const T *b, T *rm, T *rv, int64_t N,
                          int64_t C, int64_t c0, int64_t c1, bool training, double momentum, double eps) {
  double s1[BN_BLOCK], s2[BN_BLOCK], sh[BN_BLOCK], scale[BN_BLOCK], shift[BN_BLOCK];
  int64_t nc = c1 - c0;
  if (training) {
    for (int64_t j = 0; j < nc; j++) s1[j] = s2[j] = 0, sh[j] = (double)x[c0 + j];
    for (int64_t n = 0; n < N; n++) {
      const T *xr = x + n * C + c0;
#pragma omp simd
      for (int64_t j = 0; j < nc; j++) {
        double d = (double)xr[j] - sh[j];
        s1[j] += d;
        s2[j] += d * d;
      }
    }
  }
  for (int64_t j = 0; j < nc; j++) {
    int64_t c = c0 + j;
    double m, istd;
    if (training) {
      double mm = s1[j] / (double)N, v = s2[j] / (double)N - mm * mm;
      v = v > 0 ? v : 0;
      m = sh[j] + mm;
      istd = 1.0 / sqrt(v + eps);
      if (rm) rm[c] = (T)((1 - momentum) * (double)rm[c] + momentum * m);
      if (rv) rv[c] = (T)((1 - momentum) * (double)rv[c] + momentum * v * (double)N / (double)(N - 1));
    } else {
      m = (double)rm[c];
      istd = 1.0 / sqrt((double)rv[c] + eps);
    }
    mean[c] = (T)m;
    invstd[c] = (T)istd;
    scale[j] = istd * (w ? (double)w[c] : 1.0);
    shift[j] = (b ? (double)b[c] : 0.0) - m * scale[j];
  }
  T sc[BN_BLOCK], sf[BN_BLOCK];
  for (int64_t j = 0; j < nc; j++) sc[j] = (T)scale[j], sf[j] = (T)shift[j];
  for (int64_t n = 0; n < N; n++) {
    const T *xr = x + n * C + c0;
    T *yr = y + n * C + c0;
#pragma omp simd
    for (int64_t j = 0; j < nc; j++) yr[j] = xr[j] * sc[j] + sf[j];
  }
}

static void NAME(batch_norm)(int nt, const T *x, T *y, T *mean, T *invstd, const T *w, const T *b, T *rm, T *rv,
                             int64_t N, int64_t C, int64_t L, bool training, double momentum, double eps) {
  if (L == 1) {
    int64_t nb = (C + BN_BLOCK - 1) / BN_BLOCK;
    if (nt > nb) nt = (int)nb;
    TG_PARALLEL_FOR(for (int64_t k = 0; k < nb; k++) {
      int64_t c0 = k * BN_BLOCK, c1 = c0 + BN_BLOCK < C ? c0 + BN_BLOCK : C;
      NAME(bn_rows)(x, y, mean, invstd, w, b, rm, rv, N, C, c0, c1, training, momentum, eps);
    });
    return;
  }
  if (nt > C) nt = (int)C;
  TG_PARALLEL_FOR(for (int64_t c = 0; c < C; c++)
                      NAME(bn_channel)(x, y, mean, invstd, w, b, rm, rv, N, C, L, c, training, momentum, eps););
}

/* the coefficients of gx = g A + x B + C for one channel, from sg = sum(g),
 * sgx = sum(g (x - mean)) over its M values */
static void NAME(bn_coeffs)(double sg, double sgx, double m, double istd, double wc, int64_t M, bool training,
                            T *A, T *B, T *C) {
  *A = (T)(istd * wc);
  if (!training) {
    *B = 0, *C = 0;
    return;
  }
  double k = sgx * istd * istd / (double)M; /* d var term */
  double gm = sg / (double)M;
  /* gx = (g - gm - (x - m) k) istd wc */
  *B = (T)(-k * istd * wc);
  *C = (T)((m * k - gm) * istd * wc);
}

static void NAME(bn_bwd_channel)(const T *g, const T *x, T *gx, T *gw, T *gb, const T *mean, const T *invstd,
                                 const T *w, int64_t N, int64_t C, int64_t L, int64_t c, bool training) {
  double m = (double)mean[c], istd = (double)invstd[c], sg = 0, sgx = 0;
  bool sums = training || gw || gb;
  if (sums)
    for (int64_t n = 0; n < N; n++) {
      int64_t off = (n * C + c) * L;
      NAME(grad_sums)(g + off, x + off, L, m, &sg, &sgx);
    }
  if (gw) gw[c] = (T)(sgx * istd);
  if (gb) gb[c] = (T)sg;
  if (!gx) return;
  T A, B, Cc;
  NAME(bn_coeffs)(sg, sgx, m, istd, w ? (double)w[c] : 1.0, N * L, training, &A, &B, &Cc);
  for (int64_t n = 0; n < N; n++) {
    int64_t off = (n * C + c) * L;
    NAME(grad_apply)(g + off, x + off, gx + off, L, A, B, Cc);
  }
}

static void NAME(bn_bwd_rows)(const T *g, const T *x, T *gx, T *gw, T *gb, const T *mean, const T *invstd,
                              const T *w, int64_t N, int64_t C, int64_t c0, int64_t c1, bool training) {
  double sg[BN_BLOCK], sgx[BN_BLOCK], m[BN_BLOCK];
  int64_t nc = c1 - c0;
  for (int64_t j = 0; j < nc; j++) sg[j] = sgx[j] = 0, m[j] = (double)mean[c0 + j];
  if (training || gw || gb)
    for (int64_t n = 0; n < N; n++) {
      const T *gr = g + n * C + c0, *xr = x + n * C + c0;
#pragma omp simd
      for (int64_t j = 0; j < nc; j++) {
        double gj = (double)gr[j];
        sg[j] += gj;
        sgx[j] += gj * ((double)xr[j] - m[j]);
      }
    }
  T A[BN_BLOCK], B[BN_BLOCK], Cc[BN_BLOCK];
  for (int64_t j = 0; j < nc; j++) {
    int64_t c = c0 + j;
    double istd = (double)invstd[c];
    if (gw) gw[c] = (T)(sgx[j] * istd);
    if (gb) gb[c] = (T)sg[j];
    NAME(bn_coeffs)(sg[j], sgx[j], m[j], istd, w ? (double)w[c] : 1.0, N, training, &A[j], &B[j], &Cc[j]);
  }
  if (!gx) return;
  for (int64_t n = 0; n < N; n++) {
    const T *gr = g + n * C + c0, *xr = x + n * C + c0;
    T *o = gx + n * C + c0;
#pragma omp simd
    for (int64_t j = 0; j < nc; j++) o[j] = gr[j] * A[j] + xr[j] * B[j] + Cc[j];
  }
}

static void NAME(batch_norm_backward)(int nt, const T *g, const T *x, T *gx, T *gw, T *gb, const T *mean,
                                      const T *invstd, const T *w, int64_t N, int64_t C, int64_t L, bool training) {
  if (L == 1) {
    int64_t nb = (C + BN_BLOCK - 1) / BN_BLOCK;
    if (nt > nb) nt = (int)nb;
    TG_PARALLEL_FOR(for (int64_t k = 0; k < nb; k++) {
      int64_t c0 = k * BN_BLOCK, c1 = c0 + BN_BLOCK < C ? c0 + BN_BLOCK : C;
      NAME(bn_bwd_rows)(g, x, gx, gw, gb, mean, invstd, w, N, C, c0, c1, training);
    });
    return;
  }
  if (nt > C) nt = (int)C;
  TG_PARALLEL_FOR(for (int64_t c = 0; c < C; c++)
                      NAME(bn_bwd_channel)(g, x, gx, gw, gb, mean, invstd, w, N, C, L, c, training););
}

/* ------------------------------------------------- group norm, layer norm */
/* x (N, C, L), G groups: block ng = (n, group) is Cg * L contiguous values
 * (Cg = C / G); weight and bias per channel. Layer norm is G = 1, L = 1. */
TG_CLONES static void NAME(gn_block)(const T *x, T *y, T *mean, T *rstd, const T *w, const T *b, int64_t C, int64_t L,
                           int64_t G, int64_t ng, double eps) {
  int64_t Cg = C / G, K = Cg * L, g0 = (ng % G) * Cg;
  const T *xb = x + ng * K;
  T *yb = y + ng * K;
  double m, v;
  NAME(moments)(xb, 1, K, 0, &m, &v);
  double rs = 1.0 / sqrt(v + eps);
  mean[ng] = (T)m;
  rstd[ng] = (T)rs;
  T tm = (T)m, tl = (T)(m - (double)tm); /* the mean as two T's (helper rows) */
  if (!w && !b) {
    NAME(centre_scale_shift)(xb, yb, K, tm, tl, (T)rs, 0);
  } else if (L == 1) {
    const T *wg = w ? w + g0 : NULL, *bg = b ? b + g0 : NULL;
    T tr = (T)rs;
    if (w && b) {
#pragma omp simd
      for (int64_t j = 0; j < K; j++) yb[j] = ((xb[j] - tm) - tl) * tr * wg[j] + bg[j];
    } else if (w) {
#pragma omp simd
      for (int64_t j = 0; j < K; j++) yb[j] = ((xb[j] - tm) - tl) * tr * wg[j];
    } else {
#pragma omp simd
      for (int64_t j = 0; j < K; j++) yb[j] = ((xb[j] - tm) - tl) * tr + bg[j];
    }
  } else {
    for (int64_t k = 0; k < Cg; k++) {
      double scale = rs * (w ? (double)w[g0 + k] : 1.0);
      double shift = b ? (double)b[g0 + k] : 0.0;
      NAME(centre_scale_shift)(xb + k * L, yb + k * L, L, tm, tl, (T)scale, (T)shift);
    }
  }
}

static void NAME(group_norm)(int nt, const T *x, T *y, T *mean, T *rstd, const T *w, const T *b, int64_t N,
                             int64_t C, int64_t L, int64_t G, double eps) {
  int64_t blocks = N * G;
  if (nt > blocks) nt = (int)blocks;
  TG_PARALLEL_FOR(for (int64_t ng = 0; ng < blocks; ng++) NAME(gn_block)(x, y, mean, rstd, w, b, C, L, G, ng, eps););
}

/* a row with per-element weight (layer norm): S1 += sum(g w), S2 += sum(g w (x - m)) in
 * blocks summed in T's lanes; dw[j] += g xhat, db[j] += g (double, this thread's) in the same loop */
TG_CLONES static void NAME(row_grad_sums)(const T *g, const T *x, const T *w, int64_t K, double m, double rs,
                                          double *dw, double *db, double *S1, double *S2) {
  const T tm = (T)m;
  double s1 = 0, s2 = 0;
  for (int64_t i0 = 0; i0 < K; i0 += NORM_BLOCK) {
    int64_t i1 = i0 + NORM_BLOCK < K ? i0 + NORM_BLOCK : K;
    T a = 0, b = 0;
    if (w) {
#pragma omp simd reduction(+ : a, b)
      for (int64_t j = i0; j < i1; j++) {
        T gw = g[j] * w[j];
        a += gw;
        b += gw * (x[j] - tm);
      }
    } else {
#pragma omp simd reduction(+ : a, b)
      for (int64_t j = i0; j < i1; j++) {
        a += g[j];
        b += g[j] * (x[j] - tm);
      }
    }
    s1 += (double)a;
    s2 += (double)b;
    if (dw && db) {
#pragma omp simd
      for (int64_t j = i0; j < i1; j++) {
        double gj = (double)g[j];
        dw[j] += gj * ((double)x[j] - m) * rs;
        db[j] += gj;
      }
    } else if (dw) {
#pragma omp simd
      for (int64_t j = i0; j < i1; j++) dw[j] += (double)g[j] * ((double)x[j] - m) * rs;
    } else if (db) {
#pragma omp simd
      for (int64_t j = i0; j < i1; j++) db[j] += (double)g[j];
    }
  }
  *S1 += s1;
  *S2 += s2 + ((double)tm - m) * s1;
}

/* one block's backward: gx, and this thread's partial sums of the weight and
 * bias gradients (dw[c] += sum_l g xhat, db[c] += sum_l g) */
TG_CLONES static void NAME(gn_bwd_block)(const T *g, const T *x, T *gx, double *dw, double *db, const T *mean, const T *rstd,
                               const T *w, int64_t C, int64_t L, int64_t G, int64_t ng) {
  int64_t Cg = C / G, K = Cg * L, g0 = (ng % G) * Cg;
  const T *gb_ = g + ng * K, *xb = x + ng * K;
  double m = (double)mean[ng], rs = (double)rstd[ng];
  double S1 = 0, S2 = 0; /* sum(g w), sum(g w (x - m)) */
  if (L == 1) {
    NAME(row_grad_sums)(gb_, xb, w ? w + g0 : NULL, K, m, rs, dw ? dw + g0 : NULL, db ? db + g0 : NULL, &S1, &S2);
  } else {
    for (int64_t k = 0; k < Cg; k++) {
      double sg = 0, sgx = 0, wc = w ? (double)w[g0 + k] : 1.0;
      NAME(grad_sums)(gb_ + k * L, xb + k * L, L, m, &sg, &sgx);
      S1 += wc * sg;
      S2 += wc * sgx;
      if (dw) dw[g0 + k] += sgx * rs;
      if (db) db[g0 + k] += sg;
    }
  }
  if (!gx) return;
  T *o = gx + ng * K;
  double k3 = rs * rs * rs * S2 / (double)K;
  /* gx = rs w g - rs S1 / K - (x - m) rs^3 S2 / K */
  if (L == 1) {
    const T *wg = w ? w + g0 : NULL;
    T a = (T)rs, bb = (T)(-k3), cc = (T)(m * k3 - rs * S1 / (double)K);
    if (wg) {
#pragma omp simd
      for (int64_t j = 0; j < K; j++) o[j] = gb_[j] * wg[j] * a + xb[j] * bb + cc;
    } else {
      NAME(grad_apply)(gb_, xb, o, K, a, bb, cc);
    }
  } else {
    for (int64_t k = 0; k < Cg; k++) {
      double wc = w ? (double)w[g0 + k] : 1.0;
      NAME(grad_apply)(gb_ + k * L, xb + k * L, o + k * L, L, (T)(rs * wc), (T)(-k3), (T)(m * k3 - rs * S1 / (double)K));
    }
  }
}

/* acc: nt * 2 * C doubles of scratch (zeroed here) when gw or gb is wanted */
static void NAME(group_norm_backward)(int nt, const T *g, const T *x, T *gx, T *gw, T *gb, const T *mean,
                                      const T *rstd, const T *w, int64_t N, int64_t C, int64_t L, int64_t G,
                                      double *acc) {
  int64_t blocks = N * G;
  if (nt > blocks) nt = (int)blocks;
  if (nt < 1) nt = 1;
  if (acc) memset(acc, 0, sizeof(double) * 2 * (size_t)C * (size_t)nt);
  TG_PARALLEL_FOR(for (int64_t ng = 0; ng < blocks; ng++) {
    int tid = nt > 1 ? omp_get_thread_num() : 0;
    double *dw = acc && gw ? acc + (size_t)tid * 2 * (size_t)C : NULL;
    double *db = acc && gb ? acc + (size_t)tid * 2 * (size_t)C + (size_t)C : NULL;
    NAME(gn_bwd_block)(g, x, gx, dw, db, mean, rstd, w, C, L, G, ng);
  });
  for (int64_t c = 0; c < C; c++) {
    double sw = 0, sb = 0;
    for (int t = 0; t < nt && acc; t++) sw += acc[(size_t)t * 2 * (size_t)C + (size_t)c], sb += acc[(size_t)t * 2 * (size_t)C + (size_t)C + (size_t)c];
    if (gw) gw[c] = (T)sw;
    if (gb) gb[c] = (T)sb;
  }
}

/* ------------------------------------------------------------- embedding */
/* gw (V, D) = sum over the ids of their rows of g (n, D), scaled by
 * 1 / count(id) when scale; the padding row (0-based, -1 none) gets nothing.
 * Thread t owns the rows [V t / nt, V (t + 1) / nt): no two threads write
 * one row, and each row sums its terms in the ids' order. */
static void NAME(embedding_backward)(int nt, T *gw, const T *g, const int64_t *ids, int64_t n, int64_t V, int64_t D,
                                     int64_t pad, const int64_t *counts) {
  memset(gw, 0, sizeof(T) * (size_t)V * (size_t)D);
  if (nt > V) nt = (int)V;
  if (nt < 1) nt = 1;
  TG_PARALLEL_FOR(for (int t = 0; t < nt; t++) {
    int64_t lo = V * t / nt, hi = V * (t + 1) / nt;
    for (int64_t i = 0; i < n; i++) {
      int64_t r = ids[i] - 1;
      if (r < lo || r >= hi || r == pad) continue;
      T *dst = gw + r * D;
      const T *src = g + i * D;
      if (counts) {
        T s = (T)(1.0 / (double)counts[r]);
        _Pragma("omp simd")
        for (int64_t d = 0; d < D; d++) dst[d] += src[d] * s;
      } else {
        _Pragma("omp simd")
        for (int64_t d = 0; d < D; d++) dst[d] += src[d];
      }
    }
  });
}

/* rows listed in rows[0..nr) of weight (row stride rs, column stride cs) whose
 * p-norm exceeds max_norm are scaled to max_norm / (norm + 1e-7) */
static void NAME(embedding_renorm)(T *wt, int64_t rs, int64_t cs, int64_t D, const int64_t *rows, int64_t nr,
                                   double max_norm, double p) {
  for (int64_t k = 0; k < nr; k++) {
    T *row = wt + rows[k] * rs;
    double norm = 0;
    if (p == 2) {
      for (int64_t d = 0; d < D; d++) norm += (double)row[d * cs] * (double)row[d * cs];
      norm = sqrt(norm);
    } else if (p == 1) {
      for (int64_t d = 0; d < D; d++) norm += fabs((double)row[d * cs]);
    } else if (isinf(p) && p > 0) {
      for (int64_t d = 0; d < D; d++) norm = fmax(norm, fabs((double)row[d * cs]));
    } else if (isinf(p)) {
      norm = INFINITY;
      for (int64_t d = 0; d < D; d++) norm = fmin(norm, fabs((double)row[d * cs]));
    } else if (p == 0) {
      for (int64_t d = 0; d < D; d++) norm += row[d * cs] != 0;
    } else {
      for (int64_t d = 0; d < D; d++) norm += pow(fabs((double)row[d * cs]), p);
      norm = pow(norm, 1.0 / p);
    }
    if (norm > max_norm) {
      double scale = max_norm / (norm + 1e-7);
      for (int64_t d = 0; d < D; d++) row[d * cs] = (T)((double)row[d * cs] * scale);
    }
  }
}

#undef NAME
#undef NAME1
#undef NAME2
