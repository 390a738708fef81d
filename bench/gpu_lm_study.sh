#!/usr/bin/env bash
# The MiniLM study on a GPU: report/experiments.py's transformer groups, run there and logged like
# any other run (the records name the device). Prepared with bench/gpu_bundle.sh.
#
#   bash bench/gpu_lm_study.sh OUT_DIR [DATA_DIR] [MODELS_DIR] [GROUP ...]
#
# OUT_DIR/results starts as a copy of report/results, so runs logged already are skipped; the new
# records land there. The device tool brings back only a few files, so the folder is also packed as
# OUT_DIR/results.tgz: `tar xzf results.tgz -C DIR && python bench/merge_results.py DIR/results` adds
# the new records to report/results. LIMIT (seconds, default 480) bounds the whole sweep; a run it
# cuts is not logged.
# SHARDS (default 4) runners share the GPU (--shard I/SHARDS), so a step's runs train side by side:
# the accuracies are those of a lone run, the recorded times are not (they share the GPU).
set -u
. "$(dirname "$0")/gpu_common.sh"
MODELS=${3:-models}
shift $(( $# < 3 ? $# : 3 ))
STUDY_GROUPS=${*:-lm_max_length lm_lr lm_batch lm_epochs lm_schedule lm_final}
LIMIT=${LIMIT:-480}
mkdir -p "$OUT/results"
cp report/results/*.jsonl "$OUT/results/"
{
    date -u
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null
    python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
} >> "$LOG" 2>&1
SHARDS=${SHARDS:-4}
export OMP_NUM_THREADS=$(( $(nproc) / SHARDS > 0 ? $(nproc) / SHARDS : 1 ))
for shard in $(seq 1 "$SHARDS"); do
    timeout "$LIMIT" python3 report/experiments.py --data_dir "$DATA" --models_dir "$MODELS" \
        --results_dir "$OUT/results" --shard "$shard/$SHARDS" $STUDY_GROUPS > "$OUT/shard$shard.txt" 2>&1 < /dev/null &
done
wait
pkill -f -- "--results_file $OUT/results/"  # a run the limit cut (its runner is gone) must not go on
for shard in $(seq 1 "$SHARDS"); do
    echo "=== shard $shard/$SHARDS" >> "$LOG"
    cat "$OUT/shard$shard.txt" >> "$LOG"
done
echo "=== done at $(date -u +%T)" >> "$LOG"
tar czf "$OUT/results.tgz" -C "$OUT" results
python3 report/experiments.py --data_dir "$DATA" --models_dir "$MODELS" --results_dir "$OUT/results" --list \
    $STUDY_GROUPS >> "$LOG" 2>&1
tail -n 40 "$LOG"
