#!/usr/bin/env python
"""Does bf16 autocast pay on this CPU? Training examples/s of a full (short) epoch through the tool,
fp32 against bf16 autocast side by side, and the CPU flags `--precision auto` decides from.

    HF_HUB_OFFLINE=1 python bench/lm_precision.py --lm_name models/all-MiniLM-L6-v2 models/all-mpnet-base-v2 \\
        --max_train_samples 512 256
    python bench/lm_precision.py --step --lm_name models/all-MiniLM-L6-v2   # s per step on a random batch
    python bench/lm_precision.py --step --attention sdpa eager --profile 20 ...   # where a step's time goes

Each run is lfd_assignment3.py in its own process: one epoch of the first N training reviews
(--max_train_samples, one N per model), --max_length tokens, batch --batch_size, and the first
--dev_reviews dev reviews to predict (prediction speed is shown, but a full dev set would make
each run mostly prediction). The precisions alternate (fp32, bf16, fp32, ...) so that load from
other processes falls on both alike; a speed is the median of --repeats runs. The runs' records
go to --results_file. The thread count is torch's default (OMP_NUM_THREADS, else the cores).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRECISIONS = ("fp32", "bf16")


def step_parts(torch, model, batch, precision, attention, clock):
    """Seconds of one training step as the Trainer takes it: forward, backward, gradient clipping, AdamW."""
    if attention and getattr(model.config, "_attn_implementation", None) != attention:
        model.set_attn_implementation(attention)
    start = clock()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        loss = model(**batch).loss
    forward = clock()
    loss.backward()
    backward = clock()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    clip = clock()
    model.optimizer.step()
    model.optimizer.zero_grad()
    return {
        "forward": forward - start,
        "backward": backward - forward,
        "clip": clip - backward,
        "adamw": clock() - clip,
    }


def step_times(args):
    """Seconds per training step (forward + backward + clipping + fused AdamW, as the Trainer does) on one
    random batch, the variants (precision x attention) interleaved step by step so that load from other
    processes falls on all alike; the median of --steps steps after one warm-up step each."""
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    clock = time.process_time if args.cpu_time else time.perf_counter
    for name in args.lm_name:
        model = transformers.AutoModelForSequenceClassification.from_pretrained(
            name, num_labels=6, dtype=torch.float32
        )
        model.train()
        # the Trainer's default optimizer (adamw_torch_fused); a tiny rate keeps the weights nearly fixed
        model.optimizer = torch.optim.AdamW(model.parameters(), lr=1e-9, fused=True)
        attentions = args.attention or [getattr(model.config, "_attn_implementation", None)]
        switches = any(attention != attentions[0] for attention in attentions)
        if switches and not hasattr(model, "set_attn_implementation"):
            raise SystemExit("this transformers cannot switch attention; give one --attention")
        generator = torch.Generator().manual_seed(0)
        mask = torch.ones(args.batch_size, args.max_length, dtype=torch.long)
        mask[: args.batch_size // 2, args.max_length * 3 // 4 :] = 0  # half the batch padded, as with real reviews
        batch = {
            "input_ids": torch.randint(1000, 20000, (args.batch_size, args.max_length), generator=generator),
            "attention_mask": mask,
            "labels": torch.randint(0, 6, (args.batch_size,), generator=generator),
        }
        variants = [(precision, attention) for attention in attentions for precision in PRECISIONS]
        times = {variant: [] for variant in variants}
        for variant in variants:
            step_parts(torch, model, batch, *variant, clock)  # warm-up
        for step in range(args.steps):
            for variant in variants if step % 2 == 0 else variants[::-1]:
                times[variant].append(step_parts(torch, model, batch, *variant, clock))
        print(
            f"{os.path.basename(name)}: batch {args.batch_size} x {args.max_length} tokens, {args.steps} steps, "
            f"{'CPU' if args.cpu_time else 'wall'} seconds"
        )
        first = None
        for variant in variants:
            parts = {key: median([t[key] for t in times[variant]]) for key in times[variant][0]}
            total = median([sum(t.values()) for t in times[variant]])
            first = first or total
            columns = " ".join(f"{k} {v:6.3f}" for k, v in parts.items())
            examples = args.batch_size / total
            speed = f"step {total:6.3f} s, {examples:6.2f} examples/s, {first / total:.2f}x the first row"
            print(f"  {variant[0]} {variant[1] or '':<6} {columns}  {speed}")
        if args.profile:
            from torch.profiler import ProfilerActivity, profile

            for variant in variants:
                with profile(activities=[ProfilerActivity.CPU]) as profiler:
                    step_parts(torch, model, batch, *variant, clock)
                print(f"profile of one step, {variant[0]} {variant[1] or ''}:")
                averages = profiler.key_averages()
                print(averages.table(sort_by="self_cpu_time_total", row_limit=args.profile, max_name_column_width=36))


def cpu_model():
    """The CPU's name: /proc/cpuinfo's model name on Linux, else what platform says."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            return next(line for line in handle if line.startswith("model name")).split(":", 1)[1].strip()
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def median(values):
    values = sorted(values)
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def describe_machine():
    """What the speeds depend on: the CPU, torch, threads, and the flags --precision auto decides from."""
    sys.path.insert(0, ROOT)
    import torch

    import lfd_assignment3 as lfd

    print(
        f"CPU: {cpu_model()}; torch {torch.__version__}, capability {torch.backends.cpu.get_cpu_capability()}, "
        f"{torch.get_num_threads()} threads"
    )
    flags = lfd.cpu_bf16_flags(torch)
    print(
        f"native bf16 flags found: {', '.join(flags) or 'none'} (looked for {', '.join(lfd.NATIVE_BF16_FLAGS)}); "
        f"--precision auto -> {lfd.choose_precision(torch, 'auto', 'cpu')[0]}"
    )
    print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}", flush=True)


def epoch_runs(args):
    with tempfile.TemporaryDirectory() as folder:
        dev = os.path.join(folder, "dev.txt")
        with open(os.path.join(args.data_dir, "dev.txt"), encoding="utf-8") as handle:
            lines = [line for line in handle if line.strip()][: args.dev_reviews]
        with open(dev, "w", encoding="utf-8") as handle:
            handle.writelines(lines)
        runs = {}
        for row, (name, samples) in enumerate(zip(args.lm_name, args.max_train_samples, strict=True)):
            for repeat in range(args.repeats):
                for precision in PRECISIONS if repeat % 2 == 0 else PRECISIONS[::-1]:
                    results = os.path.join(folder, "run.jsonl")
                    argv = [
                        "--model",
                        "lm",
                        "--lm_name",
                        name,
                        "--train_file",
                        os.path.join(args.data_dir, "train.txt"),
                    ]
                    argv += ["--dev_file", dev, "--max_train_samples", str(samples)]
                    argv += ["--max_length", str(args.max_length), "--batch_size", str(args.batch_size)]
                    argv += ["--epochs", "1", "--precision", precision, "--verbose", "0", "--results_file", results]
                    done = subprocess.run([sys.executable, args.tool, *argv], capture_output=True, text=True)
                    if done.returncode:
                        raise SystemExit(f"lm_precision.py: run failed ({done.returncode}): {done.stderr[-2000:]}")
                    with open(results, encoding="utf-8") as handle:
                        record = json.loads(handle.read().splitlines()[-1])
                    os.remove(results)
                    with open(args.results_file, "a", encoding="utf-8") as handle:
                        handle.write(json.dumps(record) + "\n")
                    train = record["train"]
                    print(
                        f"  {os.path.basename(name)} {precision} run {repeat + 1}: {train['train_seconds']:.1f} s, "
                        f"{train['train_examples_per_second']:.2f} examples/s",
                        flush=True,
                    )
                    runs.setdefault((row, precision), []).append(record)
    print(
        f"\n{args.repeats} run(s) per row, alternating; batch {args.batch_size}, {args.max_length} tokens, 1 epoch; "
        f"dev: first {args.dev_reviews} reviews; {runs[next(iter(runs))][0]['device']}"
    )
    print(
        f"{'model':<20} {'reviews':>7} {'fp32 ex/s':>10} {'bf16 ex/s':>10} {'speed-up':>9} "
        f"{'fp32 dev/s':>11} {'bf16 dev/s':>11}"
    )
    for row, (name, samples) in enumerate(zip(args.lm_name, args.max_train_samples, strict=True)):
        train = {p: median([r["train"]["train_examples_per_second"] for r in runs[(row, p)]]) for p in PRECISIONS}
        dev = {p: median([r["predict_examples_per_second"]["dev"] for r in runs[(row, p)]]) for p in PRECISIONS}
        print(
            f"{os.path.basename(name):<20} {samples:>7} {train['fp32']:>10.2f} {train['bf16']:>10.2f} "
            f"{train['bf16'] / train['fp32']:>8.2f}x {dev['fp32']:>11.1f} {dev['bf16']:>11.1f}"
        )
    print(
        "ex/s: training examples per second of the epoch (median over runs); dev/s: dev reviews predicted per second"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lm_name", nargs="+", required=True, help="model folders")
    parser.add_argument(
        "--max_train_samples",
        type=int,
        nargs="+",
        default=[512],
        help="training reviews of each model's epoch (one per --lm_name, or one for all)",
    )
    parser.add_argument("--max_length", type=int, default=100)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=1, help="runs per model and precision")
    parser.add_argument("--dev_reviews", type=int, default=64)
    parser.add_argument(
        "--tool",
        default=os.path.join(ROOT, "lfd_assignment3.py"),
        help="the lfd_assignment3.py to run (another version's copy, to compare)",
    )
    parser.add_argument("--data_dir", default=ROOT, help="folder with train.txt and dev.txt")
    parser.add_argument("--results_file", default=os.path.join(ROOT, "bench", "results", "lm_precision.jsonl"))
    parser.add_argument(
        "--step",
        action="store_true",
        help="time single training steps on a random batch instead (--batch_size, --max_length, --steps)",
    )
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument(
        "--attention",
        nargs="+",
        choices=("eager", "sdpa"),
        help="with --step: attention implementations to time (default: the model's)",
    )
    parser.add_argument(
        "--cpu_time",
        action="store_true",
        help="with --step: CPU seconds of this process instead of wall seconds (steadier on a "
        "loaded machine with one thread)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="ROWS",
        help="with --step: also print torch.profiler's top ROWS operators of one step per variant",
    )
    args = parser.parse_args()
    describe_machine()
    if args.step:
        step_times(args)
        return
    if len(args.max_train_samples) == 1:
        args.max_train_samples *= len(args.lm_name)
    if len(args.max_train_samples) != len(args.lm_name):
        parser.error("give one --max_train_samples for all models or one per --lm_name")
    epoch_runs(args)


if __name__ == "__main__":
    main()
