/* host.c: a C program that embeds Lua and links tgrad statically.
 * It hands its own buffer to Lua as a tensor (no copy), lets a script train
 * on it, and reads the result back from C. Two lua_States run side by side,
 * each with its own tgrad context, its own allocator (the host counts every
 * tensor byte) and a memory limit. Build and run: make host-example */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lualib.h>

#include "tgrad.h"

static void release_buffer(void *ud, void *data) {
  (void)data;
  int *released = ud;
  (*released)++;
}

/* the host's allocator for tensor memory: counts what is outstanding */
typedef struct counting {
  long blocks, total;
  size_t bytes;
} counting;

static void *count_alloc(void *ud, size_t n) {
  counting *k = ud;
  void *p = NULL;
  if (posix_memalign(&p, 64, n) != 0) return NULL;
  k->blocks++, k->total++, k->bytes += n;
  return p;
}

static void count_free(void *ud, void *p, size_t n) {
  counting *k = ud;
  k->blocks--, k->bytes -= n;
  free(p);
}

static const char *script =
    "local tg = require 'tgrad'\n"
    "local x = ...                                  -- the host's buffer, no copy\n"
    "local w = tg.zeros(3, {dtype = tg.float64, requires_grad = true})\n"
    "for _ = 1, 200 do\n"
    "  local loss = ((x - w) ^ 2):sum()\n"
    "  loss:backward()\n"
    "  tg.no_grad(function() w:sub_(w.grad * 0.1) end)\n"
    "  w.grad = nil\n"
    "end\n"
    "x[1] = 10                                      -- writes through to the host\n"
    "tg.set_memory_limit(tg.memory_allocated() + 4096)\n"
    "assert(not pcall(tg.zeros, 100000))             -- past the limit: a Lua error\n"
    "tg.set_memory_limit(nil)\n"
    "return w:detach()\n";

static int run(lua_State *L, double *buf, int *released, counting *k) {
  luaL_openlibs(L);
  /* statically linked: make require "tgrad" find it (package.preload) */
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_tgrad);
  lua_setfield(L, -2, "tgrad");
  lua_pop(L, 1);
  if (luaL_dostring(L, "require 'tgrad'") != LUA_OK) return fprintf(stderr, "%s\n", lua_tostring(L, -1)), 1;
  tgrad_allocator a = {count_alloc, count_free, k};
  if (tgrad_set_allocator(L, &a) != 0) return fprintf(stderr, "tgrad_set_allocator failed\n"), 1;
  if (luaL_loadstring(L, script) != LUA_OK) return fprintf(stderr, "%s\n", lua_tostring(L, -1)), 1;
  int64_t size[1] = {3};
  tgrad_push_wrapped(L, buf, TGRAD_FLOAT64, 1, size, release_buffer, released);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) return fprintf(stderr, "%s\n", lua_tostring(L, -1)), 1;
  tgrad_view v;
  if (tgrad_view_of(L, -1, &v) != 0 || v.dtype != TGRAD_FLOAT64 || v.ndim != 1 || v.size[0] != 3)
    return fprintf(stderr, "unexpected result\n"), 1;
  const double *w = v.data;
  printf("w = [%.4f, %.4f, %.4f], host buffer[0] = %.1f\n", w[0], w[1], w[2], buf[0]);
  int ok = w[0] > 0.99 && w[0] < 1.01 && w[2] > 2.99 && w[2] < 3.01 && buf[0] == 10;
  return ok ? 0 : 1;
}

typedef struct job {
  double buf[3];
  int released, rc;
  counting k;
} job;

/* one thread, one lua_State, from creation to close */
static void *worker(void *arg) {
  job *j = arg;
  lua_State *L = luaL_newstate();
  j->rc = run(L, j->buf, &j->released, &j->k);
  lua_close(L);
  if (j->k.total == 0 || j->k.blocks != 0 || j->k.bytes != 0) {
    fprintf(stderr, "host allocator: %ld allocations, %ld blocks (%zu bytes) not freed\n", j->k.total, j->k.blocks,
            j->k.bytes);
    j->rc = 1;
  }
  return NULL;
}

int main(void) {
  job jobs[2] = {{{1, 2, 3}, 0, 0, {0, 0, 0}}, {{1, 2, 3}, 0, 0, {0, 0, 0}}};
  pthread_t th[2];
  for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, worker, &jobs[i]);
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  printf("release callbacks: %d %d; host allocator: %ld and %ld tensor allocations, all freed\n", jobs[0].released,
         jobs[1].released, jobs[0].k.total, jobs[1].k.total);
  return jobs[0].rc || jobs[1].rc || jobs[0].released != 1 || jobs[1].released != 1;
}
