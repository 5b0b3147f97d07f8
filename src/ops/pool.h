/* pool.h: pooling, padding and resizing (ops/pool.c, ops/resize.c; helper pool).
 * Shapes as PyTorch's (batched or unbatched); window parameters as {h, w} pairs.
 * Index tensors are int64 holding 1-based flat positions within each (H*W) plane. */
#ifndef TG_OPS_POOL_H
#define TG_OPS_POOL_H

#include "../tg.h"
#include "../backend/backend_pool.h"

/* indices: NULL when not wanted, else gets them (a new reference) */
tg_tensor *tg_max_pool2d(tg_ctx *c, tg_tensor *x, const int64_t k[2], const int64_t s[2], const int64_t p[2],
                         const int64_t d[2], bool ceil_mode, tg_tensor **indices);
tg_tensor *tg_max_pool1d(tg_ctx *c, tg_tensor *x, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode,
                         tg_tensor **indices);
/* divisor 0: none */
tg_tensor *tg_avg_pool2d(tg_ctx *c, tg_tensor *x, const int64_t k[2], const int64_t s[2], const int64_t p[2],
                         bool ceil_mode, bool count_include_pad, int64_t divisor);
tg_tensor *tg_avg_pool1d(tg_ctx *c, tg_tensor *x, int64_t k, int64_t s, int64_t p, bool ceil_mode,
                         bool count_include_pad);
tg_tensor *tg_adaptive_avg_pool2d(tg_ctx *c, tg_tensor *x, const int64_t out[2]);
tg_tensor *tg_adaptive_avg_pool1d(tg_ctx *c, tg_tensor *x, int64_t out);
tg_tensor *tg_adaptive_max_pool2d(tg_ctx *c, tg_tensor *x, const int64_t out[2], tg_tensor **indices);
tg_tensor *tg_adaptive_max_pool1d(tg_ctx *c, tg_tensor *x, int64_t out, tg_tensor **indices);

/* x written at its indices (1-based, within each OH*OW plane) into zeros of (.., OH, OW) */
tg_tensor *tg_max_unpool2d(tg_ctx *c, tg_tensor *x, tg_tensor *indices, const int64_t out[2]);
tg_tensor *tg_max_unpool1d(tg_ctx *c, tg_tensor *x, tg_tensor *indices, int64_t out);

/* F.pad: pad[n] as PyTorch (last dim first, (left, right) pairs; negative crops) */
enum { TG_PAD_CONSTANT, TG_PAD_REFLECT, TG_PAD_REPLICATE, TG_PAD_CIRCULAR };
tg_tensor *tg_pad(tg_ctx *c, tg_tensor *x, int n, const int64_t *pad, int mode, double value);

/* F.interpolate's kernels on (N, C, spatial...) with nd = ndim - 2 spatial dims; size: the
 * output's spatial sizes; scales: NULL or per dim (<= 0: none), as PyTorch's scale_factor */
enum { TG_UPSAMPLE_NEAREST, TG_UPSAMPLE_NEAREST_EXACT, TG_UPSAMPLE_LINEAR, TG_UPSAMPLE_CUBIC };
tg_tensor *tg_upsample(tg_ctx *c, tg_tensor *x, int mode, int nd, const int64_t *size, const double *scales,
                       bool align_corners);

/* the linear ops (avg pools, resampling) as one differentiable family whose backward is
 * its adjoint, itself differentiable (its backward is the op again): internal to ops/ */
typedef enum { TG_LIN_AVG, TG_LIN_ADAPTIVE_AVG, TG_LIN_RESAMPLE } tg_lin_kind;
typedef struct tg_linop {
  size_t bytes;            /* the whole block, tables included (copied into graph nodes) */
  tg_lin_kind kind;
  const char *name[2];     /* grad_fn names of the op and of its adjoint */
  tg_dtype dtype;
  int ndim;
  int64_t in[TG_MAX_DIMS], out[TG_MAX_DIMS];
  tg_pool2d_args pool;
  tg_resample_plan plan;   /* its tables follow this struct in the same block */
} tg_linop;
/* op (adjoint: false) or its adjoint (true) applied to x; records a node when x requires grad */
tg_tensor *tg_linop_apply(tg_ctx *c, const tg_linop *op, tg_tensor *x, bool adjoint);

#endif
