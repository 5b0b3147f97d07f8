/* tgrad.h: the public C API for host programs that embed Lua.
 *
 *   luaL_requiref(L, "tgrad", luaopen_tgrad, 0);   -- whole API, Lua parts included
 */
#ifndef TGRAD_H
#define TGRAD_H

#include <lua.h>

#ifdef __cplusplus
extern "C" {
#endif

int luaopen_tgrad(lua_State *L);

#ifdef __cplusplus
}
#endif

#endif
