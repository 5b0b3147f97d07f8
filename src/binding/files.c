/* files.c (binding): registers the C helpers of tgrad's file and picture
 * layer (lua/tgrad/serialize.lua, viz.lua, utils/): safetensors.c,
 * graph_info.c, randperm.c, term.c. */
#include "binding.h"

void tgL_register_files(lua_State *L, int ctxi, int module, int methods) {
  (void)methods;
  tgL_register_safetensors(L, ctxi, module);
  tgL_register_graph_info(L, ctxi, module);
  tgL_register_randperm(L, ctxi, module);
  tgL_register_term(L, ctxi, module);
}
