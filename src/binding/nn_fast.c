/* nn_fast.c (binding, helper tiny): the fast path of F.linear (tg.nn.Linear's
 * forward) for its common case, a 2-D input with a 2-D weight and a 1-D bias
 * or none, as one C call: the same core calls as the Lua path
 * (tg_addmm(b, x, tg_t(w)), or tg_mm(x, tg_t(w)) without a bias), so the same
 * graph (AddmmBackward0 over TBackward0), values and capture records, without
 * the Lua-level checks, shape tables and method lookups.
 *
 *   tg._nn_linear(x, w [, b]) -> y, or nothing when the case is not the plain
 *   one (then the Lua path runs: it has the other shapes and every message)
 *
 * It answers only when nothing can fail but the allocation: tensors (live
 * boxes) of one dtype on one device, the inner sizes matching, the bias of
 * the output's width. */
#include "binding.h"
#include "../backend/backend.h"

static tg_tensor *live_tensor(lua_State *L, tg_ctx *c, int idx) {
  tg_tensor **box = tgL_testbox_c(L, c, idx);
  return box ? *box : NULL;
}

static int nn_linear(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  tg_tensor *x = live_tensor(L, c, 1), *w = live_tensor(L, c, 2), *b = NULL;
  if (!x || !w || lua_gettop(L) > 3) return 0;
  if (!lua_isnoneornil(L, 3) && !(b = live_tensor(L, c, 3))) return 0;
  if (x->ndim != 2 || w->ndim != 2 || w->size[1] != x->size[1] || x->dtype != w->dtype) return 0;
  const tg_backend *be = tg_backend_of(x);
  if (tg_backend_of(w) != be) return 0;
  if (b && (b->ndim != 1 || b->size[0] != w->size[0] || b->dtype != x->dtype || tg_backend_of(b) != be)) return 0;
  tg_tensor **box = tgL_newbox_c(L, c);
  tg_tensor *wt = tg_t(c, w);
  if (!wt) return tgL_raise(L, c);
  *box = b ? tg_addmm(c, b, x, wt, 1.0, 1.0) : tg_mm(c, x, wt);
  tg_tensor_unref(wt);
  return *box ? 1 : tgL_raise(L, c);
}

void tgL_register_nn_fast(lua_State *L, int ctxi, int module) {
  ctxi = lua_absindex(L, ctxi);
  module = lua_absindex(L, module);
  static const luaL_Reg fns[] = {{"_nn_linear", nn_linear}, {NULL, NULL}};
  tgL_setfuncs(L, module, ctxi, fns);
}
