#!/usr/bin/env python3
"""torchvision.ops.deform_conv2d on the CPU or CUDA (fp32): the baseline for benches/deform_conv.rs.

Same shapes and inputs distribution as the Rust bench: x [6,10,64,64], [6,20,64,64],
[8,64,64,64]; 3x3, padding 1, Cout = Cin, one offset group, bias; offsets 2*U(-1,1), mask U(0,1).
fwd+bwd = forward + backward for all five gradients (x, offset, mask, weight, bias). Threads =
CPU cores. Prints median ms and GFLOP/s (2*N*Cout*H*W*Cin*9 forward, 3x for fwd+bwd).

Usage: /work/torchenv/bin/python tools/bench_torch_deform.py [--quick] [--device cpu|cuda]
"""
import os
import statistics
import sys
import time

import torch
from torchvision.ops import deform_conv2d

from bench_torch import arg, setup_device, sync


def timed(fn, reps, dev):
    for _ in range(3 if dev.type == "cuda" else 1):
        fn()  # warm-up
    sync(dev)
    inner = 10 if dev.type == "cuda" else 1  # as benches/deform_conv.rs: many calls, one wait
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        sync(dev)
        times.append((time.perf_counter() - t0) * 1e3 / inner)
    return statistics.median(times)


def main():
    quick = "--quick" in sys.argv
    dev = setup_device(arg("--device", "cpu"))
    torch.set_num_threads(os.cpu_count())
    where = torch.cuda.get_device_name(dev) + ", fp32, TF32 off" if dev.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"torch {torch.__version__}, {where}")
    shapes = [(6, 10), (6, 20)] if quick else [(6, 10), (6, 20), (8, 64)]
    g = torch.Generator().manual_seed(7)
    print(f"{'deform_conv2d 3x3 mask':<28} {'median ms':>12} {'GFLOP/s':>10}")
    for n, c in shapes:
        hw = 64
        x = torch.rand(n, c, hw, hw, generator=g) * 2 - 1
        off = (torch.rand(n, 18, hw, hw, generator=g) * 2 - 1) * 2
        m = torch.rand(n, 9, hw, hw, generator=g)
        w = (torch.rand(c, c, 3, 3, generator=g) * 2 - 1) * 0.1
        b = (torch.rand(c, generator=g) * 2 - 1) * 0.1
        gy = torch.rand(n, c, hw, hw, generator=g) * 2 - 1
        x, off, m, w, b, gy = (t.to(dev) for t in (x, off, m, w, b, gy))
        flop = 2.0 * n * c * hw * hw * c * 9
        reps = 20 if dev.type == "cuda" else 3 if c == 64 else 7

        def fwd():
            with torch.no_grad():
                deform_conv2d(x, off, w, b, padding=1, mask=m)

        leaves = [t.clone().requires_grad_(True) for t in (x, off, m, w, b)]

        def fwd_bwd():
            for t in leaves:
                t.grad = None
            xi, oi, mi, wi, bi = leaves
            y = deform_conv2d(xi, oi, wi, bi, padding=1, mask=mi)
            y.backward(gy)

        for what, fn, mult in [("fwd", fwd, 1.0), ("fwd+bwd", fwd_bwd, 3.0)]:
            ms = timed(fn, reps, dev)
            print(f"{f'[{n},{c},64,64] {what}':<28} {ms:>12.1f} {mult * flop / ms / 1e6:>10.2f}", flush=True)


if __name__ == "__main__":
    main()
