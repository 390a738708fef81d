#!/usr/bin/env bash
# The MiniLM study on a GPU: report/experiments.py's transformer groups, run there and logged like
# any other run (the records name the device). Prepared with bench/gpu_bundle.sh.
#
#   bash bench/gpu_lm_study.sh OUT_DIR [DATA_DIR] [MODELS_DIR] [GROUP ...]
#
# OUT_DIR/results starts as a copy of report/results, so runs logged already are skipped; the new
# records land there, and `python bench/merge_results.py OUT_DIR/results` adds them to
# report/results. LIMIT (seconds, default 480) bounds the whole sweep; a run it cuts is not logged.
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
timeout "$LIMIT" python3 report/experiments.py --data_dir "$DATA" --models_dir "$MODELS" \
    --results_dir "$OUT/results" $STUDY_GROUPS >> "$LOG" 2>&1 < /dev/null
echo "=== exit $? at $(date -u +%T)" >> "$LOG"
tail -n 40 "$LOG"
