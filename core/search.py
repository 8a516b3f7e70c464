"""The search service: a query in, ranked photos with 0..1 scores (or the disclaimer) out.

Used alike by the Streamlit pages, the command line and the benchmark. One service is safe to
share between threads: the model is read-only and the index publishes whole snapshots.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.bundle import ModelBundle
from core.config import Settings
from core.index import VectorIndex
from core.legal import DISCLAIMER, is_child_query
from core.store import read_gallery
from core.text import validate_query

DEFAULT_TOP_K = 12
MAX_TOP_K = 100


@dataclass(frozen=True)
class SearchHit:
    image: str
    path: Path
    score: float  # calibrated relevance, 0..1
    similarity: float  # raw cosine in the two-tower space
    rank: int


@dataclass(frozen=True)
class SearchResponse:
    query: str
    disclaimer: str | None
    results: list[SearchHit] = field(default_factory=list)
    withheld: int = 0
    took_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "disclaimer": self.disclaimer,
            "results": [
                {"image": h.image, "score": round(h.score, 4), "rank": h.rank} for h in self.results
            ],
            "withheld": self.withheld,
            "took_ms": round(self.took_ms, 2),
        }


@dataclass(frozen=True)
class Gallery:
    """A named set of indexed photos: where the files are and their index."""

    name: str
    root: Path
    index: VectorIndex

    def path_of(self, image_id: str) -> Path:
        return self.root / image_id


GALLERY_ROOTS = {"test": ("practicum", "test_images"), "train": ("practicum", "train_images")}


def open_gallery(settings: Settings, name: str, bundle: ModelBundle | None = None) -> Gallery:
    """A stored gallery ready to search; with ``bundle``, one made by another model is refused
    (core.store.StaleGalleryError, naming the command that re-indexes it)."""
    stored = read_gallery(settings, name)
    if bundle is not None:
        stored.check_model(bundle.fingerprint())
    if settings.index_url:
        from core.pgindex import PgVectorIndex  # optional backend, imported only when chosen

        index: VectorIndex = PgVectorIndex.open(settings.index_url, name)
    else:
        index = stored.index()
    return Gallery(name=name, root=stored.root, index=index)


class SearchService:
    def __init__(self, bundle: ModelBundle, gallery: Gallery) -> None:
        self.bundle = bundle
        self.gallery = gallery

    def search(self, query: str, top_k: int = DEFAULT_TOP_K) -> SearchResponse:
        """Raises core.text.QueryError for a query that cannot be answered (empty, too long...)."""
        started = time.perf_counter()
        text = validate_query(query)
        if not 1 <= top_k <= MAX_TOP_K:
            raise ValueError(f"top_k must be between 1 and {MAX_TOP_K}")
        if is_child_query(text):
            return SearchResponse(text, DISCLAIMER, [], 0, (time.perf_counter() - started) * 1000)
        vector = self.bundle.encode_queries([text])[0]
        found = self.gallery.index.search(vector, top_k)
        cosines = np.array([h.similarity for h in found.hits], dtype=np.float64)
        scores = self.bundle.score(self.bundle.tower.centred_cosine(cosines, vector[None, :]))
        hits = [
            SearchHit(h.id, self.gallery.path_of(h.id), float(s), h.similarity, rank)
            for rank, (h, s) in enumerate(zip(found.hits, scores, strict=True), start=1)
        ]
        took = (time.perf_counter() - started) * 1000
        return SearchResponse(text, None, hits, found.withheld, took)


def prewarm(settings: Settings | None = None) -> None:
    """Load what every first search needs (torch, the text encoder, WordNet) ahead of time; the
    app calls it in a background thread at start-up so the first search does not wait for it."""
    from core.encoders import get_encoder
    from core.legal import is_child_query

    settings = settings or Settings()
    is_child_query("a dog runs on the grass")
    get_encoder(settings.text_encoder, "text").encode(["a dog runs on the grass"])


def load_model(settings: Settings | None = None) -> ModelBundle:
    """The trained model, warmed up (text encoder and WordNet loaded) so that the first real
    query is as fast as the later ones."""
    settings = settings or Settings()
    bundle = ModelBundle.load(settings.artifacts_dir)
    is_child_query("a dog runs on the grass")
    bundle.encode_queries(["a dog runs on the grass"])
    return bundle


def load_service(settings: Settings | None = None, gallery: str = "test") -> SearchService:
    """The service over a trained, warmed-up model and one indexed gallery ('test' by default)."""
    settings = settings or Settings()
    bundle = load_model(settings)
    return SearchService(bundle, open_gallery(settings, gallery, bundle))
