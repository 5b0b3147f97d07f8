"""Workload 2: tiny policy step, MLP 4-32-32-2, batch 1, cross-entropy, SGD."""
import common as B
from common import torch
import mlp

sizes = [4, 32, 32, 2]
params = mlp.new(sizes)
x = torch.randn(1, 4)
target = mlp.targets(1, 2)
t = B.measure(lambda: mlp.step(params, x, target, 0.01), iters=5000, reps=5)
B.result("tiny_policy", "hand_sgd", 1e6 * t, "us")

step = mlp.nn_optim(sizes, 0.01)  # peer only: what a PyTorch user writes
t = B.measure(lambda: step(x, target), iters=5000, reps=5)
B.result("tiny_policy", "nn_optim", 1e6 * t, "us")

# capture: tgrad's captured step against PyTorch's eager step (PyTorch has no graph replay on the CPU)
t = B.measure(lambda: mlp.step(params, x, target, 0.01), iters=5000, reps=5)
B.result("tiny_policy", "captured", 1e6 * t, "us")
