#!/usr/bin/env bash
# Retraining noise: one genotype (the small study's DARTS-o1 s0) retrained exactly as the study's
# tasks are (`train --budget tiny --sigma 25 --data builtin:train`), only the training seed
# changes, then evaluated on tiny12 as the study does. Its spread is the part of the study's
# between-seed spread that no search can remove. Resumable: finished seeds are skipped, a
# killed training resumes from its checkpoint.
#   HINAS=path/to/hinas results/retrain-noise-2026-12-04/run.sh [SEEDS...]
set -euo pipefail
cd "$(dirname "$0")"
HINAS=${HINAS:-../../target/release/hinas}
G=../study-small/run/tasks/darts-o1-cvpr2020-s0/search/genotype.json
seeds=("$@"); [ ${#seeds[@]} -gt 0 ] || seeds=(1 2 3 4)
for s in "${seeds[@]}"; do
  t=train-s$s; e=eval-s$s-test
  [ -f $e/eval.csv ] && { echo "seed $s: done"; continue; }
  if [ -f $t/checkpoint.safetensors ]; then $HINAS train --resume $t --quiet;
  else $HINAS train --genotype $G --sigma 25 --budget tiny --data builtin:train --seed $s --out $t --quiet; fi
  $HINAS eval --model $t/model.safetensors --data builtin:test --sigma 25 --seed 0 --protocol standard --out $e --quiet
  echo "seed $s: $(date -u +%H:%M) done"
done
