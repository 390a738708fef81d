"""Fixtures written by the tests themselves: a tiny 3-class review corpus and 4-d embeddings."""

import gzip
import json
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("KERAS_BACKEND", "jax")

# Each class has its own words, so a tiny LSTM can learn it in a few epochs.
CLASS_WORDS = {
    "books": "novel author chapter plot read page",
    "camera": "lens zoom photo flash battery shot",
    "music": "album song guitar band track lyrics",
}


def review(label, sentiment, number, rng, length):
    words = CLASS_WORDS[label].split() + ["the", "a", "is", "good", "bad"]
    tokens = rng.choice(words, size=length)
    return f"{label} {sentiment} {number}.txt {' '.join(tokens)}"


def write_corpus(path, per_class, seed, blank_lines=False):
    rng = np.random.default_rng(seed)
    lines = []
    for label in CLASS_WORDS:
        for i in range(per_class):
            lines.append(review(label, "pos" if i % 2 else "neg", seed * 1000 + i, rng, int(rng.integers(3, 14))))
            if blank_lines and i == 0:
                lines.append("")
    rng.shuffle(lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def embedding_table():
    rng = np.random.default_rng(0)
    words = sorted({w for ws in CLASS_WORDS.values() for w in ws.split()} | {"the", "a", "is", "good"})
    return {word: [round(float(v), 4) for v in rng.normal(size=4)] for word in words}


@pytest.fixture
def corpus(tmp_path):
    """Paths of train/dev/test files, embeddings in JSON, text and gzipped text, and an output folder."""
    table = embedding_table()
    text = "".join(f"{w} {' '.join(str(v) for v in vec)}\n" for w, vec in table.items())
    (tmp_path / "emb.txt").write_text(text, encoding="utf-8")
    with gzip.open(tmp_path / "emb.txt.gz", "wt", encoding="utf-8") as out:
        out.write(f"{len(table)} 4\n" + text)
    (tmp_path / "emb.json").write_text(json.dumps(table), encoding="utf-8")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    return {
        "dir": tmp_path,
        "train": str(write_corpus(tmp_path / "train.txt", 12, 1, blank_lines=True)),
        "dev": str(write_corpus(tmp_path / "dev.txt", 4, 2)),
        "test": str(write_corpus(tmp_path / "test.txt", 4, 3)),
        "emb_json": str(tmp_path / "emb.json"),
        "emb_txt": str(tmp_path / "emb.txt"),
        "emb_gz": str(tmp_path / "emb.txt.gz"),
        "out": out_dir,
    }


def base_args(corpus, *extra):
    """Flags of a tiny, quick training run on the fixture corpus."""
    return [
        "--train_file",
        corpus["train"],
        "--dev_file",
        corpus["dev"],
        "--embeddings",
        corpus["emb_json"],
        "--lstm_units",
        "8",
        "--epochs",
        "2",
        "--batch_size",
        "8",
        "--max_seq_len",
        "12",
        "--verbose",
        "0",
        *extra,
    ]
