/* cpu_index.h: CPU kernels for indexing ops (gather, scatter, index_select,
 * index_add, where, tril/triu, mask positions). CPU-only: the callers in
 * ops/index.c and ops/shape.c check tg_on_cpu first.
 *
 * Index tensors hold 1-based int64 values (negative counts from the end);
 * tg_cpu_check_index validates them once, the kernels then trust them. */
#ifndef TG_CPU_INDEX_H
#define TG_CPU_INDEX_H

#include "../backend.h"

/* every value v of idx must satisfy 1 <= v <= n or -n <= v <= -1;
 * otherwise "index v is out of bounds for dimension dim+1 with size n" */
int tg_cpu_check_index(tg_ctx *c, const tg_tensor *idx, int64_t n, int dim);
/* out (contiguous, idx's shape) [p] = x[p with p[dim] = idx[p]] */
int tg_cpu_gather(tg_ctx *c, tg_tensor *out, const tg_tensor *x, int dim, const tg_tensor *idx);
/* over idx's shape: dst[p with p[dim] = idx[p]] = src[p] (or += when add);
 * src NULL writes value */
int tg_cpu_scatter(tg_ctx *c, tg_tensor *dst, int dim, const tg_tensor *idx, const tg_tensor *src, double value,
                   bool add);
/* out (contiguous) [p] = x[p with p[dim] = idx[p[dim]]]; idx 1-D */
int tg_cpu_index_select(tg_ctx *c, tg_tensor *out, const tg_tensor *x, int dim, const tg_tensor *idx);
/* over src's shape: dst[p with p[dim] = idx[p[dim]]] += alpha * src[p]; idx 1-D */
int tg_cpu_index_add(tg_ctx *c, tg_tensor *dst, int dim, const tg_tensor *idx, const tg_tensor *src, double alpha);
/* out = cond ? a : b; cond (bool), a, b viewed to out's shape, a and b of out's dtype */
int tg_cpu_where(tg_ctx *c, tg_tensor *out, const tg_tensor *cond, const tg_tensor *a, const tg_tensor *b);
/* zero the elements of t (ndim >= 2) outside the band: lower keeps j - i <= k, upper j - i >= k */
int tg_cpu_tri(tg_ctx *c, tg_tensor *t, int64_t k, bool lower);
/* 1-based row-major positions of the true elements of a bool tensor, as a new 1-D int64 tensor */
tg_tensor *tg_cpu_mask_positions(tg_ctx *c, const tg_tensor *mask);

#endif
