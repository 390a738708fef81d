"""The script as users run it: --help, bad input (one line, exit 2, nothing written), and tiny
end-to-end trainings through main() and through the command line."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import CLASS_WORDS, ROOT, base_args

import lfd_assignment3 as lfd

SCRIPT = os.path.join(ROOT, "lfd_assignment3.py")


def run_cli(*argv, cwd=None):
    return subprocess.run([sys.executable, SCRIPT, *argv], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_help_lists_every_group():
    result = run_cli("--help")
    assert result.returncode == 0
    for text in ("--train_file", "--embeddings", "--recurrent_dropout", "cuDNN", "(default: 50)"):
        assert text in result.stdout
    # each flag is listed under the group of the families that read it
    titles = {title + ":": name for name, (title, _) in lfd.flag_groups().items()}
    group_of = {names[-1]: group for group, _, names, _ in lfd.FLAGS}
    group, listed = None, set()
    for line in result.stdout.splitlines():
        if line in titles:
            group = titles[line]
        elif group and line.startswith("  -"):
            flag = next(word.rstrip(",") for word in line.split() if word.startswith("--"))
            assert group_of[flag] == group, flag
            listed.add(flag)
    assert listed == set(group_of)
    assert all(title + ":" in result.stdout for title, _ in lfd.flag_groups().values())


def outputs(corpus):
    out = corpus["out"]
    return [
        "--results_file",
        str(out / "results.jsonl"),
        "--predictions_file",
        str(out / "preds.tsv"),
        "--confusion_png",
        str(out / "cm.png"),
        "--save_model",
        str(out / "model"),
    ]


def write(corpus, name, text):
    path = corpus["dir"] / name
    path.write_text(text, encoding="utf-8")
    return str(path)


BAD_INPUT = {
    "missing train file": (
        lambda c: ["--train_file", str(c["dir"] / "nope.txt")],
        "--train_file .*nope.txt: no such file",
    ),
    "empty train file": (lambda c: ["--train_file", write(c, "empty.txt", "\n\n")], "no reviews in the file"),
    "malformed line": (
        lambda c: ["--train_file", write(c, "bad.txt", "books pos 1.txt a b\nbooks\n")],
        "bad.txt, line 2: expected",
    ),
    "unknown dev label": (
        lambda c: ["--dev_file", write(c, "d.txt", "sports pos 1.txt a b\n")],
        "--dev_file .*label\\(s\\) sports not seen in training",
    ),
    "unknown test label": (
        lambda c: ["--test_file", write(c, "t.txt", "dvd pos 1.txt a b\n")],
        "--test_file .*dvd not seen in training",
    ),
    "missing test file": (lambda c: ["--test_file", str(c["dir"] / "none.txt")], "--test_file .*no such file"),
    "missing predict file": (
        lambda c: ["--predict_file", str(c["dir"] / "none.txt")],
        "--predict_file .*no such file",
    ),
    "missing embeddings": (lambda c: ["--embeddings", str(c["dir"] / "glove.json")], "--embeddings .*no such file"),
    "ragged embeddings": (
        lambda c: ["--embeddings", write(c, "r.json", '{"a": [1, 2], "b": [1]}')],
        "'b': 1 dimensions, expected 2",
    ),
    "embeddings neither JSON nor text": (
        lambda c: ["--embeddings", write(c, "x.txt", "hello world\n")],
        "neither JSON nor",
    ),
    "wrong embedding dimension": (
        lambda c: ["--embedding_dim", "300"],
        "--embedding_dim 300 does not match the 4-d vectors",
    ),
    "zero lstm units": (lambda c: ["--lstm_units", "0"], "--lstm_units: must be in \\[1, 4096\\], got 0"),
    "negative batch size": (lambda c: ["--batch_size", "-4"], "--batch_size: must be in \\[1, 4096\\]"),
    "zero max_seq_len": (lambda c: ["--max_seq_len", "0"], "--max_seq_len: must be in \\[1, 8192\\]"),
    "zero epochs": (lambda c: ["--epochs", "0"], "--epochs: must be in \\[1, 1000\\]"),
    "zero learning rate": (lambda c: ["--learning_rate", "0"], "--learning_rate: must be in \\(0, 10\\]"),
    "dropout of one": (lambda c: ["--dropout", "1"], "--dropout: must be in \\[0, 0.99\\]"),
    "unknown optimizer": (lambda c: ["--optimizer", "lbfgs"], "--optimizer: invalid choice: 'lbfgs'"),
    "unknown backend": (lambda c: ["--backend", "theano"], "--backend: invalid choice: 'theano'"),
    "momentum with adam": (lambda c: ["--momentum", "0.9"], "--momentum applies to sgd and rmsprop"),
    "load_model missing folder": (
        lambda c: ["--load_model", str(c["dir"] / "nomodel")],
        "--load_model .*no such folder",
    ),
    "load_model not a model": (
        lambda c: ["--load_model", str(c["dir"])],
        "not a saved model \\(no lfd_config.json\\)",
    ),
    "untrained random embeddings": (
        lambda c: ["--embeddings", "none", "--no-trainable_embeddings"],
        "would leave random vectors untrained",
    ),
    "pre-padding read backwards": (
        lambda c: ["--padding", "pre", "--bidirectional"],
        "--padding pre with --bidirectional",
    ),
    "negative seed": (lambda c: ["--seed", "-1"], "--seed: must be in \\[0, 4294967295\\]"),
    "no dev file": (lambda c: ["--dev_file", ""], "--dev_file is needed for training"),
    "corrupt gzip": (lambda c: ["--embeddings", gzip_garbage(c)], "--embeddings .*cannot be read"),
    "output overwrites input": (lambda c: ["--predictions_file", c["dev"]], "is an input of this run"),
    "output under a file": (lambda c: ["--results_file", c["train"] + "/r.jsonl"], "is a file, not a folder"),
    "save_model over another folder": (
        lambda c: ["--save_model", str(c["dir"])],
        "--save_model .*: holds .*, an input of this run",
    ),
    "load_model of a file": (lambda c: ["--load_model", c["train"]], "--load_model .*is a file, not a folder"),
    "load_model broken config": (
        lambda c: ["--load_model", broken_model(c)],
        "lfd_config.json is not the config of a model saved by lfd_assignment3.py",
    ),
    "LSTM flag for the linear model": (
        lambda c: ["--model", "tfidf"],
        "--embeddings applies to --model lstm, not --model tfidf",
    ),
    "linear-model flag for the LSTM": (lambda c: ["--C", "10"], "--C applies to --model tfidf, not --model lstm"),
}


def gzip_garbage(corpus):
    path = corpus["dir"] / "bad.json.gz"
    path.write_bytes(b"\x1f\x8b" + b"not really gzip" * 10)
    return str(path)


def broken_model(corpus):
    folder = corpus["dir"] / "broken_model"
    folder.mkdir()
    (folder / "lfd_config.json").write_text('{"family": "lstm", "labels": ["a", "b"], "config": {}}')
    return str(folder)


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_one_line_exit_2_nothing_written(corpus, case):
    extra, message = BAD_INPUT[case]
    argv = base_args(corpus, *extra(corpus))
    before = sorted(os.listdir(corpus["dir"]))
    if "--load_model" in argv:  # train_file and save_model exclude load_model
        result = run_cli(*argv[2:], *outputs(corpus)[:6])
    elif "--save_model" in argv or "--predictions_file" in argv or "--results_file" in argv:
        result = run_cli(*argv)
    else:
        result = run_cli(*argv, *outputs(corpus))
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    import re

    assert re.search(message, errors[0]), errors[0]
    assert os.listdir(corpus["out"]) == []
    assert sorted(os.listdir(corpus["dir"])) == before


def test_train_evaluate_save_load_predict(corpus):
    out = corpus["out"]
    record = lfd.main(base_args(corpus, "--epochs", "4", "--test_file", corpus["test"], *outputs(corpus)))
    # The record: config, provenance, metrics per split, timings.
    assert record["family"] == "lstm" and record["backend"] in lfd.BACKENDS
    assert record["splits_evaluated"] == ["dev", "test"] and record["test_evaluated"]
    assert record["labels"] == ["books", "camera", "music"]
    assert set(record["data_sha256"]) == {"train_file", "dev_file", "test_file", "embeddings"}
    assert record["data_sha256"]["train_file"] == lfd.sha256_file(corpus["train"])
    train = record["train"]
    assert 1 <= train["best_epoch"] <= train["epochs_run"] <= 4
    assert len(train["epoch_seconds"]) == train["epochs_run"] == len(train["history"]["val_loss"])
    assert train["train_examples"] == 36 and train["train_examples_per_second"] > 0
    assert train["embedding_coverage"]["train_types_found"] == 22  # "bad" is not in the fixture vectors
    dev = record["results"]["dev"]
    assert np.sum(dev["confusion_matrix"]) == dev["examples"] == 12
    assert dev["accuracy"] == pytest.approx(np.trace(dev["confusion_matrix"]) / 12)
    assert record["peak_memory_mib"] > 0
    logged = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(logged) == 1 and logged[0]["results"] == record["results"]
    # The predictions file loads as a table with one row per evaluated review.
    with open(out / "preds.tsv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert [r["split"] for r in rows].count("dev") == 12 and len(rows) == 24
    dev_rows = [r for r in rows if r["split"] == "dev"]
    assert np.mean([r["gold"] == r["predicted"] for r in dev_rows]) == pytest.approx(dev["accuracy"])
    assert (out / "cm.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(out / "model")) == ["lfd_config.json", "model.keras", "vocabulary.json"]

    # Loading needs no model flags and reproduces the saved run's scores exactly.
    loaded = lfd.main(
        [
            "--load_model",
            str(out / "model"),
            "--dev_file",
            corpus["dev"],
            "--test_file",
            corpus["test"],
            "--predictions_file",
            str(out / "preds_loaded.tsv"),
            "--verbose",
            "0",
            "--lstm_units",
            "64",
        ]
    )
    assert loaded["results"] == record["results"]
    # The record describes the loaded model (the ignored --lstm_units 64 included) and where it came from.
    assert loaded["config"]["lstm_units"] == 8 and loaded["config"]["seed"] == 1
    assert loaded["train"]["trained"]["data_sha256"] == record["data_sha256"]
    assert loaded["train"]["parameters"] == train["parameters"]
    assert (out / "preds_loaded.tsv").read_text() == (out / "preds.tsv").read_text()
    assert "train_file" not in loaded["data_sha256"]

    # Predict-only on unlabelled text.
    texts = corpus["dir"] / "new.txt"
    texts.write_text("Album Song Guitar band\n\nlens zoom photo\n", encoding="utf-8")
    predicted = lfd.main(
        ["--load_model", str(out / "model"), "--predict_file", str(texts), "--predictions_file", str(out / "new.tsv")]
    )
    assert predicted["splits_evaluated"] == []
    with open(out / "new.tsv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert [(r["split"], r["id"], r["gold"]) for r in rows] == [("predict", "1", ""), ("predict", "3", "")]
    assert rows[0]["text"] == "album song guitar band"
    assert all(r["predicted"] in record["labels"] for r in rows)


def test_linear_baseline_train_save_load(corpus, capsys):
    out = corpus["out"]
    argv = [
        "--model",
        "tfidf",
        "--train_file",
        corpus["train"],
        "--dev_file",
        corpus["dev"],
        "--test_file",
        corpus["test"],
        "--ngram_max",
        "1",
        "--linear_model",
        "logreg",
        "--C",
        "10",
    ]
    record = lfd.main(argv + outputs(corpus))
    assert record["family"] == "tfidf" and record["backend"] == "scikit-learn"
    assert set(record["data_sha256"]) == {"train_file", "dev_file", "test_file"}
    # One weight per (class, fixture word) and a bias per class: the words are the features.
    words = {w for ws in CLASS_WORDS.values() for w in ws.split()} | {"the", "a", "is", "good", "bad"}
    assert record["train"]["features"] == len(words)
    assert record["train"]["parameters"] == 3 * (len(words) + 1)
    assert record["results"]["dev"]["accuracy"] >= 0.75  # each class has its own words (chance: 1/3)
    # Its confidences are logistic regression's own probabilities.
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    train = lfd.read_corpus(corpus["train"], "category", "--train_file", "train")
    dev = lfd.read_corpus(corpus["dev"], "category", "--dev_file", "dev")
    vectorizer = TfidfVectorizer(analyzer=lambda tokens: tokens, sublinear_tf=True)
    reference = LogisticRegression(C=10, max_iter=1000).fit(vectorizer.fit_transform(train.texts), train.labels)
    with open(out / "preds.tsv", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle, delimiter="\t") if row["split"] == "dev"]
    expected = reference.predict_proba(vectorizer.transform(dev.texts)).max(axis=1)
    assert [float(r["confidence"]) for r in rows] == pytest.approx(expected, abs=1e-4)
    assert sorted(os.listdir(out / "model")) == ["lfd_config.json", "linear.npz", "terms.json"]
    loaded = lfd.main(
        [
            "--load_model",
            str(out / "model"),
            "--dev_file",
            corpus["dev"],
            "--test_file",
            corpus["test"],
            "--predictions_file",
            str(out / "loaded.tsv"),
        ]
    )
    assert loaded["results"] == record["results"] and loaded["config"]["C"] == 10
    assert (out / "loaded.tsv").read_text() == (out / "preds.tsv").read_text()
    # Gradient-training flags mean nothing to it.
    with pytest.raises(SystemExit) as exit_status:
        lfd.main(argv + ["--epochs", "3"])
    assert exit_status.value.code == 2
    assert "--epochs applies to --model lstm and lm, not --model tfidf" in capsys.readouterr().err


def test_stacked_bidirectional_dense_architecture(corpus):
    """Parameter count of embedding(4) -> dense(5) -> 2 stacked BiLSTM(3) -> softmax(3)."""
    record = lfd.main(
        base_args(
            corpus,
            "--epochs",
            "1",
            "--lstm_units",
            "3",
            "--lstm_layers",
            "2",
            "--bidirectional",
            "--dense_after_embedding",
            "5",
            "--dropout",
            "0.2",
            "--recurrent_dropout",
            "0.2",
            "--output_dropout",
            "0.3",
            "--trainable_embeddings",
            "--optimizer",
            "sgd",
            "--momentum",
            "0.9",
            "--clipnorm",
            "1.0",
        )
    )
    lstm = lambda inputs, units: 4 * (units * (inputs + units) + units)  # noqa: E731
    vocabulary = record["train"]["vocabulary_size"]
    expected = vocabulary * 4 + (4 * 5 + 5) + 2 * lstm(5, 3) + 2 * lstm(6, 3) + (6 * 3 + 3)
    assert record["train"]["parameters"] == expected
    assert record["train"]["trainable_parameters"] == expected  # embeddings trainable
    assert record["train"]["model_config"]["bidirectional"]


def test_random_embeddings_and_sentiment_task(corpus):
    record = lfd.main(
        base_args(
            corpus,
            "--embeddings",
            "none",
            "--embedding_dim",
            "6",
            "--task",
            "sentiment",
            "--epochs",
            "1",
            "--optimizer",
            "adamw",
            "--weight_decay",
            "0.01",
        )
    )
    assert record["labels"] == ["neg", "pos"]
    train = record["train"]
    assert train["model_config"]["trainable_embeddings"] and train["embedding_coverage"] is None
    assert train["trainable_parameters"] == train["parameters"]
    assert "embeddings" not in record["data_sha256"]


def test_command_line_run_prints_report(corpus):
    result = run_cli(
        *base_args(corpus, "--epochs", "1", "--max_train_samples", "20", "--embeddings", corpus["emb_gz"])
    )
    assert result.returncode == 0, result.stderr
    assert "== dev (" in result.stdout and "confusion matrix (rows: gold, columns: predicted)" in result.stdout
    assert "Total params" in result.stdout
    assert "converted" in result.stderr and "training word types" in result.stderr
