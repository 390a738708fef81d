#!/usr/bin/env python
"""Summarise a --results_file: one row per configuration, dev accuracy per seed, mean and std.

    python bench/summarize.py bench/results/lstm_dev.jsonl
"""

import json
import statistics
import sys


def main(path):
    groups = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            command = record["command"]
            flags = command[command.index("--results_file") + 2:]
            seed = record["config"]["seed"]
            flags = [f for i, f in enumerate(flags) if f != "--seed" and (i == 0 or flags[i - 1] != "--seed")]
            groups.setdefault(" ".join(flags) or "(defaults)", []).append((seed, record))
    print(f"{'flags':<75} {'dev accuracy by seed':<27} {'mean':>6} {'std':>6} {'epochs':>7} {'s/run':>6} {'commit':>8}")
    for flags, runs in groups.items():
        runs.sort(key=lambda run: run[0])
        accuracies = [record["results"]["dev"]["accuracy"] for _, record in runs]
        epochs = statistics.mean(record["train"]["epochs_run"] for _, record in runs)
        seconds = statistics.mean(record["train"]["train_seconds"] for _, record in runs)
        by_seed = " ".join(f"{seed}:{acc:.4f}" for (seed, _), acc in zip(runs, accuracies, strict=True))
        std = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
        commits = {(record["git_commit"] or "none")[:7] for _, record in runs}
        print(f"{flags:<75} {by_seed:<27} {statistics.mean(accuracies):6.4f} {std:6.4f} {epochs:7.1f} "
              f"{seconds:6.0f} {','.join(sorted(commits)):>8}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bench/results/lstm_dev.jsonl")
