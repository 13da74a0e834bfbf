#!/usr/bin/env python3
"""PyTorch baseline for benches/kernels.rs: conv2d forward, input gradient and weight gradient
on the same shapes, median of several runs; on the CPU with all its threads, or on CUDA in fp32
(TF32 off, so cuDNN does the same arithmetic as our kernels).

    /work/torchenv/bin/python tools/bench_torch.py [--quick] [--runs N] [--device cpu|cuda] [--ours FILE]

If FILE (default target/bench_kernels.json, written by `cargo bench --bench kernels`) exists,
prints our median next to torch's and the ratio ours / torch.
"""
import json
import os
import pathlib
import statistics
import sys
import time

import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent


def shapes(quick):
    """(name, x shape, cout, k, dilation, padding, groups), as benches/kernels.rs."""
    v = [("ref_8x64x64x64_k3", (8, 64, 64, 64), 64, 3, 1, 1, 1)]
    for c in (10, 15, 20):
        for k in (3, 5):
            for d in (1, 2):
                v.append((f"hinas_c{c}_k{k}_d{d}", (6, c, 64, 64), c, k, d, d * (k - 1) // 2, 1))
    for name, xs, k, d, groups in (
        ("hinas_dw_c20_k3_d1", (6, 20, 64, 64), 3, 1, 20),
        ("hinas_dw_c20_k5_d1", (6, 20, 64, 64), 5, 1, 20),
        ("hinas_dw_c20_k3_d2", (6, 20, 64, 64), 3, 2, 20),
        ("tiny_c4_k3_d1", (2, 4, 24, 24), 3, 1, 1),
        ("tiny_dw_c4_k5_d1", (2, 4, 24, 24), 5, 1, 4),
    ):
        v.append((name, xs, xs[1], k, d, d * (k - 1) // 2, groups))
    if quick:
        v = [s for s in v if s[0] in ("ref_8x64x64x64_k3", "hinas_c20_k5_d2")]
    return v


def arg(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def setup_device(name):
    """The torch device; on CUDA fp32 without TF32 (our kernels are plain fp32)."""
    dev = torch.device(name)
    if dev.type == "cuda":
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
    return dev


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def median_ms(fn, runs, dev):
    """Median over `runs` samples; on CUDA a sample is 10 calls and one synchronize (as
    benches/kernels.rs: many passes, one wait), so launch round trips are not what is timed."""
    inner = 10 if dev.type == "cuda" else 1
    for _ in range(3 if dev.type == "cuda" else 2):
        fn()
    sync(dev)
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        sync(dev)
        t.append((time.perf_counter() - t0) / inner)
    return statistics.median(t) * 1e3


def main():
    quick = "--quick" in sys.argv
    runs = int(arg("--runs", 10))
    dev = setup_device(arg("--device", "cpu"))
    torch.set_num_threads(os.cpu_count())
    ours = {}
    path = pathlib.Path(arg("--ours", ROOT / "target" / "bench_kernels.json"))
    if path.exists():
        data = json.loads(path.read_text())
        ours = {(r["shape"], r["pass"]): r["median_s"] * 1e3 for r in data["rows"]}
        print(f"ours: {data['adapter']} (from {path})")
    where = torch.cuda.get_device_name(dev) + ", fp32, TF32 off" if dev.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"torch {torch.__version__}, {where}, median of {runs} runs")
    print(f"{'shape':<22} {'pass':<12} {'torch ms':>9} {'GFLOP/s':>8} {'ours ms':>9} {'GFLOP/s':>8} {'ours/torch':>10}")
    g = torch.Generator().manual_seed(0)
    for name, xs, cout, k, d, pad, groups in shapes(quick):
        x = torch.randn(*xs, generator=g).to(dev)
        w = torch.randn(cout, xs[1] // groups, k, k, generator=g).to(dev)
        y = torch.nn.functional.conv2d(x, w, None, 1, pad, d, groups)
        gy = torch.randn(*y.shape, generator=g).to(dev)
        flop = 2.0 * xs[0] * cout * y.shape[2] * y.shape[3] * (xs[1] // groups) * k * k
        bw = torch.ops.aten.convolution_backward

        def fwd():
            with torch.no_grad():
                torch.nn.functional.conv2d(x, w, None, 1, pad, d, groups)

        def dx():
            bw(gy, x, w, None, [1, 1], [pad, pad], [d, d], False, [0, 0], groups, [True, False, False])

        def dw():
            bw(gy, x, w, None, [1, 1], [pad, pad], [d, d], False, [0, 0], groups, [False, True, False])

        for pname, fn in (("forward", fwd), ("input_grad", dx), ("weight_grad", dw)):
            ms = median_ms(fn, runs, dev)
            o = ours.get((name, pname))
            tail = f"{o:>9.1f} {flop / o / 1e6:>8.2f} {o / ms:>10.1f}" if o else ""
            print(f"{name:<22} {pname:<12} {ms:>9.2f} {flop / ms / 1e6:>8.1f} {tail}", flush=True)


if __name__ == "__main__":
    main()
