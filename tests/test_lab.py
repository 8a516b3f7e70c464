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
    for command in ("sweep", "finetune", "finetune-text", "ablate", "probe", "killtest", "loadcheck"):
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


def test_loadcheck_states_capacity_from_p95_and_from_the_servers_cpu() -> None:
    """Capacity: the largest N measured without errors whose p95 stayed within 5 s, and the burst
    a 2-core server's CPU answers in 5 s at the worst CPU seconds per visitor measured."""
    from lab.loadcheck import capacity

    def row(n: int, p95: float, cpu: float, errors: int = 0) -> dict[str, object]:
        return {"visitors": n, "errors": errors, "first_results_p95_s": p95, "server_cpu_s_per_visitor": cpu}

    found = capacity([row(1, 3.1, 1.2), row(2, 4.9, 1.6), row(4, 5.2, 1.5), row(8, 4.0, 1.4, errors=1)])
    assert found["measured_max_visitors_p95_under_5s"] == 2
    assert found["burst_a_2_core_server_answers_in_5s"] == 6  # 10 CPU-seconds / 1.6 per visitor
    assert found["visitors_per_s_per_core"] == 0.62
    assert capacity([row(1, 6.0, 2.0)])["measured_max_visitors_p95_under_5s"] == 0


def test_no_loadcheck_query_gets_the_disclaimer() -> None:
    """A visitor waits for 12 photos: a child query (the disclaimer, no photos) would time out."""
    from core.legal.lexicon import is_child_query
    from lab.loadcheck import QUERIES

    assert not [q for q in QUERIES if is_child_query(q)]
