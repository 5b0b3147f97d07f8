/* host_threads.c: several lua_States in several threads, each with its own
 * thread count (tg.set_num_threads 1, 2, 3, 4), all doing matrix products
 * through OpenBLAS at once, for 8 rounds. OpenBLAS's thread count is one
 * process-wide setting: tgrad sets it and runs the product under one
 * process-wide lock, so the states take turns instead of crashing OpenBLAS.
 * Every product is checked against a reference computed in plain Lua.
 * Build and run: make host-example (built from the installed tgrad.h,
 * libtgrad.a and tgrad.pc) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lualib.h>

#include "tgrad.h"

#define NSTATES 4
#define ROUNDS 8

static const char *script =
    "local tg = require 'tgrad'\n"
    "local nt = ...\n"
    "tg.set_num_threads(nt)\n"
    "tg.manual_seed(nt)\n"
    "for i = 1, 30 do\n"
    "  local n = 32 + 7 * ((i + nt) % 9)\n"
    "  local a = tg.randn(n, n + 3, {dtype = tg.float64})\n"
    "  local b = tg.randn(n + 3, n - 1, {dtype = tg.float64})\n"
    "  local c = a:mm(b)\n"
    "  local cf = a:float():mm(b:float())\n"
    "  local r, cidx = (i % n) + 1, (i % (n - 1)) + 1\n"
    "  local ref = 0\n"
    "  for k = 1, n + 3 do ref = ref + a[r][k]:item() * b[k][cidx]:item() end\n"
    "  assert(math.abs(c[r][cidx]:item() - ref) < 1e-9, 'float64 gemm differs')\n"
    "  assert(math.abs(cf[r][cidx]:item() - ref) < 1e-3 * (1 + math.abs(ref)), 'float32 gemm differs')\n"
    "  assert(tg.get_num_threads() == nt)\n"
    "end\n"
    "return tg.memory_allocated()\n";

typedef struct job {
  int threads, rc;
} job;

static void *worker(void *arg) {
  job *j = arg;
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_tgrad);
  lua_setfield(L, -2, "tgrad");
  lua_pop(L, 1);
  j->rc = 1;
  if (luaL_loadstring(L, script) == LUA_OK) {
    lua_pushinteger(L, j->threads);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK) j->rc = 0;
    else fprintf(stderr, "state with %d threads: %s\n", j->threads, lua_tostring(L, -1));
  }
  lua_close(L);
  return NULL;
}

int main(void) {
  int clean = 0;
  for (int round = 0; round < ROUNDS; round++) {
    job jobs[NSTATES];
    pthread_t th[NSTATES];
    for (int i = 0; i < NSTATES; i++) {
      jobs[i].threads = i + 1;
      pthread_create(&th[i], NULL, worker, &jobs[i]);
    }
    int bad = 0;
    for (int i = 0; i < NSTATES; i++) {
      pthread_join(th[i], NULL);
      bad |= jobs[i].rc;
    }
    clean += !bad;
  }
  printf("host_threads: %d states x %d rounds, thread counts 1..%d: %d/%d rounds clean\n", NSTATES, ROUNDS, NSTATES,
         clean, ROUNDS);
  return clean == ROUNDS ? 0 : 1;
}
