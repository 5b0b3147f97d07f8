/* binary_fast.c (binding, perop2): a tensor and a Lua number without options
 * (t * 2.5, 1 - t, tg.div(t, 3)) straight to tg_binary_number_fast: no 0-d
 * wrapped tensor is made. Anything it does not take (a boolean, a freed
 * tensor, an op that records a graph, ...) goes on to binary_fn's general
 * path, which raises the usual errors. */
#include "binding.h"
#include "../ops/binary_fast.h"

int tgL_binary_number_fast(lua_State *L, tg_ctx *c, tg_op op, int ti, tg_tensor **bt) {
  int ni = 3 - ti;
  if (lua_type(L, ni) != LUA_TNUMBER || !*bt) return 0;
  int kind = lua_isinteger(L, ni) ? TG_NUM_INT : TG_NUM_FLOAT;
  if (!tg_binary_number_fast_ok(c, op, *bt, kind)) return 0; /* no box made for nothing */
  double v = kind == TG_NUM_FLOAT ? lua_tonumber(L, ni) : 0;
  int64_t iv = kind == TG_NUM_INT ? (int64_t)lua_tointeger(L, ni) : 0;
  tg_tensor **box = tgL_newbox_c(L, c); /* first: the result is never left without an owner */
  int r = tg_binary_number_fast(c, op, *bt, kind, v, iv, ni == 1, box);
  if (r < 0) return tgL_raise(L, c);
  if (r == 0) lua_pop(L, 1); /* a finalizer run by the box's collector step changed the answer */
  return r;
}
