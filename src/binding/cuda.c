/* cuda.c: tg.cuda.* and the loader behind t:cuda() / t:to("cuda") / device = "cuda". The CUDA backend is a separate
 * object (tgrad/cuda_backend.so, built by cuda.mk when nvcc exists) that is
 * dlopened on first use, so `require "tgrad"` never needs CUDA. Its handle
 * and entry points live in a userdata in the registry (per Lua state). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"
#include "../backend/cuda/tg_cuda.h"
#include "../ops.h"

#define CUDA_KEY "tgrad.cuda.lib"

typedef struct cuda_lib {
  int state; /* 0 not tried, 1 loaded, -1 unavailable */
  void *handle;
  int count;
  tg_cuda_count_fn count_fn;
  tg_cuda_open_fn open;
  tg_cuda_stats_fn stats;
  tg_cuda_ctx_fn empty_cache;
  tg_cuda_sync_fn sync;
  char why[512];
} cuda_lib;

/* the object's path: $TGRAD_CUDA_LIB, else tgrad/cuda_backend.so on package.cpath */
static int find_object(lua_State *L, char *path, size_t n) {
  const char *env = getenv("TGRAD_CUDA_LIB");
  if (env && *env) return snprintf(path, n, "%s", env), 0;
  int top = lua_gettop(L), ok = -1;
  if (lua_getglobal(L, "package") == LUA_TTABLE && lua_getfield(L, -1, "searchpath") == LUA_TFUNCTION) {
    lua_pushliteral(L, "tgrad.cuda_backend");
    lua_getfield(L, -3, "cpath");
    if (lua_pcall(L, 2, 1, 0) == LUA_OK && lua_isstring(L, -1)) ok = 0, snprintf(path, n, "%s", lua_tostring(L, -1));
  }
  lua_settop(L, top);
  return ok;
}

static cuda_lib *cuda_get(lua_State *L, tg_ctx *c) {
  cuda_lib *lib;
  if (lua_getfield(L, LUA_REGISTRYINDEX, CUDA_KEY) == LUA_TUSERDATA) {
    lib = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return lib;
  }
  lua_pop(L, 1);
  lib = lua_newuserdatauv(L, sizeof *lib, 0);
  memset(lib, 0, sizeof *lib);
  lua_setfield(L, LUA_REGISTRYINDEX, CUDA_KEY);
  char path[4096];
  lib->state = -1;
  if (find_object(L, path, sizeof path) < 0) {
    snprintf(lib->why, sizeof lib->why,
             "the CUDA module is missing: tgrad was built without CUDA (no tgrad/cuda_backend.so on package.cpath; "
             "build it with `make CUDA=1` where nvcc exists)");
    return lib;
  }
  /* never dlclosed: tensors may outlive any Lua object that could own the handle */
  lib->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib->handle) {
    snprintf(lib->why, sizeof lib->why, "the CUDA module %.180s could not be loaded: %.280s", path, dlerror());
    return lib;
  }
  lib->count_fn = (tg_cuda_count_fn)dlsym(lib->handle, TG_CUDA_COUNT_SYM);
  lib->open = (tg_cuda_open_fn)dlsym(lib->handle, TG_CUDA_OPEN_SYM);
  lib->stats = (tg_cuda_stats_fn)dlsym(lib->handle, TG_CUDA_STATS_SYM);
  lib->empty_cache = (tg_cuda_ctx_fn)dlsym(lib->handle, TG_CUDA_EMPTY_SYM);
  lib->sync = (tg_cuda_sync_fn)dlsym(lib->handle, TG_CUDA_SYNC_SYM);
  if (!lib->count_fn || !lib->open || !lib->stats || !lib->empty_cache || !lib->sync) {
    snprintf(lib->why, sizeof lib->why, "the CUDA module %.300s lacks its entry points (a stale build?)", path);
    return lib;
  }
  char why[400] = "";
  lib->count = lib->count_fn(why, sizeof why);
  if (lib->count <= 0) {
    snprintf(lib->why, sizeof lib->why, "no CUDA device: %s", lib->count < 0 ? why : "the driver reports 0 devices");
    return lib;
  }
  (void)c;
  lib->state = 1;
  return lib;
}

/* the context's CUDA backend, opened on device 0 on first use; raises the reason otherwise */
const tg_backend *tgL_cuda_backend(lua_State *L, tg_ctx *c, const char *dev) {
  if (!dev) dev = "cuda";
  cuda_lib *lib = cuda_get(L, c);
  if (lib->state != 1) luaL_error(L, "device '%s' is not available: %s", dev, lib->why);
  if (strcmp(dev, "cuda") != 0 && strcmp(dev, "cuda:0") != 0)
    luaL_error(L, "device '%s' is not available: tgrad uses one CUDA device, cuda:0", dev);
  if (c->device_backend) return c->device_backend;
  char why[400] = "";
  const tg_backend *be = lib->open(c, 0, why, sizeof why);
  if (!be) luaL_error(L, "CUDA initialization failed: %s", why);
  return be;
}

/* device strings: "cuda", "cuda:N" (1 device supported: N = 0) */
int tgL_is_cuda_device(const char *dev) { return dev && (!strcmp(dev, "cuda") || !strncmp(dev, "cuda:", 5)); }

static int l_is_available(lua_State *L) {
  cuda_lib *lib = cuda_get(L, tgL_ctx(L));
  lua_pushboolean(L, lib->state == 1);
  return 1;
}

static int l_unavailable_reason(lua_State *L) {
  cuda_lib *lib = cuda_get(L, tgL_ctx(L));
  if (lib->state == 1) lua_pushnil(L);
  else lua_pushstring(L, lib->why);
  return 1;
}

static int l_device_count(lua_State *L) {
  cuda_lib *lib = cuda_get(L, tgL_ctx(L));
  lua_pushinteger(L, lib->state == 1 ? lib->count : 0);
  return 1;
}

static int l_stat(lua_State *L, int which) {
  tg_ctx *c = tgL_ctx(L);
  cuda_lib *lib = cuda_get(L, c);
  size_t st[3] = {0, 0, 0};
  if (lib->state == 1 && c->device_backend) lib->stats(c, st);
  lua_pushinteger(L, (lua_Integer)st[which]);
  return 1;
}
static int l_memory_allocated(lua_State *L) { return l_stat(L, 0); }
static int l_max_memory_allocated(lua_State *L) { return l_stat(L, 1); }
static int l_memory_reserved(lua_State *L) { return l_stat(L, 2); }

static int l_empty_cache(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  cuda_lib *lib = cuda_get(L, c);
  if (lib->state == 1 && c->device_backend) lib->empty_cache(c);
  return 0;
}

static int l_synchronize(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  tgL_cuda_backend(L, c, NULL);
  cuda_lib *lib = cuda_get(L, c);
  if (lib->sync(c) < 0) return tgL_raise(L, c);
  return 0;
}

/* the tensor at idx readable by the host: itself on the cpu, else a cpu copy that replaces it on the stack */
tg_tensor *tgL_check_host(lua_State *L, int idx) {
  tg_tensor *t = tgL_check(L, idx);
  if (tg_on_cpu(t)) return t;
  tg_ctx *c = tgL_ctx(L);
  idx = lua_absindex(L, idx);
  tgL_push(L, c, tg_to_backend(c, t, &tg_cpu_backend));
  lua_replace(L, idx);
  return tgL_check(L, idx);
}

void tgL_register_cuda(lua_State *L, int ctxi, int module, int methods) {
  static const luaL_Reg fns[] = {{"_cuda_is_available", l_is_available},
                                 {"_cuda_unavailable_reason", l_unavailable_reason},
                                 {"_cuda_device_count", l_device_count},
                                 {"_cuda_memory_allocated", l_memory_allocated},
                                 {"_cuda_max_memory_allocated", l_max_memory_allocated},
                                 {"_cuda_memory_reserved", l_memory_reserved},
                                 {"_cuda_empty_cache", l_empty_cache},
                                 {"_cuda_synchronize", l_synchronize},
                                 {NULL, NULL}};
  (void)methods; /* t:cuda(), t:cpu(), t:to("cuda") are in tensor.c */
  tgL_setfuncs(L, module, ctxi, fns);
}
