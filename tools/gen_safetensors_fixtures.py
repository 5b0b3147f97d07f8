#!/usr/bin/env python3
"""gen_safetensors_fixtures.py: small safetensors files written by Python's
`safetensors` package, for spec/serialize_spec.lua (the specs never need Python).

  /work/venv/bin/python tools/gen_safetensors_fixtures.py   # rewrite spec/fixtures/safetensors/

mixed.safetensors    the tensors spec/serialize_spec.lua builds in Lua (exact
                     values), with metadata {"format": "pt"}: tgrad must load
                     them exactly and write these very bytes for the same tensors
single.safetensors   one tensor under "__tensor__" (what tg.save(path, t) writes)
widen.safetensors    dtypes tgrad lacks: F16, BF16, I32, I16, I8, U8, U16, U32
                     (loaded as float32 / int64)
u64.safetensors      a U64 tensor (tgrad refuses it with a clear message)
escapes.safetensors  names and metadata with control characters, quotes,
                     backslashes, DEL and UTF-8 (serde_json's escaping)"""
import os

import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "spec", "fixtures", "safetensors")
os.makedirs(OUT, exist_ok=True)


def mixed():
    # keep in sync with mixed_tensors() in spec/serialize_spec.lua
    return {
        "fc.weight": torch.tensor([[0.5, -1.25, 3.0], [1e-3, -0.0, 65504.0]], dtype=torch.float32),
        "fc.bias": torch.tensor([0.1, -2.5], dtype=torch.float32),
        "scale": torch.tensor(1.5, dtype=torch.float32),
        "empty": torch.zeros(0, 3, dtype=torch.float32),
        "double": torch.tensor([0.1, -1e300, 2.0 ** -1074], dtype=torch.float64),
        "steps": torch.tensor([[1, -2], [2 ** 62, -(2 ** 63)]], dtype=torch.int64),
        "mask": torch.tensor([True, False, False, True, True], dtype=torch.bool),
        "layers.1.w": torch.tensor([[1.0, 2.0]], dtype=torch.float64),
        "ünï \"q\"\n": torch.tensor([7], dtype=torch.int64),
    }


def main():
    save_file(mixed(), os.path.join(OUT, "mixed.safetensors"), metadata={"format": "pt"})
    save_file({"__tensor__": torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4},
              os.path.join(OUT, "single.safetensors"))
    save_file({
        "f16": torch.tensor([1.0, -2.5, 65504.0, 6.103515625e-05, 5.960464477539063e-08, float("inf")], dtype=torch.float16),
        "bf16": torch.tensor([1.0, -2.5, 3.140625, 1e30], dtype=torch.bfloat16),
        "i32": torch.tensor([-2147483648, 2147483647, 0], dtype=torch.int32),
        "i16": torch.tensor([-32768, 32767], dtype=torch.int16),
        "i8": torch.tensor([-128, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 255], dtype=torch.uint8),
        "u16": torch.tensor([65535], dtype=torch.uint16),
        "u32": torch.tensor([4294967295], dtype=torch.uint32),
    }, os.path.join(OUT, "widen.safetensors"))
    save_file({"big": torch.tensor([1, 2], dtype=torch.uint64)}, os.path.join(OUT, "u64.safetensors"))
    save_file({"a\x01\x7f\b\x1f/\\\u00e9\t\"": torch.ones(1)}, os.path.join(OUT, "escapes.safetensors"),
              metadata={"k\t": "v\"\n\x02"})

if __name__ == "__main__":
    main()
