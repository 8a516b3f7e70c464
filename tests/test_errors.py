"""One table for the errors a person meets: every error class core defines names its problem, the
table gives each problem its page level and exit code, and both the pages and the command line
read it, so an error added in core reaches both."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import core
from core.cli import main
from core.foundation.errors import HANDLING, USAGE, Problem, WithSenseError
from core.gallery.inputs import IngestError
from ui import wording

# Errors that mean a bug in the calling code, never a person's input: they stay tracebacks.
PROGRAMMING_ERRORS = {"NotFittedError"}


def core_error_classes() -> list[type[BaseException]]:
    found = []
    for info in pkgutil.walk_packages(core.__path__, "core."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        found += [cls for _, cls in inspect.getmembers(module, inspect.isclass)
                  if issubclass(cls, BaseException) and cls.__module__ == info.name]
    return found


def test_every_error_core_defines_is_in_the_table() -> None:
    classes = core_error_classes()
    assert len(classes) >= 15
    for cls in classes:
        if cls.__name__ in PROGRAMMING_ERRORS:
            assert not issubclass(cls, WithSenseError)
            continue
        assert issubclass(cls, WithSenseError), f"{cls.__module__}.{cls.__name__} names no problem"
        assert cls.problem in HANDLING
    assert set(HANDLING) == set(Problem)
    assert set(wording.PROBLEM_HEADLINES) == set(Problem)  # every problem has its page wording


def test_an_error_keeps_its_builtin_kind() -> None:
    """Code that caught ValueError or FileNotFoundError before still catches them."""
    from core.foundation.settings import ArtifactsMissingError
    from core.gallery.store import GalleryMissingError
    from core.text.query import QueryError

    assert issubclass(QueryError, ValueError) and issubclass(ArtifactsMissingError, FileNotFoundError)
    assert GalleryMissingError("x").problem is Problem.NOT_INDEXED  # its own, not its parent's
    assert ArtifactsMissingError("x").handling.level == "info"


def test_the_command_line_reads_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An indexing error (missing from the pages' hand-made list before the table) exits with the
    table's code and one line, no traceback."""
    code = main(["--artifacts", str(tmp_path / "none"), "index", str(tmp_path / "no-such-folder")])
    err = capsys.readouterr().err
    assert code == USAGE == IngestError("x").handling.exit_code
    assert err.startswith("error: ") and "Traceback" not in err and "no-such-folder" in err


def test_the_pages_read_the_table() -> None:
    """A page that meets an IngestError shows the table's level with the wording's headline."""
    script = (
        "from pages import _problems\n"
        "from core.gallery.inputs import IngestError\n"
        "try:\n"
        "    raise IngestError('the folder is empty')\n"
        "except _problems.EXPECTED_ERRORS as exc:\n"
        "    _problems.show_problem(exc)\n"
    )
    at = AppTest.from_string(script).run(timeout=60)
    assert not at.exception
    shown = [e.value for e in at.error]
    assert shown and "could not be indexed" in shown[0]
    assert [e.value for e in at.text] == ["the folder is empty"]  # its message: plain text
