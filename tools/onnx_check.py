#!/usr/bin/env python3
"""Runs an ONNX file written by `hinas export` in ONNX Runtime and compares it with hinas' output.

Usage:
    python3 tools/onnx_check.py MODEL.onnx CASE.safetensors [--tol 1e-4]

CASE.safetensors holds two f32 tensors: `input` (the noisy batch, NCHW) and `expected` (hinas'
output for it). Prints the max abs and norm-wise relative error of ONNX Runtime's output
(CPUExecutionProvider). If the `onnx` package is installed the file is also checked with
onnx.checker (full_check: types and shapes).

Exit codes: 0 within tolerance (max abs error < --tol), 1 not within tolerance or the model fails
to load/run or check, 2 usage error, 77 skipped: numpy or onnxruntime not installed (one line
"skipped: ..."; 77 is automake's "skipped test" code).
Needs: numpy, onnxruntime (pip install onnxruntime); safetensors is read here directly.
"""
import argparse
import json
import struct
import sys

SKIP = 77


def read_safetensors(path, np):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {info['dtype']}, expected F32")
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(body[a:b], dtype="<f4").reshape(info["shape"]).copy()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("onnx")
    ap.add_argument("case")
    ap.add_argument("--tol", type=float, default=1e-4, help="max abs error allowed (default 1e-4)")
    args = ap.parse_args()
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError as e:
        print(f"skipped: onnxruntime not installed ({e})")
        return SKIP
    try:
        import onnx
    except ImportError:
        onnx = None

    try:
        case = read_safetensors(args.case, np)
        x, expected = case["input"], case["expected"]
    except (OSError, KeyError, ValueError) as e:
        print(f"error: cannot read {args.case}: {e!r}")
        return 1
    if onnx is not None:
        try:
            onnx.checker.check_model(args.onnx, full_check=True)
            print(f"onnx.checker: ok (onnx {onnx.__version__})")
        except Exception as e:  # noqa: BLE001 - any checker failure is a failed check
            print(f"onnx.checker: FAILED: {e}")
            return 1
    else:
        print("onnx.checker: not run (the onnx package is not installed)")
    try:
        sess = ort.InferenceSession(args.onnx, providers=["CPUExecutionProvider"])
        inputs = sess.get_inputs()
        (y,) = sess.run(None, {inputs[0].name: x})
    except Exception as e:  # noqa: BLE001 - a model ORT cannot load or run fails the check
        print(f"error: onnxruntime {ort.__version__} failed: {e}")
        return 1
    if y.shape != expected.shape:
        print(f"FAIL: output shape {y.shape}, expected {expected.shape}")
        return 1
    diff = np.abs(y.astype(np.float64) - expected.astype(np.float64))
    max_abs = float(diff.max())
    rel = float(np.linalg.norm(diff) / max(np.linalg.norm(expected.astype(np.float64)), 1e-30))
    ok = bool(np.isfinite(y).all()) and max_abs < args.tol
    print(
        f"onnxruntime {ort.__version__} (CPU), input {list(x.shape)}: "
        f"max abs err {max_abs:.3e}, rel err {rel:.3e}, tol {args.tol:g}: {'ok' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
