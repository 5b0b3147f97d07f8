/* ops_nn.c (binding): softmax, log_softmax and the losses of tg.nn.functional.
 *   tg.softmax(t, dim [, {dtype=}]), t:softmax(dim), tg.log_softmax, t:log_softmax
 *   tg._nll_loss, _cross_entropy, _binary_cross_entropy, _l1_loss, _smooth_l1_loss,
 *   _huber_loss, _kl_div (input, target [, opts]): the C side of tgrad.nn.functional */
#include <string.h>

#include "binding.h"

#define CTX tg_ctx *c = tgL_ctx(L)

/* ---- softmax */
static int softmax_fn(lua_State *L, bool log) {
  CTX;
  const char *fname = log ? "log_softmax" : "softmax";
  tg_tensor *x = tgL_check(L, 1);
  int opts = tgL_kwargs(L, 2, fname, "dim dtype");
  int slot = tgL_opt_dim_slot(L, opts, 2, fname, "dim");
  if (!slot) return luaL_error(L, "%s(): argument 'dim' (position 2) must be an integer, not nil", fname);
  int d = tgL_dim(L, c, slot, x->ndim);
  bool cast = false;
  tg_dtype dt = x->dtype;
  if (tgL_opt_field(L, opts, "dtype") != LUA_TNIL) {
    dt = tgL_dtype(L, -1);
    cast = dt != x->dtype;
  }
  lua_pop(L, 1);
  tg_tensor **box = tgL_newbox(L);
  tg_tensor *in = cast ? tg_to_dtype(c, x, dt) : x;
  if (!in) return tgL_raise(L, c);
  *box = log ? tg_log_softmax(c, in, d) : tg_softmax(c, in, d);
  if (cast) tg_tensor_unref(in);
  if (!*box) return tgL_raise(L, c);
  return 1;
}
static int op_softmax(lua_State *L) { return softmax_fn(L, false); }
static int op_log_softmax(lua_State *L) { return softmax_fn(L, true); }

/* ---- options */
/* reduction = "mean" | "sum" | "none" (| "batchmean" where *batchmean is given) */
static tg_reduction reduction_opt(lua_State *L, int opts, bool *batchmean) {
  tg_reduction r = TG_REDUCTION_MEAN;
  if (batchmean) *batchmean = false;
  if (tgL_opt_field(L, opts, "reduction") != LUA_TNIL) {
    const char *s = lua_tostring(L, -1);
    if (!s) luaL_error(L, "reduction must be a string (\"mean\", \"sum\" or \"none\"), got %s", luaL_typename(L, -1));
    if (!strcmp(s, "mean")) r = TG_REDUCTION_MEAN;
    else if (!strcmp(s, "sum")) r = TG_REDUCTION_SUM;
    else if (!strcmp(s, "none")) r = TG_REDUCTION_NONE;
    else if (batchmean && !strcmp(s, "batchmean")) *batchmean = true;
    else luaL_error(L, "%s is not a valid value for reduction", s);
  }
  lua_pop(L, 1);
  return r;
}

static tg_tensor *tensor_opt(lua_State *L, int opts, const char *key) {
  tg_tensor *t = NULL;
  if (tgL_opt_field(L, opts, key) != LUA_TNIL) {
    if (!tgL_is_tensor(L, -1)) luaL_error(L, "option '%s' must be a Tensor, got %s", key, luaL_typename(L, -1));
    t = tgL_check(L, -1);
  }
  lua_pop(L, 1); /* still referenced by the options table */
  return t;
}

static double number_opt(lua_State *L, int opts, const char *key, double dflt) {
  double v = dflt;
  if (tgL_opt_field(L, opts, key) != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TNUMBER) luaL_error(L, "option '%s' must be a number, got %s", key, luaL_typename(L, -1));
    v = lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

static int64_t integer_opt(lua_State *L, int opts, const char *key, int64_t dflt) {
  int64_t v = dflt;
  if (tgL_opt_field(L, opts, key) != LUA_TNIL) {
    int ok;
    v = (int64_t)lua_tointegerx(L, -1, &ok);
    if (!ok) luaL_error(L, "option '%s' must be an integer, got %s", key, luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  return v;
}

/* ---- losses: f(input, target [, opts]) */
#define LOSS_PROLOGUE(fname, keys)                    \
  CTX;                                                \
  tg_tensor *x = tgL_check_c(L, c, 1), *y = tgL_check_c(L, c, 2); \
  int opts = tgL_kwargs(L, 3, fname, keys)

#define LOSS_RETURN(expr)              \
  tg_tensor **box = tgL_newbox_c(L, c); \
  *box = (expr);                       \
  if (!*box) return tgL_raise(L, c);   \
  return 1

static int op_nll_loss(lua_State *L) {
  LOSS_PROLOGUE("nll_loss", "weight ignore_index reduction");
  tg_tensor *w = tensor_opt(L, opts, "weight");
  int64_t ignore = integer_opt(L, opts, "ignore_index", -100);
  tg_reduction r = reduction_opt(L, opts, NULL);
  LOSS_RETURN(tg_nll_loss(c, x, y, w, ignore, r));
}

static int op_cross_entropy(lua_State *L) {
  LOSS_PROLOGUE("cross_entropy", "weight ignore_index label_smoothing reduction");
  tg_tensor *w = tensor_opt(L, opts, "weight");
  int64_t ignore = integer_opt(L, opts, "ignore_index", -100);
  double eps = number_opt(L, opts, "label_smoothing", 0.0);
  tg_reduction r = reduction_opt(L, opts, NULL);
  LOSS_RETURN(tg_cross_entropy(c, x, y, w, ignore, eps, r));
}

static int op_binary_cross_entropy(lua_State *L) {
  LOSS_PROLOGUE("binary_cross_entropy", "weight reduction");
  tg_tensor *w = tensor_opt(L, opts, "weight");
  tg_reduction r = reduction_opt(L, opts, NULL);
  LOSS_RETURN(tg_bce_loss(c, x, y, w, r));
}

static int op_l1_loss(lua_State *L) {
  LOSS_PROLOGUE("l1_loss", "reduction");
  tg_reduction r = reduction_opt(L, opts, NULL);
  LOSS_RETURN(tg_l1_loss(c, x, y, r));
}

static int op_smooth_l1_loss(lua_State *L) {
  LOSS_PROLOGUE("smooth_l1_loss", "beta reduction");
  double beta = number_opt(L, opts, "beta", 1.0);
  tg_reduction r = reduction_opt(L, opts, NULL);
  LOSS_RETURN(tg_smooth_l1_loss(c, x, y, beta, r));
}

static int op_huber_loss(lua_State *L) {
  LOSS_PROLOGUE("huber_loss", "delta reduction");
  double delta = number_opt(L, opts, "delta", 1.0);
  tg_reduction r = reduction_opt(L, opts, NULL);
  LOSS_RETURN(tg_huber_loss(c, x, y, delta, r));
}

static int op_kl_div(lua_State *L) {
  LOSS_PROLOGUE("kl_div", "reduction log_target");
  bool batchmean, log_target = tgL_opt_bool(L, opts, "log_target", false);
  tg_reduction r = reduction_opt(L, opts, &batchmean);
  LOSS_RETURN(tg_kl_div(c, x, y, log_target, batchmean, r));
}

void tgL_register_nn(lua_State *L, int ctxi, int module, int methods) {
  static const luaL_Reg both[] = {{"softmax", op_softmax}, {"log_softmax", op_log_softmax}, {NULL, NULL}};
  static const luaL_Reg module_only[] = {
      {"_nll_loss", op_nll_loss}, {"_cross_entropy", op_cross_entropy},
      {"_binary_cross_entropy", op_binary_cross_entropy}, {"_l1_loss", op_l1_loss},
      {"_smooth_l1_loss", op_smooth_l1_loss}, {"_huber_loss", op_huber_loss}, {"_kl_div", op_kl_div},
      {NULL, NULL}};
  tgL_setfuncs(L, module, ctxi, both);
  tgL_setfuncs(L, methods, ctxi, both);
  tgL_setfuncs(L, module, ctxi, module_only);
}
