/* autograd.c (binding): grad_fn objects, backward, autograd.grad, grad mode. */
#include <stdlib.h>
#include <string.h>

#include "binding.h"

#define CTX tg_ctx *c = tgL_ctx(L)

/* ---- graph nodes as userdata, one per node (a weak cache keeps identity) */
static int node_gc(lua_State *L) {
  tg_node **box = luaL_checkudata(L, 1, TG_NODE_MT);
  tg_node_unref(*box);
  *box = NULL;
  return 0;
}

void tgL_push_node(lua_State *L, tg_node *n) {
  lua_getfield(L, LUA_REGISTRYINDEX, TG_NODE_MT ".cache");
  if (lua_rawgetp(L, -1, n) != LUA_TNIL) {
    lua_remove(L, -2);
    return;
  }
  lua_pop(L, 1);
  tg_node **box = lua_newuserdatauv(L, sizeof *box, 1);
  *box = tg_node_ref(n);
  luaL_setmetatable(L, TG_NODE_MT);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, -3, n);
  lua_remove(L, -2);
}

static tg_node *check_node(lua_State *L, int idx) {
  tg_node **box = luaL_checkudata(L, idx, TG_NODE_MT);
  if (!*box) luaL_error(L, "the graph node has been released");
  return *box;
}

static int node_tostring(lua_State *L) {
  lua_pushfstring(L, "<%s>", check_node(L, 1)->name);
  return 1;
}

static int node_eq(lua_State *L) {
  tg_node **a = luaL_testudata(L, 1, TG_NODE_MT), **b = luaL_testudata(L, 2, TG_NODE_MT);
  lua_pushboolean(L, a && b && *a == *b);
  return 1;
}

static int node_index(lua_State *L) {
  tg_node *n = check_node(L, 1);
  const char *k = luaL_checkstring(L, 2);
  if (!strcmp(k, "name")) {
    lua_pushstring(L, n->name);
  } else if (!strcmp(k, "next_functions")) {
    lua_createtable(L, n->n_in, 0);
    for (int i = 0; i < n->n_in; i++) {
      lua_createtable(L, 2, 0);
      if (n->next[i].fn) {
        tgL_push_node(L, n->next[i].fn);
        lua_rawseti(L, -2, 1);
      }
      lua_pushinteger(L, n->next[i].input_nr);
      lua_rawseti(L, -2, 2);
      lua_rawseti(L, -2, i + 1);
    }
  } else if (!strcmp(k, "variable")) {
    if (!n->variable) return 0;
    tg_tensor **box = tgL_newbox(L);
    *box = tg_tensor_ref(n->variable);
  } else {
    /* methods defined in Lua (register_hook ...) live in the node methods table */
    lua_getfield(L, LUA_REGISTRYINDEX, TG_NODE_MT ".methods");
    lua_getfield(L, -1, k);
  }
  return 1;
}

/* ---- backward */
static tg_tensor **tensor_list(lua_State *L, int idx, int *n, const char *what) {
  idx = lua_absindex(L, idx);
  if (tgL_is_tensor(L, idx)) {
    tg_tensor **a = malloc(sizeof *a);
    if (!a) luaL_error(L, "out of memory");
    a[0] = tgL_check(L, idx);
    *n = 1;
    return a;
  }
  if (!lua_istable(L, idx)) luaL_error(L, "%s: expected a Tensor or a list of Tensors, got %s", what, luaL_typename(L, idx));
  lua_Integer ll = luaL_len(L, idx);
  if (ll < 0 || ll > (1 << 24)) luaL_error(L, "%s: a list of %I tensors is not supported", what, ll);
  int len = (int)ll;
  tg_tensor **a = calloc((size_t)len + 1, sizeof *a);
  if (!a) luaL_error(L, "out of memory");
  for (int i = 0; i < len; i++) {
    lua_geti(L, idx, i + 1);
    if (!tgL_is_tensor(L, -1) && !lua_isnil(L, -1)) {
      free(a);
      luaL_error(L, "%s: element %d is not a Tensor", what, i + 1);
    }
    a[i] = lua_isnil(L, -1) ? NULL : tgL_check(L, -1);
    lua_pop(L, 1); /* still referenced from the table */
  }
  *n = len;
  return a;
}

/* run the engine; results (for grad()) are pushed as a list */
/* hooks and custom Functions run on L, the thread calling backward (which
 * may be a coroutine); a Lua error they raise is re-raised as it was */
static int run_engine(lua_State *L, tg_ctx *c, int n_roots, tg_tensor **roots, tg_tensor **grads, tg_backward_opts *o) {
  tgL_drain_hooks(L, c);
  lua_State *prev = tgL_set_run_thread(c, L);
  int rc = tgL_run_backward(c, n_roots, roots, grads, o);
  tgL_set_run_thread(c, prev);
  tgL_drain_hooks(L, c);
  return rc;
}

/* t:backward([grad [, {retain_graph, create_graph, inputs}]]) */
static int a_backward(lua_State *L) {
  CTX;
  tg_tensor *t = tgL_check_c(L, c, 1);
  int opts = tgL_kwargs(L, 2, "backward", "retain_graph create_graph inputs");
  tg_tensor *g = NULL;
  if (!lua_isnoneornil(L, 2) && opts != 2) g = tgL_check(L, 2);
  tg_backward_opts o = {0};
  o.create_graph = tgL_opt_bool(L, opts, "create_graph", false);
  o.retain_graph = tgL_opt_bool(L, opts, "retain_graph", o.create_graph);
  o.accumulate = true;
  tg_tensor **inputs = NULL;
  if (tgL_opt_field(L, opts, "inputs") != LUA_TNIL) {
    inputs = tensor_list(L, -1, &o.n_inputs, "backward inputs");
    o.inputs = inputs;
    if (o.n_inputs == 0) { free(inputs); return luaL_error(L, "'inputs' argument to backward() cannot be empty."); }
    for (int i = 0; i < o.n_inputs; i++)
      if (!inputs[i]) {
        free(inputs);
        return luaL_error(L, "backward inputs: element %d is nil, expected a Tensor", i + 1);
      }
  }
  lua_pop(L, 1);
  int rc = run_engine(L, c, 1, &t, &g, &o);
  free(inputs);
  if (rc < 0) return tgL_raise_backward(L, c, false);
  return 0;
}

/* tg._grad(outputs_list, inputs_list, grad_outputs_list|nil, opts) -> list, n | nil, message */
static int a_grad(lua_State *L) {
  CTX;
  int n_out, n_in, n_g = 0;
  tg_tensor **outs = tensor_list(L, 1, &n_out, "outputs");
  tg_tensor **ins = tensor_list(L, 2, &n_in, "inputs");
  tg_tensor **gs = lua_isnoneornil(L, 3) ? NULL : tensor_list(L, 3, &n_g, "grad_outputs");
  int opts = tgL_kwargs(L, 4, "grad", "retain_graph create_graph allow_unused");
  if (gs && n_g != n_out) {
    free(outs), free(ins), free(gs);
    lua_pushnil(L);
    lua_pushfstring(L, "grad requires one grad_output per output: got %d grad_outputs for %d outputs", n_g, n_out);
    return 2;
  }
  for (int i = 0; i < n_in; i++)
    if (!ins[i] || !tg_requires_grad(ins[i])) {
      free(outs), free(ins), free(gs);
      lua_pushnil(L);
      lua_pushstring(L, "One of the differentiated Tensors does not require grad");
      return 2;
    }
  tg_backward_opts o = {0};
  o.create_graph = tgL_opt_bool(L, opts, "create_graph", false);
  o.retain_graph = tgL_opt_bool(L, opts, "retain_graph", o.create_graph);
  o.allow_unused = tgL_opt_bool(L, opts, "allow_unused", false);
  o.n_inputs = n_in;
  o.inputs = ins;
  o.results = calloc((size_t)n_in + 1, sizeof *o.results);
  int rc = o.results ? run_engine(L, c, n_out, outs, gs, &o) : -1;
  free(outs), free(gs), free(ins);
  if (rc < 0) {
    free(o.results);
    tgL_raise_backward(L, c, true); /* re-raises a hook's error, else pushes the message */
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  lua_createtable(L, n_in, 0);
  for (int i = 0; i < n_in; i++) {
    if (!o.results[i]) continue;
    tg_tensor **box = tgL_newbox(L);
    *box = o.results[i];
    lua_rawseti(L, -2, i + 1);
  }
  free(o.results);
  lua_pushinteger(L, n_in);
  return 2;
}

/* ---- grad mode */
static int a_set_grad_enabled(lua_State *L) {
  CTX;
  bool prev = c->grad_enabled;
  c->grad_enabled = lua_toboolean(L, 1);
  lua_pushboolean(L, prev);
  return 1;
}

static int a_is_grad_enabled(lua_State *L) {
  CTX;
  lua_pushboolean(L, c->grad_enabled);
  return 1;
}

void tgL_register_autograd(lua_State *L, int ctxi, int module, int methods) {
  static const luaL_Reg node_meta[] = {{"__gc", node_gc}, {"__tostring", node_tostring}, {"__eq", node_eq},
                                       {"__index", node_index}, {NULL, NULL}};
  luaL_newmetatable(L, TG_NODE_MT);
  tgL_setfuncs(L, -1, ctxi, node_meta);
  lua_pop(L, 1);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, TG_NODE_MT ".methods");
  /* node cache: weak values */
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushstring(L, "v");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, TG_NODE_MT ".cache");

  static const luaL_Reg meths[] = {{"backward", a_backward}, {NULL, NULL}};
  tgL_setfuncs(L, methods, ctxi, meths);
  static const luaL_Reg fns[] = {{"_grad", a_grad}, {"set_grad_enabled", a_set_grad_enabled},
                                 {"is_grad_enabled", a_is_grad_enabled}, {"_backward", a_backward}, {NULL, NULL}};
  tgL_setfuncs(L, module, ctxi, fns);
}
