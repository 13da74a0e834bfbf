#!/usr/bin/env bash
# Runs the study's tasks one at a time in the order below; rerun to continue, finished stages are
# skipped. Run 1 (results/study/run1) finished o1 s0-s2, o2 s0-s1 and random s0-s1 before the
# machine was reset, so run 2 does the missing seeds first (random s2, o2 s2-s4, after o1 and
# random s3-s4), then repeats run 1's tasks.
#   HINAS=target/release/hinas nohup nice -n 19 results/study/run-order.sh >> results/study/run/sweep.log 2>&1 &
set -u
HINAS=${HINAS:-hinas}
# A path (not a bare name on PATH) is taken from where the script was started.
case "$HINAS" in */*) HINAS=$(realpath "$HINAS") ;; esac
cd "$(dirname "$0")"
# Run 1's tasks (0 2 3 5 6 1 4) are repeated once the missing seeds are in; until then the
# second slot runs the small-budget study (results/study-small/run-order.sh).
printf '%s\n' 9 11 12 14 8 7 10 13 |
    xargs -P 1 -I{} "$HINAS" sweep task plan.toml --out run --index {}
