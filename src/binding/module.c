/* module.c: luaopen_tgrad. Builds the C core table, then runs the embedded
 * pure-Lua parts (lua/tgrad/..., compiled into the library) on top. */
#include <stdio.h>
#include <string.h>

#include "binding.h"
#include "../tgrad.h"
#include "mem.h" /* mem */

static int ctx_gc(lua_State *L) {
  tg_ctx *c = lua_touserdata(L, 1);
  tg_ctx_cleanup(c);
  return 0;
}

static int dtype_tostring(lua_State *L) {
  lua_getfield(L, 1, "name");
  lua_pushfstring(L, "tgrad.%s", lua_tostring(L, -1));
  return 1;
}

static void make_dtypes(lua_State *L, int module) {
  static const char *names[TG_NDTYPES] = {"float32", "float64", "int64", "bool"};
  static const char *aliases[TG_NDTYPES] = {"float", "double", "long", NULL};
  luaL_newmetatable(L, TG_DTYPE_MT);
  lua_pushcfunction(L, dtype_tostring);
  lua_setfield(L, -2, "__tostring");
  int mt = lua_gettop(L);
  lua_createtable(L, TG_NDTYPES, 0);
  for (int d = 0; d < TG_NDTYPES; d++) {
    lua_createtable(L, 0, 3);
    lua_pushstring(L, names[d]);
    lua_setfield(L, -2, "name");
    lua_pushboolean(L, tg_is_float((tg_dtype)d));
    lua_setfield(L, -2, "is_floating_point");
    lua_pushinteger(L, (lua_Integer)tg_dtype_size((tg_dtype)d));
    lua_setfield(L, -2, "itemsize");
    lua_pushvalue(L, mt);
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, module, names[d]);
    if (aliases[d]) {
      lua_pushvalue(L, -1);
      lua_setfield(L, module, aliases[d]);
    }
    lua_rawseti(L, -2, d + 1);
  }
  lua_setfield(L, LUA_REGISTRYINDEX, TG_DTYPE_MT ".list");
  lua_pop(L, 1);
}

/* package.preload loader for an embedded module */
static int embedded_loader(lua_State *L) {
  const tg_lua_source *s = lua_touserdata(L, lua_upvalueindex(1));
  char chunk[256];
  snprintf(chunk, sizeof chunk, "=[tgrad] %s", s->name);
  if (luaL_loadbuffer(L, s->code, s->len, chunk) != LUA_OK) return lua_error(L);
  lua_pushstring(L, s->name);
  lua_call(L, 1, 1);
  return 1;
}

int luaopen_tgrad(lua_State *L) {
  tg_ctx *c = lua_newuserdatauv(L, sizeof(tg_ctx), 0);
  tg_ctx_init(c);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, ctx_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  int ctxi = lua_gettop(L);
  lua_pushvalue(L, ctxi);
  lua_setfield(L, LUA_REGISTRYINDEX, TG_CTX_KEY);

  lua_newtable(L); /* module */
  int module = lua_gettop(L);
  lua_newtable(L); /* tensor methods */
  int methods = lua_gettop(L);
  luaL_newmetatable(L, TG_TENSOR_MT);
  tgL_set_box_mt(L, c); /* perop: the metatable's pointer and reference in the context */
  lua_rawsetp(L, LUA_REGISTRYINDEX, &tgL_tensor_mt_key);
  make_dtypes(L, module);
  tgL_register_tensor(L, ctxi, module, methods);
  tgL_register_ops(L, ctxi, module, methods);
  tgL_register_creation(L, ctxi, module, methods);
  tgL_register_autograd(L, ctxi, module, methods);
  tgL_register_reduce(L, ctxi, module, methods);
  tgL_register_shape(L, ctxi, module, methods);
  tgL_register_nn(L, ctxi, module, methods);
  tgL_register_function(L, ctxi, module, methods);
  tgL_register_files(L, ctxi, module, methods); /* files and pictures (issue 8) */
  tgL_register_norm(L, ctxi, module, methods); /* norm: ops_norm.c */
  tgL_register_optim(L, ctxi, module, methods); /* optim */
  tgL_register_nn_fast(L, ctxi, module); /* tiny: F.linear fast path (binding/nn_fast.c) */
  tgL_register_conv(L, ctxi, module, methods); /* helper conv */
  tgL_register_pool(L, ctxi, module, methods); /* pool */
  tgL_register_host(L, ctxi, module, methods); /* host: after creation (set_num_threads) */
  tgL_register_cuda(L, ctxi, module, methods); /* cuda: binding/cuda.c */
  tgL_register_activation(L, ctxi, module, methods); /* act: binding/activation.c */
  tgL_register_capture(L, ctxi, module); /* capture: binding/capture.c */
  tgL_register_mem(L, ctxi, module, methods); /* mem: out= and tg.scope (binding/out.c, scope.c); last: wraps tg.f */
  lua_pushvalue(L, methods);
  lua_setfield(L, module, "_Tensor");
  luaL_getmetatable(L, TG_TENSOR_MT);
  lua_setfield(L, module, "_Tensor_mt");
  lua_pushvalue(L, ctxi); /* keep the context alive as long as the module */
  lua_setfield(L, module, "_ctx");

  /* embedded submodules go to package.preload; "tgrad" itself is run now */
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  int preload = lua_gettop(L);
  const tg_lua_source *init = NULL;
  for (const tg_lua_source *s = tg_lua_sources; s->name; s++) {
    if (!strcmp(s->name, "tgrad")) {
      init = s;
      continue;
    }
    lua_pushlightuserdata(L, (void *)s);
    lua_pushcclosure(L, embedded_loader, 1);
    lua_setfield(L, preload, s->name);
  }
  if (!init) return luaL_error(L, "tgrad: the embedded Lua part is missing");
  if (luaL_loadbuffer(L, init->code, init->len, "=[tgrad] tgrad") != LUA_OK) return lua_error(L);
  lua_pushvalue(L, module);
  lua_call(L, 1, 1);
  return 1;
}
