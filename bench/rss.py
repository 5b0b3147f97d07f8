"""Peak resident memory (VmHWM) of 1,000 training steps of the MLP 784-256-128-10 at
batch 64 (bench/mlp.py: forward, cross-entropy, backward, SGD) in a fresh process.
The _scope rows repeat the plain run (PyTorch frees by refcount: nothing to scope)."""
import subprocess
import sys

import common as B
from common import torch
import mlp


def vm(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


if len(sys.argv) < 2:  # one fresh process per variant: VmHWM never goes down
    for m in ("plain", "scope"):
        sys.stdout.write(subprocess.run([sys.executable, sys.argv[0], m], capture_output=True, text=True).stdout)
    sys.exit(0)
mode = sys.argv[1]
params = mlp.new([784, 256, 128, 10])
x = torch.randn(64, 784)
target = mlp.targets(64, 10)
base = vm("VmRSS")
for _ in range(1000):
    mlp.step(params, x, target, 0.01)
suffix = "_scope" if mode == "scope" else ""
B.result("rss", "mlp_b64_1000_steps" + suffix, vm("VmHWM"), "MB")
B.result("rss", "mlp_b64_growth" + suffix, vm("VmHWM") - base, "MB")
