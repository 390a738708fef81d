"""colab.ipynb as shipped, executed on the CPU as CI can: SMOKE = True (small runs, nothing
installed) is the one parameter changed; LFD_DRIVE_ROOT points the Drive route at a temporary
folder (off Colab nothing is mounted), and LFD_LM_NAME names the tests' tiny BERT instead of
bert-base-uncased from the hub. The kernel starts in an empty folder, as Colab's /content is."""

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest
from conftest import ROOT
from test_lm import tiny_lm  # noqa: F401 (a fixture)

pytestmark = pytest.mark.slow  # every test here runs the notebook

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

STOP = (
    "No lfd_assignment3.py found: put the course folder on your Google Drive as MyDrive/AS3, fill in "
    "REPO_URL, or upload a zip of the repository, then run all again."
)


def shipped():
    """The notebook with SMOKE = True appended to its one parameters cell."""
    notebook = nbformat.read(os.path.join(ROOT, "colab.ipynb"), as_version=4)
    parameters = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(parameters) == 1
    parameters[0].source += "\nSMOKE = True\n"
    return notebook


def run_all(notebook, folder):
    nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def text(cell):
    return "".join(output.get("text", "") for output in cell.outputs)


def course_folder(folder):
    """A copy of the repository's top-level files: the script, requirements.txt and the data."""
    folder.mkdir(parents=True)
    for name in os.listdir(ROOT):
        if os.path.isfile(os.path.join(ROOT, name)) and not name.startswith("."):
            shutil.copy(os.path.join(ROOT, name), folder)


def test_run_all_finds_the_course_folder_on_drive_and_shows_both_confusion_matrices(
    tiny_lm,
    tmp_path,  # noqa: F811
    monkeypatch,
):
    drive, content = tmp_path / "drive", tmp_path / "content"
    course_folder(drive / "MyDrive" / "AS3")
    content.mkdir()
    monkeypatch.setenv("LFD_DRIVE_ROOT", str(drive))
    monkeypatch.setenv("LFD_LM_NAME", tiny_lm)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    notebook = shipped()
    run_all(notebook, content)
    cells = code_cells(notebook)
    out = drive / "MyDrive" / "AS3" / "runs" / "colab"
    assert text(cells[1]) == f"working in {os.path.realpath(drive / 'MyDrive' / 'AS3')} - outputs in runs/colab\n"
    assert text(cells[2]) == "Every requirement is installed.\n"
    images = [output for cell in cells for output in cell.outputs if "image/png" in output.get("data", {})]
    assert len(images) == 2
    records = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [record["family"] for record in records] == ["lstm", "lm"]
    assert records[1]["config"]["lm_name"] == tiny_lm
    assert all(record["data_sha256"]["dev_file"] == records[0]["data_sha256"]["dev_file"] for record in records)
    assert text(cells[-1]).count("dev accuracy") == 2
    assert not any(content.iterdir())


def test_run_all_with_the_code_nowhere_stops_at_once_with_one_sentence(tmp_path, monkeypatch):
    (tmp_path / "drive" / "MyDrive").mkdir(parents=True)
    content = tmp_path / "content"
    content.mkdir()
    monkeypatch.setenv("LFD_DRIVE_ROOT", str(tmp_path / "drive"))
    notebook = shipped()
    with pytest.raises(nbclient.exceptions.CellExecutionError):
        run_all(notebook, content)
    cells = code_cells(notebook)
    assert [(output.output_type, output.traceback) for output in cells[1].outputs] == [("error", [STOP])]
    assert all(cell.execution_count is None and not cell.outputs for cell in cells[2:])
    assert not any(content.iterdir())


def test_an_uploaded_zip_is_extracted_into_a_new_folder(tmp_path, monkeypatch):
    """The zip route alone: the settings and the finder, in a folder holding a zip of a course folder."""
    content = tmp_path / "content"
    content.mkdir()
    with zipfile.ZipFile(content / "AS3.zip", "w") as archive:
        for name in ("lfd_assignment3.py", "requirements.txt"):
            archive.write(os.path.join(ROOT, name), f"AS3/{name}")
    monkeypatch.setenv("LFD_DRIVE_ROOT", str(tmp_path / "drive"))  # not there
    notebook = shipped()
    notebook.cells = notebook.cells[:3]
    run_all(notebook, content)
    folder = os.path.realpath(content / "AS3" / "AS3")
    assert text(code_cells(notebook)[1]) == f"working in {folder} - outputs in runs/colab\n"
    assert sorted(os.listdir(folder)) == ["lfd_assignment3.py", "requirements.txt", "runs"]


def test_the_install_cell_keeps_the_runtime_s_torch_and_installs_only_what_is_missing(tmp_path, monkeypatch, capsys):
    (tmp_path / "requirements.txt").write_text("# a comment\nnumpy>=1.0\ntorch>=999\nno-such-package-lfd>=1  # why\n")
    monkeypatch.chdir(tmp_path)
    exec(code_cells(shipped())[2].source, {"SMOKE": True})
    assert capsys.readouterr().out.splitlines() == [
        f"Keeping this runtime's torch {importlib.metadata.version('torch')}, although requirements.txt asks for "
        "torch>=999: replacing it would replace the build made for this GPU.",
        "SMOKE: not installing no-such-package-lfd>=1",
    ]


class FakePip:
    """subprocess for the install cell: pip "installs" and prints what pip prints after breaking datasets."""

    CONFLICT = (
        "ERROR: pip's dependency resolver does not currently take into account all the packages that are "
        "installed. This behaviour is the source of the following dependency conflicts.\n"
        "{} 4.4.2 requires huggingface-hub<2.0,>=0.25.0, but you have huggingface-hub 2.4.0 which is "
        "incompatible.\n"
    )

    def __init__(self, broken):
        self.broken = broken

    def run(self, command, **kwargs):
        return subprocess.CompletedProcess(command, 0, "", self.CONFLICT.format(self.broken))


@pytest.mark.parametrize("broken", ["datasets", "numpy"])
def test_the_install_cell_says_the_runs_are_fine_when_pip_complains_about_a_package_the_tool_does_not_use(
    broken, tmp_path, monkeypatch, capsys
):
    (tmp_path / "requirements.txt").write_text("numpy>=1.0\nno-such-package-lfd>=1\n")
    monkeypatch.chdir(tmp_path)
    exec(code_cells(shipped())[2].source, {"SMOKE": False, "subprocess": FakePip(broken), "sys": sys})
    printed = capsys.readouterr().out.splitlines()
    assert printed[:3] == FakePip.CONFLICT.format(broken).splitlines() + ["Installed no-such-package-lfd>=1"]
    if broken == "datasets":  # not numpy, nor anything numpy needs
        assert printed[3:] == [
            "pip's ERROR above is about datasets, which neither lfd_assignment3.py nor any "
            "package it needs uses, so the runs below are fine."
        ]
    else:  # requirements.txt's own package: pip's ERROR stands alone
        assert printed[3:] == []


def test_a_failed_training_cell_stops_run_all_there_under_the_tool_s_error(tmp_path, monkeypatch):
    drive, content = tmp_path / "drive", tmp_path / "content"
    course_folder(drive / "MyDrive" / "AS3")
    (drive / "MyDrive" / "AS3" / "glove_reviews.json").unlink()  # the LSTM cell's --embeddings
    content.mkdir()
    monkeypatch.setenv("LFD_DRIVE_ROOT", str(drive))
    notebook = shipped()
    with pytest.raises(nbclient.exceptions.CellExecutionError):
        run_all(notebook, content)
    cells = code_cells(notebook)
    lstm = cells[3]
    assert "lfd_assignment3.py --train_file train.txt" in lstm.source
    assert text(lstm).splitlines()[-1].startswith("lfd_assignment3.py: error: --embeddings glove_reviews.json: ")
    assert [(output.output_type, output.traceback) for output in lstm.outputs if output.output_type == "error"] == [
        ("error", ["lfd_assignment3.py failed with exit status 2 (the line above says why); Run all stops here."])
    ]
    assert all(cell.execution_count is None and not cell.outputs for cell in cells[4:])


def test_a_repo_url_that_cannot_be_cloned_stops_with_git_s_reason(tmp_path, monkeypatch):
    content = tmp_path / "content"
    content.mkdir()
    monkeypatch.setenv("LFD_DRIVE_ROOT", str(tmp_path / "drive"))  # not there
    notebook = shipped()
    notebook.cells[1].source += f"REPO_URL = {str(tmp_path / 'nothere')!r}\n"
    with pytest.raises(nbclient.exceptions.CellExecutionError):
        run_all(notebook, content)
    [error] = code_cells(notebook)[1].outputs
    [sentence] = error.traceback
    assert sentence.startswith(f"git clone {tmp_path / 'nothere'} failed (fatal: ") and "does not exist" in sentence
    assert sentence.endswith("): check REPO_URL.")
    assert not any(content.iterdir())
