/* scope.c (binding, helper mem): tg.scope, the temporaries of a block released
 * when it ends, without waiting for the collector.
 *
 *   do
 *     local s <close> = tg.scope()
 *     local h = (x:matmul(w1) + b1):relu()   -- temporaries: released at the end
 *     y = s:keep(h:matmul(w2))               -- kept: survives the scope
 *   end
 *   local y = tg.scope(function() ... return t end)  -- returned tensors are kept
 *
 * Every tensor box made while a scope is open (by any op, method or field
 * read) joins the innermost one, in a weak-keyed table: a box the collector
 * finds dead first just leaves it. When the scope closes (its <close>
 * variable goes out of scope, s:close(), the end of tg.scope(fn), or an error
 * through any of them), each box it still holds is released as t:free()
 * would: the box is empty from then on, and its memory returns at once unless
 * the C side still holds the tensor (a graph that saved it, a .grad, the base
 * of a live view): that memory lives on for them, so a scope never leaves a
 * dangling pointer nor breaks a backward. Leaves that require grad
 * (parameters) are never released by a scope. Using a released box raises
 * "... the tensor was freed by tg.scope ...".
 * Kept tensors (s:keep(t), or returned by tg.scope(fn)) move to the enclosing
 * scope, if any, so nested scopes hand results outwards. Closing a scope
 * closes the scopes opened inside it first. */
#include "mem.h"

#define SCOPE_MT "tgrad.Scope"

static const char stack_key = 0; /* registry: the open scopes, innermost last */
static const char cur_key = 0;   /* registry: the innermost scope's table of boxes */
static const char freed_key = 0; /* registry: weak set of boxes a scope released */

typedef struct scope { int depth; } scope; /* position in the stack, 0 once closed */

static const char *FREED =
    "the tensor was freed by tg.scope when its scope closed; keep it with s:keep(t) or return it from tg.scope(fn)";

void tgL_scope_track(lua_State *L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &cur_key) != LUA_TTABLE) {
    lua_pop(L, 1);
    return;
  }
  lua_pushvalue(L, -2);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

const char *tgL_scope_freed_message(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &freed_key) != LUA_TTABLE) {
    lua_pop(L, 1);
    return NULL;
  }
  lua_pushvalue(L, idx);
  bool hit = lua_rawget(L, -2) != LUA_TNIL;
  lua_pop(L, 2);
  return hit ? FREED : NULL;
}

/* push the registry table at key, made (weak-keyed when weak) on first use */
static int reg_table(lua_State *L, const char *key, bool weak) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, key) == LUA_TTABLE) return lua_gettop(L);
  lua_pop(L, 1);
  lua_newtable(L);
  if (weak) {
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
  }
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, key);
  return lua_gettop(L);
}

/* push the boxes table of the open scope at depth d */
static void push_boxes(lua_State *L, int d) {
  reg_table(L, &stack_key, false);
  lua_rawgeti(L, -1, d);
  lua_getiuservalue(L, -1, 1);
  lua_replace(L, -3);
  lua_pop(L, 1);
}

static void set_current(lua_State *L, int depth) {
  if (depth > 0) push_boxes(L, depth);
  else lua_pushnil(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &cur_key);
}

static int scope_new(lua_State *L, tg_ctx *c) {
  scope *s = lua_newuserdatauv(L, sizeof *s, 1);
  luaL_setmetatable(L, SCOPE_MT);
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_setiuservalue(L, -2, 1);
  int st = reg_table(L, &stack_key, false);
  s->depth = (int)lua_rawlen(L, st) + 1;
  lua_pushvalue(L, -2);
  lua_rawseti(L, st, s->depth);
  lua_pop(L, 1);
  c->mem_scopes = s->depth;
  set_current(L, s->depth);
  return lua_gettop(L);
}

/* release every box of the innermost scope and pop it */
static void close_top(lua_State *L, tg_ctx *c) {
  int st = reg_table(L, &stack_key, false);
  int depth = (int)lua_rawlen(L, st);
  lua_rawgeti(L, st, depth);
  scope *s = lua_touserdata(L, -1);
  lua_getiuservalue(L, -1, 1);
  int boxes = lua_gettop(L);
  int freed = reg_table(L, &freed_key, true);
  lua_pushnil(L);
  while (lua_next(L, boxes)) {
    lua_pop(L, 1);
    tg_tensor **box = tgL_testbox(L, -1);
    tg_tensor *t = box ? *box : NULL;
    if (!t || (t->requires_grad && !t->grad_fn)) continue; /* gone already, or a parameter */
    *box = NULL;
    tg_tensor_unref(t);
    lua_pushvalue(L, -1);
    lua_pushboolean(L, 1);
    lua_rawset(L, freed);
  }
  s->depth = 0;
  lua_pushnil(L);
  lua_rawseti(L, st, depth);
  c->mem_scopes = depth - 1;
  set_current(L, depth - 1);
  lua_settop(L, st - 1);
}

static void scope_close(lua_State *L, tg_ctx *c, scope *s) {
  if (!s->depth) return;
  int d = s->depth;
  while (c->mem_scopes >= d) close_top(L, c);
}

static scope *check_scope(lua_State *L, int idx) { return luaL_checkudata(L, idx, SCOPE_MT); }

static int s_close(lua_State *L) {
  scope_close(L, tgL_ctx(L), check_scope(L, 1));
  return 0;
}

/* the box at idx leaves s and the scopes inside it, and joins the one around s */
static void keep_one(lua_State *L, tg_ctx *c, scope *s, int idx) {
  if (!s->depth) return;
  for (int d = s->depth; d <= c->mem_scopes; d++) {
    push_boxes(L, d);
    lua_pushvalue(L, idx);
    lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pop(L, 1);
  }
  if (s->depth > 1) {
    push_boxes(L, s->depth - 1);
    lua_pushvalue(L, idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
  }
}

/* s:keep(t, ...): the tensors survive s (they join the enclosing scope); returns them */
static int s_keep(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  scope *s = check_scope(L, 1);
  int n = lua_gettop(L);
  for (int i = 2; i <= n; i++) {
    if (!tgL_is_tensor(L, i)) return luaL_error(L, "bad argument #%d to 'keep' (expected Tensor but got %s)", i - 1, luaL_typename(L, i));
    keep_one(L, c, s, i);
  }
  return n - 1;
}

static int s_tostring(lua_State *L) {
  scope *s = check_scope(L, 1);
  if (s->depth) lua_pushfstring(L, "tg.scope (open, depth %d)", s->depth);
  else lua_pushliteral(L, "tg.scope (closed)");
  return 1;
}

static int s_depth(lua_State *L) {
  lua_pushinteger(L, check_scope(L, 1)->depth);
  return 1;
}

/* tg.scope(): a new open scope (for <close>); tg.scope(fn, ...): fn(...) inside one,
 * its tensor results kept, the scope closed on return and on error */
static int f_scope(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  if (lua_isnoneornil(L, 1)) return scope_new(L, c), 1;
  luaL_checktype(L, 1, LUA_TFUNCTION);
  int nargs = lua_gettop(L) - 1;
  int si = scope_new(L, c);
  scope *s = lua_touserdata(L, si);
  lua_insert(L, 1); /* the scope below fn and its arguments */
  int ok = lua_pcall(L, nargs, LUA_MULTRET, 0);
  int nres = lua_gettop(L) - 1;
  if (ok != LUA_OK) {
    scope_close(L, c, s);
    return lua_error(L);
  }
  for (int i = 2; i <= nres + 1; i++) {
    if (tgL_is_tensor(L, i)) keep_one(L, c, s, i);
  }
  scope_close(L, c, s);
  return nres;
}

/* tg.scope_depth(): how many scopes are open */
static int f_scope_depth(lua_State *L) {
  lua_pushinteger(L, tgL_ctx(L)->mem_scopes);
  return 1;
}

void tgL_register_scope(lua_State *L, int ctxi, int module) {
  luaL_newmetatable(L, SCOPE_MT);
  int mt = lua_gettop(L);
  static const luaL_Reg meta[] = {{"__close", s_close}, {"__tostring", s_tostring}, {NULL, NULL}};
  tgL_setfuncs(L, mt, ctxi, meta);
  lua_newtable(L);
  static const luaL_Reg methods[] = {{"keep", s_keep}, {"close", s_close}, {"depth", s_depth}, {NULL, NULL}};
  tgL_setfuncs(L, -1, ctxi, methods);
  lua_setfield(L, mt, "__index");
  lua_pop(L, 1);
  static const luaL_Reg fns[] = {{"scope", f_scope}, {"scope_depth", f_scope_depth}, {NULL, NULL}};
  tgL_setfuncs(L, module, ctxi, fns);
}
