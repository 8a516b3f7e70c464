"""Hybrid search (#36): the photographers' descriptions fused with the vision ranking, over the
small trained test model and the practicum test photos (their captions stand in for
descriptions), and the simulated figures on those photos (never holdout)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from core.index.exact import ExactIndex
from core.measure.hybrid_figures import captioned_set, choose_weight, described, figures
from core.search.descriptions import DescriptionIndex, for_gallery
from core.search.hybrid import fuse_scores, vision_scores
from core.search.service import SearchService, load_service

PLACE_WORD = "reykjavik"  # a word no caption of the test photos holds


@pytest.fixture(scope="module")
def service(trained_settings) -> SearchService:  # type: ignore[no-untyped-def]
    return load_service(trained_settings, "test")


@pytest.fixture(scope="module")
def test_captions(practicum_dir) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    queries = pd.read_csv(practicum_dir / "test_queries.csv", sep="|")
    return queries.rename(columns={"query_id": "caption_id", "query_text": "caption"})


def first_captions(captions: pd.DataFrame, photos: list[str]) -> dict[str, str]:
    ordered = captions.sort_values("caption_id")
    return {p: ordered[ordered["image"] == p]["caption"].iloc[0] for p in photos}


def shown(service: SearchService) -> list[str]:
    index = service.gallery.index
    return [i for i, f in zip(index.ids(), index.flags(), strict=True) if not f]


def test_a_word_only_the_description_holds_finds_its_photo(service, test_captions) -> None:  # type: ignore[no-untyped-def]
    photos = shown(service)[:5]
    descriptions = first_captions(test_captions, photos)
    target = photos[3]
    descriptions[target] += f" Taken in {PLACE_WORD.title()} harbour."
    hybrid = SearchService(service.bundle, replace(service.gallery, descriptions=descriptions))
    assert PLACE_WORD not in {h.image for h in service.search(PLACE_WORD, top_k=3).results}
    found = hybrid.search(f"{PLACE_WORD} harbours", top_k=5)  # lemmas: "harbours" -> "harbour"
    assert found.results[0].image == target
    # its score is its own vision score raised by the words, never lowered
    vector = found.vector
    assert vector is not None
    stored = service.gallery.index.stored(target)
    assert stored is not None
    vision = float(vision_scores(service.bundle, np.array([stored.vector @ vector]), vector)[0])
    assert vision < found.results[0].score <= 1.0


def test_without_descriptions_the_ranking_is_vision_only(service, test_captions) -> None:  # type: ignore[no-untyped-def]
    query = "a dog runs through the grass"
    vision = service.search(query, top_k=10)
    assert not service.gallery.descriptions
    # descriptions that share no word with the query change nothing either
    unrelated = {p: "Sailboats at dusk." for p in shown(service)[:20]}
    hybrid = SearchService(service.bundle, replace(service.gallery, descriptions=unrelated))
    same = hybrid.search(query, top_k=10)
    assert [h.image for h in same.results] == [h.image for h in vision.results]
    assert [h.score for h in same.results] == pytest.approx([h.score for h in vision.results], abs=1e-6)
    assert same.withheld == vision.withheld


def test_withheld_photos_never_come_back_through_their_words(service) -> None:  # type: ignore[no-untyped-def]
    gallery = service.gallery
    ids = gallery.index.ids()
    target = shown(service)[0]
    flags = np.array([i == target for i in ids])
    index = ExactIndex(gallery.index.dim)
    index.add(ids, np.stack([gallery.index.stored(i).vector for i in ids]), flags)  # type: ignore[union-attr]
    flagged = replace(gallery, index=index,
                      descriptions={target: f"Boats in {PLACE_WORD}.", ids[-1]: f"A {PLACE_WORD} street."})
    response = SearchService(service.bundle, flagged).search(PLACE_WORD, top_k=len(ids))
    assert target not in {h.image for h in response.results}
    assert ids[-1] in {h.image for h in response.results}  # the other described photo still is
    assert response.withheld == 1  # the vision side counts it, as today


def test_fused_scores_are_0_to_1_and_ordered(service, test_captions) -> None:  # type: ignore[no-untyped-def]
    photos = shown(service)
    hybrid = SearchService(service.bundle, replace(service.gallery,
                                                   descriptions=first_captions(test_captions, photos[:30])))
    response = hybrid.search("a man in a red shirt climbs a rock", top_k=12)
    scores = [h.score for h in response.results]
    assert len(scores) == 12 and all(s is not None and 0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert [h.rank for h in response.results] == list(range(1, 13))
    assert all(h.path.is_file() for h in response.results)


def test_the_description_index_is_built_once_per_gallery(service) -> None:  # type: ignore[no-untyped-def]
    gallery = replace(service.gallery, descriptions={shown(service)[0]: "Dogs running"})
    first = for_gallery(gallery)
    assert for_gallery(gallery) is first
    assert [m.image for m in first.search("a dog runs", 5)] == [shown(service)[0]]


def test_word_matches_use_the_projects_lemmas_and_weigh_rare_words() -> None:
    index = DescriptionIndex({"a.jpg": "Two dogs ran along the beach in Norway.",
                              "b.jpg": "A dog sleeps on a sofa.", "c.jpg": "A red boat on a lake."})
    found = index.search("a dog running on the beach", 3)
    assert [m.image for m in found][:2] == ["a.jpg", "b.jpg"]
    assert 0.0 < found[1].match < found[0].match <= 1.0
    assert index.search("zebra", 3) == []
    assert 0.0 <= fuse_scores(np.array([0.0, 0.4, 1.0]), np.array([1.0, 0.5, 1.0])).min()
    assert fuse_scores(np.array([0.4]), np.array([0.0]))[0] == pytest.approx(0.4)  # no words: vision


def test_simulated_figures_on_practicum_test(trained_settings, service, test_captions,  # type: ignore[no-untyped-def]
                                             practicum_dir) -> None:
    bundle = service.bundle
    data_set = captioned_set(trained_settings, bundle, test_captions, practicum_dir / "test_images")
    assert len(data_set.photos) == 100 and len(data_set.queries) == 400

    def score(cos: np.ndarray, q: np.ndarray) -> np.ndarray:
        return bundle.score(bundle.tower.centred_cosine(cos.T, q).T)

    result = figures(data_set, score, weights=(0.0, 0.5, 1.0), seed=7)
    assert result["simulated"] is True and "first caption" in result["how"]
    assert set(result["coverage"]) == {"100%", "30%"}
    assert result["coverage"]["30%"]["described_photos"] == 30
    assert np.array_equal(described(100, 0.3, 7), described(100, 0.3, 7))
    for cover in result["coverage"].values():
        rows = [cover["vision"], cover["description"], *cover["hybrid"].values()]
        assert all(0.0 <= r["r1"] <= r["r10"] <= 100.0 for r in rows)
        # weight 0: words add nothing, so hybrid ranks as vision does
        assert cover["hybrid"]["0"]["r10"] == pytest.approx(cover["vision"]["r10"])
    full, part = result["coverage"]["100%"], result["coverage"]["30%"]
    assert full["description"]["r10"] > part["description"]["r10"] > 0.0
    assert full["hybrid"]["0.5"]["r10"] > full["vision"]["r10"]
    assert choose_weight(result) in (0.0, 0.5, 1.0)


def test_the_report_shows_the_simulated_figures(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from core.measure.hybrid_report import hybrid_table
    from core.measure.reports import load_metrics

    cover = {"described_photos": 30, "vision": {"r1": 20.0, "r10": 70.0},
             "description": {"r1": 10.0, "r10": 20.0}}
    section = {"simulated": True,
               "selection": {"coverage": {"30%": {**cover, "hybrid": {"0.5": {"r1": 22.0, "r10": 71.0},
                                                                      "1": {"r1": 9.0, "r10": 9.0}}}},
                             "chosen_weight": 0.5},
               "holdout": {"coverage": {"30%": {**cover, "hybrid": {"r1": 21.0, "r10": 72.0}}}}}
    table = hybrid_table(section)
    assert table["Set"].str.contains("simulated").all()
    assert table["Hybrid R@1"].tolist() == pytest.approx([22.0, 21.0])  # selection: its chosen weight
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({"relevance": {}, "retrieval": {}, "legal": {}, "config": {},
                                "hybrid_simulated": section}))
    assert load_metrics(path).hybrid["Words R@10"].tolist() == pytest.approx([20.0, 20.0])
    assert hybrid_table({"not_measured": "no model"}).empty
