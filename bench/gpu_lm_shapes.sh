#!/usr/bin/env bash
# Transformer batch shapes on a GPU: does rounding batch lengths up (--pad_to_multiple_of) or
# turning off PyTorch's cuDNN attention recover the speed that bf16 lost with per-batch padding?
#
#   bash bench/gpu_lm_shapes.sh OUT_DIR [DATA_DIR] [MINILM_DIR]
#
# Records go to OUT_DIR/gpu_shapes.jsonl (the LSTM row to OUT_DIR/gpu_lstm_full.jsonl), the
# output to OUT_DIR/log.txt. Each run is a fresh process under its own time limit.
set -u
. "$(dirname "$0")/gpu_common.sh"
nvidia-smi --query-gpu=name --format=csv,noheader >> "$LOG" 2>&1

run() {  # run SECONDS CUDNN_ATTENTION(on|off) ARGS...
    local limit=$1 cudnn=$2
    shift 2
    echo "=== $(date -u +%T) cuDNN attention $cudnn: $*" >> "$LOG"
    timeout "$limit" python3 -c "
import sys, torch
if sys.argv[1] == 'off':
    torch.backends.cuda.enable_cudnn_sdp(False)
import lfd_assignment3
sys.exit(lfd_assignment3.main(sys.argv[2:]) and 0)" "$cudnn" "$@" --verbose 2 >> "$LOG" 2>&1 < /dev/null
    echo "=== exit $?" >> "$LOG"
}

LM_FLAGS=(--model lm --lm_name "$LM" --train_file "$DATA/train.txt" --dev_file "$DATA/dev.txt" --epochs 1
          --batch_size 32 --results_file "$OUT/gpu_shapes.jsonl" ${EXTRA_LM:-})
run "$LIMIT" on  "${LM_FLAGS[@]}" --max_length 128 --pad_to_multiple_of 1    # as in gpu_check.sh: slow with bf16
run "$LIMIT" off "${LM_FLAGS[@]}" --max_length 128 --pad_to_multiple_of 1
run "$LIMIT" on  "${LM_FLAGS[@]}" --max_length 128                           # the default: 32 on a GPU
run "$LIMIT" on  "${LM_FLAGS[@]}" --max_length 128 --pad_to_multiple_of 8
run "$LIMIT" on  "${LM_FLAGS[@]}" --max_length 128 --precision fp32
run "$LIMIT" on  "${LM_FLAGS[@]}" --max_length 256
run "$LIMIT" off "${LM_FLAGS[@]}" --max_length 256 --pad_to_multiple_of 1
# The LSTM of the study at 400 tokens on the whole training set, 3 epochs (Keras picks jax here).
run "$LIMIT" on --train_file "$DATA/train.txt" --dev_file "$DATA/dev.txt" --embeddings "$DATA/glove_reviews_50d.json" \
    --learning_rate 3e-3 --batch_size 16 --max_seq_len 400 --trainable_embeddings --epochs 3 --patience 0 \
    --results_file "$OUT/gpu_lstm_full.jsonl" ${EXTRA_LSTM:-}
date -u >> "$LOG"
