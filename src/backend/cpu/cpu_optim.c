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

/* PyTorch's lerp (ATen/native/Lerp.h); small = |w| < 0.5, hoisted */
#define LERP(T, small, x, y, w, w1) ((small) ? (x) + (w) * ((y) - (x)) : (y) - ((y) - (x)) * (w1))
/* torch.maximum: NaN propagates */
#define MAXIMUM(a, b) (((a) > (b) || (a) != (a)) ? (a) : (b))
#define INLINE static inline __attribute__((always_inline))

/* Each kernel is a body with its options as constant arguments, instantiated
 * for every combination by a dispatcher: the compiler then sees a branch-free
 * loop that it vectorises. maximize is a multiplication by -1 (exact), and
 * AdamW's decay a multiplication by 1 when there is none (exact). */
#define OPTIM_KERNELS(T, SUF, SQRT)                                                                        \
  INLINE void sgd_body_##SUF(const tg_optim_args *a, int64_t lo, int64_t hi, T *restrict p,                 \
                             const T *restrict g, T *restrict buf, const bool l2, const int mode,          \
                             const bool nesterov) {                                                        \
    /* mode 0: no momentum, 1: the buffer starts as the gradient, 2: buf = mom buf + (1 - damp) g */       \
    const T lr = (T)a->lr, wd = (T)a->weight_decay, mom = (T)a->momentum, damp1 = (T)(1.0 - a->dampening);  \
    const T sgn = a->maximize ? (T)-1 : (T)1;                                                              \
    for (int64_t i = lo; i < hi; i++) {                                                                    \
      T gi = sgn * g[i];                                                                                   \
      if (l2) gi = gi + wd * p[i];                                                                         \
      if (mode) {                                                                                          \
        T b = mode == 1 ? gi : buf[i] * mom + damp1 * gi;                                                  \
        buf[i] = b;                                                                                        \
        gi = nesterov ? gi + mom * b : b;                                                                  \
      }                                                                                                    \
      p[i] = p[i] + (-lr) * gi;                                                                            \
    }                                                                                                      \
  }                                                                                                        \
  TG_CLONES static void sgd_##SUF(const tg_optim_args *a, int64_t lo, int64_t hi, T *p, const T *g,        \
                                   T *const *s) {                                                          \
    const bool l2 = a->weight_decay != 0, nv = a->nesterov;                                                \
    const int mode = a->momentum == 0 ? 0 : a->first_step ? 1 : 2;                                         \
    T *buf = s[0];                                                                                         \
    if (l2) {                                                                                              \
      if (mode == 0) sgd_body_##SUF(a, lo, hi, p, g, buf, true, 0, false);                                 \
      else if (mode == 1) nv ? sgd_body_##SUF(a, lo, hi, p, g, buf, true, 1, true)                         \
                             : sgd_body_##SUF(a, lo, hi, p, g, buf, true, 1, false);                       \
      else nv ? sgd_body_##SUF(a, lo, hi, p, g, buf, true, 2, true)                                        \
              : sgd_body_##SUF(a, lo, hi, p, g, buf, true, 2, false);                                      \
    } else {                                                                                               \
      if (mode == 0) sgd_body_##SUF(a, lo, hi, p, g, buf, false, 0, false);                                \
      else if (mode == 1) nv ? sgd_body_##SUF(a, lo, hi, p, g, buf, false, 1, true)                        \
                             : sgd_body_##SUF(a, lo, hi, p, g, buf, false, 1, false);                      \
      else nv ? sgd_body_##SUF(a, lo, hi, p, g, buf, false, 2, true)                                       \
              : sgd_body_##SUF(a, lo, hi, p, g, buf, false, 2, false);                                     \
    }                                                                                                      \
  }                                                                                                        \
                                                                                                           \
  INLINE void adam_body_##SUF(const tg_optim_args *a, int64_t lo, int64_t hi, T *restrict p,                \
                              const T *restrict g, T *restrict m, T *restrict v, T *restrict vmax,         \
                              const bool l2, const bool amsgrad) {                                         \
    const T w1 = (T)(1.0 - a->beta1), w1c = (T)1 - w1, b2 = (T)a->beta2, c2 = (T)(1.0 - a->beta2);          \
    const bool small = fabs((double)w1) < 0.5;                                                             \
    const T wd = (T)a->weight_decay;                                                                       \
    const T decay = a->decoupled && a->weight_decay != 0 ? (T)(1.0 - a->lr * a->weight_decay) : (T)1;        \
    const T neg_step = (T)(-a->step_size), bc2s = (T)a->bias_correction2_sqrt, eps = (T)a->eps;              \
    const T sgn = a->maximize ? (T)-1 : (T)1;                                                              \
    for (int64_t i = lo; i < hi; i++) {                                                                    \
      T gi = sgn * g[i];                                                                                   \
      T pi = p[i] * decay;                                                                                 \
      if (l2) gi = gi + wd * pi;                                                                           \
      T mi = LERP(T, small, m[i], gi, w1, w1c);                                                            \
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
  TG_CLONES static void adam_##SUF(const tg_optim_args *a, int64_t lo, int64_t hi, T *p, const T *g,       \
                                    T *const *s) {                                                         \
    const bool l2 = a->weight_decay != 0 && !a->decoupled;                                                 \
    if (l2) {                                                                                              \
      if (a->amsgrad) adam_body_##SUF(a, lo, hi, p, g, s[0], s[1], s[2], true, true);                      \
      else adam_body_##SUF(a, lo, hi, p, g, s[0], s[1], s[2], true, false);                                \
    } else {                                                                                               \
      if (a->amsgrad) adam_body_##SUF(a, lo, hi, p, g, s[0], s[1], s[2], false, true);                     \
      else adam_body_##SUF(a, lo, hi, p, g, s[0], s[1], s[2], false, false);                               \
    }                                                                                                      \
  }                                                                                                        \
                                                                                                           \
  INLINE void rmsprop_body_##SUF(const tg_optim_args *a, int64_t lo, int64_t hi, T *restrict p,             \
                                 const T *restrict g, T *restrict sq, T *restrict buf, T *restrict ga,     \
                                 const bool l2, const bool centered, const bool has_mom) {                 \
    const T alpha = (T)a->alpha, c = (T)(1.0 - a->alpha), cc = (T)1 - c, wd = (T)a->weight_decay;            \
    const bool small = fabs((double)c) < 0.5;                                                              \
    const T eps = (T)a->eps, mom = (T)a->momentum, neg_lr = (T)(-a->lr);                                   \
    const T sgn = a->maximize ? (T)-1 : (T)1;                                                              \
    for (int64_t i = lo; i < hi; i++) {                                                                    \
      T gi = sgn * g[i];                                                                                   \
      if (l2) gi = gi + wd * p[i];                                                                         \
      T si = sq[i] * alpha + c * gi * gi;                                                                  \
      sq[i] = si;                                                                                          \
      T avg;                                                                                               \
      if (centered) {                                                                                      \
        T gai = LERP(T, small, ga[i], gi, c, cc);                                                          \
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
  TG_CLONES static void rmsprop_##SUF(const tg_optim_args *a, int64_t lo, int64_t hi, T *p, const T *g,    \
                                       T *const *s) {                                                      \
    const int k = (a->weight_decay != 0) * 4 + a->centered * 2 + (a->momentum > 0);                        \
    switch (k) {                                                                                           \
      case 0: rmsprop_body_##SUF(a, lo, hi, p, g, s[0], s[1], s[2], false, false, false); break;           \
      case 1: rmsprop_body_##SUF(a, lo, hi, p, g, s[0], s[1], s[2], false, false, true); break;            \
      case 2: rmsprop_body_##SUF(a, lo, hi, p, g, s[0], s[1], s[2], false, true, false); break;            \
      case 3: rmsprop_body_##SUF(a, lo, hi, p, g, s[0], s[1], s[2], false, true, true); break;             \
      case 4: rmsprop_body_##SUF(a, lo, hi, p, g, s[0], s[1], s[2], true, false, false); break;            \
      case 5: rmsprop_body_##SUF(a, lo, hi, p, g, s[0], s[1], s[2], true, false, true); break;             \
      case 6: rmsprop_body_##SUF(a, lo, hi, p, g, s[0], s[1], s[2], true, true, false); break;             \
      default: rmsprop_body_##SUF(a, lo, hi, p, g, s[0], s[1], s[2], true, true, true); break;             \
    }                                                                                                      \
  }                                                                                                        \
                                                                                                           \
  INLINE void adagrad_body_##SUF(const tg_optim_args *a, int64_t lo, int64_t hi, T *restrict p,             \
                                 const T *restrict g, T *restrict sum, const bool l2) {                    \
    const T wd = (T)a->weight_decay, eps = (T)a->eps, neg_clr = (T)(-a->step_size);                         \
    const T sgn = a->maximize ? (T)-1 : (T)1;                                                              \
    for (int64_t i = lo; i < hi; i++) {                                                                    \
      T gi = sgn * g[i];                                                                                   \
      if (l2) gi = gi + wd * p[i];                                                                         \
      T si = sum[i] + (T)1 * gi * gi;                                                                      \
      sum[i] = si;                                                                                         \
      T std = SQRT(si) + eps;                                                                              \
      p[i] = p[i] + neg_clr * gi / std;                                                                    \
    }                                                                                                      \
  }                                                                                                        \
  TG_CLONES static void adagrad_##SUF(const tg_optim_args *a, int64_t lo, int64_t hi, T *p, const T *g,    \
                                       T *const *s) {                                                      \
    if (a->weight_decay != 0) adagrad_body_##SUF(a, lo, hi, p, g, s[0], true);                             \
    else adagrad_body_##SUF(a, lo, hi, p, g, s[0], false);                                                 \
  }                                                                                                        \
                                                                                                           \
  INLINE void adadelta_body_##SUF(const tg_optim_args *a, int64_t lo, int64_t hi, T *restrict p,            \
                                  const T *restrict g, T *restrict sq, T *restrict acc, const bool l2) {   \
    const T rho = (T)a->rho, c = (T)(1.0 - a->rho), wd = (T)a->weight_decay, eps = (T)a->eps;                \
    const T neg_lr = (T)(-a->lr), sgn = a->maximize ? (T)-1 : (T)1;                                        \
    for (int64_t i = lo; i < hi; i++) {                                                                    \
      T gi = sgn * g[i];                                                                                   \
      if (l2) gi = gi + wd * p[i];                                                                         \
      T si = sq[i] * rho + c * gi * gi;                                                                    \
      sq[i] = si;                                                                                          \
      T std = SQRT(si + eps);                                                                              \
      T delta = SQRT(acc[i] + eps);                                                                        \
      delta = delta / std;                                                                                 \
      delta = delta * gi;                                                                                  \
      acc[i] = acc[i] * rho + c * delta * delta;                                                           \
      p[i] = p[i] + neg_lr * delta;                                                                        \
    }                                                                                                      \
  }                                                                                                        \
  TG_CLONES static void adadelta_##SUF(const tg_optim_args *a, int64_t lo, int64_t hi, T *p, const T *g,   \
                                        T *const *s) {                                                     \
    if (a->weight_decay != 0) adadelta_body_##SUF(a, lo, hi, p, g, s[0], s[1], true);                      \
    else adadelta_body_##SUF(a, lo, hi, p, g, s[0], s[1], false);                                          \
  }                                                                                                        \
                                                                                                           \
  INLINE void adamax_body_##SUF(const tg_optim_args *a, int64_t lo, int64_t hi, T *restrict p,              \
                                const T *restrict g, T *restrict m, T *restrict ei, const bool l2) {       \
    const T w1 = (T)(1.0 - a->beta1), w1c = (T)1 - w1, b2 = (T)a->beta2, eps = (T)a->eps;                   \
    const bool small = fabs((double)w1) < 0.5;                                                             \
    const T wd = (T)a->weight_decay, neg_clr = (T)(-a->step_size), sgn = a->maximize ? (T)-1 : (T)1;        \
    for (int64_t i = lo; i < hi; i++) {                                                                    \
      T gi = sgn * g[i];                                                                                   \
      if (l2) gi = gi + wd * p[i];                                                                         \
      T mi = LERP(T, small, m[i], gi, w1, w1c);                                                            \
      m[i] = mi;                                                                                           \
      T e = ei[i] * b2, ga = (gi < 0 ? -gi : gi) + eps;                                                    \
      e = MAXIMUM(e, ga);                                                                                  \
      ei[i] = e;                                                                                           \
      p[i] = p[i] + neg_clr * mi / e;                                                                      \
    }                                                                                                      \
  }                                                                                                        \
  TG_CLONES static void adamax_##SUF(const tg_optim_args *a, int64_t lo, int64_t hi, T *p, const T *g,     \
                                      T *const *s) {                                                       \
    if (a->weight_decay != 0) adamax_body_##SUF(a, lo, hi, p, g, s[0], s[1], true);                        \
    else adamax_body_##SUF(a, lo, hi, p, g, s[0], s[1], false);                                            \
  }                                                                                                        \
                                                                                                           \
  INLINE void nadam_body_##SUF(const tg_optim_args *a, int64_t lo, int64_t hi, T *restrict p,               \
                               const T *restrict g, T *restrict m, T *restrict v, const bool l2) {         \
    const T w1 = (T)(1.0 - a->beta1), w1c = (T)1 - w1, b2 = (T)a->beta2, c2 = (T)(1.0 - a->beta2);          \
    const bool small = fabs((double)w1) < 0.5;                                                             \
    const T wd = (T)a->weight_decay, eps = (T)a->eps, bc2 = (T)a->bias_correction2;                         \
    const T decay = a->decoupled && a->weight_decay != 0 ? (T)(1.0 - a->lr * a->weight_decay) : (T)1;        \
    const T k1 = (T)a->coef1, k2 = (T)a->coef2, sgn = a->maximize ? (T)-1 : (T)1;                           \
    for (int64_t i = lo; i < hi; i++) {                                                                    \
      T gi = sgn * g[i];                                                                                   \
      T pi = p[i] * decay;                                                                                 \
      if (l2) gi = gi + wd * pi;                                                                           \
      T mi = LERP(T, small, m[i], gi, w1, w1c);                                                            \
      m[i] = mi;                                                                                           \
      T vi = v[i] * b2 + c2 * gi * gi;                                                                     \
      v[i] = vi;                                                                                           \
      T denom = SQRT(vi / bc2) + eps;                                                                      \
      pi = pi + k1 * gi / denom;                                                                           \
      p[i] = pi + k2 * mi / denom;                                                                         \
    }                                                                                                      \
  }                                                                                                        \
  TG_CLONES static void nadam_##SUF(const tg_optim_args *a, int64_t lo, int64_t hi, T *p, const T *g,      \
                                     T *const *s) {                                                        \
    if (a->weight_decay != 0 && !a->decoupled) nadam_body_##SUF(a, lo, hi, p, g, s[0], s[1], true);        \
    else nadam_body_##SUF(a, lo, hi, p, g, s[0], s[1], false);                                             \
  }                                                                                                        \
                                                                                                           \
  INLINE void radam_body_##SUF(const tg_optim_args *a, int64_t lo, int64_t hi, T *restrict p,               \
                               const T *restrict g, T *restrict m, T *restrict v, const bool l2,           \
                               const bool rectify) {                                                       \
    const T w1 = (T)(1.0 - a->beta1), w1c = (T)1 - w1, b2 = (T)a->beta2, c2 = (T)(1.0 - a->beta2);          \
    const bool small = fabs((double)w1) < 0.5;                                                             \
    const T wd = (T)a->weight_decay, eps = (T)a->eps, lr = (T)a->lr;                                       \
    const T decay = a->decoupled && a->weight_decay != 0 ? (T)(1.0 - a->lr * a->weight_decay) : (T)1;        \
    const T bc1 = (T)a->bias_correction1, bc2s = (T)a->bias_correction2_sqrt, rect = (T)a->coef1;           \
    const T sgn = a->maximize ? (T)-1 : (T)1;                                                              \
    for (int64_t i = lo; i < hi; i++) {                                                                    \
      T gi = sgn * g[i];                                                                                   \
      T pi = p[i] * decay;                                                                                 \
      if (l2) gi = gi + wd * pi;                                                                           \
      T mi = LERP(T, small, m[i], gi, w1, w1c);                                                            \
      m[i] = mi;                                                                                           \
      T vi = v[i] * b2 + c2 * gi * gi;                                                                     \
      v[i] = vi;                                                                                           \
      T upd = mi / bc1 * lr;                                                                               \
      if (rectify) upd = upd * (bc2s / (SQRT(vi) + eps)) * rect;                                           \
      p[i] = pi + (T)(-1) * upd;                                                                           \
    }                                                                                                      \
  }                                                                                                        \
  TG_CLONES static void radam_##SUF(const tg_optim_args *a, int64_t lo, int64_t hi, T *p, const T *g,      \
                                     T *const *s) {                                                        \
    const bool l2 = a->weight_decay != 0 && !a->decoupled;                                                 \
    if (l2) {                                                                                              \
      if (a->rectify) radam_body_##SUF(a, lo, hi, p, g, s[0], s[1], true, true);                           \
      else radam_body_##SUF(a, lo, hi, p, g, s[0], s[1], true, false);                                     \
    } else {                                                                                               \
      if (a->rectify) radam_body_##SUF(a, lo, hi, p, g, s[0], s[1], false, true);                          \
      else radam_body_##SUF(a, lo, hi, p, g, s[0], s[1], false, false);                                    \
    }                                                                                                      \
  }                                                                                                        \
                                                                                                           \
  /* Rprop: the sign of g prev picks eta_plus, eta_minus or 1 for the step size (clamped); where it is     \
   * eta_minus the gradient counts as 0 (no move, and prev = 0) */                                        \
  TG_CLONES static void rprop_##SUF(const tg_optim_args *a, int64_t lo, int64_t hi, T *restrict p,          \
                                     const T *restrict g, T *const *s) {                                   \
    const T em = (T)a->eta_minus, ep = (T)a->eta_plus, lo_s = (T)a->step_min, hi_s = (T)a->step_max;        \
    const T sgn = a->maximize ? (T)-1 : (T)1;                                                              \
    T *restrict prev = s[0], *restrict ss = s[1];                                                          \
    for (int64_t i = lo; i < hi; i++) {                                                                    \
      T gi = sgn * g[i];                                                                                   \
      T prod = gi * prev[i];                                                                               \
      T f = prod > 0 ? ep : prod < 0 ? em : prod == 0 ? (T)1 : prod;                                       \
      T st = ss[i] * f;                                                                                    \
      st = st < lo_s ? lo_s : st > hi_s ? hi_s : st;                                                       \
      ss[i] = st;                                                                                          \
      if (f == em) gi = 0;                                                                                 \
      T sg = gi > 0 ? (T)1 : gi < 0 ? (T)-1 : gi;                                                          \
      p[i] = p[i] + (T)(-1) * sg * st;                                                                     \
      prev[i] = gi;                                                                                        \
    }                                                                                                      \
  }                                                                                                        \
                                                                                                           \
  /* ASGD: p = p (1 - lambd eta) - eta g; the average ax moves to p by mu (ax = p when mu is 1) */         \
  INLINE void asgd_body_##SUF(const tg_optim_args *a, int64_t lo, int64_t hi, T *restrict p,                \
                              const T *restrict g, T *restrict ax, const bool l2, const bool average) {    \
    const T wd = (T)a->weight_decay, decay = (T)(1 - a->lambd * a->eta), neg_eta = (T)(-a->eta);            \
    const T mu = (T)a->mu, sgn = a->maximize ? (T)-1 : (T)1;                                               \
    for (int64_t i = lo; i < hi; i++) {                                                                    \
      T gi = sgn * g[i];                                                                                   \
      T pi = p[i];                                                                                         \
      if (l2) gi = gi + wd * pi;                                                                           \
      pi = pi * decay;                                                                                     \
      pi = pi + neg_eta * gi;                                                                              \
      p[i] = pi;                                                                                           \
      ax[i] = average ? ax[i] + (pi - ax[i]) * mu : pi;                                                    \
    }                                                                                                      \
  }                                                                                                        \
  TG_CLONES static void asgd_##SUF(const tg_optim_args *a, int64_t lo, int64_t hi, T *p, const T *g,       \
                                    T *const *s) {                                                         \
    const bool l2 = a->weight_decay != 0, average = a->mu != 1;                                            \
    if (l2) average ? asgd_body_##SUF(a, lo, hi, p, g, s[0], true, true)                                   \
                    : asgd_body_##SUF(a, lo, hi, p, g, s[0], true, false);                                 \
    else average ? asgd_body_##SUF(a, lo, hi, p, g, s[0], false, true)                                     \
                 : asgd_body_##SUF(a, lo, hi, p, g, s[0], false, false);                                   \
  }

OPTIM_KERNELS(float, f32, sqrtf)
OPTIM_KERNELS(double, f64, sqrt)

typedef void (*kernel_f32)(const tg_optim_args *, int64_t, int64_t, float *, const float *, float *const *);
typedef void (*kernel_f64)(const tg_optim_args *, int64_t, int64_t, double *, const double *, double *const *);

static const kernel_f32 kernels_f32[TG_OPTIM_NKINDS] = {sgd_f32,      adam_f32,   rmsprop_f32, adagrad_f32,
                                                        adadelta_f32, adamax_f32, nadam_f32,   radam_f32,
                                                        rprop_f32,    asgd_f32};
static const kernel_f64 kernels_f64[TG_OPTIM_NKINDS] = {sgd_f64,      adam_f64,   rmsprop_f64, adagrad_f64,
                                                        adadelta_f64, adamax_f64, nadam_f64,   radam_f64,
                                                        rprop_f64,    asgd_f64};

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
