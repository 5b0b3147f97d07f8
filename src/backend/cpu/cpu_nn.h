/* cpu_nn.h: the CPU kernels of softmax, log_softmax and the losses (cpu_nn.c). */
#ifndef TG_CPU_NN_H
#define TG_CPU_NN_H

#include "../backend.h"

int tg_cpu_softmax(tg_ctx *c, tg_tensor *out, const tg_tensor *x, int dim, bool log);
int tg_cpu_softmax_backward(tg_ctx *c, tg_tensor *out, const tg_tensor *g, const tg_tensor *y, int dim, bool log);
int tg_cpu_nll(tg_ctx *c, tg_tensor *out, const tg_tensor *x, tg_nll_args *a, bool backward);
int tg_cpu_pointwise_loss(tg_ctx *c, tg_loss_kind k, tg_tensor *out, const tg_tensor *x, const tg_tensor *y,
                          const tg_tensor *w, double p, double scale);

/* contiguous float32 operands (cpu_loss_fast.c, helper rows): returns 1 when
 * an input is out of range (BCE), else 0 */
int tg_cpu_loss_contig_float(tg_ctx *c, tg_loss_kind k, float *o, const float *x, const float *y, const float *w,
                             int64_t n, double p, double scale, bool w_mul);

#endif
