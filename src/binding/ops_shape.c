/* ops_shape.c (binding): views, copies, indexing and linear algebra beyond the foundation. */
#include "binding.h"

void tgL_register_shape(lua_State *L, int ctxi, int module, int methods) {
  static const luaL_Reg both[] = {{NULL, NULL}};
  tgL_setfuncs(L, module, ctxi, both);
  tgL_setfuncs(L, methods, ctxi, both);
}
