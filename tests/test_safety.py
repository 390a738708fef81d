"""Safe by construction (issue 33): loading only reads, what was checked is what runs, models whose parts disagree
are refused whatever their hashes say, and a signal on the jax backend ends a run cleanly. The stream outputs, the
bounds and the leftovers are in test_reliability.py (B, C and E)."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest
from conftest import base_args
from test_cli import SCRIPT
from test_lm import tiny_lm  # noqa: F401 (a fixture)
from test_reliability import copy_model, data, fails, load, main, resign, saved, saved_lm, saved_lstm  # noqa: F401


def tree(folder):
    """Every entry under folder (the folder itself included) with its bytes, mode and modification time."""
    entries = {}
    for root, dirs, files in os.walk(folder):
        for name in [".", *dirs, *files]:
            path = os.path.join(root, name)
            info = os.lstat(path)
            content = pathlib.Path(path).read_bytes() if os.path.isfile(path) else None
            entries[os.path.relpath(path, folder)] = (content, info.st_mode, info.st_mtime_ns)
    return entries


@pytest.mark.parametrize("family", ["tfidf", "lstm", "lm"])
def test_loading_a_model_changes_nothing_on_disk(data, saved, saved_lstm, saved_lm, tmp_path, family):  # noqa: F811
    model = copy_model(saved / family, tmp_path)
    (tmp_path / ".lfd-tmp-model-abcd1234").mkdir()  # a leftover beside it: named, never touched
    before = tree(tmp_path)
    main(load(model, data))
    assert tree(tmp_path) == before


SWAP_DURING_LOAD = """
import os, sys
sys.path.insert(0, {root!r})
import lfd_assignment3 as lfd
real, model, other = lfd.read_file, {model!r}, {other!r}
def read_file(path, limit=None):
    content = real(path, limit)
    if os.path.basename(path) == {after!r} and os.path.exists(other):  # a concurrent save swaps the folder now
        os.rename(model, model + ".old")
        os.rename(other, model)
    return content
lfd.read_file = read_file
lfd.main(sys.argv[1:])
"""


@pytest.mark.parametrize("after", ["lfd_config.json", "terms.json"])
def test_a_model_swapped_while_it_loads_is_refused_or_is_the_model_that_was_checked(data, saved, tmp_path, after):
    """A save replacing the folder after its config was read: the next file's hash disagrees, exit 2. After the
    last file was read: the run predicts with the model it checked and reports, not the new one."""
    model = copy_model(saved / "tfidf", tmp_path)
    other = tmp_path / "other"
    main(["--model", "tfidf", "--train_file", data["dev"], "--dev_file", data["dev"], "--save_model", other])
    script = SWAP_DURING_LOAD.format(root=os.path.dirname(SCRIPT), model=str(model), other=str(other), after=after)
    result = subprocess.run(
        [sys.executable, "-c", script, *map(str, load(model, data)), "--results_file", str(tmp_path / "r.jsonl")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if after == "lfd_config.json":  # linear.npz, read next, is the other model's
        assert result.returncode == 2 and "linear.npz has changed since the model was saved" in result.stderr
        return
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "r.jsonl").read_text())
    original = main(load(tmp_path / "model.old", data))
    assert record["results"]["dev"]["predicted"] == original["results"]["dev"]["predicted"]
    assert record["train"]["model_config"] == original["train"]["model_config"]


def add_a_label(config):
    config["labels"] = config["labels"] + ["dvd"]


def vocabulary_as_dict(folder):
    words = json.loads((folder / "vocabulary.json").read_text())
    (folder / "vocabulary.json").write_text(json.dumps({word: i for i, word in enumerate(words)}))


def repeat_a_term(folder):
    terms = json.loads((folder / "terms.json").read_text())
    (folder / "terms.json").write_text(json.dumps(terms[:-1] + terms[:1]))


def drop_a_word(folder):
    words = json.loads((folder / "vocabulary.json").read_text())
    (folder / "vocabulary.json").write_text(json.dumps(words[:-1]))


INCONSISTENT = {  # family, edit of the files, edit of the config, the one-line reason
    "tfidf labels": ("tfidf", None, add_a_label, "linear.npz holds shapes .* for .* terms and 4 labels"),
    "tfidf repeated term": ("tfidf", repeat_a_term, None, "terms.json is not a list of distinct terms"),
    "lstm labels": ("lstm", None, add_a_label, "the model has 3 outputs for 4 labels"),
    "lstm vocabulary dict": ("lstm", vocabulary_as_dict, None, "vocabulary.json is not a word list"),
    "lstm vocabulary short": ("lstm", drop_a_word, None, "the embedding has 6 rows for 5 words"),
    "lm labels": ("lm", None, add_a_label, "the model has 3 outputs for 4 labels"),
}


@pytest.mark.parametrize("case", sorted(INCONSISTENT))
def test_a_re_signed_model_whose_parts_disagree_is_refused(
    capsys,
    data,
    saved,
    saved_lstm,
    saved_lm,
    tmp_path,  # noqa: F811
    case,
):
    family, edit_files, edit_config, reason = INCONSISTENT[case]
    model = copy_model(saved / family, tmp_path)
    if edit_files:
        edit_files(model)
    resign(model, edit_config)  # every hash recomputed: only the loader's consistency checks stand in the way
    fails(capsys, load(model, data), f"--load_model .*model: {reason}; its files do not belong together")


def start_lstm(data, backend, tmp_path):
    """A long LSTM training on `backend`, with a record and a model to write, in a process of its own, once its first
    epoch has begun."""
    corpus = {"train": data["train"], "dev": data["dev"], "emb_json": "none"}
    argv = base_args(
        corpus,
        "--epochs",
        "1000",
        "--patience",
        "0",
        "--backend",
        backend,
        "--verbose",
        "2",
        "--results_file",
        str(tmp_path / "r.jsonl"),
        "--save_model",
        str(tmp_path / "m"),
    )
    process = subprocess.Popen(
        [sys.executable, SCRIPT, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    while not process.stdout.readline().startswith("Epoch 1/"):
        assert process.poll() is None, process.stderr.read()
    time.sleep(0.5)
    return process


@pytest.mark.slow
@pytest.mark.parametrize("stop, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_an_lstm_epoch_on_jax_exits_cleanly(data, tmp_path, stop, status):
    process = start_lstm(data, "jax", tmp_path)
    process.send_signal(stop)
    _, err = process.communicate(timeout=120)
    assert process.returncode == status, err  # not 139 (a segfault after the message)
    assert err.strip().splitlines()[-1].endswith("no output file was half-written")
    assert sorted(os.listdir(tmp_path)) == []  # no record, no model, no leftover
