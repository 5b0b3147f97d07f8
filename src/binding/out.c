/* out.c (binding, helper mem): the `out` option, PyTorch's out=.
 *   tg.add(a, b, {out = c})   tg.exp(a, {out = c})   tg.matmul(a, b, {out = c})
 *   tg.sum(a, 1, {out = c})   ...
 * The result is written into c and c is returned (the same Lua value). The
 * checks and the writes are the core's (ops/out.c). The elementwise ops of
 * ops.def reach here through a one-line hook in ops.c's dispatch; the other
 * functional ops are wrapped at registration (tgL_register_mem): the wrapper
 * looks for `out` in a trailing options table and otherwise calls the op as is. */
#include <string.h>

#include "../ops/out.h"
#include "mem.h"

/* a Lua number or boolean as a 0-d wrapped number (PyTorch's scalar promotion) */
static tg_tensor *wrapped(lua_State *L, tg_ctx *c, int idx, const char *fname) {
  int t = lua_type(L, idx);
  if (t != LUA_TNUMBER && t != LUA_TBOOLEAN)
    luaL_error(L, "bad argument #%d to '%s': expected Tensor or number but got %s", idx, fname, luaL_typename(L, idx));
  tg_tensor *s = t == LUA_TBOOLEAN     ? tg_tensor_scalar(c, TG_BOOL, lua_toboolean(L, idx))
                 : lua_isinteger(L, idx) ? tg_tensor_scalar(c, TG_INT64, 0)
                                         : tg_tensor_scalar(c, TG_FLOAT64, lua_tonumber(L, idx));
  if (!s) tgL_raise(L, c);
  if (t == LUA_TNUMBER && lua_isinteger(L, idx)) *(int64_t *)tg_data(s) = lua_tointeger(L, idx);
  s->wrapped_number = true;
  return s;
}

/* the out tensor of the options table at opts (pushed; its stack index returned), or 0 */
static int out_slot(lua_State *L, int opts) {
  if (!opts) return 0;
  if (lua_getfield(L, opts, "out") == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  tg_tensor **box = tgL_testbox(L, -1);
  if (!box) return luaL_error(L, "argument 'out' must be Tensor, not %s", luaL_typename(L, -1));
  tgL_check(L, lua_gettop(L)); /* a freed tensor raises */
  return lua_gettop(L);
}

int tgL_out_unary(lua_State *L, tg_op op) {
  tg_ctx *c = tgL_ctx(L);
  const char *fname = tg_op_infos[op].name;
  tg_tensor *x = tgL_check(L, 1);
  int slot = out_slot(L, tgL_kwargs(L, 2, fname, "out"));
  if (!slot) return -1;
  if (tg_unary_out(c, op, x, *(tg_tensor **)lua_touserdata(L, slot)) < 0) return tgL_raise(L, c);
  lua_pushvalue(L, slot);
  return 1;
}

int tgL_out_binary(lua_State *L, tg_op op) {
  const char *fname = tg_op_infos[op].name;
  bool alpha_ok = op == TG_OP_ADD || op == TG_OP_SUB, div = op == TG_OP_DIV;
  int opts = tgL_kwargs(L, 3, fname, alpha_ok ? "alpha out" : div ? "rounding_mode out" : "out");
  int slot = out_slot(L, opts);
  if (!slot) return -1;
  tg_ctx *c = tgL_ctx(L);
  tg_tensor *out = *(tg_tensor **)lua_touserdata(L, slot);
  double alpha = 1;
  bool has_alpha = false, alpha_int = true;
  if (alpha_ok && tgL_opt_field(L, opts, "alpha") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TNUMBER)
      return luaL_error(L, "%s(): argument 'alpha' must be a number, not %s", fname, luaL_typename(L, -1));
    alpha = lua_tonumber(L, -1), alpha_int = lua_isinteger(L, -1), has_alpha = true;
  }
  int rounding = div ? tgL_rounding_mode(L, opts) : 0;
  tg_tensor **ba = tgL_testbox(L, 1), **bb = tgL_testbox(L, 2);
  if (!ba && !bb) return luaL_error(L, "bad argument #1 to '%s': expected Tensor but got %s", fname, luaL_typename(L, 1));
  tg_tensor *a = ba ? tgL_check(L, 1) : NULL, *b = bb ? tgL_check(L, 2) : NULL;
  if (!a) a = wrapped(L, c, 1, fname);
  if (!b) { /* nothing may raise while a wrapped a is held */
    int t = lua_type(L, 2);
    if (t != LUA_TNUMBER && t != LUA_TBOOLEAN) {
      if (!ba) tg_tensor_unref(a);
      return luaL_error(L, "bad argument #2 to '%s': expected Tensor or number but got %s", fname, luaL_typename(L, 2));
    }
    b = wrapped(L, c, 2, fname);
  }
  int rc;
  if (has_alpha || rounding) {
    tg_tensor *ins[2] = {a, b};
    rc = tg_out_check_grad(c, fname, 2, ins, out);
    tg_tensor *r = rc < 0 ? NULL : has_alpha ? tg_add_alpha(c, op, a, b, alpha, alpha_int) : tg_div_rounding(c, a, b, rounding);
    rc = r ? tg_out_write(c, fname, out, r) : -1;
    tg_tensor_unref(r);
  } else {
    rc = tg_binary_out(c, op, a, b, out);
  }
  if (!ba) tg_tensor_unref(a);
  if (!bb) tg_tensor_unref(b);
  if (rc < 0) return tgL_raise(L, c);
  lua_pushvalue(L, slot);
  return 1;
}

/* ---- the wrapper of the other functional ops: upvalues ctx, the op, its name, direct kind */
enum { W_GENERIC, W_MM, W_MATMUL };

static void require_no_grad(lua_State *L, tg_ctx *c, const char *fname, int n, tg_tensor *out) {
  tg_tensor *hit = NULL;
  for (int i = 1; i <= n && !hit; i++) {
    tg_tensor **b = tgL_testbox(L, i);
    if (b && *b && tg_requires_grad(*b)) hit = *b;
    else if (!b && lua_type(L, i) == LUA_TTABLE) { /* cat/stack: a list of tensors */
      lua_Integer len = (lua_Integer)lua_rawlen(L, i);
      for (lua_Integer k = 1; !hit && k <= len; k++) {
        lua_rawgeti(L, i, k);
        tg_tensor **e = tgL_testbox(L, -1);
        if (e && *e && tg_requires_grad(*e)) hit = *e;
        lua_pop(L, 1);
      }
    }
  }
  if (tg_out_check_grad(c, fname, hit ? 1 : 0, &hit, out) < 0) tgL_raise(L, c);
}

static int out_wrapper(lua_State *L) {
  int top = lua_gettop(L);
  if (top == 0 || lua_type(L, top) != LUA_TTABLE || (lua_pushliteral(L, "out"), lua_rawget(L, top)) == LUA_TNIL) {
    lua_settop(L, top); /* no out: the op itself, called in this frame (its errors name tg.f, and no
                           call costs more); it reads the context as upvalue 1, the wrapper's too */
    lua_CFunction f = lua_tocfunction(L, lua_upvalueindex(2));
    if (f) return f(L);
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_insert(L, 1);
    lua_call(L, top, LUA_MULTRET);
    return lua_gettop(L);
  }
  tg_ctx *c = tgL_ctx(L);
  const char *fname = lua_tostring(L, lua_upvalueindex(3));
  int kind = (int)lua_tointeger(L, lua_upvalueindex(4));
  int slot = lua_gettop(L);
  if (!tgL_testbox(L, slot)) return luaL_error(L, "argument 'out' must be Tensor, not %s", luaL_typename(L, slot));
  tg_tensor *out = tgL_check(L, slot);
  /* the options without out; none left: no options table at all */
  lua_newtable(L);
  int copy = lua_gettop(L), nkeys = 0;
  lua_pushnil(L);
  while (lua_next(L, top)) {
    if (lua_type(L, -2) == LUA_TSTRING && !strcmp(lua_tostring(L, -2), "out")) {
      lua_pop(L, 1);
      continue;
    }
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, copy);
    nkeys++;
  }
  int nargs = nkeys ? top : top - 1;
  if (kind != W_GENERIC && nargs == 2 && tgL_is_tensor(L, 1) && tgL_is_tensor(L, 2)) {
    if (tg_mm_out(c, fname, tgL_check(L, 1), tgL_check(L, 2), out, kind == W_MATMUL) < 0) return tgL_raise(L, c);
    lua_pushvalue(L, slot);
    return 1;
  }
  require_no_grad(L, c, fname, top - 1, out);
  lua_pushvalue(L, lua_upvalueindex(2));
  for (int i = 1; i < top; i++) lua_pushvalue(L, i);
  if (nkeys) lua_pushvalue(L, copy);
  lua_call(L, nargs, 1);
  tg_tensor **rb = tgL_testbox(L, -1);
  if (!rb || !*rb) return luaL_error(L, "%s(): out= is not supported here (the op returned no tensor)", fname);
  tg_tensor *r = *rb; /* the result's box gives its tensor up at once: its memory returns now */
  *rb = NULL;
  int rc = tg_out_write(c, fname, out, r);
  tg_tensor_unref(r);
  if (rc < 0) return tgL_raise(L, c);
  lua_pushvalue(L, slot);
  return 1;
}

/* tg.f for each name gains {out = t}: the functional ops where PyTorch has out=
 * (the elementwise ones of ops.def go through ops.c's hook instead) */
static void wrap(lua_State *L, int ctxi, int module, const char *name, int kind) {
  if (lua_getfield(L, module, name) != LUA_TFUNCTION) {
    lua_pop(L, 1);
    return;
  }
  lua_pushvalue(L, ctxi);
  lua_insert(L, -2);
  lua_pushstring(L, name);
  lua_pushinteger(L, kind);
  lua_pushcclosure(L, out_wrapper, 4);
  lua_setfield(L, module, name);
}

void tgL_register_out(lua_State *L, int ctxi, int module) {
  static const char *const generic[] = {
      "sum", "mean", "prod", "amax", "amin", "logsumexp", "cumsum", "cumprod", "var", "std", "norm", "all", "any",
      "bmm", "mv", "dot", "outer", "addmm", "cat", "stack", "where", "clamp", "clip", "logical_not", "lerp",
      "addcmul", "addcdiv", NULL};
  for (const char *const *n = generic; *n; n++) wrap(L, ctxi, module, *n, W_GENERIC);
  wrap(L, ctxi, module, "mm", W_MM);
  wrap(L, ctxi, module, "matmul", W_MATMUL);
}

void tgL_register_mem(lua_State *L, int ctxi, int module, int methods) {
  (void)methods; /* out= is for the functions (tg.add), as PyTorch's; methods keep their own options */
  tgL_register_out(L, ctxi, module);
  tgL_register_scope(L, ctxi, module);
}
