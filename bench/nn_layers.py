"""Workload 3b/6/7 (nn): the MLP 784-256-128-10 step written with nn + optim
(batch 64, 256), a small CNN train step (two 3x3 conv layers, batch 32, 1x28x28
input), and resnet18's forward on 1x3x224x224 in eval mode.
The tgrad side is bench/nn_layers.lua; both build the same models."""
import common as B
from common import torch
import torch.nn as nn
try:
    import torchvision
except ImportError:  # Debian's python3-torch comes without it
    torchvision = None

# MLP through nn.Sequential + optim.SGD
for batch in (64, 256):
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(batch, 784)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    B.result("nn_mlp", f"b{batch}", 1e6 * B.measure(step), "us")

# small CNN train step
cnn = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
opt = torch.optim.SGD(cnn.parameters(), lr=0.01, momentum=0.9)
x = torch.randn(32, 1, 28, 28)
y = torch.randint(0, 10, (32,))


def cnn_step():
    opt.zero_grad()
    loss = nn.functional.cross_entropy(cnn(x), y)
    loss.backward()
    opt.step()


B.result("nn_cnn", "b32_28x28", 1e3 * B.measure(cnn_step), "ms")

# resnet18 forward, eval, no grad
if torchvision is not None:
    net = torchvision.models.resnet18().eval()
    img = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        B.result("resnet18", "fwd_1x224", 1e3 * B.measure(lambda: net(img), reps=5), "ms")
