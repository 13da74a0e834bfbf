#!/usr/bin/env bash
# Runs the study's tasks two at a time in the order below (o1 and random first, so the main
# comparison fills up first); rerun to continue, finished stages are skipped.
#   HINAS=target/release/hinas nohup nice -n 19 results/study/run-order.sh >> results/study/run/sweep.log 2>&1 &
set -u
HINAS=${HINAS:-hinas}
# A path (not a bare name on PATH) is taken from where the script was started.
case "$HINAS" in */*) HINAS=$(realpath "$HINAS") ;; esac
cd "$(dirname "$0")"
printf '%s\n' 9 11 12 14 8 0 2 3 5 6 10 13 7 1 4 |
    xargs -P 2 -I{} "$HINAS" sweep task plan.toml --out run --index {}
