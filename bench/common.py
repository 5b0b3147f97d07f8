"""Shared helpers for the PyTorch benchmarks: threads, timing, RESULT lines."""
import os
import statistics
import time

THREADS = int(os.environ.get("TG_THREADS") or 1)
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(THREADS))
os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))

import torch  # noqa: E402  (after the thread variables are set)

torch.set_num_threads(THREADS)
torch.manual_seed(0)
now = time.perf_counter


def measure(fn, iters=None, reps=7, warmup=0.2, target=0.3):
    """Median seconds per call of fn (see common.lua)."""
    t0, n = now(), 0
    while True:
        fn()
        n += 1
        if now() - t0 >= warmup and n >= 3:
            break
    if iters is None:
        iters = max(1, int(target / ((now() - t0) / n)))
    times = []
    for _ in range(reps):
        s = now()
        for _ in range(iters):
            fn()
        times.append((now() - s) / iters)
    return statistics.median(times)


def result(workload, variant, value, unit):
    print(f"RESULT {workload} {variant} {value:.6g} {unit}", flush=True)
