"""The photo store: one versioned file per gallery, with the fingerprint of the model that made it."""

from __future__ import annotations

import errno
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import core.foundation.atomic
from core.foundation.settings import Settings
from core.gallery.store import (
    GalleryError,
    GalleryMissingError,
    StaleGalleryError,
    StoredGallery,
    gallery_file,
    list_galleries,
    read_gallery,
    write_gallery,
)

PRINT = {"model_sha256": "ab" * 32, "text_encoder": "minilm", "image_encoder": "efficientnet-lite0",
         "image_revision": "2", "image_preprocessing": "224 px"}


def _gallery(name: str = "trip", rows: int = 3) -> StoredGallery:
    vectors = np.random.default_rng(0).normal(size=(rows, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return StoredGallery.empty(name, Path("/photos/trip"), 8, PRINT).with_rows(
        [], [f"{i}.jpg" for i in range(rows)], [f"key{i}" for i in range(rows)], vectors,
        np.arange(rows) % 2 == 1, np.linspace(0, 1, rows), note="kept")


def test_round_trip_and_listing(tmp_path: Path) -> None:
    settings = Settings(artifacts_dir=tmp_path)
    assert list_galleries(settings) == []
    with pytest.raises(GalleryMissingError, match="not indexed"):
        read_gallery(settings, "trip")
    gallery = _gallery()
    write_gallery(settings, gallery)
    (gallery_file(settings, "x").with_name(".x.npz.123.tmp")).write_bytes(b"half")  # a killed write
    back = read_gallery(settings, "trip")
    assert list_galleries(settings) == ["trip"]
    assert back.ids == gallery.ids and back.keys == gallery.keys and back.root == gallery.root
    np.testing.assert_allclose(back.vectors, gallery.vectors, atol=1e-6)
    assert back.flags.tolist() == [False, True, False] and back.info == {"note": "kept"}
    back.check_model(dict(PRINT))
    index = back.index()
    assert index.search(gallery.vectors[0], 3).hits[0].id == "0.jpg"
    smaller = back.with_rows([0, 2], [], [], np.zeros((0, 8)), np.zeros(0, bool), np.zeros(0))
    assert smaller.ids == ["0.jpg", "2.jpg"] and len(smaller.vectors) == 2


def test_another_model_older_format_and_damage_are_named(tmp_path: Path) -> None:
    settings = Settings(artifacts_dir=tmp_path)
    write_gallery(settings, _gallery("test"))
    with pytest.raises(StaleGalleryError, match=r"differs in model_sha256.*python -m core train"):
        read_gallery(settings, "test").check_model({**PRINT, "model_sha256": "cd" * 32})
    np.savez(gallery_file(settings, "old"), ids=np.array(["a"]), vectors=np.zeros((1, 8)),
             flags=np.zeros(1, bool))  # what the previous version wrote
    with pytest.raises(GalleryError, match=r"older version.*python -m core index FOLDER --name old"):
        read_gallery(settings, "old")
    gallery_file(settings, "test").write_bytes(gallery_file(settings, "test").read_bytes()[:200])
    with pytest.raises(GalleryError, match="damaged"):
        read_gallery(settings, "test")


def test_read_only_folder_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(artifacts_dir=tmp_path)
    write_gallery(settings, _gallery())

    def read_only(*_: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(core.foundation.atomic.os, "replace", read_only)
    with pytest.raises(GalleryError, match="writable"):
        write_gallery(settings, replace(_gallery(), ids=["x.jpg", "y.jpg", "z.jpg"]))
    assert read_gallery(settings, "trip").ids == ["0.jpg", "1.jpg", "2.jpg"]  # the old version stands
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_rows_must_line_up() -> None:
    with pytest.raises(ValueError, match="one row per photo"):
        replace(_gallery(), keys=["only one"])
