/* optim.c: one fused optimizer step of one parameter (helper optim; see
 * src/optim.h). Checks the tensors, derives the step's scalars as PyTorch's
 * _single_tensor_* functions do (in double, in Python's order), and calls
 * the parameter's backend. No autograd: the parameter's data is written in
 * place and its version counter bumped, as an in-place op under no_grad. */
#include <math.h>
#include <stdio.h>

#include "../backend/backend.h"
#include "../optim.h"

static const char *const kind_names[TG_OPTIM_NKINDS] = {"SGD",      "Adam",   "RMSprop", "Adagrad",
                                                          "Adadelta", "Adamax", "NAdam",   "RAdam",
                                                          "Rprop",    "ASGD"};
static const char *const state_names[TG_OPTIM_NKINDS][TG_OPTIM_MAX_STATE] = {
    {"momentum_buffer", NULL, NULL},
    {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
    {"square_avg", "momentum_buffer", "grad_avg"},
    {"sum", NULL, NULL},
    {"square_avg", "acc_delta", NULL},
    {"exp_avg", "exp_inf", NULL},
    {"exp_avg", "exp_avg_sq", NULL},
    {"exp_avg", "exp_avg_sq", NULL},
    {"prev", "step_size", NULL},
    {"ax", NULL, NULL},
};

/* which state tensors this step reads and writes */
static void used_state(const tg_optim_args *a, bool used[TG_OPTIM_MAX_STATE]) {
  for (int k = 0; k < TG_OPTIM_MAX_STATE; k++) used[k] = false;
  switch (a->kind) {
    case TG_OPTIM_SGD: used[0] = a->momentum != 0; break;
    case TG_OPTIM_ADAM: used[0] = used[1] = true; used[2] = a->amsgrad; break;
    case TG_OPTIM_RMSPROP: used[0] = true; used[1] = a->momentum > 0; used[2] = a->centered; break;
    case TG_OPTIM_ADAGRAD:
    case TG_OPTIM_ASGD: used[0] = true; break;
    case TG_OPTIM_ADADELTA:
    case TG_OPTIM_ADAMAX:
    case TG_OPTIM_NADAM:
    case TG_OPTIM_RADAM:
    case TG_OPTIM_RPROP: used[0] = used[1] = true; break;
    default: break;
  }
}

static bool like(const tg_tensor *t, const tg_tensor *p) {
  return t->storage->backend == p->storage->backend && t->dtype == p->dtype && tg_same_shape(t, p);
}

/* the error for a t that is not like(t, p) */
static int check_like(tg_ctx *c, const char *opt, const char *what, const tg_tensor *t, const tg_tensor *p) {
  char ps[128], ts[128];
  if (t->storage->backend != p->storage->backend)
    return tg_err(c, "%s: %s is on %s, the parameter on %s", opt, what, t->storage->backend->name,
                  p->storage->backend->name);
  if (t->dtype != p->dtype)
    return tg_err(c, "%s: %s has dtype %s, the parameter %s", opt, what, tg_dtype_name(t->dtype),
                  tg_dtype_name(p->dtype));
  if (!tg_same_shape(t, p)) {
    tg_format_shape(ps, sizeof ps, p->ndim, p->size);
    tg_format_shape(ts, sizeof ts, t->ndim, t->size);
    return tg_err(c, "%s: %s has size %s, the parameter %s", opt, what, ts, ps);
  }
  return 0;
}

/* the per-step scalars from a->step, as Python computes them (also capture's replay) */
void tg_optim_derive(tg_optim_args *a) {
  if (a->kind == TG_OPTIM_ADAM) {
    double bias_correction1 = 1 - pow(a->beta1, a->step);
    double bias_correction2 = 1 - pow(a->beta2, a->step);
    a->step_size = a->lr / bias_correction1;
    a->bias_correction2_sqrt = pow(bias_correction2, 0.5);
  } else if (a->kind == TG_OPTIM_ADAGRAD) {
    a->step_size = a->lr / (1 + (a->step - 1) * a->lr_decay);
  } else if (a->kind == TG_OPTIM_ADAMAX) {
    a->step_size = a->lr / (1 - pow(a->beta1, a->step));
  } else if (a->kind == TG_OPTIM_NADAM) {
    double step = a->step;
    a->bias_correction2 = 1 - pow(a->beta2, step);
    double mu = a->beta1 * (1.0 - 0.5 * pow(0.96, step * a->momentum_decay));
    double mu_next = a->beta1 * (1.0 - 0.5 * pow(0.96, (step + 1) * a->momentum_decay));
    a->mu_product *= mu;
    double mu_product_next = a->mu_product * mu_next;
    a->coef1 = -a->lr * (1.0 - mu) / (1.0 - a->mu_product);
    a->coef2 = (-a->lr * mu_next) / (1.0 - mu_product_next);
  } else if (a->kind == TG_OPTIM_RADAM) {
    double step = a->step;
    a->bias_correction1 = 1 - pow(a->beta1, step);
    a->bias_correction2 = 1 - pow(a->beta2, step);
    a->bias_correction2_sqrt = pow(a->bias_correction2, 0.5);
    double rho_inf = 2 / (1 - a->beta2) - 1;
    double rho_t = rho_inf - 2 * step * pow(a->beta2, step) / a->bias_correction2;
    a->rectify = rho_t > 5.0;
    if (a->rectify)
      a->coef1 = pow((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t), 0.5);
  }
}

int tg_optim_step(tg_ctx *c, tg_optim_args *a, tg_tensor *param, tg_tensor *const *state) {
  if ((unsigned)a->kind >= TG_OPTIM_NKINDS) return tg_err(c, "optimizer step: unknown kind %d", (int)a->kind);
  const char *opt = kind_names[a->kind];
  if (!tg_is_float(param->dtype))
    return tg_err(c, "%s: can only optimize floating point parameters, got one of dtype %s", opt,
                  tg_dtype_name(param->dtype));
  tg_tensor *grad = param->grad;
  if (!grad) return tg_err(c, "%s: the parameter has no gradient (.grad is nil)", opt);
  if (!like(grad, param)) return check_like(c, opt, "its gradient", grad, param);
  bool used[TG_OPTIM_MAX_STATE];
  used_state(a, used);
  tg_tensor *st[TG_OPTIM_MAX_STATE] = {NULL, NULL, NULL};
  for (int k = 0; k < TG_OPTIM_MAX_STATE; k++) {
    if (!used[k]) continue;
    const char *name = state_names[a->kind][k];
    tg_tensor *s = state[k];
    if (!s) return tg_err(c, "%s: the state '%s' is missing", opt, name);
    if (!like(s, param)) {
      char what[64];
      snprintf(what, sizeof what, "state '%s'", name);
      return check_like(c, opt, what, s, param);
    }
    if (!tg_is_contiguous(s)) return tg_err(c, "%s: the state '%s' is not contiguous", opt, name);
    if (s->storage == param->storage || s->storage == grad->storage)
      return tg_err(c, "%s: the state '%s' shares memory with the parameter or its gradient", opt, name);
    for (int j = 0; j < k; j++)
      if (st[j] && st[j]->storage == s->storage)
        return tg_err(c, "%s: the state '%s' shares memory with another state tensor", opt, name);
    st[k] = s;
  }
  const tg_backend *be = tg_backend_of(param);
  if (!be->optim_step) return tg_err(c, "%s: the %s backend has no optimizer kernel", opt, be->name);
  tg_optim_derive(a);

  if (tg_numel(param) == 0) return 0;

  /* the kernels see dense memory: a strided parameter is updated in a copy
   * written back, a strided gradient read from a copy (rare: parameters and
   * the gradients autograd accumulates are contiguous) */
  tg_tensor *p = tg_is_contiguous(param) ? tg_tensor_ref(param) : tg_cast_raw(c, param, param->dtype);
  tg_tensor *g = p ? tg_contiguous_raw(c, grad) : NULL;
  int rc = -1;
  if (p && g) {
    rc = be->optim_step(c, a, p, g, st);
    if (rc == 0 && p != param) rc = tg_copy_raw(c, param, p);
  }
  tg_tensor_unref(p);
  tg_tensor_unref(g);
  if (rc < 0) return -1;
  tg_bump_version(param);
  for (int k = 0; k < TG_OPTIM_MAX_STATE; k++)
    if (st[k]) tg_bump_version(st[k]);
  return 0;
}
