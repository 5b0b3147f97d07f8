/* fuzz_parser.c: a libFuzzer target for tg.tensor's nested-table parser
 * (src/binding/creation.c). The input bytes describe a Lua value:
 *   '[' ... ']'  a table (a list of the values inside)
 *   '0'..'9'     an integer; '.' a float (1.5); 'n' nan; 'i' inf; '-' -0.0
 *   't' 'f'      true, false; 's' a string; 'T' a 1-element tensor; 'E' {} with a key
 *   'L' + 8 bytes  a table whose __len claims that (little-endian int64) length,
 *                  its __index answering a 1-element table
 *   'M'          a metatable-free table of 1000 ones (wide rows)
 * and the first byte the dtype (float32, float64, int64, bool, none) and
 * requires_grad. Any Lua error is fine; a crash or a sanitizer report is a
 * finding. Build and run: make fuzz-parser (clang). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "tgrad.h"

static lua_State *L;

typedef struct { const uint8_t *p, *end; int nodes; } reader;

static int claimed_len(lua_State *S) {
  lua_pushinteger(S, (lua_Integer)lua_tointeger(S, lua_upvalueindex(1)));
  return 1;
}

static int claimed_index(lua_State *S) {
  lua_createtable(S, 1, 0);
  lua_pushinteger(S, 1);
  lua_rawseti(S, -2, 1);
  return 1;
}

static void push_value(reader *r, int depth);

static void push_table(reader *r, int depth) {
  lua_newtable(L);
  lua_Integer n = 0;
  while (r->p < r->end && *r->p != ']' && r->nodes < 4096) {
    push_value(r, depth + 1);
    lua_rawseti(L, -2, ++n);
  }
  if (r->p < r->end) r->p++; /* ']' */
}

static void push_value(reader *r, int depth) {
  r->nodes++;
  if (r->p >= r->end || depth > 24) {
    lua_pushinteger(L, 1);
    return;
  }
  uint8_t b = *r->p++;
  switch (b) {
    case '[': push_table(r, depth); break;
    case '.': lua_pushnumber(L, 1.5); break;
    case 'n': lua_pushnumber(L, 0.0 / 0.0); break;
    case 'i': lua_pushnumber(L, 1.0 / 0.0); break;
    case '-': lua_pushnumber(L, -0.0); break;
    case 't': lua_pushboolean(L, 1); break;
    case 'f': lua_pushboolean(L, 0); break;
    case 's': lua_pushstring(L, "x"); break;
    case 'T': luaL_dostring(L, "return require('tgrad').ones(1)"); break;
    case 'E':
      lua_newtable(L);
      lua_pushinteger(L, 1);
      lua_setfield(L, -2, "k");
      break;
    case 'M':
      lua_createtable(L, 1000, 0);
      for (int i = 1; i <= 1000; i++) lua_pushinteger(L, 1), lua_rawseti(L, -2, i);
      break;
    case 'L': {
      int64_t v = 0;
      for (int k = 0; k < 8; k++) v |= (int64_t)(r->p < r->end ? *r->p++ : 0) << (8 * k);
      lua_newtable(L);
      lua_createtable(L, 0, 2);
      lua_pushinteger(L, (lua_Integer)v);
      lua_pushcclosure(L, claimed_len, 1);
      lua_setfield(L, -2, "__len");
      lua_pushcfunction(L, claimed_index);
      lua_setfield(L, -2, "__index");
      lua_setmetatable(L, -2);
      break;
    }
    default:
      if (b >= '0' && b <= '9') lua_pushinteger(L, b - '0');
      else lua_pushinteger(L, (lua_Integer)(int8_t)b);
  }
}

static int run(lua_State *S) {
  reader *r = lua_touserdata(S, 1);
  uint8_t head = r->p < r->end ? *r->p++ : 0;
  lua_getglobal(S, "tg");
  lua_getfield(S, -1, "tensor");
  push_value(r, 0);
  static const char *dtypes[] = {"float32", "float64", "int64", "bool"};
  int nargs = 1;
  if (head % 5 != 4 || head & 8) {
    lua_newtable(S);
    if (head % 5 != 4) lua_pushstring(S, dtypes[head % 5]), lua_setfield(S, -2, "dtype");
    if (head & 8) lua_pushboolean(S, 1), lua_setfield(S, -2, "requires_grad");
    nargs = 2;
  }
  lua_call(S, nargs, 1);
  lua_getfield(S, -1, "sum"); /* touch every element */
  lua_pushvalue(S, -2);
  lua_call(S, 1, 1);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!L) {
    L = luaL_newstate();
    luaL_openlibs(L);
    luaL_requiref(L, "tgrad", luaopen_tgrad, 0);
    lua_setglobal(L, "tg");
    tgrad_set_memory_limit(L, (size_t)64 << 20);
  }
  reader r = {data, data + size, 0};
  lua_pushcfunction(L, run);
  lua_pushlightuserdata(L, &r);
  lua_pcall(L, 1, 0, 0); /* errors are fine */
  lua_settop(L, 0);
  lua_gc(L, LUA_GCSTEP, 0);
  return 0;
}
