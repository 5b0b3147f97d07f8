"""Workload 4: matrix products c = a @ b (allocating), GF/s = 2 m n k / time;
the shapes and the timing of bench/matmul.lua (the best single call; process
CPU time with one thread, wall time with more)."""
import time
import common as B
from common import torch

clock = time.process_time if B.THREADS == 1 else time.perf_counter


def best(fn):
    fn()
    b, calls, t0 = 1e30, 0, time.perf_counter()
    while calls < 3 or (time.perf_counter() - t0 < 0.6 and calls < 200000):
        batch = 100 if b < 2e-5 else 1
        s = clock()
        for _ in range(batch):
            fn()
        b = min(b, (clock() - s) / batch)
        calls += batch
    return b


def row(name, m, n, k, ta=False, tb=False):
    a = torch.randn(k, m).t() if ta else torch.randn(m, k)
    b = torch.randn(n, k).t() if tb else torch.randn(k, n)
    t = best(lambda: torch.matmul(a, b))
    B.result("matmul", name, 2 * m * n * k / t / 1e9, "GF/s")


for n in (256, 512, 1024, 2048):
    row(f"n{n}", n, n, n)
for bs in (64, 256):
    row(f"b{bs}_fwd", bs, 256, 784)
    row(f"b{bs}_dx", bs, 784, 256, tb=True)
    row(f"b{bs}_dw", 784, 256, bs, ta=True)
row("5x3@3x1", 5, 1, 3)
row("1x4@4x32", 1, 32, 4)
row("32x32@32x32", 32, 32, 32)
