rockspec_format = "3.0"
package = "tgrad"
version = "scm-1"
source = {
  url = "git+https://github.com/tgrad/tgrad.git",
}
description = {
  summary = "Tensors with PyTorch-style automatic differentiation for Lua 5.4",
  detailed = [[
tgrad is a tensor library written in C (OpenBLAS for matrix products) with
reverse-mode automatic differentiation as PyTorch has it: build graphs with
ordinary arithmetic on tensors and call loss:backward(). The Lua parts are
compiled into the module, so a host that links it statically needs no files.
]],
  license = "MIT",
  homepage = "https://github.com/tgrad/tgrad",
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
-- OpenBLAS and Lua's headers are found by the Makefile with pkg-config
-- (Debian: libopenblas-dev, liblua5.4-dev).
-- The BLAS is a build-time choice, as `make BLAS=...`: `luarocks make BLAS=blis`
-- (Debian's libblis-dev) or BLAS=mkl (Intel MKL, static; see README); without
-- it luarocks warns "unmatched variable BLAS", passes it empty, and the
-- Makefile takes its default (openblas).
build = {
  type = "make",
  build_variables = {
    CFLAGS = "$(CFLAGS)",
    LUA_INCDIR = "$(LUA_INCDIR)",
    LUA = "$(LUA)",
    BLAS = "$(BLAS)",
  },
  install_variables = {
    INST_LIBDIR = "$(LIBDIR)",
    PREFIX = "$(PREFIX)",
  },
}
