#!/usr/bin/env python
"""The dev-set runs behind README.md's numbers, logged to bench/results/lstm_dev.jsonl.

Resumable: a run whose command is already in the log is skipped, so a killed sweep restarts
where it stopped.

    python bench/dev_runs.py [--data_dir ../shared/data]
    python bench/summarize.py bench/results/lstm_dev.jsonl
"""

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOG = "bench/results/lstm_dev.jsonl"
BEST = ["--max_seq_len", "200", "--bidirectional", "--trainable_embeddings", "--dropout", "0.2"]
RUNS = ([["--seed", s] for s in "123"]
        + [["--padding", "pre", "--seed", s] for s in "123"]
        + [BEST + ["--seed", s] for s in "123"])


def logged_commands(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line)["command"][1:] for line in handle if line.strip()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_dir", default="../shared/data")
    args = parser.parse_args()
    os.chdir(ROOT)
    for flags in RUNS:
        argv = ["--train_file", f"{args.data_dir}/train.txt", "--dev_file", f"{args.data_dir}/dev.txt",
                "--embeddings", f"{args.data_dir}/glove_reviews_50d.json", "--verbose", "2",
                "--results_file", LOG, *flags]
        if argv in logged_commands(LOG):
            print("logged already:", " ".join(flags), flush=True)
            continue
        print("running:", " ".join(flags), flush=True)
        subprocess.run([sys.executable, "lfd_assignment3.py", *argv], check=True, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
