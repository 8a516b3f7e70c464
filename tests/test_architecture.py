"""The import rules of ARCHITECTURE.md, read from the source with `ast` (nothing is imported):
core/ is the library and never reaches the views, a core module imports only its own layer or
the layers below, ui/ is presentation without Streamlit, and every core module has a layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.foundation.settings import PROJECT_ROOT

# ARCHITECTURE.md's table, in data-flow order: a module may import its own layer and those above
# it in this list, never one below.
LAYERS: list[tuple[str, set[str]]] = [
    ("foundation", {"config", "model_config", "atomic", "images", "own_weights", "estimators", "reports"}),
    ("data", {"tables", "data"}),
    ("text", {"word_table", "text"}),
    ("legal", {"legal"}),
    ("encoders", {"encoder_errors", "image_net", "image_encoders", "bert", "text_encoders", "encoders",
                  "embeddings"}),
    ("models", {"models", "baselines", "child_photos", "child_blend", "child_net"}),
    ("bundle", {"bundle"}),
    ("index", {"index", "pgconnect", "pgindex", "store"}),
    ("search", {"search", "details", "explain"}),
    ("build", {"finetune_pack", "finetune_views", "child_training", "train", "photo_inputs", "ingest",
               "finetune", "text_finetune"}),
    ("measure", {"evaluate", "sweep", "ablation", "bench_photos", "bench"}),
    ("entry", {"cli_parser", "cli", "__main__", "__init__"}),
]
RANK = {module: rank for rank, (_, modules) in enumerate(LAYERS) for module in modules}

# Top-level packages each part of the repo must never import.
FORBIDDEN = {
    "core": {"streamlit", "plotly", "ui", "pages"},
    "ui": {"streamlit", "pages"},
    "scripts": {"streamlit", "pages", "ui"},
}


def imported_modules(source: str, package: str = "") -> set[str]:
    """Every module a file imports, dotted, wherever the import sits (functions, TYPE_CHECKING
    blocks): `from core import data` counts as core.data.dataset."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against the file's package
                base = ".".join([package] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            # `from core import data` names a module; `from core.data.dataset import load` names a function
            if base in {"core", "ui", "pages"}:
                found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def violations(files: dict[str, str]) -> list[str]:
    """Broken rules in {path relative to the repo: source}; empty when all hold."""
    problems = []
    for path, source in sorted(files.items()):
        part = path.split("/")[0]
        imports = imported_modules(source, part)
        for name in sorted(imports):
            if name.split(".")[0] in FORBIDDEN.get(part, set()):
                problems.append(f"{path} imports {name}")
        if part != "core":
            continue
        module = Path(path).stem
        if module not in RANK:
            problems.append(f"{path} has no layer in ARCHITECTURE.md (add it to LAYERS)")
            continue
        for name in sorted(imports):
            parts = name.split(".")
            if parts[0] == "core" and len(parts) > 1 and RANK.get(parts[1], -1) > RANK[module]:
                problems.append(f"{path} ({LAYERS[RANK[module]][0]}) imports the higher layer "
                                f"{name} ({LAYERS[RANK[parts[1]]][0]})")
    return problems


def _sources() -> dict[str, str]:
    files = {}
    for folder in ("core", "ui", "pages", "scripts"):
        for path in sorted((PROJECT_ROOT / folder).glob("*.py")):
            files[f"{folder}/{path.name}"] = path.read_text(encoding="utf-8")
    return files


def test_the_repository_keeps_the_import_rules() -> None:
    assert violations(_sources()) == []


@pytest.mark.parametrize(("path", "source", "expected"), [
    ("core/data/dataset.py", "import streamlit as st\n", "core/data/dataset.py imports streamlit"),
    ("core/measure/reports.py", "def f():\n    import plotly.graph_objects as go\n", "imports plotly.graph_objects"),  # noqa: E501
    ("core/models/two_tower.py", "from ui import charts\n", "core/models/two_tower.py imports ui"),
    ("core/text/wordnet.py", "from core import search\n", "imports the higher layer core.search.service (search)"),  # noqa: E501
    ("core/legal/lexicon.py", "from core.build.train import fit_tower\n", "imports the higher layer core.build.train"),  # noqa: E501
    ("core/data/dataset.py", "from .search import SearchService\n", "imports the higher layer core.search.service"),  # noqa: E501
    ("core/shiny.py", "import numpy\n", "core/shiny.py has no layer"),
    ("ui/charts.py", "import streamlit\n", "ui/charts.py imports streamlit"),
    ("scripts/readme_metrics.py", "from ui import wording\n", "imports ui"),
])
def test_each_rule_can_fail(path: str, source: str, expected: str) -> None:
    problems = violations({path: source})
    assert any(expected in p for p in problems), problems


def test_allowed_imports_pass() -> None:
    allowed = {"core/search/service.py": "from core import bundle, legal\nfrom core.index.exact import ExactIndex\n",  # noqa: E501
               "ui/charts.py": "import plotly.graph_objects as go\nfrom core.measure.reports import MODELS\n",
               "pages/search.py": "import streamlit as st\nfrom ui import wording\n"}
    assert violations(allowed) == []
