#!/usr/bin/env python3
"""gen_reduce_fixtures.py: PyTorch reference fixtures for tgrad's reductions.

usage: python3 tools/gen_reduce_fixtures.py [out.lua]   (default spec/fixtures/reduce.lua)

Walks every reduction (sum mean prod amax amin max min argmax argmin var std
norm logsumexp all any count_nonzero cumsum cumprod sort topk) over every
variant: all dims, one dim, negative dim, a list of dims, keepdim (positional
boolean and option), non-contiguous inputs (transposed, narrowed, expanded),
dtypes (float32, float64, int64, bool), special values (zeros for prod and
cumprod, ties for max/amax, large values for logsumexp), and gradients of
gradients (create_graph) for the backward formulas that are written with
differentiable ops. The case format and the input generators are those of
tools/gen_fixtures.py (read by spec/reduce_spec.lua); Lua dims are 1-based,
returned indices are 1-based (the torch side adds 1).
"""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402

import gen_fixtures as G  # noqa: E402

X, F64, F32, I64, BOOL = G.X, G.F64, G.F32, G.I64, G.BOOL
CASES = []


def case(name, expr, fn, inputs, tol=None, gradcheck=True):
    CASES.append(dict(issue=3, name=name, expr=expr, fn=fn, inputs=inputs, tol=tol, gradcheck=gradcheck))


# ------------------------------------------------------------ the torch side
def tdims(dims, nd):
    """Lua dims (1-based / negative) -> torch dims"""
    if isinstance(dims, int):
        dims = [dims]
    return tuple(d - 1 if d > 0 else d for d in dims) if dims is not None else tuple(range(nd))


def tred(op, x, dims, keepdim, **kw):
    nd = x.dim()
    td = tdims(dims, nd)
    if op == "prod":  # torch's prod takes one dim: reduce one at a time
        out = x
        for d in sorted((d % nd for d in td), reverse=True):
            out = out.prod(d, keepdim=True)
        return out if keepdim else out.reshape([s for i, s in enumerate(x.shape) if i not in [d % nd for d in td]])
    if op == "count_nonzero":
        return (x != 0).sum(td, keepdim=keepdim)
    if op == "norm":
        p = kw["p"]
        if p == "fro":  # the Frobenius norm over any dims is the 2-norm of those elements
            p = 2
        return torch.linalg.vector_norm(x, p, td, keepdim=keepdim)
    if op in ("var", "std"):
        return getattr(x, op)(td, correction=kw.get("correction", 1), keepdim=keepdim)
    if op in ("all", "any"):
        out = x
        for d in sorted((d % nd for d in td), reverse=True):
            out = getattr(out, op)(d, keepdim=True)
        return out if keepdim else out.reshape([s for i, s in enumerate(x.shape) if i not in [d % nd for d in td]])
    return getattr(torch, op)(x, td, keepdim=keepdim)


# ------------------------------------------------------------ the Lua side
def lua_dims(dims):
    if dims is None:
        return None
    return "{" + ", ".join(str(d) for d in dims) + "}" if isinstance(dims, (list, tuple)) else str(dims)


def lua_call(op, dims, keepdim, style, pre=None, extra_opts=None):
    args = list(pre or [])
    d = lua_dims(dims)
    opts = dict(extra_opts or {})
    if keepdim and style == "opt":
        opts["keepdim"] = "true"
    if d is None and (keepdim and style == "pos"):
        d = "nil"
    if d is not None:
        args.append(d)
    if keepdim and style == "pos":
        args.append("true")
    if opts:
        args.append("{" + ", ".join(f"{k} = {v}" for k, v in opts.items()) + "}")
    return f"{op}({', '.join(args)})"


# dims variants over a 3-D input: (label, lua dims, keepdim, style)
VARIANTS = [
    ("all", None, False, None),
    ("all_keepdim", None, True, "opt"),
    ("all_keepdim_pos", None, True, "pos"),
    ("dim2", 2, False, None),
    ("dim1_keepdim_pos", 1, True, "pos"),
    ("negdim", -1, False, None),
    ("dims13", [1, 3], False, None),
    ("dims31_keepdim", [3, 1], True, "opt"),
    ("negdims", [-1, -2], False, None),
    ("dims_all_list", [1, 2, 3], False, None),
]

# input layouts: (label, Lua transform of a, torch transform, input shape)
LAYOUTS = [
    ("contig", "a", lambda a: a, (2, 3, 4)),
    ("transposed", "a:transpose(1, 3)", lambda a: a.transpose(0, 2), (4, 3, 2)),
    ("narrowed", "a:narrow(3, 2, 2)", lambda a: a.narrow(2, 1, 2), (2, 3, 5)),
]


def dims_op(op, gen="randn", dtype=F64, kw=None, lua_pre=None, extra_opts=None, layouts=LAYOUTS,
            variants=VARIANTS, gradcheck=True, prefix=None):
    kw = kw or {}
    for lname, lexpr, tf, shape in layouts:
        for vname, dims, keepdim, style in variants:
            expr = lexpr + ":" + lua_call(op, dims, keepdim, style, lua_pre, extra_opts)
            fn = (lambda tf, dims, keepdim: lambda a: tred(op, tf(a), dims, keepdim, **kw))(tf, dims, keepdim)
            case(f"{prefix or op}_{lname}_{vname}", expr, fn, [X(*shape, dtype=dtype, gen=gen)], gradcheck=gradcheck)


def VI(r):
    return (r[0], r[1] + 1)


def main():
    # ---------------------------------------------------- dims-style reductions
    for op in ("sum", "mean", "amax", "amin", "logsumexp"):
        dims_op(op)
    dims_op("prod", gen="pos")
    dims_op("var")
    dims_op("std")
    dims_op("var", lua_pre=None, extra_opts={"correction": "0"}, kw={"correction": 0}, prefix="var_corr0",
            layouts=LAYOUTS[:1])
    dims_op("std", extra_opts={"unbiased": "false"}, kw={"correction": 0}, prefix="std_unbiased_false",
            layouts=LAYOUTS[:1])
    dims_op("var", extra_opts={"correction": "2"}, kw={"correction": 2}, prefix="var_corr2", layouts=LAYOUTS[:1])
    for p, lp, label in ((2, "2", "p2"), (1, "1", "p1"), (math.inf, "math.huge", "pinf"),
                         (-math.inf, "-math.huge", "pneginf"), (3, "3", "p3"), (0.5, "0.5", "p05"),
                         (1.5, "1.5", "p15"), ("fro", '"fro"', "fro"), (math.inf, '"inf"', "pinf_str"),
                         (-math.inf, '"-inf"', "pneginf_str")):
        dims_op("norm", kw={"p": p}, lua_pre=[lp], prefix=f"norm_{label}",
                layouts=LAYOUTS if label in ("p2", "p1", "pinf") else LAYOUTS[:1],
                variants=VARIANTS if label in ("p2", "p1", "pinf", "fro") else VARIANTS[:7])
    case("norm_default_p", "a:norm()", lambda a: torch.norm(a), [X(3, 4)])
    case("norm_fn", "tg.norm(a, 2, 1)", lambda a: torch.norm(a, 2, 0), [X(3, 4)])
    for op in ("all", "any", "count_nonzero"):
        dims_op(op, gen="int", dtype=I64, layouts=LAYOUTS[:2])
        dims_op(op, gen="bool", dtype=BOOL, layouts=LAYOUTS[:1], prefix=op + "_bool")
        dims_op(op, gen="int", dtype=F64, layouts=LAYOUTS[:1], prefix=op + "_f64")
    # expanded inputs (stride 0): sum-like reductions
    for op, gen in (("sum", "randn"), ("prod", "pos"), ("var", "randn"), ("logsumexp", "randn")):
        case(f"{op}_expanded_dim2", f"a:expand(2, 3, 4):{op}(2)",
             (lambda op: lambda a, op=op: tred(op, a.expand(2, 3, 4), [2], False))(op), [X(2, 1, 4, gen=gen)])
        case(f"{op}_expanded_all", f"a:expand(2, 3, 4):{op}()",
             (lambda op: lambda a, op=op: tred(op, a.expand(2, 3, 4), None, False))(op), [X(2, 1, 4, gen=gen)])
    case("norm_expanded", "a:expand(2, 3, 4):norm(2, {1, 2})",
         lambda a: torch.linalg.vector_norm(a.expand(2, 3, 4), 2, (0, 1)), [X(2, 1, 4)])

    # ----------------------------------------------------------- dtypes
    for op in ("sum", "prod", "amax", "amin", "all", "any", "count_nonzero"):
        case(f"{op}_i64_dim", f"a:{op}(2)", (lambda op: lambda a, op=op: tred(op, a, [2], False))(op),
             [X(3, 4, dtype=I64, gen="int")])
        case(f"{op}_bool_all", f"a:{op}()", (lambda op: lambda a, op=op: tred(op, a, None, False))(op),
             [X(3, 4, dtype=BOOL, gen="bool")])
    for op in ("sum", "prod", "amax", "var", "std", "norm", "logsumexp", "mean"):
        case(f"{op}_f32_dim", f"a:{op}(2)" if op != "norm" else "a:norm(2, 2)",
             (lambda op: lambda a, op=op: tred(op, a, [2], False, p=2))(op), [X(3, 4, dtype=F32)])
    case("logsumexp_i64", "a:logsumexp(2)", lambda a: a.logsumexp(1), [X(3, 4, dtype=I64, gen="int")])
    case("prod_i64_all", "a:prod()", lambda a: a.prod(), [X(3, 4, dtype=I64, gen="int", lo=1, hi=4)])
    case("max_i64", "a:max()", lambda a: a.max(), [X(3, 4, dtype=I64, gen="dint", lo=-20, hi=20)])
    case("max_i64_dim", "a:max(2)", lambda a: VI(a.max(1)), [X(3, 4, dtype=I64, gen="dint", lo=-20, hi=20)])
    case("max_bool", "a:max()", lambda a: a.max(), [X(3, 4, dtype=BOOL, gen="bool")])
    case("min_bool_dim", "a:min(1)", lambda a: VI(a.min(0)), [X(3, 4, dtype=BOOL, data=[1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0])])
    case("argmax_i64", "a:argmax(1)", lambda a: a.argmax(0) + 1, [X(3, 4, dtype=I64, gen="dint", lo=-20, hi=20)])

    # ------------------------------------------------- max/min, argmax/argmin
    for op in ("max", "min"):
        for lname, lexpr, tf, shape in LAYOUTS:
            case(f"{op}_all_{lname}", f"{lexpr}:{op}()", (lambda tf: lambda a, op=op: getattr(tf(a), op)())(tf), [X(*shape)])
            case(f"{op}_dim2_{lname}", f"{lexpr}:{op}(2)", (lambda tf: lambda a, op=op: VI(getattr(tf(a), op)(1)))(tf), [X(*shape)])
            case(f"{op}_negdim_keepdim_{lname}", f"{lexpr}:{op}(-1, true)",
                 (lambda tf: lambda a, op=op: VI(getattr(tf(a), op)(-1, keepdim=True)))(tf), [X(*shape)])
            case(f"{op}_dim1_keepdim_opt_{lname}", f"{lexpr}:{op}(1, {{keepdim = true}})",
                 (lambda tf: lambda a, op=op: VI(getattr(tf(a), op)(0, keepdim=True)))(tf), [X(*shape)])
        case(f"{op}_fn", f"tg.{op}(a, 2)", lambda a, op=op: VI(getattr(torch, op)(a, 1)), [X(3, 4)])
        case(f"{op}_0d", f"a:{op}()", lambda a, op=op: getattr(a, op)(), [X()])
        case(f"{op}_0d_dim", f"a:{op}(1)", lambda a, op=op: VI(getattr(a, op)(0)), [X()])
        case(f"{op}_1d", f"a:{op}(1)", lambda a, op=op: VI(getattr(a, op)(0)), [X(5)])
        # ties: max() shares the gradient evenly, max(d) picks the first occurrence
        case(f"{op}_all_ties", f"a:{op}()", lambda a, op=op: getattr(a, op)(),
             [X(2, 3, data=[1.0, 2.0, 2.0, -1.0, 2.0, -1.0])], gradcheck=False)
        case(f"{op}_dim_ties", f"a:{op}(2)", lambda a, op=op: VI(getattr(a, op)(1)),
             [X(2, 3, data=[1.0, 2.0, 2.0, -1.0, 2.0, -1.0])], gradcheck=False)
        case(f"a{op}_ties", f"a:a{op}(2)", lambda a, op=op: getattr(a, "a" + op)(1),
             [X(2, 3, data=[1.0, 2.0, 2.0, -1.0, 2.0, -1.0])], gradcheck=False)
        case(f"a{op}_ties_dims", f"a:a{op}({{1, 2}})", lambda a, op=op: getattr(a, "a" + op)((0, 1)),
             [X(2, 3, data=[1.0, 2.0, 2.0, -1.0, 2.0, -1.0])], gradcheck=False)
        case(f"{op}_nan", f"a:{op}(2)", lambda a, op=op: VI(getattr(a, op)(1)),
             [X(2, 3, data=[1.0, math.nan, 2.0, -1.0, 3.0, math.nan], rg=False)])
    case("max_elementwise", "a:max(b)", lambda a, b: torch.max(a, b), [X(3, 4), X(3, 4)])
    case("min_elementwise", "tg.min(a, b)", lambda a, b: torch.min(a, b), [X(3, 4), X(4)])
    for op in ("argmax", "argmin"):
        for lname, lexpr, tf, shape in LAYOUTS:
            case(f"{op}_all_{lname}", f"{lexpr}:{op}()", (lambda tf: lambda a, op=op: getattr(tf(a), op)() + 1)(tf),
                 [X(*shape, rg=False)])
            case(f"{op}_dim2_{lname}", f"{lexpr}:{op}(2)", (lambda tf: lambda a, op=op: getattr(tf(a), op)(1) + 1)(tf),
                 [X(*shape, rg=False)])
            case(f"{op}_negdim_keepdim_{lname}", f"{lexpr}:{op}(-1, true)",
                 (lambda tf: lambda a, op=op: getattr(tf(a), op)(-1, keepdim=True) + 1)(tf), [X(*shape, rg=False)])
        case(f"{op}_ties", f"a:{op}(2)", lambda a, op=op: getattr(a, op)(1) + 1,
             [X(2, 3, data=[1.0, 2.0, 2.0, -1.0, 2.0, -1.0], rg=False)])
        case(f"{op}_keepdim_all", f"a:{op}(nil, true)", lambda a, op=op: getattr(a, op)(keepdim=True) + 1,
             [X(2, 3, rg=False)])

    # ------------------------------------------------------ prod with zeros
    z1 = [1.5, 0.0, -2.0, 0.5, 3.0, -1.0]
    z2 = [1.5, 0.0, -2.0, 0.0, 3.0, -1.0]
    for lbl, data in (("one_zero", z1), ("two_zeros", z2)):
        case(f"prod_all_{lbl}", "a:prod()", lambda a: a.prod(), [X(2, 3, data=data)])
        case(f"prod_dim2_{lbl}", "a:prod(2)", lambda a: a.prod(1), [X(2, 3, data=data)])
        case(f"prod_dim1_{lbl}", "a:prod(1, true)", lambda a: a.prod(0, keepdim=True), [X(2, 3, data=data)])
        case(f"prod_dims_{lbl}", "a:prod({1, 2})", lambda a: a.prod(1).prod(0), [X(2, 3, data=data)])
        case(f"prod_t_{lbl}", "a:t():prod(2)", lambda a: a.t().prod(1), [X(2, 3, data=data)])
    case("prod_row_two_zeros", "a:prod(2)", lambda a: a.prod(1), [X(2, 3, data=[0.0, 0.0, 2.0, 1.0, 3.0, -1.0])])
    case("prod_0d", "a:prod()", lambda a: a.prod(), [X()])
    case("prod_0d_dim", "a:prod(1)", lambda a: a.prod(0), [X()])

    # ------------------------------------------------------ special values
    case("logsumexp_large", "a:logsumexp(2)", lambda a: a.logsumexp(1),
         [X(2, 3, data=[1000.0, 1001.0, 999.0, -1000.0, -1002.0, -1001.0])])
    case("logsumexp_neg_inf", "a:logsumexp(2)", lambda a: a.logsumexp(1),
         [X(2, 2, data=[-math.inf, 1.0, -math.inf, -math.inf], rg=False)])
    case("logsumexp_pos_inf", "a:logsumexp(2)", lambda a: a.logsumexp(1),
         [X(2, 2, data=[math.inf, 1.0, 2.0, 3.0], rg=False)])
    case("norm_zero_vec", "a:norm(2, 2)", lambda a: torch.linalg.vector_norm(a, 2, 1),
         [X(2, 3, data=[0.0, 0.0, 0.0, 1.0, 2.0, 2.0])], gradcheck=False)
    case("norm_zero_all", "a:norm()", lambda a: torch.linalg.vector_norm(a), [X(2, 2, data=[0.0] * 4)], gradcheck=False)
    case("norm_inf_ties", "a:norm(math.huge, 2)", lambda a: torch.linalg.vector_norm(a, math.inf, 1),
         [X(2, 3, data=[1.0, -2.0, 2.0, -1.0, 0.5, 0.25])], gradcheck=False)
    case("norm_p0", "a:norm(0, 2)", lambda a: torch.linalg.vector_norm(a, 0, 1), [X(2, 3, data=[0.0, 1.0, 2.0, 0.0, 0.0, -3.0])])
    case("var_single", "a:var(2)", lambda a: a.var(1), [X(3, 1, rg=False)])
    case("std_zero", "a:std(2, {correction = 0})", lambda a: a.std(1, correction=0), [X(2, 2, data=[1.0, 1.0, 2.0, 3.0], rg=False)])
    case("sum_empty", "a:sum(1)", lambda a: a.sum(0), [X(0, 3, rg=False)])
    case("prod_empty", "a:prod(1)", lambda a: a.prod(0), [X(0, 3, rg=False)])
    case("all_empty", "a:all()", lambda a: a.all(), [X(0, 3, dtype=BOOL, gen="bool")])
    case("any_empty", "a:any()", lambda a: a.any(), [X(0, 3, dtype=BOOL, gen="bool")])
    case("logsumexp_empty", "a:logsumexp(1)", lambda a: a.logsumexp(0), [X(0, 3, rg=False)])
    case("norm_empty", "a:norm()", lambda a: torch.linalg.vector_norm(a), [X(0, 3, rg=False)])
    case("amax_empty_kept", "a:amax(2)", lambda a: a.amax(1), [X(0, 3, rg=False)])

    # ------------------------------------------------------- scans
    for op in ("cumsum", "cumprod"):
        gen = "randn" if op == "cumsum" else "pos"
        for d in (1, 2, 3, -1):
            case(f"{op}_dim{d}", f"a:{op}({d})", (lambda d: lambda a, op=op: getattr(a, op)(d - 1 if d > 0 else d))(d),
                 [X(2, 3, 4, gen=gen)])
        case(f"{op}_transposed", f"a:transpose(1, 3):{op}(2)", lambda a, op=op: getattr(a.transpose(0, 2), op)(1),
             [X(2, 3, 4, gen=gen)])
        case(f"{op}_narrowed", f"a:narrow(2, 2, 3):{op}(2)", lambda a, op=op: getattr(a.narrow(1, 1, 3), op)(1),
             [X(3, 5, gen=gen)])
        case(f"{op}_expanded", f"a:expand(3, 4):{op}(1)", lambda a, op=op: getattr(a.expand(3, 4), op)(0), [X(1, 4, gen=gen)])
        case(f"{op}_fn", f"tg.{op}(a, 1)", lambda a, op=op: getattr(torch, op)(a, 0), [X(5, gen=gen)])
        case(f"{op}_0d", f"a:{op}(1)", lambda a, op=op: getattr(a, op)(0), [X()])
        case(f"{op}_i64", f"a:{op}(2)", lambda a, op=op: getattr(a, op)(1), [X(3, 4, dtype=I64, gen="int")])
        case(f"{op}_bool", f"a:{op}(1)", lambda a, op=op: getattr(a, op)(0), [X(3, 4, dtype=BOOL, gen="bool")])
        case(f"{op}_f32", f"a:{op}(2)", lambda a, op=op: getattr(a, op)(1), [X(3, 4, dtype=F32, gen=gen)])
    case("cumprod_one_zero", "a:cumprod(2)", lambda a: a.cumprod(1), [X(2, 4, data=[1.5, 0.0, -2.0, 0.5, 3.0, -1.0, 0.5, 2.0])])
    case("cumprod_two_zeros", "a:cumprod(2)", lambda a: a.cumprod(1), [X(2, 4, data=[1.5, 0.0, -2.0, 0.0, 0.0, -1.0, 0.5, 0.0])])
    case("cumprod_zero_dim1", "a:cumprod(1)", lambda a: a.cumprod(0), [X(3, 2, data=[0.0, 1.5, 2.0, 0.0, -1.0, 3.0])])

    # --------------------------------------------------------- sort, topk
    for lname, lexpr, tf, shape in LAYOUTS:
        case(f"sort_default_{lname}", f"{lexpr}:sort()", (lambda tf: lambda a: VI(tf(a).sort()))(tf), [X(*shape)])
        case(f"sort_dim1_desc_{lname}", f"{lexpr}:sort(1, {{descending = true}})",
             (lambda tf: lambda a: VI(tf(a).sort(0, descending=True)))(tf), [X(*shape)])
        case(f"topk_default_{lname}", f"{lexpr}:topk(2)", (lambda tf: lambda a: VI(tf(a).topk(2)))(tf), [X(*shape)])
        case(f"topk_dim2_smallest_{lname}", f"{lexpr}:topk(2, 2, {{largest = false}})",
             (lambda tf: lambda a: VI(tf(a).topk(2, 1, largest=False)))(tf), [X(*shape)])
    case("sort_desc_positional", "a:sort(2, true)", lambda a: VI(a.sort(1, descending=True)), [X(3, 4)])
    case("sort_opts_only", "a:sort({descending = true})", lambda a: VI(a.sort(descending=True)), [X(3, 4)])
    case("sort_fn", "tg.sort(a, 1)", lambda a: VI(torch.sort(a, 0)), [X(3, 4)])
    case("sort_negdim", "a:sort(-2)", lambda a: VI(a.sort(-2)), [X(3, 4)])
    case("sort_stable_ties", "a:sort(2, {stable = true})", lambda a: VI(a.sort(dim=1, stable=True)),
         [X(2, 6, dtype=I64, data=[3, 1, 2, 1, 3, 1, 0, 0, 5, 0, 5, 5])])
    case("sort_stable_ties_desc", "a:sort(2, {descending = true, stable = true})",
         lambda a: VI(a.sort(dim=1, descending=True, stable=True)),
         [X(2, 6, dtype=I64, data=[3, 1, 2, 1, 3, 1, 0, 0, 5, 0, 5, 5])])
    case("sort_f64_ties_stable", "a:sort(1, {stable = true})", lambda a: VI(a.sort(dim=0, stable=True)),
         [X(6, data=[0.5, -1.0, 0.5, 2.0, -1.0, 0.5], rg=False)])
    case("sort_nan", "a:sort()", lambda a: VI(a.sort()), [X(5, data=[1.0, math.nan, -1.0, 3.0, 0.0], rg=False)])
    case("sort_nan_desc", "a:sort(1, true)", lambda a: VI(a.sort(0, descending=True)),
         [X(5, data=[1.0, math.nan, -1.0, 3.0, 0.0], rg=False)])
    case("sort_i64", "a:sort(1)", lambda a: VI(a.sort(0)), [X(5, 3, dtype=I64, gen="dint", lo=-20, hi=20)])
    case("sort_bool", "a:sort(1, {stable = true})", lambda a: VI(a.sort(dim=0, stable=True)), [X(6, dtype=BOOL, data=[1, 0, 1, 0, 0, 1])])
    case("sort_f32", "a:sort(2)", lambda a: VI(a.sort(1)), [X(3, 4, dtype=F32)])
    case("sort_0d", "a:sort()", lambda a: VI(a.sort()), [X()])
    case("sort_long_lane", "a:sort(1)", lambda a: VI(a.sort(0)), [X(40)])
    case("topk_k_full", "a:topk(4, 2)", lambda a: VI(a.topk(4, 1)), [X(3, 4)])
    case("topk_k0", "a:topk(0, 2)", lambda a: VI(a.topk(0, 1)), [X(3, 4, rg=False)])
    case("topk_positional_smallest", "a:topk(3, 1, false)", lambda a: VI(a.topk(3, 0, largest=False)), [X(5, 2)])
    case("topk_unsorted_opt", "a:topk(2, 2, {sorted = false})", lambda a: VI(a.topk(2, 1, sorted=True)), [X(3, 4)])
    case("topk_fn", "tg.topk(a, 3)", lambda a: VI(torch.topk(a, 3)), [X(2, 5)])
    case("topk_i64", "a:topk(2)", lambda a: VI(a.topk(2)), [X(3, 4, dtype=I64, gen="dint", lo=-20, hi=20)])
    case("topk_f32", "a:topk(2, 1)", lambda a: VI(a.topk(2, 0)), [X(3, 4, dtype=F32)])
    case("topk_long_lane", "a:topk(5)", lambda a: VI(a.topk(5)), [X(2, 40)])

    # ----------------------------------------- gradients of gradients (create_graph)
    # enable_grad: gradcheck evaluates the expression under no_grad for its finite differences
    GG = "tg.enable_grad(function() return tg.autograd.grad({}, a, {{create_graph = true}})[1] end)"

    def gg(name, lua_out, tfn, inputs):
        case(name, GG.format(lua_out), lambda a: torch.autograd.grad(tfn(a), a, create_graph=True)[0], inputs)
    gg("gg_prod_all", "a:prod()", lambda a: a.prod(), [X(2, 3, gen="pos")])
    gg("gg_prod_dim", "(a:prod(2) * a:select(2, 1)):sum()", lambda a: (a.prod(1) * a[:, 0]).sum(), [X(2, 3)])
    gg("gg_prod_one_zero", "a:prod(2):sum()", lambda a: a.prod(1).sum(), [X(2, 3, data=z1)])
    gg("gg_prod_all_one_zero", "a:prod()", lambda a: a.prod(), [X(2, 3, data=z1)])
    gg("gg_prod_two_zeros", "a:prod(2):sum()", lambda a: a.prod(1).sum(), [X(2, 3, data=[0.0, 0.0, 2.0, 1.0, 0.0, -1.0])])
    gg("gg_cumprod", "(a:cumprod(2) * a):sum()", lambda a: (a.cumprod(1) * a).sum(), [X(2, 4)])
    gg("gg_cumprod_zero", "(a:cumprod(2) * a):sum()", lambda a: (a.cumprod(1) * a).sum(),
       [X(2, 4, data=[1.5, 0.0, -2.0, 0.5, 3.0, -1.0, 0.0, 2.0])])
    gg("gg_cumsum", "(a:cumsum(2) * a):sum()", lambda a: (a.cumsum(1) * a).sum(), [X(2, 4)])
    gg("gg_norm", "a:norm(2, 2):sum()", lambda a: torch.linalg.vector_norm(a, 2, 1).sum(), [X(2, 3)])
    gg("gg_norm_p3", "a:norm(3)", lambda a: torch.linalg.vector_norm(a, 3), [X(2, 3)])
    gg("gg_var", "(a:var(2) * a:select(2, 1)):sum()", lambda a: (a.var(1) * a[:, 0]).sum(), [X(2, 3)])
    gg("gg_std", "a:std(2):sum()", lambda a: a.std(1).sum(), [X(2, 3)])
    gg("gg_logsumexp", "a:logsumexp(2):sum()", lambda a: a.logsumexp(1).sum(), [X(2, 3)])
    gg("gg_max_dim", "((a:max(2)) * a:select(2, 1)):sum()", lambda a: (a.max(1)[0] * a[:, 0]).sum(), [X(2, 3)])
    gg("gg_amax", "(a:amax(1) ^ 2):sum()", lambda a: (a.amax(0) ** 2).sum(), [X(2, 3)])
    gg("gg_sort", "((a:sort(2)) ^ 2 * a):sum()", lambda a: (a.sort(1)[0] ** 2 * a).sum(), [X(2, 3)])
    gg("gg_topk", "((a:topk(2, 2)) ^ 3):sum()", lambda a: (a.topk(2, 1)[0] ** 3).sum(), [X(2, 3)])

    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.normpath(os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "spec", "fixtures", "reduce.lua"))
    names = set()
    lines = ["-- generated by tools/gen_reduce_fixtures.py from PyTorch " + torch.__version__ + "; do not edit",
             "-- each case: expr over input a (b); outputs; grad_outs/grads for differentiable cases",
             "return {"]
    for c in CASES:
        assert c["name"] not in names, "duplicate case " + c["name"]
        names.add(c["name"])
        r = G.run_case(c)
        parts = [f"name = {G.lua_str(c['name'])}", f"expr = {G.lua_str(c['expr'])}"]
        ins = [G.lua_tensor(t, ", requires_grad = true" if t.requires_grad else "") for t in r["ins"]]
        parts.append("inputs = {" + ", ".join(ins) + "}")
        parts.append("outputs = {" + ", ".join(G.lua_tensor(o) for o in r["outs"]) + "}")
        if r["diff"]:
            parts.append("grad_outs = {" + ", ".join(G.lua_tensor(g) if g is not None else "false" for g in r["gos"]) + "}")
            parts.append("grads = {" + ", ".join(G.lua_tensor(g) if g is not None else "false" for g in r["grads"]) + "}")
        parts.append(f"tol = {r['tol']!r}")
        parts.append(f"gradcheck = {'true' if r['gradcheck'] else 'false'}")
        lines.append("  {" + ",\n   ".join(parts) + "},")
    lines.append("}")
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {out_path}: {len(CASES)} cases, {os.path.getsize(out_path)} bytes")


if __name__ == "__main__":
    main()
