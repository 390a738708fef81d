"""The report's machinery: a sweep killed mid-way and restarted finishes without rerunning
anything, and the committed tables are what report/tables.py writes from the committed logs."""

import json
import math
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import ROOT, embedding_table, write_corpus

sys.path.insert(0, os.path.join(ROOT, "report"))
import experiments  # noqa: E402
import tables  # noqa: E402

RUNNER = os.path.join(ROOT, "report", "experiments.py")


def lines(path):
    return path.read_text().splitlines() if path.exists() else []


def sweep_data(tmp_path):
    """A data folder as experiments.py expects it (fixture corpus and embeddings), and a results folder."""
    data = tmp_path / "data"
    data.mkdir()
    write_corpus(data / "train.txt", 12, 1)
    write_corpus(data / "dev.txt", 4, 2)
    (data / "glove_reviews.json").write_text(json.dumps(embedding_table()), encoding="utf-8")
    return data, tmp_path / "results"


def test_killed_sweep_restarts_where_it_stopped(tmp_path):
    data, results = sweep_data(tmp_path)
    log = results / "smoke.jsonl"
    command = [sys.executable, RUNNER, "--data_dir", str(data), "--results_dir", str(results), "smoke"]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while len(lines(log)) < 1 and time.time() < deadline and first.poll() is None:
        time.sleep(0.2)
    first.kill()  # mid-sweep: the second run is in flight (or about to start)
    first.wait()
    done = lines(log)
    assert 1 <= len(done) < 4, "the sweep should have been killed part-way"
    second = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    finished = lines(log)
    assert len(finished) == 4 and finished[: len(done)] == done  # completed runs kept, none rerun
    keys = [experiments.record_key(json.loads(line)) for line in finished]
    assert len(set(keys)) == 4
    assert "tiny, seed 1" not in second.stdout  # the first run was logged before the kill
    third = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert third.returncode == 0 and lines(log) == finished and "seed" not in third.stdout


def test_shards_split_a_group_without_overlap(tmp_path):
    data, results = sweep_data(tmp_path)
    log = results / "smoke.jsonl"
    base = [sys.executable, RUNNER, "--data_dir", str(data), "--results_dir", str(results)]
    first = subprocess.run(base + ["--shard", "1/2", "smoke"], capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    assert len(lines(log)) == 2  # every second run of four
    second = subprocess.run(base + ["--shard", "2/2", "smoke"], capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    keys = [experiments.record_key(json.loads(line)) for line in lines(log)]
    assert len(keys) == 4 and len(set(keys)) == 4
    bad = subprocess.run(base + ["--shard", "3/2", "smoke"], capture_output=True, text=True)
    assert bad.returncode == 2 and "I must be between 1 and N" in bad.stderr


def test_ensembles_load_the_members_a_saving_group_trained(tmp_path, monkeypatch):
    data, results = sweep_data(tmp_path)
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(experiments, "SAVED_MODELS", str(tmp_path / "models"))
    unigrams, bigrams = ["--model", "tfidf", "--ngram_max", "1"], ["--model", "tfidf", "--ngram_max", "2"]
    members = experiments.Group(
        "members", "", lambda logs: [("uni", unigrams), ("bi", bigrams)], seeds=(1, 2), compare=None, save=True
    )
    both = experiments.Group(
        "both",
        "",
        lambda logs: [
            (
                "uni + bi",
                [
                    "--load_model",
                    experiments.saved_folder(unigrams, "{seed}"),
                    "--load_model",
                    experiments.saved_folder(bigrams, "{seed}"),
                ],
            )
        ],
        seeds=(1, 2),
    )
    hashes = experiments.data_hashes(str(data))

    def run(group):
        return experiments.run_group(group, str(data), str(results), hashes)

    with pytest.raises(experiments.Pending, match="not all saved"):
        run(both)
    assert run(members) == 4 and run(both) == 2
    records = [json.loads(line) for line in lines(results / "both.jsonl")]
    assert [record["family"] for record in records] == ["ensemble", "ensemble"]
    for seed, record in enumerate(records, start=1):  # each seed's ensemble averages that seed's members
        assert [os.path.basename(member["loaded_from"]) for member in record["train"]["members"]] == [
            os.path.basename(experiments.saved_folder(flags, seed)) for flags in (unigrams, bigrams)
        ]
    assert run(members) == 0 and run(both) == 0  # all logged and saved: nothing runs again
    seeds = experiments.Group(
        "seeds",
        "",
        lambda logs: [
            (
                "uni, seeds 1+2",
                [
                    "--load_model",
                    experiments.saved_folder(unigrams, "1"),
                    "--load_model",
                    experiments.saved_folder(unigrams, "2"),
                    "--ensemble_weights",
                    "fit",
                ],
            )
        ],
        seeds=(1, 2),
    )
    assert run(seeds) == 1 and run(seeds) == 0  # the same saved models for every seed: one run
    record = json.loads(lines(results / "seeds.jsonl")[0])
    assert record["train"]["weights_from"].startswith("fitted on ") and len(record["train"]["weights"]) == 2
    shutil.rmtree(experiments.saved_folder(bigrams, 2))
    assert run(both) == 0  # the ensemble is logged; its lost member is not needed
    assert run(members) == 1 and experiments.is_saved(experiments.saved_folder(bigrams, 2))


def test_flags_of_a_logged_run_ignore_paths_and_order():
    one = [
        "x",
        "--train_file",
        "a/train.txt",
        "--verbose",
        "2",
        "--bidirectional",
        "--seed",
        "2",
        "--embeddings",
        "a/glove.json",
        "--results_file",
        "r.jsonl",
    ]
    two = ["x", "--seed", "2", "--results_file", "elsewhere.jsonl", "--bidirectional", "--train_file", "b/t.txt"]
    assert experiments.run_flags(one) == experiments.run_flags(two) == (("--bidirectional", None), ("--seed", "2"))
    assert experiments.run_flags(["x", "--embeddings", "none"]) == (("--embeddings", "none"),)


@pytest.mark.parametrize("test", [experiments.paired_bootstrap, tables.paired_bootstrap_counts])
def test_paired_bootstrap(test):
    rng = np.random.default_rng(1)
    same = rng.random(600) < 0.85
    assert test(same, same) == 1.0
    better = same | (rng.random(600) < 0.3)  # fixes about 30% of the errors
    assert test(better, same) < 0.01
    noisy = same.copy()
    noisy[np.flatnonzero(same)[:12]] = False  # 12 answers lost, 9 won: a difference of 0.5%
    noisy[np.flatnonzero(~same)[:9]] = True
    assert 0.3 < test(noisy, same) < 1


def test_bootstrap_by_counts_draws_the_p_of_resampling_reviews():
    # 3 of 600 reviews right in a and wrong in b: a resample's difference is K/600, K ~ binomial(600, 3/600), at
    # least as far from the observed 3/600 as 0 is when K is 0 or from 6 on
    chance = [math.comb(600, k) * 0.005**k * 0.995 ** (600 - k) for k in range(6)]
    known = chance[0] + 1 - sum(chance)
    a, b = np.zeros(600), np.zeros(600)
    a[:3] = 1
    for test, resamples in ((experiments.paired_bootstrap, 10_000), (tables.paired_bootstrap_counts, 1_000_000)):
        assert abs(test(a, b, resamples=resamples) - known) < 4 * np.sqrt(known * (1 - known) / resamples)
    # means over three seeds against five: both tests draw the same distribution
    rng = np.random.default_rng(2)
    hard = rng.random(600) < 0.15
    a = np.mean(rng.random((3, 600)) < np.where(hard, 0.4, 0.95), axis=0)
    b = np.mean(rng.random((5, 600)) < np.where(hard, 0.3, 0.95), axis=0)
    by_reviews, by_counts = experiments.paired_bootstrap(a, b), tables.paired_bootstrap_counts(a, b)
    assert 0.01 < by_counts < 0.5 and abs(by_reviews - by_counts) < 4 * np.sqrt(by_counts * (1 - by_counts) / 10_000)


def test_bootstrap_by_counts_is_deterministic_and_its_seed_matters():
    rng = np.random.default_rng(3)
    a, b = rng.random(600) < 0.86, rng.random(600) < 0.84
    p = tables.paired_bootstrap_counts(a, b, resamples=100_001)  # two chunks, the second of one resample
    assert tables.paired_bootstrap_counts(a, b, resamples=100_001) == p
    assert tables.paired_bootstrap_counts(a, b, seed=1, resamples=100_001) != p


def numbers_of(macros):
    """{(name, row, field): value} of numbers.tex lines that tables.define() wrote."""
    found = [re.fullmatch(r"\\expandafter\\def\\csname res:(.*):(.*):(.*)\\endcsname\{(.*)\}", m) for m in macros]
    return {match.groups()[:3]: match.group(4) for match in found}


def test_confusions_count_each_wrong_prediction_and_list_the_reviews_wrong_in_every_seed():
    labels, gold = ["books", "camera", "dvd"], np.array([0, 0, 1, 1, 2, 2])

    def run(family, predicted):
        accuracy = float(np.mean(np.array(predicted) == gold))
        return {"family": family, "labels": labels, "results": {"dev": {"predicted": predicted, "accuracy": accuracy}}}

    lm = [run("lm", [0, 2, 1, 0, 2, 1]), run("lm", [0, 2, 1, 1, 2, 2])]
    lstm = [run("lstm", [0, 2, 1, 1, 1, 2]), run("lstm", [1, 2, 1, 1, 1, 2])]
    runs_of = tables.family_runs([("lm", [], lm, None), ("not run yet", [], [], None), ("lstm", [], lstm, None)])
    assert list(runs_of) == ["lm", "lstm"]
    assert tables.confusion_matrix(lm, gold, "dev").tolist() == [[2, 0, 2], [1, 3, 0], [0, 1, 3]]
    numbers = numbers_of(tables.confusion_macros("c", runs_of, gold, "dev"))
    for family, runs in runs_of.items():  # the off-diagonal cells are the runs' errors, each counted once
        wrong = sum(round((1 - r["results"]["dev"]["accuracy"]) * len(gold)) for r in runs)
        assert numbers["c", "errors", family] == str(wrong)
    assert (numbers["c", "books-dvd", "all"], numbers["c", "dvd-camera", "lstm"], numbers["c", "errors", "all"]) == (
        "4",
        "2",
        "9",
    )
    ranked = [numbers["c", f"all-top{n}", "pair"] + " " + numbers["c", f"all-top{n}", "count"] for n in (1, 2, 3, 4)]
    assert ranked == ["books$\\to$dvd 4", "dvd$\\to$camera 3", "books$\\to$camera 1", "camera$\\to$books 1"]
    assert tables.always_wrong(lstm, gold) == {1: 2, 4: 1}  # reviews 2 and 5, as most seeds predicted them
    listing, counts = tables.always_wrong_listing("c", runs_of, gold)
    assert listing.splitlines() == [
        "gold\tpredicted\tlm\tlstm\talways_lm\talways_lstm\talways_all",
        "books\tdvd\t2\t2\t2\t2\t2",  # line 2 of dev.txt, wrong in every seed of both
        "dvd\tcamera\t1\t2\t\t5\t",
        "books\tcamera\t0\t1\t\t\t",
        "camera\tbooks\t1\t0\t\t\t",
    ]
    counted = numbers_of(counts)
    assert counted["c", "dvd-camera", "always_lstm"] == "1"
    assert [counted["c", "always", family] for family in ("lm", "lstm", "all")] == ["1", "2", "1"]
    with pytest.raises(ValueError, match="second row of family lm"):
        tables.family_runs([("a", [], lm, None), ("b", [], lm[:1], None)])


def test_confusions_from_the_predictions_match_each_logged_matrix_and_accuracy():
    checked = 0
    for record in experiments.read_logs(os.path.join(ROOT, experiments.RESULTS)):
        for split, result in record["results"].items():
            if "gold" in result and "predicted" in result:
                matrix = tables.confusion_matrix([record], np.asarray(result["gold"]), split)
                assert matrix.tolist() == result["confusion_matrix"]
                assert np.isclose(np.trace(matrix) / matrix.sum(), result["accuracy"])
                checked += 1
    assert checked > 0


def test_holm_adjusts_each_p_by_its_rank_and_keeps_the_order():
    # sorted: 0.005 x 4, 0.01 x 3, 0.03 x 2, then 0.04 x 1 raised to the 0.06 before it
    assert np.allclose(tables.holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    assert tables.holm([0.6, 0.5]) == [1.0, 1.0] and tables.holm([0.2]) == [0.2] and tables.holm([]) == []


def test_each_comparison_is_corrected_within_its_question_and_over_the_paper():
    assert {group.name for group in experiments.GROUPS if group.compare and group.name != "smoke"} == set(
        experiments.QUESTION_OF
    )  # every comparison answers one of the paper's questions
    groups = [experiments.group_named(name) for name in ("embeddings", "systems", "seed_ensembles")]
    row = lambda p=None: ("row", [], [], {} if p is None else {"p": p})  # noqa: E731
    rows_of = {
        "embeddings": [row(), row(0.01), row(0.04)],
        "systems": [row(), row(0.02), row(0.5)],
        "seed_ensembles": [row(), row(0.03)],
    }
    pairs_of = {
        "systems": {
            "1-2": {"p": 0.02, "delta": 0.1},
            "1-3": {"p": 0.5, "delta": 0.0},
            "2-3": {"p": 0.001, "delta": -0.1},
        }
    }  # a group of every pair is corrected by its pairs
    assert tables.adjust(groups, rows_of, pairs_of) == {
        "Q1 LSTM: the assignment's changes (dev)": 2,
        "Q5 the families compared (test)": 3,
        "Q6 ensembles (test)": 1,
    }
    adjusted = [
        (test["padj"], test["pglob"])
        for test in [
            rows_of["embeddings"][1][3],
            rows_of["embeddings"][2][3],
            *pairs_of["systems"].values(),
            rows_of["seed_ensembles"][1][3],
        ]
    ]
    assert np.allclose(adjusted, [(0.02, 0.05), (0.04, 0.09), (0.04, 0.08), (0.5, 0.5), (0.003, 0.006), (0.03, 0.09)])
    assert [(summary["padj"], summary["pglob"]) for *_, summary in rows_of["systems"][1:]] == [
        adjusted[2],
        adjusted[3],
    ]
    assert [tables.reference(groups[2], index) for index in (1, 2, 3, 4)] == [None, 1, None, 3]
    assert [tables.reference(groups[0], index) for index in (1, 2, 3)] == [None, 1, 1]


@pytest.mark.slow
def test_committed_tables_match_the_logs(tmp_path):
    out, readme = tmp_path / "tables", tmp_path / "README.md"
    shutil.copy(os.path.join(ROOT, "README.md"), readme)
    tables.main(["--out_dir", str(out), "--figures_dir", str(tmp_path / "figures"), "--readme", str(readme)])
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        assert readme.read_text(encoding="utf-8") == handle.read(), "README's study block is stale"
    committed = os.path.join(ROOT, "report", "tables")
    written = sorted(os.listdir(out))
    assert written and written == sorted(name for name in os.listdir(committed) if not name.startswith("."))
    for name in written:
        with open(os.path.join(committed, name), encoding="utf-8") as handle:
            assert handle.read() == (out / name).read_text(encoding="utf-8"), f"report/tables/{name} is stale"


def fake_logs(tmp_path, accuracy_of):
    """Logs where every run of the study exists, scored by accuracy_of(flags) (one seed or three)."""
    hashes = {"train_file": "t" * 64, "dev_file": "d" * 64, "embeddings": "e" * 64}
    gold = np.arange(600) % 6
    results = tmp_path / "results"
    results.mkdir()
    logs = experiments.Logs(str(results), hashes)
    lines_out = []
    for group in experiments.GROUPS:
        if group.name in (
            "smoke",
            "combined_lr_batch",
            "final",
            "test",
            "systems",
            "pooling",
            "truncation",
            "lstm_ideas",
            "lstm_ideas_final",
            "lstm_new_lr_batch",
            "lstm_new_final",
            "lstm_new_test",
            "ensemble_members",
            "ensembles",
            "ensembles_test",
            "ensemble_pair_test",
            "mpnet_long",
            "mpnet_long_test",
            "seed_ensembles",
            "weighted_ensembles",
            "mpnet_own",
            "own_members",
            "mpnet_own_test",
            "ensemble_choice",
        ):  # these build on the combined grid's runs, or on the history of epochs a run logs
            continue
        for _, flags in group.configs(logs):
            for seed in group.seeds:
                correct = int(600 * accuracy_of(flags)) - seed  # seeds differ a little
                predicted = np.where(np.arange(600) < correct, gold, (gold + 1) % 6)
                keys = logs.hashes_for(flags, False)
                lines_out.append(
                    json.dumps(
                        {
                            "command": ["lfd_assignment3.py", *flags, "--seed", str(seed)],
                            "data_sha256": keys,
                            "timestamp": "2026-11-30T00:00:00+00:00",
                            "results": {
                                "dev": {
                                    "accuracy": correct / 600,
                                    "macro_f1": correct / 600,
                                    "gold": gold.tolist(),
                                    "predicted": predicted.tolist(),
                                }
                            },
                            "train": {"epochs_run": 5, "train_seconds": 10.0},
                        }
                    )
                )
                (results / "all.jsonl").write_text("\n".join(lines_out) + "\n")
                logs = experiments.Logs(str(results), hashes)
    return logs


def test_the_combined_model_adopts_only_significant_improvements(tmp_path):
    def accuracy_of(flags):
        score = 0.80 + (0.02 if flags[:4] == ["--learning_rate", "3e-3", "--batch_size", "16"] else 0)
        score += 0.08 if "--bidirectional" in flags else 0  # a clear gain
        score += 0.004 if "--dropout" in flags else 0  # within noise
        return score

    logs = fake_logs(tmp_path, accuracy_of)
    assert experiments.baseline(logs) == ["--learning_rate", "3e-3", "--batch_size", "16"]
    assert experiments.adopted_changes(logs) == [
        ("bidirectional", "bidirectional", ["--bidirectional"]),
        ("bidirectional_long", "200 tokens, bidirectional", ["--bidirectional"]),
    ]
    assert experiments.combined_flags(logs) == ["--bidirectional"]
    grid = experiments.combined_grid(logs)
    assert len(grid) == 6 and all(flags[0] == "--bidirectional" for _, flags in grid)
    try:
        experiments.test_rows(logs)
        raise AssertionError("test rows need the combined grid first")
    except experiments.Pending:
        pass


def test_a_torn_last_log_line_is_skipped_and_a_torn_earlier_one_is_an_error(tmp_path):
    record = json.dumps({"command": ["lfd_assignment3.py", "--seed", "1"], "data_sha256": {}, "results": {}})
    (tmp_path / "g.jsonl").write_text(record + "\n\n" + record[:20])  # killed while writing its second record
    assert [r["group"] for r in experiments.read_logs(str(tmp_path))] == ["g"]
    (tmp_path / "g.jsonl").write_text(record[:20] + "\n" + record + "\n")
    try:
        experiments.read_logs(str(tmp_path))
        raise AssertionError("a torn line before the last is not a crash's doing and must not pass silently")
    except json.JSONDecodeError:
        pass


def test_a_test_run_is_not_found_where_no_test_file_was_hashed(tmp_path):
    hashes = {"train_file": "t" * 64, "dev_file": "d" * 64, "embeddings": "e" * 64}
    record = {
        "command": ["lfd_assignment3.py", "--bidirectional", "--seed", "1"],
        "data_sha256": hashes,
        "timestamp": "2026-11-30T00:00:00+00:00",
        "results": {"dev": {"accuracy": 0.5}},
    }
    (tmp_path / "g.jsonl").write_text(json.dumps(record) + "\n")
    logs = experiments.Logs(str(tmp_path), hashes)
    assert logs.find(["--bidirectional"], 1) is not None
    assert logs.find(["--bidirectional"], 1, test=True) is None  # the dev-only run is not a test run


def test_language_model_tuning_keeps_each_steps_best_and_reuses_its_runs(tmp_path):
    def accuracy_of(flags):
        score = 0.90 + (0.02 if "256" in flags else 0) + (0.01 if "1e-4" in flags else 0)
        return score + (0.005 if "cosine" in flags else 0)

    logs = fake_logs(tmp_path, accuracy_of)
    recipe = experiments.lm()
    lengths = experiments.lm_length_grid(logs)
    assert (f"{experiments.LM_DEFAULTS['--max_length']} tokens", recipe) in lengths  # the recipe is not rerun
    rates = experiments.lm_rate_grid(logs)
    assert all(flags[: len(recipe) + 2] == recipe + ["--max_length", "256"] for _, flags in rates)
    assert ("lr 5e-5", recipe + ["--max_length", "256"]) in rates  # the default rate: the step before, as is
    tuned = experiments.lm_final_rows(logs)
    assert tuned[0][0] == "MiniLM tuned" and tuned[1][1] == recipe
    assert tuned[0][1] == recipe + [
        "--max_length",
        "256",
        "--learning_rate",
        "1e-4",
        "--lr_scheduler_type",
        "cosine",
        "--warmup_ratio",
        "0.1",
    ]


def test_transformer_runs_are_known_by_checkpoint_name_and_read_no_vectors():
    here = experiments.run_flags(["x", "--model", "lm", "--lm_name", "models/all-MiniLM-L6-v2/"])
    there = experiments.run_flags(["x", "--lm_name", "/gpu/device/all-MiniLM-L6-v2", "--model", "lm"])
    assert here == there == (("--lm_name", "all-MiniLM-L6-v2"), ("--model", "lm"))
    hashes = {"train_file": "t", "dev_file": "d", "embeddings": "e", "test_file": "x"}
    logs = experiments.Logs("/nonexistent", hashes)
    for flags in (experiments.lm(), ["--model", "tfidf"]):
        assert logs.hashes_for(flags, test=False) == {"train_file": "t", "dev_file": "d"}
        argv = experiments.command(experiments.group_named("lm_max_length"), flags, 1, "data", "results")
        assert "--embeddings" not in argv and "--train_file" in argv
    assert "embeddings" in logs.hashes_for(["--bidirectional"], test=False)


def test_results_from_another_machine_are_merged_once(tmp_path):
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import merge_results

    def record(seed, device):
        return json.dumps(
            {
                "command": [
                    "lfd_assignment3.py",
                    "--model",
                    "lm",
                    "--lm_name",
                    "x/all-MiniLM-L6-v2",
                    "--seed",
                    str(seed),
                ],
                "data_sha256": {"train_file": "t"},
                "device": device,
            }
        )

    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    (here / "lm_lr.jsonl").write_text(record(1, "cpu") + "\n")
    (there / "lm_lr.jsonl").write_text(record(1, "gpu") + "\n" + record(2, "gpu") + "\n")
    (there / "lm_batch.jsonl").write_text(record(3, "gpu"))
    assert merge_results.merge(str(there), str(here)) == 2
    assert [json.loads(line)["device"] for line in (here / "lm_lr.jsonl").read_text().splitlines()] == ["cpu", "gpu"]
    assert len((here / "lm_batch.jsonl").read_text().splitlines()) == 1
    assert merge_results.merge(str(there), str(here)) == 0


def test_tables_say_where_each_run_trained():
    gpu = {"family": "lm", "device": "gpu:NVIDIA H100 80GB HBM3", "train": {"precision": "bf16"}}
    cpu = {"family": "lm", "device": "cpu (1 threads)", "train": {"precision": "fp32"}}
    assert tables.trained_on(gpu) == ("PyTorch bf16 on an NVIDIA H100 80GB HBM3", True, None)
    assert tables.trained_on(cpu) == ("PyTorch fp32 on 1 CPU thread(s)", False, 1)
    for flags, said in (
        (["avx512_bf16", "amx_bf16"], " with native bf16 (avx512_bf16, amx_bf16)"),
        ([], " without native bf16"),
    ):
        logged = {**cpu, "train": {"precision": "fp32", "cpu_bf16_flags": flags}}
        assert tables.trained_on(logged) == ("PyTorch fp32 on 1 CPU thread(s)" + said, False, 1)
    group = experiments.group_named("lm_batch")

    def caption_of(*records):
        rows = [
            (
                "row",
                [],
                [],
                {"family": "lm", "where": {tables.trained_on(r)}, "run_seconds": 1.0, "second_round": False},
            )
            for r in records
        ]
        return tables.caption(group, rows)

    assert "trained with PyTorch bf16 on an NVIDIA H100 80GB HBM3." in caption_of(gpu)
    assert "PyTorch bf16 on an NVIDIA H100 80GB HBM3, PyTorch fp32 on 1 CPU thread(s)" in caption_of(gpu, cpu)
    assert "compare across hardware and precision, their times not at all" in caption_of(gpu, cpu)
    assert "across hardware" not in caption_of(gpu) and "across hardware" not in caption_of(cpu)
    loaded = (
        "row",
        [],
        [],
        {"family": "ensemble", "where": {("", False, None)}, "run_seconds": None, "second_round": True},
    )
    assert "nothing trained" in tables.caption(group, [loaded])
    assert "second round" in tables.caption(group, [loaded]) and "second round" not in caption_of(gpu)


def test_groups_declare_their_tables_as_data():
    assert tables.columns(experiments.group_named("lr_batch"))[-1] == ("s/run", "seconds")  # no comparison
    assert [name for name, _ in tables.columns(experiments.group_named("lm_models"))][-5:] == [
        "s/run",
        "Δ acc",
        "p",
        "p question",
        "p all",
    ]
    for wrong in ({"compare": "all"}, {"extras": ("errors", "curve")}):
        try:
            experiments.Group("x", "X", lambda logs: [], **wrong)
            raise AssertionError(f"{wrong} should be refused")
        except ValueError as refused:
            assert "group x" in str(refused)


def test_the_check_groups_reuse_the_tuned_configuration_and_the_recipe(tmp_path):
    logs = fake_logs(tmp_path, lambda flags: 0.90 + (0.02 if "256" in flags else 0))
    tuned = experiments.lm_final_rows(logs)[0][1]
    assert "256" in tuned
    precision, tradeoff = (experiments.group_named(name).configs(logs) for name in ("lm_precision", "lm_tradeoff"))
    assert [flags for _, flags in precision] == [tuned, experiments.lm() + ["--precision", "bf16"]]
    assert [flags for _, flags in tradeoff] == [experiments.lm(experiments.MPNET), tuned]


def test_one_rule_chooses_the_highest_mean_dev_accuracy_over_three_seeds_tested_later_or_not(tmp_path):
    """chosen_on_dev: the highest mean over seeds 1-3, whether the dev accuracy was logged by a dev run or by a
    run that also evaluated test (a saved model tested later), and the first of equals."""
    hashes = {"train_file": "t" * 64, "dev_file": "d" * 64, "test_file": "s" * 64}
    records = []

    def log(flags, accuracies, test=False):
        read = {"dev_file", "test_file"} if test else {"train_file", "dev_file"}
        for seed, accuracy in enumerate(accuracies, start=1):
            results = {"dev": {"accuracy": accuracy}, **({"test": {"accuracy": 0.1}} if test else {})}
            command = ["lfd_assignment3.py", *flags, "--seed", str(seed)]
            data = {name: digest for name, digest in hashes.items() if name in read}
            records.append({"command": command, "data_sha256": data, "timestamp": "t", "results": results})

    model = ["--model", "tfidf"]
    log(model + ["--C", "1"], [0.90, 0.90, 0.93])  # mean 0.91, one seed above every other run
    log(["--load_model", "m-1", "--load_model", "m-2"], [0.92], test=True)  # a seed ensemble, logged with test
    log(model + ["--C", "2"], [0.91, 0.91, 0.91])  # mean 0.91 too, but second of equals
    (tmp_path / "g.jsonl").write_text("".join(json.dumps(record) + "\n" for record in records))
    logs = experiments.Logs(str(tmp_path), hashes)
    first, second = ("C 1", model + ["--C", "1"]), ("C 2", model + ["--C", "2"])
    ensemble = ("ensemble", ["--load_model", "m-1", "--load_model", "m-2"])
    assert experiments.chosen_on_dev(logs, [first, second]) == first
    assert experiments.chosen_on_dev(logs, [second, first]) == second
    assert experiments.chosen_on_dev(logs, [first, ensemble, second]) == ensemble
    with pytest.raises(experiments.Pending):
        experiments.chosen_on_dev(logs, [first, ("not run", model + ["--C", "3"])])
