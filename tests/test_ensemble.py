"""--load_model given more than once: an ensemble, the mean of the saved models' probabilities, or their
weighted mean (--ensemble_weights, given or fitted on dev)."""

import csv
import tempfile

import numpy as np
import pytest
from conftest import write_corpus

import lfd_assignment3 as lfd


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ensemble")
    data = {
        "train": str(write_corpus(folder / "train.txt", 10, 1)),
        "dev": str(write_corpus(folder / "dev.txt", 4, 2)),
    }
    common = ["--train_file", data["train"], "--dev_file", data["dev"]]
    for name, flags in (
        ("svm", ["--model", "tfidf"]),
        ("logreg", ["--model", "tfidf", "--linear_model", "logreg"]),
        ("sentiment", ["--model", "tfidf", "--task", "sentiment"]),
        ("few", ["--model", "tfidf", "--max_train_samples", "7", "--ngram_max", "1"]),
        ("lstm", ["--lstm_units", "4", "--epochs", "2", "--max_seq_len", "8", "--embeddings", "none"]),
    ):
        data[name] = lfd.main(common + flags + ["--save_model", str(folder / name)])
        data[name]["folder"] = str(folder / name)
    return data


def probabilities(record, dev):
    """A saved model's class probabilities of the dev reviews, loaded on its own."""
    saved = lfd.read_saved_model(record["folder"], copy_to=tempfile.mkdtemp())
    args = lfd.apply_saved_flags(lfd.parse_flags([])[0], saved)
    lfd.apply_family_defaults(args, saved["family"])
    texts = lfd.read_corpus(dev, "category", "--dev_file", "dev").texts
    return lfd.FAMILIES[saved["family"]].load(args, saved).classifier.predict_proba(texts)


def test_an_ensemble_averages_the_probabilities(models, tmp_path):
    predictions = tmp_path / "p.tsv"
    record = lfd.main(
        [
            "--load_model",
            models["svm"]["folder"],
            "--load_model",
            models["logreg"]["folder"],
            "--dev_file",
            models["dev"],
            "--predictions_file",
            str(predictions),
        ]
    )
    mean = (probabilities(models["svm"], models["dev"]) + probabilities(models["logreg"], models["dev"])) / 2
    assert record["family"] == "ensemble" and record["results"]["dev"]["predicted"] == mean.argmax(axis=1).tolist()
    assert [member["family"] for member in record["train"]["members"]] == ["tfidf", "tfidf"]
    assert [member["model_config"]["linear_model"] for member in record["train"]["members"]] == ["svm", "logreg"]
    with open(predictions, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert [float(row["confidence"]) for row in rows] == pytest.approx(mean.max(axis=1), abs=1e-4)


def test_a_model_twice_is_the_model_alone(models):
    folder = models["svm"]["folder"]
    twice = lfd.main(["--load_model", folder, "--load_model", folder, "--dev_file", models["dev"]])
    assert twice["results"]["dev"]["predicted"] == models["svm"]["results"]["dev"]["predicted"]


def test_families_mix(models, tmp_path):
    new = tmp_path / "new.txt"
    new.write_text("a lens and a zoom\nthe album\n", encoding="utf-8")
    record = lfd.main(
        [
            "--load_model",
            models["lstm"]["folder"],
            "--load_model",
            models["svm"]["folder"],
            "--dev_file",
            models["dev"],
            "--predict_file",
            str(new),
        ]
    )
    assert record["backend"] in ("jax+scikit-learn", "tensorflow+scikit-learn", "torch+scikit-learn")
    assert [member["family"] for member in record["train"]["members"]] == ["lstm", "tfidf"]
    mean = (probabilities(models["lstm"], models["dev"]) + probabilities(models["svm"], models["dev"])) / 2
    assert record["results"]["dev"]["predicted"] == mean.argmax(axis=1).tolist()


def test_models_of_other_labels_are_refused(models, capsys):
    with pytest.raises(SystemExit) as exit_status:
        lfd.main(
            [
                "--load_model",
                models["svm"]["folder"],
                "--load_model",
                models["sentiment"]["folder"],
                "--dev_file",
                models["dev"],
            ]
        )
    assert exit_status.value.code == 2
    error = capsys.readouterr().err
    assert "its labels (neg, pos) or task differ" in error and len(error.strip().splitlines()) == 1


def test_weights_decide_which_model_the_ensemble_follows(models):
    svm, few = models["svm"], models["few"]
    assert svm["results"]["dev"]["predicted"] != few["results"]["dev"]["predicted"]  # else weights could not matter
    both = ["--load_model", svm["folder"], "--load_model", few["folder"], "--dev_file", models["dev"]]
    for weights, follows in ((["1", "0"], svm), (["0", "3"], few)):
        record = lfd.main(both + ["--ensemble_weights", *weights])
        assert record["results"]["dev"]["predicted"] == follows["results"]["dev"]["predicted"], weights
        assert record["train"]["weights"] == [float(w) / sum(map(float, weights)) for w in weights]
        assert record["train"]["weights_from"] == "given"
    mixed = lfd.main(both + ["--ensemble_weights", "0.7", "0.3"])
    expected = 0.7 * probabilities(svm, models["dev"]) + 0.3 * probabilities(few, models["dev"])
    assert mixed["results"]["dev"]["predicted"] == expected.argmax(axis=1).tolist()


def test_weights_fitted_on_dev_lower_its_log_loss(models):
    svm, few = models["svm"], models["few"]
    record = lfd.main(
        [
            "--load_model",
            svm["folder"],
            "--load_model",
            few["folder"],
            "--dev_file",
            models["dev"],
            "--ensemble_weights",
            "fit",
        ]
    )
    weights = record["train"]["weights"]
    assert record["train"]["weights_from"] == f"fitted on {models['dev']}"
    assert sum(weights) == pytest.approx(1) and all(abs(w * 20 - round(w * 20)) < 1e-9 for w in weights)
    members = np.array([probabilities(svm, models["dev"]), probabilities(few, models["dev"])])
    gold = np.array(record["results"]["dev"]["gold"])

    def loss(w):
        return -np.log(np.tensordot(w, members, axes=1)[np.arange(len(gold)), gold]).mean()

    assert all(loss(weights) <= loss(np.array([w, 1 - w])) + 1e-12 for w in np.linspace(0, 1, 21))


def test_fit_weights_finds_the_member_that_knows():
    gold = np.array([0, 1, 1, 0])
    right, wrong = np.eye(2)[gold] * 0.9 + 0.05, np.eye(2)[1 - gold] * 0.9 + 0.05
    assert lfd.fit_weights(np.array([wrong, right]), gold).tolist() == [0.0, 1.0]


@pytest.mark.parametrize("weights", [["1"], ["1", "2", "3"], ["0", "0"], ["fit", "1"]])
def test_weights_that_do_not_fit_the_models_are_refused(models, capsys, weights):
    with pytest.raises(SystemExit) as exit_status:
        lfd.main(
            [
                "--load_model",
                models["svm"]["folder"],
                "--load_model",
                models["few"]["folder"],
                "--dev_file",
                models["dev"],
                "--ensemble_weights",
                *weights,
            ]
        )
    error = capsys.readouterr().err
    assert exit_status.value.code == 2 and "--ensemble_weights" in error and len(error.strip().splitlines()) == 1
