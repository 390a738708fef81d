#!/usr/bin/env python
"""Train, evaluate and reuse text classifiers for the 6-class product-review data.

Three model families share the data reading, evaluation, run records and save/load: an LSTM (Keras 3) over pretrained
word embeddings (GloVe, the default), a pretrained transformer fine-tuned with the Hugging Face Trainer (--model lm),
and a linear classifier over tf-idf n-grams (--model tfidf, the baseline). Every run prints accuracy, macro F1,
per-class precision/recall/F1 and a confusion matrix, and can log one JSON record per run.

  # train on train.txt, early-stop on dev.txt (the assignment's own command)
  python lfd_assignment3.py --train_file train.txt --dev_file dev.txt --embeddings glove_reviews.json
  # fine-tune a pretrained transformer (a hub id, or a local folder offline)
  python lfd_assignment3.py --model lm --lm_name bert-base-uncased --train_file train.txt --dev_file dev.txt
  # the linear baseline: tf-idf n-grams and a linear SVM, seconds to fit
  python lfd_assignment3.py --model tfidf
  # a quick smoke run: 200 reviews, one epoch
  python lfd_assignment3.py --max_train_samples 200 --epochs 1 --embeddings glove_reviews.json
  # a stronger LSTM, saved, with a results log and a predictions file
  python lfd_assignment3.py --embeddings glove_reviews.json --bidirectional --max_seq_len 200 \\
      --save_model runs/bilstm --results_file results.jsonl --predictions_file preds.tsv
  # predict only: label new texts (one per line) with a saved model of any family, no training
  python lfd_assignment3.py --load_model runs/bilstm --predict_file new_reviews.txt
  # an ensemble: the averaged probabilities of saved models, families mixed
  python lfd_assignment3.py --load_model runs/bilstm --load_model runs/tfidf --dev_file dev.txt

Data lines are `<category> <sentiment> <id> <tokens...>`, lowercased and tokenized. `--help` lists every option.
"""

import argparse
import collections
import contextlib
import csv
import datetime
import difflib
import gzip
import hashlib
import importlib.metadata
import importlib.util
import itertools
import json
import logging
import math
import os
import platform
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
import zlib
from dataclasses import dataclass, field
from typing import Protocol

try:  # --help works without the requirements; anything else says what to install (main)
    import numpy as np
except ModuleNotFoundError:
    np = None

try:  # Unix only; without it parallel runs may interleave their records, and no peak-memory figure
    import fcntl
    import resource
except ImportError:
    fcntl = resource = None

# ---- Constants ------------------------------------------------------------------------------------------------------

PROG = "lfd_assignment3.py"
PAD_INDEX, OOV_INDEX = 0, 1
PAD_TOKEN, OOV_TOKEN = "[PAD]", "[UNK]"
TASK_COLUMN = {"category": 0, "sentiment": 1}
# The corpus' tokenization, for raw text given to --predict_file: "don't stop!" -> do n't stop !
CONTRACTION = re.compile(r"(\w)(n't|'s|'m|'re|'ve|'ll|'d)\b")
PUNCTUATION = re.compile(r"""([.,!?;:()"])""")
BACKENDS = ("tensorflow", "jax", "torch")
# --backend auto, fastest first. CPU: seconds per epoch of a 64-unit LSTM (bench/README.md). GPU: TensorFlow
# runs the fused cuDNN kernel even with a padding mask, JAX and torch only without one (--padding pre).
CPU_BACKEND_ORDER, GPU_BACKEND_ORDER = ("jax", "tensorflow", "torch"), ("tensorflow", "jax", "torch")
KERAS_OPTIMIZERS = {
    "sgd": "SGD",
    "adam": "Adam",
    "adamw": "AdamW",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
    "nadam": "Nadam",
    "adamax": "Adamax",
    "adadelta": "Adadelta",
}
MOMENTUM_OPTIMIZERS = ("sgd", "rmsprop")
SCHEDULERS = ("constant", "linear", "polynomial", "cosine")
TRUNCATIONS = ("head", "tail", "head_tail")  # what a long review keeps (--truncation; Sun et al. 2019: 128 + 382)
POOLINGS = ("last", "max", "mean")  # how the LSTM's outputs become one vector per review
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
# CPU features that compute bf16 natively; elsewhere torch emulates bf16, up to 20 times slower than fp32.
NATIVE_BF16_FLAGS, CPUINFO = ("avx512_bf16", "amx_bf16"), "/proc/cpuinfo"
# A saved model is a folder: lfd_config.json (the tool, the format, family, labels, config and every file's
# SHA-256) beside the family's own files. A model saved in another format is refused, never converted.
SAVED_CONFIG, SAVED_FORMAT, MAX_CONFIG_BYTES = "lfd_config.json", 1, 1 << 20
RECORD_FORMAT = 1  # the run record's layout, in every record as "record_format"
# What a run writes goes first to a name of its own beside the output (a file, or a folder for a saved model),
# renamed into place when complete. A killed run leaves it: the next run writing or loading there names it.
TEMPORARY_PREFIX = ".lfd-tmp-"
# The checkpoints of --checkpoint_dir belong to the run described here: another run's are not resumed.
CHECKPOINT_RUN = "lfd_run.json"

log = logging.getLogger(PROG)


class InputError(Exception):
    """Bad input, found before or while reading it: reported in one line, exit status 2."""


class Terminated(BaseException):
    """SIGTERM (what kill, timeout and Slurm send), raised where Ctrl-C raises KeyboardInterrupt."""


def terminated(signum, frame):
    raise Terminated


# ---- Command line: every flag declared once, in the group of the model families that read it ------------------------


def number(kind, low, high, low_included=True):
    """An argparse type: a finite int or float from low to high (low itself excluded where low_included is False)."""
    show = str if kind is int else "{:g}".format
    interval = f"{'[' if low_included else '('}{show(low)}, {show(high)}]"

    def parse(text):
        value = kind(text)
        above_low = value >= low if low_included else value > low
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        if not (above_low and value <= high):
            raise argparse.ArgumentTypeError(f"must be in {interval}, got {text}")
        return value

    parse.__name__, parse.kind = kind.__name__, kind  # __name__: argparse's "invalid int value"
    return parse


# The bounds keep a run within what a machine can hold: they are refused before any data is read.
SIZE = number(int, 1, 4096)  # units, dimensions, batch sizes
LENGTH = number(int, 1, 8192)  # tokens kept per review
COUNT = number(int, 0, 1000)  # epochs of patience
EPOCHS = number(int, 1, 1000)
SEED = number(int, 0, 2**32 - 1)
RATE = number(float, 0, 10, low_included=False)  # learning rates, C, norms, powers
NON_NEGATIVE = number(float, 0, 10)  # weight decay, a final learning rate
FRACTION = number(float, 0, 0.99)  # dropout, momentum, warm-up share
WEIGHT = number(float, 0, 1e6)
BOOLEAN = argparse.BooleanOptionalAction


def weight(text):
    """An --ensemble_weights value: a weight, or 'fit'."""
    return text if text == "fit" else WEIGHT(text)


# Each flag's group: a family's own (its FAMILIES name) or a shared one that Family.reads names (a flag given to
# another family is an error). "saved" flags shape or train a model: --save_model stores them, --load_model restores
# them.
SHARED_GROUPS = {"data": "data", "training": "training", "output": "output and reuse"}
FLAGS = []  # (group, saved, names, argparse options), in --help order


def flag(group, *names, saved=False, **options):
    """Declare a flag: its group, its names, whether a saved model keeps it, argparse's options."""
    FLAGS.append((group, saved, names, options))


flag(
    "data",
    "-i",
    "--train_file",
    default="train.txt",
    metavar="FILE",
    help="training data, one review a line: <category> <sentiment> <id> <tokens...>",
)
flag(
    "data",
    "-d",
    "--dev_file",
    default="dev.txt",
    metavar="FILE",
    help="development data: early stopping and the dev evaluation",
)
flag("data", "-t", "--test_file", metavar="FILE", help="test data; evaluated only when given")
flag(
    "data",
    "--predict_file",
    metavar="FILE",
    help="unlabelled raw texts, one a line (lowercased and "
    "tokenized like the corpus): predicted labels go to --predictions_file, or to stdout",
)
flag(
    "data",
    "--task",
    saved=True,
    choices=sorted(TASK_COLUMN),
    default="category",
    help="label column: the 6 categories or pos/neg sentiment",
)
flag(
    "data",
    "--max_train_samples",
    saved=True,
    type=number(int, 1, 10**7),
    metavar="N",
    help="train on the first N training reviews only (a quick smoke run)",
)
flag("data", "--seed", saved=True, type=SEED, default=1, metavar="N", help="random seed, applied first")
flag(
    "lstm",
    "-e",
    "--embeddings",
    saved=True,
    default="glove_reviews.json",
    metavar="FILE",
    help="pretrained word "
    "vectors: JSON {word: [floats]} or word2vec/GloVe text (word v1 ... vn, optionally .gz); 'none' trains "
    "embeddings from random initialisation",
)
flag(
    "lstm",
    "--embedding_dim",
    saved=True,
    type=SIZE,
    metavar="N",
    help="embedding size with --embeddings "
    "none (50 if not given); with a file it is the file's, and if given must match it",
)
flag(
    "lstm",
    "--trainable_embeddings",
    saved=True,
    action=BOOLEAN,
    default=False,
    help="update the pretrained vectors during training (frozen otherwise); always on with --embeddings none",
)
flag(
    "lstm",
    "--max_seq_len",
    saved=True,
    type=LENGTH,
    default=50,
    metavar="N",
    help="tokens kept of each review (the course's cut-off is 50; the median review has about 100)",
)
flag(
    "lstm",
    "--padding",
    saved=True,
    choices=("mask", "pre"),
    default="mask",
    help="mask: pad at the end and mask "
    "padding out; pre: pad at the start, no mask (lets JAX and torch use cuDNN on a GPU)",
)
flag(
    "lstm",
    "--dense_after_embedding",
    saved=True,
    type=SIZE,
    metavar="UNITS",
    help="add a per-token dense layer (ReLU) of UNITS between embedding and LSTM",
)
flag(
    "lstm",
    "--lstm_layers",
    saved=True,
    type=number(int, 1, 16),
    default=1,
    metavar="N",
    help="stacked LSTM layers (all but the last return sequences)",
)
flag(
    "lstm",
    "--lstm_units",
    saved=True,
    type=SIZE,
    default=128,
    metavar="N",
    help="units per LSTM layer (per direction with --bidirectional)",
)
flag("lstm", "--bidirectional", saved=True, action=BOOLEAN, default=False, help="read reviews in both directions")
flag(
    "lstm",
    "--dropout",
    saved=True,
    type=FRACTION,
    default=0.0,
    metavar="RATE",
    help="LSTM dropout: fraction of the input connections dropped at each step",
)
flag(
    "lstm",
    "--recurrent_dropout",
    saved=True,
    type=FRACTION,
    default=0.0,
    metavar="RATE",
    help="LSTM recurrent state dropout (on a GPU this disables the fused cuDNN kernel: much slower)",
)
flag(
    "lstm",
    "--pooling",
    saved=True,
    choices=POOLINGS,
    default="last",
    help="what the classifier reads: the last "
    "LSTM state (last), or the maximum (max) or mean (mean) of the last layer's outputs over all steps of the "
    "review, padding excluded (max: Conneau et al. 2017's BiLSTM-max)",
)
flag(
    "lstm",
    "--output_dropout",
    saved=True,
    type=FRACTION,
    default=0.0,
    metavar="RATE",
    help="dropout before the softmax output layer",
)
flag(
    "lstm",
    "--optimizer",
    saved=True,
    choices=tuple(KERAS_OPTIMIZERS),
    default="adam",
    help="the Keras optimizer (the transformer trains with the Trainer's AdamW)",
)
flag("lstm", "--momentum", saved=True, type=FRACTION, default=0.0, metavar="M", help="sgd and rmsprop only")
flag("lstm", "--clipnorm", saved=True, type=RATE, metavar="NORM", help="clip each gradient to this norm")
flag(
    "lstm",
    "--backend",
    choices=("auto",) + BACKENDS,
    default="auto",
    help="Keras backend; auto "
    "honours KERAS_BACKEND, else takes the fastest installed one for the device (CPU: jax, tensorflow, torch; GPU: "
    "tensorflow, jax, torch)",
)
flag(
    "lm",
    "--lm_name",
    saved=True,
    default="bert-base-uncased",
    metavar="NAME_OR_DIR",
    help="pretrained model: a "
    "local folder (config, weights, tokenizer) or a Hugging Face hub id, looked for in the local cache first",
)
flag(
    "lm",
    "--max_length",
    saved=True,
    type=LENGTH,
    default=100,
    metavar="N",
    help="subword tokens kept per review, special tokens included",
)
flag(
    "lm",
    "--pad_to_max_length",
    saved=True,
    action="store_true",
    help="pad every review to --max_length (the "
    "usual recipe) instead of to the longest review of its batch: the same tokens, only slower (README)",
)
flag(
    "lm",
    "--pad_to_multiple_of",
    type=number(int, 1, 512),
    default=1,
    metavar="N",
    help="round each batch's length up to a multiple of N tokens (8 suits the tensor cores of older GPUs)",
)
flag(
    "lm",
    "--group_by_length",
    saved=True,
    action=BOOLEAN,
    default=True,
    help="train on batches of reviews of similar length (in random order), so batches need little padding",
)
flag(
    "lm",
    "--lr_scheduler_type",
    saved=True,
    choices=SCHEDULERS,
    default="linear",
    help="learning-rate schedule after warm-up: constant, linear decay to 0, polynomial decay to --lr_end, cosine",
)
flag(
    "lm",
    "--warmup_ratio",
    saved=True,
    type=FRACTION,
    default=0.0,
    metavar="RATIO",
    help="share of the training steps spent warming the learning rate up from 0",
)
flag(
    "lm",
    "--lr_end",
    saved=True,
    type=NON_NEGATIVE,
    metavar="LR",
    help="final learning rate of --lr_scheduler_type polynomial (default 1e-7)",
)
flag(
    "lm",
    "--lr_power",
    saved=True,
    type=RATE,
    metavar="P",
    help="power of --lr_scheduler_type polynomial (default 1.0: linear to --lr_end)",
)
flag(
    "lm",
    "--gradient_accumulation_steps",
    saved=True,
    type=number(int, 1, 1024),
    default=1,
    metavar="N",
    help="add up the gradients of N batches per update (effective batch N x --batch_size)",
)
flag("lm", "--freeze_encoder", saved=True, action="store_true", help="train only the classification head")
flag(
    "lm",
    "--precision",
    choices=PRECISIONS,
    default="auto",
    help="auto: bf16 where the hardware "
    "computes it natively (a GPU of compute capability 8.0 or later; a CPU with AVX-512 BF16 or AMX), else fp16 on "
    "a GPU, fp32 on a CPU (emulated bf16 measured up to 20 times slower; README); the record says which and why",
)
flag("lm", "--trust_remote_code", action="store_true", help="run a model's own code (else it fails)")
flag("lm", "--eval_batch_size", type=SIZE, default=64, metavar="N", help="eval/predict batch")
flag(
    "lm",
    "--checkpoint_dir",
    metavar="DIR",
    help="keep the Trainer's checkpoint of each epoch's end "
    "in DIR; the same command run again resumes from the last one (after a disconnect, say)",
)
flag(
    "tfidf",
    "--linear_model",
    saved=True,
    choices=("svm", "logreg"),
    default="svm",
    help="svm: linear support "
    "vector machine (LinearSVC); logreg: logistic regression. Confidences: a softmax "
    "of the decision scores (svm: uncalibrated)",
)
flag(
    "tfidf",
    "-C",
    "--C",
    saved=True,
    type=number(float, 0, 1e6, low_included=False),
    default=1.0,
    metavar="C",
    help="1 / regularisation strength",
)
flag("tfidf", "--ngram_max", saved=True, type=number(int, 1, 5), default=2, metavar="N", help="word 1- to N-grams")
flag(
    "tfidf", "--min_df", saved=True, type=number(int, 1, 10**6), default=1, metavar="N", help="n-grams in >= N reviews"
)
flag("tfidf", "--sublinear_tf", saved=True, action=BOOLEAN, default=True, help="tf as 1 + log(tf), not raw count")
flag(
    "training",
    "--truncation",
    saved=True,
    choices=TRUNCATIONS,
    default="head",
    help="which tokens a review "
    "longer than --max_seq_len or --max_length keeps: its start (head), its end (tail), or the first quarter and "
    "the last three quarters (head_tail, after Sun et al. 2019)",
)
flag(
    "training",
    "--learning_rate",
    saved=True,
    type=RATE,
    metavar="LR",
    help="peak learning rate (default: 1e-3 for lstm, 5e-5 for lm)",
)
flag(
    "training",
    "--weight_decay",
    saved=True,
    type=NON_NEGATIVE,
    metavar="WD",
    help="decoupled weight decay (if not given: lstm the optimizer's own, 0.004 for adamw, none for the others; lm 0)",
)
flag("training", "--batch_size", saved=True, type=SIZE, default=32, metavar="N", help="train batch size")
flag(
    "training",
    "--epochs",
    saved=True,
    type=EPOCHS,
    metavar="N",
    help="maximum epochs; early stopping may "
    "end training sooner (default: 50 for lstm, 1 for lm as in the assignment)",
)
flag(
    "training",
    "--patience",
    saved=True,
    type=COUNT,
    default=3,
    metavar="N",
    help="stop after this many epochs "
    "without a lower dev loss and restore the best weights; 0 disables early stopping",
)
flag(
    "output",
    "--results_file",
    metavar="FILE",
    help="append one JSON line per run: config, versions, data hashes, metrics, timings",
)
flag(
    "output",
    "--predictions_file",
    metavar="FILE",
    help="write a TSV (id, gold, predicted, confidence, text, split) of every evaluated or predicted review",
)
flag("output", "--confusion_png", metavar="FILE", help="each evaluated split's confusion matrix (PNG)")
flag("output", "--save_model", metavar="DIR", help="save the model, vocabulary, labels, config in DIR")
flag(
    "output",
    "--load_model",
    action="append",
    metavar="DIR",
    help="skip training: load a model saved "
    "with --save_model and evaluate it on --dev_file/--test_file or label --predict_file; given more than once, an "
    "ensemble: the mean of the models' probabilities",
)
flag(
    "output",
    "--ensemble_weights",
    type=weight,
    nargs="+",
    metavar="W",
    help="with --load_model given "
    "N times: N weights for the models' probabilities, in order (scaled to sum to 1; default: equal), or 'fit': "
    "the weights (steps of 0.05) that give the lowest log loss on --dev_file",
)
flag(
    "output",
    "--verbose",
    type=int,
    choices=(0, 1, 2),
    help="training progress: 0 silent, 1 progress "
    "bar, 2 progress lines (default: 1 at a terminal, 2 when output goes to a file, pipe or notebook)",
)
flag("output", "--debug", action="store_true", help="show an error's traceback too (or LFD_DEBUG=1)")


OUTPUT_FILES = ("results_file", "predictions_file", "confusion_png")  # written whole, or streamed where a stream


def dest(names):
    return names[-1].lstrip("-")


def flag_groups():
    """The groups of --help in order, each with its title and the families that read its flags."""
    readers = {group: [name for name, family in FAMILIES.items() if group in family.reads] for group in SHARED_GROUPS}

    def shared(group):
        who = "all models" if len(readers[group]) == len(FAMILIES) else "--model " + " and ".join(readers[group])
        return f"{SHARED_GROUPS[group]} ({who})", readers[group]

    return {
        "data": shared("data"),
        **{name: (family.title, [name]) for name, family in FAMILIES.items()},
        "training": shared("training"),
        "output": shared("output"),
    }


def family_flags(family, saved_only=False):
    """The flags a run of `family` reads (or, saved_only, those its saved model stores)."""
    groups = flag_groups()
    return {
        dest(names) for group, saved, names, _ in FLAGS if family in groups[group][1] and (saved or not saved_only)
    }


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show defaults, except the empty ones (None), which say nothing."""

    def _get_help_string(self, action):
        return action.help if action.default is None else super()._get_help_string(action)


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but an error is one line on stderr and exit status 2, with a suggestion for a mistyped flag."""

    def error(self, message):
        unknown = re.match(r"unrecognized arguments: (--?[\w-]+)", message)
        known = [option for action in self._actions for option in action.option_strings]
        close = difflib.get_close_matches(unknown.group(1), known, n=1) if unknown else []
        hint = f"; did you mean {close[0]}?" if close else ""
        sys.stderr.write(f"{self.prog}: error: {message}{hint} (see --help)\n")
        sys.exit(2)


def build_parser():
    parser = OneLineErrorParser(
        prog=PROG,
        formatter_class=HelpFormatter,
        allow_abbrev=False,
        description="Train and evaluate text classifiers on the product-review data: an LSTM over word "
        "embeddings (--model lstm, the default), a fine-tuned pretrained transformer (--model lm) or a linear "
        "classifier over tf-idf n-grams (--model tfidf, the baseline).",
        epilog="Errors in input files or flags are reported in one line with exit status 2. "
        "See README.md for measured speeds and examples.",
    )
    families = ", ".join(f"{name} ({family.summary})" for name, family in FAMILIES.items())
    parser.add_argument("--model", choices=list(FAMILIES), default="lstm", help=f"model family: {families}")
    groups = {name: parser.add_argument_group(title) for name, (title, _) in flag_groups().items()}
    for group, _, names, options in FLAGS:
        groups[group].add_argument(*names, **options)
    return parser


def parse_flags(argv):
    """(args, the destinations argv gives): a second parse without defaults leaves only the flags given, as argparse
    reads them (glued -C5, -iFILE, --seed=3 too)."""
    args = build_parser().parse_args(argv)
    bare = build_parser()
    for action in bare._actions:
        action.default = argparse.SUPPRESS
    return args, set(vars(bare.parse_args(argv)))


def check_flags(args, given):
    """Refuse flag combinations that cannot mean what the user wants (each family checks its own: Family.check)."""
    families = {dest(names): flag_groups()[group][1] for group, _, names, _ in FLAGS}
    wrong = sorted(given - family_flags(args.model) - {"model"}, key=lambda name: (len(families[name]), name))
    if wrong and not args.load_model:
        readers = " and ".join(families[wrong[0]])
        raise InputError(f"--{wrong[0]} applies to --model {readers}, not --model {args.model}")
    if args.confusion_png and importlib.util.find_spec("matplotlib") is None:
        raise InputError(f"--confusion_png {args.confusion_png}: matplotlib is not installed")
    if args.ensemble_weights:
        check_ensemble_weights(args.ensemble_weights, args.load_model or [], args.dev_file)
    if args.load_model:
        saved_flags = set().union(*(family_flags(family, saved_only=True) for family in FAMILIES)) | {"model"}
        if ignored := sorted(given & saved_flags):
            names = ", ".join("--" + name for name in ignored)
            log.warning("ignored with --load_model (the saved config decides): %s", names)
        if "train_file" in given:
            raise InputError("--train_file and --load_model exclude each other: a loaded model is not retrained")
        if "save_model" in given:
            raise InputError("--save_model and --load_model exclude each other: the model is already saved")
    elif args.model in FAMILIES:
        FAMILIES[args.model].check(args, given)


def check_ensemble_weights(weights, models, dev_file):
    fitted = "fit" in weights
    one_each = len(weights) == len(models) and not fitted
    if len(models) < 2 or not (weights == ["fit"] or one_each and sum(weights) > 0):
        raise InputError(
            f"--ensemble_weights {' '.join(map(str, weights))}: give one weight for each of the two or more "
            "--load_model models (not all 0), or 'fit'"
        )
    if fitted and not dev_file:
        raise InputError("--ensemble_weights fit: the weights are fitted on --dev_file; give one")


def apply_family_defaults(args, family):
    for name, value in (FAMILIES[family].defaults if family in FAMILIES else {}).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.verbose is None:  # a progress bar redrawn with \r only reads well at a terminal
        args.verbose = 1 if sys.stdout.isatty() else 2


# ---- Data -----------------------------------------------------------------------------------------------------------

# One data file: ids, token lists and (unless unlabelled) gold label strings
Split = collections.namedtuple("Split", "name path ids texts labels", defaults=[None])


@dataclass
class Data:
    """What the families share: the splits, the label order (sorted, from train), each input's SHA-256 as read."""

    label_order: list
    splits: dict = field(default_factory=dict)
    sha256: dict = field(default_factory=dict)

    def label_ids(self, split):
        index = {label: i for i, label in enumerate(self.label_order)}
        return np.array([index[label] for label in split.labels], dtype=np.int64)


def read_lines(path, flag, hashes=None, key=None):
    """The lines of a UTF-8 text file (gzipped or not; a pipe too), read once: hashes[key] is the SHA-256 of the
    bytes parsed. Read errors become one-line InputErrors."""
    if not os.path.exists(path):
        where = f" (looked for in the current folder, {os.getcwd()})" if not os.path.isabs(path) else ""
        raise InputError(f"{flag} {path}: no such file{where}")
    if os.path.isdir(path):
        raise InputError(f"{flag} {path}: is a folder, not a file")
    try:
        with open(path, "rb") as handle:
            content = handle.read()
        if hashes is not None:
            hashes[key] = hashlib.sha256(content).hexdigest()
        if content[:2] == b"\x1f\x8b":
            content = gzip.decompress(content)
        text = content.decode("utf-8-sig")
        return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")  # as a file in text mode has them
    except UnicodeDecodeError as error:
        raise InputError(f"{flag} {path}: not UTF-8 text ({error.reason})") from None
    except (OSError, EOFError, zlib.error) as error:
        raise InputError(f"{flag} {path}: cannot be read ({error})") from None


def read_corpus(path, task, flag, name, hashes=None):
    """Read `<category> <sentiment> <id> <tokens...>` lines; blank lines are skipped."""
    ids, texts, labels = [], [], []
    lines = read_lines(path, flag, hashes, f"{name}_file")
    for number, fields in enumerate(map(str.split, lines), start=1):
        if fields and len(fields) < 4:
            raise InputError(
                f"{flag} {path}, line {number}: expected "
                f"'<category> <sentiment> <id> <tokens...>', got {len(fields)} field(s)"
            )
        if fields:
            labels.append(fields[TASK_COLUMN[task]])
            ids.append(fields[2])
            texts.append(fields[3:])
    if not texts:
        raise InputError(f"{flag} {path}: no reviews in the file")
    return Split(name, path, ids, texts, labels)


def tokenize(text):
    """Lowercase and tokenize raw text as the corpus is (punctuation, n't, 's split off); idempotent."""
    text = CONTRACTION.sub(r"\1 \2", text.lower())
    return PUNCTUATION.sub(r" \1 ", text).split()


def read_unlabelled(path, task, labels, hashes=None):
    """Read one raw text a line, tokenized like the corpus; ids are line numbers."""
    ids, texts, labelled = [], [], True
    lines = read_lines(path, "--predict_file", hashes, "predict_file")
    for number, line in enumerate(lines, start=1):
        if fields := line.split():
            labelled = labelled and len(fields) > 3 and fields[TASK_COLUMN[task]] in labels
            ids.append(str(number))
            texts.append(tokenize(line))
    if not texts:
        raise InputError(f"--predict_file {path}: no texts in the file")
    if labelled:
        raise InputError(
            f"--predict_file {path}: every line starts with a label, like the corpus; evaluate a "
            "labelled file with --test_file (--predict_file takes raw texts)"
        )
    return Split("predict", path, ids, texts)


def read_data(args, label_order=None):
    """Read every data file the flags name, each once and hashed as read; labels sorted, fit on train only."""
    data = Data(label_order)
    if label_order is None:
        train = read_corpus(args.train_file, args.task, "--train_file", "train", data.sha256)
        if keep := args.max_train_samples:
            train = train._replace(ids=train.ids[:keep], texts=train.texts[:keep], labels=train.labels[:keep])
        data.label_order = sorted(set(train.labels))
        if len(data.label_order) < 2:
            raise InputError(
                f"--train_file {args.train_file}: only one label ({data.label_order[0]}) for --task {args.task}"
            )
        data.splits["train"] = train
    for name, path in (("dev", args.dev_file), ("test", args.test_file)):
        if path:
            split = read_corpus(path, args.task, f"--{name}_file", name, data.sha256)
            if unknown := sorted(set(split.labels) - set(data.label_order)):
                raise InputError(
                    f"--{name}_file {path}: label(s) {', '.join(unknown)} not seen in training "
                    f"(known: {', '.join(data.label_order)})"
                )
            data.splits[name] = split
    if args.predict_file:
        data.splits["predict"] = read_unlabelled(args.predict_file, args.task, data.label_order, data.sha256)
    return data


def read_embeddings(path, flag="--embeddings", hashes=None):
    """(words, float32 matrix) from the course's JSON {word: [floats]} or word2vec/GloVe text (`word v1 ... vn`,
    an optional `<count> <dimension>` header), gzipped or not. A repeated word keeps its first vector."""
    lines = read_lines(path, flag, hashes, "embeddings")
    if "".join(lines[:100]).lstrip()[:1] in ("{", "["):
        entries = json_vectors("\n".join(lines), path, flag)
    else:
        entries = text_vectors(lines, path, flag)
    words, rows, dim, repeated = {}, [], None, 0
    for where, word, vector in entries:
        dim = dim or len(vector)
        if len(vector) != dim or not dim:
            raise InputError(f"{flag} {path}, {where}: {len(vector)} dimensions, expected {dim}")
        if word in words:
            repeated += 1
        elif word is not None:  # None: the header, which only gives the dimension
            words[word] = len(rows)
            rows.append(vector)
    if repeated:
        log.warning("%s %s: %d repeated words keep their first vector", flag, path, repeated)
    if not words:
        raise InputError(f"{flag} {path}: no word vectors in the file")
    try:
        vectors = np.asarray(rows, dtype=np.float32)
    except (OverflowError, ValueError):
        vectors = np.array([np.inf], dtype=np.float32)  # a number beyond float range
    if not np.isfinite(vectors).all():
        raise InputError(f"{flag} {path}: vectors hold NaN or infinite values")
    return list(words), vectors


def json_vectors(text, path, flag):
    try:
        table = json.loads(text)
    except (ValueError, RecursionError) as error:  # also a number too long or brackets nested too deep
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)[:200]
        raise InputError(f"{flag} {path}: not valid JSON ({reason})") from None
    if not isinstance(table, dict):
        raise InputError(f"{flag} {path}: expected a JSON object {{word: [floats]}}")
    for word, vector in table.items():
        if not (isinstance(vector, list) and all(type(value) in (int, float) for value in vector)):  # not bool
            raise InputError(f"{flag} {path}: the vector of {word!r} is not a list of numbers")
        yield repr(word), word, vector


def text_vectors(lines, path, flag):
    for number, fields in enumerate(map(str.split, lines), start=1):
        if number == 1 and len(fields) == 2 and all(field.isdigit() for field in fields):
            yield "line 1", None, [0.0] * int(fields[1])  # a word2vec header: the dimension of what follows
        elif fields:
            try:
                yield f"line {number}", fields[0], [float(value) for value in fields[1:]]
            except ValueError:
                raise InputError(f"{flag} {path}, line {number}: neither JSON nor 'word v1 ... vn' text") from None


# ---- Evaluation and report (shared by the model families) -----------------------------------------------------------


# ---- Evaluation and report (shared by the model families) -----------------------------------------------------------


def evaluate(gold, predicted, labels):
    """Accuracy, macro F1, per-class precision/recall/F1/support and the confusion matrix."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    ids = list(range(len(labels)))
    precision, recall, f1, support = precision_recall_fscore_support(gold, predicted, labels=ids, zero_division=0)
    return {
        "accuracy": float(np.mean(np.asarray(gold) == np.asarray(predicted))),
        "macro_f1": float(np.mean(f1)),
        "per_class": {
            label: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, label in enumerate(labels)
        },
        "confusion_matrix": confusion_matrix(gold, predicted, labels=ids).tolist(),
    }


def format_metrics(name, metrics, labels):
    """The printed report of one split: scores, per-class table, labelled confusion matrix."""
    width = max(len(label) for label in labels + ["macro avg"])
    lines = [
        f"== {name}: accuracy {metrics['accuracy']:.4f}, macro F1 {metrics['macro_f1']:.4f} ==",
        f"{'':{width}}  precision  recall      f1  support",
    ]
    for label in labels:
        row = metrics["per_class"][label]
        lines.append(
            f"{label:{width}}  {row['precision']:9.4f}  {row['recall']:6.4f}  {row['f1']:6.4f}  {row['support']:7d}"
        )
    lines.append("confusion matrix (rows: gold, columns: predicted)")
    cell = max(width, max(len(str(c)) for row in metrics["confusion_matrix"] for c in row))
    lines.append(f"{'':{width}}  " + " ".join(f"{label[:cell]:>{cell}}" for label in labels))
    for label, row in zip(labels, metrics["confusion_matrix"], strict=True):
        lines.append(f"{label:{width}}  " + " ".join(f"{count:>{cell}}" for count in row))
    return "\n".join(lines)


def draw_confusion(path, results, labels):
    """One panel per evaluated split, counts written in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    figure, axes = plt.subplots(1, len(names), figsize=(5.2 * len(names), 4.6), squeeze=False)
    for axis, name in zip(axes[0], names, strict=True):
        matrix = np.asarray(results[name]["confusion_matrix"])
        axis.imshow(matrix, cmap="Blues")
        axis.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
        axis.set_yticks(range(len(labels)), labels)
        axis.set(xlabel="predicted", ylabel="gold", title=f"{name}: accuracy {results[name]['accuracy']:.3f}")
        for (row, column), count in np.ndenumerate(matrix):
            axis.text(
                column,
                row,
                str(count),
                ha="center",
                va="center",
                color="white" if count > matrix.max() / 2 else "black",
            )
    figure.tight_layout()
    try:
        with output_file(path, "--confusion_png", binary=True) as out:
            figure.savefig(out, format="png", dpi=120)
    finally:
        plt.close(figure)


def write_predictions(path, data, probabilities):
    """TSV for error analysis, one row per review of every split that was run."""
    rows = [["id", "gold", "predicted", "confidence", "text", "split"]]
    for name, probs in probabilities.items():
        split = data.splits[name]
        rows += [
            [
                split.ids[i],
                split.labels[i] if split.labels else "",
                data.label_order[int(row.argmax())],
                f"{row.max():.4f}",
                " ".join(split.texts[i]),
                name,
            ]
            for i, row in enumerate(probs)
        ]
    with output_file(path, "--predictions_file") as tsv:
        csv.writer(tsv, delimiter="\t", lineterminator="\n").writerows(rows)


# What a family's train_or_load returns: the classifier, the record's "train" part, where it ran, and the libraries
# whose versions the record names besides numpy and scikit-learn
Trained = collections.namedtuple("Trained", "classifier info backend device libraries")


def evaluate_splits(data, probabilities):
    """Every labelled split's scores, with gold and predicted ids in file order (for paired significance tests)."""
    results = {}
    for name, probs in probabilities.items():
        split = data.splits[name]
        if split.labels is not None:
            gold, predicted = data.label_ids(split), probs.argmax(axis=1)
            results[name] = {
                **evaluate(gold, predicted, data.label_order),
                "examples": len(split.ids),
                "gold": gold.tolist(),
                "predicted": predicted.tolist(),
            }
    return results


def build_record(args, data, results, trained, predict_seconds, commit, argv):
    """The run record: the config, where it ran, versions, data hashes, every score, timings, the commit."""
    return {
        "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "record_format": RECORD_FORMAT,
        "command": [PROG] + list(argv),
        "config": vars(args),
        "family": args.model,
        "backend": trained.backend,
        "device": trained.device,
        "versions": library_versions(["numpy", "scikit-learn"] + trained.libraries),
        "git_commit": commit,
        "data_sha256": data.sha256,
        "labels": data.label_order,
        "splits_evaluated": sorted(results),
        "test_evaluated": "test" in results,
        "results": results,
        "train": trained.info,
        "predict_seconds": predict_seconds,
        "predict_examples_per_second": {
            name: round(results[name]["examples"] / seconds, 1)
            for name, seconds in predict_seconds.items()
            if seconds and name in results
        },
        **peak_memory(),
    }


def report(args, data, probabilities, record):
    """Print every split's scores (or an unlabelled split's predictions), and write the files the flags ask for."""
    labels, results = data.label_order, record["results"]
    for name, probs in probabilities.items():
        split = data.splits[name]
        if name in results:
            print(format_metrics(f"{name} ({split.path}, {len(split.ids)} reviews)", results[name], labels))
        elif not args.predictions_file:
            print("== predictions (predicted, confidence, text) ==")
            for tokens, row in zip(split.texts, probs, strict=True):
                print(f"{labels[int(row.argmax())]}\t{row.max():.4f}\t{' '.join(tokens)}")
    if args.predictions_file:
        write_predictions(args.predictions_file, data, probabilities)
        log.info("predictions written to %s", args.predictions_file)
    if args.confusion_png and results:
        draw_confusion(args.confusion_png, results, labels)
        log.info("confusion matrix drawn in %s", args.confusion_png)
    elif args.confusion_png:
        log.warning("--confusion_png %s not drawn: no labelled split was evaluated", args.confusion_png)
    if args.results_file:
        append_jsonl(args.results_file, record)
        log.info("run record appended to %s", args.results_file)


def git_commit():
    """The script's git commit, '-dirty' if the script (only it: not the logs beside it) differs; None outside git."""
    script = os.path.abspath(__file__)

    def git(*command):
        return subprocess.run(
            ["git", "-C", os.path.dirname(script), *command], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        commit, dirty = git("rev-parse", "HEAD"), git("status", "--porcelain", "--", script)
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")


def library_versions(names):
    versions = {"python": platform.python_version()}
    for name in names:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[name] = importlib.metadata.version(name)
    return versions


def peak_memory():
    """The peak resident memory of this process and the peak GPU memory torch allocated (None where not known)."""
    torch, unit = sys.modules.get("torch"), 2**20 if sys.platform == "darwin" else 2**10
    peak = resource and round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / unit, 1)
    gpu = round(torch.cuda.max_memory_allocated() / 2**20, 1) if torch and torch.cuda.is_available() else None
    return {"peak_memory_mib": peak, "gpu_peak_memory_mib": gpu}


# ---- Records and saving: every write, and reading a saved model -----------------------------------------------------


# ---- Records and saving: every write, and reading a saved model -----------------------------------------------------


def stream_descriptor(path):
    """The open file descriptor that a path names ('-' and /dev/stdout: 1, /dev/stderr: 2, /dev/fd/N and
    /proc/self/fd/N: N), or None for any other path."""
    named = {"-": 1, "/dev/stdout": 1, "/dev/stderr": 2}
    numbered = re.fullmatch(r"/(dev|proc/self)/fd/(\d+)", path)
    return int(numbered.group(2)) if numbered else named.get(path)


def descriptor_is_open(descriptor):
    try:
        os.fstat(descriptor)
    except OSError:
        return False
    return True


def is_stream(path):
    """Whether an output is written in place: a descriptor the shell opened, a FIFO or a device."""
    special = os.path.exists(path) and not (os.path.isfile(path) or os.path.isdir(path))
    return stream_descriptor(path) is not None or special


@contextlib.contextmanager
def output_file(path, flag, binary=False):
    """A handle that writes `path` whole. A stream is written in place, appended where the shell opened it for
    appending; a regular file is written under a temporary name beside it, then renamed over it (its permissions
    kept), so it is either complete or as it was."""
    options = {"mode": "wb"} if binary else {"mode": "w", "encoding": "utf-8", "newline": ""}
    descriptor = stream_descriptor(path)
    sys.stdout.flush()  # what the report printed before comes first
    if descriptor in (1, 2):  # through Python's own stream, in order with what it printed
        stream = sys.stdout if descriptor == 1 else sys.stderr
        yield stream.buffer if binary else stream
        stream.flush()
        return
    if descriptor is not None or is_stream(path):
        target = path if descriptor is None else descriptor
        with open(target, closefd=descriptor is None, **options) as out:  # a descriptor stays open for the rest
            yield out
        return
    real = os.path.realpath(path)  # a link's target is replaced, not the link
    folder, name = os.path.split(real)
    temporary = os.path.join(folder, f"{TEMPORARY_PREFIX}{os.getpid()}-{name}")
    created = False
    try:
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the user's umask applies
        created = True
        with open(handle, **options) as out:
            yield out
        if os.path.exists(real):
            os.chmod(temporary, stat.S_IMODE(os.stat(real).st_mode))
        os.replace(temporary, real)
    except OSError as error:
        raise InputError(
            f"{flag} {path}: cannot be written ({error.strerror or error}); nothing was written"
        ) from None
    finally:
        if created:
            with contextlib.suppress(FileNotFoundError):
                os.remove(temporary)  # this run's own


def append_jsonl(path, record):
    """Append one JSON line in one write, under a lock and synced; a write that fails is cut back off, so the file
    holds whole lines only. A stream gets the line as it is."""
    line = (json.dumps(record, sort_keys=True) + "\n").encode("utf-8")
    if is_stream(path):
        with output_file(path, "--results_file", binary=True) as out:
            out.write(line)
        return
    try:
        handle = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
    except OSError as error:
        raise InputError(f"--results_file {path}: cannot be opened for appending ({error.strerror})") from None
    try:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)  # parallel runs append one at a time
        size = os.fstat(handle).st_size
        if size and os.pread(handle, 1, size - 1) != b"\n":
            line = b"\n" + line  # an unterminated (or torn) last line stays a line of its own
        try:
            if os.write(handle, line) != len(line):
                raise OSError(28, "No space left on device")
            os.fsync(handle)
        except BaseException:
            os.ftruncate(handle, size)  # no partial record
            raise
    except OSError as error:
        reason = error.strerror or error
        raise InputError(
            f"--results_file {path}: the run record could not be appended ({reason}); the file is as it was"
        ) from None
    finally:
        os.close(handle)


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def inside(path, folder):
    """Whether real path `path` is `folder` or lies under it."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def file_identity(path):
    """(device, inode) of a file, which its hard links share; None where there is no file."""
    with contextlib.suppress(OSError):
        info = os.stat(path)
        return info.st_dev, info.st_ino
    return None


def file_identities(paths):
    """{(device, inode): path} of every file at or under `paths`."""
    identities = {}
    for path in paths:
        for name in folder_files(path) if os.path.isdir(path) else [""]:
            identities[file_identity(os.path.join(path, name))] = os.path.join(path, name)
    identities.pop(None, None)
    return identities


def check_output_paths(args):
    """Fail before training unless each output's folder exists (never created) and the output is new, a regular
    file or a stream, never an input, a hard link of one, or inside or around an input or another output."""
    inputs = [args.train_file, args.dev_file, args.test_file, args.predict_file, *(args.load_model or [])]
    if not args.load_model:
        inputs += [getattr(args, name) for name in FAMILIES[args.model].inputs]
    inputs = [os.path.realpath(path) for path in inputs if path and os.path.exists(path)]
    for name in OUTPUT_FILES:
        path = getattr(args, name)
        descriptor = stream_descriptor(path or "")
        if descriptor is not None and not descriptor_is_open(descriptor):
            raise InputError(f"--{name} {path}: no file descriptor {descriptor} is open in this run")
    outputs = [(name, getattr(args, name)) for name in OUTPUT_FILES + ("save_model", "checkpoint_dir")]
    outputs = [
        (f"--{name}", path) for name, path in outputs if path and not (name in OUTPUT_FILES and is_stream(path))
    ]
    saved_model = [os.path.realpath(args.save_model)] if args.save_model else []
    taken = file_identities(inputs + saved_model)
    written = []
    for flag, path in outputs:
        folder_output = flag in ("--save_model", "--checkpoint_dir")
        if is_stream(path):
            raise InputError(f"{flag} {path}: is a stream; give a folder")
        real = os.path.realpath(path)
        if os.path.basename(path.rstrip("/") if folder_output else path) in ("", ".", ".."):
            raise InputError(
                f"{flag} {path}: names no {'new folder' if folder_output else 'file'}; give a name of its own"
            )
        parent = os.path.dirname(real)
        if not os.path.isdir(parent):
            problem = (
                "is a file, not a folder" if os.path.exists(parent) else "does not exist; create the folder first"
            )
            raise InputError(f"{flag} {path}: {parent} {problem}")
        if not os.access(parent, os.W_OK):
            raise InputError(f"{flag} {path}: the folder {parent} is not writable")
        if real in inputs:
            raise InputError(f"{flag} {path}: is an input of this run; refusing to overwrite it")
        if near := [other for other in inputs + written if inside(real, other) or inside(other, real)]:
            where = "lies inside" if inside(real, near[0]) else "holds"
            what = "an input" if near[0] in inputs else "another output"
            raise InputError(f"{flag} {path}: {where} {near[0]}, {what} of this run; write it elsewhere")
        if flag == "--save_model":
            check_model_folder(path)
        elif flag == "--checkpoint_dir" and os.path.exists(path) and not os.path.isdir(path):
            raise InputError(f"{flag} {path}: exists and is not a folder")
        elif not folder_output and os.path.isdir(real):
            raise InputError(f"{flag} {path}: is a folder, not a file")
        elif not folder_output and (linked := taken.get(file_identity(real))):
            raise InputError(
                f"{flag} {path}: is the same file as {linked} (a hard link), which this run reads or saves"
            )
        written.append(real)


def name_leftovers(paths):
    """Name what interrupted runs left beside the paths a run reads or writes; nothing is removed."""
    folders = dict.fromkeys(os.path.dirname(os.path.realpath(path)) for path in paths if path and not is_stream(path))
    for folder in filter(os.path.isdir, folders):
        for entry in sorted(os.listdir(folder)):
            if entry.startswith(TEMPORARY_PREFIX):
                log.warning(
                    "%s was left by an interrupted run of %s (or is a running one's): a model in its "
                    "folder 'previous' is one that --save_model had moved aside, to be moved back where it "
                    "was; the rest can go once no run writes here",
                    os.path.join(folder, entry),
                    PROG,
                )


def folder_files(folder):
    """Every file (and link) under folder, relative and '/'-separated; links are not followed."""
    return sorted(
        os.path.relpath(os.path.join(root, name), folder).replace(os.sep, "/")
        for root, dirs, files in os.walk(folder)
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]
    )


def check_model_folder(path):
    """--save_model replaces only an empty folder or a complete, unchanged model saved by this version."""
    if os.path.islink(path.rstrip("/")):
        raise InputError(f"--save_model {path}: is a symbolic link; give the folder itself")
    if not os.path.lexists(path):
        return
    if not os.path.isdir(path):
        raise InputError(f"--save_model {path}: exists and is not a folder")
    if os.path.realpath(path) in (os.path.realpath(os.getcwd()), os.path.realpath(os.sep)):
        raise InputError(f"--save_model {path}: give a folder of its own, not the current or root folder")
    if os.listdir(path):
        try:
            read_saved_model(path, flag="--save_model")
        except InputError as error:
            raise InputError(f"{error}; refusing to replace it") from None


def config_digest(saved):
    """SHA-256 of a saved config without its own "sha256" field, in canonical JSON."""
    rest = {key: value for key, value in saved.items() if key != "sha256"}
    return hashlib.sha256(json.dumps(rest, sort_keys=True).encode("utf-8")).hexdigest()


@contextlib.contextmanager
def signals_held():
    """Ctrl-C and SIGTERM wait until the block has run: meanwhile their handlers only note them (Python runs handlers
    in the main thread, whichever thread the OS delivered the signal to)."""
    noted = []
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    for number in handlers:
        signal.signal(number, lambda signum, frame: noted.append(signum))
    try:
        yield
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
        if noted:
            signal.raise_signal(noted[0])


def save_model_folder(folder, classifier, labels, training):
    """Write the model into a new folder of this run's beside `folder` and rename it into place. A model there (checked
    again: complete, unchanged, ours) is first moved into this run's folder, and Ctrl-C or SIGTERM wait for both
    renames; only a SIGKILL between them leaves the old model there, which the next run names."""
    folder = os.path.abspath(folder)
    parent, name = os.path.split(folder)
    own = tempfile.mkdtemp(dir=parent, prefix=f"{TEMPORARY_PREFIX}{name}-")
    new, previous = os.path.join(own, "new"), os.path.join(own, "previous")
    swapped = False
    try:
        os.mkdir(new)  # with the permissions the user's umask gives
        classifier.write_files(new)
        files = {file: sha256_file(os.path.join(new, file)) for file in folder_files(new)}
        saved = {
            "tool": PROG,
            "format": SAVED_FORMAT,
            "family": classifier.family,
            "labels": labels,
            "config": classifier.config,
            "training": training,
            "files": files,
        }
        saved = json.loads(json.dumps(saved))
        saved["sha256"] = config_digest(saved)
        with open(os.path.join(new, SAVED_CONFIG), "w", encoding="utf-8") as out:
            json.dump(saved, out, indent=1)
        replacing = os.path.isdir(folder)
        if replacing:
            check_model_folder(folder)  # again: nothing of the user's came in while this run trained
            os.chmod(new, stat.S_IMODE(os.stat(folder).st_mode))
        with signals_held():
            if replacing:
                os.rename(folder, previous)
            try:
                os.rename(new, folder)
                swapped = True
            except OSError:
                if replacing:
                    os.rename(previous, folder)
                raise
    except InputError:
        raise
    except Exception as error:  # a full disk, a read-only folder, a library's own write error
        reason = (
            error.strerror if isinstance(error, OSError) and error.strerror else f"{type(error).__name__}: {error}"
        )
        state = "the old model is in place" if os.path.exists(folder) else "nothing was saved"
        raise InputError(f"--save_model {folder}: the model could not be saved ({reason}); {state}") from None
    finally:
        if swapped or not os.path.exists(previous):
            shutil.rmtree(own, ignore_errors=True)


def read_file(path, limit=None):
    """A regular file's bytes (not a link's, a FIFO's or a device's), read once; at most `limit` of them."""
    handle = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with open(handle, "rb") as raw:
        if not stat.S_ISREG(os.fstat(raw.fileno()).st_mode):
            raise OSError(0, "not a regular file")
        content = raw.read(limit + 1) if limit else raw.read()
    if limit and len(content) > limit:
        raise OSError(0, f"larger than {limit} bytes")
    return content


def read_saved_model(folder, copy_to=None, flag="--load_model"):
    """A saved model's lfd_config.json, checked: made by this version of the tool, every value valid for its flag,
    every file listed there unchanged (SHA-256), and no other. With copy_to, each file is read once, checked and
    written there: the model is built from exactly the bytes that were checked. The folder is only read."""
    where = f"{flag} {folder}"
    if not os.path.isdir(folder):
        raise InputError(f"{where}: " + ("is a file, not a folder" if os.path.exists(folder) else "no such folder"))
    if not os.path.lexists(os.path.join(folder, SAVED_CONFIG)):
        raise InputError(f"{where}: not a saved model (no {SAVED_CONFIG})")
    try:
        saved = json.loads(read_file(os.path.join(folder, SAVED_CONFIG), MAX_CONFIG_BYTES))
    except OSError:
        raise InputError(f"{where}: {SAVED_CONFIG} is not a regular file of a sane size") from None
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        saved = None
    if not (isinstance(saved, dict) and saved.get("tool") == PROG):
        raise InputError(f"{where}: {SAVED_CONFIG} is not the config of a model saved by {PROG}")
    if saved.get("format") != SAVED_FORMAT:
        raise InputError(f"{where}: saved by another version of {PROG}: retrain it")
    if saved.get("sha256") != config_digest(saved):
        raise InputError(f"{where}: {SAVED_CONFIG} has been changed since the model was saved (its SHA-256 differs)")
    check_saved_config(where, saved)
    for name, digest in sorted(saved["files"].items()):
        try:
            content = read_file(os.path.join(folder, name))
        except OSError:
            problem = "is not a regular file" if os.path.lexists(os.path.join(folder, name)) else "is missing"
            raise InputError(f"{where}: incomplete saved model ({name} {problem})") from None
        if hashlib.sha256(content).hexdigest() != digest:
            raise InputError(f"{where}: {name} has changed since the model was saved (its SHA-256 differs)")
        if copy_to:
            os.makedirs(os.path.dirname(os.path.join(copy_to, name)), exist_ok=True)
            with open(os.path.join(copy_to, name), "wb") as out:
                out.write(content)
    present = folder_files(folder)
    if foreign := [name for name in present if name != SAVED_CONFIG and name not in saved["files"]]:
        raise InputError(f"{where}: holds {foreign[0]}, which was not saved with the model")
    return {**saved, "folder": folder, "files_at": copy_to}


def check_saved_config(where, saved):
    """The structure of a saved config, and each saved flag's value, parsed by the flag itself."""
    family, labels, config, files = (saved.get(key) for key in ("family", "labels", "config", "files"))
    names_and_digests = isinstance(files, dict) and all(
        isinstance(name, str) and isinstance(digest, str) for name, digest in files.items()
    )
    labels_are_names = isinstance(labels, list) and all(isinstance(label, str) and label for label in labels)
    if not (
        family in FAMILIES
        and isinstance(config, dict)
        and names_and_digests
        and labels_are_names
        and len(set(labels)) == len(labels) > 1
    ):
        raise InputError(f"{where}: {SAVED_CONFIG} is not a saved model's config (family, labels, config, files)")
    actions = {action.dest: action for action in build_parser()._actions}
    for name in sorted(family_flags(family, saved_only=True)):
        if name not in config:
            raise InputError(f'{where}: {SAVED_CONFIG} is not a saved model\'s config (no {name} in "config")')
        if problem := saved_value_problem(actions[name], config[name]):
            raise InputError(f"{where}: {name} {config[name]!r}{problem}")


def saved_value_problem(action, value):
    """Why a value read from a saved model fails the check of the flag it came from, as the end of a sentence
    that names the value (None: it passes)."""
    if value is None:
        return None if action.default is None else f" is not a valid --{action.dest}"
    kind = bool if action.nargs == 0 else getattr(action.type, "kind", action.type) or str
    accepted = (int, float) if kind is float else kind  # an int is a valid float
    bool_as_bool = isinstance(value, bool) == (kind is bool)  # True is an int to Python, not to a flag
    right_kind = isinstance(value, accepted) and bool_as_bool
    if not right_kind or (action.choices is not None and value not in action.choices):
        return f" is not a valid --{action.dest}"
    try:
        if action.type is not None:
            action.type(repr(value))
    except (argparse.ArgumentTypeError, ValueError) as error:
        return f": {error}"
    return None


def apply_saved_flags(args, saved):
    """A copy of args with the loaded model's family and flags, so the run record describes the model that runs."""
    config = {name: saved["config"][name] for name in family_flags(saved["family"], saved_only=True)}
    return argparse.Namespace(**{**vars(args), **config, "model": saved["family"], "train_file": None})


# ---- The model families: what run() needs of each -------------------------------------------------------------------


class Classifier(Protocol):
    """A trained model of one family, as its family's train or load returns it (in a Trained). A fourth family is a
    section (such a classifier, its check, train and load), its flags in FLAGS under its name and a FAMILIES entry."""

    family: str  # its name in FAMILIES: the --model that trains it
    config: dict  # everything needed to rebuild it: its family's saved flags, and what training found

    def predict_proba(self, texts: list) -> "np.ndarray":
        """Class probabilities, one row per token list, columns in the label order."""

    def write_files(self, folder: str) -> None:
        """Write the model's own files into an empty folder (save_model_folder adds lfd_config.json)."""


def model_config(args):
    """A new model's config: the values of its family's saved flags."""
    return {name: getattr(args, name) for name in sorted(family_flags(args.model, saved_only=True))}


def loaded_info(saved, parameters):
    """The record's "train" part for a loaded model: where from, and how it was trained."""
    return {
        "loaded_from": os.path.abspath(saved["folder"]),
        "model_config": saved["config"],
        "trained": saved.get("training"),
        "parameters": parameters,
    }


def first_line(error):
    """An exception as a one-line reason (the traceback: --debug)."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__


def version_of(text):
    """A version's release numbers, to compare: "2.16.1rc0" -> (2, 16, 1)."""
    return tuple(int(part) for part in re.findall(r"\d+", text.split("+")[0])[:3])


def check_versions(family):
    """Each library the family needs, at the floor requirements.txt gives (one line naming the fix if not)."""
    for package, floor in FAMILIES[family].requires.items():
        try:
            found = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            raise InputError(
                f"--model {family} needs {package}, which is not installed: python -m pip install -r requirements.txt"
            ) from None
        if version_of(found) < version_of(floor):
            raise InputError(
                f"--model {family} needs {package} {floor} or newer, found {found}: "
                f"python -m pip install -U '{package}>={floor}'"
            )


def check_converged(curves, patience=0, epochs_run=0):
    """Refuse a training loss that went NaN or infinite, before anything is saved or logged; return the epoch whose
    weights early stopping kept: the lowest dev loss (without early stopping, the last)."""
    if curves["loss"] and not math.isfinite(curves["loss"][-1]):
        raise InputError(
            f"training diverged: the training loss is {curves['loss'][-1]} after epoch "
            f"{len(curves['loss'])}; nothing was saved or logged (try a lower --learning_rate)"
        )
    early_stopped = curves.get("val_loss") and patience
    return int(np.argmin(curves["val_loss"])) + 1 if early_stopped else epochs_run


# ---- LSTM family (Keras 3): vocabulary, embedding matrix, model, training, loading ----------------------------------


def check_lstm_flags(args, given):
    if args.momentum and args.optimizer not in MOMENTUM_OPTIMIZERS:
        raise InputError(
            f"--momentum applies to {' and '.join(MOMENTUM_OPTIMIZERS)}, not --optimizer {args.optimizer}"
        )
    if args.padding == "pre" and args.bidirectional:
        raise InputError(
            "--padding pre with --bidirectional: the backward direction would read the padding "
            "last; use --padding mask"
        )
    if args.embeddings.lower() == "none" and "trainable_embeddings" in given and not args.trainable_embeddings:
        raise InputError("--no-trainable_embeddings with --embeddings none would leave random vectors untrained")


def has_gpu():
    return os.path.exists("/proc/driver/nvidia/version") or shutil.which("nvidia-smi") is not None


def choose_backend(requested):
    """--backend auto: KERAS_BACKEND if set, else the fastest installed backend for the device."""
    installed = [name for name in BACKENDS if importlib.util.find_spec(name) is not None]
    if requested == "auto":
        requested = os.environ.get("KERAS_BACKEND")
        if requested and requested not in BACKENDS:
            raise InputError(f"KERAS_BACKEND={requested}: not one of {', '.join(BACKENDS)}")
    if requested:
        if requested not in installed:
            raise InputError(
                f"--backend {requested}: {requested} is not installed (installed: {', '.join(installed) or 'none'})"
            )
        return requested
    for name in GPU_BACKEND_ORDER if has_gpu() else CPU_BACKEND_ORDER:
        if name in installed:
            return name
    raise InputError("no Keras backend installed: pip install jax (or tensorflow, or torch)")


def import_keras(backend):
    """Import Keras on the chosen backend (which must be set before Keras' first import)."""
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if backend != "tensorflow" and "tensorflow" not in sys.modules:
        # Keras imports TensorFlow, when installed, just to seed it and to check types while saving: seconds
        # and a gigabyte that a JAX or torch run does not need.
        sys.modules["tensorflow"] = None
    import keras

    if keras.config.backend() != backend:
        raise InputError(
            f"--backend {backend}: Keras was already imported with {keras.config.backend()} "
            "in this process; start a new one"
        )
    return keras


def describe_device(backend):
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        return "cpu" if device.platform == "cpu" else f"{device.platform}:{device.device_kind}"
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return f"gpu:{gpus[0].name}" if gpus else "cpu"
    import torch

    return f"gpu:{torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "cpu"


def build_vocabulary(train_texts, embedding_words):
    """Index 0 is padding, 1 unknown; then training words by frequency, then the embedding file's other words,
    so a dev/test word GloVe knows keeps its vector."""
    counts = collections.Counter(itertools.chain.from_iterable(train_texts))
    counts.pop(PAD_TOKEN, None), counts.pop(OOV_TOKEN, None)
    words = [PAD_TOKEN, OOV_TOKEN] + sorted(counts, key=lambda w: (-counts[w], w))
    known = set(words)
    words += sorted(word for word in embedding_words if word not in known)
    return words


def keep_tokens(tokens, n, truncation):
    """The n tokens (of a list) that a longer review keeps, in order: see TRUNCATIONS."""
    if len(tokens) <= n:
        return tokens
    head = {"head": n, "tail": 0, "head_tail": n // 4}[truncation]
    return tokens[:head] + tokens[len(tokens) - (n - head) :]


def encode(texts, vocabulary, max_seq_len, padding, truncation="head"):
    """Token lists to a (reviews, max_seq_len) index matrix of the tokens --truncation keeps; padding goes after
    them (mask) or before them (pre)."""
    matrix = np.full((len(texts), max_seq_len), PAD_INDEX, dtype=np.int32)
    for row, tokens in enumerate(texts):
        indices = [vocabulary.get(token, OOV_INDEX) for token in keep_tokens(tokens, max_seq_len, truncation)]
        if padding == "mask":
            matrix[row, : len(indices)] = indices
        elif indices:
            matrix[row, -len(indices) :] = indices
    return matrix


def build_embedding_matrix(words, embedding_words, vectors, seed):
    """Row i is the vector of words[i]: the file's where it has one, random (with the file's mean and spread) for
    other words, zeros for padding."""
    rng = np.random.default_rng(seed)
    matrix = rng.normal(vectors.mean(), vectors.std(), size=(len(words), vectors.shape[1])).astype(np.float32)
    matrix[PAD_INDEX] = 0.0
    row_of = {word: i for i, word in enumerate(embedding_words)}
    hits = [(i, row_of[word]) for i, word in enumerate(words) if word in row_of]
    if hits:
        mine, theirs = np.array(hits).T
        matrix[mine] = vectors[theirs]
    return matrix


def log_coverage(train_texts, embedding_words):
    """keras-io's 'converted N words (M misses)', for word types and tokens of train."""
    known, tokens = set(embedding_words), [token for text in train_texts for token in text]
    types = set(tokens)
    type_hits, token_hits = len(types & known), sum(token in known for token in tokens)
    log.info(
        "embeddings: converted %d of %d training word types (%d misses); %.1f%% of %d training tokens",
        type_hits,
        len(types),
        len(types) - type_hits,
        100 * token_hits / len(tokens),
        len(tokens),
    )
    return {
        "train_types": len(types),
        "train_types_found": type_hits,
        "train_tokens": len(tokens),
        "train_tokens_found": token_hits,
    }


Embeddings = collections.namedtuple("Embeddings", "vocabulary matrix dim coverage")


def prepare_embeddings(args, data):
    """The LSTM's input side: its vocabulary, the pretrained vectors in vocabulary order (None: a random start),
    their dimension, and how much of train the file covers."""
    train_texts = data.splits["train"].texts
    if args.embeddings.lower() == "none":
        return Embeddings(build_vocabulary(train_texts, []), None, args.embedding_dim or 50, None)
    embedding_words, vectors = read_embeddings(args.embeddings, hashes=data.sha256)
    dim = vectors.shape[1]
    if args.embedding_dim and args.embedding_dim != dim:
        raise InputError(
            f"--embedding_dim {args.embedding_dim} does not match the {dim}-d vectors "
            f"of --embeddings {args.embeddings}"
        )
    coverage = log_coverage(train_texts, embedding_words)
    vocabulary = build_vocabulary(train_texts, embedding_words)
    matrix = build_embedding_matrix(vocabulary, embedding_words, vectors, args.seed)
    return Embeddings(vocabulary, matrix, dim, coverage)


def lstm_config(args, embedding_dim):
    """The LSTM's model config: its saved flags, the embedding size, and whether the vectors are pretrained."""
    pretrained = args.embeddings.lower() != "none"
    return {
        **model_config(args),
        "embedding_dim": embedding_dim,
        "pretrained_embeddings": pretrained,
        "trainable_embeddings": args.trainable_embeddings or not pretrained,
    }


def build_lstm_model(keras, config, vocabulary_size, num_labels):
    """Embedding → [dense] → LSTM layers (maybe bidirectional) → [max or mean over steps] → [dropout] → softmax."""
    layers = keras.layers
    inputs = keras.Input(shape=(config["max_seq_len"],), dtype="int32", name="token_ids")
    x = layers.Embedding(
        vocabulary_size,
        config["embedding_dim"],
        mask_zero=config["padding"] == "mask",
        trainable=config["trainable_embeddings"],
        name="embedding",
    )(inputs)
    if config["dense_after_embedding"]:
        x = layers.Dense(config["dense_after_embedding"], activation="relu", name="token_dense")(x)
    pooling = config["pooling"]
    for i in range(config["lstm_layers"]):
        # every layer but the last returns its whole output sequence; the last one too when it is pooled
        lstm = layers.LSTM(
            config["lstm_units"],
            dropout=config["dropout"],
            recurrent_dropout=config["recurrent_dropout"],
            return_sequences=i < config["lstm_layers"] - 1 or pooling != "last",
            name=f"lstm_{i + 1}",
        )
        x = layers.Bidirectional(lstm, name=f"bidirectional_{i + 1}")(x) if config["bidirectional"] else lstm(x)
    if pooling == "mean":  # Keras' average skips masked steps
        x = layers.GlobalAveragePooling1D(name="mean_pooling")(x)
    elif pooling == "max":
        x = max_over_time(keras)(name="max_pooling")(x)
    if config["output_dropout"]:
        x = layers.Dropout(config["output_dropout"], name="output_dropout")(x)
    outputs = layers.Dense(num_labels, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name="lstm_classifier")


def max_over_time(keras):
    """The layer class of a maximum over the steps that skips masked (padding) steps, which Keras'
    GlobalMaxPooling1D would count; registered, so a saved model loads in safe mode."""
    if registered := keras.saving.get_custom_objects().get("lfd>MaxOverTime"):
        return registered

    @keras.saving.register_keras_serializable(package="lfd")
    class MaxOverTime(keras.layers.Layer):
        def call(self, inputs, mask=None):
            if mask is None:
                return keras.ops.max(inputs, axis=1)
            mask = keras.ops.expand_dims(keras.ops.cast(mask, "bool"), -1)
            largest = keras.ops.max(keras.ops.where(mask, inputs, -1e9), axis=1)
            return keras.ops.where(keras.ops.any(mask, axis=1), largest, 0.0)  # an all-padding row: zeros

        def compute_mask(self, inputs, mask=None):
            return None

    return MaxOverTime


def make_optimizer(keras, config):
    options = {"learning_rate": config["learning_rate"], "clipnorm": config["clipnorm"]}  # None: Keras' default
    if config["weight_decay"] is not None:  # None: the optimizer's own default
        options["weight_decay"] = config["weight_decay"]
    if config["optimizer"] in MOMENTUM_OPTIMIZERS:
        options["momentum"] = config["momentum"]
    return getattr(keras.optimizers, KERAS_OPTIMIZERS[config["optimizer"]])(**options)


class LstmClassifier:
    """A Keras model with the vocabulary and config it needs to label token lists."""

    family = "lstm"

    def __init__(self, model, vocabulary, config):
        self.model, self.vocabulary, self.config = model, vocabulary, config
        self.index = {word: i for i, word in enumerate(vocabulary)}

    def encode(self, texts):
        return encode(texts, self.index, self.config["max_seq_len"], self.config["padding"], self.config["truncation"])

    def predict_proba(self, texts, batch_size=256):
        return np.asarray(self.model.predict(self.encode(texts), batch_size=batch_size, verbose=0))

    def write_files(self, folder):
        self.model.save(os.path.join(folder, "model.keras"))
        with open(os.path.join(folder, "vocabulary.json"), "w", encoding="utf-8") as out:
            json.dump(self.vocabulary, out)


def start_keras(args):
    """Keras on the chosen backend, seeded: (keras, backend, device)."""
    backend = choose_backend(args.backend)
    keras = import_keras(backend)
    keras.utils.set_random_seed(args.seed)
    device = describe_device(backend)
    log.info("Keras %s on %s (%s)", keras.__version__, backend, device)
    return keras, backend, device


def train_lstm(args, data):
    """Build and fit the LSTM with early stopping on dev loss."""
    embeddings = prepare_embeddings(args, data)  # embedding errors before the slow import
    keras, backend, device = start_keras(args)
    config = lstm_config(args, embeddings.dim)
    model = build_lstm_model(keras, config, len(embeddings.vocabulary), len(data.label_order))
    if embeddings.matrix is not None:
        model.get_layer("embedding").set_weights([embeddings.matrix])
    model.compile(
        optimizer=make_optimizer(keras, config), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    model.summary()
    classifier = LstmClassifier(model, embeddings.vocabulary, config)
    train, dev = data.splits["train"], data.splits["dev"]
    epoch_seconds, started = [], []  # wall seconds of each epoch (the first includes compilation)
    callbacks = [
        keras.callbacks.LambdaCallback(
            on_epoch_begin=lambda epoch, logs: started.append(time.perf_counter()),
            on_epoch_end=lambda epoch, logs: epoch_seconds.append(round(time.perf_counter() - started[-1], 3)),
        )
    ]
    if args.patience:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=args.patience, restore_best_weights=True, verbose=1
            )
        )
    start = time.perf_counter()
    history = model.fit(
        classifier.encode(train.texts),
        data.label_ids(train),
        validation_data=(classifier.encode(dev.texts), data.label_ids(dev)),
        epochs=args.epochs,
        batch_size=args.batch_size,
        callbacks=callbacks,
        verbose=args.verbose,
    )
    seconds = time.perf_counter() - start
    curves = {key: [round(float(v), 5) for v in values] for key, values in history.history.items()}
    epochs_run = len(curves["loss"])
    best = check_converged(curves, args.patience, epochs_run)
    info = {
        "epochs_run": epochs_run,
        "best_epoch": best,
        "history": curves,
        "epoch_seconds": epoch_seconds,
        "steady_epoch_seconds": float(np.median(epoch_seconds[1:] or epoch_seconds)),
        "train_seconds": round(seconds, 3),
        "train_examples": len(train.ids),
        "train_examples_per_second": round(len(train.ids) * epochs_run / seconds, 1),
        "parameters": int(model.count_params()),
        "trainable_parameters": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        "vocabulary_size": len(embeddings.vocabulary),
        "embedding_coverage": embeddings.coverage,
        "model_config": config,
    }
    return Trained(classifier, info, backend, device, ["keras", backend])


def refuse_unless(holds, saved, problem):
    """A loaded model whose parts disagree is refused, whatever its hashes say."""
    if not holds:
        raise InputError(f"--load_model {saved['folder']}: {problem}; its files do not belong together")


def load_lstm(args, saved):
    """The saved Keras model (in safe mode: a config naming arbitrary functions is refused) and its vocabulary."""
    keras, backend, device = start_keras(args)
    folder = saved["files_at"]
    try:
        vocabulary = json.loads(read_file(os.path.join(folder, "vocabulary.json")))
        max_over_time(keras)  # registered before a model that uses it is read
        model = keras.models.load_model(os.path.join(folder, "model.keras"), safe_mode=True)
    except Exception as error:
        raise InputError(f"--load_model {saved['folder']}: cannot be loaded ({first_line(error)})") from error
    words = isinstance(vocabulary, list) and all(isinstance(word, str) for word in vocabulary)
    refuse_unless(words and len(set(vocabulary)) == len(vocabulary), saved, "vocabulary.json is not a word list")
    rows, outputs = model.get_layer("embedding").input_dim, model.output_shape[-1]
    refuse_unless(rows == len(vocabulary), saved, f"the embedding has {rows} rows for {len(vocabulary)} words")
    refuse_unless(
        outputs == len(saved["labels"]), saved, f"the model has {outputs} outputs for {len(saved['labels'])} labels"
    )
    classifier = LstmClassifier(model, vocabulary, saved["config"])
    return Trained(classifier, loaded_info(saved, int(model.count_params())), backend, device, ["keras", backend])


# ---- Transformer family (PyTorch, the Hugging Face Trainer): model, precision, training, loading --------------------


def check_lm_flags(args, given):
    if args.lr_scheduler_type != "polynomial" and ({"lr_end", "lr_power"} & given):
        raise InputError("--lr_end and --lr_power apply to --lr_scheduler_type polynomial only")
    if args.pad_to_max_length and "group_by_length" in given and args.group_by_length:
        raise InputError("--group_by_length with --pad_to_max_length: every batch is --max_length long anyway")
    if args.pad_to_multiple_of > args.max_length:
        raise InputError(
            f"--pad_to_multiple_of {args.pad_to_multiple_of}: more than --max_length {args.max_length} "
            "tokens; batches would be padded beyond their longest review"
        )


def world():
    """(rank, number of processes) under torchrun or accelerate launch; (0, 1) in a plain run."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def import_transformers():
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("USE_TF", "0")  # else transformers imports its TensorFlow side, not needed here
    import torch
    import transformers

    transformers.logging.set_verbosity_error()  # our own log says what matters (e.g. the new head)
    transformers.logging.disable_progress_bar()  # loading and saving bars; the Trainer's own obeys --verbose
    return torch, transformers


def cpu_bf16_flags(torch):
    """The NATIVE_BF16_FLAGS this CPU has, by CPUID (a torch before get_capabilities, 2.4-2.7: /proc/cpuinfo, Linux
    only); the same answer on every start, unlike a timed probe. ARM's bf16 is not counted: not measured."""
    try:
        found = {name for name, value in torch.cpu.get_capabilities().items() if value is True}
    except AttributeError:
        try:
            with open(CPUINFO, encoding="utf-8") as handle:
                found = set(next(line for line in handle if line.startswith("flags")).split(":", 1)[1].split())
        except (OSError, StopIteration):
            found = set()
    return [flag for flag in NATIVE_BF16_FLAGS if flag in found]


def choose_precision(torch, requested, device):
    """(precision, why): auto is bf16 where the hardware computes it natively, else fp16 on a GPU, fp32 on a CPU."""
    if requested == "fp16" and device == "cpu":
        raise InputError("--precision fp16 needs a GPU; use fp32 or bf16 on a CPU")
    if requested != "auto":
        return requested, f"--precision {requested}"
    if device == "cuda":  # torch.cuda.is_bf16_supported() also says yes where bf16 is emulated (a T4, 7.5)
        major, minor = torch.cuda.get_device_capability()
        if (major, minor) >= (8, 0):
            return "bf16", f"auto: GPU compute capability {major}.{minor} has native bf16"
        return "fp16", f"auto: GPU compute capability {major}.{minor} has no native bf16 (8.0 on)"
    if flags := cpu_bf16_flags(torch):
        return "bf16", f"auto: CPU has native bf16 ({', '.join(flags)})"
    return "fp32", f"auto: CPU has no native bf16 (none of {', '.join(NATIVE_BF16_FLAGS)})"


LM_FOLDER_FILES = [
    ("config.json",),
    ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"),
    ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model", "tokenizer.model"),
]


LM_FOLDER_FILES = [
    ("config.json",),
    ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"),
    ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model", "tokenizer.model"),
]


def check_lm_source(name):
    """A local --lm_name folder must hold a config, weights and a tokenizer; a name meant as a folder must exist.
    Anything else is a hub id, looked for in the cache and then on the hub (from_pretrained)."""
    if os.path.exists(name):
        if not os.path.isdir(name):
            raise InputError(f"--lm_name {name}: is a file; give a model folder or a hub id")
        for names, what in zip(LM_FOLDER_FILES, ("config.json", "weights", "tokenizer"), strict=True):
            if not any(os.path.isfile(os.path.join(name, file)) for file in names):
                raise InputError(f"--lm_name {name}: no {what} in this folder (looked for {', '.join(names)})")
        return
    owner = name.split("/")[0]
    meant_as_folder = name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name
    if meant_as_folder or ("/" in name and os.path.isdir(owner)):
        parent = os.path.dirname(name.rstrip("/")) or "."
        entries = sorted(os.listdir(parent)) if os.path.isdir(parent) else []
        models = [entry for entry in entries if os.path.isfile(os.path.join(parent, entry, "config.json"))]
        where = f" ({parent} holds the model folders {', '.join(models[:5])})" if models else ""
        raise InputError(f"--lm_name {name}: no such folder{where}")


def offline():
    return os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0", "false", "False")


def hub_reachable(seconds=3):
    """Whether the Hugging Face hub answers at all: a connection, within seconds, not a minute of retries."""
    url = urllib.parse.urlsplit(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), seconds).close()
    except OSError:
        return False
    return True


def from_pretrained(transformers, name, where, trust_remote_code, **head):
    """Tokenizer and classification model, the weights in float32 (fine-tuning fp16 or bf16 weights loses small
    updates: --precision decides the compute only); a folder's own code runs only with --trust_remote_code. A hub id
    is looked for in the local cache first, then on the hub where it can be reached."""
    import torch

    def load(**source):
        tokenizer = transformers.AutoTokenizer.from_pretrained(name, trust_remote_code=trust_remote_code, **source)
        model = transformers.AutoModelForSequenceClassification.from_pretrained(
            name, trust_remote_code=trust_remote_code, dtype=torch.float32, **head, **source
        )
        return tokenizer, model

    try:
        if os.path.exists(name):
            return load()
        try:
            return load(local_files_only=True)
        except OSError:
            if offline() or not hub_reachable():
                why = "offline (HF_HUB_OFFLINE)" if offline() else "the hub cannot be reached"
                raise InputError(
                    f"{where}: not a local folder, and not in the Hugging Face cache while {why}; "
                    "download it where there is internet, or pass a local model folder"
                ) from None
            return load()
    except InputError:
        raise
    except Exception as error:  # also a pickle that torch's weights_only refuses
        if not trust_remote_code and ("trust_remote_code" in str(error) or "custom code" in str(error)):
            raise InputError(
                f"{where}: the model needs its own code; pass --trust_remote_code if you trust it"
            ) from error
        raise InputError(f"{where}: cannot be loaded ({first_line(error)})") from error


class LengthBuckets:
    """A batch sampler: each epoch shuffles the reviews, sorts runs of 50 batches' worth by length, cuts them into
    batches and shuffles the batches. Padding shrinks to what a batch needs, while the order of lengths (and of
    the classes that go with them) stays random; the Trainer's own group_by_length sorts runs longest-first."""

    def __init__(self, lengths, batch_size, seed, runs_of=50):
        self.lengths, self.batch_size, self.seed, self.runs_of = np.asarray(lengths), batch_size, seed, runs_of
        self.epoch = 0

    def __len__(self):
        return -(-len(self.lengths) // self.batch_size)

    def set_epoch(self, epoch):  # the Trainer's, at each epoch: a resumed run takes up the same order
        self.epoch = epoch

    def __iter__(self):
        rng, run = np.random.default_rng([self.seed, self.epoch]), self.batch_size * self.runs_of
        self.epoch += 1
        order = rng.permutation(len(self.lengths))
        order = np.concatenate(
            [
                chunk[np.argsort(-self.lengths[chunk], kind="stable")]
                for chunk in np.split(order, range(run, len(order), run))
            ]
        )
        batches = [order[i : i + self.batch_size].tolist() for i in range(0, len(order), self.batch_size)]
        for i in rng.permutation(len(batches)):
            yield batches[i]


class LmClassifier:
    """A sequence-classification transformer with its tokenizer and config."""

    family = "lm"

    def __init__(self, model, tokenizer, config, device, precision, batch_size, pad_to_multiple_of=1):
        self.model, self.tokenizer, self.config, self.device = model, tokenizer, config, device
        self.precision, self.batch_size, self.pad_to_multiple_of = precision, batch_size, pad_to_multiple_of

    def encode(self, texts, pad=False):
        """Subword ids of the tokens --truncation keeps; the special tokens at both ends stay."""
        texts, length, truncation = [" ".join(t) for t in texts], self.config["max_length"], self.config["truncation"]
        if truncation == "head":
            return self.tokenizer(texts, truncation=True, max_length=length, padding="max_length" if pad else False)
        ends, tokenizer = self.tokenizer("a")["input_ids"], self.tokenizer
        if tokenizer.num_special_tokens_to_add() != 2 or not {ends[0], ends[-1]} <= set(tokenizer.all_special_ids):
            raise InputError(
                f"--truncation {truncation}: the tokenizer of {self.config['lm_name']} does not mark a "
                "review with one special token at each end; use --truncation head"
            )

        def cut(row):  # the special tokens at both ends stay
            return row[:1] + keep_tokens(row[1:-1], length - 2, truncation) + row[-1:]

        encoded = self.tokenizer(texts, truncation=False)
        for key, rows in encoded.items():
            encoded[key] = [row if len(row) <= length else cut(row) for row in rows]
        return self.tokenizer.pad(encoded, padding="max_length", max_length=length) if pad else encoded

    def predict_proba(self, texts):
        """Class probabilities in input order; batches are formed by length, so little padding."""
        import torch

        encoded = self.encode(texts)
        order = np.argsort([-len(ids) for ids in encoded["input_ids"]], kind="stable")
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)
        self.model.to(self.device).eval()
        probs = np.zeros((len(texts), self.model.config.num_labels), dtype=np.float32)
        with (
            torch.inference_mode(),
            torch.autocast(self.device, dtype=dtype or torch.bfloat16, enabled=dtype is not None),
        ):
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                batch = self.tokenizer.pad(
                    [{key: values[i] for key, values in encoded.items()} for i in rows],
                    pad_to_multiple_of=self.pad_to_multiple_of,
                    return_tensors="pt",
                )
                logits = self.model(**{key: value.to(self.device) for key, value in batch.items()}).logits
                probs[rows] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        return probs

    def write_files(self, folder):
        self.model.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)


def token_statistics(tokenizer, texts, max_length):
    """Mean subword tokens per review (special tokens included) and the share cut at max_length."""
    lengths = np.array([len(ids) for ids in tokenizer([" ".join(t) for t in texts], truncation=False)["input_ids"]])
    return {
        "mean": round(float(lengths.mean()), 1),
        "median": float(np.median(lengths)),
        "truncated_share": round(float(np.mean(lengths > max_length)), 4),
    }


def training_arguments(transformers, args, output_dir, precision, device):
    """The Trainer's TrainingArguments from the flags."""
    evaluate_epochs = args.epochs > 1
    best_at_end = bool(evaluate_epochs and args.patience)
    schedule = {"lr_scheduler_type": args.lr_scheduler_type}
    if args.lr_scheduler_type == "constant" and args.warmup_ratio:
        schedule["lr_scheduler_type"] = "constant_with_warmup"
    if args.lr_scheduler_type == "polynomial":
        lr_end = 1e-7 if args.lr_end is None else args.lr_end
        power = 1.0 if args.lr_power is None else args.lr_power
        schedule["lr_scheduler_kwargs"] = {"lr_end": lr_end, "power": power}
    return transformers.TrainingArguments(
        output_dir=output_dir,
        per_device_train_batch_size=device_batch_size(args),
        per_device_eval_batch_size=args.eval_batch_size,
        num_train_epochs=args.epochs,
        learning_rate=args.learning_rate,
        weight_decay=args.weight_decay,
        warmup_steps=args.warmup_ratio,  # below 1: a share of the training steps
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        seed=args.seed,
        **schedule,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        use_cpu=device == "cpu",
        report_to="none",
        disable_tqdm=args.verbose != 1,
        logging_strategy="epoch",
        eval_strategy="epoch" if evaluate_epochs else "no",
        save_strategy="epoch" if best_at_end or args.checkpoint_dir else "no",
        load_best_model_at_end=best_at_end,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        save_only_model=not args.checkpoint_dir,  # a checkpoint to resume from keeps the optimizer's state too
        save_total_limit=1,
        dataloader_num_workers=0,
        # the heads average their loss over the batch already; on, the Trainer multiplies it by torchrun's processes
        average_tokens_across_devices=False,
    )


def device_batch_size(args):
    """--batch_size is the batch of one optimizer step: N processes (torchrun) take 1/N of it each."""
    processes = world()[1]
    if args.batch_size % processes:
        raise InputError(f"--batch_size {args.batch_size}: not divisible by the {processes} processes of this run")
    return args.batch_size // processes


def make_trainer(transformers, args, model, tokenizer, datasets, output_dir, precision, device, pad_to_multiple_of=1):
    """A Trainer with per-batch padding, early stopping on dev loss, optional length buckets and readable progress."""
    buckets = None
    if args.group_by_length and not args.pad_to_max_length:
        lengths = [len(row["input_ids"]) for row in datasets["train"]]
        buckets = LengthBuckets(lengths, device_batch_size(args), args.seed)

    class Trainer(transformers.Trainer):
        losses = []  # of the steps since the last progress line

        def get_train_dataloader(self):
            if buckets is None:
                return super().get_train_dataloader()
            from torch.utils.data import DataLoader

            loader = DataLoader(datasets["train"], batch_sampler=buckets, collate_fn=self.data_collator)
            return self.accelerator.prepare(loader)

        def training_step(self, *arguments, **options):
            loss = super().training_step(*arguments, **options)
            self.losses.append(loss)
            return loss

    def accuracy(prediction):
        return {"accuracy": float(np.mean(prediction.predictions.argmax(-1) == prediction.label_ids))}

    progress = progress_callback(transformers, args)
    callbacks = [progress]
    if args.epochs > 1 and args.patience:
        callbacks.append(transformers.EarlyStoppingCallback(early_stopping_patience=args.patience))
    trainer = Trainer(
        model=model,
        args=training_arguments(transformers, args, output_dir, precision, device),
        train_dataset=datasets["train"],
        eval_dataset=datasets["dev"],
        data_collator=transformers.DataCollatorWithPadding(tokenizer, pad_to_multiple_of=pad_to_multiple_of),
        processing_class=tokenizer,
        compute_metrics=accuracy,
        callbacks=callbacks,
    )
    progress.trainer = trainer  # its lines read the losses of the steps
    # the Trainer's own printing shows its logs as raw dicts: at a terminal its bar stays, without them
    trainer.remove_callback(transformers.PrinterCallback)
    if args.verbose == 1:
        trainer.remove_callback(transformers.ProgressCallback)
        trainer.add_callback(type("Bar", (transformers.ProgressCallback,), {"on_log": lambda *_, **__: None}))
    return trainer


def progress_callback(transformers, args):
    """Dev scores at each epoch's end; with --verbose 2 also a line every 2% of the steps or every minute (epoch,
    step, loss, reviews per second, time left), for files, pipes and notebooks, where a bar does not redraw."""

    class Progress(transformers.TrainerCallback):
        def on_train_begin(self, arguments, state, control, **_):
            self.start = self.shown = time.perf_counter()
            self.first = self.last = state.global_step

        def on_step_end(self, arguments, state, control, model=None, **_):
            now, step, total = time.perf_counter(), state.global_step, state.max_steps
            due = step - self.last >= total / 50 or now - self.shown >= 60 or step == total
            losses = self.trainer.losses
            if args.verbose != 2 or not due or not losses:
                return
            loss = float(sum(losses) / len(losses)) * args.gradient_accumulation_steps
            losses.clear()
            seconds_per_step = (now - self.start) / (step - self.first)
            reviews_per_second = args.batch_size / seconds_per_step
            left = datetime.timedelta(seconds=round(seconds_per_step * (total - step)))
            epoch = min(math.floor(state.epoch) + 1, args.epochs)
            log.info(
                "epoch %d/%d, step %d/%d: loss %.4f, %.1f reviews/s, %s left",
                epoch,
                args.epochs,
                step,
                total,
                loss,
                reviews_per_second,
                left,
            )
            self.shown, self.last = now, step

        def on_evaluate(self, arguments, state, control, metrics=None, **_):
            if args.verbose and metrics:
                log.info(
                    "epoch %d/%d: dev loss %.4f, dev accuracy %.4f",
                    round(state.epoch),
                    args.epochs,
                    metrics["eval_loss"],
                    metrics["eval_accuracy"],
                )

    return Progress()


def epoch_history(log_history):
    """Per-epoch training loss, dev loss and dev accuracy from the Trainer's log."""
    keys = {"loss": "loss", "val_loss": "eval_loss", "val_accuracy": "eval_accuracy"}
    return {name: [round(float(entry[key]), 5) for entry in log_history if key in entry] for name, key in keys.items()}


def checkpoint_to_resume(transformers, args, run):
    """The last checkpoint in --checkpoint_dir, if it holds this same run's (None: the run starts afresh there);
    another run's checkpoints are refused, never mixed in."""
    folder = args.checkpoint_dir
    identity = os.path.join(folder, CHECKPOINT_RUN)
    if not os.path.isdir(folder) or not os.listdir(folder):
        os.makedirs(folder, exist_ok=True)
        with open(identity, "w", encoding="utf-8") as out:
            json.dump(run, out, indent=1, sort_keys=True)
        return None
    try:
        theirs = json.loads(read_file(identity, MAX_CONFIG_BYTES))
    except (OSError, ValueError):
        theirs = None
    if theirs != run:
        raise InputError(
            f"--checkpoint_dir {folder}: holds the checkpoints of another run (other flags, seed or "
            "data) or files that are not checkpoints; give a new or empty folder"
        )
    return transformers.trainer_utils.get_last_checkpoint(folder)


def train_lm(args, data):
    """Fine-tune the pretrained model on train, early-stopping on dev; resumes from --checkpoint_dir."""
    check_lm_source(args.lm_name)  # before the slow imports
    torch, transformers, device, precision, where = start_torch(args)
    transformers.set_seed(args.seed)
    labels = data.label_order
    tokenizer, model = from_pretrained(
        transformers,
        args.lm_name,
        f"--lm_name {args.lm_name}",
        args.trust_remote_code,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    check_max_length(args, model, tokenizer)
    log.info("%s: %s with a new %d-class head", args.lm_name, type(model).__name__, len(labels))
    if args.freeze_encoder:  # the head alone trains, with a pooler it reads (which the checkpoint may lack)
        for name, parameter in model.base_model.named_parameters():
            parameter.requires_grad = parameter.requires_grad and "pooler" in name
    config = model_config(args)
    classifier = LmClassifier(
        model, tokenizer, config, device, precision, args.eval_batch_size, args.pad_to_multiple_of
    )
    datasets = {}
    for name in ("train", "dev"):
        split = data.splits[name]
        encoded = classifier.encode(split.texts, pad=args.pad_to_max_length)
        datasets[name] = [
            {**{key: values[i] for key, values in encoded.items()}, "labels": label}
            for i, label in enumerate(data.label_ids(split))
        ]
    tokens = {name: token_statistics(tokenizer, data.splits[name].texts, args.max_length) for name in datasets}
    log.info(
        "train: %.1f subword tokens per review, %.1f%% cut at --max_length %d",
        tokens["train"]["mean"],
        100 * tokens["train"]["truncated_share"],
        args.max_length,
    )
    with contextlib.ExitStack() as stack:
        if args.checkpoint_dir:
            output_dir = args.checkpoint_dir
            run = json.loads(
                json.dumps({"tool": PROG, "config": config, "data_sha256": data.sha256, "labels": labels})
            )
            resume = checkpoint_to_resume(transformers, args, run)
        else:  # the Trainer's scratch folder, removed however the run ends (but a SIGKILL)
            output_dir, resume = stack.enter_context(tempfile.TemporaryDirectory(prefix="lfd-trainer-")), None
        resumed_from = 0
        if resume:
            resumed_from = json.loads(read_file(os.path.join(resume, "trainer_state.json")))["epoch"]
            log.info("--checkpoint_dir %s: resuming after epoch %g (%s)", output_dir, resumed_from, resume)
        trainer = make_trainer(
            transformers,
            args,
            model,
            tokenizer,
            datasets,
            output_dir,
            precision,
            device,
            classifier.pad_to_multiple_of,
        )
        start = time.perf_counter()
        trainer.train(resume_from_checkpoint=resume)
        seconds = time.perf_counter() - start
    curves = epoch_history(trainer.state.log_history)
    epochs_run = max(1, round(trainer.state.epoch or args.epochs))
    best = check_converged(curves, args.patience, epochs_run)
    parameters = list(model.parameters())
    info = {
        "epochs_run": epochs_run,
        "best_epoch": best,
        "history": curves,
        "train_seconds": round(seconds, 3),
        "resumed_from_epoch": resumed_from,
        "train_examples_per_second": round(len(datasets["train"]) * (epochs_run - resumed_from) / seconds, 2),
        "train_examples": len(datasets["train"]),
        "optimizer_steps": trainer.state.global_step,
        "parameters": int(sum(p.numel() for p in parameters)),
        "trainable_parameters": int(sum(p.numel() for p in parameters if p.requires_grad)),
        "tokens_per_review": tokens,
        "padding": "max_length" if args.pad_to_max_length else "longest in batch",
        "pad_to_multiple_of": classifier.pad_to_multiple_of,
        "batches": "length buckets" if args.group_by_length and not args.pad_to_max_length else "random",
        "precision": precision,
        "model_config": classifier.config,
        **where,
    }
    return Trained(classifier, info, "torch", device_name(torch, device), ["torch", "transformers", "accelerate"])


def check_max_length(args, model, tokenizer):
    """The longest input: the position table or the tokenizer's limit, the smaller (RoBERTa's, MPNet's table: 2
    more)."""
    limits = [getattr(model.config, "max_position_embeddings", None), tokenizer.model_max_length]
    limits = [n for n in limits if isinstance(n, int) and 0 < n < 100_000]
    if limits and args.max_length > min(limits):
        raise InputError(f"--max_length {args.max_length}: {args.lm_name} takes at most {min(limits)} tokens")


def device_name(torch, device):
    return f"gpu:{torch.cuda.get_device_name(0)}" if device == "cuda" else f"cpu ({torch.get_num_threads()} threads)"


def start_torch(args):
    """torch and transformers, the device and precision: (torch, transformers, device, precision, the record's
    words on them)."""
    torch, transformers = import_transformers()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    precision, reason = choose_precision(torch, args.precision, device)
    log.info(
        "transformers %s, torch %s on %s, %s (%s)",
        transformers.__version__,
        torch.__version__,
        device_name(torch, device),
        precision,
        reason,
    )
    where = {"precision_reason": reason}
    if device == "cuda":  # cuDNN's attention plans each batch shape anew: with per-batch padding on an H100 it made
        # bf16 training 4.7 and prediction 8.5 times slower than the other attention kernels (bench/README.md)
        torch.backends.cuda.enable_cudnn_sdp(False)
        where["cudnn_attention"] = torch.backends.cuda.cudnn_sdp_enabled()
    else:
        where["cpu_bf16_flags"] = cpu_bf16_flags(torch)
    return torch, transformers, device, precision, where


def load_lm(args, saved):
    torch, transformers, device, precision, where = start_torch(args)
    tokenizer, model = from_pretrained(
        transformers, saved["files_at"], f"--load_model {saved['folder']}", args.trust_remote_code
    )
    labels = len(saved["labels"])
    refuse_unless(
        model.config.num_labels == labels,
        saved,
        f"the model has {model.config.num_labels} outputs for {labels} labels",
    )
    classifier = LmClassifier(
        model, tokenizer, saved["config"], device, precision, args.eval_batch_size, args.pad_to_multiple_of
    )
    info = {**loaded_info(saved, int(sum(p.numel() for p in model.parameters()))), "precision": precision, **where}
    return Trained(classifier, info, "torch", device_name(torch, device), ["torch", "transformers", "accelerate"])


# ---- tf-idf family (scikit-learn): the linear baseline --------------------------------------------------------------


class TfidfClassifier:
    """tf-idf weighted word n-grams and a linear classifier's weights: scores = X W^T + b."""

    family = "tfidf"

    def __init__(self, vectorizer, coef, intercept, config):
        self.vectorizer, self.config = vectorizer, config
        self.coef, self.intercept = np.asarray(coef, dtype=np.float64), np.asarray(intercept, dtype=np.float64)

    def predict_proba(self, texts):
        scores = self.vectorizer.transform(texts) @ self.coef.T + self.intercept
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        return scores / scores.sum(axis=1, keepdims=True)

    def write_files(self, folder):
        arrays = {"idf": self.vectorizer.idf_, "coef": self.coef, "intercept": self.intercept}
        np.savez_compressed(os.path.join(folder, "linear.npz"), **arrays)
        terms = sorted(self.vectorizer.vocabulary_, key=self.vectorizer.vocabulary_.get)
        with open(os.path.join(folder, "terms.json"), "w", encoding="utf-8") as out:
            json.dump(terms, out)


def tfidf_vectorizer(config, vocabulary=None):
    """n-grams of the corpus' own tokens (it is tokenized and lowercased already)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer="word",
        tokenizer=list,
        preprocessor=list,
        token_pattern=None,
        lowercase=False,
        ngram_range=(1, config["ngram_max"]),
        min_df=config["min_df"],
        sublinear_tf=config["sublinear_tf"],
        vocabulary=vocabulary,
    )


def train_tfidf(args, data):
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    config, start = model_config(args), time.perf_counter()
    vectorizer = tfidf_vectorizer(config)
    features = vectorizer.fit_transform(data.splits["train"].texts)
    if args.linear_model == "svm":
        model = LinearSVC(C=args.C, random_state=args.seed)
    else:
        model = LogisticRegression(C=args.C, max_iter=1000, random_state=args.seed)
    model.fit(features, data.label_ids(data.splits["train"]))
    seconds = time.perf_counter() - start
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:  # two classes: one score, for the second class
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
    log.info("tf-idf: %d n-gram features; %s fitted in %.1f s", features.shape[1], args.linear_model, seconds)
    info = {
        "train_seconds": round(seconds, 3),
        "train_examples": features.shape[0],
        "features": int(features.shape[1]),
        "parameters": int(coef.size + intercept.size),
        "model_config": config,
    }
    return Trained(TfidfClassifier(vectorizer, coef, intercept, config), info, "scikit-learn", "cpu", ["scipy"])


def load_tfidf(args, saved):
    folder = saved["files_at"]
    try:
        terms = json.loads(read_file(os.path.join(folder, "terms.json")))
        with np.load(os.path.join(folder, "linear.npz"), allow_pickle=False) as arrays:  # no pickles
            idf, coef, intercept = (np.asarray(arrays[key], dtype=np.float64) for key in ("idf", "coef", "intercept"))
    except Exception as error:
        raise InputError(f"--load_model {saved['folder']}: cannot be loaded ({first_line(error)})") from error
    distinct_terms = (
        isinstance(terms, list) and all(isinstance(term, str) for term in terms) and len(set(terms)) == len(terms)
    )
    refuse_unless(distinct_terms, saved, "terms.json is not a list of distinct terms")
    shapes = {"idf": idf.shape, "coef": coef.shape, "intercept": intercept.shape}
    expected = {"idf": (len(terms),), "coef": (len(saved["labels"]), len(terms)), "intercept": (len(saved["labels"]),)}
    refuse_unless(
        shapes == expected,
        saved,
        f"linear.npz holds shapes {shapes} for {len(terms)} terms and {len(saved['labels'])} labels",
    )
    vectorizer = tfidf_vectorizer(saved["config"], vocabulary={term: i for i, term in enumerate(terms)})
    vectorizer.idf_ = idf
    classifier = TfidfClassifier(vectorizer, coef, intercept, saved["config"])
    info = loaded_info(saved, int(coef.size + intercept.size))
    return Trained(classifier, info, "scikit-learn", "cpu", ["scipy"])


# ---- run and main ---------------------------------------------------------------------------------------------------


@dataclass
class Family:
    """A model family: its --help group and --model line, the shared groups it reads, its defaults for flags whose
    default is None in argparse, the library versions it needs (requirements.txt's floors), its own flag check, how it
    trains and loads, its input flags, whether it runs under torchrun."""

    title: str
    summary: str
    reads: tuple
    defaults: dict
    requires: dict
    check: object  # (args, given flags): raises InputError
    train: object  # (args, data) -> Trained
    load: object  # (args, a saved model's config) -> Trained
    inputs: tuple = ()
    processes: bool = False


def no_check(args, given):
    return None


FAMILIES = {
    "lstm": Family(
        "LSTM (--model lstm)",
        "Keras, word embeddings",
        ("data", "training", "output"),
        {"learning_rate": 1e-3, "epochs": 50},
        {"keras": "3.8", "numpy": "1.26"},
        check_lstm_flags,
        train_lstm,
        load_lstm,
        ("embeddings",),
    ),
    "lm": Family(
        "transformer (--model lm)",
        "Hugging Face transformer",
        ("data", "training", "output"),
        {"learning_rate": 5e-5, "epochs": 1, "weight_decay": 0.0},
        {"torch": "2.4", "transformers": "5.0", "accelerate": "1.0", "numpy": "1.26"},
        check_lm_flags,
        train_lm,
        load_lm,
        ("lm_name",),
        True,
    ),
    "tfidf": Family(
        "linear baseline (--model tfidf)",
        "a linear classifier on tf-idf n-grams, scikit-learn: the baseline",
        ("data", "output"),
        {},
        {"scikit-learn": "1.3.1", "numpy": "1.26"},
        no_check,
        train_tfidf,
        load_tfidf,
    ),
}


class Ensemble:
    """Saved models evaluated as one: the weighted mean of their class probabilities. Not saved itself (--save_model
    is for training runs); its record lists each member and the weights."""

    family = "ensemble"

    def __init__(self, members, weights, known=(None, None)):
        self.members, self.weights, self.known = members, np.asarray(weights, dtype=np.float64), known
        self.config = {"members": [member.config for member in members], "weights": self.weights.tolist()}

    def predict_proba(self, texts):
        """The members' probabilities (those of the texts that fitted the weights, as computed then), mixed."""
        if texts is self.known[0]:
            probabilities = self.known[1]
        else:
            probabilities = [member.predict_proba(texts) for member in self.members]
        return np.tensordot(self.weights, np.asarray(probabilities), axes=1)


def fit_weights(probabilities, gold, step=0.05):
    """Of the weights in steps of `step` that sum to 1, those whose mix of the members' probabilities gives the
    lowest log loss on the gold label ids (the first of equals)."""
    steps, rows = round(1 / step), np.arange(len(gold))
    choices = itertools.product(range(steps + 1), repeat=len(probabilities))
    grid = [np.array(weights) / steps for weights in choices if sum(weights) == steps]
    losses = [-np.log(np.tensordot(w, probabilities, axes=1)[rows, gold] + 1e-12).mean() for w in grid]
    return grid[int(np.argmin(losses))]


def load_ensemble(args, members, data, saved):
    """Each saved model loaded by its own family, as one Trained; the weights as --ensemble_weights gives them,
    equal, or fitted on dev."""
    loaded = [FAMILIES[each.model].load(each, one) for each, one in zip(members, saved, strict=True)]
    classifiers, weights, known = [each.classifier for each in loaded], args.ensemble_weights, (None, None)
    if weights == ["fit"]:
        if len(members) > 4:
            raise InputError("--ensemble_weights fit: at most 4 models (the grid grows as 21 to the power of N)")
        dev = data.splits["dev"]
        known = dev.texts, [classifier.predict_proba(dev.texts) for classifier in classifiers]
        weights, source = fit_weights(np.asarray(known[1]), data.label_ids(dev)), f"fitted on {dev.path}"
    else:
        source = "given" if weights else "equal"
        weights = np.asarray(weights or [1] * len(members), dtype=np.float64)
        weights = weights / weights.max()  # at most 1e6 each: their sum cannot overflow
    ensemble = Ensemble(classifiers, weights / weights.sum(), known)
    info = {
        "members": [{"family": one["family"], **each.info} for one, each in zip(saved, loaded, strict=True)],
        "weights": ensemble.weights.tolist(),
        "weights_from": source,
    }
    backends = "+".join(dict.fromkeys(each.backend for each in loaded))
    devices = "; ".join(dict.fromkeys(each.device for each in loaded))
    libraries = list(dict.fromkeys(name for each in loaded for name in each.libraries))
    return Trained(ensemble, info, backends, devices, libraries)


def read_saved_models(args, given, scratch):
    """(the run's args, the saved configs, one args per saved model) for --load_model, each model's files copied
    into `scratch` as they were checked; the run's args take a single model's flags, and an ensemble's family is
    "ensemble"."""
    saved = [
        read_saved_model(folder, os.path.join(scratch, f"model-{i}")) for i, folder in enumerate(args.load_model or [])
    ]
    members = [apply_saved_flags(args, one) for one in saved]
    if len(saved) == 1:
        args = members[0]
    elif saved:  # averaged together: the same labels in the same order, for the same task
        args.model, first = "ensemble", saved[0]
        for other in saved[1:]:
            if (other["labels"], other["config"]["task"]) != (first["labels"], first["config"]["task"]):
                raise InputError(
                    f"--load_model {other['folder']}: its labels ({', '.join(other['labels'])}) or task "
                    f"differ from those of {first['folder']}; an ensemble averages one labelling"
                )
    for each in members + [args]:
        apply_family_defaults(each, each.model)
    if saved and "dev_file" not in given and (args.predict_file or not os.path.exists(args.dev_file)):
        args.dev_file = None  # predict-only: dev is evaluated only when asked for
    if saved and not (args.dev_file or args.test_file or args.predict_file):
        raise InputError("--load_model: nothing to do; give --dev_file, --test_file or --predict_file")
    if not saved and not args.dev_file:
        raise InputError("--dev_file is needed for training: early stopping and the evaluation use it")
    return args, saved, members


def run(args, given, argv, scratch):
    """Check all input, then train (or load), evaluate, report; returns the run record."""
    commit = git_commit()  # of the code that runs, before anyone edits it during a long run
    args, saved, members = read_saved_models(args, given, scratch)
    check_flags(args, given)
    check_output_paths(args)
    outputs = [getattr(args, name) for name in OUTPUT_FILES + ("save_model", "checkpoint_dir")]
    name_leftovers(outputs + (args.load_model or []))
    for family in {each.model for each in members} or {args.model}:
        check_versions(family)
    rank, processes = world()
    if processes > 1 and not (args.model in FAMILIES and FAMILIES[args.model].processes):
        raise InputError(f"--model {args.model} trains in one process; run it without torchrun or accelerate launch")
    data = read_data(args, saved[0]["labels"] if saved else None)
    if rank > 0 and saved:
        return None  # several processes: a loaded model is evaluated by the main process alone
    if len(saved) > 1:
        trained = load_ensemble(args, members, data, saved)
    elif saved:
        trained = FAMILIES[args.model].load(args, saved[0])
    else:
        trained = FAMILIES[args.model].train(args, data)
    if rank > 0:
        return None  # the other processes trained with the main one; it alone predicts, saves and reports
    probabilities, predict_seconds = {}, {}
    for name, split in data.splits.items():
        if name != "train":
            start = time.perf_counter()
            probabilities[name] = trained.classifier.predict_proba(split.texts)
            predict_seconds[name] = round(time.perf_counter() - start, 3)
    if args.save_model:
        training = {
            "data_sha256": data.sha256,
            "git_commit": commit,
            "train": {key: value for key, value in trained.info.items() if key != "model_config"},
        }
        save_model_folder(args.save_model, trained.classifier, data.label_order, training)
        log.info("model saved in %s", args.save_model)
    record = build_record(args, data, evaluate_splits(data, probabilities), trained, predict_seconds, commit, argv)
    report(args, data, probabilities, record)
    return record


def error_message(error):
    """One line for any failure; --debug shows where it came from."""
    if isinstance(error, InputError):
        message = str(error)
    elif isinstance(error, ModuleNotFoundError):
        message = f"{error.name.split('.')[0]} is not installed: python -m pip install -r requirements.txt"
    elif isinstance(error, OSError):
        message = (f"{error.filename}: " if error.filename else "") + str(error.strerror or error)
    else:
        message = f"{type(error).__name__}: {error} (run with --debug for the traceback)"
    return " ".join(message.split())[:1000]


def main(argv=None):
    """Command-line entry point; also the library entry for tests. Returns the run record."""
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO if world()[0] == 0 else logging.WARNING)
    args, given = parse_flags(argv)
    debug = args.debug or os.environ.get("LFD_DEBUG", "") not in ("", "0")
    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        if np is None:
            raise ModuleNotFoundError(name="numpy")
        with tempfile.TemporaryDirectory(prefix="lfd-run-") as scratch:  # this run's own: removed however it ends
            return run(args, given, argv, scratch)
    except (KeyboardInterrupt, Terminated) as stop:
        how, status = ("terminated", 143) if isinstance(stop, Terminated) else ("interrupted", 130)
        sys.stderr.write(f"{PROG}: {how}; no output file was half-written\n")
        raise SystemExit(status) from None
    except Exception as error:
        if debug:
            traceback.print_exc()
        sys.stderr.write(f"{PROG}: error: {error_message(error)}\n")
        raise SystemExit(2 if isinstance(error, InputError) else 1) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    try:
        main()
    except SystemExit as stop:
        if stop.code not in (130, 143):
            raise
        # Stopped by a signal: leave at once, skipping the interpreter's teardown, where JAX's threads can crash
        # the process after the message (a segfault, exit 139).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(stop.code)
