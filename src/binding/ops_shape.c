/* ops_shape.c (binding): views, copies, indexing and linear algebra beyond the foundation.
 * Dims are 1-based (negative from the end); index tensors hold 1-based int64 values.
 * split/chunk/unbind return a Lua list (table) of tensors, as PyTorch returns a tuple. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"

#define CTX tg_ctx *c = tgL_ctx(L)

static int push_result(lua_State *L, tg_ctx *c, tg_tensor **box) {
  if (!*box) return tgL_raise(L, c);
  return 1;
}

/* an optional dim argument (default given 0-based) */
static int opt_dim(lua_State *L, tg_ctx *c, int idx, int ndim, int dflt) {
  return lua_isnoneornil(L, idx) ? dflt : tgL_dim(L, c, idx, ndim);
}

/* a list of dims from varargs or one table; returns the count */
static int dim_list(lua_State *L, tg_ctx *c, int idx, int ndim, int *dims) {
  int64_t raw[TG_MAX_DIMS];
  int n = tgL_sizes(L, idx, raw, NULL);
  for (int i = 0; i < n; i++) {
    lua_pushinteger(L, raw[i]);
    dims[i] = tgL_dim(L, c, lua_gettop(L), ndim);
    lua_pop(L, 1);
  }
  return n;
}

/* a Lua list of tensors as a C array of borrowed pointers (freed by the caller) */
static tg_tensor **tensor_list(lua_State *L, int idx, int *n, const char *fname) {
  if (!lua_istable(L, idx) || tgL_is_tensor(L, idx))
    luaL_error(L, "%s(): argument 'tensors' must be a list of Tensors, not %s", fname, luaL_typename(L, idx));
  lua_Integer len = luaL_len(L, idx);
  tg_tensor **ts = lua_newuserdatauv(L, sizeof *ts * (size_t)(len ? len : 1), 0); /* GC-owned scratch */
  for (lua_Integer i = 1; i <= len; i++) {
    lua_geti(L, idx, i);
    if (!tgL_is_tensor(L, -1))
      luaL_error(L, "%s(): expected Tensor as element %d in argument 1, but got %s", fname, (int)i, luaL_typename(L, -1));
    ts[i - 1] = tgL_check(L, -1);
    lua_pop(L, 1); /* still referenced by the list */
  }
  *n = (int)len;
  return ts;
}

/* push a C array of new references as a Lua list; frees the array */
static int push_list(lua_State *L, tg_ctx *c, int n, tg_tensor **ts) {
  if (n < 0) return tgL_raise(L, c);
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    tg_tensor **box = tgL_newbox(L);
    *box = ts[i];
    ts[i] = NULL;
    lua_rawseti(L, -2, i + 1);
  }
  tg_free_list(n, ts);
  return 1;
}

/* ---------------------------------------------------------------- views */
static int op_flatten(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int nd = x->ndim ? x->ndim : 1;
  int s = opt_dim(L, c, 2, nd, 0), e = opt_dim(L, c, 3, nd, nd - 1);
  if (x->ndim && s == e) {
    lua_settop(L, 1); /* as PyTorch: flatten over one dim is the tensor itself */
    return 1;
  }
  tg_tensor **box = tgL_newbox(L);
  *box = tg_flatten(c, x, s, e);
  return push_result(L, c, box);
}

static int op_unflatten(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int d = tgL_dim(L, c, 2, x->ndim);
  int64_t sizes[TG_MAX_DIMS], shape[TG_MAX_DIMS];
  int n = tgL_sizes(L, 3, sizes, NULL);
  if (n == 0) return luaL_error(L, "unflatten: sizes must be non-empty");
  if (x->ndim - 1 + n > TG_MAX_DIMS) return luaL_error(L, "too many dimensions");
  int64_t prod = 1, infer = -1;
  for (int i = 0; i < n; i++) {
    if (sizes[i] == -1 && infer < 0) infer = i;
    else prod *= sizes[i];
  }
  if ((infer < 0 && prod != x->size[d]) || (infer >= 0 && (prod == 0 || x->size[d] % prod))) {
    char buf[256];
    tg_format_shape(buf, sizeof buf, n, sizes);
    return luaL_error(L, "unflatten: Provided sizes %s don't multiply up to the size of dim %d (%I) in the input tensor",
                      buf, d + 1, (lua_Integer)x->size[d]);
  }
  int k = 0;
  for (int i = 0; i < x->ndim; i++) {
    if (i == d)
      for (int j = 0; j < n; j++) shape[k++] = sizes[j];
    else
      shape[k++] = x->size[i];
  }
  tg_tensor **box = tgL_newbox(L);
  *box = tg_view(c, x, k, shape);
  return push_result(L, c, box);
}

static int op_split(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int d = opt_dim(L, c, 3, x->ndim, 0);
  tg_tensor **outs;
  int n;
  if (lua_istable(L, 2)) {
    int64_t sizes[1024];
    lua_Integer len = luaL_len(L, 2);
    if (len > 1024) return luaL_error(L, "split: too many sizes");
    for (lua_Integer i = 1; i <= len; i++) {
      lua_geti(L, 2, i);
      int isnum;
      sizes[i - 1] = lua_tointegerx(L, -1, &isnum);
      if (!isnum) return luaL_error(L, "split(): split_size_or_sections must hold integers");
      lua_pop(L, 1);
    }
    n = tg_split(c, x, d, (int)len, sizes, true, &outs);
  } else {
    int64_t s = luaL_checkinteger(L, 2);
    n = tg_split(c, x, d, 1, &s, false, &outs);
  }
  return push_list(L, c, n, outs);
}

static int op_chunk(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  lua_Integer k = luaL_checkinteger(L, 2);
  int d = opt_dim(L, c, 3, x->ndim, 0);
  tg_tensor **outs;
  /* past INT_MAX: on a non-empty dim any count >= its size gives the same pieces;
   * on an empty dim the core refuses the count */
  if (k > INT_MAX && x->ndim && x->size[d] == 0)
    return luaL_error(L, "chunk: %I pieces is more than the supported maximum of %d", k, 1 << 24);
  if (k > INT_MAX) k = x->ndim && x->size[d] < INT_MAX ? x->size[d] : INT_MAX;
  int n = tg_chunk(c, x, (int)k, d, &outs);
  return push_list(L, c, n, outs);
}

static int op_unbind(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int d = opt_dim(L, c, 2, x->ndim, 0);
  tg_tensor **outs;
  int n = tg_unbind(c, x, d, &outs);
  return push_list(L, c, n, outs);
}

/* --------------------------------------------------------------- copies */
static int op_cat(lua_State *L) {
  CTX;
  int n;
  lua_settop(L, 2); /* the scratch list goes above the arguments */
  tg_tensor **ts = tensor_list(L, 1, &n, "cat");
  int ref = 0;
  while (ref < n - 1 && ts[ref]->ndim == 1 && ts[ref]->size[0] == 0) ref++;
  int d = n ? opt_dim(L, c, 2, ts[ref]->ndim, 0) : 0;
  tg_tensor **box = tgL_newbox(L);
  *box = tg_cat(c, n, ts, d);
  return push_result(L, c, box);
}

static int op_stack(lua_State *L) {
  CTX;
  int n;
  lua_settop(L, 2);
  tg_tensor **ts = tensor_list(L, 1, &n, "stack");
  int d = n ? opt_dim(L, c, 2, ts[0]->ndim + 1, 0) : 0;
  tg_tensor **box = tgL_newbox(L);
  *box = tg_stack(c, n, ts, d);
  return push_result(L, c, box);
}

/* (input, dim, index): the arguments every gather/scatter-style op starts with */
static tg_tensor *dim_index_args(lua_State *L, tg_ctx *c, int *d, tg_tensor **idx) {
  tg_tensor *x = tgL_check(L, 1);
  *d = tgL_dim(L, c, 2, x->ndim);
  *idx = tgL_check(L, 3);
  return x;
}

/* index_select and gather take the same arguments */
static int dim_index_fn(lua_State *L, tg_tensor *(*f)(tg_ctx *, tg_tensor *, int, tg_tensor *)) {
  CTX;
  int d;
  tg_tensor *idx, *x = dim_index_args(L, c, &d, &idx);
  tg_tensor **box = tgL_newbox(L);
  *box = f(c, x, d, idx);
  return push_result(L, c, box);
}
static int op_index_select(lua_State *L) { return dim_index_fn(L, tg_index_select); }
static int op_gather(lua_State *L) { return dim_index_fn(L, tg_gather); }

static int op_scatter(lua_State *L) {
  CTX;
  int d;
  tg_tensor *idx, *x = dim_index_args(L, c, &d, &idx);
  tg_tensor **box;
  if (tgL_is_tensor(L, 4)) {
    tg_tensor *src = tgL_check(L, 4);
    box = tgL_newbox(L);
    *box = tg_scatter(c, x, d, idx, src);
  } else {
    double v = lua_isboolean(L, 4) ? lua_toboolean(L, 4) : luaL_checknumber(L, 4);
    box = tgL_newbox(L);
    *box = tg_scatter_value(c, x, d, idx, v);
  }
  return push_result(L, c, box);
}

static int op_scatter_add(lua_State *L) {
  CTX;
  int d;
  tg_tensor *idx, *x = dim_index_args(L, c, &d, &idx), *src = tgL_check(L, 4);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_scatter_add(c, x, d, idx, src);
  return push_result(L, c, box);
}

static int op_index_add(lua_State *L) {
  CTX;
  int d;
  tg_tensor *idx, *x = dim_index_args(L, c, &d, &idx), *src = tgL_check(L, 4);
  double alpha = 1.0;
  if (lua_type(L, 5) == LUA_TNUMBER) {
    alpha = lua_tonumber(L, 5);
  } else {
    int opts = tgL_kwargs(L, 5, "index_add", "alpha");
    if (tgL_opt_field(L, opts, "alpha") != LUA_TNIL) alpha = luaL_checknumber(L, -1);
    lua_pop(L, 1);
  }
  tg_tensor **box = tgL_newbox(L);
  *box = tg_index_add(c, x, d, idx, src, alpha);
  return push_result(L, c, box);
}

static int op_masked_fill(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1), *mask = tgL_check(L, 2);
  tg_tensor *v = tgL_to_tensor(L, c, 3, x->dtype);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_masked_fill(c, x, mask, v);
  tg_tensor_unref(v);
  return push_result(L, c, box);
}

static int op_masked_select(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1), *mask = tgL_check(L, 2);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_masked_select(c, x, mask);
  return push_result(L, c, box);
}

/* tg.where(cond): nonzero(cond, as_tuple = true), a Lua list of one 1-based int64 index
 * tensor per dim of cond (one for a 0-d cond) */
static int nonzero_tuple(lua_State *L, tg_ctx *c, tg_tensor *cond) {
  tg_tensor **mb = tgL_newbox(L); /* the bool mask, then the flat positions: freed by the GC */
  *mb = cond->dtype == TG_BOOL ? tg_tensor_ref(cond) : tg_cast_raw(c, cond, TG_BOOL);
  if (!*mb) return tgL_raise(L, c);
  tg_tensor **pb = tgL_newbox(L);
  *pb = tg_mask_positions(c, *mb);
  if (!*pb) return tgL_raise(L, c);
  tg_tensor *pos = *pb;
  int64_t k = tg_numel(pos);
  int nd = cond->ndim ? cond->ndim : 1;
  lua_createtable(L, nd, 0);
  int64_t inner = 1;
  for (int d = nd - 1; d >= 0; d--) {
    int64_t sz = cond->ndim ? cond->size[d] : 1;
    tg_tensor **box = tgL_newbox(L);
    *box = tg_tensor_empty(c, TG_INT64, 1, &k);
    if (!*box) return tgL_raise(L, c);
    int64_t *o = tg_data(*box);
    for (int64_t i = 0; i < k; i++) o[i] = ((tg_get_flat_i64(pos, i) - 1) / inner) % sz + 1;
    inner *= sz;
    lua_rawseti(L, -2, d + 1);
  }
  return 1;
}

/* tg.where(cond, a, b): a and b tensors or numbers */
static int where_args(lua_State *L, int ci, int ai, int bi) {
  CTX;
  tg_tensor *cond = tgL_check(L, ci);
  if (lua_isnoneornil(L, ai) && lua_isnoneornil(L, bi)) return nonzero_tuple(L, c, cond);
  if (lua_isnoneornil(L, ai) || lua_isnoneornil(L, bi))
    return luaL_error(L, "where(): expected (condition) or (condition, input, other), got an input without an other");
  tg_tensor *a = tgL_to_tensor(L, c, ai, TG_FLOAT32);
  tg_tensor *b = tgL_to_tensor(L, c, bi, TG_FLOAT32);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_where(c, cond, a, b);
  tg_tensor_unref(a), tg_tensor_unref(b);
  return push_result(L, c, box);
}
static int op_where(lua_State *L) { return where_args(L, 1, 2, 3); }
static int m_where(lua_State *L) { return where_args(L, 2, 1, 3); } /* x:where(cond, other) */

static int repeat_fn(lua_State *L, bool tile) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int64_t reps[TG_MAX_DIMS + 1];
  int n = tgL_sizes(L, 2, reps, NULL);
  if (n == 0 && !tile) return luaL_error(L, "repeat(): missing the repeats argument");
  if (tile && n < x->ndim) { /* tile pads the repeats with leading ones */
    int pad = x->ndim - n;
    memmove(reps + pad, reps, sizeof(int64_t) * (size_t)n);
    for (int i = 0; i < pad; i++) reps[i] = 1;
    n = x->ndim;
  }
  tg_tensor **box = tgL_newbox(L);
  *box = tg_repeat(c, x, n, reps);
  return push_result(L, c, box);
}
static int op_repeat(lua_State *L) { return repeat_fn(L, false); }
static int op_tile(lua_State *L) { return repeat_fn(L, true); }

static int op_flip(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int dims[TG_MAX_DIMS];
  int n = dim_list(L, c, 2, x->ndim, dims);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_flip(c, x, n, dims);
  return push_result(L, c, box);
}

static int op_roll(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int64_t shifts[TG_MAX_DIMS];
  int dims[TG_MAX_DIMS];
  int ns = lua_istable(L, 2) ? tgL_sizes(L, 2, shifts, NULL) : (shifts[0] = luaL_checkinteger(L, 2), 1);
  int nd = lua_isnoneornil(L, 3) ? 0 : dim_list(L, c, 3, x->ndim, dims);
  if (nd && ns != nd) return luaL_error(L, "shifts and dimensions must align. shifts: %d, dims:%d", ns, nd);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_roll(c, x, ns, shifts, nd ? dims : NULL);
  return push_result(L, c, box);
}

static int tri_fn(lua_State *L, bool lower) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  lua_Integer k = luaL_optinteger(L, 2, 0);
  tg_tensor **box = tgL_newbox(L);
  *box = lower ? tg_tril(c, x, k) : tg_triu(c, x, k);
  return push_result(L, c, box);
}
static int op_tril(lua_State *L) { return tri_fn(L, true); }
static int op_triu(lua_State *L) { return tri_fn(L, false); }

/* 1-based flat positions of the true elements of a bool mask (for t[mask]) */
static int op_mask_positions(lua_State *L) {
  CTX;
  tg_tensor *m = tgL_check(L, 1);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_mask_positions(c, m);
  return push_result(L, c, box);
}

/* ------------------------------------------------------- linear algebra */
#define BINARY_TENSOR_FN(name, f)                           \
  static int op_##name(lua_State *L) {                      \
    CTX;                                                    \
    tg_tensor *a = tgL_check(L, 1), *b = tgL_check(L, 2);   \
    tg_tensor **box = tgL_newbox(L);                        \
    *box = f(c, a, b);                                      \
    return push_result(L, c, box);                          \
  }
BINARY_TENSOR_FN(dot, tg_dot)
BINARY_TENSOR_FN(mv, tg_mv)
BINARY_TENSOR_FN(outer, tg_outer)

static int addmm_fn(lua_State *L, bool batched) {
  CTX;
  tg_tensor *s = tgL_check(L, 1), *a = tgL_check(L, 2), *b = tgL_check(L, 3);
  int opts = tgL_kwargs(L, 4, batched ? "baddbmm" : "addmm", "beta alpha");
  double beta = 1.0, alpha = 1.0;
  if (tgL_opt_field(L, opts, "beta") != LUA_TNIL) beta = luaL_checknumber(L, -1);
  lua_pop(L, 1);
  if (tgL_opt_field(L, opts, "alpha") != LUA_TNIL) alpha = luaL_checknumber(L, -1);
  lua_pop(L, 1);
  tg_tensor **box = tgL_newbox(L);
  *box = batched ? tg_baddbmm(c, s, a, b, beta, alpha) : tg_addmm(c, s, a, b, beta, alpha);
  return push_result(L, c, box);
}
static int op_addmm(lua_State *L) { return addmm_fn(L, false); }
static int op_baddbmm(lua_State *L) { return addmm_fn(L, true); }

void tgL_register_shape(lua_State *L, int ctxi, int module, int methods) {
  static const luaL_Reg both[] = {
      {"flatten", op_flatten}, {"unflatten", op_unflatten}, {"split", op_split}, {"chunk", op_chunk},
      {"unbind", op_unbind}, {"index_select", op_index_select}, {"gather", op_gather},
      {"scatter", op_scatter}, {"scatter_add", op_scatter_add}, {"index_add", op_index_add},
      {"masked_fill", op_masked_fill}, {"masked_select", op_masked_select}, {"repeat", op_repeat},
      {"repeatTensor", op_repeat}, {"tile", op_tile}, {"flip", op_flip}, {"roll", op_roll}, {"tril", op_tril}, {"triu", op_triu},
      {"dot", op_dot}, {"mv", op_mv}, {"outer", op_outer}, {"addmm", op_addmm}, {"baddbmm", op_baddbmm},
      {NULL, NULL}};
  static const luaL_Reg module_only[] = {
      {"cat", op_cat}, {"stack", op_stack}, {"where", op_where}, {"_mask_positions", op_mask_positions},
      {NULL, NULL}};
  static const luaL_Reg methods_only[] = {{"where", m_where}, {NULL, NULL}};
  tgL_setfuncs(L, module, ctxi, both);
  tgL_setfuncs(L, methods, ctxi, both);
  tgL_setfuncs(L, module, ctxi, module_only);
  tgL_setfuncs(L, methods, ctxi, methods_only);
}
