"""colab.ipynb, executed on the CPU as CI can: SMOKE shrinks the runs and skips the install, the
repository is the working folder (so the clone and Drive cells do nothing), and the transformer is
the tests' tiny BERT instead of bert-base-uncased from the hub."""

import json
import os

import pytest

from conftest import ROOT
from test_lm import tiny_lm  # noqa: F401 (a fixture)

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")


def test_the_colab_notebook_runs_both_families_and_shows_their_confusion_matrices(tiny_lm, tmp_path):  # noqa: F811
    notebook = nbformat.read(os.path.join(ROOT, "colab.ipynb"), as_version=4)
    parameters = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(parameters) == 1
    out = tmp_path / "colab"
    parameters[0].source += f"\nSMOKE = True\nLM_NAME = {tiny_lm!r}\nOUT_DIR = {str(out)!r}\n"
    os.environ["HF_HUB_OFFLINE"] = "1"
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": ROOT}}).execute()
    images = [output for cell in notebook.cells for output in cell.get("outputs", [])
              if "image/png" in output.get("data", {})]
    assert len(images) == 2
    records = [json.loads(line) for line in open(out / "results.jsonl", encoding="utf-8")]
    assert [record["family"] for record in records] == ["lstm", "lm"]
    assert all(record["data_sha256"]["dev_file"] == records[0]["data_sha256"]["dev_file"] for record in records)
    printed = "".join(output.get("text", "") for output in notebook.cells[-1].outputs)
    assert printed.count("dev accuracy") == 2
