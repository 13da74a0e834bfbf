#!/usr/bin/env python3
"""ONNX Runtime beside `hinas denoise`: times both on the same model and image, back to back, and
compares their float outputs.

Usage:
    python tools/bench_denoise.py --hinas target/release/hinas --model M.safetensors \
        --onnx M.onnx IMAGE [IMAGE ...] [--reps 3] [--threads 2] [--tile N] [--tol 1e-4] \
        [--ort-tiled | --cold-and-steady N]
    python tools/bench_denoise.py --make-photos DIR SIZE [SIZE ...]   # the test images (SIZE: N or WxH)

For each image and repetition: ONNX Runtime (CPUExecutionProvider, `--threads` intra-op threads,
one inter-op thread) runs the exported model on the whole image, then `hinas denoise` runs the
same image (a fresh process; the time is the one it prints, i.e. without process start, model
load and PNG encoding, the same span as ORT's `run`). hinas writes its unquantised output with
the hidden `--raw-out` option; the script reads it and reports max |hinas - ORT|. Prints one
line per run and a summary per image (medians, ratio) and exits 1 if any output differs by more
than --tol. With --warmup IMAGE, hinas first denoises IMAGE untimed (fills the driver's shader
cache on a fresh machine). With --ort-tiled, ORT runs every image in the tiles hinas reports
(the same grid, margins and spans, see src/eval/infer/tiles.rs) and keeps their cores, so it
computes the same pixels as hinas: the peer for images whose whole-image run would not fit in
memory (ORT needs ~3 GB per megapixel).

With --cold-and-steady N (instead of the repetitions; whole images only), each side is timed
both ways a user meets it: cold, the first image of a fresh hinas process (pipelines' first use,
first touch of new buffers) against the first run of a fresh ORT session (built before its
timer, as always); and steady, the median of N further images in the same process against the
median of N runs of that session after two more untimed ones (ORT's time falls over its first
runs: 9.7, 10.4, 6.2, 6.1 s for the 1 MP tiny model, 2026-12-06, machine A). hinas gets the
image N + 1 times in one command (copies under other names). It also prints each side's CPU
seconds per image (hinas: the whole process, lavapipe's threads included, read from /proc as each
image's line appears; ORT: this process during `run`) and their steady ratio: on a shared host
a slow minute stretches the wall clock of whichever side it falls on, while the CPU seconds
leave out the time the host did not schedule us. Needs numpy and onnxruntime; the CPU reading
needs Linux.
"""
import argparse
import json
import os
import re
import resource
import shutil
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
    # "... -> OUT (6x7 tiles, 41 px margin for offsets up to 3 px) in 12.34 s"; no tiles part
    # when the image ran in one pass.
    line = p.stdout.strip()
    secs = float(line.split(" in ")[-1].split()[0])
    m = re.search(r"\((\d+)x(\d+) tiles, (\d+) px margin", line)
    tiling = tuple(int(g) for g in m.groups()) if m else None
    stem = os.path.splitext(os.path.basename(image))[0]
    return secs, cpu, os.path.join(outdir, f"{stem}_denoised.safetensors"), tiling


def process_cpu_seconds(pid):
    """User + system CPU seconds of process `pid`, all its threads, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_hinas_many(args, image, outdir, copies):
    """hinas on `copies` copies of `image` in one process: each copy's wall and CPU seconds and
    the last copy's raw output. The CPU seconds of a copy are the process's between the line of
    the previous copy (or the start) and its own: the first also holds start-up and model load."""
    stem, ext = os.path.splitext(os.path.basename(image))
    paths = []
    for k in range(copies):
        path = os.path.join(outdir, f"{stem}_copy{k}{ext}")
        shutil.copyfile(image, path)
        paths.append(path)
    cmd = [args.hinas, "denoise", "--model", args.model, "--out", outdir, "--raw-out", outdir,
           "--force"] + paths
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    secs, cpus, last_cpu = [], [], 0.0
    for line in p.stdout:
        # "IN (WxH) -> OUT (...) in 12.34 s", one per image as it finishes.
        m = re.search(r" in ([0-9.]+) s$", line.strip())
        if not m:
            continue
        try:
            cpu = process_cpu_seconds(p.pid)
        except OSError:  # exited between the line and the read; the last copy has no reading
            cpu = float("nan")
        secs.append(float(m.group(1)))
        cpus.append(cpu - last_cpu)
        last_cpu = cpu
    err = p.stderr.read()
    if p.wait() != 0 or len(secs) != copies:
        raise SystemExit(f"hinas failed: {err.strip()}")
    last = os.path.splitext(os.path.basename(paths[-1]))[0]
    return secs, cpus, os.path.join(outdir, f"{last}_denoised.safetensors")


def cold_and_steady(args, image, tmp, ort, so, np):
    """One image both ways (module docs); returns the max |hinas - ORT| of the last outputs."""
    n = args.cold_and_steady
    secs, cpus, raw = run_hinas_many(args, image, tmp, n + 1)
    case = read_safetensors(raw, np)
    x = case["input"]
    sess = ort.InferenceSession(args.onnx, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    times, ort_cpus = [], []
    for _ in range(n + 3):
        t0, c0 = time.perf_counter(), time.process_time()
        y = sess.run(None, {name: x})[0]
        times.append(time.perf_counter() - t0)
        ort_cpus.append(time.process_time() - c0)
    del sess
    err = float(np.abs(y - case["denoised"]).max())
    hc, hs = secs[0], statistics.median(secs[1:])
    oc, os_ = times[0], statistics.median(times[3:])
    tag = f"{os.path.basename(image)} {x.shape[3]}x{x.shape[2]}"
    print(f"{tag} hinas per image: {', '.join(f'{t:.2f}' for t in secs)} s; "
          f"ORT per run: {', '.join(f'{t:.2f}' for t in times)} s", flush=True)
    print(f"COLD {tag}: hinas {hc:.2f} s, ORT {oc:.2f} s, hinas/ORT {hc / oc:.2f}")
    print(f"STEADY {tag}: hinas median {hs:.2f} s, ORT median {os_:.2f} s, hinas/ORT "
          f"{hs / os_:.2f}, max |diff| {err:.2e}", flush=True)
    # The last copy's reading may be missing (nan) if the process exited first.
    hcs = statistics.median([c for c in cpus[1:] if c == c])
    ocs = statistics.median(ort_cpus[3:])
    print(f"CPU s per image: hinas {', '.join(f'{c:.1f}' for c in cpus)}; ORT "
          f"{', '.join(f'{c:.1f}' for c in ort_cpus)}")
    print(f"STEADY CPU {tag}: hinas median {hcs:.1f} s, ORT median {ocs:.1f} s, hinas/ORT "
          f"{hcs / ocs:.2f}", flush=True)
    return err


def axis(length, n, r):
    """hinas' tile spans on one axis (src/eval/infer/tiles.rs `axis`): n kept cores [c0, c1),
    each computed over [t0, t1) = the core plus r pixels each side inside the image, widened to
    a multiple of 4 pixels where the axis allows."""
    spans = []
    for i in range(n):
        c0, c1 = i * length // n, (i + 1) * length // n
        t0, t1 = max(c0 - r, 0), min(c1 + r, length)
        short = -(t1 - t0) % 4
        if t1 - t0 + short <= length:
            right = min(short, length - t1)
            t1 += right
            t0 -= short - right
        spans.append((c0, c1, t0, t1))
    return spans


def run_ort(sess, name, x, tiling, np):
    """The model on the whole image, or tile by tile on hinas' grid (cols, rows, margin)."""
    if tiling is None:
        return sess.run(None, {name: x})[0]
    cols, rows, r = tiling
    y = np.empty_like(x)
    for (cy0, cy1, ty0, ty1) in axis(x.shape[2], rows, r):
        for (cx0, cx1, tx0, tx1) in axis(x.shape[3], cols, r):
            (t,) = sess.run(None, {name: np.ascontiguousarray(x[:, :, ty0:ty1, tx0:tx1])})
            y[:, :, cy0:cy1, cx0:cx1] = t[:, :, cy0 - ty0 : cy1 - ty0, cx0 - tx0 : cx1 - tx0]
    return y


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
        w, _, h = s.partition("x")
        big.resize((int(w), int(h or w)), Image.BICUBIC).save(f"{work}/photo{s}.png")
    big.crop((0, 0, 360, 203)).save(f"{work}/warmup.png")


def main():
    # `--make-photos DIR SIZE...` writes the test images (run from the repository root).
    if len(sys.argv) > 2 and sys.argv[1] == "--make-photos":
        make_photos(sys.argv[2], sys.argv[3:])
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
    ap.add_argument("--ort-tiled", action="store_true",
                    help="ORT runs each image in the tiles hinas reports, not whole")
    ap.add_argument("--cold-and-steady", type=int, default=0, metavar="N",
                    help="time the first image / run and the median of N more (module docs)")
    args = ap.parse_args()
    if args.cold_and_steady and args.ort_tiled:
        ap.error("--cold-and-steady runs whole images; it does not take --ort-tiled")
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
        if args.cold_and_steady:
            for image in args.images:
                ok &= cold_and_steady(args, image, tmp, ort, so, np) <= args.tol
            print(f"load after: {os.getloadavg()}")
            return 0 if ok else 1
        for image in args.images:
            ort_t, hin_t, errs = [], [], []
            for rep in range(args.reps):
                secs, hcpu, raw, tiling = run_hinas(args, image, tmp)
                case = read_safetensors(raw, np)
                x = case["input"]
                # Printed before ORT runs: ORT takes the whole image at once, and at 12 MP that
                # can exceed the machine's memory and get the process killed.
                ort_tiling = tiling if args.ort_tiled else None
                how = f"in hinas' {tiling[0]}x{tiling[1]} tiles" if ort_tiling else "whole image"
                print(f"{os.path.basename(image)} {x.shape[3]}x{x.shape[2]} rep {rep}: hinas {secs:.2f} s "
                      f"(CPU s {hcpu:.1f}); ORT next ({how})", flush=True)
                t0, c0 = time.perf_counter(), time.process_time()
                y = run_ort(sess, name, x, ort_tiling, np)
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
