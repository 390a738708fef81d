#!/usr/bin/env python
"""One table from the GPU runs of bench/gpu_check.sh and bench/gpu_lm_shapes.sh, as in
bench/results/gpu_h100.txt:

    python bench/gpu_summary.py > bench/results/gpu_h100.txt
"""

import json
import os

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
FILES = {
    "gpu_check_lm.jsonl": "gpu_check_log.txt",
    "gpu_lm_shapes.jsonl": "gpu_lm_shapes_log.txt",
    "gpu_check_lstm.jsonl": "gpu_check_log.txt",
    "gpu_lstm_full.jsonl": "gpu_lm_shapes_log.txt",
}


def cudnn_attention(record, log_lines):
    """'off' where the run had PyTorch's cuDNN attention disabled: by the tool (its record says so)
    or by gpu_lm_shapes.sh's wrapper (its log line "=== HH:MM:SS cuDNN attention off: ..." comes
    before the run, whose record is stamped when it ends)."""
    if "cudnn_attention" in record["train"]:
        return "on" if record["train"]["cudnn_attention"] else "off"
    state, stamp = "on", record["timestamp"][11:19]
    for line in log_lines:
        if line.startswith("=== ") and "cuDNN attention" in line and line[4:12] <= stamp:
            state = line.split("cuDNN attention ")[1].split(":")[0]
    return state


def main():
    print("file | device | family | config | train s | train ex/s | dev predict ex/s | GPU MiB | dev acc")
    for name, log_name in FILES.items():
        with open(os.path.join(RESULTS, log_name)) as handle:
            log_lines = handle.read().splitlines()
        with open(os.path.join(RESULTS, name)) as handle:
            records = [json.loads(line) for line in handle]
        for r in records:
            c, t = r["config"], r["train"]
            if r["family"] == "lm":
                config = (
                    f"len {c['max_length']}, {t['precision']}, "
                    f"{'pad to max' if c['pad_to_max_length'] else 'per-batch padding'}, "
                    f"multiple {t.get('pad_to_multiple_of', 1)}, cuDNN attention {cudnn_attention(r, log_lines)}"
                )
                seconds = f"{t['train_seconds']:.1f}"
            else:
                config = (
                    f"{r['backend']}, {c['padding']}, len {c['max_seq_len']}, {t['train_examples']} reviews, "
                    f"steady epoch {t['steady_epoch_seconds']} s"
                )
                seconds = f"{t['train_seconds']:.1f}"
            print(
                f"{name} | {r['device']} | {r['family']} | {config} | {seconds} | "
                f"{t['train_examples_per_second']} | {r['predict_examples_per_second']['dev']} | "
                f"{r.get('gpu_peak_memory_mib')} | {r['results']['dev']['accuracy']:.4f}"
            )


if __name__ == "__main__":
    main()
