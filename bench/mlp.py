"""The PyTorch twin of mlp.lua: hand-written MLP (ReLU) with plain SGD."""
import math
import random

import torch


def new(sizes):
    params = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        params.append((torch.randn(n_in, n_out) * (1 / math.sqrt(n_in))).requires_grad_())
        params.append(torch.zeros(n_out, requires_grad=True))
    return params


def forward(params, x):
    h = x
    for i in range(0, len(params), 2):
        h = h.matmul(params[i]) + params[i + 1]
        if i + 2 < len(params):
            h = h.relu()
    return h


def step(params, x, target, lr):
    for p in params:
        p.grad = None
    loss = torch.nn.functional.cross_entropy(forward(params, x), target)
    loss.backward()
    for p in params:
        p.data.add_(p.grad * -lr)
    return loss


def targets(n, k):
    """n class indices, 0-based, in 0..k-1"""
    return torch.tensor([random.randrange(k) for _ in range(n)], dtype=torch.int64)


def nn_optim(sizes, lr):
    """The idiomatic PyTorch version: nn.Sequential + optim.SGD."""
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.SGD(model.parameters(), lr=lr)

    def step(x, target):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), target)
        loss.backward()
        opt.step()
        return loss
    return step
