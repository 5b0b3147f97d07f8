/* term.c (binding): for the progress bar (drawn only on a terminal):
 * tg._isatty(fd_or_file): an integer file descriptor (2 = stderr) or a Lua file handle;
 * tg._monotonic(): seconds from a monotonic wall clock (os.clock is CPU time,
 * which runs faster than the wall with several threads). */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "binding.h"

static int t_isatty(lua_State *L) {
  int fd;
  luaL_Stream *p = luaL_testudata(L, 1, LUA_FILEHANDLE);
  if (p) {
    if (!p->closef) return lua_pushboolean(L, 0), 1;
    fd = fileno(p->f);
  } else {
    fd = (int)luaL_optinteger(L, 1, 2);
  }
  lua_pushboolean(L, fd >= 0 && isatty(fd));
  return 1;
}

static int t_monotonic(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec * 1e-9);
  return 1;
}

void tgL_register_term(lua_State *L, int ctxi, int module) {
  static const luaL_Reg fns[] = {{"_isatty", t_isatty}, {"_monotonic", t_monotonic}, {NULL, NULL}};
  tgL_setfuncs(L, module, ctxi, fns);
}
