/* The GEMM shapes that matter to tgrad (bench/gemm_candidates.c; the same
 * list is in bench/gemm_candidates.py): C[m x n] = op(A)[m x k] @ op(B)[k x n],
 * ta/tb: the operand is a transposed view (row-major storage k x m / n x k). */
#ifndef GEMM_SHAPES_H
#define GEMM_SHAPES_H
typedef struct { const char *name; int m, n, k, ta, tb; } gemm_shape;
static const gemm_shape gemm_shapes[] = {
  {"sq256", 256, 256, 256, 0, 0},
  {"sq512", 512, 512, 512, 0, 0},
  {"sq1024", 1024, 1024, 1024, 0, 0},
  {"sq2048", 2048, 2048, 2048, 0, 0},
  {"sq4096", 4096, 4096, 4096, 0, 0},
  /* MLP 784-256: forward x @ w, backward g @ w^T (dx) and x^T @ g (dw) */
  {"b64_fwd_64x784@784x256", 64, 256, 784, 0, 0},
  {"b64_dx_64x256@(784x256)^T", 64, 784, 256, 0, 1},
  {"b64_dw_(64x784)^T@64x256", 784, 256, 64, 1, 0},
  {"b256_fwd_256x784@784x256", 256, 256, 784, 0, 0},
  {"b256_dx_256x256@(784x256)^T", 256, 784, 256, 0, 1},
  {"b256_dw_(256x784)^T@256x256", 784, 256, 256, 1, 0},
  /* tiny and skinny: the seed loop, the tiny policy */
  {"5x3@3x1", 5, 1, 3, 0, 0},
  {"1x4@4x32", 1, 32, 4, 0, 0},
  {"32x32@32x32", 32, 32, 32, 0, 0},
};
#define N_GEMM_SHAPES ((int)(sizeof gemm_shapes / sizeof gemm_shapes[0]))
#endif
