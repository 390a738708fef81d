#!/usr/bin/env python
"""Add the records of a results folder made elsewhere (a GPU machine) to report/results.

    python bench/merge_results.py OTHER_RESULTS_DIR [--into report/results]

A record is added to the group file of the same name unless that file already holds a record of
the same run (flags, seed and data hashes, as report/experiments.py counts them).
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "report"))
import experiments  # noqa: E402


def merge(source, target):
    added = 0
    for name in sorted(os.listdir(source)):
        if not name.endswith(".jsonl"):
            continue
        path = os.path.join(target, name)
        known = set()
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                known = {experiments.record_key(json.loads(line)) for line in handle if line.strip()}
        new = []
        with open(os.path.join(source, name), encoding="utf-8") as handle:
            for line in handle:
                if line.strip() and experiments.record_key(json.loads(line)) not in known:
                    known.add(experiments.record_key(json.loads(line)))
                    new.append(line if line.endswith("\n") else line + "\n")
        if new:
            with open(path, "a", encoding="utf-8") as out:
                out.writelines(new)
            print(f"{name}: {len(new)} new record(s)")
            added += len(new)
    return added


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source")
    parser.add_argument("--into", default=experiments.RESULTS)
    args = parser.parse_args()
    print(f"{merge(args.source, args.into)} record(s) added to {args.into}")


if __name__ == "__main__":
    main()
