"""Workload 1: the seed loop (overhead-bound). See bench/README.md."""
import common as B
from common import torch

bce = torch.nn.functional.binary_cross_entropy_with_logits

x, y = torch.ones(5), torch.zeros(3)
w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)


def step():
    z = torch.matmul(x, w) + b
    loss = bce(z, y)
    loss.backward()
    w.grad = None
    b.grad = None


B.result("seed_loop", "fwd_bwd", 1e6 * B.measure(step, iters=10000, reps=5), "us")


def full():
    x, y = torch.ones(5), torch.zeros(3)
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = bce(z, y)
    loss.backward()


B.result("seed_loop", "full", 1e6 * B.measure(full, iters=10000, reps=5), "us")
