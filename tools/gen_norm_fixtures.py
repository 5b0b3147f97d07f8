#!/usr/bin/env python3
"""gen_norm_fixtures.py: PyTorch reference numbers for tg.F.batch_norm, layer_norm,
group_norm and embedding, written as a Lua table to spec/fixtures/norm.lua (read by
spec/norm_spec.lua; the specs never need Python).

  /work/venv/bin/python tools/gen_norm_fixtures.py     # rewrite spec/fixtures/norm.lua

Each case: name; lua, a Lua chunk over the named inputs (tg and F in scope) that
returns the output; inputs, an ordered list of {name, tensor}; grads, the inputs
that require grad; the output, a grad_output, the gradients of sum(out * grad_out)
w.r.t. each of grads; after, the values of inputs the call changes in place
(running statistics, a weight renormalised by max_norm); grad_fn; tol.
Embedding ids are written 1-based for tgrad (torch's i is i + 1). Floats are
written with repr(), so both sides see the same numbers."""
import os
import zlib

import torch
import torch.nn.functional as F

F64, F32 = torch.float64, torch.float32
cases = []


def T(t):
    t = t.detach()
    if t.dtype == torch.long:
        data, dt = [int(v) for v in t.reshape(-1).tolist()], "int64"
    else:
        data = [float(v) for v in t.reshape(-1).tolist()]
        dt = "float32" if t.dtype == F32 else "float64"
    return {"shape": list(t.shape), "dtype": dt, "data": data}


def case(name, lua, fn, inputs, grads=(), after=(), tol=1e-9):
    """inputs: list of (name, tensor); fn(env) -> output, env the cloned inputs by name"""
    torch.manual_seed(zlib.crc32(name.encode()))
    env = {}
    for k, v in inputs:
        v = v.clone()
        if k in grads:
            v.requires_grad_(True)
        env[k] = v
    out = fn(env)
    rec = {"name": name, "lua": lua, "inputs": [{"name": k, "t": T(v)} for k, v in inputs], "out": T(out),
           "grads": list(grads), "tol": tol, "grad_fn": type(out.grad_fn).__name__ if out.grad_fn else None}
    if grads:
        go = torch.randn(out.shape, dtype=out.dtype)
        gs = torch.autograd.grad(out, [env[k] for k in grads], go, allow_unused=True)
        rec["grad_out"] = T(go)
        rec["grad"] = {k: (T(g) if g is not None else T(torch.zeros_like(env[k]))) for k, g in zip(grads, gs)}
    if after:
        rec["after"] = {k: T(env[k]) for k in after}
    cases.append(rec)


def rnd(*shape, dtype=F64, scale=1.0, shift=0.0):
    return (torch.randn(*shape, dtype=F64) * scale + shift).to(dtype)


torch.manual_seed(20261201)

# ------------------------------------------------------------- batch_norm
for dt, tol, tag in [(F64, 1e-9, ""), (F32, 2e-5, " float32")]:
    x1, x2, x3, x4 = (rnd(5, 3, 4, dtype=dt, scale=2, shift=0.5) for _ in range(4))
    w, b = rnd(3, dtype=dt), rnd(3, dtype=dt)
    rm, rv = rnd(3, dtype=dt, scale=0.1), torch.rand(3, dtype=F64).to(dt) + 0.5

    def three_then_eval(e):
        for k in ("x1", "x2", "x3"):
            F.batch_norm(e[k], e["rm"], e["rv"], e["w"], e["b"], training=True, momentum=0.2)
        return F.batch_norm(e["x4"], e["rm"], e["rv"], e["w"], e["b"], training=False)

    case("batch_norm 3 training calls then eval" + tag,
         """local o = {weight = w, bias = b, training = true, momentum = 0.2}
         F.batch_norm(x1, rm, rv, o); F.batch_norm(x2, rm, rv, o); F.batch_norm(x3, rm, rv, o)
         return F.batch_norm(x4, rm, rv, {weight = w, bias = b})""",
         three_then_eval, [("x1", x1), ("x2", x2), ("x3", x3), ("x4", x4), ("w", w), ("b", b), ("rm", rm), ("rv", rv)],
         grads=("x4", "w", "b"), after=("rm", "rv"), tol=tol)
    x = rnd(3, 5, 2, 3, dtype=dt, scale=1.5, shift=-1)
    case("batch_norm 4-D training" + tag, "return F.batch_norm(x, rm, rv, {weight = w, bias = b, training = true})",
         lambda e: F.batch_norm(e["x"], e["rm"], e["rv"], e["w"], e["b"], training=True),
         [("x", x), ("w", rnd(5, dtype=dt)), ("b", rnd(5, dtype=dt)), ("rm", torch.zeros(5, dtype=dt)),
          ("rv", torch.ones(5, dtype=dt))], grads=("x", "w", "b"), after=("rm", "rv"), tol=tol)

x = rnd(7, 3)
case("batch_norm 2-D training momentum eps", "return F.batch_norm(x, rm, rv, w, b, {training = true, momentum = 0.3, eps = 1e-3})",
     lambda e: F.batch_norm(e["x"], e["rm"], e["rv"], e["w"], e["b"], training=True, momentum=0.3, eps=1e-3),
     [("x", x), ("w", rnd(3)), ("b", rnd(3)), ("rm", rnd(3)), ("rv", torch.rand(3, dtype=F64) + 1)],
     grads=("x", "w", "b"), after=("rm", "rv"))
case("batch_norm 2-D training, 300 channels (blocks of channels)",
     "return F.batch_norm(x, rm, rv, {weight = w, bias = b, training = true})",
     lambda e: F.batch_norm(e["x"], e["rm"], e["rv"], e["w"], e["b"], training=True),
     [("x", rnd(4, 300, shift=3)), ("w", rnd(300)), ("b", rnd(300)), ("rm", torch.zeros(300, dtype=F64)),
      ("rv", torch.ones(300, dtype=F64))], grads=("x", "w", "b"), after=("rm", "rv"))
case("batch_norm 3-D training no weight, no bias, no running stats",
     "return F.batch_norm(x, nil, nil, {training = true})",
     lambda e: F.batch_norm(e["x"], None, None, training=True), [("x", rnd(2, 4, 3, shift=10))], grads=("x",))
case("batch_norm training weight only", "return F.batch_norm(x, nil, nil, {weight = w, training = true})",
     lambda e: F.batch_norm(e["x"], None, None, e["w"], training=True), [("x", rnd(3, 2, 5)), ("w", rnd(2))],
     grads=("x", "w"))
case("batch_norm training bias only", "return F.batch_norm(x, nil, nil, {bias = b, training = true})",
     lambda e: F.batch_norm(e["x"], None, None, None, e["b"], training=True), [("x", rnd(3, 2, 5)), ("b", rnd(2))],
     grads=("x", "b"))
case("batch_norm eval 4-D", "return F.batch_norm(x, rm, rv, {weight = w, bias = b, training = false})",
     lambda e: F.batch_norm(e["x"], e["rm"], e["rv"], e["w"], e["b"], training=False),
     [("x", rnd(2, 3, 3, 4)), ("w", rnd(3)), ("b", rnd(3)), ("rm", rnd(3)), ("rv", torch.rand(3, dtype=F64) + 0.5)],
     grads=("x", "w", "b"), after=("rm", "rv"))
case("batch_norm eval no affine", "return F.batch_norm(x, rm, rv)",
     lambda e: F.batch_norm(e["x"], e["rm"], e["rv"]),
     [("x", rnd(4, 3)), ("rm", rnd(3)), ("rv", torch.rand(3, dtype=F64) + 0.5)], grads=("x",))
xt = rnd(2, 5, 3)  # used as (2, 3, 5) through a transpose: non-contiguous
case("batch_norm training non-contiguous input",
     "return F.batch_norm(x:transpose(2, 3), rm, rv, {weight = w, bias = b, training = true})",
     lambda e: F.batch_norm(e["x"].transpose(1, 2), e["rm"], e["rv"], e["w"], e["b"], training=True),
     [("x", xt), ("w", rnd(3)), ("b", rnd(3)), ("rm", torch.zeros(3, dtype=F64)), ("rv", torch.ones(3, dtype=F64))],
     grads=("x", "w", "b"), after=("rm", "rv"))
case("batch_norm eval non-contiguous input",
     "return F.batch_norm(x:transpose(1, 2), rm, rv, {weight = w, bias = b})",
     lambda e: F.batch_norm(e["x"].transpose(0, 1), e["rm"], e["rv"], e["w"], e["b"]),
     [("x", rnd(3, 4)), ("w", rnd(3)), ("b", rnd(3)), ("rm", rnd(3)), ("rv", torch.rand(3, dtype=F64) + 0.5)],
     grads=("x", "w", "b"))
case("batch_norm training empty batch", "return F.batch_norm(x, rm, rv, {weight = w, bias = b, training = true})",
     lambda e: F.batch_norm(e["x"], e["rm"], e["rv"], e["w"], e["b"], training=True),
     [("x", torch.zeros(0, 3, dtype=F64)), ("w", rnd(3)), ("b", rnd(3)), ("rm", rnd(3)), ("rv", torch.ones(3, dtype=F64))],
     grads=("x", "w", "b"), after=("rm", "rv"))

# ------------------------------------------------------------- layer_norm
for dt, tol, tag in [(F64, 1e-9, ""), (F32, 2e-5, " float32")]:
    case("layer_norm last dim" + tag, "return F.layer_norm(x, 5, {weight = w, bias = b})",
         lambda e: F.layer_norm(e["x"], [5], e["w"], e["b"]),
         [("x", rnd(3, 4, 5, dtype=dt, scale=3, shift=2)), ("w", rnd(5, dtype=dt)), ("b", rnd(5, dtype=dt))],
         grads=("x", "w", "b"), tol=tol)
    case("layer_norm 37 wide" + tag, "return F.layer_norm(x, {37}, w, b)",
         lambda e: F.layer_norm(e["x"], [37], e["w"], e["b"]),
         [("x", rnd(3, 37, dtype=dt)), ("w", rnd(37, dtype=dt)), ("b", rnd(37, dtype=dt))],
         grads=("x", "w", "b"), tol=tol)
case("layer_norm last two dims", "return F.layer_norm(x, {3, 4}, {weight = w, bias = b, eps = 1e-3})",
     lambda e: F.layer_norm(e["x"], [3, 4], e["w"], e["b"], eps=1e-3),
     [("x", rnd(2, 3, 4)), ("w", rnd(3, 4)), ("b", rnd(3, 4))], grads=("x", "w", "b"))
case("layer_norm no affine", "return F.layer_norm(x, {4})", lambda e: F.layer_norm(e["x"], [4]),
     [("x", rnd(5, 4, shift=100))], grads=("x",))
case("layer_norm weight only", "return F.layer_norm(x, 4, {weight = w})", lambda e: F.layer_norm(e["x"], [4], e["w"]),
     [("x", rnd(5, 4)), ("w", rnd(4))], grads=("x", "w"))
case("layer_norm bias only", "return F.layer_norm(x, 4, nil, b)", lambda e: F.layer_norm(e["x"], [4], None, e["b"]),
     [("x", rnd(5, 4)), ("b", rnd(4))], grads=("x", "b"))
case("layer_norm 1-D input", "return F.layer_norm(x, {6}, {weight = w, bias = b})",
     lambda e: F.layer_norm(e["x"], [6], e["w"], e["b"]), [("x", rnd(6)), ("w", rnd(6)), ("b", rnd(6))],
     grads=("x", "w", "b"))
case("layer_norm whole input", "return F.layer_norm(x, x.shape, {weight = w, bias = b})",
     lambda e: F.layer_norm(e["x"], list(e["x"].shape), e["w"], e["b"]),
     [("x", rnd(2, 3)), ("w", rnd(2, 3)), ("b", rnd(2, 3))], grads=("x", "w", "b"))
case("layer_norm non-contiguous input", "return F.layer_norm(x:transpose(1, 2), 3, {weight = w, bias = b})",
     lambda e: F.layer_norm(e["x"].transpose(0, 1), [3], e["w"], e["b"]),
     [("x", rnd(3, 4)), ("w", rnd(3)), ("b", rnd(3))], grads=("x", "w", "b"))
case("layer_norm empty batch", "return F.layer_norm(x, 3, {weight = w, bias = b})",
     lambda e: F.layer_norm(e["x"], [3], e["w"], e["b"]),
     [("x", torch.zeros(0, 3, dtype=F64)), ("w", rnd(3)), ("b", rnd(3))], grads=("x", "w", "b"))

# ------------------------------------------------------------- group_norm
for dt, tol, tag in [(F64, 1e-9, ""), (F32, 2e-5, " float32")]:
    case("group_norm 3 groups of 2 channels" + tag, "return F.group_norm(x, 3, {weight = w, bias = b})",
         lambda e: F.group_norm(e["x"], 3, e["w"], e["b"]),
         [("x", rnd(2, 6, 5, dtype=dt, scale=2, shift=1)), ("w", rnd(6, dtype=dt)), ("b", rnd(6, dtype=dt))],
         grads=("x", "w", "b"), tol=tol)
case("group_norm 4-D one channel per group", "return F.group_norm(x, 4, w, b, {eps = 1e-2})",
     lambda e: F.group_norm(e["x"], 4, e["w"], e["b"], eps=1e-2),
     [("x", rnd(2, 4, 3, 2)), ("w", rnd(4)), ("b", rnd(4))], grads=("x", "w", "b"))
case("group_norm one group", "return F.group_norm(x, 1, {weight = w, bias = b})",
     lambda e: F.group_norm(e["x"], 1, e["w"], e["b"]), [("x", rnd(3, 4, 2)), ("w", rnd(4)), ("b", rnd(4))],
     grads=("x", "w", "b"))
case("group_norm 2-D input", "return F.group_norm(x, 2, {weight = w, bias = b})",
     lambda e: F.group_norm(e["x"], 2, e["w"], e["b"]), [("x", rnd(3, 6)), ("w", rnd(6)), ("b", rnd(6))],
     grads=("x", "w", "b"))
case("group_norm no affine", "return F.group_norm(x, 2)", lambda e: F.group_norm(e["x"], 2),
     [("x", rnd(2, 4, 3, shift=-50))], grads=("x",))
case("group_norm non-contiguous input", "return F.group_norm(x:transpose(2, 3), 2, {weight = w, bias = b})",
     lambda e: F.group_norm(e["x"].transpose(1, 2), 2, e["w"], e["b"]),
     [("x", rnd(2, 3, 4)), ("w", rnd(4)), ("b", rnd(4))], grads=("x", "w", "b"))

# ---------------------------------------------------------- instance_norm
case("instance_norm 3-D", "return F.instance_norm(x)", lambda e: F.instance_norm(e["x"]),
     [("x", rnd(2, 3, 5, shift=2))], grads=("x",))
case("instance_norm 4-D affine, running stats", "return F.instance_norm(x, rm, rv, w, b, {momentum = 0.3})",
     lambda e: F.instance_norm(e["x"], e["rm"], e["rv"], e["w"], e["b"], momentum=0.3),
     [("x", rnd(3, 2, 3, 4, scale=2)), ("w", rnd(2)), ("b", rnd(2)), ("rm", rnd(2)), ("rv", torch.rand(2, dtype=F64) + 0.5)],
     grads=("x", "w", "b"), after=("rm", "rv"))
case("instance_norm running stats, use_input_stats false",
     "return F.instance_norm(x, {running_mean = rm, running_var = rv, weight = w, use_input_stats = false})",
     lambda e: F.instance_norm(e["x"], e["rm"], e["rv"], e["w"], use_input_stats=False),
     [("x", rnd(2, 3, 4)), ("w", rnd(3)), ("rm", rnd(3)), ("rv", torch.rand(3, dtype=F64) + 0.5)],
     grads=("x", "w"), after=("rm", "rv"))

# -------------------------------------------------------------- embedding
W = rnd(6, 3)
ids = torch.tensor([[0, 2, 2, 5], [1, 0, 3, 2]])
case("embedding 2-D ids", "return F.embedding(ids, w)", lambda e: F.embedding(e["ids"] - 1, e["w"]),
     [("ids", ids + 1), ("w", W)], grads=("w",))
case("embedding 1-D ids float32", "return F.embedding(ids, w)", lambda e: F.embedding(e["ids"] - 1, e["w"]),
     [("ids", torch.tensor([3, 1, 3]) + 1), ("w", W.float())], grads=("w",), tol=1e-6)
case("embedding 0-d id", "return F.embedding(ids, w)", lambda e: F.embedding(e["ids"] - 1, e["w"]),
     [("ids", torch.tensor(4) + 1), ("w", W)], grads=("w",))
case("embedding padding_idx", "return F.embedding(ids, w, {padding_idx = 3})",
     lambda e: F.embedding(e["ids"] - 1, e["w"], padding_idx=2), [("ids", ids + 1), ("w", W)], grads=("w",))
case("embedding negative padding_idx", "return F.embedding(ids, w, {padding_idx = -1})",
     lambda e: F.embedding(e["ids"] - 1, e["w"], padding_idx=-1), [("ids", ids + 1), ("w", W)], grads=("w",))
case("embedding scale_grad_by_freq", "return F.embedding(ids, w, {scale_grad_by_freq = true})",
     lambda e: F.embedding(e["ids"] - 1, e["w"], scale_grad_by_freq=True), [("ids", ids + 1), ("w", W)], grads=("w",))
case("embedding padding_idx and scale_grad_by_freq", "return F.embedding(ids, w, {padding_idx = 1, scale_grad_by_freq = true})",
     lambda e: F.embedding(e["ids"] - 1, e["w"], padding_idx=0, scale_grad_by_freq=True),
     [("ids", ids + 1), ("w", W)], grads=("w",))
Wbig = rnd(6, 3, scale=2)
case("embedding max_norm", "return F.embedding(ids, w, {max_norm = 1.5})",
     lambda e: F.embedding(e["ids"] - 1, e["w"], max_norm=1.5), [("ids", ids + 1), ("w", Wbig)], grads=("w",),
     after=("w",))
case("embedding max_norm norm_type 1", "return F.embedding(ids, w, {max_norm = 2, norm_type = 1})",
     lambda e: F.embedding(e["ids"] - 1, e["w"], max_norm=2.0, norm_type=1.0), [("ids", ids + 1), ("w", Wbig)],
     grads=("w",), after=("w",))
case("embedding max_norm norm_type 3", "return F.embedding(ids, w, {max_norm = 1, norm_type = 3})",
     lambda e: F.embedding(e["ids"] - 1, e["w"], max_norm=1.0, norm_type=3.0), [("ids", ids + 1), ("w", Wbig)],
     grads=("w",), after=("w",))
case("embedding non-contiguous weight", "return F.embedding(ids, w:t())",
     lambda e: F.embedding(e["ids"] - 1, e["w"].t()), [("ids", ids + 1), ("w", rnd(3, 6))], grads=("w",))
case("embedding empty ids", "return F.embedding(ids, w)", lambda e: F.embedding(e["ids"] - 1, e["w"]),
     [("ids", torch.zeros(0, 2, dtype=torch.long) + 1), ("w", W)], grads=("w",))


def lua(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "nil"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v:
            return "0/0"
        if v in (float("inf"), float("-inf")):
            return "math.huge" if v > 0 else "-math.huge"
        return repr(v)
    if isinstance(v, str):
        return "[==[" + v + "]==]" if "\n" in v or '"' in v else '"' + v + '"'
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(lua(e) for e in v) + "}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"[{lua(k)}] = {lua(e)}" if not k.isidentifier() else f"{k} = {lua(e)}"
                               for k, e in v.items()) + "}"
    raise TypeError(type(v))


here = os.path.dirname(os.path.abspath(__file__))
path = os.path.join(here, "..", "spec", "fixtures", "norm.lua")
with open(path, "w") as f:
    f.write("-- generated by tools/gen_norm_fixtures.py with PyTorch %s: do not edit\n" % torch.__version__)
    f.write("return {\n")
    for c in cases:
        f.write("  " + lua(c) + ",\n")
    f.write("}\n")
print("wrote %d cases to %s" % (len(cases), os.path.relpath(path)))
