/* tg.h: the internal core API of tgrad (tensors, ops, autograd).
 *
 * Rules (see docs/design.md): the core never touches Lua and never longjmps.
 * A failing core function returns NULL (or -1) and leaves PyTorch-worded text
 * in ctx->err; only src/binding/ turns that into a Lua error.
 *
 * Ownership: every function returning tg_tensor* / tg_node* returns a new
 * reference the caller must release (tg_tensor_unref / tg_node_unref).
 * Tensor arguments are borrowed. */
#ifndef TG_H
#define TG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h> /* calloc, for tg_pool_get_part */
#include <string.h> /* memset */

#define TG_MAX_DIMS 16
#define TG_MAX_THREADS 1024 /* tg.set_num_threads's upper bound */

/* Under AddressSanitizer the pools that recycle memory (tensor, storage and
 * node structs, small and large buffers) are off: every block goes back to
 * malloc/munmap, so a use after free is reported, not hidden by reuse. */
#if defined(__SANITIZE_ADDRESS__) || defined(TGRAD_NO_POOLS)
#define TG_POOLS_OFF 1
#else
#define TG_POOLS_OFF 0
#endif
#define TG_ERR_MAX 1024

typedef enum { TG_FLOAT32, TG_FLOAT64, TG_INT64, TG_BOOL, TG_NDTYPES } tg_dtype;

typedef struct tg_ctx tg_ctx;
typedef struct tg_backend tg_backend;
typedef struct tg_node tg_node;
typedef struct tg_tensor tg_tensor;
typedef struct tg_hook tg_hook;

/* ---------------------------------------------------------------- storage */
typedef struct tg_storage {
  int refs;
  void *data;
  size_t nbytes;
  const tg_backend *backend; /* the device this memory lives on */
  uint64_t version;          /* bumped by every in-place write; shared by views */
  void (*release)(void *ud, void *data); /* wrapped host memory: called on free */
  void *release_ud;
  bool borrowed;             /* wrapped host memory the host frees itself */
  tg_ctx *ctx;               /* the owner, for the allocator's accounting */
  struct tg_host_alloc *halloc; /* host: the host's allocator that made data (NULL: the backend's) */
} tg_storage;

/* host: a host program's allocator for tensor memory (tgrad.h's
 * tgrad_set_allocator); refcounted, since storages made with it outlive a
 * change of allocator */
typedef struct tg_host_alloc {
  int refs;
  void *(*alloc)(void *ud, size_t nbytes);
  void (*free)(void *ud, void *ptr, size_t nbytes);
  void *ud;
} tg_host_alloc;
void tg_host_alloc_unref(tg_host_alloc *a);

/* ----------------------------------------------------------------- tensor */
struct tg_tensor {
  /* what every ref/unref and op touches first, in the first cache lines
   * (tensors are freed in the collector's batches, long after their use:
   * cold memory, so the fields read together sit together) */
  int refs;
  tg_dtype dtype;
  int ndim;
  int output_nr;
  tg_storage *storage;
  int64_t offset; /* in elements */
  /* autograd metadata */
  tg_tensor *grad;
  tg_node *grad_fn;     /* strong */
  tg_node *grad_acc;    /* weak: cleared when the AccumulateGrad node dies */
  tg_hook *hooks;       /* tensor hooks (run on the gradient w.r.t. this tensor) */
  /* views (autograd/node.c): a view made in grad mode keeps its base, so an
   * in-place write through the view can rebase the base's history (CopySlices) */
  tg_tensor *view_base; /* strong; the root base (never itself a view) */
  uint64_t view_stamp;  /* which base grad_fn this view's grad_fn derives from */
  uint8_t view_meta;    /* how a view was made (TG_VIEW_*, autograd/autograd.h): PyTorch's creation_meta */
  bool requires_grad;   /* leaves only; a non-leaf requires grad iff grad_fn */
  bool retains_grad;
  bool wrapped_number;  /* a Lua number turned into a 0-d tensor (type promotion) */
  int64_t size[TG_MAX_DIMS];
  int64_t stride[TG_MAX_DIMS]; /* in elements */
};

/* ------------------------------------------------------------------ hooks */
/* Hooks are opaque to the core: the binding gives a callback and an id. */
struct tg_hook {
  int id;
  tg_hook *next;
};

/* ---------------------------------------------------------------- context */
typedef struct tg_rng { uint64_t s[4]; double spare; bool has_spare; } tg_rng;

/* Called by the engine for hooks and custom functions; implemented by the
 * binding (which may run Lua inside a protected call). Return 0 or -1. */
typedef int (*tg_hook_fn)(tg_ctx *c, int hook_id, tg_tensor **grad);

/* freed CPU buffers kept for reuse (backend/cpu/cpu_alloc.c): large blocks
 * by exact size, small ones in power-of-two classes (intrusive free lists) */
#define TG_BLOCK_CACHE_N 128 /* cnn: 16 left a CNN step mapping fresh blocks every step */
#define TG_SMALL_CLASSES 11 /* 64 B .. 64 KiB */
typedef struct tg_block_cache {
  void *ptr[TG_BLOCK_CACHE_N];
  size_t size[TG_BLOCK_CACHE_N];
  int count;
  size_t bytes;
  void *small[TG_SMALL_CLASSES];
  int small_count[TG_SMALL_CLASSES];
  bool closed;
} tg_block_cache;

/* freed tensor and storage structs kept for reuse (tensor.c) */
typedef struct tg_pool { void *head; int count; } tg_pool;

struct tg_ctx {
  char err[TG_ERR_MAX];
  bool grad_enabled;
  bool anomaly;
  uint64_t seq;            /* node sequence counter */
  int num_threads;
  tg_rng rng;
  size_t alloc_pending;    /* bytes allocated since the binding last told the GC */
  size_t live_bytes;       /* tensor storage bytes alive in this context */
  tg_block_cache blocks;
  tg_pool tensor_pool, storage_pool;
  tg_pool node_pool[3];    /* graph nodes of up to 1, 2, 4 KiB (autograd/node.c) */
  tg_hook_fn run_hook;     /* set by the binding */
  void (*release_hook)(tg_ctx *c, int hook_id); /* set by the binding */
  void *binding;           /* binding-private (lua_State etc.) */
  const char *(*anomaly_trace)(tg_ctx *c); /* forward traceback for anomaly mode */
  int *dead_hooks; int n_dead_hooks, cap_dead_hooks;
  bool in_backward;
  /* ---- host: the host keeps control (binding/memory.c, tensor.c) */
  size_t mem_limit;        /* tg.set_memory_limit: live_bytes may not pass it (0: none) */
  size_t mem_peak;         /* the largest live_bytes seen */
  tg_host_alloc *host_alloc; /* NULL: the backend's allocator (with its pools) */
  /* set by the binding: one full collection when an allocation fails or would
   * pass the limit (the allocation is then retried once) */
  void (*oom_hook)(tg_ctx *c, size_t nbytes);
  void *host_L;            /* the binding's main lua_State, for oom_hook */
  bool in_oom;
  struct {
    bool enabled;          /* tensor allocations drive incremental collector steps */
    double scale;          /* Lua debt (bytes) per tensor byte allocated */
    size_t min_step;       /* bytes allocated before a step is taken */
    uint64_t steps, full_collections;
  } gc;
  /* cuda boundary: the device backend loaded into this context (NULL: none) and its state */
  const tg_backend *device_backend;
  void *device_state;
  /* perop (binding/util.c): the binding's Tensor metatable, so that a box is
   * checked and made without a registry lookup by key (a tenth of a tiny op) */
  const void *lua_self;    /* this context, once the two fields below are set */
  const void *box_mt;      /* lua_topointer of the Tensor metatable */
  int box_mt_ref;          /* the metatable's reference in the registry (its array part) */
  /* ---- mem (issue 11): how many tg.scope()s are open (binding/scope.c) */
  int mem_scopes;
  /* cnn: major collections under a generational collector (binding/memory.c) */
  size_t gc_major_base;    /* live_bytes after the last major tgrad ran (or probed) */
  uint64_t gc_majors;
  /* ---- capture: tg.capture (src/capture.h). While recording, capture_be is the recording
   * backend tg_backend_of answers for CPU tensors (NULL otherwise) */
  struct tg_capture *capture;
  const tg_backend *capture_be;
};

tg_ctx *tg_ctx_new(void);
int tg_default_threads(void); /* OMP_NUM_THREADS, else the process's CPU affinity */
void tg_ctx_init(tg_ctx *c);    /* in caller-owned memory (a Lua userdata) */
void tg_ctx_cleanup(tg_ctx *c); /* frees the block cache; later frees unmap directly */
void tg_cpu_release_cache(tg_ctx *c);
/* A struct from a per-context free list, its first `zero` bytes zeroed (a
 * tensor's 16-slot size/stride arrays are written up to ndim by whoever makes
 * it), else a fresh zeroed one. Inline: taking a recycled struct is no call
 * and the clear of a constant size is written out (tensors, storages, nodes). */
static inline void *tg_pool_get_part(tg_ctx *c, tg_pool *p, size_t size, size_t zero) {
  (void)c;
  if (TG_POOLS_OFF || !p->head) return calloc(1, size);
  void *o = p->head;
  p->head = *(void **)o;
  p->count--;
  memset(o, 0, zero);
  return o;
}
static inline void *tg_pool_get(tg_ctx *c, tg_pool *p, size_t size) { return tg_pool_get_part(c, p, size, size); }
void tg_pool_put(tg_ctx *c, tg_pool *p, void *obj);
void tg_ctx_free(tg_ctx *c);
int tg_err(tg_ctx *c, const char *fmt, ...);   /* returns -1 */
void *tg_errp(tg_ctx *c, const char *fmt, ...); /* returns NULL */
void tg_rng_seed(tg_rng *r, uint64_t seed);
uint64_t tg_rng_next(tg_rng *r);
double tg_rng_uniform(tg_rng *r);  /* [0, 1) */
double tg_rng_normal(tg_rng *r);

/* ------------------------------------------------------------------ dtype */
static inline size_t tg_dtype_size(tg_dtype d) { /* perop2: inline (every tg_data) */
  return (size_t)((0x1884u >> (4 * (unsigned)d)) & 0xf); /* float32 4, float64 8, int64 8, bool 1 */
}
const char *tg_dtype_name(tg_dtype d); /* "float32" ... */
const char *tg_torch_dtype_name(tg_dtype d); /* PyTorch's scalar type names, "Float" ..., for its messages */
static inline bool tg_is_float(tg_dtype d) { return d == TG_FLOAT32 || d == TG_FLOAT64; }
tg_dtype tg_promote(tg_dtype a, tg_dtype b);
/* promotion of two operands, either possibly a wrapped Lua number */
tg_dtype tg_result_type(const tg_tensor *a, const tg_tensor *b);

/* --------------------------------------------------------- storage/tensor */
tg_storage *tg_storage_new(tg_ctx *c, const tg_backend *be, size_t nbytes);
void tg_storage_unref(tg_storage *s);
tg_storage *tg_storage_share(tg_ctx *c, tg_storage *s, uint64_t version); /* same memory, own version */

tg_tensor *tg_tensor_empty(tg_ctx *c, tg_dtype dt, int ndim, const int64_t *size);
/* cuda boundary: the same on backend be (tg_tensor_empty is the cpu's) */
tg_tensor *tg_tensor_empty_on(tg_ctx *c, const tg_backend *be, tg_dtype dt, int ndim, const int64_t *size);
tg_tensor *tg_tensor_zeros(tg_ctx *c, tg_dtype dt, int ndim, const int64_t *size);
tg_tensor *tg_tensor_full(tg_ctx *c, tg_dtype dt, int ndim, const int64_t *size, double v);
tg_tensor *tg_tensor_scalar(tg_ctx *c, tg_dtype dt, double v); /* 0-d */
tg_tensor *tg_tensor_alias(tg_ctx *c, const tg_tensor *t); /* same view, no autograd */
tg_tensor *tg_tensor_as_strided(tg_ctx *c, const tg_tensor *t, int ndim,
                                const int64_t *size, const int64_t *stride, int64_t offset);
static inline tg_tensor *tg_tensor_ref(tg_tensor *t) { if (t) t->refs++; return t; }
void tg_tensor_unref(tg_tensor *t);
int64_t tg_numel(const tg_tensor *t);
int64_t tg_shape_numel(int ndim, const int64_t *size);
bool tg_is_contiguous(const tg_tensor *t);
void tg_contiguous_strides(int ndim, const int64_t *size, int64_t *stride);
bool tg_same_shape(const tg_tensor *a, const tg_tensor *b);
static inline void *tg_data(const tg_tensor *t) {
  return (char *)t->storage->data + t->offset * (int64_t)tg_dtype_size(t->dtype);
}
bool tg_on_cpu(const tg_tensor *t);
/* broadcast two shapes (PyTorch rules, 1-based dims in the message) */
int tg_broadcast_shapes(tg_ctx *c, int na, const int64_t *sa, int nb, const int64_t *sb,
                        int *nout, int64_t *out);
/* strides of t viewed as the (broadcast) shape ndim/size: 0 on broadcast dims */
void tg_broadcast_strides(const tg_tensor *t, int ndim, const int64_t *size, int64_t *stride);
int tg_wrap_dim(tg_ctx *c, int64_t dim, int ndim, int *out); /* 1-based/negative -> 0-based */
int tg_check_dim(tg_ctx *c, const tg_tensor *t, int dim); /* 0-based dim in range (a 0-d t has dim 0) */
void tg_format_shape(char *buf, size_t n, int ndim, const int64_t *size); /* "[2, 3]" */
double tg_get_flat(const tg_tensor *t, int64_t i); /* i-th element in row-major order */
int64_t tg_get_flat_i64(const tg_tensor *t, int64_t i); /* the same for int64 tensors, exact */
void tg_bump_version(tg_tensor *t);

/* data movement (no autograd) */
tg_tensor *tg_contiguous_raw(tg_ctx *c, tg_tensor *t);        /* ref if already */
tg_tensor *tg_cast_raw(tg_ctx *c, tg_tensor *t, tg_dtype dt); /* new contiguous copy */
int tg_copy_raw(tg_ctx *c, tg_tensor *dst, const tg_tensor *src); /* broadcast + cast */
int tg_fill_raw(tg_ctx *c, tg_tensor *t, double v);

/* ------------------------------------------------------------------- ops */
#include "ops.h"

/* --------------------------------------------------------------- autograd */
#include "autograd/autograd.h"

/* record kind for *out with dim in ip[0] and idx saved in slot 0, what the index-driven
 * backward formulas read (ops/index.c, ops/sort.c, max(dim) in ops/reduce.c); returns
 * the node, NULL when none. When saving fails *out is freed and set to NULL */
tg_node *tg_record_indexed(tg_ctx *c, const tg_node_kind *kind, tg_tensor **out, int n_in, tg_tensor *const *ins,
                           int dim, tg_tensor *idx);

#endif
