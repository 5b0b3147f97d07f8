#!/usr/bin/env python3
"""gen_shape_fixtures.py: PyTorch reference fixtures for tgrad's views, copies,
indexing and linear algebra beyond the shared table (tools/gen_fixtures.py):
tensor keys (t[idx], t[mask]), assignment, non-contiguous / expanded index
tensors, float32/int64/bool data movement, duplicate indices, einsum with
ellipsis and 3 operands, and the grad_fn names PyTorch gives.

usage: python3 tools/gen_shape_fixtures.py [out.lua]   (default spec/fixtures/shape.lua)

The format is gen_fixtures.py's (its input generators and writer are reused),
with two more fields per case:
  grad_fn = "GatherBackward0"   -- PyTorch's name for the first output's grad_fn (or absent)
  check_grad_fn = true|false    -- false where tgrad composes the op differently
Index *inputs* are 1-based (what tgrad sees); the torch functions subtract 1.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_fixtures as G  # noqa: E402
import torch  # noqa: E402

X, I = G.X, G.I
F64, F32, I64, BOOL = G.F64, G.F32, G.I64, G.BOOL
CASES = []


def case(name, expr, fn, inputs, tol=None, gradcheck=True, check_grad_fn=True):
    CASES.append(dict(issue=3, name=name, expr=expr, fn=fn, inputs=inputs, tol=tol, gradcheck=gradcheck,
                      check_grad_fn=check_grad_fn))


def I1(t, n=0):
    """1-based with negatives from the end -> torch's 0-based (negatives + n when n is given)."""
    return torch.where(t > 0, t - 1, t + n)


def assign(expr_body):
    return "(function() local x = a:clone(); " + expr_body + "; return x end)()"


def cases():
    # ------------------------------------------------------- tensor keys
    case("key_idx_rows", "a[b]", lambda a, b: a[I(b)], [X(4, 3), X(3, dtype=I64, gen="idx", n=4)], check_grad_fn=False)
    case("key_idx_2d", "a[b]", lambda a, b: a[I(b)], [X(4, 3), X(2, 2, dtype=I64, gen="idx", n=4)], check_grad_fn=False)
    case("key_idx_neg", "a[b]", lambda a, b: a[I1(b)], [X(4, 3), X(3, dtype=I64, data=[-1, 1, -4])], check_grad_fn=False)
    case("key_idx_dup", "a[b]", lambda a, b: a[I(b)], [X(3, 2), X(4, dtype=I64, data=[2, 2, 1, 2])], check_grad_fn=False)
    case("key_idx_0d", "a[b]", lambda a, b: a[I(b)], [X(4, 3), X(dtype=I64, data=3)], check_grad_fn=False)
    case("key_idx_t", "a:t()[b]", lambda a, b: a.t()[I(b)], [X(4, 3), X(2, dtype=I64, data=[3, 1])], check_grad_fn=False)
    case("key_mask_full", "a[b]", lambda a, b: a[b], [X(3, 4), X(3, 4, dtype=BOOL, gen="bool")], check_grad_fn=False)
    case("key_mask_rows", "a[b]", lambda a, b: a[b], [X(4, 3), X(4, dtype=BOOL, data=[True, False, True, True])],
         check_grad_fn=False)
    case("key_mask_lead2", "a[b]", lambda a, b: a[b], [X(2, 3, 4), X(2, 3, dtype=BOOL, data=[True, False, True, False, False, True])],
         check_grad_fn=False)
    case("key_mask_gt", "a[a:gt(0)]", lambda a: a[a > 0], [X(3, 4)], check_grad_fn=False)
    case("key_range_t", "a:t()[{{2, 3}, -1}]", lambda a: a.t()[1:3, -1], [X(3, 4)])
    case("key_range_single", "a[{{2}, {1, -2}}]", lambda a: a[1:2, 0:-1], [X(3, 4)])
    case("key_then_sum", "a[{{}, {2, 3}}]:sum()", lambda a: a[:, 1:3].sum(), [X(3, 4)])
    # ------------------------------------------------------- assignment (in place, on a clone)
    nrg = dict(rg=False)
    case("assign_int", assign("x[2] = 5"), lambda a: a.clone().index_fill_(0, torch.tensor(1), 5), [X(3, 4, **nrg)])
    case("assign_pair", assign("x[{2, -1}] = -1.5"), lambda a: _set(a, (1, -1), -1.5), [X(3, 4, **nrg)])
    case("assign_range_tensor", assign("x[{{1, 2}, {}}] = b"), lambda a, b: _set(a, (slice(0, 2), slice(None)), b),
         [X(3, 4, **nrg), X(2, 4, **nrg)])
    case("assign_range_bcast", assign("x[{{}, 2}] = b"), lambda a, b: _set(a, (slice(None), 1), b), [X(3, 4, **nrg), X(3, **nrg)])
    case("assign_mask_number", assign("x[b] = 0"), lambda a, b: _set(a, b, 0.0),
         [X(3, 4, **nrg), X(3, 4, dtype=BOOL, gen="bool")])
    case("assign_mask_rows", assign("x[b] = 7"), lambda a, b: _set(a, b, 7.0),
         [X(3, 4, **nrg), X(3, dtype=BOOL, data=[True, False, True])])
    case("assign_mask_tensor", assign("x[b] = c"), lambda a, b, c: _set(a, b, c),
         [X(2, 3, **nrg), X(2, 3, dtype=BOOL, data=[True, False, True, False, False, True]), X(3, **nrg)])
    case("assign_idx_number", assign("x[b] = 2"), lambda a, b: _set(a, I(b), 2.0),
         [X(4, 3, **nrg), X(2, dtype=I64, data=[4, 2])])
    case("assign_idx_tensor", assign("x[b] = c"), lambda a, b, c: _set(a, I(b), c),
         [X(4, 3, **nrg), X(2, dtype=I64, data=[1, 3]), X(2, 3, **nrg)])
    case("assign_idx_bcast", assign("x[b] = c"), lambda a, b, c: _set(a, I(b), c),
         [X(4, 3, **nrg), X(2, dtype=I64, data=[1, 3]), X(3, **nrg)])
    case("assign_int64", assign("x[{1, 1}] = 42"), lambda a: _set(a, (0, 0), 42), [X(2, 2, dtype=I64, gen="int")])
    # ------------------------------------------------------- gather/scatter/index: layouts, dtypes
    case("gather_t_self", "a:t():gather(1, b)", lambda a, b: a.t().gather(0, I(b)),
         [X(3, 4), X(2, 3, dtype=I64, gen="idx", n=4)])
    case("gather_t_index", "a:gather(2, b:t())", lambda a, b: a.gather(1, I(b).t()),
         [X(3, 4), X(2, 3, dtype=I64, gen="idx", n=4)])
    case("gather_expanded_index", "a:gather(2, b:expand(3, 2))", lambda a, b: a.gather(1, I(b).expand(3, 2)),
         [X(3, 4), X(1, 2, dtype=I64, data=[4, 2])])
    case("gather_neg_index", "a:gather(2, b)", lambda a, b: a.gather(1, I1(b, 3)),
         [X(2, 3), X(2, 2, dtype=I64, data=[-1, 1, -3, 2])])
    case("gather_f32", "a:gather(1, b)", lambda a, b: a.gather(0, I(b)),
         [X(3, 4, dtype=F32), X(2, 4, dtype=I64, gen="idx", n=3)])
    case("gather_int64", "a:gather(2, b)", lambda a, b: a.gather(1, I(b)),
         [X(3, 4, dtype=I64, gen="int"), X(3, 2, dtype=I64, gen="idx", n=4)])
    case("gather_1d", "a:gather(1, b)", lambda a, b: a.gather(0, I(b)), [X(5), X(7, dtype=I64, gen="idx", n=5)])
    case("gather_smaller_index", "a:gather(1, b)", lambda a, b: a.gather(0, I(b)),
         [X(4, 3), X(2, 2, dtype=I64, gen="idx", n=4)])
    case("index_select_t", "a:t():index_select(1, b)", lambda a, b: a.t().index_select(0, I(b)),
         [X(3, 4), X(3, dtype=I64, data=[4, 1, 4])])
    case("index_select_strided_index", "a:index_select(2, b[{{1, -1}}]:flip(1))",
         lambda a, b: a.index_select(1, I(b).flip(0)), [X(2, 5), X(4, dtype=I64, data=[5, 1, 3, 2])])
    case("index_select_f32", "a:index_select(2, b)", lambda a, b: a.index_select(1, I(b)),
         [X(2, 3, dtype=F32), X(4, dtype=I64, gen="idx", n=3)])
    case("index_select_bool", "a:index_select(1, b)", lambda a, b: a.index_select(0, I(b)),
         [X(3, 2, dtype=BOOL, gen="bool"), X(2, dtype=I64, data=[3, 1])])
    case("index_select_0d_index", "a:index_select(1, b)", lambda a, b: a.index_select(0, I(b)),
         [X(3, 2), X(dtype=I64, data=2)])
    case("scatter_t", "a:t():scatter(2, b, c)", lambda a, b, c: a.t().scatter(1, I(b), c),
         [X(3, 2), X(2, 2, dtype=I64, data=[1, 3, 2, 1]), X(2, 2)])
    case("scatter_f32_value", "a:scatter(1, b, -2)", lambda a, b: a.scatter(0, I(b), -2.0),
         [X(3, 2, dtype=F32), X(1, 2, dtype=I64, data=[3, 2])])
    case("scatter_int64", "a:scatter(2, b, c)", lambda a, b, c: a.scatter(1, I(b), c),
         [X(2, 3, dtype=I64, gen="int"), X(2, 1, dtype=I64, data=[3, 1]), X(2, 1, dtype=I64, gen="int")])
    case("scatter_add_dup", "a:scatter_add(2, b, c)", lambda a, b, c: a.scatter_add(1, I(b), c),
         [X(2, 3), X(2, 4, dtype=I64, data=[1, 1, 3, 1, 2, 2, 2, 3]), X(2, 4)])
    case("scatter_add_small_index", "a:scatter_add(1, b, c)", lambda a, b, c: a.scatter_add(0, I(b), c),
         [X(3, 3), X(2, 2, dtype=I64, data=[3, 1, 1, 3]), X(3, 3, rg=False)])  # torch: no src grad here
    case("scatter_small_index", "a:scatter(2, b, c)", lambda a, b, c: a.scatter(1, I(b), c),
         [X(2, 4), X(1, 2, dtype=I64, data=[4, 2]), X(2, 3, rg=False)])
    case("scatter_add_f32", "tg.scatter_add(a, 2, b, c)", lambda a, b, c: torch.scatter_add(a, 1, I(b), c),
         [X(2, 3, dtype=F32), X(2, 2, dtype=I64, gen="idx", n=3), X(2, 2, dtype=F32)])
    case("index_add_dup_t", "a:t():index_add(1, b, c)", lambda a, b, c: a.t().index_add(0, I(b), c),
         [X(3, 4), X(3, dtype=I64, data=[2, 2, 4]), X(3, 3)])
    case("index_add_neg_alpha", "a:index_add(2, b, c, -0.5)", lambda a, b, c: a.index_add(1, I(b), c, alpha=-0.5),
         [X(2, 3), X(2, dtype=I64, data=[3, 3]), X(2, 2)])
    case("index_add_int64", "a:index_add(1, b, c)", lambda a, b, c: a.index_add(0, I(b), c),
         [X(3, 2, dtype=I64, gen="int"), X(2, dtype=I64, data=[1, 1]), X(2, 2, dtype=I64, gen="int")])
    # ------------------------------------------------------- masks and where
    case("masked_fill_t", "a:t():masked_fill(b, 1)", lambda a, b: a.t().masked_fill(b, 1.0),
         [X(4, 3), X(3, 4, dtype=BOOL, gen="bool")])
    case("masked_fill_value_tensor", "a:masked_fill(b, c)", lambda a, b, c: a.masked_fill(b, c),
         [X(3, 4), X(3, 4, dtype=BOOL, gen="bool"), X()])
    case("masked_fill_mask_bigger", "a:masked_fill(b, 3)", lambda a, b: a.masked_fill(b, 3.0),
         [X(4), X(2, 4, dtype=BOOL, gen="bool")])
    case("masked_fill_bool", "a:masked_fill(b, true)", lambda a, b: a.masked_fill(b, True),
         [X(2, 3, dtype=BOOL, gen="bool"), X(2, 3, dtype=BOOL, gen="bool")])
    case("masked_select_t", "a:t():masked_select(b)", lambda a, b: a.t().masked_select(b),
         [X(3, 2), X(2, 3, dtype=BOOL, data=[True, True, False, False, True, True])])
    case("masked_select_bcast_self", "a:masked_select(b)", lambda a, b: a.masked_select(b),
         [X(3), X(2, 3, dtype=BOOL, data=[True, False, True, True, True, False])])
    case("masked_select_int64", "a:masked_select(b)", lambda a, b: a.masked_select(b),
         [X(2, 3, dtype=I64, gen="int"), X(2, 3, dtype=BOOL, gen="bool")])
    case("where_int64", "tg.where(b, a, c)", lambda a, b, c: torch.where(b, a, c),
         [X(2, 3, dtype=I64, gen="int"), X(2, 3, dtype=BOOL, gen="bool"), X(2, 3, dtype=I64, gen="int")])
    case("where_promote", "tg.where(b, a, c)", lambda a, b, c: torch.where(b, a, c),
         [X(2, 3, dtype=F32), X(2, 3, dtype=BOOL, gen="bool"), X(2, 3)])
    case("where_numbers", "tg.where(a, 1.5, -2)", lambda b: torch.where(b, 1.5, -2), [X(2, 3, dtype=BOOL, gen="bool")])
    case("where_method", "a:where(b, c)", lambda a, b, c: a.where(b, c),
         [X(3, 4), X(3, 4, dtype=BOOL, gen="bool"), X(1, 4)])
    case("where_t", "tg.where(b:t(), a:t(), c)", lambda a, b, c: torch.where(b.t(), a.t(), c),
         [X(4, 3), X(4, 3, dtype=BOOL, gen="bool"), X(3, 4)])
    # ------------------------------------------------------- cat/stack/split family
    case("cat_three_mixed_rg", "tg.cat({a, b, c}, 2)", lambda a, b, c: torch.cat([a, b, c], 1),
         [X(2, 2), X(2, 1, rg=False), X(2, 3)])
    case("cat_legacy_empty", "tg.cat({a, tg.zeros(0, {dtype = tg.float64}), b})",
         lambda a, b: torch.cat([a, torch.zeros(0, dtype=torch.float64), b]), [X(2, 3), X(1, 3)])
    case("cat_bool", "tg.cat({a, b}, 1)", lambda a, b: torch.cat([a, b], 0),
         [X(1, 3, dtype=BOOL, gen="bool"), X(2, 3, dtype=BOOL, gen="bool")])
    case("cat_t_both", "tg.cat({a:t(), b:t()}, 2)", lambda a, b: torch.cat([a.t(), b.t()], 1), [X(2, 3), X(1, 3)])
    case("cat_same_twice", "tg.cat({a, a}, 1)", lambda a: torch.cat([a, a], 0), [X(2, 2)])
    case("stack_int64", "tg.stack({a, b}, 2)", lambda a, b: torch.stack([a, b], 1),
         [X(2, 2, dtype=I64, gen="int"), X(2, 2, dtype=I64, gen="int")])
    case("stack_t", "tg.stack({a:t(), b}, 1)", lambda a, b: torch.stack([a.t(), b], 0), [X(3, 2), X(2, 3)])
    case("split_zero_piece", "a:split({0, 3}, 1)", lambda a: a.split([0, 3], 0), [X(3, 2)])
    case("chunk_fewer", "a:chunk(4)", lambda a: a.chunk(4), [X(6, 2)])
    case("chunk_t", "a:t():chunk(2, 1)", lambda a: a.t().chunk(2, 0), [X(3, 4)])
    case("unbind_t", "a:t():unbind(1)", lambda a: a.t().unbind(0), [X(2, 3)])
    case("unbind_use_one", "a:unbind(2)[2] * 3", lambda a: a.unbind(1)[1] * 3, [X(2, 3)])
    case("split_use_one", "a:split(1, 1)[2]:exp()", lambda a: a.split(1, 0)[1].exp(), [X(3, 2)])
    case("unflatten_t", "a:t():unflatten(1, {2, 2})", lambda a: a.t().unflatten(0, (2, 2)), [X(3, 4)])
    case("flatten_0d", "a:flatten()", lambda a: a.flatten(), [X()])
    case("flatten_t_mid", "a:transpose(1, 2):flatten(2, 3)", lambda a: a.transpose(0, 1).flatten(1, 2), [X(2, 3, 4)])
    # ------------------------------------------------------- repeat/flip/roll/tri
    case("repeat_t", "a:t():repeatTensor(2, 1)", lambda a: a.t().repeat(2, 1), [X(2, 3)])
    case("repeat_1d_to_3d", "a:repeatTensor(2, 1, 3)", lambda a: a.repeat(2, 1, 3), [X(2)])
    case("repeat_bool", "a:repeatTensor(1, 2)", lambda a: a.repeat(1, 2), [X(2, 2, dtype=BOOL, gen="bool")])
    case("tile_more", "a:tile(2, 2, 1)", lambda a: a.tile(2, 2, 1), [X(2, 2)])
    case("flip_t", "a:t():flip(1)", lambda a: a.t().flip(0), [X(3, 4)])
    case("flip_int64", "a:flip(2)", lambda a: a.flip(1), [X(2, 3, dtype=I64, gen="int")])
    case("flip_all3", "a:flip(1, 2, 3)", lambda a: a.flip(0, 1, 2), [X(2, 3, 2)])
    case("roll_t", "a:t():roll(1, 1)", lambda a: a.t().roll(1, 0), [X(3, 4)])
    case("roll_big_shift", "a:roll(7, 2)", lambda a: a.roll(7, 1), [X(2, 3)])
    case("roll_flat_t", "a:t():roll(-2)", lambda a: a.t().roll(-2), [X(3, 4)])
    case("roll_bool", "a:roll(1, 1)", lambda a: a.roll(1, 0), [X(3, 2, dtype=BOOL, gen="bool")])
    case("tril_t", "a:t():tril()", lambda a: a.t().tril(), [X(4, 3)])
    case("triu_f32", "a:triu(-1)", lambda a: a.triu(-1), [X(4, 4, dtype=F32)])
    case("tril_int64", "a:tril(1)", lambda a: a.tril(1), [X(3, 3, dtype=I64, gen="int")])
    case("triu_far", "a:triu(5)", lambda a: a.triu(5), [X(3, 3)])
    # ------------------------------------------------------- linear algebra
    case("dot_strided", "tg.dot(a[{{}, 1}], b)", lambda a, b: torch.dot(a[:, 0], b), [X(4, 2), X(4)])
    case("dot_f32", "a:dot(b)", lambda a, b: a.dot(b), [X(5, dtype=F32), X(5, dtype=F32)])
    case("mv_f32", "a:mv(b)", lambda a, b: a.mv(b), [X(3, 4, dtype=F32), X(4, dtype=F32)])
    case("mv_strided_vec", "tg.mv(a, b[{{}, 2}])", lambda a, b: torch.mv(a, b[:, 1]), [X(2, 3), X(3, 2)])
    case("outer_f32", "tg.outer(a, b)", lambda a, b: torch.outer(a, b), [X(2, dtype=F32), X(3, dtype=F32)])
    case("addmm_t", "tg.addmm(c, a:t(), b:t())", lambda a, b, c: torch.addmm(c, a.t(), b.t()),
         [X(4, 3), X(2, 4), X(3, 2)])
    case("addmm_beta0", "tg.addmm(c, a, b, {beta = 0})", lambda a, b, c: torch.addmm(c, a, b, beta=0),
         [X(2, 3), X(3, 2), X(2, 2)])
    case("addmm_col_bias", "tg.addmm(c, a, b, {alpha = -1})", lambda a, b, c: torch.addmm(c, a, b, alpha=-1),
         [X(2, 3), X(3, 2), X(2, 1)])
    case("addmm_f32", "tg.addmm(c, a, b)", lambda a, b, c: torch.addmm(c, a, b),
         [X(2, 3, dtype=F32), X(3, 4, dtype=F32), X(4, dtype=F32)])
    case("baddbmm_scalar_bias", "tg.baddbmm(c, a, b, {beta = 2})", lambda a, b, c: torch.baddbmm(c, a, b, beta=2),
         [X(2, 2, 3), X(2, 3, 2), X()])
    case("baddbmm_method_t", "c:baddbmm(a, b:transpose(2, 3))", lambda a, b, c: c.baddbmm(a, b.transpose(1, 2)),
         [X(2, 2, 3), X(2, 4, 3), X(2, 2, 4)])
    for nm, eq, shs in [
        ("ellipsis_bcast", "...ij,...jk->...ik", [(2, 3, 4), (4, 2)]),
        ("attention", "bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
        ("frobenius", "ij,ij->", [(3, 4), (3, 4)]),
        ("trace", "ii->", [(3, 3)]),
        ("diag_scale", "ii,i->i", [(3, 3), (3,)]),
        ("three_outer", "i,j,k->ijk", [(2,), (3,), (2,)]),
        ("permute3", "ijk->kji", [(2, 3, 4)]),
        ("nt", "ij,kj->ik", [(3, 4), (2, 4)]),
        ("batch_sum_out", "bij,bjk->ik", [(2, 3, 4), (2, 4, 2)]),
        ("implicit_outer", "i,j", [(2,), (3,)]),
        ("implicit_ellipsis", "...i,i", [(2, 3, 4), (4,)]),
        ("spaces", " ij , jk -> ik ", [(2, 3), (3, 2)]),
        ("keep_contracted_batch", "bi,bi->b", [(3, 4), (3, 4)]),
    ]:
        names = ["a", "b", "c"][:len(shs)]
        case(f"einsum_{nm}", f"tg.einsum(\"{eq}\", {', '.join(names)})",
             (lambda eq: lambda *ts: torch.einsum(eq, *ts))(eq), [X(*s) for s in shs], check_grad_fn=False)
    case("einsum_list_form", "tg.einsum(\"ij,jk\", {a, b})", lambda a, b: torch.einsum("ij,jk", [a, b]),
         [X(2, 3), X(3, 2)], check_grad_fn=False)


def _set(a, key, v):
    x = a.clone()
    x[key] = v
    return x


def main():
    cases()
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.normpath(os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "spec", "fixtures", "shape.lua"))
    lines = ["-- generated by tools/gen_shape_fixtures.py from PyTorch " + torch.__version__ + "; do not edit",
             "-- the format of spec/fixtures/ops.lua, plus grad_fn (PyTorch's name) and check_grad_fn",
             "return {"]
    names = set()
    for c in CASES:
        assert c["name"] not in names, "duplicate case " + c["name"]
        names.add(c["name"])
        r = G.run_case(c)
        parts = [f"name = {G.lua_str(c['name'])}", f"expr = {G.lua_str(c['expr'])}"]
        parts.append("inputs = {" + ", ".join(
            G.lua_tensor(t, ", requires_grad = true" if t.requires_grad else "") for t in r["ins"]) + "}")
        parts.append("outputs = {" + ", ".join(G.lua_tensor(o) for o in r["outs"]) + "}")
        if r["diff"]:
            parts.append("grad_outs = {" + ", ".join(G.lua_tensor(g) if g is not None else "false" for g in r["gos"]) + "}")
            parts.append("grads = {" + ", ".join(G.lua_tensor(g) if g is not None else "false" for g in r["grads"]) + "}")
        gf = r["outs"][0].grad_fn
        if gf is not None:
            parts.append(f"grad_fn = {G.lua_str(type(gf).__name__)}")
        parts.append(f"check_grad_fn = {'true' if c['check_grad_fn'] else 'false'}")
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
