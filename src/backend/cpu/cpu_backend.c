/* cpu_backend.c: host memory and the CPU vtable. */
#include <stdlib.h>

#include "cpu.h"
#include "cpu_nn.h"
#include "cpu_norm.h" /* norm */
#include "../../optim.h" /* optim */
#include "cpu_pool.h" /* pool */
#include <string.h>
#include "cpu_index.h" /* cuda boundary */

/* cuda boundary: both tensors on the CPU here (same dtype and numel, contiguous) */
static int cpu_copy_across(tg_ctx *c, tg_tensor *dst, const tg_tensor *src) {
  (void)c;
  size_t n = (size_t)tg_numel(dst) * tg_dtype_size(dst->dtype);
  if (n) memmove(tg_data(dst), tg_data(src), n);
  return 0;
}

static bool cpu_supports(tg_kernel k, int op, tg_dtype dt) {
  (void)op;
  switch (k) {
    case TG_K_MM: return dt != TG_BOOL;
    case TG_K_RANDOM: return tg_is_float(dt);
    default: return true;
  }
}

static int cpu_random(tg_ctx *c, tg_tensor *t, bool normal) {
  int64_t n = tg_numel(t);
  if (t->dtype == TG_FLOAT32) {
    float *p = tg_data(t);
    for (int64_t i = 0; i < n; i++) p[i] = (float)(normal ? tg_rng_normal(&c->rng) : tg_rng_uniform(&c->rng));
  } else {
    double *p = tg_data(t);
    for (int64_t i = 0; i < n; i++) p[i] = normal ? tg_rng_normal(&c->rng) : tg_rng_uniform(&c->rng);
  }
  return 0;
}

const tg_backend tg_cpu_backend = {
    .name = "cpu",
    .alloc = tg_cpu_alloc,
    .free = tg_cpu_free,
    .supports = cpu_supports,
    .copy = tg_cpu_copy,
    .fill = tg_cpu_fill,
    .unary = tg_cpu_unary,
    .unary_p = tg_cpu_unary_p,
    .binary = tg_cpu_binary,
    .sum = tg_cpu_sum,
    .mm = tg_cpu_mm,
    .random = cpu_random,
    .reduce = tg_cpu_reduce,
    .scan = tg_cpu_scan,
    .cumprod_grad = tg_cpu_cumprod_grad,
    .sort = tg_cpu_sort,
    .take_along = tg_cpu_take_along,
    .put_along = tg_cpu_put_along,
    .softmax = tg_cpu_softmax,
    .softmax_backward = tg_cpu_softmax_backward,
    .nll = tg_cpu_nll,
    .pointwise_loss = tg_cpu_pointwise_loss,
    /* norm */
    .batch_norm = tg_cpu_batch_norm,
    .batch_norm_backward = tg_cpu_batch_norm_backward,
    .group_norm = tg_cpu_group_norm,
    .group_norm_backward = tg_cpu_group_norm_backward,
    .embedding = tg_cpu_embedding,
    .embedding_backward = tg_cpu_embedding_backward,
    .embedding_scale = tg_cpu_embedding_scale,
    .embedding_renorm = tg_cpu_embedding_renorm,
    .optim_step = tg_cpu_optim_step, /* optim */
    .conv = tg_cpu_conv, /* helper conv: cpu_conv.c */
    /* pool */
    .max_pool2d = tg_cpu_max_pool2d,
    .adaptive_max_pool2d = tg_cpu_adaptive_max_pool2d,
    .max_pool2d_backward = tg_cpu_max_pool2d_backward,
    .avg_pool2d = tg_cpu_avg_pool2d,
    .adaptive_avg_pool2d = tg_cpu_adaptive_avg_pool2d,
    .resample = tg_cpu_resample,
    /* cuda boundary */
    .check_index = tg_cpu_check_index,
    .gather = tg_cpu_gather,
    .scatter = tg_cpu_scatter,
    .index_select = tg_cpu_index_select,
    .index_add = tg_cpu_index_add,
    .where = tg_cpu_where,
    .tri = tg_cpu_tri,
    .mask_positions = tg_cpu_mask_positions,
    .copy_across = cpu_copy_across,
    .ctx_close = tg_cpu_release_cache,
    .activation = tg_cpu_activation, /* act */
    .binary_flat = tg_cpu_binary_flat, /* perop2 */
};
