"""`python -m lab`: the research commands, apart from the product's `python -m core`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from core.foundation.settings import PROJECT_ROOT
from lab.cli import PROBES, main


def test_lab_lists_its_commands_and_core_no_longer_has_them() -> None:
    done = subprocess.run([sys.executable, "-m", "lab", "--help"], capture_output=True, text=True,
                          timeout=120, check=False, cwd=PROJECT_ROOT)
    assert done.returncode == 0, done.stderr
    for command in ("sweep", "finetune", "finetune-text", "ablate", "probe"):
        assert command in done.stdout
    core = subprocess.run([sys.executable, "-m", "core", "sweep"], capture_output=True, text=True,
                          timeout=120, check=False, cwd=PROJECT_ROOT)
    assert core.returncode == 2 and "invalid choice: 'sweep'" in core.stderr


def test_every_listed_probe_is_a_module_with_main() -> None:
    import importlib

    files = {p.stem for p in (PROJECT_ROOT / "lab" / "probes").glob("*.py")} - {"__init__"}
    assert files == set(PROBES)
    for name in PROBES:
        assert callable(importlib.import_module(f"lab.probes.{name}").main)


def test_an_unknown_probe_names_the_valid_ones(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["probe", "resolution"])  # answered, so deleted: its answer is in docs/experiments.md
    assert raised.value.code == 2
    assert "faces" in capsys.readouterr().err
