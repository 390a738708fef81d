#!/usr/bin/env python
"""Does bf16 autocast pay on this CPU? Seconds per training step (forward + backward + AdamW)
of a sequence classifier, fp32 against bf16 autocast, same batch.

    python bench/lm_precision.py --lm_name models/all-MiniLM-L6-v2 [--batch_size 16 --max_length 128]
"""

import argparse
import time

import torch
import transformers


def seconds_per_step(model, batch, precision, steps):
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        times.append(time.perf_counter() - start)
    return sorted(times[1:])[len(times[1:]) // 2]  # median, first step (warm-up) left out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lm_name", required=True)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--max_length", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    transformers.logging.set_verbosity_error()
    model = transformers.AutoModelForSequenceClassification.from_pretrained(args.lm_name, num_labels=6)
    batch = {"input_ids": torch.randint(1000, 20000, (args.batch_size, args.max_length)),
             "attention_mask": torch.ones(args.batch_size, args.max_length, dtype=torch.long),
             "labels": torch.randint(0, 6, (args.batch_size,))}
    print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, "
          f"{torch.get_num_threads()} threads; batch {args.batch_size} x {args.max_length} tokens")
    for precision in ("fp32", "bf16"):
        print(f"{precision}: {seconds_per_step(model, batch, precision, args.steps):.2f} s per step")


if __name__ == "__main__":
    main()
