/* term.c (binding): tg._isatty(fd_or_file) for the progress bar (drawn only
 * on a terminal): an integer file descriptor (2 = stderr) or a Lua file handle. */
#include <stdio.h>
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

void tgL_register_term(lua_State *L, int ctxi, int module) {
  static const luaL_Reg fns[] = {{"_isatty", t_isatty}, {NULL, NULL}};
  tgL_setfuncs(L, module, ctxi, fns);
}
