/* autograd.h: graph nodes, saved tensors, the engine (PyTorch's design). */
#ifndef TG_AUTOGRAD_H
#define TG_AUTOGRAD_H

typedef struct tg_edge { tg_node *fn; int input_nr; } tg_edge;

/* what the engine needs to know about an input or output of a node */
typedef struct tg_meta {
  tg_dtype dtype;
  int ndim;
  int64_t size[TG_MAX_DIMS];
} tg_meta;

typedef struct tg_saved {
  tg_tensor *data;     /* alias without grad_fn when is_output (no cycle) */
  uint64_t version;    /* storage version at save time */
  bool is_output;
  bool was_leaf_rg;    /* a leaf that required grad: unpack restores it */
  int output_nr;
  tg_node *grad_acc;   /* strong ref to a saved leaf's AccumulateGrad */
  tg_tensor *leaf;     /* the original leaf (strong) when was_leaf_rg */
} tg_saved;

/* backward: gout[n_out] in (NULL = zero), gin[n_in] out (NULL = none). */
typedef int (*tg_backward_fn)(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin);

typedef struct tg_node_kind {
  const char *name;         /* PyTorch's grad_fn name, e.g. "MulBackward0" */
  tg_backward_fn backward;
  void (*release)(tg_ctx *c, tg_node *n); /* extra state (custom functions) */
} tg_node_kind;

struct tg_node {
  int refs;
  const tg_node_kind *kind;
  const char *name;        /* usually kind->name; custom functions set their own */
  uint64_t seq;
  int n_in, n_out, n_saved;
  tg_edge *next;           /* [n_in] */
  tg_meta *in;             /* [n_in] shapes the gradients must be summed to */
  tg_meta *out;            /* [n_out] */
  tg_saved *saved;         /* [n_saved] */
  bool freed;              /* saved tensors released by backward */
  /* op parameters, meaning per kind */
  double dp[4];
  int64_t ip[TG_MAX_DIMS + 4];
  int ni;
  /* AccumulateGrad: the leaf (strong) */
  tg_tensor *variable;
  /* non-leaf outputs that called retain_grad() (weak, cleared on free) */
  tg_tensor **retained;    /* [n_out] or NULL */
  tg_hook *pre_hooks;      /* on the gradient of the outputs */
  tg_hook *post_hooks;     /* after backward of this node */
  tg_hook **out_hooks;     /* [n_out] tensor hooks of non-leaf outputs */
  int binding_ref;         /* custom Function state held by the binding (-1 none) */
  char *trace;             /* anomaly mode: forward traceback */
  tg_ctx *ctx;             /* the owner (hook release, custom Function state) */
  void *aux;               /* kind-specific heap data, free()d with the node */
};

extern const tg_node_kind tg_kind_accumulate_grad;

/* grad mode ------------------------------------------------------------- */
static inline bool tg_grad_mode(const tg_ctx *c) { return c->grad_enabled; }
static inline bool tg_requires_grad(const tg_tensor *t) {
  return t && (t->requires_grad || t->grad_fn != NULL);
}
bool tg_any_requires_grad(tg_ctx *c, int n, tg_tensor *const *ts);

/* node building (node.c) ------------------------------------------------- */
tg_node *tg_node_new(tg_ctx *c, const tg_node_kind *kind, int n_in, int n_out, int n_saved);
void tg_node_unref(tg_node *n);
static inline tg_node *tg_node_ref(tg_node *n) { if (n) n->refs++; return n; }
/* the edge a gradient for t must flow into (creates AccumulateGrad for leaves) */
tg_edge tg_grad_edge(tg_ctx *c, tg_tensor *t);
tg_node *tg_grad_accumulator(tg_ctx *c, tg_tensor *leaf);
void tg_node_set_input(tg_ctx *c, tg_node *n, int i, tg_tensor *t);
void tg_node_set_output(tg_node *n, int i, tg_tensor *out);
int tg_save(tg_ctx *c, tg_node *n, int slot, tg_tensor *t, bool is_output);
/* unpack a saved tensor: checks its version; an output regains this node as grad_fn */
tg_tensor *tg_unpack(tg_ctx *c, tg_node *n, int slot);
void tg_node_release_saved(tg_ctx *c, tg_node *n);
static inline bool tg_needs_input_grad(const tg_node *n, int i) { return n->next[i].fn != NULL; }

/* convenience: record a node for a 1- or 2-input, 1-output op when any input
 * requires grad and grad mode is on; returns the node (borrowed) or NULL. */
/* out shares x's storage: remember the root base so in-place writes through
 * out rebase the base's history (done by tg_record for one-input ops) */
void tg_track_view(tg_ctx *c, tg_tensor *out, tg_tensor *x);
tg_node *tg_record(tg_ctx *c, const tg_node_kind *kind, tg_tensor *out, int n_in,
                   tg_tensor *const *ins, int n_saved);

/* views (node.c): a view made in grad mode records its root base; after an
 * in-place write the base's grad_fn changes and the view's grad_fn is
 * regenerated (as_strided of the base) the next time it is needed. */
void tg_view_refresh(tg_ctx *c, tg_tensor *t);
/* how a view was made (tg_tensor.view_meta, PyTorch's CreationMeta): an in-place
 * write through a view made any other way than in grad mode by a view op is
 * refused (tg_check_inplace), and its grad_fn is never regenerated */
enum { TG_VIEW_DEFAULT = 0, TG_VIEW_NO_GRAD = 1, TG_VIEW_CUSTOM_FN = 2, TG_VIEW_MULTI_OUTPUT = 3, TG_VIEW_INVALID = 0x80 };
/* the error for an in-place write through (or after a write to the base of) such a view */
int tg_view_meta_error(tg_ctx *c, const tg_tensor *t, bool base_written);
/* t loses its grad_fn (detach_): its retain_grad slot in the node is cleared */
void tg_drop_grad_fn(tg_tensor *t);
static inline uint64_t tg_fn_stamp(const tg_tensor *t) { return t->grad_fn ? t->grad_fn->seq + 1 : 0; }

/* in place (ops/inplace.c) ---------------------------------------------- */
/* Generic in-place protocol: seq0 = c->seq; r = op(self, ...) out of place
 * (recorded as usual); tg_inplace_commit(c, self, r, seq0) writes r into self,
 * bumps the version and rebases self's history (or, for a view, its base's:
 * CopySlices). Nodes made since seq0 that saved self get a copy of its old value. */
int tg_inplace_commit(tg_ctx *c, tg_tensor *self, tg_tensor *r, uint64_t seq0);
/* self's grad_fn becomes (fn, nr); for a view, the base gets a CopySlices node */
int tg_rebase_history(tg_ctx *c, tg_tensor *self, tg_node *fn, int nr);
/* a new as_strided grad_fn for a view t of base b (AsStridedBackward0) */
int tg_view_regenerate(tg_ctx *c, tg_tensor *t, tg_tensor *b);
int tg_unary_(tg_ctx *c, tg_op op, tg_tensor *self);
int tg_binary_(tg_ctx *c, tg_op op, tg_tensor *self, tg_tensor *other, double alpha);
int tg_zero_(tg_ctx *c, tg_tensor *t);

/* engine (engine.c) ------------------------------------------------------ */
typedef struct tg_backward_opts {
  bool retain_graph, create_graph, accumulate, allow_unused;
  int n_inputs; tg_tensor **inputs;  /* grad(): capture these; backward(): limit to */
  tg_tensor **results;                /* grad(): [n_inputs] out */
} tg_backward_opts;
int tg_run_backward(tg_ctx *c, int n_roots, tg_tensor **roots, tg_tensor **grads,
                    tg_backward_opts *o);

#endif
