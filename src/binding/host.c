/* host.c: the C API of tgrad.h for host programs (wrap host memory, read
 * tensors back). */
#include <stdlib.h>
#include <string.h>

#include "../backend/backend.h"
#include "../tgrad.h"
#include "binding.h"

int tgrad_push_wrapped(lua_State *L, void *data, tgrad_dtype dtype, int ndim, const int64_t *size,
                       void (*release)(void *ud, void *data), void *ud) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, TG_CTX_KEY) != LUA_TUSERDATA)
    return luaL_error(L, "tgrad_push_wrapped: require \"tgrad\" in this lua_State first");
  tg_ctx *c = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if ((int)dtype < 0 || (int)dtype >= (int)TG_NDTYPES) return luaL_error(L, "tgrad_push_wrapped: bad dtype %d", (int)dtype);
  if (ndim < 0 || ndim > TG_MAX_DIMS) return luaL_error(L, "tgrad_push_wrapped: bad ndim %d", ndim);
  for (int d = 0; d < ndim; d++)
    if (size[d] < 0) return luaL_error(L, "tgrad_push_wrapped: negative size %I at dimension %d", (lua_Integer)size[d], d + 1);
  tg_tensor **box = tgL_newbox(L);
  tg_tensor *t = calloc(1, sizeof *t);
  tg_storage *s = calloc(1, sizeof *s);
  if (!t || !s) {
    free(t), free(s);
    return luaL_error(L, "out of memory");
  }
  s->refs = 1;
  s->data = data;
  s->nbytes = (size_t)tg_shape_numel(ndim, size) * tg_dtype_size((tg_dtype)dtype);
  s->backend = &tg_cpu_backend;
  s->release = release ? release : NULL;
  s->release_ud = ud;
  s->ctx = c;
  s->borrowed = release == NULL;
  c->live_bytes += s->nbytes;
  t->refs = 1;
  t->storage = s;
  t->dtype = (tg_dtype)dtype;
  t->ndim = ndim;
  memcpy(t->size, size, sizeof(int64_t) * (size_t)ndim);
  tg_contiguous_strides(ndim, size, t->stride);
  *box = t;
  return 1;
}

int tgrad_view_of(lua_State *L, int idx, tgrad_view *out) {
  tg_tensor **box = tgL_testbox(L, idx);
  if (!box || !*box || !tg_on_cpu(*box)) return -1;
  tg_tensor *t = *box;
  out->data = tg_data(t);
  out->dtype = (tgrad_dtype)t->dtype;
  out->ndim = t->ndim;
  out->size = t->size;
  out->stride = t->stride;
  out->contiguous = tg_is_contiguous(t);
  return 0;
}
