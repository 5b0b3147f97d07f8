/* function.c (binding): autograd beyond backward: custom Functions, hooks, anomaly mode. */
#include "binding.h"

void tgL_register_function(lua_State *L, int ctxi, int module, int methods) {
  static const luaL_Reg both[] = {{NULL, NULL}};
  tgL_setfuncs(L, module, ctxi, both);
  tgL_setfuncs(L, methods, ctxi, both);
}
