/* backend_pool.h: the arguments of the pooling, padding and resizing kernels
 * (the "pool" slots of struct tg_backend; helper pool). Every kernel sees its
 * tensors as contiguous stacks of planes: x (P, H, W) for the pools, (P, I0, I1, I2)
 * for resample, with P the product of the leading dims. */
#ifndef TG_BACKEND_POOL_H
#define TG_BACKEND_POOL_H

#include "backend.h"

/* max_pool2d / avg_pool2d window: kernel, stride, padding, dilation (avg: 1);
 * avg only: count_include_pad and divisor (0 = none) */
typedef struct tg_pool2d_args {
  int64_t kh, kw, sh, sw, ph, pw, dh, dw;
  bool count_include_pad;
  int64_t divisor;
} tg_pool2d_args;

/* A separable linear resampling of the last three dims (fewer dims are padded
 * at the front with size 1): out[o0, o1, o2] = sum over taps a, b, e of
 * w[0][a][o0] w[1][b][o1] w[2][e][o2] x[idx[0][a][o0], idx[1][b][o1], idx[2][e][o2]].
 * One tap per dim is an index map (nearest, reflect/replicate padding), two a
 * linear interpolation, four a cubic one. The backward is the adjoint: x's shape from out's. */
typedef struct tg_resample_plan {
  int64_t in[3], out[3];
  int taps[3];             /* 1, 2 or 4 */
  int64_t *idx[3][4];      /* [out[d]] each, 0-based */
  double *w[3][4];         /* [out[d]] each */
} tg_resample_plan;

#endif
