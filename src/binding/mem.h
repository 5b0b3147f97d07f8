/* mem.h (binding, helper mem): out= and tg.scope (issue 11, buffers reused as soon
 * as they are dead). out.c parses out=; scope.c keeps the scopes. */
#ifndef TG_BINDING_MEM_H
#define TG_BINDING_MEM_H
#include "binding.h"

/* hooks of ops.c's unary/binary dispatch: when the options table at 2 (unary) or 3
 * (binary) holds `out`, do the op into it and return 1 (out pushed); otherwise
 * return -1 and the caller goes on as before */
int tgL_out_unary(lua_State *L, tg_op op);
int tgL_out_binary(lua_State *L, tg_op op);
/* tg.X wrapped to take {out = t} for the other functional ops; tg.scope */
void tgL_register_mem(lua_State *L, int ctxi, int module, int methods);

void tgL_register_out(lua_State *L, int ctxi, int module);   /* out.c */
void tgL_register_scope(lua_State *L, int ctxi, int module); /* scope.c */

/* scope.c: the new box at the top of the stack joins the innermost open scope
 * (called by tgL_newbox while c->mem_scopes > 0) */
void tgL_scope_track(lua_State *L);
/* the message for a box released by a scope (NULL: it was not) */
const char *tgL_scope_freed_message(lua_State *L, int idx);
#endif
