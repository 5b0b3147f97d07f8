/* benchclock: a monotonic wall clock for the Lua benchmarks (Lua 5.4 has
 * only os.clock, which is CPU time summed over all threads). */
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

int luaopen_benchclock(lua_State *L) {
  lua_newtable(L);
  lua_pushcfunction(L, now);
  lua_setfield(L, -2, "now");
  return 1;
}
