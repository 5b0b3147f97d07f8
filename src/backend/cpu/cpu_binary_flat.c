/* cpu_binary_flat.c (perop2): the binary_flat slot: the same inner loops as
 * tg_cpu_binary (so the same bits), over one flat run of contiguous elements
 * or one scalar, without the N-d iterator's setup. Large runs still split
 * across the context's threads through tg_iter_run. */
#include "cpu.h"

#define FLAT_SERIAL 32768 /* cpu_iter.c's TG_PARALLEL_GRAIN: below it tg_iter_run runs on the caller's thread */

int tg_cpu_binary_flat(tg_ctx *c, tg_op op, tg_dtype dt, int64_t n, void *out, const void *a, const void *b,
                       int scalar_pos) {
  tg_loop_fn f = tg_cpu_binary_loop(op, dt);
  if (!f) return tg_err(c, "\"%s\" not implemented for '%s'", tg_op_infos[op].name, tg_dtype_name(dt));
  if (n <= 0) return 0;
  int64_t es = (int64_t)tg_dtype_size(dt), eo = tg_op_infos[op].kind == TG_KIND_ARITH ? es : 1;
  if (n < FLAT_SERIAL || c->num_threads <= 1) { /* one thread: the loop itself */
    char *p[3] = {out, (char *)a, (char *)b};
    int64_t s[3] = {eo, scalar_pos == 1 ? 0 : es, scalar_pos == 2 ? 0 : es};
    f(n, p, s, NULL);
    return 0;
  }
  tg_iter it;
  it.ndim = 1, it.nops = 3, it.size[0] = n;
  it.base[0] = out, it.base[1] = (char *)a, it.base[2] = (char *)b;
  it.stride[0][0] = eo;
  it.stride[1][0] = scalar_pos == 1 ? 0 : es;
  it.stride[2][0] = scalar_pos == 2 ? 0 : es;
  tg_iter_run(c, &it, f, NULL, true);
  return 0;
}
