/* conv.c (helper conv): conv1d, conv2d, conv_transpose1d, conv_transpose2d with
 * PyTorch's options and messages, as one fused op (the backend's conv slot) with
 * its own backward, grad_fn ConvolutionBackward0.
 *
 * A convolution y = x * w is bilinear, and its two adjoints are convolutions of
 * the same geometry (backend.h, tg_conv_geom):
 *   FORWARD    y = F(x, w)        x (N, Cin, I), w (Cout, Cin/G, K) -> y (N, Cout, O)
 *   TRANSPOSE  x = T(y, w)        the adjoint in x: <T(y, w), x> = <y, F(x, w)>
 *   WEIGHT     w = W(x, y)        the adjoint in w: <W(x, y), w> = <y, F(x, w)>
 * A transposed convolution is T with the roles of input and output swapped. The
 * three are closed under differentiation, so their backward formulas are the
 * same three ops again (differentiable when grad mode is on, plain kernels when
 * it is off), and double backward needs nothing more:
 *   F(x, w):  dx = T(g, w)   dw = W(x, g)
 *   T(y, w):  dy = F(g, w)   dw = W(g, y)
 *   W(x, y):  dx = T(y, g)   dy = F(x, g)
 * plus the bias (added inside F or T): db = g summed over all dims but channels.
 * Asymmetric padding ("same" with an even kernel) is implicit in the output
 * size, so it needs no padded copy of the input. */
#include <stdio.h>
#include <string.h>

#include "../backend/backend.h"
#include "../tg.h"

/* ---- geometry kept in a node's ip: kind, groups, nsp, then 2 each of
 * in, out, k, stride, pad, dil (a 1-D conv uses the second slot of each) */
typedef struct cgeo {
  int nsp;
  int64_t groups, in[2], out[2], k[2], stride[2], pad[2], dil[2];
} cgeo;

static void geo_store(tg_node *n, int kind, const cgeo *g) {
  int64_t *p = n->ip;
  p[0] = kind, p[1] = g->groups, p[2] = g->nsp;
  for (int i = 0; i < 2; i++) {
    p[3 + i] = g->in[i], p[5 + i] = g->out[i], p[7 + i] = g->k[i];
    p[9 + i] = g->stride[i], p[11 + i] = g->pad[i], p[13 + i] = g->dil[i];
  }
  n->ni = 15;
}

static void geo_load(const tg_node *n, int *kind, cgeo *g) {
  const int64_t *p = n->ip;
  *kind = (int)p[0], g->groups = p[1], g->nsp = (int)p[2];
  for (int i = 0; i < 2; i++) {
    g->in[i] = p[3 + i], g->out[i] = p[5 + i], g->k[i] = p[7 + i];
    g->stride[i] = p[9 + i], g->pad[i] = p[11 + i], g->dil[i] = p[13 + i];
  }
}

static tg_tensor *conv_prim(tg_ctx *c, int kind, tg_tensor *a, tg_tensor *b, tg_tensor *bias, const cgeo *g,
                            bool in_backward);

/* g summed over every dim but the channels (dim 1): the bias gradient */
static tg_tensor *bias_grad(tg_ctx *c, tg_tensor *g) {
  int dims[TG_MAX_DIMS], nd = 0;
  for (int d = 0; d < g->ndim; d++)
    if (d != 1) dims[nd++] = d;
  return tg_sum(c, g, nd, dims, false);
}

static int conv_backward(tg_ctx *c, tg_node *n, tg_tensor **gout, tg_tensor **gin) {
  int kind;
  cgeo geo;
  geo_load(n, &kind, &geo);
  if (!gout[0]) return 0;
  tg_tensor *a = tg_unpack(c, n, 0), *b = a ? tg_unpack(c, n, 1) : NULL, *g = NULL;
  int rc = -1;
  if (!b) goto done;
  g = gout[0]->dtype == a->dtype ? tg_tensor_ref(gout[0]) : tg_to_dtype(c, gout[0], a->dtype);
  if (!g) goto done;
  bool n0 = tg_needs_input_grad(n, 0), n1 = tg_needs_input_grad(n, 1), n2 = tg_needs_input_grad(n, 2);
  if (kind == TG_CONV_FORWARD) {
    if (n0 && !(gin[0] = conv_prim(c, TG_CONV_TRANSPOSE, g, b, NULL, &geo, true))) goto done;
    if (n1 && !(gin[1] = conv_prim(c, TG_CONV_WEIGHT, a, g, NULL, &geo, true))) goto done;
  } else if (kind == TG_CONV_TRANSPOSE) {
    if (n0 && !(gin[0] = conv_prim(c, TG_CONV_FORWARD, g, b, NULL, &geo, true))) goto done;
    if (n1 && !(gin[1] = conv_prim(c, TG_CONV_WEIGHT, g, a, NULL, &geo, true))) goto done;
  } else {
    if (n0 && !(gin[0] = conv_prim(c, TG_CONV_TRANSPOSE, b, g, NULL, &geo, true))) goto done;
    if (n1 && !(gin[1] = conv_prim(c, TG_CONV_FORWARD, a, g, NULL, &geo, true))) goto done;
  }
  if (n2 && !(gin[2] = bias_grad(c, g))) goto done;
  rc = 0;
done:
  tg_tensor_unref(a), tg_tensor_unref(b), tg_tensor_unref(g);
  return rc;
}

static const tg_node_kind conv_kind = {"ConvolutionBackward0", conv_backward, NULL};
/* the gradient of a convolution, when its graph is recorded (create_graph), as PyTorch names it */
static const tg_node_kind conv_grad_kind = {"ConvolutionBackwardBackward0", conv_backward, NULL};

/* one of the three products; a, b batched (N, C, spatial...) or w-shaped; bias NULL or 1-D */
static tg_tensor *conv_prim(tg_ctx *c, int kind, tg_tensor *a, tg_tensor *b, tg_tensor *bias, const cgeo *g,
                            bool in_backward) {
  const tg_backend *be = tg_backend_of(a);
  if (!be->conv) return tg_errp(c, "convolution is not implemented on %s", be->name);
  if (tg_backend_of(b) != be || (bias && tg_backend_of(bias) != be))
    return tg_errp(c, "Expected all tensors to be on the same device");
  int nsp = g->nsp, nd = nsp + 2;
  tg_conv_geom kg;
  kg.groups = g->groups;
  for (int i = 0; i < 2; i++) {
    kg.in[i] = g->in[i], kg.out[i] = g->out[i], kg.k[i] = g->k[i];
    kg.stride[i] = g->stride[i], kg.pad[i] = g->pad[i], kg.dil[i] = g->dil[i];
  }
  int64_t osz[4];
  if (kind == TG_CONV_FORWARD) {
    kg.n = a->size[0], kg.cin = a->size[1], kg.cout = b->size[0];
    osz[0] = kg.n, osz[1] = kg.cout;
    for (int i = 0; i < nsp; i++) osz[2 + i] = g->out[2 - nsp + i];
  } else if (kind == TG_CONV_TRANSPOSE) {
    kg.n = a->size[0], kg.cout = a->size[1], kg.cin = b->size[1] * g->groups;
    osz[0] = kg.n, osz[1] = kg.cin;
    for (int i = 0; i < nsp; i++) osz[2 + i] = g->in[2 - nsp + i];
  } else {
    kg.n = a->size[0], kg.cin = a->size[1], kg.cout = b->size[1];
    osz[0] = kg.cout, osz[1] = kg.cin / g->groups;
    for (int i = 0; i < nsp; i++) osz[2 + i] = g->k[2 - nsp + i];
  }
  tg_tensor *ac = tg_contiguous_raw(c, a), *bc = ac ? tg_contiguous_raw(c, b) : NULL;
  tg_tensor *biasc = bc && bias ? tg_contiguous_raw(c, bias) : NULL;
  tg_tensor *out = bc && (biasc || !bias) ? tg_tensor_empty(c, a->dtype, nd, osz) : NULL;
  if (out && be->conv(c, kind, out, ac, bc, biasc, &kg) < 0) {
    tg_tensor_unref(out);
    out = NULL;
  }
  tg_tensor_unref(ac), tg_tensor_unref(bc), tg_tensor_unref(biasc);
  if (!out) return NULL;
  tg_tensor *ins[3] = {a, b, bias};
  tg_node *n = tg_record(c, in_backward ? &conv_grad_kind : &conv_kind, out, 3, ins, 2);
  if (n) {
    geo_store(n, kind, g);
    if (tg_save(c, n, 0, a, false) < 0 || tg_save(c, n, 1, b, false) < 0) {
      tg_tensor_unref(out);
      return NULL;
    }
  }
  return out;
}

/* ------------------------------------------------------------ the builder */
static const char *ctype_name(tg_dtype d) { /* PyTorch's C type names in its bias message */
  static const char *n[TG_NDTYPES] = {"float", "double", "long int", "bool"};
  return n[d];
}

/* "[1, 1]" */
static void format_list(char *buf, size_t n, int cnt, const int64_t *v) {
  tg_format_shape(buf, n, cnt, v);
}

/* expand a parameter given as one value or a list to nsp values (PyTorch's expand_param_if_needed) */
static int expand_param(tg_ctx *c, const char *name, int cnt, const int64_t *v, int want, int64_t *out) {
  if (cnt == 1) {
    for (int i = 0; i < want; i++) out[i] = v[0];
    return 0;
  }
  if (cnt != want) {
    char buf[256];
    format_list(buf, sizeof buf, cnt, v);
    return tg_err(c,
                  "expected %s to be a single integer value or a list of %d values to match the convolution "
                  "dimensions, but got %s=%s",
                  name, want, name, buf);
  }
  for (int i = 0; i < want; i++) out[i] = v[i];
  return 0;
}

tg_tensor *tg_convolution(tg_ctx *c, tg_tensor *x, tg_tensor *w, tg_tensor *bias, const tg_conv_opts *o) {
  int nsp = o->nsp;
  bool tr = o->transposed;
  char fname[32], xs[256], ws[256], bs[256];
  snprintf(fname, sizeof fname, "conv%s%dd", tr ? "_transpose" : "", nsp);
  if (x->ndim != nsp + 1 && x->ndim != nsp + 2) {
    tg_format_shape(xs, sizeof xs, x->ndim, x->size);
    return tg_errp(c, "Expected %dD (unbatched) or %dD (batched) input to %s, but got input of size: %s", nsp + 1,
                   nsp + 2, fname, xs);
  }
  if (o->same && !tr)
    for (int i = 0; i < o->n_stride; i++)
      if (o->stride[i] != 1) return tg_errp(c, "padding='same' is not supported for strided convolutions");
  /* the parameters, one per spatial dim of the weight */
  int wd = w->ndim - 2 > 0 ? w->ndim - 2 : 0;
  int64_t stride[TG_MAX_DIMS], pad[TG_MAX_DIMS] = {0}, dil[TG_MAX_DIMS], opad[TG_MAX_DIMS] = {0};
  if (expand_param(c, "stride", o->n_stride, o->stride, wd, stride) < 0) return NULL;
  if (!o->same && expand_param(c, "padding", o->n_padding, o->padding, wd, pad) < 0) return NULL;
  if (expand_param(c, "dilation", o->n_dilation, o->dilation, wd, dil) < 0) return NULL;
  if (tr && expand_param(c, "output_padding", o->n_output_padding, o->output_padding, wd, opad) < 0) return NULL;
  for (int i = 0; i < wd; i++)
    if (pad[i] < 0) return tg_errp(c, "negative padding is not supported");
  for (int i = 0; i < wd; i++)
    if (opad[i] < 0) return tg_errp(c, "negative output_padding is not supported");
  for (int i = 0; i < wd; i++)
    if (stride[i] <= 0) return tg_errp(c, "non-positive stride is not supported");
  for (int i = 0; i < wd; i++)
    if (dil[i] < 0) return tg_errp(c, "dilation should be greater than zero");
  for (int i = 0; i < wd; i++)
    if (dil[i] == 0) {
      format_list(bs, sizeof bs, wd, dil);
      return tg_errp(c, "dilation should be greater than zero, but got %s", bs);
    }
  if (o->groups <= 0) return tg_errp(c, "non-positive groups is not supported");
  int64_t groups = o->groups;
  /* shapes, on the batched input */
  bool batched = x->ndim == nsp + 2;
  int64_t xsz[TG_MAX_DIMS];
  int xnd = nsp + 2;
  xsz[0] = 1;
  memcpy(xsz + !batched, x->size, sizeof(int64_t) * (size_t)x->ndim);
  tg_format_shape(xs, sizeof xs, xnd, xsz);
  tg_format_shape(ws, sizeof ws, w->ndim, w->size);
  if (w->ndim != xnd)
    return tg_errp(c, "Expected %d-dimensional input for %d-dimensional weight %s, but got %d-dimensional input of size %s instead",
                   w->ndim, w->ndim, ws, xnd, xs);
  if (w->size[0] < groups)
    return tg_errp(c, "Given groups=%lld, expected weight to be at least %lld at dimension 0, but got weight of size %s instead",
                   (long long)groups, (long long)groups, ws);
  if (w->size[0] % groups)
    return tg_errp(c, "Given groups=%lld, expected weight to be divisible by %lld at dimension 0, but got weight of size [%s] instead",
                   (long long)groups, (long long)groups, ws);
  /* PyTorch's checks of a zero kernel and of empty spatial inputs to a transposed conv */
  bool zero_k = false;
  for (int i = 0; i < nsp; i++) zero_k |= w->size[2 + i] <= 0;
  if (zero_k) {
    if (nsp == 1)
      return tg_errp(c, "kernel size should be greater than zero, but got kernel_height: 1 kernel_width: %lld",
                     (long long)w->size[2]);
    return tg_errp(c, "kernel size should be greater than zero, but got kernel_height: %lld kernel_width: %lld",
                   (long long)w->size[2], (long long)w->size[3]);
  }
  if (tr && xsz[0] != 0 && xsz[1] != 0)
    for (int i = 0; i < nsp; i++)
      if (xsz[2 + i] == 0) {
        /* PyTorch runs a 1-D conv as 2-D and names that shape: [n, c, 1, l] */
        int64_t s4[4] = {xsz[0], xsz[1], 1, xsz[2]};
        char s4s[256];
        if (nsp == 1) tg_format_shape(s4s, sizeof s4s, 4, s4);
        return tg_errp(c, "Only zero batch or zero channel inputs are supported, but got input shape: %s",
                       nsp == 1 ? s4s : xs);
      }
  int64_t cin = xsz[1];
  if (bias) tg_format_shape(bs, sizeof bs, bias->ndim, bias->size);
  cgeo g;
  memset(&g, 0, sizeof g);
  g.nsp = nsp, g.groups = groups;
  for (int i = 0; i < 2; i++) g.in[i] = g.out[i] = g.k[i] = g.stride[i] = g.dil[i] = 1, g.pad[i] = 0;
  int off = 2 - nsp; /* a 1-D conv fills slot 1 */
  if (!tr) {
    if (cin != w->size[1] * groups)
      return tg_errp(c, "Given groups=%lld, weight of size %s, expected input%s to have %lld channels, but got %lld channels instead",
                     (long long)groups, ws, xs, (long long)(w->size[1] * groups), (long long)cin);
    if (bias && (bias->ndim != 1 || bias->size[0] != w->size[0]))
      return tg_errp(c, "Given weight of size %s, expected bias to be 1-dimensional with %lld elements, but got bias of size %s instead",
                     ws, (long long)w->size[0], bs);
    int64_t padded[2], kext[2], extra[2] = {0, 0};
    bool fits = true;
    for (int i = 0; i < nsp; i++) {
      int64_t k = w->size[2 + i], total = dil[i] * (k - 1);
      if (o->same) {
        pad[i] = total / 2;
        extra[i] = total - 2 * pad[i];
      }
      padded[i] = xsz[2 + i] + 2 * pad[i] + extra[i];
      kext[i] = dil[i] * (k - 1) + 1;
      if (padded[i] < kext[i]) fits = false;
    }
    if (!fits) {
      char ps[128], ks[128];
      if (nsp == 1) {
        snprintf(ps, sizeof ps, "%lld", (long long)padded[0]);
        snprintf(ks, sizeof ks, "%lld", (long long)kext[0]);
      } else {
        snprintf(ps, sizeof ps, "%lld x %lld", (long long)padded[0], (long long)padded[1]);
        snprintf(ks, sizeof ks, "%lld x %lld", (long long)kext[0], (long long)kext[1]);
      }
      return tg_errp(c, "Calculated padded input size per channel: (%s). Kernel size: (%s). Kernel size can't be greater than actual input size",
                     ps, ks);
    }
    for (int i = 0; i < nsp; i++) {
      int j = off + i;
      g.in[j] = xsz[2 + i], g.k[j] = w->size[2 + i], g.stride[j] = stride[i], g.pad[j] = pad[i], g.dil[j] = dil[i];
      g.out[j] = (padded[i] - kext[i]) / stride[i] + 1;
    }
  } else {
    if (cin != w->size[0])
      return tg_errp(c, "Given transposed=1, weight of size %s, expected input%s to have %lld channels, but got %lld channels instead",
                     ws, xs, (long long)w->size[0], (long long)cin);
    if (bias && (bias->ndim != 1 || bias->size[0] != w->size[1] * groups))
      return tg_errp(c, "Given transposed=1, weight of size %s, expected bias to be 1-dimensional with %lld elements, but got bias of size %s instead",
                     ws, (long long)(w->size[1] * groups), bs);
    /* PyTorch reports these two in its 2-D terms, a 1-D conv being 1 x L */
    int64_t op2[2] = {0, 0}, s2[2] = {1, 1}, d2[2] = {1, 1}, in2[2] = {1, 1}, out2[2] = {1, 1};
    bool bad = false, small = false;
    for (int i = 0; i < nsp; i++) {
      int j = off + i;
      op2[j] = opad[i], s2[j] = stride[i], d2[j] = dil[i], in2[j] = xsz[2 + i];
      if (opad[i] >= stride[i] && opad[i] >= dil[i]) bad = true;
      out2[j] = (xsz[2 + i] - 1) * stride[i] - 2 * pad[i] + dil[i] * (w->size[2 + i] - 1) + opad[i] + 1;
      if (out2[j] < 1) small = true;
    }
    if (bad)
      return tg_errp(c, "output padding must be smaller than either stride or dilation, but got output_padding_height: %lld "
                     "output_padding_width: %lld stride_height: %lld stride_width: %lld dilation_height: %lld dilation_width: %lld",
                     (long long)op2[0], (long long)op2[1], (long long)s2[0], (long long)s2[1], (long long)d2[0],
                     (long long)d2[1]);
    if (small)
      return tg_errp(c, "Given input size per channel: (%lld x %lld). Calculated output size per channel: (%lld x %lld). Output size is too small",
                     (long long)in2[0], (long long)in2[1], (long long)out2[0], (long long)out2[1]);
    for (int i = 0; i < nsp; i++) {
      int j = off + i;
      g.in[j] = out2[j], g.out[j] = xsz[2 + i], g.k[j] = w->size[2 + i];
      g.stride[j] = stride[i], g.pad[j] = pad[i], g.dil[j] = dil[i];
    }
  }
  /* dtypes */
  if (w->dtype != x->dtype)
    return tg_errp(c, "expected scalar type %s but found %s", tg_torch_dtype_name(x->dtype), tg_torch_dtype_name(w->dtype));
  if (bias && bias->dtype != x->dtype)
    return tg_errp(c, "Input type (%s) and bias type (%s) should be the same", ctype_name(x->dtype), ctype_name(bias->dtype));
  if (!tg_is_float(x->dtype))
    return tg_errp(c, "\"%s\" not implemented for '%s'", tr ? "slow_conv_transpose2d_out_cpu" : "slow_conv2d_cpu",
                   tg_torch_dtype_name(x->dtype));
  /* run on the batched input; an unbatched result loses its batch dim again (as PyTorch) */
  tg_tensor *xb = batched ? tg_tensor_ref(x) : tg_unsqueeze(c, x, 0);
  if (!xb) return NULL;
  tg_tensor *y = conv_prim(c, tr ? TG_CONV_TRANSPOSE : TG_CONV_FORWARD, xb, w, bias, &g, false);
  tg_tensor_unref(xb);
  if (!y || batched) return y;
  tg_tensor *r = tg_squeeze(c, y, 0);
  tg_tensor_unref(y);
  return r;
}
