#!/bin/sh
# deps.sh: make sure the build and test dependencies are present.
# As root, installs what is missing with apt-get; otherwise prints the command.
# usage: tools/deps.sh build|test|fuzz
# Run only by `make deps`, `make deps-fuzz`, `make test` and `make demo`.
set -e
need_pkgs=""
have() { command -v "$1" >/dev/null 2>&1; }
pkg_ok() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

for p in lua5.4 liblua5.4-dev libopenblas-dev pkg-config gcc make; do
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
