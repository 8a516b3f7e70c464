"""What the dataset says about one photo, for analysts: its captions and every query–photo pair
judged about it (the three expert votes, the crowd's share of 'yes', the 0..1 training target);
and, for any indexed photo, its facts as lines of text (:func:`fact_text`).

Looked up by the photo's file, so only photos in the dataset's own folders (practicum test and
train photos, the extra corpus) have details: an upload that happens to share a dataset photo's
name gets none. Holdout is never read: its folder has no details, and the Flickr8k token file's
lines about holdout photos are dropped by ``load_flickr_captions`` before anything keeps them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from core.data import dataset as data
from core.foundation.settings import Settings
from core.gallery.facts import fact_lines
from core.text.query import tokenize


@dataclass(frozen=True)
class Judgement:
    """One judged query–photo pair. Expert votes are 1..4 (None: only the crowd judged it);
    crowd figures are None where only the experts did; target is the training target (None when
    the experts had no majority, or the pair has no expert votes)."""

    query_id: str
    query_text: str
    expert_votes: tuple[int, int, int] | None
    crowd_share: float | None
    crowd_yes: int | None
    crowd_no: int | None
    target: float | None


@dataclass(frozen=True)
class PhotoDetails:
    image: str
    source: str  # which part of the dataset the photo belongs to; "" when it is not a dataset photo
    captions: tuple[str, ...]
    judgements: tuple[Judgement, ...]

    def judgement_for(self, query: str) -> Judgement | None:
        """The pair of this photo and ``query`` if it was judged (same words, any case or
        punctuation: the practicum's texts end in " ." where a person types none)."""
        words = tokenize(query)
        return next((j for j in self.judgements if tokenize(j.query_text) == words), None)


def _own_captions(queries: pd.DataFrame) -> pd.DataFrame:
    """Practicum query ids are '<photo>#<n>': the text is a caption of that photo."""
    return pd.DataFrame({"image": queries["query_id"].str.split("#").str[0],
                         "caption": queries["query_text"]})


def _optional(value: object) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


class DatasetDetails:
    """The dataset's captions and judgements, read once; ``photo()`` answers per photo."""

    def __init__(self, folders: dict[Path, str], captions: pd.DataFrame, judged: pd.DataFrame) -> None:
        self._folders = folders
        self._captions = {image: tuple(group["caption"]) for image, group in captions.groupby("image")}
        self._judged = {image: group for image, group in judged.groupby("image")}

    @classmethod
    def load(cls, settings: Settings) -> DatasetDetails:
        """Raises core.data.dataset.DataError when a practicum file is missing or malformed; the extra
        corpus is optional (without its token file, practicum photos keep their own captions)."""
        practicum = settings.practicum_dir
        folders = {practicum / "test_images": "practicum test", practicum / "train_images": "practicum train"}
        train = data.load_train_pairs(practicum)
        frames = [_own_captions(data.load_test_queries(practicum, check_files=False)), _own_captions(train)]
        if (settings.flickr_dir / "images").is_dir():
            folders[settings.flickr_dir / "images"] = "extra corpus"
        if (settings.flickr_dir / "Flickr8k.token.txt").is_file():
            names = {p.name for folder in folders for p in data.list_photos(folder)}
            frames.append(data.load_flickr_captions(settings.flickr_dir, names)[["image", "caption"]])
        captions = pd.concat(frames).drop_duplicates()
        resolved = {folder.resolve(): source for folder, source in folders.items()}
        return cls(resolved, captions, _judged_pairs(practicum, train))

    def photo(self, path: Path) -> PhotoDetails:
        source = self._folders.get(Path(path).resolve().parent, "")
        image = Path(path).name
        if not source:
            return PhotoDetails(image, "", (), ())
        judged = self._judged.get(image)
        rows = () if judged is None else tuple(
            Judgement(
                query_id=str(row.query_id), query_text=str(row.query_text),
                expert_votes=None if pd.isna(row.expert_1) else
                (int(row.expert_1), int(row.expert_2), int(row.expert_3)),
                crowd_share=_optional(row.share_yes),
                crowd_yes=None if pd.isna(row.n_yes) else int(row.n_yes),
                crowd_no=None if pd.isna(row.n_no) else int(row.n_no),
                target=_optional(row.target),
            )
            for row in judged.itertuples(index=False)
        )
        return PhotoDetails(image, source, self._captions.get(image, ()), rows)


def fact_text(facts: Mapping[str, Any]) -> list[str]:
    """A result's facts (core.gallery.facts: camera, lens, date, place, what the photographer
    wrote), one "Label: value" line each, for plain-text display."""
    return [f"{label}: {value}" for label, value in fact_lines(facts)]


def _judged_pairs(practicum: Path, train: pd.DataFrame) -> pd.DataFrame:
    """Every pair the experts or the crowd judged, with its query text and training target."""
    expert, crowd = data.load_expert(practicum), data.load_crowd(practicum)
    targets, _ = data.build_targets(train, expert, crowd)
    pairs = expert.merge(crowd, on=["image", "query_id"], how="outer")
    texts = train[["query_id", "query_text"]].drop_duplicates("query_id")
    pairs = pairs.merge(texts, on="query_id", how="left")
    pairs["query_text"] = pairs["query_text"].fillna("")
    pairs = pairs.merge(targets[["image", "query_id", "target"]], on=["image", "query_id"], how="left")
    # experts first, then the most 'yes' from the crowd: the pairs an analyst reads first
    return pairs.sort_values(["target", "share_yes"], ascending=False, na_position="last")
