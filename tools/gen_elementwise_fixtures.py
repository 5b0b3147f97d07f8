#!/usr/bin/env python3
"""gen_elementwise_fixtures.py: PyTorch reference values for tgrad's elementwise ops.

usage: python3 tools/gen_elementwise_fixtures.py [out.lua]
       (default spec/fixtures/elementwise.lua, read by spec/elementwise_spec.lua)

Each case is (name, Lua expression over inputs a, b, c, the equivalent torch
function, input specs, flags).  The generator seeds numpy from the case name
(adding a case never changes the others), makes the inputs, runs torch, and for
differentiable cases computes the gradients of sum(out * g) with respect to
every float input (g a fixed random tensor of out's shape), and records the
output's grad_fn name.

Fixture format (a Lua table):
  cases = { { name=, expr=,
              inputs = { {shape=, dtype=, data={flat row-major}, requires_grad=bool}, ... },
              out = {shape=, dtype=, data=} | nil,  err = true (torch raised) | nil,
              grad_fn = "ExpBackward0" | nil, grad_out = {...} | nil, grads = { {...} | false, ... } | nil,
              tol = number (relative; float64 1e-12, float32 1e-5),
              gradcheck = bool, gradgrad = bool }, ... }
  promotion = { {op=, a=, b=, dtype="float32" | err=true}, ... }
     operands: "t:<dtype>" (1-d tensor), "z:<dtype>" (0-d tensor), "n:int" (2), "n:float" (2.5), "n:bool" (true)
Non-finite numbers are written as math.huge, -math.huge and 0/0.
"""
import math
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float32)

CASES = []
TDT = {"float32": torch.float32, "float64": torch.float64, "int64": torch.int64, "bool": torch.bool}


def X(*shape, dtype="float64", gen="randn", lo=None, hi=None, data=None, rg=None):
    """Input spec. gen: randn (3 decimals, |x| >= 0.05), pos (0.5..2.5), uni (lo..hi),
    frac (away from integers and halves), int (lo..hi), nz (nonzero ints), bool, data."""
    if data is not None:
        gen = "data"
    if rg is None:
        rg = dtype in ("float32", "float64")
    return dict(shape=tuple(shape), dtype=dtype, gen=gen, lo=lo, hi=hi, data=data, rg=rg)


def case(name, expr, fn, inputs, grad=True, gradcheck=True, gradgrad=False, tol=None):
    CASES.append(dict(name=name, expr=expr, fn=fn, inputs=inputs, grad=grad, gradcheck=gradcheck,
                      gradgrad=gradgrad, tol=tol))


def make_input(spec, rng):
    shape, dt, gen = spec["shape"], spec["dtype"], spec["gen"]
    n = int(np.prod(shape)) if shape else 1
    if gen == "data":
        v = np.array(spec["data"], dtype=object).reshape(shape)
        if dt == "float64" or dt == "float32":
            v = v.astype(np.float64)
        return torch.tensor(v.tolist(), dtype=TDT[dt])
    if gen == "randn":
        v = rng.standard_normal(n)
        v = np.where(np.abs(v) < 0.05, np.sign(v + 1e-9) * (0.05 + np.abs(v)), v)
    elif gen == "pos":
        v = rng.uniform(0.5, 2.5, n)
    elif gen == "uni":
        v = rng.uniform(spec["lo"], spec["hi"], n)
    elif gen == "frac":
        v = rng.integers(-3, 3, n) + rng.uniform(0.15, 0.35, n) + rng.choice([0.0, 0.5], n)
    elif gen == "int":
        v = rng.integers(spec["lo"] if spec["lo"] is not None else -5, (spec["hi"] if spec["hi"] is not None else 5) + 1, n)
    elif gen == "nz":
        v = rng.integers(1, 6, n) * rng.choice([-1, 1], n)
    elif gen == "bool":
        v = rng.integers(0, 2, n).astype(bool)
        return torch.tensor(v.reshape(shape).tolist() if shape else bool(v[0]))
    else:
        raise ValueError(gen)
    if dt in ("float32", "float64"):
        v = np.round(v, 3)
    v = v.reshape(shape)
    return torch.tensor(v.tolist() if shape else v.item(), dtype=TDT[dt])


def num(x):
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return "math.mininteger" if x == -2 ** 63 else str(x)
    if math.isnan(x):
        return "0/0"
    if math.isinf(x):
        return "math.huge" if x > 0 else "-math.huge"
    return repr(float(x))


def lua_tensor(t):
    d = t.detach().reshape(-1).tolist()
    dt = {torch.float32: "float32", torch.float64: "float64", torch.int64: "int64", torch.bool: "bool"}[t.dtype]
    return "{shape = {%s}, dtype = \"%s\", data = {%s}}" % (", ".join(str(s) for s in t.shape), dt,
                                                          ", ".join(num(x) for x in d))


def run_case(cs):
    rng = np.random.default_rng(zlib.crc32(cs["name"].encode()))
    ins = [make_input(s, rng) for s in cs["inputs"]]
    for t, s in zip(ins, cs["inputs"]):
        if s["rg"] and cs["grad"]:
            t.requires_grad_(True)
    res = dict(name=cs["name"], expr=cs["expr"], inputs=ins, specs=cs["inputs"])
    try:
        out = cs["fn"](*ins)
    except Exception as e:  # torch refuses: tgrad must raise too
        res["err"] = str(e).splitlines()[0]
        return res
    res["out"] = out
    dt = out.dtype
    res["tol"] = cs["tol"] if cs["tol"] is not None else (1e-5 if dt == torch.float32 else 1e-12)
    if out.requires_grad:
        res["grad_fn"] = type(out.grad_fn).__name__
        g = torch.tensor(np.round(rng.standard_normal(out.numel()), 2).reshape(tuple(out.shape)).tolist()
                         if out.dim() else round(float(rng.standard_normal()), 2), dtype=dt)
        diff = [t for t in ins if t.requires_grad]
        grads = torch.autograd.grad(out, diff, g, allow_unused=True)
        gi = iter(grads)
        res["grad_out"] = g
        res["grads"] = [next(gi) if t.requires_grad else None for t in ins]
        res["grads"] = [(gr if gr is not None else (torch.zeros_like(t) if t.requires_grad else None))
                        for gr, t in zip(res["grads"], ins)]
        all64 = all(t.dtype == torch.float64 for t in diff)
        res["gradcheck"] = cs["gradcheck"] and all64
        res["gradgrad"] = cs["gradgrad"] and all64
    return res


def emit_case(r, w):
    w("  {name = %s,\n   expr = %s,\n" % (lua_str(r["name"]), lua_str(r["expr"])))
    ins = []
    for t, s in zip(r["inputs"], r["specs"]):
        body = lua_tensor(t)[:-1] + (", requires_grad = true}" if t.requires_grad else "}")
        ins.append(body)
    w("   inputs = {%s},\n" % ", ".join(ins))
    if "err" in r:
        w("   err = true, torch_err = %s},\n" % lua_str(r["err"]))
        return
    w("   out = %s,\n" % lua_tensor(r["out"]))
    if "grad_fn" in r:
        w("   grad_fn = %s,\n" % lua_str(r["grad_fn"]))
        w("   grad_out = %s,\n" % lua_tensor(r["grad_out"]))
        w("   grads = {%s},\n" % ", ".join(lua_tensor(g) if g is not None else "false" for g in r["grads"]))
        w("   gradcheck = %s, gradgrad = %s,\n" % (num(r["gradcheck"]), num(r["gradgrad"])))
    w("   tol = %s},\n" % num(r["tol"]))


def lua_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


# ================================================================== cases
def tmod(a, b):
    return torch.remainder(a, b)


def unary_cases():
    # (name, Lua call suffix, torch fn, input gen kwargs, gradgrad)
    R = dict(gen="randn")
    P = dict(gen="pos")
    U = [
        ("neg", "neg()", torch.neg, R, False),
        ("exp", "exp()", torch.exp, R, True),
        ("log", "log()", torch.log, P, True),
        ("log1p", "log1p()", torch.log1p, dict(gen="uni", lo=-0.8, hi=2.0), True),
        ("expm1", "expm1()", torch.expm1, R, True),
        ("sqrt", "sqrt()", torch.sqrt, P, True),
        ("rsqrt", "rsqrt()", torch.rsqrt, P, True),
        ("abs", "abs()", torch.abs, R, False),
        ("sign", "sign()", torch.sign, R, False),
        ("sin", "sin()", torch.sin, R, True),
        ("cos", "cos()", torch.cos, R, True),
        ("tan", "tan()", torch.tan, dict(gen="uni", lo=-1.2, hi=1.2), True),
        ("tanh", "tanh()", torch.tanh, R, True),
        ("sigmoid", "sigmoid()", torch.sigmoid, R, True),
        ("relu", "relu()", torch.relu, R, False),
        ("gelu", "gelu()", F.gelu, R, True),
        ("gelu_tanh", "gelu({approximate = \"tanh\"})", lambda x: F.gelu(x, approximate="tanh"), R, True),
        ("silu", "silu()", F.silu, R, True),
        ("softplus", "softplus()", F.softplus, R, True),
        ("softplus_beta", "softplus({beta = 2, threshold = 1.5})", lambda x: F.softplus(x, beta=2, threshold=1.5),
         dict(gen="uni", lo=-2, hi=0.7), True),
        ("softplus_pos", "softplus(0.5, 1)", lambda x: F.softplus(x, 0.5, 1), dict(gen="uni", lo=-1.5, hi=1.9), True),
        ("erf", "erf()", torch.erf, R, True),
        ("floor", "floor()", torch.floor, dict(gen="frac"), False),
        ("ceil", "ceil()", torch.ceil, dict(gen="frac"), False),
        ("round", "round()", torch.round, dict(gen="frac"), False),
        ("trunc", "trunc()", torch.trunc, dict(gen="frac"), False),
        ("clamp", "clamp(-0.5, 0.7)", lambda x: torch.clamp(x, -0.5, 0.7), R, False),
        ("clamp_min", "clamp(-0.5)", lambda x: torch.clamp(x, min=-0.5), R, False),
        ("clamp_max", "clamp(nil, 0.3)", lambda x: torch.clamp(x, max=0.3), R, False),
        ("clamp_opts", "clamp({max = 0.3})", lambda x: torch.clamp(x, max=0.3), R, False),
        ("clip", "clip(-1, 1)", lambda x: torch.clip(x, -1, 1), R, False),
        ("reciprocal", "reciprocal()", torch.reciprocal, R, True),
        ("square", "square()", torch.square, R, True),
    ]
    for name, call, fn, gen, gg in U:
        # float64: values, torch's gradients, gradcheck (and gradgradcheck)
        case(name, "a:" + call, fn, [X(3, 4, **gen)], gradgrad=gg)
        # the function form, on float32
        case(name + "_f32", "tg." + call.replace("(", "(a, ", 1).replace(", )", ")"), fn, [X(3, 4, dtype="float32", **gen)])
        # integer and bool inputs (float ops give float32; rounding is the identity; some refuse bool)
        case(name + "_i64", "a:" + call, fn, [X(5, dtype="int64", gen="int", lo=1 if gen is P else -3, hi=4)])
        case(name + "_bool", "a:" + call, fn, [X(4, dtype="bool", gen="data", data=[1, 0, 1, 0])])
        # non-contiguous input: transposed, sliced, expanded
        case(name + "_t", "a:t():" + call, lambda x, fn=fn: fn(x.t()), [X(4, 3, **gen)], gradcheck=False)
        case(name + "_narrow", "a:narrow(2, 2, 3):" + call, lambda x, fn=fn: fn(x.narrow(1, 1, 3)), [X(3, 5, **gen)],
             gradcheck=False)
        case(name + "_expand", "a:expand(3, 4):" + call, lambda x, fn=fn: fn(x.expand(3, 4)), [X(4, **gen)],
             gradcheck=False)
        case(name + "_0d", "a:" + call, fn, [X(**gen)], gradcheck=False)
    # special values
    inf, nan = float("inf"), float("nan")
    sv = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5, 30.0, -30.0, 100.0, -100.0, inf, -inf, nan]
    for name, call, fn, _, _ in U:
        case(name + "_special", "a:" + call, fn, [X(len(sv), gen="data", data=sv)], grad=False)
        # torch's vectorised float32 gelu gives nan at +-inf (float64 gives the limits): not mirrored
        sv32 = [v for v in sv if not (name.startswith("gelu") and math.isinf(v))]
        case(name + "_special_f32", "a:" + call, fn, [X(len(sv32), dtype="float32", gen="data", data=sv32)], grad=False)
    # round: half to even
    case("round_half_even", "a:round()", torch.round,
         [X(10, gen="data", data=[0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, 0.49999999, 2.5000001, -3.5])], grad=False)
    # clamp: gradient at the bounds passes (torch: min <= x <= max), lo > hi gives hi
    case("clamp_at_bounds", "a:clamp(-0.5, 0.5)", lambda x: torch.clamp(x, -0.5, 0.5),
         [X(6, gen="data", data=[-0.5, 0.5, -0.7, 0.7, 0.0, 0.49])], gradcheck=False)
    case("clamp_lo_gt_hi", "a:clamp(1, -1)", lambda x: torch.clamp(x, 1, -1), [X(5)], gradcheck=False)
    case("clamp_int_bounds", "a:clamp(-2, 3)", lambda x: torch.clamp(x, -2, 3), [X(6, dtype="int64", gen="int", lo=-5, hi=5)])
    case("clamp_int_float_bounds", "a:clamp(-1.5, 2.5)", lambda x: torch.clamp(x, -1.5, 2.5),
         [X(6, dtype="int64", gen="int", lo=-5, hi=5)])
    case("clamp_bool_int_bounds", "a:clamp(0, 1)", lambda x: torch.clamp(x, 0, 1), [X(4, dtype="bool", gen="data", data=[1, 0, 1, 0])])
    case("clamp_nan", "a:clamp(-1, 1)", lambda x: torch.clamp(x, -1, 1), [X(3, gen="data", data=[nan, 2.0, -2.0])],
         grad=False)
    # clamp with tensor bounds (ClampBackward0), broadcast
    case("clamp_tensors", "a:clamp(b, c)", lambda x, lo, hi: torch.clamp(x, lo, hi),
         [X(3, 4), X(4, gen="uni", lo=-1.0, hi=-0.1), X(3, 1, gen="uni", lo=0.1, hi=1.0)])
    case("clamp_tensor_min", "tg.clamp(a, b)", lambda x, lo: torch.clamp(x, min=lo), [X(3, 4), X(3, 4)])
    case("clamp_tensor_max", "tg.clamp(a, nil, b)", lambda x, hi: torch.clamp(x, max=hi), [X(3, 4), X(4)])
    case("clamp_tensor_lo_gt_hi", "a:clamp(b, c)", lambda x, lo, hi: torch.clamp(x, lo, hi),
         [X(4), X(4, gen="uni", lo=0.5, hi=1.0), X(4, gen="uni", lo=-1.0, hi=-0.5)], gradcheck=False)
    tv = [(x, lo, hi) for x in (0.0, 1.0, 2.0) for lo in (0.0, 1.0, 2.0) for hi in (0.0, 1.0, 2.0)]
    case("clamp_tensor_ties", "a:clamp(b, c)", lambda x, lo, hi: torch.clamp(x, lo, hi),
         [X(27, data=[v[0] for v in tv]), X(27, data=[v[1] for v in tv]), X(27, data=[v[2] for v in tv])],
         gradcheck=False)
    case("clamp_tensor_min_ties", "a:clamp(b)", lambda x, lo: torch.clamp(x, min=lo),
         [X(9, data=[v[0] for v in tv[::3]]), X(9, data=[v[1] for v in tv[::3]])], gradcheck=False)
    case("clamp_tensor_max_ties", "a:clamp(nil, b)", lambda x, hi: torch.clamp(x, max=hi),
         [X(9, data=[v[0] for v in tv[::3]]), X(9, data=[v[1] for v in tv[::3]])], gradcheck=False)
    case("clamp_tensor_int", "a:clamp(b, c)", lambda x, lo, hi: torch.clamp(x, lo, hi),
         [X(5, dtype="int64", gen="int"), X(5, dtype="int64", gen="int", lo=-3, hi=-1),
          X(1, dtype="int64", gen="int", lo=1, hi=3)])
    # logical_not: any dtype in, bool out
    case("logical_not", "a:logical_not()", torch.logical_not, [X(5, gen="data", data=[0.0, 1.5, -0.0, nan, -2.0])],
         grad=False)
    case("logical_not_i64", "tg.logical_not(a)", torch.logical_not, [X(5, dtype="int64", gen="int", lo=-1, hi=1)])
    case("logical_not_bool", "a:logical_not()", torch.logical_not, [X(4, dtype="bool", gen="data", data=[1, 0, 1, 0])])
    case("logical_not_t", "a:t():logical_not()", lambda x: torch.logical_not(x.t()),
         [X(3, 2, dtype="int64", gen="int", lo=-1, hi=1)])


def binary_cases():
    R = dict(gen="randn")
    P = dict(gen="pos")
    B = [
        # name, Lua expression form (method), torch fn, a gen, b gen, gradcheck-safe, gradgrad
        ("add", "a:add(b)", torch.add, R, R, True),
        ("sub", "a:sub(b)", torch.sub, R, R, True),
        ("mul", "a:mul(b)", torch.mul, R, R, True),
        ("div", "a:div(b)", torch.div, R, P, True),
        ("pow", "a:pow(b)", torch.pow, P, R, True),
        ("maximum", "a:maximum(b)", torch.maximum, R, R, False),
        ("minimum", "a:minimum(b)", torch.minimum, R, R, False),
        ("atan2", "a:atan2(b)", torch.atan2, R, R, True),
        ("fmod", "a:fmod(b)", torch.fmod, dict(gen="uni", lo=-4, hi=4), dict(gen="uni", lo=0.7, hi=1.3), False),
        ("remainder", "a:remainder(b)", torch.remainder, dict(gen="uni", lo=-4, hi=4), dict(gen="uni", lo=0.7, hi=1.3),
         False),
        ("mod_op", "a % b", tmod, dict(gen="uni", lo=-4, hi=4), dict(gen="uni", lo=-1.3, hi=-0.7), False),
        ("eq", "a:eq(b)", torch.eq, dict(gen="int", lo=0, hi=2), dict(gen="int", lo=0, hi=2), False),
        ("ne", "a:ne(b)", torch.ne, dict(gen="int", lo=0, hi=2), dict(gen="int", lo=0, hi=2), False),
        ("lt", "a:lt(b)", torch.lt, dict(gen="int", lo=0, hi=2), dict(gen="int", lo=0, hi=2), False),
        ("le", "a:le(b)", torch.le, dict(gen="int", lo=0, hi=2), dict(gen="int", lo=0, hi=2), False),
        ("gt", "a:gt(b)", torch.gt, dict(gen="int", lo=0, hi=2), dict(gen="int", lo=0, hi=2), False),
        ("ge", "a:ge(b)", torch.ge, dict(gen="int", lo=0, hi=2), dict(gen="int", lo=0, hi=2), False),
        ("logical_and", "a:logical_and(b)", torch.logical_and, dict(gen="int", lo=0, hi=1), dict(gen="int", lo=-1, hi=1),
         False),
        ("logical_or", "a:logical_or(b)", torch.logical_or, dict(gen="int", lo=0, hi=1), dict(gen="int", lo=-1, hi=1),
         False),
        ("logical_xor", "a:logical_xor(b)", torch.logical_xor, dict(gen="int", lo=0, hi=1), dict(gen="int", lo=-1, hi=1),
         False),
        ("add_alpha", "a:add(b, {alpha = 2.5})", lambda a, b: torch.add(a, b, alpha=2.5), R, R, True),
        ("sub_alpha", "tg.sub(a, b, {alpha = -3})", lambda a, b: torch.sub(a, b, alpha=-3), R, R, True),
    ]
    ints = {"eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor"}
    for name, expr, fn, ga, gb, smooth in B:
        cmp = name in ints
        fa = dict(ga) if not cmp else dict(gen="uni", lo=-1, hi=1)
        fb = dict(gb) if not cmp else dict(gen="uni", lo=-1, hi=1)
        if cmp:  # float comparisons with ties
            case(name, expr, fn, [X(3, 4, gen="data", data=[0.5, -1, 2, 0, 0.5, 1, -1, 0, 3, 3, 0, 2]),
                                  X(3, 4, gen="data", data=[0.5, 1, -2, 0, 0.25, 1, -1, 1, 3, -3, 0, 2])])
        else:
            case(name, expr, fn, [X(3, 4, **fa), X(3, 4, **fb)], gradcheck=smooth, gradgrad=smooth)
        case(name + "_bcast", expr, fn, [X(3, 1, **fa), X(4, **fb)], gradcheck=smooth)
        case(name + "_bcast_3d", expr, fn, [X(2, 1, 4, **fa), X(3, 1, **fb)], gradcheck=False)
        case(name + "_f32", expr, fn, [X(3, 4, dtype="float32", **fa), X(4, dtype="float32", **fb)])
        case(name + "_f32_f64", expr, fn, [X(3, 4, dtype="float32", **fa), X(4, dtype="float64", **fb)])
        case(name + "_0d", expr, fn, [X(3, 4, dtype="float32", **fa), X(dtype="float64", **fb)], gradcheck=False)
        ia = dict(gen="int", lo=-7, hi=7)
        ib = dict(gen="nz") if name in ("fmod", "remainder", "mod_op", "div") else dict(gen="int", lo=0 if name == "pow" else -3, hi=3)
        case(name + "_i64", expr, fn, [X(3, 4, dtype="int64", **ia), X(4, dtype="int64", **ib)])
        case(name + "_i64_f32", expr, fn, [X(3, 4, dtype="int64", **ia), X(4, dtype="float32", **fb)])
        case(name + "_bool", expr, fn, [X(4, dtype="bool", gen="data", data=[1, 1, 0, 0]),
                                        X(4, dtype="bool", gen="data", data=[1, 0, 1, 0])])
        # non-contiguous operands
        case(name + "_t", expr.replace("a:", "a:t():", 1).replace("a %", "a:t() %").replace("(a,", "(a:t(),"),
             lambda a, b, fn=fn: fn(a.t(), b), [X(4, 3, **fa), X(3, 4, **fb)], gradcheck=False)
        case(name + "_narrow", expr.replace("a:", "a:narrow(2, 2, 4):", 1).replace("a %", "a:narrow(2, 2, 4) %")
             .replace("(a,", "(a:narrow(2, 2, 4),"),
             lambda a, b, fn=fn: fn(a.narrow(1, 1, 4), b), [X(3, 6, **fa), X(3, 4, **fb)], gradcheck=False)
        case(name + "_expand", expr.replace("a:", "a:expand(3, 4):", 1).replace("a %", "a:expand(3, 4) %")
             .replace("(a,", "(a:expand(3, 4),"),
             lambda a, b, fn=fn: fn(a.expand(3, 4), b), [X(1, 4, **fa), X(3, 4, **fb)], gradcheck=False)
    # Lua numbers on either side (python-scalar promotion)
    for name, op in [("add", "add"), ("sub", "sub"), ("mul", "mul"), ("div", "div"), ("maximum", "maximum"),
                     ("minimum", "minimum"), ("atan2", "atan2"), ("fmod", "fmod"), ("remainder", "remainder")]:
        tf = getattr(torch, op)
        if op in ("maximum", "minimum", "atan2"):  # no number signature in torch: a 0-d tensor promotes alike
            tf = (lambda f: lambda a, s: f(a, torch.tensor(s)))(tf)
        case(name + "_num", "tg.%s(a, 1.5)" % op, lambda a, tf=tf: tf(a, 1.5), [X(3, 4)],
             gradcheck=op not in ("maximum", "minimum", "fmod", "remainder"))
        case(name + "_int_num", "tg.%s(a, 2)" % op, lambda a, tf=tf: tf(a, 2), [X(5, dtype="int64", gen="int")])
        case(name + "_int_float_num", "tg.%s(a, 2.5)" % op, lambda a, tf=tf: tf(a, 2.5),
             [X(5, dtype="int64", gen="int")])
    case("rsub_num", "tg.sub(3, a)", lambda a: 3 - a, [X(3, 4)])
    # inexact Lua numbers: backward formulas use them in the gradient's dtype
    f64 = lambda v: torch.tensor(v, dtype=torch.float64)
    case("atan2_num_inexact", "tg.atan2(a, 1.3)", lambda a: torch.atan2(a, f64(1.3)), [X(3, 4)])
    case("atan2_num_left_inexact", "tg.atan2(0.7, a)", lambda a: torch.atan2(f64(0.7), a), [X(3, 4)])
    case("div_num_left_inexact", "tg.div(1.3, a)", lambda a: torch.div(f64(1.3), a), [X(3, 4, gen="pos")])
    case("pow_num_base_inexact", "tg.pow(2.7, a)", lambda a: torch.pow(2.7, a), [X(3, 4)])
    case("pow_num_exp_inexact", "tg.pow(a, 1.3)", lambda a: torch.pow(a, 1.3), [X(3, 4, gen="pos")])
    case("fmod_num_left_inexact", "tg.fmod(7.3, a)", lambda a: torch.fmod(f64(7.3), a), [X(3, 4, gen="pos")])
    case("remainder_num_left", "tg.remainder(5, a)", lambda a: torch.remainder(torch.tensor(5), a),
         [X(5, dtype="int64", gen="nz")])
    case("mod_num_left", "7.5 % a", lambda a: torch.remainder(torch.tensor(7.5, dtype=torch.float64), a),
         [X(4, gen="uni", lo=1.1, hi=3)], gradcheck=False)
    case("mod_num_right", "a % 3", lambda a: a % 3, [X(6, dtype="int64", gen="int", lo=-9, hi=9)])
    case("mod_num_right_neg", "a % -2.5", lambda a: a % -2.5, [X(3, 4, gen="uni", lo=-4, hi=4)], gradcheck=False)
    case("add_alpha_num", "tg.add(a, 2, {alpha = 3})", lambda a: torch.add(a, 2, alpha=3), [X(5, dtype="int64", gen="int")])
    case("add_alpha_int_tensors", "tg.add(a, b, {alpha = 3})", lambda a, b: torch.add(a, b, alpha=3),
         [X(5, dtype="int64", gen="int"), X(5, dtype="int64", gen="int")])
    case("add_alpha_float_int", "tg.add(a, b, {alpha = 2.5})", lambda a, b: torch.add(a, b, alpha=2.5),
         [X(5, dtype="int64", gen="int"), X(5, dtype="int64", gen="int")])
    case("add_alpha_bools", "tg.add(a, b, {alpha = 2})", lambda a, b: torch.add(a, b, alpha=2),
         [X(4, dtype="bool", gen="data", data=[1, 1, 0, 0]), X(4, dtype="bool", gen="data", data=[1, 0, 1, 0])])
    case("sub_alpha_half_bcast", "a:sub(b, {alpha = 0.5})", lambda a, b: torch.sub(a, b, alpha=0.5), [X(3, 1), X(4)])
    # ties: maximum/minimum split the gradient in half, as PyTorch
    tie_a = [1.0, 2.0, 3.0, -1.0, 0.5, 0.5]
    tie_b = [1.0, 1.0, 4.0, -1.0, 0.5, 0.7]
    case("maximum_ties", "a:maximum(b)", torch.maximum, [X(6, data=tie_a), X(6, data=tie_b)], gradcheck=False)
    case("minimum_ties", "a:minimum(b)", torch.minimum, [X(6, data=tie_a), X(6, data=tie_b)], gradcheck=False)
    # special values
    inf, nan = float("inf"), float("nan")
    sa = [nan, 1.0, nan, inf, -inf, 5.0, -5.0, 0.0, -0.0, 5.5, -5.5, 3.0]
    sb = [1.0, nan, nan, 1.0, 2.0, 0.0, 0.0, 3.0, 3.0, -2.0, 2.0, inf]
    for name in ("maximum", "minimum", "atan2", "fmod", "remainder", "div", "logical_and", "eq"):
        case(name + "_special", "tg.%s(a, b)" % name, getattr(torch, name), [X(12, data=sa), X(12, data=sb)], grad=False)
    case("fmod_int_signs", "tg.fmod(a, b)", torch.fmod,
         [X(8, dtype="int64", data=[5, -5, 5, -5, 7, -7, 0, -9223372036854775807 - 1]),
          X(8, dtype="int64", data=[3, 3, -3, -3, 1, -1, 4, -1])])
    case("remainder_int_signs", "tg.remainder(a, b)", torch.remainder,
         [X(8, dtype="int64", data=[5, -5, 5, -5, 7, -7, 0, -9223372036854775807 - 1]),
          X(8, dtype="int64", data=[3, 3, -3, -3, 1, -1, 4, -1])])
    # bool arithmetic as torch: + is or, * is and, / gives float32
    case("bool_add", "a + b", lambda a, b: a + b, [X(4, dtype="bool", data=[1, 1, 0, 0]), X(4, dtype="bool", data=[1, 0, 1, 0])])
    case("bool_mul", "a * b", lambda a, b: a * b, [X(4, dtype="bool", data=[1, 1, 0, 0]), X(4, dtype="bool", data=[1, 0, 1, 0])])
    case("bool_div", "a / b", lambda a, b: a / b, [X(4, dtype="bool", data=[1, 1, 0, 0]), X(4, dtype="bool", data=[1, 0, 1, 0])])
    case("bool_add_num", "a + 2", lambda a: a + 2, [X(4, dtype="bool", data=[1, 1, 0, 0])])
    case("bool_add_true", "tg.add(a, true)", lambda a: a + True, [X(4, dtype="bool", data=[1, 1, 0, 0])])
    case("int_div", "a / b", lambda a, b: a / b, [X(5, dtype="int64", gen="int"), X(5, dtype="int64", gen="nz")])
    case("int_div_zero", "a / b", lambda a, b: a / b,
         [X(3, dtype="int64", data=[1, -2, 0]), X(3, dtype="int64", data=[0, 0, 0])])


def promotion_table():
    ops = {"add": torch.add, "mul": torch.mul, "div": torch.div, "maximum": torch.maximum, "atan2": torch.atan2,
           "remainder": torch.remainder, "eq": torch.eq, "logical_and": torch.logical_and, "sub": torch.sub}
    operands = ["t:bool", "t:int64", "t:float32", "t:float64", "z:bool", "z:int64", "z:float32", "z:float64",
                "n:int", "n:float", "n:bool"]

    def make(s):
        kind, dt = s.split(":")
        if kind == "t":
            return torch.tensor([1, 1], dtype=TDT[dt]) if dt != "bool" else torch.tensor([True, False])
        if kind == "z":
            return torch.tensor(1, dtype=TDT[dt]) if dt != "bool" else torch.tensor(True)
        return {"int": 2, "float": 2.5, "bool": True}[dt]

    rows = []
    for op, fn in ops.items():
        for a in operands:
            for b in operands:
                if a.startswith("n:") and b.startswith("n:"):
                    continue
                ta, tb = make(a), make(b)
                if (not torch.is_tensor(ta) or not torch.is_tensor(tb)) and \
                        op not in ("add", "mul", "div", "sub", "remainder", "eq"):
                    continue  # torch.maximum(tensor, number) is not a torch signature
                try:
                    if torch.is_tensor(ta):
                        r = fn(ta, tb)
                    else:
                        r = {"add": lambda: ta + tb, "mul": lambda: ta * tb, "eq": lambda: tb == ta,
                             "div": lambda: ta / tb, "sub": lambda: ta - tb, "remainder": lambda: ta % tb}[op]()
                    rows.append((op, a, b, str(r.dtype).replace("torch.", ""), None))
                except Exception as e:
                    rows.append((op, a, b, None, str(e).splitlines()[0]))
    return rows


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else "spec/fixtures/elementwise.lua"
    unary_cases()
    binary_cases()
    names = set()
    for cs in CASES:
        assert cs["name"] not in names, cs["name"]
        names.add(cs["name"])
    results = [run_case(cs) for cs in CASES]
    parts = []
    w = parts.append
    w("-- generated by tools/gen_elementwise_fixtures.py from PyTorch %s; do not edit\n" % torch.__version__)
    w("-- cases: expr over inputs a, b, c; out (or err); grad_fn, grad_out and grads for differentiable ones\n")
    w("return {\ncases = {\n")
    for r in results:
        emit_case(r, w)
    w("},\npromotion = {\n")
    for op, a, b, dt, err in promotion_table():
        if dt:
            w("  {op = %s, a = %s, b = %s, dtype = %s},\n" % (lua_str(op), lua_str(a), lua_str(b), lua_str(dt)))
        else:
            w("  {op = %s, a = %s, b = %s, err = true, torch_err = %s},\n" % (lua_str(op), lua_str(a), lua_str(b),
                                                                           lua_str(err)))
    w("},\n}\n")
    with open(out_path, "w") as f:
        f.write("".join(parts))
    print("%s: %d cases" % (out_path, len(results)))


if __name__ == "__main__":
    main()
