"""What the dataset pages show, computed without Streamlit: home page figures, the explorer's
filters, ordering and paging, the photos it may show, and photo thumbnails (its histograms are in
ui.charts).

Nothing here imports torch or Streamlit; the model is loaded by core.search.service.load_service.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from PIL import Image, ImageOps

from core.data.dataset import TargetReport, list_photos
from core.foundation.images import ImageError, load_image, load_image_bytes
from ui.texts_en import TEXT

if TYPE_CHECKING:
    from collections.abc import Mapping

if TYPE_CHECKING:
    from core.foundation.settings import Settings
    from core.search.details import Judgement, PhotoDetails

# --------------------------------------------------------------------------------------------
# Photos
# --------------------------------------------------------------------------------------------

THUMB_SIZE = (480, 360)


def thumbnail(photo: Path | str | bytes, size: tuple[int, int] = THUMB_SIZE) -> bytes | None:
    """A JPEG of the photo (a file, or an upload's bytes) turned upright and centre-cropped to
    one aspect ratio, so grids line up; None if it is missing or not an image. Every photo the
    pages show goes through here or :func:`thumbnail_of`: only its pixels are sent."""
    try:  # core's reader: every accepted format (HEIC, 16-bit TIFF...), upright, checked
        image = load_image_bytes(photo, "photo")[0] if isinstance(photo, bytes) else load_image(photo)
    except ImageError:
        return None
    return thumbnail_of(image, size)


def thumbnail_of(image: Image.Image, size: tuple[int, int] = THUMB_SIZE) -> bytes:
    """As :func:`thumbnail`, of an image in memory (a photo with its match map drawn over it).

    Pixels only: no EXIF (GPS position, camera, time), XMP or comment of the original travels
    into the JPEG, so a photo's location never leaves the server. Turn it upright first."""
    fitted = ImageOps.fit(image, size, Image.Resampling.LANCZOS)
    fitted.info = {}  # Pillow writes a JPEG comment it finds here (a copy of the original's)
    out = io.BytesIO()
    fitted.save(out, format="JPEG", quality=85, optimize=True, exif=b"")  # exif: none, said outright
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# Dataset: home page figures and the explorer
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetFigures:
    train_photos: int
    test_photos: int
    queries: int
    pairs_judged: int
    pairs_kept: int
    pairs_dropped: int
    expert_votes_kept: int
    crowd_votes_kept: int
    pairs_with_crowd: int


def _count_images(folder: Path) -> int:
    return len(list_photos(folder))


def dataset_figures(table: pd.DataFrame, report: TargetReport, practicum_dir: Path) -> DatasetFigures:
    crowd = table.dropna(subset=["crowd_share"])
    crowd_votes = 0
    if {"n_yes", "n_no"} <= set(crowd.columns):
        crowd_votes = int((crowd["n_yes"].astype(float) + crowd["n_no"].astype(float)).sum())
    return DatasetFigures(
        train_photos=int(table["image"].nunique()),
        test_photos=_count_images(practicum_dir / "test_images"),
        queries=int(table["query_id"].nunique()),
        pairs_judged=report.expert_pairs,
        pairs_kept=len(table),
        pairs_dropped=report.expert_dropped_no_majority + report.pairs_without_text,
        expert_votes_kept=3 * len(table),
        crowd_votes_kept=crowd_votes,
        pairs_with_crowd=report.with_crowd,
    )


def drop_reasons(report: TargetReport, text: Mapping[str, str] = TEXT) -> pd.DataFrame:
    """How many expert-judged pairs each aggregation step dropped, and why (words from `text`:
    ui.texts_en or ui.texts_ru, as for the functions below)."""
    return pd.DataFrame(
        [(text["drop.no_majority"], report.expert_dropped_no_majority),
         (text["drop.no_text"], report.pairs_without_text)],
        columns=[text["drop.reason"], text["drop.pairs"]],
    )


def target_composition(report: TargetReport, text: Mapping[str, str] = TEXT) -> pd.DataFrame:
    """Of the kept pairs, how many blend expert and crowd, and how many use experts alone."""
    return pd.DataFrame(
        [(text["target.blend"], report.with_crowd), (text["target.experts"], report.expert_only)],
        columns=[text["target.target"], text["target.pairs"]],
    )


AGREEMENT_ANY = "Any"
AGREEMENT_ALL = "All 3 agree"
AGREEMENT_TWO = "2 of 3 agree"
AGREEMENT_CHOICES = (AGREEMENT_ANY, AGREEMENT_ALL, AGREEMENT_TWO)
VOTE_LABELS = {
    1: "1 · no match",
    2: "2 · major errors",
    3: "3 · minor errors",
    4: "4 · full match",
}


def agreement(table: pd.DataFrame) -> pd.Series:
    """How many of the three experts gave the majority score (3 or 2)."""
    votes = table[["expert_1", "expert_2", "expert_3"]]
    return votes.eq(table["expert_majority"], axis=0).sum(axis=1).astype(int)


def filter_pairs(
    table: pd.DataFrame,
    text: str = "",
    votes: Iterable[int] | None = None,
    agreement_level: str = AGREEMENT_ANY,
) -> pd.DataFrame:
    """Rows of load_relevance's table that match every filter given.

    text: case-insensitive words that must all appear in the query text (or the image name);
    votes: majority votes to keep (None or empty keeps all);
    agreement_level: one of AGREEMENT_CHOICES.
    """
    if agreement_level not in AGREEMENT_CHOICES:
        raise ValueError(f"agreement_level must be one of {', '.join(AGREEMENT_CHOICES)}")
    mask = pd.Series(True, index=table.index)
    haystack = (table["query_text"].astype(str) + " " + table["image"].astype(str)).str.lower()
    for word in str(text or "").lower().split():
        mask &= haystack.str.contains(word, regex=False)
    chosen = {int(v) for v in votes} if votes is not None else set()
    if chosen:
        mask &= table["expert_majority"].astype(int).isin(chosen)
    if agreement_level != AGREEMENT_ANY:
        need = 3 if agreement_level == AGREEMENT_ALL else 2
        mask &= agreement(table).eq(need)
    return table[mask]


ORDER_SHUFFLED = "Shuffled"
ORDER_TARGET_DESC = "Target: high to low"
ORDER_TARGET_ASC = "Target: low to high"
ORDER_PHOTO = "Photo name"
ORDER_CHOICES = (ORDER_SHUFFLED, ORDER_TARGET_DESC, ORDER_TARGET_ASC, ORDER_PHOTO)


def sort_pairs(table: pd.DataFrame, order: str = ORDER_SHUFFLED, seed: int = 0) -> pd.DataFrame:
    """The pairs in the order to browse them; 'Shuffled' is the same every time for a seed."""
    if order == ORDER_SHUFFLED:
        return table.sample(frac=1.0, random_state=seed)
    if order == ORDER_TARGET_DESC:
        return table.sort_values(["target", "image"], ascending=[False, True], kind="stable")
    if order == ORDER_TARGET_ASC:
        return table.sort_values(["target", "image"], kind="stable")
    if order == ORDER_PHOTO:
        return table.sort_values(["image", "query_id"], kind="stable")
    raise ValueError(f"order must be one of {', '.join(ORDER_CHOICES)}")


def cleared_photos(settings: Settings, gallery: str = "train") -> frozenset[str]:
    """Photos of an indexed gallery that were checked and not flagged as showing a child.

    Only these may be shown outside search too; a photo that is flagged, failed to embed or
    whose gallery is not indexed yet is withheld (empty set when nothing is indexed).
    """
    from core.gallery.store import GalleryMissingError, IndexFileError, read_gallery

    try:
        stored = read_gallery(settings, gallery)
    except (GalleryMissingError, IndexFileError):
        return frozenset()
    return frozenset(name for name, flag in zip(stored.ids, stored.flags, strict=True) if not flag)


def page_count(rows: int, per_page: int) -> int:
    return max(1, math.ceil(rows / per_page))


def page_of(table: pd.DataFrame, page: int, per_page: int) -> pd.DataFrame:
    """Rows of the 1-based page (clamped to the pages that exist)."""
    page = min(max(int(page), 1), page_count(len(table), per_page))
    return table.iloc[(page - 1) * per_page : page * per_page]


def pair_caption(row: pd.Series, text: Mapping[str, str] = TEXT) -> str:
    """One line of the votes behind a pair, e.g. 'Experts 3 · 3 · 2 → 3 | crowd 0.33 | target 0.60'."""
    experts = " · ".join(str(int(row[c])) for c in ("expert_1", "expert_2", "expert_3"))
    crowd = row.get("crowd_share")
    crowd_text = (text["votes.no_crowd"] if crowd is None or pd.isna(crowd)
                  else text["votes.crowd_share"].format(share=f"{float(crowd):.2f}"))
    return text["votes.pair"].format(experts=experts, majority=int(row["expert_majority"]), crowd=crowd_text,
                                     target=f"{row['target']:.2f}")


def explorer_table(table: pd.DataFrame) -> pd.DataFrame:
    """The columns the explorer lists, in a readable order."""
    columns = ["image", "query_text", "expert_1", "expert_2", "expert_3", "expert_majority",
               "expert_score", "crowd_share", "target", "query_id"]
    return table[[c for c in columns if c in table.columns]].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Details of a search result
# --------------------------------------------------------------------------------------------


def judgement_line(judgement: Judgement, text: Mapping[str, str] = TEXT) -> str:
    """The votes on one pair, e.g. 'Experts 3 · 3 · 2 (of 1–4) | crowd 2 of 3 said yes (0.67) |
    target 0.60'."""
    votes = judgement.expert_votes
    parts = [text["votes.no_experts"] if votes is None
             else text["votes.experts"].format(votes=" · ".join(map(str, votes)))]
    if judgement.crowd_share is None:
        parts.append(text["votes.no_crowd"])
    else:
        asked = (judgement.crowd_yes or 0) + (judgement.crowd_no or 0)
        parts.append(text["votes.crowd"].format(yes=judgement.crowd_yes, asked=asked,
                                                share=f"{judgement.crowd_share:.2f}"))
    if judgement.target is not None:
        parts.append(text["votes.target"].format(target=f"{judgement.target:.2f}"))
    return " | ".join(parts)


def judgement_table(details: PhotoDetails, text: Mapping[str, str] = TEXT) -> pd.DataFrame:
    """Every judged query of a photo, one row each, for a table."""
    columns = [text["judged.query"], text["judged.experts"], text["judged.crowd"], text["judged.target"]]
    return pd.DataFrame(
        [(j.query_text, "" if j.expert_votes is None else " · ".join(map(str, j.expert_votes)),
          j.crowd_share, j.target) for j in details.judgements],
        columns=columns,
    )
