/* inplace.c: in-place ops: the leaf check, version bumps. */
#include "../backend/backend.h"
#include "../tg.h"

int tg_check_inplace(tg_ctx *c, tg_tensor *t) {
  if (c->grad_enabled && t->requires_grad && !t->grad_fn)
    return tg_err(c, "a leaf Variable that requires grad is being used in an in-place operation.");
  return 0;
}

int tg_fill_(tg_ctx *c, tg_tensor *t, double v) {
  if (tg_check_inplace(c, t) < 0) return -1;
  if (tg_fill_raw(c, t, v) < 0) return -1;
  tg_bump_version(t);
  return 0;
}

int tg_copy_(tg_ctx *c, tg_tensor *dst, tg_tensor *src) {
  if (tg_check_inplace(c, dst) < 0) return -1;
  if (tg_copy_raw(c, dst, src) < 0) return -1;
  tg_bump_version(dst);
  return 0;
}

