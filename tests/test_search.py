"""The search service over a real (small) trained model and the practicum test photos."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from core.bundle import ArtifactsMissingError, ModelBundle
from core.cli import main
from core.legal import DISCLAIMER
from core.search import SearchService, load_service, open_gallery
from core.text import QueryError


@pytest.fixture(scope="module")
def service(trained_settings) -> SearchService:
    return load_service(trained_settings, "test")


def test_query_returns_ranked_photos_with_unit_scores(service: SearchService) -> None:
    response = service.search("two dogs running on snow", top_k=8)
    assert response.disclaimer is None
    assert [h.rank for h in response.results] == list(range(1, 9))
    scores = [h.score for h in response.results]
    assert all(0 <= s <= 1 for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert all(h.path.is_file() for h in response.results)
    assert response.took_ms > 0


def test_own_caption_finds_its_photo(service: SearchService, practicum_dir) -> None:
    """Retrieval works: most test captions find their photo in the top 10 of 100. Only photos the
    search may show count: indexed and not flagged (a flagged photo is never found, by design)."""
    import pandas as pd

    index = service.gallery.index
    shown = {i for i, f in zip(index.ids(), index.flags(), strict=True) if not f}
    queries = pd.read_csv(practicum_dir / "test_queries.csv", sep="|").head(120)
    found = 0
    asked = 0
    for _, row in queries[queries["image"].isin(shown)].iterrows():
        response = service.search(row["query_text"], top_k=10)
        if response.disclaimer:
            continue
        asked += 1
        found += row["image"] in {h.image for h in response.results}
    assert asked > 20 and found / asked > 0.5, (found, asked)


@pytest.mark.parametrize("query", ["two little girls", "A toddler on a swing", "KIDS playing!", "a baby"])
def test_child_query_gets_disclaimer_and_no_photos(service: SearchService, query: str) -> None:
    response = service.search(query)
    assert response.disclaimer == DISCLAIMER
    assert response.results == []


@pytest.mark.parametrize("query", ["a man", "a dog on the beach", "people in a city street", "a woman"])
def test_neutral_query_never_returns_a_flagged_photo(service: SearchService, query: str) -> None:
    index = service.gallery.index
    flagged = {i for i, f in zip(index.ids(), index.flags(), strict=True) if f}
    assert flagged, "the test gallery has photos of children: some must be flagged"
    response = service.search(query, top_k=100)
    assert not {h.image for h in response.results} & flagged
    assert len(response.results) + response.withheld >= min(100, len(service.gallery.index))


@pytest.mark.parametrize("query", ["", "   ", "x" * 600, "две собаки бегут по снегу", "12345 !!!"])
def test_bad_query_raises_a_friendly_error(service: SearchService, query: str) -> None:
    with pytest.raises(QueryError):
        service.search(query)


def test_child_threshold_comes_from_the_artifact(trained_settings, tmp_path) -> None:
    """Raising the saved threshold above every probability flags nothing; lowering it flags all."""
    bundle = ModelBundle.load(trained_settings.artifacts_dir)
    photos = sorted((trained_settings.data_dir / "practicum" / "test_images").iterdir())[:12]
    _, flags, probability, _ = bundle.embed_photos(photos)
    assert np.array_equal(flags, probability >= bundle.child_classifier.threshold_)
    for threshold, expected in [(1.01, 0), (-0.01, len(photos))]:
        bundle.child_classifier.threshold_ = threshold
        folder = tmp_path / f"t{threshold}"
        bundle.save(folder)
        reloaded = ModelBundle.load(folder)
        assert int(reloaded.embed_photos(photos)[1].sum()) == expected


def test_missing_artifacts_say_how_to_build_them(tmp_path, trained_settings) -> None:
    empty = replace(trained_settings, artifacts_dir=tmp_path)
    with pytest.raises(ArtifactsMissingError, match="python -m core train"):
        load_service(empty)
    with pytest.raises(ArtifactsMissingError, match="not indexed"):
        open_gallery(empty, "nope")


def test_cli_search_json(trained_settings, monkeypatch, capsys) -> None:
    monkeypatch.setenv("WITHSENSE_DATA", str(trained_settings.data_dir))
    monkeypatch.setenv("WITHSENSE_ARTIFACTS", str(trained_settings.artifacts_dir))
    monkeypatch.setenv("WITHSENSE_CACHE", str(trained_settings.cache_dir))
    assert main(["search", "a dog jumps over a fence", "--top", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"query", "disclaimer", "results", "withheld", "took_ms"}
    assert [r["rank"] for r in out["results"]] == [1, 2, 3]
    assert all(0 <= r["score"] <= 1 and r["image"].endswith(".jpg") for r in out["results"])
    assert main(["search", "a little boy", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["disclaimer"] == DISCLAIMER and out["results"] == []
    assert main(["search", "   "]) == 2
    assert "error:" in capsys.readouterr().err
