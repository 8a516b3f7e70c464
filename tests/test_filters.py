"""The search box's syntax (core.search.filters): one parser for the box, shared links and
`python -m core search`; filters on photo facts, exclusions, order and least score, checked on a
gallery of real JPEGs the test writes and indexes with the command line."""

from __future__ import annotations

import json
import shutil
from datetime import date

import pytest
from conftest import described_jpeg

from core.cli.commands import main
from core.foundation.errors import HANDLING, Problem
from core.search.filters import FORMS, FilterSyntaxError, ParsedQuery, keeps, parse_query
from core.text.query import QueryError


def test_the_issue_example_parses_to_its_parts() -> None:
    parsed = parse_query('dog on the beach -people camera:"EOS 5D" lens:50mm taken:2019..2021 '
                         "place:Norway sort:date min:0.6")
    assert parsed == ParsedQuery("dog on the beach", ("people",), "EOS 5D", "50mm",
                                 (date(2019, 1, 1), date(2021, 12, 31)), "Norway", "date", 0.6)
    assert parse_query("dog").plain and not parsed.plain
    assert parse_query("dog taken:2020-02").taken == (date(2020, 2, 1), date(2020, 2, 29))
    assert parse_query("dog taken:..2019-07-14").taken == (date.min, date(2019, 7, 14))
    assert parse_query('t-shirt on a chair -"red car" Camera:“Nikon D850”').exclude == ("red car",)
    assert parse_query("t-shirt on a chair camera:“Nikon D850”").camera == "Nikon D850"
    assert parse_query("t-shirt on a chair").text == "t-shirt on a chair"


@pytest.mark.parametrize(("query", "said"), [
    ("dog taken:2019-13", "taken:2019-13 is not a date"), ("dog taken:2021..2019", "ends before"),
    ("dog colour:red", "colour: is not a filter (known: camera:, lens:, taken:, place:, sort:, min:)"),
    ("dog min:1.5", "min:1.5 is not a score"), ("dog sort:name", "sort:name is not an order"),
    ('dog camera:""', "camera: needs a value"),
])
def test_bad_syntax_names_the_valid_forms(query: str, said: str) -> None:
    with pytest.raises(FilterSyntaxError) as caught:
        parse_query(query)
    assert said in str(caught.value) and all(form in str(caught.value) for form in FORMS)
    assert caught.value.problem is Problem.BAD_FILTER and HANDLING[Problem.BAD_FILTER].exit_code == 2
    with pytest.raises(QueryError, match="as well as the filters"):
        parse_query("camera:EOS sort:date")


def test_fact_filters_drop_photos_that_lack_the_fact() -> None:
    facts = {"make": "Canon", "model": "Canon EOS 5D Mark IV", "lens": "EF50mm f/1.8 STM",
             "taken": "2019-07-14T18:30:05", "city": "Bergen", "country": "Norway"}
    for query in ('x camera:"EOS 5D"', "x camera:canon", "x lens:50mm", "x lens:'EF 50'", "x place:norway",
                  "x taken:2019", "x taken:2019-07-14", "x taken:2018..2020"):
        assert keeps(parse_query(query.replace("'", '"')), facts), query
    for query in ("x camera:Nikon", "x lens:24mm", "x place:Italy", "x taken:2020.."):
        assert not keeps(parse_query(query), facts), query
        assert not keeps(parse_query(query), {}), query


@pytest.fixture(scope="module")
def trip(trained_settings, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A folder 'trip' of three real photos indexed by `python -m core index`: fjord.jpg (Canon
    EOS 5D, 50 mm, Bergen, Norway, 2019, "a red boat on the fjord"), town.jpg (Nikon D850, 24 mm,
    Rome, Italy, 2021, "an old town street market") and plain.jpg (no facts). Returns (settings,
    folder, bundle)."""
    from conftest import cleared_photos_of, index_with_copy

    from core.bundle import ModelBundle

    bundle = ModelBundle.load(trained_settings.artifacts_dir)
    fjord, town, plain = cleared_photos_of(trained_settings, bundle, 3)
    root = tmp_path_factory.mktemp("filters")
    folder = root / "trip"
    folder.mkdir()
    (folder / "fjord.jpg").write_bytes(described_jpeg(fjord.read_bytes()))
    (folder / "town.jpg").write_bytes(described_jpeg(
        town.read_bytes(), make="NIKON CORPORATION", model="NIKON D850", lens="24.0-70.0 mm f/2.8",
        taken="2021:05:02 10:00:00", title="Market day", caption="An old town street market",
        keywords=("market", "street"), city="Rome", country="Italy", focal=24))
    shutil.copy(plain, folder / "plain.jpg")
    settings = index_with_copy(trained_settings, root, folder)
    return settings, folder, bundle


def _ids(trip, query: str, top_k: int = 3) -> list[str]:  # type: ignore[no-untyped-def]
    from core.search.service import SearchService, open_gallery

    settings, _, bundle = trip
    service = SearchService(bundle, open_gallery(settings, "trip", bundle))
    return [hit.image for hit in service.search(query, top_k).results]


def test_filters_keep_and_drop_indexed_photos(trip) -> None:  # type: ignore[no-untyped-def]
    assert sorted(_ids(trip, "a photo")) == ["fjord.jpg", "plain.jpg", "town.jpg"]
    assert _ids(trip, 'a photo camera:"EOS 5D"') == ["fjord.jpg"]
    assert _ids(trip, "a photo camera:nikon") == ["town.jpg"]
    assert _ids(trip, "a photo camera:Sony") == []
    assert _ids(trip, "a photo lens:50mm") == ["fjord.jpg"]
    assert _ids(trip, "a photo taken:2021") == ["town.jpg"]
    assert _ids(trip, "a photo place:Norway") == ["fjord.jpg"]
    assert _ids(trip, "a photo sort:date") == ["town.jpg", "fjord.jpg", "plain.jpg"]  # undated last
    assert "fjord.jpg" not in _ids(trip, "a photo -fjord")  # its description has the word
    assert "town.jpg" not in _ids(trip, "a photo -markets")  # as a lemma: market
    assert _ids(trip, "a photo min:1") == [] and len(_ids(trip, "a photo min:0")) == 3
    assert len(_ids(trip, "a photo camera:canon", top_k=1)) == 1


def test_the_box_a_link_and_the_command_line_give_the_same_photos(trip, capsys,  # type: ignore[no-untyped-def]
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import index_env

    from ui import links

    settings, folder, _ = trip
    query = 'a photo camera:"EOS 5D" taken:2019..2021 place:norway sort:date min:0'
    box = _ids(trip, query)
    link, problems = links.read_link(links.SearchLink(links.TEXT, query, "", "trip", 3).params(),
                                     ["trip"], "trip", 12, 100)
    assert not problems and _ids(trip, link.query, link.top_k) == box == ["fjord.jpg"]
    index_env(monkeypatch, settings)
    capsys.readouterr()
    assert main(["search", query, "--gallery", str(folder), "--top", "3", "--json"]) == 0
    assert [r["image"] for r in json.loads(capsys.readouterr().out)["results"]] == box
    assert main(["search", "a photo taken:2019-13", "--gallery", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "taken:2019-13 is not a date" in err and "taken:2019-07-14" in err
