/* blas_compat/cblas.h: <cblas.h> for the BLIS and MKL builds (make BLAS=blis|mkl
 * puts this directory first on the include path; the OpenBLAS build never sees
 * it). It includes the library's own CBLAS header and gives the two OpenBLAS
 * thread-count calls the CPU kernels use (cpu_blas.c, cpu_conv.c) to the
 * library's equivalent, so the kernels stay written against one API. */
#ifndef TG_BLAS_COMPAT_CBLAS_H
#define TG_BLAS_COMPAT_CBLAS_H
#include <stdint.h>
#if defined(TG_BLAS_MKL)
#include <mkl_cblas.h>
#include <mkl_service.h>
static inline int openblas_get_num_threads(void) { return mkl_get_max_threads(); }
static inline void openblas_set_num_threads(int n) { mkl_set_num_threads(n); }
#define TG_BLAS_NAME "mkl"
#elif defined(TG_BLAS_BLIS)
#include_next <cblas.h> /* BLIS's, from the blis-openmp include directory */
/* from blis.h (dim_t is int64_t on 64-bit targets); blis.h itself is not
 * included: it is large and sets _POSIX_C_SOURCE for the whole file */
int64_t bli_thread_get_num_threads(void);
void bli_thread_set_num_threads(int64_t value);
static inline int openblas_get_num_threads(void) { return (int)bli_thread_get_num_threads(); }
static inline void openblas_set_num_threads(int n) { bli_thread_set_num_threads(n); }
#define TG_BLAS_NAME "blis"
#else
#error "blas_compat/cblas.h is for make BLAS=blis or BLAS=mkl"
#endif
#endif
