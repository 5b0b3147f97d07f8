/* ops_norm.c (binding): the C side of the normalisation functions of tg.F
 * (published by lua/tgrad/nn/functional_norm.lua):
 *   tg._batch_norm(x, running_mean, running_var [, weight [, bias]] [, {weight, bias, training=false,
 *                  momentum=0.1, eps=1e-5}])
 *   tg._layer_norm(x, normalized_shape [, weight [, bias]] [, {weight, bias, eps=1e-5}])
 *   tg._group_norm(x, num_groups [, weight [, bias]] [, {weight, bias, eps=1e-5}])
 *   tg._embedding(input, weight [, {padding_idx, max_norm, norm_type=2, scale_grad_by_freq=false,
 *                 sparse=false}])
 * Positional weight and bias follow PyTorch's argument order; the options
 * table carries its keyword arguments. */
#include <math.h>
#include <string.h>

#include "binding.h"
#include "../ops/norm.h"

#define CTX tg_ctx *c = tgL_ctx(L)

/* the tensor given at position idx (before the options table) or as option key; nil -> NULL */
static tg_tensor *tensor_arg(lua_State *L, int opts, int idx, const char *fname, const char *key) {
  bool positional = (!opts || idx < opts) && !lua_isnoneornil(L, idx);
  bool named = tgL_opt_field(L, opts, key) != LUA_TNIL;
  if (positional && named) luaL_error(L, "%s() got multiple values for argument '%s'", fname, key);
  int at = positional ? idx : named ? lua_gettop(L) : 0;
  tg_tensor *t = NULL;
  if (at) {
    if (!tgL_is_tensor(L, at))
      luaL_error(L, "%s(): argument '%s' must be a Tensor, not %s", fname, key, luaL_typename(L, at));
    t = tgL_check(L, at);
  }
  lua_pop(L, 1); /* the option (still referenced by the options table) */
  return t;
}

static double number_opt(lua_State *L, int opts, const char *fname, const char *key, double dflt) {
  double v = dflt;
  if (tgL_opt_field(L, opts, key) != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TNUMBER)
      luaL_error(L, "%s(): argument '%s' must be a number, not %s", fname, key, luaL_typename(L, -1));
    v = lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

/* a tensor or nil at idx (the running statistics) */
static tg_tensor *opt_tensor_at(lua_State *L, int idx, int opts, const char *fname, const char *name) {
  if (idx == opts || lua_isnoneornil(L, idx)) return NULL;
  if (!tgL_is_tensor(L, idx))
    luaL_error(L, "%s(): argument '%s' (position %d) must be a Tensor or nil, not %s", fname, name, idx,
               luaL_typename(L, idx));
  return tgL_check(L, idx);
}

#define RETURN_BOX(expr)             \
  tg_tensor **box = tgL_newbox(L);   \
  *box = (expr);                     \
  if (!*box) return tgL_raise(L, c); \
  return 1

static int op_batch_norm(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int opts = tgL_kwargs(L, 4, "batch_norm", "weight bias training momentum eps");
  tg_tensor *rm = opt_tensor_at(L, 2, opts, "batch_norm", "running_mean");
  tg_tensor *rv = opt_tensor_at(L, 3, opts, "batch_norm", "running_var");
  tg_tensor *w = tensor_arg(L, opts, 4, "batch_norm", "weight");
  tg_tensor *b = tensor_arg(L, opts, 5, "batch_norm", "bias");
  bool training = tgL_opt_bool(L, opts, "training", false);
  double momentum = number_opt(L, opts, "batch_norm", "momentum", 0.1);
  double eps = number_opt(L, opts, "batch_norm", "eps", 1e-5);
  RETURN_BOX(tg_batch_norm(c, x, rm, rv, w, b, training, momentum, eps));
}

static int op_layer_norm(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int opts = tgL_kwargs(L, 3, "layer_norm", "weight bias eps");
  int64_t ns[TG_MAX_DIMS];
  int n = 0;
  if (lua_isinteger(L, 2)) {
    ns[n++] = (int64_t)lua_tointeger(L, 2);
  } else if (lua_istable(L, 2) && !tgL_is_tensor(L, 2) && 2 != opts) {
    lua_Integer len = luaL_len(L, 2);
    if (len > TG_MAX_DIMS) return luaL_error(L, "layer_norm(): normalized_shape has too many dimensions (%d)", (int)len);
    for (lua_Integer i = 1; i <= len; i++) {
      lua_geti(L, 2, i);
      int ok;
      ns[n++] = (int64_t)lua_tointegerx(L, -1, &ok);
      if (!ok)
        return luaL_error(L, "layer_norm(): argument 'normalized_shape' must be a list of integers, got %s at %d",
                          luaL_typename(L, -1), (int)i);
      lua_pop(L, 1);
    }
  } else {
    return luaL_error(L, "layer_norm(): argument 'normalized_shape' (position 2) must be an integer or a table of "
                         "integers, not %s", lua_isnoneornil(L, 2) ? "nil" : luaL_typename(L, 2));
  }
  tg_tensor *w = tensor_arg(L, opts, 3, "layer_norm", "weight");
  tg_tensor *b = tensor_arg(L, opts, 4, "layer_norm", "bias");
  double eps = number_opt(L, opts, "layer_norm", "eps", 1e-5);
  RETURN_BOX(tg_layer_norm(c, x, n, ns, w, b, eps));
}

static int op_group_norm(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int opts = tgL_kwargs(L, 3, "group_norm", "weight bias eps");
  int ok;
  int64_t groups = (int64_t)lua_tointegerx(L, 2, &ok);
  if (!ok || 2 == opts)
    return luaL_error(L, "group_norm(): argument 'num_groups' (position 2) must be an integer, not %s",
                      lua_isnoneornil(L, 2) ? "nil" : luaL_typename(L, 2));
  tg_tensor *w = tensor_arg(L, opts, 3, "group_norm", "weight");
  tg_tensor *b = tensor_arg(L, opts, 4, "group_norm", "bias");
  double eps = number_opt(L, opts, "group_norm", "eps", 1e-5);
  RETURN_BOX(tg_group_norm(c, x, groups, w, b, eps));
}

static int op_embedding(lua_State *L) {
  CTX;
  tg_tensor *ids = tgL_check(L, 1), *w = tgL_check(L, 2);
  int opts = tgL_kwargs(L, 3, "embedding", "padding_idx max_norm norm_type scale_grad_by_freq sparse");
  int64_t pad = -1;
  if (tgL_opt_field(L, opts, "padding_idx") != LUA_TNIL) {
    int ok;
    int64_t p = (int64_t)lua_tointegerx(L, -1, &ok);
    if (!ok) return luaL_error(L, "embedding(): argument 'padding_idx' must be an integer, not %s", luaL_typename(L, -1));
    int64_t V = w->ndim >= 1 ? w->size[0] : 0;
    /* 1-based; negative counts from the end */
    if (p >= 1 && p <= V) pad = p - 1;
    else if (p < 0 && p >= -V) pad = V + p;
    else return luaL_error(L, "Padding_idx must be within num_embeddings");
  }
  lua_pop(L, 1);
  bool has_max = tgL_opt_field(L, opts, "max_norm") != LUA_TNIL;
  lua_pop(L, 1);
  double max_norm = number_opt(L, opts, "embedding", "max_norm", 0);
  double norm_type = number_opt(L, opts, "embedding", "norm_type", 2.0);
  bool scale = tgL_opt_bool(L, opts, "scale_grad_by_freq", false);
  if (tgL_opt_bool(L, opts, "sparse", false))
    return luaL_error(L, "embedding(): sparse=true is not supported (tgrad has no sparse tensors)");
  RETURN_BOX(tg_embedding(c, w, ids, pad, scale, has_max, max_norm, norm_type));
}

void tgL_register_norm(lua_State *L, int ctxi, int module, int methods) {
  (void)methods;
  static const luaL_Reg module_only[] = {{"_batch_norm", op_batch_norm}, {"_layer_norm", op_layer_norm},
                                         {"_group_norm", op_group_norm}, {"_embedding", op_embedding},
                                         {NULL, NULL}};
  tgL_setfuncs(L, module, ctxi, module_only);
}
