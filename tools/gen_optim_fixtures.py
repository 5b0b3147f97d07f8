#!/usr/bin/env python3
"""gen_optim_fixtures.py: reference trajectories of torch.optim and
torch.optim.lr_scheduler, written as a Lua table to spec/fixtures/optim.lua
(read by spec/optim_spec.lua and spec/lr_scheduler_spec.lua; the specs never
need Python).

  /work/venv/bin/python tools/gen_optim_fixtures.py

Optimizers: the parameters W (3x4), b (3) and c (2, never in the loss: its
grad stays None) start from fixed values; each step is zero_grad, the loss
below, backward, step (b's grad set to None on the steps listed in
skip_b); the parameters after each of 10 steps are recorded. The loss is
written in ops that tgrad has with the same meaning:
  r = W @ x + b - y
  loss = sum(r^2) + 0.1 sum((W^2 - 0.5)^2) + 0.05 sum(b^4)
LBFGS: the Rosenbrock function over the six numbers of P (2x2) and q (2),
several step(closure) calls, the parameters and the returned loss after each.
Schedulers: SGD/Adam with two parameter groups, the lrs (and momentum or
beta1) after construction and after each of 25 steps."""
import os

import torch

torch.set_default_dtype(torch.float64)
DT = torch.float64

X = torch.tensor([0.5, -1.0, 1.5, 0.25])
Y = torch.tensor([1.0, -2.0, 0.5])
W0 = torch.tensor([[0.2, -0.4, 0.1, 0.8], [-0.3, 0.5, 0.9, -0.7], [0.6, 0.05, -0.2, 0.3]])
B0 = torch.tensor([0.1, -0.2, 0.3])
C0 = torch.tensor([1.0, -1.0])


def loss_fn(W, b):
    r = W @ X.to(W.dtype) + b - Y.to(W.dtype)
    return (r ** 2).sum() + 0.1 * ((W ** 2 - 0.5) ** 2).sum() + 0.05 * (b ** 4).sum()


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def run_optim(name, cls, kwargs, groups=None, dtype="float64", steps=10, skip_b=()):
    dt = getattr(torch, dtype)
    W = W0.clone().to(dt).requires_grad_(True)
    b = B0.clone().to(dt).requires_grad_(True)
    c = C0.clone().to(dt).requires_grad_(True)
    if groups is None:
        params = [W, b, c]
    else:
        # groups: list of (indices of [W, b, c], options)
        ps = [W, b, c]
        params = [dict(params=[ps[i] for i in idx], **opts) for idx, opts in groups]
    opt = getattr(torch.optim, cls)(params, **kwargs)
    traj = []
    losses = []
    for s in range(1, steps + 1):
        opt.zero_grad()
        loss = loss_fn(W, b)
        loss.backward()
        if s in skip_b:
            b.grad = None
        opt.step()
        losses.append(float(loss.detach()))
        traj.append({"W": flat(W), "b": flat(b), "c": flat(c)})
    # the final state of W (every tensor entry flattened; 0-d ones such as step give one number)
    final_state = {k: flat(v) for k, v in opt.state[W].items() if torch.is_tensor(v)}
    lua_kwargs = {}
    for k, v in kwargs.items():
        lua_kwargs[k] = list(v) if isinstance(v, tuple) else v
    lua_groups = None
    if groups is not None:
        lua_groups = [{"idx": [i + 1 for i in idx], "opts": opts} for idx, opts in groups]
    return {"name": name, "optim": cls, "opts": lua_kwargs, "groups": lua_groups, "dtype": dtype,
            "skip_b": [s for s in skip_b], "losses": losses, "traj": traj, "state_W": final_state}


optim_cases = []


def add(name, cls, kwargs=None, **kw):
    optim_cases.append(run_optim(name, cls, kwargs or {}, **kw))


# SGD (test_optim.py's option grid: momentum, dampening, nesterov, weight_decay, maximize)
add("SGD plain", "SGD", {"lr": 0.05})
add("SGD momentum", "SGD", {"lr": 0.05, "momentum": 0.9})
add("SGD momentum dampening", "SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.5})
add("SGD nesterov", "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True})
add("SGD weight_decay", "SGD", {"lr": 0.05, "weight_decay": 0.1})
add("SGD nesterov weight_decay", "SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.2})
add("SGD maximize", "SGD", {"lr": 0.01, "maximize": True})
add("SGD momentum weight_decay maximize", "SGD",
    {"lr": 0.01, "momentum": 0.5, "dampening": 0.1, "weight_decay": 0.1, "maximize": True})
add("SGD float32", "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}, dtype="float32")
add("SGD groups", "SGD", {"lr": 0.05}, groups=[([0], {"momentum": 0.9}), ([1, 2], {"lr": 0.01})])
add("SGD momentum skipped grads", "SGD", {"lr": 0.05, "momentum": 0.9}, skip_b=(1, 4, 5))
# Adam / AdamW
add("Adam default", "Adam", {})
add("Adam lr", "Adam", {"lr": 0.1})
add("Adam amsgrad", "Adam", {"lr": 0.1, "amsgrad": True})
add("Adam weight_decay", "Adam", {"lr": 0.1, "weight_decay": 0.1})
add("Adam weight_decay amsgrad", "Adam", {"lr": 0.1, "weight_decay": 0.3, "amsgrad": True})
add("Adam maximize", "Adam", {"lr": 0.05, "maximize": True})
add("Adam maximize amsgrad weight_decay", "Adam", {"lr": 0.05, "maximize": True, "amsgrad": True, "weight_decay": 0.1})
add("Adam betas eps", "Adam", {"lr": 0.1, "betas": (0.5, 0.7), "eps": 1e-3})
add("Adam decoupled_weight_decay", "Adam", {"lr": 0.1, "weight_decay": 0.2, "decoupled_weight_decay": True})
add("Adam float32", "Adam", {"lr": 0.1, "amsgrad": True}, dtype="float32")
add("Adam groups", "Adam", {"lr": 0.1}, groups=[([0], {"betas": (0.8, 0.9)}), ([1, 2], {"lr": 0.02, "amsgrad": True})])
add("Adam skipped grads", "Adam", {"lr": 0.1}, skip_b=(1, 2, 6))
add("AdamW default", "AdamW", {})
add("AdamW lr", "AdamW", {"lr": 0.1})
add("AdamW amsgrad weight_decay", "AdamW", {"lr": 0.1, "amsgrad": True, "weight_decay": 0.5})
add("AdamW maximize", "AdamW", {"lr": 0.05, "maximize": True, "weight_decay": 0.1})
add("AdamW float32", "AdamW", {"lr": 0.1}, dtype="float32")
# RMSprop
add("RMSprop default", "RMSprop", {})
add("RMSprop centered", "RMSprop", {"lr": 0.01, "centered": True})
add("RMSprop momentum", "RMSprop", {"lr": 0.01, "momentum": 0.5})
add("RMSprop centered momentum weight_decay", "RMSprop",
    {"lr": 0.01, "centered": True, "momentum": 0.9, "weight_decay": 0.1})
add("RMSprop maximize", "RMSprop", {"lr": 0.01, "maximize": True})
add("RMSprop alpha eps", "RMSprop", {"lr": 0.02, "alpha": 0.9, "eps": 1e-4})
add("RMSprop float32", "RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5}, dtype="float32")
# Adagrad
add("Adagrad default", "Adagrad", {})
add("Adagrad lr", "Adagrad", {"lr": 0.1})
add("Adagrad lr_decay", "Adagrad", {"lr": 0.1, "lr_decay": 0.1})
add("Adagrad weight_decay", "Adagrad", {"lr": 0.1, "weight_decay": 0.1})
add("Adagrad initial_accumulator_value", "Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5})
add("Adagrad maximize eps", "Adagrad", {"lr": 0.1, "maximize": True, "eps": 1e-3})
add("Adagrad float32", "Adagrad", {"lr": 0.1, "lr_decay": 0.05}, dtype="float32")
add("Adagrad skipped grads", "Adagrad", {"lr": 0.1}, skip_b=(2, 3))
# Adadelta
add("Adadelta default", "Adadelta", {})
add("Adadelta lr rho", "Adadelta", {"lr": 0.5, "rho": 0.5})
add("Adadelta weight_decay", "Adadelta", {"lr": 1.0, "weight_decay": 0.1})
add("Adadelta maximize", "Adadelta", {"lr": 1.0, "maximize": True})
add("Adadelta eps", "Adadelta", {"lr": 1.0, "eps": 1e-3})
add("Adadelta float32", "Adadelta", {"lr": 1.0, "rho": 0.8}, dtype="float32")
# Adamax / NAdam / RAdam
add("Adamax default", "Adamax", {})
add("Adamax lr weight_decay", "Adamax", {"lr": 0.1, "weight_decay": 0.1})
add("Adamax maximize betas eps", "Adamax", {"lr": 0.05, "maximize": True, "betas": (0.5, 0.8), "eps": 1e-3})
add("Adamax float32", "Adamax", {"lr": 0.1}, dtype="float32")
add("NAdam default", "NAdam", {})
add("NAdam lr weight_decay", "NAdam", {"lr": 0.1, "weight_decay": 0.1})
add("NAdam decoupled momentum_decay", "NAdam", {"lr": 0.1, "weight_decay": 0.2, "decoupled_weight_decay": True,
                                                "momentum_decay": 0.1})
add("NAdam maximize", "NAdam", {"lr": 0.05, "maximize": True})
add("NAdam float32", "NAdam", {"lr": 0.1}, dtype="float32")
add("RAdam default", "RAdam", {})
add("RAdam lr weight_decay", "RAdam", {"lr": 0.1, "weight_decay": 0.1})
add("RAdam rectified early", "RAdam", {"lr": 0.1, "betas": (0.9, 0.8)})
add("RAdam decoupled maximize", "RAdam", {"lr": 0.05, "weight_decay": 0.2, "decoupled_weight_decay": True,
                                          "maximize": True, "betas": (0.8, 0.7)})
add("RAdam float32", "RAdam", {"lr": 0.1, "betas": (0.9, 0.8)}, dtype="float32")
add("Rprop default", "Rprop", {})
add("Rprop etas step_sizes", "Rprop", {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.2)})
add("Rprop maximize", "Rprop", {"lr": 0.01, "maximize": True})
add("Rprop float32", "Rprop", {"lr": 0.05}, dtype="float32")
add("ASGD default", "ASGD", {})
add("ASGD averaging", "ASGD", {"lr": 0.05, "lambd": 0.01, "alpha": 0.5, "t0": 3, "weight_decay": 0.1})
add("ASGD maximize", "ASGD", {"lr": 0.01, "maximize": True, "t0": 5})


# ---------------------------------------------------------------- PyTorch state_dicts
# torch's own state_dict after 5 steps (0-based ids, step counts as 0-d tensors,
# tensors as {shape, data}) with the parameters then: tgrad loads it and goes on
# as torch does (the trajectories of the case of the same name, steps 6..10)
def sd_value(v):
    if torch.is_tensor(v):
        return {"shape": list(v.shape), "data": flat(v)}
    if isinstance(v, tuple):
        return list(v)
    if isinstance(v, dict):
        return {k: sd_value(x) for k, x in v.items()}
    if isinstance(v, list):
        return [sd_value(x) for x in v]
    return v


torch_state_dicts = []


def add_torch_sd(name, cls, kwargs):
    W = W0.clone().requires_grad_(True)
    b = B0.clone().requires_grad_(True)
    c = C0.clone().requires_grad_(True)
    opt = getattr(torch.optim, cls)([W, b, c], **kwargs)
    for _ in range(5):
        opt.zero_grad()
        loss_fn(W, b).backward()
        opt.step()
    sd = opt.state_dict()
    groups = []
    for g in sd["param_groups"]:
        groups.append({k: sd_value(v) for k, v in g.items()
                       if k not in ("foreach", "fused", "differentiable", "capturable") and v is not None})
    torch_state_dicts.append({"name": name, "optim": cls, "opts": sd_value(kwargs),
                              "params": {"W": flat(W), "b": flat(b), "c": flat(c)},
                              "state": {k: sd_value(v) for k, v in sd["state"].items()}, "param_groups": groups})


add_torch_sd("Adam amsgrad", "Adam", {"lr": 0.1, "amsgrad": True})
add_torch_sd("SGD momentum", "SGD", {"lr": 0.05, "momentum": 0.9})
add_torch_sd("NAdam decoupled momentum_decay", "NAdam", {"lr": 0.1, "weight_decay": 0.2,
                                                         "decoupled_weight_decay": True, "momentum_decay": 0.1})
add_torch_sd("ASGD averaging", "ASGD", {"lr": 0.05, "lambd": 0.01, "alpha": 0.5, "t0": 3, "weight_decay": 0.1})


# ---------------------------------------------------------------- LBFGS on Rosenbrock
P0 = torch.tensor([[-1.2, 1.0], [-0.5, 0.8]])
Q0 = torch.tensor([1.3, 0.4])


def rosenbrock(P, q):
    z = torch.cat([P.reshape(-1), q])
    return (100 * (z[1:] - z[:-1] ** 2) ** 2 + (1 - z[:-1]) ** 2).sum()


lbfgs_cases = []


def add_lbfgs(name, kwargs, steps=4, negate=False):
    P = P0.clone().requires_grad_(True)
    q = Q0.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([P, q], **kwargs)

    def closure():
        opt.zero_grad()
        loss = -rosenbrock(P, q) if negate else rosenbrock(P, q)
        loss.backward()
        return loss

    traj = []
    for _ in range(steps):
        loss = opt.step(closure)
        st = opt.state[P]
        traj.append({"loss": float(loss.detach()), "P": flat(P), "q": flat(q),
                     "func_evals": st["func_evals"], "n_iter": st["n_iter"]})
    lbfgs_cases.append({"name": name, "opts": kwargs, "traj": traj, "negate": negate})


add_lbfgs("LBFGS small lr", {"lr": 0.01, "max_iter": 5})
add_lbfgs("LBFGS history_size", {"lr": 0.005, "max_iter": 6, "history_size": 2})
add_lbfgs("LBFGS strong_wolfe", {"line_search_fn": "strong_wolfe"})
add_lbfgs("LBFGS strong_wolfe few iters", {"line_search_fn": "strong_wolfe", "max_iter": 5, "history_size": 3}, steps=6)
add_lbfgs("LBFGS maximize strong_wolfe", {"line_search_fn": "strong_wolfe", "maximize": True, "max_iter": 8},
          negate=True)
add_lbfgs("LBFGS maximize", {"lr": 0.01, "maximize": True, "max_iter": 4}, negate=True)
add_lbfgs("LBFGS strong_wolfe max_eval", {"line_search_fn": "strong_wolfe", "max_iter": 10, "max_eval": 12,
                                          "tolerance_change": 1e-6}, steps=3)


# ---------------------------------------------------------------- schedulers
sched_cases = []


def add_sched(name, cls, args, kwargs=None, optim="SGD", steps=25, metrics=None, lua_args=None, lua_kwargs=None,
              subs=None):
    """subs: for SequentialLR / ChainedScheduler, the children as (cls, args, kwargs), built first on the
    same optimizer and passed as the first argument (SequentialLR: after the optimizer)"""
    kwargs = kwargs or {}
    w = torch.zeros(2, requires_grad=True)
    v = torch.zeros(3, requires_grad=True)
    if optim == "SGD":
        opt = torch.optim.SGD([{"params": [w]}, {"params": [v], "lr": 0.05}], lr=0.1, momentum=0.9)
    else:
        opt = torch.optim.Adam([{"params": [w]}, {"params": [v], "lr": 0.05}], lr=0.1)
    if subs is not None:
        children = [getattr(torch.optim.lr_scheduler, c)(opt, *a, **k) for c, a, k in subs]
        if cls == "ChainedScheduler":
            sched = torch.optim.lr_scheduler.ChainedScheduler(children)
        else:
            sched = getattr(torch.optim.lr_scheduler, cls)(opt, children, *args, **kwargs)
    else:
        sched = getattr(torch.optim.lr_scheduler, cls)(opt, *args, **kwargs)

    def mom():
        return [g["betas"][0] if optim == "Adam" else g["momentum"] for g in opt.param_groups]

    lrs = [list(sched.get_last_lr())]
    moms = [mom()]
    for i in range(steps):
        opt.step()
        if metrics is not None:
            sched.step(metrics[i])
        else:
            sched.step()
        lrs.append([float(x) for x in sched.get_last_lr()])
        moms.append(mom())
    sched_cases.append({"name": name, "cls": cls, "args": lua_args if lua_args is not None else list(args),
                        "opts": lua_kwargs if lua_kwargs is not None else kwargs, "optim": optim,
                        "metrics": metrics, "lrs": lrs, "momentum": moms,
                        "subs": None if subs is None else [{"cls": c, "args": list(a), "opts": k} for c, a, k in subs]})


add_sched("StepLR", "StepLR", [3], {"gamma": 0.5})
add_sched("StepLR default gamma", "StepLR", [4])
add_sched("MultiStepLR", "MultiStepLR", [[2, 5, 5, 9]], {"gamma": 0.3})
add_sched("ExponentialLR", "ExponentialLR", [0.9])
add_sched("CosineAnnealingLR", "CosineAnnealingLR", [7], {"eta_min": 0.001})
add_sched("CosineAnnealingLR T_max 10", "CosineAnnealingLR", [10])
add_sched("CosineAnnealingWarmRestarts", "CosineAnnealingWarmRestarts", [5])
add_sched("CosineAnnealingWarmRestarts T_mult", "CosineAnnealingWarmRestarts", [3], {"T_mult": 2, "eta_min": 0.01})
add_sched("LambdaLR", "LambdaLR", [lambda e: 0.95 ** e], lua_args=["pow095"])
add_sched("LambdaLR list", "LambdaLR", [[lambda e: 1.0 / (e + 1), lambda e: 0.9 ** e]], lua_args=[["inv", "pow09"]])
add_sched("MultiplicativeLR", "MultiplicativeLR", [lambda e: 0.95], lua_args=["const095"])
add_sched("LinearLR", "LinearLR", [], {"start_factor": 0.25, "total_iters": 8})
add_sched("LinearLR decay", "LinearLR", [], {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 10})
add_sched("ConstantLR", "ConstantLR", [], {"factor": 0.5, "total_iters": 4})
add_sched("PolynomialLR", "PolynomialLR", [], {"total_iters": 12, "power": 2.0})
add_sched("OneCycleLR", "OneCycleLR", [1.0], {"total_steps": 26})
add_sched("OneCycleLR linear", "OneCycleLR", [0.5], {"total_steps": 26, "anneal_strategy": "linear", "pct_start": 0.4})
add_sched("OneCycleLR three_phase", "OneCycleLR", [[1.0, 0.4]], {"total_steps": 26, "three_phase": True},
          lua_args=[[1.0, 0.4]])
add_sched("OneCycleLR Adam", "OneCycleLR", [0.01], {"epochs": 2, "steps_per_epoch": 13, "div_factor": 10.0,
                                                    "final_div_factor": 100.0}, optim="Adam")
add_sched("OneCycleLR no momentum", "OneCycleLR", [0.3], {"total_steps": 30, "cycle_momentum": False,
                                                          "base_momentum": 0.8, "max_momentum": 0.9})
add_sched("CyclicLR triangular", "CyclicLR", [0.01, 0.1], {"step_size_up": 4})
add_sched("CyclicLR triangular2 down", "CyclicLR", [[0.01, 0.005], 0.1], {"step_size_up": 3, "step_size_down": 5,
                                                                         "mode": "triangular2"})
add_sched("CyclicLR exp_range", "CyclicLR", [0.01, 0.1], {"step_size_up": 4, "mode": "exp_range", "gamma": 0.9,
                                                          "base_momentum": 0.7, "max_momentum": 0.95})
add_sched("CyclicLR Adam no momentum", "CyclicLR", [0.001, 0.01], {"step_size_up": 5, "cycle_momentum": False},
          optim="Adam")
add_sched("CyclicLR Adam beta1", "CyclicLR", [0.001, 0.01], {"step_size_up": 5}, optim="Adam")
add_sched("SequentialLR warmup cosine", "SequentialLR", [[5]],
          subs=[("LinearLR", [], {"start_factor": 0.1, "total_iters": 4}), ("CosineAnnealingLR", [10], {})])
add_sched("SequentialLR three", "SequentialLR", [[3, 10]],
          subs=[("ConstantLR", [], {"factor": 0.5, "total_iters": 2}), ("ExponentialLR", [0.9], {}),
                ("StepLR", [4], {"gamma": 0.5})])
add_sched("ChainedScheduler", "ChainedScheduler", [],
          subs=[("ConstantLR", [], {"factor": 0.5, "total_iters": 4}), ("ExponentialLR", [0.9], {})])
M1 = [5.0, 4.0, 4.1, 4.05, 4.2, 3.0, 3.1, 3.2, 3.3, 3.0, 2.99, 2.995, 3.5, 3.6, 3.7, 1.0, 1.0, 1.0, 1.0, 1.0,
      0.5, 0.6, 0.7, 0.8, 0.9]
add_sched("ReduceLROnPlateau", "ReduceLROnPlateau", [], {"patience": 2}, metrics=M1)
add_sched("ReduceLROnPlateau cooldown min_lr", "ReduceLROnPlateau", [],
          {"patience": 1, "factor": 0.5, "cooldown": 2, "min_lr": [0.02, 0.001]}, metrics=M1)
add_sched("ReduceLROnPlateau max abs", "ReduceLROnPlateau", [],
          {"mode": "max", "threshold_mode": "abs", "threshold": 0.1, "patience": 1, "factor": 0.3}, metrics=M1)
add_sched("ReduceLROnPlateau threshold eps", "ReduceLROnPlateau", [],
          {"threshold": 0.05, "patience": 0, "factor": 0.5, "eps": 0.01}, metrics=M1)


# ---------------------------------------------------------------- Lua writer
def lua(v, indent=""):
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v:
            return "0/0"
        if v in (float("inf"), float("-inf")):
            return "math.huge" if v > 0 else "-math.huge"
        r = repr(v)
        return r if ("." in r or "e" in r) else r + ".0"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(lua(x) for x in v) + "}"
    if isinstance(v, dict):
        parts = []
        for k, x in v.items():
            if x is None:
                continue
            key = k if isinstance(k, str) and k.isidentifier() else "[" + lua(k) + "]"
            parts.append(f"{key} = {lua(x)}")
        return "{" + ", ".join(parts) + "}"
    raise TypeError(type(v))


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "spec", "fixtures", "optim.lua")
    lines = [f"-- generated by tools/gen_optim_fixtures.py with PyTorch {torch.__version__}: do not edit",
             "return {", "  init = " + lua({"W": flat(W0), "b": flat(B0), "c": flat(C0), "x": flat(X), "y": flat(Y),
                                            "P": flat(P0), "q": flat(Q0)}) + ",",
             "  optim = {"]
    lines += ["    " + lua(c) + "," for c in optim_cases]
    lines += ["  },", "  lbfgs = {"]
    lines += ["    " + lua(c) + "," for c in lbfgs_cases]
    lines += ["  },", "  torch_state_dicts = {"]
    lines += ["    " + lua(c) + "," for c in torch_state_dicts]
    lines += ["  },", "  schedulers = {"]
    lines += ["    " + lua(c) + "," for c in sched_cases]
    lines += ["  },", "}", ""]
    with open(out, "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {out}: {len(optim_cases)} optimizer, {len(lbfgs_cases)} LBFGS, {len(sched_cases)} scheduler cases")


if __name__ == "__main__":
    main()
