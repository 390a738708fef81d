"""What a new user meets first: the help text, the progress output's default, a mistyped model
folder, and a run under torchrun with two processes."""

import csv
import json
import os
import socket
import subprocess
import sys

import pytest
from conftest import ROOT, base_args
from test_cli import SCRIPT, run_cli
from test_lm import lm_args, tiny_lm  # noqa: F401 (a fixture)

import lfd_assignment3 as lfd

pytestmark = pytest.mark.slow  # every test here trains a transformer or runs a process


def test_help_names_the_three_families_and_the_predictions_columns(corpus):
    help_text = " ".join(run_cli("--help").stdout.split())
    assert all(f"(--model {family}" in help_text for family in ("lstm", "lm", "tfidf"))
    assert all(family in lfd.__doc__ for family in ("LSTM", "--model lm", "--model tfidf"))
    columns = "id, gold, predicted, confidence, text, split"
    assert f"TSV ({columns})" in help_text
    path = corpus["out"] / "p.tsv"
    lfd.main(base_args(corpus, "--predictions_file", str(path)))
    with open(path, encoding="utf-8") as handle:
        assert next(csv.reader(handle, delimiter="\t")) == columns.split(", ")


def test_progress_is_a_bar_at_a_terminal_and_a_line_per_epoch_in_a_file(corpus, monkeypatch):
    argv = [arg for arg in base_args(corpus) if arg not in ("--verbose", "0")]
    for terminal, expected in ((True, 1), (False, 2)):
        monkeypatch.setattr(sys.stdout, "isatty", lambda terminal=terminal: terminal)
        assert lfd.main(argv)["config"]["verbose"] == expected
    logged = run_cli(*argv)  # stdout is a pipe here: no carriage returns, no ANSI codes
    assert logged.returncode == 0 and "\r" not in logged.stdout and "\x1b[" not in logged.stdout
    assert logged.stdout.count("Epoch 2/2") == 1


def test_a_missing_model_folder_beside_real_ones_fails_at_once(corpus, tiny_lm, tmp_path):  # noqa: F811
    models = tmp_path / "models"
    models.mkdir()
    os.symlink(tiny_lm, models / "tiny-bert")
    result = run_cli(
        "--model",
        "lm",
        "--lm_name",
        "models/nothere",
        "--train_file",
        corpus["train"],
        "--dev_file",
        corpus["dev"],
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "lfd_assignment3.py: error: --lm_name models/nothere: no such folder (models holds the model folders "
        "tiny-bert)"
    ]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_processes_under_torchrun_train_one_model_and_report_once(corpus, tiny_lm):  # noqa: F811
    out = corpus["out"]
    flags = lm_args(corpus, tiny_lm, "--patience", "0")
    single = lfd.main(flags + ["--results_file", str(out / "single.jsonl")])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_addr",
            "127.0.0.1",
            "--master_port",
            str(free_port()),
            SCRIPT,
            *flags,
            "--results_file",
            str(out / "two.jsonl"),
            "--save_model",
            str(out / "model"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("== dev") == 1 and result.stderr.count("model saved in") == 1
    records = [json.loads(line) for line in (out / "two.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(records) == 1 and (out / "model" / "lfd_config.json").exists()
    two = records[0]
    # --batch_size is the step's batch: two processes take half each, so the run takes as many steps,
    # and its loss is the same mean over the batch (the Trainer's default scaled it by the processes)
    assert two["train"]["optimizer_steps"] == single["train"]["optimizer_steps"]
    assert abs(two["train"]["history"]["loss"][0] - single["train"]["history"]["loss"][0]) < 0.1
    # Six epochs on 36 reviews do not converge alike from run to run: both learn (chance is 1/3)
    assert min(two["results"]["dev"]["accuracy"], single["results"]["dev"]["accuracy"]) >= 0.5


def test_torchrun_refuses_the_families_that_train_in_one_process(corpus, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(SystemExit) as stopped:
        lfd.main(base_args(corpus))
    assert stopped.value.code == 2


def test_readme_shows_what_its_script_renders_from_the_logs():
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import readme_results

    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    for block in (readme_results.table(), readme_results.sample(), readme_results.speed()):
        assert block in readme
    assert "| LSTM, the defaults | `python lfd_assignment3.py` | 1 |" in readme_results.table()
