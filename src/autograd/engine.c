/* engine.c: backward execution, after PyTorch's engine.cpp.
 * 1. discover the nodes reachable from the roots and count dependencies;
 * 2. when inputs are given, mark the nodes that lead to them;
 * 3. run ready nodes newest-first (sequence number), summing the gradients
 *    that meet at one input, undoing broadcasting in one place (here). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "../tg.h"
#include "../capture.h"

typedef struct entry {
  tg_node *node; /* NULL = empty slot */
  int deps;
  bool needed;
  tg_tensor **buf; /* [n_out] incoming gradients: small_buf, or malloc'd past 2 */
  tg_tensor *small_buf[2];
} entry;

#define TASK_INLINE 64 /* graphs up to 32 nodes need no heap for the engine's tables */

typedef struct task {
  tg_ctx *c;
  entry *map;   /* map_inline, or malloc'd once it grows past it */
  size_t cap, count;
  entry **heap;
  size_t heap_n;
  tg_backward_opts *o;
  /* capture targets of o->inputs: (node, slot) */
  tg_node **cap_node;
  int *cap_nr;
  /* last: not zeroed at the start (tg_run_backward), set up when used */
  entry map_inline[TASK_INLINE];
  entry *heap_inline[TASK_INLINE];
} task;

static size_t hash_ptr(const void *p, size_t cap) {
  uintptr_t x = (uintptr_t)p;
  x ^= x >> 17;
  x *= 0x9E3779B97F4A7C15ULL;
  return (size_t)(x >> 7) & (cap - 1);
}

static entry *map_find(task *t, tg_node *n) {
  size_t i = hash_ptr(n, t->cap);
  while (t->map[i].node) {
    if (t->map[i].node == n) return &t->map[i];
    i = (i + 1) & (t->cap - 1);
  }
  return NULL;
}

static int map_grow(task *t);

static entry *map_insert(task *t, tg_node *n, bool *fresh) {
  if ((t->count + 1) * 2 > t->cap && map_grow(t) < 0) return NULL;
  size_t i = hash_ptr(n, t->cap);
  while (t->map[i].node) {
    if (t->map[i].node == n) { *fresh = false; return &t->map[i]; }
    i = (i + 1) & (t->cap - 1);
  }
  entry *e = &t->map[i];
  memset(e, 0, sizeof *e);
  e->buf = n->n_out <= 2 ? e->small_buf : calloc((size_t)n->n_out, sizeof *e->buf);
  if (!e->buf) return tg_errp(t->c, "out of memory");
  e->node = n;
  e->needed = t->o->n_inputs == 0; /* perop2: what mark_needed's first pass sets */
  t->count++;
  *fresh = true;
  return e;
}

static int map_grow(task *t) {
  if (t->cap == 0) { /* the inline table first */
    memset(t->map_inline, 0, sizeof t->map_inline);
    t->map = t->map_inline;
    t->cap = TASK_INLINE;
    return 0;
  }
  size_t ncap = t->cap * 2;
  entry *old = t->map;
  size_t ocap = t->cap;
  t->map = calloc(ncap, sizeof *t->map);
  if (!t->map) { t->map = old; return tg_err(t->c, "out of memory"); }
  t->cap = ncap;
  for (size_t i = 0; i < ocap; i++) {
    if (!old[i].node) continue;
    size_t j = hash_ptr(old[i].node, ncap);
    while (t->map[j].node) j = (j + 1) & (ncap - 1);
    t->map[j] = old[i];
    if (old[i].buf == old[i].small_buf) t->map[j].buf = t->map[j].small_buf; /* moved with the entry */
  }
  if (old != t->map_inline) free(old);
  return 0;
}

/* ---- ready queue: a max-heap on sequence numbers (newest first) */
static bool heap_less(entry *a, entry *b) { return a->node->seq < b->node->seq; }

static void heap_push(task *t, entry *e) {
  size_t i = t->heap_n++;
  t->heap[i] = e;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!heap_less(t->heap[p], t->heap[i])) break;
    entry *tmp = t->heap[p]; t->heap[p] = t->heap[i]; t->heap[i] = tmp;
    i = p;
  }
}

static entry *heap_pop(task *t) {
  entry *top = t->heap[0];
  t->heap[0] = t->heap[--t->heap_n];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < t->heap_n && heap_less(t->heap[m], t->heap[l])) m = l;
    if (r < t->heap_n && heap_less(t->heap[m], t->heap[r])) m = r;
    if (m == i) break;
    entry *tmp = t->heap[m]; t->heap[m] = t->heap[i]; t->heap[i] = tmp;
    i = m;
  }
  return top;
}

/* ---- gradient arithmetic (recorded when create_graph: grad mode is on) */
static int buf_add(tg_ctx *c, tg_tensor **slot, tg_tensor *g) {
  if (!*slot) { *slot = tg_tensor_ref(g); return 0; }
  tg_tensor *s = tg_add(c, *slot, g);
  if (!s) return -1;
  tg_tensor_unref(*slot);
  *slot = s;
  return 0;
}

/* Leaf .grad accumulation: steal the incoming buffer when nothing else sees
 * it (and it is a plain contiguous tensor), else copy; add in place after. */
static int accumulate_grad(tg_ctx *c, tg_tensor *var, tg_tensor *g, bool create_graph) {
  if (!tg_same_shape(g, var) || (var->grad && !tg_same_shape(var->grad, var))) {
    /* var.data was replaced by a tensor of another shape after the graph was built */
    char a[160], b[160];
    tg_format_shape(a, sizeof a, g->ndim, g->size);
    tg_format_shape(b, sizeof b, var->ndim, var->size);
    return tg_err(c, "AccumulateGrad: invalid gradient - got %s but expected shape compatible with %s "
                     "(the tensor's .data changed shape after the graph was built)", a, b);
  }
  if (!var->grad) {
    if (c->capture_be) tg_capture_note_fresh_grad(c, var); /* capture: overwrite, not accumulate, on replay */
    if (create_graph) { var->grad = tg_tensor_ref(g); return 0; }
    bool plain = g->refs == 1 && !g->grad_fn && tg_is_contiguous(g) && g->offset == 0 && g->dtype == var->dtype;
    if (plain && g->storage->refs == 1) { var->grad = tg_tensor_ref(g); return 0; }
    /* a view whose base only it holds, over the whole buffer (a gradient that
     * came out transposed back, as F.linear's weight's does): nothing else can
     * see the buffer either, so .grad takes it as a plain tensor (no view base) */
    const tg_tensor *b = g->view_base;
    if (plain && b && b->refs == 1 && !b->view_base && g->storage->refs == 2 && b->storage == g->storage &&
        g->storage->nbytes == (size_t)tg_numel(g) * tg_dtype_size(g->dtype))
      return (var->grad = tg_tensor_alias(c, g)) ? 0 : -1;
    tg_tensor *cp = tg_cast_raw(c, g, var->dtype);
    if (!cp) return -1;
    var->grad = cp;
    return 0;
  }
  if (create_graph || var->grad->grad_fn) {
    if (c->capture_be) /* capture: the .grad is replaced, a replay would add to the old one */
      tg_capture_fail(c, "tg.capture: backward adds into a .grad that has a graph (create_graph) by replacing it, "
                         "which a replay cannot follow; reset the gradients (zero_grad()) inside the captured step");
    tg_tensor *s = tg_add(c, var->grad, g);
    if (!s) return -1;
    tg_tensor_unref(var->grad);
    var->grad = s;
    return 0;
  }
  return tg_add_inplace_raw(c, var->grad, g);
}

/* g can be summed to the shape m (PyTorch's is_expandable_to) */
static bool expandable_to(const tg_meta *m, const tg_tensor *g) {
  if (m->ndim > g->ndim) return false;
  for (int i = 0; i < m->ndim; i++) {
    int64_t a = m->size[m->ndim - 1 - i], b = g->size[g->ndim - 1 - i];
    if (a != b && a != 1) return false;
  }
  return true;
}

static bool meta_same_shape(const tg_meta *m, const tg_tensor *g) {
  if (g->ndim != m->ndim) return false;
  for (int d = 0; d < m->ndim; d++) /* perop2: a loop, not a memcmp call, for a few dims */
    if (g->size[d] != m->size[d]) return false;
  return true;
}

/* PyTorch's validate_outputs: *slot (a gradient for something of metadata m) is
 * summed to m's shape when it is expandable to it, else refused; a float m
 * casts it to m's dtype. fn names the node for the message (NULL: a root). */
static int validate_grad_slow(tg_ctx *c, const tg_meta *m, tg_tensor **slot, int index, const char *fn) {
  tg_tensor *g = *slot;
  if (!g) return 0;
  if (!meta_same_shape(m, g)) {
    if (!expandable_to(m, g)) {
      char a[160], b[160];
      tg_format_shape(a, sizeof a, g->ndim, g->size);
      tg_format_shape(b, sizeof b, m->ndim, m->size);
      if (fn)
        return tg_err(c, "Function %s returned an invalid gradient at index %d - got %s but expected shape "
                         "compatible with %s", fn, index, a, b);
      return tg_err(c, "invalid gradient at index %d - got %s but expected shape compatible with %s", index, a, b);
    }
    tg_tensor *s = tg_sum_to(c, g, m->ndim, m->size);
    if (!s) return -1;
    tg_tensor_unref(*slot);
    *slot = g = s;
  }
  if (g->dtype != m->dtype && tg_is_float(m->dtype)) {
    tg_tensor *s = tg_to_dtype(c, g, m->dtype);
    if (!s) return -1;
    tg_tensor_unref(*slot);
    *slot = s;
  }
  return 0;
}

/* box: the common case (no gradient, or one of m's shape and dtype) without a call */
static inline int validate_grad(tg_ctx *c, const tg_meta *m, tg_tensor **slot, int index, const char *fn) {
  const tg_tensor *g = *slot;
  if (!g || (meta_same_shape(m, g) && (g->dtype == m->dtype || !tg_is_float(m->dtype)))) return 0;
  return validate_grad_slow(c, m, slot, index, fn);
}

/* tensor hooks: on one gradient (skipped when there is none) */
static int run_hooks(tg_ctx *c, tg_hook *h, tg_tensor **g) {
  for (; h; h = h->next)
    if (*g && c->run_hook && c->run_hook(c, h->id, g) < 0) return -1;
  return 0;
}

/* node hooks: the binding knows each hook's node and so the array's length:
 * pre-hooks get gout[n_out]; post hooks get [gin[n_in]..., gout[n_out]...]
 * and may replace entries (unref the old, store a new reference). */
static int run_node_hooks(tg_ctx *c, tg_hook *h, tg_tensor **arr) {
  for (; h; h = h->next)
    if (c->run_hook && c->run_hook(c, h->id, arr) < 0) return -1;
  return 0;
}

static int run_post_hooks(tg_ctx *c, tg_node *n, tg_tensor **gin, tg_tensor **gout) {
  if (!n->post_hooks) return 0;
  int tot = n->n_in + n->n_out;
  tg_tensor **io = calloc((size_t)tot + 1, sizeof *io);
  if (!io) return tg_err(c, "out of memory");
  for (int i = 0; i < n->n_in; i++) io[i] = gin[i];
  for (int j = 0; j < n->n_out; j++) io[n->n_in + j] = gout[j];
  int rc = run_node_hooks(c, n->post_hooks, io);
  for (int i = 0; i < n->n_in; i++) gin[i] = io[i];
  for (int j = 0; j < n->n_out; j++) gout[j] = io[n->n_in + j];
  free(io);
  return rc;
}

static bool has_nan(tg_tensor *t) {
  if (!tg_is_float(t->dtype) || !tg_on_cpu(t)) return false;
  int64_t n = tg_numel(t);
  for (int64_t i = 0; i < n; i++)
    if (isnan(tg_get_flat(t, i))) return true;
  return false;
}

static int in_inputs(task *t, tg_tensor *v) {
  for (int k = 0; k < t->o->n_inputs; k++)
    if (t->o->inputs[k] == v) return k;
  return -1;
}

/* run one node; gradients flow into the buffers of its next nodes */
static int run_node(task *t, entry *e) {
  tg_ctx *c = t->c;
  tg_node *n = e->node;
  tg_backward_opts *o = t->o;
  tg_tensor **gout = e->buf;
  /* tensor hooks and retain_grad on this node's outputs */
  if (n->variable) {
    if (run_hooks(c, n->variable->hooks, &gout[0]) < 0) return -1;
  } else {
    for (int i = 0; i < n->n_out; i++) {
      if (n->out_hooks && run_hooks(c, n->out_hooks[i], &gout[i]) < 0) return -1;
      tg_tensor *r = n->retained ? n->retained[i] : NULL;
      if (r && gout[i] && accumulate_grad(c, r, gout[i], o->create_graph) < 0) return -1;
    }
  }
  if (n->pre_hooks) {
    if (run_node_hooks(c, n->pre_hooks, gout) < 0) return -1;
    for (int i = 0; i < n->n_out; i++) /* what a hook put in a slot: the output's shape and dtype */
      if (validate_grad(c, &n->out[i], &gout[i], i, n->name) < 0) return -1;
  }
  /* captures: autograd.grad results, or backward(inputs=) on non-leaves */
  for (int k = 0; k < o->n_inputs; k++) {
    if (t->cap_node[k] != n || !gout[t->cap_nr[k]]) continue;
    tg_tensor *g = gout[t->cap_nr[k]];
    if (!o->accumulate) {
      if (buf_add(c, &o->results[k], g) < 0) return -1;
    } else if (!n->variable && accumulate_grad(c, o->inputs[k], g, o->create_graph) < 0) {
      return -1;
    }
  }
  if (n->variable) {
    if (o->accumulate && gout[0] && (o->n_inputs == 0 || in_inputs(t, n->variable) >= 0) &&
        accumulate_grad(c, n->variable, gout[0], o->create_graph) < 0)
      return -1;
    return n->post_hooks ? run_post_hooks(c, n, NULL, gout) : 0; /* box: no call without hooks */
  }
  bool any = false;
  for (int i = 0; i < n->n_out; i++) any |= gout[i] != NULL;
  tg_tensor *gin_buf[8], **gin = n->n_in <= 8 ? gin_buf : calloc((size_t)n->n_in, sizeof *gin);
  if (!gin) return tg_err(c, "out of memory");
  memset(gin, 0, sizeof *gin * (size_t)n->n_in);
  int rc = 0;
  if (any && e->needed && n->kind->backward) {
    for (int i = 0; i < n->n_out; i++) /* multi-output nodes see zeros, not holes */
      if (!gout[i]) {
        gout[i] = tg_tensor_zeros(c, n->out[i].dtype, n->out[i].ndim, n->out[i].size);
        if (!gout[i]) { rc = -1; goto done; }
      }
    rc = n->kind->backward(c, n, gout, gin);
    if (rc < 0) goto done;
    if (c->anomaly)
      for (int i = 0; i < n->n_in; i++)
        if (gin[i] && has_nan(gin[i])) {
          rc = tg_err(c, "Function '%s' returned nan values in its %dth output.%s%s", n->name, i,
                      n->trace ? "\nTraceback of forward call that caused the error:\n" : "",
                      n->trace ? n->trace : "");
          goto done;
        }
    if (n->post_hooks && (rc = run_post_hooks(c, n, gin, gout)) < 0) goto done;
  }
  for (int i = 0; i < n->n_in; i++) {
    tg_node *nx = n->next[i].fn;
    if (!nx) continue;
    entry *ne = map_find(t, nx);
    if (gin[i] && ne && ne->needed) {
      if (validate_grad(c, &n->in[i], &gin[i], i, n->name) < 0) { rc = -1; goto done; }
      if (validate_grad(c, &nx->out[n->next[i].input_nr], &gin[i], i, n->name) < 0) { rc = -1; goto done; }
      if (buf_add(c, &ne->buf[n->next[i].input_nr], gin[i]) < 0) { rc = -1; goto done; }
    }
    if (ne && --ne->deps == 0) heap_push(t, ne);
  }
done:
  for (int i = 0; i < n->n_in; i++) tg_tensor_unref(gin[i]);
  if (gin != gin_buf) free(gin);
  /* only a node that ran frees its saved tensors (as PyTorch): a branch this
   * call did not need stays usable for a later grad() or backward() */
  if (rc == 0 && !o->retain_graph && e->needed) tg_node_release_saved(c, n);
  return rc;
}

/* grow the discovery stack (the inline one is copied out the first time) */
static tg_node **stack_grow(tg_node **stack, tg_node **inline_stack, size_t *cap) {
  tg_node **s2 = stack == inline_stack ? malloc(sizeof *s2 * *cap * 2) : realloc(stack, sizeof *s2 * *cap * 2);
  if (s2 && stack == inline_stack) memcpy(s2, stack, sizeof *s2 * *cap);
  if (s2) *cap *= 2;
  return s2;
}

static int discover(task *t, int n_roots, tg_edge *edges) {
  tg_node *inline_stack[TASK_INLINE], **stack = inline_stack;
  size_t cap = TASK_INLINE, sp = 0;
  int rc = -1;
  for (int i = 0; i < n_roots; i++) {
    bool fresh;
    if (!edges[i].fn) continue;
    entry *e = map_insert(t, edges[i].fn, &fresh);
    if (!e) goto out;
    if (fresh) stack[sp++] = edges[i].fn;
    if (sp == cap) {
      tg_node **s2 = stack_grow(stack, inline_stack, &cap);
      if (!s2) { tg_err(t->c, "out of memory"); goto out; }
      stack = s2;
    }
  }
  while (sp > 0) {
    tg_node *n = stack[--sp];
    for (int i = 0; i < n->n_in; i++) {
      tg_node *m = n->next[i].fn;
      if (!m) continue;
      bool fresh;
      entry *e = map_insert(t, m, &fresh);
      if (!e) goto out;
      e->deps++;
      if (fresh) {
        if (sp + 1 >= cap) {
          tg_node **s2 = stack_grow(stack, inline_stack, &cap);
          if (!s2) { tg_err(t->c, "out of memory"); goto out; }
          stack = s2;
        }
        stack[sp++] = m;
      }
    }
  }
  rc = 0;
out:
  if (stack != inline_stack) free(stack);
  return rc;
}

static int cmp_seq(const void *a, const void *b) {
  uint64_t x = (*(entry *const *)a)->node->seq, y = (*(entry *const *)b)->node->seq;
  return x < y ? -1 : x > y;
}

/* with inputs given, only nodes on a path to a capture target run */
static int mark_needed(task *t) {
  tg_backward_opts *o = t->o;
  if (o->n_inputs == 0) return 0; /* every node: map_insert set needed */
  for (size_t i = 0; i < t->cap; i++) t->map[i].needed = false;
  entry **order = malloc(sizeof *order * (t->count ? t->count : 1));
  if (!order) return tg_err(t->c, "out of memory");
  size_t k = 0;
  for (size_t i = 0; i < t->cap; i++)
    if (t->map[i].node) order[k++] = &t->map[i];
  qsort(order, k, sizeof *order, cmp_seq);
  /* capture targets first (AccumulateGrad nodes sort last but are leaves),
   * then every other node in creation order: its next nodes are older */
  for (int j = 0; j < o->n_inputs; j++) {
    entry *e = t->cap_node[j] ? map_find(t, t->cap_node[j]) : NULL;
    if (e) e->needed = true;
  }
  for (size_t i = 0; i < k; i++) {
    entry *e = order[i];
    tg_node *n = e->node;
    if (n->variable) continue;
    for (int j = 0; j < n->n_in && !e->needed; j++) {
      entry *ne = n->next[j].fn ? map_find(t, n->next[j].fn) : NULL;
      e->needed = ne && ne->needed;
    }
  }
  free(order);
  return 0;
}

static const char *shape_str(char *buf, size_t n, const tg_tensor *t) {
  tg_format_shape(buf, n, t->ndim, t->size);
  return buf;
}

/* n zeroed elements of size sz: the caller's small buffer when they fit */
static void *small_or_calloc(void *buf, size_t buf_n, size_t n, size_t sz) {
  if (n <= buf_n) return memset(buf, 0, n * sz);
  return calloc(n, sz);
}

/* the engine's tables live on the C stack (a few KiB); a reentrant backward
 * (nested inside a custom Function's backward) takes them from the heap, so
 * deep nesting costs the C stack little */
static int run_backward(task *T, tg_ctx *c, int n_roots, tg_tensor **roots, tg_tensor **grads, tg_backward_opts *o);

static __attribute__((noinline)) int run_on_stack(tg_ctx *c, int n_roots, tg_tensor **roots, tg_tensor **grads,
                                                  tg_backward_opts *o) {
  task local;
  memset(&local, 0, offsetof(task, map_inline)); /* the inline tables are set up when used */
  return run_backward(&local, c, n_roots, roots, grads, o);
}

int tg_run_backward(tg_ctx *c, int n_roots, tg_tensor **roots, tg_tensor **grads, tg_backward_opts *o) {
  bool nested = c->in_backward;
  int rc;
  c->in_backward = true;
  if (!nested) {
    rc = run_on_stack(c, n_roots, roots, grads, o);
  } else {
    task *T = malloc(sizeof *T);
    if (!T) {
      c->in_backward = nested;
      return tg_err(c, "out of memory");
    }
    memset(T, 0, offsetof(task, map_inline));
    rc = run_backward(T, c, n_roots, roots, grads, o);
    free(T);
  }
  c->in_backward = nested;
  return rc;
}

static int run_backward(task *T, tg_ctx *c, int n_roots, tg_tensor **roots, tg_tensor **grads, tg_backward_opts *o) {
  T->c = c;
  T->o = o;
  int rc = -1;
  tg_edge edges_buf[4];
  tg_tensor *g_buf[4];
  tg_node *cap_node_buf[4];
  int cap_nr_buf[4];
  tg_edge *edges = small_or_calloc(edges_buf, 4, (size_t)n_roots + 1, sizeof *edges);
  tg_tensor **g = small_or_calloc(g_buf, 4, (size_t)n_roots + 1, sizeof *g);
  T->cap_node = small_or_calloc(cap_node_buf, 4, (size_t)o->n_inputs + 1, sizeof *T->cap_node);
  T->cap_nr = small_or_calloc(cap_nr_buf, 4, (size_t)o->n_inputs + 1, sizeof *T->cap_nr);
  bool saved_mode = c->grad_enabled;
  if (!edges || !g || !T->cap_node || !T->cap_nr) { tg_err(c, "out of memory"); goto out; }
  for (int i = 0; i < n_roots; i++) {
    tg_tensor *r = roots[i];
    if (!tg_requires_grad(r)) {
      tg_err(c, "element %d of tensors does not require grad and does not have a grad_fn", i);
      goto out;
    }
    if (grads && grads[i]) {
      if (!tg_same_shape(grads[i], r)) {
        char a[128], b[128];
        tg_err(c, "Mismatch in shape: grad_output[%d] has a shape of torch.Size(%s) and output[%d] has a shape of torch.Size(%s).",
               i, shape_str(a, sizeof a, grads[i]), i, shape_str(b, sizeof b, r));
        goto out;
      }
      g[i] = tg_tensor_ref(grads[i]);
    } else {
      if (tg_numel(r) != 1) { tg_err(c, "grad can be implicitly created only for scalar outputs"); goto out; }
      g[i] = tg_tensor_full(c, r->dtype, r->ndim, r->size, 1.0);
      if (!g[i]) goto out;
    }
    edges[i] = tg_grad_edge(c, r);
    /* the node's own record of the output (r.data may have been replaced since):
     * shape checked, dtype cast, as PyTorch's validate_outputs */
    if (edges[i].fn) {
      const tg_meta *m = &edges[i].fn->out[edges[i].input_nr];
      if (!meta_same_shape(m, g[i])) {
        char a[160], b[160];
        tg_err(c, "invalid gradient at index %d - got %s but expected shape compatible with %s", i,
               shape_str(a, sizeof a, g[i]), (tg_format_shape(b, sizeof b, m->ndim, m->size), b));
        goto out;
      }
      if (validate_grad(c, m, &g[i], i, NULL) < 0) goto out;
    }
  }
  if (map_grow(T) < 0 || discover(T, n_roots, edges) < 0) goto out;
  for (int k = 0; k < o->n_inputs; k++) {
    tg_tensor *in = o->inputs[k];
    tg_node *cn = in->grad_fn ? in->grad_fn : in->grad_acc;
    if (cn && map_find(T, cn)) {
      T->cap_node[k] = cn;
      T->cap_nr[k] = in->grad_fn ? in->output_nr : 0;
    } else if (!o->accumulate && !o->allow_unused) {
      tg_err(c, "One of the differentiated Tensors appears to not have been used in the graph. "
                "Set allow_unused=True if this is the desired behavior.");
      goto out;
    }
  }
  if (mark_needed(T) < 0) goto out;
  T->heap = T->count + 1 <= TASK_INLINE ? T->heap_inline : malloc(sizeof *T->heap * (T->count + 1));
  if (!T->heap) { tg_err(c, "out of memory"); goto out; }
  c->grad_enabled = o->create_graph;
  for (int i = 0; i < n_roots; i++) {
    entry *e = map_find(T, edges[i].fn);
    if (buf_add(c, &e->buf[edges[i].input_nr], g[i]) < 0) goto out;
  }
  for (int i = 0; i < n_roots; i++) {
    entry *e = map_find(T, edges[i].fn);
    if (e->deps == 0) { e->deps = -1; heap_push(T, e); } /* -1: queued once */
  }
  while (T->heap_n > 0) {
    entry *e = heap_pop(T);
    if (run_node(T, e) < 0) goto out;
    for (int i = 0; i < e->node->n_out; i++) { tg_tensor_unref(e->buf[i]); e->buf[i] = NULL; }
  }
  for (int k = 0; k < o->n_inputs; k++) {
    if (!o->accumulate && !o->results[k] && !o->allow_unused) {
      tg_err(c, "One of the differentiated Tensors appears to not have been used in the graph. "
                "Set allow_unused=True if this is the desired behavior.");
      goto out;
    }
  }
  rc = 0;
out:
  c->grad_enabled = saved_mode;
  for (size_t i = 0; i < T->cap; i++) {
    entry *e = &T->map[i];
    if (!e->node) continue;
    for (int j = 0; j < e->node->n_out; j++) tg_tensor_unref(e->buf[j]);
    if (e->buf != e->small_buf) free(e->buf);
  }
  if (rc < 0 && !o->accumulate)
    for (int k = 0; k < o->n_inputs; k++) { tg_tensor_unref(o->results[k]); o->results[k] = NULL; }
  if (T->map != T->map_inline) free(T->map);
  if (T->heap != T->heap_inline) free(T->heap);
  for (int i = 0; i < n_roots; i++) { tg_tensor_unref(g[i]); tg_node_unref(edges[i].fn); }
  if (edges != edges_buf) free(edges);
  if (g != g_buf) free(g);
  if (T->cap_node != cap_node_buf) free(T->cap_node);
  if (T->cap_nr != cap_nr_buf) free(T->cap_nr);
  return rc;
}
