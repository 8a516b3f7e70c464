"""On-disk embedding cache, keyed by encoder name and content hash, so re-runs do not recompute.

Each write adds one shard file (written to a temporary name, then renamed), so an interrupted
run keeps every finished batch and a crash never leaves a half-written shard.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from core.encoders.image import Transform
from core.encoders.registry import REGISTRY, get_encoder
from core.foundation.atomic import atomic_save_npz
from core.foundation.settings import photo_runtime
from core.text.wordnet import lemmatize


def content_key(data: bytes) -> str:
    # a content fingerprint for caches and galleries, not a security control: SHA-1 keeps the
    # keys already stored (caches, galleries, uploads' file names) valid
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def file_key(path: Path) -> str:
    return content_key(Path(path).read_bytes())


def text_key(text: str) -> str:
    return content_key(text.encode("utf-8"))


class EmbeddingCache:
    """Vectors of one encoder (plus a variant such as 'lemmatized'), keyed by content hash."""

    def __init__(self, root: Path, namespace: str, dtype: type = np.float32) -> None:
        self.folder = Path(root) / namespace
        self.dtype = dtype
        self._vectors: dict[str, np.ndarray] = {}
        self._loaded = False
        self._lock = threading.Lock()

    def _load(self) -> None:
        if self._loaded:
            return
        if self.folder.is_dir():
            for shard in sorted(self.folder.glob("shard-*.npz")):
                try:
                    with np.load(shard) as data:
                        keys, vectors = data["keys"], data["vectors"]
                except (OSError, ValueError, KeyError):
                    continue  # a damaged shard only costs recomputation
                self._vectors.update(zip(keys.tolist(), vectors, strict=True))
        self._loaded = True

    def get(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        with self._lock:
            self._load()
            return {k: self._vectors[k] for k in keys if k in self._vectors}

    def put(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        if not len(keys):
            return
        with self._lock:
            self._load()
            stored = vectors.astype(self.dtype)
            atomic_save_npz(self.folder / f"shard-{uuid.uuid4().hex}.npz", keys=np.array(keys),
                            vectors=stored)
            self._vectors.update(zip(keys, stored, strict=True))


@cache
def _open_cache(folder: Path, kind: str, encoder_name: str, variant: str) -> EmbeddingCache:
    # One instance per folder and process: its shards are read once, not on every call (ingest
    # calls once per batch). Shards written by another process meanwhile only cost recomputation.
    revision = REGISTRY[encoder_name].revision if encoder_name in REGISTRY else "1"
    # Trunk outputs (9408 numbers a photo) are kept at half precision: 130 MB for 7000 photos.
    dtype = np.float16 if kind == "trunk" else np.float32
    return EmbeddingCache(folder, f"{kind}-{encoder_name}-r{revision}{variant}", dtype)


def runtime_variant(encoder_name: str | None = None) -> str:
    """How the photo runtime marks its vectors: int8 ones (cosine ~0.987 to PyTorch's) are kept
    apart; float32 ONNX Runtime gives PyTorch's vectors (cosine > 0.999), so they share its cache.
    An encoder asked for int8 before it is calibrated runs PyTorch (core.encoders.runtime), so its
    vectors are marked as PyTorch's."""
    if photo_runtime() != "onnx-int8":
        return ""
    if encoder_name is not None and encoder_name in REGISTRY:
        ready = getattr(get_encoder(encoder_name, "image"), "int8_ready", None)
        if ready is None or not ready():
            return ""
    return "-int8"


def open_cache(cache_dir: Path, kind: str, encoder_name: str, variant: str = "") -> EmbeddingCache:
    if kind == "image":
        variant = runtime_variant(encoder_name) + variant
    return _open_cache(Path(cache_dir).resolve(), kind, encoder_name, variant)


def embed_texts(
    texts: Sequence[str],
    encoder_name: str,
    cache_dir: Path,
    lemmatized: bool = False,
    progress: Callable[[int], None] | None = None,
    batch_size: int = 256,
) -> np.ndarray:
    """Encode texts (optionally lemmatized first), reusing and filling the cache."""
    prepared = [lemmatize(t) if lemmatized else t for t in texts]
    cache = open_cache(cache_dir, "text", encoder_name, "-lemma" if lemmatized else "")
    keys = [text_key(t) for t in prepared]
    found = cache.get(keys)
    # Batches of similar length waste less on padding: 4,000 captions encode about 30% faster
    todo = sorted({k: t for k, t in zip(keys, prepared, strict=True) if k not in found}.items(),
                  key=lambda item: (len(item[1]), item[0]))
    if todo:
        encoder = get_encoder(encoder_name, "text")
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            vectors = encoder.encode([t for _, t in chunk])
            cache.put([k for k, _ in chunk], vectors)
            found.update(zip([k for k, _ in chunk], vectors, strict=True))
            if progress is not None:
                progress(len(chunk))
    elif progress is not None:
        progress(len(texts))
    return np.stack([found[k] for k in keys]).astype(np.float32)


def _file_keys(paths: Sequence[Path]) -> tuple[list[str | None], dict[int, str]]:
    keys: list[str | None] = []
    failures: dict[int, str] = {}
    for i, path in enumerate(paths):
        try:
            keys.append(file_key(path))
        except OSError as exc:
            keys.append(None)
            failures[i] = f"{Path(path).name}: cannot read file ({exc.strerror})"
    return keys, failures


def _lookup(paths: Sequence[Path], cache: EmbeddingCache, progress: Callable[[int], None] | None
            ) -> tuple[list[str | None], dict[int, str], dict[str, np.ndarray], list[int]]:
    """(content keys, unreadable files, cached rows, positions still to encode)."""
    keys, failures = _file_keys(paths)
    found = cache.get([k for k in keys if k is not None])
    todo = [i for i, k in enumerate(keys) if k is not None and k not in found]
    if progress is not None and len(paths) > len(todo):
        progress(len(paths) - len(todo))
    return keys, failures, found, todo


def _assemble(keys: list[str | None], failures: dict[int, str], found: dict[str, np.ndarray],
              shape: tuple[int, ...], dtype: type) -> np.ndarray:
    out = np.zeros((len(keys), *shape), dtype=dtype)  # zero rows for failures
    for i, key in enumerate(keys):
        if key is not None and i not in failures:
            out[i] = found[key].reshape(shape)
    return out


def _encode_missing(encoder: Any, paths: Sequence[Path], keys: list[str | None], todo: list[int],
                    failures: dict[int, str], progress: Callable[[int], None] | None, batch_size: int,
                    on_trunk: Callable[[list[int], Any], None] | None = None,
                    transform: Transform | None = None
                    ) -> Iterator[tuple[list[int], list[str], np.ndarray]]:
    """Encode the files at positions ``todo`` batch by batch, recording unreadable ones in
    ``failures``; yields (readable positions within the batch, their keys, their vectors)."""
    extra = {} if transform is None else {"transform": transform}
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        vectors, failed = encoder.encode_paths([paths[i] for i in chunk], progress=progress,
                                               on_trunk=on_trunk, **extra)
        failures.update({chunk[j]: reason for j, reason in failed.items()})
        good = [j for j in range(len(chunk)) if j not in failed]
        if good:
            yield good, [keys[chunk[j]] for j in good], vectors[good]  # type: ignore[misc]


def embed_images(
    paths: Sequence[Path],
    encoder_name: str,
    cache_dir: Path,
    progress: Callable[[int], None] | None = None,
    batch_size: int = 256,
    shift: tuple[str, Transform] | None = None,
) -> tuple[np.ndarray, dict[int, str]]:
    """Encode image files by content, reusing the cache; returns (vectors, {position: reason}).
    With `shift` (cache variant, transform), each decoded photo is transformed first and its
    vector kept apart from the plain one's."""
    variant, transform = shift if shift is not None else ("", None)
    cache = open_cache(cache_dir, "image", encoder_name, variant)
    keys, failures, found, todo = _lookup(paths, cache, progress)
    encoder = get_encoder(encoder_name, "image") if todo else None
    for _, done, vectors in _encode_missing(encoder, paths, keys, todo, failures, progress, batch_size,
                                            transform=transform):
        cache.put(done, vectors)
        found.update(zip(done, vectors, strict=True))
    dim = next(iter(found.values())).shape[0] if found else 0
    return _assemble(keys, failures, found, (dim,), np.float32), failures


def embed_trunks(
    paths: Sequence[Path],
    encoder_name: str,
    cache_dir: Path,
    progress: Callable[[int], None] | None = None,
    batch_size: int = 256,
) -> tuple[np.ndarray, dict[int, str]]:
    """Trunk outputs of image files (for training the child-photo network), float16, cached by
    content. The same pass fills the vector cache, so training encodes each photo once."""
    trunks = open_cache(cache_dir, "trunk", encoder_name)
    # with its trunk asked for, a network runs in PyTorch whatever the runtime: PyTorch's vectors
    vectors = _open_cache(Path(cache_dir).resolve(), "image", encoder_name, "")
    keys, failures, found, todo = _lookup(paths, trunks, progress)
    encoder = get_encoder(encoder_name, "image")
    middle: dict[int, np.ndarray] = {}  # this batch's trunk outputs by position in the batch

    def keep(rows: list[int], output: Any) -> None:
        middle.update(zip(rows, output.numpy().reshape(len(rows), -1), strict=True))

    batches = _encode_missing(encoder, paths, keys, todo, failures, progress, batch_size, keep)
    for good, done, pooled in batches:
        trunks.put(done, np.stack([middle[j] for j in good]))
        vectors.put(done, pooled)
        found.update(trunks.get(done))
        middle.clear()
    return _assemble(keys, failures, found, encoder.trunk_shape(), np.float16), failures
