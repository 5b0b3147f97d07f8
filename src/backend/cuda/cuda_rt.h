/* cuda_rt.h: the C interface of the .cu files (built by nvcc, cuda.mk), used by
 * cuda_backend.c (built by the C compiler against tg.h). No tg.h types here:
 * dtypes are TGCU_* codes, shapes plain arrays, errors a message buffer.
 * Every call runs on the state's one stream; functions return 0 or -1 with
 * the CUDA / cuBLAS text in st's message (tgcu_error). */
#ifndef TG_CUDA_RT_H
#define TG_CUDA_RT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { TGCU_F32, TGCU_F64, TGCU_I64, TGCU_BOOL };
#define TGCU_MAX_DIMS 16

typedef struct tgcu_state tgcu_state;

/* a strided view: element offsets from base pointers */
typedef struct tgcu_geom {
  int ndim;
  int64_t size[TGCU_MAX_DIMS];
  int64_t stride[3][TGCU_MAX_DIMS]; /* [0] out, [1] first input, [2] second input */
} tgcu_geom;

int tgcu_device_count(char *why, size_t n);
tgcu_state *tgcu_open(int dev, char *why, size_t n);
/* empties the cache and frees the state; blocks freed later go straight to cudaFree */
void tgcu_close(tgcu_state *st);
const char *tgcu_error(const tgcu_state *st);

/* ---- caching allocator (cuda_alloc.cu) */
void *tgcu_alloc(tgcu_state *st, size_t nbytes); /* NULL: PyTorch's "CUDA out of memory. ..." in the message */
void tgcu_free(tgcu_state *st, void *p, size_t nbytes); /* st may be NULL after close */
void tgcu_empty_cache(tgcu_state *st);
void tgcu_stats(const tgcu_state *st, size_t stats[3]); /* allocated, peak allocated, reserved */
int tgcu_synchronize(tgcu_state *st);

/* ---- copies and elementwise kernels (cuda_kernels.cu) */
/* kind: 0 host to device, 1 device to host, 2 device to device; waits for the copy */
int tgcu_memcpy(tgcu_state *st, void *dst, const void *src, size_t nbytes, int kind);
/* out[g] = (out dtype) in[g] over the geometry (strides [0] out, [1] in) */
int tgcu_copy(tgcu_state *st, void *out, int odt, const void *in, int idt, const tgcu_geom *g);
int tgcu_fill(tgcu_state *st, void *out, int dt, double v, const tgcu_geom *g);
/* op: tg_op's value (ops.def order); params for the TG_UNARY_P ops; returns 1 when op/dtype is unsupported */
int tgcu_unary(tgcu_state *st, int op, int dt, void *out, const void *x, const double *params, const tgcu_geom *g);
/* a, b of dtype dt; out of dt (arithmetic) or bool (compare, logical) */
int tgcu_binary(tgcu_state *st, int op, int dt, void *out, const void *a, const void *b, const tgcu_geom *g);
int tgcu_unary_supported(int op, int dt);
int tgcu_binary_supported(int op, int dt);

/* ---- matmul (cuda_blas.cu): out (batch, m, n) contiguous = a (batch, m, k) @ b (batch, k, n);
 * a, b strides {batch, row, col} in elements (batch stride 0: broadcast); dt F32 or F64 */
int tgcu_gemm(tgcu_state *st, int dt, int64_t batch, int64_t m, int64_t n, int64_t k, const void *a,
              const int64_t *sa, const void *b, const int64_t *sb, void *out);

#ifdef __cplusplus
}
#endif
#endif
