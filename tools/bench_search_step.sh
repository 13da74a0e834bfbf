#!/usr/bin/env bash
# One search iteration (architecture step + weight step) of the supernet, ours on the current
# adapter with and without cell sharing, and the PyTorch CPU re-implementation on the same
# initial weights and batches, in one run. Usage: tools/bench_search_step.sh [--paper] [ITERS]
# (needs a Python with torch+torchvision in $PYTHON, default python3).
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
