/* cpu_norm.c: fused CPU kernels of batch norm, group norm (layer norm is its
 * G = 1, L = 1 case) and embedding, forward and backward.
 *
 * The norms see x as (N, C, L). Batch norm works channel by channel (OpenMP
 * over channels): one pass accumulates the channel's statistics, a second
 * normalises it while it is still in cache; a 2-D input (L == 1) goes row by
 * row over blocks of channels instead, so that the loops stay contiguous.
 * Group / layer norm work block by block, a block being one sample's group.
 * The backward passes compute grad_input, grad_weight and grad_bias together
 * (one pass of sums, one of grad_input). The typed bodies are in
 * cpu_norm_impl.h, included once per floating dtype. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "cpu_norm.h"

#define NORM_PARALLEL_GRAIN 32768

static int threads_for(tg_ctx *c, int64_t work, int64_t units) {
  int nt = c->num_threads > 0 ? c->num_threads : 1;
  if (work < NORM_PARALLEL_GRAIN || units < 2) return 1;
  return units < nt ? (int)units : nt;
}

#define T float
#define SFX _f32
#include "cpu_norm_impl.h"
#undef T
#undef SFX
#define T double
#define SFX _f64
#include "cpu_norm_impl.h"
#undef T
#undef SFX

static void *dp(const tg_tensor *t) { return t ? tg_data(t) : NULL; }

/* contiguous inputs: refs of the given ones, or copies (released by unref_all) */
static int contig(tg_ctx *c, int n, const tg_tensor *const *in, tg_tensor **out) {
  for (int i = 0; i < n; i++) out[i] = NULL;
  for (int i = 0; i < n; i++)
    if (in[i] && !(out[i] = tg_contiguous_raw(c, (tg_tensor *)in[i]))) return -1;
  return 0;
}
static void unref_all(int n, tg_tensor **t) {
  for (int i = 0; i < n; i++) tg_tensor_unref(t[i]);
}

static int same_float(tg_ctx *c, const char *op, tg_dtype dt, int n, const tg_tensor *const *ts) {
  if (!tg_is_float(dt)) return tg_err(c, "%s: expected a floating point tensor", op);
  for (int i = 0; i < n; i++)
    if (ts[i] && ts[i]->dtype != dt) return tg_err(c, "%s: expected tensors of one floating point dtype", op);
  return 0;
}

static void bn_geometry(const tg_tensor *x, int64_t *N, int64_t *C, int64_t *L) {
  *N = x->size[0], *C = x->size[1], *L = 1;
  for (int d = 2; d < x->ndim; d++) *L *= x->size[d];
}

/* ------------------------------------------------------------ batch norm */
int tg_cpu_batch_norm(tg_ctx *c, tg_tensor *out, tg_tensor *mean, tg_tensor *invstd, const tg_tensor *x,
                      const tg_tensor *w, const tg_tensor *b, tg_tensor *rm, tg_tensor *rv, bool training,
                      double momentum, double eps) {
  const tg_tensor *all[] = {out, mean, invstd, w, b, rm, rv};
  if (same_float(c, "batch_norm", x->dtype, 7, all) < 0) return -1;
  if (x->ndim < 2) return tg_err(c, "batch_norm: expected an input of at least 2 dims");
  if (!training && (!rm || !rv)) return tg_err(c, "batch_norm: running statistics are needed in evaluation mode");
  if ((rm && !tg_is_contiguous(rm)) || (rv && !tg_is_contiguous(rv)))
    return tg_err(c, "batch_norm: running statistics must be contiguous");
  int64_t N, C, L;
  bn_geometry(x, &N, &C, &L);
  if (N * C * L == 0) return 0;
  const tg_tensor *in[] = {x, w, b};
  tg_tensor *k[3];
  int rc = -1;
  if (contig(c, 3, in, k) == 0) {
    int nt = threads_for(c, N * C * L, C);
    if (x->dtype == TG_FLOAT32)
      batch_norm_f32(nt, dp(k[0]), dp(out), dp(mean), dp(invstd), dp(k[1]), dp(k[2]), dp(rm), dp(rv), N, C, L,
                     training, momentum, eps);
    else
      batch_norm_f64(nt, dp(k[0]), dp(out), dp(mean), dp(invstd), dp(k[1]), dp(k[2]), dp(rm), dp(rv), N, C, L,
                     training, momentum, eps);
    rc = 0;
  }
  unref_all(3, k);
  return rc;
}

int tg_cpu_batch_norm_backward(tg_ctx *c, tg_tensor *gx, tg_tensor *gw, tg_tensor *gb, const tg_tensor *g,
                               const tg_tensor *x, const tg_tensor *mean, const tg_tensor *invstd,
                               const tg_tensor *w, bool training) {
  const tg_tensor *all[] = {gx, gw, gb, g, mean, invstd, w};
  if (same_float(c, "batch_norm_backward", x->dtype, 7, all) < 0) return -1;
  int64_t N, C, L;
  bn_geometry(x, &N, &C, &L);
  if (C == 0) return 0;
  if (N * L == 0) { /* no values: zero weight and bias gradients */
    if (gw && tg_cpu_fill(c, gw, 0) < 0) return -1;
    if (gb && tg_cpu_fill(c, gb, 0) < 0) return -1;
    return 0;
  }
  const tg_tensor *in[] = {g, x, mean, invstd, w};
  tg_tensor *k[5];
  int rc = -1;
  if (contig(c, 5, in, k) == 0) {
    int nt = threads_for(c, N * C * L, C);
    if (x->dtype == TG_FLOAT32)
      batch_norm_backward_f32(nt, dp(k[0]), dp(k[1]), dp(gx), dp(gw), dp(gb), dp(k[2]), dp(k[3]), dp(k[4]), N, C,
                              L, training);
    else
      batch_norm_backward_f64(nt, dp(k[0]), dp(k[1]), dp(gx), dp(gw), dp(gb), dp(k[2]), dp(k[3]), dp(k[4]), N, C,
                              L, training);
    rc = 0;
  }
  unref_all(5, k);
  return rc;
}

/* ------------------------------------------------- group norm, layer norm */
int tg_cpu_group_norm(tg_ctx *c, tg_tensor *out, tg_tensor *mean, tg_tensor *rstd, const tg_tensor *x,
                      const tg_tensor *w, const tg_tensor *b, int64_t N, int64_t C, int64_t L, int64_t G,
                      double eps) {
  const tg_tensor *all[] = {out, mean, rstd, w, b};
  if (same_float(c, "group_norm", x->dtype, 5, all) < 0) return -1;
  if (G <= 0 || C % G) return tg_err(c, "group_norm: %lld channels in %lld groups", (long long)C, (long long)G);
  if (N * G == 0) return 0;
  const tg_tensor *in[] = {x, w, b};
  tg_tensor *k[3];
  int rc = -1;
  if (contig(c, 3, in, k) == 0) {
    int nt = threads_for(c, N * C * L, N * G);
    if (x->dtype == TG_FLOAT32)
      group_norm_f32(nt, dp(k[0]), dp(out), dp(mean), dp(rstd), dp(k[1]), dp(k[2]), N, C, L, G, eps);
    else
      group_norm_f64(nt, dp(k[0]), dp(out), dp(mean), dp(rstd), dp(k[1]), dp(k[2]), N, C, L, G, eps);
    rc = 0;
  }
  unref_all(3, k);
  return rc;
}

int tg_cpu_group_norm_backward(tg_ctx *c, tg_tensor *gx, tg_tensor *gw, tg_tensor *gb, const tg_tensor *g,
                               const tg_tensor *x, const tg_tensor *mean, const tg_tensor *rstd, const tg_tensor *w,
                               int64_t N, int64_t C, int64_t L, int64_t G) {
  const tg_tensor *all[] = {gx, gw, gb, g, mean, rstd, w};
  if (same_float(c, "group_norm_backward", x->dtype, 7, all) < 0) return -1;
  if (G <= 0 || C % G) return tg_err(c, "group_norm: %lld channels in %lld groups", (long long)C, (long long)G);
  if (C == 0) return 0;
  const tg_tensor *in[] = {g, x, mean, rstd, w};
  tg_tensor *k[5];
  int rc = -1;
  if (contig(c, 5, in, k) == 0) {
    int nt = threads_for(c, N * C * L, N * G);
    double *acc = NULL;
    if (gw || gb) {
      acc = malloc(sizeof(double) * 2 * (size_t)C * (size_t)(nt > 0 ? nt : 1));
      if (!acc) {
        unref_all(5, k);
        return tg_err(c, "out of memory");
      }
    }
    if (x->dtype == TG_FLOAT32)
      group_norm_backward_f32(nt, dp(k[0]), dp(k[1]), dp(gx), dp(gw), dp(gb), dp(k[2]), dp(k[3]), dp(k[4]), N, C,
                              L, G, acc);
    else
      group_norm_backward_f64(nt, dp(k[0]), dp(k[1]), dp(gx), dp(gw), dp(gb), dp(k[2]), dp(k[3]), dp(k[4]), N, C,
                              L, G, acc);
    free(acc);
    rc = 0;
  }
  unref_all(5, k);
  return rc;
}

/* ------------------------------------------------------------- embedding */
static int check_ids(tg_ctx *c, const int64_t *ids, int64_t n, int64_t V) {
  for (int64_t i = 0; i < n; i++)
    if (ids[i] < 1 || ids[i] > V) return tg_err(c, "index out of range in self");
  return 0;
}

int tg_cpu_embedding(tg_ctx *c, tg_tensor *out, const tg_tensor *weight, const tg_tensor *ids) {
  if (ids->dtype != TG_INT64 || weight->ndim != 2 || out->dtype != weight->dtype)
    return tg_err(c, "embedding: expected int64 ids and a 2-D weight");
  int64_t n = tg_numel(ids), V = weight->size[0], D = weight->size[1];
  tg_tensor *ic = tg_contiguous_raw(c, (tg_tensor *)ids);
  if (!ic) return -1;
  const int64_t *id = tg_data(ic);
  if (check_ids(c, id, n, V) < 0) {
    tg_tensor_unref(ic);
    return -1;
  }
  size_t es = tg_dtype_size(weight->dtype);
  const char *w = tg_data(weight);
  char *o = tg_data(out);
  int64_t rs = weight->stride[0], cs = weight->stride[1];
  int nt = threads_for(c, n * D, n);
  TG_PARALLEL_FOR(for (int64_t i = 0; i < n; i++) {
    const char *src = w + (size_t)((id[i] - 1) * rs) * es;
    char *dst = o + (size_t)(i * D) * es;
    if (cs == 1 || D == 1)
      memcpy(dst, src, (size_t)D * es);
    else
      for (int64_t d = 0; d < D; d++) memcpy(dst + (size_t)d * es, src + (size_t)(d * cs) * es, es);
  });
  tg_tensor_unref(ic);
  return 0;
}

/* counts[r] = how many times row r (0-based) is referenced */
static int64_t *id_counts(tg_ctx *c, const int64_t *ids, int64_t n, int64_t V) {
  int64_t *counts = calloc((size_t)(V > 0 ? V : 1), sizeof *counts);
  if (!counts) return tg_errp(c, "out of memory");
  for (int64_t i = 0; i < n; i++) counts[ids[i] - 1]++;
  return counts;
}

int tg_cpu_embedding_backward(tg_ctx *c, tg_tensor *gw, const tg_tensor *g, const tg_tensor *ids, int64_t pad,
                              bool scale) {
  if (!tg_is_float(gw->dtype) || g->dtype != gw->dtype || ids->dtype != TG_INT64 || gw->ndim != 2)
    return tg_err(c, "embedding_backward: expected a floating point gradient and int64 ids");
  int64_t n = tg_numel(ids), V = gw->size[0], D = gw->size[1];
  const tg_tensor *in[] = {g, ids};
  tg_tensor *k[2];
  int rc = -1;
  int64_t *counts = NULL;
  if (contig(c, 2, in, k) == 0 && check_ids(c, dp(k[1]), n, V) == 0 &&
      (!scale || (counts = id_counts(c, dp(k[1]), n, V)))) {
    int nt = threads_for(c, n * D, V);
    if (gw->dtype == TG_FLOAT32)
      embedding_backward_f32(nt, dp(gw), dp(k[0]), dp(k[1]), n, V, D, pad, counts);
    else
      embedding_backward_f64(nt, dp(gw), dp(k[0]), dp(k[1]), n, V, D, pad, counts);
    rc = 0;
  }
  free(counts);
  unref_all(2, k);
  return rc;
}

int tg_cpu_embedding_scale(tg_ctx *c, tg_tensor *out, const tg_tensor *ids, int64_t V, int64_t pad, bool scale) {
  if (!tg_is_float(out->dtype) || ids->dtype != TG_INT64 || !tg_is_contiguous(out))
    return tg_err(c, "embedding_scale: expected a contiguous floating point output and int64 ids");
  int64_t n = tg_numel(ids);
  tg_tensor *ic = tg_contiguous_raw(c, (tg_tensor *)ids);
  if (!ic) return -1;
  const int64_t *id = tg_data(ic);
  int64_t *counts = NULL;
  int rc = -1;
  if (check_ids(c, id, n, V) == 0 && (!scale || (counts = id_counts(c, id, n, V)))) {
    for (int64_t i = 0; i < n; i++) {
      int64_t r = id[i] - 1;
      double f = r == pad ? 0.0 : counts ? 1.0 / (double)counts[r] : 1.0;
      if (out->dtype == TG_FLOAT32)
        ((float *)tg_data(out))[i] = (float)f;
      else
        ((double *)tg_data(out))[i] = f;
    }
    rc = 0;
  }
  free(counts);
  tg_tensor_unref(ic);
  return rc;
}

int tg_cpu_embedding_renorm(tg_ctx *c, tg_tensor *weight, const tg_tensor *ids, double max_norm, double p) {
  if (!tg_is_float(weight->dtype) || ids->dtype != TG_INT64 || weight->ndim != 2)
    return tg_err(c, "embedding_renorm_: expected a floating point 2-D weight and int64 ids");
  int64_t n = tg_numel(ids), V = weight->size[0], D = weight->size[1];
  tg_tensor *ic = tg_contiguous_raw(c, (tg_tensor *)ids);
  if (!ic) return -1;
  const int64_t *id = tg_data(ic);
  int rc = -1;
  unsigned char *seen = NULL;
  int64_t *rows = NULL;
  if (check_ids(c, id, n, V) == 0) {
    seen = calloc((size_t)(V > 0 ? V : 1), 1);
    rows = malloc(sizeof *rows * (size_t)(n > 0 ? n : 1));
    if (!seen || !rows) {
      rc = tg_err(c, "out of memory");
    } else {
      int64_t nr = 0;
      for (int64_t i = 0; i < n; i++)
        if (!seen[id[i] - 1]) seen[id[i] - 1] = 1, rows[nr++] = id[i] - 1;
      if (weight->dtype == TG_FLOAT32)
        embedding_renorm_f32(tg_data(weight), weight->stride[0], weight->stride[1], D, rows, nr, max_norm, p);
      else
        embedding_renorm_f64(tg_data(weight), weight->stride[0], weight->stride[1], D, rows, nr, max_norm, p);
      rc = 0;
    }
  }
  free(seen);
  free(rows);
  tg_tensor_unref(ic);
  return rc;
}
