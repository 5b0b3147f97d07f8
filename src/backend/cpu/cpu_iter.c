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

/* run outer indices [lo, hi) */
static void iter_range(const tg_iter *it, int64_t lo, int64_t hi, tg_loop_fn loop, const void *arg) {
  int nd = it->ndim, nops = it->nops;
  int64_t inner = it->size[nd - 1];
  int64_t s_in[TG_MAX_OPS];
  for (int k = 0; k < nops; k++) s_in[k] = it->stride[k][nd - 1];
  int64_t idx[TG_MAX_DIMS] = {0};
  /* decompose lo into outer counters */
  int64_t r = lo;
  for (int d = nd - 2; d >= 0; d--) { idx[d] = r % it->size[d]; r /= it->size[d]; }
  char *p[TG_MAX_OPS];
  for (int64_t o = lo; o < hi; o++) {
    for (int k = 0; k < nops; k++) {
      char *q = it->base[k];
      for (int d = 0; d < nd - 1; d++) q += idx[d] * it->stride[k][d];
      p[k] = q;
    }
    loop(inner, p, s_in, arg);
    for (int d = nd - 2; d >= 0; d--) {
      if (++idx[d] < it->size[d]) break;
      idx[d] = 0;
    }
  }
}

#define TG_PARALLEL_GRAIN 32768

void tg_iter_run(tg_ctx *c, const tg_iter *it, tg_loop_fn loop, const void *arg, bool parallel_ok) {
  int nd = it->ndim;
  int64_t outer = 1;
  for (int d = 0; d < nd - 1; d++) outer *= it->size[d];
  int64_t inner = it->size[nd - 1];
  int nt = c->num_threads;
  int64_t total = outer * inner;
  if (!parallel_ok || nt <= 1 || total < TG_PARALLEL_GRAIN) {
    iter_range(it, 0, outer, loop, arg);
    return;
  }
  if (outer == 1) { /* split the single inner run */
    int64_t chunk = (inner + nt - 1) / nt;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int t = 0; t < nt; t++) {
      int64_t lo = t * chunk, hi = lo + chunk < inner ? lo + chunk : inner;
      if (lo >= hi) continue;
      char *p[TG_MAX_OPS];
      int64_t s[TG_MAX_OPS];
      for (int k = 0; k < it->nops; k++) { s[k] = it->stride[k][0]; p[k] = it->base[k] + lo * s[k]; }
      loop(hi - lo, p, s, arg);
    }
    return;
  }
  int64_t chunk = (outer + nt - 1) / nt;
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int t = 0; t < nt; t++) {
    int64_t lo = t * chunk, hi = lo + chunk < outer ? lo + chunk : outer;
    if (lo < hi) iter_range(it, lo, hi, loop, arg);
  }
}
