#!/usr/bin/env python3
"""Writes summary.md: tiny12 PSNR of one genotype retrained with several seeds (eval-s*-test),
seed 0 being the small study's own task, beside the study's per-strategy spread."""
import csv, glob, math, os, re, statistics as st

here = os.path.dirname(os.path.abspath(__file__))
study = os.path.join(here, "..", "study-small", "run")

def mean_scores(path):
    rows = list(csv.DictReader(open(path)))
    return (st.mean(float(r["psnr"]) for r in rows), st.mean(float(r["ssim_hinas"]) for r in rows))

runs = {0: os.path.join(study, "tasks", "darts-o1-cvpr2020-s0", "eval-sigma25-test", "eval.csv")}
for p in glob.glob(os.path.join(here, "eval-s*-test", "eval.csv")):
    runs[int(re.search(r"eval-s(\d+)-test", p).group(1))] = p
scores = {s: mean_scores(p) for s, p in sorted(runs.items())}
psnr = [v[0] for v in scores.values()]

out = ["# Retraining noise: one genotype, several training seeds", "",
       "Genotype: results/study-small DARTS-o1 s0 (125,953 parameters). Each row is "
       "`train --budget tiny --sigma 25 --data builtin:train --seed S` and `eval` on tiny12 "
       "(sigma 25, noise seed 0), exactly the study's stages; seed 0 is the study's own task.", "",
       "| training seed | tiny12 PSNR (dB) | SSIM |", "|---:|---:|---:|"]
for s, (p, q) in scores.items():
    out.append(f"| {s} | {p:.2f} | {q:.4f} |")
n = len(psnr)
if n >= 2:
    sd = st.stdev(psnr)
    out += ["", f"n = {n}: mean {st.mean(psnr):.2f} dB, std {sd:.2f} dB, range {min(psnr):.2f}-{max(psnr):.2f} dB."]
    study_rows = list(csv.DictReader(open(os.path.join(study, "results.csv"))))
    out += ["", "The study's spread over seeds (search seed and training seed change together), tiny12:", "",
            "| strategy | n | std (dB) | retraining std / strategy std | retraining variance / strategy variance |", "|---|---:|---:|---:|---:|"]
    by = {}
    for r in study_rows:
        if r["test_set"] == "test" and r["status"] == "done" and r["psnr"]:
            name = r["strategy"] + (f"-o{r['arch_order']}" if r["strategy"] == "darts" else "")
            by.setdefault(name, []).append(float(r["psnr"]))
    for k, v in sorted(by.items()):
        if len(v) >= 2:
            r = sd / st.stdev(v)
            out.append(f"| {k} | {len(v)} | {st.stdev(v):.2f} | {r:.2f} | {r * r:.0%} |")
open(os.path.join(here, "summary.md"), "w").write("\n".join(out) + "\n")
print("\n".join(out))
