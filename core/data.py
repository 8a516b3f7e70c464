"""Reading the course dataset, the extra corpus and holdout, and building the training targets.

Every user mistake (missing file or column, wrong separator, listed image absent, duplicate rows)
raises :class:`DataError` naming the file and, where it applies, the line.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pandas as pd


class DataError(ValueError):
    """A data file is missing or malformed; the message names the file (and line)."""

    def __init__(self, path: Path | str, problem: str, line: int | None = None) -> None:
        where = f"{path}" + (f", line {line}" if line is not None else "")
        super().__init__(f"{where}: {problem}")
        self.path = Path(path)
        self.line = line


EXPERT_COLUMNS = ["image", "query_id", "expert_1", "expert_2", "expert_3"]
CROWD_COLUMNS = ["image", "query_id", "share_yes", "n_yes", "n_no"]


def _require_file(path: Path) -> Path:
    if not path.is_file():
        raise DataError(path, "file not found (set WITHSENSE_DATA or run scripts/setup.sh)")
    return path


def _read_table(
    path: Path,
    sep: str,
    columns: list[str],
    header: bool = True,
    numeric: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Read a delimited file, checking columns, separator, numbers and duplicates."""
    _require_file(path)
    if path.stat().st_size == 0:
        raise DataError(path, "file is empty")
    try:
        frame = pd.read_csv(
            path,
            sep=sep,
            header=0 if header else None,
            names=None if header else columns,
            dtype=str,
            keep_default_na=False,
            quoting=csv.QUOTE_NONE,
            engine="python" if len(sep) == 1 and sep == "|" else "c",
        )
    except pd.errors.ParserError as exc:
        raise DataError(path, f"cannot parse with separator {sep!r}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise DataError(path, "not a UTF-8 text file") from exc
    first_line = 2 if header else 1  # 1-based file line of the first data row
    if header:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            hint = ""
            if len(frame.columns) == 1:
                hint = f" (only one column read: is the separator {sep!r}?)"
            raise DataError(path, f"missing column(s) {', '.join(missing)}{hint}", line=1)
        frame = frame[columns]
    else:
        if frame.shape[1] != len(columns) or frame.isna().any(axis=None):
            raise DataError(path, f"expected {len(columns)} columns separated by {sep!r}")
        blank = frame.eq("").any(axis=1)
        if blank.any():
            line = int(blank.to_numpy().argmax()) + first_line
            raise DataError(path, f"expected {len(columns)} columns separated by {sep!r}", line=line)
    for column in numeric:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna()
        if bad.any():
            row = int(bad.to_numpy().argmax())
            raise DataError(
                path,
                f"column {column!r} holds {frame[column].iloc[row]!r}, not a number",
                line=row + first_line,
            )
        frame[column] = values
    return frame


def _reject_duplicates(frame: pd.DataFrame, path: Path, keys: list[str], header: bool) -> None:
    dup = frame.duplicated(subset=keys, keep="first")
    if dup.any():
        row = int(dup.to_numpy().argmax())
        pair = ", ".join(str(frame[k].iloc[row]) for k in keys)
        raise DataError(path, f"duplicate row for ({pair})", line=row + (2 if header else 1))


def load_train_pairs(practicum_dir: Path) -> pd.DataFrame:
    """train_dataset.csv: image, query_id, query_text (one row per pair)."""
    path = practicum_dir / "train_dataset.csv"
    frame = _read_table(path, ",", ["image", "query_id", "query_text"])
    _reject_duplicates(frame, path, ["image", "query_id"], header=True)
    return frame


def load_expert(practicum_dir: Path) -> pd.DataFrame:
    """ExpertAnnotations.tsv (no header): three scores 1..4 per pair."""
    path = practicum_dir / "ExpertAnnotations.tsv"
    scores = ("expert_1", "expert_2", "expert_3")
    frame = _read_table(path, "\t", EXPERT_COLUMNS, header=False, numeric=scores)
    for column in scores:
        bad = ~frame[column].between(1, 4)
        if bad.any():
            row = int(bad.to_numpy().argmax())
            raise DataError(path, f"{column} must be 1..4, got {frame[column].iloc[row]}", line=row + 1)
        frame[column] = frame[column].astype(int)
    _reject_duplicates(frame, path, ["image", "query_id"], header=False)
    return frame


def load_crowd(practicum_dir: Path) -> pd.DataFrame:
    """CrowdAnnotations.tsv (no header): share of 'yes' votes and the vote counts."""
    path = practicum_dir / "CrowdAnnotations.tsv"
    frame = _read_table(path, "\t", CROWD_COLUMNS, header=False, numeric=("share_yes", "n_yes", "n_no"))
    bad = ~frame["share_yes"].between(0, 1)
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise DataError(path, "share_yes must be within 0..1", line=row + 1)
    _reject_duplicates(frame, path, ["image", "query_id"], header=False)
    return frame


def load_test_queries(practicum_dir: Path) -> pd.DataFrame:
    """test_queries.csv, separated by '|', with an unnamed index column."""
    path = practicum_dir / "test_queries.csv"
    frame = _read_table(path, "|", ["query_id", "query_text", "image"])
    _reject_duplicates(frame, path, ["query_id"], header=True)
    return frame


def load_test_images(practicum_dir: Path) -> list[str]:
    path = practicum_dir / "test_images.csv"
    frame = _read_table(path, ",", ["image"])
    _reject_duplicates(frame, path, ["image"], header=True)
    return frame["image"].tolist()


def check_images_exist(names: list[str], folder: Path, listed_in: Path) -> None:
    """Every image a table names must be in its folder."""
    if not folder.is_dir():
        raise DataError(folder, "image folder not found")
    present = {p.name for p in folder.iterdir()}
    for row, name in enumerate(names):
        if name not in present:
            raise DataError(listed_in, f"image {name!r} is listed but absent from {folder}", line=row + 2)


def load_flickr_captions(flickr_dir: Path) -> pd.DataFrame:
    """Flickr8k.token.txt restricted to the photos present in flickr8k/images/.

    The token file also holds captions of the practicum and holdout photos; keeping only the
    images in this folder is what keeps the extra corpus disjoint from evaluation data.
    """
    path = _require_file(flickr_dir / "Flickr8k.token.txt")
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            if "\t" not in line or "#" not in line.split("\t", 1)[0]:
                raise DataError(path, "expected '<image>#<n><TAB><caption>'", line=line_no)
            caption_id, caption = line.rstrip("\n").split("\t", 1)
            rows.append((caption_id.split("#", 1)[0], caption_id, caption))
    frame = pd.DataFrame(rows, columns=["image", "caption_id", "caption"])
    images_dir = flickr_dir / "images"
    if not images_dir.is_dir():
        raise DataError(images_dir, "image folder not found")
    present = {p.name for p in images_dir.iterdir()}
    return frame[frame["image"].isin(present)].reset_index(drop=True)


def load_holdout(holdout_dir: Path) -> pd.DataFrame:
    """holdout/captions.tsv: image, caption_id, caption. FINAL EVALUATION ONLY."""
    path = holdout_dir / "captions.tsv"
    frame = _read_table(path, "\t", ["image", "caption_id", "caption"])
    _reject_duplicates(frame, path, ["caption_id"], header=True)
    return frame


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


def build_targets(
    train: pd.DataFrame,
    expert: pd.DataFrame,
    crowd: pd.DataFrame,
    expert_weight: float = 0.6,
    crowd_weight: float = 0.4,
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
    kept = kept.merge(
        crowd[["image", "query_id", "share_yes", "n_yes", "n_no"]].rename(
            columns={"share_yes": "crowd_share"}
        ),
        on=["image", "query_id"],
        how="left",
    )
    texts = train[["query_id", "query_text"]].drop_duplicates("query_id")
    kept = kept.merge(texts, on="query_id", how="left")
    without_text = int(kept["query_text"].isna().sum())
    kept = kept.dropna(subset=["query_text"])
    has_crowd = kept["crowd_share"].notna()
    total = expert_weight + crowd_weight
    blended = (expert_weight * kept["expert_score"] + crowd_weight * kept["crowd_share"]) / total
    kept["target"] = blended.where(has_crowd, kept["expert_score"])
    report = TargetReport(
        expert_pairs=len(expert),
        expert_majority=len(scored) - int(scored["expert_majority"].isna().sum()),
        expert_dropped_no_majority=int(scored["expert_majority"].isna().sum()),
        crowd_pairs=len(crowd),
        with_crowd=int(has_crowd.sum()),
        expert_only=int((~has_crowd).sum()),
        pairs_without_text=without_text,
    )
    return kept.reset_index(drop=True), report


def load_relevance(
    practicum_dir: Path, expert_weight: float = 0.6, crowd_weight: float = 0.4
) -> tuple[pd.DataFrame, TargetReport]:
    """The training table: one row per expert-judged pair with its text and 0..1 target."""
    train = load_train_pairs(practicum_dir)
    check_images_exist(train["image"].drop_duplicates().tolist(), practicum_dir / "train_images",
                       practicum_dir / "train_dataset.csv")
    return build_targets(train, load_expert(practicum_dir), load_crowd(practicum_dir),
                         expert_weight, crowd_weight)
