#!/usr/bin/env bash
# Build what a GPU machine needs and lacks, under 64 MiB, in git-ignored device/:
#   device/data/        train/dev/test.txt and glove_reviews_50d.json.gz (unpacked there by gpu_common.sh)
#   device/models/all-MiniLM-L6-v2/   MiniLM with fp16 weights (45 MB; the tool fine-tunes in float32)
# and .whl/ with the Keras wheels the device lacks (only the LSTM needs them).
#
#   bash bench/gpu_bundle.sh [DATA_DIR] [MODELS_DIR]      # defaults ../shared/data, models
#
# The folder keeps the checkpoint's name, so report/experiments.py counts a run made there as the
# same run as one made here (--models_dir device/models).
set -eu
DATA=${1:-../shared/data}
MODELS=${2:-models}
mkdir -p device/data device/models/all-MiniLM-L6-v2
cp "$DATA"/train.txt "$DATA"/dev.txt "$DATA"/test.txt device/data/
[ -f device/data/glove_reviews_50d.json.gz ] || gzip -9 -c "$DATA/glove_reviews_50d.json" > device/data/glove_reviews_50d.json.gz
python - "$MODELS/all-MiniLM-L6-v2" device/models/all-MiniLM-L6-v2 <<'PY'
import shutil, sys
from pathlib import Path
from safetensors.torch import load_file, save_file
source, target = Path(sys.argv[1]), Path(sys.argv[2])
weights = {name: tensor.half() for name, tensor in load_file(source / "model.safetensors").items()}
save_file(weights, target / "model.safetensors", metadata={"format": "pt"})
for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
    shutil.copy(source / name, target / name)
PY
if [ ! -d .whl ]; then
    pip download -q --no-deps --only-binary=:all: --python-version 3.12 -d .whl keras==3.15.1 optree namex
fi
du -sh device .whl
