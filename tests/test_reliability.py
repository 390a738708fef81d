"""Robustness (issue #15): no code runs from a model folder, the tool deletes or replaces only what
it wrote, saved models carry their SHA-256s, every failure is one line, appends are appends, and
the next run cleans up after a killed one. Class letters (A-E) follow the issue."""

import json
import os
import pathlib
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
from conftest import base_args, write_corpus
from test_cli import SCRIPT, run_cli
from test_lm import lm_args, tiny_lm  # noqa: F401 (a fixture)

import lfd_assignment3 as lfd

os.environ["HF_HUB_OFFLINE"] = "1"
LABELS = ["books", "camera", "music"]


# ---------------------------------------------------------------------------
# Helpers and fixtures: one saved model of each family, copied before each tampering
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    return {
        "dir": folder,
        "train": str(write_corpus(folder / "train.txt", 12, 1)),
        "dev": str(write_corpus(folder / "dev.txt", 4, 2)),
        "out": folder,
    }


@pytest.fixture(scope="module")
def saved(data, tmp_path_factory):
    """Saved models, trained once: tfidf always, lstm and lm when first asked for."""
    folder = tmp_path_factory.mktemp("saved")
    lfd.main(
        [
            "--model",
            "tfidf",
            "--train_file",
            data["train"],
            "--dev_file",
            data["dev"],
            "--save_model",
            str(folder / "tfidf"),
        ]
    )
    return folder


@pytest.fixture(scope="module")
def saved_lstm(saved):
    """An untrained LSTM of 12 tokens, saved as training would save it (training adds nothing here)."""
    keras = lfd.import_keras("jax")
    args = lfd.build_parser().parse_args(["--max_seq_len", "12", "--lstm_units", "8"])
    lfd.apply_family_defaults(args, "lstm")
    config = lfd.lstm_config(args, 4)
    vocabulary = [lfd.PAD_TOKEN, lfd.OOV_TOKEN] + ["album", "lens", "novel", "the"]
    model = lfd.build_lstm_model(keras, config, len(vocabulary), len(LABELS))
    lfd.save_model_folder(str(saved / "lstm"), lfd.LstmClassifier(model, vocabulary, config), LABELS, None)
    return saved / "lstm"


@pytest.fixture(scope="module")
def saved_lm(saved, tiny_lm):  # noqa: F811
    """The tiny BERT with a new 3-class head, saved as fine-tuning would save it."""
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_lm)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(tiny_lm, num_labels=len(LABELS))
    args = lfd.build_parser().parse_args(["--model", "lm", "--lm_name", tiny_lm, "--max_length", "16"])
    lfd.apply_family_defaults(args, "lm")
    config = lfd.model_config(args)
    lfd.save_model_folder(
        str(saved / "lm"), lfd.LmClassifier(model, tokenizer, config, "cpu", "fp32", 8), LABELS, None
    )
    return saved / "lm"


def copy_model(source, tmp_path, name="model"):
    target = tmp_path / name
    shutil.copytree(source, target)
    return target


def resign(folder, change=None):
    """Do what an attacker who knows the format would: change the config, then recompute every
    SHA-256, so that the loader's own checks are what stands in the way."""
    path = folder / lfd.SAVED_CONFIG
    config = json.loads(path.read_text())
    if change:
        change(config)
    config["files"] = {
        name: lfd.sha256_file(folder / name) for name in lfd.folder_files(folder) if name != lfd.SAVED_CONFIG
    }
    config["sha256"] = lfd.config_digest(config)
    path.write_text(json.dumps(config))


def fails(capsys, argv, message, status=2):
    """In-process run: exit status 2, one line on stderr matching message, no traceback."""
    with pytest.raises(SystemExit) as exit_:
        lfd.main([str(arg) for arg in argv])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert exit_.value.code == status and len(errors) == 1 and "Traceback" not in err, err
    assert re.search(message, errors[0]), errors[0]
    return errors[0]


def cli_fails(*argv, message, stdin=None):
    result = subprocess.run(
        [sys.executable, SCRIPT, *map(str, argv)], capture_output=True, text=True, input=stdin, timeout=300
    )
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert result.returncode == 2 and len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    assert re.search(message, errors[0]), errors[0]
    return result


def snapshot(folder):
    return {name: (folder / name).read_bytes() for name in lfd.folder_files(folder)}


def load(folder, data):
    return ["--load_model", str(folder), "--dev_file", data["dev"]]


def main(argv):
    return lfd.main([str(arg) for arg in argv])


# ---------------------------------------------------------------------------
# A. No code runs from a folder unless --trust_remote_code
# ---------------------------------------------------------------------------

EVIL = """import pathlib
pathlib.Path(__file__).with_name("RAN").write_text("the folder's code ran")
from transformers import BertConfig, BertForSequenceClassification
class EvilConfig(BertConfig):
    model_type = "evilbert"
class EvilModel(BertForSequenceClassification):
    config_class = EvilConfig
"""


def make_evil(folder):
    """A model folder whose config asks transformers to import the folder's own evil.py."""
    config = json.loads((folder / "config.json").read_text())
    config["model_type"] = "evilbert"
    config["auto_map"] = {
        "AutoConfig": "evil.EvilConfig",
        "AutoModel": "evil.EvilModel",
        "AutoModelForSequenceClassification": "evil.EvilModel",
    }
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "evil.py").write_text(EVIL)


def test_a_saved_model_with_its_own_code_is_refused_even_with_yes_on_stdin(data, saved_lm, tmp_path):
    model = copy_model(saved_lm, tmp_path)
    make_evil(model)
    resign(model)  # the hashes agree: only trust_remote_code=False stands in the way
    cli_fails(*load(model, data), message="needs its own code; pass --trust_remote_code", stdin="y\ny\n")
    assert not (model / "RAN").exists()


def test_a_pretrained_model_with_its_own_code_is_refused_even_with_yes_on_stdin(data, tiny_lm, tmp_path):  # noqa: F811
    base = copy_model(tiny_lm, tmp_path, "evil-base")
    make_evil(base)
    cli_fails(*lm_args(data, str(base), "--epochs", "1"), message="--lm_name .*needs its own code", stdin="y\ny\n")
    assert not (base / "RAN").exists()


def test_a_code_added_to_a_saved_model_is_refused_before_transformers_sees_it(capsys, data, saved_lm, tmp_path):
    model = copy_model(saved_lm, tmp_path)
    make_evil(model)
    fails(capsys, load(model, data), "config.json has changed since the model was saved")
    (model / "config.json").write_bytes((saved_lm / "config.json").read_bytes())
    fails(capsys, load(model, data), "holds evil.py, which was not saved with the model")
    assert not (model / "RAN").exists()


# ---------------------------------------------------------------------------
# B. The tool deletes or replaces only what it wrote
# ---------------------------------------------------------------------------


def tfidf_args(data, *extra):
    return ["--model", "tfidf", "--train_file", data["train"], "--dev_file", data["dev"], *extra]


def test_b_save_over_a_model_that_holds_the_dev_file(capsys, data, saved, tmp_path):
    model = copy_model(saved / "tfidf", tmp_path)
    shutil.copy(data["dev"], model / "dev.txt")
    before = snapshot(model)
    fails(
        capsys,
        ["--model", "tfidf", "--train_file", data["train"], "--dev_file", model / "dev.txt", "--save_model", model],
        "holds .*dev.txt, an input of this run",
    )
    assert snapshot(model) == before


def test_b_save_over_a_folder_whose_config_is_not_ours(capsys, data, tmp_path):
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "lfd_config.json").write_text("not json at all")
    (folder / "thesis.tex").write_text("\\chapter{One}")
    fails(
        capsys,
        tfidf_args(data, "--save_model", folder),
        "not the config of a model saved by lfd_assignment3.py; refusing to replace it",
    )
    (folder / "lfd_config.json").write_text('{"tool": "lfd_assignment3.py", "format": 0, "family": "tfidf"}')
    fails(
        capsys, tfidf_args(data, "--save_model", folder), "saved by another version of lfd_assignment3.py: retrain it"
    )
    assert (folder / "thesis.tex").read_text() == "\\chapter{One}"


def test_b_save_over_a_saved_model_with_a_file_of_the_users(capsys, data, saved, tmp_path):
    model = copy_model(saved / "tfidf", tmp_path)
    (model / "notes.txt").write_text("mine")
    (model / "sub").mkdir()
    (model / "sub" / "deep.txt").write_text("mine too")
    fails(
        capsys,
        tfidf_args(data, "--save_model", model),
        "holds notes.txt, which was not saved with the model; refusing",
    )
    os.remove(model / "notes.txt")
    fails(capsys, tfidf_args(data, "--save_model", model), "holds sub/deep.txt")
    assert (model / "sub" / "deep.txt").read_text() == "mine too"


def test_b_a_complete_saved_model_is_replaced(data, saved, tmp_path):
    model = copy_model(saved / "tfidf", tmp_path)
    main(tfidf_args(data, "--save_model", model, "--ngram_max", "1"))
    assert json.loads((model / "lfd_config.json").read_text())["config"]["ngram_max"] == 1
    assert sorted(os.listdir(tmp_path)) == ["model"]  # no staging or set-aside folder left


@pytest.mark.parametrize(
    "case",
    ["results in the loaded model", "results in --lm_name", "results in the saved model", "save inside --lm_name"],
)
def test_b_no_output_inside_a_model_folder(capsys, data, saved, tmp_path, case):
    model = copy_model(saved / "tfidf", tmp_path)
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text("{}")
    argv, message = {
        "results in the loaded model": (
            load(model, data) + ["--results_file", model / "lfd_config.json"],
            "--results_file .*lies inside .*model, an input of this run",
        ),
        "results in --lm_name": (
            [
                "--model",
                "lm",
                "--lm_name",
                base,
                "--train_file",
                data["train"],
                "--dev_file",
                data["dev"],
                "--results_file",
                base / "config.json",
            ],
            "--results_file .*lies inside .*base, an input of this run",
        ),
        "results in the saved model": (
            tfidf_args(data, "--save_model", model, "--results_file", model / "r.jsonl"),
            "--save_model .*model: holds .*r.jsonl, another output of this run",
        ),
        "save inside --lm_name": (
            [
                "--model",
                "lm",
                "--lm_name",
                base,
                "--train_file",
                data["train"],
                "--dev_file",
                data["dev"],
                "--save_model",
                base / "m",
            ],
            "--save_model .*m: lies inside .*base, an input of this run",
        ),
    }[case]
    before, base_before = snapshot(model), snapshot(base)
    fails(capsys, argv, message)
    assert snapshot(model) == before and snapshot(base) == base_before


def test_b_streams_are_written_in_place(capsys, data, saved, tmp_path):
    """/dev/stdout and /dev/fd/N are the descriptors the shell opened (appended to where it opened them for
    appending), a FIFO and a device are written as they are: none is replaced by a rename."""
    out, history = tmp_path / "out.txt", tmp_path / "history.jsonl"
    history.write_text('{"run": 0}\n')
    with open(out, "w") as stdout, open(history, "a") as appended:
        result = subprocess.run(
            [
                sys.executable,
                SCRIPT,
                *load(saved / "tfidf", data),
                "--predictions_file",
                "/dev/stdout",
                "--results_file",
                "/dev/fd/3",
            ],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
            pass_fds=(3,),
            preexec_fn=lambda: os.dup2(appended.fileno(), 3),
        )
    assert result.returncode == 0, result.stderr
    report, predictions = out.read_text().split("id\tgold\tpredicted")
    assert report.startswith("== dev (") and len(predictions.splitlines()) == 13  # the header's rest and 12 reviews
    lines = history.read_text().splitlines()
    assert lines[0] == '{"run": 0}' and json.loads(lines[1])["family"] == "tfidf" and len(lines) == 2
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE, text=True)
    main(load(saved / "tfidf", data) + ["--predictions_file", fifo, "--results_file", "/dev/null"])
    assert reader.communicate(timeout=60)[0].startswith("id\tgold\tpredicted")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and stat.S_ISCHR(os.stat("/dev/null").st_mode)
    fails(capsys, tfidf_args(data, "--save_model", "/dev/stdout"), "--save_model /dev/stdout: is a stream")
    fails(capsys, tfidf_args(data, "--results_file", "/dev/fd/97"), "--results_file /dev/fd/97: no file descriptor 97")


def test_b_dash_writes_predictions_and_the_record_to_stdout(capsys, data, saved, tmp_path):
    texts = tmp_path / "new.txt"
    texts.write_text("album song\nlens zoom\n")
    main(["--load_model", saved / "tfidf", "--predict_file", texts, "--predictions_file", "-"])
    out = capsys.readouterr().out.splitlines()
    assert out[0].split("\t") == ["id", "gold", "predicted", "confidence", "text", "split"] and len(out) == 3
    record = lfd.main(["--load_model", str(saved / "tfidf"), "--dev_file", data["dev"], "--results_file", "-"])
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["results"] == json.loads(json.dumps(record["results"]))
    assert os.listdir(tmp_path) == ["new.txt"]


# ---------------------------------------------------------------------------
# C. A one-line error instead of a traceback
# ---------------------------------------------------------------------------


def truncate(path):
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def flip_bytes(path, count=64):
    content = bytearray(path.read_bytes())
    for i in np.random.default_rng(0).choice(len(content), size=count, replace=False):
        content[i] ^= 0xFF
    path.write_bytes(bytes(content))


def npy_as_npz(path):
    np.save(path.with_suffix(".npy"), np.zeros(3))
    os.replace(path.with_suffix(".npy"), path)


def repeat_term(path):
    terms = json.loads(path.read_text())
    path.write_text(json.dumps(terms[:-1] + terms[:1]))


TFIDF_DAMAGE = {
    "truncated linear.npz": ("linear.npz", truncate, "cannot be loaded"),
    ".npy renamed linear.npz": ("linear.npz", npy_as_npz, "cannot be loaded"),
    "repeated term": ("terms.json", repeat_term, None),
}


@pytest.mark.parametrize("case", sorted(TFIDF_DAMAGE))
def test_c_damaged_tfidf_files(capsys, data, saved, tmp_path, case):
    name, damage, message = TFIDF_DAMAGE[case]
    model = copy_model(saved / "tfidf", tmp_path)
    damage(model / name)
    fails(capsys, load(model, data), f"{name} has changed since the model was saved")
    if message:  # past the hashes, what the library itself refuses (a consistent edit loads: it was signed)
        resign(model)
        fails(capsys, load(model, data), message)


CONFIG_DAMAGE = {
    "labels cut": (lambda c: c.update(labels=c["labels"][:1]), "is not a saved model's config"),
    "config a string": (lambda c: c.update(config="lstm"), "is not a saved model's config"),
    "negative ngram_max": (lambda c: c["config"].update(ngram_max=-1), "ngram_max -1: must be in \\[1, 5\\], got -1"),
    "no ngram_max": (lambda c: c["config"].pop("ngram_max", None), 'no ngram_max in "config"'),
    "another format": (lambda c: c.update(format=2), "saved by another version of lfd_assignment3.py: retrain it"),
    "C infinite": (lambda c: c["config"].update(C=float("inf")), "C inf: must be a finite number"),
    "unknown task": (lambda c: c["config"].update(task="genre"), "task 'genre' is not a valid --task"),
    "boolean as string": (lambda c: c["config"].update(sublinear_tf="yes"), "sublinear_tf 'yes' is not a valid"),
    "repeated label": (lambda c: c.update(labels=["books", "books", "music"]), "is not a saved model's config"),
}


@pytest.mark.parametrize("case", sorted(CONFIG_DAMAGE))
def test_c_damaged_config(capsys, data, saved, tmp_path, case):
    change, message = CONFIG_DAMAGE[case]
    model = copy_model(saved / "tfidf", tmp_path)
    config = json.loads((model / "lfd_config.json").read_text())
    change(config)
    (model / "lfd_config.json").write_text(json.dumps(config))
    predict = ["--load_model", model, "--predict_file", data["dev"]]
    fails(capsys, predict, "lfd_config.json has been changed|saved by another version")
    resign(model, change)
    fails(capsys, predict, message)


def test_c_config_checks_hold_under_python_O(data, saved, tmp_path):
    model = copy_model(saved / "tfidf", tmp_path)
    resign(model, lambda c: c.update(labels=["books"]))
    result = subprocess.run(
        [sys.executable, "-O", SCRIPT, *load(model, data)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 2 and "is not a saved model's config" in result.stderr
    assert "Traceback" not in result.stderr


def keras_config_naming(path, module, name):
    """Rewrite model.keras so that the output layer's activation names module.name."""
    with zipfile.ZipFile(path) as archive:
        members = {item: archive.read(item) for item in archive.namelist()}
    config = json.loads(members["config.json"])
    text = json.dumps(config).replace(
        '"activation": "softmax"',
        json.dumps(
            {"activation": {"module": module, "class_name": "function", "config": name, "registered_name": None}}
        )[1:-1],
    )
    assert text != json.dumps(config)
    members["config.json"] = text.encode()
    with zipfile.ZipFile(path, "w") as archive:
        for item, content in members.items():
            archive.writestr(item, content)


LSTM_DAMAGE = {
    "flipped bytes in model.keras": (lambda m: flip_bytes(m / "model.keras"), "model.keras has changed since"),
    "model.keras naming os.system": (
        lambda m: keras_config_naming(m / "model.keras", "os", "system"),
        "--load_model .*: cannot be loaded",
    ),
    "max_seq_len of -1": (
        lambda m: resign(m, lambda c: c["config"].update(max_seq_len=-1)),
        "max_seq_len -1: must be in \\[1, 8192\\], got -1",
    ),
    "vocabulary with a repeated word": (
        lambda m: (m / "vocabulary.json").write_text('["[PAD]", "[UNK]", "a", "a"]'),
        "vocabulary.json has changed since",
    ),
}


@pytest.mark.parametrize("case", sorted(LSTM_DAMAGE))
def test_c_damaged_lstm_model(capsys, data, saved_lstm, tmp_path, case):
    damage, message = LSTM_DAMAGE[case]
    model = copy_model(saved_lstm, tmp_path)
    damage(model)
    if "has changed" not in message and "max_seq_len" not in message:
        resign(model)
    fails(capsys, load(model, data), message)


class Payload:
    def __reduce__(self):
        return (os.system, ("touch " + os.environ["LFD_PAYLOAD"],))


def pickled_weights(model, tmp_path):
    import pickle

    os.environ["LFD_PAYLOAD"] = str(tmp_path / "RAN")
    os.remove(model / "model.safetensors")
    (model / "pytorch_model.bin").write_bytes(pickle.dumps(Payload()))


LM_DAMAGE = {
    "truncated model.safetensors": (lambda m, t: truncate(m / "model.safetensors"), "cannot be loaded"),
    "the base model's config.json": (
        lambda m, t: shutil.copy(t / "config.json", m / "config.json"),
        "cannot be loaded",
    ),
    "pickled pytorch_model.bin": (pickled_weights, "cannot be loaded"),
}


@pytest.mark.parametrize("case", sorted(LM_DAMAGE))
def test_c_damaged_transformer_model(capsys, data, saved_lm, tiny_lm, tmp_path, case):  # noqa: F811
    damage, message = LM_DAMAGE[case]
    model = copy_model(saved_lm, tmp_path)
    damage(model, type(tmp_path)(tiny_lm))
    if case != "pickled pytorch_model.bin":
        fails(capsys, load(model, data), "has changed since the model was saved")
    resign(model)
    fails(capsys, load(model, data), message)
    assert not (tmp_path / "RAN").exists()


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"a": [' + "9" * 5000 + "]}", "not valid JSON"),
        ("[" * 200_000 + "]" * 200_000, "nested too deeply"),
        ('{"a": [' + "9" * 400 + "]}", "NaN or infinite"),
    ],
)
def test_c_embeddings_that_break_the_json_reader(tmp_path, content, message):
    path = tmp_path / "emb.json"
    path.write_text(content)
    with pytest.raises(lfd.InputError, match=message):
        lfd.read_embeddings(str(path))


def test_c_sizes_beyond_any_memory_and_infinite_numbers_are_refused_before_any_data_is_read(capsys, data, tiny_lm):  # noqa: F811
    nowhere = {"train": "missing-train.txt", "dev": "missing-dev.txt", "emb_json": "missing.json"}
    for flag, value, bounds in (
        ("--lstm_units", "1000000000", "\\[1, 4096\\]"),
        ("--max_seq_len", "1000000000", "\\[1, 8192\\]"),
        ("--embedding_dim", "1000000000", "\\[1, 4096\\]"),
        ("--batch_size", "1000000000", "\\[1, 4096\\]"),
    ):
        fails(capsys, base_args(nowhere, flag, value), f"argument {flag}: must be in {bounds}, got {value}")
    fails(
        capsys,
        ["--load_model", "a", "--load_model", "b", "--ensemble_weights", "1e308", "1e308"],
        "argument --ensemble_weights: must be in \\[0, 1e\\+06\\], got 1e308",
    )
    fails(
        capsys,
        lm_args(data, tiny_lm, "--pad_to_multiple_of", "512"),
        "--pad_to_multiple_of 512: more than --max_length 16",
    )
    fails(capsys, tfidf_args(data, "--C", "inf"), "--C: must be a finite number, got inf")
    fails(capsys, base_args(nowhere, "--momentum", "nan", "--optimizer", "sgd"), "--momentum: must be a finite number")


def test_c_debug_shows_the_traceback_behind_the_line(data, tmp_path):
    missing = tmp_path / "nope"
    quiet = run_cli(*load(missing, data))
    loud = run_cli(*load(missing, data), "--debug")
    env = subprocess.run(
        [sys.executable, SCRIPT, *load(missing, data)],
        capture_output=True,
        text=True,
        env={**os.environ, "LFD_DEBUG": "1"},
        timeout=300,
    )
    assert quiet.returncode == loud.returncode == env.returncode == 2
    assert "Traceback" not in quiet.stderr and "Traceback" in loud.stderr and "Traceback" in env.stderr
    assert loud.stderr.strip().splitlines()[-1] == quiet.stderr.strip().splitlines()[-1]


def test_c_an_unexpected_error_is_one_line_too(capsys, data, monkeypatch):
    monkeypatch.setattr(lfd, "read_data", lambda *a: {}["boom"])
    fails(capsys, tfidf_args(data), r"KeyError: 'boom' \(run with --debug for the traceback\)", status=1)


# ---------------------------------------------------------------------------
# Full disk (ENOSPC) on a small tmpfs: appends, predictions and the saves of every family
# ---------------------------------------------------------------------------


@pytest.fixture
def full_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    folder = tmp_path / "full"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        (folder / "results.jsonl").write_text(json.dumps({"run": 1, "pad": "x" * 4074}) + "\n")  # one full page
        (folder / "ballast").write_bytes(b"\0" * (256 * 1024))
    except OSError:
        pass  # the disk is full now
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_c_a_full_disk_is_one_line_and_nothing_half_written(capsys, data, saved, saved_lstm, saved_lm, full_disk):
    before = snapshot(full_disk)
    fails(
        capsys,
        load(saved / "tfidf", data) + ["--results_file", full_disk / "results.jsonl"],
        "--results_file .*could not be appended .*No space left on device.*the file is as it was",
    )
    fails(
        capsys,
        load(saved / "tfidf", data) + ["--predictions_file", full_disk / "p.tsv"],
        "--predictions_file .*No space left on device",
    )
    fails(capsys, tfidf_args(data, "--save_model", full_disk / "m"), "--save_model .*could not be saved")
    assert snapshot(full_disk) == before  # no temporary file, no half model
    import transformers

    keras = lfd.import_keras("jax")
    config = json.loads((saved_lstm / "lfd_config.json").read_text())["config"]
    vocabulary = json.loads((saved_lstm / "vocabulary.json").read_text())
    model = keras.models.load_model(saved_lstm / "model.keras")
    with pytest.raises(lfd.InputError, match="could not be saved.*nothing was saved"):
        lfd.save_model_folder(str(full_disk / "lstm"), lfd.LstmClassifier(model, vocabulary, config), LABELS, None)
    config = json.loads((saved_lm / "lfd_config.json").read_text())["config"]
    with pytest.raises(lfd.InputError, match="could not be saved.*nothing was saved"):
        tokenizer, model = lfd.from_pretrained(transformers, str(saved_lm), "--load_model", False)
        classifier = lfd.LmClassifier(model, tokenizer, config, "cpu", "fp32", 4)
        lfd.save_model_folder(str(full_disk / "lm"), classifier, LABELS, None)
    assert snapshot(full_disk) == before


# ---------------------------------------------------------------------------
# D. Accepted though wrong
# ---------------------------------------------------------------------------


def test_d_glued_short_options_meet_the_same_checks(capsys, data, saved):
    corpus = {"train": data["train"], "dev": data["dev"], "emb_json": "none"}
    fails(capsys, base_args(corpus, "-C5"), "--C applies to --model tfidf, not --model lstm")
    fails(capsys, load(saved / "tfidf", data) + ["-i" + data["train"]], "--train_file and --load_model exclude")
    assert lfd.parse_flags(["-C5", "-i", "x", "-dy", "--seed=3"])[1] == {"C", "train_file", "dev_file", "seed"}


def test_d_infinite_learning_rate_and_a_diverged_training_are_refused(capsys, data):
    corpus = {"train": data["train"], "dev": data["dev"], "emb_json": "none"}
    fails(capsys, base_args(corpus, "--learning_rate", "inf"), "--learning_rate: must be a finite number")
    with pytest.raises(lfd.InputError, match="training diverged: the training loss is nan after epoch 2"):
        lfd.check_converged({"loss": [1.0, float("nan")]})
    lfd.check_converged({"loss": [1.0, 0.5]})


def test_d_edited_tfidf_settings_and_swapped_terms_do_not_load_silently(capsys, data, saved, tmp_path):
    model = copy_model(saved / "tfidf", tmp_path)
    config = json.loads((model / "lfd_config.json").read_text())
    config["config"]["ngram_max"] = 0
    (model / "lfd_config.json").write_text(json.dumps(config))
    fails(capsys, load(model, data), "lfd_config.json has been changed since the model was saved")
    resign(model, lambda c: c["config"].update(ngram_max=0))
    fails(capsys, load(model, data), "ngram_max 0: must be in \\[1, 5\\], got 0")
    model = copy_model(saved / "tfidf", tmp_path, "swapped")
    terms = json.loads((model / "terms.json").read_text())
    terms[0], terms[1] = terms[1], terms[0]
    (model / "terms.json").write_text(json.dumps(terms))
    fails(capsys, load(model, data), "terms.json has changed since the model was saved")


def test_d_a_config_without_its_hashes_is_refused_not_loaded_unchecked(capsys, data, saved, tmp_path):
    model = copy_model(saved / "tfidf", tmp_path)
    config = json.loads((model / "lfd_config.json").read_text())
    for key in ("files", "sha256"):
        del config[key]
    (model / "lfd_config.json").write_text(json.dumps(config))
    fails(capsys, load(model, data), "lfd_config.json has been changed since the model was saved")
    config["sha256"] = lfd.config_digest(config)
    (model / "lfd_config.json").write_text(json.dumps(config))
    fails(capsys, load(model, data), "is not a saved model's config")


# ---------------------------------------------------------------------------
# E. Appends are appends; the next run cleans up after a killed one
# ---------------------------------------------------------------------------


def test_e_append_writes_only_the_new_line(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"run": 1}\n{"run": 2, "torn')  # a torn last line, should one ever exist
    inode = os.stat(path).st_ino
    lfd.append_jsonl(str(path), {"run": 3})
    assert os.stat(path).st_ino == inode  # appended in place, not rewritten and renamed
    assert path.read_bytes() == b'{"run": 1}\n{"run": 2, "torn\n{"run": 3}\n'
    assert os.listdir(tmp_path) == ["r.jsonl"]


APPEND_MANY = """
import sys
sys.path.insert(0, {root!r})
import lfd_assignment3 as lfd
for i in range(20):
    lfd.append_jsonl({path!r}, {{"worker": {worker}, "i": i, "pad": "x" * 100000}})
"""


@pytest.mark.slow
def test_e_parallel_appends_give_whole_lines(tmp_path):
    path = str(tmp_path / "r.jsonl")
    workers = [
        subprocess.Popen([sys.executable, "-c", APPEND_MANY.format(root=os.path.dirname(SCRIPT), path=path, worker=w)])
        for w in range(6)
    ]
    assert [worker.wait(timeout=120) for worker in workers] == [0] * 6
    records = [json.loads(line) for line in pathlib.Path(path).read_text().splitlines()]
    assert sorted((r["worker"], r["i"]) for r in records) == [(w, i) for w in range(6) for i in range(20)]


KILL_BETWEEN_RENAMES = """
import os, signal, sys
sys.path.insert(0, {root!r})
import lfd_assignment3 as lfd
real = os.rename
def rename(source, target):
    real(source, target)
    if os.path.basename(target) == "previous":
        {stop}  # the old model is aside, the new one not yet in place
os.rename = rename
lfd.main(sys.argv[1:])
"""


def save_stopped_between_renames(stop, data, saved, tmp_path):
    """A tf-idf save over a copy of a saved model, stopped by `stop` between its two renames: (the model's folder,
    its files before, the finished process)."""
    model = copy_model(saved / "tfidf", tmp_path)
    before = snapshot(model)
    script = KILL_BETWEEN_RENAMES.format(root=os.path.dirname(SCRIPT), stop=stop)
    result = subprocess.run(
        [sys.executable, "-c", script, *tfidf_args(data, "--save_model", str(model), "--ngram_max", "1")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return model, before, result


def test_e_a_save_killed_between_its_renames_leaves_the_old_model_named_and_kept(caplog, data, saved, tmp_path):
    model, before, result = save_stopped_between_renames("os.kill(os.getpid(), signal.SIGKILL)", data, saved, tmp_path)
    assert result.returncode == -signal.SIGKILL, result.stderr
    [left] = os.listdir(tmp_path)  # the model's folder is gone: the old model is aside in the save's own folder
    assert left.startswith(lfd.TEMPORARY_PREFIX) and snapshot(tmp_path / left / "previous") == before
    for _ in range(2):  # each run writing there says where the model is, and moves and removes nothing
        caplog.clear()
        main(tfidf_args(data, "--save_model", tmp_path / "other"))
        warning = [record.getMessage() for record in caplog.records if left in record.getMessage()]
        assert len(warning) == 1 and "'previous' is one that --save_model had moved aside" in warning[0]
        assert snapshot(tmp_path / left / "previous") == before


def test_e_leftovers_and_look_alikes_are_named_or_kept_never_removed(caplog, data, saved, tmp_path):
    look_alikes = [
        ".tmp-abcd1234-r.jsonl",
        ".tmp-model-abcd1234/precious.txt",
        ".old-model-wxyz9876/thesis/ch1.tex",
        "model/lfd-staging.json",
        ".lfd-tmp-model-abcd1234/new/linear.npz",
        ".lfd-tmp-123-r.jsonl",
    ]
    for name in look_alikes:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("mine")
    main(
        load(saved / "tfidf", data)
        + ["--results_file", tmp_path / "r.jsonl", "--predictions_file", tmp_path / "p.tsv"]
    )
    named = [record.getMessage() for record in caplog.records if "left by an interrupted run" in record.getMessage()]
    assert len(named) == 2 and ".lfd-tmp-123-r.jsonl" in named[0] and ".lfd-tmp-model-abcd1234" in named[1]
    assert lfd.folder_files(tmp_path) == sorted(look_alikes + ["p.tsv", "r.jsonl"])
    assert all((tmp_path / name).read_text() == "mine" for name in look_alikes)


def test_e_ctrl_c_twice_between_the_renames_waits_for_both_and_exits_130(data, saved, tmp_path):
    stop = "os.kill(os.getpid(), signal.SIGINT); os.kill(os.getpid(), signal.SIGINT)"
    model, before, result = save_stopped_between_renames(stop, data, saved, tmp_path)
    assert result.returncode == 130 and "interrupted; no output file was half-written" in result.stderr
    assert sorted(os.listdir(tmp_path)) == ["model"]  # nothing aside, nothing left
    assert lfd.read_saved_model(str(model))["config"]["ngram_max"] == 1  # the new model, complete and checked


# ---------------------------------------------------------------------------
# F. The second sweep (issue 26): one test per case
# ---------------------------------------------------------------------------


def test_f1_a_pipe_fifo_or_stdin_gives_the_record_of_the_file(data, tmp_path):
    by_file = main(tfidf_args(data))
    with open(data["train"], "rb") as stdin:
        piped = subprocess.run(
            [
                sys.executable,
                SCRIPT,
                "--model",
                "tfidf",
                "--train_file",
                "/dev/stdin",
                "--dev_file",
                data["dev"],
                "--results_file",
                "-",
            ],
            stdin=stdin,
            capture_output=True,
            text=True,
            timeout=300,
        )
    record = json.loads(piped.stdout.splitlines()[-1])
    assert record["train"]["train_examples"] == by_file["train"]["train_examples"] == 36
    assert (
        record["data_sha256"]["train_file"] == by_file["data_sha256"]["train_file"] == lfd.sha256_file(data["train"])
    )
    fifo = tmp_path / "dev.fifo"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["cp", data["dev"], str(fifo)])
    through_fifo = main(tfidf_args(data)[:4] + ["--dev_file", fifo])
    assert writer.wait(timeout=60) == 0
    assert through_fifo["results"]["dev"] == by_file["results"]["dev"]
    assert through_fifo["data_sha256"]["dev_file"] == by_file["data_sha256"]["dev_file"]


def test_f2_a_saved_model_edited_or_incomplete_is_not_replaced(capsys, data, saved, tmp_path):
    model = copy_model(saved / "tfidf", tmp_path)
    (model / "terms.json").write_text('["my", "terms"]')
    fails(
        capsys,
        tfidf_args(data, "--save_model", model),
        r"terms.json has changed since the model was saved "
        r"\(its SHA-256 differs\); refusing to replace it",
    )
    assert (model / "terms.json").read_text() == '["my", "terms"]'
    os.remove(model / "terms.json")
    fails(
        capsys, tfidf_args(data, "--save_model", model), r"incomplete saved model \(terms.json is missing\); refusing"
    )


def test_f3_a_config_that_is_a_fifo_or_endless_is_not_read(capsys, data, tmp_path):
    for name, make in (("fifo", lambda path: os.mkfifo(path)), ("zero", lambda path: os.symlink("/dev/zero", path))):
        folder = tmp_path / name
        folder.mkdir()
        make(folder / "lfd_config.json")
        fails(capsys, tfidf_args(data, "--save_model", folder), "lfd_config.json is not a regular file of a sane size")


SLOW_LM = """
import sys
sys.path.insert(0, {root!r})
import lfd_assignment3 as lfd
lfd.make_trainer = (lambda make: lambda *a, **k: (__import__("time").sleep(600), make(*a, **k))[1])(lfd.make_trainer)
lfd.main(sys.argv[1:])
"""


def scratch_folders(folder):
    return [name for name in os.listdir(folder) if name.startswith("lfd-trainer-")]


def start_slow_lm(data, tiny_lm, scratch):  # noqa: F811
    """An LM run that stops inside its scratch folder (the Trainer's), in a process of its own."""
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_LM.format(root=os.path.dirname(SCRIPT)), *lm_args(data, tiny_lm)],
        env={**os.environ, "TMPDIR": str(scratch)},
        stderr=subprocess.PIPE,
        text=True,
    )
    for _ in range(600):
        if scratch_folders(scratch):
            return process
        time.sleep(0.1)
    raise AssertionError("the run made no scratch folder")


@pytest.mark.slow
def test_f4_sigterm_is_handled_like_ctrl_c_and_leaves_no_scratch_folder(data, tiny_lm, tmp_path):  # noqa: F811
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    process = start_slow_lm(data, tiny_lm, scratch)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 143 and "terminated; no output file was half-written" in process.stderr.read()
    assert os.listdir(scratch) == []  # the Trainer's folder and the run's own, removed
    process = start_slow_lm(data, tiny_lm, scratch)
    process.kill()
    process.wait(timeout=60)
    assert len(scratch_folders(scratch)) == 1  # a SIGKILL's leftover stays in the system's temporary folder


def test_f6_a_results_file_hard_linked_into_a_model_is_refused(capsys, data, saved, tmp_path):
    model = copy_model(saved / "tfidf", tmp_path)
    os.link(model / "lfd_config.json", tmp_path / "r.jsonl")
    before = snapshot(model)
    fails(
        capsys,
        load(model, data) + ["--results_file", tmp_path / "r.jsonl"],
        r"is the same file as .*lfd_config.json \(a hard link\)",
    )
    fails(capsys, tfidf_args(data, "--save_model", model, "--results_file", tmp_path / "r.jsonl"), "a hard link")
    assert snapshot(model) == before


@pytest.mark.parametrize(
    "flag, path, message",
    [
        ("--save_model", "m/.", "names no new folder"),
        ("--results_file", "r.jsonl/", "names no file"),
        ("--results_file", "nonexistent/dir/r.jsonl", "does not exist; create the folder first"),
    ],
)
def test_f7_an_output_path_that_cannot_be_written_is_refused_before_training(
    capsys, monkeypatch, data, tmp_path, flag, path, message
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m").mkdir()
    fails(capsys, tfidf_args(data, flag, path), message)
    assert sorted(os.listdir(tmp_path)) == ["m"] and os.listdir(tmp_path / "m") == []


def test_f8_a_saved_folder_keeps_its_mode_and_a_new_one_follows_the_umask(data, tmp_path):
    (tmp_path / "private").mkdir(mode=0o700)
    main(tfidf_args(data, "--save_model", tmp_path / "private"))
    main(tfidf_args(data, "--save_model", tmp_path / "private"))  # replaced
    umask = os.umask(0o022)
    try:
        main(tfidf_args(data, "--save_model", tmp_path / "new"))
    finally:
        os.umask(umask)
    assert stat.S_IMODE(os.stat(tmp_path / "private").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "new").st_mode) == 0o755
    assert stat.S_IMODE(os.stat(tmp_path / "new" / "terms.json").st_mode) == 0o644


def test_f10_an_unreachable_hub_fails_at_once_in_few_lines(data, tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "HF_HUB_OFFLINE"}
    start = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            SCRIPT,
            "--model",
            "lm",
            "--lm_name",
            "no-such-model-here",
            "--train_file",
            data["train"],
            "--dev_file",
            data["dev"],
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HOME": str(tmp_path)},
    )
    assert result.returncode == 2 and time.monotonic() - start < 30, result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3 and "not in the Hugging Face cache" in result.stderr


def test_f10_a_labelled_predict_file_is_refused_with_a_hint(capsys, data, saved):
    fails(
        capsys,
        ["--load_model", saved / "tfidf", "--predict_file", data["dev"]],
        "--predict_file .*every line starts with a label.*--test_file",
    )


MISSING = """
import runpy, sys
sys.modules[{module!r}] = None  # as if it were not installed
sys.argv = [{script!r}, *{argv!r}]
runpy.run_path({script!r}, run_name="__main__")
"""


@pytest.mark.parametrize("module, argv", [("numpy", ["--model", "tfidf"]), ("sklearn", ["--model", "tfidf"])])
def test_f10_a_missing_requirement_names_it_and_the_install_command(data, module, argv):
    def run(*extra):
        code = MISSING.format(module=module, script=SCRIPT, argv=[*argv, *extra])
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)

    assert run("--help").returncode == 0
    result = run("--train_file", data["train"], "--dev_file", data["dev"])
    assert result.returncode == 1 and result.stderr.strip().splitlines() == [
        f"lfd_assignment3.py: error: {module} is not installed: python -m pip install -r requirements.txt"
    ]


def test_f10_a_missing_default_data_file_says_where_it_was_looked_for(tmp_path):
    result = run_cli("--model", "tfidf", cwd=tmp_path)
    assert (
        result.returncode == 2
        and f"--train_file train.txt: no such file (looked for in the current folder, {tmp_path})" in result.stderr
    )
