"""PyTorch twin of per_op.lua: per-op costs on 5x3 tensors, µs per iteration."""
import common as B
from common import torch

bce = torch.nn.functional.binary_cross_entropy_with_logits
a, c = torch.randn(5), torch.randn(5)
x, y = torch.ones(5), torch.zeros(3)
w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)
wd, bd = w.detach(), b.detach()


def fwd_bwd():
    loss = bce(x.matmul(w) + b, y)
    loss.backward()
    w.grad = b.grad = None


probes = [("py_list", lambda: []),
          ("add_5", lambda: a + c),
          ("matmul_5x3_nograd", lambda: x.matmul(wd)),
          ("fwd_nograd", lambda: bce(x.matmul(wd) + bd, y)),
          ("fwd", lambda: bce(x.matmul(w) + b, y)),
          ("fwd_bwd", fwd_bwd)]
for name, fn in probes:
    B.result("per_op", name, 1e6 * B.measure(fn, iters=10000, reps=5), "us")
