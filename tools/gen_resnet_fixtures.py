#!/usr/bin/env python3
"""gen_resnet_fixtures.py: torchvision's resnet18/resnet34 as the reference for
tg.models (spec/models_spec.lua; the specs never need Python).

  /path/to/venv/bin/python tools/gen_resnet_fixtures.py   # rewrites spec/fixtures/resnet.lua

A real resnet18 state_dict is 45 MB of random floats: too big for the repo. So
every tensor of the state_dict is filled from a formula that Lua can repeat
exactly (make_value below; spec/models_spec.lua has the same one), the spec
builds that state_dict in tgrad, writes it with tg.save, loads it into a fresh
tg.models.resnet18() with strict = true and compares the logits with the ones
PyTorch computed here from the same values. The fixture keeps torchvision's
state_dict keys and shapes in order, so names and layout are checked too."""
import math
import os

import torch
import torchvision


def make_value(j, name, shape):
    """the j-th (1-based) state_dict entry: float64 formula, then the entry's dtype"""
    n = math.prod(shape)
    i = torch.arange(n, dtype=torch.float64)
    s = torch.sin(i * 0.731 + j)
    if name.endswith("num_batches_tracked"):
        return None
    if name.endswith("running_var"):
        return 1.0 + 0.25 * s * s
    if name.endswith("running_mean"):
        return 0.1 * s
    if len(shape) > 1:  # conv / linear weight: fan-in scale keeps activations O(1)
        fan_in = n // shape[0]
        return s * math.sqrt(2.0 / fan_in)
    if "bn" in name or "downsample.1" in name:
        return (1.0 + 0.1 * s) if name.endswith("weight") else 0.1 * s
    return 0.1 * s  # fc.bias


def make_input(shape):
    n = math.prod(shape)
    return torch.sin(torch.arange(n, dtype=torch.float64) * 0.013).reshape(shape)


def case(arch, num_classes, insize):
    m = getattr(torchvision.models, arch)(num_classes=num_classes)
    sd = m.state_dict()
    keys = []
    with torch.no_grad():
        for j, (k, v) in enumerate(sd.items(), start=1):
            val = make_value(j, k, list(v.shape))
            if val is not None:
                v.copy_(val.to(v.dtype).reshape(v.shape))
            keys.append((k, list(v.shape), str(v.dtype).replace("torch.", "")))
    m.eval()
    x = make_input(insize).float()
    with torch.no_grad():
        logits = m(x)
    nparams = sum(p.numel() for p in m.parameters())
    return {"arch": arch, "num_classes": num_classes, "input": insize, "keys": keys,
            "nparams": nparams, "logits": logits.double().reshape(-1).tolist(),
            "logits_shape": list(logits.shape)}


def lua(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int,)):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("(0/0)" if math.isnan(v) else ("math.huge" if v > 0 else "-math.huge"))
    if isinstance(v, str):
        return '"' + v + '"'
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(lua(x) for x in v) + "}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {lua(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def main():
    torch.set_num_threads(1)
    cases = [case("resnet18", 1000, [1, 3, 224, 224]), case("resnet18", 10, [2, 3, 64, 64]),
             case("resnet34", 10, [1, 3, 64, 64])]
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "spec", "fixtures", "resnet.lua")
    with open(path, "w") as f:
        f.write(f"-- written by tools/gen_resnet_fixtures.py (torch {torch.__version__}, "
                f"torchvision {torchvision.__version__}); do not edit\n")
        f.write("return {\n")
        for c in cases:
            f.write("  " + lua(c) + ",\n")
        f.write("}\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
