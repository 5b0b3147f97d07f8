/* graph_info.c (binding): read-only views into the autograd graph for
 * tgrad.viz (torchviz's make_dot draws saved tensors and views' bases):
 *   tg._tensor_id(t)     an integer naming the tensor object (boxes differ, == does not)
 *   tg._view_base(t)     the base a grad-mode view was taken from, or nil
 *   node:_saved()        list of {tensor, is_output} as saved for backward ({} once freed)
 *   node:_input_sizes()  list of the shapes the node's input gradients have
 *   node:_is_custom()    true for a tg.autograd.Function's node (state held by the binding) */
#include <stdint.h>

#include "binding.h"
#include "../autograd/autograd.h"

static int g_tensor_id(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)(intptr_t)tgL_check(L, 1));
  return 1;
}

static int g_view_base(lua_State *L) {
  tg_tensor *t = tgL_check(L, 1);
  if (!t->view_base) return 0;
  tg_tensor **box = tgL_newbox(L);
  *box = tg_tensor_ref(t->view_base);
  return 1;
}

static tg_node *check_node(lua_State *L, int idx) {
  tg_node **box = luaL_checkudata(L, idx, TG_NODE_MT);
  if (!*box) luaL_error(L, "the graph node has been released");
  return *box;
}

static int g_saved(lua_State *L) {
  tg_node *n = check_node(L, 1);
  lua_newtable(L);
  if (n->freed || !n->saved) return 1;
  int k = 0;
  for (int i = 0; i < n->n_saved; i++) {
    tg_saved *s = &n->saved[i];
    if (!s->data) continue;
    lua_createtable(L, 0, 2);
    tg_tensor **box = tgL_newbox(L);
    *box = tg_tensor_ref(s->data);
    lua_setfield(L, -2, "tensor");
    lua_pushboolean(L, s->is_output);
    lua_setfield(L, -2, "is_output");
    lua_rawseti(L, -2, ++k);
  }
  return 1;
}

static int g_input_sizes(lua_State *L) {
  tg_node *n = check_node(L, 1);
  lua_createtable(L, n->n_in, 0);
  for (int i = 0; n->in && i < n->n_in; i++) {
    lua_createtable(L, n->in[i].ndim, 0);
    for (int d = 0; d < n->in[i].ndim; d++) {
      lua_pushinteger(L, n->in[i].size[d]);
      lua_rawseti(L, -2, d + 1);
    }
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int g_is_custom(lua_State *L) {
  lua_pushboolean(L, check_node(L, 1)->binding_ref >= 0);
  return 1;
}

void tgL_register_graph_info(lua_State *L, int ctxi, int module) {
  static const luaL_Reg fns[] = {{"_tensor_id", g_tensor_id}, {"_view_base", g_view_base}, {NULL, NULL}};
  tgL_setfuncs(L, module, ctxi, fns);
  lua_getfield(L, LUA_REGISTRYINDEX, TG_NODE_MT ".methods");
  static const luaL_Reg meths[] = {{"_saved", g_saved}, {"_input_sizes", g_input_sizes}, {"_is_custom", g_is_custom},
                                 {NULL, NULL}};
  tgL_setfuncs(L, -1, ctxi, meths);
  lua_pop(L, 1);
}
