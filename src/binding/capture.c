/* capture.c (binding): tg.capture(fn, args...) -> step, fn's results (issue 11).
 *
 * Runs fn(args...) once while the context records (src/capture.h), then
 * returns `step`, a function that replays the recorded kernels on new
 * arguments: tensors of the captured shapes and dtypes (copied into the
 * captured input buffers), the other arguments equal to the captured ones.
 * step(...) returns the very objects fn returned, their values updated.
 * Optimizer states whose `step` count the captured step advanced are advanced
 * by every replay (lua/tgrad/optim/optimizer.lua notes them in
 * tg._capture_states). The optimizers that stepped are noted too
 * (tg._capture_groups) with a snapshot of their groups' hyper-parameters: a
 * replay after one changed (a scheduler's lr) captures the step again, which
 * runs it as written with the new values, as an uncaptured step would. */
#include <stdlib.h>
#include <string.h>

#include "binding.h"
#include "../capture.h"

#define CAPTURE_MT "tgrad.CapturedStep"

typedef struct cap_ud {
  tg_capture *k;
  tg_ctx *c;
  int nargs, nres;
  tg_tensor **in; /* the replay's tensor arguments (scratch, nargs) */
  bool *is_tensor;
} cap_ud;

/* uservalues of the userdata: 1 the results (a list), 2 the optimizer states, 3 the non-tensor arguments,
 * 4 fn, 5 the optimizers' snapshots ({optimizer, {n groups, {group, {key = value}}...}}...), 6 tg */
enum { UV_RES = 1, UV_STATES, UV_ARGS, UV_FN, UV_SNAP, UV_MODULE, UV_N = UV_MODULE };

/* a group's hyper-parameters: its numbers, booleans and strings, and lists of numbers (betas, etas) one level down */
static void snap_value(lua_State *L, int v) {
  v = lua_absindex(L, v);
  if (lua_type(L, v) != LUA_TTABLE) {
    lua_pushvalue(L, v);
    return;
  }
  lua_Integer n = (lua_Integer)lua_rawlen(L, v);
  lua_createtable(L, (int)n, 0);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, v, i);
    lua_rawseti(L, -2, i);
  }
}

static bool snap_equal(lua_State *L, int now, int then) {
  now = lua_absindex(L, now), then = lua_absindex(L, then);
  if (lua_type(L, then) != LUA_TTABLE) return lua_rawequal(L, now, then);
  if (lua_type(L, now) != LUA_TTABLE || lua_rawlen(L, now) != lua_rawlen(L, then)) return false;
  for (lua_Integer i = 1, n = (lua_Integer)lua_rawlen(L, then); i <= n; i++) {
    lua_rawgeti(L, now, i), lua_rawgeti(L, then, i);
    bool eq = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (!eq) return false;
  }
  return true;
}

/* the snapshot of the optimizers at index opts (a list) */
static void snap_optimizers(lua_State *L, int opts) {
  opts = lua_absindex(L, opts);
  lua_newtable(L);
  int out = lua_gettop(L);
  for (lua_Integer i = 1, m = (lua_Integer)lua_rawlen(L, opts); i <= m; i++) {
    lua_rawgeti(L, opts, i);
    int opt = lua_gettop(L);
    lua_createtable(L, 2, 0);
    lua_pushvalue(L, opt), lua_rawseti(L, -2, 1);
    lua_newtable(L);
    int gs = lua_gettop(L);
    if (lua_getfield(L, opt, "param_groups") == LUA_TTABLE) {
      int groups = lua_gettop(L);
      lua_Integer ng = (lua_Integer)lua_rawlen(L, groups);
      lua_pushinteger(L, ng), lua_rawseti(L, gs, 1);
      for (lua_Integer g = 1; g <= ng; g++) {
        lua_createtable(L, 2, 0);
        lua_rawgeti(L, groups, g);
        int grp = lua_gettop(L);
        lua_pushvalue(L, grp), lua_rawseti(L, -3, 1);
        lua_newtable(L);
        if (lua_type(L, grp) == LUA_TTABLE) {
          lua_pushnil(L);
          while (lua_next(L, grp)) {
            int t = lua_type(L, -1);
            bool keep = lua_type(L, -2) == LUA_TSTRING && (t == LUA_TNUMBER || t == LUA_TBOOLEAN || t == LUA_TSTRING ||
                                                            (t == LUA_TTABLE && strcmp(lua_tostring(L, -2), "params")));
            if (keep) {
              lua_pushvalue(L, -2);
              snap_value(L, -2);
              lua_rawset(L, -5);
            }
            lua_pop(L, 1);
          }
        }
        lua_rawseti(L, -3, 2);
        lua_pop(L, 1);
        lua_rawseti(L, gs, g + 1);
      }
    }
    lua_pop(L, 1);
    lua_rawseti(L, -2, 2);
    lua_rawseti(L, out, i);
    lua_pop(L, 1);
  }
}

/* has any noted optimizer's groups, or a value in them, changed since the snapshot at index snap? */
static bool snap_changed(lua_State *L, int snap) {
  snap = lua_absindex(L, snap);
  int top = lua_gettop(L);
  bool changed = false;
  for (lua_Integer i = 1, m = (lua_Integer)lua_rawlen(L, snap); i <= m && !changed; i++) {
    lua_rawgeti(L, snap, i);
    lua_rawgeti(L, -1, 1);
    int opt = lua_gettop(L);
    lua_rawgeti(L, -2, 2);
    int gs = lua_gettop(L);
    if (lua_getfield(L, opt, "param_groups") != LUA_TTABLE) {
      changed = true;
      break;
    }
    int groups = lua_gettop(L);
    lua_rawgeti(L, gs, 1);
    lua_Integer ng = lua_tointeger(L, -1);
    lua_pop(L, 1);
    if ((lua_Integer)lua_rawlen(L, groups) != ng) changed = true;
    for (lua_Integer g = 1; g <= ng && !changed; g++) {
      lua_rawgeti(L, gs, g + 1);
      lua_rawgeti(L, -1, 1);
      lua_rawgeti(L, groups, g);
      if (!lua_rawequal(L, -1, -2) || lua_type(L, -1) != LUA_TTABLE) changed = true;
      int grp = lua_gettop(L);
      lua_rawgeti(L, grp - 2, 2);
      int vals = lua_gettop(L);
      if (!changed) {
        lua_pushnil(L);
        while (lua_next(L, vals)) {
          lua_pushvalue(L, -2);
          lua_rawget(L, grp);
          bool eq = snap_equal(L, -1, -2);
          lua_pop(L, 2);
          if (!eq) {
            changed = true;
            lua_pop(L, 1);
            break;
          }
        }
      }
      lua_settop(L, groups);
    }
    lua_settop(L, top);
  }
  lua_settop(L, top);
  return changed;
}

int tgL_capture_refuse(lua_State *L, const char *what) {
  return luaL_error(L,
                    "tg.capture: %s reads tensor values into Lua, which a replay cannot do (data-dependent control "
                    "flow, printing, logging); move it out of the captured function and read the tensors the step "
                    "returns after it ran",
                    what);
}

static int cap_gc(lua_State *L) {
  cap_ud *u = luaL_checkudata(L, 1, CAPTURE_MT);
  if (u->k) tg_capture_free(u->c, u->k);
  u->k = NULL;
  free(u->in), u->in = NULL;
  free(u->is_tensor), u->is_tensor = NULL;
  return 0;
}

/* an optimizer's hyper-parameters changed: tg.capture(fn, args...) again, and this step takes over the
 * new capture (its records, results and snapshots); returns fn's results of that run */
static int recapture(lua_State *L, cap_ud *u, int n) {
  int ud = lua_upvalueindex(2);
  lua_getiuservalue(L, ud, UV_MODULE);
  lua_getfield(L, -1, "capture");
  lua_remove(L, -2);
  lua_getiuservalue(L, ud, UV_FN);
  for (int i = 1; i <= n; i++) lua_pushvalue(L, i);
  int base = lua_gettop(L) - n - 2;
  lua_call(L, n + 1, LUA_MULTRET);
  int nres = lua_gettop(L) - base - 1;
  lua_getupvalue(L, base + 1, 2);
  cap_ud *v = luaL_checkudata(L, -1, CAPTURE_MT);
  tg_capture *k = u->k; /* the old records go with the new userdata's collection */
  u->k = v->k, v->k = k;
  u->nres = v->nres;
  for (int i = 1; i <= UV_N; i++) {
    lua_getiuservalue(L, -1, i);
    lua_setiuservalue(L, ud, i);
  }
  lua_pop(L, 1);
  return nres;
}

static int replay(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  cap_ud *u = lua_touserdata(L, lua_upvalueindex(2));
  if (!u->k) return luaL_error(L, "tg.capture: this captured step was released");
  int n = lua_gettop(L);
  if (n != u->nargs)
    return luaL_error(L, "tg.capture: the step was captured with %d argument%s, got %d", u->nargs,
                      u->nargs == 1 ? "" : "s", n);
  for (int i = 0; i < n; i++) {
    if (u->is_tensor[i]) {
      tg_tensor **b = tgL_testbox(L, i + 1);
      if (!b)
        return luaL_error(L, "tg.capture: argument %d must be a tensor (the step was captured with one), got %s",
                          i + 1, luaL_typename(L, i + 1));
      if (tg_capture_check_input(c, u->k, i, *b) < 0) return tgL_raise(L, c);
      u->in[i] = *b;
    } else {
      u->in[i] = NULL;
      lua_getiuservalue(L, lua_upvalueindex(2), UV_ARGS);
      lua_rawgeti(L, -1, i + 1);
      bool same = lua_rawequal(L, -1, i + 1);
      lua_pop(L, 2);
      if (!same)
        return luaL_error(L, "tg.capture: argument %d differs from the one the step was captured with; a replay "
                             "takes new tensors only (pass a value that changes as a tensor)", i + 1);
    }
  }
  lua_getiuservalue(L, lua_upvalueindex(2), UV_SNAP);
  bool changed = snap_changed(L, -1);
  lua_pop(L, 1);
  if (changed) return recapture(L, u, n);
  if (tg_capture_replay(c, u->k, u->in, n) < 0) return tgL_raise(L, c);
  /* the optimizer states' step counts, as running the step would advance them */
  lua_getiuservalue(L, lua_upvalueindex(2), UV_STATES);
  int st = lua_gettop(L);
  for (lua_Integer i = 1, m = (lua_Integer)lua_rawlen(L, st); i <= m; i++) {
    lua_rawgeti(L, st, i);
    if (lua_rawgeti(L, -1, 1) == LUA_TTABLE) { /* {state, tag}: NAdam's mu_product from its record */
      lua_rawgeti(L, -2, 2);
      double v;
      if (tg_capture_optim_mu_product(u->k, (int)lua_tointeger(L, -1), &v)) {
        lua_pushnumber(L, v);
        lua_setfield(L, -3, "mu_product");
      }
      lua_pop(L, 3);
      continue;
    }
    lua_pop(L, 1);
    if (lua_getfield(L, -1, "step") == LUA_TNUMBER && lua_isinteger(L, -1)) {
      lua_Integer v = lua_tointeger(L, -1);
      lua_pop(L, 1);
      lua_pushinteger(L, v + 1);
    } else {
      lua_Number v = lua_tonumber(L, -1);
      lua_pop(L, 1);
      lua_pushnumber(L, v + 1);
    }
    lua_setfield(L, -2, "step");
    lua_pop(L, 1);
  }
  lua_settop(L, n);
  lua_getiuservalue(L, lua_upvalueindex(2), UV_RES);
  int res = lua_gettop(L);
  luaL_checkstack(L, u->nres, "too many results");
  for (int i = 1; i <= u->nres; i++) lua_rawgeti(L, res, i);
  return u->nres;
}

/* tg.capture(fn, args...) */
static int capture(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  if (!lua_isfunction(L, 1)) return luaL_error(L, "tg.capture: expected a function, got %s", luaL_typename(L, 1));
  if (c->capture) return luaL_error(L, "tg.capture: a capture is already running (captures do not nest)");
  int nargs = lua_gettop(L) - 1;
  cap_ud *u = lua_newuserdatauv(L, sizeof *u, UV_N);
  memset(u, 0, sizeof *u);
  luaL_setmetatable(L, CAPTURE_MT);
  int ud = lua_gettop(L);
  u->c = c;
  u->nargs = nargs;
  u->in = calloc((size_t)(nargs ? nargs : 1), sizeof *u->in);
  u->is_tensor = calloc((size_t)(nargs ? nargs : 1), sizeof *u->is_tensor);
  if (!u->in || !u->is_tensor) return luaL_error(L, "out of memory");
  lua_createtable(L, nargs, 0);
  for (int i = 0; i < nargs; i++) {
    lua_pushvalue(L, i + 2);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setiuservalue(L, ud, UV_ARGS);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, ud, UV_FN);
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_setiuservalue(L, ud, UV_MODULE);
  lua_newtable(L);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, ud, UV_STATES);
  int states = lua_gettop(L);
  lua_newtable(L);
  int opts = lua_gettop(L);

  if (!(u->k = tg_capture_begin(c))) return tgL_raise(L, c);
  for (int i = 0; i < nargs; i++) {
    tg_tensor **b = tgL_testbox(L, i + 2);
    u->is_tensor[i] = b != NULL;
    if (tg_capture_input(c, u->k, i, b ? *b : NULL) < 0) {
      tg_capture_free(c, u->k);
      u->k = NULL;
      return tgL_raise(L, c);
    }
  }
  lua_pushvalue(L, states);
  lua_setfield(L, lua_upvalueindex(2), "_capture_states");
  lua_pushvalue(L, opts);
  lua_setfield(L, lua_upvalueindex(2), "_capture_groups");
  int base = lua_gettop(L);
  lua_pushvalue(L, 1);
  for (int i = 0; i < nargs; i++) lua_pushvalue(L, i + 2);
  int status = lua_pcall(L, nargs, LUA_MULTRET, 0);
  tg_capture_stop(c);
  lua_pushnil(L);
  lua_setfield(L, lua_upvalueindex(2), "_capture_states");
  lua_pushnil(L);
  lua_setfield(L, lua_upvalueindex(2), "_capture_groups");
  if (status != LUA_OK) {
    tg_capture_free(c, u->k);
    u->k = NULL;
    return lua_error(L);
  }
  int nres = lua_gettop(L) - base;
  u->nres = nres;
  lua_createtable(L, nres, 0);
  for (int i = 1; i <= nres; i++) {
    lua_pushvalue(L, base + i);
    lua_rawseti(L, -2, i);
  }
  lua_setiuservalue(L, ud, UV_RES);
  snap_optimizers(L, opts);
  lua_setiuservalue(L, ud, UV_SNAP);
  /* the step's garbage goes now, so that the plan sees which buffers only the records hold */
  lua_gc(L, LUA_GCCOLLECT);
  if (tg_capture_finish(c, u->k) < 0) {
    tg_capture_free(c, u->k);
    u->k = NULL;
    return tgL_raise(L, c);
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, ud);
  lua_pushcclosure(L, replay, 2);
  lua_replace(L, base); /* step, then fn's results */
  return nres + 1;
}

/* tg._capture_record(on): while capturing, turn recording off (false) around work the step does
 * once (an optimizer's state made on its first step), then on again */
static int capture_record(lua_State *L) {
  tg_ctx *c = tgL_ctx(L);
  if (c->capture) tg_capture_set_recording(c, lua_toboolean(L, 1));
  return 0;
}

/* tg._capture_tag(): while capturing, a handle on the optimizer step just recorded (nil: none) */
static int capture_tag(lua_State *L) {
  int t = tg_capture_tag_last(tgL_ctx(L));
  if (t < 0) return 0;
  lua_pushinteger(L, t);
  return 1;
}

/* tg._capture_info(step): records, arena bytes, planned buffers, their bytes (for tests and benchmarks) */
static int capture_info(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  if (!lua_getupvalue(L, 1, 2)) return luaL_error(L, "tg._capture_info: not a captured step");
  cap_ud *u = luaL_testudata(L, -1, CAPTURE_MT);
  if (!u || !u->k) return luaL_error(L, "tg._capture_info: not a captured step");
  int64_t rec, arena, bufs, planned;
  tg_capture_stats(u->k, &rec, &arena, &bufs, &planned);
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, rec), lua_setfield(L, -2, "records");
  lua_pushinteger(L, arena), lua_setfield(L, -2, "arena_bytes");
  lua_pushinteger(L, bufs), lua_setfield(L, -2, "planned_buffers");
  lua_pushinteger(L, planned), lua_setfield(L, -2, "planned_bytes");
  return 1;
}

void tgL_register_capture(lua_State *L, int ctxi, int module) {
  ctxi = lua_absindex(L, ctxi);
  module = lua_absindex(L, module);
  luaL_newmetatable(L, CAPTURE_MT);
  lua_pushcfunction(L, cap_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  lua_pushvalue(L, ctxi);
  lua_pushvalue(L, module);
  lua_pushcclosure(L, capture, 2);
  lua_setfield(L, module, "capture");
  lua_pushvalue(L, ctxi);
  lua_pushcclosure(L, capture_record, 1);
  lua_setfield(L, module, "_capture_record");
  lua_pushvalue(L, ctxi);
  lua_pushcclosure(L, capture_tag, 1);
  lua_setfield(L, module, "_capture_tag");
  lua_pushcfunction(L, capture_info);
  lua_setfield(L, module, "_capture_info");
}
