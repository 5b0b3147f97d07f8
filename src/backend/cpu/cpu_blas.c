/* cpu_blas.c: matrix products through OpenBLAS. A transposed view goes to
 * BLAS as a transpose flag with its leading dimension, never as a copy. */
#include <cblas.h>
#include <pthread.h>

#include "cpu.h"
#include "cpu_gemm_small.h" /* gemm: tgrad's kernel for small products */
#include "cpu_gemm_packed.h" /* gemm2: tgrad's packed float32 GEMM for the MLP's shapes */

/* Can this 2-D matrix (sizes r x k, strides sr, sk) go to BLAS directly?
 * Row-major: unit stride on columns -> NoTrans, ld = sr; unit stride on
 * rows -> Trans, ld = sk. */
static bool blas_layout(int64_t r, int64_t k, int64_t sr, int64_t sk, bool *trans, int64_t *ld) {
  if (sk == 1 && (sr >= (k > 1 ? k : 1) || r == 1)) { *trans = false; *ld = r == 1 ? (k > 1 ? k : 1) : sr; return true; }
  if (sr == 1 && (sk >= (r > 1 ? r : 1) || k == 1)) { *trans = true; *ld = k == 1 ? (r > 1 ? r : 1) : sk; return true; }
  return false;
}

#define NAIVE_MM(T)                                                                        \
  static void naive_mm_##T(int64_t m, int64_t n, int64_t k, const T *a, int64_t sa0,       \
                           int64_t sa1, const T *b, int64_t sb0, int64_t sb1, T *o) {      \
    for (int64_t i = 0; i < m; i++)                                                        \
      for (int64_t j = 0; j < n; j++) {                                                    \
        T acc = 0;                                                                         \
        for (int64_t p = 0; p < k; p++) acc += a[i * sa0 + p * sa1] * b[p * sb0 + j * sb1]; \
        o[i * n + j] = acc;                                                                \
      }                                                                                    \
  }
NAIVE_MM(int64_t)

/* OpenBLAS's thread count is process-wide (one setting shared by every
 * lua_State in the process), and setting it while another thread is inside a
 * gemm crashes OpenBLAS. tgrad sets it to 1 once, under a process-wide mutex
 * (the one piece of process-wide mutable state in tgrad), and never changes
 * it again: its own OpenMP threads split the products (tg_cpu_gemm), so GEMMs
 * of different states may run at the same time. */
static pthread_mutex_t blas_lock = PTHREAD_MUTEX_INITIALIZER;

static void blas_threads(int nt) {
  if (openblas_get_num_threads() != nt) openblas_set_num_threads(nt);
}

/* gemm: BLIS (make BLAS=blis) splits every product across its OpenMP threads,
 * whose spin-waits cost milliseconds on a busy machine (a 100^3 product: 6 ms
 * of CPU at 2 threads, 0.04 ms at 1); OpenBLAS and MKL keep small products on
 * one thread themselves. */
#ifdef TG_BLAS_BLIS
#define TG_BLAS_THREADED_MNK (128 * 128 * 128)
#else
#define TG_BLAS_THREADED_MNK 0
#endif

/* below this many multiply-adds a product stays on one thread (its split costs more) */
#define TG_SPLIT_MNK ((int64_t)64 * 64 * 64)

/* one 2-D product: out contiguous m x n */
static int mm2d(tg_ctx *c, tg_dtype dt, int64_t m, int64_t n, int64_t k, char *a, int64_t sa0,
                int64_t sa1, char *b, int64_t sb0, int64_t sb1, char *o) {
  if (dt == TG_INT64) {
    naive_mm_int64_t(m, n, k, (int64_t *)a, sa0, sa1, (int64_t *)b, sb0, sb1, (int64_t *)o);
    return 0;
  }
  /* gemm: small and skinny products in tgrad's own kernel (any strides), no BLAS call; a narrow C with m and k
   * >= 32 (the MLP's 10-class layer) goes to the packed GEMM transposed instead (gemm3: 1.6-2.4x faster) */
  bool narrow = dt == TG_FLOAT32 && tg_gemm_packed_narrow(m, n, k);
  if (m > 0 && n > 0 && k > 0 && !narrow && tg_gemm_small_ok(m, n, k, c->num_threads) &&
      (dt == TG_FLOAT32 ? tg_gemm_small_f32(m, n, k, (const float *)a, sa0, sa1, (const float *)b, sb0, sb1, (float *)o)
                        : tg_gemm_small_f64(m, n, k, (const double *)a, sa0, sa1, (const double *)b, sb0, sb1,
                                            (double *)o)))
    return 0;
  /* gemm2: float32 products in tgrad's packed GEMM (any strides, C written once; tg_gemm_packed_ok: all but the
   * few-row and the 1-column ones), split across the context's threads like the BLAS below; it returns false
   * only when its buffers cannot be allocated */
  if (dt == TG_FLOAT32 && tg_gemm_packed_ok(m, n, k)) {
    int pt = m * n * k < TG_SPLIT_MNK ? 1 : c->num_threads;
    bool pm = m >= n;
    int64_t plen = pm ? m : n;
    if (pt > plen) pt = (int)plen;
    bool ok = true;
#pragma omp parallel for num_threads(pt) schedule(static) if (pt > 1) reduction(&& : ok)
    for (int t = 0; t < pt; t++) {
      int64_t lo = plen * t / pt, hi = plen * (t + 1) / pt;
      if (hi > lo)
        ok = ok && (pm ? tg_gemm_packed_f32(hi - lo, n, k, (const float *)a + lo * sa0, sa0, sa1, (const float *)b, sb0,
                                           sb1, (float *)o + lo * n, n)
                       : tg_gemm_packed_f32(m, hi - lo, k, (const float *)a, sa0, sa1, (const float *)b + lo * sb1, sb0,
                                           sb1, (float *)o + lo, n));
    }
    if (ok) return 0;
  }
  bool ta, tb;
  int64_t lda, ldb;
  if (!blas_layout(m, k, sa0, sa1, &ta, &lda) || !blas_layout(k, n, sb0, sb1, &tb, &ldb))
    return 1; /* caller makes the operands contiguous */
  if (m == 0 || n == 0) return 0;
  /* One thread pool: the product is split across tgrad's OpenMP threads, each calling the BLAS
   * on one thread. OpenBLAS's own pthread pool and OpenMP's spin-waiting workers, used one after
   * the other, fought for the cores: at 2 threads on 2 cores an MLP step ran 4x slower than at 1. */
  int nt = m * n * k < TG_BLAS_THREADED_MNK ? 1 : c->num_threads; /* tg_cpu_gemm keeps small ones serial too */
  tg_cpu_gemm(nt, dt, ta, tb, m, n, k, a, lda, b, ldb, 0.0, o, n);
  return 0;
}

/* OpenBLAS on one thread, set once under the lock: tgrad's own OpenMP threads split the work
 * (one pool), so nothing changes the count afterwards and GEMMs may run from several threads */
void tg_cpu_blas_one_thread(void) {
  if (openblas_get_num_threads() == 1) return;
  pthread_mutex_lock(&blas_lock);
  blas_threads(1);
  pthread_mutex_unlock(&blas_lock);
}

/* C[m x n] (row stride ldc) = op(A) op(B) + beta C, alpha 1, float32 or float64, on the one pool:
 * split by rows of C (or columns, when wider) across nt of the context's threads, the BLAS on one
 * thread in each (conv's GEMMs; nt 1 inside a team that is already running) */
void tg_cpu_gemm(int nt, tg_dtype dt, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void *a, int64_t lda,
                 const void *b, int64_t ldb, double beta, void *cm, int64_t ldc) {
  if (m == 0 || n == 0) return;
  tg_cpu_blas_one_thread();
  bool split_m = m >= n;
  int64_t len = split_m ? m : n;
  if (m * n * k < TG_SPLIT_MNK) nt = 1;
  if (nt > len) nt = (int)len;
  if (nt < 1) nt = 1;
  size_t es = tg_dtype_size(dt);
  enum CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
  TG_PARALLEL_FOR(for (int t = 0; t < nt; t++) {
    int64_t lo = len * t / nt, hi = len * (t + 1) / nt, mm = split_m ? hi - lo : m, nn = split_m ? n : hi - lo;
    const char *at = (const char *)a + (split_m ? (ta ? lo : lo * lda) : 0) * (int64_t)es;
    const char *bt = (const char *)b + (split_m ? 0 : (tb ? lo * ldb : lo)) * (int64_t)es;
    char *ct = (char *)cm + (split_m ? lo * ldc : lo) * (int64_t)es;
    if (mm > 0 && nn > 0) {
      /* gemm3: float32 with beta 0 or 1 (conv's products) in tgrad's packed GEMM, the BLAS if its buffers fail */
      bool done = false;
      if (dt == TG_FLOAT32 && (beta == 0.0 || beta == 1.0) && tg_gemm_packed_ok(mm, nn, k)) {
        int64_t sa0 = ta ? 1 : lda, sa1 = ta ? lda : 1, sb0 = tb ? 1 : ldb, sb1 = tb ? ldb : 1;
        done = (beta == 0.0 ? tg_gemm_packed_f32 : tg_gemm_packed_f32_acc)(mm, nn, k, (const float *)at, sa0, sa1,
                                                                          (const float *)bt, sb0, sb1, (float *)ct, ldc);
      }
      if (!done && dt == TG_FLOAT32)
        cblas_sgemm(CblasRowMajor, TA, TB, (int)mm, (int)nn, (int)k, 1.0f, (const float *)at, (int)lda,
                    (const float *)bt, (int)ldb, (float)beta, (float *)ct, (int)ldc);
      else if (!done)
        cblas_dgemm(CblasRowMajor, TA, TB, (int)mm, (int)nn, (int)k, 1.0, (const double *)at, (int)lda,
                    (const double *)bt, (int)ldb, beta, (double *)ct, (int)ldc);
    }
  });
}

/* out[B?, m, n] = a[B?, m, k] @ b[B?, k, n]; returns 1 when a layout needs a copy */
int tg_cpu_mm(tg_ctx *c, tg_tensor *out, const tg_tensor *a, const tg_tensor *b) {
  size_t es = tg_dtype_size(a->dtype);
  int batched = a->ndim == 3;
  int64_t nb = batched ? a->size[0] : 1;
  int o = batched;
  int64_t m = a->size[o], k = a->size[o + 1], n = b->size[o + 1];
  char *ap = tg_data(a), *bp = tg_data(b), *op = tg_data(out);
  if (k == 0) return tg_cpu_fill(c, out, 0);
  for (int64_t i = 0; i < nb; i++) {
    int r = mm2d(c, a->dtype, m, n, k, ap + (batched ? i * a->stride[0] * (int64_t)es : 0), a->stride[o],
                 a->stride[o + 1], bp + (batched ? i * b->stride[0] * (int64_t)es : 0), b->stride[o],
                 b->stride[o + 1], op + i * m * n * (int64_t)es);
    if (r) return r;
  }
  return 0;
}
