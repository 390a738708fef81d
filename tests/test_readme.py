"""README in setup order (issue 35): what must come first comes first, each example saves to a folder of its own."""

import pathlib
import re

from conftest import ROOT

README = pathlib.Path(ROOT, "README.md").read_text(encoding="utf-8")


def test_the_cpu_torch_step_comes_before_the_two_commands_and_readme_is_short():
    torch_step = README.index("--index-url https://download.pytorch.org/whl/cpu")
    commands = README.index("<!-- ci: ")
    assert torch_step < commands
    block = README[commands:].split("\n\n")[0].splitlines()[1:]
    assert [line.strip().split(" && ")[1] for line in block] == [
        "python lfd_assignment3.py",
        "python -m pytest -q tests",
    ]
    assert re.search(r"\d+ to \d+ minutes", README[:commands])  # how long the tests take
    assert len(README.splitlines()) <= 250


def test_every_example_saves_to_a_folder_of_its_own():
    folders = re.findall(r"--save_model (\S+)", README)
    assert len(folders) >= 5 and len(folders) == len(set(folders)), folders
