/* ops_pool.c (binding): pooling, padding and resizing, the C side of tg.F
 * (published by lua/tgrad/nn/functional_pool.lua; helper pool):
 *   tg._max_pool1d / _max_pool2d(x, kernel_size [, {stride, padding, dilation, ceil_mode, return_indices}])
 *   tg._avg_pool1d / _avg_pool2d(x, kernel_size [, {stride, padding, ceil_mode, count_include_pad,
 *       divisor_override}])
 *   (the pools also take those arguments by position, in PyTorch's order)
 *   tg._adaptive_avg_pool1d / 2d(x, output_size), tg._adaptive_max_pool1d / 2d(x, output_size [, {return_indices}])
 *   tg._max_unpool1d / 2d(x, indices, kernel_size [, {stride, padding, output_size}])
 *   tg._pad(x, pad [, mode | {mode, value}] [, value])
 *   tg._interpolate(x [, {size, scale_factor, mode, align_corners, recompute_scale_factor, antialias}])
 * Window options take a number or a table ({h, w} for 2-D); indices are 1-based. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "binding.h"
#include "../ops/pool.h"

#define CTX tg_ctx *c = tgL_ctx(L)

/* the value at idx: a number (repeated) or a table of n integers; false if nil/none
 * (or an empty table, PyTorch's stride=[]) */
static bool int_tuple(lua_State *L, int idx, int n, const char *fname, const char *arg, int64_t *v) {
  int t = lua_type(L, idx);
  if (t == LUA_TNONE || t == LUA_TNIL) return false;
  if (t == LUA_TNUMBER) {
    int ok;
    lua_Integer x = lua_tointegerx(L, idx, &ok);
    if (!ok) luaL_error(L, "%s(): argument '%s' must be an integer or a table of %d integers, not a float", fname, arg, n);
    for (int i = 0; i < n; i++) v[i] = (int64_t)x;
    return true;
  }
  if (t != LUA_TTABLE || tgL_is_tensor(L, idx))
    luaL_error(L, "%s(): argument '%s' must be an integer or a table of %d integers, not %s", fname, arg, n,
               luaL_typename(L, idx));
  lua_Integer len = luaL_len(L, idx);
  if (len == 0) return false;
  if (len != 1 && len != n)
    luaL_error(L, "%s(): argument '%s' must be an integer or a table of %d integers, got a table of %d", fname, arg, n,
               (int)len);
  for (int i = 0; i < n; i++) {
    lua_geti(L, idx, len == 1 ? 1 : i + 1);
    int ok;
    lua_Integer x = lua_tointegerx(L, -1, &ok);
    if (!ok) luaL_error(L, "%s(): argument '%s' must hold integers, got %s", fname, arg, luaL_typename(L, -1));
    v[i] = (int64_t)x;
    lua_pop(L, 1);
  }
  return true;
}

/* push PyTorch's argument `key`: given by position pos (not nil, not the options table)
 * or as opts.key; both is Python's "got multiple values" error */
static void arg_field(lua_State *L, int opts, int pos, const char *key, const char *fname) {
  if (pos != opts && !lua_isnoneornil(L, pos)) {
    if (tgL_opt_field(L, opts, key) != LUA_TNIL) luaL_error(L, "%s() got multiple values for argument '%s'", fname, key);
    lua_pop(L, 1);
    lua_pushvalue(L, pos);
    return;
  }
  tgL_opt_field(L, opts, key);
}

static bool bool_arg(lua_State *L, int opts, int pos, const char *key, const char *fname, bool dflt) {
  arg_field(L, opts, pos, key, fname);
  bool v = lua_isnil(L, -1) ? dflt : lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

/* argument key (position pos, or opts.key) as int_tuple; dflt when absent */
static void int_opt(lua_State *L, int opts, int pos, const char *key, int n, const char *fname, const int64_t *dflt,
                    int64_t *v) {
  arg_field(L, opts, pos, key, fname);
  if (!int_tuple(L, -1, n, fname, key, v)) memcpy(v, dflt, sizeof(int64_t) * (size_t)n);
  lua_pop(L, 1);
}

static void kernel_arg(lua_State *L, int n, const char *fname, int64_t *k) {
  if (!int_tuple(L, 2, n, fname, "kernel_size", k))
    luaL_error(L, "%s() missing required argument 'kernel_size' (position 2)", fname);
}

/* ---- max pools */
static int max_pool(lua_State *L, int n) {
  CTX;
  const char *fname = n == 1 ? "max_pool1d" : "max_pool2d";
  tg_tensor *x = tgL_check(L, 1);
  int64_t k[2], s[2], p[2], d[2], zero[2] = {0, 0}, one[2] = {1, 1};
  kernel_arg(L, n, fname, k);
  int opts = tgL_kwargs(L, 3, fname, "stride padding dilation ceil_mode return_indices");
  int_opt(L, opts, 3, "stride", n, fname, k, s);
  int_opt(L, opts, 4, "padding", n, fname, zero, p);
  int_opt(L, opts, 5, "dilation", n, fname, one, d);
  bool ceil = bool_arg(L, opts, 6, "ceil_mode", fname, false);
  bool ri = bool_arg(L, opts, 7, "return_indices", fname, false);
  tg_tensor **b1 = tgL_newbox(L), **b2 = ri ? tgL_newbox(L) : NULL;
  *b1 = n == 1 ? tg_max_pool1d(c, x, k[0], s[0], p[0], d[0], ceil, b2)
               : tg_max_pool2d(c, x, k, s, p, d, ceil, b2);
  if (!*b1) return tgL_raise(L, c);
  return ri ? 2 : 1;
}
static int op_max_pool1d(lua_State *L) { return max_pool(L, 1); }
static int op_max_pool2d(lua_State *L) { return max_pool(L, 2); }

/* ---- avg pools */
static int avg_pool(lua_State *L, int n) {
  CTX;
  const char *fname = n == 1 ? "avg_pool1d" : "avg_pool2d";
  tg_tensor *x = tgL_check(L, 1);
  int64_t k[2], s[2], p[2], zero[2] = {0, 0};
  kernel_arg(L, n, fname, k);
  int opts = tgL_kwargs(L, 3, fname,
                        n == 1 ? "stride padding ceil_mode count_include_pad"
                               : "stride padding ceil_mode count_include_pad divisor_override");
  int_opt(L, opts, 3, "stride", n, fname, k, s);
  int_opt(L, opts, 4, "padding", n, fname, zero, p);
  bool ceil = bool_arg(L, opts, 5, "ceil_mode", fname, false);
  bool cip = bool_arg(L, opts, 6, "count_include_pad", fname, true);
  int64_t divisor = 0;
  if (n == 2) arg_field(L, opts, 7, "divisor_override", fname);
  if (n == 2 && !lua_isnil(L, -1)) {
    int ok;
    divisor = (int64_t)lua_tointegerx(L, -1, &ok);
    if (!ok) luaL_error(L, "avg_pool2d(): argument 'divisor_override' must be an integer, not %s", luaL_typename(L, -1));
    if (divisor == 0) luaL_error(L, "divisor must be not zero");
  }
  if (n == 2) lua_pop(L, 1);
  tg_tensor **b = tgL_newbox(L);
  *b = n == 1 ? tg_avg_pool1d(c, x, k[0], s[0], p[0], ceil, cip) : tg_avg_pool2d(c, x, k, s, p, ceil, cip, divisor);
  if (!*b) return tgL_raise(L, c);
  return 1;
}
static int op_avg_pool1d(lua_State *L) { return avg_pool(L, 1); }
static int op_avg_pool2d(lua_State *L) { return avg_pool(L, 2); }

/* ---- max_unpool1d / 2d(x, indices, kernel_size [, stride [, padding [, output_size]]] | {stride, padding,
 * output_size}): output_size from Python's _unpool_output_size (a table of n or n + 2 sizes) */
static int max_unpool(lua_State *L, int n) {
  CTX;
  const char *fname = n == 1 ? "max_unpool1d" : "max_unpool2d";
  tg_tensor *x = tgL_check(L, 1), *idx = tgL_check(L, 2);
  int64_t k[2], s[2], p[2], zero[2] = {0, 0};
  if (!int_tuple(L, 3, n, fname, "kernel_size", k))
    luaL_error(L, "%s() missing required argument 'kernel_size' (position 3)", fname);
  int opts = tgL_kwargs(L, 4, fname, "stride padding output_size");
  int_opt(L, opts, 4, "stride", n, fname, k, s);
  int_opt(L, opts, 5, "padding", n, fname, zero, p);
  int64_t dflt[2], os[2];
  for (int d = 0; d < n; d++) {
    int64_t in = x->ndim >= n ? x->size[x->ndim - n + d] : 0;
    dflt[d] = (in - 1) * s[d] + k[d] - 2 * p[d];
    os[d] = dflt[d];
  }
  arg_field(L, opts, 6, "output_size", fname);
  if (!lua_isnil(L, -1)) {
    int t = lua_gettop(L);
    if (!lua_istable(L, t)) luaL_error(L, "%s(): output_size must be a table of sizes", fname);
    int len = (int)luaL_len(L, t), skip = len == n + 2 ? 2 : 0;
    if (len != n && len != n + 2)
      luaL_error(L, "output_size should be a sequence containing %d or %d elements, but it has a length of '%d'", n,
                 n + 2, len);
    for (int d = 0; d < n; d++) {
      lua_geti(L, t, skip + d + 1);
      os[d] = (int64_t)luaL_checkinteger(L, -1);
      lua_pop(L, 1);
    }
    for (int d = 0; d < n; d++) {
      long long lo = (long long)(dflt[d] - s[d]), hi = (long long)(dflt[d] + s[d]);
      if (!(lo < os[d] && os[d] < hi)) {
        char b[128];
        size_t l = (size_t)snprintf(b, sizeof b, "(");
        for (int e = 0; e < len && l < sizeof b; e++) {
          lua_geti(L, t, e + 1);
          l += (size_t)snprintf(b + l, sizeof b - l, "%s%lld", e ? ", " : "", (long long)lua_tointeger(L, -1));
          lua_pop(L, 1);
        }
        if (l < sizeof b) snprintf(b + l, sizeof b - l, "%s", len == 1 ? ",)" : ")");
        char m[256];
        snprintf(m, sizeof m, "invalid output_size \"%s\" (dim %d must be between %lld and %lld)", b, d + 1, lo, hi);
        luaL_error(L, "%s", m);
      }
    }
  }
  lua_pop(L, 1);
  tg_tensor **b = tgL_newbox(L);
  *b = n == 1 ? tg_max_unpool1d(c, x, idx, os[0]) : tg_max_unpool2d(c, x, idx, os);
  if (!*b) return tgL_raise(L, c);
  return 1;
}
static int op_max_unpool1d(lua_State *L) { return max_unpool(L, 1); }
static int op_max_unpool2d(lua_State *L) { return max_unpool(L, 2); }

/* ---- adaptive pools: output_size a number or a table ({h, w}; nil keeps the input's size) */
static void output_size(lua_State *L, const tg_tensor *x, int n, const char *fname, int64_t *os) {
  int t = lua_type(L, 2);
  if (t == LUA_TNUMBER) {
    int ok;
    lua_Integer v = lua_tointegerx(L, 2, &ok);
    if (!ok) luaL_error(L, "%s(): argument 'output_size' must be an integer, not a float", fname);
    for (int i = 0; i < n; i++) os[i] = (int64_t)v;
    return;
  }
  if (t != LUA_TTABLE || tgL_is_tensor(L, 2))
    luaL_error(L, "%s() missing required argument 'output_size' (position 2)", fname);
  lua_Integer len = luaL_len(L, 2);
  /* {nil, w} has length 0 or 2 by Lua's border rule: look at the fields themselves */
  for (int i = n + 1; i <= n + 2; i++) {
    if (lua_geti(L, 2, i) != LUA_TNIL) len = i;
    lua_pop(L, 1);
  }
  /* {2, nil} has length 1: a missing size is nil (keep), as in Lua it cannot be told apart */
  if (len > n)
    luaL_error(L, "%s: output_size must be %d", n == 1 ? fname : "adaptive_avg_pool2d", n);
  for (int i = 0; i < n; i++) {
    if (lua_geti(L, 2, i + 1) == LUA_TNIL) {
      os[i] = x->ndim >= n ? x->size[x->ndim - n + i] : 0;
    } else {
      int ok;
      os[i] = (int64_t)lua_tointegerx(L, -1, &ok);
      if (!ok) luaL_error(L, "%s(): output_size must hold integers (or nil), got %s", fname, luaL_typename(L, -1));
    }
    lua_pop(L, 1);
  }
}

static int adaptive_pool(lua_State *L, int n, bool max) {
  CTX;
  static const char *names[2][2] = {{"adaptive_avg_pool1d", "adaptive_avg_pool2d"},
                                    {"adaptive_max_pool1d", "adaptive_max_pool2d"}};
  const char *fname = names[max][n - 1];
  tg_tensor *x = tgL_check(L, 1);
  int64_t os[2];
  output_size(L, x, n, fname, os);
  int opts = tgL_kwargs(L, 3, fname, max ? "return_indices" : "");
  bool ri = max && tgL_opt_bool(L, opts, "return_indices", false);
  tg_tensor **b1 = tgL_newbox(L), **b2 = ri ? tgL_newbox(L) : NULL;
  if (max) *b1 = n == 1 ? tg_adaptive_max_pool1d(c, x, os[0], b2) : tg_adaptive_max_pool2d(c, x, os, b2);
  else *b1 = n == 1 ? tg_adaptive_avg_pool1d(c, x, os[0]) : tg_adaptive_avg_pool2d(c, x, os);
  if (!*b1) return tgL_raise(L, c);
  return ri ? 2 : 1;
}
static int op_adaptive_avg_pool1d(lua_State *L) { return adaptive_pool(L, 1, false); }
static int op_adaptive_avg_pool2d(lua_State *L) { return adaptive_pool(L, 2, false); }
static int op_adaptive_max_pool1d(lua_State *L) { return adaptive_pool(L, 1, true); }
static int op_adaptive_max_pool2d(lua_State *L) { return adaptive_pool(L, 2, true); }

/* ---- pad(x, pad [, mode | {mode=, value=}] [, value]) */
static int op_pad(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  int n = (int)luaL_len(L, 2);
  if (n > 2 * TG_MAX_DIMS) luaL_error(L, "Padding length too large");
  int64_t pad[2 * TG_MAX_DIMS];
  for (int i = 0; i < n; i++) {
    lua_geti(L, 2, i + 1);
    int ok;
    pad[i] = (int64_t)lua_tointegerx(L, -1, &ok);
    if (!ok) luaL_error(L, "pad(): argument 'pad' must be a table of integers, got %s", luaL_typename(L, -1));
    lua_pop(L, 1);
  }
  const char *mode = "constant";
  bool has_value = false;
  double value = 0;
  int opts = 0;
  if (lua_type(L, 3) == LUA_TSTRING) {
    mode = lua_tostring(L, 3);
  } else if (lua_istable(L, 3)) {
    opts = 3;
    tgL_check_keys(L, opts, "pad", "mode value");
    if (tgL_opt_field(L, opts, "mode") != LUA_TNIL) {
      if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "pad(): argument 'mode' must be a string");
      mode = lua_tostring(L, -1);
    }
    lua_pop(L, 1); /* the string stays referenced by the options table */
    if (tgL_opt_field(L, opts, "value") != LUA_TNIL) {
      has_value = true;
      value = luaL_checknumber(L, -1);
    }
    lua_pop(L, 1);
  } else if (!lua_isnoneornil(L, 3)) {
    luaL_error(L, "pad(): argument 'mode' must be a string, not %s", luaL_typename(L, 3));
  }
  if (!opts && !lua_isnoneornil(L, 4)) {
    has_value = true;
    value = luaL_checknumber(L, 4);
  }
  int m;
  if (!strcmp(mode, "constant")) m = TG_PAD_CONSTANT;
  else if (!strcmp(mode, "reflect")) m = TG_PAD_REFLECT;
  else if (!strcmp(mode, "replicate")) m = TG_PAD_REPLICATE;
  else if (!strcmp(mode, "circular")) m = TG_PAD_CIRCULAR;
  else return luaL_error(L, "Unrecognised padding mode %s", mode);
  if (m != TG_PAD_CONSTANT && has_value && value != 0)
    return luaL_error(L, "Padding mode \"%s\" doesn't take in value argument", mode);
  tg_tensor **b = tgL_newbox(L);
  *b = tg_pad(c, x, n, pad, m, value);
  if (!*b) return tgL_raise(L, c);
  return 1;
}

/* ---- interpolate(x, {size, scale_factor, mode, align_corners, recompute_scale_factor, antialias}) */
static void fmt_list(char *buf, size_t n, int k, const double *v, bool ints, bool tuple) {
  size_t l = (size_t)snprintf(buf, n, "%s", tuple ? "(" : "[");
  for (int i = 0; i < k && l < n; i++) {
    if (ints) l += (size_t)snprintf(buf + l, n - l, "%s%lld", i ? ", " : "", (long long)v[i]);
    else l += (size_t)snprintf(buf + l, n - l, "%s%g", i ? ", " : "", v[i]);
  }
  if (l < n) snprintf(buf + l, n - l, "%s", tuple ? (k == 1 ? ",)" : ")") : "]");
}

/* opts.key as a number (repeated to dim) or a list; returns the given count (0 = nil) */
static int num_list(lua_State *L, int opts, const char *key, int dim, double *v, bool ints) {
  int t = tgL_opt_field(L, opts, key), k = 0;
  if (t == LUA_TNUMBER) {
    if (ints && !lua_isinteger(L, -1)) luaL_error(L, "interpolate(): %s must hold integers", key);
    for (int i = 0; i < dim; i++) v[i] = lua_tonumber(L, -1);
    k = -1; /* a scalar */
  } else if (t == LUA_TTABLE) {
    k = (int)luaL_len(L, -1);
    if (k > 8) k = 8;
    for (int i = 0; i < k; i++) {
      lua_geti(L, -1, i + 1);
      if (!lua_isnumber(L, -1) || (ints && !lua_isinteger(L, -1)))
        luaL_error(L, "interpolate(): %s must hold %s", key, ints ? "integers" : "numbers");
      v[i] = lua_tonumber(L, -1);
      lua_pop(L, 1);
    }
  } else if (t != LUA_TNIL) {
    luaL_error(L, "interpolate(): %s must be a number or a table, not %s", key, luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  return k;
}

static int op_interpolate(lua_State *L) {
  CTX;
  tg_tensor *x = tgL_check(L, 1);
  int opts = tgL_kwargs(L, 2, "interpolate", "size scale_factor mode align_corners recompute_scale_factor antialias");
  const char *mode = "nearest";
  if (tgL_opt_field(L, opts, "mode") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "interpolate(): mode must be a string");
    mode = lua_tostring(L, -1);
  }
  lua_pop(L, 1);
  bool nearestish = !strcmp(mode, "nearest") || !strcmp(mode, "area") || !strcmp(mode, "nearest-exact");
  bool has_ac = tgL_opt_field(L, opts, "align_corners") != LUA_TNIL, ac = lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (nearestish && has_ac)
    return luaL_error(L, "align_corners option can only be set with the interpolating modes: linear | bilinear | "
                         "bicubic | trilinear");
  int dim = x->ndim - 2;
  if (dim < 0) dim = 0;
  if (dim > 8) dim = 8; /* more spatial dims than any mode takes: refused below */
  double size[8], scale[8];
  char a[128], b[128];
  int ns = num_list(L, opts, "size", dim, size, true), nf = num_list(L, opts, "scale_factor", dim, scale, false);
  bool recompute = tgL_opt_bool(L, opts, "recompute_scale_factor", false);
  bool antialias = tgL_opt_bool(L, opts, "antialias", false);
  double insz[8];
  for (int i = 0; i < dim && i < 8; i++) insz[i] = (double)x->size[2 + i];
  if (ns && nf) return luaL_error(L, "only one of size or scale_factor should be defined");
  if (!ns && !nf) return luaL_error(L, "either size or scale_factor should be defined");
  if (ns > 0 && ns != dim) {
    fmt_list(a, sizeof a, dim, insz, true, false);
    fmt_list(b, sizeof b, ns, size, true, true);
    return luaL_error(L, "Input and output must have the same number of spatial dimensions, but got input with "
                         "spatial dimensions of %s and output size of %s. Please provide input tensor in (N, C, d1, "
                         "d2, ...,dK) format and output size in (o1, o2, ...,oK) format.", a, b);
  }
  if (nf > 0 && nf != dim) {
    fmt_list(a, sizeof a, dim, insz, true, false);
    fmt_list(b, sizeof b, nf, scale, false, true);
    return luaL_error(L, "Input and scale_factor must have the same number of spatial dimensions, but got input with "
                         "spatial dimensions of %s and scale_factor of shape %s. Please provide input tensor in (N, C, "
                         "d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) format.", a, b);
  }
  if (recompute && ns) return luaL_error(L, "recompute_scale_factor is not meaningful with an explicit size.");
  if (!strcmp(mode, "area") && !ns) recompute = true;
  int64_t osz[8];
  bool use_scales = nf != 0 && !recompute;
  for (int i = 0; i < dim && i < 8; i++)
    osz[i] = ns ? (int64_t)size[i] : (int64_t)fmax(fmin(floor(insz[i] * scale[i]), 0x1p62), -0x1p62);
  if (antialias && !((!strcmp(mode, "bilinear") || !strcmp(mode, "bicubic")) && x->ndim == 4))
    return luaL_error(L, "Anti-alias option is restricted to bilinear and bicubic modes and requires a 4-D tensor as "
                         "input");
  if (antialias) return luaL_error(L, "interpolate(): antialias = true is not implemented in tgrad");
  int m = -1, want = 0;
  if (!strcmp(mode, "nearest")) m = TG_UPSAMPLE_NEAREST;
  else if (!strcmp(mode, "nearest-exact")) m = TG_UPSAMPLE_NEAREST_EXACT;
  else if (!strcmp(mode, "linear")) m = TG_UPSAMPLE_LINEAR, want = 3;
  else if (!strcmp(mode, "bilinear")) m = TG_UPSAMPLE_LINEAR, want = 4;
  else if (!strcmp(mode, "trilinear")) m = TG_UPSAMPLE_LINEAR, want = 5;
  else if (!strcmp(mode, "bicubic")) m = TG_UPSAMPLE_CUBIC, want = 4;
  bool known = m >= 0 || !strcmp(mode, "area");
  if (known && x->ndim >= 3 && x->ndim <= 5) {
    if (want && x->ndim != want) return luaL_error(L, "Got %dD input, but %s mode needs %dD input", x->ndim, mode, want);
  } else {
    return luaL_error(L, "Input Error: Only 3D, 4D and 5D input Tensors supported (got %dD) for the modes: nearest | "
                         "linear | bilinear | bicubic | trilinear | area | nearest-exact (got %s)", x->ndim, mode);
  }
  tg_tensor **box = tgL_newbox(L);
  if (m < 0) { /* area: adaptive average pooling */
    if (dim == 1) *box = tg_adaptive_avg_pool1d(c, x, osz[0]);
    else if (dim == 2) *box = tg_adaptive_avg_pool2d(c, x, osz);
    else return luaL_error(L, "interpolate(): mode 'area' on 5D input is not implemented in tgrad");
  } else {
    *box = tg_upsample(c, x, m, dim, osz, use_scales ? scale : NULL, ac);
  }
  if (!*box) return tgL_raise(L, c);
  return 1;
}

void tgL_register_pool(lua_State *L, int ctxi, int module, int methods) {
  (void)methods;
  static const luaL_Reg fns[] = {
      {"_max_pool1d", op_max_pool1d}, {"_max_pool2d", op_max_pool2d},
      {"_avg_pool1d", op_avg_pool1d}, {"_avg_pool2d", op_avg_pool2d},
      {"_adaptive_avg_pool1d", op_adaptive_avg_pool1d}, {"_adaptive_avg_pool2d", op_adaptive_avg_pool2d},
      {"_adaptive_max_pool1d", op_adaptive_max_pool1d}, {"_adaptive_max_pool2d", op_adaptive_max_pool2d},
      {"_max_unpool1d", op_max_unpool1d}, {"_max_unpool2d", op_max_unpool2d},
      {"_pad", op_pad}, {"_interpolate", op_interpolate},
      {NULL, NULL}};
  tgL_setfuncs(L, module, ctxi, fns);
}
