"""What a person writes about a photo besides its file: a description and a recorded consent,
from a folder's sidecar table (``descriptions.csv``: file,description[,consent]) or the upload
form. They join the photo's facts (core.gallery.facts) and replace what was written before; a
photo's own embedded facts (EXIF, IPTC, XMP) stay as they are.

A consent here is the photographer's statement that the parents or legal guardians of a child in
the photo consented to its being shown; core.legal.markets decides where it counts.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from core.data.tables import DataError, read_text
from core.gallery.facts import clean_text, finish, read_facts

SIDECAR = "descriptions.csv"  # a folder's table of descriptions, beside its photos
WRITTEN = ("description", "consent")  # the facts a person writes (the rest come from the file)
_YES = {"yes", "y", "true", "1", "да"}
_NO = {"no", "n", "false", "0", "нет", ""}


def note(description: str = "", consent: bool = False) -> dict[str, Any]:
    """What a person wrote about one photo, as facts (empty fields left out)."""
    text = clean_text(description)
    return {**({"description": text} if text else {}), **({"consent": True} if consent else {})}


def with_written(facts: Mapping[str, Any], written: Mapping[str, Any]) -> dict[str, Any]:
    """The facts with the person's own description and consent replaced by ``written``."""
    kept = {k: v for k, v in facts.items() if k not in WRITTEN}
    return finish({**kept, **{k: v for k, v in written.items() if k in WRITTEN and v}})


def read_sidecar(path: Path, ids: Iterable[str]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """A folder's sidecar table (CSV with a header: file, description and optionally consent,
    yes or no): (written facts by photo id, the names of rows that match no photo). A row's file
    is the photo's path under the folder, or its bare name when one photo has it. Raises
    core.data.tables.DataError (file and line) for a table that cannot be read."""
    text = read_text(path)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    fields = [(f or "").strip() for f in reader.fieldnames or []]
    if "file" not in fields or "description" not in fields:
        raise DataError(path, f"expected the columns file,description[,consent]; found {','.join(fields)}", 1)
    known = set(ids)
    by_name: dict[str, list[str]] = {}
    for image_id in sorted(known):
        by_name.setdefault(Path(image_id).name, []).append(image_id)
    written: dict[str, dict[str, Any]] = {}
    unmatched: list[str] = []
    try:
        for raw in reader:
            row = {(k or "").strip(): v for k, v in raw.items() if isinstance(v, str)}
            name = row.get("file", "").strip()
            consent = row.get("consent", "").strip().lower()
            if consent not in _YES | _NO:
                raise DataError(path, f"consent must be yes or no, got {consent[:20]!r}", reader.line_num)
            same_name = by_name.get(name, [])
            image_id = name if name in known else same_name[0] if len(same_name) == 1 else None
            if image_id is None:
                unmatched.append(clean_text(name, 100))
                continue
            written[image_id] = note(row.get("description", ""), consent in _YES)
    except csv.Error as exc:
        raise DataError(path, f"not a CSV table: {exc}", reader.line_num) from exc
    return written, unmatched


class Notes:
    """The written facts an indexing run brings: a folder's sidecar speaks for every photo of the
    folder (a photo it leaves out has nothing written); an upload only for the photos uploaded."""

    def __init__(self, written: Mapping[str, Mapping[str, Any]] | None = None, whole: bool = False) -> None:
        self.written, self.whole = dict(written or {}), whole

    def facts(self, image_id: str, path: Path, old: Mapping[str, Any] | None, read: bool) -> dict[str, Any]:
        """A photo's facts after this run: its file's (read again when ``read``, or when it has
        none stored: a gallery indexed before facts existed) with what is written now."""
        speaks = self.whole or image_id in self.written
        written = self.written.get(image_id, {}) if speaks else {k: v for k, v in (old or {}).items()
                                                                    if k in WRITTEN}
        if old is not None and not read and written == {k: v for k, v in old.items() if k in WRITTEN}:
            return dict(old)  # nothing new: the child check of its text is not run again
        return with_written(read_facts(path) if read or old is None else old, written)
