/* tensor.c (binding): the Tensor metatable: fields, metamethods, basic methods. */
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "../backend/backend.h"
#include "binding.h"
#include "../capture.h"

static tg_tensor **check_box(lua_State *L, int idx) {
  tg_tensor **box = tgL_testbox(L, idx);
  if (!box) luaL_typeerror(L, idx, TG_TENSOR_MT);
  return box;
}

/* __gc and __close share one release, safe to call twice (rule 10) */
static int t_release(lua_State *L) {
  /* perop2: upvalue 1 is the context (as t_index): the box checked without looking it up */
  tg_tensor **box = tgL_testbox_c(L, (tg_ctx *)lua_touserdata(L, lua_upvalueindex(1)), 1);
  if (!box) box = check_box(L, 1); /* raises */
  tg_tensor_unref(*box);
  *box = NULL;
  return 0;
}

/* __close and t:free(): the release, and the cached .grad/.data boxes let go */
static int t_close(lua_State *L) {
  t_release(L);
  tgL_forget_boxes(L, 1);
  return 0;
}

static int t_eq(lua_State *L) {
  tg_tensor **a = tgL_testbox(L, 1), **b = tgL_testbox(L, 2);
  lua_pushboolean(L, a && b && *a == *b);
  return 1;
}

static int t_len(lua_State *L) {
  tg_tensor *t = tgL_check(L, 1);
  if (t->ndim == 0) return luaL_error(L, "len() of a 0-d tensor");
  lua_pushinteger(L, t->size[0]);
  return 1;
}

/* ---- unary minus (the binary metamethods are registered by ops.c) */
static int t_unm(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  tg_tensor *t = tgL_check(L, 1);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_neg(c, t);
  return *box ? 1 : tgL_raise(L, c);
}

/* ---- fields */
static void push_shape(lua_State *L, const tg_tensor *t) {
  lua_createtable(L, t->ndim, 0);
  for (int d = 0; d < t->ndim; d++) {
    lua_pushinteger(L, t->size[d]);
    lua_rawseti(L, -2, d + 1);
  }
}

/* perop: the box kept in user value uv of the box at 1 when it still shows t
 * (.grad: PyTorch returns the same object each time), else a new one, kept */
static int push_cached_box(lua_State *L, int uv, tg_tensor *t) {
  if (lua_getiuservalue(L, 1, uv) == LUA_TUSERDATA && *(tg_tensor **)lua_touserdata(L, -1) == t) return 1;
  lua_pop(L, 1);
  if (!t) { /* nothing to show: the stale box (and its tensor) let go */
    lua_pushnil(L);
    lua_setiuservalue(L, 1, uv);
    lua_pushnil(L);
    return 1;
  }
  tg_tensor **box = tgL_newbox(L);
  *box = tg_tensor_ref(t);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, 1, uv);
  return 1;
}

/* .data: the cached alias while it still is one of t as t is now (same memory
 * and view) and nothing was made of it (no grad, history or hooks); else a
 * new alias, cached */
static bool plain_alias_of(const tg_tensor *a, const tg_tensor *t) {
  return a && a->storage == t->storage && a->dtype == t->dtype && a->ndim == t->ndim && a->offset == t->offset &&
         !a->requires_grad && !a->retains_grad && !a->grad && !a->grad_fn && !a->grad_acc && !a->hooks &&
         !a->view_base && !memcmp(a->size, t->size, sizeof(int64_t) * (size_t)t->ndim) &&
         !memcmp(a->stride, t->stride, sizeof(int64_t) * (size_t)t->ndim);
}

static int push_data_box(lua_State *L, tg_tensor *t) {
  if (lua_getiuservalue(L, 1, TGL_UV_DATA) == LUA_TUSERDATA && plain_alias_of(*(tg_tensor **)lua_touserdata(L, -1), t))
    return 1;
  lua_pop(L, 1);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_tensor_alias(tgL_ctx(L), t);
  if (!*box) return tgL_raise(L, tgL_ctx(L));
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, 1, TGL_UV_DATA);
  return 1;
}

static const char *NONLEAF_GRAD_WARNING =
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute "
    "won't be populated during autograd.backward(). If you indeed want the .grad field to be populated "
    "for a non-leaf Tensor, use :retain_grad() on the non-leaf Tensor. If you access the non-leaf Tensor "
    "by mistake, make sure you access the leaf Tensor instead.";

/* returns 1 when key named a field */
static int get_field(lua_State *L, tg_tensor *t, const char *k) {
  if (t->view_base) tg_view_refresh(tgL_ctx(L), t); /* a view's history after an in-place write */
  switch (k[0]) {
    case 's':
      if (!strcmp(k, "shape")) return push_shape(L, t), 1;
      break;
    case 'd':
      if (!strcmp(k, "data")) return push_data_box(L, t); /* box: the hot one first */
      if (!strcmp(k, "dtype")) return tgL_push_dtype(L, t->dtype), 1;
      if (!strcmp(k, "device")) return lua_pushstring(L, tg_backend_of(t)->name), 1;
      break;
    case 'r':
      if (!strcmp(k, "requires_grad")) return lua_pushboolean(L, tg_requires_grad(t)), 1;
      if (!strcmp(k, "retains_grad")) return lua_pushboolean(L, t->retains_grad), 1;
      break;
    case 'g':
      if (!strcmp(k, "grad")) {
        if (t->grad_fn && !t->retains_grad && !t->grad) lua_warning(L, NONLEAF_GRAD_WARNING, 0);
        return push_cached_box(L, TGL_UV_GRAD, t->grad);
      }
      if (!strcmp(k, "grad_fn")) {
        if (t->view_meta & TG_VIEW_INVALID) { /* PyTorch raises here too (printing shows <Invalid>) */
          tg_view_meta_error(tgL_ctx(L), t, true);
          return tgL_raise(L, tgL_ctx(L));
        }
        if (t->grad_fn) tgL_push_node(L, t->grad_fn); else lua_pushnil(L);
        return 1;
      }
      break;
    case 'i':
      if (!strcmp(k, "is_leaf")) return lua_pushboolean(L, t->grad_fn == NULL), 1;
      break;
    case 'n':
      if (!strcmp(k, "ndim")) return lua_pushinteger(L, t->ndim), 1;
      break;
    case 'o':
      if (!strcmp(k, "output_nr")) return lua_pushinteger(L, t->output_nr), 1;
      break;
  }
  return 0;
}

/* An index key the C side takes by itself: an integer, or a list of
 * integers (at most one per dim), each within its dim. Anything else (ranges,
 * masks, errors) goes to the Lua indexer, which has the messages. */
static bool in_dim(lua_Integer i, int64_t n) { return i != 0 && i <= n && i >= -n; }

static bool plain_key(lua_State *L, int k, const tg_tensor *t) {
  if (lua_isinteger(L, k)) return t->ndim > 0 && in_dim(lua_tointeger(L, k), t->size[0]);
  if (!lua_istable(L, k)) return false;
  lua_Integer len = (lua_Integer)lua_rawlen(L, k);
  if (len < 1 || len > t->ndim) return false;
  bool ok = true;
  for (lua_Integer d = 1; ok && d <= len; d++) {
    ok = lua_rawgeti(L, k, d) == LUA_TNUMBER && lua_isinteger(L, -1) && in_dim(lua_tointeger(L, -1), t->size[d - 1]);
    lua_pop(L, 1);
  }
  return ok;
}

/* select along the key's integers (plain_key said yes) */
static tg_tensor *select_key(tg_ctx *c, lua_State *L, int k, tg_tensor *t) {
  if (lua_isinteger(L, k)) {
    lua_Integer i = lua_tointeger(L, k);
    return tg_select(c, t, 0, i > 0 ? i - 1 : i + t->size[0]);
  }
  lua_Integer len = (lua_Integer)lua_rawlen(L, k);
  tg_tensor *v = tg_tensor_ref(t);
  for (lua_Integer d = 1; v && d <= len; d++) {
    lua_rawgeti(L, k, d);
    lua_Integer i = lua_tointeger(L, -1);
    lua_pop(L, 1);
    tg_tensor *s = tg_select(c, v, 0, i > 0 ? i - 1 : i + v->size[0]);
    tg_tensor_unref(v);
    v = s;
  }
  return v;
}

static int t_index(lua_State *L) {
  /* box: a method first (also on a freed tensor); the box is checked when the
   * key is a field or an index. A method looked up on something else (only a
   * direct call of the metamethod can do that) is returned without a check:
   * nothing is read from arg 1. */
  bool skey = lua_type(L, 2) == LUA_TSTRING;
  if (skey) {
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(2)) != LUA_TNIL) return 1;
    lua_settop(L, 2);
  }
  /* perop: one box check (upvalue 1 is the context) */
  tg_tensor **box = tgL_testbox_c(L, (tg_ctx *)lua_touserdata(L, lua_upvalueindex(1)), 1);
  if (!box) check_box(L, 1); /* raises */
  if (skey) {
    if (get_field(L, *box ? *box : tgL_check(L, 1), lua_tostring(L, 2))) return 1;
    return 0; /* nil, like a missing table field */
  }
  tg_tensor *t = tgL_check(L, 1);
  if (plain_key(L, 2, t)) { /* t[i], t[{i, j}] in range: the common case, without the Lua indexer */
    tg_ctx *c = tgL_ctx(L);
    tg_tensor **box = tgL_newbox(L);
    *box = select_key(c, L, 2, t);
    return *box ? 1 : tgL_raise(L, c);
  }
  /* t[i] out of range, t[{...}], t[mask]: the Lua-side indexer (its messages) */
  lua_getfield(L, lua_upvalueindex(2), "__index_key");
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 2);
  lua_call(L, 2, 1);
  return 1;
}

static void set_requires_grad(lua_State *L, tg_tensor *t, bool v) {
  if (t->grad_fn && v) return; /* a non-leaf requires grad already (PyTorch accepts this) */
  if (t->grad_fn)
    luaL_error(L, "you can only change requires_grad flags of leaf variables. If you want to use a computed "
                  "variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach().");
  if (v && !tg_is_float(t->dtype)) luaL_error(L, "only Tensors of floating point and complex dtype can require gradients");
  t->requires_grad = v;
}

static int t_newindex(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  tg_tensor *t = tgL_check_c(L, c, 1);
  if (lua_type(L, 2) == LUA_TSTRING) {
    const char *k = lua_tostring(L, 2);
    if (k[0] == 'r' && !strcmp(k, "requires_grad")) { /* box: t.grad = nil without a strcmp here */
      set_requires_grad(L, t, lua_toboolean(L, 3));
    } else if (!strcmp(k, "grad")) {
      tg_tensor *g = tgL_opt(L, 3);
      if (c->capture_be) tg_capture_note_grad_reset(c, t); /* capture */
      if (g == t) return luaL_error(L, "can't assign Variable as its own grad");
      if (g && !tg_same_shape(g, t)) return luaL_error(L, "assigned grad has data of a different size");
      if (g && g->dtype != t->dtype) return luaL_error(L, "assigned grad has data of a different type");
      tg_tensor_unref(t->grad);
      t->grad = tg_tensor_ref(g);
      /* perop: t.grad is now this very box (as PyTorch: t.grad = g; t.grad is g); the old
       * gradient is not kept alive by a cached box */
      if (g) lua_pushvalue(L, 3);
      else lua_pushnil(L);
      lua_setiuservalue(L, 1, TGL_UV_GRAD);
    } else if (!strcmp(k, "data")) {
      tg_tensor *src = tgL_check(L, 3);
      /* t takes src's memory and view, with its own version counter (as PyTorch);
       * autograd identity stays t's */
      tg_storage *st = tg_storage_share(c, src->storage, t->storage->version);
      if (!st) return tgL_raise(L, c);
      if (!tg_same_shape(src, t) || src->dtype != t->dtype) {
        /* a leaf's .grad no longer fits: dropped (a graph built before refuses its gradient,
         * one built after gets an accumulator of the new shape) */
        tg_tensor_unref(t->grad);
        t->grad = NULL;
        t->grad_acc = NULL; /* weak: the old AccumulateGrad keeps the tensor, never again found */
      }
      tg_storage_unref(t->storage);
      t->storage = st;
      t->dtype = src->dtype;
      t->ndim = src->ndim;
      t->offset = src->offset;
      memcpy(t->size, src->size, sizeof t->size);
      memcpy(t->stride, src->stride, sizeof t->stride);
      tgL_forget_boxes(L, 1); /* the old memory is not kept alive by a cached .data box */
    } else {
      return luaL_error(L, "cannot set field '%s' of a Tensor", k);
    }
    return 0;
  }
  if (lua_type(L, 3) == LUA_TNUMBER && tg_is_float(t->dtype) && plain_key(L, 2, t)) {
    tg_tensor *v = select_key(c, L, 2, t); /* t[i] = x, t[{i, j}] = x in range, float: filled here */
    int rc = v ? tg_fill_(c, v, lua_tonumber(L, 3)) : -1;
    tg_tensor_unref(v);
    return rc < 0 ? tgL_raise(L, c) : 0;
  }
  /* everything else: the Lua-side indexer (its checks and messages) */
  lua_getfield(L, lua_upvalueindex(2), "__newindex_key");
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 2);
  lua_pushvalue(L, 3);
  lua_call(L, 3, 0);
  return 0;
}

/* ---- methods */
static int m_size(lua_State *L) {
  tg_tensor *t = tgL_check(L, 1);
  if (lua_isnoneornil(L, 2)) {
    push_shape(L, t);
    return 1;
  }
  int d = tgL_dim(L, tgL_ctx(L), 2, t->ndim);
  if (t->ndim == 0) return luaL_error(L, "dimension specified as %d but tensor has no dimensions", (int)lua_tointeger(L, 2));
  lua_pushinteger(L, t->size[d]);
  return 1;
}

static int m_dim(lua_State *L) { lua_pushinteger(L, tgL_check(L, 1)->ndim); return 1; }
static int m_numel(lua_State *L) { lua_pushinteger(L, tg_numel(tgL_check(L, 1))); return 1; }
static int m_is_contiguous(lua_State *L) { lua_pushboolean(L, tg_is_contiguous(tgL_check(L, 1))); return 1; }
static int m_is_floating_point(lua_State *L) { lua_pushboolean(L, tg_is_float(tgL_check(L, 1)->dtype)); return 1; }

static void push_elem(lua_State *L, const tg_tensor *t, int64_t i) {
  if (t->dtype == TG_INT64) { /* exact, not through double */
    lua_pushinteger(L, tg_get_flat_i64(t, i));
    return;
  }
  double v = tg_get_flat(t, i);
  if (t->dtype == TG_INT64) lua_pushinteger(L, (lua_Integer)v);
  else if (t->dtype == TG_BOOL) lua_pushboolean(L, v != 0);
  else lua_pushnumber(L, v);
}

static int m_item(lua_State *L) {
  if (tgL_ctx(L)->capture) return tgL_capture_refuse(L, "item()"); /* capture */
  tg_tensor *t = tgL_check_host(L, 1); /* cuda boundary: a device tensor is copied back */
  int64_t n = tg_numel(t);
  if (n != 1) return luaL_error(L, "a Tensor with %I elements cannot be converted to Scalar", (lua_Integer)n);
  push_elem(L, t, 0);
  return 1;
}

static void tolist_rec(lua_State *L, const tg_tensor *t, int d, int64_t *flat) {
  if (d == t->ndim) {
    push_elem(L, t, (*flat)++);
    return;
  }
  lua_createtable(L, (int)t->size[d], 0);
  for (int64_t i = 0; i < t->size[d]; i++) {
    tolist_rec(L, t, d + 1, flat);
    lua_rawseti(L, -2, i + 1);
  }
}

static int m_tolist(lua_State *L) {
  if (tgL_ctx(L)->capture) return tgL_capture_refuse(L, "tolist()"); /* capture */
  tg_tensor *t = tgL_check_host(L, 1); /* cuda boundary: a device tensor is copied back */
  int64_t flat = 0;
  luaL_checkstack(L, t->ndim + 4, "tensor too deep");
  tolist_rec(L, t, 0, &flat);
  return 1;
}

/* flat row-major values as one Lua array (for printing and fixtures) */
static int m_flat(lua_State *L) {
  if (tgL_ctx(L)->capture) return tgL_capture_refuse(L, "tostring()/print()"); /* capture */
  tg_tensor *t = tgL_check_host(L, 1); /* cuda boundary: a device tensor is copied back */
  int64_t n = tg_numel(t);
  lua_createtable(L, (int)n, 0);
  for (int64_t i = 0; i < n; i++) {
    push_elem(L, t, i);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int m_clone(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  tg_tensor *t = tgL_check(L, 1);
  return tgL_push(L, c, tg_clone(c, t));
}

static int m_contiguous(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  return tgL_push(L, c, tg_contiguous(c, tgL_check(L, 1)));
}

static int to_dtype(lua_State *L, tg_dtype dt) {
  tg_ctx *c = tgL_ctx(L);
  return tgL_push(L, c, tg_to_dtype(c, tgL_check(L, 1), dt));
}

static int m_to(lua_State *L) {
  tg_tensor *t = tgL_check(L, 1);
  tg_dtype dt = t->dtype;
  bool copy = false;
  const tg_backend *be = NULL; /* cuda boundary: the target device, NULL: unchanged */
  for (int i = 2; i <= lua_gettop(L); i++) {
    if (lua_type(L, i) == LUA_TSTRING) {
      const char *s = lua_tostring(L, i);
      if (!strcmp(s, "cpu")) {
        be = &tg_cpu_backend;
        continue;
      }
      if (tgL_is_cuda_device(s)) { /* cuda boundary: raises the reason when CUDA is unusable */
        be = tgL_cuda_backend(L, tgL_ctx(L), s);
        continue;
      }
      dt = tgL_dtype(L, i);
    } else if (lua_istable(L, i) && lua_getfield(L, i, "name") != LUA_TNIL) {
      lua_pop(L, 1);
      dt = tgL_dtype(L, i);
    } else if (lua_istable(L, i)) {
      lua_pop(L, 1);
      tgL_check_keys(L, i, "to", "dtype device copy non_blocking"); /* non_blocking: nothing to wait for on the cpu */
      dt = tgL_opt_dtype(L, i, dt);
      tgL_check_device(L, i);
      copy = tgL_opt_field(L, i, "copy") != LUA_TNIL && lua_toboolean(L, -1);
      lua_pop(L, 1);
    } else {
      return luaL_error(L, "to(): expected a dtype or a device, got %s", luaL_typename(L, i));
    }
  }
  if (copy && dt == t->dtype) { /* to(..., {copy = true}): a new tensor even when nothing changes */
    tg_ctx *c = tgL_ctx(L);
    return tgL_push(L, c, tg_clone(c, t));
  }
  if (be && be != tg_backend_of(t)) { /* cuda boundary: the dtype, then the device */
    tg_ctx *c = tgL_ctx(L);
    tg_tensor *d = tg_to_dtype(c, t, dt);
    tg_tensor *r = d ? tg_to_backend(c, d, be) : NULL;
    tg_tensor_unref(d);
    return tgL_push(L, c, r);
  }
  return to_dtype(L, dt);
}
static int m_float(lua_State *L) { return to_dtype(L, TG_FLOAT32); }
static int m_double(lua_State *L) { return to_dtype(L, TG_FLOAT64); }
static int m_long(lua_State *L) { return to_dtype(L, TG_INT64); }
static int m_bool(lua_State *L) { return to_dtype(L, TG_BOOL); }
/* t:cpu(): t itself on the cpu, else a copy (cuda boundary) */
static int m_cpu(lua_State *L) {
  tg_tensor *t = tgL_check(L, 1);
  if (tg_on_cpu(t)) return lua_settop(L, 1), 1;
  tg_ctx *c = tgL_ctx(L);
  return tgL_push(L, c, tg_to_backend(c, t, &tg_cpu_backend));
}
/* t:cuda([device]) is t:to("cuda[:N]") (the reason when CUDA is unusable: binding/cuda.c) */
static int m_cuda(lua_State *L) {
  tgL_check(L, 1);
  const char *dev = "cuda";
  char buf[32];
  if (lua_type(L, 2) == LUA_TNUMBER) {
    snprintf(buf, sizeof buf, "cuda:%lld", (long long)luaL_checkinteger(L, 2));
    dev = buf;
  } else if (lua_type(L, 2) == LUA_TSTRING) {
    dev = lua_tostring(L, 2);
  }
  lua_settop(L, 2);       /* argument 2 stays alive: dev may point into it */
  lua_pushstring(L, dev);
  lua_replace(L, 2);
  return m_to(L);
}

static int m_fill_(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  tg_tensor *t = tgL_check(L, 1);
  double v = lua_isboolean(L, 2) ? lua_toboolean(L, 2) : luaL_checknumber(L, 2);
  int rc;
  const lua_Integer exact = (lua_Integer)1 << 53;
  if (t->dtype == TG_INT64 && lua_isinteger(L, 2) && (lua_tointeger(L, 2) > exact || lua_tointeger(L, 2) < -exact)) {
    /* past 2^53 a double cannot hold the integer: copy an exact int64 scalar in */
    tg_tensor *s = tg_tensor_scalar(c, TG_INT64, 0);
    if (s) *(int64_t *)tg_data(s) = (int64_t)lua_tointeger(L, 2);
    rc = s ? tg_copy_(c, t, s) : -1;
    tg_tensor_unref(s);
  } else {
    rc = tg_fill_(c, t, v);
  }
  if (rc < 0) return tgL_raise(L, c);
  lua_settop(L, 1);
  return 1;
}

static int m_zero_(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  if (tg_zero_(c, tgL_check(L, 1)) < 0) return tgL_raise(L, c);
  lua_settop(L, 1);
  return 1;
}

static int m_copy_(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  tg_tensor *dst = tgL_check(L, 1), *src = tgL_to_tensor(L, c, 2, dst->dtype);
  int rc = tg_copy_(c, dst, src);
  tg_tensor_unref(src);
  if (rc < 0) return tgL_raise(L, c);
  lua_settop(L, 1);
  return 1;
}

static int m_detach(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  return tgL_push(L, c, tg_tensor_alias(c, tgL_check(L, 1)));
}

static int m_detach_(lua_State *L) {
  tg_tensor *t = tgL_check(L, 1);
  if (t->view_base)
    return luaL_error(L, "Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel "
                         "(DDP) for training, and gradient_as_bucket_view is set as True, gradients are views of DDP "
                         "buckets, and hence detach_() cannot be called on these gradients. To fix this error, please "
                         "refer to the Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution.");
  tg_drop_grad_fn(t);
  t->requires_grad = false;
  lua_settop(L, 1);
  return 1;
}

static int m_requires_grad_(lua_State *L) {
  tg_tensor *t = tgL_check(L, 1);
  set_requires_grad(L, t, lua_isnoneornil(L, 2) ? true : lua_toboolean(L, 2));
  lua_settop(L, 1);
  return 1;
}

static int m_retain_grad(lua_State *L) {
  tg_tensor *t = tgL_check(L, 1);
  if (!tg_requires_grad(t)) return luaL_error(L, "can't retain_grad on Tensor that has requires_grad=False");
  if (t->grad_fn && !t->retains_grad) {
    tg_node *n = t->grad_fn;
    if (!n->retained && !(n->retained = calloc((size_t)n->n_out, sizeof *n->retained)))
      return luaL_error(L, "out of memory");
    n->retained[t->output_nr] = t;
    t->retains_grad = true;
  }
  lua_settop(L, 1);
  return 1;
}

static int m_free(lua_State *L) { return t_close(L); }

static int m_data_ptr(lua_State *L) {
  lua_pushlightuserdata(L, tg_data(tgL_check(L, 1)));
  return 1;
}

static int m_stride(lua_State *L) {
  tg_tensor *t = tgL_check(L, 1);
  if (!lua_isnoneornil(L, 2)) {
    lua_pushinteger(L, t->stride[tgL_dim(L, tgL_ctx(L), 2, t->ndim)]);
    return 1;
  }
  lua_createtable(L, t->ndim, 0);
  for (int d = 0; d < t->ndim; d++) {
    lua_pushinteger(L, t->stride[d]);
    lua_rawseti(L, -2, d + 1);
  }
  return 1;
}

static int m_version(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)tgL_check(L, 1)->storage->version);
  return 1;
}

void tgL_register_tensor(lua_State *L, int ctxi, int module, int methods) {
  static const luaL_Reg meta[] = {
      {"__gc", t_release}, {"__close", t_close}, {"__eq", t_eq}, {"__len", t_len},
      {"__unm", t_unm}, {NULL, NULL}};
  static const luaL_Reg meths[] = {
      {"size", m_size}, {"dim", m_dim}, {"numel", m_numel}, {"nelement", m_numel}, {"item", m_item},
      {"tolist", m_tolist}, {"_flat", m_flat}, {"clone", m_clone}, {"contiguous", m_contiguous},
      {"is_contiguous", m_is_contiguous}, {"is_floating_point", m_is_floating_point}, {"to", m_to},
      {"float", m_float}, {"double", m_double}, {"long", m_long}, {"bool", m_bool}, {"cpu", m_cpu}, {"cuda", m_cuda},
      {"fill_", m_fill_}, {"zero_", m_zero_}, {"copy_", m_copy_}, {"detach", m_detach},
      {"detach_", m_detach_}, {"requires_grad_", m_requires_grad_}, {"retain_grad", m_retain_grad},
      {"free", m_free}, {"data_ptr", m_data_ptr}, {"stride", m_stride}, {"_version", m_version},
      {NULL, NULL}};
  tgL_setfuncs(L, methods, ctxi, meths);
  /* the module forms PyTorch also has (torch.clone(t), torch.numel(t), ...) */
  static const luaL_Reg fns[] = {
      {"clone", m_clone}, {"detach", m_detach}, {"detach_", m_detach_}, {"numel", m_numel},
      {"is_floating_point", m_is_floating_point}, {"fill_", m_fill_}, {"zero_", m_zero_}, {NULL, NULL}};
  tgL_setfuncs(L, module, ctxi, fns);
  luaL_getmetatable(L, TG_TENSOR_MT);
  int mt = lua_gettop(L);
  tgL_setfuncs(L, mt, ctxi, meta);
  /* __index / __newindex: upvalues ctx and the methods table */
  lua_pushvalue(L, ctxi);
  lua_pushvalue(L, methods);
  lua_pushcclosure(L, t_index, 2);
  lua_setfield(L, mt, "__index");
  lua_pushvalue(L, ctxi);
  lua_pushvalue(L, methods);
  lua_pushcclosure(L, t_newindex, 2);
  lua_setfield(L, mt, "__newindex");
  lua_pop(L, 1);
}
