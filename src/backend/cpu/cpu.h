/* cpu.h: the CPU backend's shared pieces: a strided N-d iterator that calls
 * an inner 1-D loop (TensorIterator's shape), and the kernel entry points. */
#ifndef TG_CPU_H
#define TG_CPU_H

#include "../backend.h"

/* Hot loops are compiled three times, for AVX-512 (x86-64-v4), AVX2 + FMA
 * (x86-64-v3) and the x86-64 baseline, and the loader picks one for the CPU
 * at hand (GCC's target_clones, an ifunc): one binary that still runs
 * everywhere. AVX-512 doubles exp's speed where the CPU has it (Zen 4, recent
 * Xeons). The middle clone is x86-64-v3, not "avx2": GCC's avx2 target does
 * not include FMA, so that clone ran every a * b + c as a multiply and an add
 * (helper stream: exp 1.35x faster with FMA on Zen 3; every CPU with AVX2
 * since Haswell and Zen has FMA, and the ifunc checks all of v3's features). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define TG_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TG_CLONES

#endif

/* `for` loop over chunks, split across `nt` threads (a variable of that name
 * in scope) when nt > 1. `omp parallel for ... if (nt > 1)` would still
 * enter libgomp to run a team of one: a visible cost on tiny tensors, so the
 * serial case is a plain loop. The loop body may use _Pragma, not #pragma. */
#define TG_PARALLEL_FOR(...)                                               \
  do {                                                                     \
    if (nt > 1) {                                                          \
      _Pragma("omp parallel for num_threads(nt) schedule(static)") __VA_ARGS__ \
    } else {                                                               \
      __VA_ARGS__                                                          \
    }                                                                      \
  } while (0)

#define TG_MAX_OPS 4
/* n elements; p[i] base pointers; s[i] byte strides of the innermost dim */
typedef void (*tg_loop_fn)(int64_t n, char **p, const int64_t *s, const void *arg);

typedef struct tg_iter {
  int ndim, nops;
  int64_t size[TG_MAX_DIMS];
  int64_t stride[TG_MAX_OPS][TG_MAX_DIMS]; /* bytes */
  char *base[TG_MAX_OPS];
} tg_iter;

/* op 0 is the output (defines the shape); ops 1.. are inputs of the same shape */
void tg_iter_init(tg_iter *it, int nops, const tg_tensor *const *ts);
/* run the loop; splits across threads when the work is large and
 * parallel_ok (the output has no stride-0 dims) */
void tg_iter_run(tg_ctx *c, const tg_iter *it, tg_loop_fn loop, const void *arg, bool parallel_ok);

void *tg_cpu_alloc(tg_ctx *c, size_t nbytes);          /* cpu_alloc.c */
void tg_cpu_free(tg_ctx *c, void *p, size_t nbytes);
int tg_cpu_copy(tg_ctx *c, tg_tensor *dst, const tg_tensor *src);
int tg_cpu_fill(tg_ctx *c, tg_tensor *t, double v);
int tg_cpu_unary(tg_ctx *c, tg_op op, tg_tensor *out, const tg_tensor *x);
int tg_cpu_unary_p(tg_ctx *c, tg_op op, tg_tensor *out, const tg_tensor *x, const double *params);
int tg_cpu_binary(tg_ctx *c, tg_op op, tg_tensor *out, const tg_tensor *a, const tg_tensor *b);
/* perop2: the binary kernels' inner loop (NULL: none for op/dt), and the backend's binary_flat slot */
tg_loop_fn tg_cpu_binary_loop(tg_op op, tg_dtype dt);
int tg_cpu_binary_flat(tg_ctx *c, tg_op op, tg_dtype dt, int64_t n, void *out, const void *a, const void *b,
                       int scalar_pos);
int tg_cpu_sum(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const bool *reduce);
int tg_cpu_mm(tg_ctx *c, tg_tensor *out, const tg_tensor *a, const tg_tensor *b);
/* reductions, scans, sort, take/put along a dim (cpu_reduce.c; helper: reduce) */
int tg_cpu_reduce(tg_ctx *c, int kind, tg_tensor *out, tg_tensor *idx, const tg_tensor *x, const bool *reduce,
                  double p);
int tg_cpu_scan(tg_ctx *c, int kind, bool reverse, tg_tensor *out, const tg_tensor *x, int dim);
int tg_cpu_cumprod_grad(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const tg_tensor *g, int dim);
int tg_cpu_sort(tg_ctx *c, tg_tensor *values, tg_tensor *indices, const tg_tensor *x, int dim, int64_t k,
                bool descending);
int tg_cpu_take_along(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const tg_tensor *idx, int dim);
int tg_cpu_put_along(tg_ctx *c, tg_tensor *out, const tg_tensor *src, const tg_tensor *idx, int dim);

/* convolution (cpu_conv.c; helper conv) */
int tg_cpu_conv(tg_ctx *c, int kind, tg_tensor *out, const tg_tensor *a, const tg_tensor *b, const tg_tensor *bias,
                const tg_conv_geom *g);
/* act: activation forward and fused backward (cpu_activation.c; helper act) */
int tg_cpu_activation(tg_ctx *c, tg_op op, tg_tensor *out, const tg_tensor *x, const tg_tensor *g, const double *p);

/* one pool for GEMMs outside tg_cpu_mm (conv): cpu_blas.c */
void tg_cpu_blas_one_thread(void);
void tg_cpu_gemm(int nt, tg_dtype dt, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void *a, int64_t lda,
                 const void *b, int64_t ldb, double beta, void *cm, int64_t ldc);

#endif
