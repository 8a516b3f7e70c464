"""Photo facts: EXIF, XMP and IPTC read from real JPEGs the tests write, a folder's sidecar
table, the store's format 4 (and format 3 read as it is), and facts through indexing by the
command line and by upload, shown in a result's details."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import described_jpeg

from core.data.tables import DataError
from core.foundation.settings import Settings
from core.gallery.facts import fact_lines, read_facts
from core.gallery.store import STORE_FORMAT, StoredGallery, gallery_file, read_gallery, write_gallery
from core.gallery.written import read_sidecar


@pytest.fixture(scope="session")
def source_jpeg(practicum_dir: Path) -> bytes:
    photos = sorted((practicum_dir / "test_images").glob("*.jpg"))
    if not photos:
        pytest.skip("practicum test images not found")
    return photos[0].read_bytes()


def test_exif_xmp_and_iptc_are_read(source_jpeg: bytes, tmp_path: Path) -> None:
    path = tmp_path / "fjord.jpg"
    path.write_bytes(described_jpeg(source_jpeg))
    facts = read_facts(path)
    assert facts["make"] == "Canon" and facts["model"] == "Canon EOS 5D Mark IV"
    assert facts["lens"] == "EF50mm f/1.8 STM" and facts["taken"] == "2019-07-14T18:30:05"
    assert facts["exposure"] == "1/250 s" and facts["iso"] == 400 and facts["orientation"] == 1
    assert facts["aperture"] == pytest.approx(2.8) and facts["focal_length"] == pytest.approx(50)
    assert facts["latitude"] == pytest.approx(60.391667) and facts["longitude"] == pytest.approx(5.32)
    assert (facts["width"], facts["height"]) > (0, 0)
    assert facts["title"] == "Fjord evening" and facts["caption"] == "A red boat on the fjord at sunset"
    assert facts["keywords"] == ["boat", "fjord"] and facts["city"] == "Bergen"
    assert facts["country"] == "Norway" and facts["credit"] == "Ann Example"
    lines = dict(fact_lines(facts))
    assert lines["Camera"] == "Canon EOS 5D Mark IV" and lines["Place"] == "Bergen, Norway"
    assert lines["Taken"] == "2019-07-14 18:30:05" and lines["GPS"] == "position recorded (not shown)"

    iptc_only = tmp_path / "iptc.jpg"  # no XMP caption: the IPTC one is read
    iptc_only.write_bytes(described_jpeg(source_jpeg, caption="", iptc_caption="Harbour at dawn"))
    assert read_facts(iptc_only)["caption"] == "Harbour at dawn"


def test_broken_or_hostile_blocks_only_cost_their_facts(source_jpeg: bytes, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(described_jpeg(source_jpeg, broken_exif=True))
    facts = read_facts(broken)
    assert "make" not in facts and "taken" not in facts  # the EXIF block is lost
    assert facts["caption"] == "A red boat on the fjord at sunset"  # XMP is still read
    bomb = (b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;"
            b"&a;&a;&a;&a;&a;'>]><x:xmpmeta xmlns:x='adobe:ns:meta/'>&b;</x:xmpmeta>")
    hostile = tmp_path / "hostile.jpg"
    app1 = b"http://ns.adobe.com/xap/1.0/\0" + bomb
    hostile.write_bytes(source_jpeg[:2] + b"\xff\xe1" + (len(app1) + 2).to_bytes(2, "big") + app1
                        + source_jpeg[2:])
    assert set(read_facts(hostile)) == {"width", "height"}  # defusedxml refuses the entities
    (tmp_path / "not.jpg").write_bytes(b"not a photo")
    assert read_facts(tmp_path / "not.jpg") == {}


def test_sidecar_table(tmp_path: Path) -> None:
    table = tmp_path / "descriptions.csv"
    table.write_text('file,description,consent\nsub/a.jpg,"Dog, beach",yes\nb.jpg,Old town,\n'
                     "gone.jpg,Nothing,no\n", encoding="utf-8")
    written, unmatched = read_sidecar(table, ["sub/a.jpg", "x/b.jpg"])
    assert written == {"sub/a.jpg": {"description": "Dog, beach", "consent": True},
                       "x/b.jpg": {"description": "Old town"}}
    assert unmatched == ["gone.jpg"]
    table.write_text("file,description,consent\na.jpg,Dog,maybe\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"line 2: consent must be yes or no"):
        read_sidecar(table, ["a.jpg"])
    table.write_text("name,text\na.jpg,Dog\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"line 1: expected the columns file,description"):
        read_sidecar(table, ["a.jpg"])


def test_format_3_galleries_read_unchanged(tmp_path: Path) -> None:
    settings = Settings(artifacts_dir=tmp_path)
    vectors = np.eye(3, 8, dtype=np.float32)
    gallery = StoredGallery.empty("trip", Path("/photos"), 8, {"m": "1"}).with_rows(
        [], ["a.jpg", "b.jpg", "c.jpg"], ["k1", "k2", "k3"], vectors, np.zeros(3, bool), np.zeros(3),
        {"a.jpg": {"caption": "A dog", "keywords": ["beach"], "make": "Canon"}})
    write_gallery(settings, gallery)
    back = read_gallery(settings, "trip")
    assert back.facts == {"a.jpg": {"caption": "A dog", "keywords": ["beach"], "make": "Canon"}}
    assert back.descriptions == {"a.jpg": "A dog. beach"}
    with np.load(gallery_file(settings, "trip")) as data:  # what format 3 wrote: no facts
        arrays = {k: data[k] for k in data.files if k != "facts"}
        header = json.loads(str(data["header"]))
    assert header["format"] == STORE_FORMAT == 4
    old_header = np.array(json.dumps({**header, "format": 3}))
    np.savez(gallery_file(settings, "trip"), **{**arrays, "header": old_header})
    old = read_gallery(settings, "trip")
    assert old.ids == gallery.ids and old.facts == {} and old.descriptions == {}
    smaller = back.with_rows([0, 2], [], [], np.zeros((0, 8)), np.zeros(0, bool), np.zeros(0))
    assert list(smaller.facts) == ["a.jpg"]


def test_facts_through_the_command_line_and_an_upload(trained_settings, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                      monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from conftest import cleared_photos_of, index_env

    from core.bundle import ModelBundle
    from core.cli.commands import main
    from core.gallery.ingest import ingest_uploads
    from core.search.details import fact_text
    from core.search.service import SearchService, open_gallery

    bundle = ModelBundle.load(trained_settings.artifacts_dir)
    first, second = cleared_photos_of(trained_settings, bundle, 2)
    folder = tmp_path / "shoot"
    folder.mkdir()
    (folder / "fjord.jpg").write_bytes(described_jpeg(first.read_bytes()))
    (folder / "broken.jpg").write_bytes(described_jpeg(second.read_bytes(), broken_exif=True))
    (folder / "descriptions.csv").write_text("file,description\nbroken.jpg,Harbour cranes at dawn\n"
                                             "missing.jpg,Nothing\n", encoding="utf-8")
    settings = replace(trained_settings, artifacts_dir=tmp_path / "artifacts", data_dir=tmp_path / "data",
                       index_url="")
    settings.artifacts_dir.mkdir()
    shutil.copy(trained_settings.artifacts_dir / "model.pt", settings.artifacts_dir / "model.pt")
    index_env(monkeypatch, settings)
    assert main(["index", str(folder)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["added"] == 2  # the broken EXIF block did not stop the photo
    assert report["skipped"] == {"descriptions.csv: missing.jpg": "names no photo of the folder"}

    gallery = open_gallery(settings, "shoot", bundle)
    hits = {h.image: h for h in SearchService(bundle, gallery).search("a boat on the water", 2).results}
    assert set(hits) == {"fjord.jpg", "broken.jpg"}
    shown = fact_text(gallery.facts["fjord.jpg"])
    for line in ("Camera: Canon EOS 5D Mark IV", "Lens: EF50mm f/1.8 STM", "Taken: 2019-07-14 18:30:05",
                 "Exposure: 1/250 s", "Aperture: f/2.8", "ISO: 400", "Focal length: 50 mm",
                 "Place: Bergen, Norway", "Keywords: boat, fjord",
                 "Caption: A red boat on the fjord at sunset"):
        assert line in shown, shown
    broken = fact_text(gallery.facts["broken.jpg"])
    assert "Description: Harbour cranes at dawn" in broken and not any(s.startswith("Camera") for s in broken)
    assert gallery.descriptions["broken.jpg"].startswith("Fjord evening. A red boat")

    (folder / "descriptions.csv").write_text("file,description\nbroken.jpg,Cranes\n", encoding="utf-8")
    assert main(["index", str(folder)]) == 0  # unchanged photos, a new description: kept
    assert "Description: Cranes" in fact_text(read_gallery(settings, "shoot").facts["broken.jpg"])

    upload = ingest_uploads(settings, [("mine.jpg", described_jpeg(first.read_bytes(), model="EOS R5"))],
                            "uploads", settings.uploads_dir, bundle=bundle, description="Evening ferry",
                            consent=True)
    facts = read_gallery(settings, "uploads").facts[upload.added[0]]
    assert facts["model"] == "EOS R5" and facts["description"] == "Evening ferry" and facts["consent"] is True
    assert "Consent: recorded" in fact_text(facts)
