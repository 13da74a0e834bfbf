#!/usr/bin/env python3
"""Combines the study's two runs (run 1's committed results.csv, run 2's sweep folder report) into
one table per test set: per strategy the finished seeds (run 1's where both runs finished a seed;
run 2's repeat of it is printed as a reproduction check), mean, standard deviation and 95 %
t-interval, and Welch's t-test between strategies. `hinas report` reads one sweep folder; run 1's
folder was lost with the machine, only its results.csv is left, hence this script.

    python3 results/study/combine.py > results/study/combined.md
"""
import csv
import math
from pathlib import Path

HERE = Path(__file__).resolve().parent


def betacf(a, b, x):
    """Continued fraction of the regularised incomplete beta function (Lentz's method)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-14:
            break
    return h


def ibeta(a, b, x):
    if x <= 0.0 or x >= 1.0:
        return 0.0 if x <= 0.0 else 1.0
    ln = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(1 - x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(ln) * betacf(a, b, x) / a
    return 1.0 - math.exp(ln) * betacf(b, a, 1 - x) / b


def t_two_sided_p(t, df):
    return ibeta(df / 2, 0.5, df / (df + t * t))


def t_quantile_975(df):
    lo, hi = 0.0, 100.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if t_two_sided_p(mid, df) > 0.05:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def read(path):
    rows = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            # A row has a PSNR once its evaluation finished, even while the task's other
            # evaluations still run.
            if not r["psnr"]:
                continue
            order = r["arch_order"]
            strategy = "random" if r["strategy"] == "random" else f"DARTS-o{order}"
            rows[(strategy, int(r["seed"]), r["test_set"])] = (float(r["psnr"]), int(r["params"]))
    return rows


def main():
    run1, run2 = read(HERE / "run1" / "results.csv"), read(HERE / "run" / "results.csv")
    merged = dict(run2)
    merged.update(run1)
    print("# The study, runs 1 and 2 combined\n")
    print("Written by `results/study/combine.py` from `run1/results.csv` and `run/results.csv`. Where "
          "both runs finished a seed, run 1's score counts and run 2's is its reproduction.\n")
    for test_set in ("test", "regset21-grey"):
        print(f"## sigma 25, test set {test_set}\n")
        print("| strategy | n | PSNR per seed (dB) | mean ± std | 95 % CI | parameters (mean) |")
        print("|---|---:|---|---|---|---:|")
        groups = {}
        for (s, seed, ts), (p, n) in sorted(merged.items()):
            if ts == test_set:
                groups.setdefault(s, []).append((seed, p, n))
        stats = {}
        for s in sorted(groups):
            xs = [p for _, p, _ in groups[s]]
            k = len(xs)
            mean = sum(xs) / k
            sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (k - 1)) if k > 1 else float("nan")
            half = t_quantile_975(k - 1) * sd / math.sqrt(k) if k > 1 else float("nan")
            stats[s] = (k, mean, sd)
            seeds = ", ".join(f"s{seed} {p:.2f}" for seed, p, _ in groups[s])
            params = sum(n for _, _, n in groups[s]) / k
            print(f"| {s} | {k} | {seeds} | {mean:.2f} ± {sd:.2f} | [{mean - half:.2f}, {mean + half:.2f}] | {params:,.0f} |")
        print("\nWelch's t-test (two-sided), row minus column:\n")
        print("| difference | mean (dB) | t | df | p |")
        print("|---|---:|---:|---:|---:|")
        names = sorted(stats)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                (na, ma, sa), (nb, mb, sb) = stats[a], stats[b]
                if na < 2 or nb < 2:
                    continue
                va, vb = sa * sa / na, sb * sb / nb
                t = (ma - mb) / math.sqrt(va + vb)
                df = (va + vb) ** 2 / (va * va / (na - 1) + vb * vb / (nb - 1))
                print(f"| {a} − {b} | {ma - mb:+.2f} | {t:.2f} | {df:.1f} | {t_two_sided_p(t, df):.3f} |")
        repro = [(s, seed, run1[(s, seed, ts)][0], run2[(s, seed, ts)][0])
                 for (s, seed, ts) in sorted(run1) if ts == test_set and (s, seed, ts) in run2]
        if repro:
            print("\nSeeds finished in both runs (run 1 / run 2): " +
                  "; ".join(f"{s} s{seed} {a:.2f} / {b:.2f}" for s, seed, a, b in repro))
        print()


if __name__ == "__main__":
    main()
