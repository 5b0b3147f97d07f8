"""Workload conv (helper conv): F.conv2d forward, and forward + backward, float32 (see conv.lua)."""
import common as B
from common import torch
import torch.nn.functional as F

cases = [
    ("n32_c16_28x28_k3", (32, 16, 28, 28), (32, 16, 3, 3), dict(padding=1)),
    ("n32_c32_14x14_k3", (32, 32, 14, 14), (64, 32, 3, 3), dict(padding=1)),
    ("n32_c64_7x7_k3", (32, 64, 7, 7), (64, 64, 3, 3), dict(padding=1)),
    ("n1_c3_224x224_k7s2", (1, 3, 224, 224), (64, 3, 7, 7), dict(stride=2, padding=3)),
]
for name, xs, ws, opts in cases:
    x = torch.randn(xs, requires_grad=True)
    w = torch.randn(ws, requires_grad=True)
    b = torch.randn(ws[0], requires_grad=True)

    def fwd():
        with torch.no_grad():
            return F.conv2d(x, w, b, **opts)

    t = B.measure(fwd, reps=5)
    B.result("conv", name + "_fwd", t * 1e3, "ms")
    g = torch.ones_like(fwd())

    def step():
        y = F.conv2d(x, w, b, **opts)
        y.backward(g)
        x.grad = w.grad = b.grad = None

    t = B.measure(step, reps=5)
    B.result("conv", name + "_fwd_bwd", t * 1e3, "ms")
