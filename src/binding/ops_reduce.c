/* ops_reduce.c (binding): reductions: prod max min amax amin argmax argmin var std norm logsumexp
 * all any count_nonzero cumsum cumprod sort topk. (sum and mean are registered in ops.c.)
 * Dims are 1-based (negative from the end); returned indices are 1-based int64 tensors. */
#include <math.h>
#include <string.h>

#include "binding.h"

#define CTX tg_ctx *c = tgL_ctx(L)

/* dims at idx: nil/none (all), an integer, or a list {1, 3} ({} = all); keepdim as a positional
 * boolean at idx + 1 or an option. Returns the count (0 = all). */
static int dims_arg(lua_State *L, tg_ctx *c, tg_tensor *x, int idx, int opts, int *dims, bool *keepdim) {
  int n = 0;
  if (keepdim) {
    *keepdim = tgL_opt_bool(L, opts, "keepdim", false);
    if (lua_isboolean(L, idx + 1)) *keepdim = lua_toboolean(L, idx + 1);
  }
  if (opts == idx || lua_isnoneornil(L, idx)) return 0;
  if (lua_istable(L, idx) && !tgL_is_tensor(L, idx)) {
    lua_Integer len = luaL_len(L, idx);
    if (len > TG_MAX_DIMS) luaL_error(L, "too many dims");
    for (lua_Integer i = 1; i <= len; i++) {
      lua_geti(L, idx, i);
      dims[n++] = tgL_dim(L, c, lua_gettop(L), x->ndim);
      lua_pop(L, 1);
    }
    return n;
  }
  if (lua_isboolean(L, idx)) return 0; /* f(t, true): keepdim over all */
  dims[n++] = tgL_dim(L, c, idx, x->ndim);
  return n;
}

/* one required or optional integer dim at idx (dflt < -1000: required) */
static int one_dim(lua_State *L, tg_ctx *c, tg_tensor *x, int idx, const char *fn, int dflt) {
  if (lua_isnoneornil(L, idx) || lua_istable(L, idx) || lua_isboolean(L, idx)) {
    if (dflt < -1000) luaL_error(L, "%s() missing required argument 'dim'", fn);
    lua_pushinteger(L, dflt);
  } else {
    lua_pushvalue(L, idx);
  }
  int d = tgL_dim(L, c, lua_gettop(L), x->ndim);
  lua_pop(L, 1);
  return d;
}

/* the values (in the box already pushed) and the indices */
static int push2(lua_State *L, tg_ctx *c, tg_tensor **vbox, tg_tensor *v, tg_tensor *i) {
  if (!v) return tgL_raise(L, c);
  *vbox = v;
  tg_tensor **ib = tgL_newbox(L);
  *ib = i;
  tgL_gc_step(L, c);
  return 2;
}

/* ---- f(t, dims, keepdim) families */
#define DIMS_FN(name, expr)                                        \
  static int op_##name(lua_State *L) {                             \
    CTX;                                                           \
    tg_tensor *x = tgL_check(L, 1);                                \
    int dims[TG_MAX_DIMS], opts = tgL_opts(L, 2);                  \
    bool keepdim;                                                  \
    int n = dims_arg(L, c, x, 2, opts, dims, &keepdim);            \
    tg_tensor **box = tgL_newbox(L);                               \
    *box = expr;                                                   \
    if (!*box) return tgL_raise(L, c);                             \
    tgL_gc_step(L, c);                                             \
    return 1;                                                      \
  }
DIMS_FN(prod, tg_prod(c, x, n, dims, keepdim))
DIMS_FN(amax, tg_amax(c, x, n, dims, keepdim, true))
DIMS_FN(amin, tg_amax(c, x, n, dims, keepdim, false))
DIMS_FN(logsumexp, tg_logsumexp(c, x, n, dims, keepdim))
DIMS_FN(all, tg_all(c, x, n, dims, keepdim, false))
DIMS_FN(any, tg_all(c, x, n, dims, keepdim, true))
DIMS_FN(count_nonzero, tg_count_nonzero(c, x, n, dims, keepdim))

/* var/std(t, dims, keepdim | {correction = 1, unbiased = true, keepdim = false}) */
static int var_fn(lua_State *L, bool is_std) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int dims[TG_MAX_DIMS], opts = tgL_opts(L, 2);
  bool keepdim;
  int n = dims_arg(L, c, x, 2, opts, dims, &keepdim);
  double correction = tgL_opt_bool(L, opts, "unbiased", true) ? 1 : 0;
  if (tgL_opt_field(L, opts, "correction") != LUA_TNIL) correction = luaL_checknumber(L, -1);
  lua_pop(L, 1);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_var(c, x, n, dims, correction, keepdim, is_std);
  if (!*box) return tgL_raise(L, c);
  return 1;
}
static int op_var(lua_State *L) { return var_fn(L, false); }
static int op_std(lua_State *L) { return var_fn(L, true); }

/* norm(t, p = 2, dims, keepdim | {keepdim}): p a number, math.huge, "inf", "-inf" or "fro" */
static int op_norm(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int opts = tgL_opts(L, 2);
  double p = 2;
  if (opts != 2 && !lua_isnoneornil(L, 2)) {
    if (lua_type(L, 2) == LUA_TSTRING) {
      const char *s = lua_tostring(L, 2);
      if (!strcmp(s, "fro")) p = 2;
      else if (!strcmp(s, "inf")) p = HUGE_VAL;
      else if (!strcmp(s, "-inf")) p = -HUGE_VAL;
      else return luaL_error(L, "norm(): unsupported norm type '%s' (expected a number, \"fro\", \"inf\" or \"-inf\")", s);
    } else if (lua_type(L, 2) == LUA_TNUMBER) {
      p = lua_tonumber(L, 2);
    } else {
      return luaL_error(L, "bad argument #1 to 'norm': expected a number or string p but got %s", luaL_typename(L, 2));
    }
  }
  int dims[TG_MAX_DIMS];
  bool keepdim;
  int n = dims_arg(L, c, x, 3, opts, dims, &keepdim);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_norm(c, x, p, n, dims, keepdim);
  if (!*box) return tgL_raise(L, c);
  return 1;
}

/* max(t) -> value; max(t, dim [, keepdim]) -> values, indices; max(t, other) -> maximum(t, other) */
static int max_fn(lua_State *L, bool is_max) {
  CTX;
  const char *name = is_max ? "max" : "min";
  if (tgL_is_tensor(L, 2) || (!tgL_is_tensor(L, 1) && lua_gettop(L) >= 2)) {
    const char *other = is_max ? "maximum" : "minimum";
    if (!tgL_is_tensor(L, 1)) return luaL_error(L, "bad argument #1 to '%s': expected Tensor", name);
    lua_getfield(L, 1, other); /* looked up now: the elementwise op */
    if (!lua_isfunction(L, -1)) return luaL_error(L, "%s(t, other): %s is not available", name, other);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_call(L, 2, 1);
    return 1;
  }
  tg_tensor *x = tgL_check(L, 1);
  int opts = tgL_opts(L, 2);
  if (opts == 2 || lua_isnoneornil(L, 2)) {
    tg_tensor **box = tgL_newbox(L);
    *box = tg_max_all(c, x, is_max);
    return *box ? 1 : tgL_raise(L, c);
  }
  if (lua_type(L, 2) != LUA_TNUMBER)
    return luaL_error(L, "bad argument #2 to '%s': expected a dim (integer) or a Tensor but got %s", name,
                      luaL_typename(L, 2));
  int dim = tgL_dim(L, c, 2, x->ndim);
  bool keepdim = tgL_opt_bool(L, opts, "keepdim", false);
  if (lua_isboolean(L, 3)) keepdim = lua_toboolean(L, 3);
  tg_tensor **box = tgL_newbox(L), *idx = NULL;
  tg_tensor *v = tg_max_dim(c, x, dim, keepdim, is_max, &idx);
  return push2(L, c, box, v, idx);
}
static int op_max(lua_State *L) { return max_fn(L, true); }
static int op_min(lua_State *L) { return max_fn(L, false); }

/* argmax(t [, dim [, keepdim]]): 1-based indices; without dim, into the flattened tensor */
static int arg_fn(lua_State *L, bool is_max) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int opts = tgL_opts(L, 2), dim = -1;
  bool keepdim = tgL_opt_bool(L, opts, "keepdim", false);
  if (lua_isboolean(L, 3)) keepdim = lua_toboolean(L, 3);
  if (opts != 2 && lua_type(L, 2) == LUA_TNUMBER) dim = tgL_dim(L, c, 2, x->ndim);
  else if (opts != 2 && !lua_isnoneornil(L, 2) && !lua_isboolean(L, 2))
    return luaL_error(L, "bad argument #2 to '%s': expected a dim (integer) but got %s", is_max ? "argmax" : "argmin",
                      luaL_typename(L, 2));
  if (lua_isboolean(L, 2)) keepdim = lua_toboolean(L, 2);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_argmax(c, x, dim, keepdim, is_max);
  return *box ? 1 : tgL_raise(L, c);
}
static int op_argmax(lua_State *L) { return arg_fn(L, true); }
static int op_argmin(lua_State *L) { return arg_fn(L, false); }

/* cumsum(t, dim), cumprod(t, dim) */
static int scan_fn(lua_State *L, bool prod) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int dim = one_dim(L, c, x, 2, prod ? "cumprod" : "cumsum", -10000);
  tg_tensor **box = tgL_newbox(L);
  *box = prod ? tg_cumprod(c, x, dim) : tg_cumsum(c, x, dim);
  if (!*box) return tgL_raise(L, c);
  tgL_gc_step(L, c);
  return 1;
}
static int op_cumsum(lua_State *L) { return scan_fn(L, false); }
static int op_cumprod(lua_State *L) { return scan_fn(L, true); }

/* sort(t [, dim = -1] [, descending] | {descending = false, stable = false}) -> values, indices */
static int op_sort(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int opts = tgL_opts(L, 2);
  int dim = one_dim(L, c, x, opts == 2 ? lua_gettop(L) + 1 : 2, "sort", -1);
  bool desc = tgL_opt_bool(L, opts, "descending", false);
  if (lua_isboolean(L, 2)) desc = lua_toboolean(L, 2);
  if (lua_isboolean(L, 3)) desc = lua_toboolean(L, 3);
  (void)tgL_opt_bool(L, opts, "stable", false); /* the sort is always stable */
  tg_tensor **box = tgL_newbox(L), *idx = NULL;
  tg_tensor *v = tg_sort(c, x, dim, desc, &idx);
  return push2(L, c, box, v, idx);
}

/* topk(t, k [, dim = -1] [, largest [, sorted]] | {largest = true, sorted = true}) -> values, indices */
static int op_topk(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  lua_Integer k = luaL_checkinteger(L, 2);
  int opts = tgL_opts(L, 3);
  int dim = one_dim(L, c, x, opts == 3 ? lua_gettop(L) + 1 : 3, "topk", -1);
  bool largest = tgL_opt_bool(L, opts, "largest", true);
  if (lua_isboolean(L, 4)) largest = lua_toboolean(L, 4);
  /* sorted = false allows any order; the result is sorted either way */
  tg_tensor **box = tgL_newbox(L), *idx = NULL;
  tg_tensor *v = tg_topk(c, x, (int64_t)k, dim, largest, &idx);
  return push2(L, c, box, v, idx);
}

void tgL_register_reduce(lua_State *L, int ctxi, int module, int methods) {
  static const luaL_Reg both[] = {
      {"prod", op_prod}, {"amax", op_amax}, {"amin", op_amin}, {"max", op_max}, {"min", op_min},
      {"argmax", op_argmax}, {"argmin", op_argmin}, {"var", op_var}, {"std", op_std}, {"norm", op_norm},
      {"logsumexp", op_logsumexp}, {"all", op_all}, {"any", op_any}, {"count_nonzero", op_count_nonzero},
      {"cumsum", op_cumsum}, {"cumprod", op_cumprod}, {"sort", op_sort}, {"topk", op_topk}, {NULL, NULL}};
  tgL_setfuncs(L, module, ctxi, both);
  tgL_setfuncs(L, methods, ctxi, both);
}
