/* norm.h: the normalisation and embedding op builders (ops/norm.c, ops/embedding.c).
 * Conventions as ops.h: new reference or NULL with ctx->err set; optional tensors NULL. */
#ifndef TG_OPS_NORM_H
#define TG_OPS_NORM_H

#include "../tg.h"

/* batch norm over every dim but the channel dim (index 1) of x (N, C, *); running stats are
 * updated in place when training (momentum, unbiased variance) and used when not. NativeBatchNormBackward0 */
tg_tensor *tg_batch_norm(tg_ctx *c, tg_tensor *x, tg_tensor *running_mean, tg_tensor *running_var,
                         tg_tensor *weight, tg_tensor *bias, bool training, double momentum, double eps);
/* layer norm over the last n_norm dims, which must equal normalized_shape. NativeLayerNormBackward0 */
tg_tensor *tg_layer_norm(tg_ctx *c, tg_tensor *x, int n_norm, const int64_t *normalized_shape, tg_tensor *weight,
                         tg_tensor *bias, double eps);
/* group norm of x (N, C, *) in num_groups groups of channels. NativeGroupNormBackward0 */
tg_tensor *tg_group_norm(tg_ctx *c, tg_tensor *x, int64_t num_groups, tg_tensor *weight, tg_tensor *bias, double eps);
/* the rows of weight (V, D) at ids (int64, 1-based, any shape): ids.shape .. (D). padding_idx is
 * 0-based (-1: none); max_norm > 0 first renormalises the referenced rows of weight in place
 * (no autograd), as PyTorch's embedding_renorm_. EmbeddingBackward0 */
tg_tensor *tg_embedding(tg_ctx *c, tg_tensor *weight, tg_tensor *ids, int64_t padding_idx, bool scale_grad_by_freq,
                        bool has_max_norm, double max_norm, double norm_type);

#endif
