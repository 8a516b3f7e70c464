"""Shared fixtures. Keep this small: fixtures used by one test module belong in that module."""

from __future__ import annotations

import importlib
import os
import shutil
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

from core.foundation.memory import keep_freed_memory
from core.foundation.settings import PROJECT_ROOT, Settings

keep_freed_memory()  # the tests train and encode in this process, as the commands do


def missing(reason: str) -> NoReturn:
    """Something the tests need is absent: skip here, fail in CI (CI set), where it is a broken setup."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: required in CI", pytrace=False)
    pytest.skip(reason)


def require(module: str) -> ModuleType:
    """Import a required package inside a test or fixture; missing() when it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing(f"{module} is not installed ({exc})")


def fresh_encoder(name: str):  # type: ignore[no-untyped-def]
    """A new encoder instance (the registry's shared one may hold other weights)."""
    from core.encoders.registry import REGISTRY

    spec = REGISTRY[name]
    return spec.factory(spec)


@pytest.fixture(scope="session")
def bundle(trained_artifacts: Path):  # type: ignore[no-untyped-def]
    """The trained test model, loaded once."""
    from core.bundle import ModelBundle

    return ModelBundle.load(trained_artifacts)


@pytest.fixture
def settings(tmp_path: Path, trained_artifacts: Path) -> Settings:
    """Settings over a copy of the trained test model, everything else in a temporary folder
    (artifacts, cache, data, reports; no pgvector): indexing tests write their own galleries."""
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    shutil.copy(trained_artifacts / "model.pt", artifacts / "model.pt")
    return replace(Settings(), artifacts_dir=artifacts, cache_dir=tmp_path / "cache",
                   data_dir=tmp_path / "data", reports_dir=tmp_path / "reports", index_url="")


def damaged_copy(models: Path, name: str, into: Path) -> Path:
    """A copy of the models folder `models` whose weights file `name`.pt has its last bytes
    changed (its manifest's sha256 no longer holds); returns the copy."""
    import shutil

    shutil.copytree(models, into)
    weights = into / f"{name}.pt"
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")
    return into


def _data_candidates() -> list[Path]:
    """Where the shared data may be: WITHSENSE_DATA, the repo's data/ links, ../shared/data."""
    env = os.environ.get("WITHSENSE_DATA")
    found = [Path(env).expanduser()] if env else []
    return [*found, PROJECT_ROOT / "data", PROJECT_ROOT.parent / "shared" / "data"]


def _find(sub: str, marker: str) -> Path | None:
    for root in _data_candidates():
        if (root / sub / marker).is_file():
            return root / sub
    if os.environ.get("CI"):  # in CI missing data is a broken setup, not a reason to skip
        pytest.fail(f"{sub} data not found: scripts/setup.sh links ../shared/data into data/")
    return None


def _shared_folder(sub: str, marker: str) -> Path:
    """A real shared data folder (read-only); tests that need it skip only when it is absent."""
    found = _find(sub, marker)
    if found is None:
        pytest.skip(f"{sub} data not found (set WITHSENSE_DATA or link ../shared/data)")
    return found


@pytest.fixture(scope="session")
def practicum_dir() -> Path:
    """The real practicum folder."""
    return _shared_folder("practicum", "train_dataset.csv")


@pytest.fixture(scope="session")
def flickr_dir() -> Path:
    """The real flickr8k folder (captions and the extra images)."""
    return _shared_folder("flickr8k", "Flickr8k.token.txt")


# A small but real model for the app, search, ingest and legal tests: the full practicum data and
# the first 1000 photos of the extra corpus (about 2 minutes from a cold cache on 2 cores).
TEST_CORPUS_PHOTOS = 1000


@pytest.fixture(scope="session")
def small_data_settings(tmp_path_factory: pytest.TempPathFactory, practicum_dir: Path,
                        flickr_dir: Path) -> object:
    """Settings pointing at the test model's data (nothing trained yet), artifacts, cache, reports."""
    from core.foundation.settings import Settings

    root = tmp_path_factory.mktemp("trained")
    data = root / "data"
    (data / "flickr8k" / "images").mkdir(parents=True)
    (data / "practicum").symlink_to(practicum_dir.resolve(), target_is_directory=True)
    (data / "flickr8k" / "Flickr8k.token.txt").symlink_to((flickr_dir / "Flickr8k.token.txt").resolve())
    for photo in sorted((flickr_dir / "images").iterdir())[:TEST_CORPUS_PHOTOS]:
        (data / "flickr8k" / "images" / photo.name).symlink_to(photo.resolve())
    cache = Path(os.environ.get("WITHSENSE_TEST_CACHE", PROJECT_ROOT / ".cache"))
    return Settings(data_dir=data, artifacts_dir=root / "artifacts", cache_dir=cache,
                    reports_dir=root / "reports")


@pytest.fixture(scope="session")
def trained_settings(small_data_settings) -> object:  # type: ignore[no-untyped-def]
    """Settings pointing at the trained test model (data, artifacts, cache, reports)."""
    from core.build.train import train

    train(small_data_settings)
    return small_data_settings


@pytest.fixture(scope="session")
def trained_artifacts(trained_settings) -> Path:  # type: ignore[no-untyped-def]
    """The trained test model's artifacts folder."""
    return trained_settings.artifacts_dir


@pytest.fixture(scope="session")
def mini_data(tmp_path_factory: pytest.TempPathFactory, practicum_dir: Path, flickr_dir: Path) -> Path:
    """48 extra-corpus photos, 24 practicum train photos and the 100 test photos (real files)."""
    root = tmp_path_factory.mktemp("mini")
    (root / "flickr8k" / "images").mkdir(parents=True)
    (root / "flickr8k" / "Flickr8k.token.txt").symlink_to((flickr_dir / "Flickr8k.token.txt").resolve())
    for photo in sorted((flickr_dir / "images").iterdir())[:48]:
        (root / "flickr8k" / "images" / photo.name).symlink_to(photo.resolve())
    practicum = root / "practicum"
    (practicum / "train_images").mkdir(parents=True)
    for photo in sorted((practicum_dir / "train_images").iterdir())[:24]:
        (practicum / "train_images" / photo.name).symlink_to(photo.resolve())
    for item in ("test_images", "test_queries.csv", "test_images.csv"):
        (practicum / item).symlink_to((practicum_dir / item).resolve())
    return root


# --------------------------------------------------------------------------------------------
# What the app serves: photos that say where they were taken, names and queries full of markup
# (tests/test_app.py with AppTest, tests/test_browser.py in Chromium)
# --------------------------------------------------------------------------------------------

PLACE = "59.9343N 30.3351E"  # where the photos say they were taken
# A file name and a query that Markdown or HTML would turn into bold text, a broken image running
# a script, links (one to javascript:), an icon and an emoji; a Linux file name allows all but "/"
# (Streamlit reads :material_home: as an icon too, as it reads :material/home:).
ODD_NAME = ("**bold**<img src=x onerror=alert(1)> [x](javascript:alert(1)) www.evil.example "
            ":material_home: :smile:.jpg")
ODD_QUERY = "**bold** [x](javascript:alert(1)) <img src=x onerror=alert(1)> www.evil.example :smile:"


def with_location(jpeg: bytes, orientation: int | None = None) -> bytes:
    """The same JPEG, its pixels untouched, saying where it was taken as cameras and phones do:
    an EXIF GPS position (and the orientation tag, if given), XMP GPS fields and a comment
    (segments after its start marker)."""
    import struct

    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "Test camera"  # Make
    if orientation is not None:
        exif[0x0112] = orientation
    exif.get_ifd(0x8825).update({1: "N", 2: (59.0, 56.0, 3.48), 3: "E", 4: (30.0, 20.0, 6.36)})
    xmp = (b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF "
           b"xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description "
           b"xmlns:exif='http://ns.adobe.com/exif/1.0/' exif:GPSLatitude='59,56.058N' "
           b"exif:GPSLongitude='30,20.106E'/></rdf:RDF></x:xmpmeta>")

    def segment(marker: int, payload: bytes) -> bytes:
        return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload

    return (jpeg[:2] + segment(0xE1, exif.tobytes()) + segment(0xE1, xmp)
            + segment(0xFE, f"Taken at {PLACE}".encode()) + jpeg[2:])


def assert_no_location(data: bytes) -> None:
    """An image the app sends says nothing of where its photo was taken."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        exif = img.getexif()
        assert 0x8825 not in exif and not exif.get_ifd(0x8825), dict(exif)
        assert not {"exif", "xmp", "comment"} & set(img.info), sorted(img.info)
    assert b"Exif\0\0" not in data and b"GPSLatitude" not in data and PLACE.encode() not in data


@pytest.fixture
def trip_artifacts(trained_settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """An artifacts folder with the test model and one gallery, 'trip', indexed from a folder as
    `python -m core index` does: three practicum photos that the child classifier clears, each
    saying where it was taken (with_location), the first named ODD_NAME. Returns the folder."""
    import shutil
    from dataclasses import replace

    from core.bundle import ModelBundle
    from core.gallery.ingest import ingest_folder
    from ui.dataset import cleared_photos

    bundle = ModelBundle.load(trained_settings.artifacts_dir)
    photos = trained_settings.practicum_dir / "test_images"
    candidates = [photos / name for name in sorted(cleared_photos(trained_settings, "test"))[:24]]
    flags = bundle.embed_photos(candidates)[1]
    chosen = [photo for photo, flagged in zip(candidates, flags, strict=True) if not flagged][:3]
    assert len(chosen) == 3, f"the classifier flags {int(flags.sum())} of {len(candidates)} photos"
    folder = tmp_path / "trip"
    folder.mkdir()
    for name, photo in zip((ODD_NAME, "second.jpg", "third.jpg"), chosen, strict=True):
        (folder / name).write_bytes(with_location(photo.read_bytes()))
    artifacts = tmp_path / "trip_artifacts"
    artifacts.mkdir()
    shutil.copy(trained_settings.artifacts_dir / "model.pt", artifacts / "model.pt")
    report = ingest_folder(replace(trained_settings, artifacts_dir=artifacts), folder, "trip", bundle=bundle)
    assert len(report.added) == 3 and not report.flagged, report.to_json()
    return artifacts


# --------------------------------------------------------------------------------------------
# Photos as photographers deliver them (tests/test_facts.py, test_filters.py, test_markets.py):
# EXIF with GPS, an XMP packet and IPTC records, written into a real JPEG
# --------------------------------------------------------------------------------------------


def _segment(marker: int, payload: bytes) -> bytes:
    import struct

    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _iptc(records: list[tuple[int, bytes]]) -> bytes:
    """An APP13 Photoshop block holding IPTC records (2:dataset, value)."""
    import struct

    body = b"".join(b"\x1c\x02" + bytes([ds]) + struct.pack(">H", len(v)) + v for ds, v in records)
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\0\0" + struct.pack(">I", len(body)) + body
    return b"Photoshop 3.0\0" + resource + (b"\0" if len(body) % 2 else b"")


def described_jpeg(jpeg: bytes, *, make: str = "Canon", model: str = "Canon EOS 5D Mark IV",
                   lens: str = "EF50mm f/1.8 STM", taken: str = "2019:07:14 18:30:05",
                   title: str = "Fjord evening", caption: str = "A red boat on the fjord at sunset",
                   keywords: tuple[str, ...] = ("boat", "fjord"), city: str = "Bergen",
                   country: str = "Norway", focal: int = 50, iptc_caption: str = "",
                   broken_exif: bool = False) -> bytes:
    """The same JPEG (pixels untouched) with what a professional's camera and software write:
    EXIF (camera, lens, date, exposure, ISO, aperture, focal length, orientation, GPS), an XMP
    packet (title, description, keywords, city, country, credit) and, with ``iptc_caption``, an
    IPTC caption. ``broken_exif`` damages the EXIF block's directory (a corrupt camera file)."""
    from xml.sax.saxutils import quoteattr

    from PIL import Image

    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = make, model, 1
    exif.get_ifd(0x8769).update({0x9003: taken, 0x829A: (1, 250), 0x8827: 400, 0x829D: (28, 10),
                                 0x920A: (focal, 1), 0xA434: lens})
    exif.get_ifd(0x8825).update({1: "N", 2: (60.0, 23.0, 30.0), 3: "E", 4: (5.0, 19.0, 12.0)})
    block = exif.tobytes()
    if broken_exif:  # a directory claiming 65535 entries, with 20 bytes of them there
        block = b"Exif\0\0MM\0*\0\0\0\x08\xff\xff" + b"\x01" * 20
    words = "".join(f"<rdf:li>{w}</rdf:li>" for w in keywords)
    xmp = (f"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>"
           f"<rdf:Description xmlns:dc='http://purl.org/dc/elements/1.1/' "
           f"xmlns:photoshop='http://ns.adobe.com/photoshop/1.0/' photoshop:City={quoteattr(city)} "
           f"photoshop:Country={quoteattr(country)} photoshop:Credit='Ann Example'>"
           f"<dc:title><rdf:Alt><rdf:li xml:lang='x-default'>{title}</rdf:li></rdf:Alt></dc:title>"
           f"<dc:description><rdf:Alt><rdf:li xml:lang='x-default'>{caption}</rdf:li></rdf:Alt>"
           f"</dc:description><dc:subject><rdf:Bag>{words}</rdf:Bag></dc:subject>"
           "</rdf:Description></rdf:RDF></x:xmpmeta>").encode()
    segments = _segment(0xE1, block) + _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0" + xmp)
    if iptc_caption:
        segments += _segment(0xED, _iptc([(120, iptc_caption.encode()), (25, b"iptc keyword")]))
    return jpeg[:2] + segments + jpeg[2:]


def cleared_photos_of(settings, bundle, count: int) -> list[Path]:  # type: ignore[no-untyped-def]
    """``count`` practicum test photos that neither their captions nor the child classifier flag."""
    from ui.dataset import cleared_photos

    photos = settings.practicum_dir / "test_images"
    candidates = [photos / name for name in sorted(cleared_photos(settings, "test"))[:8 * count]]
    flags = bundle.embed_photos(candidates)[1]
    chosen = [photo for photo, flagged in zip(candidates, flags, strict=True) if not flagged][:count]
    assert len(chosen) == count, f"the classifier flags {int(flags.sum())} of {len(candidates)} photos"
    return chosen


def index_env(monkeypatch: pytest.MonkeyPatch, settings, market: str = "") -> None:  # type: ignore[no-untyped-def]
    """Point `python -m core` (run in this process) at ``settings``' folders, in ``market``."""
    for name, value in (("WITHSENSE_ARTIFACTS", settings.artifacts_dir),
                        ("WITHSENSE_DATA", settings.data_dir),
                        ("WITHSENSE_CACHE", settings.cache_dir), ("WITHSENSE_INDEX_URL", ""),
                        ("WITHSENSE_MARKET", market)):
        monkeypatch.setenv(name, str(value))


def index_with_copy(trained_settings, root: Path, folder: Path):  # type: ignore[no-untyped-def]
    """``python -m core index folder`` over a copy of the trained test model in ``root``; the settings."""
    from core.cli.commands import main

    settings = replace(trained_settings, artifacts_dir=root / "artifacts", index_url="")
    settings.artifacts_dir.mkdir()
    shutil.copy(trained_settings.artifacts_dir / "model.pt", settings.artifacts_dir / "model.pt")
    with pytest.MonkeyPatch.context() as patch:
        index_env(patch, settings)
        assert main(["index", str(folder)]) == 0
    return settings
