"""Why this photo: match maps over the image encoder's grid, on real photos and the test model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.cli.commands import main
from core.data.dataset import load_flickr_captions
from core.encoders.registry import get_encoder
from core.search.explain import ExplainUnavailableError, MatchMap, explain, match_map
from core.search.service import SearchService, load_service

WHERE = {"top left", "top", "top right", "left", "centre", "right", "bottom left", "bottom",
         "bottom right"}


@pytest.fixture(scope="module")
def service(trained_settings) -> SearchService:  # type: ignore[no-untyped-def]
    return load_service(trained_settings, "test")


def _photo_all_captions_say(flickr_dir: Path, words: tuple[str, ...], never: tuple[str, ...]) -> Path:
    """A corpus photo whose five captions all name one of `words` and none of `never`."""
    captions = load_flickr_captions(flickr_dir)
    text = captions["caption"].str.lower()
    says = text.str.contains("|".join(words)) & ~text.str.contains("|".join(never))
    per_photo = says.groupby(captions["image"]).all()
    return flickr_dir / "images" / sorted(per_photo[per_photo].index)[0]


def test_cells_average_to_the_photo_vector(flickr_dir: Path) -> None:
    """Mean pooling: the cells' mean is the pooled vector, so a cell reads like a photo."""
    encoder = get_encoder("efficientnet-lite0", "image")
    photo = sorted((flickr_dir / "images").iterdir())[0]
    cells = encoder.cell_vectors(Image.open(photo).convert("RGB"))
    assert cells.shape == (7, 7, 1280) and cells.dtype == np.float32
    pooled = cells.reshape(49, -1).mean(0)
    vector, failures = encoder.encode_paths([photo])
    assert not failures
    cosine = float(pooled @ vector[0] / np.linalg.norm(pooled))
    assert cosine > 0.999


def test_the_map_points_at_the_half_of_a_photo_that_matches(service: SearchService, flickr_dir: Path,
                                                            tmp_path: Path) -> None:
    """Two real photos side by side, a dog and a bicycle: each query lights its own half, whichever
    side it is on."""
    dog = _photo_all_captions_say(flickr_dir, ("dog",), ("bike", "bicycle", "person", "man", "woman"))
    bike = _photo_all_captions_say(flickr_dir, ("bike", "bicycle", "cyclist"), ("dog",))
    for left, right in ((dog, bike), (bike, dog)):
        pair = Image.new("RGB", (448, 224))
        pair.paste(Image.open(left).convert("RGB").resize((224, 224)), (0, 0))
        pair.paste(Image.open(right).convert("RGB").resize((224, 224)), (224, 0))
        path = tmp_path / "pair.png"
        pair.save(path)
        for query, wanted in (("a dog", dog), ("a person riding a bicycle", bike)):
            vector = service.bundle.encode_queries([query])[0]
            cells = match_map(service.bundle, vector, path).cells
            left_mean, right_mean = cells[:, :3].mean(), cells[:, 4:].mean()
            assert (left_mean > right_mean) == (wanted == left), (query, left.name, right.name)


def test_each_result_gets_a_map_and_an_overlay(service: SearchService) -> None:
    response = service.search("a dog runs through the water", top_k=3)
    maps = explain(service.bundle, response)
    assert [m.image for m in maps] == [h.image for h in response.results]
    for match, hit in zip(maps, response.results, strict=True):
        assert match.cells.shape == (7, 7) and np.isfinite(match.cells).all()
        heat = match.heat()
        assert heat.min() == pytest.approx(0, abs=1e-6) and heat.max() == pytest.approx(1, abs=1e-6)
        assert match.where() in WHERE
        photo = Image.open(hit.path).convert("RGB")
        shown = match.overlay(photo)
        assert shown.size == photo.size
        difference = np.abs(np.asarray(shown, float) - np.asarray(photo, float)).mean()
        assert difference > 5  # the map is visible


def test_a_disclaimer_has_nothing_to_explain(service: SearchService) -> None:
    response = service.search("a little girl on a swing")
    assert response.disclaimer and not response.results
    with pytest.raises(ExplainUnavailableError):
        explain(service.bundle, response)


def test_where_names_the_strongest_cell() -> None:
    cells = np.zeros((7, 7), np.float32)
    cells[0, 6] = 1
    assert MatchMap("x", cells).where() == "top right"
    cells[3, 3] = 2
    assert MatchMap("x", cells).where() == "centre"
    assert MatchMap("x", np.ones((7, 7), np.float32)).heat().tolist() == [[0.5] * 7] * 7


def test_cli_search_explain_saves_one_overlay_per_result(trained_settings, monkeypatch, capsys,
                                                         tmp_path: Path) -> None:
    monkeypatch.setenv("WITHSENSE_DATA", str(trained_settings.data_dir))
    monkeypatch.setenv("WITHSENSE_ARTIFACTS", str(trained_settings.artifacts_dir))
    monkeypatch.setenv("WITHSENSE_CACHE", str(trained_settings.cache_dir))
    folder = tmp_path / "why"
    assert main(["search", "a dog jumps over a fence", "--top", "2", "--json", "--explain", str(folder)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [e["image"] for e in out["explain"]] == [r["image"] for r in out["results"]]
    for entry in out["explain"]:
        assert entry["where"] in WHERE
        with Image.open(entry["file"]) as shown:
            assert shown.format == "PNG" and shown.width > 100
    assert main(["search", "a little boy", "--explain", str(tmp_path / "none")]) == 0
    assert not (tmp_path / "none").exists()  # a disclaimer: no photos, nor their maps
