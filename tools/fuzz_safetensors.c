/* fuzz_safetensors.c: a libFuzzer target for tg.load's safetensors reader
 * (src/binding/safetensors.c). The input bytes are the file: written to a
 * temporary file (in /dev/shm when there is one), then read back with
 * tg.load(path) and, when that succeeds, written again with tg.save. Any Lua
 * error is fine; a crash, a hang or a sanitizer report is a finding. Seeds:
 * spec/fixtures/safetensors/. Build and run: make fuzz-safetensors (clang). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "tgrad.h"

static lua_State *L;
static char path[64];

static const char *roundtrip =
    "local tg, path = ...\n"
    "local t, meta = tg.load(path)\n"
    "if type(t) == 'table' and not tg.is_tensor(t) then\n"
    "  for _, v in pairs(t) do local _ = v:sum() end\n"
    "end\n"
    "tg.save(path .. '.out', t, meta)\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!L) {
    L = luaL_newstate();
    luaL_openlibs(L);
    luaL_requiref(L, "tgrad", luaopen_tgrad, 0);
    lua_pop(L, 1);
    tgrad_set_memory_limit(L, (size_t)64 << 20);
    snprintf(path, sizeof path, "%s/tgrad-fuzz-st-%d", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
             (int)getpid());
  }
  FILE *f = fopen(path, "wb");
  if (!f) abort();
  if (size && fwrite(data, 1, size, f) != size) abort();
  fclose(f);
  if (luaL_loadstring(L, roundtrip) != LUA_OK) abort();
  lua_getglobal(L, "require");
  lua_pushstring(L, "tgrad");
  lua_call(L, 1, 1);
  lua_pushstring(L, path);
  lua_pcall(L, 2, 0, 0); /* errors are fine */
  lua_settop(L, 0);
  lua_gc(L, LUA_GCSTEP, 0);
  return 0;
}
