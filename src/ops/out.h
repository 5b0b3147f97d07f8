/* out.h: the core of PyTorch's out= (ops/out.c); used by binding/out.c */
#ifndef TG_OUT_H
#define TG_OUT_H
#include "../tg.h"

/* PyTorch's refusal when grad mode is on and an input or out requires grad */
int tg_out_check_grad(tg_ctx *c, const char *fname, int n, tg_tensor *const *ins, tg_tensor *out);
/* out ready for a result of dtype rdt and shape nd/shape on be: device, castable dtype,
 * shape (an empty out is resized, one with elements and another shape is refused),
 * no two elements of out at one address */
int tg_out_prepare(tg_ctx *c, const char *fname, tg_tensor *out, const struct tg_backend *be, tg_dtype rdt, int nd,
                   const int64_t *shape);
/* r (a computed result) copied into out, with the checks above; bumps out's version */
int tg_out_write(tg_ctx *c, const char *fname, tg_tensor *out, tg_tensor *r);
/* the direct forms: no temporary when out can take the kernel's writes */
int tg_unary_out(tg_ctx *c, tg_op op, tg_tensor *x, tg_tensor *out);
int tg_binary_out(tg_ctx *c, tg_op op, tg_tensor *a, tg_tensor *b, tg_tensor *out);
int tg_mm_out(tg_ctx *c, const char *fname, tg_tensor *a, tg_tensor *b, tg_tensor *out, bool matmul);
#endif
