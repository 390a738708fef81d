#!/usr/bin/env python
"""The LSTM dev-set runs behind bench/README.md's padding table, logged to bench/results/lstm_dev.jsonl,
and that table's numbers: one row per configuration, dev accuracy per seed, mean and std.

Resumable: a run whose command is already in the log is skipped, so a killed sweep restarts
where it stopped, and with every run logged the script only prints the summary.

    python bench/dev_runs.py [--data_dir ../shared/data]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOG = "bench/results/lstm_dev.jsonl"
BEST = ["--max_seq_len", "200", "--bidirectional", "--trainable_embeddings", "--dropout", "0.2"]
RUNS = (
    [["--seed", s] for s in "123"]
    + [["--padding", "pre", "--seed", s] for s in "123"]
    + [BEST + ["--seed", s] for s in "123"]
)


def logged_records(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def summarize(records):
    """One line per configuration (the flags after --results_file, without --seed)."""
    groups = {}
    for record in records:
        command = record["command"]
        flags = command[command.index("--results_file") + 2 :]
        flags = [f for i, f in enumerate(flags) if f != "--seed" and (i == 0 or flags[i - 1] != "--seed")]
        groups.setdefault(" ".join(flags) or "(defaults)", []).append((record["config"]["seed"], record))
    print(
        f"{'flags':<75} {'dev accuracy by seed':<27} {'mean':>6} {'std':>6} {'epochs':>7} {'s/run':>6} {'commit':>8}"
    )
    for flags, runs in groups.items():
        runs.sort(key=lambda run: run[0])
        accuracies = [record["results"]["dev"]["accuracy"] for _, record in runs]
        epochs = statistics.mean(record["train"]["epochs_run"] for _, record in runs)
        seconds = statistics.mean(record["train"]["train_seconds"] for _, record in runs)
        by_seed = " ".join(f"{seed}:{acc:.4f}" for (seed, _), acc in zip(runs, accuracies, strict=True))
        std = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
        commits = {(record["git_commit"] or "none")[:7] for _, record in runs}
        print(
            f"{flags:<75} {by_seed:<27} {statistics.mean(accuracies):6.4f} {std:6.4f} {epochs:7.1f} "
            f"{seconds:6.0f} {','.join(sorted(commits)):>8}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_dir", default="../shared/data")
    args = parser.parse_args()
    os.chdir(ROOT)
    for flags in RUNS:
        argv = ["--train_file", f"{args.data_dir}/train.txt", "--dev_file", f"{args.data_dir}/dev.txt"]
        argv += ["--embeddings", f"{args.data_dir}/glove_reviews_50d.json"]
        argv += ["--verbose", "2", "--results_file", LOG, *flags]
        if argv in [record["command"][1:] for record in logged_records(LOG)]:
            continue
        print("running:", " ".join(flags), flush=True)
        subprocess.run([sys.executable, "lfd_assignment3.py", *argv], check=True, stdout=subprocess.DEVNULL)
    summarize(logged_records(LOG))


if __name__ == "__main__":
    main()
