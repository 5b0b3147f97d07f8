"""Workload 3: MLP 784-256-128-10, batch 64 and 256, cross-entropy, SGD."""
import common as B
from common import torch
import mlp

sizes = [784, 256, 128, 10]
for batch in (64, 256):
    params = mlp.new(sizes)
    x = torch.randn(batch, 784)
    target = mlp.targets(batch, 10)
    t = B.measure(lambda: mlp.step(params, x, target, 0.01))
    B.result("mlp_step", f"b{batch}", 1e6 * t, "us")
    # capture: tgrad's captured step against PyTorch's eager step (no graph replay on the CPU)
    t = B.measure(lambda: mlp.step(params, x, target, 0.01))
    B.result("mlp_step", f"b{batch}_captured", 1e6 * t, "us")
    step = mlp.nn_optim(sizes, 0.01)  # peer only: nn.Sequential + optim.SGD
    t = B.measure(lambda: step(x, target))
    B.result("mlp_step", f"b{batch}_nn_optim", 1e6 * t, "us")
