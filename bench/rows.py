"""Workload rows (issue 11, helper rows): row-wise kernels on float32, microseconds per
call; the twin of bench/rows.lua (same rows, same shapes)."""
import common as B
from common import torch
import torch.nn.functional as F


def row(name, fn):
    B.result("rows", name, B.measure(fn) * 1e6, "us")


def fwd_bwd(x, g, f):
    def step():
        x.grad = None
        f(x).backward(g)
    return step


# dim 1 (0-based) of the 4-D case is tgrad's dim 2
cases = [("64x1000", (64, 1000), -1), ("1000x1000", (1000, 1000), -1), ("256x32", (256, 32), -1),
         ("d2_32x64x16x16", (32, 64, 16, 16), 1)]
for tag, shape, dim in cases:
    x = torch.randn(shape)
    xg, g = torch.randn(shape, requires_grad=True), torch.randn(shape)
    for op in ("softmax", "log_softmax"):
        f = getattr(torch, op)
        row(f"{op}_{tag}", lambda: f(x, dim))
        row(f"{op}_fwd_bwd_{tag}", fwd_bwd(xg, g, lambda t: f(t, dim)))

for n in (64, 4096):
    tag = f"{n}x768"
    x = torch.randn(n, 768)
    w, b = torch.randn(768), torch.randn(768)
    row(f"layer_norm_{tag}", lambda: F.layer_norm(x, (768,), w, b))
    xg, g = torch.randn(n, 768, requires_grad=True), torch.randn(n, 768)
    wg, bg = torch.randn(768, requires_grad=True), torch.randn(768, requires_grad=True)

    def step():
        xg.grad = wg.grad = bg.grad = None
        F.layer_norm(xg, (768,), wg, bg).backward(g)
    row(f"layer_norm_fwd_bwd_{tag}", step)

x = torch.randn(256, 1000, requires_grad=True)
t = torch.randint(0, 1000, (256,))
row("cross_entropy_256x1000", lambda: F.cross_entropy(x, t))


def ce_step():
    x.grad = None
    F.cross_entropy(x, t).backward()
row("cross_entropy_fwd_bwd_256x1000", ce_step)

n = 1_000_000
x, y = torch.randn(n, requires_grad=True), torch.randn(n)
yb = torch.rand(n)
row("mse_loss_1e6", lambda: F.mse_loss(x, y))


def mse_step():
    x.grad = None
    F.mse_loss(x, y).backward()
row("mse_loss_fwd_bwd_1e6", mse_step)
row("bce_logits_1e6", lambda: F.binary_cross_entropy_with_logits(x, yb))


def bce_step():
    x.grad = None
    F.binary_cross_entropy_with_logits(x, yb).backward()
row("bce_logits_fwd_bwd_1e6", bce_step)
