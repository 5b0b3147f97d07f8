"""Workload optim_step: one optimizer step (grads already there) over the
parameters of the MLP 784-256-128-10 (235k float32), per torch.optim class; us/step."""
import common as B
from common import torch

shapes = [(256, 784), (256,), (128, 256), (128,), (10, 128), (10,)]
variants = [
    ("sgd_momentum", "SGD", dict(lr=0.01, momentum=0.9)),
    ("adam", "Adam", dict(lr=1e-3)),
    ("adamw", "AdamW", dict(lr=1e-3)),
    ("rmsprop", "RMSprop", dict(lr=1e-3)),
    ("adagrad", "Adagrad", dict(lr=1e-2)),
    ("adadelta", "Adadelta", {}),
]
for name, cls, kw in variants:
    params = []
    for s in shapes:
        p = torch.randn(s, requires_grad=True)
        p.grad = torch.randn(s)
        params.append(p)
    opt = getattr(torch.optim, cls)(params, **kw)
    t = B.measure(lambda: opt.step())
    B.result("optim_step", name, 1e6 * t, "us")
