// cuda_blas.cu: matmul through cuBLAS (sgemm/dgemm, strided batched). cuBLAS is
// column-major: the row-major product C = A B is computed as C^T = B^T A^T,
// and a transposed view (unit row stride) becomes a transpose flag instead of
// a copy. TF32 is off (CUBLAS_PEDANTIC_MATH, set in tgcu_open).
#include <stdio.h>

#include "cuda_state.h"

namespace {

// how cuBLAS reads a row-major (rows, cols) view with strides (s0, s1): as the
// column-major matrix of its transpose (op N, ld = s0) or of itself (op T, ld = s1)
bool layout(int64_t rows, int64_t cols, int64_t s0, int64_t s1, cublasOperation_t *op, int64_t *ld) {
  if (cols == 1 || s1 == 1) {
    *op = CUBLAS_OP_N;
    *ld = rows == 1 ? (cols > 1 ? cols : 1) : s0;
    return *ld >= cols;
  }
  if (rows == 1 || s0 == 1) {
    *op = CUBLAS_OP_T;
    *ld = cols == 1 ? (rows > 1 ? rows : 1) : s1;
    return *ld >= rows;
  }
  return false;
}

}  // namespace

extern "C" int tgcu_gemm(tgcu_state *st, int dt, int64_t batch, int64_t m, int64_t n, int64_t k, const void *a,
                         const int64_t *sa, const void *b, const int64_t *sb, void *out) {
  if (batch == 0 || m == 0 || n == 0) return 0;
  cublasOperation_t opa, opb;
  int64_t lda, ldb;
  if (!layout(m, k, sa[1], sa[2], &opa, &lda) || !layout(k, n, sb[1], sb[2], &opb, &ldb)) {
    snprintf(st->msg, sizeof st->msg, "mm on cuda: an operand has neither a unit row nor a unit column stride");
    return -1;
  }
  if (k == 0) { /* an empty sum: zeros */
    return tgcu_check(st, cudaMemsetAsync(out, 0, (size_t)(batch * m * n) * (dt == TGCU_F32 ? 4 : 8), st->stream),
                      "cudaMemsetAsync");
  }
  if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX || lda > INT32_MAX || ldb > INT32_MAX || batch > INT32_MAX) {
    snprintf(st->msg, sizeof st->msg, "mm on cuda: a dimension exceeds cuBLAS's 32-bit sizes");
    return -1;
  }
  /* column-major C^T (n x m, ld n) = op(B^T) (n x k) * op(A^T) (k x m) */
  cublasStatus_t s;
  if (dt == TGCU_F32) {
    const float one = 1, zero = 0;
    s = cublasSgemmStridedBatched(st->blas, opb, opa, (int)n, (int)m, (int)k, &one, (const float *)b, (int)ldb,
                                  (long long)sb[0], (const float *)a, (int)lda, (long long)sa[0], &zero, (float *)out,
                                  (int)n, (long long)(m * n), (int)batch);
  } else if (dt == TGCU_F64) {
    const double one = 1, zero = 0;
    s = cublasDgemmStridedBatched(st->blas, opb, opa, (int)n, (int)m, (int)k, &one, (const double *)b, (int)ldb,
                                  (long long)sb[0], (const double *)a, (int)lda, (long long)sa[0], &zero, (double *)out,
                                  (int)n, (long long)(m * n), (int)batch);
  } else {
    snprintf(st->msg, sizeof st->msg, "mm on cuda: only float32 and float64 are supported");
    return -1;
  }
  if (s != CUBLAS_STATUS_SUCCESS) {
    snprintf(st->msg, sizeof st->msg, "cuBLAS error in gemm: %s", cublasGetStatusString(s));
    return -1;
  }
  return 0;
}
