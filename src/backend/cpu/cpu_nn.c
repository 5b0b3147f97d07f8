/* cpu_nn.c: fused CPU kernels for nll_loss (a gather of the picked
 * log-probabilities and its adjoint scatter) and the elementwise loss terms.
 * Softmax / log_softmax live in cpu_softmax.c. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "cpu_vmath.h"
#include "cpu_nn.h"

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
  if (out->dtype == TG_FLOAT32 && tg_is_contiguous(out) && tg_is_contiguous(x) && tg_is_contiguous(y) &&
      (!w || tg_is_contiguous(w))) { /* helper rows: the vectorised float path */
    bad = tg_cpu_loss_contig_float(c, k, tg_data(out), tg_data(x), tg_data(y), w ? tg_data(w) : NULL, tg_numel(out),
                                   p, scale, la.w_mul);
    if (bad < 0) return -1;
  } else {
    const tg_tensor *ts[4] = {out, x, y, w};
    tg_iter it;
    tg_iter_init(&it, w ? 4 : 3, ts);
    tg_iter_run(c, &it, out->dtype == TG_FLOAT32 ? loss_loop_float : loss_loop_double, &la, true);
  }
  if (bad) return tg_err(c, "all elements of input should be between 0 and 1");
  return 0;
}
