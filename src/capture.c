/* capture.c: captured steps (tg.capture, issue 11): the recording backend,
 * the checks, the memory plan and the replay. See capture.h. */
#include "capture.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/backend_pool.h"
#include "optim.h"

#define CPU tg_cpu_backend
#define CAP_MAXT 8

/* the recorded slots */
enum {
  S_COPY, S_FILL, S_UNARY, S_UNARY_P, S_BINARY, S_SUM, S_MM, S_RANDOM, S_SOFTMAX, S_SOFTMAX_BWD, S_NLL, S_PLOSS,
  S_REDUCE, S_SCAN, S_CUMPROD_GRAD, S_SORT, S_TAKE_ALONG, S_PUT_ALONG, S_BN, S_BN_BWD, S_GN, S_GN_BWD, S_EMB,
  S_EMB_BWD, S_EMB_SCALE, S_EMB_RENORM, S_OPTIM, S_CONV, S_MAXPOOL, S_AMAXPOOL, S_MAXPOOL_BWD, S_AVGPOOL,
  S_AAVGPOOL, S_CHECK_INDEX, S_GATHER, S_SCATTER, S_INDEX_SELECT, S_INDEX_ADD, S_WHERE, S_TRI,
  S_RESAMPLE, S_ACTIVATION,
  S_NOP /* a fill folded into a constant */
};

typedef struct cap_rec {
  int slot, op;
  int i[3];
  int64_t l[4];
  double d[4];
  bool b[3];
  uint8_t w, r; /* bit j: t[j] is written / read (both: read-modify-write) */
  int link;     /* nll backward: the forward record whose total weight gives the scale */
  int tag;      /* optim: the handle the binding keeps to read the record's scalars (-1: none) */
  tg_tensor *t[CAP_MAXT];
  bool red[TG_MAX_DIMS];
  union {
    tg_nll_args nll;
    tg_optim_args opt;
    tg_conv_geom conv;
    tg_pool2d_args pool;
    tg_resample_plan plan; /* its arrays in blob */
  } u;
  void *blob;
} cap_rec;

/* what the plan knows of a storage */
typedef struct cap_buf {
  tg_storage *s;
  int first, last, rec_refs;
  bool full_first; /* its first record writes all of it and reads none of it */
  bool input, dyn, internal, folded;
  int writes; /* records that write it */
  size_t off, size;
} cap_buf;

typedef struct cap_var { tg_tensor *t; bool reset; } cap_var;

struct tg_capture {
  tg_backend be; /* the recording vtable */
  cap_rec *recs;
  int n, cap;
  tg_tensor **inputs; /* views of the example arguments (NULL: not a tensor) */
  int n_inputs;
  char *fail; /* the first refusal */
  tg_storage **reads; int n_reads, cap_reads;
  cap_var *fresh; int n_fresh, cap_fresh;
  tg_tensor **resets; int n_resets, cap_resets;
  bool oom;
  tg_tensor **consts; int n_consts, cap_consts; /* the tensors of folded records */
  int n_tags, *tag_rec; /* tagged optim records' positions after the plan */
  int last_optim;       /* the optim record just appended (-1: none since the last tag) */
  /* plan */
  void *arena;
  size_t arena_bytes, planned_bytes;
  int n_internal;
  tg_hook_fn saved_run_hook;
};

#define K(c) ((c)->capture)

void tg_capture_fail(tg_ctx *c, const char *fmt, ...) {
  tg_capture *k = K(c);
  if (!k || k->fail) return;
  char buf[TG_ERR_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  k->fail = strdup(buf);
  if (!k->fail) k->oom = true;
}

/* ------------------------------------------------------------- recording */
static tg_tensor *tcopy(tg_capture *k, const tg_tensor *t) {
  if (!t) return NULL;
  tg_tensor *n = malloc(sizeof *n);
  if (!n) {
    k->oom = true;
    return NULL;
  }
  memcpy(n, t, sizeof *n);
  n->refs = 1;
  n->grad = NULL, n->grad_fn = NULL, n->grad_acc = NULL, n->hooks = NULL, n->view_base = NULL;
  n->storage->refs++;
  return n;
}

static void tfree(tg_tensor *t) {
  if (!t) return;
  tg_storage_unref(t->storage);
  free(t);
}

static cap_rec *rec_new(tg_ctx *c, int slot) {
  tg_capture *k = K(c);
  if (k->n == k->cap) {
    int nc = k->cap ? 2 * k->cap : 64;
    cap_rec *r = realloc(k->recs, sizeof *r * (size_t)nc);
    if (!r) {
      k->oom = true;
      tg_err(c, "out of memory");
      return NULL;
    }
    k->recs = r, k->cap = nc;
  }
  cap_rec *r = &k->recs[k->n++];
  memset(r, 0, sizeof *r);
  r->slot = slot;
  r->link = -1;
  r->tag = -1;
  return r;
}

static void put(tg_capture *k, cap_rec *r, int j, const tg_tensor *t, bool w, bool rd) {
  if (!t) return;
  r->t[j] = tcopy(k, t);
  if (w) r->w |= (uint8_t)(1u << j);
  if (rd) r->r |= (uint8_t)(1u << j);
}
#define W(j, t) put(k, r, j, t, true, false)
#define R(j, t) put(k, r, j, t, false, true)
#define RW(j, t) put(k, r, j, t, true, true)

/* run the CPU kernel with recording off (a kernel that calls generic code must not record twice) */
#define RUN(expr)                                  \
  tg_capture *k = K(c);                            \
  c->capture_be = NULL;                            \
  int rc = (expr);                                 \
  c->capture_be = &k->be;                          \
  if (rc < 0) return rc;                           \
  cap_rec *r = rec_new(c, SLOT);                   \
  if (!r) return -1;

static int r_copy(tg_ctx *c, tg_tensor *dst, const tg_tensor *src) {
#define SLOT S_COPY
  RUN(CPU.copy(c, dst, src));
  W(0, dst), R(1, src);
  return 0;
#undef SLOT
}
static int r_fill(tg_ctx *c, tg_tensor *t, double v) {
#define SLOT S_FILL
  RUN(CPU.fill(c, t, v));
  W(0, t);
  r->d[0] = v;
  return 0;
#undef SLOT
}
static int r_unary(tg_ctx *c, tg_op op, tg_tensor *out, const tg_tensor *x) {
#define SLOT S_UNARY
  RUN(CPU.unary(c, op, out, x));
  r->op = op;
  W(0, out), R(1, x);
  return 0;
#undef SLOT
}
static int r_unary_p(tg_ctx *c, tg_op op, tg_tensor *out, const tg_tensor *x, const double *params) {
#define SLOT S_UNARY_P
  RUN(CPU.unary_p(c, op, out, x, params));
  r->op = op;
  int np = op == TG_OP_GELU ? 1 : op == TG_OP_SOFTPLUS ? 2 : 4; /* elementwise.c's parameter lists */
  memcpy(r->d, params, sizeof(double) * (size_t)np);
  W(0, out), R(1, x);
  return 0;
#undef SLOT
}
/* act's slot: forward (g NULL) or the fused input gradient; p: 4 doubles (a node's dp or
 * activation.c's q[4]) for the TG_ACT ops and gelu/softplus, absent for relu/sigmoid/tanh/silu */
static int r_activation(tg_ctx *c, tg_op op, tg_tensor *out, const tg_tensor *x, const tg_tensor *g,
                        const double *p) {
#define SLOT S_ACTIVATION
  RUN(CPU.activation(c, op, out, x, g, p));
  r->op = op;
  r->b[0] = p != NULL;
  if (p) memcpy(r->d, p, sizeof r->d);
  W(0, out), R(1, x), R(2, g);
  return 0;
#undef SLOT
}
static int r_binary(tg_ctx *c, tg_op op, tg_tensor *out, const tg_tensor *a, const tg_tensor *b) {
#define SLOT S_BINARY
  RUN(CPU.binary(c, op, out, a, b));
  r->op = op;
  W(0, out), R(1, a), R(2, b);
  return 0;
#undef SLOT
}
static int r_sum(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const bool *red) {
#define SLOT S_SUM
  RUN(CPU.sum(c, out, x, red));
  memcpy(r->red, red, sizeof(bool) * (size_t)x->ndim);
  W(0, out), R(1, x);
  return 0;
#undef SLOT
}
static int r_mm(tg_ctx *c, tg_tensor *out, const tg_tensor *a, const tg_tensor *b) {
#define SLOT S_MM
  RUN(CPU.mm(c, out, a, b));
  W(0, out), R(1, a), R(2, b);
  return 0;
#undef SLOT
}
static int r_random(tg_ctx *c, tg_tensor *t, bool normal) {
#define SLOT S_RANDOM
  RUN(CPU.random(c, t, normal));
  r->b[0] = normal;
  W(0, t);
  return 0;
#undef SLOT
}
static int r_softmax(tg_ctx *c, tg_tensor *out, const tg_tensor *x, int dim, bool log) {
#define SLOT S_SOFTMAX
  RUN(CPU.softmax(c, out, x, dim, log));
  r->i[0] = dim, r->b[0] = log;
  W(0, out), R(1, x);
  return 0;
#undef SLOT
}
static int r_softmax_bwd(tg_ctx *c, tg_tensor *out, const tg_tensor *g, const tg_tensor *y, int dim, bool log) {
#define SLOT S_SOFTMAX_BWD
  RUN(CPU.softmax_backward(c, out, g, y, dim, log));
  r->i[0] = dim, r->b[0] = log;
  W(0, out), R(1, g), R(2, y);
  return 0;
#undef SLOT
}
static int r_nll(tg_ctx *c, tg_tensor *out, const tg_tensor *x, tg_nll_args *a, bool backward) {
#define SLOT S_NLL
  RUN(CPU.nll(c, out, x, a, backward));
  r->b[0] = backward;
  W(0, out), R(1, x), R(2, a->target), R(3, a->weight);
  r->u.nll = *a;
  r->u.nll.target = r->t[2], r->u.nll.weight = r->t[3];
  if (backward) /* the scale 1 / total_weight of a mean-reduced forward: follow it on replay */
    for (int i = k->n - 2; i >= 0; i--) {
      cap_rec *f = &k->recs[i];
      if (f->slot != S_NLL || f->b[0] || !f->u.nll.mean) continue;
      if (f->t[2]->storage == r->t[2]->storage && f->t[2]->offset == r->t[2]->offset &&
          (f->t[3] ? f->t[3]->storage : NULL) == (r->t[3] ? r->t[3]->storage : NULL) &&
          a->scale == 1.0 / f->u.nll.total_weight) {
        r->link = i;
        break;
      }
    }
  return 0;
#undef SLOT
}
static int r_ploss(tg_ctx *c, tg_loss_kind kind, tg_tensor *out, const tg_tensor *x, const tg_tensor *y,
                   const tg_tensor *w, double p, double scale) {
#define SLOT S_PLOSS
  RUN(CPU.pointwise_loss(c, kind, out, x, y, w, p, scale));
  r->op = (int)kind, r->d[0] = p, r->d[1] = scale;
  W(0, out), R(1, x), R(2, y), R(3, w);
  return 0;
#undef SLOT
}
static int r_reduce(tg_ctx *c, int kind, tg_tensor *out, tg_tensor *idx, const tg_tensor *x, const bool *red,
                    double p) {
#define SLOT S_REDUCE
  RUN(CPU.reduce(c, kind, out, idx, x, red, p));
  r->op = kind, r->d[0] = p;
  memcpy(r->red, red, sizeof(bool) * (size_t)x->ndim);
  W(0, out), W(1, idx), R(2, x);
  return 0;
#undef SLOT
}
static int r_scan(tg_ctx *c, int kind, bool reverse, tg_tensor *out, const tg_tensor *x, int dim) {
#define SLOT S_SCAN
  RUN(CPU.scan(c, kind, reverse, out, x, dim));
  r->op = kind, r->b[0] = reverse, r->i[0] = dim;
  W(0, out), R(1, x);
  return 0;
#undef SLOT
}
static int r_cumprod_grad(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const tg_tensor *g, int dim) {
#define SLOT S_CUMPROD_GRAD
  RUN(CPU.cumprod_grad(c, out, x, g, dim));
  r->i[0] = dim;
  W(0, out), R(1, x), R(2, g);
  return 0;
#undef SLOT
}
static int r_sort(tg_ctx *c, tg_tensor *values, tg_tensor *indices, const tg_tensor *x, int dim, int64_t kk,
                  bool descending) {
#define SLOT S_SORT
  RUN(CPU.sort(c, values, indices, x, dim, kk, descending));
  r->i[0] = dim, r->l[0] = kk, r->b[0] = descending;
  W(0, values), W(1, indices), R(2, x);
  return 0;
#undef SLOT
}
static int r_take_along(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const tg_tensor *idx, int dim) {
#define SLOT S_TAKE_ALONG
  RUN(CPU.take_along(c, out, x, idx, dim));
  r->i[0] = dim;
  W(0, out), R(1, x), R(2, idx);
  return 0;
#undef SLOT
}
static int r_put_along(tg_ctx *c, tg_tensor *out, const tg_tensor *src, const tg_tensor *idx, int dim) {
#define SLOT S_PUT_ALONG
  RUN(CPU.put_along(c, out, src, idx, dim));
  r->i[0] = dim;
  RW(0, out), R(1, src), R(2, idx);
  return 0;
#undef SLOT
}
static int r_bn(tg_ctx *c, tg_tensor *out, tg_tensor *mean, tg_tensor *invstd, const tg_tensor *x, const tg_tensor *w,
                const tg_tensor *b, tg_tensor *rm, tg_tensor *rv, bool training, double momentum, double eps) {
#define SLOT S_BN
  RUN(CPU.batch_norm(c, out, mean, invstd, x, w, b, rm, rv, training, momentum, eps));
  r->b[0] = training, r->d[0] = momentum, r->d[1] = eps;
  W(0, out), W(1, mean), W(2, invstd), R(3, x), R(4, w), R(5, b);
  if (training) RW(6, rm), RW(7, rv);
  else R(6, rm), R(7, rv);
  return 0;
#undef SLOT
}
static int r_bn_bwd(tg_ctx *c, tg_tensor *gx, tg_tensor *gw, tg_tensor *gb, const tg_tensor *g, const tg_tensor *x,
                    const tg_tensor *mean, const tg_tensor *invstd, const tg_tensor *w, bool training) {
#define SLOT S_BN_BWD
  RUN(CPU.batch_norm_backward(c, gx, gw, gb, g, x, mean, invstd, w, training));
  r->b[0] = training;
  W(0, gx), W(1, gw), W(2, gb), R(3, g), R(4, x), R(5, mean), R(6, invstd), R(7, w);
  return 0;
#undef SLOT
}
static int r_gn(tg_ctx *c, tg_tensor *out, tg_tensor *mean, tg_tensor *rstd, const tg_tensor *x, const tg_tensor *w,
                const tg_tensor *b, int64_t N, int64_t C, int64_t L, int64_t G, double eps) {
#define SLOT S_GN
  RUN(CPU.group_norm(c, out, mean, rstd, x, w, b, N, C, L, G, eps));
  r->l[0] = N, r->l[1] = C, r->l[2] = L, r->l[3] = G, r->d[0] = eps;
  W(0, out), W(1, mean), W(2, rstd), R(3, x), R(4, w), R(5, b);
  return 0;
#undef SLOT
}
static int r_gn_bwd(tg_ctx *c, tg_tensor *gx, tg_tensor *gw, tg_tensor *gb, const tg_tensor *g, const tg_tensor *x,
                    const tg_tensor *mean, const tg_tensor *rstd, const tg_tensor *w, int64_t N, int64_t C, int64_t L,
                    int64_t G) {
#define SLOT S_GN_BWD
  RUN(CPU.group_norm_backward(c, gx, gw, gb, g, x, mean, rstd, w, N, C, L, G));
  r->l[0] = N, r->l[1] = C, r->l[2] = L, r->l[3] = G;
  W(0, gx), W(1, gw), W(2, gb), R(3, g), R(4, x), R(5, mean), R(6, rstd), R(7, w);
  return 0;
#undef SLOT
}
static int r_emb(tg_ctx *c, tg_tensor *out, const tg_tensor *weight, const tg_tensor *ids) {
#define SLOT S_EMB
  RUN(CPU.embedding(c, out, weight, ids));
  W(0, out), R(1, weight), R(2, ids);
  return 0;
#undef SLOT
}
static int r_emb_bwd(tg_ctx *c, tg_tensor *gw, const tg_tensor *g, const tg_tensor *ids, int64_t padding_idx,
                     bool scale) {
#define SLOT S_EMB_BWD
  RUN(CPU.embedding_backward(c, gw, g, ids, padding_idx, scale));
  r->l[0] = padding_idx, r->b[0] = scale;
  W(0, gw), R(1, g), R(2, ids);
  return 0;
#undef SLOT
}
static int r_emb_scale(tg_ctx *c, tg_tensor *out, const tg_tensor *ids, int64_t num_weights, int64_t padding_idx,
                       bool scale) {
#define SLOT S_EMB_SCALE
  RUN(CPU.embedding_scale(c, out, ids, num_weights, padding_idx, scale));
  r->l[0] = num_weights, r->l[1] = padding_idx, r->b[0] = scale;
  W(0, out), R(1, ids);
  return 0;
#undef SLOT
}
static int r_emb_renorm(tg_ctx *c, tg_tensor *weight, const tg_tensor *ids, double max_norm, double norm_type) {
#define SLOT S_EMB_RENORM
  RUN(CPU.embedding_renorm(c, weight, ids, max_norm, norm_type));
  r->d[0] = max_norm, r->d[1] = norm_type;
  RW(0, weight), R(1, ids);
  return 0;
#undef SLOT
}
static int r_optim(tg_ctx *c, const tg_optim_args *a, tg_tensor *param, const tg_tensor *grad,
                   tg_tensor *const *state) {
  if (a->kind == TG_OPTIM_ASGD) {
    tg_capture_fail(c, "tg.capture: the optimizer ASGD (its eta and mu) keeps per-step scalars in Lua that a replay "
                       "cannot advance; use SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, NAdam, RAdam or "
                       "Rprop in a captured step, or run this step uncaptured");
    return tg_err(c, "%s", K(c)->fail ? K(c)->fail : "tg.capture: optimizer refused");
  }
#define SLOT S_OPTIM
  RUN(CPU.optim_step(c, a, param, grad, state));
  r->u.opt = *a;
  k->last_optim = k->n - 1;
  RW(0, param), R(1, grad), RW(2, state[0]), RW(3, state[1]), RW(4, state[2]);
  return 0;
#undef SLOT
}
static int r_conv(tg_ctx *c, int kind, tg_tensor *out, const tg_tensor *a, const tg_tensor *b, const tg_tensor *bias,
                  const tg_conv_geom *g) {
#define SLOT S_CONV
  RUN(CPU.conv(c, kind, out, a, b, bias, g));
  r->op = kind, r->u.conv = *g;
  W(0, out), R(1, a), R(2, b), R(3, bias);
  return 0;
#undef SLOT
}
static int r_maxpool(tg_ctx *c, tg_tensor *out, tg_tensor *idx, const tg_tensor *x, const struct tg_pool2d_args *a) {
#define SLOT S_MAXPOOL
  RUN(CPU.max_pool2d(c, out, idx, x, a));
  r->u.pool = *a;
  W(0, out), W(1, idx), R(2, x);
  return 0;
#undef SLOT
}
static int r_amaxpool(tg_ctx *c, tg_tensor *out, tg_tensor *idx, const tg_tensor *x) {
#define SLOT S_AMAXPOOL
  RUN(CPU.adaptive_max_pool2d(c, out, idx, x));
  W(0, out), W(1, idx), R(2, x);
  return 0;
#undef SLOT
}
static int r_maxpool_bwd(tg_ctx *c, tg_tensor *gx, const tg_tensor *g, const tg_tensor *idx) {
#define SLOT S_MAXPOOL_BWD
  RUN(CPU.max_pool2d_backward(c, gx, g, idx));
  W(0, gx), R(1, g), R(2, idx);
  return 0;
#undef SLOT
}
static int r_avgpool(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const struct tg_pool2d_args *a, bool backward) {
#define SLOT S_AVGPOOL
  RUN(CPU.avg_pool2d(c, out, x, a, backward));
  r->u.pool = *a, r->b[0] = backward;
  W(0, out), R(1, x);
  return 0;
#undef SLOT
}
static int r_aavgpool(tg_ctx *c, tg_tensor *out, const tg_tensor *x, bool backward) {
#define SLOT S_AAVGPOOL
  RUN(CPU.adaptive_avg_pool2d(c, out, x, backward));
  r->b[0] = backward;
  W(0, out), R(1, x);
  return 0;
#undef SLOT
}
static int r_check_index(tg_ctx *c, const tg_tensor *idx, int64_t n, int dim) {
#define SLOT S_CHECK_INDEX
  RUN(CPU.check_index(c, idx, n, dim));
  r->l[0] = n, r->i[0] = dim;
  R(0, idx);
  return 0;
#undef SLOT
}
static int r_gather(tg_ctx *c, tg_tensor *out, const tg_tensor *x, int dim, const tg_tensor *idx) {
#define SLOT S_GATHER
  RUN(CPU.gather(c, out, x, dim, idx));
  r->i[0] = dim;
  W(0, out), R(1, x), R(2, idx);
  return 0;
#undef SLOT
}
static int r_scatter(tg_ctx *c, tg_tensor *dst, int dim, const tg_tensor *idx, const tg_tensor *src, double value,
                     bool add) {
#define SLOT S_SCATTER
  RUN(CPU.scatter(c, dst, dim, idx, src, value, add));
  r->i[0] = dim, r->d[0] = value, r->b[0] = add;
  RW(0, dst), R(1, idx), R(2, src);
  return 0;
#undef SLOT
}
static int r_index_select(tg_ctx *c, tg_tensor *out, const tg_tensor *x, int dim, const tg_tensor *idx) {
#define SLOT S_INDEX_SELECT
  RUN(CPU.index_select(c, out, x, dim, idx));
  r->i[0] = dim;
  W(0, out), R(1, x), R(2, idx);
  return 0;
#undef SLOT
}
static int r_index_add(tg_ctx *c, tg_tensor *dst, int dim, const tg_tensor *idx, const tg_tensor *src, double alpha) {
#define SLOT S_INDEX_ADD
  RUN(CPU.index_add(c, dst, dim, idx, src, alpha));
  r->i[0] = dim, r->d[0] = alpha;
  RW(0, dst), R(1, idx), R(2, src);
  return 0;
#undef SLOT
}
static int r_where(tg_ctx *c, tg_tensor *out, const tg_tensor *cond, const tg_tensor *a, const tg_tensor *b) {
#define SLOT S_WHERE
  RUN(CPU.where(c, out, cond, a, b));
  W(0, out), R(1, cond), R(2, a), R(3, b);
  return 0;
#undef SLOT
}
static int r_tri(tg_ctx *c, tg_tensor *t, int64_t kk, bool lower) {
#define SLOT S_TRI
  RUN(CPU.tri(c, t, kk, lower));
  r->l[0] = kk, r->b[0] = lower;
  RW(0, t);
  return 0;
#undef SLOT
}

/* the slots a capture refuses */
static int refuse(tg_ctx *c, const char *what) {
  tg_capture_fail(c, "tg.capture: %s", what);
  return tg_err(c, "%s", K(c)->fail ? K(c)->fail : "tg.capture: refused");
}
static tg_tensor *r_mask_positions(tg_ctx *c, const tg_tensor *mask) {
  (void)mask;
  refuse(c, "the step makes a tensor whose shape depends on tensor values (nonzero, masked_select, boolean "
            "indexing...); a replay needs the same shapes every time: run this step uncaptured");
  return NULL;
}
static int r_copy_across(tg_ctx *c, tg_tensor *dst, const tg_tensor *src) {
  (void)dst, (void)src;
  return refuse(c, "the step copies between devices; a captured step runs on the CPU only");
}
static int r_resample(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const struct tg_resample_plan *p, bool backward) {
#define SLOT S_RESAMPLE
  RUN(CPU.resample(c, out, x, p, backward));
  r->b[0] = backward;
  W(0, out), R(1, x);
  /* the plan's index and weight arrays, deep-copied */
  size_t n = 0;
  for (int d = 0; d < 3; d++)
    for (int t = 0; t < 4; t++)
      n += (p->idx[d][t] ? sizeof(int64_t) : 0) * (size_t)p->out[d] + (p->w[d][t] ? sizeof(double) : 0) * (size_t)p->out[d];
  r->u.plan = *p;
  char *b = r->blob = malloc(n ? n : 1);
  if (!b) {
    k->oom = true;
    return tg_err(c, "out of memory");
  }
  for (int d = 0; d < 3; d++)
    for (int t = 0; t < 4; t++) {
      size_t m = (size_t)p->out[d];
      if (p->idx[d][t]) memcpy(b, p->idx[d][t], m * sizeof(int64_t)), r->u.plan.idx[d][t] = (int64_t *)b, b += m * sizeof(int64_t);
      if (p->w[d][t]) memcpy(b, p->w[d][t], m * sizeof(double)), r->u.plan.w[d][t] = (double *)b, b += m * sizeof(double);
    }
  return 0;
#undef SLOT
}
/* any slot appended to tg_backend after this file was written: refused, never run unrecorded.
 * Called through the slot's own type (every kernel slot takes the context first and returns int). */
static intptr_t r_unknown(tg_ctx *c, ...) {
  tg_capture_fail(c, "tg.capture: the step runs a backend kernel that tg.capture does not record (a slot added to "
                     "src/backend/backend.h after src/capture.c); run this step uncaptured");
  tg_err(c, "%s", K(c) && K(c)->fail ? K(c)->fail : "tg.capture: refused");
  return -1;
}

/* the known slots end with activation (act); anything after it is new */
#define KNOWN_END (offsetof(tg_backend, activation) + sizeof(void (*)(void)))

static void build_vtable(tg_backend *be) {
  memcpy(be, &CPU, sizeof *be);
  be->copy = r_copy, be->fill = r_fill, be->unary = r_unary, be->unary_p = r_unary_p, be->binary = r_binary;
  be->sum = r_sum, be->mm = r_mm, be->random = r_random, be->softmax = r_softmax;
  be->softmax_backward = r_softmax_bwd, be->nll = r_nll, be->pointwise_loss = r_ploss, be->reduce = r_reduce;
  be->scan = r_scan, be->cumprod_grad = r_cumprod_grad, be->sort = r_sort, be->take_along = r_take_along;
  be->put_along = r_put_along, be->batch_norm = r_bn, be->batch_norm_backward = r_bn_bwd, be->group_norm = r_gn;
  be->group_norm_backward = r_gn_bwd, be->embedding = r_emb, be->embedding_backward = r_emb_bwd;
  be->embedding_scale = r_emb_scale, be->embedding_renorm = r_emb_renorm, be->optim_step = r_optim;
  be->conv = r_conv, be->max_pool2d = r_maxpool, be->adaptive_max_pool2d = r_amaxpool;
  be->max_pool2d_backward = r_maxpool_bwd, be->avg_pool2d = r_avgpool, be->adaptive_avg_pool2d = r_aavgpool;
  be->resample = r_resample, be->check_index = r_check_index, be->gather = r_gather, be->scatter = r_scatter;
  be->index_select = r_index_select, be->index_add = r_index_add, be->where = r_where, be->tri = r_tri;
  be->mask_positions = r_mask_positions, be->copy_across = r_copy_across;
  be->activation = CPU.activation ? r_activation : NULL; /* act */
  typedef void (*fnp)(void);
  for (size_t off = KNOWN_END; off + sizeof(fnp) <= sizeof *be; off += sizeof(fnp)) {
    fnp f = (fnp)r_unknown;
    memcpy((char *)be + off, &f, sizeof f);
  }
}

/* a hook or custom Function's backward would run Lua, which a replay does not */
static int refuse_hook(tg_ctx *c, int hook_id, tg_tensor **grad) {
  (void)hook_id, (void)grad;
  return tg_capture_refuse_lua(c);
}

int tg_capture_refuse_lua(tg_ctx *c) {
  tg_capture_fail(c, "tg.capture: a hook or a custom Function runs Lua during backward, which a replay cannot run; "
                     "remove the hook (or use built-in ops instead of the custom Function) in a captured step");
  return tg_err(c, "%s", K(c)->fail ? K(c)->fail : "tg.capture: hook refused");
}

/* --------------------------------------------------------------- lifecycle */
tg_capture *tg_capture_begin(tg_ctx *c) {
  if (c->capture) return tg_errp(c, "tg.capture: a capture is already running (captures do not nest)");
  tg_capture *k = calloc(1, sizeof *k);
  if (!k) return tg_errp(c, "out of memory");
  build_vtable(&k->be);
  k->last_optim = -1;
  c->capture = k;
  c->capture_be = &k->be;
  k->saved_run_hook = c->run_hook;
  c->run_hook = refuse_hook;
  return k;
}

int tg_capture_input(tg_ctx *c, tg_capture *k, int i, tg_tensor *t) {
  if (i >= k->n_inputs) {
    tg_tensor **a = realloc(k->inputs, sizeof *a * (size_t)(i + 1));
    if (!a) return tg_err(c, "out of memory");
    for (int j = k->n_inputs; j <= i; j++) a[j] = NULL;
    k->inputs = a, k->n_inputs = i + 1;
  }
  if (t) {
    if (!tg_on_cpu(t)) return tg_err(c, "tg.capture: argument %d is on %s; a captured step runs on the CPU only",
                                     i + 1, t->storage->backend->name);
    if (!(k->inputs[i] = tcopy(k, t))) return tg_err(c, "out of memory");
  }
  return 0;
}

int tg_capture_n_inputs(const tg_capture *k) { return k->n_inputs; }

void tg_capture_set_recording(tg_ctx *c, bool on) {
  if (c->capture) c->capture_be = on ? &c->capture->be : NULL;
}

void tg_capture_stop(tg_ctx *c) {
  tg_capture *k = K(c);
  if (!k) return;
  c->run_hook = k->saved_run_hook;
  c->capture_be = NULL;
  c->capture = NULL;
}

static void drop_logs(tg_capture *k) {
  for (int i = 0; i < k->n_reads; i++) tg_storage_unref(k->reads[i]);
  free(k->reads), k->reads = NULL, k->n_reads = k->cap_reads = 0;
  for (int i = 0; i < k->n_fresh; i++) tg_tensor_unref(k->fresh[i].t);
  free(k->fresh), k->fresh = NULL, k->n_fresh = k->cap_fresh = 0;
  for (int i = 0; i < k->n_resets; i++) tg_tensor_unref(k->resets[i]);
  free(k->resets), k->resets = NULL, k->n_resets = k->cap_resets = 0;
}

void tg_capture_free(tg_ctx *c, tg_capture *k) {
  if (!k) return;
  if (c->capture == k) tg_capture_stop(c);
  drop_logs(k);
  for (int i = 0; i < k->n; i++) {
    for (int j = 0; j < CAP_MAXT; j++) tfree(k->recs[i].t[j]);
    free(k->recs[i].blob);
  }
  free(k->recs);
  for (int i = 0; i < k->n_consts; i++) tfree(k->consts[i]);
  free(k->consts);
  for (int i = 0; i < k->n_inputs; i++) tfree(k->inputs[i]);
  free(k->inputs);
  /* the planned storages are gone with the records (borrowed: they did not free the arena) */
  if (k->arena) CPU.free(c, k->arena, k->arena_bytes);
  free(k->tag_rec);
  free(k->fail);
  free(k);
}

/* ------------------------------------------------------------ core hooks */
#define GROW(arr, n, cap)                                              \
  do {                                                                 \
    if ((n) == (cap)) {                                                \
      int nc_ = (cap) ? 2 * (cap) : 16;                                \
      void *p_ = realloc((arr), sizeof *(arr) * (size_t)nc_);          \
      if (!p_) { k->oom = true; return; }                              \
      (arr) = p_, (cap) = nc_;                                         \
    }                                                                  \
  } while (0)

void tg_capture_note_read(tg_ctx *c, tg_storage *s) {
  tg_capture *k = K(c);
  if (!k || (k->n_reads && k->reads[k->n_reads - 1] == s)) return;
  GROW(k->reads, k->n_reads, k->cap_reads);
  s->refs++;
  k->reads[k->n_reads++] = s;
}

void tg_capture_note_grad_reset(tg_ctx *c, tg_tensor *t) {
  tg_capture *k = K(c);
  if (!k || !c->capture_be) return;
  GROW(k->resets, k->n_resets, k->cap_resets);
  k->resets[k->n_resets++] = tg_tensor_ref(t);
}

void tg_capture_note_fresh_grad(tg_ctx *c, tg_tensor *v) {
  tg_capture *k = K(c);
  if (!k) return;
  bool reset = false;
  for (int i = 0; i < k->n_resets && !reset; i++) reset = k->resets[i] == v;
  GROW(k->fresh, k->n_fresh, k->cap_fresh);
  k->fresh[k->n_fresh++] = (cap_var){tg_tensor_ref(v), reset};
}

/* ------------------------------------------------------------------ plan */
typedef struct { cap_buf *b; int n, cap; int *slot; int nslot; } buftab;

static int buf_of(buftab *T, tg_storage *s, bool add) {
  size_t h = ((uintptr_t)s >> 4) * 0x9E3779B97F4A7C15ull;
  for (int i = (int)(h & (size_t)(T->nslot - 1));; i = (i + 1) & (T->nslot - 1)) {
    int j = T->slot[i];
    if (j < 0) {
      if (!add) return -1;
      if (T->n == T->cap) return -2;
      T->slot[i] = T->n;
      memset(&T->b[T->n], 0, sizeof T->b[0]);
      T->b[T->n].s = s, T->b[T->n].first = -1;
      return T->n++;
    }
    if (T->b[j].s == s) return j;
  }
}

/* t covers all of its storage, densely */
static bool covers(const tg_tensor *t) {
  return t->offset == 0 && tg_is_contiguous(t) &&
         (size_t)tg_numel(t) * tg_dtype_size(t->dtype) == t->storage->nbytes;
}

int tg_capture_finish(tg_ctx *c, tg_capture *k) {
  if (k->oom) return tg_err(c, "out of memory");
  if (k->fail) return tg_err(c, "%s", k->fail);
  int total_t = 0;
  for (int i = 0; i < k->n; i++)
    for (int j = 0; j < CAP_MAXT; j++) total_t += k->recs[i].t[j] != NULL;
  total_t += k->n_inputs + k->n_reads + 1;
  buftab T = {0};
  T.cap = total_t;
  T.nslot = 16;
  while (T.nslot < 2 * total_t) T.nslot *= 2;
  T.b = malloc(sizeof *T.b * (size_t)T.cap);
  T.slot = malloc(sizeof(int) * (size_t)T.nslot);
  int rc = -1;
  if (!T.b || !T.slot) {
    tg_err(c, "out of memory");
    goto out;
  }
  for (int i = 0; i < T.nslot; i++) T.slot[i] = -1;
  /* uses: first and last record, who holds it */
  for (int i = 0; i < k->n; i++) {
    cap_rec *r = &k->recs[i];
    for (int j = 0; j < CAP_MAXT; j++) {
      if (!r->t[j]) continue;
      int b = buf_of(&T, r->t[j]->storage, true);
      cap_buf *e = &T.b[b];
      e->rec_refs++;
      if (r->w & (1u << j)) e->writes++;
      if (e->first < 0) {
        e->first = i;
        e->full_first = true;
      }
      e->last = i;
    }
    /* a buffer first used here is fully written first only when no tensor of this record reads it
     * and one write covers it */
    for (int j = 0; j < CAP_MAXT; j++) {
      if (!r->t[j]) continue;
      cap_buf *e = &T.b[buf_of(&T, r->t[j]->storage, false)];
      if (e->first != i) continue;
      if (r->r & (1u << j)) e->full_first = false;
    }
    for (int j = 0; j < CAP_MAXT; j++) {
      if (!r->t[j]) continue;
      cap_buf *e = &T.b[buf_of(&T, r->t[j]->storage, false)];
      if (e->first != i || !e->full_first) continue;
      bool covered = false;
      for (int m = 0; m < CAP_MAXT; m++)
        if (r->t[m] && r->t[m]->storage == e->s && (r->w & (1u << m)) && covers(r->t[m])) covered = true;
      e->full_first = covered;
    }
  }
  for (int i = 0; i < k->n_inputs; i++)
    if (k->inputs[i]) {
      int b = buf_of(&T, k->inputs[i]->storage, true);
      T.b[b].input = true, T.b[b].dyn = true;
      if (T.b[b].first < 0) T.b[b].first = T.b[b].last = -1;
    }
  /* a fill of a buffer no other record writes makes a constant: it is not replayed, and the buffer
   * keeps what it holds now (the host may have written it after the fill: a wrapped Lua integer) */
  for (int i = 0; i < k->n; i++) {
    cap_rec *r = &k->recs[i];
    if (r->slot != S_FILL) continue;
    cap_buf *e = &T.b[buf_of(&T, r->t[0]->storage, false)];
    if (e->writes == 1 && !e->input) r->slot = S_NOP, e->folded = true;
  }
  /* and what is computed from constants only (a wrapped number cast to the op's dtype) */
  for (int i = 0; i < k->n; i++) {
    cap_rec *r = &k->recs[i];
    if (r->slot == S_NOP || r->slot == S_RANDOM || r->slot == S_OPTIM || !r->w) continue;
    bool fold = true;
    for (int j = 0; j < CAP_MAXT && fold; j++) {
      if (!r->t[j]) continue;
      cap_buf *e = &T.b[buf_of(&T, r->t[j]->storage, false)];
      if (r->r & (1u << j)) fold = e->folded && !(r->w & (1u << j));
      else fold = e->writes == 1 && !e->input;
    }
    for (int j = 0; j < CAP_MAXT && fold; j++) /* a buffer both read and written here is not a constant */
      for (int m = 0; m < CAP_MAXT && fold; m++)
        if (r->t[j] && r->t[m] && (r->w & (1u << j)) && (r->r & (1u << m)) && r->t[j]->storage == r->t[m]->storage)
          fold = false;
    if (!fold) continue;
    r->slot = S_NOP;
    for (int j = 0; j < CAP_MAXT; j++)
      if (r->t[j] && (r->w & (1u << j))) T.b[buf_of(&T, r->t[j]->storage, false)].folded = true;
  }
  /* values that change from one replay to the next: the inputs, random draws, and what they flow into */
  for (bool changed = true; changed;) {
    changed = false;
    for (int i = 0; i < k->n; i++) {
      cap_rec *r = &k->recs[i];
      bool dyn = r->slot == S_RANDOM;
      for (int j = 0; j < CAP_MAXT && !dyn; j++)
        if (r->t[j] && (r->r & (1u << j))) dyn = T.b[buf_of(&T, r->t[j]->storage, false)].dyn;
      if (!dyn) continue;
      for (int j = 0; j < CAP_MAXT; j++)
        if (r->t[j] && (r->w & (1u << j))) {
          cap_buf *e = &T.b[buf_of(&T, r->t[j]->storage, false)];
          if (!e->dyn) e->dyn = changed = true;
        }
    }
  }
  /* a value read on the host that a replay changes: the step depended on it */
  for (int i = 0; i < k->n_reads; i++) {
    int b = buf_of(&T, k->reads[i], false);
    if (b >= 0 && T.b[b].dyn) {
      tg_err(c, "tg.capture: the step reads on the host a tensor value that changes from one step to the next "
                "(a data-dependent branch, a value check or a scalar taken from a tensor inside an op), which a "
                "replay cannot follow; run this step uncaptured");
      goto out;
    }
  }
  /* gradient accumulation: a .grad that backward set from nil must have been reset in the step */
  for (int i = 0; i < k->n_fresh; i++) {
    cap_var *v = &k->fresh[i];
    if (!v->reset && v->t->grad) {
      char shape[160];
      tg_format_shape(shape, sizeof shape, v->t->ndim, v->t->size);
      tg_err(c, "tg.capture: backward set the .grad of a tensor of shape %s that had none, and the step does not "
                "reset it: running the step again would accumulate into that gradient, a replay would overwrite "
                "it; call opt:zero_grad() (or set .grad = nil) inside the captured function, before backward",
             shape);
      goto out;
    }
  }
  drop_logs(k);
  /* the memory plan: buffers only the records hold, first fully written, packed by live interval */
  int *order = malloc(sizeof(int) * (size_t)(T.n > k->n ? T.n : k->n ? k->n : 1));
  if (!order) {
    tg_err(c, "out of memory");
    goto out;
  }
  int ni = 0;
  for (int b = 0; b < T.n; b++) {
    cap_buf *e = &T.b[b];
    tg_storage *s = e->s;
    e->internal = !e->input && !e->folded && e->full_first && e->first >= 0 && s->refs == e->rec_refs && !s->release &&
                  !s->halloc && !s->borrowed && s->nbytes > 0 && s->backend == &CPU;
    if (e->internal) {
      e->size = (s->nbytes + 63) & ~(size_t)63;
      order[ni++] = b;
    }
  }
  /* largest first, then by first use (insertion sort: a few hundred buffers) */
  for (int i = 1; i < ni; i++) {
    int x = order[i], j = i - 1;
    while (j >= 0 && (T.b[order[j]].size < T.b[x].size ||
                      (T.b[order[j]].size == T.b[x].size && T.b[order[j]].first > T.b[x].first))) {
      order[j + 1] = order[j];
      j--;
    }
    order[j + 1] = x;
  }
  size_t top = 0;
  size_t (*span)[2] = malloc(sizeof *span * (size_t)(ni ? ni : 1));
  if (!span) {
    free(order);
    tg_err(c, "out of memory");
    goto out;
  }
  for (int i = 0; i < ni; i++) {
    cap_buf *e = &T.b[order[i]];
    /* the placed buffers alive with e, by offset; e goes in the first gap that fits */
    int ns = 0;
    for (int j = 0; j < i; j++) {
      cap_buf *p = &T.b[order[j]];
      if (p->last < e->first || e->last < p->first) continue;
      int m = ns++;
      while (m > 0 && span[m - 1][0] > p->off) {
        span[m][0] = span[m - 1][0], span[m][1] = span[m - 1][1];
        m--;
      }
      span[m][0] = p->off, span[m][1] = p->off + p->size;
    }
    size_t off = 0;
    for (int m = 0; m < ns; m++) {
      if (off + e->size <= span[m][0]) break;
      if (span[m][1] > off) off = span[m][1];
    }
    e->off = off;
    if (off + e->size > top) top = off + e->size;
    k->planned_bytes += e->s->nbytes;
  }
  free(span);
  if (top) {
    k->arena = CPU.alloc(c, top);
    if (!k->arena) {
      free(order);
      tg_err(c, "out of memory: tried to allocate %zu bytes for a captured step", top);
      goto out;
    }
    k->arena_bytes = top;
    for (int i = 0; i < ni; i++) {
      cap_buf *e = &T.b[order[i]];
      CPU.free(c, e->s->data, e->s->nbytes);
      e->s->data = (char *)k->arena + e->off;
      e->s->borrowed = true; /* the arena is the capture's */
    }
  }
  k->n_internal = ni;
  /* the folded records leave the list; their tensors stay held (the constants they made) */
  int n = 0;
  for (int i = 0; i < k->n; i++) {
    if (k->recs[i].slot == S_NOP) {
      for (int j = 0; j < CAP_MAXT; j++)
        if (k->recs[i].t[j]) {
          if (k->n_consts == k->cap_consts) {
            int nc = k->cap_consts ? 2 * k->cap_consts : 16;
            tg_tensor **a = realloc(k->consts, sizeof *a * (size_t)nc);
            if (!a) {
              free(order);
              tg_err(c, "out of memory");
              goto out;
            }
            k->consts = a, k->cap_consts = nc;
          }
          k->consts[k->n_consts++] = k->recs[i].t[j];
          k->recs[i].t[j] = NULL;
        }
      free(k->recs[i].blob);
      continue;
    }
    order[i] = n; /* order is free now: the records' new positions */
    if (k->recs[i].link >= 0) k->recs[i].link = order[k->recs[i].link]; /* the forward's new position */
    k->recs[n++] = k->recs[i];
  }
  k->n = n;
  if (k->n_tags) {
    if (!(k->tag_rec = malloc(sizeof(int) * (size_t)k->n_tags))) {
      free(order);
      tg_err(c, "out of memory");
      goto out;
    }
    for (int i = 0; i < k->n_tags; i++) k->tag_rec[i] = -1;
    for (int i = 0; i < k->n; i++)
      if (k->recs[i].tag >= 0) k->tag_rec[k->recs[i].tag] = i;
  }
  free(order);
  rc = 0;
out:
  free(T.b);
  free(T.slot);
  return rc;
}

int tg_capture_tag_last(tg_ctx *c) {
  tg_capture *k = K(c);
  if (!k || !c->capture_be || k->last_optim < 0) return -1;
  int i = k->last_optim;
  k->last_optim = -1;
  return k->recs[i].tag = k->n_tags++;
}

bool tg_capture_optim_mu_product(const tg_capture *k, int tag, double *v) {
  if (tag < 0 || tag >= k->n_tags || !k->tag_rec || k->tag_rec[tag] < 0) return false;
  *v = k->recs[k->tag_rec[tag]].u.opt.mu_product;
  return true;
}

void tg_capture_stats(const tg_capture *k, int64_t *records, int64_t *arena_bytes, int64_t *buffers,
                      int64_t *planned_bytes) {
  *records = k->n, *arena_bytes = (int64_t)k->arena_bytes, *buffers = k->n_internal;
  *planned_bytes = (int64_t)k->planned_bytes;
}

/* ---------------------------------------------------------------- replay */
int tg_capture_check_input(tg_ctx *c, tg_capture *k, int i, const tg_tensor *t) {
  const tg_tensor *e = i < k->n_inputs ? k->inputs[i] : NULL;
  if (!e) return 0;
  if (!tg_on_cpu(t)) return tg_err(c, "tg.capture: argument %d is on %s; a captured step runs on the CPU only",
                                   i + 1, t->storage->backend->name);
  if (t->dtype != e->dtype)
    return tg_err(c, "tg.capture: argument %d has dtype %s but the step was captured with %s; capture the step "
                     "again for new dtypes", i + 1, tg_dtype_name(t->dtype), tg_dtype_name(e->dtype));
  if (!tg_same_shape(t, e)) {
    char a[160], b[160];
    tg_format_shape(a, sizeof a, t->ndim, t->size);
    tg_format_shape(b, sizeof b, e->ndim, e->size);
    return tg_err(c, "tg.capture: argument %d has shape %s but the step was captured with %s; capture the step "
                     "again for new shapes", i + 1, a, b);
  }
  return 0;
}

static int run_rec(tg_ctx *c, tg_capture *k, cap_rec *r) {
  tg_tensor **t = r->t;
  switch (r->slot) {
    case S_COPY: return CPU.copy(c, t[0], t[1]);
    case S_FILL: return CPU.fill(c, t[0], r->d[0]);
    case S_UNARY: return CPU.unary(c, (tg_op)r->op, t[0], t[1]);
    case S_UNARY_P: return CPU.unary_p(c, (tg_op)r->op, t[0], t[1], r->d);
    case S_BINARY: return CPU.binary(c, (tg_op)r->op, t[0], t[1], t[2]);
    case S_ACTIVATION: return CPU.activation(c, (tg_op)r->op, t[0], t[1], t[2], r->b[0] ? r->d : NULL);
    case S_SUM: return CPU.sum(c, t[0], t[1], r->red);
    case S_MM: return CPU.mm(c, t[0], t[1], t[2]);
    case S_RANDOM: return CPU.random(c, t[0], r->b[0]);
    case S_SOFTMAX: return CPU.softmax(c, t[0], t[1], r->i[0], r->b[0]);
    case S_SOFTMAX_BWD: return CPU.softmax_backward(c, t[0], t[1], t[2], r->i[0], r->b[0]);
    case S_NLL:
      if (r->link >= 0) r->u.nll.scale = 1.0 / k->recs[r->link].u.nll.total_weight;
      return CPU.nll(c, t[0], t[1], &r->u.nll, r->b[0]);
    case S_PLOSS: return CPU.pointwise_loss(c, (tg_loss_kind)r->op, t[0], t[1], t[2], t[3], r->d[0], r->d[1]);
    case S_REDUCE: return CPU.reduce(c, r->op, t[0], t[1], t[2], r->red, r->d[0]);
    case S_SCAN: return CPU.scan(c, r->op, r->b[0], t[0], t[1], r->i[0]);
    case S_CUMPROD_GRAD: return CPU.cumprod_grad(c, t[0], t[1], t[2], r->i[0]);
    case S_SORT: return CPU.sort(c, t[0], t[1], t[2], r->i[0], r->l[0], r->b[0]);
    case S_TAKE_ALONG: return CPU.take_along(c, t[0], t[1], t[2], r->i[0]);
    case S_PUT_ALONG: return CPU.put_along(c, t[0], t[1], t[2], r->i[0]);
    case S_BN: return CPU.batch_norm(c, t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], r->b[0], r->d[0], r->d[1]);
    case S_BN_BWD: return CPU.batch_norm_backward(c, t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], r->b[0]);
    case S_GN: return CPU.group_norm(c, t[0], t[1], t[2], t[3], t[4], t[5], r->l[0], r->l[1], r->l[2], r->l[3], r->d[0]);
    case S_GN_BWD:
      return CPU.group_norm_backward(c, t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], r->l[0], r->l[1], r->l[2],
                                     r->l[3]);
    case S_EMB: return CPU.embedding(c, t[0], t[1], t[2]);
    case S_EMB_BWD: return CPU.embedding_backward(c, t[0], t[1], t[2], r->l[0], r->b[0]);
    case S_EMB_SCALE: return CPU.embedding_scale(c, t[0], t[1], r->l[0], r->l[1], r->b[0]);
    case S_EMB_RENORM: return CPU.embedding_renorm(c, t[0], t[1], r->d[0], r->d[1]);
    case S_OPTIM: {
      tg_optim_args *a = &r->u.opt;
      a->step += 1; /* this replay is the next step: as the Lua side's state.step */
      a->first_step = false;
      tg_optim_derive(a);
      return CPU.optim_step(c, a, t[0], t[1], &t[2]);
    }
    case S_CONV: return CPU.conv(c, r->op, t[0], t[1], t[2], t[3], &r->u.conv);
    case S_MAXPOOL: return CPU.max_pool2d(c, t[0], t[1], t[2], &r->u.pool);
    case S_AMAXPOOL: return CPU.adaptive_max_pool2d(c, t[0], t[1], t[2]);
    case S_MAXPOOL_BWD: return CPU.max_pool2d_backward(c, t[0], t[1], t[2]);
    case S_AVGPOOL: return CPU.avg_pool2d(c, t[0], t[1], &r->u.pool, r->b[0]);
    case S_AAVGPOOL: return CPU.adaptive_avg_pool2d(c, t[0], t[1], r->b[0]);
    case S_CHECK_INDEX: return CPU.check_index(c, t[0], r->l[0], r->i[0]);
    case S_GATHER: return CPU.gather(c, t[0], t[1], r->i[0], t[2]);
    case S_SCATTER: return CPU.scatter(c, t[0], r->i[0], t[1], t[2], r->d[0], r->b[0]);
    case S_INDEX_SELECT: return CPU.index_select(c, t[0], t[1], r->i[0], t[2]);
    case S_INDEX_ADD: return CPU.index_add(c, t[0], r->i[0], t[1], t[2], r->d[0]);
    case S_WHERE: return CPU.where(c, t[0], t[1], t[2], t[3]);
    case S_TRI: return CPU.tri(c, t[0], r->l[0], r->b[0]);
    case S_RESAMPLE: return CPU.resample(c, t[0], t[1], &r->u.plan, r->b[0]);
    case S_NOP: return 0;
    default: return tg_err(c, "tg.capture: corrupt record %d", r->slot);
  }
}

int tg_capture_replay(tg_ctx *c, tg_capture *k, tg_tensor *const *inputs, int n) {
  if (c->capture) return tg_err(c, "tg.capture: a captured step cannot be replayed while a capture is recording");
  for (int i = 0; i < n && i < k->n_inputs; i++) {
    tg_tensor *e = k->inputs[i], *t = inputs[i];
    if (!e || !t) continue;
    if (t->storage == e->storage && t->offset == e->offset && !memcmp(t->stride, e->stride, sizeof(int64_t) * (size_t)t->ndim))
      continue; /* the captured tensor itself */
    if (tg_numel(e) == 0) continue;
    if (tg_is_contiguous(t) && tg_is_contiguous(e))
      memmove(tg_data(e), tg_data(t), (size_t)tg_numel(e) * tg_dtype_size(e->dtype));
    else if (CPU.copy(c, e, t) < 0)
      return -1;
    e->storage->version++;
  }
  for (int i = 0; i < k->n; i++)
    if (run_rec(c, k, &k->recs[i]) < 0) return -1;
  return 0;
}
