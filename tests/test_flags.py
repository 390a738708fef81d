"""Each flag is declared once, in lfd.FLAGS, with the group of the model families that read it; what a
saved model stores and --load_model restores follows from that declaration."""

import argparse

import pytest
from conftest import write_corpus

import lfd_assignment3 as lfd

FAMILIES = list(lfd.FAMILIES)


def actions():
    return {action.dest: action for action in lfd.build_parser()._actions if action.dest not in ("help", "model")}


def test_every_flag_is_declared_once_with_a_family():
    dests = [lfd.dest(names) for _, _, names, _ in lfd.FLAGS]
    assert len(dests) == len(set(dests))
    assert set(dests) == set(actions())  # the parser has no flag the table lacks
    for group, _, names, _ in lfd.FLAGS:
        assert group in lfd.flag_groups() and lfd.flag_groups()[group][1], names
    # what a saved model does not keep: where the data and outputs are, and how a run computes, not what it learns
    unsaved = {lfd.dest(names) for _, saved, names, _ in lfd.FLAGS if not saved}
    assert unsaved == {
        "train_file",
        "dev_file",
        "test_file",
        "predict_file",
        "backend",
        "pad_to_multiple_of",
        "precision",
        "trust_remote_code",
        "eval_batch_size",
        "checkpoint_dir",
        "results_file",
        "predictions_file",
        "confusion_png",
        "save_model",
        "load_model",
        "ensemble_weights",
        "verbose",
        "debug",
    }
    assert FAMILIES == ["lstm", "lm", "tfidf"] and set(lfd.flag_groups()) == {"data", "training", "output", *FAMILIES}
    assert lfd.flag_groups()["training"] == ("training (--model lstm and lm)", ["lstm", "lm"])
    # the per-family sets, as the checks and the saved models use them
    assert {"embeddings", "max_seq_len", "pooling", "backend"} <= lfd.family_flags("lstm") - lfd.family_flags("lm")
    assert "backend" not in lfd.family_flags("lstm", saved_only=True)
    assert {"precision", "eval_batch_size", "trust_remote_code"} & lfd.family_flags("lm", saved_only=True) == set()
    assert lfd.family_flags("tfidf", saved_only=True) == {
        "task",
        "max_train_samples",
        "seed",
        "linear_model",
        "C",
        "ngram_max",
        "min_df",
        "sublinear_tf",
    }


def other_value(action):
    """A valid value of the flag that is not its default."""
    if action.nargs == 0:
        return not action.default
    if action.choices:
        return next(choice for choice in action.choices if choice != action.default)
    kind = getattr(action.type, "kind", str)
    if kind is str:
        return "elsewhere"
    value = kind(0.5) if kind is float else 3
    return value if value != action.default else value * 2 if kind is int else 0.25


@pytest.mark.parametrize("family", FAMILIES)
def test_load_model_restores_every_saved_flag(family, tmp_path):
    parser, flags = lfd.build_parser(), actions()
    config = {name: other_value(flags[name]) for name in lfd.family_flags(family, saved_only=True)}
    saved = {"family": family, "labels": ["a", "b"], "config": config, "training": None}
    dev = write_corpus(tmp_path / "dev.txt", 2, 1)
    args = parser.parse_args(["--load_model", str(tmp_path), "--dev_file", str(dev)])
    args = lfd.apply_saved_flags(args, saved)
    assert args.model == family
    for name, value in config.items():
        assert getattr(args, name) == value != flags[name].default, name
    for name in lfd.family_flags(family) - set(config) - {"train_file", "dev_file", "load_model"}:  # the run's own
        assert getattr(args, name) == flags[name].default, name


def test_a_saved_model_keeps_its_flags_through_save_and_load(tmp_path):
    train, dev = write_corpus(tmp_path / "train.txt", 8, 1), write_corpus(tmp_path / "dev.txt", 3, 2)
    given = [
        "--model",
        "tfidf",
        "--linear_model",
        "logreg",
        "-C",
        "3",
        "--ngram_max",
        "1",
        "--no-sublinear_tf",
        "--seed",
        "5",
        "--max_train_samples",
        "20",
    ]
    trained = lfd.main(
        given + ["--train_file", str(train), "--dev_file", str(dev), "--save_model", str(tmp_path / "m")]
    )
    loaded = lfd.main(["--load_model", str(tmp_path / "m"), "--dev_file", str(dev)])
    for name in lfd.family_flags("tfidf", saved_only=True):
        assert loaded["config"][name] == trained["config"][name], name
    assert loaded["config"]["C"] == 3 and not loaded["config"]["sublinear_tf"]
    assert loaded["results"]["dev"]["predicted"] == trained["results"]["dev"]["predicted"]


def test_a_saved_value_is_checked_like_the_flag(tmp_path):
    flags = actions()
    problem = lfd.saved_value_problem
    assert problem(flags["ngram_max"], 0) == ": must be in [1, 5], got 0"  # the flag's own range and words
    assert problem(flags["lstm_units"], 10**9) == ": must be in [1, 4096], got 1000000000"
    assert problem(flags["bidirectional"], "yes") == " is not a valid --bidirectional"
    assert problem(flags["learning_rate"], True) == " is not a valid --learning_rate"
    assert problem(flags["pooling"], "median") == " is not a valid --pooling"  # not one of its choices
    assert problem(flags["learning_rate"], 1) is None  # an int is a valid float
    assert problem(flags["ngram_max"], 2) is None and problem(flags["embedding_dim"], None) is None
    assert isinstance(flags["seed"].type("3"), int) and flags["dropout"].type("0.5") == 0.5
    with pytest.raises(argparse.ArgumentTypeError, match="must be in \\[0, 0.99\\]"):
        flags["dropout"].type("1")
