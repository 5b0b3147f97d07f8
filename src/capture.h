/* capture.h: captured steps (tg.capture, issue 11).
 *
 * While a context records (ctx->capture_be set), tg_backend_of answers a
 * recording backend for CPU tensors: every kernel slot runs the CPU kernel
 * and appends a record (the slot, its scalar arguments deep-copied and its
 * tensors as views holding their storages). Replay runs the records in order
 * with the CPU slots: no Lua, no graph, no allocation of tensors. The memory
 * plan packs the buffers only the records use into one arena by live
 * interval. On a device this maps to a CUDA graph: the record list is the
 * graph's kernel nodes, the arena its private memory pool (docs/capture.md).
 *
 * Refusals are noted with tg_capture_fail (the first one wins) and reported
 * by tg_capture_finish; the binding refuses the value reads to Lua itself. */
#ifndef TG_CAPTURE_H
#define TG_CAPTURE_H

#include "tg.h"

typedef struct tg_capture tg_capture;

/* start recording on c (ctx->capture, ctx->capture_be); NULL + c->err if it cannot */
tg_capture *tg_capture_begin(tg_ctx *c);
/* the i-th argument of the step is the tensor t: its storage is an input buffer */
int tg_capture_input(tg_ctx *c, tg_capture *k, int i, tg_tensor *t);
/* recording off (false) and on again while capturing: work the step does once */
void tg_capture_set_recording(tg_ctx *c, bool on);
/* stop recording (also after an error) */
void tg_capture_stop(tg_ctx *c);
/* after the step ran and the host dropped its garbage: the checks (value reads,
 * gradient accumulation) and the memory plan. 0, or -1 with c->err */
int tg_capture_finish(tg_ctx *c, tg_capture *k);
/* replay with inputs[i] (NULL: a non-tensor argument) copied into the input
 * buffers first; shapes and dtypes are the caller's check (tg_capture_check_input) */
int tg_capture_replay(tg_ctx *c, tg_capture *k, tg_tensor *const *inputs, int n);
/* 0 when t fits input i, else -1 with the error in c->err */
int tg_capture_check_input(tg_ctx *c, tg_capture *k, int i, const tg_tensor *t);
int tg_capture_n_inputs(const tg_capture *k);
void tg_capture_free(tg_ctx *c, tg_capture *k);
/* counts for tg.capture's info(): records, arena bytes, internal buffers */
void tg_capture_stats(const tg_capture *k, int64_t *records, int64_t *arena_bytes, int64_t *buffers,
                      int64_t *planned_bytes);

/* while recording: a handle on the optimizer step just recorded (-1: none), and after the
 * capture its running scalar (NAdam's mu_product, advanced by every replay) */
int tg_capture_tag_last(tg_ctx *c);
bool tg_capture_optim_mu_product(const tg_capture *k, int tag, double *v);

/* the first refusal, reported at the end of the capture */
void tg_capture_fail(tg_ctx *c, const char *fmt, ...);
/* a custom Function's backward (Lua) while recording: refused; returns -1 */
int tg_capture_refuse_lua(tg_ctx *c);
/* hooks for the core (no-ops unless c records) */
void tg_capture_note_read(tg_ctx *c, tg_storage *s);      /* the host read s's values */
void tg_capture_note_fresh_grad(tg_ctx *c, tg_tensor *v); /* backward set v.grad from nil */
void tg_capture_note_grad_reset(tg_ctx *c, tg_tensor *t); /* the host set t.grad (zero_grad, t.grad = x) */

static inline void tg_capture_read(const tg_tensor *t) {
  tg_ctx *c = t->storage->ctx;
  if (c && c->capture_be) tg_capture_note_read(c, t->storage);
}

#endif
