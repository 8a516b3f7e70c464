"""Reading the course dataset, the extra corpus and holdout, and building the training targets.

Every user mistake (missing file or column, wrong separator, listed image absent, duplicate rows)
raises :class:`DataError` (core.data.tables) naming the file and, where it applies, the line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.tables import DataError, check_range, read_table, read_text, reject_duplicates
from core.foundation.images import IMAGE_SUFFIXES

EXPERT_COLUMNS = ["image", "query_id", "expert_1", "expert_2", "expert_3"]
CROWD_COLUMNS = ["image", "query_id", "share_yes", "n_yes", "n_no"]


def _train_pairs(practicum_dir: Path) -> pd.DataFrame:
    path = practicum_dir / "train_dataset.csv"
    frame = read_table(path, ",", ["image", "query_id", "query_text"])
    reject_duplicates(frame, path, ["image", "query_id"])
    return frame


def load_train_pairs(practicum_dir: Path) -> pd.DataFrame:
    """train_dataset.csv: image, query_id, query_text (one row per pair)."""
    return _train_pairs(practicum_dir).reset_index(drop=True)


def load_expert(practicum_dir: Path) -> pd.DataFrame:
    """ExpertAnnotations.tsv (no header): three scores 1..4 per pair."""
    path = practicum_dir / "ExpertAnnotations.tsv"
    scores = ("expert_1", "expert_2", "expert_3")
    frame = read_table(path, "\t", EXPERT_COLUMNS, header=False, numeric=scores)
    for column in scores:
        check_range(frame, path, column, 1, 4, integer=True)
        frame[column] = frame[column].astype(int)
    reject_duplicates(frame, path, ["image", "query_id"])
    return frame.reset_index(drop=True)


def load_crowd(practicum_dir: Path) -> pd.DataFrame:
    """CrowdAnnotations.tsv (no header): share of 'yes' votes and the vote counts."""
    path = practicum_dir / "CrowdAnnotations.tsv"
    frame = read_table(path, "\t", CROWD_COLUMNS, header=False, numeric=("share_yes", "n_yes", "n_no"))
    check_range(frame, path, "share_yes", 0, 1)
    for column in ("n_yes", "n_no"):
        check_range(frame, path, column, 0, 1e6, integer=True)
        frame[column] = frame[column].astype(int)
    reject_duplicates(frame, path, ["image", "query_id"])
    return frame.reset_index(drop=True)


def load_test_queries(practicum_dir: Path, check_files: bool = True) -> pd.DataFrame:
    """test_queries.csv, separated by '|', with an unnamed index column."""
    path = practicum_dir / "test_queries.csv"
    frame = read_table(path, "|", ["query_id", "query_text", "image"])
    reject_duplicates(frame, path, ["query_id"])
    if check_files:
        check_images_exist(frame["image"].tolist(), practicum_dir / "test_images", path,
                           lines=frame.index.tolist())
    return frame.reset_index(drop=True)



def list_photos(folder: Path) -> list[Path]:
    """The photos directly in `folder`, sorted by name: files with an image suffix, hidden ones
    left out; none when the folder is absent. Every reader of a data folder's photos asks here."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file())

def check_images_exist(names: list[str], folder: Path, listed_in: Path,
                       lines: list[int] | None = None) -> None:
    """Every image a table names must be in its folder; ``lines`` are the names' file lines
    (by default one name per row after a header)."""
    if not folder.is_dir():
        raise DataError(folder, f"image folder not found (named by {listed_in.name})")
    present = {p.name for p in list_photos(folder)}
    for row, name in enumerate(names):
        if name not in present:
            line = lines[row] if lines is not None else row + 2
            raise DataError(listed_in, f"image {name!r} is listed but absent from {folder}", line=line)


def load_flickr_captions(flickr_dir: Path, images: set[str] | None = None) -> pd.DataFrame:
    """Flickr8k.token.txt restricted to the photos present in flickr8k/images/ (or to `images`).

    The token file also holds captions of the practicum and holdout photos; keeping only the
    images in this folder is what keeps the extra corpus disjoint from evaluation data.
    """
    path = flickr_dir / "Flickr8k.token.txt"
    rows = []
    for line_no, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        if "\t" not in line or "#" not in line.split("\t", 1)[0]:
            raise DataError(path, "expected '<image>#<n><TAB><caption>'", line=line_no)
        caption_id, caption = line.split("\t", 1)
        rows.append((caption_id.split("#", 1)[0], caption_id, caption))
    frame = pd.DataFrame(rows, columns=["image", "caption_id", "caption"])
    if images is not None:
        return frame[frame["image"].isin(images)].reset_index(drop=True)
    images_dir = flickr_dir / "images"
    if not images_dir.is_dir():
        raise DataError(images_dir, "image folder not found")
    present = {p.name for p in list_photos(images_dir)}
    return frame[frame["image"].isin(present)].reset_index(drop=True)


# Extra-corpus photos held out from towers and the text fine-tune to choose settings on: as many
# as holdout has, so a selection figure is about as precise as the clean one (holdout is never read).
VALIDATION_PHOTOS = 1000


def validation_photos(names: Iterable[str], seed: int, count: int = VALIDATION_PHOTOS) -> set[str]:
    """`count` of the photo `names` (at most half of them), drawn with `seed`: the same set
    for every caller with the same names and seed."""
    unique = sorted(set(names))
    drawn = np.random.default_rng(seed).choice(len(unique), size=min(count, len(unique) // 2),
                                               replace=False)
    return {unique[i] for i in drawn}


def load_holdout(holdout_dir: Path) -> pd.DataFrame:
    """holdout/captions.tsv: image, caption_id, caption. FINAL EVALUATION ONLY."""
    path = holdout_dir / "captions.tsv"
    frame = read_table(path, "\t", ["image", "caption_id", "caption"])
    reject_duplicates(frame, path, ["caption_id"])
    return frame.reset_index(drop=True)


@dataclass(frozen=True)
class TargetReport:
    """How many pairs each aggregation step keeps."""

    expert_pairs: int
    expert_majority: int
    expert_dropped_no_majority: int
    crowd_pairs: int
    with_crowd: int
    expert_only: int
    pairs_without_text: int


def majority_vote(expert: pd.DataFrame) -> pd.Series:
    """The score at least two of the three experts gave, or NaN when all three differ."""
    votes = expert[["expert_1", "expert_2", "expert_3"]].to_numpy()
    out = pd.Series(float("nan"), index=expert.index)
    a, b, c = votes[:, 0], votes[:, 1], votes[:, 2]
    agree_ab = a == b
    agree_c = (a == c) | (b == c)
    out[agree_ab] = a[agree_ab]
    rest = ~agree_ab & agree_c
    out[rest] = c[rest]
    return out


def build_targets(train: pd.DataFrame, expert: pd.DataFrame, crowd: pd.DataFrame,
                  expert_weight: float = 0.6, crowd_weight: float = 0.4
                  ) -> tuple[pd.DataFrame, TargetReport]:
    """Aggregate expert votes by majority, join the crowd share and combine them.

    The target is ``expert_weight * expert + crowd_weight * crowd`` where both exist and the
    expert score alone otherwise; expert scores 1..4 map linearly onto 0..1.
    """
    if expert_weight < 0 or crowd_weight < 0 or expert_weight + crowd_weight <= 0:
        raise ValueError("expert_weight and crowd_weight must be >= 0 and not both 0")
    scored = expert.copy()
    scored["expert_majority"] = majority_vote(scored)
    kept = scored.dropna(subset=["expert_majority"]).copy()
    kept["expert_majority"] = kept["expert_majority"].astype(int)
    kept["expert_score"] = (kept["expert_majority"] - 1) / 3.0
    crowd = crowd[["image", "query_id", "share_yes", "n_yes", "n_no"]]
    kept = kept.merge(crowd.rename(columns={"share_yes": "crowd_share"}), on=["image", "query_id"],
                      how="left")
    texts = train[["query_id", "query_text"]].drop_duplicates("query_id")
    kept = kept.merge(texts, on="query_id", how="left")
    without_text = int(kept["query_text"].isna().sum())
    kept = kept.dropna(subset=["query_text"])
    has_crowd = kept["crowd_share"].notna()
    total = expert_weight + crowd_weight
    blended = (expert_weight * kept["expert_score"] + crowd_weight * kept["crowd_share"]) / total
    kept["target"] = blended.where(has_crowd, kept["expert_score"])
    dropped = int(scored["expert_majority"].isna().sum())
    report = TargetReport(
        expert_pairs=len(expert), expert_majority=len(scored) - dropped,
        expert_dropped_no_majority=dropped, crowd_pairs=len(crowd), with_crowd=int(has_crowd.sum()),
        expert_only=int((~has_crowd).sum()), pairs_without_text=without_text,
    )
    return kept.reset_index(drop=True), report


def load_relevance(practicum_dir: Path, expert_weight: float = 0.6, crowd_weight: float = 0.4
                   ) -> tuple[pd.DataFrame, TargetReport]:
    """The training table: one row per expert-judged pair with its text and 0..1 target."""
    train = _train_pairs(practicum_dir)
    check_images_exist(train["image"].tolist(), practicum_dir / "train_images",
                       practicum_dir / "train_dataset.csv", lines=train.index.tolist())
    return build_targets(train.reset_index(drop=True), load_expert(practicum_dir),
                         load_crowd(practicum_dir), expert_weight, crowd_weight)
