#!/usr/bin/env bash
# Runs the tgrad benchmarks next to PyTorch and the C references and prints
# one table of ratios.  Usage: bench/run.sh [workload ...]   (or: make bench)
# Env: BENCH_PYTHON (python with torch to compare with), TG_THREADS (default 1, both sides), BENCH_ROUNDS (default 1; the table
# takes the median over rounds, or each side's best round with BENCH_AGG=best), BENCH_TIMEOUT (seconds per script, 900),
# BENCH_THREADS (default "$TG_THREADS 2": every workload runs again with TG_THREADS set to each
# further count, both sides, and the table gets a t/torch column per count; "1" for one column).
set -u
cd "$(dirname "$0")/.."
B=bench
OUT=$B/build
mkdir -p "$OUT/logs"

export TG_THREADS=${TG_THREADS:-1}
export OPENBLAS_NUM_THREADS=$TG_THREADS OMP_NUM_THREADS=$TG_THREADS
ROUNDS=${BENCH_ROUNDS:-1}
TIMEOUT=${BENCH_TIMEOUT:-900}
WORKLOADS=${*:-seed_loop tiny_policy mlp_step nn_layers matmul elementwise rows per_op optim_step conv rss} # mem: rss

# C references and the wall clock for the Lua scripts
CC=${CC:-cc}
$CC -O2 -march=native -Wall -o "$OUT/sgemm_ref" $B/sgemm_ref.c \
  $(pkg-config --cflags --libs openblas) || echo "bench: sgemm_ref did not build" >&2
$CC -O3 -march=native -ffast-math -fopenmp -Wall -o "$OUT/stream_ref" $B/stream_ref.c -lm \
  || echo "bench: stream_ref did not build" >&2
# gemm: the FMA peak printed next to the matmul rates (run-time ISA detection, no -march)
$CC -O2 -Wall -Wno-unused-function -o "$OUT/fma_peak" $B/fma_peak.c || echo "bench: fma_peak did not build" >&2
$CC -O2 -shared -fPIC $(pkg-config --cflags lua5.4 2>/dev/null || echo -I/usr/include/lua5.4) \
  -o "$OUT/benchclock.so" $B/clock.c || echo "bench: benchclock.so did not build" >&2

# tgrad's module paths, from the lead's Makefile
if envtext=$(make -s env 2>/dev/null); then eval "$envtext"
else echo "bench: 'make -s env' failed; tgrad may not be found" >&2; fi

# a python3 with torch: $BENCH_PYTHON (e.g. a venv with the current PyPI torch),
# then the first on PATH, then the system one
PY=
for cand in ${BENCH_PYTHON:+"$BENCH_PYTHON"} "python3" "command -p python3"; do
  if $cand -c 'import torch' >/dev/null 2>&1; then PY=$cand; break; fi
done
TORCH_VERSION=none
[ -n "$PY" ] && TORCH_VERSION=$($PY -c 'import torch; print(torch.__version__)')

RES=$OUT/results.txt
: > "$RES"
# run SIDE WORKLOAD CMD...: RESULT lines go to $RES tagged with the side
run() {
  local side=$1 w=$2; shift 2
  local log=$OUT/logs/${side}_$w.log status=ok
  echo "bench: $side $w" >&2
  timeout "$TIMEOUT" "$@" > "$log.out" 2> "$log" || status=error
  grep '^RESULT ' "$log.out" | sed "s/^RESULT /$side /" >> "$RES"
  if [ $status = error ]; then
    echo "bench: $side $w failed, see $log:" >&2; tail -n 3 "$log" >&2
  fi
  echo "STATUS $side $w $status" >> "$RES"
}

# thread counts (helper kern): the first is TG_THREADS; results of the others
# are tagged side@N (tgrad@2, torch@2, cref@2) and get their own ratio column
THREADS=$TG_THREADS
for th in ${BENCH_THREADS:-$TG_THREADS 2}; do
  case " $THREADS " in *" $th "*) ;; *) THREADS="$THREADS $th" ;; esac
done
for ((r = 1; r <= ROUNDS; r++)); do
  for th in $THREADS; do
    tag=; [ "$th" = "$TG_THREADS" ] || tag=@$th
    for w in $WORKLOADS; do
      TG_THREADS=$th OPENBLAS_NUM_THREADS=$th OMP_NUM_THREADS=$th run tgrad$tag "$w" lua5.4 $B/$w.lua
      [ -n "$PY" ] && TG_THREADS=$th OPENBLAS_NUM_THREADS=$th OMP_NUM_THREADS=$th run torch$tag "$w" $PY $B/$w.py
      case $w in
        matmul) [ -x "$OUT/sgemm_ref" ] && OPENBLAS_NUM_THREADS=$th OMP_NUM_THREADS=$th run cref$tag "$w" "$OUT/sgemm_ref" ;;
        elementwise) [ -x "$OUT/stream_ref" ] && OMP_NUM_THREADS=$th run cref$tag "$w" "$OUT/stream_ref" ;;
        mlp_step) [ -x "$OUT/fma_peak" ] && TG_THREADS=$th run cref$tag "$w" lua5.4 $B/mlp_floor.lua ;;
      esac
    done
  done
done

echo
echo "tgrad benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(getconf _NPROCESSORS_ONLN) cpus"
echo "threads: TG_THREADS=$TG_THREADS (tgrad set_num_threads, torch.set_num_threads)," \
     "OPENBLAS_NUM_THREADS=$OPENBLAS_NUM_THREADS, OMP_NUM_THREADS=$OMP_NUM_THREADS; extra columns: ${THREADS#$TG_THREADS}"
[ "$ROUNDS" -gt 1 ] && echo "rounds: $ROUNDS, tgrad and torch alternating; each cell is the ${BENCH_AGG:-median} of its rounds"
echo "peer: torch $TORCH_VERSION (${PY:-no python3 with torch found}); C: cblas_sgemm (OpenBLAS), STREAM-like loops, mlp_step's GEMM flops at the FMA peak"
lua5.4 $B/report.lua "$RES"
