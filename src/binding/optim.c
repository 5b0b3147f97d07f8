/* optim.c (binding): the fused optimizer steps behind tg.optim (helper optim),
 * as tg._optim.<kind>(param, state..., hyper-parameters...), positional and
 * private: the Lua files of lua/tgrad/optim validates the options and owns the state.
 * Each call reads param.grad, updates param and its state in place (one pass
 * in C, see src/optim.h) and returns true, or false without doing anything
 * when the parameter has no gradient. */
#include <string.h>

#include "binding.h"
#include "../optim.h"
#include "../capture.h"

/* one step; pushes true, or false (nothing done) when the parameter has no gradient */
static int run(lua_State *L, tg_ctx *c, tg_optim_args *a, tg_tensor *p, tg_tensor *s0, tg_tensor *s1,
               tg_tensor *s2) {
  if (!p->grad) {
    lua_pushboolean(L, 0);
    return 1;
  }
  tg_tensor *st[TG_OPTIM_MAX_STATE] = {s0, s1, s2};
  if (tg_optim_step(c, a, p, st) < 0) return tgL_raise(L, c);
  lua_pushboolean(L, 1);
  return 1;
}

/* has_grad(p): p.grad ~= nil, without making a box for the gradient */
static int o_has_grad(lua_State *L) {
  lua_pushboolean(L, tgL_check(L, 1)->grad != NULL);
  return 1;
}

/* zero_grad(list, set_to_none): every tensor's gradient set to nil, or detached and zeroed */
static int o_zero_grad(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  bool set_to_none = lua_toboolean(L, 2);
  lua_Integer n = luaL_len(L, 1);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    tg_tensor *t = tgL_check_c(L, c, -1);
    if (set_to_none && t->grad) { /* perop: the cached .grad box lets the gradient go */
      lua_pushnil(L);
      lua_setiuservalue(L, -2, TGL_UV_GRAD);
    }
    lua_pop(L, 1); /* still in the list */
    tg_tensor *g = t->grad;
    if (c->capture_be) tg_capture_note_grad_reset(c, t); /* capture */
    if (!g) continue;
    if (set_to_none) {
      t->grad = NULL;
      tg_tensor_unref(g);
    } else {
      tg_node_unref(g->grad_fn); /* g:detach_() */
      g->grad_fn = NULL;
      g->requires_grad = false;
      if (tg_zero_(c, g) < 0) return tgL_raise(L, c);
    }
  }
  return 0;
}

#define NUM(i) luaL_checknumber(L, i)
#define BOOL(i) lua_toboolean(L, i)

/* sgd(p, momentum_buffer|nil, lr, weight_decay, momentum, dampening, nesterov, maximize, first_step) */
static int o_sgd(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  tg_optim_args a;
  memset(&a, 0, sizeof a);
  a.kind = TG_OPTIM_SGD;
  tg_tensor *p = tgL_check(L, 1), *buf = tgL_opt(L, 2);
  a.lr = NUM(3), a.weight_decay = NUM(4), a.momentum = NUM(5), a.dampening = NUM(6);
  a.nesterov = BOOL(7), a.maximize = BOOL(8), a.first_step = BOOL(9);
  return run(L, c, &a, p, buf, NULL, NULL);
}

/* tiny: sgd_list(params, lr, weight_decay, maximize): sgd without momentum over a
 * list of parameters in one call (PyTorch's foreach SGD), the parameters without a
 * gradient skipped; each update is the one o_sgd makes */
static int o_sgd_list(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  tg_optim_args a;
  memset(&a, 0, sizeof a);
  a.kind = TG_OPTIM_SGD;
  a.lr = NUM(2), a.weight_decay = NUM(3), a.maximize = BOOL(4);
  lua_Integer n = luaL_len(L, 1);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    tg_tensor *p = tgL_check_c(L, c, -1);
    lua_pop(L, 1); /* still in the list */
    if (!p->grad) continue;
    tg_tensor *st[TG_OPTIM_MAX_STATE] = {NULL};
    if (tg_optim_step(c, &a, p, st) < 0) return tgL_raise(L, c);
  }
  return 0;
}

/* adam(p, exp_avg, exp_avg_sq, max_exp_avg_sq|nil, step, lr, beta1, beta2, eps, weight_decay,
 *      amsgrad, maximize, decoupled) */
static int o_adam(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  tg_optim_args a;
  memset(&a, 0, sizeof a);
  a.kind = TG_OPTIM_ADAM;
  tg_tensor *p = tgL_check(L, 1), *m = tgL_check(L, 2), *v = tgL_check(L, 3), *vmax = tgL_opt(L, 4);
  a.step = NUM(5), a.lr = NUM(6), a.beta1 = NUM(7), a.beta2 = NUM(8), a.eps = NUM(9), a.weight_decay = NUM(10);
  a.amsgrad = BOOL(11), a.maximize = BOOL(12), a.decoupled = BOOL(13);
  return run(L, c, &a, p, m, v, vmax);
}

/* rmsprop(p, square_avg, momentum_buffer|nil, grad_avg|nil, lr, alpha, eps, weight_decay, momentum,
 *         centered, maximize) */
static int o_rmsprop(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  tg_optim_args a;
  memset(&a, 0, sizeof a);
  a.kind = TG_OPTIM_RMSPROP;
  tg_tensor *p = tgL_check(L, 1), *sq = tgL_check(L, 2), *buf = tgL_opt(L, 3), *ga = tgL_opt(L, 4);
  a.lr = NUM(5), a.alpha = NUM(6), a.eps = NUM(7), a.weight_decay = NUM(8), a.momentum = NUM(9);
  a.centered = BOOL(10), a.maximize = BOOL(11);
  return run(L, c, &a, p, sq, buf, ga);
}

/* adagrad(p, sum, step, lr, lr_decay, weight_decay, eps, maximize) */
static int o_adagrad(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  tg_optim_args a;
  memset(&a, 0, sizeof a);
  a.kind = TG_OPTIM_ADAGRAD;
  tg_tensor *p = tgL_check(L, 1), *sum = tgL_check(L, 2);
  a.step = NUM(3), a.lr = NUM(4), a.lr_decay = NUM(5), a.weight_decay = NUM(6), a.eps = NUM(7);
  a.maximize = BOOL(8);
  return run(L, c, &a, p, sum, NULL, NULL);
}

/* adadelta(p, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize) */
static int o_adadelta(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  tg_optim_args a;
  memset(&a, 0, sizeof a);
  a.kind = TG_OPTIM_ADADELTA;
  tg_tensor *p = tgL_check(L, 1), *sq = tgL_check(L, 2), *acc = tgL_check(L, 3);
  a.lr = NUM(4), a.rho = NUM(5), a.eps = NUM(6), a.weight_decay = NUM(7);
  a.maximize = BOOL(8);
  return run(L, c, &a, p, sq, acc, NULL);
}

/* adamax(p, exp_avg, exp_inf, step, lr, beta1, beta2, eps, weight_decay, maximize) */
static int o_adamax(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  tg_optim_args a;
  memset(&a, 0, sizeof a);
  a.kind = TG_OPTIM_ADAMAX;
  tg_tensor *p = tgL_check(L, 1), *m = tgL_check(L, 2), *ei = tgL_check(L, 3);
  a.step = NUM(4), a.lr = NUM(5), a.beta1 = NUM(6), a.beta2 = NUM(7), a.eps = NUM(8), a.weight_decay = NUM(9);
  a.maximize = BOOL(10);
  return run(L, c, &a, p, m, ei, NULL);
}

/* nadam(p, exp_avg, exp_avg_sq, step, mu_product, lr, beta1, beta2, eps, weight_decay, momentum_decay,
 *       decoupled, maximize) -> true and the updated mu_product, or false */
static int o_nadam(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  tg_optim_args a;
  memset(&a, 0, sizeof a);
  a.kind = TG_OPTIM_NADAM;
  tg_tensor *p = tgL_check(L, 1), *m = tgL_check(L, 2), *v = tgL_check(L, 3);
  a.step = NUM(4), a.mu_product = NUM(5), a.lr = NUM(6), a.beta1 = NUM(7), a.beta2 = NUM(8), a.eps = NUM(9);
  a.weight_decay = NUM(10), a.momentum_decay = NUM(11);
  a.decoupled = BOOL(12), a.maximize = BOOL(13);
  run(L, c, &a, p, m, v, NULL);
  if (!lua_toboolean(L, -1)) return 1;
  lua_pushnumber(L, a.mu_product);
  return 2;
}

/* radam(p, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay, decoupled, maximize) */
static int o_radam(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  tg_optim_args a;
  memset(&a, 0, sizeof a);
  a.kind = TG_OPTIM_RADAM;
  tg_tensor *p = tgL_check(L, 1), *m = tgL_check(L, 2), *v = tgL_check(L, 3);
  a.step = NUM(4), a.lr = NUM(5), a.beta1 = NUM(6), a.beta2 = NUM(7), a.eps = NUM(8), a.weight_decay = NUM(9);
  a.decoupled = BOOL(10), a.maximize = BOOL(11);
  return run(L, c, &a, p, m, v, NULL);
}

/* rprop(p, prev, step_size, eta_minus, eta_plus, step_size_min, step_size_max, maximize) */
static int o_rprop(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  tg_optim_args a;
  memset(&a, 0, sizeof a);
  a.kind = TG_OPTIM_RPROP;
  tg_tensor *p = tgL_check(L, 1), *prev = tgL_check(L, 2), *ss = tgL_check(L, 3);
  a.eta_minus = NUM(4), a.eta_plus = NUM(5), a.step_min = NUM(6), a.step_max = NUM(7);
  a.maximize = BOOL(8);
  return run(L, c, &a, p, prev, ss, NULL);
}

/* asgd(p, ax, eta, mu, lambd, weight_decay, maximize) */
static int o_asgd(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  tg_optim_args a;
  memset(&a, 0, sizeof a);
  a.kind = TG_OPTIM_ASGD;
  tg_tensor *p = tgL_check(L, 1), *ax = tgL_check(L, 2);
  a.eta = NUM(3), a.mu = NUM(4), a.lambd = NUM(5), a.weight_decay = NUM(6);
  a.maximize = BOOL(7);
  return run(L, c, &a, p, ax, NULL, NULL);
}

void tgL_register_optim(lua_State *L, int ctxi, int module, int methods) {
  (void)methods;
  ctxi = lua_absindex(L, ctxi);
  module = lua_absindex(L, module);
  static const luaL_Reg fns[] = {{"sgd", o_sgd},         {"adam", o_adam},         {"rmsprop", o_rmsprop},
                                 {"adagrad", o_adagrad}, {"adadelta", o_adadelta}, {"adamax", o_adamax},
                                 {"nadam", o_nadam},     {"radam", o_radam},       {"rprop", o_rprop},
                                 {"asgd", o_asgd},       {"has_grad", o_has_grad}, {"zero_grad", o_zero_grad},
                                 {"sgd_list", o_sgd_list}, /* tiny */
                                 {NULL, NULL}};
  lua_createtable(L, 0, 12);
  tgL_setfuncs(L, -1, ctxi, fns);
  lua_setfield(L, module, "_optim");
}
