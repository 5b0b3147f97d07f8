/* benchclock: a monotonic wall clock for the Lua benchmarks (Lua 5.4 has
 * only os.clock, which is CPU time summed over all threads), and the floor
 * of a C call for bench/per_op.lua: empty C functions called the ways
 * tgrad's ops are (a plain function, a method through a metatable's __index
 * table, the __add metamethod of a userdata), and one that makes a userdata
 * with a metatable and a __gc (the least an allocating op can cost). */
#define _POSIX_C_SOURCE 199309L
#include <time.h>
#include <lua.h>
#include <lauxlib.h>

static int now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec);
  return 1;
}

static int noop(lua_State *L) {
  (void)L;
  return 0;
}

/* returns its first argument: what __add has to return at the least */
static int noop_ret(lua_State *L) {
  lua_settop(L, 1);
  return 1;
}

static int gc_noop(lua_State *L) {
  *(void **)lua_touserdata(L, 1) = NULL;
  return 0;
}

/* a new boxed pointer with the probe metatable (upvalue 1): a tensor box's shape */
static int newbox(lua_State *L) {
  void **p = lua_newuserdatauv(L, sizeof(void *), 0);
  *p = NULL;
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_setmetatable(L, -2);
  return 1;
}

int luaopen_benchclock(lua_State *L) {
  lua_newtable(L);
  lua_pushcfunction(L, now);
  lua_setfield(L, -2, "now");
  lua_pushcfunction(L, noop);
  lua_setfield(L, -2, "noop");
  /* the probe metatable: {__index = {noop = noop, newbox = newbox}, __add = noop_ret, __gc = gc_noop} */
  lua_newtable(L);                 /* mt */
  lua_newtable(L);                 /* methods */
  lua_pushcfunction(L, noop);
  lua_setfield(L, -2, "noop");
  lua_pushvalue(L, -2);
  lua_pushcclosure(L, newbox, 1);
  lua_setfield(L, -2, "newbox");
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, noop_ret);
  lua_setfield(L, -2, "__add");
  lua_pushcfunction(L, gc_noop);
  lua_setfield(L, -2, "__gc");
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, newbox, 1);
  lua_setfield(L, -3, "newbox");   /* clk.newbox(): a probe userdata */
  lua_pop(L, 1);
  return 1;
}
