/* cpu_optim.c: the fused optimizer steps (helper optim; see src/optim.h).
 *
 * Each kernel is one pass over a parameter, its gradient and its state,
 * doing per element what PyTorch's _single_tensor_<optim> does tensor by
 * tensor, in the same order and with the same scalars (computed in double,
 * rounded to the element type as ATen does for a Python scalar):
 *   add(x, alpha=a)        x + a*y
 *   addcmul(x, y, v=a)     x + a*y*z
 *   addcdiv(x, y, z, v=a)  x + a*y/z
 *   lerp(x, y, w)          |w| < 0.5 ? x + w*(y - x) : y - (y - x)*(1 - w)
 * Large parameters are split across the context's threads. */
#include <math.h>

#include "cpu.h"
#include "../../optim.h"

/* PyTorch's lerp (ATen/native/Lerp.h) */
#define LERP(T, x, y, w) (fabs((double)(w)) < 0.5 ? (x) + (w) * ((y) - (x)) : (y) - ((y) - (x)) * ((T)1 - (w)))
/* torch.maximum: NaN propagates */
#define MAXIMUM(a, b) (((a) > (b) || (a) != (a)) ? (a) : (b))

#define OPTIM_KERNELS(T, SUF, SQRT)                                                                        \
  TG_CLONES static void sgd_##SUF(const tg_optim_args *a, int64_t lo, int64_t hi, T *restrict p,            \
                                   const T *restrict g, T *const *s) {                                     \
    const T lr = (T)a->lr, wd = (T)a->weight_decay, mom = (T)a->momentum, damp1 = (T)(1.0 - a->dampening);  \
    const bool has_wd = a->weight_decay != 0, has_mom = a->momentum != 0, first = a->first_step;            \
    const bool nesterov = a->nesterov, maximize = a->maximize;                                             \
    T *restrict buf = s[0];                                                                                \
    for (int64_t i = lo; i < hi; i++) {                                                                    \
      T gi = maximize ? -g[i] : g[i];                                                                      \
      if (has_wd) gi = gi + wd * p[i];                                                                     \
      if (has_mom) {                                                                                       \
        T b = first ? gi : buf[i] * mom + damp1 * gi;                                                      \
        buf[i] = b;                                                                                        \
        gi = nesterov ? gi + mom * b : b;                                                                  \
      }                                                                                                    \
      p[i] = p[i] + (-lr) * gi;                                                                            \
    }                                                                                                      \
  }                                                                                                        \
                                                                                                           \
  TG_CLONES static void adam_##SUF(const tg_optim_args *a, int64_t lo, int64_t hi, T *restrict p,           \
                                    const T *restrict g, T *const *s) {                                    \
    const T w1 = (T)(1.0 - a->beta1), b2 = (T)a->beta2, c2 = (T)(1.0 - a->beta2);                            \
    const T wd = (T)a->weight_decay, decay = (T)(1.0 - a->lr * a->weight_decay);                             \
    const T neg_step = (T)(-a->step_size), bc2s = (T)a->bias_correction2_sqrt, eps = (T)a->eps;              \
    const bool has_wd = a->weight_decay != 0, decoupled = a->decoupled, maximize = a->maximize;            \
    const bool amsgrad = a->amsgrad;                                                                       \
    T *restrict m = s[0], *restrict v = s[1], *restrict vmax = s[2];                                       \
    for (int64_t i = lo; i < hi; i++) {                                                                    \
      T gi = maximize ? -g[i] : g[i];                                                                      \
      T pi = p[i];                                                                                         \
      if (has_wd) {                                                                                        \
        if (decoupled) pi = pi * decay;                                                                    \
        else gi = gi + wd * pi;                                                                            \
      }                                                                                                    \
      T mi = m[i];                                                                                         \
      mi = LERP(T, mi, gi, w1);                                                                            \
      m[i] = mi;                                                                                           \
      T vi = v[i] * b2 + c2 * gi * gi;                                                                     \
      v[i] = vi;                                                                                           \
      if (amsgrad) {                                                                                       \
        vi = MAXIMUM(vmax[i], vi);                                                                         \
        vmax[i] = vi;                                                                                      \
      }                                                                                                    \
      T denom = SQRT(vi) / bc2s + eps;                                                                     \
      p[i] = pi + neg_step * mi / denom;                                                                   \
    }                                                                                                      \
  }                                                                                                        \
                                                                                                           \
  TG_CLONES static void rmsprop_##SUF(const tg_optim_args *a, int64_t lo, int64_t hi, T *restrict p,        \
                                       const T *restrict g, T *const *s) {                                 \
    const T alpha = (T)a->alpha, c = (T)(1.0 - a->alpha), wd = (T)a->weight_decay, eps = (T)a->eps;          \
    const T mom = (T)a->momentum, neg_lr = (T)(-a->lr);                                                    \
    const bool has_wd = a->weight_decay != 0, has_mom = a->momentum > 0, centered = a->centered;           \
    const bool maximize = a->maximize;                                                                     \
    T *restrict sq = s[0], *restrict buf = s[1], *restrict ga = s[2];                                      \
    for (int64_t i = lo; i < hi; i++) {                                                                    \
      T gi = maximize ? -g[i] : g[i];                                                                      \
      if (has_wd) gi = gi + wd * p[i];                                                                     \
      T si = sq[i] * alpha + c * gi * gi;                                                                  \
      sq[i] = si;                                                                                          \
      T avg;                                                                                               \
      if (centered) {                                                                                      \
        T gai = LERP(T, ga[i], gi, c);                                                                     \
        ga[i] = gai;                                                                                       \
        avg = SQRT(si + (T)(-1) * gai * gai);                                                              \
      } else {                                                                                             \
        avg = SQRT(si);                                                                                    \
      }                                                                                                    \
      avg = avg + eps;                                                                                     \
      if (has_mom) {                                                                                       \
        T b = buf[i] * mom + (T)1 * gi / avg;                                                              \
        buf[i] = b;                                                                                        \
        p[i] = p[i] + neg_lr * b;                                                                          \
      } else {                                                                                             \
        p[i] = p[i] + neg_lr * gi / avg;                                                                   \
      }                                                                                                    \
    }                                                                                                      \
  }                                                                                                        \
                                                                                                           \
  TG_CLONES static void adagrad_##SUF(const tg_optim_args *a, int64_t lo, int64_t hi, T *restrict p,        \
                                       const T *restrict g, T *const *s) {                                 \
    const T wd = (T)a->weight_decay, eps = (T)a->eps, neg_clr = (T)(-a->step_size);                         \
    const bool has_wd = a->weight_decay != 0, maximize = a->maximize;                                      \
    T *restrict sum = s[0];                                                                                \
    for (int64_t i = lo; i < hi; i++) {                                                                    \
      T gi = maximize ? -g[i] : g[i];                                                                      \
      if (has_wd) gi = gi + wd * p[i];                                                                     \
      T si = sum[i] + (T)1 * gi * gi;                                                                      \
      sum[i] = si;                                                                                         \
      T std = SQRT(si) + eps;                                                                              \
      p[i] = p[i] + neg_clr * gi / std;                                                                    \
    }                                                                                                      \
  }                                                                                                        \
                                                                                                           \
  TG_CLONES static void adadelta_##SUF(const tg_optim_args *a, int64_t lo, int64_t hi, T *restrict p,       \
                                        const T *restrict g, T *const *s) {                                \
    const T rho = (T)a->rho, c = (T)(1.0 - a->rho), wd = (T)a->weight_decay, eps = (T)a->eps;                \
    const T neg_lr = (T)(-a->lr);                                                                          \
    const bool has_wd = a->weight_decay != 0, maximize = a->maximize;                                      \
    T *restrict sq = s[0], *restrict acc = s[1];                                                           \
    for (int64_t i = lo; i < hi; i++) {                                                                    \
      T gi = maximize ? -g[i] : g[i];                                                                      \
      if (has_wd) gi = gi + wd * p[i];                                                                     \
      T si = sq[i] * rho + c * gi * gi;                                                                    \
      sq[i] = si;                                                                                          \
      T std = SQRT(si + eps);                                                                              \
      T delta = SQRT(acc[i] + eps);                                                                        \
      delta = delta / std;                                                                                 \
      delta = delta * gi;                                                                                  \
      acc[i] = acc[i] * rho + c * delta * delta;                                                           \
      p[i] = p[i] + neg_lr * delta;                                                                        \
    }                                                                                                      \
  }

OPTIM_KERNELS(float, f32, sqrtf)
OPTIM_KERNELS(double, f64, sqrt)

typedef void (*kernel_f32)(const tg_optim_args *, int64_t, int64_t, float *, const float *, float *const *);
typedef void (*kernel_f64)(const tg_optim_args *, int64_t, int64_t, double *, const double *, double *const *);

static const kernel_f32 kernels_f32[TG_OPTIM_NKINDS] = {sgd_f32, adam_f32, rmsprop_f32, adagrad_f32, adadelta_f32};
static const kernel_f64 kernels_f64[TG_OPTIM_NKINDS] = {sgd_f64, adam_f64, rmsprop_f64, adagrad_f64, adadelta_f64};

#define CHUNK 32768 /* elements per thread at least */

int tg_cpu_optim_step(tg_ctx *c, const tg_optim_args *a, tg_tensor *param, const tg_tensor *grad,
                      tg_tensor *const *state) {
  if ((unsigned)a->kind >= TG_OPTIM_NKINDS) return tg_err(c, "optimizer step: unknown kind %d", (int)a->kind);
  int64_t n = tg_numel(param);
  int nt = c->num_threads > 1 && n >= 2 * CHUNK ? c->num_threads : 1;
  if (nt > 1 && n / CHUNK < nt) nt = (int)(n / CHUNK);
  if (param->dtype == TG_FLOAT32) {
    float *s[TG_OPTIM_MAX_STATE];
    for (int k = 0; k < TG_OPTIM_MAX_STATE; k++) s[k] = state[k] ? (float *)tg_data(state[k]) : NULL;
    float *p = tg_data(param);
    const float *g = tg_data(grad);
    kernel_f32 f = kernels_f32[a->kind];
    TG_PARALLEL_FOR(for (int t = 0; t < nt; t++) f(a, n * t / nt, n * (t + 1) / nt, p, g, s););
  } else if (param->dtype == TG_FLOAT64) {
    double *s[TG_OPTIM_MAX_STATE];
    for (int k = 0; k < TG_OPTIM_MAX_STATE; k++) s[k] = state[k] ? (double *)tg_data(state[k]) : NULL;
    double *p = tg_data(param);
    const double *g = tg_data(grad);
    kernel_f64 f = kernels_f64[a->kind];
    TG_PARALLEL_FOR(for (int t = 0; t < nt; t++) f(a, n * t / nt, n * (t + 1) / nt, p, g, s););
  } else {
    return tg_err(c, "optimizer step: expected a float32 or float64 parameter, got %s", tg_dtype_name(param->dtype));
  }
  return 0;
}
