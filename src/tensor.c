/* tensor.c: dtypes, refcounted storage, strided views, broadcasting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "capture.h"
#include "tg.h"

/* ------------------------------------------------------------------ dtype */
const char *tg_dtype_name(tg_dtype d) {
  static const char *names[TG_NDTYPES] = {"float32", "float64", "int64", "bool"};
  return names[d];
}

const char *tg_torch_dtype_name(tg_dtype d) {
  static const char *n[TG_NDTYPES] = {"Float", "Double", "Long", "Bool"};
  return n[d];
}

/* bool < int64 < float32 < float64 */
static int dtype_rank(tg_dtype d) {
  static const int r[TG_NDTYPES] = {2, 3, 1, 0};
  return r[d];
}

tg_dtype tg_promote(tg_dtype a, tg_dtype b) { return dtype_rank(a) >= dtype_rank(b) ? a : b; }

/* PyTorch's rule (c10 ResultTypeState): operands fall in three classes,
 * dimensioned tensors, zero-dim tensors and wrapped Lua numbers; each class
 * promotes within itself, and a lower class only counts when it is of a
 * higher category (bool < integer < float) than the classes above it. A
 * wrapped float number stands for the default dtype (float32), a wrapped
 * integer for int64:
 *   int64 tensor + 2 -> int64, int64 tensor * 2.5 -> float32,
 *   float32 tensor + float64 0-d tensor -> float32, int64 tensor + float64 0-d -> float64. */
#define TG_UNDEF ((int)TG_NDTYPES)
static int promote_undef(int a, int b) {
  if (a == TG_UNDEF) return b;
  if (b == TG_UNDEF) return a;
  return (int)tg_promote((tg_dtype)a, (tg_dtype)b);
}

/* c10's combine_categories */
static int combine_categories(int higher, int lower) {
  if (higher != TG_UNDEF && tg_is_float((tg_dtype)higher)) return higher;
  if (higher == TG_BOOL || (lower != TG_UNDEF && tg_is_float((tg_dtype)lower))) return promote_undef(higher, lower);
  if (higher != TG_UNDEF) return higher;
  return lower;
}

tg_dtype tg_result_type_n(int n, const tg_tensor *const *ts) {
  int dim = TG_UNDEF, zero = TG_UNDEF, wrapped = TG_UNDEF;
  for (int i = 0; i < n; i++) {
    const tg_tensor *t = ts[i];
    if (!t) continue;
    if (t->wrapped_number) {
      tg_dtype d = tg_is_float(t->dtype) ? TG_FLOAT32 : t->dtype;
      wrapped = promote_undef(wrapped, d);
    } else if (t->ndim == 0) {
      zero = promote_undef(zero, t->dtype);
    } else {
      dim = promote_undef(dim, t->dtype);
    }
  }
  int r = combine_categories(dim, combine_categories(zero, wrapped));
  return r == TG_UNDEF ? TG_FLOAT32 : (tg_dtype)r;
}

tg_dtype tg_result_type(const tg_tensor *a, const tg_tensor *b) {
  const tg_tensor *ts[2] = {a, b};
  return tg_result_type_n(2, ts);
}

/* ---------------------------------------------------------------- storage */
void tg_host_alloc_unref(tg_host_alloc *a) {
  if (a && --a->refs == 0) free(a);
}

static bool over_limit(const tg_ctx *c, size_t nbytes) {
  return c->mem_limit && (nbytes > c->mem_limit || c->live_bytes > c->mem_limit - nbytes);
}

/* the host's allocator when it set one (CPU memory only), else the backend's */
static void *storage_alloc(tg_ctx *c, const tg_backend *be, size_t nbytes, tg_host_alloc **ha) {
  *ha = NULL;
  if (c->host_alloc && be == &tg_cpu_backend) {
    void *p = c->host_alloc->alloc(c->host_alloc->ud, nbytes ? nbytes : 1);
    if (p) (*ha = c->host_alloc)->refs++;
    return p;
  }
  return be->alloc(c, nbytes);
}

/* one full collection by the binding (at most one at a time) */
static void reclaim(tg_ctx *c, size_t nbytes) {
  if (!c->oom_hook || c->in_oom) return;
  c->in_oom = true;
  c->oom_hook(c, nbytes);
  c->in_oom = false;
}

static void *limit_error(tg_ctx *c, size_t nbytes) {
  return tg_errp(c,
                 "out of memory: tried to allocate %zu bytes with %zu bytes allocated, past the limit of %zu bytes "
                 "(tg.set_memory_limit)",
                 nbytes, c->live_bytes, c->mem_limit);
}

tg_storage *tg_storage_new(tg_ctx *c, const tg_backend *be, size_t nbytes) {
  if (c->capture_be && be == c->capture_be) be = &tg_cpu_backend; /* capture: memory is the CPU's */
  if (over_limit(c, nbytes)) {
    reclaim(c, nbytes);
    if (over_limit(c, nbytes)) return limit_error(c, nbytes);
  }
  tg_storage *s = tg_pool_get(c, &c->storage_pool, sizeof *s);
  if (!s) return tg_errp(c, "out of memory");
  tg_host_alloc *ha;
  s->data = storage_alloc(c, be, nbytes, &ha);
  if (!s->data) { /* garbage tensors may hold what is missing: collect once, retry */
    reclaim(c, nbytes);
    if (!over_limit(c, nbytes)) s->data = storage_alloc(c, be, nbytes, &ha);
  }
  if (!s->data) {
    tg_pool_put(c, &c->storage_pool, s);
    if (be != &tg_cpu_backend) return NULL; /* cuda boundary: a device backend wrote its own message */
    return tg_errp(c, "out of memory: tried to allocate %zu bytes", nbytes);
  }
  s->refs = 1;
  s->nbytes = nbytes;
  s->backend = be;
  s->ctx = c;
  s->halloc = ha;
  c->alloc_pending += nbytes;
  c->live_bytes += nbytes;
  if (c->live_bytes > c->mem_peak) c->mem_peak = c->live_bytes;
  return s;
}

void tg_storage_unref(tg_storage *s) {
  if (!s || --s->refs > 0) return;
  if (s->ctx) s->ctx->live_bytes -= s->nbytes;
  if (s->release) /* wrapped host memory */
    s->release(s->release_ud, s->data);
  else if (s->halloc) {
    s->halloc->free(s->halloc->ud, s->data, s->nbytes ? s->nbytes : 1);
    tg_host_alloc_unref(s->halloc);
  } else if (!s->borrowed)
    s->backend->free(s->ctx, s->data, s->nbytes);
  if (s->ctx)
    tg_pool_put(s->ctx, &s->ctx->storage_pool, s);
  else
    free(s);
}

/* the memory of s under a new storage with its own version counter (x.data = y:
 * x shares y's memory and keeps its version). Holds s until freed. */
static void release_shared(void *ud, void *data) {
  (void)data;
  tg_storage_unref(ud);
}

tg_storage *tg_storage_share(tg_ctx *c, tg_storage *s, uint64_t version) {
  tg_storage *n = tg_pool_get(c, &c->storage_pool, sizeof *n);
  if (!n) return tg_errp(c, "out of memory");
  n->refs = 1;
  n->data = s->data;
  n->nbytes = 0; /* s counts the bytes (live_bytes) */
  n->backend = s->backend;
  n->version = version;
  n->release = release_shared;
  n->release_ud = s;
  n->ctx = c;
  s->refs++;
  return n;
}

/* ----------------------------------------------------------------- tensor */
int64_t tg_shape_numel(int ndim, const int64_t *size) {
  /* a zero dim first: (INT64_MAX, 2, 0) has 0 elements, its partial products overflow */
  for (int d = 0; d < ndim; d++)
    if (size[d] == 0) return 0;
  int64_t n = 1;
  for (int d = 0; d < ndim; d++)
    if (__builtin_mul_overflow(n, size[d], &n)) return INT64_MAX; /* checked where tensors are made */
  return n;
}

int64_t tg_numel(const tg_tensor *t) { return tg_shape_numel(t->ndim, t->size); }

void tg_contiguous_strides(int ndim, const int64_t *size, int64_t *stride) {
  int64_t s = 1;
  for (int d = ndim - 1; d >= 0; d--) {
    stride[d] = s;
    /* saturating: only an empty tensor (whose strides are never used to step) gets here */
    if (__builtin_mul_overflow(s, size[d] > 1 ? size[d] : 1, &s)) s = INT64_MAX;
  }
}

bool tg_is_contiguous(const tg_tensor *t) {
  for (int d = 0; d < t->ndim; d++)
    if (t->size[d] == 0) return true; /* no elements: contiguous whatever the strides (as PyTorch) */
  int64_t s = 1;
  for (int d = t->ndim - 1; d >= 0; d--) {
    if (t->size[d] != 1 && t->stride[d] != s) return false;
    s *= t->size[d];
  }
  return true;
}

bool tg_same_shape(const tg_tensor *a, const tg_tensor *b) {
  if (a->ndim != b->ndim) return false;
  for (int d = 0; d < a->ndim; d++)
    if (a->size[d] != b->size[d]) return false;
  return true;
}

bool tg_on_cpu(const tg_tensor *t) { return t->storage->backend == &tg_cpu_backend; }

/* perop: the size/stride slots are not zeroed (256 bytes a tensor): both
 * makers below write them up to ndim, and nothing reads past ndim */
static tg_tensor *tensor_struct(tg_ctx *c) {
  tg_tensor *t = tg_pool_get_part(c, &c->tensor_pool, sizeof *t, offsetof(tg_tensor, size));
  if (!t) return tg_errp(c, "out of memory");
  t->refs = 1;
  return t;
}

/* the element count, or an error (PyTorch's text) when it, or its bytes,
 * would not fit in int64: an overflowed count is a too-small buffer */
static int checked_numel(tg_ctx *c, int ndim, const int64_t *size, size_t elem, int64_t *out) {
  int64_t n = 1;
  bool over = false;
  for (int d = 0; d < ndim; d++)
    if (__builtin_mul_overflow(n, size[d], &n)) over = true;
  int64_t bytes;
  if (over || __builtin_mul_overflow(n, (int64_t)elem, &bytes)) {
    char shape[256];
    tg_format_shape(shape, sizeof shape, ndim, size);
    return tg_err(c, "Storage size calculation overflowed with sizes=%s", shape);
  }
  *out = n;
  return 0;
}

tg_tensor *tg_tensor_empty(tg_ctx *c, tg_dtype dt, int ndim, const int64_t *size) {
  return tg_tensor_empty_on(c, &tg_cpu_backend, dt, ndim, size);
}

/* cuda boundary: a new contiguous tensor whose storage lives on backend be */
tg_tensor *tg_tensor_empty_on(tg_ctx *c, const tg_backend *be, tg_dtype dt, int ndim, const int64_t *size) {
  if (ndim > TG_MAX_DIMS) return tg_errp(c, "tensors of more than %d dimensions are not supported", TG_MAX_DIMS);
  for (int d = 0; d < ndim; d++)
    if (size[d] < 0)
      return tg_errp(c, "Trying to create tensor with negative dimension %lld: ", (long long)size[d]);
  int64_t n;
  if (checked_numel(c, ndim, size, tg_dtype_size(dt), &n) < 0) return NULL;
  tg_tensor *t = tensor_struct(c);
  if (!t) return NULL;
  t->storage = tg_storage_new(c, be, (size_t)n * tg_dtype_size(dt));
  if (!t->storage) {
    free(t);
    return NULL;
  }
  t->dtype = dt;
  t->ndim = ndim;
  if (ndim) memcpy(t->size, size, sizeof(int64_t) * (size_t)ndim);
  tg_contiguous_strides(ndim, size, t->stride);
  return t;
}

tg_tensor *tg_tensor_full(tg_ctx *c, tg_dtype dt, int ndim, const int64_t *size, double v) {
  tg_tensor *t = tg_tensor_empty(c, dt, ndim, size);
  if (t) tg_fill_raw(c, t, v);
  return t;
}

tg_tensor *tg_tensor_zeros(tg_ctx *c, tg_dtype dt, int ndim, const int64_t *size) {
  return tg_tensor_full(c, dt, ndim, size, 0);
}

tg_tensor *tg_tensor_scalar(tg_ctx *c, tg_dtype dt, double v) { return tg_tensor_full(c, dt, 0, NULL, v); }

tg_tensor *tg_tensor_as_strided(tg_ctx *c, const tg_tensor *src, int ndim, const int64_t *size,
                                const int64_t *stride, int64_t offset) {
  int64_t n; /* a view (expand) may not have more elements than int64 counts */
  if (checked_numel(c, ndim, size, 1, &n) < 0) return NULL;
  tg_tensor *t = tensor_struct(c);
  if (!t) return NULL;
  t->storage = src->storage;
  src->storage->refs++;
  t->dtype = src->dtype;
  t->ndim = ndim;
  t->offset = offset;
  if (ndim) memcpy(t->size, size, sizeof(int64_t) * (size_t)ndim);
  if (ndim) memcpy(t->stride, stride, sizeof(int64_t) * (size_t)ndim);
  return t;
}

tg_tensor *tg_tensor_alias(tg_ctx *c, const tg_tensor *src) {
  return tg_tensor_as_strided(c, src, src->ndim, src->size, src->stride, src->offset);
}

void tg_tensor_unref(tg_tensor *t) {
  if (!t || --t->refs > 0) return;
  tg_ctx *c = t->storage ? t->storage->ctx : NULL;
  if (t->grad_fn && t->grad_fn->retained && t->grad_fn->retained[t->output_nr] == t)
    t->grad_fn->retained[t->output_nr] = NULL;
  for (tg_hook *h = t->hooks, *nx; h; h = nx) {
    nx = h->next;
    if (c && c->release_hook) c->release_hook(c, h->id);
    free(h);
  }
  tg_tensor_unref(t->grad);
  tg_node_unref(t->grad_fn);
  tg_tensor_unref(t->view_base);
  tg_storage_unref(t->storage);
  tg_pool_put(c, c ? &c->tensor_pool : NULL, t);
}

void tg_bump_version(tg_tensor *t) { t->storage->version++; }

/* ----------------------------------------------------------- broadcasting */
int tg_broadcast_shapes(tg_ctx *c, int na, const int64_t *sa, int nb, const int64_t *sb, int *nout,
                        int64_t *out) {
  int n = na > nb ? na : nb;
  for (int i = 0; i < n; i++) {
    int ia = na - n + i, ib = nb - n + i;
    int64_t a = ia >= 0 ? sa[ia] : 1, b = ib >= 0 ? sb[ib] : 1;
    if (a != b && a != 1 && b != 1)
      return tg_err(c,
                    "The size of tensor a (%lld) must match the size of tensor b (%lld) at "
                    "non-singleton dimension %d",
                    (long long)a, (long long)b, i + 1);
    out[i] = a == 1 ? b : a;
  }
  *nout = n;
  return 0;
}

void tg_broadcast_strides(const tg_tensor *t, int ndim, const int64_t *size, int64_t *stride) {
  for (int i = 0; i < ndim; i++) {
    int it = t->ndim - ndim + i;
    stride[i] = (it >= 0 && t->size[it] == size[i]) ? t->stride[it] : 0;
  }
}

int tg_wrap_dim(tg_ctx *c, int64_t dim, int ndim, int *out) {
  /* Lua's 1-based dims: 1..n, or -n..-1 from the end */
  int n = ndim > 0 ? ndim : 1;
  if (dim == 0 || dim < -n || dim > n)
    return tg_err(c, "Dimension out of range (expected to be in range of [%d, %d], but got %lld)", -n, n,
                  (long long)dim);
  *out = (int)(dim > 0 ? dim - 1 : dim + n);
  return 0;
}

int tg_check_dim(tg_ctx *c, const tg_tensor *t, int dim) {
  int n = t->ndim ? t->ndim : 1;
  if (dim < 0 || dim >= n)
    return tg_err(c, "Dimension out of range (expected to be in range of [%d, %d], but got %d)", -n, n, dim + 1);
  return 0;
}

void tg_format_shape(char *buf, size_t n, int ndim, const int64_t *size) {
  size_t k = (size_t)snprintf(buf, n, "[");
  for (int d = 0; d < ndim && k < n; d++)
    k += (size_t)snprintf(buf + k, n - k, d ? ", %lld" : "%lld", (long long)size[d]);
  if (k < n) snprintf(buf + k, n - k, "]");
}

static int64_t flat_offset(const tg_tensor *t, int64_t i) {
  int64_t off = t->offset;
  for (int d = t->ndim - 1; d >= 0; d--) {
    off += (i % t->size[d]) * t->stride[d];
    i /= t->size[d];
  }
  return off;
}

int64_t tg_get_flat_i64(const tg_tensor *t, int64_t i) {
  tg_capture_read(t); /* capture: a value read on the host */
  return ((const int64_t *)t->storage->data)[flat_offset(t, i)];
}

double tg_get_flat(const tg_tensor *t, int64_t i) {
  tg_capture_read(t); /* capture: a value read on the host */
  int64_t off = flat_offset(t, i);
  const char *p = t->storage->data;
  switch (t->dtype) {
    case TG_FLOAT32: return ((const float *)p)[off];
    case TG_FLOAT64: return ((const double *)p)[off];
    case TG_INT64: return (double)((const int64_t *)p)[off];
    default: return ((const bool *)p)[off];
  }
}

/* ------------------------------------------------------------ raw movement */
int tg_fill_raw(tg_ctx *c, tg_tensor *t, double v) {
  if (t->ndim == 0 && tg_backend_of(t) == &tg_cpu_backend) { /* perop: a scalar (a Lua number's) without a kernel */
    void *p = tg_data(t);
    switch (t->dtype) { /* the fill kernel's conversions */
      case TG_FLOAT32: *(float *)p = (float)v; break;
      case TG_FLOAT64: *(double *)p = v; break;
      case TG_INT64: *(int64_t *)p = (int64_t)v; break;
      default: *(bool *)p = v != 0; break;
    }
    return 0;
  }
  if (tg_numel(t) == 0) return 0;
  return tg_backend_of(t)->fill(c, t, v);
}

int tg_copy_raw(tg_ctx *c, tg_tensor *dst, const tg_tensor *src) {
  int nd;
  int64_t bs[TG_MAX_DIMS];
  if (tg_broadcast_shapes(c, dst->ndim, dst->size, src->ndim, src->size, &nd, bs) < 0) return -1;
  if (nd != dst->ndim || tg_shape_numel(nd, bs) != tg_numel(dst)) {
    char a[128], b[128];
    tg_format_shape(a, sizeof a, src->ndim, src->size);
    tg_format_shape(b, sizeof b, dst->ndim, dst->size);
    return tg_err(c, "output with shape %s doesn't match the broadcast shape %s", b, a);
  }
  if (tg_numel(dst) == 0) return 0;
  tg_tensor view = *src;
  view.ndim = dst->ndim;
  memcpy(view.size, dst->size, sizeof(int64_t) * (size_t)dst->ndim);
  tg_broadcast_strides(src, dst->ndim, dst->size, view.stride);
  return tg_backend_of(dst)->copy(c, dst, &view);
}

tg_tensor *tg_cast_raw(tg_ctx *c, tg_tensor *t, tg_dtype dt) {
  tg_tensor *o = tg_tensor_empty_on(c, tg_backend_of(t), dt, t->ndim, t->size); /* cuda boundary: on t's device */
  if (!o) return NULL;
  if (tg_numel(o) && tg_backend_of(t)->copy(c, o, t) < 0) {
    tg_tensor_unref(o);
    return NULL;
  }
  return o;
}

tg_tensor *tg_contiguous_raw(tg_ctx *c, tg_tensor *t) {
  if (tg_is_contiguous(t)) return tg_tensor_ref(t);
  return tg_cast_raw(c, t, t->dtype);
}
