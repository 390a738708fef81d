#!/usr/bin/env bash
# colab.ipynb's install cell, run once in a stand-in for a Colab runtime of the transformers 4 era: a new
# virtual environment holding requirements.txt's packages as Colab has them, but transformers 4.57.6 and
# datasets 4.4.2. The cell installs transformers>=5.0, which needs huggingface-hub>=2.4 here, while this
# datasets needs huggingface-hub<2.0, so pip's resolver prints an ERROR about datasets; the cell must then
# say in one sentence that the runs are fine and why. Not a test: it downloads about 1 GB from PyPI.
#
#   bash bench/colab_install_check.sh      # writes bench/results/colab_install_check.txt
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=bench/results/colab_install_check.txt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
py=$work/venv/bin/python
# torch first: the CPU wheel on this machine's disk (a bare "torch" from PyPI is a multi-GB CUDA build).
nice -n 10 "$py" -m pip install -q torch==2.13.0
nice -n 10 "$py" -m pip install -q transformers==4.57.6 datasets==4.4.2 keras==3.15.1 jax==0.10.2 \
  tensorflow==2.21.0 accelerate==1.16.0 numpy==2.4.6 scikit-learn==1.9.1 matplotlib==3.11.2

versions() {
  "$py" -m pip list 2>/dev/null | grep -iE '^(torch|transformers|huggingface[-_]hub|tokenizers|datasets) ' || true
}
mkdir "$work/content"
cp lfd_assignment3.py requirements.txt "$work/content"
{
  echo "# bash bench/colab_install_check.sh at commit $(git rev-parse --short HEAD), $(date -u +%F)," \
    "Python $("$py" -c 'import platform; print(platform.python_version())')," \
    "pip $("$py" -m pip --version | cut -d' ' -f2)"
  echo "## the stand-in runtime before the cell"
  versions
  echo "## what the notebook's first three code cells print (settings, finder, install), SMOKE off;"
  echo "## left out: pip's warnings about this machine's local package indexes (Location 'file:///opt/...')"
  # Run all, as far as the install cell, in a folder holding the code (the finder's first place).
  (cd "$work/content" && nice -n 10 "$py" - "$repo/colab.ipynb" <<'PY'
import json
import sys

cells = [cell for cell in json.load(open(sys.argv[1], encoding="utf-8"))["cells"] if cell["cell_type"] == "code"]
namespace = {}
for cell in cells[:3]:
    exec("".join(cell["source"]), namespace)
PY
  ) 2>&1 | grep -v "^WARNING: Location 'file:///opt/" | sed "s|$work|TMP|g"
  echo "## after the cell"
  versions
  echo "## pip check"
  "$py" -m pip check 2>&1 || true
  echo "## what the tool's transformer family imports, and datasets"
  (cd "$work/content" && "$py" -c 'import accelerate, transformers; from transformers import Trainer
print("transformers", transformers.__version__, "and its Trainer import")' 2>&1 | tail -1)
  (cd "$work/content" && "$py" -c 'import datasets; print("datasets", datasets.__version__, "imports")' 2>&1 | tail -1)
} 2>&1 | tee "$out"
