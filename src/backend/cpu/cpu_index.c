/* cpu_index.c: CPU kernels for gather/scatter/index_select/index_add, where,
 * tril/triu and mask positions (see cpu_index.h). All offsets are in
 * elements; tensors may be arbitrary strided views. */
#include <string.h>

#include "cpu.h"
#include "cpu_index.h"

/* an N-d counter carrying up to three element offsets */
typedef struct walker {
  int nd, k;
  int64_t size[TG_MAX_DIMS], cnt[TG_MAX_DIMS];
  int64_t st[3][TG_MAX_DIMS];
  int64_t off[3];
} walker;

static void walk_init(walker *w, int nd, const int64_t *size, int k) {
  memset(w, 0, sizeof *w);
  w->nd = nd;
  w->k = k;
  memcpy(w->size, size, sizeof(int64_t) * (size_t)nd);
}

/* operand j walks tensor t, with dimension skip (if >= 0) held still */
static void walk_operand(walker *w, int j, const tg_tensor *t, int skip) {
  w->off[j] = t->offset;
  for (int d = 0; d < w->nd; d++) w->st[j][d] = d == skip ? 0 : t->stride[d];
}

static inline void walk_next(walker *w) {
  for (int d = w->nd - 1; d >= 0; d--) {
    w->cnt[d]++;
    for (int j = 0; j < w->k; j++) w->off[j] += w->st[j][d];
    if (w->cnt[d] < w->size[d]) return;
    for (int j = 0; j < w->k; j++) w->off[j] -= w->st[j][d] * w->size[d];
    w->cnt[d] = 0;
  }
}

static inline int64_t idx_at(const tg_tensor *idx, int64_t off, int64_t n) {
  int64_t v = ((const int64_t *)idx->storage->data)[off];
  return v > 0 ? v - 1 : v + n;
}

static inline char *elem(const tg_tensor *t, int64_t off) {
  return (char *)t->storage->data + off * (int64_t)tg_dtype_size(t->dtype);
}

static inline void copy_elem(char *d, const char *s, size_t es) {
  switch (es) {
    case 8: memcpy(d, s, 8); break;
    case 4: memcpy(d, s, 4); break;
    default: *d = *s; break;
  }
}

static inline void add_elem(tg_dtype dt, char *d, const char *s, double alpha) {
  switch (dt) {
    case TG_FLOAT32: *(float *)d += (float)(alpha * *(const float *)s); break;
    case TG_FLOAT64: *(double *)d += alpha * *(const double *)s; break;
    case TG_INT64: *(int64_t *)d += (int64_t)alpha * *(const int64_t *)s; break;
    default: *(bool *)d = *(bool *)d || (alpha != 0 && *(const bool *)s); break;
  }
}

static void store_value(tg_dtype dt, char *d, double v) {
  switch (dt) {
    case TG_FLOAT32: *(float *)d = (float)v; break;
    case TG_FLOAT64: *(double *)d = v; break;
    case TG_INT64: *(int64_t *)d = (int64_t)v; break;
    default: *(bool *)d = v != 0; break;
  }
}

int tg_cpu_check_index(tg_ctx *c, const tg_tensor *idx, int64_t n, int dim) {
  int64_t total = tg_numel(idx);
  if (total == 0) return 0;
  walker w;
  walk_init(&w, idx->ndim, idx->size, 1);
  walk_operand(&w, 0, idx, -1);
  const int64_t *p = idx->storage->data;
  for (int64_t i = 0; i < total; i++, walk_next(&w)) {
    int64_t v = p[w.off[0]];
    if (v == 0 || v > n || v < -n)
      return tg_err(c, "index %lld is out of bounds for dimension %d with size %lld", (long long)v, dim + 1,
                    (long long)n);
  }
  return 0;
}

int tg_cpu_gather(tg_ctx *c, tg_tensor *out, const tg_tensor *x, int dim, const tg_tensor *idx) {
  (void)c;
  int64_t total = tg_numel(idx), n = x->size[dim], sd = x->stride[dim];
  size_t es = tg_dtype_size(x->dtype);
  walker w;
  walk_init(&w, idx->ndim, idx->size, 3);
  walk_operand(&w, 0, out, -1);
  walk_operand(&w, 1, idx, -1);
  walk_operand(&w, 2, x, dim);
  for (int64_t i = 0; i < total; i++, walk_next(&w))
    copy_elem(elem(out, w.off[0]), elem(x, w.off[2] + idx_at(idx, w.off[1], n) * sd), es);
  return 0;
}

int tg_cpu_scatter(tg_ctx *c, tg_tensor *dst, int dim, const tg_tensor *idx, const tg_tensor *src, double value,
                   bool add) {
  (void)c;
  int64_t total = tg_numel(idx), n = dst->size[dim], sd = dst->stride[dim];
  size_t es = tg_dtype_size(dst->dtype);
  walker w;
  walk_init(&w, idx->ndim, idx->size, 3);
  walk_operand(&w, 0, dst, dim);
  walk_operand(&w, 1, idx, -1);
  if (src) walk_operand(&w, 2, src, -1);
  for (int64_t i = 0; i < total; i++, walk_next(&w)) {
    char *d = elem(dst, w.off[0] + idx_at(idx, w.off[1], n) * sd);
    if (!src) {
      if (add) {
        double v = value;
        char tmp[8];
        store_value(dst->dtype, tmp, v);
        add_elem(dst->dtype, d, tmp, 1.0);
      } else {
        store_value(dst->dtype, d, value);
      }
    } else if (add) {
      add_elem(dst->dtype, d, elem(src, w.off[2]), 1.0);
    } else {
      copy_elem(d, elem(src, w.off[2]), es);
    }
  }
  return 0;
}

/* index_select and index_add walk alike: over each element of t, paired with the
 * element of `along` at position idx[i] on dim (i: t's position on dim).
 * add: along += alpha t (index_add); else t = along (index_select) */
static void index_walk(const tg_tensor *t, const tg_tensor *along, int dim, const tg_tensor *idx, bool add,
                       double alpha) {
  int64_t total = tg_numel(t), n = along->size[dim], sd = along->stride[dim];
  int64_t is = idx->ndim ? idx->stride[0] : 0;
  size_t es = tg_dtype_size(along->dtype);
  walker w;
  walk_init(&w, t->ndim, t->size, 2);
  walk_operand(&w, 0, t, -1);
  walk_operand(&w, 1, along, dim);
  for (int64_t i = 0; i < total; i++, walk_next(&w)) {
    int64_t j = idx_at(idx, idx->offset + w.cnt[dim] * is, n);
    char *a = elem(along, w.off[1] + j * sd), *e = elem(t, w.off[0]);
    if (add) add_elem(along->dtype, a, e, alpha);
    else copy_elem(e, a, es);
  }
}

int tg_cpu_index_select(tg_ctx *c, tg_tensor *out, const tg_tensor *x, int dim, const tg_tensor *idx) {
  (void)c;
  index_walk(out, x, dim, idx, false, 0);
  return 0;
}

int tg_cpu_index_add(tg_ctx *c, tg_tensor *dst, int dim, const tg_tensor *idx, const tg_tensor *src, double alpha) {
  (void)c;
  index_walk(src, dst, dim, idx, true, alpha);
  return 0;
}

/* p[0] out, p[1] cond, p[2] a, p[3] b */
#define WHERE_LOOP(T)                                                                          \
  static void where_##T(int64_t n, char **p, const int64_t *s, const void *arg) {             \
    (void)arg;                                                                                 \
    for (int64_t i = 0; i < n; i++)                                                            \
      *(T *)(p[0] + i * s[0]) = *(const bool *)(p[1] + i * s[1]) ? *(const T *)(p[2] + i * s[2]) \
                                                                 : *(const T *)(p[3] + i * s[3]); \
  }
WHERE_LOOP(uint8_t)
WHERE_LOOP(uint32_t)
WHERE_LOOP(uint64_t)

int tg_cpu_where(tg_ctx *c, tg_tensor *out, const tg_tensor *cond, const tg_tensor *a, const tg_tensor *b) {
  const tg_tensor *ts[4] = {out, cond, a, b};
  tg_iter it;
  tg_iter_init(&it, 4, ts);
  size_t es = tg_dtype_size(out->dtype);
  tg_iter_run(c, &it, es == 8 ? where_uint64_t : es == 4 ? where_uint32_t : where_uint8_t, NULL, true);
  return 0;
}

int tg_cpu_tri(tg_ctx *c, tg_tensor *t, int64_t k, bool lower) {
  (void)c;
  int nd = t->ndim;
  int64_t rows = t->size[nd - 2], cols = t->size[nd - 1];
  int64_t batch = tg_shape_numel(nd - 2, t->size);
  int64_t sr = t->stride[nd - 2], sc = t->stride[nd - 1];
  size_t es = tg_dtype_size(t->dtype);
  walker w;
  walk_init(&w, nd - 2, t->size, 1);
  walk_operand(&w, 0, t, -1);
  for (int64_t b = 0; b < batch; b++, walk_next(&w))
    for (int64_t i = 0; i < rows; i++)
      for (int64_t j = 0; j < cols; j++)
        if (lower ? j - i > k : j - i < k) memset(elem(t, w.off[0] + i * sr + j * sc), 0, es);
  return 0;
}

tg_tensor *tg_cpu_mask_positions(tg_ctx *c, const tg_tensor *mask) {
  int64_t total = tg_numel(mask), count = 0;
  walker w;
  walk_init(&w, mask->ndim, mask->size, 1);
  walk_operand(&w, 0, mask, -1);
  const bool *m = mask->storage->data;
  for (int64_t i = 0; i < total; i++, walk_next(&w)) count += m[w.off[0]];
  tg_tensor *out = tg_tensor_empty(c, TG_INT64, 1, &count);
  if (!out) return NULL;
  int64_t *o = tg_data(out), k = 0;
  walk_init(&w, mask->ndim, mask->size, 1);
  walk_operand(&w, 0, mask, -1);
  for (int64_t i = 0; i < total; i++, walk_next(&w))
    if (m[w.off[0]]) o[k++] = i + 1;
  return out;
}
