/* ops_nn.c (binding): softmax, log_softmax and the losses of tg.nn.functional. */
#include "binding.h"

void tgL_register_nn(lua_State *L, int ctxi, int module, int methods) {
  static const luaL_Reg both[] = {{NULL, NULL}};
  tgL_setfuncs(L, module, ctxi, both);
  tgL_setfuncs(L, methods, ctxi, both);
}
