/* node.c: graph nodes, edges, saved tensors (PyTorch's function.h and
 * saved_variable.cpp, reduced to what tgrad needs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tg.h"

const tg_node_kind tg_kind_accumulate_grad = {"AccumulateGrad", NULL, NULL};

bool tg_any_requires_grad(tg_ctx *c, int n, tg_tensor *const *ts) {
  if (!c->grad_enabled) return false;
  for (int i = 0; i < n; i++) {
    if (ts[i] && ts[i]->view_base) tg_view_refresh(c, ts[i]);
    if (tg_requires_grad(ts[i])) return true;
  }
  return false;
}

static void meta_of(tg_meta *m, const tg_tensor *t) {
  m->dtype = t->dtype;
  m->ndim = t->ndim;
  memcpy(m->size, t->size, sizeof(int64_t) * (size_t)t->ndim);
}

/* pooled size classes of 1, 2 and 4 KiB, or -1 for a bigger node */
static int node_class(size_t bytes) {
  for (int k = 0; k < 3; k++)
    if (bytes <= (size_t)1024 << k) return k;
  return -1;
}

/* one allocation per node: the node, then its edge, meta and saved arrays */
tg_node *tg_node_new(tg_ctx *c, const tg_node_kind *kind, int n_in, int n_out, int n_saved) {
  if (n_in < 0 || n_out < 0 || n_saved < 0 || n_in > (1 << 20) || n_out > (1 << 20) || n_saved > (1 << 20))
    return tg_errp(c, "a graph node with %d inputs, %d outputs and %d saved tensors is not supported", n_in, n_out,
                   n_saved);
  size_t ni = (size_t)(n_in ? n_in : 1), no = (size_t)(n_out ? n_out : 1), ns = (size_t)(n_saved ? n_saved : 1);
  size_t bytes = sizeof(tg_node) + ni * (sizeof(tg_edge) + sizeof(tg_meta)) + no * sizeof(tg_meta) + ns * sizeof(tg_saved);
  int k = node_class(bytes);
  /* perop: a recycled block is zeroed as far as this node uses it, not to its class size */
  char *block = k < 0 ? calloc(1, bytes) : tg_pool_get_part(c, &c->node_pool[k], (size_t)1024 << k, bytes);
  if (!block) return tg_errp(c, "out of memory");
  tg_node *n = (tg_node *)block;
  block += sizeof(tg_node);
  n->saved = (tg_saved *)block, block += ns * sizeof(tg_saved);
  n->next = (tg_edge *)block, block += ni * sizeof(tg_edge);
  n->in = (tg_meta *)block, block += ni * sizeof(tg_meta);
  n->out = (tg_meta *)block;
  n->refs = 1;
  n->kind = kind;
  n->name = kind->name;
  n->seq = c->seq++;
  n->n_in = n_in;
  n->n_out = n_out;
  n->n_saved = n_saved;
  n->binding_ref = -1;
  n->ctx = c;
  if (c->anomaly && c->anomaly_trace) {
    const char *tr = c->anomaly_trace(c);
    if (tr) n->trace = strdup(tr);
  }
  return n;
}

static void release_saved(tg_saved *s) {
  tg_tensor_unref(s->data);
  tg_tensor_unref(s->leaf);
  tg_node_unref(s->grad_acc);
  memset(s, 0, sizeof *s);
}

void tg_node_release_saved(tg_ctx *c, tg_node *n) {
  (void)c;
  for (int i = 0; i < n->n_saved; i++) release_saved(&n->saved[i]);
  n->freed = true;
}

static void free_hooks(tg_ctx *c, tg_hook *h) {
  for (tg_hook *nx; h; h = nx) {
    nx = h->next;
    if (c && c->release_hook) c->release_hook(c, h->id);
    free(h);
  }
}

/* Free a node and, iteratively, the chain of nodes that only it kept alive
 * (a long chain must not recurse once per node). */
void tg_node_unref(tg_node *first) {
  if (!first || --first->refs > 0) return;
  tg_node *stack_buf[64], **stack = stack_buf;
  int sp = 0, cap = 64;
  stack[sp++] = first;
  while (sp > 0) {
    tg_node *n = stack[--sp];
    tg_ctx *c = n->ctx;
    if (n->variable) {
      if (n->variable->grad_acc == n) n->variable->grad_acc = NULL;
      tg_tensor_unref(n->variable);
    }
    if (n->kind->release) n->kind->release(c, n);
    for (int i = 0; i < n->n_saved; i++) release_saved(&n->saved[i]);
    free_hooks(c, n->pre_hooks);
    free_hooks(c, n->post_hooks);
    if (n->out_hooks) {
      for (int i = 0; i < n->n_out; i++) free_hooks(c, n->out_hooks[i]);
      free(n->out_hooks);
    }
    free(n->retained); /* weak pointers: those tensors held this node, so they are gone */
    for (int i = 0; i < n->n_in; i++) {
      tg_node *m = n->next[i].fn;
      if (!m || --m->refs > 0) continue;
      if (sp == cap) {
        tg_node **bigger = malloc(sizeof *bigger * (size_t)cap * 2);
        if (!bigger) { m->refs++; tg_node_unref(m); continue; } /* fall back to recursion */
        memcpy(bigger, stack, sizeof *bigger * (size_t)sp);
        if (stack != stack_buf) free(stack);
        stack = bigger;
        cap *= 2;
      }
      stack[sp++] = m;
    }
    free(n->trace);
    free(n->aux);
    /* its arrays live in the same block */
    size_t bytes = sizeof(tg_node) + (size_t)(n->n_in ? n->n_in : 1) * (sizeof(tg_edge) + sizeof(tg_meta)) +
                   (size_t)(n->n_out ? n->n_out : 1) * sizeof(tg_meta) + (size_t)(n->n_saved ? n->n_saved : 1) * sizeof(tg_saved);
    int k = node_class(bytes);
    if (k < 0 || !n->ctx)
      free(n);
    else
      tg_pool_put(n->ctx, &n->ctx->node_pool[k], n);
  }
  if (stack != stack_buf) free(stack);
}

tg_node *tg_grad_accumulator(tg_ctx *c, tg_tensor *leaf) {
  if (leaf->grad_acc) return tg_node_ref(leaf->grad_acc);
  tg_node *n = tg_node_new(c, &tg_kind_accumulate_grad, 0, 1, 0);
  if (!n) return NULL;
  n->seq = UINT64_MAX; /* as PyTorch: run as soon as it is ready */
  n->variable = tg_tensor_ref(leaf);
  meta_of(&n->out[0], leaf);
  leaf->grad_acc = n;
  return n;
}

/* a view whose base got a new grad_fn (an in-place write) gets its own
 * grad_fn regenerated from the base's current one */
void tg_view_refresh(tg_ctx *c, tg_tensor *t) {
  tg_tensor *b = t->view_base;
  if (b && b->storage != t->storage) { /* t.data = ... gave t other memory: no longer a view */
    t->view_base = NULL;
    tg_tensor_unref(b);
    return;
  }
  if (!b || t->view_stamp == tg_fn_stamp(b)) return;
  if (t->view_meta != TG_VIEW_DEFAULT) { /* no history of its own to regenerate (PyTorch: <Invalid>) */
    if ((t->view_meta & ~TG_VIEW_INVALID) == TG_VIEW_NO_GRAD && b->grad_fn) t->view_meta |= TG_VIEW_INVALID;
    t->view_stamp = tg_fn_stamp(b);
    return;
  }
  if (tg_requires_grad(b)) {
    if (tg_view_regenerate(c, t, b) < 0) return; /* keeps the old history */
  } else {
    tg_drop_grad_fn(t);
  }
  t->view_stamp = tg_fn_stamp(b);
}

void tg_drop_grad_fn(tg_tensor *t) {
  tg_node *old = t->grad_fn;
  if (!old) return;
  if (old->retained && old->retained[t->output_nr] == t) old->retained[t->output_nr] = NULL;
  t->retains_grad = false;
  t->grad_fn = NULL;
  tg_node_unref(old);
}

int tg_view_meta_error(tg_ctx *c, const tg_tensor *t, bool base_written) {
  int m = t->view_meta & ~TG_VIEW_INVALID;
  if (m == TG_VIEW_NO_GRAD)
    return tg_err(c, "A view was created in no_grad mode and %s modified inplace with grad mode enabled. Given "
                     "that this use case is ambiguous and error-prone, it is forbidden. You can clarify your code "
                     "by moving both the view and the inplace either both inside the no_grad block (if you don't "
                     "want the inplace to be tracked) or both outside (if you want the inplace to be tracked).",
                  base_written ? "its base or another view of its base has been" : "is being");
  if (m == TG_VIEW_MULTI_OUTPUT)
    return tg_err(c, "Output %d of %s is a view and is being modified inplace. This view is the output of a function "
                     "that returns multiple views. Such functions do not allow the output views to be modified "
                     "inplace. You should replace the inplace operation by an out-of-place one.",
                  t->output_nr, t->grad_fn ? t->grad_fn->name : "a custom Function");
  return tg_err(c, "Output %d of %s is a view and is being modified inplace. This view was created inside a custom "
                   "Function (or because an input was returned as-is) and the autograd logic to handle view+inplace "
                   "would override the custom backward associated with the custom Function, leading to incorrect "
                   "gradients. This behavior is forbidden. You can fix this by cloning the output of the custom "
                   "Function.",
                t->output_nr, t->grad_fn ? t->grad_fn->name : "a custom Function");
}

tg_edge tg_grad_edge(tg_ctx *c, tg_tensor *t) {
  tg_edge e = {NULL, 0};
  if (!t) return e;
  tg_view_refresh(c, t);
  if (t->grad_fn) {
    e.fn = tg_node_ref(t->grad_fn);
    e.input_nr = t->output_nr;
  } else if (t->requires_grad) {
    e.fn = tg_grad_accumulator(c, t);
  }
  return e;
}

void tg_node_set_input(tg_ctx *c, tg_node *n, int i, tg_tensor *t) {
  n->next[i] = tg_grad_edge(c, t);
  if (t) meta_of(&n->in[i], t);
}

void tg_node_set_output(tg_node *n, int i, tg_tensor *out) {
  tg_node *old = out->grad_fn;
  tg_node_ref(n);
  if (out->retains_grad && old != n) { /* retain_grad follows the tensor to its new grad_fn */
    if (old && old->retained && old->retained[out->output_nr] == out) old->retained[out->output_nr] = NULL;
    if (!n->retained) n->retained = calloc((size_t)n->n_out, sizeof *n->retained);
    if (n->retained) n->retained[i] = out;
    else out->retains_grad = false;
  }
  tg_node_unref(old);
  out->grad_fn = n;
  out->output_nr = i;
  out->requires_grad = false;
  meta_of(&n->out[i], out);
}

int tg_save(tg_ctx *c, tg_node *n, int slot, tg_tensor *t, bool is_output) {
  tg_saved *s = &n->saved[slot];
  if (!t) return 0;
  s->version = t->storage->version;
  s->is_output = is_output;
  s->output_nr = t->output_nr;
  if (is_output) { /* no grad_fn link: no cycle node -> output -> node */
    s->data = tg_tensor_alias(c, t);
    if (!s->data) return -1;
    s->data->dtype = t->dtype;
  } else {
    s->data = tg_tensor_ref(t);
  }
  return 0;
}

static const char *dtype_type_name(tg_dtype d) {
  static const char *n[TG_NDTYPES] = {"torch.FloatTensor", "torch.DoubleTensor", "torch.LongTensor",
                                      "torch.BoolTensor"};
  return n[d];
}

tg_tensor *tg_unpack(tg_ctx *c, tg_node *n, int slot) {
  tg_saved *s = &n->saved[slot];
  if (n->freed)
    return tg_errp(c,
                   "Trying to backward through the graph a second time (or directly access saved "
                   "tensors after they have already been freed). Saved intermediate values of the "
                   "graph are freed when you call .backward() or autograd.grad(). Specify "
                   "retain_graph=True if you need to backward through the graph a second time or if "
                   "you need to access saved tensors after calling backward.");
  if (!s->data) return NULL;
  if (s->data->storage->version != s->version) {
    char shape[128];
    tg_format_shape(shape, sizeof shape, s->data->ndim, s->data->size);
    const char *owner = s->is_output ? n->name : NULL;
    char who[160] = "";
    if (owner)
      snprintf(who, sizeof who, ", which is output %d of %s", s->output_nr, owner);
    else if (s->data->grad_fn)
      snprintf(who, sizeof who, ", which is output %d of %s", s->data->output_nr, s->data->grad_fn->name);
    return tg_errp(c,
                   "one of the variables needed for gradient computation has been modified by an "
                   "inplace operation: [%s %s]%s, is at version %llu; expected version %llu instead. %s",
                   dtype_type_name(s->data->dtype), shape, who,
                   (unsigned long long)s->data->storage->version, (unsigned long long)s->version,
                   c->anomaly ? "Hint: the backtrace further above shows the operation that failed to compute "
                                "its gradient. The variable in question was changed in there or anywhere later. "
                                "Good luck!"
                              : "Hint: enable anomaly detection to find the operation that failed to compute its "
                                "gradient, with tg.autograd.set_detect_anomaly(true).");
  }
  if (!s->is_output) return tg_tensor_ref(s->data);
  /* an output regains this node as its grad_fn, so double backward sees it */
  tg_tensor *t = tg_tensor_alias(c, s->data);
  if (!t) return NULL;
  t->grad_fn = tg_node_ref(n);
  t->output_nr = s->output_nr;
  return t;
}

/* out shares x's storage: a view; remember the root base (grad mode only,
 * as PyTorch's views made in no_grad mode are not differentiable views) */
void tg_track_view(tg_ctx *c, tg_tensor *out, tg_tensor *x) {
  if (!x || out == x || out->storage != x->storage || out->view_base) return;
  /* a view made in no_grad mode (of a float base) is remembered too, as PyTorch's
   * NO_GRAD_MODE views: an in-place write through it with grad mode on is refused */
  if (!c->grad_enabled && !tg_is_float(x->dtype)) return;
  tg_view_refresh(c, x);
  tg_tensor *base = x->view_base ? x->view_base : x;
  out->view_base = tg_tensor_ref(base);
  out->view_stamp = x->view_base ? x->view_stamp : tg_fn_stamp(base);
  out->view_meta = x->view_base ? x->view_meta : TG_VIEW_DEFAULT; /* a view of such a view is one too */
  if (!c->grad_enabled) out->view_meta = TG_VIEW_NO_GRAD | (out->view_meta & TG_VIEW_INVALID);
}

tg_node *tg_record(tg_ctx *c, const tg_node_kind *kind, tg_tensor *out, int n_in, tg_tensor *const *ins,
                   int n_saved) {
  if (n_in == 1) tg_track_view(c, out, ins[0]);
  if (!tg_any_requires_grad(c, n_in, ins)) return NULL;
  tg_node *n = tg_node_new(c, kind, n_in, 1, n_saved);
  if (!n) return NULL;
  for (int i = 0; i < n_in; i++) tg_node_set_input(c, n, i, ins[i]);
  tg_node_set_output(n, 0, out);
  tg_node_unref(n); /* out holds it */
  return n;
}
