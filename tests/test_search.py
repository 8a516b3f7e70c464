"""The search service over a real (small) trained model and the practicum test photos."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from conftest import missing

from core.bundle import ArtifactsMissingError, ModelBundle
from core.cli.commands import main
from core.legal.lexicon import DISCLAIMER
from core.search.service import SearchService, load_service, open_gallery
from core.text.query import QueryError


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


@pytest.mark.parametrize("query", ["", "   ", "x" * 600, "δύο σκυλιά τρέχουν στο χιόνι", "12345 !!!"])
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
    assert set(out) == {"query", "kind", "disclaimer", "results", "withheld", "took_ms", "load_ms"}
    assert out["kind"] == "text" and out["load_ms"] > 0 and out["took_ms"] > 0
    assert [r["rank"] for r in out["results"]] == [1, 2, 3]
    assert all(0 <= r["score"] <= 1 and r["image"].endswith(".jpg") for r in out["results"])
    assert main(["search", "a little boy", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["disclaimer"] == DISCLAIMER and out["results"] == []
    assert main(["search", "   "]) == 2
    assert "error:" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# Search by photo
# --------------------------------------------------------------------------------------------


def _flags(service: SearchService) -> dict[str, bool]:
    index = service.gallery.index
    return dict(zip(index.ids(), (bool(f) for f in index.flags()), strict=True))


def _child_photo(service: SearchService, trained_settings, classifier_too: bool = False) -> str:
    """A test photo whose captions say it shows a child and whose stored flag is set (and, with
    classifier_too, which the model's classifier flags as well, as it must for an upload)."""
    from core.build.train import practicum_captions
    from core.legal.lexicon import caption_child_labels

    labels = caption_child_labels(practicum_captions(trained_settings, "test"))
    flags = _flags(service)
    candidates = [image for image, child in labels.items() if child and flags.get(image)]
    assert candidates, "the test gallery has captioned child photos"
    if not classifier_too:
        return candidates[0]
    paths = [service.gallery.path_of(image) for image in candidates[:10]]
    flagged = service.bundle.embed_photos(paths)[1]
    assert flagged.any(), "the classifier flags some captioned child photos"
    return candidates[int(np.argmax(flagged))]


def test_search_like_returns_the_nearest_photos_without_itself(service: SearchService) -> None:
    flags = _flags(service)
    photo = next(image for image, flagged in flags.items() if not flagged)
    response = service.search_like(photo, top_k=5)
    assert response.kind == "photo" and response.disclaimer is None and response.query == photo
    found = [h.image for h in response.results]
    assert len(found) == 5 and photo not in found
    assert not any(flags[image] for image in found)
    assert [h.rank for h in response.results] == [1, 2, 3, 4, 5]
    assert all(h.score is None for h in response.results)  # no calibrated score for photo pairs
    similarities = [h.similarity for h in response.results]
    assert similarities == sorted(similarities, reverse=True)
    # the near neighbours of the photo's stored vector, among the photos that may be shown
    index = service.gallery.index
    ids, vectors = index.ids(), index.vectors()
    own = vectors[ids.index(photo)]
    cosines = vectors @ own
    order = [ids[i] for i in np.argsort(-cosines) if ids[i] != photo and not flags[ids[i]]]
    assert len(set(order[:5]) & set(found)) >= 4, (order[:5], found)
    assert min(similarities) > float(np.median(cosines))


def test_search_like_a_gallery_photo_uses_its_stored_vector(service: SearchService, monkeypatch) -> None:
    """A photo of the gallery was encoded when it was indexed: "Similar photos" reads that vector
    instead of decoding and encoding the photo again (two networks, ~60 ms on 2 cores)."""
    flags = _flags(service)
    photo = next(image for image, flagged in flags.items() if not flagged)
    encoded = service.bundle.embed_photos([service.gallery.path_of(photo)])[0][0]
    calls: list[object] = []
    monkeypatch.setattr(service.bundle, "embed_photos", lambda *args, **kw: calls.append(args))
    response = service.search_like(photo, top_k=6)
    assert calls == [] and response.disclaimer is None and len(response.results) == 6
    assert response.vector is not None and response.vector.dtype == np.float32
    assert float(response.vector @ encoded) > 0.999  # the same photo, within float16 storage


def test_search_like_an_upload_of_a_gallery_photo_leaves_that_photo_out(service: SearchService) -> None:
    flags = _flags(service)
    photo = next(image for image, flagged in flags.items() if not flagged)
    by_id = service.search_like(photo, top_k=6)
    uploaded = service.search_like(service.gallery.path_of(photo).read_bytes(), top_k=6)
    assert uploaded.query == "uploaded photo"
    assert photo not in {h.image for h in uploaded.results}
    assert len(set(h.image for h in uploaded.results) & set(h.image for h in by_id.results)) >= 5


def test_search_like_a_child_photo_gets_the_disclaimer(service: SearchService, trained_settings) -> None:
    photo = _child_photo(service, trained_settings)
    response = service.search_like(photo, top_k=12)
    assert response.disclaimer == DISCLAIMER and response.results == []
    upload = _child_photo(service, trained_settings, classifier_too=True)
    response = service.search_like(service.gallery.path_of(upload).read_bytes(), top_k=12)
    assert response.disclaimer == DISCLAIMER and response.results == []


def test_a_gallery_photo_its_captions_clear_is_a_query_as_it_is_a_result(service: SearchService) -> None:
    """The gallery shows a described photo when its captions name no child, whatever the
    classifier thinks: searching like it must not then answer with the disclaimer. The same
    photo uploaded has no captions, so the classifier judges it."""
    flags = _flags(service)
    shown = [image for image, flagged in flags.items() if not flagged]
    classifier = service.bundle.embed_photos([service.gallery.path_of(i) for i in shown])[1]
    assert classifier.any(), "the classifier would flag some photos their captions clear"
    photo = shown[int(np.argmax(classifier))]
    response = service.search_like(photo, top_k=6)
    assert response.disclaimer is None and len(response.results) == 6
    uploaded = service.search_like(service.gallery.path_of(photo).read_bytes(), top_k=6)
    assert uploaded.disclaimer == DISCLAIMER and uploaded.results == []


def test_search_like_refuses_what_it_cannot_use(service: SearchService) -> None:
    from core.foundation.images import ImageError
    from core.search.service import PhotoNotInGalleryError

    with pytest.raises(PhotoNotInGalleryError, match="no photo named"):
        service.search_like("not-a-photo.jpg")
    with pytest.raises(ImageError, match="not an image"):
        service.search_like(b"this is text, not a photo")
    with pytest.raises(ValueError, match="top_k"):
        service.search_like(service.gallery.index.ids()[0], top_k=0)


def test_results_as_csv_have_one_row_per_photo(service: SearchService) -> None:
    import csv
    import io

    response = service.search("a dog runs on the grass", top_k=7)
    rows = list(csv.DictReader(io.StringIO(response.to_csv())))
    assert [r["image"] for r in rows] == [h.image for h in response.results]
    assert [int(r["rank"]) for r in rows] == list(range(1, 8))
    assert all(0 <= float(r["score"]) <= 1 and r["query"] == response.query for r in rows)
    photo_rows = list(csv.DictReader(io.StringIO(service.search_like(rows[0]["image"], 3).to_csv())))
    assert len(photo_rows) == 3 and all(r["score"] == "" and r["kind"] == "photo" for r in photo_rows)


def test_cli_search_like(trained_settings, monkeypatch, capsys) -> None:
    monkeypatch.setenv("WITHSENSE_DATA", str(trained_settings.data_dir))
    monkeypatch.setenv("WITHSENSE_ARTIFACTS", str(trained_settings.artifacts_dir))
    monkeypatch.setenv("WITHSENSE_CACHE", str(trained_settings.cache_dir))
    service = load_service(trained_settings, "test")
    photo = next(image for image, flagged in _flags(service).items() if not flagged)
    path = service.gallery.path_of(photo)
    assert main(["search", "--like", str(path), "--top", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "photo" and out["query"] == photo
    assert len(out["results"]) == 3 and photo not in {r["image"] for r in out["results"]}
    assert all(r["score"] is None and -1 <= r["similarity"] <= 1 for r in out["results"])
    assert main(["search", "--like", photo, "--top", "2"]) == 0  # a gallery photo by its name
    printed = capsys.readouterr().out
    assert "cosine" in printed and photo not in printed
    child = _child_photo(service, trained_settings)
    assert main(["search", "--like", child]) == 0
    assert capsys.readouterr().out.strip() == DISCLAIMER
    assert main(["search", "--like", "no-such-photo.jpg"]) == 2
    assert "no photo named" in capsys.readouterr().err
    assert main(["search"]) == 2
    assert "--like" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# Details of a photo
# --------------------------------------------------------------------------------------------


def test_details_give_captions_and_the_votes_of_a_judged_pair(trained_settings) -> None:
    from core.data.dataset import load_crowd, load_expert, load_train_pairs
    from core.search.details import DatasetDetails

    practicum = trained_settings.practicum_dir
    details = DatasetDetails.load(trained_settings)
    expert, crowd = load_expert(practicum), load_crowd(practicum)
    both = expert.merge(crowd, on=["image", "query_id"])
    texts = load_train_pairs(practicum).drop_duplicates("query_id").set_index("query_id")["query_text"]
    pair = both.iloc[0]
    photo = details.photo(practicum / "train_images" / pair["image"])
    assert photo.source == "practicum train" and photo.captions
    own = texts[texts.index.str.startswith(pair["image"] + "#")]
    assert set(own) <= set(photo.captions)  # its own captions are among them
    typed = texts[pair["query_id"]].lower().rstrip(" .")  # as a person would type it
    judged = photo.judgement_for(typed)
    assert judged is not None
    assert judged.expert_votes == (pair["expert_1"], pair["expert_2"], pair["expert_3"])
    assert judged.crowd_share == pytest.approx(pair["share_yes"])
    assert (judged.crowd_yes, judged.crowd_no) == (pair["n_yes"], pair["n_no"])
    assert photo.judgement_for("a purple elephant juggling in space") is None
    judged_ids = {*expert.loc[expert["image"] == pair["image"], "query_id"],
                  *crowd.loc[crowd["image"] == pair["image"], "query_id"]}
    assert {j.query_id for j in photo.judgements} == judged_ids  # experts' and crowd's pairs alike


def test_details_never_read_holdout(trained_settings, practicum_dir) -> None:
    """The token file also describes holdout's photos: their captions are never kept, even for a
    file of the same name in a dataset folder, and holdout's own folder has no details."""
    from core.search.details import DatasetDetails

    holdout_images = practicum_dir.parent / "holdout" / "images"
    if not holdout_images.is_dir():
        missing("holdout photos not found")
    token_text = (trained_settings.flickr_dir / "Flickr8k.token.txt").read_text()
    holdout = next(p.name for p in sorted(holdout_images.iterdir()) if f"{p.name}#0" in token_text)
    details = DatasetDetails.load(trained_settings)
    for folder in (trained_settings.practicum_dir / "train_images", holdout_images,
                   trained_settings.flickr_dir / "images"):
        assert details.photo(folder / holdout).captions == ()
    upload = details.photo(trained_settings.uploads_dir / "photo.jpg")
    assert upload.source == "" and upload.captions == () and upload.judgements == ()


def test_train_galleries_from_the_cache_match_a_fresh_forward_pass(trained_settings) -> None:  # type: ignore[no-untyped-def]
    """train indexes the practicum photos from its embedding cache instead of encoding them a
    second time: the vectors and child probabilities must be what indexing them now gives."""
    from core.gallery.store import read_gallery

    stored = read_gallery(trained_settings, "test")
    bundle = ModelBundle.load(trained_settings.artifacts_dir)
    paths = [stored.root / name for name in stored.ids[:6]]
    projected, _, probability, failures = bundle.embed_photos(paths)
    assert not failures
    cosine = (projected * stored.vectors[:6]).sum(1)
    assert (cosine > 0.999).all()  # the cache keeps trunks in float16: equal up to rounding
    np.testing.assert_allclose(stored.probabilities[:6], probability, atol=0.02)


def test_the_library_holds_every_photo_the_demo_may_show_and_never_holdout(trained_settings) -> None:
    """`train` builds the "all" gallery: both practicum folders and the extra corpus, each photo
    flagged by its own captions, searchable like any gallery; holdout's photos are never in it."""
    from core.build.train import practicum_captions
    from core.gallery.store import read_gallery
    from core.legal.lexicon import mentions_child

    data = trained_settings.data_dir
    stored = read_gallery(trained_settings, "all")
    practicum = data / "practicum"
    folders = (practicum / "test_images", practicum / "train_images", data / "flickr8k" / "images")
    expected = {p.name for folder in folders for p in folder.iterdir()}
    assert set(stored.ids) == expected and len(stored.ids) == len(expected)
    # A practicum photo is flagged exactly when one of its own descriptions mentions a child.
    captions = practicum_captions(trained_settings, "test")
    by_photo = captions.assign(child=captions["caption"].map(mentions_child)).groupby("image")["child"].any()
    flags = dict(zip(stored.ids, stored.flags, strict=True))
    assert all(flags[name] == bool(child) for name, child in by_photo.items())
    assert by_photo.any() and not by_photo.all()
    found = load_service(trained_settings, "all").search("a dog runs on the grass", top_k=12)
    assert len(found.results) == 12 and all(not flags[hit.image] for hit in found.results)
    assert all(hit.path.is_file() for hit in found.results)


def test_the_library_links_the_demo_photos_and_leaves_holdout_out(practicum_dir, tmp_path) -> None:
    from core.build.train import link_library
    from core.foundation.settings import Settings

    photos = sorted((practicum_dir / "test_images").iterdir())[:4]
    folders = {photos[0]: "practicum/test_images", photos[1]: "practicum/train_images",
               photos[2]: "flickr8k/images", photos[3]: "holdout/images"}
    for photo, folder in folders.items():
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / photo.name).write_bytes(photo.read_bytes())
    settings = Settings(data_dir=tmp_path, artifacts_dir=tmp_path / "artifacts")
    (settings.artifacts_dir / "library").mkdir(parents=True)
    (settings.artifacts_dir / "library" / "stale.jpg").write_bytes(b"left by an older train")
    library = link_library(settings)
    assert sorted(p.name for p in library.iterdir()) == sorted(p.name for p in photos[:3])
    assert all((library / p.name).read_bytes() == p.read_bytes() for p in photos[:3])
