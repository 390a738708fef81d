#!/usr/bin/env python
"""The report's experiments: named groups of lfd_assignment3.py runs, resumable.

    python report/experiments.py --list                 # groups, their runs, what is logged
    python report/experiments.py [GROUP ...]            # run what is not logged yet (all groups if none)
    python report/experiments.py --data_dir DIR GROUP   # data elsewhere (train/dev/test.txt, glove_reviews.json)
    python report/experiments.py --shard 1/2 GROUP      # with --shard 2/2 in a second shell: two runners share a group

Every run goes through the script with `--results_file report/results/<group>.jsonl` and is skipped when a run
with the same flags, seed and data hashes is logged in any group's file: a killed sweep restarts where it stopped,
and a configuration shared by groups runs once. Groups chosen from earlier results (the best learning rate of a
grid, say) read them from the logs, so the chain runs unattended; a group whose inputs are incomplete waits.
report/tables.py turns the logs into the report's tables with the same group definitions.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import lfd_assignment3 as lfd  # noqa: E402 (its families and hashing; the runs go through its command line)

RESULTS = os.path.join("report", "results")
PREDICTIONS = os.path.join("report", "predictions")  # git-ignored: it holds the reviews' text
# The Trainer's checkpoints of the long transformer runs, a folder per run, outside the clone: a run stopped with its
# session resumes from its last epoch where the next session finds them (--checkpoints_dir).
CHECKPOINTS = os.path.join(os.path.expanduser("~"), ".cache", "lfd-checkpoints")
SAVED_MODELS = os.path.join("report", "models")  # git-ignored: the ensembles' members, one folder per run
SEEDS = (1, 2, 3)
DATA_FILES = {"--train_file": "train.txt", "--dev_file": "dev.txt", "--embeddings": "glove_reviews.json"}
TEST_FILE = "test.txt"
# Flags that name files or only change printing: not part of what a run is.
PATH_FLAGS = {
    "--train_file",
    "--dev_file",
    "--test_file",
    "--results_file",
    "--predictions_file",
    "--confusion_png",
    "--save_model",
    "--checkpoint_dir",
    "--verbose",
}
ALWAYS = ["--verbose", "2"]
POLL_SECONDS = 5  # how often a sharded runner looks again for the results a waiting group needs


class Pending(Exception):
    """A group's configurations depend on results that are not logged yet."""


@dataclass
class Group:
    """Named runs: configs(logs) gives [(label, flags)], the first is the reference row of the table. Each seed of
    each configuration runs; with test, each run also evaluates the test set; with predictions, it writes its
    predictions (with the reviews' text) to PREDICTIONS; with save, it saves its model to SAVED_MODELS, where
    ensembles load it; alone marks a timing group. In report/tables.py: compare is "first" (each row tested
    against the first), "pairs" (every pair of rows), "couples" (rows 2, 4, ... against the row before) or None,
    on test in a test group, else on dev; extras may hold "errors" (the first row's per-class scores, confusion
    matrix and wrong dev reviews)."""

    name: str
    title: str
    configs: object
    seeds: tuple = SEEDS
    test: bool = False
    predictions: bool = False
    save: bool = False
    checkpoints: bool = False
    alone: bool = False
    compare: str | None = "first"
    extras: tuple = ()

    def __post_init__(self):
        if self.compare not in ("first", "pairs", "couples", None) or not set(self.extras) <= {"errors"}:
            raise ValueError(f"group {self.name}: compare {self.compare!r}, extras {self.extras!r}")


# ---------------------------------------------------------------------------
# Reading the logs
# ---------------------------------------------------------------------------


def read_logs(results_dir):
    """Every record of every group file, each with its group name under "group"."""
    records = []
    names = sorted(os.listdir(results_dir)) if os.path.isdir(results_dir) else []
    for name in [name for name in names if name.endswith(".jsonl")]:
        with open(os.path.join(results_dir, name), encoding="utf-8") as handle:
            lines = handle.read().split("\n")
        for number, line in enumerate(lines):
            try:
                if line.strip():
                    records.append({**json.loads(line), "group": name[: -len(".jsonl")]})
            except json.JSONDecodeError:
                if number < len(lines) - 1:  # only the last line may be torn (by a crash): that run is not logged
                    raise
    return records


def as_pairs(flags):
    """A flag list as [(flag, value or None for a switch)], in order."""
    pairs, i = [], 0
    while i < len(flags):
        value = flags[i + 1] if i + 1 < len(flags) and not flags[i + 1].startswith("--") else None
        pairs.append((flags[i], value))
        i += 1 if value is None else 2
    return pairs


def as_flags(pairs):
    return [item for flag, value in pairs for item in ([flag] if value is None else [flag, value])]


def run_flags(command):
    """A logged command's flags, file paths and printing aside (a checkpoint or saved model by its folder's name)."""
    return tuple(
        sorted(
            (flag, os.path.basename(value.rstrip("/")) if flag in ("--lm_name", "--load_model") else value)
            for flag, value in as_pairs(list(command[1:]))
            if flag not in PATH_FLAGS and not (flag == "--embeddings" and value.lower() != "none")
        )
    )


def record_key(record):
    """What makes two runs the same run: flags, seed and the hashes of the data read."""
    return json.dumps([run_flags(record["command"]), sorted(record["data_sha256"].items())])


def reads_no_vectors(flags):
    """Runs of saved models, and of the families without --embeddings, read no word-vector file."""
    if "--load_model" in flags:
        return True
    family = dict(as_pairs(flags)).get("--model", "lstm")
    return "embeddings" not in lfd.family_flags(family)


def saved_folder(flags, seed):
    """Where a group with save keeps the model of one run: named by the run's flags and seed."""
    digest = hashlib.sha256(json.dumps(run_flags(["x", *flags])).encode()).hexdigest()[:10]
    return os.path.join(SAVED_MODELS, f"{digest}-seed{seed}")


def seeded(flags, seed):
    """An ensemble's flags with its members' folders for one seed ({seed} in a folder's name filled in)."""
    return [flag.replace("{seed}", str(seed)) for flag in flags]


def row_seeds(flags, seeds):
    """The seeds a row runs: one, when it names the same saved models for every seed (a seed ensemble)."""
    return seeds[:1] if "--load_model" in flags and not any("{seed}" in flag for flag in flags) else seeds


def is_saved(folder):
    return os.path.isfile(os.path.join(folder, "lfd_config.json"))


class Logs:
    """The logged records, looked up by configuration, and the gold labels of dev and test in file order."""

    def __init__(self, results_dir, hashes):
        self.records, self.hashes, self.by_key = read_logs(results_dir), hashes, {}
        gold = {}  # gold label ids of a split by the split file's hash (any record that logged them)
        # oldest first: a rerun (a member saved again for an ensemble) does not replace a configuration's first run
        for record in sorted(self.records, key=lambda record: record["timestamp"]):
            self.by_key.setdefault(record_key(record), record)
            for split, result in record["results"].items():
                if "gold" in result:
                    gold.setdefault(record["data_sha256"][f"{split}_file"], np.asarray(result["gold"]))
        self.gold, self.test_gold = gold.get(hashes.get("dev_file")), gold.get(hashes.get("test_file"))

    def find(self, flags, seed, test=False):
        if test and "test_file" not in self.hashes:
            return None  # no test file hashed (none given, or none logged yet): no test run can match
        flags = seeded(flags, seed)
        wanted = {"command": ["x", *flags, "--seed", str(seed)], "data_sha256": self.hashes_for(flags, test)}
        return self.by_key.get(record_key(wanted))

    def hashes_for(self, flags, test):
        read = {"dev_file"} if "--load_model" in flags else {"train_file", "dev_file"}  # a saved model is not trained
        wanted = read | ({"test_file"} if test else set())
        if "--embeddings" not in flags and not reads_no_vectors(flags):
            wanted.add("embeddings")
        return {name: digest for name, digest in self.hashes.items() if name in wanted}

    def runs(self, flags, seeds, test=False):
        """The logged records of one configuration, one per seed that has been run."""
        return [r for r in (self.find(flags, seed, test) for seed in row_seeds(flags, seeds)) if r is not None]


def correctness(runs, gold, split="dev"):
    """Per-review correctness averaged over the runs (seeds): an array of values in [0, 1]."""
    return np.mean([np.asarray(run["results"][split]["predicted"]) == gold for run in runs], axis=0)


STUDY_RESAMPLES = 10_000  # the resamples of the tests that chose configurations during the study


def paired_bootstrap(a, b, seed=0, resamples=STUDY_RESAMPLES):
    """Two-sided p-value of mean(a - b) == 0 by resampling reviews (a, b: per-review scores)."""
    difference = np.asarray(a, float) - np.asarray(b, float)
    observed = difference.mean()
    rng = np.random.default_rng(seed)
    samples = difference[rng.integers(0, len(difference), size=(resamples, len(difference)))].mean(axis=1)
    return float(np.mean(np.abs(samples - observed) >= abs(observed) - 1e-12))


def mean_dev_accuracy(logs, flags, seeds, test=False):
    """Mean dev accuracy of a configuration's runs (test=True: of its runs that also evaluated test)."""
    runs = logs.runs(flags, seeds, test)
    if len(runs) < len(row_seeds(flags, seeds)):
        raise Pending(f"{' '.join(flags) or 'defaults'}: {len(runs)} of {len(seeds)} seeds logged")
    return sum(r["results"]["dev"]["accuracy"] for r in runs) / len(runs)


def best_row(logs, candidates, seeds=(1,)):
    """The candidate (label, flags) with the highest mean dev accuracy (the first of equals)."""
    scores = [mean_dev_accuracy(logs, flags, seeds) for _, flags in candidates]
    return candidates[scores.index(max(scores))]


def without(flags, name):
    """flags without `name VALUE`."""
    return as_flags([(flag, value) for flag, value in as_pairs(flags) if flag != name])


def replaced(flags, extra):
    """flags with extra's flags set to extra's values (added where flags lacks them)."""
    return as_flags({**dict(as_pairs(flags)), **dict(as_pairs(extra))}.items())


# ---------------------------------------------------------------------------
# The LSTM study
# ---------------------------------------------------------------------------

LEARNING_RATES, BATCH_SIZES = ("3e-4", "1e-3", "3e-3"), ("16", "32", "64")
COMBINED_RATES, COMBINED_BATCHES = ("1e-3", "3e-3", "1e-2"), ("16", "32")
# Each optimizer's own learning-rate grid: plain SGD needs far larger steps than Adam.
OPTIMIZER_GRIDS = {
    "sgd": ([], ("0.03", "0.1", "0.3")),
    "sgd + momentum 0.9": (["--momentum", "0.9"], ("0.01", "0.03", "0.1")),
    "adam": ([], LEARNING_RATES),
    "adamw": ([], LEARNING_RATES),
    "rmsprop": ([], LEARNING_RATES),
    "adagrad": ([], ("0.01", "0.03", "0.1")),
    "nadam": ([], LEARNING_RATES),
}
# The one-change-at-a-time groups whose significant winners the combined model adopts.
FACTORS = ("embeddings", "bidirectional", "max_seq_len", "bidirectional_long", "dropout", "layers", "optimizers")
ALPHA = 0.05
# One seed each, on the selected LSTM with its better pooling and truncation: capacity, length, regularisation.
IDEAS = [
    ("bidirectional", ["--bidirectional"]),
    ("400 tokens", ["--max_seq_len", "400"]),
    ("256 units", ["--lstm_units", "256"]),
    ("output dropout 0.3", ["--output_dropout", "0.3"]),
    ("dropout 0.2", ["--dropout", "0.2"]),
    ("bidirectional, 400 tokens", ["--bidirectional", "--max_seq_len", "400"]),
]


def lr_batch_grid(logs):
    return [
        (f"lr {lr}, batch {bs}", ["--learning_rate", lr, "--batch_size", bs])
        for lr in LEARNING_RATES
        for bs in BATCH_SIZES
    ]


def baseline(logs):
    """The best point of the learning-rate x batch-size grid (one seed)."""
    return best_row(logs, lr_batch_grid(logs))[1]


def variants(reference_label, rows, common=()):
    """Rows that change the baseline: [(label, extra flags)] -> [(label, flags)], baseline first."""

    def configs(logs):
        base = baseline(logs) + list(common)
        return [(reference_label, base)] + [(label, base + extra) for label, extra in rows]

    return configs


def optimizer_grid(logs):
    base = without(baseline(logs), "--learning_rate")
    return [
        (
            f"{name}, lr {lr}",
            base
            + (["--optimizer", name.split()[0]] if name != "adam" else [])  # the default
            + [*extra, "--learning_rate", lr],
        )
        for name, (extra, rates) in OPTIMIZER_GRIDS.items()
        for lr in rates
    ]


def optimizer_best(logs):
    """Each optimizer at the best rate of its grid, Adam (the default) first."""
    grid, rows = optimizer_grid(logs), []
    for name in OPTIMIZER_GRIDS:
        flags = best_row(logs, [(label, flags) for label, flags in grid if label.startswith(name + ",")])[1]
        rows.append((f"{name}, lr {flags[flags.index('--learning_rate') + 1]}", flags))
    adam = list(OPTIMIZER_GRIDS).index("adam")
    return [rows[adam]] + rows[:adam] + rows[adam + 1 :]


def adopted_changes(logs):
    """[(group, label, extra flags)]: per factor group, its best row if it beats the group's reference
    row with p < ALPHA on dev (paired bootstrap over three seeds); chosen from the logs, not by hand."""
    changes = []
    for name in FACTORS:
        group = group_named(name)
        configs = group.configs(logs)
        runs = [logs.runs(flags, group.seeds) for _, flags in configs]
        if any(len(r) < len(group.seeds) for r in runs) or logs.gold is None:
            raise Pending(f"group {name} is not complete")
        scores = [np.mean([r["results"]["dev"]["accuracy"] for r in rs]) for rs in runs]
        winner = int(np.argmax(scores))
        if winner and paired_bootstrap(correctness(runs[winner], logs.gold), correctness(runs[0], logs.gold)) < ALPHA:
            known = dict(as_pairs(configs[0][1]))  # the flags the winner adds to, or changes in, the reference
            extra = [pair for pair in as_pairs(configs[winner][1]) if pair not in known.items()]
            changes.append((name, configs[winner][0], as_flags(extra)))
    return changes


def combined_flags(logs):
    """The baseline plus every adopted change, without a learning rate or batch size (re-tuned next)."""
    merged = dict(as_pairs(baseline(logs)))
    for _, _, extra in adopted_changes(logs):
        merged.update(as_pairs(extra))
    return without(without(as_flags(merged.items()), "--learning_rate"), "--batch_size")


def combined_grid(logs):
    base = combined_flags(logs)
    # 1e-2 because 3e-3, the largest rate of the earlier grids, was best in them; batch 64, never best, gives way.
    return [
        (f"combined, lr {lr}, batch {bs}", base + ["--learning_rate", lr, "--batch_size", bs])
        for lr in COMBINED_RATES
        for bs in COMBINED_BATCHES
    ]


def final_rows(logs):
    changes = ", ".join(label for _, label, _ in adopted_changes(logs)) or "no change"
    return [(f"selected LSTM ({changes})", best_row(logs, combined_grid(logs))[1])]


def test_rows(logs):
    """The selected model, the baseline, and the three best single changes of the factor groups."""
    singles = []
    for name in FACTORS:
        group = group_named(name)
        configs = group.configs(logs)[1:]
        scores = [mean_dev_accuracy(logs, flags, group.seeds) for _, flags in configs]
        label, flags = configs[int(np.argmax(scores))]
        singles.append((max(scores), label, flags))
    singles.sort(key=lambda row: -row[0])
    return (
        final_rows(logs)
        + [("baseline LSTM", baseline(logs))]
        + [(f"LSTM, {label}", flags) for _, label, flags in singles[:3]]
    )


def selected_variants(flag, values):
    """The selected LSTM (first row) against itself with `flag` set to each value: one idea beyond the
    assignment's list, measured on the model it would change."""

    def configs(logs):
        ((label, flags),) = final_rows(logs)
        changed = [(f"{flag[2:]} {value}", flags + [flag, value]) for value in values]
        return [(f"selected LSTM: {label}", flags)] + changed

    return configs


def ideas_grid(logs):
    """The selected LSTM with the pooling and the truncation that did best on dev (three seeds), and each idea."""
    reference = final_rows(logs)[0][1]
    pooling = best_row(logs, selected_variants("--pooling", ("max", "mean"))(logs), SEEDS)[1]
    truncation = best_row(logs, selected_variants("--truncation", ("tail", "head_tail"))(logs), SEEDS)[1]
    base = pooling + truncation[len(reference) :]
    extra = " ".join(base[len(reference) :]).replace("--", "") or "as it was"
    return [(f"selected LSTM, {extra}", base)] + [(label, replaced(base, extra)) for label, extra in IDEAS]


def ideas_final_rows(logs):
    """The best of the ideas (three seeds) against the selected LSTM and the linear baseline, on dev."""
    label, flags = best_row(logs, ideas_grid(logs))
    linear = tfidf_rows(logs)
    return [(f"new LSTM: {label}", flags), ("selected LSTM", final_rows(logs)[0][1])] + linear


def new_lstm(logs):
    """The best of the LSTM ideas, as lstm_ideas_final compared it."""
    return ideas_final_rows(logs)[0][1]


NEW_RATES, NEW_BATCHES = ("1e-3", "3e-3"), ("16", "32", "64")


def new_lr_batch_grid(logs):
    flags = new_lstm(logs)
    return [
        (f"learning rate {rate}, batch {batch}", replaced(flags, ["--learning_rate", rate, "--batch_size", batch]))
        for rate in NEW_RATES
        for batch in NEW_BATCHES
    ]


def new_final_rows(logs):
    """The new LSTM at its re-tuned learning rate and batch size against it before, and the linear baseline."""
    label, tuned = best_row(logs, new_lr_batch_grid(logs))
    ((linear_label, linear_flags),) = tfidf_rows(logs)
    return [
        (f"new LSTM, {label}", tuned),
        ("new LSTM", new_lstm(logs)),
        (linear_label, linear_flags),
    ]


def new_test_rows(logs):
    """Test set: the new LSTM (re-tuned or not, whichever did better on dev over three seeds), the selected
    LSTM and the linear baseline."""
    tuned, before, linear = new_final_rows(logs)
    return [best_row(logs, [tuned, before], SEEDS), ("selected LSTM", final_rows(logs)[0][1]), linear]


TINY = ["--lstm_units", "4", "--epochs", "1", "--max_seq_len", "10"]  # the smoke group's LSTM: seconds a run

GROUPS = [
    Group(
        "smoke",
        "A seconds-long check of the runner (tests and CI)",
        lambda logs: [("tiny", TINY), ("tiny, sgd", TINY + ["--optimizer", "sgd", "--learning_rate", "0.1"])],
        seeds=(1, 2),
    ),
    Group(
        "lr_batch",
        "Learning rate and batch size of the one-layer LSTM (coarse grid, one seed)",
        lr_batch_grid,
        seeds=(1,),
        compare=None,
    ),
    Group(
        "baseline",
        "The chosen baseline over three seeds",
        lambda logs: [("baseline LSTM", baseline(logs))],
        compare=None,
    ),
    Group(
        "embeddings",
        "Pretrained embeddings: none (random), GloVe frozen, GloVe trainable; "
        "with and without a dense layer after the embedding",
        variants(
            "GloVe frozen (baseline)",
            [
                ("GloVe frozen + dense 100", ["--dense_after_embedding", "100"]),
                ("GloVe trainable", ["--trainable_embeddings"]),
                ("GloVe trainable + dense 100", ["--trainable_embeddings", "--dense_after_embedding", "100"]),
                ("random, trainable", ["--embeddings", "none", "--embedding_dim", "50"]),
                (
                    "random, trainable + dense 100",
                    ["--embeddings", "none", "--embedding_dim", "50", "--dense_after_embedding", "100"],
                ),
            ],
        ),
    ),
    Group(
        "bidirectional",
        "Bidirectional versus unidirectional",
        variants("unidirectional (baseline)", [("bidirectional", ["--bidirectional"])]),
    ),
    Group(
        "max_seq_len",
        "Tokens kept per review",
        variants("50 tokens (baseline)", [(f"{n} tokens", ["--max_seq_len", str(n)]) for n in (100, 200, 400)]),
    ),
    Group(
        "bidirectional_long",
        "Bidirectional versus unidirectional when reading 200 tokens",
        variants(
            "200 tokens, unidirectional",
            [("200 tokens, bidirectional", ["--bidirectional"])],
            common=["--max_seq_len", "200"],
        ),
    ),
    Group(
        "dropout",
        "Dropout on the LSTM inputs versus recurrent dropout on its state",
        variants(
            "no dropout (baseline)",
            [
                ("dropout 0.2", ["--dropout", "0.2"]),
                ("dropout 0.5", ["--dropout", "0.5"]),
                ("recurrent dropout 0.2", ["--recurrent_dropout", "0.2"]),
                ("recurrent dropout 0.5", ["--recurrent_dropout", "0.5"]),
            ],
        ),
    ),
    Group(
        "layers",
        "Stacked LSTM layers",
        variants("1 layer (baseline)", [(f"{n} layers", ["--lstm_layers", str(n)]) for n in (2, 3)]),
    ),
    Group(
        "padding",
        "Padding at the end with a mask versus padding at the start without one",
        variants("end-padded, masked (baseline)", [("start-padded, no mask", ["--padding", "pre"])]),
    ),
    Group(
        "optimizer_lr",
        "Each optimizer's learning rate (coarse grid, one seed)",
        optimizer_grid,
        seeds=(1,),
        compare=None,
    ),
    Group("optimizers", "Optimizers, each at its own best learning rate", optimizer_best),
    Group(
        "dropout_speed",
        "Seconds per epoch without dropout, with dropout and with recurrent dropout (4 epochs, no early stopping)",
        variants(
            "no dropout",
            [("dropout 0.2", ["--dropout", "0.2"]), ("recurrent dropout 0.2", ["--recurrent_dropout", "0.2"])],
            common=["--epochs", "4", "--patience", "0"],
        ),
        seeds=(1,),
        compare=None,
        alone=True,
    ),
    Group(
        "combined_lr_batch",
        "The adopted improvements combined: learning rate and batch size re-tuned (one seed)",
        combined_grid,
        seeds=(1,),
        compare=None,
    ),
    Group(
        "final", "The selected LSTM over three seeds", final_rows, compare=None, predictions=True, extras=("errors",)
    ),
    Group("test", "Test set: the selected LSTM against models that were worse on dev", test_rows, test=True),
    Group(
        "pooling",
        "The selected LSTM reading its last state, or the maximum or mean of its outputs over all steps",
        selected_variants("--pooling", ("max", "mean")),
    ),
    Group(
        "truncation",
        "The selected LSTM keeping the start of a long review, its end, or both",
        selected_variants("--truncation", ("tail", "head_tail")),
    ),
    Group(
        "lstm_ideas",
        "Capacity, length and regularisation of the selected LSTM with its better pooling and truncation (one seed)",
        ideas_grid,
        seeds=(1,),
        compare=None,
    ),
    Group(
        "lstm_ideas_final",
        "The best of the LSTM ideas against the selected LSTM and the linear baseline (dev)",
        ideas_final_rows,
        compare="pairs",
    ),
    Group(
        "lstm_new_lr_batch",
        "The new LSTM (the best of the ideas): learning rate and batch size re-tuned (one seed)",
        new_lr_batch_grid,
        seeds=(1,),
        compare=None,
    ),
    Group(
        "lstm_new_final",
        "The re-tuned new LSTM against it before re-tuning and the linear baseline (dev)",
        new_final_rows,
    ),
    Group(
        "lstm_new_test",
        "Test set: the new LSTM against the selected LSTM and the linear baseline",
        new_test_rows,
        test=True,
    ),
]


# ---------------------------------------------------------------------------
# The language-model study
# ---------------------------------------------------------------------------

MODELS_DIR = "models"  # the pretrained checkpoints, one folder each (--models_dir)
MINILM, MPNET = "all-MiniLM-L6-v2", "all-mpnet-base-v2"
# The tool's defaults for --model lm, which are the assignment's recipe: what each step leaves alone.
LM_DEFAULTS = {"--max_length": "100", "--learning_rate": "5e-5", "--batch_size": "32", "--epochs": "1"}
LM_SCHEDULES = [
    ("constant", ["--lr_scheduler_type", "constant"]),
    ("linear + 10% warm-up", ["--warmup_ratio", "0.1"]),
    ("polynomial, power 2", ["--lr_scheduler_type", "polynomial", "--lr_power", "2"]),
    ("cosine + 10% warm-up", ["--lr_scheduler_type", "cosine", "--warmup_ratio", "0.1"]),
]
# Head only: a head on a fixed encoder learns slowly at a fine-tuning rate, so 1e-3 and two epochs
# (an MPNet epoch costs about half an hour of one core even without its backward pass).
FROZEN = ["--freeze_encoder", "--learning_rate", "1e-3", "--epochs", "2"]
TFIDF_C = {"svm": ("0.1", "1", "10"), "logreg": ("1", "10", "100")}


def lm(name=MINILM):
    """Flags of a transformer run with the tool's defaults: the assignment's recipe."""
    return ["--model", "lm", "--lm_name", os.path.join(MODELS_DIR, name)]


def lm_recipe(logs):
    return [("MiniLM recipe", lm())]


def best_or_default(logs, candidates):
    """The best of one step's rows (one seed); on a tie the row that changes fewest defaults."""
    if len(candidates) == 1:
        return candidates[0][1]
    scores = [mean_dev_accuracy(logs, flags, (1,)) for _, flags in candidates]
    return min((flags for score, (_, flags) in zip(scores, candidates, strict=True) if score == max(scores)), key=len)


def lm_step(previous, flag, values, label):
    """One step of the greedy LM tuning: the best row of the previous step (one seed), with `flag` set
    to each value; the value of the tool's default is the previous row itself (no flag, no rerun)."""

    def configs(logs):
        base = without(best_or_default(logs, previous(logs)), flag)
        return [
            (label.format(value), base + ([] if value == LM_DEFAULTS[flag] else [flag, value])) for value in values
        ]

    return configs


lm_length_grid = lm_step(lm_recipe, "--max_length", ("64", "100", "128", "256", "512"), "{} tokens")
lm_rate_grid = lm_step(lm_length_grid, "--learning_rate", ("2e-5", "5e-5", "1e-4", "2e-4"), "lr {}")
lm_batch_grid = lm_step(lm_rate_grid, "--batch_size", ("8", "16", "32"), "batch {}")
lm_epoch_grid = lm_step(lm_batch_grid, "--epochs", ("1", "2", "3"), "epochs: {}")


def lm_schedule_grid(logs):
    base = best_or_default(logs, lm_epoch_grid(logs))
    return [("linear decay, no warm-up (default)", base)] + [(label, base + extra) for label, extra in LM_SCHEDULES]


def lm_final_rows(logs):
    """The tuned MiniLM first (the per-class tables and figures describe the first row), then the recipe."""
    return [("MiniLM tuned", best_or_default(logs, lm_schedule_grid(logs)))] + lm_recipe(logs)


def lm_model_rows(logs):
    """Two pretrained encoders, each fine-tuned and frozen, with the same recipe."""
    return [
        (f"{name} {how}", lm(model) + extra)
        for name, model in (("MiniLM", MINILM), ("MPNet", MPNET))
        for how, extra in (("recipe", []), ("frozen", FROZEN))
    ]


def tfidf_grid(logs):
    return [
        (
            f"{model}, C {c}, {'uni' if n == '1' else 'uni+bi'}grams",
            ["--model", "tfidf", "--linear_model", model, "--C", c, "--ngram_max", n],
        )
        for n in ("1", "2")
        for model, rates in TFIDF_C.items()
        for c in rates
    ]


def tfidf_rows(logs):
    """The best linear model on dev."""
    label, flags = best_row(logs, tfidf_grid(logs))
    return [(f"tf-idf {label.replace('svm', 'SVM', 1)}", flags)]


def chosen_on_dev(logs, candidates):
    """The study's one selection rule: of candidates (label, flags), the one with the highest mean dev accuracy
    over seeds 1-3 (a seed ensemble has one), the first of equals. Dev accuracy is read from a run that also
    evaluated test where no run without test was logged (a model chosen and tested later)."""

    def dev_accuracy(flags):
        try:
            return mean_dev_accuracy(logs, flags, SEEDS)
        except Pending:
            return mean_dev_accuracy(logs, flags, SEEDS, test=True)

    scores = [dev_accuracy(flags) for _, flags in candidates]
    return candidates[scores.index(max(scores))]


def tested_later(flags):
    """The test runs' flags of a configuration whose models were saved and evaluated on test afterwards."""
    return ["--load_model", saved_folder(flags, "{seed}")]


def lm_candidates(logs):
    """The fine-tuned language models run with three seeds: (name, flags of the runs chosen on, flags of the
    test runs). MiniLM's and MPNet's recipe and the tuned MiniLM evaluated test as they trained."""
    tuned_minilm, transfer, own = lm_final_rows(logs)[0][1], tuned_mpnet(logs), mpnet_own(logs)
    return [
        ("MiniLM recipe", lm(), lm()),
        ("MiniLM tuned", tuned_minilm, tuned_minilm),
        ("MPNet recipe", lm(MPNET), lm(MPNET)),
        ("MPNet transfer", transfer, tested_later(transfer)),
        (own_label(own), own, tested_later(own)),
    ]


def lstm_candidates(logs):
    """The LSTMs evaluated on test: the new LSTM, the selected LSTM and the models it was tested against."""
    return [new_test_rows(logs)[0]] + test_rows(logs)


def system_rows(logs):
    """Each family's representative by the one selection rule (chosen_on_dev; second-round models included): the
    language model, the LSTM and the linear model."""
    lms = lm_candidates(logs)
    chosen, _ = chosen_on_dev(logs, [(name, flags) for name, flags, _ in lms])
    test_flags = next(test_flags for name, _, test_flags in lms if name == chosen)
    return [(chosen, test_flags), chosen_on_dev(logs, lstm_candidates(logs)), tfidf_rows(logs)[0]]


GROUPS += [
    Group(
        "lm_max_length",
        "MiniLM, step 1: subword tokens kept per review (assignment recipe otherwise; one seed)",
        lm_length_grid,
        seeds=(1,),
        compare=None,
    ),
    Group(
        "lm_lr", "MiniLM, step 2: learning rate at the best length (one seed)", lm_rate_grid, seeds=(1,), compare=None
    ),
    Group("lm_batch", "MiniLM, step 3: batch size (one seed)", lm_batch_grid, seeds=(1,), compare=None),
    Group(
        "lm_epochs",
        "MiniLM, step 4: epochs, the weights of the epoch with the lowest dev loss kept (one seed)",
        lm_epoch_grid,
        seeds=(1,),
        compare=None,
    ),
    Group(
        "lm_schedule", "MiniLM, step 5: learning-rate schedule (one seed)", lm_schedule_grid, seeds=(1,), compare=None
    ),
    # The final configurations, fixed before these runs: each run evaluates dev and test at once
    # (a CPU cannot afford to train them twice). The recipe's runs are also lm_models' first row.
    Group(
        "lm_final",
        "The tuned MiniLM against the assignment recipe",
        lm_final_rows,
        test=True,
        predictions=True,
        extras=("errors",),
    ),
    # lm_final's tuned runs trained on a GPU in bf16, its recipe runs on a CPU in fp32: the recipe again,
    # on the GPU in bf16, separates the configurations' difference from the hardware's.
    Group(
        "lm_precision",
        "The tuned MiniLM against the recipe, both trained on the GPU in bf16",
        lambda logs: lm_final_rows(logs)[:1] + [("MiniLM recipe, bf16 on the GPU", lm() + ["--precision", "bf16"])],
        test=True,
    ),
    Group(
        "lm_cpu_bf16",
        "MiniLM with the recipe on a CPU, fp32 against bf16 autocast: does bf16 cost accuracy?",
        lambda logs: [("fp32", lm() + ["--precision", "fp32"]), ("bf16 autocast", lm() + ["--precision", "bf16"])],
    ),
    Group(
        "lm_truncation",
        "MiniLM with the recipe on a CPU in bf16, keeping the head, or the head and the tail, of a long review",
        lambda logs: [
            ("head (the recipe)", lm() + ["--precision", "bf16"]),
            ("head and tail", lm() + ["--precision", "bf16", "--truncation", "head_tail"]),
        ],
    ),
    # The larger encoder with the recipe against the smaller one tuned: is the cheaper model worth it?
    Group(
        "lm_tradeoff",
        "MPNet with the recipe against the tuned MiniLM (no new runs)",
        lambda logs: [("MPNet recipe", lm(MPNET))] + lm_final_rows(logs)[:1],
        test=True,
    ),
    Group(
        "tfidf",
        "Linear baseline: tf-idf word n-grams and a linear classifier (one seed; the solvers are "
        "deterministic up to the order of coordinate steps)",
        tfidf_grid,
        seeds=(1,),
        compare=None,
    ),
    Group("tfidf_test", "Test set: the best linear model on dev", tfidf_rows, test=True, compare=None),
    Group(
        "lm_models",
        "MiniLM and MPNet, fine-tuned and frozen, with the assignment recipe "
        "(dev and test; no choice is made on these runs)",
        lm_model_rows,
        test=True,
        compare="pairs",
    ),
    Group(
        "systems",
        "Test set: the best model of each family (chosen on dev)",
        system_rows,
        test=True,
        compare="pairs",
        extras=("errors",),
    ),
]


# ---------------------------------------------------------------------------
# Ensembles: saved models of the families, their probabilities averaged (--load_model A --load_model B ...)
# ---------------------------------------------------------------------------


MEMBERS = (
    "new LSTM",
    "tf-idf",
    "MPNet recipe",
    "MPNet transfer",
)  # the ensembles' names for member_rows, in its order


def member_rows(logs):
    """The members, one saved model per seed: the new LSTM, the linear baseline, MPNet with the recipe and
    MPNet with the tuned MiniLM's settings (saved by mpnet_long)."""
    return [
        new_test_rows(logs)[0],
        tfidf_rows(logs)[0],
        ("MPNet recipe", lm(MPNET)),
        ("MPNet transfer", tuned_mpnet(logs)),
    ]


def ensemble(*members, seeds=("{seed}",), weights=None):
    """A row that averages saved members (names of MEMBERS): per seed, that seed's members, or every one of
    `seeds` for each; weights "fit" fits them on dev."""

    def row(logs):
        folders = [saved_folder(member_rows(logs)[MEMBERS.index(name)][1], seed) for name in members for seed in seeds]
        label = " + ".join(members) + (f", seeds {'+'.join(seeds)}" if len(seeds) > 1 else "")
        flags = [item for folder in folders for item in ("--load_model", folder)]
        if weights:
            return label + ", weighted", flags + ["--ensemble_weights", weights]
        return label, flags

    return row


ENSEMBLES = [
    ensemble("MPNet recipe"),
    ensemble("MPNet recipe", "tf-idf"),
    ensemble("MPNet recipe", "new LSTM"),
    ensemble("MPNet recipe", "new LSTM", "tf-idf"),
    ensemble("new LSTM", "tf-idf"),
]


def ensemble_rows(logs):
    """MPNet alone (its saved models, loaded) first, then each ensemble."""
    rows = [row(logs) for row in ENSEMBLES]
    return [("MPNet recipe alone (bf16 models)", rows[0][1])] + rows[1:]


def ensemble_test_rows(logs):
    """Test set: the best ensemble on dev (three seeds) against MPNet alone and the ensemble of the LSTM and tf-idf."""
    alone, *ensembles = ensemble_rows(logs)
    chosen = best_row(logs, ensembles, SEEDS)
    return [chosen, alone] + [row for row in ensembles[-1:] if row != chosen]


GROUPS += [
    Group("ensemble_members", "The ensembles' members, each saved (dev)", member_rows, compare=None, save=True),
    Group("ensembles", "Ensembles: the mean of saved models' probabilities, against MPNet alone (dev)", ensemble_rows),
    Group(
        "ensembles_test",
        "Test set: the best ensemble on dev against MPNet alone and the LSTM with tf-idf",
        ensemble_test_rows,
        test=True,
    ),
    Group(
        "ensemble_pair_test",
        "Test set: the LSTM with tf-idf against each of them alone (no new runs)",
        lambda logs: [ensemble("new LSTM", "tf-idf")(logs)] + member_rows(logs)[:2],
        test=True,
    ),
]


# ---------------------------------------------------------------------------
# MPNet beyond the recipe: what the MiniLM study found, carried over to the larger model
# ---------------------------------------------------------------------------


def tuned_mpnet(logs):
    """MPNet at the tuned MiniLM's length, rate, batch size, epochs and schedule; long reviews keep head and tail."""
    return replaced(lm_final_rows(logs)[0][1], lm(MPNET)[2:] + ["--truncation", "head_tail"])


def chosen_mpnet(logs):
    """The name (in MEMBERS) of the MPNet that did better on dev over three seeds."""
    recipe, tuned = member_rows(logs)[2:]
    return "MPNet recipe" if best_row(logs, [recipe, tuned], SEEDS) == recipe else "MPNet transfer"


def seed_ensemble_rows(logs):
    """Each configuration's saved models one seed at a time, and its three seeds averaged."""
    return [
        row(logs)
        for name in ("MPNet recipe", "MPNet transfer", "new LSTM")
        for row in (ensemble(name), ensemble(name, seeds=("1", "2", "3")))
    ]


def mpnet_long_test_rows(logs):
    """The MPNet chosen on dev, then MPNet with the recipe unless that is the one chosen."""
    chosen = chosen_mpnet(logs)
    rows = [ensemble(chosen)(logs), ensemble("MPNet recipe")(logs)]
    return rows[:1] if chosen == "MPNet recipe" else rows


def weighted_rows(logs):
    """The chosen MPNet alone, and with the new LSTM (and tf-idf), weights fitted on dev."""
    mpnet = chosen_mpnet(logs)
    return [
        ensemble(mpnet)(logs),
        ensemble(mpnet, "new LSTM", weights="fit")(logs),
        ensemble(mpnet, "new LSTM", "tf-idf", weights="fit")(logs),
    ]


GROUPS += [
    Group(
        "mpnet_long",
        "MPNet with the recipe against MPNet with the tuned MiniLM's settings at 256 tokens, head "
        "and tail; both trained on the CPU in bf16 (dev)",
        lambda logs: member_rows(logs)[2:],
        save=True,
    ),
    Group(
        "mpnet_long_test",
        "Test set: the MPNet chosen on dev, against MPNet with the recipe (saved models)",
        mpnet_long_test_rows,
        test=True,
    ),
    Group(
        "seed_ensembles",
        "Seed ensembles: each configuration's three seeds averaged, against its single models",
        seed_ensemble_rows,
        test=True,
        compare="couples",
    ),
    Group(
        "weighted_ensembles",
        "The chosen MPNet with the new LSTM and tf-idf, weights fitted on dev (so their dev "
        "accuracy is not a fair estimate), against the MPNet alone",
        weighted_rows,
        test=True,
    ),
]


# ---------------------------------------------------------------------------
# MPNet with its own settings: BERT-base's usual fine-tuning ranges, not MiniLM's
# ---------------------------------------------------------------------------

# 256 tokens, head and tail, batch 16, three epochs with dev accuracy after each; no early stopping, so the
# model of a run is its third epoch's (an epoch inside a three-epoch schedule is not a shorter run).
MPNET_OWN = ["--max_length", "256", "--truncation", "head_tail", "--batch_size", "16"]
MPNET_OWN += ["--epochs", "3", "--patience", "0"]
MPNET_RATES = ("2e-5", "5e-5")


def mpnet_grid_rows(logs):
    return [(f"MPNet own grid, lr {rate}", lm(MPNET) + MPNET_OWN + ["--learning_rate", rate]) for rate in MPNET_RATES]


def mpnet_own(logs):
    """The grid's learning rate and number of epochs with the highest dev accuracy after an epoch (seed 1);
    of equals, the fewest epochs, then the lower rate."""
    points = []
    for label, flags in mpnet_grid_rows(logs):
        record = logs.find(flags, 1)
        if record is None:
            raise Pending(f"{label}: not logged yet (group mpnet_grid)")
        for epoch, accuracy in enumerate(record["train"]["history"]["val_accuracy"], start=1):
            points.append((-accuracy, epoch, replaced(flags, ["--epochs", str(epoch)])))
    best = min(points, key=lambda point: point[:2])
    return best[2]


def own_label(flags):
    """MPNet own's name with the rate and number of epochs the grid chose."""
    settings = dict(as_pairs(flags))
    epochs = settings["--epochs"]
    return f"MPNet own (lr {settings['--learning_rate']}, {epochs} epoch{'' if epochs == '1' else 's'})"


def own_mpnet(logs, seed):
    """The --load_model flags of one seed's MPNet with its own settings ("{seed}": each seed's)."""
    return ["--load_model", saved_folder(mpnet_own(logs), seed)]


def mpnet_own_test_rows(logs):
    lstm, tfidf = (saved_folder(flags, "{seed}") for _, flags in member_rows(logs)[:2])
    weighted = own_mpnet(logs, "{seed}") + ["--load_model", lstm, "--load_model", tfidf, "--ensemble_weights", "fit"]
    return [
        (own_label(mpnet_own(logs)), own_mpnet(logs, "{seed}")),
        ("MPNet recipe (for reference)", ensemble("MPNet recipe")(logs)[1]),
        ("MPNet transfer (for reference)", ensemble("MPNet transfer")(logs)[1]),
        ("MPNet own, seeds 1+2+3", [flag for seed in "123" for flag in own_mpnet(logs, seed)]),
        ("MPNet own + new LSTM + tf-idf, weighted", weighted),
    ]


def ensemble_candidates(logs):
    """Every ensemble whose dev accuracy is a fair estimate: the families' saved models averaged with equal weights
    (per seed), and each configuration's three seeds averaged. Weights fitted on dev are not candidates."""
    own_seeds = mpnet_own_test_rows(logs)[3]
    return ensemble_rows(logs)[1:] + seed_ensemble_rows(logs)[1::2] + [own_seeds]


def ensemble_choice_rows(logs):
    """The ensemble chosen on dev by the one rule, against the language model chosen on dev alone."""
    return [chosen_on_dev(logs, ensemble_candidates(logs)), system_rows(logs)[0]]


GROUPS += [
    Group(
        "mpnet_grid",
        "MPNet with its own settings: learning rate 2e-5 and 5e-5, batch 16, 256 tokens, head and "
        "tail, three epochs with dev accuracy after each (seed 1, saved)",
        mpnet_grid_rows,
        seeds=(1,),
        save=True,
        checkpoints=True,
        compare=None,
    ),
    Group(
        "mpnet_own",
        "MPNet with its own settings chosen on dev (learning rate and epochs), three seeds, saved",
        lambda logs: [(own_label(mpnet_own(logs)), mpnet_own(logs))],
        save=True,
        checkpoints=True,
        compare=None,
    ),
    Group(
        "own_members",
        "The new LSTM and tf-idf saved again (their runs are logged), for MPNet's own ensembles",
        lambda logs: member_rows(logs)[:2],
        save=True,
        compare=None,
    ),
    Group(
        "mpnet_own_test",
        "Test set: MPNet with its own settings (saved models), its seed ensemble and its ensemble with the new LSTM "
        "and tf-idf (weights fitted on dev), against MPNet with the recipe and with the MiniLM-transfer settings",
        lambda logs: mpnet_own_test_rows(logs),
        test=True,
    ),
]
GROUPS += [
    Group(
        "ensemble_choice",
        "Test set: the ensemble chosen on dev (equal weights or a seed ensemble), against the language model "
        "chosen on dev alone",
        ensemble_choice_rows,
        test=True,
    ),
]
GROUP_NAMES = [group.name for group in GROUPS]
# The paper's questions: each a family of comparisons Holm-corrected together (dev and test apart; tables.py).
QUESTIONS = {
    "Q1 LSTM: the assignment's changes": (
        "embeddings bidirectional max_seq_len bidirectional_long dropout layers padding optimizers test"
    ),
    "Q2 LSTM: our ideas": "pooling truncation lstm_ideas_final lstm_new_final lstm_new_test",
    "Q3 language models: tuning": (
        "lm_final lm_precision lm_cpu_bf16 lm_truncation mpnet_long mpnet_long_test mpnet_own_test"
    ),
    "Q4 language models: which model": "lm_models lm_tradeoff",
    "Q5 the families compared": "systems",
    "Q6 ensembles": "ensembles ensembles_test ensemble_pair_test seed_ensembles weighted_ensembles ensemble_choice",
}
QUESTION_OF = {name: question for question, names in QUESTIONS.items() for name in names.split()}
# A group first logged from this day on is of the second round, begun after the first test results: exploratory.
SECOND_ROUND = "2026-11-29"


def group_named(name):
    return GROUPS[GROUP_NAMES.index(name)]


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------


def data_hashes(data_dir):
    """sha256 of each data file found in data_dir, by the flag's name without dashes (train_file, ...)."""
    return {
        flag[2:]: lfd.sha256_file(os.path.join(data_dir, name))
        for flag, name in list(DATA_FILES.items()) + [("--test_file", TEST_FILE)]
        if os.path.exists(os.path.join(data_dir, name))
    }


def command(group, flags, seed, data_dir, results_dir):
    argv = []
    for flag, name in DATA_FILES.items():
        if flag in flags:
            continue  # the row names its own file
        vectors_unread = flag == "--embeddings" and reads_no_vectors(flags)
        train_unread = flag == "--train_file" and "--load_model" in flags  # a saved model is not trained
        if not (vectors_unread or train_unread):
            argv += [flag, os.path.join(data_dir, name)]
    argv += ["--test_file", os.path.join(data_dir, TEST_FILE)] * group.test
    argv += ["--predictions_file", os.path.join(PREDICTIONS, f"{group.name}-seed{seed}.tsv")] * group.predictions
    argv += ["--save_model", saved_folder(flags, seed)] * group.save
    checkpoints = os.path.join(CHECKPOINTS, os.path.basename(saved_folder(flags, seed)))
    argv += ["--checkpoint_dir", checkpoints] * group.checkpoints
    results = ["--results_file", os.path.join(results_dir, group.name + ".jsonl")]
    return ["lfd_assignment3.py", *argv, *ALWAYS, *results, *flags, "--seed", str(seed)]


def run_group(group, data_dir, results_dir, hashes, shard=(1, 1)):
    """Run the group's missing runs (those of this shard: every n-th, from the i-th); returns how many ran."""
    ran, (index, count), logs = 0, shard, Logs(results_dir, hashes)
    runs = [(label, flags, seed) for label, flags in group.configs(logs) for seed in row_seeds(flags, group.seeds)]

    def logged(run):
        _, flags, seed = run
        return logs.find(seeded(flags, seed), seed, group.test) is not None

    runs = sorted(runs[index - 1 :: count], key=logged)  # unlogged runs first, then those rerun to save their models
    folders = [results_dir] + [SAVED_MODELS] * group.save + [PREDICTIONS] * group.predictions
    for folder in folders + [CHECKPOINTS] * group.checkpoints:
        os.makedirs(folder, exist_ok=True)  # the tool creates no folders
    for label, flags, seed in runs:
        flags = seeded(flags, seed)
        done = Logs(results_dir, hashes).find(flags, seed, group.test) is not None
        if done and (not group.save or is_saved(saved_folder(flags, seed))):
            continue  # logged, and saved where the group saves its models
        if not all(is_saved(folder) for flag, folder in as_pairs(flags) if flag == "--load_model"):
            raise Pending(
                f"{label}: its members are not all saved in {SAVED_MODELS} (group ensemble_members saves them)"
            )
        argv = command(group, flags, seed, data_dir, results_dir)
        print(f"[{group.name}] {label}, seed {seed}: {' '.join(flags)}", flush=True)
        start = time.time()
        done = subprocess.run([sys.executable] + argv, stdout=subprocess.DEVNULL)
        if done.returncode != 0:
            raise SystemExit(f"experiments.py: run failed with exit status {done.returncode}: {' '.join(argv)}")
        record = Logs(results_dir, hashes).find(flags, seed, group.test)
        if record is None:
            raise SystemExit(f"experiments.py: the run left no record in {results_dir}: {' '.join(argv)}")
        print(
            f"    dev accuracy {record['results']['dev']['accuracy']:.4f}, "
            f"{record['train'].get('epochs_run', '-')} epochs, {time.time() - start:.0f} s",
            flush=True,
        )
        ran += 1
    return ran


def list_groups(groups, results_dir, hashes):
    logs = Logs(results_dir, hashes)
    for group in groups:
        try:
            configs = group.configs(logs)
        except Pending as waiting:
            print(f"{group.name}: waiting ({waiting})")
            continue
        runs = [(flags, seed) for _, flags in configs for seed in row_seeds(flags, group.seeds)]
        done = sum(logs.find(flags, seed, group.test) is not None for flags, seed in runs)
        print(f"{group.name}: {done} of {len(runs)} runs logged - {group.title}")
        for label, flags in configs:
            print(f"    {label}: {' '.join(flags) or '(defaults)'}")


def shard_of(text):
    """'I/N' with 1 <= I <= N, for --shard."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not I/N, e.g. 1/2") from None
    if not 1 <= index <= count:
        raise argparse.ArgumentTypeError(f"{text!r}: I must be between 1 and N")
    return index, count


def main(argv=None):
    global MODELS_DIR, CHECKPOINTS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "groups", nargs="*", metavar="GROUP", help=f"groups to run, in order: {', '.join(GROUP_NAMES)}"
    )
    parser.add_argument(
        "--data_dir", default=".", help="folder with the data and embeddings (default: the repository's own)"
    )
    parser.add_argument("--results_dir", default=RESULTS, help="folder of the group logs (relative to the repository)")
    parser.add_argument(
        "--models_dir",
        default="models",
        help="folder with the pretrained checkpoints (all-MiniLM-L6-v2, all-mpnet-base-v2); "
        "a run's identity is the checkpoint's folder name, not where it lies",
    )
    parser.add_argument(
        "--checkpoints_dir",
        default=CHECKPOINTS,
        help="where the groups with checkpoints keep each run's (--checkpoint_dir), outside the clone: a run "
        "killed with its session resumes there",
    )
    parser.add_argument("--list", action="store_true", help="list groups and progress, run nothing")
    parser.add_argument(
        "--shard",
        type=shard_of,
        default=(1, 1),
        metavar="I/N",
        help="run only every N-th run of each group, from the I-th, so that N runners "
        "(one per core) share the groups; a group after them waits for their results",
    )
    args = parser.parse_args(argv)
    MODELS_DIR, CHECKPOINTS = args.models_dir, args.checkpoints_dir
    os.chdir(ROOT)
    unknown = [name for name in args.groups if name not in GROUP_NAMES]
    if unknown:
        parser.error(f"unknown group {unknown[0]!r}; groups: {', '.join(GROUP_NAMES)}")
    groups = [group_named(name) for name in args.groups] or [g for g in GROUPS if g.name != "smoke"]
    hashes = data_hashes(args.data_dir)
    if not {"train_file", "dev_file"} <= set(hashes):
        parser.error(f"--data_dir {args.data_dir}: train.txt and dev.txt are needed")
    if args.list:
        return list_groups(groups, args.results_dir, hashes)
    for group in groups:
        said = None
        while True:
            try:
                run_group(group, args.data_dir, args.results_dir, hashes, args.shard)
                break
            except Pending as waiting:
                if str(waiting) != said:
                    print(f"[{group.name}] waiting: {waiting}", flush=True)
                    said = str(waiting)
                if args.shard[1] == 1:
                    break
            time.sleep(POLL_SECONDS)  # sharded: the runs this group needs are in another runner's hands


if __name__ == "__main__":
    main()
