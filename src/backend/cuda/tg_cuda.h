/* tg_cuda.h: what the separately built CUDA object (tgrad/cuda_backend.so,
 * cuda.mk) exports to the core, which dlopens it on first use
 * (src/binding/cuda.c). The core never links CUDA; the object never calls
 * into the core (Lua loads tgrad.so with RTLD_LOCAL), it only shares the
 * struct layouts of tg.h and backend.h. */
#ifndef TG_CUDA_H
#define TG_CUDA_H

#include <stddef.h>

#include "../backend.h"

/* the symbols, looked up by name */
#define TG_CUDA_OPEN_SYM "tg_cuda_backend_open"
#define TG_CUDA_STATS_SYM "tg_cuda_memory_stats"
#define TG_CUDA_EMPTY_SYM "tg_cuda_empty_cache"
#define TG_CUDA_SYNC_SYM "tg_cuda_synchronize"
#define TG_CUDA_COUNT_SYM "tg_cuda_device_count"

/* number of devices, or -1 with the reason (the CUDA runtime's text) in why */
typedef int (*tg_cuda_count_fn)(char *why, size_t n);
/* set up c->device_state (allocator cache, stream, cuBLAS handle) on device dev;
 * NULL with the reason in why. The backend's ctx_close tears it down. */
typedef const tg_backend *(*tg_cuda_open_fn)(tg_ctx *c, int dev, char *why, size_t n);
/* stats[0] bytes allocated to tensors, [1] the peak of that, [2] bytes reserved (incl. the cache) */
typedef void (*tg_cuda_stats_fn)(tg_ctx *c, size_t stats[3]);
typedef void (*tg_cuda_ctx_fn)(tg_ctx *c);
typedef int (*tg_cuda_sync_fn)(tg_ctx *c);

#endif
