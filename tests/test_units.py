"""Unit tests of data reading, vocabulary, embeddings, evaluation and the run record (no Keras)."""

import json
import os

import numpy as np
import pytest
from conftest import embedding_table

import lfd_assignment3 as lfd


def test_read_corpus_category_and_sentiment(corpus):
    split = lfd.read_corpus(corpus["train"], "category", "--train_file", "train")
    assert len(split.ids) == 36  # 3 classes x 12; the blank lines are skipped
    assert set(split.labels) == {"books", "camera", "music"}
    assert all(tokens and isinstance(tokens, list) for tokens in split.texts)
    sentiment = lfd.read_corpus(corpus["train"], "sentiment", "--train_file", "train")
    assert set(sentiment.labels) == {"pos", "neg"}
    assert sentiment.texts == split.texts


def test_read_corpus_keeps_tokenization(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("books pos 1.txt Don't  stop , ok\n", encoding="utf-8")
    split = lfd.read_corpus(str(path), "category", "--train_file", "train")
    assert split.texts == [["Don't", "stop", ",", "ok"]] and split.ids == ["1.txt"]


def test_tokenize_raw_text_like_the_corpus():
    assert lfd.tokenize("I didn't like it. It's GREAT, (really)!") == [
        "i",
        "did",
        "n't",
        "like",
        "it",
        ".",
        "it",
        "'s",
        "great",
        ",",
        "(",
        "really",
        ")",
        "!",
    ]
    tokenized = "i did n't like it . it 's great , really !"
    assert lfd.tokenize(tokenized) == tokenized.split()


def test_malformed_line_names_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("books pos 1.txt fine review\n\nbooks pos\n", encoding="utf-8")
    with pytest.raises(lfd.InputError, match=r"--train_file .*bad.txt, line 3"):
        lfd.read_corpus(str(path), "category", "--train_file", "train")


def test_labels_fit_on_train_only(corpus, tmp_path):
    args = lfd.build_parser().parse_args(
        [
            "--train_file",
            corpus["train"],
            "--dev_file",
            corpus["dev"],
            "--test_file",
            corpus["test"],
            "--max_train_samples",
            "5",
        ]
    )
    data = lfd.read_data(args)
    assert data.label_order == sorted(set(data.splits["train"].labels))
    assert len(data.splits["train"].ids) == 5
    dev = tmp_path / "dev_unknown.txt"
    dev.write_text("books pos 1.txt a b\nsports neg 2.txt c d\n", encoding="utf-8")
    args.dev_file, args.max_train_samples = str(dev), None
    with pytest.raises(lfd.InputError, match="sports not seen in training"):
        lfd.read_data(args)


def test_label_ids_follow_sorted_order(corpus):
    args = lfd.build_parser().parse_args(["--train_file", corpus["train"], "--dev_file", corpus["dev"]])
    data = lfd.read_data(args)
    dev = data.splits["dev"]
    ids = data.label_ids(dev)
    assert [data.label_order[i] for i in ids] == dev.labels


@pytest.mark.parametrize("key", ["emb_json", "emb_txt", "emb_gz"])
def test_read_embeddings_formats_agree(corpus, key):
    words, vectors = lfd.read_embeddings(corpus[key])
    table = embedding_table()
    assert words == list(table)  # the word2vec header line of the .gz is skipped
    assert vectors.shape == (len(table), 4) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors[3], table[words[3]], rtol=1e-6)


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"a": [1, 2], "b": [1, 2, 3]}', "'b': 3 dimensions, expected 2"),
        ('{"a": [1, "x"]}', "not a list of numbers"),
        ('{"a": [1, 2]', "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ("a 1 2\nb 1 2 3\n", "line 2: 3 dimensions, expected 2"),
        ("2 3\na 1 2\nb 1 2\n", "line 2: 2 dimensions, expected 3"),  # word2vec header disagrees
        ('{"a": [1, NaN]}', "NaN or infinite"),
        ('{"a": [true, false]}', "not a list of numbers"),
        ("a 1\nb\n", "line 2: 0 dimensions, expected 1"),
        ("this is not a vector file\n", "neither JSON nor 'word v1 ... vn' text"),
        ("", "no word vectors"),
    ],
)
def test_bad_embedding_files(tmp_path, content, message):
    path = tmp_path / "emb"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(lfd.InputError, match=message.replace("(", r"\(").replace("[", r"\[")):
        lfd.read_embeddings(str(path))


def test_embedding_text_quirks(tmp_path):
    path = tmp_path / "emb.txt"
    path.write_text("a  1 2\nb\t3 4\na 5 6\n", encoding="utf-8")  # double space, tab, repeated word
    words, vectors = lfd.read_embeddings(str(path))
    assert words == ["a", "b"] and vectors.tolist() == [[1, 2], [3, 4]]
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + b'{"x": [1.5, 2]}')
    assert lfd.read_embeddings(str(bom))[0] == ["x"]


def test_binary_embedding_file_is_refused(tmp_path):
    path = tmp_path / "emb.bin"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(lfd.InputError, match="not UTF-8 text"):
        lfd.read_embeddings(str(path))


def test_vocabulary_from_train_and_embeddings_only():
    train = [["b", "a", "b"], ["c", "b", "a"]]
    vocabulary = lfd.build_vocabulary(train, ["z", "a", "y"])
    assert vocabulary[:2] == [lfd.PAD_TOKEN, lfd.OOV_TOKEN]
    assert vocabulary[2:5] == ["b", "a", "c"]  # by training frequency, ties alphabetical
    assert vocabulary[5:] == ["y", "z"]  # the embedding file's other words
    assert "dev_only_word" not in vocabulary


def test_encode_pads_truncates_and_marks_unknown_words():
    index = {"[PAD]": 0, "[UNK]": 1, "a": 2, "b": 3}
    texts = [["a", "b", "zzz"], ["b", "a", "a", "b", "a"]]
    np.testing.assert_array_equal(lfd.encode(texts, index, 4, "mask"), [[2, 3, 1, 0], [3, 2, 2, 3]])
    np.testing.assert_array_equal(lfd.encode(texts, index, 4, "pre"), [[0, 2, 3, 1], [3, 2, 2, 3]])
    assert lfd.encode([[]], index, 3, "pre").tolist() == [[0, 0, 0]]


def test_embedding_matrix_rows():
    words = [lfd.PAD_TOKEN, lfd.OOV_TOKEN, "a", "miss", "b"]
    vectors = np.array([[1, 2], [3, 4]], dtype=np.float32)
    matrix = lfd.build_embedding_matrix(words, ["b", "a"], vectors, seed=7)
    np.testing.assert_array_equal(matrix[0], [0, 0])
    np.testing.assert_array_equal(matrix[2], [3, 4])
    np.testing.assert_array_equal(matrix[4], [1, 2])
    assert np.all(matrix[3] != 0) and not np.array_equal(matrix[1], matrix[3])
    again = lfd.build_embedding_matrix(words, ["b", "a"], vectors, seed=7)
    np.testing.assert_array_equal(matrix, again)


def test_evaluate_against_hand_computed_scores():
    labels = ["a", "b", "c"]
    gold = [0, 0, 1, 1, 2, 2]
    predicted = [0, 1, 1, 1, 2, 0]
    metrics = lfd.evaluate(gold, predicted, labels)
    assert metrics["accuracy"] == pytest.approx(4 / 6)
    assert metrics["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert metrics["per_class"]["b"] == pytest.approx({"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2})
    assert metrics["per_class"]["a"]["f1"] == pytest.approx(0.5)
    assert metrics["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    text = lfd.format_metrics("dev", metrics, labels)
    assert "accuracy 0.6667" in text and "rows: gold, columns: predicted" in text
    assert text.splitlines()[-1].split() == ["c", "1", "0", "1"]


def test_append_jsonl_appends_whole_lines(tmp_path):
    path = tmp_path / "results.jsonl"
    lfd.append_jsonl(str(path), {"run": 1})
    lfd.append_jsonl(str(path), {"run": 2, "text": "tab\tand\nnewline"})
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["run"] for line in lines] == [1, 2]


def test_append_jsonl_repairs_missing_newline_and_keeps_permissions(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text('{"run": 1}', encoding="utf-8")
    os.chmod(path, 0o640)
    lfd.append_jsonl(str(path), {"run": 2})
    assert [json.loads(line)["run"] for line in path.read_text().splitlines()] == [1, 2]
    assert os.stat(path).st_mode & 0o777 == 0o640
    fresh, umask = tmp_path / "fresh.jsonl", os.umask(0o027)
    try:
        lfd.append_jsonl(str(fresh), {"run": 1})
    finally:
        os.umask(umask)
    assert os.stat(fresh).st_mode & 0o777 == 0o640  # as the user's umask makes a new file


def test_append_jsonl_interrupted_leaves_file_untouched(tmp_path, monkeypatch):
    path = tmp_path / "results.jsonl"
    lfd.append_jsonl(str(path), {"run": 1})
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(lfd.os, "fsync", explode)  # Ctrl-C after the line was written, before it was synced
    with pytest.raises(KeyboardInterrupt):
        lfd.append_jsonl(str(path), {"run": 2})
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["results.jsonl"]  # no temporary file left behind


def test_choose_backend(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert lfd.choose_backend("auto") == "jax"
    monkeypatch.setenv("KERAS_BACKEND", "theano")
    with pytest.raises(lfd.InputError, match="KERAS_BACKEND=theano"):
        lfd.choose_backend("auto")
    monkeypatch.delenv("KERAS_BACKEND")
    monkeypatch.setattr(lfd.importlib.util, "find_spec", lambda name: object())  # all three installed
    monkeypatch.setattr(lfd, "has_gpu", lambda: False)
    assert lfd.choose_backend("auto") == "jax"  # the fastest on a CPU
    monkeypatch.setattr(lfd, "has_gpu", lambda: True)
    assert lfd.choose_backend("auto") == "tensorflow"  # cuDNN's fused LSTM with a padding mask
    monkeypatch.setattr(lfd.importlib.util, "find_spec", lambda name: None if name == "tensorflow" else object())
    assert lfd.choose_backend("auto") == "jax"  # the fastest installed on a GPU once tensorflow is missing
    monkeypatch.setattr(lfd.importlib.util, "find_spec", lambda name: None if name == "jax" else object())
    with pytest.raises(lfd.InputError, match="--backend jax: jax is not installed"):
        lfd.choose_backend("jax")


def test_parse_flags_knows_which_flags_were_given():
    args, given = lfd.parse_flags(["--lstm_units", "4", "--bidirectional", "--seed=3", "-C5"])
    assert given == {"lstm_units", "bidirectional", "seed", "C"}
    assert (args.lstm_units, args.seed, args.C, args.epochs) == (4, 3, 5.0, None)
