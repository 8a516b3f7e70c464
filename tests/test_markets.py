"""The law by country (core.legal.markets): the rules table, the market setting, and what a
description and a recorded consent do to a photo in each market, on real JPEGs indexed by the
command line and by upload."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import cleared_photos_of, index_env, index_with_copy

from core.foundation.settings import SettingError, Settings
from core.legal.markets import Market, MarketsFileError, load_markets, market_of, withheld


def test_the_table_ships_a_strict_default_and_names_bad_settings(tmp_path: Path) -> None:
    markets, default = load_markets(Settings().markets_file)
    assert default == "strict" and markets["strict"].strictest
    assert {"strict", "ru", "eu", "us"} <= set(markets)
    assert market_of(replace(Settings(), market="")).name == "strict"  # unset: the strictest
    assert market_of(replace(Settings(), market="eu")).consent_releases
    with pytest.raises(SettingError, match=r"WITHSENSE_MARKET='mars'.*one of eu, ru, strict, us"):
        market_of(replace(Settings(), market="mars"))
    loose = tmp_path / "markets.toml"
    loose.write_text('default = "us"\n[markets.us]\nchild_rule = false\nconsent_releases = true\n')
    with pytest.raises(MarketsFileError, match="the strictest"):
        load_markets(loose)
    loose.write_text('default = "x"\n[markets.x]\nchild_rule = "yes"\nconsent_releases = false\n')
    with pytest.raises(MarketsFileError, match="each true or false"):
        load_markets(loose)


def test_a_description_only_adds_and_consent_releases_where_the_row_says() -> None:
    image = np.array([True, False, False, True])
    described = np.array([False, True, False, False])
    consent = np.array([False, True, True, True])
    strict, eu, us = Market("strict", True, False), Market("eu", True, True), Market("us", False, True)
    assert withheld(image, described, consent, strict).tolist() == [True, True, False, True]
    assert withheld(image, described, consent, eu).tolist() == [True, False, False, False]
    assert withheld(image, described, consent, us).tolist() == [False, False, False, False]


@pytest.fixture(scope="module")
def family(trained_settings, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A folder of four real photos the child classifier clears, indexed by `python -m core index`
    with a descriptions.csv: boy.jpg names a child and has consent, girl.jpg names one in Russian
    without consent, boat.jpg and man.jpg name none (man.jpg's XMP caption says "a grown man").
    Returns (settings, bundle)."""
    from conftest import described_jpeg

    from core.bundle import ModelBundle

    bundle = ModelBundle.load(trained_settings.artifacts_dir)
    photos = cleared_photos_of(trained_settings, bundle, 4)
    root = tmp_path_factory.mktemp("markets")
    folder = root / "family"
    folder.mkdir()
    for name, photo in zip(("boy.jpg", "girl.jpg", "boat.jpg"), photos, strict=False):
        shutil.copy(photo, folder / name)
    (folder / "man.jpg").write_bytes(described_jpeg(photos[3].read_bytes(), caption="A grown man reading",
                                                    title="Reading", keywords=("book",)))
    (folder / "descriptions.csv").write_text(
        "file,description,consent\nboy.jpg,A little boy with a kite on the beach,yes\n"
        "girl.jpg,Девочка у моря,\nboat.jpg,A red boat,no\n", encoding="utf-8")
    settings = index_with_copy(trained_settings, root, folder)
    return settings, bundle


def _search(family, market: str, query: str = "a photo"):  # type: ignore[no-untyped-def]
    from core.search.service import SearchService, open_gallery

    settings, bundle = family
    service = SearchService(bundle, open_gallery(replace(settings, market=market), "family", bundle))
    return service.search(query, 4)


def test_a_child_in_a_description_is_withheld_and_consent_releases_by_market(  # type: ignore[no-untyped-def]
        family) -> None:
    from core.gallery.store import read_gallery

    stored = read_gallery(family[0], "family")
    assert "boy" in stored.facts["boy.jpg"]["child_terms"]
    assert stored.facts["boy.jpg"]["consent"] is True and "consent" not in stored.facts["girl.jpg"]
    assert "child_terms" in stored.facts["girl.jpg"] and "child_terms" not in stored.facts["man.jpg"]
    assert not stored.flags.any()  # the image check cleared all four: the descriptions decide

    strict = _search(family, "strict")
    assert sorted(h.image for h in strict.results) == ["boat.jpg", "man.jpg"] and strict.withheld == 2
    eu = _search(family, "eu")  # consent releases the boy's photo, not the girl's
    assert sorted(h.image for h in eu.results) == ["boat.jpg", "boy.jpg", "man.jpg"]
    assert len(_search(family, "us").results) == 4  # no child rule there
    for market in ("strict", "ru", "eu"):
        child = _search(family, market, "a little boy with a kite")
        assert child.disclaimer and not child.results
    assert not _search(family, "us", "a little boy with a kite").disclaimer


def test_the_image_check_is_never_lifted_by_a_description(  # type: ignore[no-untyped-def]
        family, trained_settings, tmp_path: Path) -> None:
    from core.gallery.ingest import ingest_uploads

    settings, bundle = family
    settings = replace(settings, data_dir=tmp_path / "data")
    practicum = family[0].practicum_dir / "test_images"
    candidates = sorted(practicum.glob("*.jpg"))[:40]
    flags = bundle.embed_photos(candidates)[1]
    flagged = [p for p, f in zip(candidates, flags, strict=True) if f]
    if not flagged:
        pytest.skip("the test model flags none of the first 40 test photos")
    from core.gallery.store import read_gallery
    from core.search.service import SearchService, open_gallery

    report = ingest_uploads(settings, [("adult.jpg", flagged[0].read_bytes())], "uploads",
                            settings.uploads_dir, bundle=bundle, description="A grown man reading a book")
    assert report.flagged  # flagged by the image check, whatever the description says
    cleared = cleared_photos_of(trained_settings, bundle, 1)[0]  # its 'test' gallery says which
    ingest_uploads(settings, [("kid.jpg", cleared.read_bytes())], "uploads", settings.uploads_dir,
                   bundle=bundle, description="мальчик с воздушным змеем", consent=True)

    def shown(market: str) -> set[str]:
        gallery = open_gallery(replace(settings, market=market), "uploads", bundle)
        return {h.image for h in SearchService(bundle, gallery).search("a photo", 10).results}

    adult = report.added[0]
    kid = next(i for i in read_gallery(settings, "uploads").ids if i != adult)
    assert read_gallery(settings, "uploads").facts[kid]["consent"] is True
    assert shown("strict") == set() and shown("ru") == {kid}  # consent recorded at upload
    assert shown("us") == {adult, kid}


def test_the_search_page_names_the_market_and_shows_a_results_facts(  # type: ignore[no-untyped-def]
        family, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    from core.foundation.settings import PROJECT_ROOT

    settings, _ = family
    index_env(monkeypatch, settings, market="eu")
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=90)
    at.run()
    at.query_params.update({"q": "a photo", "gallery": "family", "k": "4"})
    at.switch_page("pages/search.py").run()
    assert not at.exception, [e.value for e in at.exception]
    captions = [str(c.value) for c in at.caption]
    assert "Market: eu · photos that may show a child are withheld; a recorded parental consent " \
           "releases a photo." in captions
    at.session_state["details_boy.jpg"] = True  # open the boy's card
    at.run()
    texts = [str(t.value) for t in at.text]
    card = next(t for t in texts if t.startswith("Description: "))  # the boy's facts, as plain text
    assert "Description: A little boy with a kite on the beach" in card and "Consent: recorded" in card
