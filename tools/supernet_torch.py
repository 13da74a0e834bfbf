#!/usr/bin/env python3
"""A PyTorch re-implementation of hinas' HiNAS supernet (src/nn/{supernet,cell,candidates,layers}.rs),
parameter for parameter by name, used two ways:

  supernet_torch.py check IN.safetensors OUT.safetensors
      IN (written by `cargo run --release --example supernet_dump`) holds every parameter, two batches and the
      config; OUT gets the loss and every gradient at the initial weights on batch A, then the state
      after one Adam step on alpha/beta (batch A) and one SGD step on the weights (batch B): the
      fixture of tests/supernet.rs.
  supernet_torch.py bench IN.safetensors [--iters N] [--threads N] [--device cpu|cuda]
      times one search iteration (architecture step + weight step) on the CPU, or on CUDA in
      fp32 with TF32 off (the median over N iterations after one warm-up iteration).

The functional style (parameters in a dict) mirrors the Rust code so the two can be read side by side.
"""
import json
import math
import struct
import sys
import time

import torch
import torch.nn.functional as F
import torchvision

EDGE_OPS = ["con_c_3x3", "sep_c_3x3", "sep_c_5x5", "dil_c_3x3", "dil_c_5x5", "def_c_3x3", "skip_connect", "none"]


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for k, v in header.items():
        a, b = v["data_offsets"]
        t = torch.frombuffer(bytearray(raw[base + a:base + b]), dtype=torch.float32).reshape(v["shape"])
        out[k] = t.clone()
    return out, meta


class Net:
    def __init__(self, space, params):
        self.s = space
        self.p = params  # name -> tensor (leaf tensors)
        self.act = (lambda x: F.relu(x)) if space["leaky_slope"] == 0 else (lambda x: F.leaky_relu(x, space["leaky_slope"]))
        self.widths = [int(space["filter_multiplier"] * w) for w in space["width_factors"]]

    def top(self, l):
        return min(l + 1, self.s["levels"] - 1)

    def sources(self, l):
        return 1 if l == 0 else self.top(l - 1) + 1

    def row(self, l, i):
        return sum(self.sources(m) for m in range(l)) + i

    def bn(self, name, x, train):
        g = self.p.get(f"{name}.gamma")
        b = self.p.get(f"{name}.beta_bn")
        return F.batch_norm(x, self.p[f"{name}.running_mean"], self.p[f"{name}.running_var"], g, b, train, 0.1, 1e-5)

    def conv(self, name, x, stride=1, pad=0, dil=1, groups=1):
        return F.conv2d(x, self.p[f"{name}.weight"], self.p.get(f"{name}.bias"), stride, pad, dil, groups)

    def convbn(self, name, x, train, pad=0, dil=1, groups=1, act_after=False):
        y = self.bn(f"{name}.bn", self.conv(f"{name}.conv", x, 1, pad, dil, groups), train)
        return self.act(y) if act_after else y

    def candidate(self, op, name, x, train):
        c = x.shape[1]
        if op in ("con_c_3x3", "dil_c_3x3", "dil_c_5x5"):
            k, d = {"con_c_3x3": (3, 1), "dil_c_3x3": (3, 2), "dil_c_5x5": (5, 2)}[op]
            return self.bn(f"{name}.bn", self.conv(f"{name}.conv", self.act(x), 1, d * (k - 1) // 2, d), train)
        if op in ("sep_c_3x3", "sep_c_5x5"):
            k = 3 if op == "sep_c_3x3" else 5
            y = x
            for i in range(2):
                y = self.act(y)
                y = self.conv(f"{name}.{i}.dw", y, 1, k // 2, 1, c)
                y = self.conv(f"{name}.{i}.pw", y)
                y = self.bn(f"{name}.{i}.bn", y, train)
            return y
        if op == "def_c_3x3":
            y = self.act(x)
            taps = 2 * 9
            om = self.conv(f"{name}.dcn.offset", y, 1, 1)
            off, mask = om[:, :2 * taps], torch.sigmoid(om[:, 2 * taps:])
            y = torchvision.ops.deform_conv2d(y, off, self.p[f"{name}.dcn.weight"], None, padding=1, mask=mask)
            return self.bn(f"{name}.bn", y, train)
        if op == "skip_connect":
            return x
        return None

    def cell(self, name, s0, s1, alpha, row0, train):
        ops = self.s["ops"]
        k = len(ops)
        states = [s0, s1]
        e = 0
        for j in range(self.s["nodes"]):
            acc = 0
            for i in range(2 + j):
                for o, op in enumerate(ops):
                    y = self.candidate(op, f"{name}.e{e}.{op}", states[i], train)
                    if y is not None:
                        acc = acc + alpha.reshape(-1)[(row0 + e) * k + o] * y
                e += 1
            states.append(acc)
        return torch.cat(states[2:], 1)

    def forward(self, x, train=True):
        s = self.s
        alpha = torch.softmax(self.p["alpha"], -1)
        mask = self.beta_mask()
        beta = torch.softmax(self.p["beta"] + mask, -1).reshape(-1)
        edges = sum(2 + j for j in range(s["nodes"]))
        s1 = self.convbn("stem1", x, train, pad=1, act_after=True)
        h = [self.convbn("stem2", self.act(s1), train, pad=1)]
        in1 = [self.convbn("reduce1", s1, train, pad=1)]
        for l in range(s["layers"]):
            top = self.top(l)
            contrib = [[] for _ in range(top + 1)]
            for i in range(self.sources(l)):
                for d in range(3):
                    j = i + d - 1
                    if 0 <= j <= top:
                        y = self.convbn(f"router{l}.{i}.{d}", h[i], train)
                        contrib[j].append((y, self.row(l, i) * 3 + d))
            while len(in1) <= top:
                j = len(in1)
                in1.append(self.convbn(f"up{j}", in1[j - 1], train))
            row0 = 0 if s["tied_cells"] else l * edges
            in0, hn = [], []
            for j, inputs in enumerate(contrib):
                merged = sum(beta[k] * y for y, k in inputs)
                if s["cell_sharing"]:
                    out = self.cell(f"cell{l}.{j}", in1[j], merged, alpha, row0, train)
                else:
                    out = sum(beta[k] * self.cell(f"cell{l}.{j}", in1[j], y, alpha, row0, train) for y, k in inputs)
                in0.append(merged)
                hn.append(out)
            in1, h = in0, hn
        heads = []
        dil = s["aspp_dilation"]
        for j, xj in enumerate(h):
            c = xj.shape[1]
            d = self.convbn(f"aspp{j}.dw", xj, train, pad=dil, dil=dil, groups=c, act_after=True)
            d = self.convbn(f"aspp{j}.pw", d, train, act_after=True)
            q = self.convbn(f"aspp{j}.conv1x1", xj, train, act_after=True)
            heads.append(self.convbn(f"aspp{j}.merge", torch.cat([d, q], 1), train, act_after=True))
        y = self.convbn("head.conv", torch.cat(heads, 1), train, pad=1, act_after=True)
        noise = self.conv("head.out", y, 1, 1)
        out = s["output"]
        if out == "residual":
            return x - noise
        if out == "sigmoid_residual":
            return torch.sigmoid(x - noise)
        return torch.sigmoid(noise)

    def beta_mask(self):
        rows = self.row(self.s["layers"], 0)
        m = torch.zeros(rows, 3, device=self.p["alpha"].device)
        for l in range(self.s["layers"]):
            for i in range(self.sources(l)):
                for d in range(3):
                    j = i + d - 1
                    if j < 0 or j > self.top(l):
                        m[self.row(l, i), d] = -50.0
        return m


def gaussian_window(c):
    g = torch.tensor([math.exp(-((i - 5) ** 2) / (2 * 1.5 ** 2)) for i in range(11)], dtype=torch.float32)
    g = g / g.sum()
    w = torch.outer(g, g)
    return w.expand(c, 1, 11, 11).contiguous()


def ssim(a, b):
    c = a.shape[1]
    w = gaussian_window(c).to(a.device, a.dtype)
    f = lambda t: F.conv2d(t, w, padding=5, groups=c)
    mu1, mu2 = f(a), f(b)
    s11 = f(a * a) - mu1 * mu1
    s22 = f(b * b) - mu2 * mu2
    s12 = f(a * b) - mu1 * mu2
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    m = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 * mu1 + mu2 * mu2 + c1) * (s11 + s22 + c2))
    return m.mean()


def loss_fn(out, clean, ssim_weight):
    return (F.mse_loss(out, clean) + ssim_weight * -torch.log10(ssim(out, clean))) / 2


def run(path, bench_iters=0, device="cpu"):
    tensors, meta = load_safetensors(path)
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        # The timing lets cuDNN pick its fastest algorithms, as a user's training would.
        torch.backends.cudnn.benchmark = bench_iters > 0
    tensors = {k: v.to(dev) for k, v in tensors.items()}
    cfg = json.loads(meta["config"])
    space, sc = cfg["space"], cfg["search"]
    params = {k[len("param/"):]: v for k, v in tensors.items() if k.startswith("param/")}
    buffers = {k for k in params if k.endswith("running_mean") or k.endswith("running_var")}
    for k, v in params.items():
        if k not in buffers:
            v.requires_grad_(True)
    net = Net(space, params)
    arch = [params["alpha"], params["beta"]]
    weights = [v for k, v in params.items() if k not in buffers and k not in ("alpha", "beta")]
    sgd = torch.optim.SGD(weights, lr=float(meta["lr"]), momentum=sc["weight_momentum"], weight_decay=sc["weight_decay"])
    adam = torch.optim.Adam(arch, lr=sc["arch_lr"], weight_decay=sc["arch_weight_decay"])
    xa, ya, xb, yb = (tensors[k] for k in ("batch_a.noisy", "batch_a.clean", "batch_b.noisy", "batch_b.clean"))
    w = sc["ssim_weight"]
    if bench_iters:
        times = []
        for _ in range(bench_iters + 1):
            t0 = time.perf_counter()
            adam.zero_grad(); sgd.zero_grad()
            loss_fn(net.forward(xa), ya, w).backward()
            adam.step()
            adam.zero_grad(); sgd.zero_grad()
            loss_fn(net.forward(xb), yb, w).backward()
            sgd.step()
            if dev.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
        times = sorted(times[1:])
        where = f"cuda ({torch.cuda.get_device_name(dev)}, fp32)" if dev.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
        peak = f", peak CUDA memory {torch.cuda.max_memory_allocated(dev) / 2**20:.0f} MiB" if dev.type == "cuda" else ""
        print(f"pytorch {where}: search iteration median {1e3 * times[len(times) // 2]:.1f} ms, best {1e3 * times[0]:.1f} ms over {bench_iters}{peak}")
        return None
    out = {}
    # 1. Gradients of everything at the initial weights on batch A (BN in train mode updates the
    #    running statistics, as the Rust step does).
    loss_a = loss_fn(net.forward(xa), ya, w)
    loss_a.backward()
    out["loss_a"] = loss_a.detach().reshape(1)
    for k, v in params.items():
        if v.grad is not None:
            out[f"grad_a/{k}"] = v.grad.clone()
    # 2. The architecture step on batch A with the gradients just computed (only alpha/beta move).
    adam.step()
    adam.zero_grad(); sgd.zero_grad()
    # 3. The weight step on batch B.
    loss_b = loss_fn(net.forward(xb), yb, w)
    loss_b.backward()
    out["loss_b"] = loss_b.detach().reshape(1)
    for k, v in params.items():
        if v.grad is not None and k not in ("alpha", "beta"):
            out[f"grad_b/{k}"] = v.grad.clone()
    sgd.step()
    # After both steps: the architecture and the BN running statistics (the weights' update is
    # fixed by their gradients and tests/optim.rs; leaving them out keeps the fixture small).
    for k, v in params.items():
        if k in ("alpha", "beta") or k in buffers:
            out[f"after/{k}"] = v.detach().clone()
    # 4. The second-order architecture gradient now (SGD has momentum buffers): virtual step on
    #    batch A (the training batch), validation loss on batch B, xi = the weight lr.
    xi = float(meta["lr"])
    loss_v, grads = unrolled_arch_grad(net, params, buffers, weights, arch, sgd, (xa, ya), (xb, yb), w, xi,
                                       sc["weight_decay"], sc["weight_momentum"])
    out["unrolled/loss_val"] = loss_v.reshape(1)
    out["unrolled/alpha"], out["unrolled/beta"] = grads
    return out


def unrolled_arch_grad(net, params, buffers, weights, arch, sgd, train, val, w, xi, wd, momentum, radius=0.01):
    """DARTS' second-order architecture gradient (Liu et al. 2019, eqs. 6-8), written from the
    equations: w' = w - xi (momentum * buf + grad + wd * w); the validation gradient at w'; the
    Hessian-vector product by central differences at w +- eps v, eps = radius / |v|. Weights and
    BN running statistics are restored afterwards (hinas leaves no trace of the virtual steps)."""
    saved = {k: params[k].detach().clone() for k in buffers}
    theta = [p.detach().clone() for p in weights]

    def grad(loss, wrt):
        gs = torch.autograd.grad(loss, wrt, allow_unused=True)
        return [torch.zeros_like(x) if g is None else g for g, x in zip(gs, wrt)]

    def set_weights(values):
        with torch.no_grad():
            for p, v in zip(weights, values):
                p.copy_(v)

    g = grad(loss_fn(net.forward(train[0]), train[1], w), weights)
    moment = [sgd.state[p]["momentum_buffer"] * momentum if "momentum_buffer" in sgd.state[p] else torch.zeros_like(p)
              for p in weights]
    set_weights([t - xi * (m + gg + wd * t) for t, m, gg in zip(theta, moment, g)])
    loss_v = loss_fn(net.forward(val[0]), val[1], w)
    gs = grad(loss_v, arch + weights)
    d_arch, v = gs[:len(arch)], gs[len(arch):]
    eps = radius / torch.cat([x.reshape(-1) for x in v]).norm()
    set_weights([t + eps * x for t, x in zip(theta, v)])
    g_plus = grad(loss_fn(net.forward(train[0]), train[1], w), arch)
    set_weights([t - eps * x for t, x in zip(theta, v)])
    g_minus = grad(loss_fn(net.forward(train[0]), train[1], w), arch)
    set_weights(theta)
    with torch.no_grad():
        for k in buffers:
            params[k].copy_(saved[k])
    return loss_v.detach(), [(d - xi * (p - m) / (2 * eps)).detach() for d, p, m in zip(d_arch, g_plus, g_minus)]


def main():
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
    from gen_fixtures import save_safetensors
    if sys.argv[1] == "check":
        torch.use_deterministic_algorithms(True)
        res = run(sys.argv[2])
        inputs, _ = load_safetensors(sys.argv[2])
        # The parameters are re-created by the Rust test from the same seed; only the batches travel.
        res.update({f"input/{k}": v for k, v in inputs.items() if k.startswith("batch_")})
        save_safetensors(sys.argv[3], res)
        print(f"wrote {sys.argv[3]}: loss_a {res['loss_a'].item():.6f}, loss_b {res['loss_b'].item():.6f}")
    elif sys.argv[1] == "bench":
        iters = int(sys.argv[sys.argv.index("--iters") + 1]) if "--iters" in sys.argv else 5
        if "--threads" in sys.argv:
            torch.set_num_threads(int(sys.argv[sys.argv.index("--threads") + 1]))
        device = sys.argv[sys.argv.index("--device") + 1] if "--device" in sys.argv else "cpu"
        run(sys.argv[2], bench_iters=iters, device=device)


if __name__ == "__main__":
    main()
