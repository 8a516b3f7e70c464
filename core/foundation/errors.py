"""The errors a person can meet, and what the pages and the command line make of them.

Every error core raises for a person to read derives from :class:`WithSenseError` and names its
:class:`Problem`; :data:`HANDLING` is the one table that gives each problem its page level and
its exit code. The pages (pages/_problems.py) and the command line (core/cli) both read it, so a
new error class reaches both by naming its problem. Messages are written for the person: what
went wrong and the command or step that mends it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar


class Problem(StrEnum):
    """What kind of trouble an error is, as a page shows it."""

    NO_MODEL = "no_model"  # nothing trained yet: `python -m core train`
    NOT_INDEXED = "not_indexed"  # a gallery not indexed yet
    GALLERY_UNUSABLE = "gallery_unusable"  # a gallery's files damaged, stale or not writable
    NO_METRICS = "no_metrics"  # no metrics report yet: `python -m core evaluate`
    METRICS_UNREADABLE = "metrics_unreadable"
    BAD_QUERY = "bad_query"  # what the person typed
    BAD_FILTER = "bad_filter"  # a filter typed in a form the search box does not read
    BAD_DATA = "bad_data"  # the dataset's files
    CANNOT_RUN = "cannot_run"  # weights, WordNet or a model config missing or wrong
    BAD_PHOTO = "bad_photo"  # a photo file that cannot be used
    NOT_IN_GALLERY = "not_in_gallery"  # a photo named that the gallery does not hold
    INDEXING = "indexing"  # an indexing run refused its input
    NOT_EXPLAINABLE = "not_explainable"  # "why this photo" cannot be drawn for this result
    BAD_REQUEST = "bad_request"  # a command's options that do not fit together
    ENGINE = "engine"  # the engine a run asked for (Ray) not installed, out of reach or failing
    UPLOAD_LIMIT = "upload_limit"  # a visitor's uploads would pass the cap on photos or megabytes


@dataclass(frozen=True)
class Handling:
    level: str  # how a page shows it: "info" (a step not taken yet), "warning" (the input), "error"
    exit_code: int  # what `python -m core` exits with


USAGE = 2  # the exit code of an error the person can mend (argparse's own code for bad usage)
UNAVAILABLE = 69  # a service the command needs cannot be reached (sysexits' EX_UNAVAILABLE)
HANDLING: dict[Problem, Handling] = {
    Problem.NO_MODEL: Handling("info", USAGE),
    Problem.NOT_INDEXED: Handling("info", USAGE),
    Problem.GALLERY_UNUSABLE: Handling("error", USAGE),
    Problem.NO_METRICS: Handling("info", USAGE),
    Problem.METRICS_UNREADABLE: Handling("error", USAGE),
    Problem.BAD_QUERY: Handling("warning", USAGE),
    Problem.BAD_FILTER: Handling("warning", USAGE),
    Problem.BAD_DATA: Handling("error", USAGE),
    Problem.CANNOT_RUN: Handling("error", USAGE),
    Problem.BAD_PHOTO: Handling("warning", USAGE),
    Problem.NOT_IN_GALLERY: Handling("warning", USAGE),
    Problem.INDEXING: Handling("error", USAGE),
    Problem.NOT_EXPLAINABLE: Handling("warning", USAGE),
    Problem.BAD_REQUEST: Handling("warning", USAGE),
    Problem.ENGINE: Handling("error", UNAVAILABLE),
    Problem.UPLOAD_LIMIT: Handling("warning", USAGE),
}


class WithSenseError(Exception):
    """The base of every error meant for a person; subclasses name their :class:`Problem`."""

    problem: ClassVar[Problem] = Problem.BAD_REQUEST

    @property
    def handling(self) -> Handling:
        return HANDLING[self.problem]
