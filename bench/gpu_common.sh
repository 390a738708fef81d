# Sourced by bench/gpu_check.sh and bench/gpu_lm_shapes.sh: their arguments, environment and data.
#   OUT_DIR [DATA_DIR] [MINILM_DIR] -> OUT, DATA, LM, LOG (OUT/log.txt), LIMIT (seconds per run)
set -u
OUT=${1:?OUT_DIR}
DATA=${2:-../shared/data}
LM=${3:-models/all-MiniLM-L6-v2}
mkdir -p "$OUT"
LOG=$OUT/log.txt
LIMIT=${LIMIT:-60}  # seconds per run
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false

if [ -f "$DATA/glove_reviews_50d.json.gz" ] && [ ! -f "$DATA/glove_reviews_50d.json" ]; then
    # unpacked, so that the data hashes in the records match the CPU runs
    mkdir -p /tmp/gpu_check_data && cp "$DATA"/*.txt /tmp/gpu_check_data/ &&
        gunzip -c "$DATA/glove_reviews_50d.json.gz" > /tmp/gpu_check_data/glove_reviews_50d.json
    DATA=/tmp/gpu_check_data
fi
