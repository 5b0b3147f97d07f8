/* memory.c (binding): the host keeps control. How tensor memory drives Lua's
 * collector (tg.set_gc_policy), a cap on tensor memory (tg.set_memory_limit),
 * the host's allocator hook (tgrad.h), the thread count (tg.set_num_threads),
 * and a failing allocator for the allocation-failure tests.
 *
 * The collector policy. Lua cannot see tensor bytes (they live outside its
 * heap), so every byte of tensor memory allocated is reported to it as Lua
 * debt: after each `step` bytes (256 KiB by default) gc_step_now runs one
 * incremental step, lua_gc(LUA_GCSTEP, kb), sized by the bytes allocated
 * since the last one times `scale`. Garbage tensors are then reclaimed at the
 * pace Lua's own pause/stepmul settings give its own objects: no forced full
 * collection, however large the host's heap. A stopped collector
 * (collectgarbage("stop")) is left stopped. The one full collection tgrad
 * runs itself is on an allocation failure (or a pass over the memory limit),
 * followed by one retry; under a generational collector it also runs the major
 * collection Lua would run had it seen the tensor bytes (gen_major below). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../tgrad.h"
#include "binding.h"

/* per box: the tensor struct and its share of the storage and node structs
 * (tiny tensors are mostly bookkeeping; counting only data bytes would let
 * millions of them pile up under a large Lua heap) */
#define TG_BOX_COST (sizeof(tg_tensor) + sizeof(tg_storage) + 128)

static void gc_step_now(lua_State *L, tg_ctx *c);

/* mem: the step runs here, when the next tensor box is about to be made (tgL_newbox
 * calls this before creating it), not at the end of the op that allocated: in a
 * loop `local c = a + b` the previous result is then the only one still alive at
 * a step, so each box lives through one young collection of a generational
 * collector, not two, and dies young (cheaply) instead of becoming old garbage
 * that only a full collection frees. */
/* A generational collector (the default of the lua5.4 interpreter) answers a step
 * with a minor collection, which frees young boxes only: a tensor that outlived two
 * minors (an activation kept for backward) waits for a major, and Lua starts one
 * when its own heap has doubled, which tensor bytes never make it do. So the live
 * tensor bytes get a rule like Lua's for its heap: past 1.25 times their value after
 * the last major (and at least GEN_FLOOR, and the Lua heap, more: a major walks the
 * whole heap), one major. (Twice, Lua's own factor, let a resnet18's 46 MB of weights
 * hold 46 MB of dead activations: more than the block cache keeps, so fresh pages.) Switching to incremental and back is how the C API runs one:
 * lua_gc(LUA_GCGEN) from incremental is Lua's own major (enterinc + entergen), and
 * the switch also tells the mode: under an incremental collector nothing is forced
 * (its steps already finish cycles). */
#define GEN_FLOOR ((size_t)16 << 20)

static void gen_major(lua_State *L, tg_ctx *c) {
  size_t base = c->gc_major_base, grow = base / 4 > GEN_FLOOR ? base / 4 : GEN_FLOOR;
  size_t heap = (size_t)lua_gc(L, LUA_GCCOUNT) << 10;
  if (heap > grow) grow = heap;
  grow = (size_t)((double)grow * 4.0 / c->gc.scale);
  if (c->live_bytes <= base + grow) return;
  if (lua_gc(L, LUA_GCINC, 0, 0, 0) == LUA_GCGEN) {
    lua_gc(L, LUA_GCGEN, 0, 0);
    c->gc_majors++;
  }
  c->gc_major_base = c->live_bytes;
}

void tgL_gc_account(lua_State *L, tg_ctx *c) {
  c->alloc_pending += TG_BOX_COST;
  if (c->alloc_pending >= c->gc.min_step) gc_step_now(L, c);
}

static void gc_step_now(lua_State *L, tg_ctx *c) {
  if (c->alloc_pending < c->gc.min_step) return;
  size_t debt = c->alloc_pending;
  c->alloc_pending = 0;
  if (!c->gc.enabled || !lua_gc(L, LUA_GCISRUNNING)) return;
  double kb = (double)debt * c->gc.scale / 1024.0;
  if (kb < 1) return;
  int cycle_done = lua_gc(L, LUA_GCSTEP, kb > INT_MAX / 2 ? INT_MAX / 2 : (int)kb);
  c->gc.steps++;
  if (cycle_done) return;
  gen_major(L, c); /* cnn: a major under a generational collector (above) */
}

static void oom_collect(tg_ctx *c, size_t nbytes) {
  (void)nbytes;
  lua_State *M = (lua_State *)c->host_L;
  if (!M) return;
  char saved[TG_ERR_MAX]; /* finalizers may run tgrad and overwrite the error text */
  memcpy(saved, c->err, sizeof saved);
  if (lua_gc(M, LUA_GCCOLLECT) == 0) c->gc.full_collections++;
  memcpy(c->err, saved, sizeof saved);
}

static tg_ctx *state_ctx(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, TG_CTX_KEY) != LUA_TUSERDATA) {
    lua_pop(L, 1);
    return NULL;
  }
  tg_ctx *c = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return c;
}

/* ---- the allocator hook */
static tg_host_alloc *host_alloc_new(void *(*alloc)(void *, size_t), void (*fr)(void *, void *, size_t), void *ud,
                                     size_t total) {
  tg_host_alloc *a = calloc(1, total);
  if (!a) return NULL;
  a->refs = 1;
  a->alloc = alloc;
  a->free = fr;
  a->ud = ud;
  return a;
}

static void set_host_alloc(tg_ctx *c, tg_host_alloc *a) {
  tg_host_alloc_unref(c->host_alloc);
  c->host_alloc = a;
}

int tgrad_set_allocator(lua_State *L, const tgrad_allocator *a) {
  tg_ctx *c = state_ctx(L);
  if (!c) return -1;
  if (!a || !a->alloc || !a->free) {
    set_host_alloc(c, NULL);
    return 0;
  }
  tg_host_alloc *h = host_alloc_new(a->alloc, a->free, a->ud, sizeof *h);
  if (!h) return -1;
  set_host_alloc(c, h);
  return 0;
}

size_t tgrad_memory_allocated(lua_State *L) {
  tg_ctx *c = state_ctx(L);
  return c ? c->live_bytes : 0;
}

int tgrad_set_memory_limit(lua_State *L, size_t bytes) {
  tg_ctx *c = state_ctx(L);
  if (!c) return -1;
  c->mem_limit = bytes;
  return 0;
}

/* ---- the failing allocator of the tests: malloc, except that allocations
 * number fail_at .. fail_at + fail_n - 1 (1-based, counted from installation)
 * fail; it counts what is outstanding so that a test can see every block
 * come back */
typedef struct test_alloc {
  tg_host_alloc base; /* first: freed with it when the last storage goes */
  int64_t count, fail_at, fail_n, failed, live_blocks;
  size_t live_bytes;
} test_alloc;

static void *test_alloc_fn(void *ud, size_t n) {
  test_alloc *t = ud;
  ++t->count;
  if (t->fail_at > 0 && t->count >= t->fail_at && t->count - t->fail_at < t->fail_n) {
    t->failed++;
    return NULL;
  }
  void *p = NULL;
  if (posix_memalign(&p, 64, n) != 0) return NULL;
  t->live_blocks++;
  t->live_bytes += n;
  return p;
}

static void test_free_fn(void *ud, void *p, size_t n) {
  test_alloc *t = ud;
  t->live_blocks--;
  t->live_bytes -= n;
  free(p);
}

static test_alloc *current_test_alloc(tg_ctx *c) {
  return c->host_alloc && c->host_alloc->alloc == test_alloc_fn ? (test_alloc *)c->host_alloc : NULL;
}

static int push_test_stats(lua_State *L, test_alloc *t) {
  if (!t) {
    lua_pushnil(L);
    return 1;
  }
  lua_createtable(L, 0, 5);
  lua_pushinteger(L, t->count), lua_setfield(L, -2, "count");
  lua_pushinteger(L, t->failed), lua_setfield(L, -2, "failed");
  lua_pushinteger(L, t->live_blocks), lua_setfield(L, -2, "live_blocks");
  lua_pushinteger(L, (lua_Integer)t->live_bytes), lua_setfield(L, -2, "live_bytes");
  lua_pushinteger(L, t->fail_at), lua_setfield(L, -2, "fail_at");
  return 1;
}

/* tg._test_allocator(n [, count]): install the failing allocator: allocations
 * n .. n+count-1 fail (count: all the following ones by default; n = 0: none
 * fails). A single failure is recovered by the collect-and-retry of
 * tg_storage_new; count = 1 tests that. tg._test_allocator(false): the
 * default allocator again. Returns the stats of the one installed before. */
static int f_test_allocator(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  test_alloc *prev = current_test_alloc(c);
  push_test_stats(L, prev);
  if (lua_toboolean(L, 1) == 0 && !lua_isinteger(L, 1)) {
    set_host_alloc(c, NULL);
    return 1;
  }
  lua_Integer n = luaL_checkinteger(L, 1);
  test_alloc *t = (test_alloc *)host_alloc_new(test_alloc_fn, test_free_fn, NULL, sizeof *t);
  if (!t) return luaL_error(L, "out of memory");
  t->base.ud = t;
  t->fail_at = n;
  t->fail_n = luaL_optinteger(L, 2, INT64_MAX);
  set_host_alloc(c, &t->base);
  return 1;
}

static int f_test_allocator_stats(lua_State *L) { return push_test_stats(L, current_test_alloc(tgL_ctx(L))); }

/* ---- Lua API */
static int f_memory_allocated(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)tgL_ctx(L)->live_bytes);
  return 1;
}

static int f_max_memory_allocated(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)tgL_ctx(L)->mem_peak);
  return 1;
}

static int f_reset_peak_memory_stats(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  c->mem_peak = c->live_bytes;
  return 0;
}

static int f_set_memory_limit(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  if (lua_isnoneornil(L, 1) || (lua_isboolean(L, 1) && !lua_toboolean(L, 1))) {
    c->mem_limit = 0;
    return 0;
  }
  int isnum;
  lua_Integer n = lua_tointegerx(L, 1, &isnum);
  if (!isnum) {
    lua_Number x = lua_tonumberx(L, 1, &isnum);
    if (!isnum || x != x || x < 0)
      return luaL_error(L, "bad argument #1 to 'set_memory_limit' (a number of bytes >= 0 or nil expected, got %s)",
                        luaL_typename(L, 1));
    n = x >= 0x1p62 ? (lua_Integer)1 << 62 : (lua_Integer)x;
  }
  if (n < 0) return luaL_error(L, "bad argument #1 to 'set_memory_limit' (a number of bytes >= 0 expected, got %I)", n);
  c->mem_limit = (size_t)n;
  return 0;
}

static int f_get_memory_limit(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  if (c->mem_limit) lua_pushinteger(L, (lua_Integer)c->mem_limit);
  else lua_pushnil(L);
  return 1;
}

static int push_policy(lua_State *L, tg_ctx *c) {
  lua_createtable(L, 0, 6);
  lua_pushboolean(L, c->gc.enabled), lua_setfield(L, -2, "enabled");
  lua_pushnumber(L, c->gc.scale), lua_setfield(L, -2, "scale");
  lua_pushinteger(L, (lua_Integer)c->gc.min_step), lua_setfield(L, -2, "step");
  lua_pushinteger(L, (lua_Integer)c->gc.steps), lua_setfield(L, -2, "steps");
  lua_pushinteger(L, (lua_Integer)c->gc.full_collections), lua_setfield(L, -2, "full_collections");
  lua_pushinteger(L, (lua_Integer)c->gc_majors), lua_setfield(L, -2, "majors");
  return 1;
}

static int f_get_gc_policy(lua_State *L) { return push_policy(L, tgL_ctx(L)); }

/* tg.set_gc_policy{enabled =, scale =, step =}: returns the previous policy */
static int f_set_gc_policy(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  tgL_check_keys(L, 1, "set_gc_policy", "enabled scale step steps full_collections majors");
  push_policy(L, c);
  bool enabled = c->gc.enabled;
  double scale = c->gc.scale;
  lua_Integer step = (lua_Integer)c->gc.min_step;
  if (lua_getfield(L, 1, "enabled") != LUA_TNIL) {
    if (!lua_isboolean(L, -1)) return luaL_error(L, "set_gc_policy(): 'enabled' must be a boolean, not %s", luaL_typename(L, -1));
    enabled = lua_toboolean(L, -1);
  }
  if (lua_getfield(L, 1, "scale") != LUA_TNIL) {
    int ok;
    scale = lua_tonumberx(L, -1, &ok);
    if (!ok || !(scale >= 0) || scale > 1e6)
      return luaL_error(L, "set_gc_policy(): 'scale' must be a number in [0, 1e6]");
  }
  if (lua_getfield(L, 1, "step") != LUA_TNIL) {
    int ok;
    step = lua_tointegerx(L, -1, &ok);
    if (!ok || step < 1024 || step > ((lua_Integer)1 << 40))
      return luaL_error(L, "set_gc_policy(): 'step' must be an integer number of bytes in [1024, 2^40]");
  }
  c->gc.enabled = enabled;
  c->gc.scale = scale;
  c->gc.min_step = (size_t)step;
  lua_settop(L, 2);
  return 1;
}

static int f_set_num_threads(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  int isnum;
  lua_Integer n = lua_tointegerx(L, 1, &isnum);
  if (!isnum)
    return luaL_error(L, "bad argument #1 to 'set_num_threads' (an integer expected, got %s)",
                      lua_type(L, 1) == LUA_TNUMBER ? "a float" : luaL_typename(L, 1));
  if (n < 1 || n > TG_MAX_THREADS)
    return luaL_error(L, "set_num_threads(): the number of threads must be between 1 and %d, got %I", TG_MAX_THREADS, n);
  c->num_threads = (int)n;
  return 0;
}

static int f_get_num_threads(lua_State *L) {
  lua_pushinteger(L, tgL_ctx(L)->num_threads);
  return 1;
}

const char tgL_methods_key = 0;
const char tgL_ctx_key = 0;

void tgL_register_host(lua_State *L, int ctxi, int module, int methods) {
  tg_ctx *c = lua_touserdata(L, ctxi);
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  c->host_L = lua_tothread(L, -1);
  lua_pop(L, 1);
  c->oom_hook = oom_collect;
  lua_pushlightuserdata(L, c); /* for tgL_newbox's accounting (the context outlives every box) */
  lua_rawsetp(L, LUA_REGISTRYINDEX, &tgL_ctx_key);
  lua_pushvalue(L, methods); /* for the "t.method()" hint of tgL_check */
  lua_rawsetp(L, LUA_REGISTRYINDEX, &tgL_methods_key);
  static const luaL_Reg fns[] = {
      {"memory_allocated", f_memory_allocated}, {"max_memory_allocated", f_max_memory_allocated},
      {"reset_peak_memory_stats", f_reset_peak_memory_stats}, {"set_memory_limit", f_set_memory_limit},
      {"get_memory_limit", f_get_memory_limit}, {"set_gc_policy", f_set_gc_policy},
      {"get_gc_policy", f_get_gc_policy}, {"set_num_threads", f_set_num_threads},
      {"get_num_threads", f_get_num_threads}, {"_test_allocator", f_test_allocator},
      {"_test_allocator_stats", f_test_allocator_stats}, {NULL, NULL}};
  tgL_setfuncs(L, module, ctxi, fns);
}
