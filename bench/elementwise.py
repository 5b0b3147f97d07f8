"""Workload 5: elementwise ops on float32, GB/s counting bytes read + written.
Allocating forms (c = a + b, a.exp(), a.sum()) plus the in-place a.add_(b)."""
import common as B
from common import torch

for n, tag in ((1_000_000, "1e6"), (10_000_000, "1e7")):
    a, b = torch.randn(n), torch.randn(n)
    o = torch.empty(n)
    ops = [("add", 12, lambda: a + b),          # read 2, write 1
           ("exp", 8, lambda: a.exp()),         # read 1, write 1
           ("sum", 4, lambda: a.sum()),         # read 1
           ("add_inplace", 12, lambda: a.add_(b)),  # read 2, write 1
           # twins of tgrad's out= and tg.scope rows: out=, and the plain allocating
           # op (refcounting frees its result at once, what tg.scope does)
           ("add_out", 12, lambda: torch.add(a, b, out=o)),
           ("exp_out", 8, lambda: torch.exp(a, out=o)),
           ("add_scope", 12, lambda: a + b),
           ("exp_scope", 8, lambda: a.exp())]
    for name, nbytes, fn in ops:
        t = B.measure(fn)
        B.result("elementwise", f"{name}_{tag}", nbytes * n / t / 1e9, "GB/s")

# act: activation forward + backward on 1e6 float32 (x.grad reset each time: no accumulation)
n = 1_000_000
x, g = torch.randn(n, requires_grad=True), torch.randn(n)
for name in ("relu", "sigmoid", "tanh"):
    f = getattr(torch, name)

    def step():
        x.grad = None
        f(x).backward(g)
    t = B.measure(step)
    B.result("elementwise", f"{name}_fwd_bwd_1e6", 20 * n / t / 1e9, "GB/s")
