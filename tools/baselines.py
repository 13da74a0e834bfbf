#!/usr/bin/env python3
"""Baselines for EVAL.md (issue 6): noisy input, BM3D and a same-budget DnCNN.

Run with the torch venv (needs torch, numpy, Pillow, scikit-image, bm3d):

    /work/torchenv/bin/python tools/baselines.py --sigmas 15,25,50 --out /tmp/evalmd/baselines

Protocol, matched to `hinas eval --protocol standard` as far as Python can:
  * test images: data/builtin/test/*.png, grey via Pillow convert('L') (what hinas does);
  * noise: clean_u8/255 + sigma/255 * N(0,1), added once per image, unclipped, fixed seed.
    hinas draws its noise with ChaCha8 (src/data/protocol.rs); this script uses numpy's
    PCG64 seeded with (seed, sigma, image index), so the noise *realisations* differ from
    hinas' although sigma, images and metric conventions are the same;
  * PSNR: output clipped to [0, 1], 255 scale, not re-quantised; mean over images;
  * SSIM: skimage structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=255) on the clipped 255-scale output.

DnCNN (Zhang et al. 2017, DnCNN-S): 17 conv layers, 64 channels, BN in layers 2..16,
residual (predicts the noise). Trained with the `hinas train --budget tiny` data budget:
480 iterations x batch 6 of 32x32 random crops (2880 patches) from the built-in training
images minus the 2 that hinas holds out for validation (the last 2 by name), grey, noise
drawn fresh per patch at the training sigma. Adam lr 1e-3, MSE loss, seed 0, last model
kept (no validation-based selection, nothing is tuned on the test images).
"""
import argparse
import glob
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
from PIL import Image
from skimage.metrics import structural_similarity

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# `hinas train --budget tiny` (src/train/config.rs)
ITERATIONS = 480
BATCH = 6
PATCH = 32
VAL_IMAGES = 2


def load_grey(folder):
    files = sorted(glob.glob(os.path.join(folder, "*.png")))
    return [(os.path.splitext(os.path.basename(f))[0],
             np.asarray(Image.open(f).convert("L"), dtype=np.uint8)) for f in files]


def psnr(out, clean_u8):
    d = 255.0 * np.clip(out.astype(np.float64), 0, 1) - clean_u8.astype(np.float64)
    return 10 * np.log10(255.0 ** 2 / np.mean(d * d))


def ssim(out, clean_u8):
    o = 255.0 * np.clip(out.astype(np.float64), 0, 1)
    return structural_similarity(o, clean_u8.astype(np.float64), gaussian_weights=True,
                                 sigma=1.5, use_sample_covariance=False, data_range=255)


def noisy_image(clean_u8, index, sigma, seed):
    rng = np.random.default_rng([seed, int(round(sigma * 100)), index])
    return (clean_u8.astype(np.float32) / 255.0
            + np.float32(sigma / 255.0) * rng.standard_normal(clean_u8.shape).astype(np.float32))


class DnCNN(nn.Module):
    def __init__(self, depth=17, ch=64):
        super().__init__()
        layers = [nn.Conv2d(1, ch, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(ch, ch, 3, padding=1, bias=False), nn.BatchNorm2d(ch),
                       nn.ReLU(inplace=True)]
        layers += [nn.Conv2d(ch, 1, 3, padding=1)]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return x - self.body(x)


def train_dncnn(train_imgs, sigma, seed=0, log=None):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = DnCNN()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    imgs = [torch.from_numpy(im.astype(np.float32) / 255.0) for _, im in train_imgs]
    net.train()
    t0 = time.time()
    for it in range(ITERATIONS):
        batch = []
        for _ in range(BATCH):
            im = imgs[rng.integers(len(imgs))]
            y = rng.integers(im.shape[0] - PATCH + 1)
            x = rng.integers(im.shape[1] - PATCH + 1)
            batch.append(im[y:y + PATCH, x:x + PATCH])
        clean = torch.stack(batch)[:, None]
        noisy = clean + (sigma / 255.0) * torch.randn_like(clean)
        loss = nn.functional.mse_loss(net(noisy), clean)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if log and (it + 1) % 120 == 0:
            log(f"  dncnn sigma {sigma} it {it + 1} loss {loss.item():.6f} ({time.time() - t0:.0f}s)")
    net.eval()
    return net, time.time() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sigmas", default="15,25,50")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="baselines")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)

    def log(s):
        print(s, flush=True)

    import bm3d
    test = load_grey(os.path.join(ROOT, "data/builtin/test"))
    train = load_grey(os.path.join(ROOT, "data/builtin/train"))[:-VAL_IMAGES]
    log(f"{len(test)} test images, {len(train)} training images")
    results = {}
    for sigma in [float(s) for s in a.sigmas.split(",")]:
        net, train_s = train_dncnn(train, sigma, seed=0, log=log)
        n_params = sum(p.numel() for p in net.parameters())
        rows = {k: {"psnr": [], "ssim": [], "seconds": 0.0} for k in ("noisy", "bm3d", "dncnn")}
        mp = 0.0
        for i, (name, clean) in enumerate(test):
            noisy = noisy_image(clean, i, sigma, a.seed)
            mp += clean.size / 1e6
            t = time.perf_counter()
            out_b = bm3d.bm3d(noisy, sigma_psd=sigma / 255.0)
            rows["bm3d"]["seconds"] += time.perf_counter() - t
            with torch.no_grad():
                t = time.perf_counter()
                out_d = net(torch.from_numpy(noisy)[None, None])[0, 0].numpy()
                rows["dncnn"]["seconds"] += time.perf_counter() - t
            for k, o in (("noisy", noisy), ("bm3d", out_b), ("dncnn", out_d)):
                rows[k]["psnr"].append(psnr(o, clean))
                rows[k]["ssim"].append(ssim(o, clean))
            log(f"  sigma {sigma:g} {name}: noisy {rows['noisy']['psnr'][-1]:.2f} "
                f"bm3d {rows['bm3d']['psnr'][-1]:.2f} dncnn {rows['dncnn']['psnr'][-1]:.2f}")
        res = {}
        for k, r in rows.items():
            res[k] = {"psnr": float(np.mean(r["psnr"])), "ssim": float(np.mean(r["ssim"])),
                      "per_image_psnr": [float(v) for v in r["psnr"]],
                      "ms_per_mp": 1000 * r["seconds"] / mp if k != "noisy" else None}
        res["dncnn"]["params"] = n_params
        res["dncnn"]["train_seconds"] = train_s
        res["bm3d"]["params"] = 0
        results[f"{sigma:g}"] = res
        log(f"sigma {sigma:g}: " + ", ".join(
            f"{k} {v['psnr']:.2f}/{v['ssim']:.4f}" for k, v in res.items()))
        with open(os.path.join(a.out, "baselines.json"), "w") as f:
            json.dump({"test_names": [n for n, _ in test], "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
