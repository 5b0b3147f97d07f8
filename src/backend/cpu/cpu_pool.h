/* cpu_pool.h: the CPU kernels of pooling, padding and resizing (cpu_pool.c; helper pool). */
#ifndef TG_CPU_POOL_H
#define TG_CPU_POOL_H

#include "../backend_pool.h"

int tg_cpu_max_pool2d(tg_ctx *c, tg_tensor *out, tg_tensor *idx, const tg_tensor *x, const tg_pool2d_args *a);
int tg_cpu_adaptive_max_pool2d(tg_ctx *c, tg_tensor *out, tg_tensor *idx, const tg_tensor *x);
int tg_cpu_max_pool2d_backward(tg_ctx *c, tg_tensor *gx, const tg_tensor *g, const tg_tensor *idx);
int tg_cpu_avg_pool2d(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const tg_pool2d_args *a, bool backward);
int tg_cpu_adaptive_avg_pool2d(tg_ctx *c, tg_tensor *out, const tg_tensor *x, bool backward);
int tg_cpu_resample(tg_ctx *c, tg_tensor *out, const tg_tensor *x, const tg_resample_plan *p, bool backward);

#endif
