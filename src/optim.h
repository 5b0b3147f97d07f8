/* optim.h: the fused optimizer steps of tg.optim (helper optim).
 *
 * One call updates one parameter in place from its .grad and its state
 * tensors, with PyTorch's single-tensor update formulas (torch/optim/sgd.py,
 * adam.py, rmsprop.py, adagrad.py, adadelta.py: _single_tensor_*), the same
 * operations in the same order, so that float64 trajectories agree with
 * PyTorch's to rounding. The core (src/ops/optim.c) checks the tensors,
 * derives the per-step scalars (bias corrections, Adagrad's decayed lr) and
 * calls the backend's optim_step slot (src/backend/cpu/cpu_optim.c). */
#ifndef TG_OPTIM_H
#define TG_OPTIM_H

#include "tg.h"

typedef enum {
  TG_OPTIM_SGD,      /* state: momentum_buffer (NULL when momentum == 0) */
  TG_OPTIM_ADAM,     /* state: exp_avg, exp_avg_sq, max_exp_avg_sq (NULL unless amsgrad); AdamW: decoupled */
  TG_OPTIM_RMSPROP,  /* state: square_avg, momentum_buffer (NULL unless momentum > 0), grad_avg (NULL unless centered) */
  TG_OPTIM_ADAGRAD,  /* state: sum */
  TG_OPTIM_ADADELTA, /* state: square_avg, acc_delta */
  TG_OPTIM_ADAMAX,   /* state: exp_avg, exp_inf */
  TG_OPTIM_NADAM,    /* state: exp_avg, exp_avg_sq (and the scalar mu_product in the args) */
  TG_OPTIM_RADAM,    /* state: exp_avg, exp_avg_sq */
  TG_OPTIM_RPROP,    /* state: prev, step_size */
  TG_OPTIM_ASGD,     /* state: ax (and the scalars eta, mu in the args) */
  TG_OPTIM_NKINDS
} tg_optim_kind;

#define TG_OPTIM_MAX_STATE 3

typedef struct tg_optim_args {
  tg_optim_kind kind;
  double lr, weight_decay, eps;
  bool maximize;
  double step;              /* Adam, Adagrad, Adamax, NAdam, RAdam: the step count after this step's increment (1 on the first) */
  /* SGD (momentum also RMSprop's) */
  double momentum, dampening;
  bool nesterov, first_step; /* first_step: the momentum buffer is initialised to the gradient */
  /* Adam / AdamW */
  double beta1, beta2;
  bool amsgrad, decoupled;  /* decoupled: AdamW's weight decay (param *= 1 - lr wd) */
  /* RMSprop */
  double alpha;
  bool centered;
  /* Adagrad */
  double lr_decay;
  /* Adadelta */
  double rho;
  /* NAdam: momentum_decay; mu_product is read and updated (the state's running product of mu) */
  double momentum_decay, mu_product;
  /* Rprop: etas and step_sizes */
  double eta_minus, eta_plus, step_min, step_max;
  /* ASGD: this step's eta and mu (the state's), lambd */
  double eta, mu, lambd;
  /* derived by the core (tg_optim_step) for the kernels */
  double step_size;         /* Adam: lr / (1 - beta1^step); Adagrad: lr / (1 + (step - 1) lr_decay) */
  double bias_correction2_sqrt; /* Adam, RAdam: (1 - beta2^step)^0.5 */
  double bias_correction1, bias_correction2; /* RAdam: 1 - beta1^step; NAdam, RAdam: 1 - beta2^step */
  double coef1, coef2;      /* NAdam: the factors of grad and exp_avg; RAdam: the rectification term */
  bool rectify;             /* RAdam: rho_t > 5 */
} tg_optim_args;

/* Update param (float32/float64, any strides) in place from param->grad (same
 * shape and dtype) and the state tensors (contiguous, param's shape and dtype;
 * the ones the kind does not use may be NULL). Bumps the version counters of
 * param and of the state written. Returns 0, or -1 with ctx->err set. */
int tg_optim_step(tg_ctx *c, tg_optim_args *a, tg_tensor *param, tg_tensor *const *state);
/* the scalars derived from a->step (bias corrections...); NAdam also advances a->mu_product */
void tg_optim_derive(tg_optim_args *a);

/* the CPU kernel behind the backend slot optim_step (cpu_optim.c): param, grad and
 * the state all contiguous, same dtype and size */
int tg_cpu_optim_step(tg_ctx *c, const tg_optim_args *a, tg_tensor *param, const tg_tensor *grad,
                      tg_tensor *const *state);

#endif
