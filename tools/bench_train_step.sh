#!/usr/bin/env bash
# One retraining iteration of a derived network (forward, loss, backward, the budget's optimiser,
# the loss read back), ours on the current adapter and the PyTorch CPU re-implementation
# (tools/derived_torch.py) on the same initial weights and batches, in one run; PyTorch first
# checks that both compute the same loss and gradients.
#   tools/bench_train_step.sh [--budget tiny|paper] [--iters N] GENOTYPE.json...
# (needs a Python with torch+torchvision in $PYTHON, default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
budget=tiny
iters=5
genotypes=()
while [ $# -gt 0 ]; do
    case "$1" in
        --budget) budget=$2; shift 2 ;;
        --iters) iters=$2; shift 2 ;;
        *) genotypes+=("$1"); shift ;;
    esac
done
[ ${#genotypes[@]} -gt 0 ] || { echo "usage: $0 [--budget tiny|paper] [--iters N] GENOTYPE.json..." >&2; exit 2; }
PYTHON=${PYTHON:-python3}
cargo build --release --quiet --example train_step
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for g in "${genotypes[@]}"; do
    echo "== $g, $budget budget"
    echo "-- hinas"
    ./target/release/examples/train_step "$g" --budget "$budget" --iters "$iters" --dump "$tmp/in.safetensors"
    echo "-- PyTorch CPU, same network, weights and batches"
    "$PYTHON" tools/derived_torch.py check "$tmp/in.safetensors"
    "$PYTHON" tools/derived_torch.py bench "$tmp/in.safetensors" --iters "$iters" --threads "$(nproc)"
done
