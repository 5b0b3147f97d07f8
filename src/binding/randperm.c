/* randperm.c (binding): tg.randperm(n, {dtype, generator, requires_grad}) as
 * torch.randperm (a uniformly random permutation; 1-based values in tgrad:
 * 1..n), and tg.Generator(), a random generator of its own (torch.Generator)
 * that randperm and tgrad.utils.data take instead of the state's generator.
 * Same algorithm as the state's generator (xoshiro256** seeded by splitmix64). */
#include <stdint.h>

#include "binding.h"

#define TG_GENERATOR_MT "tgrad.Generator"
#define TG_DEFAULT_SEED 67280421310721LL /* torch's default initial seed */

typedef struct tg_generator { tg_rng rng; lua_Integer seed; } tg_generator;

static int gen_new(lua_State *L) {
  tg_generator *g = lua_newuserdatauv(L, sizeof *g, 0);
  g->seed = TG_DEFAULT_SEED;
  tg_rng_seed(&g->rng, (uint64_t)g->seed);
  luaL_setmetatable(L, TG_GENERATOR_MT);
  return 1;
}

/* g:manual_seed(n) -> g */
static int gen_manual_seed(lua_State *L) {
  tg_generator *g = luaL_checkudata(L, 1, TG_GENERATOR_MT);
  g->seed = luaL_checkinteger(L, 2);
  tg_rng_seed(&g->rng, (uint64_t)g->seed);
  lua_settop(L, 1);
  return 1;
}

static int gen_initial_seed(lua_State *L) {
  tg_generator *g = luaL_checkudata(L, 1, TG_GENERATOR_MT);
  lua_pushinteger(L, g->seed);
  return 1;
}

static int gen_tostring(lua_State *L) {
  lua_pushfstring(L, "<tgrad.Generator %p>", lua_touserdata(L, 1));
  return 1;
}

/* uniform in [0, bound) without modulo bias */
static uint64_t bounded(tg_rng *r, uint64_t bound) {
  uint64_t limit = UINT64_MAX - UINT64_MAX % bound, x;
  do x = tg_rng_next(r); while (x >= limit);
  return x % bound;
}

/* the generator of an options table's `generator` field, else the state's */
static tg_rng *opt_rng(lua_State *L, tg_ctx *c, int opts) {
  if (opts && tgL_opt_field(L, opts, "generator") != LUA_TNIL) {
    tg_generator *g = luaL_testudata(L, -1, TG_GENERATOR_MT);
    if (!g) luaL_error(L, "randperm(): generator must be a tgrad.Generator (tg.Generator()), got %s", luaL_typename(L, -1));
    lua_pop(L, 1);
    return &g->rng;
  }
  if (opts) lua_pop(L, 1);
  return &c->rng;
}

static int f_randperm(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  lua_Integer n = luaL_checkinteger(L, 1);
  if (n < 0) return luaL_error(L, "randperm(): n must be non-negative, got %I", n);
  int opts = tgL_kwargs(L, 2, "randperm", "dtype device requires_grad generator");
  tgL_check_device(L, opts);
  tg_dtype dt = tgL_opt_dtype(L, opts, TG_INT64);
  if (dt == TG_BOOL) return luaL_error(L, "randperm is not implemented for Bool");
  if (dt == TG_FLOAT32 && n > (1 << 24))
    return luaL_error(L, "n cannot be greater than 2^24+1 for Float type.");
  tg_rng *r = opt_rng(L, c, opts);
  int64_t size = n;
  tg_tensor **box = tgL_newbox(L);
  *box = tg_tensor_empty(c, TG_INT64, 1, &size);
  if (!*box) return tgL_raise(L, c);
  int64_t *p = tg_data(*box);
  for (int64_t i = 0; i < n; i++) p[i] = i + 1;
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)bounded(r, (uint64_t)i + 1), t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  if (dt != TG_INT64) {
    tg_tensor *o = tg_cast_raw(c, *box, dt);
    if (!o) return tgL_raise(L, c);
    tg_tensor_unref(*box);
    *box = o;
  }
  tgL_apply_requires_grad(L, c, opts, *box);
  return 1;
}

void tgL_register_randperm(lua_State *L, int ctxi, int module) {
  luaL_newmetatable(L, TG_GENERATOR_MT);
  lua_pushcfunction(L, gen_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_newtable(L);
  static const luaL_Reg meths[] = {{"manual_seed", gen_manual_seed}, {"initial_seed", gen_initial_seed}, {NULL, NULL}};
  tgL_setfuncs(L, -1, ctxi, meths);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  static const luaL_Reg fns[] = {{"randperm", f_randperm}, {"Generator", gen_new}, {NULL, NULL}};
  tgL_setfuncs(L, module, ctxi, fns);
}
