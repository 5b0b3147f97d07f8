/* tgrad.h: the public C API for host programs that embed Lua.
 *
 *   luaL_requiref(L, "tgrad", luaopen_tgrad, 0);   -- the whole API, Lua parts included
 *
 * Host memory can be handed to Lua as a tensor without a copy, and a
 * tensor's memory read back from C. Each lua_State has its own tgrad
 * context: nothing here is process-wide. */
#ifndef TGRAD_H
#define TGRAD_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#ifdef __cplusplus
extern "C" {
#endif

int luaopen_tgrad(lua_State *L);

typedef enum { TGRAD_FLOAT32, TGRAD_FLOAT64, TGRAD_INT64, TGRAD_BOOL } tgrad_dtype;

/* Push a tensor that views `data` (contiguous, row-major, CPU) without
 * copying. `release(ud, data)` runs when the last reference to the memory
 * goes away (NULL: the host keeps ownership and must outlive the tensor).
 * tgrad must have been required in L. Returns 1 (values pushed); raises a
 * Lua error on bad arguments. */
int tgrad_push_wrapped(lua_State *L, void *data, tgrad_dtype dtype, int ndim, const int64_t *size,
                       void (*release)(void *ud, void *data), void *ud);

/* What C may read of a tensor. Pointers stay valid while the tensor at
 * `idx` is alive and unchanged; data is strided (use stride, in elements). */
typedef struct tgrad_view {
  void *data;
  tgrad_dtype dtype;
  int ndim;
  const int64_t *size;
  const int64_t *stride;
  int contiguous;
} tgrad_view;

/* Fill *out from the tensor at stack index idx; returns 0, or -1 if the
 * value is not a (live) tensor. */
int tgrad_view_of(lua_State *L, int idx, tgrad_view *out);

/* ---- memory (per lua_State: each state has its own allocator, limit and count)
 *
 * Tensor memory is allocated with `alloc(ud, nbytes)` and released with
 * `free(ud, ptr, nbytes)` (the same nbytes; nbytes >= 1). alloc returns memory
 * aligned to at least 16 bytes (64 is best for vector loads), or NULL: tgrad
 * then runs one full garbage collection and retries once, and a second
 * failure is a Lua error "out of memory: tried to allocate N bytes".
 * Tensors made before a change keep the allocator that made them (it must
 * stay callable until they are freed). NULL restores the default (malloc and
 * mmap behind tgrad's own caches). Only tensor data goes through the hook;
 * tgrad's small bookkeeping structs use malloc. tgrad must have been required
 * in L. Returns 0, or -1 if it was not. */
typedef struct tgrad_allocator {
  void *(*alloc)(void *ud, size_t nbytes);
  void (*free)(void *ud, void *ptr, size_t nbytes);
  void *ud;
} tgrad_allocator;
int tgrad_set_allocator(lua_State *L, const tgrad_allocator *a);

/* Live tensor bytes of this state (what tg.memory_allocated() returns). */
size_t tgrad_memory_allocated(lua_State *L);
/* Cap live tensor bytes (0: no cap), as tg.set_memory_limit(bytes). */
int tgrad_set_memory_limit(lua_State *L, size_t bytes);

#ifdef __cplusplus
}
#endif

#endif
