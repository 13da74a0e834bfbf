#!/usr/bin/env bash
# `hinas denoise` beside ONNX Runtime (CPU, 2 intra-op threads) on the same model and image,
# back to back (tools/bench_denoise.py), for two genotypes: the micro test genotype and the
# default search's tiny genotype (results/tiny-builtin), each retrained for a few iterations
# (weights do not change the time; the outputs are compared all the same).
#
# Usage: tools/bench_denoise.sh [WORKDIR] [--reps N] [--sizes "1024 1448 4256x2832"] [--prepare-only]
#        [--ort-tiled]
# (--prepare-only: the images, models and ONNX files in WORKDIR, no timing; tools/gpu-check uses it;
# --ort-tiled: ORT runs each image in the tiles hinas used, for sizes whose whole-image ORT run
# does not fit in memory, e.g. 12 megapixels)
# Env: PYTHON (default /work/venv/bin/python, else python3), HINAS (default target/release/hinas,
# built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/hinas-bench-denoise}
shift || true
reps=3
sizes="1024 1448"
prepare_only=0
ort_tiled=()
while [ $# -gt 0 ]; do
    case "$1" in
        --reps) reps=$2; shift 2 ;;
        --sizes) sizes=$2; shift 2 ;;
        --prepare-only) prepare_only=1; shift ;;
        --ort-tiled) ort_tiled=(--ort-tiled); shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
py=${PYTHON:-/work/venv/bin/python}
[ -x "$py" ] || py=python3
hinas=${HINAS:-target/release/hinas}
[ -x "$hinas" ] || cargo build --release --bin hinas
mkdir -p "$work"

# Test images: four built-in test photos in a 2x2 mosaic, resized to each size (grey).
"$py" tools/bench_denoise.py --make-photos "$work" $sizes

cat > "$work/tiny_fast.toml" <<'EOF'
[train]
iterations = 30
val_every = 30
val_start = 0
val_images = 1
val_crop = 48
sigma = 25.0
EOF

train() { # name genotype config
    [ -f "$work/$1/model.safetensors" ] ||
        "$hinas" train --quiet --genotype "$2" --config "$3" --out "$work/$1"
    "$hinas" export --quiet --force --model "$work/$1/model.safetensors" --onnx "$work/$1.onnx"
}
train micro tests/configs/micro_genotype.json tests/configs/train_micro.toml
train tiny results/tiny-builtin/genotype.json "$work/tiny_fast.toml"
[ "$prepare_only" = 1 ] && exit 0

imgs=()
for s in $sizes; do imgs+=("$work/photo$s.png"); done
echo "date $(date -u +%FT%TZ), $(nproc) cores, uptime: $(uptime)"
"$hinas" info 2>/dev/null | sed -n 1p
status=0
for m in tiny micro; do
    echo "== $m"
    "$py" tools/bench_denoise.py --hinas "$hinas" --model "$work/$m/model.safetensors" \
        --onnx "$work/$m.onnx" --reps "$reps" "${ort_tiled[@]}" --warmup "$work/warmup.png" "${imgs[@]}" || status=1
done
exit $status
