/* cuda_state.h: the per-context CUDA state shared by the .cu files (C++ only). */
#ifndef TG_CUDA_STATE_H
#define TG_CUDA_STATE_H

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "cuda_rt.h"

/* a cached free device block */
typedef struct tgcu_block {
  void *ptr;
  size_t size;
  struct tgcu_block *next;
} tgcu_block;

struct tgcu_state {
  int device;
  cudaStream_t stream;
  cublasHandle_t blas;
  tgcu_block *cache[2];   /* free blocks: [0] small pool (< 1 MiB), [1] large */
  size_t allocated, peak, reserved;
  char msg[1024];
};

/* 0, or -1 with the CUDA text in st->msg */
int tgcu_check(tgcu_state *st, cudaError_t e, const char *what);

#endif
