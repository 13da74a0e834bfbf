#!/usr/bin/env python3
"""A PyTorch re-implementation of hinas' derived (retrained) network (src/nn/derived.rs and
DerivedCell in src/nn/cell.rs), parameter for parameter by name, and of one `hinas train` step:

  derived_torch.py check IN.safetensors
      IN (written by `cargo run --release --example train_step -- GENOTYPE --dump IN`) holds every
      initial parameter, two batches, the genotype, the train config, and the loss and gradients
      hinas computed on batch A. Recomputes them here and fails (exit 1) if any differs by more
      than 1e-3 of its tensor's largest magnitude.
  derived_torch.py fixture IN.safetensors OUT.safetensors
      the fixture of tests/derived.rs: the two batches, and PyTorch's f64 loss and gradients on
      batch A (stored as f32); the Rust test re-creates the weights from the same seed.
  derived_torch.py bench IN.safetensors [--iters N] [--threads N]
      times training iterations (forward, loss, backward, the budget's optimiser with its per-group
      lr and weight decay, the loss read) on the CPU: the median over N after one warm-up.

The candidate ops are those of the supernet's re-implementation (tools/supernet_torch.py), which
names its parameters the same way.
"""
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from supernet_torch import Net, load_safetensors, loss_fn  # noqa: E402


def decoder_endpoint(path):
    """The official dn_compnet rule (docs/method.md §3): the last cell on level 0, unless it is
    the final cell or level 0 is never visited (then the decoder reads reduce(stem2))."""
    last = max((i for i, level in enumerate(path) if level == 0), default=None)
    return last if last is not None and last + 1 < len(path) else None


class Derived(Net):
    def __init__(self, genotype, params):
        super().__init__(genotype["space"], params)
        self.g = genotype

    def cell(self, l, s0, s1, train):
        states = [s0, s1]
        edges = self.g["cells"][l]
        for j in range(len(edges) // 2):
            acc = 0
            for i, e in enumerate(edges[2 * j:2 * j + 2]):
                acc = acc + self.candidate(e["op"], f"cell{l}.n{j}.{i}.{e['op']}", states[e["input"]], train)
            states.append(acc)
        return torch.cat(states[2:], 1)

    def forward(self, x, train=True):
        s1 = self.convbn("stem1", x, train, pad=1, act_after=True)
        s2 = self.convbn("stem2", self.act(s1), train, pad=1)
        prevprev, prev, outs = s1, s2, []
        for l in range(len(self.g["path"])):
            a = self.convbn(f"cell{l}.pre0", self.act(prevprev), train)
            b = self.convbn(f"cell{l}.pre1", self.act(prev), train)
            prevprev, prev = prev, self.cell(l, a, b, train)
            outs.append(prev)
        end = decoder_endpoint(self.g["path"])
        low_in = outs[end] if end is not None else self.convbn("reduce", s2, train, pad=1)
        low = self.convbn("dec.low", low_in, train, act_after=True)
        high = self.convbn("dec.high", self.act(prev), train, act_after=True)
        y = torch.cat([low, high], 1)
        for sep in ("dec.sep1", "dec.sep2"):
            y = self.convbn(f"{sep}.dw", y, train, pad=1, groups=y.shape[1], act_after=True)
            y = self.convbn(f"{sep}.pw", y, train, act_after=True)
        head = self.conv("dec.out", y, 1, 1)
        out = self.s["output"]
        if out == "residual":
            return x - head
        if out == "sigmoid_residual":
            return torch.sigmoid(x - head)
        return torch.sigmoid(head)


def load(path):
    tensors, meta = load_safetensors(path)
    genotype, cfg = json.loads(meta["genotype"]), json.loads(meta["config"])["train"]
    params = {k[len("param/"):]: v for k, v in tensors.items() if k.startswith("param/")}
    buffers = {k for k in params if k.endswith("running_mean") or k.endswith("running_var")}
    for k, v in params.items():
        if k not in buffers:
            v.requires_grad_(True)
    return Derived(genotype, params), params, buffers, tensors, cfg


def gradients(path, dtype):
    net, params, buffers, tensors, cfg = load(path)
    for k in list(params):
        params[k] = params[k].detach().to(dtype).requires_grad_(k not in buffers)
    x, y = (tensors[f"batch_a.{part}"].to(dtype) for part in ("noisy", "clean"))
    loss = loss_fn(net.forward(x), y, cfg["ssim_weight"])
    loss.backward()
    return loss.item(), {k: v.grad.double() for k, v in params.items() if k not in buffers}, tensors


def check(path):
    """Our loss and gradients against PyTorch's in f64, by each tensor's norm-wise relative error
    |ours - f64| / |f64|. A network of BatchNorms passes gradients through sums that cancel, so
    f32 keeps only a few digits of some of them, PyTorch's own f32 included (its worst tensor is
    4-6e-3 off on the tiny and paper shapes); elementwise, single points are off by several per
    cent in either. A tensor fails above 1e-2."""
    loss64, exact, tensors = gradients(path, torch.float64)
    loss32, torch32, _ = gradients(path, torch.float32)
    ours_loss = tensors["ours/loss_a"].item()
    print(f"loss: hinas {ours_loss:.7f}, pytorch f32 {loss32:.7f}, f64 {loss64:.7f}")
    rel = lambda g, ref: (g.double() - ref).norm().item() / (ref.norm().item() or 1.0)
    errors = []
    for k, g in exact.items():
        ours = tensors.get(f"ours/grad_a/{k}")
        if ours is None:
            sys.exit(f"hinas gave no gradient for {k}")
        errors.append((rel(ours, g), rel(torch32[k], g), k))
    worst, worst_torch = max(errors), max(errors, key=lambda e: e[1])
    print(f"{len(errors)} gradients against f64, norm-wise relative error: hinas' worst {worst[0]:.2e} "
          f"({worst[2]}), PyTorch f32's worst {worst_torch[1]:.2e} ({worst_torch[2]})")
    failed = [f"{k} ({e:.2e})" for e, _, k in errors if e > 1e-2]
    if abs(ours_loss - loss64) > 1e-5 * abs(loss64):
        failed.append(f"loss ({ours_loss} vs {loss64})")
    if failed:
        sys.exit("hinas and PyTorch f64 differ: " + ", ".join(failed))


def fixture(path, out):
    from gen_fixtures import save_safetensors
    loss, exact, tensors = gradients(path, torch.float64)
    res = {f"grad_a/{k}": g for k, g in exact.items()}
    res["loss_a"] = torch.tensor([loss])
    res.update({f"input/{k}": v for k, v in tensors.items() if k.startswith("batch_")})
    save_safetensors(out, res)
    print(f"wrote {out}: loss {loss:.7f}, {len(exact)} gradients")


def bench(path, iters):
    net, params, buffers, tensors, cfg = load(path)
    bias = [v for k, v in params.items() if k not in buffers and (k.endswith(".bias") or k.endswith(".beta_bn"))]
    weights = [v for k, v in params.items() if k not in buffers and not (k.endswith(".bias") or k.endswith(".beta_bn"))]
    lr, wd = cfg["lr"], cfg["weight_decay"]
    groups = [{"params": weights, "lr": lr, "weight_decay": wd},
              {"params": bias, "lr": lr * cfg["bias_lr_mult"], "weight_decay": 0.0}]
    if cfg["optimizer"] == "adam":
        opt = torch.optim.Adam(groups)
    else:
        opt = torch.optim.SGD(groups, momentum=cfg["momentum"])
    batches = [(tensors["batch_a.noisy"], tensors["batch_a.clean"]), (tensors["batch_b.noisy"], tensors["batch_b.clean"])]
    times, losses = [], []
    for it in range(iters + 1):
        x, y = batches[it % 2]
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = loss_fn(net.forward(x), y, cfg["ssim_weight"])
        loss.backward()
        if cfg["clip_value"] > 0:
            torch.nn.utils.clip_grad_value_(weights + bias, cfg["clip_value"])
        opt.step()
        losses.append(loss.item())
        times.append(time.perf_counter() - t0)
    times = sorted(times[1:])
    print(f"pytorch cpu ({torch.get_num_threads()} threads): training iteration median "
          f"{1e3 * times[len(times) // 2]:.1f} ms, best {1e3 * times[0]:.1f} ms over {iters}; "
          f"losses {', '.join(f'{l:.4f}' for l in losses)}")


def main():
    torch.use_deterministic_algorithms(True)
    if len(sys.argv) < 3 or sys.argv[1] not in ("check", "fixture", "bench"):
        sys.exit(__doc__)
    if "--threads" in sys.argv:
        torch.set_num_threads(int(sys.argv[sys.argv.index("--threads") + 1]))
    if sys.argv[1] == "check":
        check(sys.argv[2])
    elif sys.argv[1] == "fixture":
        fixture(sys.argv[2], sys.argv[3])
    else:
        bench(sys.argv[2], int(sys.argv[sys.argv.index("--iters") + 1]) if "--iters" in sys.argv else 5)


if __name__ == "__main__":
    main()
