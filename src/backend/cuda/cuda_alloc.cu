// cuda_alloc.cu: the per-context CUDA state and its caching device allocator,
// after PyTorch's CUDACachingAllocator in miniature: sizes are binned (512 B
// steps below 1 MiB, 2 MiB steps above), freed blocks go to a free list and are
// reused by a later request of the same bin;
// when cudaMalloc fails the cache is released and the allocation retried once,
// then PyTorch's "CUDA out of memory. Tried to allocate ..." is reported.
// One stream per context: reuse is stream-ordered, so no event is needed.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_state.h"

static const size_t kSmall = 1 << 20, kSmallStep = 512, kLargeStep = 2 << 20;

static size_t round_size(size_t n) {
  if (n == 0) n = 1;
  size_t step = n < kSmall ? kSmallStep : kLargeStep;
  return (n + step - 1) / step * step;
}

int tgcu_check(tgcu_state *st, cudaError_t e, const char *what) {
  if (e == cudaSuccess) return 0;
  snprintf(st->msg, sizeof st->msg, "CUDA error in %s: %s", what, cudaGetErrorString(e));
  (void)cudaGetLastError(); /* clear a sticky-free error */
  return -1;
}

extern "C" const char *tgcu_error(const tgcu_state *st) { return st->msg; }

extern "C" int tgcu_device_count(char *why, size_t n) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    snprintf(why, n, "%s%s", cudaGetErrorString(e),
             e == cudaErrorInsufficientDriver ? " (is an NVIDIA driver installed and loaded?)" : "");
    return -1;
  }
  return count;
}

extern "C" tgcu_state *tgcu_open(int dev, char *why, size_t n) {
  tgcu_state *st = (tgcu_state *)calloc(1, sizeof *st);
  if (!st) return snprintf(why, n, "out of host memory"), (tgcu_state *)NULL;
  cudaError_t e = cudaSetDevice(dev);
  if (e == cudaSuccess) e = cudaStreamCreateWithFlags(&st->stream, cudaStreamNonBlocking);
  if (e != cudaSuccess) {
    snprintf(why, n, "%s", cudaGetErrorString(e));
    free(st);
    return NULL;
  }
  cublasStatus_t b = cublasCreate(&st->blas);
  if (b == CUBLAS_STATUS_SUCCESS) b = cublasSetStream(st->blas, st->stream);
  /* no TF32 for float32 (torch.backends.cuda.matmul.allow_tf32 is off by default) */
  if (b == CUBLAS_STATUS_SUCCESS) b = cublasSetMathMode(st->blas, CUBLAS_PEDANTIC_MATH);
  if (b != CUBLAS_STATUS_SUCCESS) {
    snprintf(why, n, "cuBLAS initialization failed: %s", cublasGetStatusString(b));
    cudaStreamDestroy(st->stream);
    free(st);
    return NULL;
  }
  st->device = dev;
  return st;
}

static void release_list(tgcu_state *st, int pool) {
  for (tgcu_block *b = st->cache[pool], *next; b; b = next) {
    next = b->next;
    cudaFree(b->ptr);
    st->reserved -= b->size;
    free(b);
  }
  st->cache[pool] = NULL;
}

extern "C" void tgcu_empty_cache(tgcu_state *st) {
  cudaStreamSynchronize(st->stream);
  release_list(st, 0);
  release_list(st, 1);
}

extern "C" void tgcu_close(tgcu_state *st) {
  if (!st) return;
  tgcu_empty_cache(st);
  cublasDestroy(st->blas);
  cudaStreamDestroy(st->stream);
  free(st);
}

static void fmt_bytes(char *buf, size_t n, size_t v) {
  if (v >= (size_t)1 << 30) snprintf(buf, n, "%.2f GiB", (double)v / (1 << 30));
  else if (v >= (size_t)1 << 20) snprintf(buf, n, "%.2f MiB", (double)v / (1 << 20));
  else snprintf(buf, n, "%.2f KiB", (double)v / 1024);
}

extern "C" void *tgcu_alloc(tgcu_state *st, size_t nbytes) {
  size_t size = round_size(nbytes);
  int pool = size < kSmall ? 0 : 1;
  /* a cached block of the same bin (the free side knows a block's bin from its byte count) */
  tgcu_block **best = NULL;
  for (tgcu_block **p = &st->cache[pool]; *p && !best; p = &(*p)->next)
    if ((*p)->size == size) best = p;
  if (best) {
    tgcu_block *b = *best;
    *best = b->next;
    void *ptr = b->ptr;
    st->allocated += b->size;
    free(b);
    if (st->allocated > st->peak) st->peak = st->allocated;
    return ptr;
  }
  void *ptr = NULL;
  cudaError_t e = cudaMalloc(&ptr, size);
  if (e == cudaErrorMemoryAllocation) { /* release the cache and retry once */
    (void)cudaGetLastError();
    tgcu_empty_cache(st);
    e = cudaMalloc(&ptr, size);
  }
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    char want[32], tot[32], fr[32], al[32], un[32];
    fmt_bytes(want, sizeof want, nbytes), fmt_bytes(tot, sizeof tot, total_b), fmt_bytes(fr, sizeof fr, free_b);
    fmt_bytes(al, sizeof al, st->allocated), fmt_bytes(un, sizeof un, st->reserved - st->allocated);
    if (e == cudaErrorMemoryAllocation)
      snprintf(st->msg, sizeof st->msg,
               "CUDA out of memory. Tried to allocate %s. GPU %d has a total capacity of %s of which %s is free. "
               "Of the allocated memory %s is allocated by tgrad, and %s is reserved by tgrad but unallocated.",
               want, st->device, tot, fr, al, un);
    else
      snprintf(st->msg, sizeof st->msg, "CUDA error in cudaMalloc: %s", cudaGetErrorString(e));
    return NULL;
  }
  st->reserved += size;
  st->allocated += size;
  if (st->allocated > st->peak) st->peak = st->allocated;
  return ptr;
}

extern "C" void tgcu_free(tgcu_state *st, void *p, size_t nbytes) {
  if (!p) return;
  if (!st) { /* after the context closed */
    cudaFree(p);
    return;
  }
  size_t size = round_size(nbytes);
  tgcu_block *b = (tgcu_block *)malloc(sizeof *b);
  st->allocated -= size;
  if (!b) {
    cudaStreamSynchronize(st->stream);
    cudaFree(p);
    st->reserved -= size;
    return;
  }
  int pool = size < kSmall ? 0 : 1;
  b->ptr = p, b->size = size, b->next = st->cache[pool];
  st->cache[pool] = b;
}

extern "C" void tgcu_stats(const tgcu_state *st, size_t stats[3]) {
  stats[0] = st->allocated, stats[1] = st->peak, stats[2] = st->reserved;
}

extern "C" int tgcu_synchronize(tgcu_state *st) { return tgcu_check(st, cudaStreamSynchronize(st->stream), "synchronize"); }
