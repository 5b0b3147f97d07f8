/* binary_fast.h (perop2): fast paths of the binary arithmetic ops for the
 * cases tiny tensors hit all the time (a tensor and a Lua number; two tensors
 * of one shape and dtype), each giving exactly what the general path gives
 * (tg_binary, tg_binary_): same dtype, same bits, same errors (by not being
 * taken where the general path could fail); the number and in-place forms are
 * not taken when a graph would be recorded. Each returns 1 when it did the op, 0 when the caller
 * must take the general path, -1 on an error (c->err set). */
#ifndef TG_BINARY_FAST_H
#define TG_BINARY_FAST_H

#include "../tg.h"

/* the kind of a Lua number operand */
enum { TG_NUM_FLOAT, TG_NUM_INT };

/* whether tg_binary_number_fast takes t op number (nothing allocated: a caller may make the result's box first) */
bool tg_binary_number_fast_ok(tg_ctx *c, tg_op op, tg_tensor *t, int kind);
/* *out = t op v (num_first: v op t), v a wrapped number (PyTorch's Python-scalar promotion):
 * v is the value of a float number, iv of an integer one */
int tg_binary_number_fast(tg_ctx *c, tg_op op, tg_tensor *t, int kind, double v, int64_t iv, bool num_first,
                          tg_tensor **out);
/* *out = a op b, a and b of one dtype, contiguous, of one shape but for leading size-1 dims: the raw
 * result (tg_binary records the graph) */
int tg_binary_same_fast(tg_ctx *c, tg_op op, tg_tensor *a, tg_tensor *b, tg_tensor **out);
/* self op= o in place, same conditions (self already checked writable by tg_check_inplace) */
int tg_binary_inplace_fast(tg_ctx *c, tg_op op, tg_tensor *self, tg_tensor *o);

#endif
