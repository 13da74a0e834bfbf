#!/usr/bin/env python3
"""Where ONNX Runtime spends its time on a model `hinas export` wrote: per op type and per
(op type, output shape), from ORT's own profiler, for the second of two runs on one image.
The peer's side of `HINAS_PROFILE=1 hinas denoise` (BENCHMARKS.md, "Denoise beside ONNX Runtime").

Usage: tools/ort_profile.py MODEL.onnx IMAGE.png [--threads 2] [--top 25]
(needs numpy, pillow and onnxruntime; the image is read as grey or RGB to match the model)
"""
import argparse
import collections
import json
import os
import tempfile

import numpy as np
import onnxruntime as ort
from PIL import Image


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("image")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args()

    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.enable_profiling = True
    so.profile_file_prefix = os.path.join(tempfile.mkdtemp(), "ort")
    s = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    inp = s.get_inputs()[0]
    mode = "L" if inp.shape[1] == 1 else "RGB"
    x = np.asarray(Image.open(a.image).convert(mode), dtype=np.float32) / 255.0
    x = x[None, None] if mode == "L" else x.transpose(2, 0, 1)[None]
    for _ in range(2):  # the first run includes ORT's own set-up
        s.run(None, {inp.name: np.ascontiguousarray(x)})
    with open(s.end_profiling()) as f:
        events = json.load(f)

    runs = [e for e in events if e.get("name") == "model_run"]
    start = runs[-1]["ts"]
    by_op = collections.defaultdict(float)
    calls = collections.Counter()
    by_shape = collections.defaultdict(float)
    for e in events:
        if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time") or e["ts"] < start:
            continue
        op = e["args"].get("op_name", "?")
        ms = e["dur"] / 1e3
        by_op[op] += ms
        calls[op] += 1
        outs = e["args"].get("output_type_shape", [])
        shape = list(outs[0].values())[0] if outs else []
        by_shape[(op, tuple(shape))] += ms

    print(f"{a.model} on {a.image} ({x.shape[3]}x{x.shape[2]}), {a.threads} threads, ORT {ort.__version__}")
    print(f"model run {runs[-1]['dur'] / 1e3:.1f} ms (second run)")
    print(f"{'op':<22}{'calls':>6}{'ms':>11}")
    for op, ms in sorted(by_op.items(), key=lambda t: -t[1]):
        print(f"{op:<22}{calls[op]:>6}{ms:>11.1f}")
    print(f"\ntop {a.top} (op, output shape as ORT's kernel wrote it; NCHWc layouts pad channels):")
    for (op, shape), ms in sorted(by_shape.items(), key=lambda t: -t[1])[: a.top]:
        print(f"{ms:>10.1f} ms  {op} {list(shape)}")


if __name__ == "__main__":
    main()
