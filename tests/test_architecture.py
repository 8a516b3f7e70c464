"""The house rules of ARCHITECTURE.md, read from the source with `ast` (nothing is imported):

- core/ is packages by layer in data-flow order; a module imports only its own layer or the
  layers before it, and every core module has a layer;
- no import circles among the project's modules, top-level or inside functions;
- the product (core/, ui/, pages/, app.py, serve.py) never imports lab/; core never imports the
  views (streamlit, plotly, ui, pages); scripts/ never import tests/;
- only core/foundation/settings.py reads environment variables;
- modules stay about 300 lines, packages about 12 modules.
Each rule is shown failing on a planted case."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.foundation.settings import PROJECT_ROOT

# core/'s packages in data-flow order (bundle is core/bundle.py): a module may import its own
# layer and those before it in this list, never one after.
LAYERS = ["foundation", "data", "text", "encoders", "models", "legal", "bundle", "index", "gallery",
          "search", "build", "measure", "cli", "__main__", "__init__"]
RANK = {layer: rank for rank, layer in enumerate(LAYERS)}
PRODUCT = ("core", "ui", "pages", "app.py", "serve.py")
# Top-level packages each part of the repository must never import.
FORBIDDEN = {
    "core": {"streamlit", "plotly", "ui", "pages", "lab", "tests"},
    "ui": {"streamlit", "pages", "lab", "tests"},
    "pages": {"lab", "tests"},
    "app.py": {"lab", "tests"},
    "serve.py": {"lab", "tests"},
    "scripts": {"streamlit", "pages", "ui", "tests"},
    "lab": {"tests", "pages"},
}
SETTINGS_MODULE = "core/foundation/settings.py"
MAX_LINES = 320  # "about 300"
MAX_MODULES = 12
OWN = ("core", "lab", "ui", "pages")


def module_name(path: str) -> str:
    """core/text/query.py -> core.text.query; core/cli/__init__.py -> core.cli."""
    parts = path.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, path: str, known: set[str]) -> set[str]:
    """Every module a file imports, dotted, wherever the import sits (functions, TYPE_CHECKING
    blocks): `from core.text import wordnet` counts as core.text.wordnet when that is a module."""
    package = module_name(path) if path.endswith("__init__.py") else module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against the file's package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known}
    return found


def layer_of(module: str) -> str | None:
    """core.text.query -> text; core.bundle -> bundle; core -> __init__; outside core -> None."""
    parts = module.split(".")
    if parts[0] != "core":
        return None
    if len(parts) == 1:
        return "__init__"
    return parts[1] if parts[1] in RANK else "?"


def reads_environment(source: str) -> bool:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv", "environb"}:
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "os" and any(
                a.name in {"environ", "getenv"} for a in node.names):
            return True
    return False


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def violations(files: dict[str, str]) -> list[str]:
    """Broken rules in {path relative to the repository: source}; empty when all hold."""
    problems = []
    known = {module_name(path) for path in files}
    graph: dict[str, set[str]] = {}
    for path, source in sorted(files.items()):
        part = path.split("/")[0]
        module = module_name(path)
        imports = imported_modules(source, path, known)
        graph[module] = {name for name in imports if name in known and name != module}
        for name in sorted(imports):
            if name.split(".")[0] in FORBIDDEN.get(part, set()):
                problems.append(f"{path} imports {name}")
        if reads_environment(source) and path != SETTINGS_MODULE and part in PRODUCT:
            problems.append(f"{path} reads environment variables (only {SETTINGS_MODULE} may)")
        lines = source.count("\n")
        if part in OWN and lines > MAX_LINES:
            problems.append(f"{path} has {lines} lines (about 300 at most: split it)")
        if part != "core":
            continue
        layer = layer_of(module)
        if layer == "?":
            problems.append(f"{path} has no layer in ARCHITECTURE.md (add its package to LAYERS)")
            continue
        for name in sorted(imports - {"core"}):  # `from core import x`: x is what counts
            other = layer_of(name)
            if other not in (None, "?") and RANK[other] > RANK[layer]:
                problems.append(f"{path} ({layer}) imports the later layer {name} ({other})")
    for component in circles(graph):
        problems.append("import circle: " + " -> ".join(component))
    packages: dict[str, int] = {}
    for path in files:
        parts = path.split("/")
        if parts[0] in OWN and len(parts) > 2 and parts[-1] != "__init__.py":
            packages["/".join(parts[:-1])] = packages.get("/".join(parts[:-1]), 0) + 1
    problems += [f"{folder} has {count} modules (about 12 at most)"
                 for folder, count in sorted(packages.items()) if count > MAX_MODULES]
    return problems


def sources(root: Path = PROJECT_ROOT) -> dict[str, str]:
    files = {}
    for folder in ("core", "lab", "ui", "pages", "scripts"):
        for path in sorted((root / folder).rglob("*.py")):
            files[path.relative_to(root).as_posix()] = path.read_text(encoding="utf-8")
    for name in ("app.py", "serve.py"):
        files[name] = (root / name).read_text(encoding="utf-8")
    return files


def test_the_repository_keeps_the_rules() -> None:
    assert violations(sources()) == []


def test_core_keeps_few_modules_at_its_top() -> None:
    top = sorted(p.name for p in (PROJECT_ROOT / "core").glob("*.py"))
    assert set(top) - {"__init__.py", "__main__.py"} <= {"bundle.py", "errors.py"}, top
    assert not list((PROJECT_ROOT / "scripts").glob("probe_*.py"))


def test_every_core_package_says_what_it_owns() -> None:
    for init in sorted((PROJECT_ROOT / "core").glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 60, f"{init.parent.name}/__init__.py needs a docstring saying what it owns"
        assert init.parent.name in RANK, f"core/{init.parent.name} is not in LAYERS"


def _planted(path: str, extra: str) -> list[str]:
    """The repository as it is, with `extra` added to the file at `path` (or as a new file)."""
    files = sources()
    files[path] = files.get(path, "") + extra
    return violations(files)


@pytest.mark.parametrize(("path", "extra", "expected"), [
    # a circle: query is imported by wordnet; wordnet back from query closes it
    ("core/text/query.py", "from core.text import wordnet\n",
     "import circle: core.text.query -> core.text.wordnet"),
    # inside a function counts too
    ("core/models/baselines.py", "def f():\n    from core.models import estimators\n", ""),
    ("core/models/estimators.py", "def g():\n    import core.models.baselines\n",
     "import circle: core.models.baselines -> core.models.estimators"),
    ("core/search/service.py", "import lab.cli\n", "core/search/service.py imports lab.cli"),
    ("pages/search.py", "from lab.select import sweep\n", "pages/search.py imports lab.select"),
    ("serve.py", "import lab\n", "serve.py imports lab"),
    ("core/data/dataset.py", "import streamlit as st\n", "core/data/dataset.py imports streamlit"),
    ("core/measure/reports.py", "def f():\n    import plotly.graph_objects as go\n",
     "imports plotly.graph_objects"),
    ("core/models/two_tower.py", "from ui import charts\n", "core/models/two_tower.py imports ui"),
    ("core/text/wordnet.py", "from core.search import service\n",
     "imports the later layer core.search.service (search)"),
    ("core/legal/lexicon.py", "from core.build.train import train\n",
     "imports the later layer core.build.train"),
    ("core/data/dataset.py", "from ..search import service\n", "imports the later layer core.search"),
    ("core/shiny/thing.py", "import numpy\n", "core/shiny/thing.py has no layer"),
    ("core/gallery/store.py", "import os\nPATH = os.environ.get('X')\n",
     "core/gallery/store.py reads environment"),
    ("ui/charts.py", "from os import getenv\n", "ui/charts.py reads environment"),
    ("ui/charts.py", "import streamlit\n", "ui/charts.py imports streamlit"),
    ("scripts/readme_metrics.py", "import tests.conftest\n", "imports tests.conftest"),
    ("core/search/explain.py", "\n" * 400, "core/search/explain.py has 5"),
])
def test_each_rule_can_fail(path: str, extra: str, expected: str) -> None:
    problems = _planted(path, extra)
    if not expected:  # one half of a circle alone breaks nothing
        assert problems == []
        return
    assert any(expected in p for p in problems), problems


def test_a_package_of_too_many_modules_fails() -> None:
    files = sources()
    files |= {f"core/legal/extra_{i}.py": "" for i in range(12)}
    assert any("core/legal has" in p for p in violations(files))


def test_allowed_imports_pass() -> None:
    allowed = {"core/search/service.py": "from core import bundle\nfrom core.index.exact import ExactIndex\n",
               "core/bundle.py": "from core.legal import logistic\n",
               "core/foundation/settings.py": "import os\nX = os.environ.get('X')\n",
               "lab/cli.py": "from core.cli import commands\n",
               "ui/charts.py": "import plotly.graph_objects as go\nfrom core.measure.reports import MODELS\n",
               "pages/search.py": "import streamlit as st\nfrom ui import wording\n"}
    assert violations(allowed) == []
