#!/usr/bin/env bash
# Both model families on a GPU, one short batch: the device check behind README's GPU numbers.
#
#   bash bench/gpu_check.sh OUT_DIR [DATA_DIR] [MINILM_DIR]
#
# DATA_DIR holds train/dev/test.txt and glove_reviews_50d.json (or .json.gz); MINILM_DIR is
# all-MiniLM-L6-v2 (an fp16 copy is fine: the tool loads weights as float32). Records go to
# OUT_DIR/gpu_lm.jsonl and OUT_DIR/gpu_lstm.jsonl, the full output to OUT_DIR/log.txt. Every
# run has its own time limit, so one slow configuration cannot starve the rest.
#
# LSTM rows train 800 reviews for 2 epochs at --max_seq_len 400 (the README reports the
# steady second epoch): the masked default, which Keras runs as a step-by-step loop on every
# backend, against --padding pre, which lets the jax and torch backends use cuDNN.
# A dry run on a CPU shrinks the runs: EXTRA_LM="--max_train_samples 64" EXTRA_LSTM="--max_seq_len 50".
set -u
. "$(dirname "$0")/gpu_common.sh"
{
    date -u
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    python3 -c "import sys, torch, transformers, jax, keras; print(sys.version.split()[0], 'torch', torch.__version__,
'transformers', transformers.__version__, 'jax', jax.__version__, jax.devices(), 'keras', keras.__version__)"
} >> "$LOG" 2>&1

run() {  # run SECONDS ARGS...: one tool run under a time limit, its output in the log
    local limit=$1
    shift
    echo "=== $(date -u +%T) $*" >> "$LOG"
    timeout "$limit" python3 lfd_assignment3.py "$@" --verbose 2 >> "$LOG" 2>&1 < /dev/null
    echo "=== exit $?" >> "$LOG"
}

DATA_FLAGS=(--train_file "$DATA/train.txt" --dev_file "$DATA/dev.txt")
LM_FLAGS=(--model lm --lm_name "$LM" "${DATA_FLAGS[@]}" --epochs 1 --results_file "$OUT/gpu_lm.jsonl" ${EXTRA_LM:-})
LSTM_FLAGS=("${DATA_FLAGS[@]}" --embeddings "$DATA/glove_reviews_50d.json" --learning_rate 3e-3 --batch_size 16
            --max_seq_len 400 --max_train_samples 800 --epochs 2 --patience 0 --results_file "$OUT/gpu_lstm.jsonl" ${EXTRA_LSTM:-})

run "$LIMIT" "${LM_FLAGS[@]}" --max_length 128 --batch_size 32                    # the tool's defaults (bf16 where the GPU has it)
run "$LIMIT" "${LSTM_FLAGS[@]}"                                                    # --backend auto: jax here (no TensorFlow)
run "$LIMIT" "${LSTM_FLAGS[@]}" --backend jax --padding pre
run "$LIMIT" "${LM_FLAGS[@]}" --max_length 128 --batch_size 32 --precision fp32
run "$LIMIT" "${LM_FLAGS[@]}" --max_length 128 --batch_size 32 --pad_to_max_length
run "$LIMIT" "${LSTM_FLAGS[@]}" --backend torch
run "$LIMIT" "${LSTM_FLAGS[@]}" --backend torch --padding pre
run "$LIMIT" "${LM_FLAGS[@]}" --max_length 256 --batch_size 32
date -u >> "$LOG"
