"""PyTorch twin of per_op.lua: per-op costs on 5x3 tensors, µs per call, next
to Python's own floor (an empty Python function, called the same ways)."""
import common as B
from common import torch

bce = torch.nn.functional.binary_cross_entropy_with_logits
a, c = torch.randn(5), torch.randn(5)
ag = torch.randn(5, requires_grad=True)
x, y = torch.ones(5), torch.zeros(3)
w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)
wd, bd = w.detach(), b.detach()
w.grad = torch.ones(5, 3)


def noop(p, q):
    pass


class Box:
    """the floor probes' object: an empty method and an empty __add__"""
    def noop(self, q):
        pass

    def __add__(self, q):
        return self


u, v = Box(), Box()


def fwd_bwd():
    loss = bce(x.matmul(w) + b, y)
    loss.backward()
    w.grad = b.grad = None


probes = [("py_list", lambda: []),
          ("floor_fn", lambda: noop(u, v)),
          ("floor_method", lambda: u.noop(v)),
          ("floor_add", lambda: u + v),
          ("floor_alloc", lambda: Box()),
          ("add_5", lambda: a + c),
          ("add_5_grad", lambda: ag + c),
          ("add_method", lambda: a.add(c)),
          ("add_fn", lambda: torch.add(a, c)),
          ("mul_number", lambda: a * 2.5),
          ("matmul_5x3_nograd", lambda: x.matmul(wd)),
          ("grad_get", lambda: w.grad),
          ("data_get", lambda: w.data),
          ("fwd_nograd", lambda: bce(x.matmul(wd) + bd, y)),
          ("fwd", lambda: bce(x.matmul(w) + b, y)),
          ("fwd_bwd", fwd_bwd)]
for name, fn in probes:
    B.result("per_op", name, 1e6 * B.measure(fn, iters=10000, reps=5), "us")
