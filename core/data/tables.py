"""Reading a user's delimited text files (CSV, TSV, '|'-separated) with checks: every mistake
(missing file or column, wrong separator, bad byte, blank or non-numeric field, duplicate row,
value out of range) raises :class:`DataError` naming the file and, where it applies, the line.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
from core.foundation.errors import Problem, WithSenseError


class DataError(WithSenseError, ValueError):
    """A data file is missing or malformed; the message names the file (and line)."""

    problem = Problem.BAD_DATA

    def __init__(self, path: Path | str, problem: str, line: int | None = None) -> None:
        where = f"{path}" + (f", line {line}" if line is not None else "")
        super().__init__(f"{where}: {problem}")
        self.path = Path(path)
        self.line = line


_OTHER_SEPARATORS = (",", "\t", "|", ";")




def require_file(path: Path) -> Path:
    if not path.is_file():
        raise DataError(path, "file not found (set WITHSENSE_DATA or run scripts/setup.sh)")
    return path


def read_text(path: Path) -> str:
    """The whole file as text; a bad byte is reported with its line, not pandas' chunk offset."""
    require_file(path)
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(path, "file is empty")
    try:
        return raw.decode("utf-8-sig")  # a BOM (Excel's UTF-8 export) is not part of the header
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(path, f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save it as UTF-8",
                        line=line) from exc


def _separator_hint(line: str, sep: str) -> str:
    counts = {s: line.count(s) for s in _OTHER_SEPARATORS if s != sep}
    best = max(counts, key=lambda s: counts[s])
    return f"; it looks separated by {best!r} instead" if counts[best] else ""


def read_table(path: Path, sep: str, columns: list[str], header: bool = True,
               numeric: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a delimited file, checking columns, separator, numbers and blanks.

    The frame's index holds the 1-based file line of each row, for messages; loaders reset it.
    """
    text = read_text(path)
    # Comma files are real CSV with quoted fields ("a large , white tube"); the tab and '|'
    # files are raw text in which a quote is just a character (Young boy with a " ADHD " shirt).
    quoting = csv.QUOTE_MINIMAL if sep == "," else csv.QUOTE_NONE
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, quoting=quoting, strict=True)
    positions = list(range(len(columns)))
    expected = len(columns)
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for fields in reader:
            if any(f.strip() for f in fields):  # blank lines (a trailing newline) are not rows
                rows.append(fields)
                lines.append(reader.line_num)
    except csv.Error as exc:
        raise DataError(path, f"cannot parse with separator {sep!r}: {exc}", line=reader.line_num) from exc
    if not rows:
        raise DataError(path, "file is empty")
    if header:
        names = [f.strip() for f in rows[0]]
        missing = [c for c in columns if c not in names]
        if missing:
            raise DataError(
                path,
                f"missing column(s) {', '.join(missing)}; expected columns separated by {sep!r}"
                + _separator_hint(text.splitlines()[lines[0] - 1], sep),
                line=lines[0],
            )
        positions = [names.index(c) for c in columns]
        expected = len(names)
        rows, lines = rows[1:], lines[1:]
        if not rows:
            raise DataError(path, "has a header but no data rows")
    for fields, line in zip(rows, lines, strict=True):
        if len(fields) != expected:
            raise DataError(
                path,
                f"{len(fields)} field(s) where {expected} are expected, separated by {sep!r}"
                + _separator_hint(text.splitlines()[line - 1], sep),
                line=line,
            )
    frame = pd.DataFrame([[f[i] for i in positions] for f in rows], columns=columns, index=lines)
    for column in columns:
        blank = frame[column].str.strip() == ""
        if blank.any():
            raise DataError(path, f"column {column!r} is empty", line=int(frame.index[blank.argmax()]))
    for column in numeric:
        values = pd.to_numeric(frame[column].str.strip(), errors="coerce")
        bad = values.isna() | ~np.isfinite(values)
        if bad.any():
            line = int(frame.index[bad.argmax()])
            raise DataError(path, f"column {column!r} holds {frame.at[line, column]!r}, not a number",
                            line=line)
        frame[column] = values
    return frame


def reject_duplicates(frame: pd.DataFrame, path: Path, keys: list[str]) -> None:
    dup = frame.duplicated(subset=keys, keep="first")
    if dup.any():
        line = int(frame.index[dup.argmax()])
        pair = ", ".join(str(frame.at[line, k]) for k in keys)
        first = int(frame.index[(frame[keys] == frame.loc[line, keys]).all(axis=1).argmax()])
        raise DataError(path, f"duplicate row for ({pair}), first seen on line {first}", line=line)


def check_range(frame: pd.DataFrame, path: Path, column: str, low: float, high: float,
                integer: bool = False) -> None:
    values = frame[column]
    bad = ~values.between(low, high)
    if integer:
        bad |= values != values.round()
    if bad.any():
        line = int(frame.index[bad.argmax()])
        kind = "a whole number" if integer else "a number"
        raise DataError(path, f"{column} must be {kind} from {low:g} to {high:g}, got {values[line]:g}",
                        line=line)
