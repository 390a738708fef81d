#!/usr/bin/env python
"""Why did length-grouped batches "collapse" dev accuracy to 0.17 in a plain Trainer script?

With the Trainer's own length grouping switched on (train_sampling_strategy="group_by_length";
group_by_length=True before transformers 5.2x), the Trainer also groups the *evaluation and
prediction* batches by length, in a shuffled order. Trainer.predict() then returns predictions
(and label_ids) in that order, not in the order of the dataset. A script that compares them
with its own list of gold labels in file order scores at chance level: 1/6 for six classes.

This script shows it without training: it predicts dev with an untrained head twice, with and
without the Trainer's grouping, and compares the orders.

    HF_HUB_OFFLINE=1 python bench/group_by_length_order.py --lm_name models/all-MiniLM-L6-v2
"""

import argparse
import inspect
import sys
import tempfile

import numpy as np
import transformers

sys.path.insert(0, ".")
import lfd_assignment3 as lfd  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lm_name", required=True)
    parser.add_argument("--dev_file", default="../shared/data/dev.txt")
    parser.add_argument("--max_length", type=int, default=128)
    args = parser.parse_args()
    transformers.logging.set_verbosity_error()
    dev = lfd.read_corpus(args.dev_file, "category", "--dev_file", "dev")
    labels = sorted(set(dev.labels))
    gold = np.array([labels.index(label) for label in dev.labels])
    tokenizer = transformers.AutoTokenizer.from_pretrained(args.lm_name)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(args.lm_name, num_labels=len(labels))
    encoded = tokenizer([" ".join(t) for t in dev.texts], truncation=True, max_length=args.max_length)
    dataset = [{**{k: v[i] for k, v in encoded.items()}, "labels": int(gold[i])} for i in range(len(gold))]
    accepted = set(inspect.signature(transformers.TrainingArguments.__init__).parameters)
    grouping = (
        {"train_sampling_strategy": "group_by_length"}
        if "train_sampling_strategy" in accepted
        else {"group_by_length": True}
    )
    print(f"transformers {transformers.__version__}; {len(gold)} dev reviews")
    for name, extra in (("default sampling", {}), ("Trainer length grouping", grouping)):
        with tempfile.TemporaryDirectory() as out:
            trainer = transformers.Trainer(
                model=model,
                args=transformers.TrainingArguments(
                    out, per_device_eval_batch_size=64, report_to="none", use_cpu=True, **extra
                ),
                data_collator=transformers.DataCollatorWithPadding(tokenizer),
            )
            output = trainer.predict(dataset)
        agree = float(np.mean(output.label_ids == gold))
        print(
            f"{name:>24}: the label_ids predict() returns agree with the gold labels in file order "
            f"for {agree:.1%} of reviews"
        )


if __name__ == "__main__":
    main()
