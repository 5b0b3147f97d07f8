/* function.c (binding): autograd beyond backward: tensor and node hooks,
 * custom Functions written in Lua, anomaly mode, live-memory accounting.
 *
 * Lua values held by C objects (ARCHITECTURE rule 11): every hook and every
 * custom Function node has an integer id; its Lua record lives in one table
 * owned by the context (registry[bs] where bs = ctx->binding). The C side
 * keeps only the id. When the tensor or node dies (possibly inside __gc or
 * deep in the core) the id goes on ctx->dead_hooks; the records are dropped
 * at the next safe point (registration, apply, backward). */
#define _GNU_SOURCE /* pthread_getattr_np */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"
#include "../capture.h"

#define CTX tg_ctx *c = tgL_ctx(L)

typedef struct tgL_state {
  int depth;        /* backward calls in progress (reentrant backward nests them) */
  int handoffs;     /* of those, how many continued on a helper thread */
  lua_State *run_L; /* the thread running backward: hooks run on it */
  lua_State *cur_L; /* anomaly mode: the thread that last entered tgrad */
  int next_id;
  bool err_pending; /* a Lua error object waits in state.err */
} tgL_state;

enum { HOOK_TENSOR = 1, HOOK_PRE, HOOK_POST, FUNCTION_NODE };

static tgL_state *bstate(tg_ctx *c) { return (tgL_state *)c->binding; }

/* push the context's record table */
static void push_records(lua_State *L, tg_ctx *c) { lua_rawgetp(L, LUA_REGISTRYINDEX, c->binding); }

void tgL_note_thread(tg_ctx *c, lua_State *L) {
  if (c->binding) bstate(c)->cur_L = L;
}

lua_State *tgL_set_run_thread(tg_ctx *c, lua_State *L) {
  tgL_state *bs = bstate(c);
  lua_State *prev = bs->run_L;
  bs->run_L = L;
  if (L) bs->cur_L = L;
  return prev;
}

/* ---------------------------------------------------- reentrant backward
 * A custom Function's backward may call backward (PyTorch's reentrant
 * backward). Lua counts nested C calls per thread (LUAI_MAXCCALLS, 200): nested
 * backward runs each custom backward in a fresh coroutine resumed without a
 * parent (lua_resume(co, NULL, ...)), whose count starts at zero, so the
 * nesting is bounded by the C stack only. When the stack is nearly full the
 * nested backward continues on a helper thread with a fresh stack while this
 * one waits (PyTorch's engine does the same): one thread at a time runs the
 * Lua state. Past TG_MAX_HANDOFFS helper threads it is a Lua error, never a
 * crash. (A Lua memory error raised outside a protected call on a helper
 * thread could not unwind; tgrad raises none there but lua_newthread's.) */
#define TG_STACK_RESERVE (512 * 1024)
#define TG_HELPER_STACK ((size_t)8 << 20)
#define TG_MAX_HANDOFFS 4

/* bytes left on the current thread's C stack (SIZE_MAX when unknown) */
static size_t stack_left(void) {
  char here;
  pthread_attr_t a;
  void *lo;
  size_t sz;
  if (pthread_getattr_np(pthread_self(), &a) != 0) return SIZE_MAX;
  int rc = pthread_attr_getstack(&a, &lo, &sz);
  pthread_attr_destroy(&a);
  if (rc != 0 || (char *)&here < (char *)lo) return SIZE_MAX;
  return (size_t)((char *)&here - (char *)lo);
}

typedef struct backward_job {
  tg_ctx *c;
  int n_roots;
  tg_tensor **roots, **grads;
  tg_backward_opts *o;
  int rc;
} backward_job;

static void *backward_thread(void *p) {
  backward_job *j = p;
  j->rc = tg_run_backward(j->c, j->n_roots, j->roots, j->grads, j->o);
  return NULL;
}

int tgL_run_backward(tg_ctx *c, int n_roots, tg_tensor **roots, tg_tensor **grads, tg_backward_opts *o) {
  tgL_state *bs = bstate(c);
  if (bs->depth == 0 || stack_left() >= TG_STACK_RESERVE) {
    bs->depth++;
    int rc = tg_run_backward(c, n_roots, roots, grads, o);
    bs->depth--;
    return rc;
  }
  if (bs->handoffs >= TG_MAX_HANDOFFS)
    return tg_err(c, "reentrant backward nested %d levels deep: the C stack is nearly full", bs->depth);
  backward_job j = {c, n_roots, roots, grads, o, -1};
  pthread_attr_t a;
  pthread_t th;
  if (pthread_attr_init(&a) != 0) return tg_err(c, "reentrant backward: cannot start a helper thread");
  pthread_attr_setstacksize(&a, TG_HELPER_STACK);
  bs->depth++, bs->handoffs++;
  int st = pthread_create(&th, &a, backward_thread, &j);
  pthread_attr_destroy(&a);
  if (st == 0) pthread_join(th, NULL);
  bs->depth--, bs->handoffs--;
  if (st != 0)
    return tg_err(c, "reentrant backward nested %d levels deep: no helper thread for a fresh stack", bs->depth);
  return j.rc;
}

/* call the function below nargs arguments at the top of L, as lua_pcall(L, nargs,
 * LUA_MULTRET, 0), in a new coroutine when backward is nested (see above); the
 * results (or the error object) replace them on L */
static int call_fresh(lua_State *L, tg_ctx *c, int nargs) {
  if (bstate(c)->depth < 2) return lua_pcall(L, nargs, LUA_MULTRET, 0);
  int fn = lua_gettop(L) - nargs;
  lua_State *co = lua_newthread(L);
  lua_insert(L, fn); /* anchored below the function */
  lua_xmove(L, co, nargs + 1);
  int nres = 0;
  int st = lua_resume(co, NULL, nargs, &nres);
  if (st == LUA_YIELD) {
    lua_pushstring(L, "attempt to yield across a C-call boundary");
    st = LUA_ERRRUN;
  } else if (st != LUA_OK) {
    lua_xmove(co, L, 1);
  } else {
    if (!lua_checkstack(L, nres + 4)) {
      lua_pushstring(L, "stack overflow (too many results from a custom Function's backward)");
      st = LUA_ERRRUN;
    } else {
      lua_xmove(co, L, nres);
    }
  }
  lua_remove(L, fn); /* the thread */
  return st;
}

static void release_id(tg_ctx *c, int id) {
  if (c->n_dead_hooks == c->cap_dead_hooks) {
    int ncap = c->cap_dead_hooks ? c->cap_dead_hooks * 2 : 64;
    int *d = realloc(c->dead_hooks, sizeof *d * (size_t)ncap);
    if (!d) return; /* the record stays until the context dies */
    c->dead_hooks = d;
    c->cap_dead_hooks = ncap;
  }
  c->dead_hooks[c->n_dead_hooks++] = id;
}

void tgL_drain_hooks(lua_State *L, tg_ctx *c) {
  if (!c->n_dead_hooks || !c->binding) return;
  lua_checkstack(L, 4);
  push_records(L, c);
  for (int i = 0; i < c->n_dead_hooks; i++) { /* rawset of nil allocates nothing: no GC here */
    lua_pushnil(L);
    lua_rawseti(L, -2, c->dead_hooks[i]);
  }
  c->n_dead_hooks = 0;
  lua_pop(L, 1);
}

/* store the Lua value at the top (and pop it) under a new id */
static int new_record(lua_State *L, tg_ctx *c) {
  int id = ++bstate(c)->next_id;
  push_records(L, c);
  lua_insert(L, -2);
  lua_rawseti(L, -2, id);
  lua_pop(L, 1);
  return id;
}

/* coroutine.yield in a hook or a custom Function fails (backward and apply run
 * them from C, through lua_pcall): the message says why */
static void explain_yield(lua_State *L, const char *what) {
  static const char yerr[] = "attempt to yield across a C-call boundary";
  size_t len, n = sizeof yerr - 1;
  if (lua_type(L, -1) != LUA_TSTRING) return;
  const char *s = lua_tolstring(L, -1, &len);
  if (len < n || strcmp(s + len - n, yerr) != 0) return;
  lua_pushfstring(L, "%s (%s cannot yield: tgrad runs it from C)", s, what);
  lua_replace(L, -2);
}

/* a Lua error inside backward: keep the error object, give the core its text */
static int stash_error(lua_State *L, tg_ctx *c) {
  const char *msg = luaL_tolstring(L, -1, NULL);
  tg_err(c, "%s", msg);
  lua_pop(L, 1);
  push_records(L, c);
  lua_insert(L, -2);
  lua_setfield(L, -2, "err");
  lua_pop(L, 1);
  bstate(c)->err_pending = true;
  return -1;
}

int tgL_raise_backward(lua_State *L, tg_ctx *c, bool push_message) {
  tgL_state *bs = bstate(c);
  if (bs->err_pending) {
    bs->err_pending = false;
    push_records(L, c);
    lua_getfield(L, -1, "err");
    lua_pushnil(L);
    lua_setfield(L, -3, "err");
    return lua_error(L);
  }
  if (push_message) {
    lua_pushstring(L, c->err[0] ? c->err : "unknown error");
    return 1;
  }
  return tgL_raise(L, c);
}

static void push_tensor(lua_State *L, tg_tensor *t) {
  if (!t) {
    lua_pushnil(L);
    return;
  }
  tg_tensor **box = tgL_newbox(L);
  *box = tg_tensor_ref(t);
}

static void push_list(lua_State *L, tg_tensor **ts, int n) {
  lua_createtable(L, n, 1);
  for (int i = 0; i < n; i++) {
    push_tensor(L, ts[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushinteger(L, n);
  lua_setfield(L, -2, "n");
}

static tg_tensor *to_tensor_or_null(lua_State *L, int idx) {
  tg_tensor **box = tgL_testbox(L, idx);
  return box ? *box : NULL;
}

/* ------------------------------------------------------------------ hooks */
/* a hook is a function or any value with a __call metamethod (a callable table) */
static void tgL_check_callable(lua_State *L, int idx) {
  if (lua_isfunction(L, idx)) return;
  if (luaL_getmetafield(L, idx, "__call") != LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  luaL_typeerror(L, idx, "function or callable table");
}

static int check_replacement(lua_State *L, tg_ctx *c, int fn_idx, tg_tensor *old, tg_tensor *nw) {
  if (!nw) return tg_err(c, "hook returned a %s, expected a Tensor or nil", luaL_typename(L, -1));
  if (old && !tg_same_shape(old, nw)) {
    lua_Debug ar;
    lua_pushvalue(L, fn_idx);
    lua_getinfo(L, ">S", &ar);
    return tg_err(c, "hook '%s:%d' has changed the size of value", ar.short_src, ar.linedefined);
  }
  return 0;
}

/* replace arr[0..n) from the list at the top (nil entries clear) */
static int replace_from_list(lua_State *L, tg_ctx *c, int fn_idx, tg_tensor **arr, int n) {
  if (lua_isnil(L, -1)) return 0;
  if (!lua_istable(L, -1) || tgL_is_tensor(L, -1))
    return tg_err(c, "hook returned a %s, expected a list of gradients or nil", luaL_typename(L, -1));
  int list = lua_gettop(L);
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, list, i + 1);
    tg_tensor *t = NULL;
    if (!lua_isnil(L, -1) && check_replacement(L, c, fn_idx, arr[i], t = to_tensor_or_null(L, -1)) < 0) return -1;
    if (t && arr[i] && t->dtype != arr[i]->dtype) {
      lua_Debug ar;
      lua_pushvalue(L, fn_idx);
      lua_getinfo(L, ">S", &ar);
      return tg_err(c, "hook '%s:%d' has changed the type of value (was torch.%sTensor got torch.%sTensor)",
                    ar.short_src, ar.linedefined, tg_torch_dtype_name(arr[i]->dtype), tg_torch_dtype_name(t->dtype));
    }
    tg_tensor_unref(arr[i]);
    arr[i] = tg_tensor_ref(t);
    lua_pop(L, 1);
  }
  return 0;
}

static int run_hook(tg_ctx *c, int id, tg_tensor **arr) {
  tgL_state *bs = bstate(c);
  lua_State *L = bs->run_L;
  if (!L) return tg_err(c, "autograd hooks can only run inside backward()");
  if (!lua_checkstack(L, 12)) return tg_err(c, "stack overflow in an autograd hook");
  int top = lua_gettop(L), rc = 0;
  push_records(L, c);
  if (lua_rawgeti(L, -1, id) != LUA_TTABLE) { /* removed */
    lua_settop(L, top);
    return 0;
  }
  int rec = lua_gettop(L);
  lua_getfield(L, rec, "kind");
  int kind = (int)lua_tointeger(L, -1);
  lua_getfield(L, rec, "n_in");
  int n_in = (int)lua_tointeger(L, -1);
  lua_getfield(L, rec, "n_out");
  int n_out = (int)lua_tointeger(L, -1);
  lua_getfield(L, rec, "fn");
  int fn = lua_gettop(L);
  lua_pushvalue(L, fn);
  int nargs = 1;
  if (kind == HOOK_TENSOR) push_tensor(L, arr[0]);
  else if (kind == HOOK_PRE) push_list(L, arr, n_out);
  else push_list(L, arr, n_in), push_list(L, arr + n_in, n_out), nargs = 2;
  int fbase = lua_gettop(L) - nargs; /* the function's slot: its one result goes there */
  int st = call_fresh(L, c, nargs);   /* a hook may run backward too (reentrant) */
  if (st == LUA_OK) lua_settop(L, fbase);
  bs->cur_L = L;
  if (st != LUA_OK) {
    explain_yield(L, kind == HOOK_TENSOR ? "a tensor hook" : "a graph node hook");
    rc = stash_error(L, c);
  } else if (kind == HOOK_TENSOR) {
    if (!lua_isnil(L, -1)) {
      tg_tensor *t = to_tensor_or_null(L, -1);
      if ((rc = check_replacement(L, c, fn, arr[0], t)) == 0) {
        if (arr[0] && t->dtype != arr[0]->dtype)
          rc = tg_err(c, "hook has changed the type of value (was %s got %s)", tg_dtype_name(arr[0]->dtype),
                      tg_dtype_name(t->dtype));
        else {
          tg_tensor_unref(arr[0]);
          arr[0] = tg_tensor_ref(t);
        }
      }
    }
  } else {
    rc = replace_from_list(L, c, fn, arr, kind == HOOK_PRE ? n_out : n_in);
  }
  lua_settop(L, top);
  return rc;
}

static void push_handle(lua_State *L, int id) {
  lua_createtable(L, 0, 1);
  lua_pushinteger(L, id);
  lua_setfield(L, -2, "id");
  luaL_setmetatable(L, "tgrad.RemovableHandle");
}

static int handle_remove(lua_State *L) {
  CTX;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "id");
  lua_Integer id = luaL_checkinteger(L, -1);
  push_records(L, c);
  lua_pushnil(L);
  lua_rawseti(L, -2, id);
  return 0;
}

static tg_hook *new_hook(lua_State *L, tg_ctx *c, int kind, int fn_idx, int n_in, int n_out) {
  tg_hook *h = calloc(1, sizeof *h);
  if (!h) luaL_error(L, "out of memory");
  tgL_drain_hooks(L, c);
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, kind);
  lua_setfield(L, -2, "kind");
  lua_pushvalue(L, fn_idx);
  lua_setfield(L, -2, "fn");
  lua_pushinteger(L, n_in);
  lua_setfield(L, -2, "n_in");
  lua_pushinteger(L, n_out);
  lua_setfield(L, -2, "n_out");
  h->id = new_record(L, c);
  return h;
}

static void append_hook(tg_hook **list, tg_hook *h) {
  while (*list) list = &(*list)->next;
  *list = h;
}

/* every register_hook/prehook: a hook for the function at index 2 on list; pushes its handle */
static int add_hook(lua_State *L, tg_ctx *c, tg_hook **list, int kind, int n_in, int n_out) {
  tg_hook *h = new_hook(L, c, kind, 2, n_in, n_out);
  append_hook(list, h);
  push_handle(L, h->id);
  return 1;
}

/* t:register_hook(fn): fn(grad) -> nil or a replacement gradient */
static int t_register_hook(lua_State *L) {
  CTX;
  tg_tensor *t = tgL_check(L, 1);
  tgL_check_callable(L, 2);
  tg_view_refresh(c, t);
  if (!tg_requires_grad(t)) return luaL_error(L, "cannot register a hook on a tensor that doesn't require gradient");
  if (t->grad_fn) {
    tg_node *n = t->grad_fn;
    if (!n->out_hooks && !(n->out_hooks = calloc((size_t)n->n_out, sizeof *n->out_hooks)))
      return luaL_error(L, "out of memory");
    return add_hook(L, c, &n->out_hooks[t->output_nr], HOOK_TENSOR, 0, 0);
  }
  return add_hook(L, c, &t->hooks, HOOK_TENSOR, 0, 0);
}

static tg_node *check_node(lua_State *L, int idx) {
  tg_node **box = luaL_checkudata(L, idx, TG_NODE_MT);
  if (!*box) luaL_error(L, "the graph node has been released");
  return *box;
}

/* a post hook (kind HOOK_POST) or a pre hook on grad_fn */
static int node_hook(lua_State *L, int kind) {
  CTX;
  tg_node *n = check_node(L, 1);
  tgL_check_callable(L, 2);
  return add_hook(L, c, kind == HOOK_POST ? &n->post_hooks : &n->pre_hooks, kind, n->n_in, n->n_out);
}

/* grad_fn:register_hook(fn(grad_inputs, grad_outputs)) -> nil or new grad_inputs */
static int n_register_hook(lua_State *L) { return node_hook(L, HOOK_POST); }

/* grad_fn:register_prehook(fn(grad_outputs)) -> nil or new grad_outputs */
static int n_register_prehook(lua_State *L) { return node_hook(L, HOOK_PRE); }

/* ------------------------------------------------------- custom Functions */
static void function_release(tg_ctx *c, tg_node *n) {
  if (c && n->binding_ref > 0) release_id(c, n->binding_ref);
  n->binding_ref = -1;
}

static int function_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin);
static const tg_node_kind function_kind = {"CustomFunctionBackward", function_backward, function_release};

static bool expandable_to(const tg_meta *m, const tg_tensor *g) {
  if (m->ndim > g->ndim) return false;
  for (int i = 0; i < m->ndim; i++) {
    int64_t a = m->size[m->ndim - 1 - i], b = g->size[g->ndim - 1 - i];
    if (a != b && a != 1) return false;
  }
  return true;
}

static int function_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  if (c->capture_be) return tg_capture_refuse_lua(c); /* capture: Lua during backward */
  tgL_state *bs = bstate(c);
  lua_State *L = bs->run_L;
  if (!L) return tg_err(c, "custom Functions can only run backward inside backward()");
  if (!lua_checkstack(L, n->n_out + n->n_in + 16)) return tg_err(c, "stack overflow in %s", n->name);
  int top = lua_gettop(L), rc = -1;
  push_records(L, c);
  if (lua_rawgeti(L, -1, n->binding_ref) != LUA_TTABLE) {
    lua_settop(L, top);
    return tg_err(c, "the state of %s has been released", n->name);
  }
  int rec = lua_gettop(L);
  lua_getfield(L, rec, "ctx");
  int ctxo = lua_gettop(L);
  lua_getfield(L, rec, "tensor_in");
  int tin = lua_gettop(L);
  lua_getfield(L, rec, "tensor_out");
  int tout = lua_gettop(L);
  /* saved tensors, unpacked (checks versions and freed graphs) */
  lua_createtable(L, n->n_saved, 1);
  for (int k = 0; k < n->n_saved; k++) {
    if (!n->saved[k].data && !n->freed) continue;
    tg_tensor *t = tg_unpack(c, n, k);
    if (!t) {
      lua_settop(L, top);
      return -1;
    }
    tg_tensor **box = tgL_newbox(L);
    *box = t;
    lua_rawseti(L, -2, k + 1);
  }
  lua_pushinteger(L, n->n_saved);
  lua_setfield(L, -2, "n");
  lua_setfield(L, ctxo, "saved_tensors");
  lua_getfield(L, rec, "def");
  lua_getfield(L, -1, "backward");
  lua_remove(L, -2);
  int base = lua_gettop(L);
  lua_pushvalue(L, ctxo);
  for (int j = 0; j < n->n_out; j++) {
    lua_rawgeti(L, tout, j + 1);
    bool is_t = lua_toboolean(L, -1);
    lua_pop(L, 1);
    push_tensor(L, is_t ? gout[j] : NULL);
  }
  int st = call_fresh(L, c, 1 + n->n_out);
  bs->cur_L = L;
  lua_pushnil(L);
  lua_setfield(L, ctxo, "saved_tensors");
  if (st != LUA_OK) {
    lua_settop(L, base); /* the error object */
    explain_yield(L, "a custom Function's backward");
    rc = stash_error(L, c);
    lua_settop(L, top);
    return rc;
  }
  int nres = lua_gettop(L) - base + 1, nargs = n->n_in;
  int first = base;
  bool extra_nonnil = false;
  for (int i = nargs; i < nres; i++) extra_nonnil |= !lua_isnil(L, first + i);
  if (nres < nargs || extra_nonnil) {
    tg_err(c, "function %s returned an incorrect number of gradients (expected %d, got %d)", n->name, nargs, nres);
    goto out;
  }
  for (int i = 0; i < nargs; i++) {
    int idx = first + i;
    if (lua_isnil(L, idx)) continue;
    lua_rawgeti(L, tin, i + 1);
    bool is_t = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (!is_t) {
      tg_err(c, "function %s returned a gradient different than None at position %d, but the corresponding forward "
                "input was not a Variable", n->name, i + 1);
      goto out;
    }
    tg_tensor *g = to_tensor_or_null(L, idx);
    if (!g) {
      tg_err(c, "function %s returned an invalid gradient at index %d - expected a Tensor or nil, got %s", n->name, i,
             luaL_typename(L, idx));
      goto out;
    }
    if (!tg_needs_input_grad(n, i)) continue;
    tg_meta *m = &n->in[i];
    if (!(g->ndim == m->ndim && !memcmp(g->size, m->size, sizeof(int64_t) * (size_t)m->ndim)) && !expandable_to(m, g)) {
      char a[160], b[160];
      tg_format_shape(a, sizeof a, g->ndim, g->size);
      tg_format_shape(b, sizeof b, m->ndim, m->size);
      tg_err(c, "Function %s returned an invalid gradient at index %d - got %s but expected shape compatible with %s",
             n->name, i, a, b);
      goto out;
    }
    gin[i] = tg_tensor_ref(g);
  }
  rc = 0;
out:
  lua_settop(L, top);
  return rc;
}

static bool in_list(lua_State *L, int list, tg_tensor *t) {
  if (lua_type(L, list) != LUA_TTABLE) return false;
  lua_getfield(L, list, "n");
  int n = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, list, i);
    bool hit = to_tensor_or_null(L, -1) == t;
    lua_pop(L, 1);
    if (hit) return true;
  }
  return false;
}

/* every tensor marked dirty is returned, and a dirty view is the only tensor returned
 * (PyTorch's rules); pushes the message and returns -1 when not */
static int check_dirty(lua_State *L, int dirty, int r0, int nres) {
  if (lua_type(L, dirty) != LUA_TTABLE) return 0;
  lua_getfield(L, dirty, "n");
  int nd = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  int n_tensors = 0;
  for (int j = 0; j < nres; j++) n_tensors += to_tensor_or_null(L, r0 + j) != NULL;
  for (int i = 1; i <= nd; i++) {
    lua_rawgeti(L, dirty, i);
    tg_tensor *d = to_tensor_or_null(L, -1);
    lua_pop(L, 1);
    if (!d) continue;
    bool returned = false;
    for (int j = 0; j < nres && !returned; j++) returned = to_tensor_or_null(L, r0 + j) == d;
    if (!returned) {
      lua_pushstring(L, "Some elements marked as dirty during the forward method were not returned as output. The "
                        "inputs that are modified inplace must all be outputs of the Function.");
      return -1;
    }
    if (d->view_base && n_tensors > 1) {
      lua_pushstring(L, "If your Function modifies inplace an input that is a view of another Tensor, your Function "
                        "cannot return more than one Tensor. This is not supported by the current autograd engine. "
                        "You should either make sure the input is not a view (using .clone() for example) or make "
                        "your Function only return one Tensor (potentially splitting it into two Functions: one "
                        "doing the inplace that returns a single Tensor and a second one that does the other "
                        "operations).");
      return -1;
    }
  }
  return 0;
}

/* tg._fn_apply(Function, ctx, args...) */
static int fn_apply(lua_State *L) {
  CTX;
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  int nargs = lua_gettop(L) - 2;
  tgL_drain_hooks(L, c);
  bool gm = c->grad_enabled, any = false;
  /* ctx.needs_input_grad */
  lua_createtable(L, nargs, 0);
  for (int i = 0; i < nargs; i++) {
    tg_tensor *t = to_tensor_or_null(L, 3 + i);
    if (t && t->view_base) tg_view_refresh(c, t);
    bool need = gm && t && tg_requires_grad(t);
    any |= need;
    lua_pushboolean(L, need);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, 2, "needs_input_grad");
  /* forward(ctx, args...) without recording */
  luaL_checkstack(L, nargs + 8, "too many arguments");
  if (lua_getfield(L, 1, "forward") != LUA_TFUNCTION) return luaL_error(L, "the Function has no forward function");
  lua_pushvalue(L, 2);
  for (int i = 0; i < nargs; i++) lua_pushvalue(L, 3 + i);
  int r0 = 3 + nargs;
  c->grad_enabled = false;
  int st = lua_pcall(L, nargs + 1, LUA_MULTRET, 0);
  c->grad_enabled = gm;
  if (st != LUA_OK) {
    explain_yield(L, "a custom Function's forward");
    return lua_error(L);
  }
  int nres = lua_gettop(L) - r0 + 1;
  /* the lists the forward left in ctx */
  luaL_checkstack(L, 8, NULL);
  lua_getfield(L, 2, "_dirty");
  int dirty = lua_gettop(L);
  if (check_dirty(L, dirty, r0, nres) < 0) return lua_error(L);
  if (!any) {
    lua_settop(L, r0 + nres - 1);
    return nres;
  }
  lua_getfield(L, 2, "_non_diff");
  int nondiff = lua_gettop(L);
  lua_getfield(L, 2, "_to_save");
  int save = lua_gettop(L);
  int n_saved = 0;
  if (lua_istable(L, save)) {
    lua_getfield(L, save, "n");
    lua_Integer ns = lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (ns < 0 || ns > (1 << 20))
      return luaL_error(L, "save_for_backward: %I saved tensors (ctx._to_save.n) is not a valid count", ns);
    n_saved = (int)ns;
  }
  for (int k = 0; k < n_saved; k++) {
    lua_rawgeti(L, save, k + 1);
    if (!lua_isnil(L, -1) && !to_tensor_or_null(L, -1))
      return luaL_error(L, "save_for_backward can only save tensors, but argument %d is of type %s", k + 1,
                        luaL_typename(L, -1));
    lua_pop(L, 1);
  }
  for (int j = 0; j < nres; j++) {
    tg_tensor *o = to_tensor_or_null(L, r0 + j);
    if (o && in_list(L, dirty, o)) {
      bool is_input = false;
      for (int i = 0; i < nargs && !is_input; i++) is_input = to_tensor_or_null(L, 3 + i) == o;
      if (!is_input) return luaL_error(L, "mark_dirty only accepts input tensors, but argument %d isn't one", j + 1);
      if (o->requires_grad && !o->grad_fn)
        return luaL_error(L, "a leaf Variable that requires grad has been used in an in-place operation.");
    }
  }
  /* the node */
  const char *nm = "CustomFunction";
  if (lua_getfield(L, 1, "name") == LUA_TSTRING) nm = lua_tostring(L, -1);
  size_t len = strlen(nm) + sizeof "Backward";
  char *name = malloc(len);
  if (!name) return luaL_error(L, "out of memory");
  snprintf(name, len, "%sBackward", nm);
  lua_pop(L, 1);
  tg_node *n = tg_node_new(c, &function_kind, nargs, nres, n_saved);
  if (!n) {
    free(name);
    return tgL_raise(L, c);
  }
  n->aux = name;
  n->name = name;
  /* the Lua record: {def, ctx, tensor_in, tensor_out} */
  lua_createtable(L, 0, 4);
  int rec = lua_gettop(L);
  lua_pushvalue(L, 1);
  lua_setfield(L, rec, "def");
  lua_pushvalue(L, 2);
  lua_setfield(L, rec, "ctx");
  lua_createtable(L, nargs, 0);
  for (int i = 0; i < nargs; i++) {
    tg_tensor *t = to_tensor_or_null(L, 3 + i);
    lua_pushboolean(L, t != NULL);
    lua_rawseti(L, -2, i + 1);
    if (t) tg_node_set_input(c, n, i, t);
  }
  lua_setfield(L, rec, "tensor_in");
  lua_createtable(L, nres, 0);
  for (int j = 0; j < nres; j++) {
    lua_pushboolean(L, to_tensor_or_null(L, r0 + j) != NULL);
    lua_rawseti(L, -2, j + 1);
  }
  lua_setfield(L, rec, "tensor_out");
  n->binding_ref = new_record(L, c);
  /* outputs */
  int rc = 0;
  for (int j = 0; j < nres && rc == 0; j++) {
    tg_tensor *o = to_tensor_or_null(L, r0 + j);
    if (!o) continue;
    n->out[j].dtype = o->dtype;
    n->out[j].ndim = o->ndim;
    memcpy(n->out[j].size, o->size, sizeof(int64_t) * (size_t)o->ndim);
    if (in_list(L, nondiff, o) || !tg_is_float(o->dtype)) continue;
    if (in_list(L, dirty, o)) {
      tg_bump_version(o);
      rc = tg_rebase_history(c, o, n, j);
      continue;
    }
    tg_tensor *input = NULL;
    for (int i = 0; i < nargs && !input; i++)
      if (to_tensor_or_null(L, 3 + i) == o) input = o;
    tg_tensor *vb = input ? (input->view_base ? input->view_base : input) : o->view_base;
    if (input || tg_requires_grad(o)) { /* a new tensor object, as PyTorch's view_as */
      tg_tensor **box = tgL_newbox(L);
      if (!(*box = tg_tensor_alias(c, o))) { rc = -1; break; }
      lua_replace(L, r0 + j);
      o = *box;
    }
    tg_node_set_output(n, j, o);
    if (vb) { /* a view (or an input returned as-is): its custom backward must not be overridden */
      if (o->view_base != vb) {
        tg_tensor_ref(vb);
        tg_tensor_unref(o->view_base);
        o->view_base = vb;
      }
      int n_tensors = 0; /* a Function of several outputs: PyTorch's multi-output rule */
      for (int k = 0; k < nres; k++) n_tensors += to_tensor_or_null(L, r0 + k) != NULL;
      o->view_meta = n_tensors > 1 ? TG_VIEW_MULTI_OUTPUT : TG_VIEW_CUSTOM_FN;
      o->view_stamp = tg_fn_stamp(vb);
    }
  }
  /* saved tensors: outputs are saved without their grad_fn (no cycle) */
  for (int k = 0; k < n_saved && rc == 0; k++) {
    lua_rawgeti(L, save, k + 1);
    tg_tensor *t = to_tensor_or_null(L, -1);
    lua_pop(L, 1);
    if (!t) continue;
    tg_tensor *out = NULL;
    for (int j = 0; j < nres && !out; j++) {
      tg_tensor *o = to_tensor_or_null(L, r0 + j);
      if (o && o->grad_fn == n && (o == t || (o->storage == t->storage && o->offset == t->offset && tg_same_shape(o, t))))
        out = o;
    }
    rc = out ? tg_save(c, n, k, out, true) : tg_save(c, n, k, t, false);
  }
  lua_pushnil(L);
  lua_setfield(L, 2, "_to_save");
  lua_pushnil(L);
  lua_setfield(L, 2, "_dirty");
  lua_pushnil(L);
  lua_setfield(L, 2, "_non_diff");
  tg_node_unref(n); /* the outputs hold it */
  if (rc < 0) return tgL_raise(L, c);
  lua_settop(L, r0 + nres - 1);
  return nres;
}

/* ------------------------------------------------------------ in place */
/* tg._apply_inplace(self, fn, ...): self:op_(...) for any out-of-place op fn */
static int apply_inplace(lua_State *L) {
  CTX;
  tg_tensor *self = tgL_check(L, 1);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  if (tg_check_inplace(c, self) < 0) return tgL_raise(L, c);
  uint64_t seq0 = c->seq;
  int n = lua_gettop(L);
  lua_pushvalue(L, 2);
  lua_pushvalue(L, 1);
  for (int i = 3; i <= n; i++) lua_pushvalue(L, i);
  lua_call(L, n - 1, 1);
  if (c->anomaly) tgL_note_thread(c, L);
  tg_tensor *r = to_tensor_or_null(L, -1);
  if (!r) return luaL_error(L, "in-place op: the out-of-place op returned a %s, not a Tensor", luaL_typename(L, -1));
  if (tg_inplace_commit(c, self, r, seq0) < 0) return tgL_raise(L, c);
  lua_settop(L, 1);
  return 1;
}

/* ------------------------------------------------------------- anomaly */
static const char *anomaly_trace(tg_ctx *c) {
  tgL_state *bs = bstate(c);
  lua_State *L = bs->cur_L ? bs->cur_L : bs->run_L;
  if (!L || !lua_checkstack(L, 4)) return NULL;
  push_records(L, c);
  luaL_traceback(L, L, NULL, 1);
  const char *s = lua_tostring(L, -1);
  lua_setfield(L, -2, "trace"); /* keeps s alive */
  lua_pop(L, 1);
  return s;
}

static int set_detect_anomaly(lua_State *L) {
  CTX;
  bool prev = c->anomaly;
  c->anomaly = lua_toboolean(L, 1);
  bstate(c)->cur_L = L;
  lua_pushboolean(L, prev);
  return 1;
}

static int is_anomaly_enabled(lua_State *L) {
  CTX;
  lua_pushboolean(L, c->anomaly);
  return 1;
}

static int live_bytes(lua_State *L) {
  CTX;
  lua_pushinteger(L, (lua_Integer)c->live_bytes);
  return 1;
}

static int n_hook_records(lua_State *L) {
  CTX;
  tgL_drain_hooks(L, c);
  push_records(L, c);
  lua_Integer k = 0;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    if (lua_type(L, -2) == LUA_TNUMBER) k++;
    lua_pop(L, 1);
  }
  lua_pushinteger(L, k);
  return 1;
}

void tgL_register_function(lua_State *L, int ctxi, int module, int methods) {
  ctxi = lua_absindex(L, ctxi);
  module = lua_absindex(L, module);
  methods = lua_absindex(L, methods);
  tg_ctx *c = lua_touserdata(L, ctxi);
  /* the binding state and the record table, keyed by the state's address */
  tgL_state *bs = lua_newuserdatauv(L, sizeof *bs, 0);
  memset(bs, 0, sizeof *bs);
  lua_newtable(L);
  lua_insert(L, -2);
  lua_setfield(L, -2, "_state"); /* the table keeps the state alive */
  lua_rawsetp(L, LUA_REGISTRYINDEX, bs);
  c->binding = bs;
  c->run_hook = run_hook;
  c->release_hook = release_id;
  c->anomaly_trace = anomaly_trace;

  luaL_newmetatable(L, "tgrad.RemovableHandle");
  lua_newtable(L);
  static const luaL_Reg handle[] = {{"remove", handle_remove}, {NULL, NULL}};
  tgL_setfuncs(L, -1, ctxi, handle);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);

  lua_getfield(L, LUA_REGISTRYINDEX, TG_NODE_MT ".methods");
  static const luaL_Reg node_meths[] = {{"register_hook", n_register_hook}, {"register_prehook", n_register_prehook},
                                        {NULL, NULL}};
  tgL_setfuncs(L, -1, ctxi, node_meths);
  lua_pop(L, 1);

  static const luaL_Reg meths[] = {{"register_hook", t_register_hook}, {NULL, NULL}};
  tgL_setfuncs(L, methods, ctxi, meths);
  static const luaL_Reg fns[] = {{"_fn_apply", fn_apply}, {"_apply_inplace", apply_inplace},
                                 {"_set_detect_anomaly", set_detect_anomaly}, {"_is_anomaly_enabled", is_anomaly_enabled},
                                 {"_live_bytes", live_bytes}, {"_hook_records", n_hook_records}, {NULL, NULL}};
  tgL_setfuncs(L, module, ctxi, fns);
  tgL_register_inplace(L, ctxi, module, methods);
}
