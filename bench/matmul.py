"""Workload 4: float32 matmul c = a @ b (allocating), GF/s = 2 n^3 / time."""
import common as B
from common import torch

for n in (256, 512, 1024, 2048):
    a, b = torch.randn(n, n), torch.randn(n, n)
    t = B.measure(lambda: torch.matmul(a, b), reps=5)
    B.result("matmul", f"n{n}", 2 * n**3 / t / 1e9, "GF/s")
