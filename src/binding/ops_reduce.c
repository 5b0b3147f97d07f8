/* ops_reduce.c (binding): reductions: prod max min amax amin argmax argmin var std norm logsumexp all any count_nonzero cumsum cumprod sort topk. */
#include "binding.h"

void tgL_register_reduce(lua_State *L, int ctxi, int module, int methods) {
  static const luaL_Reg both[] = {{NULL, NULL}};
  tgL_setfuncs(L, module, ctxi, both);
  tgL_setfuncs(L, methods, ctxi, both);
}
