"""Op-by-op profile of the nn_layers CNN train step (helper cnn); twin of bench/profile_cnn.lua."""
import common as B
from common import torch
import torch.nn as nn
import torch.nn.functional as F


def T(name, fn):
    t = B.measure(fn, reps=7, target=0.15)
    print(f"{name:<22} {t * 1e6:9.1f} us")
    return t


c1, c2 = nn.Conv2d(1, 16, 3, padding=1), nn.Conv2d(16, 32, 3, padding=1)
fc = nn.Linear(32 * 7 * 7, 10)
cnn = nn.Sequential(c1, nn.ReLU(), nn.MaxPool2d(2), c2, nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), fc)
opt = torch.optim.SGD(cnn.parameters(), lr=0.01, momentum=0.9)
x, y = torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,))
with torch.no_grad():
    a1 = c1(x); r1 = F.relu(a1); p1 = F.max_pool2d(r1, 2)
    a2 = c2(p1); r2 = F.relu(a2); p2 = F.max_pool2d(r2, 2); z = fc(p2.flatten(1))
leaf = lambda t: t.detach().requires_grad_()
la1, lr1, lp1, la2, lr2, lp2, lz = map(leaf, (a1, r1, p1, a2, r2, p2, z))
print("-- forward (grad mode on, graph built)")
tot = 0
tot += T("conv1", lambda: c1(x))
tot += T("relu1", lambda: F.relu(la1))
tot += T("pool1", lambda: F.max_pool2d(lr1, 2))
tot += T("conv2", lambda: c2(lp1))
tot += T("relu2", lambda: F.relu(la2))
tot += T("pool2", lambda: F.max_pool2d(lr2, 2))
tot += T("flatten+linear", lambda: fc(lp2.flatten(1)))
tot += T("cross_entropy", lambda: F.cross_entropy(lz, y))
print(f"{'forward sum':<22} {tot * 1e6:9.1f} us")
print("-- backward (autograd.grad of one op, graph retained)")
btot = 0


def BW(name, out, inputs):
    global btot
    g = torch.ones_like(out)
    btot += T(name, lambda: torch.autograd.grad([out], inputs, [g], retain_graph=True))


BW("cross_entropy", F.cross_entropy(lz, y), [lz])
BW("linear", fc(lp2.flatten(1)), [lp2, fc.weight, fc.bias])
BW("pool2", F.max_pool2d(lr2, 2), [lr2])
BW("relu2", F.relu(la2), [la2])
BW("conv2 (x,w,b)", c2(lp1), [lp1, c2.weight, c2.bias])
BW("pool1", F.max_pool2d(lr1, 2), [lr1])
BW("relu1", F.relu(la1), [la1])
BW("conv1 (w,b)", c1(x), [c1.weight, c1.bias])
print(f"{'backward sum':<22} {btot * 1e6:9.1f} us")
print("-- step pieces")
F.cross_entropy(cnn(x), y).backward()
T("zero_grad", lambda: opt.zero_grad())
for p in cnn.parameters():
    p.grad = torch.ones_like(p)
T("opt:step", lambda: opt.step())
print("-- whole")
T("forward (graph)", lambda: F.cross_entropy(cnn(x), y))
T("forward+backward", lambda: F.cross_entropy(cnn(x), y).backward())


def step():
    opt.zero_grad()
    F.cross_entropy(cnn(x), y).backward()
    opt.step()


T("full step", step)
