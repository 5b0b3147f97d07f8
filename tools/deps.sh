#!/bin/sh
# deps.sh: make sure the build and test dependencies are present.
# As root, installs what is missing with apt-get; otherwise prints the command.
# usage: tools/deps.sh build|test|fuzz [openblas|blis|mkl]   (the BLAS: make BLAS=...)
# Run only by `make deps`, `make deps-fuzz`, `make test` and `make demo`.
set -e
need_pkgs=""
have() { command -v "$1" >/dev/null 2>&1; }
pkg_ok() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# blas: the Debian package of the chosen BLAS; MKL is in Debian's non-free
# (libmkl-dev) or PyPI's mkl-static/mkl-include/mkl-devel (found by pkg-config)
case "${2:-openblas}" in
  openblas) blas_pkg=libopenblas-dev ;;
  blis) blas_pkg=libblis-dev ;;
  mkl)
    blas_pkg=
    if ! pkg-config --exists "${MKL_PC:-mkl-static-lp64-gomp}" 2>/dev/null; then
      if apt-cache policy libmkl-dev 2>/dev/null | grep -q 'Candidate: [0-9]'; then blas_pkg=libmkl-dev
      else
        echo "tgrad: BLAS=mkl: ${MKL_PC:-mkl-static-lp64-gomp}.pc not found and no libmkl-dev in the apt sources." >&2
        echo "tgrad: either enable Debian's non-free component, or: pip install --target DIR mkl-static mkl-include mkl-devel" >&2
        echo "tgrad: and merge DIR's *.data/data/{lib,include} into MKLDIR, then PKG_CONFIG_PATH=MKLDIR/lib/pkgconfig make BLAS=mkl" >&2
        exit 1
      fi
    fi ;;
  *) echo "tgrad: unknown BLAS '$2' (openblas, blis, mkl)" >&2; exit 1 ;;
esac
for p in lua5.4 liblua5.4-dev $blas_pkg pkg-config gcc make; do
  pkg_ok "$p" || need_pkgs="$need_pkgs $p"
done
if [ "$1" = "test" ] || [ "$1" = "fuzz" ]; then
  pkg_ok lua-busted || need_pkgs="$need_pkgs lua-busted"
fi
if [ "$1" = "fuzz" ]; then # libFuzzer (make fuzz-parser)
  have clang || need_pkgs="$need_pkgs clang"
fi
[ -z "$need_pkgs" ] && exit 0

cmd="apt-get install -y$need_pkgs"
if [ "$(id -u)" = "0" ] && have apt-get; then
  echo "tgrad: installing missing packages:$need_pkgs"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || true
  apt-get install -y -qq $need_pkgs >/dev/null
else
  echo "tgrad: missing packages:$need_pkgs" >&2
  echo "tgrad: run:  sudo $cmd" >&2
  exit 1
fi
