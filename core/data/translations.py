"""The project's own Russian translations of captions (data/ru/, written by hand for this
purpose): `caption_id<TAB>Russian text` per line, by split. `train` (one caption per photo of
3,000 extra-corpus photos) teaches the Russian student; `practicum_test` chooses among its
settings (selection); `holdout` is read only by the final evaluation (clean)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.data.tables import DataError, read_text
from core.foundation.settings import translations_dir

FILES = {"train": "flickr8k_train.ru.tsv", "practicum_test": "practicum_test.ru.tsv",
         "holdout": "holdout.ru.tsv"}


def translation_file(split: str, folder: Path | None = None) -> Path:
    if split not in FILES:
        raise ValueError(f"unknown translation split {split!r}; valid: {', '.join(FILES)}")
    return (translations_dir() if folder is None else Path(folder)) / FILES[split]


def load_translations(split: str, folder: Path | None = None) -> pd.DataFrame:
    """caption_id, image (the caption id's photo), text: one row per translated caption."""
    path = translation_file(split, folder)
    rows = []
    for line_no, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        caption_id, sep, text = line.partition("\t")
        if not sep or "#" not in caption_id or not text.strip():
            raise DataError(path, "expected '<image>#<n><TAB><Russian caption>'", line=line_no)
        rows.append((caption_id, caption_id.split("#", 1)[0], text.strip()))
    frame = pd.DataFrame(rows, columns=["caption_id", "image", "text"])
    if frame["caption_id"].duplicated().any():
        first = frame.loc[frame["caption_id"].duplicated(), "caption_id"].iloc[0]
        raise DataError(path, f"caption {first} is translated twice")
    return frame
