/* inplace.c (binding): t:op_(...) for the unary ops of ops.def and the
 * arithmetic binary ops (add_ sub_ mul_ div_ pow_ ...), also as tg.op_(t, ...).
 * Ops with parameters (clamp_, ...) go through tg._apply_inplace (function.c),
 * installed from lua/tgrad/autograd/inplace.lua. */
#include <stdio.h>
#include "binding.h"

static int unary_ip(lua_State *L, tg_op op) {
  tg_ctx *c = tgL_ctx(L);
  tg_tensor *t = tgL_check_c(L, c, 1);
  if (tg_unary_(c, op, t) < 0) return tgL_raise(L, c);
  lua_settop(L, 1);
  return 1;
}

/* t:add_(other [, {alpha = a}]) with other a tensor or a number */
static int binary_ip(lua_State *L, tg_op op) {
  tg_ctx *c = tgL_ctx(L);
  tg_tensor *t = tgL_check_c(L, c, 1);
  if (lua_type(L, 3) == LUA_TNONE) { /* perop2: t:add_(u), no options: one box check of u */
    tg_tensor **bo = tgL_testbox_c(L, c, 2);
    if (bo && *bo) {
      if (tg_binary_(c, op, t, *bo, 1.0) < 0) return tgL_raise(L, c);
      lua_settop(L, 1);
      return 1;
    }
  }
  int opts = 0;
  if (lua_istable(L, 3)) { /* the name for the message is only built when there are options */
    char fname[32];
    snprintf(fname, sizeof fname, "%s_", tg_op_infos[op].name);
    opts = tgL_kwargs(L, 3, fname, op == TG_OP_ADD || op == TG_OP_SUB ? "alpha" : op == TG_OP_DIV ? "rounding_mode" : "");
  }
  int rounding = op == TG_OP_DIV ? tgL_rounding_mode(L, opts) : 0;
  double alpha = 1.0;
  if (tgL_opt_field(L, opts, "alpha") != LUA_TNIL) alpha = luaL_checknumber(L, -1);
  lua_pop(L, 1);
  if (lua_isnoneornil(L, 2)) return luaL_error(L, "bad argument #1 to '%s_': expected Tensor or number but got no value", tg_op_infos[op].name);
  if (!tgL_is_tensor(L, 2) && lua_type(L, 2) != LUA_TNUMBER && lua_type(L, 2) != LUA_TBOOLEAN)
    return luaL_error(L, "bad argument #1 to '%s_': expected Tensor or number but got %s", tg_op_infos[op].name,
                      luaL_typename(L, 2));
  tg_tensor *o = tgL_to_tensor(L, c, 2, t->dtype);
  int rc;
  if (rounding) { /* div_(b, {rounding_mode}): the rounded quotient copied in (its gradient is 0) */
    tg_tensor *q = tg_div_rounding(c, t, o, rounding);
    rc = q ? tg_copy_(c, t, q) : -1;
    tg_tensor_unref(q);
  } else {
    rc = tg_binary_(c, op, t, o, alpha);
  }
  tg_tensor_unref(o);
  if (rc < 0) return tgL_raise(L, c);
  lua_settop(L, 1);
  return 1;
}

#define TG_UNARY(E, name, gname, int_ok) static int ip_##name(lua_State *L) { return unary_ip(L, TG_OP_##E); }
#define TG_UNARY_P(E, name, gname, int_ok)
#define TG_BINARY(E, name, gname, kind) static int ip_##name(lua_State *L) { return binary_ip(L, TG_OP_##E); }
#include "../ops.def"

typedef struct { const char *name; lua_CFunction f; int op; } ip_entry;

void tgL_register_inplace(lua_State *L, int ctxi, int module, int methods) {
  static const ip_entry all[] = {
#define TG_UNARY(E, name, gname, int_ok) {#name "_", ip_##name, TG_OP_##E},
#define TG_UNARY_P(E, name, gname, int_ok)
#define TG_BINARY(E, name, gname, kind) {#name "_", ip_##name, TG_OP_##E},
#include "../ops.def"
      {NULL, NULL, 0}};
  for (const ip_entry *e = all; e->name; e++) {
    tg_op_kind k = tg_op_infos[e->op].kind;
    if (k != TG_KIND_UNARY && k != TG_KIND_ARITH) continue;
    luaL_Reg r[2] = {{e->name, e->f}, {NULL, NULL}};
    tgL_setfuncs(L, module, ctxi, r);
    tgL_setfuncs(L, methods, ctxi, r);
  }
}
