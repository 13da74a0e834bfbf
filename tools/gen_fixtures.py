#!/usr/bin/env python3
"""Writes the PyTorch reference fixtures in tests/fixtures/ (one .safetensors file per op family).

Each module tools/fixtures/<name>.py defines `make(torch, gen) -> dict[str, Tensor]`; this script
runs every module (or the ones named on the command line) and writes
tests/fixtures/<name>.safetensors. Inputs are drawn from a seeded generator, all f32, small.

Usage (once, in a virtual environment outside the repo):
    python3 -m venv ~/torchenv && ~/torchenv/bin/pip install torch==2.15.0 torchvision==0.29.2 scikit-image==0.26.0
    ~/torchenv/bin/python tools/gen_fixtures.py [name ...]
"""
import importlib.util
import json
import pathlib
import struct
import sys

import torch

TORCH_VERSION = "2.15.0"  # the version the committed fixtures were made with

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures"


def save_safetensors(path, tensors):
    """Minimal safetensors writer (f32 only) so no extra package is needed."""
    header, blobs, offset = {}, [], 0
    for key in sorted(tensors):
        t = tensors[key].detach().to(torch.float32).contiguous().cpu()
        data = t.numpy().astype("<f4").tobytes()
        header[key] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    if not torch.__version__.startswith(TORCH_VERSION):
        print(f"warning: torch {torch.__version__}, fixtures were pinned to {TORCH_VERSION}", file=sys.stderr)
    torch.use_deterministic_algorithms(True)
    OUT.mkdir(parents=True, exist_ok=True)
    mods = sorted((ROOT / "tools" / "fixtures").glob("*.py"))
    wanted = set(sys.argv[1:])
    for path in mods:
        name = path.stem
        if name.startswith("_") or (wanted and name not in wanted):
            continue
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        gen = torch.Generator().manual_seed(sum(map(ord, name)))
        tensors = mod.make(torch, gen)
        out = OUT / f"{name}.safetensors"
        save_safetensors(out, tensors)
        print(f"{out.relative_to(ROOT)}: {len(tensors)} tensors, {out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
