#!/usr/bin/env bash
# Runs the small-budget study's tasks one at a time, DARTS first order first (a `small` search of
# order 2 costs several times order 1's), then random and order 2; rerun to continue, finished
# stages are skipped. Index = seed * 3 + (0 DARTS-o1, 1 DARTS-o2, 2 random).
#   HINAS=target/release/hinas nohup nice -n 19 results/study-small/run-order.sh >> results/study-small/run/sweep.log 2>&1 &
set -u
HINAS=${HINAS:-hinas}
case "$HINAS" in */*) HINAS=$(realpath "$HINAS") ;; esac
cd "$(dirname "$0")"
mkdir -p run
printf '%s\n' 0 3 6 9 12 2 5 8 11 14 1 4 7 10 13 |
    xargs -P 1 -I{} "$HINAS" sweep task plan.toml --out run --index {}
