/* cpu_pool.c: CPU kernels of the pools (max, avg, adaptive max/avg, forward and
 * backward), and of the separable resampling behind F.pad's reflect/replicate
 * modes and F.interpolate (forward: a gather with weights; backward: its adjoint,
 * a scatter-add). Every tensor is a contiguous stack of planes; the work is split
 * across threads by planes, so a backward scatter never races.
 *
 * The window rules are PyTorch's CPU kernels' (aten/src/ATen/native/cpu/
 * MaxPoolKernel.cpp, AvgPoolKernel.cpp, AdaptiveAvgPoolKernel.cpp): a max window
 * starts at its first element inside the input, NaN wins, ties keep the first;
 * an avg window counts the padding it covers (count_include_pad) up to the
 * padded input's end. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../backend_pool.h"
#include "cpu.h"
#include "cpu_pool.h"

#define POOL_GRAIN 16384

static int threads_for(tg_ctx *c, int64_t work, int64_t planes) {
  int nt = c->num_threads > 0 ? c->num_threads : 1;
  if (work < POOL_GRAIN || planes < 2) return 1;
  return planes < nt ? (int)planes : nt;
}

/* the plane count and the two inner sizes of a (.., H, W) tensor */
static void planes_of(const tg_tensor *t, int64_t *p, int64_t *h, int64_t *w) {
  int nd = t->ndim;
  *h = nd >= 2 ? t->size[nd - 2] : 1;
  *w = nd >= 1 ? t->size[nd - 1] : 1;
  *p = 1;
  for (int d = 0; d < nd - 2; d++) *p *= t->size[d];
}

static inline int64_t start_index(int64_t o, int64_t osz, int64_t isz) { return (o * isz) / osz; }
static inline int64_t end_index(int64_t o, int64_t osz, int64_t isz) { return ((o + 1) * isz + osz - 1) / osz; }

#define IS_NAN_float(v) ((v) != (v))
#define IS_NAN_double(v) ((v) != (v))
#define IS_NAN_int64_t(v) 0
#define LOWEST_float (-INFINITY)
#define LOWEST_double (-INFINITY)
#define LOWEST_int64_t INT64_MIN

/* ------------------------------------------------------------- max pools */
/* One output row at a time, window tap by window tap: for a tap (ih, j) the outputs
 * ow read x[ih, ow*sw + j*dw - pw], one independent branch-free max update per
 * output (the taps of a window are visited in PyTorch's order, so ties keep the
 * first); m and mi hold the row's running maxima and their positions. */
#define MAX_POOL_KERNELS(T)                                                                                \
  static void max_pool_##T(tg_ctx *c, const T *x, T *y, int64_t *ix, int64_t P, int64_t H, int64_t W,    \
                           int64_t OH, int64_t OW, const tg_pool2d_args *a) {                             \
    int nt = threads_for(c, P * OH * OW * a->kh * a->kw, P);                                               \
    TG_PARALLEL_FOR(for (int64_t p = 0; p < P; p++) {                                                      \
      const T *xp = x + p * H * W;                                                                         \
      for (int64_t oh = 0; oh < OH; oh++) {                                                                \
        T *m = y + (p * OH + oh) * OW;                                                                     \
        int64_t *mi = ix ? ix + (p * OH + oh) * OW : NULL;                                                 \
        int64_t ih0 = oh * a->sh - a->ph;                                                                  \
        int64_t ih1 = ih0 + (a->kh - 1) * a->dh + 1;                                                       \
        if (ih1 > H) ih1 = H;                                                                              \
        while (ih0 < 0) ih0 += a->dh;                                                                      \
        for (int64_t ow = 0; ow < OW; ow++) {                                                              \
          m[ow] = LOWEST_##T;                                                                              \
          if (mi) {                                                                                        \
            int64_t iw0 = ow * a->sw - a->pw;                                                              \
            while (iw0 < 0) iw0 += a->dw;                                                                  \
            mi[ow] = ih0 * W + iw0 + 1;                                                                    \
          }                                                                                                \
        }                                                                                                  \
        for (int64_t ih = ih0; ih < ih1; ih += a->dh) {                                                    \
          const T *xr = xp + ih * W;                                                                       \
          for (int64_t j = 0; j < a->kw; j++) {                                                            \
            const int64_t off = j * a->dw - a->pw, sw = a->sw;                                             \
            int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;                                              \
            int64_t hi = W - 1 - off >= 0 ? (W - 1 - off) / sw : -1;                                       \
            if (hi > OW - 1) hi = OW - 1;                                                                  \
            if (mi) {                                                                                      \
              const int64_t base = ih * W + off + 1;                                                       \
              for (int64_t ow = lo; ow <= hi; ow++) {                                                      \
                T v = xr[ow * sw + off], cur = m[ow];                                                      \
                int64_t mask = -(int64_t)((v > cur) | IS_NAN_##T(v)); /* all ones: take v */               \
                m[ow] = mask ? v : cur;                                                                    \
                mi[ow] = (mi[ow] & ~mask) | ((base + ow * sw) & mask);                                     \
              }                                                                                            \
            } else {                                                                                       \
              for (int64_t ow = lo; ow <= hi; ow++) {                                                      \
                T v = xr[ow * sw + off];                                                                   \
                m[ow] = ((v > m[ow]) | IS_NAN_##T(v)) ? v : m[ow];                                         \
              }                                                                                            \
            }                                                                                              \
          }                                                                                                \
        }                                                                                                  \
      }                                                                                                    \
    });                                                                                                    \
  }                                                                                                        \
  static void adaptive_max_##T(tg_ctx *c, const T *x, T *y, int64_t *ix, int64_t P, int64_t H, int64_t W, \
                               int64_t OH, int64_t OW) {                                                   \
    int nt = threads_for(c, P * H * W, P);                                                                 \
    TG_PARALLEL_FOR(for (int64_t p = 0; p < P; p++) {                                                      \
      const T *xp = x + p * H * W;                                                                         \
      for (int64_t oh = 0; oh < OH; oh++) {                                                                \
        int64_t ih0 = start_index(oh, OH, H), ih1 = end_index(oh, OH, H);                                  \
        for (int64_t ow = 0; ow < OW; ow++) {                                                              \
          int64_t iw0 = start_index(ow, OW, W), iw1 = end_index(ow, OW, W);                                \
          int64_t mi = ih0 * W + iw0;                                                                      \
          T mv = LOWEST_##T;                                                                               \
          for (int64_t ih = ih0; ih < ih1; ih++)                                                           \
            for (int64_t iw = iw0; iw < iw1; iw++) {                                                       \
              T v = xp[ih * W + iw];                                                                       \
              if (v > mv || IS_NAN_##T(v)) mv = v, mi = ih * W + iw;                                       \
            }                                                                                              \
          y[(p * OH + oh) * OW + ow] = mv;                                                                 \
          if (ix) ix[(p * OH + oh) * OW + ow] = mi + 1;                                                    \
        }                                                                                                  \
      }                                                                                                    \
    });                                                                                                    \
  }
MAX_POOL_KERNELS(float)
MAX_POOL_KERNELS(double)
MAX_POOL_KERNELS(int64_t)

/* The common 2x2 window, stride 2, no padding or dilation, every window inside the
 * input (helper cnn): the four taps in the general kernel's order, with its rules
 * (a later tap wins when greater or NaN, so ties keep the first), and the winner's
 * tap number k (0..3) turned into its index at the end; vectorises, where the
 * general kernel's tap-by-tap passes over the output row did not. */
#define MAX_POOL_2X2(T)                                                                                   \
  TG_CLONES __attribute__((unused)) static void max_pool_2x2_planes_##T(const T *restrict x, T *restrict y, int64_t *restrict ix,  \
                                                int64_t p0, int64_t p1, int64_t H, int64_t W, int64_t OH,  \
                                                int64_t OW) {                                             \
    for (int64_t p = p0; p < p1; p++)                                                                     \
      for (int64_t oh = 0; oh < OH; oh++) {                                                               \
        const T *restrict r0 = x + p * H * W + 2 * oh * W, *restrict r1 = r0 + W;                         \
        T *restrict m = y + (p * OH + oh) * OW;                                                           \
        if (ix) {                                                                                         \
          int64_t *restrict mi = ix + (p * OH + oh) * OW, base = 2 * oh * W + 1;                          \
          for (int64_t ow = 0; ow < OW; ow++) {                                                           \
            T a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1], v = a;              \
            int64_t k = 0, t; /* selects, not branches: the comparisons are coin flips on real data */   \
            t = (b > v) | IS_NAN_##T(b), v = t ? b : v, k = t ? 1 : k;                                    \
            t = (c > v) | IS_NAN_##T(c), v = t ? c : v, k = t ? W : k;                                    \
            t = (d > v) | IS_NAN_##T(d), v = t ? d : v, k = t ? W + 1 : k;                                \
            m[ow] = v;                                                                                    \
            mi[ow] = base + 2 * ow + k;                                                                   \
          }                                                                                               \
        } else {                                                                                          \
          for (int64_t ow = 0; ow < OW; ow++) {                                                           \
            T a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1], v = a;              \
            v = ((b > v) | IS_NAN_##T(b)) ? b : v;                                                        \
            v = ((c > v) | IS_NAN_##T(c)) ? c : v;                                                        \
            v = ((d > v) | IS_NAN_##T(d)) ? d : v;                                                        \
            m[ow] = v;                                                                                    \
          }                                                                                               \
        }                                                                                                 \
      }                                                                                                   \
  }                                                                                                       \
  static void max_pool_2x2_##T(tg_ctx *c, const T *x, T *y, int64_t *ix, int64_t P, int64_t H, int64_t W, \
                               int64_t OH, int64_t OW) {                                                  \
    int nt = threads_for(c, P * OH * OW * 4, P);                                                          \
    if (nt <= 1) return PLANES_##T(x, y, ix, 0, P, H, W, OH, OW);                                          \
    TG_PARALLEL_FOR(for (int t = 0; t < nt; t++) PLANES_##T(x, y, ix, P * t / nt, P * (t + 1) / nt, H, W, OH, OW);); \
  }
#define PLANES_double max_pool_2x2_planes_double
MAX_POOL_2X2(double)

/* float32 with GCC's generic vectors, 8 outputs at a time: the rows of a small CNN's
 * planes are 14 or 7 outputs long, and the compiler's own vector loop ran them in its
 * scalar remainder, with a mispredicted branch per comparison. A row's last partial
 * chunk goes through a zero-padded copy, so every output is made by the vector code. */
#if defined(__GNUC__)
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef int64_t v4l __attribute__((vector_size(32)));
typedef int32_t v4i __attribute__((vector_size(16)));

/* 8 outputs from 16 floats of each row; k: the winner's offset (0, 1, W, W + 1) */
static inline __attribute__((always_inline)) void pool8(const float *r0, const float *r1, v8f *out, v8i *k, int32_t W) {
  v8f x0, x1, y0, y1;
  memcpy(&x0, r0, 32), memcpy(&x1, r0 + 8, 32), memcpy(&y0, r1, 32), memcpy(&y1, r1 + 8, 32);
  const v8i ev = {0, 2, 4, 6, 8, 10, 12, 14}, od = {1, 3, 5, 7, 9, 11, 13, 15};
  v8f a = __builtin_shuffle(x0, x1, ev), b = __builtin_shuffle(x0, x1, od);
  v8f c = __builtin_shuffle(y0, y1, ev), d = __builtin_shuffle(y0, y1, od);
  v8i t = (b > a) | (b != b);
  v8f v = (v8f)(((v8i)b & t) | ((v8i)a & ~t));
  v8i kk = t & 1;
  t = (c > v) | (c != c);
  v = (v8f)(((v8i)c & t) | ((v8i)v & ~t));
  kk = (t & W) | (kk & ~t);
  t = (d > v) | (d != d);
  v = (v8f)(((v8i)d & t) | ((v8i)v & ~t));
  *k = (t & (W + 1)) | (kk & ~t);
  *out = v;
}

static inline __attribute__((always_inline)) void store8(float *m, int64_t *mi, const v8f *vp, const v8i *kp, int64_t base,
                                                          int n) {
  v8f v = *vp;
  v8i k = *kp;
  if (n == 8) memcpy(m, &v, 32);
  else memcpy(m, &v, (size_t)n * 4);
  if (!mi) return;
  v4i lo = {k[0], k[1], k[2], k[3]}, hi = {k[4], k[5], k[6], k[7]};
  const v4l step = {0, 2, 4, 6};
  v4l l = __builtin_convertvector(lo, v4l) + base + step, h = __builtin_convertvector(hi, v4l) + (base + 8) + step;
  if (n == 8) memcpy(mi, &l, 32), memcpy(mi + 4, &h, 32);
  else {
    int64_t tmp[8];
    memcpy(tmp, &l, 32), memcpy(tmp + 4, &h, 32);
    memcpy(mi, tmp, (size_t)n * 8);
  }
}

/* Rows of output q of 8: a row's last chunk may run past its end, into the next row's
 * input (read, never used) and outputs (written, then overwritten when that row comes,
 * in order): only at the end of this call's planes (and of the input) the padded copy */
TG_CLONES static void max_pool_2x2_vplanes(const float *x, float *y, int64_t *ix, int64_t p0, int64_t p1, int64_t H,
                                           int64_t W, int64_t OH, int64_t OW) {
  const float *x_end = x + p1 * H * W;
  const float *y_end = y + p1 * OH * OW;
  for (int64_t p = p0; p < p1; p++)
    for (int64_t oh = 0; oh < OH; oh++) {
      const float *r0 = x + p * H * W + 2 * oh * W, *r1 = r0 + W;
      float *m = y + (p * OH + oh) * OW;
      int64_t *mi = ix ? ix + (p * OH + oh) * OW : NULL, base = 2 * oh * W + 1;
      v8f v;
      v8i k;
      for (int64_t ow = 0; ow < OW; ow += 8) {
        int n = OW - ow < 8 ? (int)(OW - ow) : 8;
        if (n == 8 || (r1 + 2 * ow + 16 <= x_end && m + ow + 8 <= y_end)) {
          pool8(r0 + 2 * ow, r1 + 2 * ow, &v, &k, (int32_t)W);
          store8(m + ow, mi ? mi + ow : NULL, &v, &k, base + 2 * ow, 8);
        } else {
          float a[16] = {0}, b[16] = {0};
          for (int j = 0; j < 2 * n; j++) a[j] = r0[2 * ow + j], b[j] = r1[2 * ow + j];
          pool8(a, b, &v, &k, (int32_t)W);
          store8(m + ow, mi ? mi + ow : NULL, &v, &k, base + 2 * ow, n);
        }
      }
    }
}
#define PLANES_float max_pool_2x2_vplanes
#else
#define PLANES_float max_pool_2x2_planes_float
#endif
MAX_POOL_2X2(float)

static bool is_2x2(const tg_pool2d_args *a, int64_t H, int64_t W, int64_t OH, int64_t OW) {
  return a->kh == 2 && a->kw == 2 && a->sh == 2 && a->sw == 2 && a->ph == 0 && a->pw == 0 && a->dh == 1 &&
         a->dw == 1 && 2 * OH <= H && 2 * OW <= W;
}

int tg_cpu_max_pool2d(tg_ctx *c, tg_tensor *out, tg_tensor *idx, const tg_tensor *x, const tg_pool2d_args *a) {
  int64_t P, H, W, P2, OH, OW;
  planes_of(x, &P, &H, &W);
  planes_of(out, &P2, &OH, &OW);
  int64_t *ix = idx ? tg_data(idx) : NULL;
  if (is_2x2(a, H, W, OH, OW) && x->dtype == TG_FLOAT32)
    return max_pool_2x2_float(c, tg_data(x), tg_data(out), ix, P, H, W, OH, OW), 0;
  if (is_2x2(a, H, W, OH, OW) && x->dtype == TG_FLOAT64)
    return max_pool_2x2_double(c, tg_data(x), tg_data(out), ix, P, H, W, OH, OW), 0;
  switch (x->dtype) {
    case TG_FLOAT32: max_pool_float(c, tg_data(x), tg_data(out), ix, P, H, W, OH, OW, a); return 0;
    case TG_FLOAT64: max_pool_double(c, tg_data(x), tg_data(out), ix, P, H, W, OH, OW, a); return 0;
    case TG_INT64: max_pool_int64_t(c, tg_data(x), tg_data(out), ix, P, H, W, OH, OW, a); return 0;
    default: return tg_err(c, "\"max_pool2d\" not implemented for '%s'", tg_torch_dtype_name(x->dtype));
  }
}

int tg_cpu_adaptive_max_pool2d(tg_ctx *c, tg_tensor *out, tg_tensor *idx, const tg_tensor *x) {
  int64_t P, H, W, P2, OH, OW;
  planes_of(x, &P, &H, &W);
  planes_of(out, &P2, &OH, &OW);
  int64_t *ix = idx ? tg_data(idx) : NULL;
  switch (x->dtype) {
    case TG_FLOAT32: adaptive_max_float(c, tg_data(x), tg_data(out), ix, P, H, W, OH, OW); return 0;
    case TG_FLOAT64: adaptive_max_double(c, tg_data(x), tg_data(out), ix, P, H, W, OH, OW); return 0;
    case TG_INT64: adaptive_max_int64_t(c, tg_data(x), tg_data(out), ix, P, H, W, OH, OW); return 0;
    default: return tg_err(c, "\"adaptive_max_pool2d\" not implemented for '%s'", tg_torch_dtype_name(x->dtype));
  }
}

#define MAX_BACKWARD(T)                                                                                   \
  static void max_backward_##T(tg_ctx *c, T *gx, const T *g, const int64_t *ix, int64_t P, int64_t HW,    \
                               int64_t OHW) {                                                            \
    int nt = threads_for(c, P * (HW + OHW), P);                                                           \
    TG_PARALLEL_FOR(for (int64_t p = 0; p < P; p++) {                                                     \
      T *gp = gx + p * HW;                                                                                \
      const T *gg = g + p * OHW;                                                                          \
      const int64_t *ip = ix + p * OHW;                                                                   \
      memset(gp, 0, sizeof(T) * (size_t)HW);                                                              \
      for (int64_t j = 0; j < OHW; j++) {                                                                 \
        int64_t k = ip[j] - 1;                                                                            \
        if (k >= 0 && k < HW) gp[k] += gg[j];                                                             \
      }                                                                                                   \
    });                                                                                                   \
  }
MAX_BACKWARD(float)
MAX_BACKWARD(double)

int tg_cpu_max_pool2d_backward(tg_ctx *c, tg_tensor *gx, const tg_tensor *g, const tg_tensor *idx) {
  int64_t P, H, W, P2, OH, OW;
  planes_of(gx, &P, &H, &W);
  planes_of(g, &P2, &OH, &OW);
  if (gx->dtype == TG_FLOAT32) max_backward_float(c, tg_data(gx), tg_data(g), tg_data(idx), P, H * W, OH * OW);
  else if (gx->dtype == TG_FLOAT64) max_backward_double(c, tg_data(gx), tg_data(g), tg_data(idx), P, H * W, OH * OW);
  else return tg_err(c, "\"max_pool2d_backward\" not implemented for '%s'", tg_torch_dtype_name(gx->dtype));
  return 0;
}

/* ------------------------------------------------------------- avg pools */
/* the window of output (oh, ow) clipped to the input, and its divisor; false if empty */
static inline bool avg_window(const tg_pool2d_args *a, int64_t H, int64_t W, int64_t oh, int64_t ow, int64_t *h0,
                              int64_t *h1, int64_t *w0, int64_t *w1, int64_t *div) {
  int64_t ih0 = oh * a->sh - a->ph, iw0 = ow * a->sw - a->pw;
  int64_t ih1 = ih0 + a->kh, iw1 = iw0 + a->kw;
  if (ih1 > H + a->ph) ih1 = H + a->ph;
  if (iw1 > W + a->pw) iw1 = W + a->pw;
  int64_t pool_size = (ih1 - ih0) * (iw1 - iw0);
  if (ih0 < 0) ih0 = 0;
  if (iw0 < 0) iw0 = 0;
  if (ih1 > H) ih1 = H;
  if (iw1 > W) iw1 = W;
  *h0 = ih0, *h1 = ih1, *w0 = iw0, *w1 = iw1;
  if (ih0 >= ih1 || iw0 >= iw1) return false;
  *div = a->divisor ? a->divisor : a->count_include_pad ? pool_size : (ih1 - ih0) * (iw1 - iw0);
  return true;
}

#define AVG_KERNELS(T)                                                                                    \
  static void avg_pool_##T(tg_ctx *c, const T *x, T *y, int64_t P, int64_t H, int64_t W, int64_t OH,       \
                           int64_t OW, const tg_pool2d_args *a, bool bwd) {                               \
    int nt = threads_for(c, P * OH * OW * a->kh * a->kw, P);                                              \
    TG_PARALLEL_FOR(for (int64_t p = 0; p < P; p++) {                                                     \
      /* forward: x (H, W) planes -> y (OH, OW); backward: x = g (OH, OW) -> y = gx (H, W) */             \
      const T *xp = x + p * (bwd ? OH * OW : H * W);                                                      \
      T *yp = y + p * (bwd ? H * W : OH * OW);                                                            \
      if (bwd) memset(yp, 0, sizeof(T) * (size_t)(H * W));                                                \
      for (int64_t oh = 0; oh < OH; oh++)                                                                 \
        for (int64_t ow = 0; ow < OW; ow++) {                                                             \
          int64_t h0, h1, w0, w1, dv;                                                                     \
          if (!avg_window(a, H, W, oh, ow, &h0, &h1, &w0, &w1, &dv)) {                                    \
            if (!bwd) yp[oh * OW + ow] = 0;                                                               \
            continue;                                                                                     \
          }                                                                                               \
          if (bwd) {                                                                                      \
            T gv = xp[oh * OW + ow] / (T)dv;                                                              \
            for (int64_t ih = h0; ih < h1; ih++)                                                          \
              for (int64_t iw = w0; iw < w1; iw++) yp[ih * W + iw] += gv;                                 \
          } else {                                                                                        \
            T s = 0;                                                                                      \
            for (int64_t ih = h0; ih < h1; ih++)                                                          \
              for (int64_t iw = w0; iw < w1; iw++) s += xp[ih * W + iw];                                  \
            yp[oh * OW + ow] = s / (T)dv;                                                                 \
          }                                                                                               \
        }                                                                                                 \
    });                                                                                                   \
  }                                                                                                       \
  static void adaptive_avg_##T(tg_ctx *c, const T *x, T *y, int64_t P, int64_t H, int64_t W, int64_t OH,  \
                               int64_t OW, bool bwd) {                                                    \
    int nt = threads_for(c, P * (H * W + OH * OW), P);                                                    \
    TG_PARALLEL_FOR(for (int64_t p = 0; p < P; p++) {                                                     \
      const T *xp = x + p * (bwd ? OH * OW : H * W);                                                      \
      T *yp = y + p * (bwd ? H * W : OH * OW);                                                            \
      if (bwd) memset(yp, 0, sizeof(T) * (size_t)(H * W));                                                \
      for (int64_t oh = 0; oh < OH; oh++) {                                                               \
        int64_t h0 = start_index(oh, OH, H), h1 = end_index(oh, OH, H);                                   \
        for (int64_t ow = 0; ow < OW; ow++) {                                                             \
          int64_t w0 = start_index(ow, OW, W), w1 = end_index(ow, OW, W);                                 \
          T dv = (T)((h1 - h0) * (w1 - w0));                                                              \
          if (bwd) {                                                                                      \
            T gv = xp[oh * OW + ow] / dv;                                                                 \
            for (int64_t ih = h0; ih < h1; ih++)                                                          \
              for (int64_t iw = w0; iw < w1; iw++) yp[ih * W + iw] += gv;                                 \
          } else {                                                                                        \
            T s = 0;                                                                                      \
            if (w0 == 0 && w1 == W) { /* whole rows: one contiguous run */                                \
              const T *xr = xp + h0 * W;                                                                  \
              int64_t len = (h1 - h0) * W;                                                                \
              _Pragma("omp simd reduction(+ : s)")                                                        \
              for (int64_t j = 0; j < len; j++) s += xr[j];                                               \
            } else {                                                                                      \
              for (int64_t ih = h0; ih < h1; ih++) {                                                      \
                const T *xr = xp + ih * W;                                                                \
                _Pragma("omp simd reduction(+ : s)")                                                      \
                for (int64_t iw = w0; iw < w1; iw++) s += xr[iw];                                         \
              }                                                                                           \
            }                                                                                             \
            yp[oh * OW + ow] = s / dv;                                                                    \
          }                                                                                               \
        }                                                                                                 \
      }                                                                                                   \
    });                                                                                                   \
  }
AVG_KERNELS(float)
AVG_KERNELS(double)

/* out and x as (P, H, W) / (P, OH, OW) according to the direction */
static void pool_dims(const tg_tensor *out, const tg_tensor *x, bool bwd, int64_t *P, int64_t *H, int64_t *W,
                      int64_t *OH, int64_t *OW) {
  int64_t P2;
  planes_of(bwd ? out : x, P, H, W);
  planes_of(bwd ? x : out, &P2, OH, OW);
}

int tg_cpu_avg_pool2d(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const tg_pool2d_args *a, bool backward) {
  int64_t P, H, W, OH, OW;
  pool_dims(out, x, backward, &P, &H, &W, &OH, &OW);
  if (x->dtype == TG_FLOAT32) avg_pool_float(c, tg_data(x), tg_data(out), P, H, W, OH, OW, a, backward);
  else if (x->dtype == TG_FLOAT64) avg_pool_double(c, tg_data(x), tg_data(out), P, H, W, OH, OW, a, backward);
  else return tg_err(c, "\"avg_pool2d\" not implemented for '%s'", tg_torch_dtype_name(x->dtype));
  return 0;
}

int tg_cpu_adaptive_avg_pool2d(tg_ctx *c, tg_tensor *out, const tg_tensor *x, bool backward) {
  int64_t P, H, W, OH, OW;
  pool_dims(out, x, backward, &P, &H, &W, &OH, &OW);
  if (x->dtype == TG_FLOAT32) adaptive_avg_float(c, tg_data(x), tg_data(out), P, H, W, OH, OW, backward);
  else if (x->dtype == TG_FLOAT64) adaptive_avg_double(c, tg_data(x), tg_data(out), P, H, W, OH, OW, backward);
  else return tg_err(c, "\"adaptive_avg_pool2d\" not implemented for '%s'", tg_torch_dtype_name(x->dtype));
  return 0;
}

/* -------------------------------------------------------------- resample */
/* a plane of I0 x I1 x I2 inputs and O0 x O1 x O2 outputs; taps 1 (index map) or 2 per dim */
#define RESAMPLE_KERNELS(T)                                                                               \
  static void resample_##T(tg_ctx *c, const T *x, T *y, int64_t P, const tg_resample_plan *pl, bool bwd) { \
    const int64_t I1 = pl->in[1], I2 = pl->in[2], O0 = pl->out[0], O1 = pl->out[1], O2 = pl->out[2];     \
    const int64_t IN = pl->in[0] * I1 * I2, ON = O0 * O1 * O2;                                             \
    const int t0 = pl->taps[0], t1 = pl->taps[1], t2 = pl->taps[2];                                       \
    int nt = threads_for(c, P * (ON * t0 * t1 * t2 + IN), P);                                             \
    TG_PARALLEL_FOR(for (int64_t p = 0; p < P; p++) {                                                     \
      const T *xp = x + p * (bwd ? ON : IN);                                                              \
      T *yp = y + p * (bwd ? IN : ON);                                                                    \
      if (bwd) memset(yp, 0, sizeof(T) * (size_t)IN);                                                     \
      for (int64_t o0 = 0; o0 < O0; o0++)                                                                 \
        for (int64_t o1 = 0; o1 < O1; o1++) {                                                             \
          T *yr = bwd ? NULL : yp + (o0 * O1 + o1) * O2;                                                  \
          const T *gr = bwd ? xp + (o0 * O1 + o1) * O2 : NULL;                                            \
          if (t0 == 1 && t1 == 1 && t2 == 1) { /* an index map: a plain gather / scatter */               \
            const int64_t base = (pl->idx[0][0][o0] * I1 + pl->idx[1][0][o1]) * I2;                       \
            const int64_t *i2 = pl->idx[2][0];                                                            \
            if (bwd)                                                                                      \
              for (int64_t o2 = 0; o2 < O2; o2++) yp[base + i2[o2]] += gr[o2];                            \
            else                                                                                          \
              for (int64_t o2 = 0; o2 < O2; o2++) yr[o2] = xp[base + i2[o2]];                             \
            continue;                                                                                     \
          }                                                                                               \
          if (t0 == 1 && t1 <= 2 && t2 <= 2) { /* 1-D and 2-D resizing: one or two rows, taps of the last dim unrolled */      \
            const int64_t base0 = pl->idx[0][0][o0] * I1;                                                 \
            const T w0 = (T)pl->w[0][0][o0];                                                              \
            int64_t r0 = (base0 + pl->idx[1][0][o1]) * I2, r1 = (base0 + pl->idx[1][t1 - 1][o1]) * I2;     \
            const T wr0 = w0 * (T)pl->w[1][0][o1], wr1 = t1 == 2 ? w0 * (T)pl->w[1][1][o1] : 0;            \
            const int64_t *ia = pl->idx[2][0], *ib = pl->idx[2][t2 - 1];                                  \
            const double *wa = pl->w[2][0], *wb = pl->w[2][t2 - 1];                                       \
            for (int64_t o2 = 0; o2 < O2; o2++) {                                                         \
              const T a = (T)wa[o2], b = t2 == 2 ? (T)wb[o2] : 0;                                         \
              const int64_t ja = ia[o2], jb = ib[o2];                                                     \
              if (bwd) {                                                                                  \
                const T g0 = wr0 * gr[o2], g1 = wr1 * gr[o2];                                             \
                yp[r0 + ja] += a * g0, yp[r0 + jb] += b * g0;                                             \
                if (t1 == 2) yp[r1 + ja] += a * g1, yp[r1 + jb] += b * g1;                                \
              } else {                                                                                    \
                T acc = wr0 * (a * xp[r0 + ja] + b * xp[r0 + jb]);                                        \
                if (t1 == 2) acc += wr1 * (a * xp[r1 + ja] + b * xp[r1 + jb]);                            \
                yr[o2] = acc;                                                                             \
              }                                                                                           \
            }                                                                                             \
            continue;                                                                                     \
          }                                                                                               \
          for (int64_t o2 = 0; o2 < O2; o2++) {                                                           \
            T acc = 0, gv = bwd ? gr[o2] : 0;                                                             \
            for (int a = 0; a < t0; a++) {                                                                \
              T wa = (T)pl->w[0][a][o0];                                                                  \
              int64_t ra = pl->idx[0][a][o0] * I1;                                                        \
              for (int b = 0; b < t1; b++) {                                                              \
                T wb = wa * (T)pl->w[1][b][o1];                                                           \
                int64_t rb = (ra + pl->idx[1][b][o1]) * I2;                                               \
                for (int e = 0; e < t2; e++) {                                                            \
                  T we = wb * (T)pl->w[2][e][o2];                                                         \
                  int64_t k = rb + pl->idx[2][e][o2];                                                     \
                  if (bwd) yp[k] += we * gv;                                                              \
                  else acc += we * xp[k];                                                                 \
                }                                                                                         \
              }                                                                                           \
            }                                                                                             \
            if (!bwd) yr[o2] = acc;                                                                       \
          }                                                                                               \
        }                                                                                                 \
    });                                                                                                   \
  }
RESAMPLE_KERNELS(float)
RESAMPLE_KERNELS(double)
RESAMPLE_KERNELS(int64_t)

/* index maps (every dim one tap: padding, nearest resizing) along the last dim as runs
 * of consecutive input positions: a padded row is a few single elements around one
 * long run, copied (or, backward, added) in one go */
typedef struct idx_run { int64_t o, i, n; } idx_run;

static int64_t make_runs(const int64_t *idx, int64_t n, idx_run *r) {
  int64_t count = 0;
  for (int64_t o = 0; o < n;) {
    int64_t e = o + 1;
    while (e < n && idx[e] == idx[o] + (e - o)) e++;
    r[count++] = (idx_run){o, idx[o], e - o};
    o = e;
  }
  return count;
}

#define GATHER_KERNELS(T)                                                                                 \
  static void gather_##T(tg_ctx *c, const T *x, T *y, int64_t P, const tg_resample_plan *pl, bool bwd,    \
                         const idx_run *runs, int64_t nr) {                                               \
    const int64_t I1 = pl->in[1], I2 = pl->in[2], O0 = pl->out[0], O1 = pl->out[1], O2 = pl->out[2];     \
    const int64_t IN = pl->in[0] * I1 * I2, ON = O0 * O1 * O2;                                             \
    int nt = threads_for(c, P * (ON + IN), P);                                                            \
    TG_PARALLEL_FOR(for (int64_t p = 0; p < P; p++) {                                                     \
      const T *xp = x + p * (bwd ? ON : IN);                                                              \
      T *yp = y + p * (bwd ? IN : ON);                                                                    \
      if (bwd) memset(yp, 0, sizeof(T) * (size_t)IN);                                                     \
      for (int64_t o0 = 0; o0 < O0; o0++)                                                                 \
        for (int64_t o1 = 0; o1 < O1; o1++) {                                                             \
          const int64_t base = (pl->idx[0][0][o0] * I1 + pl->idx[1][0][o1]) * I2;                         \
          const int64_t row = (o0 * O1 + o1) * O2;                                                        \
          for (int64_t r = 0; r < nr; r++) {                                                              \
            const idx_run *u = runs + r;                                                                  \
            if (bwd) {                                                                                    \
              T *dst = yp + base + u->i;                                                                  \
              const T *src = xp + row + u->o;                                                             \
              for (int64_t k = 0; k < u->n; k++) dst[k] += src[k];                                        \
            } else if (u->n >= 8) {                                                                       \
              memcpy(yp + row + u->o, xp + base + u->i, sizeof(T) * (size_t)u->n);                       \
            } else {                                                                                      \
              for (int64_t k = 0; k < u->n; k++) yp[row + u->o + k] = xp[base + u->i + k];                \
            }                                                                                             \
          }                                                                                               \
        }                                                                                                 \
    });                                                                                                   \
  }
GATHER_KERNELS(float)
GATHER_KERNELS(double)
GATHER_KERNELS(int64_t)

int tg_cpu_resample(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const tg_resample_plan *pl, bool backward) {
  /* the caller passes no empty tensor */
  int64_t on = pl->out[0] * pl->out[1] * pl->out[2];
  int64_t P = tg_numel(backward ? x : out) / on;
  if (pl->taps[0] == 1 && pl->taps[1] == 1 && pl->taps[2] == 1 && (x->dtype != TG_INT64 || !backward)) {
    idx_run *runs = malloc(sizeof(idx_run) * (size_t)pl->out[2]);
    int64_t nr = 0;
    if (runs) {
      nr = make_runs(pl->idx[2][0], pl->out[2], runs);
      if (nr * 4 > pl->out[2]) { /* short runs (nearest resizing): the plain gather below */
        free(runs);
        runs = NULL;
      }
    }
    if (runs) {
      if (x->dtype == TG_FLOAT32) gather_float(c, tg_data(x), tg_data(out), P, pl, backward, runs, nr);
      else if (x->dtype == TG_FLOAT64) gather_double(c, tg_data(x), tg_data(out), P, pl, backward, runs, nr);
      else gather_int64_t(c, tg_data(x), tg_data(out), P, pl, backward, runs, nr);
      free(runs);
      return 0;
    }
  }
  switch (x->dtype) {
    case TG_FLOAT32: resample_float(c, tg_data(x), tg_data(out), P, pl, backward); return 0;
    case TG_FLOAT64: resample_double(c, tg_data(x), tg_data(out), P, pl, backward); return 0;
    case TG_INT64:
      if (!backward) {
        resample_int64_t(c, tg_data(x), tg_data(out), P, pl, false);
        return 0;
      }
      /* fall through */
    default: return tg_err(c, "resampling is not implemented for '%s'", tg_torch_dtype_name(x->dtype));
  }
}
