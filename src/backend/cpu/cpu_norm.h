/* cpu_norm.h: the CPU kernels of batch / group / layer norm and embedding (cpu_norm.c). */
#ifndef TG_CPU_NORM_H
#define TG_CPU_NORM_H

#include "../backend.h"

int tg_cpu_batch_norm(tg_ctx *c, tg_tensor *out, tg_tensor *mean, tg_tensor *invstd, const tg_tensor *x,
                      const tg_tensor *w, const tg_tensor *b, tg_tensor *rm, tg_tensor *rv, bool training,
                      double momentum, double eps);
int tg_cpu_batch_norm_backward(tg_ctx *c, tg_tensor *gx, tg_tensor *gw, tg_tensor *gb, const tg_tensor *g,
                               const tg_tensor *x, const tg_tensor *mean, const tg_tensor *invstd,
                               const tg_tensor *w, bool training);
int tg_cpu_group_norm(tg_ctx *c, tg_tensor *out, tg_tensor *mean, tg_tensor *rstd, const tg_tensor *x,
                      const tg_tensor *w, const tg_tensor *b, int64_t N, int64_t C, int64_t L, int64_t G,
                      double eps);
int tg_cpu_group_norm_backward(tg_ctx *c, tg_tensor *gx, tg_tensor *gw, tg_tensor *gb, const tg_tensor *g,
                               const tg_tensor *x, const tg_tensor *mean, const tg_tensor *rstd, const tg_tensor *w,
                               int64_t N, int64_t C, int64_t L, int64_t G);
int tg_cpu_embedding(tg_ctx *c, tg_tensor *out, const tg_tensor *weight, const tg_tensor *ids);
int tg_cpu_embedding_backward(tg_ctx *c, tg_tensor *gw, const tg_tensor *g, const tg_tensor *ids, int64_t pad,
                              bool scale);
int tg_cpu_embedding_scale(tg_ctx *c, tg_tensor *out, const tg_tensor *ids, int64_t V, int64_t pad, bool scale);
int tg_cpu_embedding_renorm(tg_ctx *c, tg_tensor *weight, const tg_tensor *ids, double max_norm, double p);

#endif
