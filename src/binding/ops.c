/* ops.c (binding): registers the ops as tg.f(t, ...) and t:f(...).
 * Elementwise ops come from ops.def; the rest parse their own arguments. */
#include <string.h>

#include "binding.h"
#include "mem.h" /* mem: out= */

#define CTX tg_ctx *c = tgL_ctx(L)

/* ---- elementwise from the op table */
static int unary_fn(lua_State *L, tg_op op) {
  if (lua_type(L, 2) == LUA_TTABLE) { int r = tgL_out_unary(L, op); if (r >= 0) return r; } /* mem: {out = t} */
  CTX;
  tg_tensor *x = tgL_check_c(L, c, 1);
  tg_tensor **box = tgL_newbox_c(L, c);
  *box = tg_unary(c, op, x);
  if (!*box) return tgL_raise(L, c);
  return 1;
}

/* a Lua number or boolean as a 0-d "wrapped number" tensor (PyTorch's python-scalar
 * type promotion); NULL (and an error raised) for anything else */
static tg_tensor *wrapped_arg(lua_State *L, tg_ctx *c, int idx, const char *fname) {
  int t = lua_type(L, idx);
  if (t != LUA_TNUMBER && t != LUA_TBOOLEAN) {
    luaL_error(L, "bad argument #%d to '%s': expected Tensor or number but got %s", idx, fname, luaL_typename(L, idx));
    return NULL;
  }
  tg_tensor *s;
  if (t == LUA_TBOOLEAN) s = tg_tensor_scalar(c, TG_BOOL, lua_toboolean(L, idx));
  else if (lua_isinteger(L, idx)) s = tg_tensor_scalar(c, TG_INT64, 0);
  else s = tg_tensor_scalar(c, TG_FLOAT64, lua_tonumber(L, idx));
  if (!s) tgL_raise(L, c);
  if (t == LUA_TNUMBER && lua_isinteger(L, idx)) *(int64_t *)tg_data(s) = lua_tointeger(L, idx); /* exact past 2^53 */
  s->wrapped_number = true;
  return s;
}

/* f(a, b [, {alpha = x}]): a and b tensors or Lua numbers (not both numbers);
 * alpha only for add and sub (a + alpha b, as torch.add) */
static int binary_fn(lua_State *L, tg_op op) {
  int t3 = lua_type(L, 3);
  if (t3 == LUA_TTABLE) { int r = tgL_out_binary(L, op); if (r >= 0) return r; } /* mem: {out = t} */
  CTX;
  const char *fname = tg_op_infos[op].name;
  tg_tensor **ba = tgL_testbox_c(L, c, 1), **bb = tgL_testbox_c(L, c, 2);
  if (t3 == LUA_TNONE && !ba != !bb) { /* perop2: t op number, number op t */
    int r = tgL_binary_number_fast(L, c, op, ba ? 1 : 2, ba ? ba : bb);
    if (r) return r;
  }
  if (!ba && !bb)
    return luaL_error(L, "bad argument #1 to '%s': expected Tensor but got %s", fname, luaL_typename(L, 1));
  double alpha = 1;
  bool alpha_int = true, has_alpha = false;
  int opts = tgL_kwargs(L, 3, fname, op == TG_OP_ADD || op == TG_OP_SUB ? "alpha" : op == TG_OP_DIV ? "rounding_mode" : "");
  if (opts && (op == TG_OP_ADD || op == TG_OP_SUB)) {
    if (tgL_opt_field(L, opts, "alpha") != LUA_TNIL) {
      if (lua_type(L, -1) != LUA_TNUMBER)
        return luaL_error(L, "%s(): argument 'alpha' must be a number, not %s", fname, luaL_typename(L, -1));
      alpha = lua_tonumber(L, -1);
      alpha_int = lua_isinteger(L, -1);
      has_alpha = true;
    }
    lua_pop(L, 1);
  }
  int rounding = op == TG_OP_DIV ? tgL_rounding_mode(L, opts) : 0; /* div: 1 trunc, 2 floor */
  /* a number becomes a 0-d wrapped tensor held only here (no Lua box: a
   * fifth of a scalar op's cost); nothing can raise between its creation
   * and its release, since the argument types were checked above */
  for (int i = 1; i <= 2; i++) {
    int t = lua_type(L, i);
    if (!(i == 1 ? ba : bb) && t != LUA_TNUMBER && t != LUA_TBOOLEAN)
      return luaL_error(L, "bad argument #%d to '%s': expected Tensor or number but got %s", i, fname, luaL_typename(L, i));
  }
  tg_tensor *a = ba ? *ba : NULL, *b = bb ? *bb : NULL;
  if ((ba && !a) || (bb && !b)) tgL_check(L, ba && !a ? 1 : 2); /* a freed tensor: raises */
  tg_tensor **box = tgL_newbox_c(L, c);
  if (!a) a = wrapped_arg(L, c, 1, fname);
  if (!b) b = wrapped_arg(L, c, 2, fname);
  *box = has_alpha ? tg_add_alpha(c, op, a, b, alpha, alpha_int)
         : rounding ? tg_div_rounding(c, a, b, rounding) : tg_binary(c, op, a, b);
  if (!ba) tg_tensor_unref(a);
  if (!bb) tg_tensor_unref(b);
  if (!*box) return tgL_raise(L, c);
  return 1;
}

#define TG_UNARY(E, name, gname, int_ok) static int op_##name(lua_State *L) { return unary_fn(L, TG_OP_##E); }
#define TG_UNARY_P(E, name, gname, int_ok) /* by hand below */
#define TG_BINARY(E, name, gname, kind) static int op_##name(lua_State *L) { return binary_fn(L, TG_OP_##E); }
#include "../ops.def"

/* ---- elementwise ops with parameters (helper: elementwise) */
static double num_opt(lua_State *L, int opts, const char *key, double dflt) {
  double v = dflt;
  if (opts && tgL_opt_field(L, opts, key) != LUA_TNIL) v = luaL_checknumber(L, -1);
  if (opts) lua_pop(L, 1);
  return v;
}

/* gelu(x [, {approximate = "none"|"tanh"}]) */
static int op_gelu(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int opts = tgL_kwargs(L, 2, "gelu", "approximate");
  bool approx = false;
  if (opts && tgL_opt_field(L, opts, "approximate") != LUA_TNIL) {
    const char *s = luaL_checkstring(L, -1);
    if (!strcmp(s, "tanh")) approx = true;
    else if (strcmp(s, "none")) return luaL_error(L, "approximate argument must be either none or tanh.");
  }
  if (opts) lua_pop(L, 1);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_gelu(c, x, approx);
  if (!*box) return tgL_raise(L, c);
  return 1;
}

/* softplus(x [, beta [, threshold]]) or softplus(x, {beta = 1, threshold = 20}) */
static int op_softplus(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int opts = tgL_kwargs(L, 2, "softplus", "beta threshold");
  double beta = lua_type(L, 2) == LUA_TNUMBER ? lua_tonumber(L, 2) : num_opt(L, opts, "beta", 1.0);
  double th = lua_type(L, 3) == LUA_TNUMBER ? lua_tonumber(L, 3) : num_opt(L, opts, "threshold", 20.0);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_softplus(c, x, beta, th);
  if (!*box) return tgL_raise(L, c);
  return 1;
}

/* clamp(x, min, max) / clip: either bound nil; numbers, or tensors (broadcast);
 * also clamp(x, {min = a, max = b}) */
static int op_clamp(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int lo = 2, hi = 3, opts = tgL_kwargs(L, 2, "clamp", "min max");
  if (opts == 2) { /* options table instead of positional bounds */
    lua_getfield(L, 2, "min");
    lua_getfield(L, 2, "max");
    lo = lua_gettop(L) - 1, hi = lua_gettop(L);
  }
  int tlo = lua_type(L, lo), thi = lua_type(L, hi);
  bool any_tensor = tgL_is_tensor(L, lo) || tgL_is_tensor(L, hi);
  for (int i = lo; i <= hi; i += hi - lo) {
    int t = lua_type(L, i);
    if (t != LUA_TNIL && t != LUA_TNONE && t != LUA_TNUMBER && !tgL_is_tensor(L, i))
      return luaL_error(L, "bad argument #%d to 'clamp': expected number, Tensor or nil but got %s", i == lo ? 2 : 3,
                        luaL_typename(L, i));
  }
  if (any_tensor) {
    tg_tensor *tmin = NULL, *tmax = NULL;
    if (tlo == LUA_TNUMBER) { tg_tensor **h = tgL_newbox(L); tmin = *h = wrapped_arg(L, c, lo, "clamp"); }
    else if (tlo != LUA_TNIL && tlo != LUA_TNONE) tmin = tgL_check(L, lo);
    if (thi == LUA_TNUMBER) { tg_tensor **h = tgL_newbox(L); tmax = *h = wrapped_arg(L, c, hi, "clamp"); }
    else if (thi != LUA_TNIL && thi != LUA_TNONE) tmax = tgL_check(L, hi);
    tg_tensor **box = tgL_newbox(L);
    *box = tg_clamp_tensor(c, x, tmin, tmax);
    if (!*box) return tgL_raise(L, c);
  } else {
    double vlo = 0, vhi = 0;
    bool ints = true;
    if (tlo == LUA_TNUMBER) vlo = lua_tonumber(L, lo), ints = ints && lua_isinteger(L, lo);
    if (thi == LUA_TNUMBER) vhi = lua_tonumber(L, hi), ints = ints && lua_isinteger(L, hi);
    tg_tensor **box = tgL_newbox(L);
    *box = tg_clamp(c, x, tlo == LUA_TNUMBER ? &vlo : NULL, thi == LUA_TNUMBER ? &vhi : NULL, ints);
    if (!*box) return tgL_raise(L, c);
  }
  return 1;
}

static int op_logical_not(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_logical_not(c, x);
  return *box ? 1 : tgL_raise(L, c);
}

/* ---- linear algebra */
#define BINARY_TENSOR_FN(name, f)                  \
  static int op_##name(lua_State *L) {             \
    CTX;                                           \
    tg_tensor *a = tgL_check_c(L, c, 1), *b = tgL_check_c(L, c, 2); \
    tg_tensor **box = tgL_newbox_c(L, c);          \
    *box = f(c, a, b);                             \
    if (!*box) return tgL_raise(L, c);             \
    return 1;                                      \
  }
BINARY_TENSOR_FN(matmul, tg_matmul)
BINARY_TENSOR_FN(mm, tg_mm)
BINARY_TENSOR_FN(bmm, tg_bmm)

/* ---- shape */
static int shape_fn(lua_State *L, bool view) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int64_t size[TG_MAX_DIMS];
  int n = tgL_sizes(L, 2, size, NULL);
  tg_tensor **box = tgL_newbox(L);
  *box = view ? tg_view(c, x, n, size) : tg_reshape(c, x, n, size);
  return *box ? 1 : tgL_raise(L, c);
}
static int op_view(lua_State *L) { return shape_fn(L, true); }
static int op_reshape(lua_State *L) { return shape_fn(L, false); }

/* t:view_as(other), t:reshape_as(other): other's shape */
static int shape_as(lua_State *L, bool view) {
  CTX;
  tg_tensor *x = tgL_check(L, 1), *o = tgL_check(L, 2);
  tg_tensor **box = tgL_newbox(L);
  *box = view ? tg_view(c, x, o->ndim, o->size) : tg_reshape(c, x, o->ndim, o->size);
  return *box ? 1 : tgL_raise(L, c);
}
static int op_view_as(lua_State *L) { return shape_as(L, true); }
static int op_reshape_as(lua_State *L) { return shape_as(L, false); }

static int op_transpose(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int d0 = tgL_dim(L, c, 2, x->ndim), d1 = tgL_dim(L, c, 3, x->ndim);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_transpose(c, x, d0, d1);
  return *box ? 1 : tgL_raise(L, c);
}

static int op_t(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  if (x->ndim > 2) return luaL_error(L, "t() expects a tensor with <= 2 dimensions, but self is %dD", x->ndim);
  tg_tensor **box = tgL_newbox(L);
  *box = x->ndim < 2 ? tg_tensor_ref(x) : tg_t(c, x);
  if (*box && x->ndim < 2) { /* a 0-D/1-D t() is a view of itself */
    tg_tensor_unref(*box);
    *box = tg_view(c, x, x->ndim, x->size);
  }
  return *box ? 1 : tgL_raise(L, c);
}

static int op_permute(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int64_t dims[TG_MAX_DIMS];
  int perm[TG_MAX_DIMS];
  int n = tgL_sizes(L, 2, dims, NULL);
  if (n != x->ndim)
    return luaL_error(L, "permute(sparse_coo): number of dimensions in the tensor input does not match the length of the desired ordering of dimensions i.e. input.dim() = %d is not equal to len(dims) = %d", x->ndim, n);
  for (int i = 0; i < n; i++) {
    lua_pushinteger(L, dims[i]);
    perm[i] = tgL_dim(L, c, lua_gettop(L), x->ndim);
    lua_pop(L, 1);
  }
  tg_tensor **box = tgL_newbox(L);
  *box = tg_permute(c, x, perm);
  return *box ? 1 : tgL_raise(L, c);
}

static int op_unsqueeze(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int d = tgL_dim(L, c, 2, x->ndim + 1);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_unsqueeze(c, x, d);
  return *box ? 1 : tgL_raise(L, c);
}

/* squeeze(t), squeeze(t, d), squeeze(t, {d1, d2, ...}) (PyTorch 2.x: each listed dim
 * of size 1 goes; {} squeezes nothing), or the dim as an option */
static int op_squeeze(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int opts = tgL_kwargs(L, 2, "squeeze", "dim");
  int slot = tgL_opt_dim_slot(L, opts, 2, "squeeze", "dim");
  if (slot && lua_istable(L, slot) && !tgL_is_tensor(L, slot)) {
    int nd = x->ndim ? x->ndim : 1, dims[TG_MAX_DIMS], n = 0;
    lua_Integer len = luaL_len(L, slot);
    if (len > nd) return luaL_error(L, "squeeze(): too many dims (%d) for a tensor of %d dimensions", (int)len, x->ndim);
    bool seen[TG_MAX_DIMS] = {false};
    for (lua_Integer i = 1; i <= len; i++) {
      lua_geti(L, slot, i);
      int d = tgL_dim(L, c, lua_gettop(L), nd);
      lua_pop(L, 1);
      if (seen[d]) return luaL_error(L, "dim %d appears multiple times in the list of dims", d + 1);
      seen[d] = true;
    }
    for (int d = nd - 1; d >= 0; d--) /* from the last, so the earlier dims keep their numbers */
      if (seen[d] && x->ndim && x->size[d] == 1) dims[n++] = d;
    tg_tensor **box = tgL_newbox(L);
    if (n == 0) {
      *box = tg_view(c, x, x->ndim, x->size); /* a view of itself, as PyTorch */
      return *box ? 1 : tgL_raise(L, c);
    }
    tg_tensor *cur = tg_tensor_ref(x);
    for (int i = 0; i < n && cur; i++) {
      tg_tensor *next = tg_squeeze(c, cur, dims[i]);
      tg_tensor_unref(cur);
      cur = next;
    }
    *box = cur;
    return *box ? 1 : tgL_raise(L, c);
  }
  int d = slot ? tgL_dim(L, c, slot, x->ndim) : -1;
  tg_tensor **box = tgL_newbox(L);
  *box = tg_squeeze(c, x, x->ndim == 0 ? -1 : d);
  return *box ? 1 : tgL_raise(L, c);
}

static int op_expand(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int64_t size[TG_MAX_DIMS];
  int n = tgL_sizes(L, 2, size, NULL);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_expand(c, x, n, size);
  return *box ? 1 : tgL_raise(L, c);
}

static int op_expand_as(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1), *o = tgL_check(L, 2);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_expand(c, x, o->ndim, o->size);
  return *box ? 1 : tgL_raise(L, c);
}

static int op_select(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  if (x->ndim == 0) return luaL_error(L, "select() cannot be applied to a 0-dim tensor.");
  int d = tgL_dim(L, c, 2, x->ndim);
  lua_Integer i = luaL_checkinteger(L, 3), n = (lua_Integer)x->size[d];
  if (i == 0 || i > n || i < -n) { /* PyTorch's text, 1-based */
    char shape[256];
    tg_format_shape(shape, sizeof shape, x->ndim, x->size);
    return luaL_error(L, "select(): index %I out of range for tensor of size %s at dimension %d", i, shape, d + 1);
  }
  tg_tensor **box = tgL_newbox(L);
  *box = tg_select(c, x, d, i > 0 ? i - 1 : i + n);
  return *box ? 1 : tgL_raise(L, c);
}

static int op_narrow(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  if (x->ndim == 0) return luaL_error(L, "narrow() cannot be applied to a 0-dim tensor.");
  int d = tgL_dim(L, c, 2, x->ndim);
  lua_Integer start = luaL_checkinteger(L, 3), len = luaL_checkinteger(L, 4);
  int64_t n = x->size[d];
  if (start == 0 || start < -n || start - 1 > n)
    return luaL_error(L, "start out of range (expected to be in range of [%I, %I], but got %I)", (lua_Integer)-n,
                      (lua_Integer)n, (lua_Integer)start);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_narrow(c, x, d, start > 0 ? start - 1 : start + n, len);
  return *box ? 1 : tgL_raise(L, c);
}

/* ---- losses: f(input, target, {reduction=, weight=, pos_weight=}) */
static tg_reduction reduction_opt(lua_State *L, int opts) {
  tg_reduction r = TG_REDUCTION_MEAN;
  if (tgL_opt_field(L, opts, "reduction") != LUA_TNIL) {
    const char *s = luaL_checkstring(L, -1);
    if (!strcmp(s, "mean")) r = TG_REDUCTION_MEAN;
    else if (!strcmp(s, "sum")) r = TG_REDUCTION_SUM;
    else if (!strcmp(s, "none")) r = TG_REDUCTION_NONE;
    else luaL_error(L, "%s is not a valid value for reduction", s);
  }
  lua_pop(L, 1);
  return r;
}

static tg_tensor *tensor_opt(lua_State *L, int opts, const char *key) {
  tg_tensor *t = NULL;
  if (tgL_opt_field(L, opts, key) != LUA_TNIL) t = tgL_check(L, -1);
  lua_pop(L, 1); /* still referenced by the options table */
  return t;
}

static int op_bce_with_logits(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1), *y = tgL_check(L, 2);
  int opts = tgL_kwargs(L, 3, "binary_cross_entropy_with_logits", "weight pos_weight reduction");
  tg_tensor *w = tensor_opt(L, opts, "weight"), *pw = tensor_opt(L, opts, "pos_weight");
  tg_reduction r = reduction_opt(L, opts);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_bce_with_logits(c, x, y, w, pw, r);
  return *box ? 1 : tgL_raise(L, c);
}

static int op_mse_loss(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1), *y = tgL_check(L, 2);
  tg_reduction r = reduction_opt(L, tgL_kwargs(L, 3, "mse_loss", "reduction"));
  tg_tensor **box = tgL_newbox(L);
  *box = tg_mse_loss(c, x, y, r);
  return *box ? 1 : tgL_raise(L, c);
}

void tgL_register_ops(lua_State *L, int ctxi, int module, int methods) {
  static const luaL_Reg both[] = {
#define TG_UNARY(E, name, gname, int_ok) {#name, op_##name},
#define TG_BINARY(E, name, gname, kind) {#name, op_##name},
#include "../ops.def"
      {"matmul", op_matmul}, {"mm", op_mm}, {"bmm", op_bmm},
      {"view", op_view}, {"reshape", op_reshape}, {"view_as", op_view_as}, {"reshape_as", op_reshape_as}, {"transpose", op_transpose}, {"t", op_t},
      {"permute", op_permute}, {"unsqueeze", op_unsqueeze}, {"squeeze", op_squeeze},
      {"expand", op_expand}, {"expand_as", op_expand_as}, {"select", op_select}, {"narrow", op_narrow},
      {"clip", op_clamp}, {"logical_not", op_logical_not},
      {NULL, NULL}};
  static const luaL_Reg module_only[] = {
      {"_bce_with_logits", op_bce_with_logits}, {"_mse_loss", op_mse_loss}, {NULL, NULL}};
  tgL_setfuncs(L, module, ctxi, both);
  tgL_setfuncs(L, methods, ctxi, both);
  tgL_setfuncs(L, module, ctxi, module_only);
  /* the arithmetic metamethods are the same functions (a tensor and a tensor
   * or Lua number/boolean on either side); a % b is remainder (Python's %:
   * the sign of the divisor), as PyTorch */
  static const luaL_Reg meta[] = {{"__add", op_add}, {"__sub", op_sub}, {"__mul", op_mul}, {"__div", op_div},
                                  {"__pow", op_pow}, {"__mod", op_remainder}, {NULL, NULL}};
  luaL_getmetatable(L, TG_TENSOR_MT);
  tgL_setfuncs(L, lua_gettop(L), ctxi, meta);
  lua_pop(L, 1);
}
