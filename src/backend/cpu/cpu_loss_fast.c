/* cpu_loss_fast.c (helper rows, issue 11): the pointwise loss terms and their
 * input gradients on contiguous float32 operands, computed in float with
 * vector-friendly math (tg_vexpf, tg_vlogf) in `omp simd` loops compiled for
 * AVX-512 / AVX2 / baseline (TG_CLONES). cpu_nn.c's generic strided loop
 * (double arithmetic, libm) remains for float64, broadcast and strided
 * operands. Formulas as cpu_nn.c's loss_term; split across threads in fixed
 * chunks, so every thread count gives the same bits. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"
#include "cpu_nn.h"
#include "cpu_vmath.h"

#define LF_GRAIN 65536
#define LF_CHUNK 16384

/* log1p in float, accurate for small u (Goldberg): log(w) u / (w - 1), w = 1 + u */
static inline float lf_log1p(float u) {
  float w = 1.0f + u, l = tg_vlogf(w), d = w - 1.0f;
  return w == 1.0f ? u : l * (u / (d == 0.0f ? 1.0f : d));
}
static inline float lf_max(float a, float b) { return a < b ? b : a; } /* nan a stays nan, as fmax would not */
static inline float lf_sign(float d) { return (float)((d > 0) - (d < 0)); }
static inline float lf_softplus_neg(float x) { /* log(1 + exp(-x)) = max(-x, 0) + log1p(exp(-|x|)) */
  return (x < 0 ? -x : 0.0f) + lf_log1p(tg_vexpf(-__builtin_fabsf(x)));
}
static inline float lf_sigmoid(float x) {
  float e = tg_vexpf(-__builtin_fabsf(x)), r = 1.0f / (1.0f + e);
  return x >= 0 ? r : e * r;
}

/* V: the term from xv, yv, wv (1 without w) and p; BAD: 1 where the input is invalid */
#define LF_KERNEL(NAME, V, BAD)                                                                     \
  TG_CLONES static int lf_##NAME(int64_t n, float *o, const float *x, const float *y, const float *w, \
                                 float p, float sc, bool w_mul) {                                    \
    int bad = 0;                                                                                     \
    (void)p;                                                                                         \
    if (w) {                                                                                         \
      _Pragma("omp simd reduction(| : bad)") for (int64_t i = 0; i < n; i++) {                       \
        float xv = x[i], yv = y[i], wv = w[i];                                                       \
        float v = (V) * sc;                                                                          \
        bad |= (BAD);                                                                                \
        o[i] = w_mul ? v * wv : v;                                                                   \
      }                                                                                              \
    } else {                                                                                         \
      _Pragma("omp simd reduction(| : bad)") for (int64_t i = 0; i < n; i++) {                       \
        float xv = x[i], yv = y[i], wv = 1.0f;                                                       \
        (void)wv;                                                                                    \
        bad |= (BAD);                                                                                \
        o[i] = (V) * sc;                                                                             \
      }                                                                                              \
    }                                                                                                \
    return bad;                                                                                      \
  }

#define D (xv - yv)
#define AD __builtin_fabsf(xv - yv)
LF_KERNEL(mse, D * D, 0)
LF_KERNEL(mse_grad, 2.0f * D, 0)
LF_KERNEL(bce, (yv - 1.0f) * lf_max(lf_log1p(-xv), -100.0f) - yv * lf_max(tg_vlogf(xv), -100.0f),
          !(xv >= 0.0f && xv <= 1.0f))
LF_KERNEL(bce_grad, D / lf_max(xv * (1.0f - xv), 1e-12f), 0)
LF_KERNEL(bce_logits, (1.0f - yv) * xv + (1.0f + (wv - 1.0f) * yv) * lf_softplus_neg(xv), 0)
LF_KERNEL(bce_logits_grad, lf_sigmoid(xv) * (1.0f + (wv - 1.0f) * yv) - wv * yv, 0)
LF_KERNEL(smooth_l1, AD < p ? 0.5f * AD * AD / p : AD - 0.5f * p, 0)
LF_KERNEL(smooth_l1_grad, AD <= p ? D / p : lf_sign(D), 0)
LF_KERNEL(huber, AD < p ? 0.5f * AD * AD : p * (AD - 0.5f * p), 0)
LF_KERNEL(huber_grad, AD <= p ? D : p * lf_sign(D), 0)
#undef D
#undef AD

typedef int (*lf_fn)(int64_t, float *, const float *, const float *, const float *, float, float, bool);

int tg_cpu_loss_contig_float(tg_ctx *c, tg_loss_kind k, float *o, const float *x, const float *y, const float *w,
                             int64_t n, double p, double scale, bool w_mul) {
  static const lf_fn fns[] = {
      [TG_LOSS_MSE] = lf_mse, [TG_LOSS_BCE] = lf_bce, [TG_LOSS_BCE_LOGITS] = lf_bce_logits,
      [TG_LOSS_SMOOTH_L1] = lf_smooth_l1, [TG_LOSS_HUBER] = lf_huber, [TG_LOSS_MSE_GRAD] = lf_mse_grad,
      [TG_LOSS_BCE_GRAD] = lf_bce_grad, [TG_LOSS_BCE_LOGITS_GRAD] = lf_bce_logits_grad,
      [TG_LOSS_SMOOTH_L1_GRAD] = lf_smooth_l1_grad, [TG_LOSS_HUBER_GRAD] = lf_huber_grad};
  if ((unsigned)k >= sizeof fns / sizeof fns[0] || !fns[k]) return tg_err(c, "loss kernel: unknown kind");
  lf_fn f = fns[k];
  int64_t chunks = (n + LF_CHUNK - 1) / LF_CHUNK;
  int nt = c->num_threads > 0 ? c->num_threads : 1, bad = 0;
  if (n < LF_GRAIN) nt = 1;
  if (nt > chunks) nt = (int)chunks;
  float fp = (float)p, sc = (float)scale;
  TG_PARALLEL_FOR(for (int64_t t = 0; t < chunks; t++) {
    int64_t i0 = t * LF_CHUNK, m = n - i0 < LF_CHUNK ? n - i0 : LF_CHUNK;
    if (f(m, o + i0, x + i0, y + i0, w ? w + i0 : NULL, fp, sc, w_mul))
      __atomic_store_n(&bad, 1, __ATOMIC_RELAXED);
  });
  return bad;
}
