/* creation.c (binding): tg.tensor from Lua values, zeros/ones/full/empty,
 * eye/arange/linspace, random tensors, the _like forms, manual_seed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"

#define CTX tg_ctx *c = tgL_ctx(L)

/* ---- tg.tensor(nested table | number | boolean | tensor, opts) */
typedef struct parse_state {
  int ndim;
  int64_t size[TG_MAX_DIMS];
  double *vals;
  int64_t *ivals;
  int64_t n, cap;
  bool any_float, any_number, any_bool;
  int64_t meta_budget; /* elements that tables with a metatable may still claim */
} parse_state;

/* the length of the table at idx. A plain table's length is backed by memory it
 * really holds; a table with a metatable may claim any __len and produce rows
 * from __index for ever (fuzz: a __len of 2^31 answered by __index was a hang),
 * so all such tables of one call together may claim at most 2^25 elements */
#define TG_META_BUDGET ((int64_t)1 << 25)
static lua_Integer table_len(lua_State *L, int idx, int d, parse_state *p) {
  lua_Integer len = luaL_len(L, idx);
  if (lua_getmetatable(L, idx)) {
    lua_pop(L, 1);
    if (len > 0) p->meta_budget -= len;
    if (p->meta_budget < 0)
      luaL_error(L, "tensor(): tables with metatables claim more than 2^25 elements (a __len of %I at dimension %d); "
                    "build large tensors from plain tables", len, d + 1);
  }
  return len;
}

static void parse_shape(lua_State *L, int idx, parse_state *p) {
  lua_pushvalue(L, idx);
  while (lua_istable(L, -1) && !tgL_is_tensor(L, -1)) {
    if (p->ndim == TG_MAX_DIMS) luaL_error(L, "too many dimensions");
    lua_Integer len = table_len(L, lua_gettop(L), p->ndim, p); /* __len is the table's word: checked, never trusted */
    if (len < 0) luaL_error(L, "tensor(): a table claims a negative length (%I) at dimension %d", len, p->ndim + 1);
    p->size[p->ndim++] = len;
    if (len == 0) break;
    lua_geti(L, -1, 1);
    lua_remove(L, -2);
  }
  lua_pop(L, 1);
}

/* host (fuzz_parser): a double as int64 without undefined behaviour (NaN and
 * out-of-range values give INT64_MIN, what x86's cvttsd2si and PyTorch give) */
static int64_t to_i64(double v) { return v >= -0x1p63 && v < 0x1p63 ? (int64_t)v : INT64_MIN; }

static void parse_fill(lua_State *L, int idx, int d, parse_state *p) {
  if (d == p->ndim) {
    int t = lua_type(L, idx);
    double v = 0;
    int64_t iv = 0;
    if (t == LUA_TNUMBER) {
      p->any_number = true;
      if (lua_isinteger(L, idx)) iv = lua_tointeger(L, idx), v = (double)iv;
      else p->any_float = true, v = lua_tonumber(L, idx), iv = to_i64(v);
    } else if (t == LUA_TBOOLEAN) {
      p->any_bool = true;
      v = iv = lua_toboolean(L, idx);
    } else if (tgL_is_tensor(L, idx) && tg_numel(tgL_check(L, idx)) == 1) {
      tg_tensor *s = tgL_check(L, idx);
      v = tg_get_flat(s, 0);
      iv = to_i64(v);
      if (tg_is_float(s->dtype)) p->any_float = true;
      p->any_number = true;
    } else {
      luaL_error(L, "tensor(): expected a number or a boolean at dimension %d, got %s", d + 1, luaL_typename(L, idx));
    }
    if (p->n >= p->cap) luaL_error(L, "tensor(): the table has more elements than its shape says");
    p->vals[p->n] = v;
    p->ivals[p->n] = iv;
    p->n++;
    return;
  }
  if (!lua_istable(L, idx) || tgL_is_tensor(L, idx))
    luaL_error(L, "expected sequence of length %I at dim %d (got %s)", (lua_Integer)p->size[d], d + 1, luaL_typename(L, idx));
  lua_Integer len = table_len(L, idx, d, p);
  if (len != p->size[d])
    luaL_error(L, "expected sequence of length %I at dim %d (got %I)", (lua_Integer)p->size[d], d + 1, (lua_Integer)len);
  luaL_checkstack(L, 4, "nesting too deep");
  if (len == 0) { /* {} is an empty list; {a = 1} is no list at all (PyTorch: a dict) */
    lua_pushnil(L);
    if (lua_next(L, idx)) luaL_error(L, "tensor(): could not infer the dtype of a table with non-list keys (got a %s key)", luaL_typename(L, -2));
  }
  for (lua_Integer i = 1; i <= len; i++) {
    lua_geti(L, idx, i);
    parse_fill(L, lua_gettop(L), d + 1, p);
    lua_pop(L, 1);
  }
}

static int tensor_release_buffers(lua_State *L) {
  parse_state *p = lua_touserdata(L, 1);
  free(p->vals);
  free(p->ivals);
  p->vals = NULL;
  p->ivals = NULL;
  return 0;
}

static int f_tensor(lua_State *L) {
  CTX;
  int opts = tgL_kwargs(L, 2, "tensor", "dtype device requires_grad");
  tgL_check_device(L, opts);
  if (lua_isnoneornil(L, 1)) return luaL_error(L, "tensor(): expected data (a number, boolean, table or Tensor), got nil");
  if (tgL_is_tensor(L, 1)) {
    tg_tensor *src = tgL_check(L, 1);
    tg_tensor **box = tgL_newbox(L);
    *box = tg_cast_raw(c, src, tgL_opt_dtype(L, opts, src->dtype));
    if (!*box) return tgL_raise(L, c);
    tgL_apply_requires_grad(L, c, opts, *box);
    return 1;
  }
  /* buffers live in a userdata with __close semantics via the GC */
  parse_state *p = lua_newuserdatauv(L, sizeof *p, 0);
  memset(p, 0, sizeof *p);
  p->meta_budget = TG_META_BUDGET;
  lua_newtable(L);
  lua_pushcfunction(L, tensor_release_buffers);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);

  parse_shape(L, 1, p);
  int64_t n = 1;
  for (int d = 0; d < p->ndim; d++)
    if (__builtin_mul_overflow(n, p->size[d], &n) || n > (int64_t)(SIZE_MAX / sizeof(double)))
      return luaL_error(L, "tensor(): the nested tables claim more elements than can be allocated (a __len of %I at "
                           "dimension %d)", (lua_Integer)p->size[d], d + 1);
  /* an empty result is checked by visiting every row; a table whose __len claims
   * billions of empty rows would make that a hang (fuzz: __len = 2^40, rows {}),
   * so past 2^24 rows with no element at all it is refused */
  if (n == 0) {
    int64_t rows = 1;
    for (int d = 0; d < p->ndim && p->size[d] != 0; d++)
      if (__builtin_mul_overflow(rows, p->size[d], &rows) || rows > ((int64_t)1 << 24))
        return luaL_error(L, "tensor(): the nested tables claim more than 2^24 rows and no element (a __len of %I at "
                             "dimension %d)", (lua_Integer)p->size[d], d + 1);
  }
  p->cap = n;
  p->vals = malloc(sizeof(double) * (size_t)(n ? n : 1));
  p->ivals = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
  if (!p->vals || !p->ivals) return luaL_error(L, "out of memory");
  parse_fill(L, 1, 0, p);
  tg_dtype inferred = p->any_float ? TG_FLOAT32 : p->any_number ? TG_INT64 : p->any_bool ? TG_BOOL : TG_FLOAT32;
  tg_dtype dt = tgL_opt_dtype(L, opts, inferred);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_tensor_empty(c, dt, p->ndim, p->size);
  if (!*box) return tgL_raise(L, c);
  tg_tensor *t = *box;
  void *d = tg_data(t);
  for (int64_t i = 0; i < n; i++) {
    switch (dt) {
      case TG_FLOAT32: ((float *)d)[i] = (float)p->vals[i]; break;
      case TG_FLOAT64: ((double *)d)[i] = p->vals[i]; break;
      case TG_INT64: ((int64_t *)d)[i] = p->any_float ? (int64_t)p->vals[i] : p->ivals[i]; break;
      default: ((bool *)d)[i] = p->vals[i] != 0; break;
    }
  }
  free(p->vals), free(p->ivals);
  p->vals = NULL, p->ivals = NULL;
  tgL_apply_requires_grad(L, c, opts, t);
  return 1;
}

/* ---- sized constructors: f(size..., opts) or f({sizes}, opts) */
static int sized(lua_State *L, double fill, bool do_fill, int kind /*0 fill,1 rand,2 randn*/, const char *fname) {
  CTX;
  int64_t size[TG_MAX_DIMS];
  int next;
  if (lua_gettop(L) >= 1 && lua_isnil(L, 1))
    return luaL_error(L, "%s(): argument 'size' must be a number or a table of numbers, not nil", fname);
  int n = tgL_sizes(L, 1, size, &next);
  int opts = tgL_kwargs(L, next, fname, "dtype device requires_grad");
  if (!lua_isnoneornil(L, next) && next != opts)
    return luaL_error(L, "bad argument #%d: expected a size or an options table, got %s", next, luaL_typename(L, next));
  tgL_check_device(L, opts);
  tg_dtype dt = tgL_opt_dtype(L, opts, TG_FLOAT32);
  for (int i = 0; i < n; i++)
    if (size[i] < 0) return luaL_error(L, "Trying to create tensor with negative dimension %I: [%I]", (lua_Integer)size[i], (lua_Integer)size[i]);
  tg_tensor **box = tgL_newbox(L);
  if (kind == 1) *box = tg_rand(c, dt, n, size);
  else if (kind == 2) *box = tg_randn(c, dt, n, size);
  else if (do_fill) *box = tg_tensor_full(c, dt, n, size, fill);
  else *box = tg_tensor_empty(c, dt, n, size);
  if (!*box) return tgL_raise(L, c);
  tgL_apply_requires_grad(L, c, opts, *box);
  return 1;
}
static int f_zeros(lua_State *L) { return sized(L, 0, true, 0, "zeros"); }
static int f_ones(lua_State *L) { return sized(L, 1, true, 0, "ones"); }
static int f_empty(lua_State *L) { return sized(L, 0, false, 0, "empty"); }
static int f_rand(lua_State *L) { return sized(L, 0, false, 1, "rand"); }
static int f_randn(lua_State *L) { return sized(L, 0, false, 2, "randn"); }

static tg_dtype scalar_dtype(lua_State *L, int idx) {
  if (lua_isboolean(L, idx)) return TG_BOOL;
  if (lua_isinteger(L, idx)) return TG_INT64;
  luaL_checknumber(L, idx);
  return TG_FLOAT32;
}

static double scalar_value(lua_State *L, int idx) {
  return lua_isboolean(L, idx) ? lua_toboolean(L, idx) : luaL_checknumber(L, idx);
}

static int f_full(lua_State *L) {
  CTX;
  int64_t size[TG_MAX_DIMS];
  int next, n, vidx;
  if (lua_istable(L, 1)) {
    n = tgL_sizes(L, 1, size, &next);
    vidx = next;
  } else { /* full(2, 3, value): the last number is the value (a float is fine there) */
    int k = 0;
    while (lua_type(L, k + 1) == LUA_TNUMBER) k++;
    if (k == 0 && !lua_isboolean(L, 1)) return luaL_error(L, "full(): expected sizes and a fill value");
    if (lua_isboolean(L, k + 1)) vidx = k + 1, n = k;
    else vidx = k, n = k - 1;
    if (n > TG_MAX_DIMS) return luaL_error(L, "too many dimensions");
    for (int i = 0; i < n; i++) {
      int isnum;
      size[i] = (int64_t)lua_tointegerx(L, i + 1, &isnum);
      if (!isnum) return luaL_error(L, "bad argument: size must be an integer, got %s", luaL_typename(L, i + 1));
    }
  }
  if (lua_isnoneornil(L, vidx)) return luaL_error(L, "full(): missing the fill value");
  int opts = tgL_kwargs(L, vidx + 1, "full", "dtype device requires_grad");
  tgL_check_device(L, opts);
  tg_dtype dt = tgL_opt_dtype(L, opts, scalar_dtype(L, vidx));
  for (int i = 0; i < n; i++)
    if (size[i] < 0) return luaL_error(L, "Trying to create tensor with negative dimension %I", (lua_Integer)size[i]);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_tensor_full(c, dt, n, size, scalar_value(L, vidx));
  if (!*box) return tgL_raise(L, c);
  tgL_apply_requires_grad(L, c, opts, *box);
  return 1;
}

/* ---- _like forms: f(t, [value,] opts) */
static int like(lua_State *L, int kind, bool has_value, const char *fname) {
  CTX;
  tg_tensor *t = tgL_check(L, 1);
  int vidx = has_value ? 2 : 0;
  int opts = tgL_kwargs(L, has_value ? 3 : 2, fname, "dtype device requires_grad");
  tgL_check_device(L, opts);
  tg_dtype dt = tgL_opt_dtype(L, opts, t->dtype);
  tg_tensor **box = tgL_newbox(L);
  switch (kind) {
    case 0: *box = tg_tensor_full(c, dt, t->ndim, t->size, has_value ? scalar_value(L, vidx) : 0); break;
    case 1: *box = tg_tensor_full(c, dt, t->ndim, t->size, 1); break;
    case 2: *box = tg_rand(c, dt, t->ndim, t->size); break;
    case 3: *box = tg_randn(c, dt, t->ndim, t->size); break;
    default: *box = tg_tensor_empty(c, dt, t->ndim, t->size); break;
  }
  if (!*box) return tgL_raise(L, c);
  tgL_apply_requires_grad(L, c, opts, *box);
  return 1;
}
static int f_zeros_like(lua_State *L) { return like(L, 0, false, "zeros_like"); }
static int f_ones_like(lua_State *L) { return like(L, 1, false, "ones_like"); }
static int f_full_like(lua_State *L) { return like(L, 0, true, "full_like"); }
static int f_rand_like(lua_State *L) { return like(L, 2, false, "rand_like"); }
static int f_randn_like(lua_State *L) { return like(L, 3, false, "randn_like"); }
static int f_empty_like(lua_State *L) { return like(L, 4, false, "empty_like"); }

/* ---- ranges */
static int f_arange(lua_State *L) {
  CTX;
  int nargs = 0;
  while (lua_type(L, nargs + 1) == LUA_TNUMBER) nargs++;
  if (nargs == 0 || nargs > 3) return luaL_error(L, "arange(): expected ([start,] stop [, step]), got %d numbers", nargs);
  int opts = tgL_kwargs(L, nargs + 1, "arange", "dtype device requires_grad");
  tgL_check_device(L, opts);
  bool all_int = true;
  for (int i = 1; i <= nargs; i++) all_int &= lua_isinteger(L, i);
  double start = nargs >= 2 ? lua_tonumber(L, 1) : 0, stop = nargs >= 2 ? lua_tonumber(L, 2) : lua_tonumber(L, 1);
  double step = nargs == 3 ? lua_tonumber(L, 3) : 1;
  tg_dtype dt = tgL_opt_dtype(L, opts, all_int ? TG_INT64 : TG_FLOAT32);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_arange(c, start, stop, step, dt);
  if (!*box) return tgL_raise(L, c);
  tgL_apply_requires_grad(L, c, opts, *box);
  return 1;
}

static int f_linspace(lua_State *L) {
  CTX;
  double a = luaL_checknumber(L, 1), b = luaL_checknumber(L, 2);
  lua_Integer n = luaL_checkinteger(L, 3);
  int opts = tgL_kwargs(L, 4, "linspace", "dtype device requires_grad");
  tgL_check_device(L, opts);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_linspace(c, a, b, n, tgL_opt_dtype(L, opts, TG_FLOAT32));
  if (!*box) return tgL_raise(L, c);
  tgL_apply_requires_grad(L, c, opts, *box);
  return 1;
}

static int f_eye(lua_State *L) {
  CTX;
  lua_Integer n = luaL_checkinteger(L, 1);
  lua_Integer m = lua_type(L, 2) == LUA_TNUMBER ? luaL_checkinteger(L, 2) : n;
  int opts = tgL_kwargs(L, 2, "eye", "dtype device requires_grad");
  tgL_check_device(L, opts);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_eye(c, n, m, tgL_opt_dtype(L, opts, TG_FLOAT32));
  if (!*box) return tgL_raise(L, c);
  tgL_apply_requires_grad(L, c, opts, *box);
  return 1;
}

static int f_randint(lua_State *L) {
  CTX;
  int nint = 0;
  while (lua_type(L, nint + 1) == LUA_TNUMBER) nint++;
  if (nint < 1 || nint > 2 || !lua_istable(L, nint + 1))
    return luaL_error(L, "randint(): expected ([low,] high, size_table [, opts])");
  lua_Integer lo = nint == 2 ? luaL_checkinteger(L, 1) : 0, hi = luaL_checkinteger(L, nint);
  int64_t size[TG_MAX_DIMS];
  int next;
  int n = tgL_sizes(L, nint + 1, size, &next);
  int opts = tgL_kwargs(L, next, "randint", "dtype device requires_grad");
  tgL_check_device(L, opts);
  for (int i = 0; i < n; i++)
    if (size[i] < 0) return luaL_error(L, "Trying to create tensor with negative dimension %I", (lua_Integer)size[i]);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_randint(c, lo, hi, tgL_opt_dtype(L, opts, TG_INT64), n, size);
  if (!*box) return tgL_raise(L, c);
  tgL_apply_requires_grad(L, c, opts, *box);
  return 1;
}

static int f_manual_seed(lua_State *L) {
  CTX;
  lua_Integer s = luaL_checkinteger(L, 1);
  tg_rng_seed(&c->rng, (uint64_t)s);
  return 0;
}

static int f_set_num_threads(lua_State *L) {
  CTX;
  lua_Integer n = luaL_checkinteger(L, 1);
  if (n < 1) return luaL_error(L, "set_num_threads expects a positive integer");
  if (n > 1024) /* OpenMP would try to start them all (libgomp crashes near 100000) */
    return luaL_error(L, "set_num_threads: %I threads is more than the supported maximum of 1024", n);
  c->num_threads = (int)n;
  return 0;
}

static int f_get_num_threads(lua_State *L) {
  CTX;
  lua_pushinteger(L, c->num_threads);
  return 1;
}

void tgL_register_creation(lua_State *L, int ctxi, int module, int methods) {
  (void)methods;
  static const luaL_Reg fns[] = {
      {"tensor", f_tensor}, {"zeros", f_zeros}, {"ones", f_ones}, {"empty", f_empty}, {"full", f_full},
      {"rand", f_rand}, {"randn", f_randn}, {"randint", f_randint}, {"zeros_like", f_zeros_like},
      {"ones_like", f_ones_like}, {"full_like", f_full_like}, {"rand_like", f_rand_like},
      {"randn_like", f_randn_like}, {"empty_like", f_empty_like}, {"arange", f_arange},
      {"linspace", f_linspace}, {"eye", f_eye}, {"manual_seed", f_manual_seed},
      {"set_num_threads", f_set_num_threads}, {"get_num_threads", f_get_num_threads}, {NULL, NULL}};
  tgL_setfuncs(L, module, ctxi, fns);
}
