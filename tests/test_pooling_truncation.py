"""--pooling and --truncation: each does what it says, and a saved model keeps it."""

import numpy as np
import pytest
from conftest import base_args
from test_lm import lm_args, tiny_lm  # noqa: F401 (a fixture)

import lfd_assignment3 as lfd


@pytest.mark.parametrize("truncation, kept", [("head", "abcdefgh"), ("tail", "mnopqrst"), ("head_tail", "abopqrst")])
def test_truncation_keeps_the_start_the_end_or_both(truncation, kept):
    assert "".join(lfd.keep_tokens(list("abcdefghijklmnopqrst"), 8, truncation)) == kept
    assert lfd.keep_tokens(list("abc"), 8, truncation) == list("abc")


def test_lstm_encoding_follows_the_truncation():
    vocabulary = {word: i + 2 for i, word in enumerate("abcdefghij")}
    texts = [list("abcdefghij"), list("ab")]
    assert lfd.encode(texts, vocabulary, 4, "mask", "tail").tolist() == [[8, 9, 10, 11], [2, 3, 0, 0]]
    assert lfd.encode(texts, vocabulary, 4, "pre", "head_tail").tolist() == [[2, 9, 10, 11], [0, 0, 2, 3]]


def lstm_and_its_outputs(pooling, padding="mask", bidirectional=False):
    """A tiny LSTM with the given pooling, and a model of the same weights that returns the last
    LSTM layer's outputs at every step."""
    keras = lfd.import_keras("jax")
    keras.utils.set_random_seed(0)
    config = {
        "max_seq_len": 6,
        "embedding_dim": 4,
        "padding": padding,
        "trainable_embeddings": True,
        "dense_after_embedding": None,
        "lstm_layers": 1,
        "lstm_units": 3,
        "bidirectional": bidirectional,
        "dropout": 0.0,
        "recurrent_dropout": 0.0,
        "output_dropout": 0.0,
        "pooling": pooling,
    }
    model = lfd.build_lstm_model(keras, config, 20, 3)
    lstm = model.get_layer("bidirectional_1" if bidirectional else "lstm_1")
    return model, keras.Model(model.inputs, lstm.output), keras.Model(model.inputs, model.layers[-2].output)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_max_and_mean_pooling_read_every_real_step_and_no_padding(bidirectional):
    ids = np.array([[3, 4, 5, 0, 0, 0], [6, 7, 8, 9, 10, 11]], dtype=np.int32)
    for pooling, reduce in (("max", np.max), ("mean", np.mean)):
        _, steps, pooled = lstm_and_its_outputs(pooling, bidirectional=bidirectional)
        outputs, result = np.asarray(steps({"token_ids": ids})), np.asarray(pooled({"token_ids": ids}))
        lengths = (ids > 0).sum(axis=1)
        expected = np.stack([reduce(outputs[row, :length], axis=0) for row, length in enumerate(lengths)])
        np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-6)


def test_the_maximum_skips_masked_steps_whatever_they_hold():
    keras = lfd.import_keras("jax")
    values = np.array([[[1.0, -2.0], [-3.0, -1.0], [9.0, 9.0]], [[5.0, 5.0], [9.0, 9.0], [9.0, 9.0]]], dtype="float32")
    mask = np.array([[True, True, False], [False, False, False]])
    pooled = np.asarray(lfd.max_over_time(keras)()(values, mask=mask))
    assert pooled.tolist() == [[1.0, -1.0], [0.0, 0.0]]


def test_last_pooling_is_the_final_state():
    model, _, _ = lstm_and_its_outputs("last")
    assert model.get_layer("lstm_1").return_sequences is False
    assert not any("pooling" in layer.name for layer in model.layers)


def test_pooling_and_truncation_are_saved_and_restored(corpus):
    out = corpus["out"]
    trained = lfd.main(
        base_args(
            corpus, "--pooling", "max", "--truncation", "tail", "--max_seq_len", "5", "--save_model", str(out / "m")
        )
    )
    loaded = lfd.main(["--load_model", str(out / "m"), "--dev_file", corpus["dev"], "--verbose", "0"])
    assert loaded["config"]["pooling"] == "max" and loaded["config"]["truncation"] == "tail"
    assert loaded["results"]["dev"] == trained["results"]["dev"]


def test_transformer_truncation_keeps_the_special_tokens_at_both_ends(corpus, tiny_lm):  # noqa: F811
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_lm)
    texts = [["novel", "author", "chapter", "plot", "read", "page", "lens", "zoom", "photo", "flash"]]
    full = tokenizer(" ".join(texts[0]))["input_ids"]
    for truncation, body in (("head", full[1:7]), ("tail", full[-7:-1]), ("head_tail", full[1:2] + full[-6:-1])):
        classifier = lfd.LmClassifier(
            None, tokenizer, {"max_length": 8, "truncation": truncation, "lm_name": "x"}, "cpu", "fp32", 8
        )
        ids = classifier.encode(texts)["input_ids"][0]
        assert ids == full[:1] + body + full[-1:]
        assert classifier.encode(texts, pad=True)["input_ids"][0] == ids


def test_transformer_truncation_is_saved_and_restored(corpus, tiny_lm):  # noqa: F811
    out = corpus["out"]
    trained = lfd.main(
        lm_args(
            corpus,
            tiny_lm,
            "--truncation",
            "head_tail",
            "--max_length",
            "8",
            "--epochs",
            "1",
            "--save_model",
            str(out / "lm"),
        )
    )
    loaded = lfd.main(["--load_model", str(out / "lm"), "--dev_file", corpus["dev"], "--verbose", "0"])
    assert trained["train"]["model_config"]["truncation"] == "head_tail"
    assert loaded["config"]["truncation"] == "head_tail"
    assert loaded["results"]["dev"] == trained["results"]["dev"]


def test_pooling_is_an_lstm_flag_and_truncation_not_a_linear_one(corpus):
    for extra in (["--model", "lm", "--pooling", "max"], ["--model", "tfidf", "--truncation", "tail"]):
        with pytest.raises(SystemExit) as stopped:
            lfd.main(["--train_file", corpus["train"], "--dev_file", corpus["dev"], *extra])
        assert stopped.value.code == 2
