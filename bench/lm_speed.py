#!/usr/bin/env python
"""Transformer training speed: padding to --max_length (the usual recipe) against this tool's
default (padding to the longest review of a batch, batches grouped by length), side by side.

    HF_HUB_OFFLINE=1 python bench/lm_speed.py --lm_name models/all-MiniLM-L6-v2
    python bench/lm_speed.py --lm_name models/all-MiniLM-L6-v2 --max_train_samples 320   # speed only, quick

Each row is one full run of lfd_assignment3.py (one epoch, dev evaluated) in its own process,
logged to --results_file; rows already logged are not rerun, so the table can be reprinted
(or finished after an interruption) by running the same command again.
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "report"))
from experiments import paired_bootstrap  # noqa: E402

RECIPES = {"(a) pad to max_length": ["--pad_to_max_length"], "(b) tool default": []}


def logged(path):
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    return {tuple(r["command"][1:]): r for r in records}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lm_name", required=True)
    parser.add_argument("--data_dir", default="../shared/data")
    parser.add_argument("--max_lengths", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--max_train_samples", type=int, default=None)
    parser.add_argument("--results_file", default="bench/results/lm_speed.jsonl")
    args = parser.parse_args()
    os.chdir(ROOT)
    rows = []
    for max_length in args.max_lengths:
        for recipe, flags in RECIPES.items():
            argv = ["--model", "lm", "--lm_name", args.lm_name]
            argv += ["--train_file", f"{args.data_dir}/train.txt", "--dev_file", f"{args.data_dir}/dev.txt"]
            argv += ["--max_length", str(max_length), "--epochs", "1", "--batch_size", str(args.batch_size)]
            argv += ["--verbose", "2", "--results_file", args.results_file, *flags]
            if args.max_train_samples:
                argv += ["--max_train_samples", str(args.max_train_samples)]
            if tuple(argv) not in logged(args.results_file):
                print(f"running {recipe} at max_length {max_length} ...", flush=True)
                subprocess.run([sys.executable, "lfd_assignment3.py", *argv], check=True, stdout=subprocess.DEVNULL)
            rows.append((max_length, recipe, logged(args.results_file)[tuple(argv)]))
    print(
        f"\n{rows[0][2]['device']}, {rows[0][2]['train']['precision']}, batch {args.batch_size}, "
        f"{rows[0][2]['train']['train_examples']} training reviews, 1 epoch"
    )
    gold = next(np.asarray(r["results"]["dev"]["gold"]) for *_, r in rows if "gold" in r["results"]["dev"])
    print(
        f"{'max_length':>10}  {'recipe':<22} {'train ex/s':>10} {'train s':>8} {'dev acc':>8} {'speed-up':>8} "
        f"{'p (acc)':>8}"
    )
    for max_length, recipe, record in rows:
        base = next(r for m, name, r in rows if m == max_length and name.startswith("(a)"))
        train = record["train"]
        speedup = train["train_examples_per_second"] / base["train"]["train_examples_per_second"]
        correct = [np.asarray(r["results"]["dev"]["predicted"]) == gold for r in (record, base)]
        p = "" if record is base else f"{paired_bootstrap(*correct):.3f}"
        print(
            f"{max_length:>10}  {recipe:<22} {train['train_examples_per_second']:>10.2f} "
            f"{train['train_seconds']:>8.0f} {record['results']['dev']['accuracy']:>8.4f} {speedup:>7.2f}x {p:>8}"
        )
    print(
        "p (acc): paired bootstrap test of the dev accuracy difference from (a) at the same max_length "
        "(report/experiments.py)"
    )


if __name__ == "__main__":
    main()
