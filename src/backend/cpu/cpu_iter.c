/* cpu_iter.c: strided N-d iteration with dimension coalescing. */
#include "cpu.h"

#include <string.h>

void tg_iter_init(tg_iter *it, int nops, const tg_tensor *const *ts) {
  const tg_tensor *out = ts[0];
  it->nops = nops;
  int nd = 0;
  /* drop size-1 dims, keep order (outermost first) */
  for (int d = 0; d < out->ndim; d++) {
    if (out->size[d] == 1) continue;
    it->size[nd] = out->size[d];
    for (int k = 0; k < nops; k++)
      it->stride[k][nd] = ts[k]->stride[d] * (int64_t)tg_dtype_size(ts[k]->dtype);
    nd++;
  }
  /* coalesce d-1 into d when every operand is contiguous across the pair */
  int w = 0;
  for (int d = 1; d < nd; d++) {
    bool ok = true;
    for (int k = 0; k < nops && ok; k++)
      ok = it->stride[k][w] == it->stride[k][d] * it->size[d];
    if (ok) {
      it->size[w] *= it->size[d];
      for (int k = 0; k < nops; k++) it->stride[k][w] = it->stride[k][d];
    } else {
      w++;
      it->size[w] = it->size[d];
      for (int k = 0; k < nops; k++) it->stride[k][w] = it->stride[k][d];
    }
  }
  it->ndim = nd == 0 ? 0 : w + 1;
  if (it->ndim == 0) { /* a single element */
    it->ndim = 1;
    it->size[0] = 1;
    for (int k = 0; k < nops; k++) it->stride[k][0] = 0;
  }
  for (int k = 0; k < nops; k++) it->base[k] = (char *)tg_data(ts[k]);
}

/* run the flat (row-major) element range [lo, hi): whole or partial inner rows */
static void iter_range(const tg_iter *it, int64_t lo, int64_t hi, tg_loop_fn loop, const void *arg) {
  if (lo >= hi) return; /* nothing (an empty tensor: the inner size may be 0, never divided by) */
  int nd = it->ndim, nops = it->nops;
  int64_t inner = it->size[nd - 1];
  int64_t s_in[TG_MAX_OPS];
  for (int k = 0; k < nops; k++) s_in[k] = it->stride[k][nd - 1];
  /* decompose lo into outer counters and an offset in the inner row */
  int64_t idx[TG_MAX_DIMS] = {0};
  int64_t r = lo / inner, i0 = lo % inner;
  for (int d = nd - 2; d >= 0; d--) { idx[d] = r % it->size[d]; r /= it->size[d]; }
  char *p[TG_MAX_OPS];
  while (lo < hi) {
    int64_t n = inner - i0 < hi - lo ? inner - i0 : hi - lo;
    for (int k = 0; k < nops; k++) {
      char *q = it->base[k] + i0 * s_in[k];
      for (int d = 0; d < nd - 1; d++) q += idx[d] * it->stride[k][d];
      p[k] = q;
    }
    loop(n, p, s_in, arg);
    lo += n;
    i0 = 0;
    for (int d = nd - 2; d >= 0; d--) {
      if (++idx[d] < it->size[d]) break;
      idx[d] = 0;
    }
  }
}

/* Work below this many elements runs on the calling thread. */
#define TG_PARALLEL_GRAIN 32768

/* Elementwise work is split into c->num_threads contiguous ranges of the flat
 * element order (rows are cut where needed, so a (2, 10^6) transposed view
 * still uses every thread); ranges are multiples of 16 elements so threads do
 * not share output cache lines. Each element is computed the same way whatever
 * the split, so results do not depend on the thread count. */
void tg_iter_run(tg_ctx *c, const tg_iter *it, tg_loop_fn loop, const void *arg, bool parallel_ok) {
  int nd = it->ndim;
  int64_t total = 1;
  for (int d = 0; d < nd; d++) total *= it->size[d];
  if (total == 0) return; /* an empty operand: nothing to visit (iter_range would divide by a 0 row) */
  int nt = c->num_threads;
  if (!parallel_ok || nt <= 1 || total < TG_PARALLEL_GRAIN) {
    if (nd == 1) { /* perop: one row (contiguous operands): iter_range without its index arithmetic */
      char *p[TG_MAX_OPS];
      int64_t s[TG_MAX_OPS];
      for (int k = 0; k < it->nops; k++) p[k] = it->base[k], s[k] = it->stride[k][0];
      loop(total, p, s, arg);
      return;
    }
    iter_range(it, 0, total, loop, arg);
    return;
  }
  if ((int64_t)nt > total / (TG_PARALLEL_GRAIN / 4)) nt = (int)(total / (TG_PARALLEL_GRAIN / 4)); /* >= 8k each */
  int64_t chunk = (total + nt - 1) / nt;
  chunk = (chunk + 15) & ~(int64_t)15;
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int t = 0; t < nt; t++) {
    int64_t lo = t * chunk, hi = lo + chunk < total ? lo + chunk : total;
    if (lo < hi) iter_range(it, lo, hi, loop, arg);
  }
}
