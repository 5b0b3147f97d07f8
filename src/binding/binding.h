/* binding.h: helpers shared by the Lua binding files (the only code that
 * knows Lua). Every registered C function has the context as upvalue 1. */
#ifndef TG_BINDING_H
#define TG_BINDING_H

#include <lauxlib.h>
#include <lua.h>

#include "../tg.h"

#define TG_TENSOR_MT "tgrad.Tensor"
#define TG_NODE_MT "tgrad.Node"
#define TG_DTYPE_MT "tgrad.dtype"
#define TG_CTX_KEY "tgrad.ctx" /* registry: this state's context (for the host API) */

/* autograd binding state (function.c): in anomaly mode, the running thread
 * is noted so that graph nodes can keep the Lua traceback of their creation */
void tgL_note_thread(tg_ctx *c, lua_State *L);
static inline tg_ctx *tgL_ctx(lua_State *L) {
  tg_ctx *c = (tg_ctx *)lua_touserdata(L, lua_upvalueindex(1));
  if (c->anomaly) tgL_note_thread(c, L);
  return c;
}

/* raise the core's error text as a Lua error at the caller's line */
int tgL_raise(lua_State *L, tg_ctx *c);

/* tensors */
/* The tensor metatable is also kept in the registry under the address of
 * this constant: comparing against it skips luaL_testudata's lookup by name
 * (a strcmp per argument, a visible share of a tiny op's cost). */
extern const char tgL_tensor_mt_key;
tg_tensor **tgL_testbox(lua_State *L, int idx);  /* the box of a tensor argument, or NULL */
/* ---- perop: the per-op floor. The context keeps the Tensor metatable's
 * pointer and registry reference (tgL_set_box_mt, at luaopen), so that the
 * hot paths check and make boxes without a registry lookup by key;
 * tgL_testbox and tgL_newbox find the context as the running function's
 * upvalue 1 (checked: see util.c), else in the registry as before. A box
 * has TGL_BOX_NUV user values: the boxes last returned for .grad and .data
 * (tensor.c), returned again while they still show the same tensor. */
#define TGL_BOX_NUV 2
#define TGL_UV_GRAD 1
#define TGL_UV_DATA 2
void tgL_set_box_mt(lua_State *L, tg_ctx *c);     /* the metatable at the top of the stack */
tg_tensor **tgL_newbox_c(lua_State *L, tg_ctx *c); /* tgL_newbox with the context at hand */
void tgL_forget_boxes(lua_State *L, int idx);      /* drop the cached .grad/.data boxes of the box at idx */
/* box: a box is two words, the tensor and a tag, the pointer of the Tensor
 * metatable it was given (c->box_mt): a full userdata of that size whose second
 * word is the tag is a box of this context. Two cheap calls (lua_touserdata,
 * lua_rawlen: 0 for a light userdata) instead of pushing and comparing the
 * metatable (four calls). Only tgL_newbox_c makes boxes. */
#define TGL_BOX_SIZE (2 * sizeof(void *))
static inline tg_tensor **tgL_testbox_c(lua_State *L, tg_ctx *c, int idx) {
  void **p = (void **)lua_touserdata(L, idx);
  if (!p || lua_rawlen(L, idx) != TGL_BOX_SIZE || p[1] != c->box_mt || !p[1]) return NULL;
  return (tg_tensor **)p;
}
/* box: tgL_check with the context at hand (the running function's upvalue 1):
 * a live box costs two calls; anything else goes to tgL_check (its messages) */
tg_tensor *tgL_check(lua_State *L, int idx);
static inline tg_tensor *tgL_check_c(lua_State *L, tg_ctx *c, int idx) {
  tg_tensor **box = tgL_testbox_c(L, c, idx);
  return box && *box ? *box : tgL_check(L, idx);
}
tg_tensor **tgL_newbox(lua_State *L);            /* push an empty tensor userdata */
int tgL_push(lua_State *L, tg_ctx *c, tg_tensor *t); /* push (takes the ref) or raise */
tg_tensor *tgL_check(lua_State *L, int idx);
tg_tensor *tgL_opt(lua_State *L, int idx);       /* nil -> NULL */
bool tgL_is_tensor(lua_State *L, int idx);
/* a tensor, or a Lua number / boolean / table turned into one (new ref) */
tg_tensor *tgL_to_tensor(lua_State *L, tg_ctx *c, int idx, tg_dtype like);

/* argument parsing */
int tgL_dim(lua_State *L, tg_ctx *c, int idx, int ndim); /* 1-based/negative -> 0-based */
/* sizes as varargs from idx, or one table; stops at a non-number; returns count */
int tgL_sizes(lua_State *L, int idx, int64_t *size, int *next_idx);
tg_dtype tgL_dtype(lua_State *L, int idx);
void tgL_push_dtype(lua_State *L, tg_dtype d);
bool tgL_opt_bool(lua_State *L, int opts, const char *key, bool dflt);
/* index of a trailing options table, or 0 */
int tgL_opts(lua_State *L, int from);
/* raise "fname() got an unexpected keyword argument 'k'" (Python's wording) for a
 * string key of the options table at opts (0: none) that is not one of the
 * space-separated words of allowed */
void tgL_check_keys(lua_State *L, int opts, const char *fname, const char *allowed);
/* tgL_opts(L, from), checked with tgL_check_keys */
int tgL_kwargs(lua_State *L, int from, const char *fname, const char *allowed);
/* div's rounding_mode option: 0 none, 1 "trunc", 2 "floor"; raises PyTorch's text otherwise */
int tgL_rounding_mode(lua_State *L, int opts);
/* where a dim-like argument lives: the positional one at idx (not none/nil, not a
 * boolean, not the options table), else the option `key` (pushed; the stack index
 * returned), else 0; both given raises "fname() got multiple values for argument" */
int tgL_opt_dim_slot(lua_State *L, int opts, int idx, const char *fname, const char *key);
/* read an option field; leaves it on the stack; returns its type */
int tgL_opt_field(lua_State *L, int opts, const char *key);
/* apply {dtype=, device=, requires_grad=} defaults; returns dtype */
tg_dtype tgL_opt_dtype(lua_State *L, int opts, tg_dtype dflt);
void tgL_apply_requires_grad(lua_State *L, tg_ctx *c, int opts, tg_tensor *t);
void tgL_check_device(lua_State *L, int opts);

/* graph nodes */
void tgL_push_node(lua_State *L, tg_node *n);

/* registration */
/* registration: ctxi is the stack index of the context userdata */
void tgL_setfuncs(lua_State *L, int table, int ctxi, const luaL_Reg *r);
void tgL_register_tensor(lua_State *L, int ctxi, int module, int methods);
void tgL_register_ops(lua_State *L, int ctxi, int module, int methods);
void tgL_register_autograd(lua_State *L, int ctxi, int module, int methods);
void tgL_register_creation(lua_State *L, int ctxi, int module, int methods);
/* host: memory, collector policy, threads (memory.c); registered last: its
 * set_num_threads replaces creation.c's */
void tgL_register_host(lua_State *L, int ctxi, int module, int methods);
extern const char tgL_methods_key; /* registry: the Tensor methods table */
extern const char tgL_ctx_key;     /* registry: the context as a light userdata */
void tgL_gc_account(lua_State *L, tg_ctx *c); /* a new box: count it, step when due */
void tgL_register_reduce(lua_State *L, int ctxi, int module, int methods);   /* ops_reduce.c */
void tgL_register_shape(lua_State *L, int ctxi, int module, int methods);    /* ops_shape.c */
void tgL_register_nn(lua_State *L, int ctxi, int module, int methods);       /* ops_nn.c */
void tgL_register_function(lua_State *L, int ctxi, int module, int methods); /* function.c */
/* (function.c) backward runs hooks and custom Functions on the thread that called it */
lua_State *tgL_set_run_thread(tg_ctx *c, lua_State *L); /* returns the previous one */
void tgL_drain_hooks(lua_State *L, tg_ctx *c);           /* forget released hooks' Lua values */
/* after a failed backward: a Lua error from a hook as raised, else ctx->err
 * (raised, or pushed as a string when push_message) */
int tgL_raise_backward(lua_State *L, tg_ctx *c, bool push_message);
void tgL_register_inplace(lua_State *L, int ctxi, int module, int methods); /* inplace.c */
void tgL_register_norm(lua_State *L, int ctxi, int module, int methods);    /* ops_norm.c (helper norm) */

/* files and pictures (issue 8: safetensors, viz, utils): files.c calls the rest */
void tgL_register_files(lua_State *L, int ctxi, int module, int methods);
void tgL_register_safetensors(lua_State *L, int ctxi, int module); /* safetensors.c */
void tgL_register_graph_info(lua_State *L, int ctxi, int module);  /* graph_info.c */
void tgL_register_randperm(lua_State *L, int ctxi, int module);    /* randperm.c */
void tgL_register_term(lua_State *L, int ctxi, int module);        /* term.c */
void tgL_register_conv(lua_State *L, int ctxi, int module, int methods);    /* ops_conv.c (helper conv) */
void tgL_register_pool(lua_State *L, int ctxi, int module, int methods);    /* ops_pool.c (helper pool) */

/* the embedded pure-Lua parts (generated at build time) */
typedef struct tg_lua_source { const char *name; const char *code; size_t len; } tg_lua_source;
extern const tg_lua_source tg_lua_sources[];

/* optim (helper optim): tg._optim, the fused optimizer steps (optim.c) */
void tgL_register_optim(lua_State *L, int ctxi, int module, int methods);
void tgL_register_nn_fast(lua_State *L, int ctxi, int module); /* tiny: nn_fast.c */
/* ---- autograd edge cases (issue 9): reentrant backward (function.c) */
/* tg_run_backward for the binding: a reentrant backward nested so deep that the
 * C stack is nearly full continues on a helper thread with a fresh stack (as
 * PyTorch's engine does), up to a limit past which it is an error (ctx->err, -1) */
int tgL_run_backward(tg_ctx *c, int n_roots, tg_tensor **roots, tg_tensor **grads, tg_backward_opts *o);

/* cuda boundary (helper cuda, binding/cuda.c): the context's CUDA backend, loaded on first use
 * (raises the reason when the module, driver or device is missing); "cuda" / "cuda:N" */
const tg_backend *tgL_cuda_backend(lua_State *L, tg_ctx *c, const char *dev);
int tgL_is_cuda_device(const char *dev);
/* the tensor at idx readable by the host (a device tensor is copied back and replaces it) */
tg_tensor *tgL_check_host(lua_State *L, int idx);
void tgL_register_cuda(lua_State *L, int ctxi, int module, int methods);
void tgL_register_activation(lua_State *L, int ctxi, int module, int methods); /* act: activation.c */

/* capture: tg.capture (capture.c): register, and the refusal of a value read to Lua while recording */
void tgL_register_capture(lua_State *L, int ctxi, int module);
int tgL_capture_refuse(lua_State *L, const char *what);

/* perop2 (binary_fast.c): f(t, number) / f(number, t) for an arithmetic op without options, the tensor's
 * box at ti: pushes the result and returns 1 when the fast path took it, 0 (nothing pushed) otherwise */
int tgL_binary_number_fast(lua_State *L, tg_ctx *c, tg_op op, int ti, tg_tensor **bt); /* bt: the box at ti */

#endif
