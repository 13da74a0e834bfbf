#!/usr/bin/env bash
# One search iteration (architecture step + weight step) of the supernet, ours on the current
# adapter with and without cell sharing, and the PyTorch CPU re-implementation on the same
# initial weights and batches, in one run. Usage: tools/bench_search_step.sh [--paper|--tiny|CONFIG.toml] [ITERS]
# (needs a Python with torch+torchvision in $PYTHON, default python3). --tiny (any other flag
# too) is tests/configs/micro.toml's supernet at the tiny budget (57,317 weights, batch 2 of
# 16x16), the one BENCHMARKS.md tracks; CONFIG.toml is that config at the tiny budget, and an
# empty file gives the default search's own supernet (427,089 weights, batch 2 of 24x24).
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:---paper}
iters=${2:-3}
PYTHON=${PYTHON:-python3}
cargo build --release --quiet --example step_time --example supernet_dump
echo "== hinas, cell sharing (HiNAS)"
./target/release/examples/step_time "$budget" --iters "$iters"
echo "== hinas, no cell sharing (Auto-DeepLab style)"
./target/release/examples/step_time "$budget" --no-cell-sharing --iters "$iters"
tmp=$(mktemp -d)
./target/release/examples/supernet_dump "$tmp/in.safetensors" "$budget"
echo "== PyTorch CPU, same supernet, cell sharing"
"$PYTHON" tools/supernet_torch.py bench "$tmp/in.safetensors" --iters "$iters" --threads "$(nproc)"
rm -rf "$tmp"
