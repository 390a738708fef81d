"""The transformer family (--model lm) on a tiny randomly initialised BERT whose WordPiece
tokenizer the tests train on the fixture words: fine-tune, save, load, predict; every flag
reaching the Trainer; bad input."""

import csv
import os
import re
import shutil
import types

import numpy as np
import pytest
from conftest import CLASS_WORDS
from test_cli import run_cli

import lfd_assignment3 as lfd

pytestmark = pytest.mark.slow  # every test here trains a transformer or runs a process

os.environ["HF_HUB_OFFLINE"] = "1"


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory):
    """A 2-layer, 32-wide BERT encoder (no classification head, like a sentence-embedding checkpoint)."""
    _, transformers = lfd.import_transformers()  # first import: USE_TF=0, as the tool has it
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers

    words = " ".join(CLASS_WORDS.values()).split() + ["the", "a", "is", "good", "bad"]
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(
        [" ".join(words)] * 5, trainers.WordPieceTrainer(vocab_size=200, special_tokens=specials)
    )
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[(token, tokenizer.token_to_id(token)) for token in ("[CLS]", "[SEP]")],
    )
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=64,
    )
    config = transformers.BertConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    transformers.set_seed(0)
    folder = tmp_path_factory.mktemp("tiny-bert")
    transformers.BertModel(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return str(folder)


def lm_args(corpus, tiny_lm, *extra):
    return [
        "--model",
        "lm",
        "--lm_name",
        tiny_lm,
        "--train_file",
        corpus["train"],
        "--dev_file",
        corpus["dev"],
        "--max_length",
        "16",
        "--batch_size",
        "8",
        "--learning_rate",
        "1e-2",
        "--epochs",
        "6",
        "--verbose",
        "0",
        *extra,
    ]


def test_fine_tune_save_load_predict(corpus, tiny_lm):
    out = corpus["out"]
    record = lfd.main(
        lm_args(
            corpus,
            tiny_lm,
            "--test_file",
            corpus["test"],
            "--patience",
            "2",
            "--results_file",
            str(out / "r.jsonl"),
            "--predictions_file",
            str(out / "p.tsv"),
            "--save_model",
            str(out / "model"),
        )
    )
    assert record["family"] == "lm" and record["backend"] == "torch"
    assert set(record["versions"]) >= {"torch", "transformers"}
    assert record["splits_evaluated"] == ["dev", "test"]
    train = record["train"]
    assert 2 <= train["epochs_run"] <= 6 and 1 <= train["best_epoch"] <= train["epochs_run"]
    assert len(train["history"]["val_loss"]) == train["epochs_run"]
    assert train["train_examples"] == 36 and train["train_examples_per_second"] > 0
    assert train["parameters"] == train["trainable_parameters"] > 0
    assert train["batches"] == "length buckets"
    import torch

    assert (train["precision"], train["precision_reason"]) == lfd.choose_precision(torch, "auto", "cpu")
    tokens = train["tokens_per_review"]["train"]
    assert 3 < tokens["mean"] < 16 and tokens["truncated_share"] == 0  # 3-13 words, each one token, + 2
    assert record["predict_examples_per_second"]["dev"] > 0
    # The words of each class are disjoint, so even this tiny model learns something in a few steps.
    assert train["history"]["val_loss"][-1] < train["history"]["val_loss"][0]
    assert record["results"]["dev"]["accuracy"] >= 0.5, record["results"]["dev"]  # chance: 1/3
    assert {"model.safetensors", "config.json", "tokenizer.json", "lfd_config.json"} <= set(os.listdir(out / "model"))

    # Loading needs no --model lm and no model flags, and gives the same predictions.
    loaded = lfd.main(
        [
            "--load_model",
            str(out / "model"),
            "--dev_file",
            corpus["dev"],
            "--test_file",
            corpus["test"],
            "--verbose",
            "0",
            "--predictions_file",
            str(out / "p2.tsv"),
            "--max_length",
            "8",
        ]
    )
    assert loaded["family"] == "lm" and loaded["config"]["max_length"] == 16
    assert loaded["results"] == record["results"]
    assert (out / "p2.tsv").read_text() == (out / "p.tsv").read_text()

    texts = corpus["dir"] / "new.txt"
    texts.write_text("Lens, zoom and FLASH\nalbum song lyrics\n", encoding="utf-8")
    lfd.main(
        ["--load_model", str(out / "model"), "--predict_file", str(texts), "--predictions_file", str(out / "n.tsv")]
    )
    with open(out / "n.tsv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert [row["id"] for row in rows] == ["1", "2"] and all(row["predicted"] in record["labels"] for row in rows)
    assert rows[0]["text"] == "lens , zoom and flash"


def test_every_flag_reaches_the_trainer(corpus, tiny_lm):
    """The flags as the installed transformers sees them, and the schedule they produce."""
    import transformers

    parser = lfd.build_parser()
    args = parser.parse_args(
        lm_args(
            corpus,
            tiny_lm,
            "--lr_scheduler_type",
            "polynomial",
            "--lr_end",
            "1e-4",
            "--lr_power",
            "2",
            "--warmup_ratio",
            "0.2",
            "--weight_decay",
            "0.01",
            "--gradient_accumulation_steps",
            "2",
            "--batch_size",
            "4",
            "--eval_batch_size",
            "5",
            "--seed",
            "7",
            "--epochs",
            "3",
            "--patience",
            "1",
            "--learning_rate",
            "1e-3",
        )
    )
    training = lfd.training_arguments(transformers, args, str(corpus["out"]), "fp32", "cpu")
    assert training.per_device_train_batch_size == 4 and training.per_device_eval_batch_size == 5
    assert training.gradient_accumulation_steps == 2 and training.weight_decay == 0.01 and training.seed == 7
    assert training.num_train_epochs == 3 and training.load_best_model_at_end
    assert getattr(training, "warmup_ratio", None) == 0.2 or training.warmup_steps == 0.2
    model = transformers.AutoModelForSequenceClassification.from_pretrained(tiny_lm, num_labels=3)
    trainer = transformers.Trainer(model=model, args=training, eval_dataset=[0])
    trainer.create_optimizer_and_scheduler(num_training_steps=10)
    rates = []
    for _ in range(10):
        rates.append(trainer.lr_scheduler.get_last_lr()[0])
        trainer.optimizer.step()
        trainer.lr_scheduler.step()
    rates.append(trainer.lr_scheduler.get_last_lr()[0])
    assert rates[0] == 0 and rates[2] == pytest.approx(1e-3)  # 2 warm-up steps of 10
    assert rates[10] == pytest.approx(1e-4)  # polynomial decay to --lr_end
    assert rates[6] == pytest.approx((1e-3 - 1e-4) * (4 / 8) ** 2 + 1e-4)  # power 2

    for schedule, middle in (("linear", 0.5e-3), ("cosine", 0.5e-3), ("constant", 1e-3)):
        args = parser.parse_args(lm_args(corpus, tiny_lm, "--lr_scheduler_type", schedule, "--learning_rate", "1e-3"))
        trainer = transformers.Trainer(
            model=model,
            eval_dataset=[0],
            args=lfd.training_arguments(transformers, args, str(corpus["out"]), "fp32", "cpu"),
        )
        trainer.create_optimizer_and_scheduler(num_training_steps=10)
        for _ in range(5):
            trainer.optimizer.step()
            trainer.lr_scheduler.step()
        assert trainer.lr_scheduler.get_last_lr()[0] == pytest.approx(middle), schedule


def test_padding_freezing_and_precision_flags(corpus, tiny_lm):
    record = lfd.main(
        lm_args(
            corpus,
            tiny_lm,
            "--pad_to_max_length",
            "--freeze_encoder",
            "--epochs",
            "1",
            "--precision",
            "bf16",
            "--lr_scheduler_type",
            "constant",
            "--warmup_ratio",
            "0.5",
            "--trust_remote_code",
        )
    )
    assert record["config"]["trust_remote_code"]
    train = record["train"]
    assert train["padding"] == "max_length" and train["batches"] == "random" and train["precision"] == "bf16"
    assert train["precision_reason"] == "--precision bf16"
    head = 32 * 32 + 32 + 32 * 3 + 3  # BERT pooler (dense 32x32) + classifier (32 -> 3)
    assert train["trainable_parameters"] == head < train["parameters"]
    grouped = lfd.main(lm_args(corpus, tiny_lm, "--no-group_by_length", "--epochs", "1"))
    assert grouped["train"]["batches"] == "random" and grouped["train"]["padding"] == "longest in batch"
    assert grouped["train"]["pad_to_multiple_of"] == 1  # the default


def test_padding_to_a_multiple_changes_shapes_not_predictions(corpus, tiny_lm, tmp_path):
    record = lfd.main(
        lm_args(corpus, tiny_lm, "--pad_to_multiple_of", "8", "--epochs", "1", "--save_model", str(tmp_path / "model"))
    )
    assert record["train"]["pad_to_multiple_of"] == 8
    import transformers

    tokenizer, model = lfd.from_pretrained(transformers, str(tmp_path / "model"), "--load_model", False)
    classifier = lfd.LmClassifier(model, tokenizer, record["train"]["model_config"], "cpu", "fp32", 4)
    texts = lfd.read_corpus(corpus["dev"], "category", "--dev_file", "dev").texts
    exact = classifier.predict_proba(texts)
    classifier.pad_to_multiple_of = 8
    shapes = []
    hook = classifier.model.register_forward_pre_hook(
        lambda module, args, kwargs: shapes.append(kwargs["input_ids"].shape[1]), with_kwargs=True
    )
    rounded = classifier.predict_proba(texts)
    hook.remove()
    assert shapes and all(length % 8 == 0 for length in shapes)
    np.testing.assert_allclose(rounded, exact, atol=1e-5)


def test_a_half_precision_checkpoint_is_fine_tuned_in_float32(corpus, tiny_lm, tmp_path):
    import torch
    import transformers
    from safetensors.torch import load_file

    half = tmp_path / "tiny-bert-fp16"
    transformers.BertModel.from_pretrained(tiny_lm).half().save_pretrained(half)
    transformers.AutoTokenizer.from_pretrained(tiny_lm).save_pretrained(half)
    # The checkpoint stores float16 (transformers 5 loads it so by default; 4.x loads float32).
    assert {tensor.dtype for tensor in load_file(half / "model.safetensors").values()} == {torch.float16}
    saved = tmp_path / "model"
    lfd.main(lm_args(corpus, str(half), "--epochs", "1", "--save_model", str(saved)))
    weights = load_file(saved / "model.safetensors")
    assert {tensor.dtype for tensor in weights.values()} == {torch.float32}


def test_length_buckets_cover_every_review_once_in_random_order():
    lengths = np.random.default_rng(0).integers(1, 200, size=1000)
    buckets = lfd.LengthBuckets(lengths, batch_size=16, seed=3, runs_of=10)
    first, second = list(buckets), list(buckets)
    assert len(first) == len(buckets) == 63
    for epoch in (first, second):
        assert sorted(i for batch in epoch for i in batch) == list(range(1000))
        assert all(len(batch) == 16 for batch in epoch if batch is not epoch[-1] and len(batch) != 8)
    assert first != second  # a new order every epoch
    assert list(lfd.LengthBuckets(lengths, 16, 3, 10)) == first  # and the same for the same seed
    spread = np.mean([np.ptp(lengths[batch]) for batch in first])
    assert spread < 0.2 * np.ptp(lengths)  # reviews of a batch have similar lengths
    means = [np.mean(lengths[batch]) for batch in first]
    assert not (means == sorted(means) or means == sorted(means, reverse=True))  # batches not sorted


def break_folder(corpus, tiny_lm, drop):
    folder = corpus["dir"] / f"no-{drop}"
    folder.mkdir()
    for name in os.listdir(tiny_lm):
        if not name.startswith(drop):
            shutil.copyfile(os.path.join(tiny_lm, name), folder / name)
    return str(folder)


def fake_torch(cpu=None, gpu=None):
    """A torch whose CPU flags (torch.cpu.get_capabilities(); None: a torch without it) and GPU compute
    capability are given; is_bf16_supported() says yes everywhere, as it does for an emulating T4."""
    cpu_module = types.SimpleNamespace() if cpu is None else types.SimpleNamespace(get_capabilities=lambda: cpu)
    return types.SimpleNamespace(
        cpu=cpu_module, cuda=types.SimpleNamespace(get_device_capability=lambda: gpu, is_bf16_supported=lambda: True)
    )


AVX2_ONLY = {"architecture": "x86_64", "avx2": True, "avx512_f": False, "avx512_bf16": False, "amx_bf16": False}


@pytest.mark.parametrize(
    "flags, expected",
    [
        ({**AVX2_ONLY, "avx512_bf16": True}, ("bf16", "auto: CPU has native bf16 (avx512_bf16)")),
        (
            {**AVX2_ONLY, "avx512_bf16": True, "amx_bf16": True},
            ("bf16", "auto: CPU has native bf16 (avx512_bf16, amx_bf16)"),
        ),
        ({**AVX2_ONLY, "amx_bf16": True}, ("bf16", "auto: CPU has native bf16 (amx_bf16)")),
        (AVX2_ONLY, ("fp32", "auto: CPU has no native bf16 (none of avx512_bf16, amx_bf16)")),
        (
            {"architecture": "arm64", "neon": True, "bf16": True},
            ("fp32", "auto: CPU has no native bf16 (none of avx512_bf16, amx_bf16)"),
        ),
    ],
)
def test_auto_precision_on_a_cpu_is_bf16_only_where_it_is_native(flags, expected):
    torch = fake_torch(cpu=flags)
    assert lfd.choose_precision(torch, "auto", "cpu") == expected
    # Forced precisions are honoured whatever the CPU has; fp16 stays a GPU's.
    assert lfd.choose_precision(torch, "fp32", "cpu") == ("fp32", "--precision fp32")
    assert lfd.choose_precision(torch, "bf16", "cpu") == ("bf16", "--precision bf16")
    with pytest.raises(lfd.InputError, match="--precision fp16 needs a GPU"):
        lfd.choose_precision(torch, "fp16", "cpu")


@pytest.mark.parametrize(
    "cpuinfo, expected",
    [
        ("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_tile amx_bf16\n", ["avx512_bf16", "amx_bf16"]),
        ("processor\t: 0\nflags\t\t: fpu avx2 avx512f\n", []),
        ("processor\t: 0\n", []),
        (None, []),  # no /proc/cpuinfo: macOS or Windows with a torch that cannot say
    ],
)
def test_without_torch_cpu_capabilities_the_flags_come_from_proc_cpuinfo(tmp_path, monkeypatch, cpuinfo, expected):
    path = tmp_path / "cpuinfo"
    if cpuinfo is not None:
        path.write_text(cpuinfo, encoding="utf-8")
    monkeypatch.setattr(lfd, "CPUINFO", str(path))
    assert lfd.cpu_bf16_flags(fake_torch(cpu=None)) == expected


@pytest.mark.parametrize("capability, expected", [((7, 5), "fp16"), ((8, 0), "bf16"), ((9, 0), "bf16")])
def test_auto_precision_on_a_gpu_is_bf16_from_compute_capability_8(capability, expected):
    """A T4 (7.5) emulates bf16 and torch.cuda.is_bf16_supported() says yes; auto takes fp16 there."""
    precision, reason = lfd.choose_precision(fake_torch(gpu=capability), "auto", "cuda")
    assert precision == expected and f"compute capability {capability[0]}.{capability[1]}" in reason
    assert lfd.choose_precision(fake_torch(gpu=capability), "fp32", "cuda") == ("fp32", "--precision fp32")


@pytest.mark.parametrize("flags, expected", [(["amx_bf16"], "bf16"), ([], "fp32")])
def test_auto_trains_in_the_precision_the_cpu_rule_chooses(corpus, tiny_lm, monkeypatch, flags, expected):
    monkeypatch.setattr(lfd, "cpu_bf16_flags", lambda torch: flags)
    record = lfd.main(lm_args(corpus, tiny_lm, "--epochs", "1"))
    assert record["train"]["precision"] == expected
    assert record["train"]["precision_reason"].startswith(f"auto: CPU has {'native' if flags else 'no native'} bf16")
    assert record["train"]["cpu_bf16_flags"] == flags


LM_BAD_INPUT = {
    "missing model folder": (
        lambda c, m: ["--lm_name", str(c["dir"] / "models" / "nope")],
        "--lm_name .*nope: no such folder",
    ),
    "folder without tokenizer": (
        lambda c, m: ["--lm_name", break_folder(c, m, "tokenizer")],
        "--lm_name .*: no tokenizer in this folder",
    ),
    "folder without weights": (
        lambda c, m: ["--lm_name", break_folder(c, m, "model")],
        "--lm_name .*: no weights in this folder",
    ),
    "hub id offline": (
        lambda c, m: ["--lm_name", "bert-base-uncased"],
        "--lm_name bert-base-uncased: not a local folder, and not in the Hugging Face cache while offline.*"
        "pass a local model folder",
    ),
    "zero max_length": (lambda c, m: ["--max_length", "0"], "--max_length: must be in \\[1, 8192\\], got 0"),
    "max_length beyond the model": (lambda c, m: ["--max_length", "100"], "--max_length 100: .* at most 64 tokens"),
    "embeddings with lm": (lambda c, m: ["--embeddings", c["emb_json"]], "--embeddings applies to --model lstm"),
    "max_seq_len with lm": (lambda c, m: ["--max_seq_len", "30"], "--max_seq_len applies to --model lstm"),
    "fp16 on a cpu": (lambda c, m: ["--precision", "fp16"], "--precision fp16 needs a GPU"),
    "lr_end without polynomial": (lambda c, m: ["--lr_end", "0.001"], "--lr_end and --lr_power apply to"),
    "grouping padded batches": (
        lambda c, m: ["--pad_to_max_length", "--group_by_length"],
        "--group_by_length with --pad_to_max_length",
    ),
    "unknown schedule": (lambda c, m: ["--lr_scheduler_type", "cyclic"], "--lr_scheduler_type: invalid choice"),
    "save over the pretrained model": (lambda c, m: ["--save_model", m], "is an input of this run"),
}


@pytest.mark.parametrize("case", sorted(LM_BAD_INPUT))
def test_lm_bad_input_is_one_line_exit_2_nothing_written(corpus, tiny_lm, case):
    extra, message = LM_BAD_INPUT[case]
    argv = lm_args(corpus, tiny_lm, *extra(corpus, tiny_lm))
    if "--save_model" not in argv:
        argv += ["--results_file", str(corpus["out"] / "r.jsonl"), "--save_model", str(corpus["out"] / "m")]
    before = sorted(os.listdir(corpus["dir"]))
    result = run_cli(*argv)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    assert re.search(message, errors[0]), errors[0]
    assert os.listdir(corpus["out"]) == [] and sorted(os.listdir(corpus["dir"])) == before


def test_lstm_flags_refuse_lm_options(corpus):
    result = run_cli("--lm_name", "x", "--train_file", corpus["train"], "--dev_file", corpus["dev"])
    assert result.returncode == 2 and "--lm_name applies to --model lm, not --model lstm" in result.stderr


def test_a_run_with_checkpoint_dir_resumes_where_it_was_stopped(corpus, tiny_lm, tmp_path, monkeypatch):
    """Stopped after its first epoch's checkpoint, the same command resumes there and ends where an uninterrupted
    run ends; another run's checkpoints are refused."""
    import transformers

    argv = lm_args(corpus, tiny_lm, "--epochs", "3", "--patience", "0", "--checkpoint_dir", str(tmp_path / "ckpt"))
    whole = lfd.main(lm_args(corpus, tiny_lm, "--epochs", "3", "--patience", "0"))
    save = transformers.Trainer._save_checkpoint

    def save_then_stop(self, *args, **kwargs):
        save(self, *args, **kwargs)
        raise KeyboardInterrupt  # Ctrl-C (or a lost Colab runtime) right after the first epoch's checkpoint

    monkeypatch.setattr(transformers.Trainer, "_save_checkpoint", save_then_stop)
    with pytest.raises(SystemExit) as stop:
        lfd.main(argv)
    assert stop.value.code == 130 and sorted(os.listdir(tmp_path / "ckpt")) == ["checkpoint-5", "lfd_run.json"]
    monkeypatch.undo()
    resumed = lfd.main(argv)
    assert resumed["train"]["resumed_from_epoch"] == 1 and whole["train"]["resumed_from_epoch"] == 0
    assert resumed["train"]["history"]["val_accuracy"] == whole["train"]["history"]["val_accuracy"]
    assert resumed["results"]["dev"]["predicted"] == whole["results"]["dev"]["predicted"]
    other = lm_args(
        corpus, tiny_lm, "--epochs", "3", "--patience", "0", "--seed", "2", "--checkpoint_dir", str(tmp_path / "ckpt")
    )
    with pytest.raises(SystemExit) as refused:
        lfd.main(other)
    assert refused.value.code == 2


def test_progress_in_a_file_is_a_line_every_few_percent_and_the_dev_scores_of_each_epoch(corpus, tiny_lm, caplog):
    import logging

    caplog.set_level(logging.INFO, logger=lfd.PROG)
    lfd.main(lm_args(corpus, tiny_lm, "--epochs", "2", "--batch_size", "4", "--verbose", "2"))
    lines = [record.getMessage() for record in caplog.records]
    steps = [
        line
        for line in lines
        if re.fullmatch(
            r"epoch [12]/2, step \d+/18: loss \d+\.\d{4}, "
            r"\d+\.\d reviews/s, \d+:\d\d:\d\d left",
            line,
        )
    ]
    assert len(steps) == 18  # 9 steps an epoch, a line at every 2% of them (and one a minute)
    assert steps[-1].startswith("epoch 2/2, step 18/18") and steps[-1].endswith("0:00:00 left")
    epochs = [
        line for line in lines if re.fullmatch(r"epoch [12]/2: dev loss \d\.\d{4}, dev accuracy \d\.\d{4}", line)
    ]
    assert [line[:9] for line in epochs] == ["epoch 1/2", "epoch 2/2"]


def test_progress_prints_no_raw_dicts_in_a_pipe(corpus, tiny_lm):
    result = run_cli(*lm_args(corpus, tiny_lm, "--epochs", "2", "--verbose", "2"))
    assert result.returncode == 0, result.stderr
    assert "{'" not in result.stdout + result.stderr and "epoch 2/2: dev loss" in result.stderr


def test_an_old_transformers_is_named_with_the_install_command(corpus, tiny_lm, monkeypatch, capsys):
    real = lfd.importlib.metadata.version
    monkeypatch.setattr(
        lfd.importlib.metadata, "version", lambda name: "4.57.1" if name == "transformers" else real(name)
    )
    with pytest.raises(SystemExit) as stop:
        lfd.main(lm_args(corpus, tiny_lm))
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "lfd_assignment3.py: error: --model lm needs transformers 5.0 or newer, found 4.57.1: "
        "python -m pip install -U 'transformers>=5.0'"
    )


def test_a_mistyped_flag_gets_a_suggestion(capsys):
    with pytest.raises(SystemExit) as stop:
        lfd.main(["--learning_rat", "1e-3"])
    assert stop.value.code == 2 and "did you mean --learning_rate?" in capsys.readouterr().err
