#!/usr/bin/env python
"""Seconds per LSTM training epoch for each installed Keras backend and padding mode.

Runs lfd_assignment3.py once per (backend, padding) in a fresh process, on the real data,
with a fixed number of epochs and no early stopping, and prints a table:

    python bench/lstm_backends.py --data_dir ../shared/data
    python bench/lstm_backends.py --data_dir ../shared/data --backends jax tensorflow --lstm_units 128

The first epoch includes tracing/compilation and is shown apart; 'epoch s' is the median of
the later ones. Dev accuracy after these few epochs is shown only as a sanity check.
"""

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measure(args, backend, padding, results):
    data = args.data_dir
    command = [sys.executable, os.path.join(ROOT, "lfd_assignment3.py"), "--backend", backend, "--padding", padding]
    command += ["--train_file", f"{data}/train.txt", "--dev_file", f"{data}/dev.txt"]
    command += ["--embeddings", f"{data}/glove_reviews_50d.json", "--lstm_units", str(args.lstm_units)]
    command += ["--max_seq_len", str(args.max_seq_len), "--epochs", str(args.epochs), "--patience", "0"]
    command += ["--verbose", "0", "--results_file", results, *args.extra]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        return None, done.stderr.strip().splitlines()[-1]
    with open(results, encoding="utf-8") as handle:
        record = json.loads(handle.readlines()[-1])
    return record, None


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--data_dir", default=os.path.join(ROOT, "..", "shared", "data"))
    parser.add_argument("--backends", nargs="+", default=["jax", "tensorflow", "torch"])
    parser.add_argument("--paddings", nargs="+", default=["mask", "pre"])
    parser.add_argument("--lstm_units", type=int, default=64)
    parser.add_argument("--max_seq_len", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("extra", nargs="*", help="more flags for lfd_assignment3.py, after --")
    args = parser.parse_args()
    print(
        f"LSTM {args.lstm_units} units, max_seq_len {args.max_seq_len}, {args.epochs} epochs, "
        f"{os.cpu_count()} CPU cores, extra flags: {' '.join(args.extra) or 'none'}"
    )
    print(
        f"{'backend':<11} {'padding':<8} {'device':<10} {'1st epoch s':>11} {'epoch s':>8} "
        f"{'train ex/s':>10} {'dev acc':>8}"
    )
    with tempfile.TemporaryDirectory() as folder:
        for backend in args.backends:
            if importlib.util.find_spec(backend) is None:
                print(f"{backend:<11} not installed")
                continue
            for padding in args.paddings:
                record, error = measure(args, backend, padding, os.path.join(folder, f"{backend}-{padding}.jsonl"))
                if error:
                    print(f"{backend:<11} {padding:<8} failed: {error}")
                    continue
                seconds = record["train"]["epoch_seconds"]
                steady = statistics.median(seconds[1:]) if len(seconds) > 1 else seconds[0]
                examples = record["train"]["train_examples"]
                print(
                    f"{backend:<11} {padding:<8} {record['device'][:10]:<10} {seconds[0]:>11.2f} {steady:>8.2f} "
                    f"{examples / steady:>10.0f} {record['results']['dev']['accuracy']:>8.3f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
