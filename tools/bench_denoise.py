#!/usr/bin/env python3
"""ONNX Runtime beside `hinas denoise`: times both on the same model and image, back to back, and
compares their float outputs.

Usage:
    python tools/bench_denoise.py --hinas target/release/hinas --model M.safetensors \
        --onnx M.onnx IMAGE [IMAGE ...] [--reps 3] [--threads 2] [--tile N] [--tol 1e-4]
    python tools/bench_denoise.py --make-photos DIR SIZE [SIZE ...]   # the test images

For each image and repetition: ONNX Runtime (CPUExecutionProvider, `--threads` intra-op threads,
one inter-op thread) runs the exported model on the whole image, then `hinas denoise` runs the
same image (a fresh process; the time is the one it prints, i.e. without process start, model
load and PNG encoding, the same span as ORT's `run`). hinas writes its unquantised output with
the hidden `--raw-out` option; the script reads it and reports max |hinas - ORT|. Prints one
line per run and a summary per image (medians, ratio) and exits 1 if any output differs by more
than --tol. With --warmup IMAGE, hinas first denoises IMAGE untimed (fills the driver's shader
cache on a fresh machine). Needs numpy and onnxruntime.
"""
import argparse
import json
import os
import resource
import statistics
import struct
import subprocess
import sys
import tempfile
import time


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
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(body[a:b], dtype="<f4").reshape(info["shape"]).copy()
    return out


def run_hinas(args, image, outdir):
    cmd = [args.hinas, "denoise", "--model", args.model, "--out", outdir, "--raw-out", outdir,
           "--force", image]
    if args.tile:
        cmd += ["--tile", str(args.tile)]
    env = dict(os.environ)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    if p.returncode != 0:
        raise SystemExit(f"hinas failed: {p.stderr.strip() or p.stdout.strip()}")
    # "... -> OUT in 12.34 s"
    secs = float(p.stdout.strip().split(" in ")[-1].split()[0])
    stem = os.path.splitext(os.path.basename(image))[0]
    return secs, cpu, os.path.join(outdir, f"{stem}_denoised.safetensors")


def make_photos(work, sizes):
    """Test images: four built-in test photos in a 2x2 mosaic, resized to each side (grey), and a
    small two-tile crop for warming up."""
    import numpy as np
    from PIL import Image

    os.makedirs(work, exist_ok=True)
    names = ["ascent", "brick", "camera", "coins"]
    ims = [np.array(Image.open(f"data/builtin/test/{n}.png").convert("L").resize((512, 512), Image.BICUBIC))
           for n in names]
    big = Image.fromarray(np.block([[ims[0], ims[1]], [ims[2], ims[3]]]))
    for s in sizes:
        big.resize((s, s), Image.BICUBIC).save(f"{work}/photo{s}.png")
    big.crop((0, 0, 360, 203)).save(f"{work}/warmup.png")


def main():
    # `--make-photos DIR SIZE...` writes the test images (run from the repository root).
    if len(sys.argv) > 2 and sys.argv[1] == "--make-photos":
        make_photos(sys.argv[2], [int(s) for s in sys.argv[3:]])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("images", nargs="+")
    ap.add_argument("--hinas", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tile", type=int, default=0)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--warmup", help="an image hinas denoises untimed first")
    args = ap.parse_args()
    import numpy as np
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(args.onnx, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    print(f"onnxruntime {ort.__version__}, {args.threads} intra-op threads; load {os.getloadavg()}")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        if args.warmup:
            run_hinas(args, args.warmup, tmp)
        for image in args.images:
            ort_t, hin_t, errs = [], [], []
            for rep in range(args.reps):
                secs, hcpu, raw = run_hinas(args, image, tmp)
                case = read_safetensors(raw, np)
                x = case["input"]
                # Printed before ORT runs: ORT takes the whole image at once, and at 12 MP that
                # can exceed the machine's memory and get the process killed.
                print(f"{os.path.basename(image)} {x.shape[3]}x{x.shape[2]} rep {rep}: hinas {secs:.2f} s "
                      f"(CPU s {hcpu:.1f}); ORT next", flush=True)
                t0, c0 = time.perf_counter(), time.process_time()
                (y,) = sess.run(None, {name: x})
                t, ocpu = time.perf_counter() - t0, time.process_time() - c0
                err = float(np.abs(y - case["denoised"]).max())
                levels = int(np.abs(np.clip(np.round(y * 255), 0, 255)
                                    - np.clip(np.round(case["denoised"] * 255), 0, 255)).max())
                ort_t.append(t)
                hin_t.append(secs)
                errs.append(err)
                print(f"{os.path.basename(image)} {x.shape[3]}x{x.shape[2]} rep {rep}: "
                      f"hinas {secs:.2f} s, ORT {t:.2f} s, ratio {secs / t:.2f} "
                      f"(CPU s, whole process: hinas {hcpu:.1f}, ORT run {ocpu:.1f}), "
                      f"max |diff| {err:.2e} ({levels} levels of 255)", flush=True)
            mh, mo = statistics.median(hin_t), statistics.median(ort_t)
            mp = x.shape[2] * x.shape[3] / 1e6
            print(f"SUMMARY {os.path.basename(image)} {mp:.2f} MP: hinas median {mh:.2f} s, "
                  f"ORT median {mo:.2f} s, hinas/ORT {mh / mo:.2f}, max |diff| {max(errs):.2e}")
            ok &= max(errs) <= args.tol
    print(f"load after: {os.getloadavg()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
