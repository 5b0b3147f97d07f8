/* cpu_backend.c: host memory and the CPU vtable. */
#include <stdlib.h>

#include "cpu.h"

static void *cpu_alloc(tg_ctx *c, size_t nbytes) {
  (void)c;
  void *p = NULL;
  /* 64-byte alignment for vector loads; never a zero-size request */
  size_t n = (nbytes + 63) & ~(size_t)63;
  if (posix_memalign(&p, 64, n ? n : 64) != 0) return NULL;
  return p;
}

static void cpu_free(tg_ctx *c, void *p, size_t nbytes) {
  (void)c;
  (void)nbytes;
  free(p);
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
    .alloc = cpu_alloc,
    .free = cpu_free,
    .supports = cpu_supports,
    .copy = tg_cpu_copy,
    .fill = tg_cpu_fill,
    .unary = tg_cpu_unary,
    .binary = tg_cpu_binary,
    .sum = tg_cpu_sum,
    .mm = tg_cpu_mm,
    .random = cpu_random,
};
