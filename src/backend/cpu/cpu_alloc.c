/* cpu_alloc.c: host memory for tensors.
 *
 * Small buffers (< 64 KiB) come in power-of-two classes from 64 B, kept on
 * per-context free lists when freed: a training step of a small network
 * makes hundreds of tiny tensors, and malloc/free was a third of its time.
 * Small buffers come from malloc. Large ones (>= 128 KiB) are mapped
 * directly and, when freed, kept in a small per-context cache of blocks
 * of the same size: training loops allocate the same shapes every step, and
 * a fresh mapping costs a page fault per 4 KiB (bench/README.md: elementwise), while glibc's
 * heap, left to itself, fragments under Lua's batched frees and grows
 * without bound (seen here: 10 GB for 10,000 1-MB temporaries). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cpu.h"

#define BIG ((size_t)128 << 10)
#define PAGE ((size_t)4096)
#define CACHE_MAX_BYTES ((size_t)256 << 20)

#define SMALL_MAX ((size_t)64 << 10)
/* blocks kept per class: at least 256, and up to 2 MiB of the small ones,
 * since Lua's collector frees garbage tensors in batches of thousands */
static int small_keep(int k) {
  int by_bytes = (int)(((size_t)2 << 20) >> (6 + k));
  return by_bytes > 256 ? by_bytes : 256;
}

/* Blocks of 4 MiB and more are whole 2 MiB huge pages, asked for with
 * MADV_HUGEPAGE (the kernel's default here is "madvise"): 512x fewer page
 * faults on a fresh block and fewer TLB misses when streaming through it. */
#define HUGE ((size_t)2 << 20)
#define HUGE_FROM ((size_t)4 << 20)

static size_t big_size(size_t n) {
  if (n >= HUGE_FROM) return (n + HUGE - 1) & ~(HUGE - 1);
  return (n + PAGE - 1) & ~(PAGE - 1);
}

/* n bytes of fresh mapped memory, 2 MiB-aligned when n is a multiple of it */
static void *map_block(size_t n) {
  if (n < HUGE_FROM) {
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
  }
  char *raw = mmap(NULL, n + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return NULL;
  char *p = (char *)(((uintptr_t)raw + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
  if (p > raw) munmap(raw, (size_t)(p - raw)); /* trim to the aligned n bytes */
  if (raw + n + HUGE > p + n) munmap(p + n, (size_t)(raw + n + HUGE - (p + n)));
#ifdef MADV_HUGEPAGE
  madvise(p, n, MADV_HUGEPAGE); /* advice only: a failure leaves normal pages */
#endif
  return p;
}

/* drop entry i of the big-block cache, keeping the others in the order they were freed */
static void cache_remove(tg_block_cache *bc, int i) {
  bc->bytes -= bc->size[i];
  bc->count--;
  memmove(bc->ptr + i, bc->ptr + i + 1, sizeof bc->ptr[0] * (size_t)(bc->count - i));
  memmove(bc->size + i, bc->size + i + 1, sizeof bc->size[0] * (size_t)(bc->count - i));
}

/* class k holds blocks of 64 << k bytes */
static int small_class(size_t n) {
  int k = 0;
  while (((size_t)64 << k) < n) k++;
  return k;
}

void *tg_cpu_alloc(tg_ctx *c, size_t nbytes) {
  if (TG_POOLS_OFF) { /* sanitizer builds: plain malloc, every block visible to ASan */
    void *p = NULL;
    return posix_memalign(&p, 64, nbytes ? nbytes : 1) == 0 ? p : NULL;
  }
  if (nbytes <= SMALL_MAX) {
    int k = small_class(nbytes);
    tg_block_cache *bc = &c->blocks;
    if (bc->small[k]) {
      void *p = bc->small[k];
      bc->small[k] = *(void **)p;
      bc->small_count[k]--;
      return p;
    }
    void *p = NULL; /* 64-byte alignment for vector loads */
    return posix_memalign(&p, 64, (size_t)64 << k) == 0 ? p : NULL;
  }
  if (nbytes < BIG) {
    void *p = NULL;
    size_t n = (nbytes + 63) & ~(size_t)63;
    return posix_memalign(&p, 64, n) == 0 ? p : NULL;
  }
  size_t n = big_size(nbytes);
  tg_block_cache *bc = &c->blocks;
  for (int i = bc->count - 1; i >= 0; i--) { /* the most recently freed first: still in the CPU's caches */
    if (bc->size[i] != n) continue;
    void *p = bc->ptr[i];
    cache_remove(bc, i);
    return p;
  }
  return map_block(n);
}

void tg_cpu_free(tg_ctx *c, void *p, size_t nbytes) {
  if (TG_POOLS_OFF) {
    free(p);
    return;
  }
  if (nbytes <= SMALL_MAX) {
    int k = small_class(nbytes);
    tg_block_cache *bc = c ? &c->blocks : NULL;
    if (bc && !bc->closed && bc->small_count[k] < small_keep(k)) {
      *(void **)p = bc->small[k];
      bc->small[k] = p;
      bc->small_count[k]++;
      return;
    }
    free(p);
    return;
  }
  if (nbytes < BIG) {
    free(p);
    return;
  }
  size_t n = big_size(nbytes);
  tg_block_cache *bc = c ? &c->blocks : NULL;
  if (bc && !bc->closed && n <= CACHE_MAX_BYTES) {
    /* full: the oldest blocks go (sizes seen once, at setup, would otherwise hold the
     * slots for good and every block of the loop would be a fresh mapping) */
    while (bc->count == TG_BLOCK_CACHE_N || bc->bytes + n > CACHE_MAX_BYTES) {
      munmap(bc->ptr[0], bc->size[0]);
      cache_remove(bc, 0);
    }
    bc->ptr[bc->count] = p;
    bc->size[bc->count++] = n;
    bc->bytes += n;
    return;
  }
  munmap(p, n);
}

void tg_cpu_release_cache(tg_ctx *c) {
  tg_block_cache *bc = &c->blocks;
  for (int i = 0; i < bc->count; i++) munmap(bc->ptr[i], bc->size[i]);
  bc->count = 0;
  bc->bytes = 0;
  for (int k = 0; k < TG_SMALL_CLASSES; k++) {
    while (bc->small[k]) {
      void *p = bc->small[k];
      bc->small[k] = *(void **)p;
      free(p);
    }
    bc->small_count[k] = 0;
  }
  bc->closed = true;
}
