"""The Streamlit demo, page by page, with streamlit.testing (no browser), and the Streamlit-free
helpers behind it: ui.dataset, ui.charts and ui.wording.

Search tests need a trained model: the `trained_artifacts` fixture (a folder holding model.pt and
galleries/). The comparison and explorer tests need only the practicum data and a metrics file.
"""

from __future__ import annotations

import io
import json
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from conftest import ODD_NAME, ODD_QUERY, assert_no_location, with_location
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block

from core.data.dataset import TargetReport
from core.foundation.settings import PROJECT_ROOT, Settings
from core.measure import reports
from core.text.query import MAX_QUERY_CHARS
from pages import _shared
from ui import charts, dataset, wording

APP = PROJECT_ROOT / "app.py"
TIMEOUT = 90  # seconds: the first run of a search page loads torch and the model
DISCLAIMER = "This image is unavailable in your country in compliance with local legislation"
SCORE = re.compile(r"Score \*\*(0\.\d\d|1\.00)\*\*")


needs_data = pytest.mark.skipif(  # in CI they run, and fail without the data
    not os.environ.get("CI") and not (Settings().practicum_dir / "train_dataset.csv").is_file(),
    reason="practicum data absent: run scripts/setup.sh",
)


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------

METRICS = {
    "relevance": {
        "constant": {"rmse": 0.262, "rmse_std": 0.006, "mae": 0.22, "kendall_tau_c": 0.0},
        "linear_concat": {"rmse": 0.231, "rmse_std": 0.008, "mae": 0.18, "kendall_tau_c": 0.31},
        "mlp_concat": {"rmse": 0.226, "rmse_std": 0.007, "mae": 0.175, "kendall_tau_c": 0.33},
        "two_tower": {"rmse": 0.205, "rmse_std": 0.006, "mae": 0.15, "kendall_tau_c": 0.41},
        "two_tower_mlp": {"rmse": 0.207, "rmse_std": 0.009, "mae": 0.152, "kendall_tau_c": 0.40},
    },
    "expert_zero_shot_kendall_tau_c": 0.36,
    "retrieval": {
        "practicum_test": {"r1": 21.0, "r5": 48.2, "r10": 63.0, "mrr": 0.34, "queries": 500, "images": 100},
        "holdout": {"r1": 9.5, "r5": 27.1, "r10": 39.8, "mrr": 0.19, "queries": 1000, "images": 200},
    },
    "legal": {"query_recall": 0.98, "query_false_alarm": 0.02, "image_recall_holdout": 0.91,
              "image_withheld_nonchild_holdout": 0.08,
              "classifiers": {"finetuned_tail": {"cv_recall": 0.985, "cv_withheld_nonchild": 0.55},
                              "logistic_pooled": {"cv_recall": 0.986, "cv_withheld_nonchild": 0.64}}},
    "config": {"text_encoder": "minilm", "folds": 5},
    "generated_at": "2025-11-26T15:00:00+00:00",
}


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Reports in a temporary folder; returns that folder."""
    reports = tmp_path / "reports"
    reports.mkdir()
    monkeypatch.setenv("WITHSENSE_REPORTS", str(reports))
    yield reports


@pytest.fixture
def with_model(app_env: Path, trained_artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WITHSENSE_ARTIFACTS", str(trained_artifacts))
    return trained_artifacts


@pytest.fixture
def without_model(app_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    empty = tmp_path / "no_artifacts"
    empty.mkdir()
    monkeypatch.setenv("WITHSENSE_ARTIFACTS", str(empty))
    return empty


def _app() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _open(page: str) -> AppTest:
    at = _app()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _texts(elements: object) -> list[str]:
    return [str(e.value) for e in elements]  # type: ignore[attr-defined]


def _plain(elements: object) -> list[str]:
    """Element texts without the backslashes that escape markdown characters."""
    return [text.replace("\\", "") for text in _texts(elements)]


def _scores(at: AppTest) -> list[float]:
    """The score of each photo card, read from its labelled score bar."""
    return [float(m.group(1)) for bar in at.get("progress") if (m := SCORE.search(bar.text))]


# --------------------------------------------------------------------------------------------
# Home
# --------------------------------------------------------------------------------------------


@needs_data
def test_home_shows_dataset_figures_and_model(with_model: Path) -> None:
    at = _app()
    assert at.title[0].value == "With Sense"
    labels = [m.label for m in at.metric]
    assert labels == ["Photos", "Query–photo pairs judged", "Pairs kept after aggregation", "Votes kept"]
    values = {m.label: int(m.value.replace(",", "")) for m in at.metric}
    assert values["Pairs kept after aggregation"] <= values["Query–photo pairs judged"]
    facts = at.table[-1].value
    assert "Text encoder" in facts.iloc[:, 0].tolist()


def test_home_without_model_names_the_train_command(without_model: Path) -> None:
    at = _app()
    assert "python -m core train" in _texts(at.code)
    assert any("No trained model yet" in text for text in _texts(at.info))


@pytest.mark.parametrize("page", ["home", "explore"])
def test_missing_data_is_a_message_not_a_traceback(
    without_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, page: str
) -> None:
    monkeypatch.setenv("WITHSENSE_DATA", str(tmp_path / "no_data"))
    at = _open(page)
    assert any("The dataset could not be read" in text for text in _texts(at.error)), _texts(at.error)
    assert any("train_dataset.csv: file not found" in text for text in _texts(at.text)), _texts(at.text)


# --------------------------------------------------------------------------------------------
# Search
# --------------------------------------------------------------------------------------------


@needs_data
def test_warm_up_loads_once_and_fills_the_pages_caches(with_model: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """serve.py and app.py both call it: the first caller loads, the other waits and loads
    nothing, and the pages then find the model and default gallery already in memory."""
    import core.search.service

    with _shared._WARM_LOCK:  # app.py's own warm-up, started by an earlier test, has finished
        pass
    loads: list[str] = []
    load_model, open_gallery = core.search.service.load_model, core.search.service.open_gallery
    monkeypatch.setattr(core.search.service, "load_model", lambda s: loads.append("model") or load_model(s))
    monkeypatch.setattr(core.search.service, "open_gallery",
                        lambda s, name, bundle: loads.append(name) or open_gallery(s, name, bundle))
    monkeypatch.setattr(_shared, "_warmed", False)
    _shared._model.clear()
    _shared._gallery.clear()
    settings = _shared.settings()
    callers = [threading.Thread(target=_shared.warm_up, args=(settings,)) for _ in range(2)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(TIMEOUT)
    default = wording.default_gallery(_shared.list_galleries(settings))
    assert default is not None and _shared._warmed
    assert loads == ["model", default]
    _shared.search_service(settings, default)  # what the Search page asks for first
    assert loads == ["model", default]


def test_a_failed_warm_up_is_tried_again(without_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.bundle import ArtifactsMissingError

    monkeypatch.setattr(_shared, "_warmed", False)
    for _ in range(2):  # no model yet: each caller hears why, none marks the process warm
        with pytest.raises(ArtifactsMissingError):
            _shared.warm_up(_shared.settings())
    assert not _shared._warmed


def test_search_without_model_says_how_to_build_it(without_model: Path) -> None:
    at = _open("search")
    assert "python -m core train" in _texts(at.code)
    assert not at.image


def test_search_fills_the_grid_with_scored_photos(with_model: Path) -> None:
    at = _open("search")
    assert not at.image  # nothing before a query
    at.number_input(key="top_k").set_value(8).run()
    at.text_input(key="query").input("A dog runs across the grass").run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.image) == 8
    scores = _scores(at)
    assert len(scores) == 8
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert any("search took" in text and "ms" in text for text in _texts(at.caption))
    assert any(wording.SCORE_LEGEND == text for text in _texts(at.caption))


def test_example_button_runs_its_query(with_model: Path) -> None:
    at = _open("search")
    at.button(key="example_0").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.text_input(key="query").value == wording.EXAMPLE_QUERIES[0]
    assert len(at.image) > 0
    assert len(_scores(at)) == len(at.image)


def test_gallery_switches_to_train_photos(with_model: Path) -> None:
    at = _open("search")
    assert at.selectbox(key="gallery").value == "all"  # every photo, by default
    at.selectbox(key="gallery").set_value("train").run()
    at.text_input(key="query").input("A man climbs a rock").run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.image) == 12
    from core.gallery.store import read_gallery

    indexed = len(read_gallery(Settings(artifacts_dir=with_model), "train").ids)
    assert f"among {indexed:,}" in " ".join(_texts(at.caption))


def test_child_query_shows_the_disclaimer_and_no_photo(with_model: Path) -> None:
    at = _open("search")
    at.text_input(key="query").input("two little girls").run()
    assert not at.exception, [e.value for e in at.exception]
    assert DISCLAIMER in _texts(at.warning)
    assert not at.image
    assert not _scores(at)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("   ", "Please type what you are looking for"),
        ("a" * 600, f"please keep it under {MAX_QUERY_CHARS}"),
        ("两只狗在雪地里奔跑", "Search works in English and Russian"),
    ],
    ids=["whitespace", "600-chars", "neither-english-nor-russian"],
)
def test_bad_query_shows_a_friendly_message(with_model: Path, query: str, expected: str) -> None:
    at = _open("search")
    at.text_input(key="query").input(query).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("cannot run as typed" in text for text in _texts(at.warning)), _texts(at.warning)
    assert any(expected in text for text in _texts(at.text)), _texts(at.text)
    assert not at.image


def test_empty_query_submitted_shows_a_message(with_model: Path) -> None:
    at = _open("search")
    at.button(key="search").click().run()
    assert not at.exception
    assert any("Please type what you are looking for" in text for text in _texts(at.text))
    assert not at.image


# --------------------------------------------------------------------------------------------
# Search: links, details, search by photo
# --------------------------------------------------------------------------------------------

RESULT = re.compile(r"^(.+) · rank (\d+)")  # the first line of a result's details (wording.result_line)


def _results(at: AppTest | Block) -> list[str]:
    """The photo names of the result cards in rank order, read from each card's details."""
    return [m.group(1) for text in _texts(at.text) if (m := RESULT.match(text))]


def _from_link(params: dict[str, str], url: str | None = None) -> AppTest:
    """The Search page opened from a link holding ``params`` (at ``url``)."""
    at = _app()
    at.query_params.update(params)
    if url:
        at.context["url"] = url
    at.switch_page("pages/search.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _shown_photos(settings: Settings, gallery: str) -> list[str]:
    from core.gallery.store import read_gallery

    stored = read_gallery(settings, gallery)
    return [i for i, flagged in zip(stored.ids, stored.flags, strict=True) if not flagged]


def test_a_link_reproduces_the_search(with_model: Path) -> None:
    typed = _open("search")
    typed.selectbox(key="gallery").set_value("train").run()
    typed.number_input(key="top_k").set_value(5).run()
    typed.text_input(key="query").input("A man climbs a rock").run()
    expected = _results(typed)
    assert len(expected) == 5
    assert typed.query_params == {"q": "A man climbs a rock", "gallery": "train", "k": "5"}
    assert "?q=A+man+climbs+a+rock&gallery=train&k=5" in _texts(typed.code)  # no URL known: relative

    opened = _from_link(dict(typed.query_params), url="http://localhost:8501/search")
    assert opened.text_input(key="query").value == "A man climbs a rock"
    assert opened.selectbox(key="gallery").value == "train"
    assert opened.number_input(key="top_k").value == 5
    assert _results(opened) == expected
    assert "http://localhost:8501/search?q=A+man+climbs+a+rock&gallery=train&k=5" in _texts(opened.code)
    assert not opened.warning
    # the session's own link is not read again: a new query replaces it
    opened.text_input(key="query").input("A dog runs across the grass").run()
    assert opened.query_params["q"] == "A dog runs across the grass"
    assert _results(opened) != expected


def test_a_link_opened_first_in_a_new_server_keeps_its_search(with_model: Path) -> None:
    """The first visit after the server starts goes through app.py and back to the page (see
    test_a_page_opened_first_runs_inside_app): the link's parameters survive both switches."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update({"q": "A man climbs a rock", "k": "4"})
    at.switch_page("pages/search.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.text_input(key="query").value == "A man climbs a rock"
    assert len(_results(at)) == 4
    assert at.query_params == {"q": "A man climbs a rock", "gallery": "all", "k": "4"}


def test_a_shared_link_with_a_russian_child_query_gets_the_disclaimer(with_model: Path) -> None:
    """The law answers before "English only", in the box and in a link alike."""
    at = _from_link({"q": "дети играют в парке"})
    assert DISCLAIMER in _texts(at.warning)
    assert len(_results(at)) == 0


@pytest.mark.parametrize(
    ("params", "expected", "photos"),
    [
        ({"q": "a dog in the water", "gallery": "nope"}, "does not exist here", 12),
        ({"q": "a dog in the water", "k": "1000"}, "a whole number from 1 to 100", 12),
        ({"q": "a dog in the water", "k": "ten"}, "a whole number from 1 to 100", 12),
        ({"q": "x" * 5000}, "search text was set aside", 0),
        ({"q": "a dog in the water", "mode": "sideways"}, "mode 'sideways' is unknown", 12),
        ({"mode": "like", "photo": "../../etc/passwd"}, "not a photo name", 0),
        ({"mode": "like", "photo": "nope.jpg"}, "no photo named 'nope.jpg'", 0),
    ],
    ids=["gallery", "k-too-big", "k-not-a-number", "absurd-query", "mode", "photo-path", "photo-unknown"],
)
def test_bad_link_values_give_a_message_and_the_defaults(
    with_model: Path, params: dict[str, str], expected: str, photos: int
) -> None:
    at = _from_link(params)
    assert at.warning  # the box says something was set aside; what, in plain text under it
    assert any(expected in text for text in _texts(at.text)), _texts(at.text)
    assert at.selectbox(key="gallery").value == "all"
    assert at.number_input(key="top_k").value == 12
    assert len(_results(at)) == photos


@needs_data
def test_details_show_captions_and_the_votes_of_a_judged_pair(with_model: Path) -> None:
    from core.data.dataset import load_relevance
    from core.search.service import load_service

    settings = Settings(artifacts_dir=with_model)
    service = load_service(settings, "train")
    table, _ = load_relevance(settings.practicum_dir)
    judged = table.dropna(subset=["crowd_share"]).sort_values("target", ascending=False).head(60)
    pair = next(row for row in judged.itertuples()
                if row.image in {h.image for h in service.search(row.query_text, 12).results})
    at = _from_link({"q": pair.query_text, "gallery": "train", "k": "12"})
    assert pair.image in _results(at)
    details = next(e for e in at.expander if _results(e) == [pair.image])  # that photo's card
    assert not details.success and not details.caption  # read only once the card is opened
    at.session_state[f"details_{pair.image}"] = True
    at.run()
    details = next(e for e in at.expander if _results(e) == [pair.image])
    votes = f"Experts {pair.expert_1} · {pair.expert_2} · {pair.expert_3} (of 1–4)"
    crowd = f"crowd {pair.n_yes:.0f} of {pair.n_yes + pair.n_no:.0f} said yes ({pair.crowd_share:.2f})"
    assert _plain(details.success) == [
        f"This query–photo pair was judged: {votes} | {crowd} | target {pair.target:.2f}"]
    own_captions = table.loc[table["query_id"].str.startswith(pair.image + "#"), "query_text"]
    listed = "\n".join(_texts(details.text))
    assert any(f"• {caption}" in listed for caption in own_captions)
    assert any("Queries judged against this photo" in text for text in _texts(details.caption))


def test_results_download_as_csv(with_model: Path) -> None:
    at = _open("search")
    assert not at.download_button  # nothing to download before a search
    at.text_input(key="query").input("A dog runs across the grass").run()
    assert [b.label for b in at.download_button] == ["Download results (CSV)"]


def test_similar_photos_of_a_result(with_model: Path) -> None:
    at = _open("search")
    at.text_input(key="query").input("A dog runs across the grass").run()
    first = _results(at)[0]
    at.button(key="like_1").click().run()
    assert not at.exception, [e.value for e in at.exception]
    found = _results(at)
    assert len(found) == 12 and first not in found
    assert not _scores(at)  # no 0..1 score bars: photo pairs have no calibrated score
    assert wording.SIMILARITY_LEGEND in _texts(at.caption)
    assert wording.photos_like(first) in _texts(at.text)
    assert at.query_params == {"mode": "like", "photo": first, "gallery": "all", "k": "12"}
    opened = _from_link(dict(at.query_params))
    assert _results(opened) == found
    opened.button(key="back_to_text").click().run()
    assert not _results(opened) and opened.query_params == {}


def test_why_this_photo_draws_where_each_result_matched(with_model: Path) -> None:
    at = _open("search")
    at.text_input(key="query").input("A dog runs across the grass").run()
    found = _results(at)
    assert not [c for c in _texts(at.caption) if c.startswith(wording.BEST_MATCH)]
    at.toggle(key="explain").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    assert _results(at) == found  # the same photos, drawn over
    where = [c for c in _texts(at.caption) if c.startswith(wording.BEST_MATCH)]
    assert len(where) == len(found) == 12
    assert wording.EXPLAIN_LEGEND in _texts(at.caption)
    at.button(key="like_1").click().run()  # a search by photo is explained too
    assert not at.exception, [e.value for e in at.exception]
    assert len([c for c in _texts(at.caption) if c.startswith(wording.BEST_MATCH)]) == 12


def test_an_uploaded_photo_is_the_query(with_model: Path) -> None:
    settings = Settings(artifacts_dir=with_model)
    from core.search.service import open_gallery

    photo = _shown_photos(settings, "test")[0]
    data = open_gallery(settings, "test").path_of(photo).read_bytes()
    at = _open("search")
    at.file_uploader(key="query_photo").set_value(("mine.jpg", data, "image/jpeg")).run()
    assert not at.exception, [e.value for e in at.exception]
    found = _results(at)
    assert len(found) == 12 and photo not in found  # the same photo under another name
    assert wording.LINK_UNAVAILABLE in _texts(at.caption)
    assert at.query_params == {}


def test_an_uploaded_photo_of_a_child_gets_the_disclaimer(with_model: Path) -> None:
    from core.build.train import practicum_captions
    from core.bundle import ModelBundle
    from core.legal.lexicon import caption_child_labels
    from core.search.service import open_gallery

    settings = Settings(artifacts_dir=with_model)
    labels = caption_child_labels(practicum_captions(settings, "test"))
    shown = set(_shown_photos(settings, "test"))
    children = [image for image, child in labels.items() if child and image not in shown][:10]
    paths = [open_gallery(settings, "test").path_of(image) for image in children]
    flagged = ModelBundle.load(with_model).embed_photos(paths)[1]
    assert flagged.any()
    child = paths[int(flagged.argmax())]
    at = _open("search")
    at.file_uploader(key="query_photo").set_value(("mine.jpg", child.read_bytes(), "image/jpeg")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert DISCLAIMER in _texts(at.warning)
    assert not at.image and not _results(at)


# --------------------------------------------------------------------------------------------
# Visitors' own uploads: each session's photos are its own, by search and by link
# --------------------------------------------------------------------------------------------


@pytest.fixture
def uploads_app(app_env: Path, trained_settings: Settings, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The app over a copy of the test model and its 'test' gallery, and a data folder of its own
    (the practicum linked in), so uploads land in temporary folders. Returns its settings."""
    import shutil

    artifacts = tmp_path / "upload_artifacts"
    (artifacts / "galleries").mkdir(parents=True)
    shutil.copy(trained_settings.artifacts_dir / "model.pt", artifacts / "model.pt")
    galleries = trained_settings.artifacts_dir / "galleries"
    shutil.copy(galleries / "test.npz", artifacts / "galleries" / "test.npz")
    data = tmp_path / "visitor_data"
    data.mkdir()
    (data / "practicum").symlink_to(trained_settings.practicum_dir.resolve(), target_is_directory=True)
    monkeypatch.setenv("WITHSENSE_ARTIFACTS", str(artifacts))
    monkeypatch.setenv("WITHSENSE_DATA", str(data))
    return Settings()


def _cleared_uploads(settings: Settings, count: int) -> list[bytes]:
    """Test photos that the child classifier clears as uploads, so a search shows them."""
    from core.bundle import ModelBundle
    from core.search.service import open_gallery

    gallery = open_gallery(settings, "test")
    paths = [gallery.path_of(image) for image in _shown_photos(settings, "test")[:16]]
    flags = ModelBundle.load(settings.artifacts_dir).embed_photos(paths)[1]
    chosen = [path.read_bytes() for path, flagged in zip(paths, flags, strict=True) if not flagged][:count]
    assert len(chosen) == count, f"the classifier flags {int(flags.sum())} of {len(paths)} photos"
    return chosen


def _upload(at: AppTest, files: list[tuple[str, bytes]]) -> None:
    at.file_uploader(key="upload_files").set_value([(n, d, "image/jpeg") for n, d in files]).run()
    at.button(key="add_uploads").click().run()
    assert not at.exception, [e.value for e in at.exception]


def test_a_visitors_uploads_are_invisible_to_another(uploads_app: Settings) -> None:
    mine, theirs = _cleared_uploads(uploads_app, 2)
    alice = _open("search")
    assert "uploads" not in alice.selectbox(key="gallery").options
    _upload(alice, [("alice.jpg", mine)])
    assert any(text.startswith("1 photo(s) added to your uploads") for text in _texts(alice.success))
    alice.selectbox(key="gallery").set_value("uploads").run()
    alice.text_input(key="query").input("a photo").run()
    alices = _results(alice)
    assert len(alices) == 1 and alices[0].endswith(".jpg")
    assert alice.query_params["gallery"] == "uploads"  # a link names "uploads", never whose
    text_link = dict(alice.query_params)
    alice.button(key="like_1").click().run()
    like_link = dict(alice.query_params)
    assert like_link["photo"] == alices[0]

    bob = _open("search")  # another browser session: another visitor
    assert "uploads" not in bob.selectbox(key="gallery").options
    bob.selectbox(key="gallery").set_value("test").run()
    bob.text_input(key="query").input("a photo").run()
    assert alices[0] not in _results(bob)
    for link in (text_link, like_link):  # Alice's links, opened by Bob
        opened = _from_link(link)
        assert any("“uploads” that does not exist here" in text for text in _texts(opened.text))
        assert opened.selectbox(key="gallery").value == "test"  # the default here
        assert alices[0] not in _results(opened)

    _upload(bob, [("bob.jpg", theirs)])  # with uploads of his own, her link opens his
    bob.selectbox(key="gallery").set_value("uploads").run()
    bobs = _results(bob)
    assert len(bobs) == 1 and bobs != alices
    bob.query_params.clear()
    bob.query_params.update(text_link)
    bob.run()
    assert bob.selectbox(key="gallery").value == "uploads" and _results(bob) == bobs
    bob.query_params.clear()
    bob.query_params.update(like_link)
    bob.run()
    assert not _results(bob) and any(f"no photo named {alices[0]!r}" in t for t in _texts(bob.text))
    alice.text_input(key="query").input("a photo of mine").run()
    assert _results(alice) == alices  # hers still hers


def test_the_upload_cap_gives_its_message(uploads_app: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WITHSENSE_UPLOAD_MAX_PHOTOS", "1")
    first, second = _cleared_uploads(uploads_app, 2)
    at = _open("search")
    _upload(at, [("one.jpg", first), ("two.jpg", second)])
    assert "**Your uploads are full.**" in _texts(at.warning)
    said = " ".join(_texts(at.text))
    assert "You may keep up to 1 photos and 200 MB" in said and "Nothing was added" in said
    assert "uploads" not in at.selectbox(key="gallery").options
    assert not (uploads_app.uploads_dir.exists() and any(uploads_app.uploads_dir.rglob("*.jpg")))


# --------------------------------------------------------------------------------------------
# What the search page sends: photos without their place, names and queries as plain text
# --------------------------------------------------------------------------------------------

# Elements whose text Streamlit renders as Markdown.
MARKDOWN_KINDS = ("markdown", "caption", "info", "warning", "error", "success", "title", "header",
                  "subheader")


@pytest.fixture
def trip(trip_artifacts: Path, app_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The app over conftest's 'trip' gallery (photos with a GPS position, a file named ODD_NAME)."""
    monkeypatch.setenv("WITHSENSE_ARTIFACTS", str(trip_artifacts))
    return trip_artifacts


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Every media file a page hands Streamlit to send, by file id (the name in its URL)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    sent: dict[str, bytes] = {}
    load = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):  # type: ignore[no-untyped-def]
        file_id = load(self, path_or_data, mimetype, kind, filename)
        sent[file_id] = self.get_file(file_id).content
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return sent


def _images_sent(at: AppTest, served: dict[str, bytes]) -> list[bytes]:
    """The bytes behind each image the page shows now."""
    return [served[Path(url).stem] for image in at.image for url in image.value]


def _as_markdown(at: AppTest) -> str:
    """All the text the page put through Markdown, escapes removed."""
    return "\n".join(str(e.value).replace("\\", "") for kind in MARKDOWN_KINDS for e in at.get(kind))


def test_photos_are_sent_without_where_they_were_taken(trip: Path, served: dict[str, bytes]) -> None:
    """Result cards, their match maps and an uploaded query photo: each sent as a re-encoded
    thumbnail, none with the file's EXIF GPS position, XMP or comment."""
    from PIL import Image

    from core.gallery.store import read_gallery

    folder = read_gallery(Settings(), "trip").root
    with Image.open(folder / "second.jpg") as original:  # the files do say where they were taken
        assert original.getexif().get_ifd(0x8825) and "comment" in original.info
    at = _open("search")
    assert at.selectbox(key="gallery").value == "trip"
    at.text_input(key="query").input("A dog runs across the grass").run()
    assert not at.exception, [e.value for e in at.exception]
    cards = _images_sent(at, served)
    assert len(cards) == len(_results(at)) == 3
    at.toggle(key="explain").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    maps = _images_sent(at, served)
    assert len(maps) == 3 and set(maps).isdisjoint(cards)
    upload = (folder / "second.jpg").read_bytes()
    at.file_uploader(key="query_photo").set_value(("mine.jpg", upload, "image/jpeg")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert wording.photos_like("uploaded photo") in _texts(at.text)
    shown = _images_sent(at, served)
    assert len(shown) == 3  # the query photo and the two others
    for data in cards + maps + shown:
        assert_no_location(data)


def test_thumbnails_are_upright_pixels_only(tmp_path: Path) -> None:
    """A photo stored sideways with an orientation tag is sent upright, and without its tags."""
    from PIL import Image

    sideways = Image.new("RGB", (400, 200), "red")
    sideways.paste((0, 0, 255), (0, 100, 400, 200))  # top half red, bottom half blue
    out = io.BytesIO()
    sideways.save(out, format="JPEG")
    saved = tmp_path / "sideways.jpg"
    # orientation 6: shown turned 90° clockwise, the stored top edge on the right
    saved.write_bytes(with_location(out.getvalue(), orientation=6))
    for data in (dataset.thumbnail(saved), dataset.thumbnail(saved.read_bytes())):
        assert data is not None
        assert_no_location(data)
        with Image.open(io.BytesIO(data)) as thumb:
            assert thumb.size == dataset.THUMB_SIZE and not thumb.getexif()
            left, right = thumb.getpixel((40, 180)), thumb.getpixel((440, 180))
        assert left[2] > 200 > left[0] and right[0] > 200 > right[2], (left, right)  # blue | red


def test_names_and_queries_are_shown_as_plain_text(trip: Path) -> None:
    """A query, a file's name and a link's values full of markup reach the page as st.text,
    exactly as written, and never through Markdown (which would make links, icons and emoji
    of them even when escaped)."""
    at = _open("search")
    at.text_input(key="query").input(ODD_QUERY).run()
    assert not at.exception, [e.value for e in at.exception]
    assert wording.results_for(ODD_QUERY) in _texts(at.text)
    found = _results(at)
    assert ODD_NAME in found
    assert "javascript" not in _as_markdown(at) and "evil" not in _as_markdown(at)
    at.button(key=f"like_{found.index(ODD_NAME) + 1}").click().run()  # its "Similar photos"
    assert not at.exception, [e.value for e in at.exception]
    assert wording.photos_like(ODD_NAME) in _texts(at.text)
    assert at.query_params["photo"] == ODD_NAME
    opened = _from_link(dict(at.query_params))  # the link reopens it by that name
    assert wording.photos_like(ODD_NAME) in _texts(opened.text)
    assert "javascript" not in _as_markdown(opened) and "evil" not in _as_markdown(opened)

    lost = _from_link({"mode": "like", "photo": "www.evil.example :smile:", "gallery": "<b>nope</b>"})
    said = _texts(lost.text)
    assert any("gallery “<b>nope</b>” that does not exist here" in text for text in said), said
    assert any("no photo named 'www.evil.example :smile:'" in text for text in said), said
    assert lost.warning  # the boxes hold the page's own words
    assert "evil" not in _as_markdown(lost) and "nope" not in _as_markdown(lost)


# --------------------------------------------------------------------------------------------
# Model comparison
# --------------------------------------------------------------------------------------------


def test_compare_page_draws_charts_from_the_metrics_file(without_model: Path, app_env: Path) -> None:
    (app_env / "metrics.json").write_text(json.dumps(METRICS))
    at = _open("compare")
    plotly_charts = at.get("plotly_chart")
    assert len(plotly_charts) == 2
    rmse_chart = json.loads(plotly_charts[0].proto.spec)
    bars = rmse_chart["data"]
    assert sum(len(trace["y"]) for trace in bars) == 5  # one bar per model (x may be a typed array)
    assert all(trace["orientation"] == "h" and trace["error_x"]["visible"] for trace in bars)
    assert any("2025-11-26 15:00 UTC" in text for text in _texts(at.caption))
    assert any("Linear regression" in text for text in _texts(at.success))
    table = _display(at.table[0])  # static tables: what the page shows, as text
    assert table["Model"].tolist() == [m.label for m in reports.MODELS.values()]
    assert {"RMSE", "std", "MAE", "τc"} <= set(table.columns)
    # every figure to three decimals, so an MAE of 0.150 does not show as 0.15 beside 0.152
    assert all(re.fullmatch(r"\d\.\d{3}|—", text) for column in ("RMSE", "MAE", "τc")
               for text in table[column]), table
    assert len(at.metric) == 4  # legal checks
    classifiers = _display(at.table[-1])
    labels = reports.CHILD_CLASSIFIER_LABELS
    assert classifiers["Classifier"].tolist() == [labels["finetuned_tail"], labels["logistic_pooled"]]
    assert classifiers["Other photos withheld"].tolist() == ["0.550", "0.640"]
    assert any("Holdout: 1,000 descriptions of 200 photos" in text for text in _texts(at.caption))
    # each figure says how clean it is; the child holdout figure names the late rule
    captions = " ".join(_texts(at.caption))
    assert "Holdout: clean figure" in captions and "Practicum test: selection figure" in captions
    assert "adopted after a holdout read" in captions


def _display(table: object) -> pd.DataFrame:
    """The text a static table (st.table of a pandas Styler) shows in each cell."""
    import pyarrow as pa

    shown = table.proto.arrow_data.styler.display_values  # type: ignore[attr-defined]
    return pa.ipc.open_stream(shown).read_pandas()


def test_report_files_are_named_from_the_project_folder(tmp_path: Path) -> None:
    """The compare page names its metrics file as the README does; one elsewhere in full."""
    assert wording.project_path(PROJECT_ROOT / "reports" / "metrics.json") == "reports/metrics.json"
    outside = tmp_path / "metrics.json"
    assert wording.project_path(outside) == str(outside)


def test_compare_page_shows_the_photo_encoder_rows(without_model: Path, app_env: Path) -> None:
    """Frozen and fine-tuned encoders side by side, from the rows `python -m lab ablate` wrote."""
    (app_env / "metrics.json").write_text(json.dumps(METRICS))
    at = _open("compare")
    assert any("No encoder comparison yet" in text for text in _texts(at.info))
    rows = {"frozen": {"test_r1": 48.4, "test_r10": 91.4, "cv_rmse": 0.19, "zero_shot_tau_c": 0.495,
                       "child_flagged_oos": None, "other_withheld_oos": None, "photos_per_s": 65.0,
                       "note": "ImageNet"},
            "last stage": {"test_r1": 50.1, "test_r10": 92.0, "cv_rmse": 0.184, "zero_shot_tau_c": 0.497,
                           "child_flagged_oos": 0.985, "other_withheld_oos": 0.59, "photos_per_s": 63.0,
                           "note": "fine-tuned"}}
    (app_env / "ablation.json").write_text(json.dumps(rows))
    at = _open("compare")
    assert not at.exception
    table = next(d.value for d in at.dataframe if "row" in d.value.columns)
    assert table["row"].tolist() == ["frozen", "last stage"]
    assert table["test R@1"].tolist() == [48.4, 50.1]
    assert table["other photos withheld"].isna().tolist() == [True, False]
    assert table["other photos withheld"].dtype.kind == "f"  # a missing figure keeps the column numeric
    ablation = next(d.proto for d in at.dataframe if "row" in d.value.columns)
    assert ablation.placeholder == charts.NOT_MEASURED  # shown as a dash, not Streamlit's grey 'None'
    shown = json.loads(ablation.columns)
    assert shown["CV RMSE"]["type_config"]["format"] == "%.4f"
    assert shown["test R@1"]["type_config"]["format"] == "%.1f"


def test_compare_page_without_metrics_names_the_command(without_model: Path, app_env: Path) -> None:
    at = _open("compare")
    assert "python -m core evaluate --output reports/metrics.json" in _texts(at.code)
    assert not at.get("plotly_chart")


def test_compare_page_reads_an_older_metrics_file(without_model: Path, app_env: Path) -> None:
    old = {"relevance": {"constant": {"rmse": 0.26}, "linear_concat": {"rmse": 0.23, "mae": 0.18}}}
    path = app_env / "metrics.json"
    path.write_text(json.dumps(old))
    os.utime(path, (1_700_000_000, 1_700_000_000))
    at = _open("compare")
    assert len(at.get("plotly_chart")) == 1
    assert any("no retrieval results" in text for text in _texts(at.info))
    assert any("2023-11-14" in text and "modification time" in text for text in _texts(at.caption))


def test_compare_page_reports_a_broken_metrics_file(without_model: Path, app_env: Path) -> None:
    (app_env / "metrics.json").write_text("{not json")
    at = _open("compare")
    assert any("cannot be read" in text for text in _texts(at.error))
    assert any("not a readable JSON report" in text for text in _texts(at.text))


def test_a_page_opened_first_runs_inside_app(without_model: Path, app_env: Path) -> None:
    """The first visit straight to a page, before app.py has run in the session (Streamlit's
    legacy pages/ mode runs the page alone), goes through app.py and back to the page."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.switch_page("pages/compare.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert _texts(at.title) == ["Model comparison"]
    assert at.session_state[_shared.APP_RAN] and _shared.RETURN_TO not in at.session_state


# --------------------------------------------------------------------------------------------
# Dataset explorer
# --------------------------------------------------------------------------------------------


@needs_data
def test_explorer_filters_pairs(without_model: Path) -> None:
    at = _open("explore")
    assert len(at.get("plotly_chart")) == 2
    count = re.compile(r"([\d,]+) of ([\d,]+) pairs match")

    def shown() -> tuple[int, int]:
        match = next(m for text in _texts(at.caption) if (m := count.search(text)))
        return int(match.group(1).replace(",", "")), int(match.group(2).replace(",", ""))

    everything, total = shown()
    assert everything == total > 0
    at.text_input(key="explore_text").input("dog").run()
    dogs, _ = shown()
    assert 0 < dogs < total
    table = at.dataframe[0].value
    assert table["query_text"].str.lower().str.contains("dog").all()
    at.multiselect(key="explore_votes").set_value([4]).run()
    at.button_group(key="explore_agree").set_value(dataset.AGREEMENT_ALL).run()
    assert not at.exception, [e.value for e in at.exception]
    strict, _ = shown()
    assert strict < dogs
    table = at.dataframe[0].value
    assert (table["expert_majority"] == 4).all()
    assert (table[["expert_1", "expert_2", "expert_3"]] == 4).all(axis=None)
    # the votes chart counts the filtered pairs, one horizontal bar per score, named on the axis
    votes = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    majority = next(trace for trace in votes if trace["name"] == "Majority vote per pair")
    assert majority["orientation"] == "h" and majority["y"] == list(dataset.VOTE_LABELS.values())
    assert majority["x"] == [0, 0, 0, strict]
    assert not at.image  # no index yet, so no photo has been checked for children
    assert any("once the model is trained" in text for text in _texts(at.info))
    reasons = at.dataframe[1].value
    assert reasons["Reason"].str.contains("No majority").any()


@needs_data
def test_explorer_shows_only_photos_cleared_by_the_index(with_model: Path) -> None:
    cleared = dataset.cleared_photos(Settings())
    at = _open("explore")
    at.selectbox(key="explore_order").set_value(dataset.ORDER_PHOTO).run()
    assert not at.exception, [e.value for e in at.exception]
    table, _ = _relevance()
    first = dataset.page_of(dataset.sort_pairs(table, dataset.ORDER_PHOTO), 1, 8)
    expected = int(first["image"].isin(cleared).sum())
    assert len(at.image) == expected
    withheld = sum(text == wording.WITHHELD_PHOTO for text in _texts(at.caption))
    assert withheld == len(first) - expected


# --------------------------------------------------------------------------------------------
# core.app_data, core.charts and core.wording (no Streamlit)
# --------------------------------------------------------------------------------------------


def _relevance() -> tuple[pd.DataFrame, TargetReport]:
    from core.data.dataset import load_relevance

    return load_relevance(Settings().practicum_dir)


def _pairs() -> pd.DataFrame:
    return pd.DataFrame({
        "image": ["a.jpg", "b.jpg", "c.jpg", "d.jpg"],
        "query_id": ["q1", "q2", "q3", "q4"],
        "query_text": ["A dog on a beach", "Two DOGS play", "A man rides a bike", "A cat sleeps"],
        "expert_1": [4, 1, 3, 2],
        "expert_2": [4, 1, 3, 2],
        "expert_3": [4, 2, 1, 2],
        "expert_majority": [4, 1, 3, 2],
        "expert_score": [1.0, 0.0, 2 / 3, 1 / 3],
        "crowd_share": [1.0, None, 0.33, None],
        "target": [1.0, 0.0, 0.53, 1 / 3],
    })


def test_filter_pairs_by_text_vote_and_agreement() -> None:
    pairs = _pairs()
    assert len(dataset.filter_pairs(pairs)) == 4
    assert dataset.filter_pairs(pairs, "dog")["image"].tolist() == ["a.jpg", "b.jpg"]
    assert dataset.filter_pairs(pairs, "  DOG  beach ")["image"].tolist() == ["a.jpg"]
    assert dataset.filter_pairs(pairs, "c.jpg")["image"].tolist() == ["c.jpg"]
    assert dataset.filter_pairs(pairs, votes=[1, 3])["image"].tolist() == ["b.jpg", "c.jpg"]
    assert dataset.filter_pairs(pairs, votes=[])["image"].tolist() == ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]
    all_agree = dataset.filter_pairs(pairs, agreement_level=dataset.AGREEMENT_ALL)
    assert all_agree["image"].tolist() == ["a.jpg", "d.jpg"]
    two = dataset.filter_pairs(pairs, "dog", agreement_level=dataset.AGREEMENT_TWO)
    assert two["image"].tolist() == ["b.jpg"]
    assert dataset.filter_pairs(pairs, "zebra").empty
    assert dataset.filter_pairs(pairs, "(regex[").empty  # plain text, not a pattern
    with pytest.raises(ValueError):
        dataset.filter_pairs(pairs, agreement_level="most")


def test_sort_pairs() -> None:
    pairs = _pairs()
    shuffled = dataset.sort_pairs(pairs)
    assert sorted(shuffled["image"]) == sorted(pairs["image"])
    assert shuffled["image"].tolist() == dataset.sort_pairs(pairs)["image"].tolist()  # repeatable
    assert dataset.sort_pairs(pairs, dataset.ORDER_TARGET_DESC)["image"].tolist()[0] == "a.jpg"
    assert dataset.sort_pairs(pairs, dataset.ORDER_TARGET_ASC)["image"].tolist()[0] == "b.jpg"
    with pytest.raises(ValueError):
        dataset.sort_pairs(pairs, "by mood")


def test_cleared_photos_come_from_the_index_flags(tmp_path: Path) -> None:
    import numpy as np

    from core.gallery.store import StoredGallery, write_gallery

    settings = Settings(artifacts_dir=tmp_path)
    assert dataset.cleared_photos(settings) == frozenset()  # not indexed: nothing is cleared
    write_gallery(settings, StoredGallery.empty("train", tmp_path, 2, {}).with_rows(
        [], ["a.jpg", "b.jpg", "c.jpg"], ["", "", ""], np.eye(3, 2, dtype=np.float32),
        np.array([False, True, False]), np.zeros(3)))
    assert dataset.cleared_photos(settings) == {"a.jpg", "c.jpg"}


def test_pages_and_captions() -> None:
    pairs = _pairs()
    assert dataset.page_count(0, 8) == 1
    assert dataset.page_count(9, 8) == 2
    assert dataset.page_of(pairs, 2, 3)["image"].tolist() == ["d.jpg"]
    assert dataset.page_of(pairs, 99, 3)["image"].tolist() == ["d.jpg"]
    assert dataset.pair_caption(pairs.iloc[2]) == "Experts 3 · 3 · 1 → 3 | crowd 0.33 | target 0.53"
    assert "no crowd votes" in dataset.pair_caption(pairs.iloc[1])


def test_dataset_figures_and_drop_reasons(tmp_path: Path) -> None:
    (tmp_path / "test_images").mkdir()
    (tmp_path / "test_images" / "x.jpg").write_bytes(b"")
    pairs = _pairs().assign(n_yes=[3, None, 1, None], n_no=[0, None, 2, None])
    report = TargetReport(expert_pairs=6, expert_majority=4, expert_dropped_no_majority=2, crowd_pairs=9,
                          with_crowd=2, expert_only=2, pairs_without_text=0)
    figures = dataset.dataset_figures(pairs, report, tmp_path)
    assert (figures.train_photos, figures.test_photos) == (4, 1)
    assert (figures.pairs_kept, figures.pairs_dropped) == (4, 2)
    assert (figures.expert_votes_kept, figures.crowd_votes_kept) == (12, 6)
    assert dataset.drop_reasons(report)["Pairs dropped"].tolist() == [2, 0]


def test_load_metrics_handles_missing_and_fractional_values(tmp_path: Path) -> None:
    with pytest.raises(reports.MetricsMissingError, match="python -m core evaluate"):
        reports.load_metrics(tmp_path / "metrics.json")
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({"relevance": {"two_tower": {"rmse": 0.2}, "mystery": "x"},
                                "retrieval": {"holdout": {"r1": 0.1, "r5": 0.3, "r10": 0.5}}}))
    report = reports.load_metrics(path)
    assert report.relevance["model"].tolist() == ["two_tower", "mystery"]
    assert report.relevance["mae"].isna().all()
    assert report.retrieval.loc[0, "r10"] == pytest.approx(50.0)  # fractions shown as percent
    assert report.expert_zero_shot_kendall_tau_c is None
    assert "modification time" in report.produced
    assert charts.linear_vs_neural(report) is None
    bars = charts.rmse_figure(report)  # "mystery" has no RMSE: named on the axis, drawn as no bar
    assert [(t.name, list(t.y), list(t.x), list(t.error_x.array)) for t in bars.data] == [
        ("neural network", ["Two-tower"], [0.2], [0.0])]
    assert list(bars.layout.yaxis.categoryarray) == ["Two-tower", "mystery"]
    recall = charts.retrieval_figure(report)
    assert [(t.name, list(t.y), list(t.text)) for t in recall.data] == [
        ("Holdout", [10.0, 30.0, 50.0], ["10.0%", "30.0%", "50.0%"])]
    assert recall.layout.yaxis.range == pytest.approx((0, 50 * 1.15 + 2))  # room above the top bar
    path.write_text("[1, 2]")
    with pytest.raises(reports.MetricsFormatError):
        reports.load_metrics(path)


def test_linear_vs_neural_reads_the_error_bars(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(METRICS))
    assert "within each other's error bars" in (charts.linear_vs_neural(reports.load_metrics(path)) or "")
    far = json.loads(json.dumps(METRICS))
    far["relevance"]["mlp_concat"]["rmse"] = 0.18
    path.write_text(json.dumps(far))
    assert "neural network beats" in (charts.linear_vs_neural(reports.load_metrics(path)) or "")


def test_wording_helpers() -> None:
    assert wording.format_score(0.876) == "0.88"
    assert wording.format_score(1.2) == "1.00"
    assert wording.format_score(-0.001) == "0.00"
    assert wording.took_note(75.6, 12, 100) == "12 photos among 100 · search took 76 ms"
    assert wording.took_note(1.2, None, 100) == "search took 1 ms"
    assert wording.withheld_note(0, 12) is None
    note = wording.withheld_note(2, 12) or ""
    assert "2 photos" in note and "top 12" in note and "legislation" in note
    assert wording.escape_markdown("**x** <b>[a](b)") == r"\*\*x\*\* \<b\>\[a\](b)"
    assert wording.escape_markdown("1. dog\n- cat :red[x] $y$") == r"1\. dog - cat \:red\[x\] \$y\$"
    assert wording.default_gallery(["all", "test", "train"]) == "all"
    assert wording.default_gallery(["train", "test"]) == "test"
    assert wording.default_gallery(["train"]) == "train"
    assert wording.default_gallery([]) is None


def test_thumbnail_crops_to_one_shape(tmp_path: Path) -> None:
    from PIL import Image

    photo = tmp_path / "p.jpg"
    Image.new("RGB", (500, 200), "teal").save(photo)
    data = dataset.thumbnail(photo)
    assert data is not None
    with Image.open(io.BytesIO(data)) as img:
        assert img.size == dataset.THUMB_SIZE
    (tmp_path / "broken.jpg").write_bytes(b"not a photo")
    assert dataset.thumbnail(tmp_path / "broken.jpg") is None
    assert dataset.thumbnail(tmp_path / "absent.jpg") is None


def test_upload_summary_counts_what_happened() -> None:
    report = {"added": 3, "flagged": 1, "unchanged": 2, "skipped": {"a.jpg": "empty file"}}
    text = wording.upload_summary(report)
    assert text.startswith("3 photo(s) added") and "1 of them hidden" in text
    assert "2 already there" in text and "1 skipped" in text


def test_the_legacy_pages_switch_serve_py_sets_is_still_there() -> None:
    """serve.py ends Streamlit's legacy pages/ mode by hand (no public setting does while pages/
    sits beside app.py: ARCHITECTURE.md, "Pages"). This fails when a Streamlit upgrade moves or
    renames the switch, instead of the first visitor's page silently detouring again."""
    import inspect

    from streamlit.commands import navigation
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import script_runner

    assert "uses_pages_directory" in vars(PagesManager)
    saved = PagesManager.uses_pages_directory
    try:
        PagesManager.uses_pages_directory = None
        PagesManager(str(APP))
        assert PagesManager.uses_pages_directory is True  # pages/ beside app.py: legacy mode
        PagesManager.uses_pages_directory = False
        PagesManager(str(APP))
        assert PagesManager.uses_pages_directory is False  # a value set before is kept
    finally:
        PagesManager.uses_pages_directory = saved
    assert "if PagesManager.uses_pages_directory:" in inspect.getsource(script_runner.ScriptRunner)
    assert "PagesManager.uses_pages_directory = False" in inspect.getsource(navigation.navigation)
    assert "PagesManager.uses_pages_directory = False" in (PROJECT_ROOT / "serve.py").read_text()
