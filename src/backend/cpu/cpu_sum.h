/* cpu_sum.h: the float32 cascade sum (cpu_sum.c; helper kern). */
#ifndef TG_CPU_SUM_H
#define TG_CPU_SUM_H

#include <stdint.h>

/* sum of n contiguous floats: float blocks, widened to double (cpu_sum.c) */
double tg_cpu_sum_f32(const float *x, int64_t n); /* not yet rounded to float */
/* elements per thread when nt threads share a sum of n: whole blocks */
int64_t tg_cpu_sum_f32_chunk(int64_t n, int nt);

#endif
