/* context.c: the per-lua_State context (no process-wide mutable state),
 * error text and the random generator (xoshiro256**, seeded by splitmix64). */
#define _GNU_SOURCE /* sched_getaffinity */
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tg.h"
#include "backend/backend.h" /* cuda boundary */

tg_ctx *tg_ctx_new(void) {
  tg_ctx *c = malloc(sizeof *c);
  if (c) tg_ctx_init(c);
  return c;
}

/* The default thread count: OMP_NUM_THREADS when set (its first entry, as
 * OpenMP reads it), else the CPUs this process may run on (its affinity
 * mask: taskset, cgroup cpusets), never more than TG_MAX_THREADS. */
int tg_default_threads(void) {
  const char *e = getenv("OMP_NUM_THREADS");
  if (e && *e) {
    char *end;
    long v = strtol(e, &end, 10);
    if (end != e && v >= 1) return v > TG_MAX_THREADS ? TG_MAX_THREADS : (int)v;
  }
  int n = 0;
#ifdef CPU_COUNT
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
#endif
  if (n < 1) {
    long m = sysconf(_SC_NPROCESSORS_ONLN);
    n = m > 0 ? (int)m : 1;
  }
  return n > TG_MAX_THREADS ? TG_MAX_THREADS : n;
}

void tg_ctx_init(tg_ctx *c) {
  memset(c, 0, sizeof *c);
  c->grad_enabled = true;
  c->num_threads = tg_default_threads();
  tg_rng_seed(&c->rng, 0x2545F4914F6CDD1DULL);
  c->gc.enabled = true;
  c->gc.scale = 4.0; /* measured: 1.0 left dead conv/relu buffers waiting (CNN step 15.1 ms -> 10.7 ms at 4) */
  c->gc.min_step = (size_t)256 << 10;
}

/* ---- object pools: tensors and storages are made and dropped by the
 * thousand per training step; a free list per context skips malloc */
#define TG_POOL_MAX 16384 /* structs kept: the collector frees them in batches */

void tg_pool_put(tg_ctx *c, tg_pool *p, void *o) {
  if (TG_POOLS_OFF || !c || c->blocks.closed || p->count >= TG_POOL_MAX) {
    free(o);
    return;
  }
  *(void **)o = p->head;
  p->head = o;
  p->count++;
}

static void pool_drain(tg_pool *p) {
  while (p->head) {
    void *o = p->head;
    p->head = *(void **)o;
    free(o);
  }
  p->count = 0;
}

void tg_ctx_cleanup(tg_ctx *c) {
  if (c->device_backend) c->device_backend->ctx_close(c); /* cuda boundary */
  tg_cpu_backend.ctx_close(c); /* also marks the context closed: later frees go to free() */
  pool_drain(&c->tensor_pool);
  pool_drain(&c->storage_pool);
  for (int k = 0; k < 3; k++) pool_drain(&c->node_pool[k]);
  free(c->dead_hooks);
  c->dead_hooks = NULL;
  tg_host_alloc_unref(c->host_alloc); /* storages made with it keep their own reference */
  c->host_alloc = NULL;
}

void tg_ctx_free(tg_ctx *c) {
  if (!c) return;
  tg_ctx_cleanup(c);
  free(c);
}

static void verr(tg_ctx *c, const char *fmt, va_list ap) { vsnprintf(c->err, sizeof c->err, fmt, ap); }

int tg_err(tg_ctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  verr(c, fmt, ap);
  va_end(ap);
  return -1;
}

void *tg_errp(tg_ctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  verr(c, fmt, ap);
  va_end(ap);
  return NULL;
}

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

void tg_rng_seed(tg_rng *r, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
  r->has_spare = false;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t tg_rng_next(tg_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double tg_rng_uniform(tg_rng *r) { return (double)(tg_rng_next(r) >> 11) * 0x1.0p-53; }

double tg_rng_normal(tg_rng *r) {
  if (r->has_spare) {
    r->has_spare = false;
    return r->spare;
  }
  double u1, u2;
  do u1 = tg_rng_uniform(r); while (u1 <= 0);
  u2 = tg_rng_uniform(r);
  double rad = sqrt(-2.0 * log(u1)), th = 2.0 * M_PI * u2;
  r->spare = rad * sin(th);
  r->has_spare = true;
  return rad * cos(th);
}
