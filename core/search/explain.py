"""Why this photo: where in a result the query matched, as a heat map over the image encoder's
grid of cells (7x7 at 224 px), drawn over the photo.

A photo's vector is the mean of its cells' vectors (mean pooling), so each cell's vector, read
through the same image tower, says how much that part of the photo carries the match. The
colours are relative within one photo: they show where, not how well (the score says that).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from core.bundle import ModelBundle
from core.encoders.image import DRAFT_SIDE
from core.encoders.registry import get_encoder
from core.foundation.errors import Problem, WithSenseError
from core.foundation.images import load_image
from core.search.service import SearchResponse

# A dark-to-bright palette (magma-like): dark where the query matched least, pale yellow where
# it matched most; readable on most photos and for the common colour-vision deficiencies.
_PALETTE = np.array([(0, 0, 4), (80, 18, 123), (182, 54, 121), (251, 136, 97), (252, 253, 191)],
                    dtype=np.float32)
_ROWS = ("top", "middle", "bottom")
_COLS = ("left", "centre", "right")


class ExplainUnavailableError(WithSenseError, ValueError):
    """There is nothing to explain: a disclaimer, or a search whose query vector is not kept."""

    problem = Problem.NOT_EXPLAINABLE


@dataclass(frozen=True)
class MatchMap:
    image: str
    cells: np.ndarray  # (rows, cols): cosine of the query with each cell, in the two-tower space
    # The decoded photo the map was made from: drawing over it needs no second read of the file.
    photo: Image.Image | None = field(default=None, repr=False, compare=False)

    def heat(self) -> np.ndarray:
        """The cells scaled to 0..1 within this photo (all 0.5 when they are alike)."""
        low, high = float(self.cells.min()), float(self.cells.max())
        if high - low < 1e-6:
            return np.full(self.cells.shape, 0.5, dtype=np.float32)
        return ((self.cells - low) / (high - low)).astype(np.float32)

    def peak(self) -> tuple[int, int]:
        """(row, column) of the cell that matched most."""
        row, col = np.unravel_index(int(np.argmax(self.cells)), self.cells.shape)
        return int(row), int(col)

    def where(self) -> str:
        """Where the match is strongest, in words ('top left', 'centre')."""
        rows, cols = self.cells.shape
        row, col = self.peak()
        vertical, horizontal = _ROWS[min(2, row * 3 // rows)], _COLS[min(2, col * 3 // cols)]
        if vertical == "middle":
            return "centre" if horizontal == "centre" else horizontal
        return vertical if horizontal == "centre" else f"{vertical} {horizontal}"

    def overlay(self, photo: Image.Image | None = None, opacity: float = 0.55) -> Image.Image:
        """The photo (by default the one the map was made from) with the heat map over it: the
        map is stretched to the photo (bilinear)."""
        photo = photo if photo is not None else self.photo
        if photo is None:
            raise ValueError("no photo to draw over: pass one")
        if not 0 <= opacity <= 1:
            raise ValueError(f"opacity must be in [0, 1], got {opacity}")
        heat = Image.fromarray(self.heat(), mode="F").resize(photo.size, Image.Resampling.BILINEAR)
        level = np.clip(np.asarray(heat, dtype=np.float32), 0, 1)
        position = level * (len(_PALETTE) - 1)
        low = np.minimum(position.astype(int), len(_PALETTE) - 2)
        frac = (position - low)[..., None]
        colour = _PALETTE[low] * (1 - frac) + _PALETTE[low + 1] * frac
        base = np.asarray(photo.convert("RGB"), dtype=np.float32)
        alpha = opacity * (0.4 + 0.6 * level[..., None])  # the best match coloured most
        mixed = base * (1 - alpha) + colour * alpha
        return Image.fromarray(np.clip(mixed, 0, 255).astype(np.uint8))

    def overlay_png(self) -> bytes:
        """:meth:`overlay` over the map's own photo, as PNG bytes."""
        out = io.BytesIO()
        self.overlay().save(out, format="PNG")
        return out.getvalue()


def match_map(bundle: ModelBundle, query_vector: np.ndarray, path: Path,
              image: str | None = None) -> MatchMap:
    """The match map of one photo file for a query vector in the two-tower space (a projected
    text query or photo). Raises core.foundation.images.ImageError for a file that is not a usable photo."""
    vector = np.asarray(query_vector, dtype=np.float32).reshape(-1)
    if vector.shape != (bundle.tower.dim,):
        raise ValueError(f"query vector must have {bundle.tower.dim} values, got {vector.shape}")
    photo = load_image(path, draft_side=DRAFT_SIDE)
    cells = get_encoder(bundle.image_encoder, "image").cell_vectors(photo)
    rows, cols, dim = cells.shape
    projected = bundle.tower.embed_image(cells.reshape(rows * cols, dim))
    return MatchMap(image or Path(path).name, (projected @ vector).reshape(rows, cols), photo)


def explain(bundle: ModelBundle, response: SearchResponse) -> list[MatchMap]:
    """One match map per result of a search, in its order (`python -m core search --explain`,
    the Search page's "Why this photo"). A disclaimer has no photos and nothing to explain."""
    if response.disclaimer or response.vector is None:
        raise ExplainUnavailableError("this search has no photos to explain")
    return [match_map(bundle, response.vector, hit.path, hit.image) for hit in response.results]
