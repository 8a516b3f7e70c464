"""Visitors' own uploads (core.gallery.visitors): what photographers upload, each visitor's photos
in a gallery of its own, deleted with their vectors when they expire, a cap per visitor, and an
interrupted upload that leaves each photo indexed whole or not stored."""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.bundle import ModelBundle
from core.foundation.settings import SettingError, Settings
from core.gallery import visitors
from core.gallery.store import gallery_file, list_galleries, read_gallery
from core.search.service import open_gallery

HOUR = 3600.0


@pytest.fixture(scope="module")
def bundle(trained_artifacts: Path) -> ModelBundle:
    return ModelBundle.load(trained_artifacts)


@pytest.fixture
def settings(tmp_path: Path, trained_artifacts: Path) -> Settings:
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    shutil.copy(trained_artifacts / "model.pt", artifacts / "model.pt")
    return replace(Settings(), artifacts_dir=artifacts, cache_dir=tmp_path / "cache",
                   data_dir=tmp_path / "data", reports_dir=tmp_path / "reports", index_url="",
                   upload_ttl_hours=24.0, upload_max_photos=100, upload_max_mb=200)


@pytest.fixture(scope="module")
def photos(practicum_dir: Path) -> list[Path]:
    """Real JPEGs of the practicum test set (read-only)."""
    found = sorted((practicum_dir / "test_images").glob("*.jpg"))[:8]
    if len(found) < 8:
        pytest.skip("practicum test images not found")
    return found


def _as(photo: Path, fmt: str) -> bytes:
    """The photo saved by Pillow in ``fmt``; "TIFF16" is a 16-bit grey TIFF (mode I;16)."""
    out = io.BytesIO()
    with Image.open(photo) as img:
        rgb = img.convert("RGB")
        if fmt == "TIFF16":
            grey = Image.fromarray(np.asarray(rgb.convert("L"), dtype=np.uint16) * 257)
            assert grey.mode == "I;16"
            grey.save(out, "TIFF")
        else:
            rgb.save(out, fmt)
    return out.getvalue()


def _stored(settings: Settings, visitor: str) -> list[str]:
    folder = visitors.visitor_folder(settings, visitor)
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_each_accepted_format_is_indexed_and_the_rest_refused(settings: Settings, bundle: ModelBundle,
                                                               photos: list[Path]) -> None:
    formats = {"a.jpg": "JPEG", "b.png": "PNG", "c.webp": "WEBP", "d.tif": "TIFF", "e.tiff": "TIFF16",
               "f.heic": "HEIF", "g.avif": "AVIF"}
    files = [(name, _as(photo, fmt)) for (name, fmt), photo in zip(formats.items(), photos, strict=False)]
    jpeg = photos[7].read_bytes()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("x.html", "<p>hi</p>")
    refused = [("IMG_1.CR2", jpeg), ("anim.gif", _as(photos[7], "GIF")),
               ("page.jpg", b"<html><body>hi</body></html>"), ("both.jpg", jpeg + archive.getvalue()),
               ("half.jpg", jpeg[: len(jpeg) // 3])]
    visitor = visitors.new_visitor()
    report = visitors.add_uploads(settings, visitor, files + refused, bundle=bundle)

    assert sorted(report.labels[i] for i in report.added) == sorted(formats)
    suffixes = sorted(Path(i).suffix for i in report.added)
    assert suffixes == [".avif", ".heic", ".jpg", ".png", ".tif", ".tif", ".webp"]
    reasons = {s.name: s.reason for s in report.skipped}
    assert set(reasons) == {"IMG_1.CR2", "anim.gif", "page.jpg", "both.jpg", "half.jpg"}
    assert reasons["IMG_1.CR2"].startswith("a camera RAW file (.cr2)") and "HEIC/HEIF" in reasons["IMG_1.CR2"]
    assert reasons["anim.gif"].startswith("GIF is not an accepted format; accepted: JPEG")
    assert "HTML" in reasons["page.jpg"] and "ZIP" in reasons["both.jpg"]
    assert "truncated" in reasons["half.jpg"]
    assert _stored(settings, visitor) == sorted(report.added)  # nothing of a refused file kept
    stored = read_gallery(settings, visitors.visitor_gallery(visitor))
    assert sorted(stored.ids) == sorted(report.added) and np.isfinite(stored.vectors).all()
    by_label = {report.labels[i]: v for i, v in zip(stored.ids, stored.vectors, strict=True)}
    # the 16-bit TIFF is the photo in grey, not a white page: nearer its own colour copy than others
    own = _cosine(by_label["e.tiff"], bundle.embed_photos([photos[4]])[0][0])
    others = [_cosine(by_label["e.tiff"], by_label[n]) for n in ("a.jpg", "b.png", "c.webp")]
    assert own > max(others), (own, others)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_a_visitors_photos_are_its_own(settings: Settings, bundle: ModelBundle, photos: list[Path]) -> None:
    alice, bob = visitors.new_visitor(), visitors.new_visitor()
    assert alice != bob and len(alice) == 32
    report = visitors.add_uploads(settings, alice, [("mine.jpg", photos[0].read_bytes())], bundle=bundle)
    assert len(report.added) == 1 and report.gallery == visitors.visitor_gallery(alice)
    assert visitors.has_uploads(settings, alice) and not visitors.has_uploads(settings, bob)
    assert list_galleries(settings) == []  # never listed with the galleries everyone searches
    assert visitors.gallery_for(visitors.MY_UPLOADS, bob) == visitors.visitor_gallery(bob)
    assert visitors.gallery_for("test", bob) == "test"
    listed = ["all", "uploads", visitors.visitor_gallery(alice), "test"]
    assert visitors.public_galleries(listed) == ["all", "test"]
    with pytest.raises(ValueError, match="not a visitor id"):
        visitors.visitor_gallery("../all")


def test_expired_uploads_are_deleted_from_disk_and_index(settings: Settings, bundle: ModelBundle,
                                                         photos: list[Path]) -> None:
    visitor, other = visitors.new_visitor(), visitors.new_visitor()
    first = visitors.add_uploads(settings, visitor, [("old.jpg", photos[0].read_bytes())], bundle=bundle)
    old = visitors.visitor_folder(settings, visitor) / first.added[0]
    added_at = old.stat().st_mtime
    os.utime(old, (added_at - 20 * HOUR, added_at - 20 * HOUR))  # added 20 hours before the others
    later = visitors.add_uploads(settings, visitor, [("new.jpg", photos[1].read_bytes())], bundle=bundle)
    visitors.add_uploads(settings, other, [("theirs.jpg", photos[2].read_bytes())], bundle=bundle)
    name = visitors.visitor_gallery(visitor)

    assert visitors.sweep_expired(settings, now=added_at + 3 * HOUR) == []  # 23 h: nothing yet
    deleted = visitors.sweep_expired(settings, now=added_at + 5 * HOUR)  # 25 h for the old one only
    assert deleted == [old] and not old.exists()
    assert read_gallery(settings, name).ids == later.added
    assert open_gallery(settings, name, bundle).index.ids() == later.added  # what a search reads

    visitors.sweep_expired(settings, now=added_at + 30 * HOUR)  # every photo expired: the gallery goes
    assert not gallery_file(settings, name).exists()
    assert not visitors.visitor_folder(settings, visitor).exists()
    assert not gallery_file(settings, visitors.visitor_gallery(other)).exists()
    assert not any(settings.uploads_dir.iterdir())


def test_the_cap_refuses_with_its_message_and_stores_nothing(settings: Settings, bundle: ModelBundle,
                                                            photos: list[Path]) -> None:
    capped = replace(settings, upload_max_photos=3)
    visitor = visitors.new_visitor()
    visitors.add_uploads(capped, visitor, [(p.name, p.read_bytes()) for p in photos[:2]], bundle=bundle)
    with pytest.raises(visitors.UploadLimitError) as refused:
        visitors.add_uploads(capped, visitor, [(p.name, p.read_bytes()) for p in photos[2:4]], bundle=bundle)
    message = str(refused.value)
    assert message.startswith("You may keep up to 3 photos and 200 MB of uploads at a time; you have 2")
    assert "these would add 2" in message and "Nothing was added" in message and "24 h after" in message
    assert len(_stored(capped, visitor)) == 2
    assert len(read_gallery(capped, visitors.visitor_gallery(visitor)).ids) == 2
    again = visitors.add_uploads(capped, visitor, [("same.jpg", photos[0].read_bytes())], bundle=bundle)
    assert again.unchanged == ["same.jpg"]  # a photo already held costs nothing

    small = replace(settings, upload_max_mb=1)
    noise = np.random.default_rng(0).integers(0, 256, (600, 800, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(noise).save(out, "PNG")  # a real image of about 1.4 MB: noise does not compress
    big = out.getvalue()
    assert len(big) > 2**20
    with pytest.raises(visitors.UploadLimitError, match="up to 100 photos and 1 MB"):
        visitors.add_uploads(small, visitors.new_visitor(), [("big.png", big)], bundle=bundle)


def test_an_interrupted_upload_keeps_each_photo_whole_or_not_at_all(settings: Settings, bundle: ModelBundle,
                                                                    photos: list[Path]) -> None:
    visitor = visitors.new_visitor()
    seen: list[int] = []

    def tab_closed(count: int) -> None:
        seen.append(count)
        if len(seen) == 2:  # two photos indexed, two stored and waiting: the visitor leaves
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        visitors.add_uploads(settings, visitor, [(p.name, p.read_bytes()) for p in photos[:4]], tab_closed,
                             bundle=bundle, batch_size=1)
    indexed = read_gallery(settings, visitors.visitor_gallery(visitor)).ids
    assert len(indexed) == 2 and _stored(settings, visitor) == sorted(indexed)
    files = [(p.name, p.read_bytes()) for p in photos[:4]]
    report = visitors.add_uploads(settings, visitor, files, bundle=bundle)
    assert len(report.added) == 2 and len(report.unchanged) == 2


def test_upload_settings_have_defaults_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WITHSENSE_UPLOAD_TTL_HOURS", "WITHSENSE_UPLOAD_MAX_PHOTOS", "WITHSENSE_UPLOAD_MAX_MB"):
        monkeypatch.delenv(name, raising=False)
    plain = Settings()
    assert (plain.upload_ttl_hours, plain.upload_max_photos, plain.upload_max_mb) == (24.0, 100, 200)
    monkeypatch.setenv("WITHSENSE_UPLOAD_TTL_HOURS", "0.5")
    monkeypatch.setenv("WITHSENSE_UPLOAD_MAX_PHOTOS", "7")
    monkeypatch.setenv("WITHSENSE_UPLOAD_MAX_MB", "30")
    told = Settings()
    assert (told.upload_ttl_hours, told.upload_max_photos, told.upload_max_mb) == (0.5, 7, 30)
    monkeypatch.setenv("WITHSENSE_UPLOAD_MAX_PHOTOS", "lots")
    with pytest.raises(SettingError, match="WITHSENSE_UPLOAD_MAX_PHOTOS='lots'"):
        Settings()
