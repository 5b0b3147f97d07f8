/* ops_reduce.c (binding): reductions: prod max min amax amin argmax argmin var std norm logsumexp
 * all any count_nonzero cumsum cumprod sort topk. (sum and mean are registered in ops.c.)
 * Dims are 1-based (negative from the end); returned indices are 1-based int64 tensors. */
#include <math.h>
#include <string.h>

#include "binding.h"

#define CTX tg_ctx *c = tgL_ctx(L)

/* dims at idx or as the option dim: nil/none (all), an integer, or a list {1, 3} ({} = all);
 * keepdim (when not NULL) as a positional boolean at idx + 1 or an option. Returns the
 * count (0 = all). */
static int dims_arg(lua_State *L, tg_ctx *c, tg_tensor *x, int idx, int opts, int *dims, bool *keepdim,
                    const char *fname) {
  int n = 0;
  if (keepdim) {
    *keepdim = tgL_opt_bool(L, opts, "keepdim", false);
    if (lua_isboolean(L, idx + 1)) *keepdim = lua_toboolean(L, idx + 1);
  }
  int slot = tgL_opt_dim_slot(L, opts, idx, fname, "dim");
  if (!slot) return 0;
  if (lua_istable(L, slot) && !tgL_is_tensor(L, slot)) {
    lua_Integer len = luaL_len(L, slot);
    if (len > TG_MAX_DIMS) luaL_error(L, "too many dims");
    for (lua_Integer i = 1; i <= len; i++) {
      lua_geti(L, slot, i);
      dims[n++] = tgL_dim(L, c, lua_gettop(L), x->ndim);
      lua_pop(L, 1);
    }
    return n; /* an empty list reduces everything */
  }
  dims[n++] = tgL_dim(L, c, slot, x->ndim);
  return n;
}

/* one integer dim at slot (a stack index, 0 = not given); dflt < -1000: required */
static int one_dim(lua_State *L, tg_ctx *c, tg_tensor *x, int slot, const char *fn, int dflt) {
  if (!slot || lua_isnoneornil(L, slot) || lua_istable(L, slot) || lua_isboolean(L, slot)) {
    if (dflt < -1000) luaL_error(L, "%s() missing required argument 'dim'", fn);
    lua_pushinteger(L, dflt);
  } else {
    lua_pushvalue(L, slot);
  }
  int d = tgL_dim(L, c, lua_gettop(L), x->ndim);
  lua_pop(L, 1);
  return d;
}

/* x cast to the option dtype (PyTorch's dtype= of sum/mean/prod/cumsum: cast before
 * the op); a new reference, x itself when no cast is asked for */
static tg_tensor *dtype_input(lua_State *L, tg_ctx *c, tg_tensor *x, int opts) {
  tg_dtype dt = tgL_opt_dtype(L, opts, x->dtype);
  tg_tensor *in = tg_to_dtype(c, x, dt);
  if (!in) tgL_raise(L, c);
  return in;
}

/* the end of an op on dtype_input's tensor: its result is in box, in is released */
static int push_cast_result(lua_State *L, tg_ctx *c, tg_tensor **box, tg_tensor *in) {
  tg_tensor_unref(in);
  if (!*box) return tgL_raise(L, c);
  return 1;
}

/* the values (in the box already pushed) and the indices */
static int push2(lua_State *L, tg_ctx *c, tg_tensor **vbox, tg_tensor *v, tg_tensor *i) {
  if (!v) return tgL_raise(L, c);
  *vbox = v;
  tg_tensor **ib = tgL_newbox(L);
  *ib = i;
  return 2;
}

/* ---- f(t, dims, keepdim) families */
#define DIMS_FN(name, keys, expr)                                  \
  static int op_##name(lua_State *L) {                             \
    CTX;                                                           \
    tg_tensor *x = tgL_check(L, 1);                                \
    int dims[TG_MAX_DIMS], opts = tgL_kwargs(L, 2, #name, keys);   \
    bool keepdim;                                                  \
    int n = dims_arg(L, c, x, 2, opts, dims, &keepdim, #name);     \
    tg_tensor **box = tgL_newbox(L);                               \
    *box = expr;                                                   \
    if (!*box) return tgL_raise(L, c);                             \
    return 1;                                                      \
  }
DIMS_FN(amax, "dim keepdim", tg_amax(c, x, n, dims, keepdim, true))
DIMS_FN(amin, "dim keepdim", tg_amax(c, x, n, dims, keepdim, false))
DIMS_FN(logsumexp, "dim keepdim", tg_logsumexp(c, x, n, dims, keepdim))
DIMS_FN(all, "dim keepdim", tg_all(c, x, n, dims, keepdim, false))
DIMS_FN(any, "dim keepdim", tg_all(c, x, n, dims, keepdim, true))
DIMS_FN(count_nonzero, "dim keepdim", tg_count_nonzero(c, x, n, dims, keepdim))

/* sum/mean/prod(t, dims, keepdim | {dim, keepdim, dtype}) */
enum { RED_SUM, RED_MEAN, RED_PROD };
static int sum_like(lua_State *L, int kind) {
  CTX;
  const char *fname = kind == RED_SUM ? "sum" : kind == RED_MEAN ? "mean" : "prod";
  tg_tensor *x = tgL_check(L, 1);
  int dims[TG_MAX_DIMS], opts = tgL_kwargs(L, 2, fname, "dim keepdim dtype");
  bool keepdim;
  int n = dims_arg(L, c, x, 2, opts, dims, &keepdim, fname);
  tg_tensor **box = tgL_newbox(L);
  tg_tensor *in = dtype_input(L, c, x, opts);
  *box = kind == RED_SUM    ? tg_sum(c, in, n, dims, keepdim)
         : kind == RED_MEAN ? tg_mean(c, in, n, dims, keepdim)
                            : tg_prod(c, in, n, dims, keepdim);
  return push_cast_result(L, c, box, in);
}
static int op_sum(lua_State *L) { return sum_like(L, RED_SUM); }
static int op_mean(lua_State *L) { return sum_like(L, RED_MEAN); }
static int op_prod(lua_State *L) { return sum_like(L, RED_PROD); }

/* var/std(t, dims, keepdim | {correction = 1, unbiased = true, keepdim = false}) */
static int var_fn(lua_State *L, bool is_std) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  const char *fname = is_std ? "std" : "var";
  int dims[TG_MAX_DIMS], opts = tgL_kwargs(L, 2, fname, "dim keepdim unbiased correction");
  bool keepdim;
  int n = dims_arg(L, c, x, 2, opts, dims, &keepdim, fname);
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
  int opts = tgL_kwargs(L, 2, "norm", "p dim keepdim");
  double p = 2;
  int pi = tgL_opt_dim_slot(L, opts, opts == 2 ? 0 : 2, "norm", "p");
  if (pi) {
    if (lua_type(L, pi) == LUA_TSTRING) {
      const char *s = lua_tostring(L, pi);
      if (!strcmp(s, "fro")) p = 2;
      else if (!strcmp(s, "inf")) p = HUGE_VAL;
      else if (!strcmp(s, "-inf")) p = -HUGE_VAL;
      else return luaL_error(L, "norm(): unsupported norm type '%s' (expected a number, \"fro\", \"inf\" or \"-inf\")", s);
    } else if (lua_type(L, pi) == LUA_TNUMBER) {
      p = lua_tonumber(L, pi);
    } else {
      return luaL_error(L, "bad argument #1 to 'norm': expected a number or string p but got %s", luaL_typename(L, pi));
    }
  }
  int dims[TG_MAX_DIMS];
  bool keepdim;
  int n = dims_arg(L, c, x, opts == 2 ? 0 : 3, opts, dims, &keepdim, "norm");
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
  int opts = tgL_kwargs(L, 2, name, "dim keepdim");
  int slot = tgL_opt_dim_slot(L, opts, 2, name, "dim");
  if (slot && lua_istable(L, slot) && !tgL_is_tensor(L, slot) && luaL_len(L, slot) == 0) slot = 0; /* {} */
  if (!slot) {
    tg_tensor **box = tgL_newbox(L);
    *box = tg_max_all(c, x, is_max);
    return *box ? 1 : tgL_raise(L, c);
  }
  if (lua_type(L, slot) != LUA_TNUMBER)
    return luaL_error(L, "bad argument #2 to '%s': expected a dim (integer) or a Tensor but got %s", name,
                      luaL_typename(L, slot));
  int dim = tgL_dim(L, c, slot, x->ndim);
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
  const char *fname = is_max ? "argmax" : "argmin";
  int opts = tgL_kwargs(L, 2, fname, "dim keepdim"), dim = -1;
  bool keepdim = tgL_opt_bool(L, opts, "keepdim", false);
  if (lua_isboolean(L, 3)) keepdim = lua_toboolean(L, 3);
  int slot = tgL_opt_dim_slot(L, opts, 2, fname, "dim");
  if (slot && lua_type(L, slot) == LUA_TNUMBER) dim = tgL_dim(L, c, slot, x->ndim);
  else if (slot)
    return luaL_error(L, "bad argument #2 to '%s': expected a dim (integer) but got %s", fname, luaL_typename(L, slot));
  if (lua_isboolean(L, 2)) keepdim = lua_toboolean(L, 2);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_argmax(c, x, dim, keepdim, is_max);
  return *box ? 1 : tgL_raise(L, c);
}
static int op_argmax(lua_State *L) { return arg_fn(L, true); }
static int op_argmin(lua_State *L) { return arg_fn(L, false); }

/* cumsum(t, dim), cumprod(t, dim) [, {dtype=}]; or the dim as an option */
static int scan_fn(lua_State *L, bool prod) {
  CTX;
  const char *fname = prod ? "cumprod" : "cumsum";
  tg_tensor *x = tgL_check(L, 1);
  int opts = tgL_kwargs(L, 2, fname, "dim dtype");
  int dim = one_dim(L, c, x, tgL_opt_dim_slot(L, opts, 2, fname, "dim"), fname, -10000);
  tg_tensor **box = tgL_newbox(L);
  tg_tensor *in = dtype_input(L, c, x, opts);
  *box = prod ? tg_cumprod(c, in, dim) : tg_cumsum(c, in, dim);
  return push_cast_result(L, c, box, in);
}
static int op_cumsum(lua_State *L) { return scan_fn(L, false); }
static int op_cumprod(lua_State *L) { return scan_fn(L, true); }

/* sort(t [, dim = -1] [, descending] | {descending = false, stable = false}) -> values, indices */
static int op_sort(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int opts = tgL_kwargs(L, 2, "sort", "dim descending stable");
  int dim = one_dim(L, c, x, tgL_opt_dim_slot(L, opts, 2, "sort", "dim"), "sort", -1);
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
  int opts = tgL_kwargs(L, 3, "topk", "dim largest sorted");
  int dim = one_dim(L, c, x, tgL_opt_dim_slot(L, opts, 3, "topk", "dim"), "topk", -1);
  bool largest = tgL_opt_bool(L, opts, "largest", true);
  if (lua_isboolean(L, 4)) largest = lua_toboolean(L, 4);
  /* sorted = false allows any order; the result is sorted either way */
  tg_tensor **box = tgL_newbox(L), *idx = NULL;
  tg_tensor *v = tg_topk(c, x, (int64_t)k, dim, largest, &idx);
  return push2(L, c, box, v, idx);
}

void tgL_register_reduce(lua_State *L, int ctxi, int module, int methods) {
  static const luaL_Reg both[] = {
      {"sum", op_sum}, {"mean", op_mean}, {"prod", op_prod}, {"amax", op_amax}, {"amin", op_amin}, {"max", op_max}, {"min", op_min},
      {"argmax", op_argmax}, {"argmin", op_argmin}, {"var", op_var}, {"std", op_std}, {"norm", op_norm},
      {"logsumexp", op_logsumexp}, {"all", op_all}, {"any", op_any}, {"count_nonzero", op_count_nonzero},
      {"cumsum", op_cumsum}, {"cumprod", op_cumprod}, {"sort", op_sort}, {"topk", op_topk}, {NULL, NULL}};
  tgL_setfuncs(L, module, ctxi, both);
  tgL_setfuncs(L, methods, ctxi, both);
}
