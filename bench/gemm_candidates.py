"""PyTorch's torch.mm on the shapes of bench/gemm_shapes.h (the twin of
gemm_candidates.c): usage: python gemm_candidates.py THREADS [MAX_N]
prints ROW torch <dtype> <threads> <shape> <GF/s>, the best call (see best)."""
import sys, time
import torch

SHAPES = [  # name, m, n, k, ta, tb (keep in step with gemm_shapes.h)
    ("sq256", 256, 256, 256, 0, 0), ("sq512", 512, 512, 512, 0, 0),
    ("sq1024", 1024, 1024, 1024, 0, 0), ("sq2048", 2048, 2048, 2048, 0, 0),
    ("sq4096", 4096, 4096, 4096, 0, 0),
    ("b64_fwd_64x784@784x256", 64, 256, 784, 0, 0),
    ("b64_dx_64x256@(784x256)^T", 64, 784, 256, 0, 1),
    ("b64_dw_(64x784)^T@64x256", 784, 256, 64, 1, 0),
    ("b256_fwd_256x784@784x256", 256, 256, 784, 0, 0),
    ("b256_dx_256x256@(784x256)^T", 256, 784, 256, 0, 1),
    ("b256_dw_(256x784)^T@256x256", 784, 256, 256, 1, 0),
    ("5x3@3x1", 5, 1, 3, 0, 0), ("1x4@4x32", 1, 32, 4, 0, 0), ("32x32@32x32", 32, 32, 32, 0, 0),
]

def best(fn, cpu):
    """Seconds per call, the best single call over ~0.6 s (at least 3 calls);
    process CPU time with 1 thread (time other processes hold the core does
    not count), else wall time (as gemm_candidates.c)."""
    clk = time.process_time if cpu else time.perf_counter
    fn()
    b, calls, t0 = 1e30, 0, time.perf_counter()
    while calls < 3 or (time.perf_counter() - t0 < 0.6 and calls < 200000):
        batch = 100 if b < 2e-5 else 1  # Python's clocks and calls cost ~1 us
        s = clk()
        for _ in range(batch):
            fn()
        b = min(b, (clk() - s) / batch)
        calls += batch
    return b

def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    max_n = int(sys.argv[2]) if len(sys.argv) > 2 else 2048
    torch.set_num_threads(threads)
    print("INFO torch", torch.__version__, "blas:", torch.backends.mkl.is_available() and "mkl" or "other",
          "cpu capability:", torch.backends.cpu.get_cpu_capability())
    for dt in (torch.float32, torch.float64):
        for name, m, n, k, ta, tb in SHAPES:
            if m > max_n and n > max_n:
                continue
            a = torch.rand(k, m, dtype=dt).t() if ta else torch.rand(m, k, dtype=dt)
            b = torch.rand(n, k, dtype=dt).t() if tb else torch.rand(k, n, dtype=dt)
            out = torch.empty(m, n, dtype=dt)
            t = best(lambda: torch.mm(a, b, out=out), threads == 1)
            print("ROW torch %s %d %s %.4g" % (str(dt).split(".")[1], threads, name, 2.0 * m * n * k / t / 1e9),
                  flush=True)

main()
