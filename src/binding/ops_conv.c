/* ops_conv.c (binding; helper conv): the C side of F.conv1d, F.conv2d,
 * F.conv_transpose1d, F.conv_transpose2d (lua/tgrad/nn/functional_conv.lua):
 *   tg._conv1d(input, weight [, bias [, {stride=1, padding=0, dilation=1, groups=1}]])
 *   tg._conv_transpose2d(input, weight [, bias [, {stride, padding, output_padding, groups, dilation}]])
 * An int-or-tuple option takes a number or a Lua table of numbers; conv's padding
 * also takes "same" or "valid". The options table may stand in the bias's place. */
#include <stdio.h>
#include <string.h>

#include "binding.h"

/* an int-or-tuple option into v[]; returns the count (a number counts nsp times,
 * as PyTorch's parser makes an int a tuple of the conv's size) */
static int int_list_opt(lua_State *L, int opts, const char *fname, const char *key, int nsp, int64_t dflt,
                        int64_t *v) {
  int n = nsp;
  for (int i = 0; i < nsp; i++) v[i] = dflt;
  int t = tgL_opt_field(L, opts, key);
  if (t == LUA_TNUMBER) {
    int ok;
    lua_Integer x = lua_tointegerx(L, -1, &ok);
    if (!ok) luaL_error(L, "%s(): argument '%s' must be tuple of ints, not float", fname, key);
    for (int i = 0; i < nsp; i++) v[i] = x;
  } else if (t == LUA_TTABLE && !tgL_is_tensor(L, -1)) {
    n = (int)luaL_len(L, -1);
    if (n > TG_CONV_MAX_PARAMS)
      luaL_error(L, "%s(): argument '%s' must have at most %d values, got %d", fname, key, TG_CONV_MAX_PARAMS, n);
    for (int i = 0; i < n; i++) {
      int ok = lua_rawgeti(L, -1, i + 1) == LUA_TNUMBER;
      lua_Integer x = ok ? lua_tointegerx(L, -1, &ok) : 0;
      if (!ok)
        luaL_error(L, "%s(): argument '%s' must be tuple of ints, but found element of type %s at pos %d", fname, key,
                   lua_type(L, -1) == LUA_TNUMBER ? "float" : luaL_typename(L, -1), i + 1);
      v[i] = x;
      lua_pop(L, 1);
    }
    if (n == 0) luaL_error(L, "%s(): argument '%s' must be tuple of ints, got an empty table", fname, key);
  } else if (t != LUA_TNIL) {
    luaL_error(L, "%s(): argument '%s' must be tuple of ints, not %s", fname, key,
               t == LUA_TSTRING ? "str" : luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  return n;
}

static int conv_fn(lua_State *L, int nsp, bool transposed) {
  tg_ctx *c = tgL_ctx(L);
  char fname[32];
  snprintf(fname, sizeof fname, "conv%s%dd", transposed ? "_transpose" : "", nsp);
  tg_tensor *x = tgL_check(L, 1), *w = tgL_check(L, 2), *b = NULL;
  int opts = 0, top = lua_gettop(L);
  if (top >= 3 && lua_istable(L, 3) && !tgL_is_tensor(L, 3)) {
    opts = 3;
    if (top >= 4 && !lua_isnil(L, 4)) return luaL_error(L, "%s(): the options table must be the last argument", fname);
  } else {
    b = tgL_opt(L, 3);
    if (top >= 4 && !lua_isnil(L, 4)) {
      luaL_checktype(L, 4, LUA_TTABLE);
      opts = 4;
    }
  }
  tgL_check_keys(L, opts, fname,
                 transposed ? "stride padding output_padding groups dilation" : "stride padding dilation groups");
  tg_conv_opts o;
  memset(&o, 0, sizeof o);
  o.nsp = nsp, o.transposed = transposed;
  o.n_stride = int_list_opt(L, opts, fname, "stride", nsp, 1, o.stride);
  o.n_dilation = int_list_opt(L, opts, fname, "dilation", nsp, 1, o.dilation);
  if (transposed) o.n_output_padding = int_list_opt(L, opts, fname, "output_padding", nsp, 0, o.output_padding);
  if (!transposed && tgL_opt_field(L, opts, "padding") == LUA_TSTRING) {
    const char *s = lua_tostring(L, -1);
    if (!strcmp(s, "same")) o.same = true;
    else if (strcmp(s, "valid")) return luaL_error(L, "Invalid padding string: '%s'", s);
    o.n_padding = 1; /* "valid" is 0 */
    lua_pop(L, 1);
  } else {
    if (!transposed) lua_pop(L, 1);
    o.n_padding = int_list_opt(L, opts, fname, "padding", nsp, 0, o.padding);
  }
  o.groups = 1;
  if (tgL_opt_field(L, opts, "groups") != LUA_TNIL) {
    int ok = lua_type(L, -1) == LUA_TNUMBER;
    o.groups = ok ? (int64_t)lua_tointegerx(L, -1, &ok) : 0;
    if (!ok)
      return luaL_error(L, "%s(): argument 'groups' must be int, not %s", fname,
                        lua_type(L, -1) == LUA_TNUMBER ? "float" : luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  tg_tensor **box = tgL_newbox(L);
  *box = tg_convolution(c, x, w, b, &o);
  if (!*box) return tgL_raise(L, c);
  return 1;
}

static int op_conv1d(lua_State *L) { return conv_fn(L, 1, false); }
static int op_conv2d(lua_State *L) { return conv_fn(L, 2, false); }
static int op_conv_transpose1d(lua_State *L) { return conv_fn(L, 1, true); }
static int op_conv_transpose2d(lua_State *L) { return conv_fn(L, 2, true); }

void tgL_register_conv(lua_State *L, int ctxi, int module, int methods) {
  (void)methods;
  static const luaL_Reg module_only[] = {{"_conv1d", op_conv1d},
                                         {"_conv2d", op_conv2d},
                                         {"_conv_transpose1d", op_conv_transpose1d},
                                         {"_conv_transpose2d", op_conv_transpose2d},
                                         {NULL, NULL}};
  tgL_setfuncs(L, module, ctxi, module_only);
}
