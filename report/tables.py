#!/usr/bin/env python
"""Write the report's tables from the logged runs: no number in the report is typed by hand.

    python report/tables.py [--results_dir report/results] [--out_dir report/tables]

For every group of report/experiments.py it writes <group>.tex (booktabs, \\input by the
paper) and <group>.md, and all of them into tables.md. Per configuration: the seeds logged,
dev accuracy and macro F1 as mean ± standard deviation over seeds, epochs trained, seconds per
epoch and per run; in groups that compare, the difference in accuracy from the group's first
row and its p-value. The p-value is a two-sided paired bootstrap test over the dev reviews:
each review's correctness is averaged over the seeds of a configuration, the per-review
differences are resampled 10,000 times (fixed seed), and p is the share of resampled means,
centred on the observed mean, at least as far from 0 as the observed mean.
"""

import argparse
import collections
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import experiments  # noqa: E402
from experiments import correctness, paired_bootstrap  # noqa: E402


def logged_hashes(records):
    """The data the study ran on: per input, the hash most runs read (the smoke runs aside)."""
    counts = collections.defaultdict(collections.Counter)
    for record in records:
        if record["group"] != "smoke":
            for name, digest in record["data_sha256"].items():
                counts[name][digest] += 1
    return {name: counter.most_common(1)[0][0] for name, counter in counts.items()}


def mean_and_sd(values):
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else None


def summarize(runs):
    accuracy = [r["results"]["dev"]["accuracy"] for r in runs]
    macro_f1 = [r["results"]["dev"]["macro_f1"] for r in runs]
    epoch_seconds = [s for r in runs for s in r["train"].get("epoch_seconds", [])[1:]]
    if not epoch_seconds and "epochs_run" in runs[0]["train"]:  # transformers: the epochs' mean, evaluation included
        epoch_seconds = [r["train"]["train_seconds"] / r["train"]["epochs_run"] for r in runs]
    tested = all("test" in r["results"] for r in runs)
    tokens = runs[0]["train"].get("tokens_per_review", {}).get("train", {})
    return {
        "family": runs[0]["family"],
        "cut_share": tokens.get("truncated_share"),
        "tokens_mean": tokens.get("mean"),
        "hardware": sorted({hardware(r) for r in runs}),
        "parameters": runs[0]["train"].get("parameters"),
        "trainable_parameters": runs[0]["train"].get("trainable_parameters", runs[0]["train"].get("parameters")),
        "dev_per_second": float(np.mean([r.get("predict_examples_per_second", {}).get("dev", np.nan) for r in runs])),
        "test_accuracy": mean_and_sd([r["results"]["test"]["accuracy"] for r in runs]) if tested else None,
        "test_macro_f1": mean_and_sd([r["results"]["test"]["macro_f1"] for r in runs]) if tested else None,
        "seeds": len(runs),
        "accuracy": mean_and_sd(accuracy),
        "macro_f1": mean_and_sd(macro_f1),
        "epochs": float(np.mean([r["train"]["epochs_run"] for r in runs])) if "epochs_run" in runs[0]["train"] else None,
        "epoch_seconds": float(np.median(epoch_seconds)) if epoch_seconds else None,
        "run_seconds": float(np.mean([r["train"]["train_seconds"] for r in runs])),
    }


def hardware(record):
    """Where a run trained, in words: 'PyTorch fp32 on 1 CPU thread(s)', 'PyTorch bf16 on an NVIDIA H100 80GB
    HBM3', 'Keras on jax, GPU', ..."""
    device = record["device"]
    if record["family"] == "lm":
        where = (f"an {device[len('gpu:'):]}" if device.startswith("gpu:") else
                 device.replace("cpu (", "").replace(")", "").replace("threads", "CPU thread(s)"))
        flags = record["train"].get("cpu_bf16_flags")  # logged since the CPU rule of --precision auto
        if flags is not None:
            where += f" with native bf16 ({', '.join(flags)})" if flags else " without native bf16"
        return f"PyTorch {record['train'].get('precision', '')} on {where}"
    if record["family"] == "lstm":
        return f"Keras on {record['backend']}, {'GPU' if 'gpu' in device.lower() else 'CPU'}"
    return "scikit-learn on CPU"


def on_gpu(where):
    """Whether a hardware() text names a GPU."""
    return " on an " in where or where.endswith(", GPU")


def timing_note(where, alone):
    """The caption's sentence on how the s/run times were taken, from the runs' hardware() texts."""
    if alone:
        return "run one at a time on an otherwise idle 2-core machine."
    gpu = any(on_gpu(w) for w in where)
    cpu = [w for w in where if not on_gpu(w)]
    parts = []
    if cpu:
        parts.append(("CPU runs" if gpu else "each run") + " on one core"
                     + (" (or two, where it used 2 threads)" if any(" on 2 CPU" in w for w in cpu) else "")
                     + " of a 2-core machine that other work shared at times")
    if gpu:
        parts.append("GPU runs up to four side by side on one GPU (bench/gpu_lm_study.sh)")
    mixed = ", and not at all between CPU and GPU rows (s/run marked GPU)" if cpu and gpu else ""
    return "; ".join(parts) + ", so times compare only roughly" + mixed + "."


def group_rows(group, logs):
    """[(label, flags, summary or None, p or None, delta or None)] for one group."""
    try:
        configs = group.configs(logs)
    except experiments.Pending:
        return None
    rows, reference = [], None
    # a test group compares on the test set, the others on dev
    split, gold, accuracy = ("test", logs.test_gold, "test_accuracy") if group.test else ("dev", logs.gold, "accuracy")
    for i, (label, flags) in enumerate(configs):
        runs = logs.runs(flags, group.seeds, group.test)
        if not runs:
            rows.append((label, flags, None, None, None))
            continue
        summary = summarize(runs)
        delta = p = None
        if group.compare and i == 0:
            reference = (runs, summary)
        elif group.compare and reference and gold is not None:
            delta = summary[accuracy][0] - reference[1][accuracy][0]
            p = paired_bootstrap(correctness(runs, gold, split), correctness(reference[0], gold, split))
            if group.test and logs.gold is not None:  # the same runs compared on dev as well
                summary["dev_delta"] = summary["accuracy"][0] - reference[1]["accuracy"][0]
                summary["dev_p"] = paired_bootstrap(correctness(runs, logs.gold), correctness(reference[0], logs.gold))
        rows.append((label, flags, summary, p, delta))
    return rows


def p_text(p):
    """A p-value to three decimals; below 0.001 (10,000 resamples) it is shown as <0.001."""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def mean_std(pair, digits=3):
    mean, std = pair
    return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")


def cells(group, row):
    label, flags, summary, p, delta = row
    if summary is None:
        return [label, "0", "not run yet"] + [""] * (len(header_of(group)) - 3)
    if group.test:
        out = [label, str(summary["seeds"]), mean_std(summary["accuracy"]),
               mean_std(summary["test_accuracy"]), mean_std(summary["test_macro_f1"]),
               optional(summary["epochs"], ".1f"), f"{summary['run_seconds']:.0f}"]
    else:
        out = [label, str(summary["seeds"]), mean_std(summary["accuracy"]), mean_std(summary["macro_f1"]),
               optional(summary["epochs"], ".1f"), optional(summary["epoch_seconds"], ".1f"),
               f"{summary['run_seconds']:.0f}"]
    if any(on_gpu(where) for where in summary["hardware"]):
        out[-1] += " GPU"
    if group.efficiency:
        out += [f"{summary['parameters'] / 1e6:.1f}", f"{summary['trainable_parameters'] / 1e6:.3f}",
                f"{summary['dev_per_second']:.0f}"]
    if group.compare and group.test:
        out += ["" if "dev_p" not in summary else p_text(summary["dev_p"])]
    if group.compare:
        out += ["" if delta is None else f"{delta:+.3f}", "" if p is None else p_text(p)]
    return out


def optional(value, spec):
    return "" if value is None else format(value, spec)


HEADER = ["configuration", "seeds", "dev accuracy", "dev macro F1", "epochs", "s/epoch", "s/run"]
TEST_HEADER = ["configuration", "seeds", "dev accuracy", "test accuracy", "test macro F1", "epochs", "s/run"]
COMPARE_HEADER = ["Δ acc", "p"]
EFFICIENCY_HEADER = ["params (M)", "trained params (M)", "dev reviews/s"]


def header_of(group):
    return ((TEST_HEADER if group.test else HEADER) + (EFFICIENCY_HEADER if group.efficiency else [])
            + (["p dev"] if group.compare and group.test else [])
            + (["Δ test acc", "p test"] if group.test else COMPARE_HEADER) * group.compare)


def caption(group, rows):
    seeds = ", ".join(map(str, group.seeds))
    data = "Dev and test sets (600 reviews each)" if group.test else "Dev set (600 reviews)"
    summaries = [row[2] for row in rows if row[2] is not None]
    families = {summary["family"] for summary in summaries}
    where = sorted({h for summary in summaries for h in summary["hardware"]})
    text = (f"{group.title}. {data}, seed{'s' if len(group.seeds) > 1 else ''} {seeds}; "
            "mean ± standard deviation over seeds. ")
    both = {"lstm", "lm"} <= families
    if "lstm" in families:
        text += (("LSTM epochs" if both else "Epochs") + ": trained before early stopping (patience 3 on dev loss); "
                 + ("" if group.test else "s/epoch: median epoch time after the first; "))
    if "lm" in families:
        text += (("language-model epochs" if both else "Epochs") + ": fine-tuning epochs; with more than one, the weights of the epoch with the lowest dev loss "
                 "are kept; " + ("" if group.test else "s/epoch: training seconds per epoch, dev evaluation "
                                 "included; "))
    if group.efficiency:
        text += ("params: all parameters, trained params: those updated; dev reviews/s: prediction speed on the "
                 "dev set; ")
    text += ("s/run: training seconds" + (f" ({'; '.join(where)})" if where else "") + ", "
             + timing_note(where, group.alone))
    if group.compare and group.test:
        text += (" Δ test acc: test accuracy difference from the first row; p dev, p test: paired bootstrap "
                 "test against the first row on the dev and on the test set (see report/experiments.py).")
    elif group.compare:
        text += (" Δ acc: dev accuracy difference from the first row; p: paired bootstrap test against the "
                 "first row on the dev set (see report/experiments.py).")
    return text


def markdown(group, rows):
    header = header_of(group)
    lines = [f"### {group.name}: {group.title}", "", caption(group, rows), "",
             "| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cells(group, row)) + " |" for row in rows]
    lines += ["", "Flags per configuration (besides the data files and `--seed`):", ""]
    lines += [f"- {label}: `{' '.join(flags) or '(defaults)'}`" for label, flags, *_ in rows]
    return "\n".join(lines) + "\n"


def latex_escape(text):
    for old, new in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#"),
                     ("±", r"$\pm$"), ("Δ", r"$\Delta$"), ("×", r"$\times$"), ("--", "-{}-")):
        text = text.replace(old, new)
    return text


def latex(group, rows):
    header = header_of(group)
    columns = "l" + "r" * (len(header) - 1)
    lines = [r"\begin{table}[t]", r"\centering", r"\small", r"\begin{adjustbox}{max width=\linewidth}", r"\begin{tabular}{" + columns + "}", r"\toprule",
             " & ".join(latex_escape(h) for h in header) + r" \\", r"\midrule"]
    lines += [" & ".join(latex_escape(c) for c in cells(group, row)) + r" \\" for row in rows]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{adjustbox}", r"\caption{" + latex_escape(caption(group, rows)) + "}",
              r"\label{tab:" + group.name + "}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def numbers(group, rows):
    """LaTeX definitions behind \\res{group}{row}{field}, so the prose quotes the logs, not a typist."""
    lines = []
    for index, (label, flags, summary, p, delta) in enumerate(rows, start=1):
        if summary is None:
            continue
        fields = {"label": label, "flags": " ".join(flags) or "(defaults)",
                  "acc": mean_std(summary["accuracy"]), "accmean": f"{summary['accuracy'][0]:.3f}",
                  "f1": mean_std(summary["macro_f1"]), "epochs": optional(summary["epochs"], ".1f"),
                  "seconds": f"{summary['run_seconds']:.0f}", "seeds": str(summary["seeds"])}
        if summary["test_accuracy"] is not None:
            fields.update({"testacc": mean_std(summary["test_accuracy"]),
                           "testaccmean": f"{summary['test_accuracy'][0]:.3f}",
                           "testf1": mean_std(summary["test_macro_f1"])})
        if summary["cut_share"] is not None:
            fields["cutpct"] = f"{100 * summary['cut_share']:.0f}"
            fields["tokensmean"] = f"{summary['tokens_mean']:.0f}"
        if summary["parameters"]:
            fields["params"] = f"{summary['parameters'] / 1e6:.1f}"
            fields["trainedparams"] = f"{summary['trainable_parameters'] / 1e6:.3f}"
            fields["devpersec"] = f"{summary['dev_per_second']:.0f}"
        if summary["accuracy"][1] is not None:
            fields["accsd"] = f"{summary['accuracy'][1]:.3f}"
        if summary["epoch_seconds"] is not None:
            fields["epochsec"] = f"{summary['epoch_seconds']:.1f}"
        if delta is not None:
            fields["delta"] = f"{delta:+.3f}"
        if "dev_p" in summary:
            fields["devdelta"] = f"{summary['dev_delta']:+.3f}"
            fields["devp"] = p_text(summary["dev_p"])
            fields["devpexpr"] = f"p{p_text(summary['dev_p'])}" if summary["dev_p"] < 0.001 else f"p={p_text(summary['dev_p'])}"
        if p is not None:
            fields["p"] = p_text(p)
            fields["pexpr"] = f"p{p_text(p)}" if p < 0.001 else f"p={p_text(p)}"
        for field, value in fields.items():
            lines.append(f"\\expandafter\\def\\csname res:{group.name}:{index}:{field}\\endcsname"
                         f"{{{latex_escape(value)}}}")
    return lines


def pairwise(group, logs):
    """\\res{<group>_pairs}{I-J}{p|pexpr|delta}: the paired bootstrap test of rows I and J (I < J) on
    each split the group evaluates (test fields in test groups, dev fields with a dev prefix)."""
    configs = group.configs(logs)
    runs = [logs.runs(flags, group.seeds, group.test) for _, flags in configs]
    splits = [("test", logs.test_gold, ""), ("dev", logs.gold, "dev")] if group.test else [("dev", logs.gold, "")]
    lines = []
    for i in range(len(runs)):
        for j in range(i + 1, len(runs)):
            if not runs[i] or not runs[j]:
                continue
            for split, gold, prefix in splits:
                if gold is None:
                    continue
                a, b = correctness(runs[i], gold, split), correctness(runs[j], gold, split)
                p = paired_bootstrap(a, b)
                fields = {"p": p_text(p), "pexpr": f"p{p_text(p)}" if p < 0.001 else f"p={p_text(p)}",
                          "delta": f"{a.mean() - b.mean():+.3f}"}
                lines += [f"\\expandafter\\def\\csname res:{group.name}_pairs:{i + 1}-{j + 1}:{prefix}{field}\\endcsname"
                          f"{{{value}}}" for field, value in fields.items()]
    return lines


def per_class(group, logs, split="dev"):
    """Per-class precision/recall/F1 (mean over seeds) and the confusion matrix summed over seeds
    of a group's first configuration; None until it has runs."""
    configs = group.configs(logs)
    runs = logs.runs(configs[0][1], group.seeds, group.test)
    if not runs:
        return None
    labels = runs[0]["labels"]
    scores = {label: {metric: float(np.mean([r["results"][split]["per_class"][label][metric] for r in runs]))
                      for metric in ("precision", "recall", "f1")} for label in labels}
    confusion = np.sum([r["results"][split]["confusion_matrix"] for r in runs], axis=0)
    return {"name": f"{group.name}_{split}", "label": configs[0][0], "seeds": len(runs), "labels": labels,
            "scores": scores, "confusion": confusion, "split": split}


def misclassified(group, logs):
    """The dev reviews the group's first configuration gets wrong in at least one seed, by their
    position in dev.txt (no review text: the data stays out of git), with the gold label and
    each seed's prediction; None until it has runs."""
    configs = group.configs(logs)
    runs = logs.runs(configs[0][1], group.seeds, group.test)
    if not runs:
        return None
    labels = runs[0]["labels"]
    gold = logs.gold
    predicted = np.array([r["results"]["dev"]["predicted"] for r in runs])
    wrong = (predicted != gold).sum(axis=0)
    lines = ["review\tgold\t" + "\t".join(f"predicted_seed{r['config']['seed']}" for r in runs) + "\twrong_in_seeds"]
    for i in np.flatnonzero(wrong):
        lines.append(f"{i + 1}\t{labels[gold[i]]}\t" + "\t".join(labels[p] for p in predicted[:, i]) + f"\t{wrong[i]}")
    summary = {"any": str(int((wrong > 0).sum())), "all": str(int((wrong == len(runs)).sum())),
               "reviews": str(len(gold))}
    macros = [f"\\expandafter\\def\\csname res:{group.name}_errors:1:{field}\\endcsname{{{value}}}"
              for field, value in summary.items()]
    return "\n".join(lines) + "\n", macros


def reproduced(group, logs):
    """How many of a test group's runs predicted dev exactly as the dev-only run of the same flags
    and seed did (retraining is deterministic where they all do): \\res{<group>_reproduced}{1}{same|runs}."""
    same = runs = 0
    for _, flags in group.configs(logs):
        for seed in group.seeds:
            tested, earlier = logs.find(flags, seed, test=True), logs.find(flags, seed)
            if tested is not None and earlier is not None:
                runs += 1
                same += tested["results"]["dev"]["predicted"] == earlier["results"]["dev"]["predicted"]
    return [f"\\expandafter\\def\\csname res:{group.name}_reproduced:1:{field}\\endcsname{{{value}}}"
            for field, value in (("same", same), ("runs", runs))]


def per_class_numbers(table):
    """\\res{<group>_<split>}{<class>}{precision|recall|f1|to_<class>} (to_: confusion count summed over seeds)."""
    lines = []
    for label, row in zip(table["labels"], table["confusion"]):
        fields = {metric: f"{table['scores'][label][metric]:.3f}" for metric in ("precision", "recall", "f1")}
        fields.update({f"to_{other}": str(int(count)) for other, count in zip(table["labels"], row)})
        lines += [f"\\expandafter\\def\\csname res:{table['name']}:{label}:{field}\\endcsname{{{value}}}"
                  for field, value in fields.items()]
    return lines


def per_class_markdown(table):
    lines = [f"### {table['label']}: per class on {table['split']} ({table['seeds']} seeds)", "",
             "| class | precision | recall | F1 |", "|---|---|---|---|"]
    lines += [f"| {label} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} |"
              for label, row in table["scores"].items()]
    lines += ["", f"Confusion matrix, rows gold, columns predicted, summed over {table['seeds']} seeds:", "",
              "| gold \\ predicted | " + " | ".join(table["labels"]) + " |",
              "|---|" + "---|" * len(table["labels"])]
    lines += [f"| {label} | " + " | ".join(str(int(c)) for c in row) + " |"
              for label, row in zip(table["labels"], table["confusion"])]
    return "\n".join(lines) + "\n"


def per_class_latex(table):
    lines = [r"\begin{table}[t]", r"\centering", r"\small", r"\begin{tabular}{lrrr|" + "r" * len(table["labels"]) + "}",
             r"\toprule", " & ".join(["class", "precision", "recall", "F1"] + [label[:5] for label in table["labels"]])
             + r" \\", r"\midrule"]
    for label, row in zip(table["labels"], table["confusion"]):
        scores = table["scores"][label]
        lines.append(" & ".join([label, f"{scores['precision']:.3f}", f"{scores['recall']:.3f}", f"{scores['f1']:.3f}"]
                                + [str(int(c)) for c in row]) + r" \\")
    caption = (f"{table['label']} on the {table['split']} set: per-class precision, recall and F1 (mean over "
               f"{table['seeds']} seeds) and the confusion matrix summed over the seeds (rows gold, columns "
               "predicted).")
    lines += [r"\bottomrule", r"\end{tabular}", r"\caption{" + latex_escape(caption) + "}",
              r"\label{tab:" + table["name"] + "}", r"\end{table}"]
    return "\n".join(lines) + "\n"


WRITTEN = set()  # the files this run wrote; older ones left in the folder are removed at the end


def confusion_figure(table, path):
    """The summed confusion matrix of a per-class table as a PDF heat map (no timestamps: the
    file only changes when the logs do)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    confusion = np.asarray(table["confusion"])
    figure, axes = plt.subplots(figsize=(4.2, 3.6))
    axes.imshow(confusion / confusion.sum(axis=1, keepdims=True), cmap="Blues", vmin=0, vmax=1)
    ticks = range(len(table["labels"]))
    axes.set_xticks(ticks, table["labels"], rotation=45, ha="right")
    axes.set_yticks(ticks, table["labels"])
    axes.set_xlabel("predicted")
    axes.set_ylabel("gold")
    for i in ticks:
        for j in ticks:
            share = confusion[i, j] / confusion[i].sum()
            axes.text(j, i, str(int(confusion[i, j])), ha="center", va="center", fontsize=8,
                      color="white" if share > 0.5 else "black")
    figure.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    figure.savefig(path, metadata={"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None})
    plt.close(figure)


def curves_figure(group, logs, path):
    """Dev loss and dev accuracy after each epoch, one line per run of the group; None without runs."""
    runs = [(label, run) for label, flags in group.configs(logs) for run in logs.runs(flags, group.seeds, group.test)]
    if not runs:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(8, 3))
    for label, run in runs:
        history = run["train"]["history"]
        epochs = range(1, len(history["val_loss"]) + 1)
        seed = f"seed {run['config']['seed']}"
        name = label if len(group.seeds) == 1 else seed if len({lb for lb, _ in runs}) == 1 else f"{label}, {seed}"
        for axis, key in zip(axes, ("val_loss", "val_accuracy")):
            axis.plot(epochs, history[key], marker="o", markersize=3, label=name)
            if run["train"].get("best_epoch") and len(history[key]) > 1:
                best = run["train"]["best_epoch"]
                axis.plot([best], [history[key][best - 1]], marker="*", markersize=10, color="black")
    for axis, title in zip(axes, ("dev loss", "dev accuracy")):
        axis.set_xlabel("epoch")
        axis.set_title(title)
        axis.xaxis.get_major_locator().set_params(integer=True)
    axes[1].legend(fontsize=7)
    figure.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    figure.savefig(path, metadata={"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None})
    plt.close(figure)
    return path


def write(path, text):
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)
    WRITTEN.add(os.path.abspath(path))


def remove_stale(out_dir):
    """Delete tables a previous run wrote that this run did not (a group whose runs changed)."""
    for name in os.listdir(out_dir):
        path = os.path.abspath(os.path.join(out_dir, name))
        if name.endswith((".md", ".tex", ".tsv")) and path not in WRITTEN:
            os.remove(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results_dir", default=experiments.RESULTS)
    parser.add_argument("--out_dir", default=os.path.join("report", "tables"))
    parser.add_argument("--figures_dir", default=os.path.join("report", "figures"))
    args = parser.parse_args(argv)
    os.chdir(experiments.ROOT)
    records = experiments.read_logs(args.results_dir)
    logs = experiments.Logs(args.results_dir, logged_hashes(records))
    os.makedirs(args.out_dir, exist_ok=True)
    everything = ["# The report's tables", "", "Generated by `python report/tables.py` from `report/results/`; "
                  "do not edit.", ""]
    macros = ["% Generated by report/tables.py from report/results/; do not edit.",
              "% \\res{group}{row}{field}: row counts from 1 in the group's table; fields: label, flags, acc,",
              "% accmean, accsd, f1, epochs, epochsec, seconds, seeds, delta, p, pexpr, params, trainedparams (millions),",
              "% devpersec (dev reviews predicted per second), cutpct (% of training reviews cut at the max length), tokensmean (their mean subword length); test groups also testacc, devdelta, devp, devpexpr (the",
              "% comparison on dev of the same runs),",
              "% testaccmean, testf1, and their delta and p are on the test set; pexpr is 'p=0.004' or 'p<0.001'.",
              "% An unknown one prints as ??.",
              "% \\res{final_errors}{1}{any|all|reviews}: dev reviews the final model gets wrong in any seed, in all.",
              "% \\res{final_dev}{CLASS}{precision|recall|f1|to_CLASS} (likewise test_dev, test_test): per class.",
              "% \\res{<group>_pairs}{I-J}{p|pexpr|delta|devp|devpexpr|devdelta}: rows I and J compared, row I minus",
              "% row J (groups systems and lm_models).",
              "% \\res{test_reproduced}{1}{same|runs}: test runs whose dev predictions equal the dev-only run's.",
              "\\newcommand{\\res}[3]{\\ifcsname res:#1:#2:#3\\endcsname\\csname res:#1:#2:#3\\endcsname"
              "\\else\\textbf{??}\\fi}"]
    for group in experiments.GROUPS:
        if group.name == "smoke":
            continue
        rows = group_rows(group, logs)
        if rows is None:
            everything += [f"### {group.name}: waiting for the runs it is chosen from", ""]
            continue
        write(os.path.join(args.out_dir, group.name + ".md"), markdown(group, rows))
        write(os.path.join(args.out_dir, group.name + ".tex"), latex(group, rows))
        everything.append(markdown(group, rows))
        macros += numbers(group, rows)
        errors = misclassified(group, logs) if group.predictions or group.errors else None
        if errors:
            # review = position among the dev reviews (the line of dev.txt, which has no blank lines)
            listing, counts = errors
            write(os.path.join(args.out_dir, group.name + "_misclassified.tsv"), listing)
            macros += counts
        if group.test:
            macros += reproduced(group, logs)
        if group.pairwise:
            macros += pairwise(group, logs)
        if group.curves:
            curves_figure(group, logs, os.path.join(args.figures_dir, group.name + "_curves.pdf"))
        if group.predictions or group.test:
            for split in ("dev", "test") if group.test else ("dev",):
                table = per_class(group, logs, split)
                if table:
                    write(os.path.join(args.out_dir, table["name"] + ".md"), per_class_markdown(table))
                    write(os.path.join(args.out_dir, table["name"] + ".tex"), per_class_latex(table))
                    macros += per_class_numbers(table)
                    if group.predictions or group.errors or split == "test":
                        confusion_figure(table, os.path.join(args.figures_dir, table["name"] + "_confusion.pdf"))
    write(os.path.join(args.out_dir, "tables.md"), "\n".join(everything))
    write(os.path.join(args.out_dir, "numbers.tex"), "\n".join(macros) + "\n")
    remove_stale(args.out_dir)


if __name__ == "__main__":
    main()
