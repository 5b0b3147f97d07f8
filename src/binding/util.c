/* util.c: the binding's shared helpers (boxes, arguments, options, errors). */
#include <string.h>

#include "binding.h"
#include "mem.h" /* mem: tg.scope */

int tgL_raise(lua_State *L, tg_ctx *c) {
  return luaL_error(L, "%s", c->err[0] ? c->err : "unknown error");
}

const char tgL_tensor_mt_key = 0;

/* ---- perop: boxes without registry lookups by key (binding.h) */
void tgL_set_box_mt(lua_State *L, tg_ctx *c) {
  c->box_mt = lua_topointer(L, -1);
  lua_pushvalue(L, -1);
  c->box_mt_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  c->lua_self = c;
}

/* the context when it is upvalue 1 of the running C function (every tgrad
 * function's), else NULL: a full userdata of a context's size that points to
 * itself (a host's C function calling tgrad.h's API has other upvalues) */
static tg_ctx *up_ctx(lua_State *L) {
  int i = lua_upvalueindex(1);
  if (lua_rawlen(L, i) != sizeof(tg_ctx)) return NULL;
  tg_ctx *c = lua_touserdata(L, i); /* NULL for a string of that length */
  return c && c->lua_self == c ? c : NULL;
}

static tg_ctx *registry_ctx(lua_State *L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &tgL_ctx_key);
  tg_ctx *c = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return c;
}

tg_tensor **tgL_testbox(lua_State *L, int idx) {
  tg_ctx *c = up_ctx(L);
  if (c) return tgL_testbox_c(L, c, idx);
  void *p = lua_touserdata(L, idx);
  if (!p || !lua_getmetatable(L, idx)) return NULL;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &tgL_tensor_mt_key);
  bool same = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return same ? p : NULL;
}

tg_tensor **tgL_newbox_c(lua_State *L, tg_ctx *c) {
  /* every new tensor counts for the collector policy (memory.c), whichever
   * binding made it; mem: the step runs before the box exists (see tgL_gc_account) */
  if (c) tgL_gc_account(L, c);
  void **box = lua_newuserdatauv(L, TGL_BOX_SIZE, TGL_BOX_NUV);
  box[0] = NULL;
  if (c && c->box_mt_ref) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->box_mt_ref);
    box[1] = (void *)c->box_mt; /* box: the tag (binding.h) */
  } else {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &tgL_tensor_mt_key);
    box[1] = (void *)lua_topointer(L, -1);
  }
  lua_setmetatable(L, -2);
  if (c && c->mem_scopes) tgL_scope_track(L); /* mem: the box joins the innermost tg.scope */
  return (tg_tensor **)box;
}

tg_tensor **tgL_newbox(lua_State *L) {
  tg_ctx *c = up_ctx(L);
  return tgL_newbox_c(L, c ? c : registry_ctx(L));
}

void tgL_forget_boxes(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  for (int uv = 1; uv <= TGL_BOX_NUV; uv++) {
    lua_pushnil(L);
    lua_setiuservalue(L, idx, uv);
  }
}


int tgL_push(lua_State *L, tg_ctx *c, tg_tensor *t) {
  if (!t) return tgL_raise(L, c);
  tg_tensor **box = tgL_newbox_c(L, c);
  *box = t;
  return 1;
}

bool tgL_is_tensor(lua_State *L, int idx) { return tgL_testbox(L, idx) != NULL; }

/* "bad argument #idx to 'name' (what)", with a hint when a Tensor method got no
 * tensor as its first argument because it was called with '.' instead of ':'
 * (t.backward() passes no self: the call was not a method call, and the
 * function running is the Tensor method of that name, not tg's function) */
static int bad_tensor_arg(lua_State *L, int idx, const char *what) {
  lua_Debug ar;
  if (!lua_getstack(L, 0, &ar) || !lua_getinfo(L, "nf", &ar) || !ar.name) {
    if (lua_gettop(L) > 0 && lua_isfunction(L, -1)) lua_pop(L, 1);
    return luaL_error(L, "bad argument #%d (%s)", idx, what);
  }
  bool hint = false;
  if (idx == 1 && strcmp(ar.namewhat ? ar.namewhat : "", "method") != 0 &&
      lua_rawgetp(L, LUA_REGISTRYINDEX, &tgL_methods_key) == LUA_TTABLE) {
    lua_getfield(L, -1, ar.name);
    hint = lua_rawequal(L, -1, -3);
    lua_pop(L, 2);
  } else if (idx == 1) {
    lua_pop(L, 1);
  }
  lua_pop(L, 1); /* the running function */
  if (hint)
    return luaL_error(L, "bad argument #%d to '%s' (%s; did you call t.%s() instead of t:%s()?)", idx, ar.name, what,
                      ar.name, ar.name);
  return luaL_error(L, "bad argument #%d to '%s' (%s)", idx, ar.name, what);
}

tg_tensor *tgL_check(lua_State *L, int idx) {
  tg_tensor **box = tgL_testbox(L, idx);
  if (!box) {
    lua_pushfstring(L, "expected Tensor but got %s", luaL_typename(L, idx));
    bad_tensor_arg(L, idx, lua_tostring(L, -1));
    return NULL;
  }
  if (!*box) { /* mem: a box a tg.scope released says so */
    const char *why = tgL_scope_freed_message(L, idx);
    bad_tensor_arg(L, idx, why ? why : "the tensor has been freed by t:free() or a <close> variable");
  }
  return *box;
}

tg_tensor *tgL_opt(lua_State *L, int idx) { return lua_isnoneornil(L, idx) ? NULL : tgL_check(L, idx); }

int tgL_dim(lua_State *L, tg_ctx *c, int idx, int ndim) {
  int isnum;
  lua_Integer d = lua_tointegerx(L, idx, &isnum);
  if (!isnum) luaL_error(L, "bad argument #%d: expected an integer dimension but got %s", idx, luaL_typename(L, idx));
  int out;
  if (tg_wrap_dim(c, d, ndim, &out) < 0) tgL_raise(L, c);
  return out;
}

static int64_t check_size(lua_State *L, int idx) {
  int isnum;
  lua_Integer v = lua_tointegerx(L, idx, &isnum);
  if (!isnum) luaL_error(L, "bad argument: size must be an integer, got %s", luaL_typename(L, idx));
  return (int64_t)v;
}

static bool plain_table_has_metatable(lua_State *L, int idx) {
  if (!lua_getmetatable(L, idx)) return false;
  lua_pop(L, 1);
  return true;
}

int tgL_sizes(lua_State *L, int idx, int64_t *size, int *next_idx) {
  int n = 0;
  if (lua_istable(L, idx) && !plain_table_has_metatable(L, idx)) {
    /* one table of sizes (not an options table: those hold string keys) */
    lua_Integer len = luaL_len(L, idx);
    if (len > 0 || lua_next(L, (lua_pushnil(L), idx)) == 0) {
      if (len > TG_MAX_DIMS) luaL_error(L, "too many dimensions (%d)", (int)len);
      for (lua_Integer i = 1; i <= len; i++) {
        lua_geti(L, idx, i);
        size[n++] = check_size(L, -1);
        lua_pop(L, 1);
      }
      if (next_idx) *next_idx = idx + 1;
      return n;
    }
    lua_pop(L, 2); /* a key/value pair from lua_next: an options table */
    if (next_idx) *next_idx = idx;
    return 0;
  }
  while (lua_type(L, idx + n) == LUA_TNUMBER) {
    if (n == TG_MAX_DIMS) luaL_error(L, "too many dimensions");
    size[n] = check_size(L, idx + n);
    n++;
  }
  if (next_idx) *next_idx = idx + n;
  return n;
}

static const char *dtype_names[][4] = {
    {"float32", "float", NULL}, {"float64", "double", NULL}, {"int64", "long", NULL}, {"bool", NULL}};

tg_dtype tgL_dtype(lua_State *L, int idx) {
  const char *s = NULL;
  if (luaL_testudata(L, idx, TG_DTYPE_MT) || lua_istable(L, idx)) {
    lua_getfield(L, idx, "name");
    s = lua_tostring(L, -1);
    lua_pop(L, 1);
  } else if (lua_type(L, idx) == LUA_TSTRING) {
    s = lua_tostring(L, idx);
  }
  if (s)
    for (int d = 0; d < TG_NDTYPES; d++)
      for (int k = 0; dtype_names[d][k]; k++)
        if (!strcmp(s, dtype_names[d][k])) return (tg_dtype)d;
  luaL_error(L, "invalid dtype: expected tg.float32, tg.float64, tg.int64 or tg.bool, got %s",
             s ? s : luaL_typename(L, idx));
  return TG_FLOAT32;
}

void tgL_push_dtype(lua_State *L, tg_dtype d) {
  lua_getfield(L, LUA_REGISTRYINDEX, TG_DTYPE_MT ".list");
  lua_rawgeti(L, -1, d + 1);
  lua_remove(L, -2);
}

int tgL_opts(lua_State *L, int from) {
  int top = lua_gettop(L);
  if (top >= from && lua_istable(L, top) && !tgL_is_tensor(L, top)) {
    lua_pushnil(L);
    if (lua_next(L, top)) {
      bool string_key = lua_type(L, -2) == LUA_TSTRING;
      lua_pop(L, 2);
      if (string_key) return top;
    }
  }
  return 0;
}

/* is key one of the space-separated words of list? */
static bool key_listed(const char *list, const char *key, size_t klen) {
  for (const char *p = list; *p;) {
    while (*p == ' ') p++;
    const char *e = p;
    while (*e && *e != ' ') e++;
    if ((size_t)(e - p) == klen && klen && !memcmp(p, key, klen)) return true;
    p = e;
  }
  return false;
}

void tgL_check_keys(lua_State *L, int opts, const char *fname, const char *allowed) {
  if (!opts) return;
  opts = lua_absindex(L, opts);
  lua_pushnil(L);
  while (lua_next(L, opts)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      size_t klen;
      const char *k = lua_tolstring(L, -1, &klen);
      if (!key_listed(allowed, k, klen)) luaL_error(L, "%s() got an unexpected keyword argument '%s'", fname, k);
    } else if (lua_type(L, -1) != LUA_TNUMBER) { /* positional entries are the caller's business */
      luaL_error(L, "%s(): options table keys must be strings, got a %s key", fname, luaL_typename(L, -1));
    }
  }
}

int tgL_rounding_mode(lua_State *L, int opts) {
  int mode = 0;
  if (opts && tgL_opt_field(L, opts, "rounding_mode") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "div(): argument 'rounding_mode' must be a string, not %s", luaL_typename(L, -1));
    const char *m = lua_tostring(L, -1);
    if (!strcmp(m, "trunc")) mode = 1;
    else if (!strcmp(m, "floor")) mode = 2;
    else luaL_error(L, "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '%s'", m);
  }
  if (opts) lua_pop(L, 1);
  return mode;
}

int tgL_kwargs(lua_State *L, int from, const char *fname, const char *allowed) {
  int opts = tgL_opts(L, from);
  tgL_check_keys(L, opts, fname, allowed);
  return opts;
}

int tgL_opt_dim_slot(lua_State *L, int opts, int idx, const char *fname, const char *key) {
  bool positional = idx && idx != opts && !lua_isnoneornil(L, idx) && !lua_isboolean(L, idx);
  if (!opts) return positional ? idx : 0;
  if (lua_getfield(L, opts, key) == LUA_TNIL) {
    lua_pop(L, 1);
    return positional ? idx : 0;
  }
  if (positional) luaL_error(L, "%s() got multiple values for argument '%s'", fname, key);
  return lua_gettop(L);
}

int tgL_opt_field(lua_State *L, int opts, const char *key) {
  if (!opts) {
    lua_pushnil(L);
    return LUA_TNIL;
  }
  return lua_getfield(L, opts, key);
}

bool tgL_opt_bool(lua_State *L, int opts, const char *key, bool dflt) {
  int t = tgL_opt_field(L, opts, key);
  bool v = t == LUA_TNIL ? dflt : lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

tg_dtype tgL_opt_dtype(lua_State *L, int opts, tg_dtype dflt) {
  tg_dtype d = dflt;
  if (tgL_opt_field(L, opts, "dtype") != LUA_TNIL) d = tgL_dtype(L, -1);
  lua_pop(L, 1);
  return d;
}

void tgL_check_device(lua_State *L, int opts) {
  if (tgL_opt_field(L, opts, "device") != LUA_TNIL) {
    const char *dev = lua_tostring(L, -1);
    if (tgL_is_cuda_device(dev)) { /* cuda boundary: raises the reason when CUDA is unusable */
      tgL_cuda_backend(L, tgL_ctx(L), dev);
      luaL_error(L, "device='%s' in creation options is not supported yet: create the tensor on the cpu and call t:cuda()", dev);
    }
    if (!dev || strcmp(dev, "cpu") != 0)
      luaL_error(L, "device '%s' is not available: expected 'cpu' or 'cuda'", dev ? dev : "?");
  }
  lua_pop(L, 1);
}

void tgL_apply_requires_grad(lua_State *L, tg_ctx *c, int opts, tg_tensor *t) {
  if (!tgL_opt_bool(L, opts, "requires_grad", false)) return;
  if (!tg_is_float(t->dtype)) {
    (void)c;
    luaL_error(L, "Only Tensors of floating point and complex dtype can require gradients");
  }
  t->requires_grad = true;
}

/* a number, boolean or nested table as a tensor (for mixed arithmetic and tg.tensor) */
tg_tensor *tgL_to_tensor(lua_State *L, tg_ctx *c, int idx, tg_dtype like) {
  (void)like;
  if (tgL_is_tensor(L, idx)) return tg_tensor_ref(tgL_check(L, idx));
  if (lua_type(L, idx) == LUA_TNUMBER) {
    bool is_int = lua_isinteger(L, idx);
    tg_tensor *t = tg_tensor_scalar(c, is_int ? TG_INT64 : TG_FLOAT64, lua_tonumber(L, idx));
    if (!t) tgL_raise(L, c);
    t->wrapped_number = true;
    return t;
  }
  if (lua_type(L, idx) == LUA_TBOOLEAN) {
    tg_tensor *t = tg_tensor_scalar(c, TG_BOOL, lua_toboolean(L, idx));
    if (!t) tgL_raise(L, c);
    t->wrapped_number = true;
    return t;
  }
  luaL_error(L, "bad argument #%d: expected Tensor or number but got %s", idx, luaL_typename(L, idx));
  return NULL;
}

void tgL_setfuncs(lua_State *L, int table, int ctxi, const luaL_Reg *r) {
  table = lua_absindex(L, table);
  ctxi = lua_absindex(L, ctxi);
  lua_pushvalue(L, table);
  lua_pushvalue(L, ctxi);
  luaL_setfuncs(L, r, 1);
  lua_pop(L, 1);
}
