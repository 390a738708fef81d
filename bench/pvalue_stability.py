#!/usr/bin/env python
"""Do the report's p-values hang on the bootstrap's seed? Every comparison of report/tables.py (its rows and its
pairs) is tested again with SEEDS bootstrap seeds, by the tables' test (tables.paired_bootstrap_counts,
tables.RESAMPLES resamples) and by the study's (experiments.paired_bootstrap, 10,000 resamples), and each seed's
p-values are Holm-adjusted as the tables adjust them. The exact bootstrap p-value, the one endless resampling tends
to, is the reference. Prints the time of one test, and per p (raw, Holm within the question, Holm over the paper)
that comes near 0.05 or 0.01 (NEAR) under some seed, its exact value, its smallest and largest over the seeds
and the thresholds at which the seeds decide differently.

    python bench/pvalue_stability.py > bench/results/pvalue_stability.txt
"""

import math
import os
import platform
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "report"))
import experiments  # noqa: E402
import tables  # noqa: E402

SEEDS = range(20)
THRESHOLDS = (0.05, 0.01)
NEAR = 0.6  # a p is shown when some seed puts it within this share of a threshold: 0.02-0.08, 0.004-0.016
FIELDS = ("p", "padj", "pglob")  # raw, Holm within the question, Holm over the paper


def exact_p(a, b):
    """The bootstrap p-value with endless resamples: the resampled sum of the n differences is distributed as n
    draws from their empirical distribution, computed by raising its characteristic function to the n-th power
    (the differences, means over seeds, lie on a grid of 1/grid)."""
    difference = np.asarray(a, float) - np.asarray(b, float)
    grid = next(g for g in range(1, 1000) if np.allclose(difference * g, np.round(difference * g), rtol=0, atol=1e-9))
    steps = np.round(difference * grid).astype(int)  # from -grid to grid
    n, observed = len(steps), int(steps.sum())
    size = 2 ** math.ceil(math.log2(2 * grid * n + 1))  # every sum from -grid*n to grid*n fits
    one = np.bincount(steps + grid, minlength=2 * grid + 1) / n  # one draw, shifted by +grid
    sums = np.fft.irfft(np.fft.rfft(one, size) ** n, size)[: 2 * grid * n + 1]  # sum + grid*n
    totals = np.arange(2 * grid * n + 1) - grid * n
    return float(np.clip(sums, 0, None)[np.abs(totals - observed) >= abs(observed)].sum())


def comparisons():
    """The tables' comparisons as tables.py builds them, with a stand-in test that records each test's scores and
    returns its index: (groups, rows_of, pairs_of, [(name, the dict whose "p" is set)], [index], [(a, b)])."""
    os.chdir(ROOT)
    logs = experiments.Logs(experiments.RESULTS, tables.logged_hashes(experiments.read_logs(experiments.RESULTS)))
    recorded = []

    def record(a, b):
        recorded.append((np.asarray(a, float), np.asarray(b, float)))
        return len(recorded) - 1

    test, tables.paired_bootstrap_counts = tables.paired_bootstrap_counts, record  # looked up when called
    groups = [group for group in experiments.GROUPS if group.name != "smoke"]
    rows_of = {group.name: tables.group_rows(group, logs) for group in groups}
    pairs_of = {
        group.name: tables.pairwise(group, logs, rows_of[group.name])
        for group in groups
        if group.compare == "pairs" and rows_of[group.name]
    }
    tables.paired_bootstrap_counts = test
    tested = [
        (f"{name} row {index}: {label}", summary)
        for name, rows in rows_of.items()
        for index, (label, _, _, summary) in enumerate(rows or [], start=1)
        if summary and "p" in summary
    ]
    tested += [(f"{name} rows {pair}", found) for name, pairs in pairs_of.items() for pair, found in pairs.items()]
    return groups, rows_of, pairs_of, tested, [found["p"] for _, found in tested], recorded


def adjusted(groups, rows_of, pairs_of, tested, indexes, pvalues):
    """Each comparison's (p, padj, pglob) given the recorded tests' raw p-values, adjusted by tables.adjust."""
    for (_, found), index in zip(tested, indexes, strict=True):
        found["p"] = pvalues[index]
    tables.adjust(groups, rows_of, pairs_of)
    return [tuple(found[field] for field in FIELDS) for _, found in tested]


def timed(test, recorded, seed):
    start = time.perf_counter()
    pvalues = [test(a, b, seed=seed) for a, b in recorded]
    return pvalues, time.perf_counter() - start


def stability(name, runs, exact, tested):
    """Lines for one test: the p-values near a threshold (exact, smallest and largest over the seeds, the thresholds
    at which seeds disagree) and the count of decisions that flip."""
    runs = np.array(runs)  # seed, comparison, field
    lines, flips = [f"{name}:", f"{'comparison':70} {'field':5} {'exact':>8} {'min':>8} {'max':>8}  flips at"], 0
    for c, (label, _) in enumerate(tested):
        for f, field in enumerate(FIELDS):
            values = runs[:, c, f]
            flipped = [t for t in THRESHOLDS if len({bool(v < t) for v in values} | {bool(exact[c][f] < t)}) > 1]
            flips += len(flipped)
            if any(abs(v - t) <= NEAR * t for v in values for t in THRESHOLDS) or flipped:
                row = f"{label[:70]:70} {field:5} {exact[c][f]:8.5f} {values.min():8.5f} {values.max():8.5f}"
                lines.append(f"{row}  {' '.join(map(str, flipped)) or '-'}")
    return lines + [f"decisions that differ between seeds or from the exact p: {flips}", ""]


def main():
    groups, rows_of, pairs_of, tested, indexes, recorded = comparisons()
    cpu = subprocess.run("lscpu | grep 'Model name'", shell=True, capture_output=True, text=True).stdout.strip()
    start = time.perf_counter()
    exact = adjusted(groups, rows_of, pairs_of, tested, indexes, [exact_p(a, b) for a, b in recorded])
    exact_seconds = time.perf_counter() - start
    load = ", ".join(f"{load:.1f}" for load in os.getloadavg())
    print(f"{cpu}\nPython {platform.python_version()}, numpy {np.__version__}; load average at the start {load}")
    seeds = f"bootstrap seeds {SEEDS.start}-{SEEDS.stop - 1}"
    print(f"{len(tested)} comparisons ({len(recorded)} tests, {len(FIELDS)} p-values each); {seeds}")
    print(f"exact p-values (endless resamples): {exact_seconds:.1f} s for all {len(recorded)} tests\n")
    methods = (
        (f"tables.paired_bootstrap_counts, {tables.RESAMPLES:,} resamples", tables.paired_bootstrap_counts),
        ("experiments.paired_bootstrap, 10,000 resamples (the study's choices)", experiments.paired_bootstrap),
    )
    for name, test in methods:
        runs, seconds = [], []
        for seed in SEEDS:
            pvalues, elapsed = timed(test, recorded, seed)
            runs.append(adjusted(groups, rows_of, pairs_of, tested, indexes, pvalues))
            seconds.append(elapsed / len(recorded))
        print(f"{name}: {np.median(seconds):.3f} s a test (median over seeds)")
        print("\n".join(stability(name, runs, exact, tested)), flush=True)


if __name__ == "__main__":
    main()
