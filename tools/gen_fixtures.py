#!/usr/bin/env python3
"""gen_fixtures.py: PyTorch reference fixtures for tgrad's ops.

usage: python3 tools/gen_fixtures.py [out.lua]   (default spec/fixtures/ops.lua)

Each case below is (name, Lua expression over inputs a, b, c, the equivalent
torch function, input specs, options).  tgrad is 1-based: index *inputs* are
generated 1-based (that data is what tgrad sees) and the torch function
subtracts 1; index *outputs* (argmax, max(d), sort, topk) get +1 in the torch
function.  Positive dims d become d-1 in torch, negative dims stay as they are.

For each case the generator seeds torch from the case name (adding a case
never changes the others), makes the inputs, runs the torch function, and for
differentiable cases computes the gradients of sum_k sum(out_k * g_k) w.r.t.
every input with requires_grad, g_k a fixed random tensor of out_k's shape.

Fixture format (spec/fixtures/ops.lua returns a list of):
  { name=, issue=2|3, expr=,
    inputs  = { {shape={..}, dtype="float64", data={flat row-major}, requires_grad=true}, ... },
    outputs = { {shape=, dtype=, data=}, ... },      -- several for max(d)/sort/topk/chunk/...
    grad_outs = { {shape=, dtype=, data=} or false, ... },  -- one per output (false: not differentiable)
    grads = { {shape=, dtype=, data=} or false, ... },      -- one per input (false: no grad expected)
    tol = 1e-9, gradcheck = true|false }
grad_outs/grads are present only for differentiable cases.
"""
import math
import os
import sys
import warnings
import zlib

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float32)
warnings.filterwarnings("ignore", message=".*batchmean.*")

CASES = []


def X(*shape, dtype="float64", gen="randn", rg=None, lo=-3, hi=3, n=None, data=None):
    """An input spec.  gen: randn (3 decimals, distinct, |x| >= 0.01), pos (0.5..2),
    unit (0.05..0.95), big (randn*3), int (lo..hi inclusive), idx (1..n, 1-based),
    bool, probs / logprobs (softmax / log_softmax over the last dim), data (explicit)."""
    if data is not None:
        gen = "data"
    if rg is None:
        rg = dtype in ("float64", "float32") and gen not in ("idx", "int", "dint", "bool")
    return dict(shape=tuple(shape), dtype=dtype, gen=gen, rg=rg, lo=lo, hi=hi, n=n, data=data)


def case(issue, name, expr, fn, inputs, tol=None, gradcheck=True):
    CASES.append(dict(issue=issue, name=name, expr=expr, fn=fn, inputs=inputs, tol=tol,
                      gradcheck=gradcheck))


def I(t):
    """1-based index tensor -> torch's 0-based."""
    return t - 1


def VI(r):
    """(values, indices) -> (values, 1-based indices)."""
    return (r[0], r[1] + 1)


F64 = "float64"
F32 = "float32"
I64 = "int64"
BOOL = "bool"
LF = "tg.nn.functional."

# ============================================================== issue 2
def issue2():
    c2 = lambda *a, **k: case(2, *a, **k)
    # arithmetic, tensors and numbers on either side, broadcasting
    c2("add", "a + b", lambda a, b: a + b, [X(3, 4), X(3, 4)])
    c2("add_bcast_row", "a + b", lambda a, b: a + b, [X(3, 4), X(4)])
    c2("add_bcast_outer", "a + b", lambda a, b: a + b, [X(3, 1), X(1, 4)])
    c2("add_bcast_3d", "a + b", lambda a, b: a + b, [X(2, 3, 4), X(3, 1)])
    c2("add_0d", "a + b", lambda a, b: a + b, [X(2, 3), X()])
    c2("add_num_right", "a + 2.5", lambda a: a + 2.5, [X(3, 4)])
    c2("add_num_left", "1.5 + a", lambda a: 1.5 + a, [X(3, 4)])
    c2("add_int_num", "a + 2", lambda a: a + 2, [X(3, 4)])
    c2("add_f32", "a + b", lambda a, b: a + b, [X(3, 4, dtype=F32), X(4, dtype=F32)])
    c2("sub", "a - b", lambda a, b: a - b, [X(3, 4), X(3, 4)])
    c2("sub_bcast", "a - b", lambda a, b: a - b, [X(2, 3, 4), X(4)])
    c2("sub_num_right", "a - 1.5", lambda a: a - 1.5, [X(3, 4)])
    c2("sub_num_left", "3 - a", lambda a: 3 - a, [X(3, 4)])
    c2("mul", "a * b", lambda a, b: a * b, [X(3, 4), X(3, 4)])
    c2("mul_bcast", "a * b", lambda a, b: a * b, [X(3, 1), X(4)])
    c2("mul_num_right", "a * 2", lambda a: a * 2, [X(3, 4)])
    c2("mul_num_left", "-0.5 * a", lambda a: -0.5 * a, [X(3, 4)])
    c2("mul_self", "a * a", lambda a: a * a, [X(3, 4)])
    c2("div", "a / b", lambda a, b: a / b, [X(3, 4), X(3, 4, gen="pos")])
    c2("div_bcast", "a / b", lambda a, b: a / b, [X(3, 4), X(3, 1, gen="pos")])
    c2("div_num_right", "a / 4", lambda a: a / 4, [X(3, 4)])
    c2("div_num_left", "2 / a", lambda a: 2 / a, [X(3, 4, gen="pos")])
    c2("pow_int_num", "a ^ 2", lambda a: a ** 2, [X(3, 4)])
    c2("pow_3", "a ^ 3", lambda a: a ** 3, [X(3, 4)])
    c2("pow_half", "a ^ 0.5", lambda a: a ** 0.5, [X(3, 4, gen="pos")])
    c2("pow_tensor", "a ^ b", lambda a, b: a ** b, [X(3, 4, gen="pos"), X(3, 4)])
    c2("pow_tensor_bcast", "a ^ b", lambda a, b: a ** b, [X(3, 4, gen="pos"), X(4)])
    c2("pow_num_base", "2 ^ a", lambda a: 2 ** a, [X(3, 4)])
    c2("neg", "-a", lambda a: -a, [X(3, 4)])
    c2("neg_expr", "-(a * b)", lambda a, b: -(a * b), [X(3, 4), X(4)])
    c2("chain", "(a * b + 1) / (a * a + 2) - b ^ 2", lambda a, b: (a * b + 1) / (a * a + 2) - b ** 2,
       [X(3, 4), X(3, 4)])
    c2("add_t_noncontig", "a:t() + b", lambda a, b: a.t() + b, [X(4, 3), X(3, 4)])
    c2("mul_t_both", "a:t() * b:t()", lambda a, b: a.t() * b.t(), [X(4, 3), X(4, 3)])
    c2("div_transpose_bcast", "a:transpose(1, 2) / b", lambda a, b: a.transpose(0, 1) / b,
       [X(4, 3), X(4, gen="pos")])
    # unary
    c2("exp", "a:exp()", lambda a: a.exp(), [X(3, 4)])
    c2("exp_fn", "tg.exp(a)", lambda a: torch.exp(a), [X(3, 4)])
    c2("exp_t", "a:t():exp()", lambda a: a.t().exp(), [X(3, 4)])
    c2("exp_f32", "a:exp()", lambda a: a.exp(), [X(3, 4, dtype=F32)])
    c2("log", "a:log()", lambda a: a.log(), [X(3, 4, gen="pos")])
    c2("log_fn", "tg.log(a)", lambda a: torch.log(a), [X(3, 4, gen="pos")])
    c2("sqrt", "a:sqrt()", lambda a: a.sqrt(), [X(3, 4, gen="pos")])
    c2("abs", "a:abs()", lambda a: a.abs(), [X(3, 4)])
    c2("sigmoid", "a:sigmoid()", lambda a: a.sigmoid(), [X(3, 4)])
    c2("sigmoid_fn", "tg.sigmoid(a)", lambda a: torch.sigmoid(a), [X(3, 4)])
    c2("tanh", "a:tanh()", lambda a: a.tanh(), [X(3, 4)])
    c2("relu", "a:relu()", lambda a: a.relu(), [X(3, 4)])
    c2("relu_fn", "tg.relu(a)", lambda a: torch.relu(a), [X(3, 4)])
    c2("pow_method_num", "a:pow(2)", lambda a: a.pow(2), [X(3, 4)])
    c2("pow_method_tensor", "a:pow(b)", lambda a, b: a.pow(b), [X(3, 4, gen="pos"), X(3, 4)])
    c2("pow_fn", "tg.pow(a, 3)", lambda a: torch.pow(a, 3), [X(3, 4)])
    # sum / mean
    for nm, ex, fn, sh in [
        ("all", "()", lambda a, f: f(a), (3, 4)),
        ("dim1", "(1)", lambda a, f: f(a, 0), (3, 4)),
        ("dim2", "(2)", lambda a, f: f(a, 1), (3, 4)),
        ("dim_neg1", "(-1)", lambda a, f: f(a, -1), (3, 4)),
        ("dim2_keepdim", "(2, {keepdim = true})", lambda a, f: f(a, 1, keepdim=True), (3, 4)),
        ("dim1_keepdim_3d", "(1, {keepdim = true})", lambda a, f: f(a, 0, keepdim=True), (2, 3, 4)),
        ("dim_neg3_3d", "(-3)", lambda a, f: f(a, -3), (2, 3, 4)),
        ("dim2_3d", "(2)", lambda a, f: f(a, 1), (2, 3, 4)),
    ]:
        for op in ("sum", "mean"):
            c2(f"{op}_{nm}", f"a:{op}{ex}", (lambda fn, op: lambda a: fn(a, getattr(torch, op)))(fn, op), [X(*sh)])
    c2("sum_fn", "tg.sum(a)", lambda a: torch.sum(a), [X(3, 4)])
    c2("mean_fn_dim", "tg.mean(a, 2)", lambda a: torch.mean(a, 1), [X(3, 4)])
    c2("sum_t_dim1", "a:t():sum(1)", lambda a: a.t().sum(0), [X(3, 4)])
    c2("mean_transpose_keepdim", "a:transpose(1, 3):mean(2, {keepdim = true})",
       lambda a: a.transpose(0, 2).mean(1, keepdim=True), [X(2, 3, 4)])
    c2("sum_f32", "a:sum(1)", lambda a: a.sum(0), [X(3, 4, dtype=F32)])
    c2("sum_int64", "a:sum()", lambda a: a.sum(), [X(3, 4, dtype=I64, gen="int")])
    # matmul
    c2("matmul_1d_1d", "tg.matmul(a, b)", torch.matmul, [X(4), X(4)])
    c2("matmul_2d_1d", "tg.matmul(a, b)", torch.matmul, [X(3, 4), X(4)])
    c2("matmul_1d_2d", "tg.matmul(a, b)", torch.matmul, [X(3), X(3, 4)])
    c2("matmul_2d_2d", "tg.matmul(a, b)", torch.matmul, [X(3, 4), X(4, 2)])
    c2("matmul_2d_2d_f32", "tg.matmul(a, b)", torch.matmul, [X(3, 4, dtype=F32), X(4, 5, dtype=F32)])
    c2("matmul_3d_3d", "tg.matmul(a, b)", torch.matmul, [X(2, 3, 4), X(2, 4, 2)])
    c2("matmul_3d_2d", "tg.matmul(a, b)", torch.matmul, [X(2, 3, 4), X(4, 2)])
    c2("matmul_2d_3d", "tg.matmul(a, b)", torch.matmul, [X(3, 4), X(2, 4, 2)])
    c2("matmul_3d_1d", "tg.matmul(a, b)", torch.matmul, [X(2, 3, 4), X(4)])
    c2("matmul_1d_3d", "tg.matmul(a, b)", torch.matmul, [X(4), X(2, 4, 3)])
    c2("matmul_bcast_4d_3d", "tg.matmul(a, b)", torch.matmul, [X(2, 1, 3, 4), X(3, 4, 2)])
    c2("matmul_bcast_batch1", "tg.matmul(a, b)", torch.matmul, [X(1, 3, 4), X(2, 4, 2)])
    c2("matmul_method", "a:matmul(b)", lambda a, b: a.matmul(b), [X(3, 4), X(4, 2)])
    c2("matmul_t_left", "tg.matmul(a:t(), b)", lambda a, b: a.t() @ b, [X(4, 3), X(4, 2)])
    c2("matmul_t_right", "tg.matmul(a, b:t())", lambda a, b: a @ b.t(), [X(3, 4), X(2, 4)])
    c2("matmul_transpose_batched", "tg.matmul(a, b:transpose(2, 3))",
       lambda a, b: a @ b.transpose(1, 2), [X(2, 3, 4), X(2, 2, 4)])
    c2("matmul_bias", "tg.matmul(a, b) + c", lambda a, b, c: a @ b + c, [X(3, 4), X(4, 2), X(2)])
    # shape ops
    c2("reshape", "a:reshape(4, 3)", lambda a: a.reshape(4, 3), [X(3, 4)])
    c2("reshape_table_neg", "a:reshape({2, -1})", lambda a: a.reshape(2, -1), [X(3, 4)])
    c2("reshape_t_copy", "a:t():reshape(12)", lambda a: a.t().reshape(12), [X(3, 4)])
    c2("reshape_3d", "a:reshape(2, 2, 3)", lambda a: a.reshape(2, 2, 3), [X(3, 4)])
    c2("view", "a:view(12)", lambda a: a.view(12), [X(3, 4)])
    c2("view_neg", "a:view(-1)", lambda a: a.view(-1), [X(3, 4)])
    c2("view_table", "a:view({6, -1})", lambda a: a.view(6, -1), [X(3, 4)])
    c2("view_0d_to_1", "a:view(1)", lambda a: a.view(1), [X()])
    c2("transpose", "a:transpose(1, 2)", lambda a: a.transpose(0, 1), [X(3, 4)])
    c2("transpose_3d", "a:transpose(1, 3)", lambda a: a.transpose(0, 2), [X(2, 3, 4)])
    c2("transpose_neg", "a:transpose(-1, -2)", lambda a: a.transpose(-1, -2), [X(2, 3, 4)])
    c2("t", "a:t()", lambda a: a.t(), [X(3, 4)])
    c2("t_1d", "a:t()", lambda a: a.t(), [X(4)])
    c2("t_t", "a:t():t()", lambda a: a.t().t(), [X(3, 4)])
    c2("unsqueeze_1", "a:unsqueeze(1)", lambda a: a.unsqueeze(0), [X(3, 4)])
    c2("unsqueeze_2", "a:unsqueeze(2)", lambda a: a.unsqueeze(1), [X(3, 4)])
    c2("unsqueeze_3", "a:unsqueeze(3)", lambda a: a.unsqueeze(2), [X(3, 4)])
    c2("unsqueeze_neg1", "a:unsqueeze(-1)", lambda a: a.unsqueeze(-1), [X(3, 4)])
    c2("squeeze_all", "a:squeeze()", lambda a: a.squeeze(), [X(3, 1, 4, 1)])
    c2("squeeze_2", "a:squeeze(2)", lambda a: a.squeeze(1), [X(3, 1, 4, 1)])
    c2("squeeze_neg1", "a:squeeze(-1)", lambda a: a.squeeze(-1), [X(3, 1, 4, 1)])
    c2("squeeze_noop", "a:squeeze(1)", lambda a: a.squeeze(0), [X(3, 1, 4)])
    c2("expand", "a:expand(3, 4)", lambda a: a.expand(3, 4), [X(3, 1)])
    c2("expand_new_dim", "a:expand(2, 3, 4)", lambda a: a.expand(2, 3, 4), [X(4)])
    c2("expand_neg1", "a:expand(-1, 4)", lambda a: a.expand(-1, 4), [X(3, 1)])
    c2("expand_table", "a:expand({2, 3, 4})", lambda a: a.expand(2, 3, 4), [X(3, 1)])
    c2("expand_mul", "a:expand(3, 4) * b", lambda a, b: a.expand(3, 4) * b, [X(1, 4), X(3, 4)])
    c2("unsqueeze_bcast", "a:unsqueeze(2) * b:unsqueeze(1)", lambda a, b: a.unsqueeze(1) * b.unsqueeze(0),
       [X(3), X(4)])
    # losses
    for red in ("mean", "sum", "none"):
        opt = "" if red == "mean" else f", {{reduction = \"{red}\"}}"
        c2(f"bce_with_logits_{red}", f"{LF}binary_cross_entropy_with_logits(a, b{opt})",
           (lambda r: lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=r))(red),
           [X(3, 4), X(3, 4, gen="unit", rg=False)])
        c2(f"mse_loss_{red}", f"{LF}mse_loss(a, b{opt})",
           (lambda r: lambda a, b: F.mse_loss(a, b, reduction=r))(red), [X(3, 4), X(3, 4)])
    c2("bce_with_logits_mean_explicit", f"{LF}binary_cross_entropy_with_logits(a, b, {{reduction = \"mean\"}})",
       lambda a, b: F.binary_cross_entropy_with_logits(a, b), [X(4), X(4, gen="unit", rg=False)])
    c2("bce_with_logits_binary_target", f"{LF}binary_cross_entropy_with_logits(a, b)",
       lambda a, b: F.binary_cross_entropy_with_logits(a, b),
       [X(2, 3), X(2, 3, data=[0., 1., 1., 0., 0., 1.], rg=False)])
    c2("bce_with_logits_f32", f"{LF}binary_cross_entropy_with_logits(a, b)",
       lambda a, b: F.binary_cross_entropy_with_logits(a, b),
       [X(3, 4, dtype=F32), X(3, 4, dtype=F32, gen="unit", rg=False)])
    c2("mse_loss_tgF", "tg.F.mse_loss(a, b)", lambda a, b: F.mse_loss(a, b), [X(3, 4), X(3, 4, rg=False)])
    c2("mse_loss_f32", f"{LF}mse_loss(a, b)", lambda a, b: F.mse_loss(a, b), [X(5, dtype=F32), X(5, dtype=F32)])
    c2("linear_bce_chain", f"{LF}binary_cross_entropy_with_logits(tg.matmul(a, b) + c, tg.zeros(3, {{dtype = tg.float64}}))",
       lambda a, b, c: F.binary_cross_entropy_with_logits(a @ b + c, torch.zeros(3, dtype=torch.float64)),
       [X(5), X(5, 3), X(3)])


# ============================================================== issue 3
def issue3():
    c3 = lambda *a, **k: case(3, *a, **k)
    # ---------------------------------------------------------- views
    c3("permute", "a:permute(3, 1, 2)", lambda a: a.permute(2, 0, 1), [X(2, 3, 4)])
    c3("permute_table", "a:permute({2, 3, 1})", lambda a: a.permute(1, 2, 0), [X(2, 3, 4)])
    c3("permute_neg", "a:permute(-1, 1, -2)", lambda a: a.permute(-1, 0, -2), [X(2, 3, 4)])
    c3("permute_reshape", "a:permute(2, 1, 3):reshape(3, 8)", lambda a: a.permute(1, 0, 2).reshape(3, 8), [X(2, 3, 4)])
    c3("narrow", "a:narrow(2, 2, 3)", lambda a: a.narrow(1, 1, 3), [X(3, 5)])
    c3("narrow_dim1", "a:narrow(1, 1, 2)", lambda a: a.narrow(0, 0, 2), [X(3, 5)])
    c3("narrow_neg_dim", "a:narrow(-1, 3, 2)", lambda a: a.narrow(-1, 2, 2), [X(2, 3, 4)])
    c3("select", "a:select(2, 3)", lambda a: a.select(1, 2), [X(3, 4)])
    c3("select_dim1", "a:select(1, 1)", lambda a: a.select(0, 0), [X(3, 4)])
    c3("select_neg_index", "a:select(1, -1)", lambda a: a.select(0, -1), [X(3, 4)])
    c3("select_neg_dim", "a:select(-1, 2)", lambda a: a.select(-1, 1), [X(2, 3, 4)])
    c3("select_1d_0d", "a:select(1, 3)", lambda a: a.select(0, 2), [X(4)])
    c3("flatten", "a:flatten()", lambda a: a.flatten(), [X(2, 3, 4)])
    c3("flatten_start2", "a:flatten(2)", lambda a: a.flatten(1), [X(2, 3, 4)])
    c3("flatten_1_2", "a:flatten(1, 2)", lambda a: a.flatten(0, 1), [X(2, 3, 4)])
    c3("flatten_neg", "a:flatten(-2, -1)", lambda a: a.flatten(-2, -1), [X(2, 3, 4)])
    c3("flatten_t", "a:t():flatten()", lambda a: a.t().flatten(), [X(3, 4)])
    c3("unflatten", "a:unflatten(2, {2, 3})", lambda a: a.unflatten(1, (2, 3)), [X(4, 6)])
    c3("unflatten_neg", "a:unflatten(-1, {2, -1})", lambda a: a.unflatten(-1, (2, -1)), [X(3, 4)])
    c3("chunk", "a:chunk(2, 2)", lambda a: a.chunk(2, 1), [X(3, 4)])
    c3("chunk_uneven", "a:chunk(3, 2)", lambda a: a.chunk(3, 1), [X(3, 5)])
    c3("chunk_default_dim", "a:chunk(2)", lambda a: a.chunk(2), [X(4, 3)])
    c3("chunk_fn", "tg.chunk(a, 2, -1)", lambda a: torch.chunk(a, 2, -1), [X(2, 3, 4)])
    c3("split_size", "a:split(2, 2)", lambda a: a.split(2, 1), [X(3, 5)])
    c3("split_sections", "a:split({1, 3}, 2)", lambda a: a.split([1, 3], 1), [X(3, 4)])
    c3("split_default_dim", "a:split(2)", lambda a: a.split(2), [X(5, 3)])
    c3("split_fn", "tg.split(a, {2, 1}, 1)", lambda a: torch.split(a, [2, 1], 0), [X(3, 4)])
    c3("unbind", "a:unbind()", lambda a: a.unbind(), [X(3, 4)])
    c3("unbind_dim2", "a:unbind(2)", lambda a: a.unbind(1), [X(2, 3)])
    c3("unbind_fn_neg", "tg.unbind(a, -1)", lambda a: torch.unbind(a, -1), [X(2, 2, 3)])
    c3("chunk_index", "a:chunk(2, 2)[2] * 2", lambda a: a.chunk(2, 1)[1] * 2, [X(3, 4)])
    c3("index_int", "a[2]", lambda a: a[1], [X(3, 4)])
    c3("index_int_neg", "a[-1]", lambda a: a[-1], [X(3, 4)])
    c3("index_int_3d", "a[1]", lambda a: a[0], [X(2, 3, 4)])
    c3("index_int_twice", "a[2][3]", lambda a: a[1][2], [X(3, 4)])
    c3("index_1d_0d", "a[3]", lambda a: a[2], [X(4)])
    c3("index_pair", "a[{2, 3}]", lambda a: a[1, 2], [X(3, 4)])
    c3("index_pair_neg", "a[{-1, -2}]", lambda a: a[-1, -2], [X(3, 4)])
    c3("index_single_table", "a[{2}]", lambda a: a[1], [X(3, 4)])
    c3("index_range_all_int", "a[{{1, 3}, {}, 2}]", lambda a: a[0:3, :, 1], [X(4, 3, 5)])
    c3("index_all_int", "a[{{}, 2}]", lambda a: a[:, 1], [X(3, 4)])
    c3("index_range", "a[{{2, 3}}]", lambda a: a[1:3], [X(3, 4)])
    c3("index_range_2d", "a[{{1, 2}, {2, 4}}]", lambda a: a[0:2, 1:4], [X(3, 5)])
    c3("index_range_neg_end", "a[{{}, {2, -1}}]", lambda a: a[:, 1:], [X(3, 4)])
    c3("index_int_range", "a[{-1, {1, 2}}]", lambda a: a[-1, 0:2], [X(3, 4)])
    c3("index_range_single", "a[{{2, 2}, {}}]", lambda a: a[1:2, :], [X(3, 4)])
    c3("index_t", "a:t()[2]", lambda a: a.t()[1], [X(3, 4)])
    c3("expand_as", "a:expand_as(b)", lambda a, b: a.expand_as(b), [X(1, 4), X(3, 4, rg=False)])
    # ---------------------------------------------------------- copies
    c3("cat_dim1", "tg.cat({a, b}, 1)", lambda a, b: torch.cat([a, b], 0), [X(2, 3), X(3, 3)])
    c3("cat_dim2", "tg.cat({a, b}, 2)", lambda a, b: torch.cat([a, b], 1), [X(2, 3), X(2, 2)])
    c3("cat_default", "tg.cat({a, b})", lambda a, b: torch.cat([a, b]), [X(2, 3), X(1, 3)])
    c3("cat_neg", "tg.cat({a, b, c}, -1)", lambda a, b, c: torch.cat([a, b, c], -1), [X(2, 2, 2), X(2, 2, 1), X(2, 2, 3)])
    c3("cat_noncontig", "tg.cat({a:t(), b}, 1)", lambda a, b: torch.cat([a.t(), b], 0), [X(3, 2), X(1, 3)])
    c3("cat_1d", "tg.cat({a, b})", lambda a, b: torch.cat([a, b]), [X(3), X(2)])
    c3("cat_int64", "tg.cat({a, b}, 2)", lambda a, b: torch.cat([a, b], 1), [X(2, 2, dtype=I64, gen="int"), X(2, 1, dtype=I64, gen="int")])
    c3("stack_default", "tg.stack({a, b})", lambda a, b: torch.stack([a, b]), [X(2, 3), X(2, 3)])
    c3("stack_dim2", "tg.stack({a, b}, 2)", lambda a, b: torch.stack([a, b], 1), [X(2, 3), X(2, 3)])
    c3("stack_dim3", "tg.stack({a, b, c}, 3)", lambda a, b, c: torch.stack([a, b, c], 2), [X(2, 3), X(2, 3), X(2, 3)])
    c3("stack_neg", "tg.stack({a, b}, -1)", lambda a, b: torch.stack([a, b], -1), [X(2, 3), X(2, 3)])
    c3("stack_0d", "tg.stack({a, b})", lambda a, b: torch.stack([a, b]), [X(), X()])
    c3("index_select_dim1", "a:index_select(1, b)", lambda a, b: a.index_select(0, I(b)), [X(3, 4), X(5, dtype=I64, gen="idx", n=3)])
    c3("index_select_dim2", "tg.index_select(a, 2, b)", lambda a, b: torch.index_select(a, 1, I(b)), [X(3, 4), X(3, dtype=I64, gen="idx", n=4)])
    c3("index_select_neg", "a:index_select(-1, b)", lambda a, b: a.index_select(-1, I(b)), [X(2, 3, 4), X(2, dtype=I64, gen="idx", n=4)])
    c3("gather_dim2", "a:gather(2, b)", lambda a, b: a.gather(1, I(b)), [X(3, 4), X(3, 2, dtype=I64, gen="idx", n=4)])
    c3("gather_dim1", "a:gather(1, b)", lambda a, b: a.gather(0, I(b)), [X(3, 4), X(2, 4, dtype=I64, gen="idx", n=3)])
    c3("gather_fn_neg", "tg.gather(a, -1, b)", lambda a, b: torch.gather(a, -1, I(b)), [X(2, 3, 4), X(2, 3, 3, dtype=I64, gen="idx", n=4)])
    sc_idx = X(3, 2, dtype=I64, data=[1, 3, 4, 2, 2, 1])  # distinct per row
    c3("scatter_src", "a:scatter(2, b, c)", lambda a, b, c: a.scatter(1, I(b), c), [X(3, 4), sc_idx, X(3, 2)])
    c3("scatter_value", "a:scatter(2, b, 2.5)", lambda a, b: a.scatter(1, I(b), 2.5), [X(3, 4), sc_idx])
    c3("scatter_dim1", "a:scatter(1, b, c)", lambda a, b, c: a.scatter(0, I(b), c),
       [X(3, 3), X(2, 3, dtype=I64, data=[3, 1, 2, 1, 2, 3]), X(2, 3)])
    c3("scatter_add", "a:scatter_add(2, b, c)", lambda a, b, c: a.scatter_add(1, I(b), c),
       [X(3, 4), X(3, 3, dtype=I64, gen="idx", n=4), X(3, 3)])
    c3("scatter_add_dim1", "tg.scatter_add(a, 1, b, c)", lambda a, b, c: torch.scatter_add(a, 0, I(b), c),
       [X(3, 2), X(4, 2, dtype=I64, gen="idx", n=3), X(4, 2)])
    c3("index_add", "a:index_add(1, b, c)", lambda a, b, c: a.index_add(0, I(b), c),
       [X(4, 3), X(3, dtype=I64, data=[2, 4, 2]), X(3, 3)])
    c3("index_add_alpha", "a:index_add(2, b, c, {alpha = 2})", lambda a, b, c: a.index_add(1, I(b), c, alpha=2),
       [X(3, 4), X(2, dtype=I64, data=[4, 1]), X(3, 2)])
    c3("masked_fill", "a:masked_fill(b, 0.0)", lambda a, b: a.masked_fill(b, 0.0), [X(3, 4), X(3, 4, dtype=BOOL, gen="bool")])
    c3("masked_fill_bcast", "a:masked_fill(b, -1.5)", lambda a, b: a.masked_fill(b, -1.5), [X(3, 4), X(1, 4, dtype=BOOL, gen="bool")])
    c3("masked_fill_fn", "tg.masked_fill(a, b, 2)", lambda a, b: torch.masked_fill(a, b, 2), [X(3, 4), X(3, 1, dtype=BOOL, gen="bool")])
    c3("masked_fill_neg_inf", "a:masked_fill(b, -math.huge)", lambda a, b: a.masked_fill(b, -math.inf),
       [X(2, 3), X(2, 3, dtype=BOOL, data=[True, False, False, False, True, False])])
    c3("masked_fill_softmax", "tg.softmax(a:masked_fill(b, -math.huge), 2)",
       lambda a, b: torch.softmax(a.masked_fill(b, -math.inf), 1),
       [X(2, 3), X(2, 3, dtype=BOOL, data=[True, False, False, False, True, False])])
    c3("masked_fill_int64", "a:masked_fill(b, 7)", lambda a, b: a.masked_fill(b, 7),
       [X(2, 3, dtype=I64, gen="int"), X(2, 3, dtype=BOOL, gen="bool")])
    c3("masked_select", "a:masked_select(b)", lambda a, b: a.masked_select(b),
       [X(3, 4), X(3, 4, dtype=BOOL, data=[True, False, True, True, False, False, False, True, True, False, True, False])])
    c3("masked_select_bcast", "a:masked_select(b)", lambda a, b: a.masked_select(b),
       [X(3, 4), X(4, dtype=BOOL, data=[False, True, True, False])])
    c3("masked_select_gt", "a:masked_select(a:gt(0))", lambda a: a.masked_select(a > 0), [X(3, 4)])
    c3("where", "tg.where(b, a, c)", lambda a, b, c: torch.where(b, a, c), [X(3, 4), X(3, 4, dtype=BOOL, gen="bool"), X(3, 4)])
    c3("where_bcast", "tg.where(b, a, c)", lambda a, b, c: torch.where(b, a, c), [X(3, 1), X(1, 4, dtype=BOOL, gen="bool"), X(4)])
    c3("where_scalar_other", "tg.where(b, a, 0.0)", lambda a, b: torch.where(b, a, 0.0), [X(3, 4), X(3, 4, dtype=BOOL, gen="bool")])
    c3("where_scalar_self", "tg.where(b, 1.5, a)", lambda a, b: torch.where(b, 1.5, a), [X(3, 4), X(3, 4, dtype=BOOL, gen="bool")])
    c3("where_cond_expr", "tg.where(a:gt(b), a, b)", lambda a, b: torch.where(a > b, a, b), [X(3, 4), X(3, 4)])
    c3("repeat", "a[\"repeat\"](a, 2, 3)", lambda a: a.repeat(2, 3), [X(2, 3)])
    c3("repeat_new_dims", "a[\"repeat\"](a, 2, 1, 2)", lambda a: a.repeat(2, 1, 2), [X(2, 3)])
    c3("repeat_table", "a[\"repeat\"](a, {3, 1})", lambda a: a.repeat(3, 1), [X(2, 2)])
    c3("tile", "a:tile(2, 1)", lambda a: a.tile(2, 1), [X(2, 3)])
    c3("tile_short", "a:tile({2})", lambda a: a.tile((2,)), [X(2, 3)])
    c3("tile_fn", "tg.tile(a, {2, 2})", lambda a: torch.tile(a, (2, 2)), [X(3)])
    c3("flip_1", "a:flip(1)", lambda a: a.flip(0), [X(3, 4)])
    c3("flip_both", "a:flip({1, 2})", lambda a: a.flip([0, 1]), [X(3, 4)])
    c3("flip_neg", "tg.flip(a, {-1})", lambda a: torch.flip(a, [-1]), [X(2, 3, 4)])
    c3("roll_dim", "a:roll(1, 2)", lambda a: a.roll(1, 1), [X(3, 4)])
    c3("roll_neg_shift", "a:roll(-1, 1)", lambda a: a.roll(-1, 0), [X(3, 4)])
    c3("roll_flat", "a:roll(3)", lambda a: a.roll(3), [X(3, 4)])
    c3("roll_multi", "a:roll({1, -2}, {1, 2})", lambda a: a.roll((1, -2), (0, 1)), [X(3, 4)])
    c3("roll_fn_negdim", "tg.roll(a, 2, -1)", lambda a: torch.roll(a, 2, -1), [X(2, 3, 4)])
    c3("tril", "a:tril()", lambda a: a.tril(), [X(4, 4)])
    c3("tril_neg", "a:tril(-1)", lambda a: a.tril(-1), [X(3, 4)])
    c3("tril_pos", "tg.tril(a, 1)", lambda a: torch.tril(a, 1), [X(3, 4)])
    c3("triu", "a:triu()", lambda a: a.triu(), [X(3, 4)])
    c3("triu_pos", "a:triu(1)", lambda a: a.triu(1), [X(4, 3)])
    c3("triu_batched", "a:triu(-1)", lambda a: a.triu(-1), [X(2, 3, 3)])
    # ---------------------------------------------------------- unary
    U = [
        ("exp", "randn"), ("log", "pos"), ("log1p", "pos"), ("expm1", "randn"), ("sqrt", "pos"),
        ("rsqrt", "pos"), ("abs", "randn"), ("sign", "randn"), ("sin", "big"), ("cos", "big"),
        ("tan", "randn"), ("tanh", "randn"), ("sigmoid", "big"), ("relu", "randn"), ("gelu", "big"),
        ("silu", "big"), ("softplus", "big"), ("erf", "randn"), ("floor", "big"), ("ceil", "big"),
        ("round", "big"), ("reciprocal", "pos"), ("square", "randn"), ("neg", "randn"),
    ]
    for op, gen in U:
        # gelu/silu/softplus are only in torch.nn.functional; tgrad has them as plain unary ops
        tf = getattr(F, op) if op in ("gelu", "silu", "softplus") else getattr(torch, op)
        c3(f"u_{op}", f"a:{op}()", (lambda tf: lambda a: tf(a))(tf), [X(2, 3, gen=gen)])
        c3(f"u_{op}_fn_t", f"tg.{op}(a:t())", (lambda tf: lambda a: tf(a.t()))(tf), [X(3, 2, gen=gen)])
        c3(f"u_{op}_f32", f"a:{op}()", (lambda tf: lambda a: tf(a))(tf), [X(2, 3, gen=gen, dtype=F32)])
    c3("u_tan_small", "a:tan()", lambda a: a.tan(), [X(5, data=[-1.2, -0.5, 0.0, 0.7, 1.3])])
    c3("u_round_half_even", "a:round()", lambda a: a.round(),
       [X(8, data=[0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999999999999994, 3.7])], gradcheck=False)
    c3("u_sign_zero", "a:sign()", lambda a: a.sign(), [X(4, data=[0.0, -2.0, 3.0, -0.0])], gradcheck=False)
    c3("u_abs_int64", "a:abs()", lambda a: a.abs(), [X(3, 4, dtype=I64, gen="int")])
    c3("u_sign_int64", "a:sign()", lambda a: a.sign(), [X(3, 4, dtype=I64, gen="int")])
    c3("u_neg_int64", "-a", lambda a: -a, [X(3, 4, dtype=I64, gen="int")])
    c3("u_relu_int64", "a:relu()", lambda a: a.relu(), [X(3, 4, dtype=I64, gen="int")])
    c3("u_square_int64", "a:square()", lambda a: a.square(), [X(3, 4, dtype=I64, gen="int")])
    c3("u_exp_int64", "a:exp()", lambda a: a.exp(), [X(3, 4, dtype=I64, gen="int")])
    c3("u_sqrt_int64", "a:sqrt()", lambda a: a.sqrt(), [X(3, 4, dtype=I64, gen="int", lo=0, hi=9)])
    c3("u_log_edge", "a:log()", lambda a: a.log(), [X(3, data=[0.0, 1.0, -1.0], rg=False)])
    c3("u_gelu_tanh", f"{LF}gelu(a, {{approximate = \"tanh\"}})", lambda a: F.gelu(a, approximate="tanh"), [X(3, 4, gen="big")])
    c3("u_softplus_beta", f"{LF}softplus(a, {{beta = 2, threshold = 3}})", lambda a: F.softplus(a, beta=2, threshold=3), [X(3, 4, gen="big")])
    c3("u_exp_chain", "a:sin():exp():log1p()", lambda a: a.sin().exp().log1p(), [X(3, 4)])
    # clamp
    c3("clamp", "a:clamp(-0.5, 0.5)", lambda a: a.clamp(-0.5, 0.5), [X(3, 4)])
    c3("clamp_min_only", "a:clamp(0.1)", lambda a: a.clamp(0.1), [X(3, 4)])
    c3("clamp_max_only", "a:clamp(nil, 0.2)", lambda a: a.clamp(None, 0.2), [X(3, 4)])
    c3("clamp_fn_t", "tg.clamp(a:t(), -1, 1)", lambda a: torch.clamp(a.t(), -1, 1), [X(4, 3, gen="big")])
    c3("clamp_int64", "a:clamp(-1, 2)", lambda a: a.clamp(-1, 2), [X(3, 4, dtype=I64, gen="int")])
    c3("clamp_f32", "a:clamp(-0.5, 0.5)", lambda a: a.clamp(-0.5, 0.5), [X(3, 4, dtype=F32)])
    # ---------------------------------------------------------- binary
    c3("add_method", "a:add(b)", lambda a, b: a.add(b), [X(3, 4), X(4)])
    c3("add_fn_num", "tg.add(a, 2)", lambda a: torch.add(a, 2), [X(3, 4)])
    c3("add_alpha", "a:add(b, {alpha = 2})", lambda a, b: a.add(b, alpha=2), [X(3, 4), X(3, 4)])
    c3("sub_method", "a:sub(b)", lambda a, b: a.sub(b), [X(3, 4), X(3, 1)])
    c3("sub_alpha", "tg.sub(a, b, {alpha = 0.5})", lambda a, b: torch.sub(a, b, alpha=0.5), [X(3, 4), X(4)])
    c3("mul_method", "a:mul(b)", lambda a, b: a.mul(b), [X(3, 4), X(2, 3, 4)])
    c3("mul_fn_num", "tg.mul(a, -3)", lambda a: torch.mul(a, -3), [X(3, 4)])
    c3("div_method", "a:div(b)", lambda a, b: a.div(b), [X(3, 4), X(4, gen="pos")])
    c3("div_fn_num", "tg.div(a, 0.25)", lambda a: torch.div(a, 0.25), [X(3, 4)])
    c3("div_by_zero", "a / b", lambda a, b: a / b, [X(4, data=[1.0, -1.0, 0.0, 2.0], rg=False), X(4, data=[0.0, 0.0, 0.0, 4.0], rg=False)])
    c3("pow_method_bcast", "a:pow(b)", lambda a, b: a.pow(b), [X(3, 4, gen="pos"), X(3, 1)])
    c3("pow_fn_num_base", "tg.pow(2.5, a)", lambda a: torch.pow(2.5, a), [X(3, 4)])
    c3("pow_neg_base_int_exp", "a ^ 2", lambda a: a ** 2, [X(4, data=[-2.0, -0.5, 1.5, 3.0])])
    c3("pow_int64", "a ^ 2", lambda a: a ** 2, [X(3, 4, dtype=I64, gen="int")])
    c3("maximum", "tg.maximum(a, b)", torch.maximum, [X(3, 4), X(3, 4)])
    c3("maximum_bcast", "a:maximum(b)", lambda a, b: a.maximum(b), [X(3, 4), X(4)])
    c3("minimum", "tg.minimum(a, b)", torch.minimum, [X(3, 4), X(3, 1)])
    c3("minimum_int64", "tg.minimum(a, b)", torch.minimum, [X(3, 4, dtype=I64, gen="int"), X(4, dtype=I64, gen="int")])
    c3("atan2", "tg.atan2(a, b)", torch.atan2, [X(3, 4), X(3, 4)])
    c3("atan2_bcast", "a:atan2(b)", lambda a, b: a.atan2(b), [X(3, 4), X(4)])
    c3("fmod", "a:fmod(b)", lambda a, b: a.fmod(b), [X(3, 4, gen="big"), X(3, 4, gen="pos")])
    c3("fmod_num", "tg.fmod(a, 1.5)", lambda a: torch.fmod(a, 1.5), [X(3, 4, gen="big")])
    c3("fmod_neg_divisor", "a:fmod(-1.5)", lambda a: a.fmod(-1.5), [X(3, 4, gen="big")])
    c3("fmod_int64", "a:fmod(b)", lambda a, b: a.fmod(b),
       [X(6, dtype=I64, data=[7, -7, 7, -7, 0, 5]), X(6, dtype=I64, data=[3, 3, -3, -3, 2, 5])])
    c3("remainder", "a:remainder(b)", lambda a, b: a.remainder(b), [X(3, 4, gen="big"), X(3, 4, gen="pos")])
    c3("remainder_num", "tg.remainder(a, 1.5)", lambda a: torch.remainder(a, 1.5), [X(3, 4, gen="big")])
    c3("remainder_neg_divisor", "a:remainder(-1.5)", lambda a: a.remainder(-1.5), [X(3, 4, gen="big")])
    c3("remainder_int64", "a:remainder(b)", lambda a, b: a.remainder(b),
       [X(6, dtype=I64, data=[7, -7, 7, -7, 0, 5]), X(6, dtype=I64, data=[3, 3, -3, -3, 2, 5])])
    c3("remainder_int64_num", "a:remainder(3)", lambda a: a.remainder(3), [X(3, 4, dtype=I64, gen="int", lo=-9, hi=9)])
    cmp_data_a = [1.0, 2.0, 3.0, -1.0, 0.5, 2.0]
    cmp_data_b = [1.0, 3.0, 2.0, -1.0, 0.25, 2.5]
    for op in ("eq", "ne", "lt", "le", "gt", "ge"):
        c3(f"cmp_{op}", f"a:{op}(b)", (lambda op: lambda a, b: getattr(a, op)(b))(op),
           [X(2, 3, data=cmp_data_a, rg=False), X(2, 3, data=cmp_data_b, rg=False)])
        c3(f"cmp_{op}_num", f"a:{op}(2)", (lambda op: lambda a: getattr(a, op)(2))(op),
           [X(2, 3, data=cmp_data_a, rg=False)])
        c3(f"cmp_{op}_fn_bcast", f"tg.{op}(a, b)", (lambda op: lambda a, b: getattr(torch, op)(a, b))(op),
           [X(3, 4, dtype=I64, gen="int", lo=-2, hi=2), X(4, dtype=I64, gen="int", lo=-2, hi=2)])
    c3("cmp_gt_requires_grad", "a:gt(b)", lambda a, b: a.gt(b), [X(3, 4), X(3, 4)])
    c3("cmp_eq_mixed_dtype", "a:eq(b)", lambda a, b: a.eq(b),
       [X(4, dtype=I64, data=[1, 2, 3, 4]), X(4, data=[1.0, 2.5, 3.0, 0.0], rg=False)])
    c3("cmp_lt_f32_num", "a:lt(0.5)", lambda a: a.lt(0.5), [X(3, 4, dtype=F32)])
    c3("logical_and", "a:logical_and(b)", lambda a, b: a.logical_and(b), [X(3, 4, dtype=BOOL, gen="bool"), X(3, 4, dtype=BOOL, gen="bool")])
    c3("logical_or", "tg.logical_or(a, b)", torch.logical_or, [X(3, 4, dtype=BOOL, gen="bool"), X(4, dtype=BOOL, gen="bool")])
    c3("logical_not", "a:logical_not()", lambda a: a.logical_not(), [X(3, 4, dtype=BOOL, gen="bool")])
    c3("logical_not_float", "tg.logical_not(a)", torch.logical_not, [X(5, data=[0.0, 1.5, -2.0, 0.0, 3.0], rg=False)])
    c3("logical_and_float", "a:logical_and(b)", lambda a, b: a.logical_and(b),
       [X(4, data=[0.0, 1.0, 2.0, 0.0], rg=False), X(4, dtype=I64, data=[1, 0, 3, 0])])
    # ---------------------------------------------------------- reductions
    def red(name, expr, fn, inputs, **k):
        c3(name, expr, fn, inputs, **k)
    for op in ("sum", "mean"):
        tf = getattr(torch, op)
        red(f"{op}_dims_list", f"a:{op}({{1, 3}})", (lambda tf: lambda a: tf(a, (0, 2)))(tf), [X(2, 3, 4)])
        red(f"{op}_dims_list_keepdim", f"a:{op}({{1, 3}}, {{keepdim = true}})",
            (lambda tf: lambda a: tf(a, (0, 2), keepdim=True))(tf), [X(2, 3, 4)])
        red(f"{op}_dims_list_neg", f"a:{op}({{-1, -2}})", (lambda tf: lambda a: tf(a, (-1, -2)))(tf), [X(2, 3, 4)])
        red(f"{op}_dims_all_list", f"a:{op}({{1, 2}})", (lambda tf: lambda a: tf(a, (0, 1)))(tf), [X(3, 4)])
        red(f"{op}_fn_dim_keepdim", f"tg.{op}(a, 2, {{keepdim = true}})", (lambda tf: lambda a: tf(a, 1, keepdim=True))(tf), [X(3, 4)])
        red(f"{op}_permute", f"a:permute(3, 1, 2):{op}(2)", (lambda tf: lambda a: tf(a.permute(2, 0, 1), 1))(tf), [X(2, 3, 4)])
        red(f"{op}_0d", f"a:{op}()", (lambda tf: lambda a: tf(a))(tf), [X()])
    red("sum_int64_dim", "a:sum(2)", lambda a: a.sum(1), [X(3, 4, dtype=I64, gen="int")])
    red("sum_bool", "a:sum()", lambda a: a.sum(), [X(3, 4, dtype=BOOL, gen="bool")])
    red("sum_bool_dim", "a:sum(1)", lambda a: a.sum(0), [X(3, 4, dtype=BOOL, gen="bool")])
    red("mean_f32_dims", "a:mean({1, 2})", lambda a: a.mean((0, 1)), [X(2, 3, 4, dtype=F32)])
    red("prod_all", "a:prod()", lambda a: a.prod(), [X(3, 4, gen="pos")])
    red("prod_dim", "a:prod(2)", lambda a: a.prod(1), [X(3, 4)])
    red("prod_dim_keepdim", "a:prod(1, {keepdim = true})", lambda a: a.prod(0, keepdim=True), [X(3, 4)])
    red("prod_neg_dim", "tg.prod(a, -1)", lambda a: torch.prod(a, -1), [X(2, 3, 4)])
    red("prod_one_zero", "a:prod(2)", lambda a: a.prod(1), [X(2, 3, data=[1.5, 0.0, -2.0, 0.5, 3.0, -1.0])], gradcheck=False)
    red("prod_all_one_zero", "a:prod()", lambda a: a.prod(), [X(2, 3, data=[1.5, 0.0, -2.0, 0.5, 3.0, -1.0])], gradcheck=False)
    red("prod_int64", "a:prod(1)", lambda a: a.prod(0), [X(3, 4, dtype=I64, gen="int")])
    for op in ("max", "min"):
        red(f"{op}_all", f"a:{op}()", (lambda op: lambda a: getattr(a, op)())(op), [X(3, 4)])
        red(f"{op}_dim", f"a:{op}(2)", (lambda op: lambda a: VI(getattr(a, op)(1)))(op), [X(3, 4)])
        red(f"{op}_dim1", f"a:{op}(1)", (lambda op: lambda a: VI(getattr(a, op)(0)))(op), [X(3, 4)])
        red(f"{op}_dim_keepdim", f"a:{op}(-1, {{keepdim = true}})",
            (lambda op: lambda a: VI(getattr(a, op)(-1, keepdim=True)))(op), [X(3, 4)])
        red(f"{op}_dim_3d", f"tg.{op}(a, 2)", (lambda op: lambda a: VI(getattr(torch, op)(a, 1)))(op), [X(2, 3, 4)])
        red(f"{op}_dim_t", f"a:t():{op}(1)", (lambda op: lambda a: VI(getattr(a.t(), op)(0)))(op), [X(3, 4)])
        red(f"{op}_dim_int64", f"a:{op}(2)", (lambda op: lambda a: VI(getattr(a, op)(1)))(op), [X(3, 4, dtype=I64, gen="dint", lo=-50, hi=50)])
        red(f"{op}_dim_f32", f"a:{op}(2)", (lambda op: lambda a: VI(getattr(a, op)(1)))(op), [X(3, 4, dtype=F32)])
        red(f"{op}_all_int64", f"a:{op}()", (lambda op: lambda a: getattr(a, op)())(op), [X(3, 4, dtype=I64, gen="int")])
    for op in ("amax", "amin"):
        red(f"{op}_dim", f"a:{op}(2)", (lambda op: lambda a: getattr(a, op)(1))(op), [X(3, 4)])
        red(f"{op}_all", f"a:{op}()", (lambda op: lambda a: getattr(a, op)())(op), [X(3, 4)])
        red(f"{op}_dims_keepdim", f"a:{op}({{1, 3}}, {{keepdim = true}})",
            (lambda op: lambda a: getattr(a, op)((0, 2), keepdim=True))(op), [X(2, 3, 4)])
        red(f"{op}_fn_neg", f"tg.{op}(a, -1)", (lambda op: lambda a: getattr(torch, op)(a, -1))(op), [X(2, 3, 4)])
    red("amax_ties", "a:amax(2)", lambda a: a.amax(1), [X(2, 3, data=[1.0, 2.0, 2.0, 0.5, 0.5, 0.5])], gradcheck=False)
    red("max_all_ties", "a:max()", lambda a: a.max(), [X(2, 3, data=[1.0, 2.0, 2.0, 0.5, -0.5, 0.5])], gradcheck=False)
    for op in ("argmax", "argmin"):
        red(f"{op}_all", f"a:{op}()", (lambda op: lambda a: getattr(a, op)() + 1)(op), [X(3, 4)])
        red(f"{op}_dim", f"a:{op}(2)", (lambda op: lambda a: getattr(a, op)(1) + 1)(op), [X(3, 4)])
        red(f"{op}_dim1_keepdim", f"a:{op}(1, {{keepdim = true}})", (lambda op: lambda a: getattr(a, op)(0, keepdim=True) + 1)(op), [X(3, 4)])
        red(f"{op}_fn_neg", f"tg.{op}(a, -1)", (lambda op: lambda a: getattr(torch, op)(a, -1) + 1)(op), [X(2, 3, 4)])
        red(f"{op}_int64", f"a:{op}(1)", (lambda op: lambda a: getattr(a, op)(0) + 1)(op), [X(3, 4, dtype=I64, gen="dint", lo=-50, hi=50)])
    for op in ("var", "std"):
        red(f"{op}_all", f"a:{op}()", (lambda op: lambda a: getattr(a, op)())(op), [X(3, 4)])
        red(f"{op}_dim", f"a:{op}(2)", (lambda op: lambda a: getattr(a, op)(1))(op), [X(3, 4)])
        red(f"{op}_dim_corr0_keepdim", f"a:{op}(2, {{correction = 0, keepdim = true}})",
            (lambda op: lambda a: getattr(a, op)(1, correction=0, keepdim=True))(op), [X(3, 4)])
        red(f"{op}_dim_corr2", f"a:{op}(-1, {{correction = 2}})",
            (lambda op: lambda a: getattr(a, op)(-1, correction=2))(op), [X(3, 5)])
        red(f"{op}_dims_list", f"a:{op}({{1, 3}})", (lambda op: lambda a: getattr(a, op)((0, 2)))(op), [X(2, 3, 4)])
        red(f"{op}_opts_only", f"a:{op}({{correction = 0}})", (lambda op: lambda a: getattr(a, op)(correction=0))(op), [X(3, 4)])
        red(f"{op}_fn_dim1", f"tg.{op}(a, 1)", (lambda op: lambda a: getattr(torch, op)(a, 0))(op), [X(3, 4)])
        red(f"{op}_f32", f"a:{op}(2)", (lambda op: lambda a: getattr(a, op)(1))(op), [X(3, 4, dtype=F32)])
    red("norm_default", "a:norm()", lambda a: torch.norm(a), [X(3, 4)])
    red("norm_p1", "a:norm(1)", lambda a: torch.norm(a, 1), [X(3, 4)])
    red("norm_p2", "a:norm(2)", lambda a: torch.norm(a, 2), [X(3, 4)])
    red("norm_inf", "a:norm(math.huge)", lambda a: torch.norm(a, math.inf), [X(3, 4)])
    red("norm_neg_inf", "a:norm(-math.huge)", lambda a: torch.norm(a, -math.inf), [X(3, 4)])
    red("norm_fro", "a:norm(\"fro\")", lambda a: torch.norm(a, "fro"), [X(3, 4)])
    red("norm_p3", "a:norm(3)", lambda a: torch.norm(a, 3), [X(3, 4)])
    red("norm_p2_dim", "a:norm(2, 2)", lambda a: torch.norm(a, 2, 1), [X(3, 4)])
    red("norm_p1_dim_keepdim", "a:norm(1, -1, {keepdim = true})", lambda a: torch.norm(a, 1, -1, keepdim=True), [X(3, 4)])
    red("norm_inf_dim", "a:norm(math.huge, 1)", lambda a: torch.norm(a, math.inf, 0), [X(3, 4)])
    red("norm_p2_dims", "a:norm(2, {1, 3})", lambda a: torch.norm(a, 2, (0, 2)), [X(2, 3, 4)])
    red("norm_fro_dims", "a:norm(\"fro\", {1, 2})", lambda a: torch.norm(a, "fro", (0, 1)), [X(2, 3, 4)])
    red("norm_fn", "tg.norm(a, 2, 1)", lambda a: torch.norm(a, 2, 0), [X(3, 4)])
    red("norm_f32", "a:norm()", lambda a: torch.norm(a), [X(3, 4, dtype=F32)])
    red("logsumexp_dim", "a:logsumexp(2)", lambda a: a.logsumexp(1), [X(3, 4)])
    red("logsumexp_keepdim", "a:logsumexp(-1, {keepdim = true})", lambda a: a.logsumexp(-1, keepdim=True), [X(3, 4)])
    red("logsumexp_dims", "a:logsumexp({1, 2})", lambda a: a.logsumexp((0, 1)), [X(2, 3, 4)])
    red("logsumexp_fn_dim1", "tg.logsumexp(a, 1)", lambda a: torch.logsumexp(a, 0), [X(3, 4)])
    red("logsumexp_large", "a:logsumexp(2)", lambda a: a.logsumexp(1), [X(2, 3, data=[1000.0, 1001.0, 999.0, -1000.0, -1002.0, -1001.0])])
    red("logsumexp_neg_inf", "a:logsumexp(2)", lambda a: a.logsumexp(1), [X(2, 2, data=[-math.inf, 1.0, -math.inf, -math.inf], rg=False)])
    red("logsumexp_f32", "a:logsumexp(2)", lambda a: a.logsumexp(1), [X(3, 4, dtype=F32)])
    red("all_all", "a:all()", lambda a: a.all(), [X(3, 4, dtype=BOOL, gen="bool")])
    red("all_true", "a:all()", lambda a: a.all(), [X(2, 2, dtype=BOOL, data=[True] * 4)])
    red("all_dim", "a:all(2)", lambda a: a.all(1), [X(3, 4, dtype=BOOL, data=[True, True, True, True, True, False, True, True, False, False, False, False])])
    red("all_dims", "a:all({1, 2})", lambda a: a.all((0, 1)), [X(2, 3, 2, dtype=BOOL, gen="bool")])
    red("any_any", "a:any()", lambda a: a.any(), [X(3, 4, dtype=BOOL, gen="bool")])
    red("any_false", "a:any()", lambda a: a.any(), [X(2, 2, dtype=BOOL, data=[False] * 4)])
    red("any_dim_keepdim", "a:any(1, {keepdim = true})", lambda a: a.any(0, keepdim=True),
        [X(3, 4, dtype=BOOL, data=[False, True, False, False, False, True, True, False, False, False, True, False])])
    red("any_float", "a:any(2)", lambda a: a.any(1), [X(2, 3, data=[0.0, 0.0, 0.0, 0.0, 1.5, 0.0], rg=False)])
    red("all_fn_gt", "tg.all(a:gt(-2), 1)", lambda a: torch.all(a > -2, 0), [X(3, 4)])
    red("count_nonzero", "a:count_nonzero()", lambda a: a.count_nonzero(), [X(3, 4, dtype=I64, gen="int", lo=-1, hi=1)])
    red("count_nonzero_dim", "a:count_nonzero(2)", lambda a: a.count_nonzero(1), [X(3, 4, dtype=I64, gen="int", lo=-1, hi=1)])
    red("count_nonzero_dims", "tg.count_nonzero(a, {1, 2})", lambda a: torch.count_nonzero(a, (0, 1)), [X(2, 3, 2, dtype=I64, gen="int", lo=-1, hi=1)])
    red("count_nonzero_float", "a:count_nonzero(1)", lambda a: a.count_nonzero(0), [X(2, 3, data=[0.0, 1.5, 0.0, -2.0, 0.0, 0.0], rg=False)])
    red("count_nonzero_bool", "a:count_nonzero()", lambda a: a.count_nonzero(), [X(3, 4, dtype=BOOL, gen="bool")])
    red("cumsum_dim2", "a:cumsum(2)", lambda a: a.cumsum(1), [X(3, 4)])
    red("cumsum_dim1", "a:cumsum(1)", lambda a: a.cumsum(0), [X(3, 4)])
    red("cumsum_neg", "tg.cumsum(a, -1)", lambda a: torch.cumsum(a, -1), [X(2, 3, 4)])
    red("cumsum_t", "a:t():cumsum(2)", lambda a: a.t().cumsum(1), [X(3, 4)])
    red("cumsum_int64", "a:cumsum(2)", lambda a: a.cumsum(1), [X(3, 4, dtype=I64, gen="int")])
    red("cumsum_1d", "a:cumsum(1)", lambda a: a.cumsum(0), [X(5)])
    red("cumprod_dim2", "a:cumprod(2)", lambda a: a.cumprod(1), [X(3, 4)])
    red("cumprod_dim1", "tg.cumprod(a, 1)", lambda a: torch.cumprod(a, 0), [X(3, 4)])
    red("cumprod_zero", "a:cumprod(1)", lambda a: a.cumprod(0), [X(5, data=[1.5, -2.0, 0.0, 3.0, 0.5])], gradcheck=False)
    red("cumprod_int64", "a:cumprod(2)", lambda a: a.cumprod(1), [X(3, 4, dtype=I64, gen="int")])
    red("sort_default", "a:sort()", lambda a: VI(a.sort()), [X(3, 4)])
    red("sort_dim1", "a:sort(1)", lambda a: VI(a.sort(0)), [X(3, 4)])
    red("sort_desc", "a:sort(2, {descending = true})", lambda a: VI(a.sort(1, descending=True)), [X(3, 4)])
    red("sort_fn_neg", "tg.sort(a, -2)", lambda a: VI(torch.sort(a, -2)), [X(2, 3, 4)])
    red("sort_int64", "a:sort(2)", lambda a: VI(a.sort(1)), [X(3, 4, dtype=I64, gen="dint", lo=-50, hi=50)])
    red("sort_1d_desc", "a:sort(1, {descending = true})", lambda a: VI(a.sort(0, descending=True)), [X(6)])
    red("topk_default", "a:topk(2)", lambda a: VI(a.topk(2)), [X(3, 4)])
    red("topk_dim1", "a:topk(2, 1)", lambda a: VI(a.topk(2, 0)), [X(3, 4)])
    red("topk_smallest", "a:topk(2, 2, {largest = false})", lambda a: VI(a.topk(2, 1, largest=False)), [X(3, 4)])
    red("topk_sorted", "a:topk(3, -1, {largest = true, sorted = true})", lambda a: VI(a.topk(3, -1, largest=True, sorted=True)), [X(2, 5)])
    red("topk_fn_1d", "tg.topk(a, 3)", lambda a: VI(torch.topk(a, 3)), [X(6)])
    red("topk_3d", "a:topk(1, 2)", lambda a: VI(a.topk(1, 1)), [X(2, 3, 4)])
    # ---------------------------------------------------------- linear algebra
    c3("mm", "tg.mm(a, b)", torch.mm, [X(3, 4), X(4, 2)])
    c3("mm_method_t", "a:t():mm(b)", lambda a, b: a.t().mm(b), [X(4, 3), X(4, 2)])
    c3("mm_f32", "a:mm(b)", lambda a, b: a.mm(b), [X(3, 4, dtype=F32), X(4, 2, dtype=F32)])
    c3("mm_int64", "a:mm(b)", lambda a, b: a.mm(b), [X(2, 3, dtype=I64, gen="int"), X(3, 2, dtype=I64, gen="int")])
    c3("bmm", "tg.bmm(a, b)", torch.bmm, [X(2, 3, 4), X(2, 4, 2)])
    c3("bmm_transpose", "a:bmm(b:transpose(2, 3))", lambda a, b: a.bmm(b.transpose(1, 2)), [X(2, 3, 4), X(2, 2, 4)])
    c3("mv", "tg.mv(a, b)", torch.mv, [X(3, 4), X(4)])
    c3("mv_t", "a:t():mv(b)", lambda a, b: a.t().mv(b), [X(4, 3), X(4)])
    c3("dot", "tg.dot(a, b)", torch.dot, [X(5), X(5)])
    c3("dot_method", "a:dot(b)", lambda a, b: a.dot(b), [X(4), X(4)])
    c3("outer", "tg.outer(a, b)", torch.outer, [X(3), X(4)])
    c3("outer_method", "a:outer(b)", lambda a, b: a.outer(b), [X(2), X(3)])
    c3("addmm", "tg.addmm(c, a, b)", lambda a, b, c: torch.addmm(c, a, b), [X(3, 4), X(4, 2), X(3, 2)])
    c3("addmm_bcast_bias", "tg.addmm(c, a, b)", lambda a, b, c: torch.addmm(c, a, b), [X(3, 4), X(4, 2), X(2)])
    c3("addmm_beta_alpha", "tg.addmm(c, a, b, {beta = 0.5, alpha = 2})",
       lambda a, b, c: torch.addmm(c, a, b, beta=0.5, alpha=2), [X(3, 4), X(4, 2), X(3, 2)])
    c3("addmm_method", "c:addmm(a, b)", lambda a, b, c: c.addmm(a, b), [X(2, 3), X(3, 2), X(2, 2)])
    c3("baddbmm", "tg.baddbmm(c, a, b)", lambda a, b, c: torch.baddbmm(c, a, b), [X(2, 3, 4), X(2, 4, 2), X(2, 3, 2)])
    c3("baddbmm_beta_alpha", "tg.baddbmm(c, a, b, {beta = -1, alpha = 0.5})",
       lambda a, b, c: torch.baddbmm(c, a, b, beta=-1, alpha=0.5), [X(2, 3, 4), X(2, 4, 2), X(3, 2)])
    for nm, eq, shs in [
        ("ij_jk", "ij,jk->ik", [(3, 4), (4, 2)]),
        ("bij_bjk", "bij,bjk->bik", [(2, 3, 4), (2, 4, 2)]),
        ("dot", "i,i->", [(4,), (4,)]),
        ("transpose", "ij->ji", [(3, 4)]),
        ("outer", "i,j->ij", [(3,), (4,)]),
        ("sum_all", "ij->", [(3, 4)]),
        ("row_sum", "ij->i", [(3, 4)]),
        ("hadamard_rowsum", "ij,ij->i", [(3, 4), (3, 4)]),
        ("mv", "ij,j->i", [(3, 4), (4,)]),
        ("implicit", "ij,jk", [(3, 4), (4, 2)]),
        ("trace_like_diag", "ii->i", [(3, 3)]),
        ("bilinear", "bn,anm,bm->ba", [(2, 3), (2, 3, 4), (2, 4)]),
    ]:
        names = ["a", "b", "c"][:len(shs)]
        c3(f"einsum_{nm}", f"tg.einsum(\"{eq}\", {', '.join(names)})",
           (lambda eq: lambda *ts: torch.einsum(eq, *ts))(eq), [X(*s) for s in shs])
    c3("einsum_noncontig", "tg.einsum(\"ij,jk->ik\", a:t(), b)", lambda a, b: torch.einsum("ij,jk->ik", a.t(), b), [X(4, 3), X(4, 2)])
    # ---------------------------------------------------------- softmax
    for op in ("softmax", "log_softmax"):
        tf = getattr(torch, op)
        c3(f"{op}_dim2", f"tg.{op}(a, 2)", (lambda tf: lambda a: tf(a, 1))(tf), [X(3, 4)])
        c3(f"{op}_dim1", f"tg.{op}(a, 1)", (lambda tf: lambda a: tf(a, 0))(tf), [X(3, 4)])
        c3(f"{op}_neg_3d", f"tg.{op}(a, -1)", (lambda tf: lambda a: tf(a, -1))(tf), [X(2, 3, 4)])
        c3(f"{op}_mid_3d", f"tg.{op}(a, 2)", (lambda tf: lambda a: tf(a, 1))(tf), [X(2, 3, 4)])
        c3(f"{op}_method", f"a:{op}(1)", (lambda op: lambda a: getattr(a, op)(0))(op), [X(4)])
        c3(f"{op}_t", f"tg.{op}(a:t(), 2)", (lambda tf: lambda a: tf(a.t(), 1))(tf), [X(4, 3)])
        c3(f"{op}_large", f"tg.{op}(a, 2)", (lambda tf: lambda a: tf(a, 1))(tf), [X(2, 3, data=[1000.0, 1001.0, 999.0, -1000.0, -1002.0, -1001.0])])
        c3(f"{op}_f32", f"tg.{op}(a, 2)", (lambda tf: lambda a: tf(a, 1))(tf), [X(3, 4, dtype=F32)])
        c3(f"{op}_F", f"{LF}{op}(a, -1)", (lambda tf: lambda a: tf(a, -1))(tf), [X(3, 4)])
    # ---------------------------------------------------------- losses
    def loss(name, fname, tfn, inputs, opts="", topts=None, **k):
        topts = dict(topts or {})
        argn = ["a", "b", "c"][:len(inputs)]
        for r in ("mean", "sum", "none"):
            o = ([opts] if opts else []) + ([f"reduction = \"{r}\""] if r != "mean" else [])
            ostr = ", {" + ", ".join(o) + "}" if o else ""
            t = dict(topts, reduction=r)
            c3(f"{name}_{r}", f"{LF}{fname}({', '.join(argn[:2])}{ostr})",
               (lambda t: lambda *ts: tfn(*ts, **t))(t), inputs, **k)

    tgt_unit = lambda *s, **k: X(*s, gen="unit", rg=False, **k)
    loss("bce", "binary_cross_entropy", lambda a, b, **t: F.binary_cross_entropy(a, b, **t),
         [X(2, 4, gen="unit"), tgt_unit(2, 4)])
    c3("bce_weight", f"{LF}binary_cross_entropy(a, b, {{weight = c}})",
       lambda a, b, c: F.binary_cross_entropy(a, b, weight=c), [X(2, 4, gen="unit"), tgt_unit(2, 4), X(4, gen="pos", rg=False)])
    c3("bce_binary_target_sum", f"{LF}binary_cross_entropy(a, b, {{reduction = \"sum\"}})",
       lambda a, b: F.binary_cross_entropy(a, b, reduction="sum"),
       [X(2, 2, gen="unit"), X(2, 2, data=[1.0, 0.0, 0.0, 1.0], rg=False)])
    c3("bce_f32", f"{LF}binary_cross_entropy(a, b)", lambda a, b: F.binary_cross_entropy(a, b),
       [X(2, 4, gen="unit", dtype=F32), tgt_unit(2, 4, dtype=F32)])
    loss("bcel_pos_weight", "binary_cross_entropy_with_logits",
         lambda a, b, c, **t: F.binary_cross_entropy_with_logits(a, b, pos_weight=c, **t),
         [X(2, 4, gen="big"), tgt_unit(2, 4), X(4, gen="pos", rg=False)], opts="pos_weight = c")
    c3("bcel_weight", f"{LF}binary_cross_entropy_with_logits(a, b, {{weight = c}})",
       lambda a, b, c: F.binary_cross_entropy_with_logits(a, b, weight=c),
       [X(2, 4), tgt_unit(2, 4), X(2, 1, gen="pos", rg=False)])
    c3("bcel_weight_pos_weight_sum", f"{LF}binary_cross_entropy_with_logits(a, b, {{weight = c, pos_weight = c, reduction = \"sum\"}})",
       lambda a, b, c: F.binary_cross_entropy_with_logits(a, b, weight=c, pos_weight=c, reduction="sum"),
       [X(2, 4), tgt_unit(2, 4), X(4, gen="pos", rg=False)])
    c3("bcel_target_grad", f"{LF}binary_cross_entropy_with_logits(a, b)",
       lambda a, b: F.binary_cross_entropy_with_logits(a, b), [X(2, 4), X(2, 4, gen="unit")])
    c3("bcel_large_logits", f"{LF}binary_cross_entropy_with_logits(a, b, {{reduction = \"none\"}})",
       lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction="none"),
       [X(4, data=[100.0, -100.0, 40.0, -40.0]), X(4, data=[0.0, 1.0, 1.0, 0.0], rg=False)])
    loss("mse", "mse_loss", lambda a, b, **t: F.mse_loss(a, b, **t), [X(2, 3, 2), X(2, 3, 2)])
    loss("l1", "l1_loss", lambda a, b, **t: F.l1_loss(a, b, **t), [X(2, 4), X(2, 4)])
    loss("smooth_l1", "smooth_l1_loss", lambda a, b, **t: F.smooth_l1_loss(a, b, **t), [X(2, 4, gen="big"), X(2, 4)])
    loss("smooth_l1_beta", "smooth_l1_loss", lambda a, b, **t: F.smooth_l1_loss(a, b, beta=0.5, **t),
         [X(2, 4, gen="big"), X(2, 4)], opts="beta = 0.5")
    c3("smooth_l1_beta0", f"{LF}smooth_l1_loss(a, b, {{beta = 0}})", lambda a, b: F.smooth_l1_loss(a, b, beta=0.0),
       [X(2, 4), X(2, 4)])
    loss("huber", "huber_loss", lambda a, b, **t: F.huber_loss(a, b, **t), [X(2, 4, gen="big"), X(2, 4)])
    loss("huber_delta", "huber_loss", lambda a, b, **t: F.huber_loss(a, b, delta=2.0, **t),
         [X(2, 4, gen="big"), X(2, 4)], opts="delta = 2.0")
    c3("l1_f32", f"{LF}l1_loss(a, b)", lambda a, b: F.l1_loss(a, b), [X(2, 4, dtype=F32), X(2, 4, dtype=F32, rg=False)])
    c3("mse_bcast_target_none", f"{LF}mse_loss(a:t(), b, {{reduction = \"none\"}})",
       lambda a, b: F.mse_loss(a.t(), b, reduction="none"), [X(4, 2), X(2, 4)])
    cls = lambda *s, n=4: X(*s, dtype=I64, gen="idx", n=n)
    CE = lambda **t: (lambda a, b, **u: F.cross_entropy(a, I(b), **t, **u))
    loss("ce", "cross_entropy", CE(), [X(3, 4), cls(3)])
    loss("ce_weight", "cross_entropy", lambda a, b, c, **t: F.cross_entropy(a, I(b), weight=c, **t),
         [X(3, 4), cls(3), X(4, gen="pos", rg=False)], opts="weight = c")
    loss("ce_ignore_index", "cross_entropy", CE(ignore_index=1),
         [X(5, 4), X(5, dtype=I64, data=[2, 1, 4, 2, 3])], opts="ignore_index = 2")
    loss("ce_label_smoothing", "cross_entropy", CE(label_smoothing=0.1), [X(3, 4), cls(3)], opts="label_smoothing = 0.1")
    loss("ce_all_opts", "cross_entropy",
         lambda a, b, c, **t: F.cross_entropy(a, I(b), weight=c, ignore_index=0, label_smoothing=0.2, **t),
         [X(5, 4), X(5, dtype=I64, data=[1, 3, 1, 4, 2]), X(4, gen="pos", rg=False)],
         opts="weight = c, ignore_index = 1, label_smoothing = 0.2")
    loss("ce_probs", "cross_entropy", lambda a, b, **t: F.cross_entropy(a, b, **t),
         [X(2, 4), X(2, 4, gen="probs", rg=False)])
    c3("ce_probs_label_smoothing", f"{LF}cross_entropy(a, b, {{label_smoothing = 0.1}})",
       lambda a, b: F.cross_entropy(a, b, label_smoothing=0.1), [X(2, 4), X(2, 4, gen="probs", rg=False)])
    c3("ce_probs_weight_sum", f"{LF}cross_entropy(a, b, {{weight = c, reduction = \"sum\"}})",
       lambda a, b, c: F.cross_entropy(a, b, weight=c, reduction="sum"),
       [X(2, 4), X(2, 4, gen="probs", rg=False), X(4, gen="pos", rg=False)])
    c3("ce_probs_target_grad", f"{LF}cross_entropy(a, b)", lambda a, b: F.cross_entropy(a, b),
       [X(2, 4), X(2, 4, gen="probs")])
    c3("ce_kdim", f"{LF}cross_entropy(a, b)", lambda a, b: F.cross_entropy(a, I(b)), [X(2, 3, 4), cls(2, 4, n=3)])
    c3("ce_kdim_none", f"{LF}cross_entropy(a, b, {{reduction = \"none\"}})",
       lambda a, b: F.cross_entropy(a, I(b), reduction="none"), [X(2, 3, 4), cls(2, 4, n=3)])
    c3("ce_1d_input", f"{LF}cross_entropy(a, b)", lambda a, b: F.cross_entropy(a, I(b)), [X(4), X(dtype=I64, data=[3])])
    c3("ce_default_ignore_neg100", f"{LF}cross_entropy(a, b)",
       lambda a, b: F.cross_entropy(a, torch.where(b == -100, b, b - 1)),
       [X(4, 3), X(4, dtype=I64, data=[1, -100, 3, 2])])
    c3("ce_f32", f"{LF}cross_entropy(a, b)", lambda a, b: F.cross_entropy(a, I(b)), [X(5, 4, dtype=F32), cls(5)])
    c3("ce_large_logits", f"{LF}cross_entropy(a, b)", lambda a, b: F.cross_entropy(a, I(b)),
       [X(2, 3, data=[1000.0, 0.0, -1000.0, 5.0, 500.0, 1.0]), X(2, dtype=I64, data=[3, 2])])
    NLL = lambda **t: (lambda a, b, **u: F.nll_loss(a, I(b), **t, **u))
    loss("nll", "nll_loss", NLL(), [X(3, 4), cls(3)])
    loss("nll_weight", "nll_loss", lambda a, b, c, **t: F.nll_loss(a, I(b), weight=c, **t),
         [X(3, 4), cls(3), X(4, gen="pos", rg=False)], opts="weight = c")
    loss("nll_ignore_index", "nll_loss", NLL(ignore_index=3),
         [X(5, 4), X(5, dtype=I64, data=[4, 1, 4, 2, 3])], opts="ignore_index = 4")
    c3("nll_log_softmax", f"{LF}nll_loss(tg.log_softmax(a, 2), b)",
       lambda a, b: F.nll_loss(torch.log_softmax(a, 1), I(b)), [X(3, 4), cls(3)])
    c3("nll_kdim", f"{LF}nll_loss(a, b)", lambda a, b: F.nll_loss(a, I(b)), [X(2, 3, 4), cls(2, 4, n=3)])
    KL = lambda **t: (lambda a, b, **u: F.kl_div(a, b, **t, **u))
    for r in ("mean", "sum", "none", "batchmean"):
        o = "" if r == "mean" else f", {{reduction = \"{r}\"}}"
        c3(f"kl_div_{r}", f"{LF}kl_div(a, b{o})", (lambda r: lambda a, b: F.kl_div(a, b, reduction=r))(r),
           [X(2, 4, gen="logprobs"), X(2, 4, gen="probs", rg=False)])
        o = f", {{log_target = true{', reduction = ' + chr(34) + r + chr(34) if r != 'mean' else ''}}}"
        c3(f"kl_div_log_target_{r}", f"{LF}kl_div(a, b{o})",
           (lambda r: lambda a, b: F.kl_div(a, b, reduction=r, log_target=True))(r),
           [X(2, 4, gen="logprobs"), X(2, 4, gen="logprobs")])
    c3("kl_div_target_grad", f"{LF}kl_div(a, b, {{reduction = \"sum\"}})",
       lambda a, b: F.kl_div(a, b, reduction="sum"), [X(2, 4, gen="logprobs"), X(2, 4, gen="probs")])
    # ---------------------------------------------------------- dtype promotion
    c3("promo_int64_plus_f32", "a + b", lambda a, b: a + b, [X(3, 4, dtype=I64, gen="int"), X(3, 4, dtype=F32)])
    c3("promo_f32_plus_int64", "a + b", lambda a, b: a + b, [X(3, 4, dtype=F32), X(4, dtype=I64, gen="int")])
    c3("promo_f32_plus_f64", "a + b", lambda a, b: a + b, [X(3, 4, dtype=F32), X(3, 4)])
    c3("promo_f64_mul_f32", "a * b", lambda a, b: a * b, [X(3, 4), X(4, dtype=F32)])
    c3("promo_int64_mul_float", "a * 2.5", lambda a: a * 2.5, [X(3, 4, dtype=I64, gen="int")])
    c3("promo_float_mul_int64", "0.5 * a", lambda a: 0.5 * a, [X(3, 4, dtype=I64, gen="int")])
    c3("promo_int64_plus_int", "a + 2", lambda a: a + 2, [X(3, 4, dtype=I64, gen="int")])
    c3("promo_int_minus_int64", "10 - a", lambda a: 10 - a, [X(3, 4, dtype=I64, gen="int")])
    c3("promo_int64_div_int64", "a / b", lambda a, b: a / b,
       [X(3, 4, dtype=I64, gen="int"), X(3, 4, dtype=I64, data=[1, 2, 3, -4, 5, -6, 7, 8, -2, 3, 4, 9])])
    c3("promo_int64_div_int", "a / 4", lambda a: a / 4, [X(3, 4, dtype=I64, gen="int")])
    c3("promo_f32_plus_int", "a + 1", lambda a: a + 1, [X(3, 4, dtype=F32)])
    c3("promo_f32_mul_float", "a * 0.1", lambda a: a * 0.1, [X(3, 4, dtype=F32)])
    c3("promo_f32_plus_0d_f64", "a + b", lambda a, b: a + b, [X(3, 4, dtype=F32), X()])
    c3("promo_int64_plus_0d_f64", "a + b", lambda a, b: a + b, [X(3, 4, dtype=I64, gen="int"), X()])
    c3("promo_bool_plus_int64", "a + b", lambda a, b: a + b, [X(3, 4, dtype=BOOL, gen="bool"), X(3, 4, dtype=I64, gen="int")])
    c3("promo_bool_mul_float", "a * 1.5", lambda a: a * 1.5, [X(3, 4, dtype=BOOL, gen="bool")])
    c3("promo_int64_pow_float", "a ^ 0.5", lambda a: a ** 0.5, [X(3, 4, dtype=I64, gen="int", lo=0, hi=9)])
    c3("promo_int64_mul_f32_sum", "(a * b):sum()", lambda a, b: (a * b).sum(),
       [X(3, 4, dtype=I64, gen="int"), X(3, 4, dtype=F32)])
    c3("promo_maximum_int64_f64", "tg.maximum(a, b)", torch.maximum, [X(3, 4, dtype=I64, gen="int"), X(3, 4)])
    c3("promo_where_f32_f64", "tg.where(b, a, c)", lambda a, b, c: torch.where(b, a, c),
       [X(3, 4, dtype=F32), X(3, 4, dtype=BOOL, gen="bool"), X(3, 4)])
    c3("promo_cat_f32_f64", "tg.cat({a, b})", lambda a, b: torch.cat([a, b]), [X(2, 3, dtype=F32), X(1, 3)])


# ============================================================== generation
TDT = {F64: torch.float64, F32: torch.float32, I64: torch.int64, BOOL: torch.bool}
DNAME = {v: k for k, v in TDT.items()}


def make_input(spec, gen):
    shape, dt = spec["shape"], TDT[spec["dtype"]]
    g = spec["gen"]
    numel = 1
    for s in shape:
        numel *= s
    if g == "data":
        return torch.tensor(spec["data"], dtype=dt).reshape(shape)
    if g in ("randn", "big"):
        scale = 3.0 if g == "big" else 1.0
        for _ in range(1000):
            t = torch.round(torch.randn(shape, generator=gen, dtype=torch.float64) * scale, decimals=3)
            flat = t.reshape(-1)
            if len(set(flat.tolist())) == numel and bool((flat.abs() >= 0.01).all()):
                # keep floor/ceil/round/fmod away from their jumps
                if g != "big" or bool(((flat * 2 - torch.round(flat * 2)).abs() >= 0.01).all()):
                    return t.to(dt)
        raise RuntimeError("could not draw distinct inputs")
    if g == "pos":
        for _ in range(1000):
            t = torch.round(torch.rand(shape, generator=gen, dtype=torch.float64) * 1.5 + 0.5, decimals=3)
            if len(set(t.reshape(-1).tolist())) == numel:
                return t.to(dt)
    if g == "unit":
        return torch.round(torch.rand(shape, generator=gen, dtype=torch.float64) * 0.9 + 0.05, decimals=3).to(dt)
    if g == "int":
        return torch.randint(spec["lo"], spec["hi"] + 1, shape, generator=gen).to(dt)
    if g == "dint":  # distinct ints (no ties for max/sort indices)
        return (torch.randperm(spec["hi"] - spec["lo"] + 1, generator=gen)[:numel] + spec["lo"]).reshape(shape).to(dt)
    if g == "idx":
        return torch.randint(1, spec["n"] + 1, shape, generator=gen).to(dt)
    if g == "bool":
        return (torch.rand(shape, generator=gen) < 0.5).to(dt)
    if g == "probs":
        return torch.softmax(torch.randn(shape, generator=gen, dtype=torch.float64), -1).to(dt)
    if g == "logprobs":
        return torch.log_softmax(torch.randn(shape, generator=gen, dtype=torch.float64), -1).to(dt)
    raise ValueError(g)


def fmt_num(x, dtype):
    if dtype == BOOL:
        return "true" if x else "false"
    if dtype == I64:
        return str(int(x))
    x = float(x)
    if math.isnan(x):
        return "0/0"
    if math.isinf(x):
        return "1/0" if x > 0 else "-1/0"
    if dtype == F32:
        s = str(np.float32(x))  # shortest text that round-trips the float32 value
        if float(np.float32(float(s))) != float(np.float32(x)):
            s = repr(x)
    else:
        s = repr(x)
    if "." not in s and "e" not in s and "n" not in s:
        s += ".0"
    return s


def lua_tensor(t, extra=""):
    dt = DNAME[t.dtype]
    flat = t.detach().reshape(-1).tolist()
    shape = "{" + ", ".join(str(s) for s in t.shape) + "}"
    data = "{" + ", ".join(fmt_num(v, dt) for v in flat) + "}"
    return f"{{shape = {shape}, dtype = \"{dt}\", data = {data}{extra}}}"


def lua_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def default_tol(dtypes):
    return 1e-5 if F32 in dtypes else 1e-9


def run_case(c):
    gen = torch.Generator().manual_seed(zlib.crc32(c["name"].encode()))
    ins = []
    for spec in c["inputs"]:
        t = make_input(spec, gen)
        if spec["rg"]:
            t.requires_grad_(True)
        ins.append(t)
    out = c["fn"](*ins)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    for o in outs:
        assert isinstance(o, torch.Tensor), c["name"]
    diff = any(o.requires_grad for o in outs)
    res = dict(ins=ins, outs=outs, diff=diff)
    if diff:
        gos, loss = [], 0
        for o in outs:
            if o.requires_grad:
                g = torch.round(torch.randn(o.shape, generator=gen, dtype=torch.float64), decimals=2).to(o.dtype)
                gos.append(g)
                loss = loss + (o * g).sum()
            else:
                gos.append(None)
        rg_ins = [t for t in ins if t.requires_grad]
        grads = torch.autograd.grad(loss, rg_ins, allow_unused=True)
        gi = iter(grads)
        res["gos"] = gos
        res["grads"] = [next(gi) if t.requires_grad else None for t in ins]
    dts = {DNAME[t.dtype] for t in ins + outs}
    res["tol"] = c["tol"] if c["tol"] is not None else default_tol(dts)
    # finite differences are meaningless where an output is inf/nan
    finite = all(bool(torch.isfinite(o.detach()).all()) for o in outs if o.is_floating_point())
    res["gradcheck"] = bool(diff and c["gradcheck"] and finite
                            and all(t.dtype == torch.float64 for t in ins if t.requires_grad))
    return res


def main():
    issue2()
    issue3()
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.normpath(os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "spec", "fixtures", "ops.lua"))
    names = set()
    lines = ["-- generated by tools/gen_fixtures.py from PyTorch " + torch.__version__ + "; do not edit",
             "-- each case: expr over inputs a, b, c; outputs; grad_outs/grads for differentiable cases",
             "return {"]
    counts = {}
    for c in CASES:
        assert c["name"] not in names, "duplicate case " + c["name"]
        names.add(c["name"])
        r = run_case(c)
        counts[c["issue"]] = counts.get(c["issue"], 0) + 1
        parts = [f"name = {lua_str(c['name'])}", f"issue = {c['issue']}", f"expr = {lua_str(c['expr'])}"]
        ins = []
        for t in r["ins"]:
            ins.append(lua_tensor(t, ", requires_grad = true" if t.requires_grad else ""))
        parts.append("inputs = {" + ", ".join(ins) + "}")
        parts.append("outputs = {" + ", ".join(lua_tensor(o) for o in r["outs"]) + "}")
        if r["diff"]:
            parts.append("grad_outs = {" + ", ".join(lua_tensor(g) if g is not None else "false" for g in r["gos"]) + "}")
            parts.append("grads = {" + ", ".join(lua_tensor(g) if g is not None else "false" for g in r["grads"]) + "}")
        parts.append(f"tol = {r['tol']!r}")
        parts.append(f"gradcheck = {'true' if r['gradcheck'] else 'false'}")
        lines.append("  {" + ",\n   ".join(parts) + "},")
    lines.append("}")
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    size = os.path.getsize(out_path)
    print(f"wrote {out_path}: {len(CASES)} cases ({', '.join(f'issue {k}: {v}' for k, v in sorted(counts.items()))}), {size} bytes")


if __name__ == "__main__":
    main()
