#!/usr/bin/env bash
# The GEMM candidates side by side (GF/s, best of N): Debian's OpenBLAS, BLIS,
# Intel MKL (static, from PyPI's mkl-static/mkl-include or Debian's libmkl-dev:
# MKL_PC names the pkg-config module, PKG_CONFIG_PATH where it is), PyTorch's
# torch.mm, on the shapes of bench/gemm_shapes.h, float32 and float64, 1 and 2
# threads.  usage: bench/gemm_candidates.sh [MAX_N (2048; 4096 adds n=4096)]
# ROUNDS (default 2): the whole set runs ROUNDS times and the table keeps each
# cell's best, so that every library gets its chance at a quiet moment of a
# shared machine.
# A library that is not installed is skipped (its build fails, said on stderr).
set -u
cd "$(dirname "$0")/.."
OUT=bench/build
mkdir -p "$OUT"
MAX_N=${1:-2048}
CC=${CC:-cc}
PY=${BENCH_PYTHON:-python3}
MKL_PC=${MKL_PC:-mkl-static-lp64-gomp}
CFLAGS="-O2 -Wall -Wno-unused-function"
$CC $CFLAGS -o $OUT/fma_peak bench/fma_peak.c || echo "gemm_candidates: fma_peak did not build" >&2
$CC $CFLAGS -DUSE_OPENBLAS -o $OUT/gemm_openblas bench/gemm_candidates.c $(pkg-config --cflags --libs openblas) \
  || echo "gemm_candidates: no OpenBLAS (apt-get install libopenblas-dev)" >&2
$CC $CFLAGS -DUSE_BLIS -I/usr/include/x86_64-linux-gnu/blis-openmp -o $OUT/gemm_blis bench/gemm_candidates.c \
  -lblis -fopenmp -lm || echo "gemm_candidates: no BLIS (apt-get install libblis-dev)" >&2
$CC $CFLAGS -DUSE_MKL -o $OUT/gemm_mkl bench/gemm_candidates.c $(pkg-config --cflags --libs $MKL_PC) \
  || echo "gemm_candidates: no MKL ($MKL_PC.pc not found by pkg-config)" >&2

RES=$OUT/gemm_candidates.txt
: > "$RES"
echo "CPU $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cpus, flags: $(grep -o -w -E 'avx512f|avx2|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')" | tee -a "$RES"
[ -x $OUT/fma_peak ] && $OUT/fma_peak | tee -a "$RES"
for ((r = 1; r <= ${ROUNDS:-2}; r++)); do
  for th in 1 2; do
    for lib in openblas blis mkl; do
      [ -x $OUT/gemm_$lib ] || continue
      OPENBLAS_NUM_THREADS=$th OMP_NUM_THREADS=$th BLIS_NUM_THREADS=$th MKL_NUM_THREADS=$th \
        $OUT/gemm_$lib $th "$MAX_N" | tee -a "$RES"
    done
    $PY bench/gemm_candidates.py $th "$MAX_N" | tee -a "$RES"
  done
done
echo
lua5.4 bench/gemm_table.lua "$RES"
