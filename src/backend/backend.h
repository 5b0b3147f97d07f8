/* backend.h: the device vtable (ARCHITECTURE.md rule 7, after ggml-backend).
 * Generic code never dereferences a data pointer that may live on a device:
 * it asks the tensor's backend. A backend may leave a slot NULL or answer
 * false from supports(); the op then fails with a clear error. */
#ifndef TG_BACKEND_H
#define TG_BACKEND_H

#include "../tg.h"

/* the kinds of kernels a backend provides, for supports() */
typedef enum {
  TG_K_UNARY, TG_K_BINARY, TG_K_COPY, TG_K_FILL, TG_K_SUM, TG_K_MM, TG_K_RANDOM
} tg_kernel;

struct tg_backend {
  const char *name; /* "cpu", "cuda" */
  void *(*alloc)(tg_ctx *c, size_t nbytes);
  void (*free)(tg_ctx *c, void *p, size_t nbytes);
  bool (*supports)(tg_kernel k, int op, tg_dtype dt);
  /* dst = src (shapes equal after the caller broadcast src; dtypes may differ) */
  int (*copy)(tg_ctx *c, tg_tensor *dst, const tg_tensor *src);
  int (*fill)(tg_ctx *c, tg_tensor *t, double v);
  /* out = op(x); out contiguous, same shape and dtype as x */
  int (*unary)(tg_ctx *c, tg_op op, tg_tensor *out, const tg_tensor *x);
  /* out = op(a, b): a and b already viewed to out's shape (stride 0 where
   * broadcast) and of the compute dtype; out's dtype is the result dtype */
  int (*binary)(tg_ctx *c, tg_op op, tg_tensor *out, const tg_tensor *a, const tg_tensor *b);
  /* out (keepdim shape, contiguous) = sum of x over dims where reduce[d] */
  int (*sum)(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const bool *reduce);
  /* out[m,n] = a[m,k] @ b[k,n] for 2-D, or batched over a leading dim for 3-D;
   * a and b may be transposed views */
  int (*mm)(tg_ctx *c, tg_tensor *out, const tg_tensor *a, const tg_tensor *b);
  /* fill with U[0,1) or N(0,1) from the context's generator */
  int (*random)(tg_ctx *c, tg_tensor *t, bool normal);
};

extern const tg_backend tg_cpu_backend;

static inline const tg_backend *tg_backend_of(const tg_tensor *t) { return t->storage->backend; }

#endif
