/* activation.c (binding; helper act): tg._activation(name, x, p1, p2, p3 [, inplace]) for the
 * TG_ACT ops of ops.def (ops/activation.c). The Lua side (nn/functional_act.lua) parses PyTorch's
 * arguments and calls it: elu {alpha, scale, input_scale}, celu {alpha, 1, 1/alpha},
 * leaky_relu {negative_slope}, hardtanh {min_val, max_val}; inplace: x itself is returned. */
#include <string.h>

#include "binding.h"

static int l_activation(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  const char *name = luaL_checkstring(L, 1);
  tg_op op = TG_OP_COUNT;
  for (int i = TG_OP_ELU; i < TG_OP_COUNT; i++)
    if (!strcmp(tg_op_infos[i].name, name)) op = (tg_op)i;
  if (op == TG_OP_COUNT) return luaL_error(L, "_activation: unknown activation '%s'", name);
  tg_tensor *x = tgL_check(L, 2);
  double p[4] = {luaL_optnumber(L, 3, 0), luaL_optnumber(L, 4, 0), luaL_optnumber(L, 5, 0), 0};
  if (lua_toboolean(L, 6)) {
    if (tg_activation_(c, op, x, p) < 0) return tgL_raise(L, c);
    lua_settop(L, 2);
    return 1;
  }
  tg_tensor **box = tgL_newbox(L);
  *box = tg_activation(c, op, x, p);
  if (!*box) return tgL_raise(L, c);
  return 1;
}

/* tg._unsafe_view(x, {sizes}): x viewed (a copy where it must) with grad_fn UnsafeViewBackward0 */
static int l_unsafe_view(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  tg_tensor *x = tgL_check(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  int nd = (int)luaL_len(L, 2);
  if (nd > TG_MAX_DIMS) return luaL_error(L, "too many dimensions (%d)", nd);
  int64_t sz[TG_MAX_DIMS];
  for (int i = 0; i < nd; i++) {
    lua_geti(L, 2, i + 1);
    sz[i] = (int64_t)luaL_checkinteger(L, -1);
    lua_pop(L, 1);
  }
  tg_tensor **box = tgL_newbox(L);
  *box = tg_unsafe_view(c, x, nd, sz);
  if (!*box) return tgL_raise(L, c);
  return 1;
}

void tgL_register_activation(lua_State *L, int ctxi, int module, int methods) {
  (void)methods;
  static const luaL_Reg fns[] = {{"_activation", l_activation}, {"_unsafe_view", l_unsafe_view}, {NULL, NULL}};
  tgL_setfuncs(L, module, ctxi, fns);
}
