#!/usr/bin/env bash
# Lowest-versions check: does the range that requirements.txt declares work at its bottom?
#
# Creates a fresh virtual environment, installs every requirement of requirements.txt and
# requirements-test.txt pinned to its floor (each "name>=X" becomes "name==X"; pip resolves only
# the packages these pull in, at their newest compatible releases), prints what it installed, and
# runs the test suite from the repository.
#
# Usage (from anywhere):
#   bash bench/lowest_versions.sh [PYTHON] [VENV_DIR]
#     PYTHON    interpreter to build the environment from (default: python3.11)
#     VENV_DIR  where to create it (default: a new temporary folder; kept, its path is printed)
#   LOWEST_CORE=1 bash bench/lowest_versions.sh python3.12
#     the LSTM and tf-idf path only: leaves out torch, transformers and accelerate and runs
#     tests/test_cli.py tests/test_units.py (a quick check without the 3 GB torch download)
#   LOWEST_TESTS="tests/test_lm.py" ...  runs other tests (default: tests, or the two above)
#
# Wheels only (--only-binary=:all:): a floor with no wheel for that Python fails here, as it would
# on a user's machine without compilers. The torch floor from PyPI is a CUDA build: about 0.8 GB
# plus about 2 GB of nvidia-* wheels that torch 2.4 must find to import at all, even on a CPU.
# The tests build their own tiny models (no downloads from the hub); they take 5-10 minutes on
# two cores, after 3-4 minutes of installing; the environment takes about 8 GB of disk.
#
# Last result (2026-11-29, this project's machine, CPU only): all 103 tests passed at the floors on
# Python 3.10.13, 3.11.7 and 3.12.1 (about 8 minutes each); details and history in
# bench/results/lowest_versions.txt.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${1:-python3.11}
venv=${2:-$(mktemp -d -t lfd-lowest.XXXXXX)/venv}
core=${LOWEST_CORE:-0}
if [ "$core" = 1 ]; then tests=${LOWEST_TESTS:-tests/test_cli.py tests/test_units.py}
else tests=${LOWEST_TESTS:-tests}; fi

start=$(date +%s)
"$python" -m venv "$venv"
py="$venv/bin/python"
"$py" -m pip install -q --upgrade pip

# The floors as exact pins: every "name>=X" (or "name[extra]>=X") of both files, comments and
# "-r" lines left out.
pins="$venv/lowest-pins.txt"
cat "$repo/requirements.txt" "$repo/requirements-test.txt" \
  | sed -e 's/#.*//' -e 's/[[:space:]]//g' | grep -v '^$' | grep -v '^-r' \
  | sed -e 's/>=\([^,;]*\).*/==\1/' > "$pins"
if [ "$core" = 1 ]; then
  grep -v -E '^(torch|transformers|accelerate)(\[|=)' "$pins" > "$pins.core" && mv "$pins.core" "$pins"
fi
echo "== pins ($python, $("$py" --version 2>&1))"; cat "$pins"

# One pip call for all, so that the resolver has to find them consistent with each other.
"$py" -m pip install -q --only-binary=:all: -r "$pins"
installed=$(date +%s)
echo "== installed in $((installed - start)) s"
"$py" -m pip freeze | grep -i -E '^(keras|jax|jaxlib|tensorflow|torch|transformers|accelerate|numpy|scikit-learn|matplotlib|tokenizers|huggingface.hub|safetensors|ml.dtypes|pytest|nbclient|nbformat|ipykernel)=='
"$py" -m pip check || true

cd "$repo"
set +e
"$py" -m pytest -q -p no:cacheprovider $tests
status=$?
set -e
echo "== pytest exit $status; tests $(( $(date +%s) - installed )) s, total $(( $(date +%s) - start )) s; venv $venv"
exit $status
