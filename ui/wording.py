"""What the Streamlit pages say, computed without Streamlit: shared texts and legends, commands
to run, gallery names, search notes, model facts, upload summaries, and markdown escaping.

A person's text (a query, a photo's or file's name, a caption, a gallery name, or a message that
carries one) is shown with ``st.text``, never inside Markdown: the sentences here that hold one
are plain text. Escaping does not make Markdown safe for them (:func:`escape_markdown` says why):
it is kept for the project's own strings in tables and captions.

Nothing here imports torch or Streamlit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.foundation.errors import Problem
from core.foundation.settings import PROJECT_ROOT
from core.legal.lexicon import DISCLAIMER
from core.measure.reports import PROVENANCE

if TYPE_CHECKING:
    from core.bundle import ModelBundle
    from core.measure.reports import MetricsReport

# --------------------------------------------------------------------------------------------
# Wording shared by the pages
# --------------------------------------------------------------------------------------------

TRAIN_COMMAND = "python -m core train"

# What a page puts before an error's own message, and its icon, by core.foundation.errors.Problem
# (tests check that every problem has its line here).
PROBLEM_HEADLINES: dict[Problem, tuple[str, str]] = {
    Problem.NO_MODEL: ("**No trained model yet.** Search needs the model and the photo indexes. "
                       "Build them (a few minutes on a laptop CPU) with:", ":material/model_training:"),
    Problem.NOT_INDEXED: ("**This photo gallery is not indexed yet.**", ":material/photo_library:"),
    Problem.GALLERY_UNUSABLE: ("**This photo gallery cannot be used as it is.**", ":material/photo_library:"),
    Problem.NO_METRICS: ("**No metrics report yet.** Produce it with:", ":material/analytics:"),
    Problem.METRICS_UNREADABLE: ("**The metrics report cannot be read.**", ":material/analytics:"),
    Problem.BAD_QUERY: ("**This search cannot run as typed.**", ":material/edit_note:"),
    Problem.BAD_FILTER: ("**A filter in this search is not written in a form search reads.**",
                         ":material/filter_alt_off:"),
    Problem.BAD_DATA: ("**The dataset could not be read.**", ":material/database:"),
    Problem.CANNOT_RUN: ("**The model cannot run on this machine yet.**", ":material/build:"),
    Problem.BAD_PHOTO: ("**This photo cannot be used.**", ":material/broken_image:"),
    Problem.NOT_IN_GALLERY: ("**This photo is not in the gallery.**", ":material/image_not_supported:"),
    Problem.INDEXING: ("**These photos could not be indexed.**", ":material/photo_library:"),
    Problem.NOT_EXPLAINABLE: ("**Where this photo matched cannot be drawn.**", ":material/visibility_off:"),
    Problem.BAD_REQUEST: ("**This request cannot be answered.**", ":material/error:"),
    Problem.ENGINE: ("**The indexing engine could not run.**", ":material/hub:"),
    Problem.UPLOAD_LIMIT: ("**Your uploads are full.**", ":material/block:"),
}
# A page shows the headline (and hint) in a box, then the error's own message as plain text.
UNEXPECTED_HEADLINE = "**Something went wrong.**"
# A hint after the headline, for problems the person can step around.
PROBLEM_HINTS: dict[Problem, str] = {
    Problem.NOT_IN_GALLERY: "Pick a photo from the results, or search by text.",
}

EXAMPLE_QUERIES: tuple[str, ...] = (
    "Dog in the water",
    "Biking on a trail",
    "Busy city street",
    "Surfer on a wave",
)

SCORE_LEGEND = (
    "Score 0–1: how experts and the crowd would likely rate the match, on the training target's "
    "scale: 1 full match · 0.67 minor errors · 0.33 major errors · 0 no match."
)

EXPLAIN_HELP = (
    "Colours each photo by where it matched the query: pale yellow where it matched most, dark "
    "purple where least (the photo is read as a 7x7 grid). Colours compare the parts of one "
    "photo; the score says how well the whole photo matched."
)
EXPLAIN_LEGEND = "Pale yellow: where each photo matched the query most; dark purple: least."
# Short enough for a result card's width at 1280 px, so every card keeps one line for it.
BEST_MATCH = "Best match: "
SIMILARITY_LEGEND = (
    "Similarity: the cosine between the two photos' vectors in the search space (1 = the same "
    "vector). It is not the 0–1 score of a text search: that score is calibrated on judged "
    "description–photo pairs, and no one judged pairs of photos."
)

LINK_SET_ASIDE = "**Part of the link that opened this page was set aside:**"

LINK_UNAVAILABLE = "A search by an uploaded photo cannot be shared as a link: the photo stays on this server."

LEGAL_NOTE = (
    "Photos that our classifier flags as showing a child are never shown, to comply with local "
    "legislation on images of children."
)

WITHHELD_PHOTO = "Photo withheld: flagged as showing a child (local legislation)."
# The law's words for a child query (core's; ui.wording_ru has them in Russian).
DISCLAIMER_TEXT = DISCLAIMER

GALLERY_LABELS = {
    "all": "All photos",
    "test": "Practicum test",
    "train": "Practicum train",
    "uploads": "Your uploads",
}

# Characters that start markdown, HTML or Streamlit directives (:emoji:, :red[...], $math$)
# anywhere in a line; list and heading markers only matter at the start (handled below).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~$:])")
_LINE_START = re.compile(r"^(\s*)(\d+)([.)])|^(\s*)([-+=>])")


def project_path(path: str | Path) -> str:
    """A file inside the project as its path from the project's folder (reports/metrics.json),
    the way the README names it; a file elsewhere (a setting pointing out) in full."""
    try:
        return Path(path).resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def escape_markdown(text: str) -> str:
    """One line of the project's own text (a model's name, a file path) shown as it is inside
    Streamlit markdown (st.markdown, st.table's cells...).

    Not for a person's text: Streamlit looks for links, icons and emoji in the text that is left
    once the escapes are read, so www.x.com, http://x and a@b.co still become links,
    :material/name: an icon and :smile: an emoji. A person's text goes to ``st.text``."""
    flat = " ".join(str(text).splitlines())
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", flat)
    return _LINE_START.sub(
        lambda m: f"{m[1]}{m[2]}\\{m[3]}" if m[2] is not None else f"{m[4]}\\{m[5]}", escaped, count=1
    )


def number(count: int) -> str:
    """A whole number with its thousands marked: 6,999 (ui.wording_ru: 6 999)."""
    return f"{count:,}"


def core_message(message: str) -> str:
    """core's message as a page shows it (ui.wording_ru translates the ones it knows)."""
    return message


def source_label(source: str) -> str:
    """core.search.details' name for a part of the dataset ('practicum test')."""
    return source


def match_place(where: str) -> str:
    """core.search.explain's words for where a photo matched most ('top left')."""
    return where


def results_for(query: str) -> str:
    """The heading of a text search's results (plain text: the query is a person's)."""
    return f"Results for “{query}”"


def photos_like(name: str) -> str:
    """The heading of a search by photo (plain text: the name is a file's or a link's)."""
    return f"Photos like “{name}”"


def result_line(name: str, rank: int, score: float | None, similarity: float) -> str:
    """A result card's first line of details, e.g. 'dog.jpg · rank 1 · score 0.82 · cosine 0.512'
    (plain text: the name is a file's)."""
    scored = "" if score is None else f" · score {format_score(score)}"
    return f"{name} · rank {rank}{scored} · cosine {similarity:.3f}"


def gallery_label(name: str) -> str:
    return GALLERY_LABELS.get(name, f"Gallery “{name}”")


def default_gallery(galleries: Sequence[str]) -> str | None:
    """'all' (every photo) when it is indexed, else 'test', else the first gallery, else None."""
    for preferred in ("all", "test"):
        if preferred in galleries:
            return preferred
    return galleries[0] if galleries else None


def format_score(score: float) -> str:
    """A 0..1 score with two decimals (clipped, so rounding never shows 1.01 or -0.00)."""
    return f"{min(max(float(score), 0.0), 1.0):.2f}"


def took_note(took_ms: float, shown: int | None, gallery_size: int | None = None) -> str:
    """'12 photos among 100 · search took 76 ms'; shown=None (a blocked query): the time only."""
    if shown is None:
        return f"search took {took_ms:,.0f} ms"
    among = f" among {gallery_size:,}" if gallery_size else ""
    photos = "photo" if shown == 1 else "photos"
    return f"{shown} {photos}{among} · search took {took_ms:,.0f} ms"


def similarity_text(similarity: float) -> str:
    """A photo-to-photo cosine as shown on a result card."""
    return f"similarity {similarity:.2f}"


def withheld_note(withheld: int, top_k: int) -> str | None:
    """Why some results are missing, or None when nothing was held back."""
    if withheld <= 0:
        return None
    photos = "photo" if withheld == 1 else "photos"
    verb = "is" if withheld == 1 else "are"
    return (
        f"{withheld} {photos} from the top {top_k} {verb} withheld: flagged or described as showing a child, "
        "which local legislation does not allow us to show."
    )


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


def model_facts(bundle: ModelBundle) -> list[tuple[str, str]]:
    """(label, value) rows describing the model in use, from the bundle and its info."""
    info: dict[str, Any] = dict(bundle.info or {})
    rows = [
        ("Relevance model", str(info.get("model", "two_tower")).replace("_", "-")),
        ("Text encoder", bundle.text_encoder),
        ("Image encoder", bundle.image_encoder),
        ("Query lemmatization", "on" if bundle.lemmatize else "off"),
        ("Shared space", f"{bundle.tower.dim} dimensions"),
    ]
    if "corpus_pairs" in info:
        rows.append(("Caption–photo pairs used for training", f"{int(info['corpus_pairs']):,}"))
    if "calibration_pairs" in info:
        rows.append(("Judged pairs used for the 0–1 calibration", f"{int(info['calibration_pairs']):,}"))
    child = bundle.child_classifier
    rows.append(("Child-photo classifier", f"{child.description}, recall ≥ {child.target_recall:.2f} at "
                 f"{child.confidence:.0%} confidence"))
    if "child_threshold" in info:
        rows.append(("Child-photo classifier threshold", f"{float(info['child_threshold']):.3g}"))
    return rows


def upload_summary(report: dict[str, Any]) -> str:
    """One sentence on what an upload did (counts only: file names are shown as plain text)."""
    parts = [f"{report['added']} photo(s) added to your uploads"]
    if report["flagged"]:
        parts.append(f"{report['flagged']} of them hidden: they may show a child")
    if report["unchanged"]:
        parts.append(f"{report['unchanged']} already there")
    if report["skipped"]:
        parts.append(f"{len(report['skipped'])} skipped (not a usable image)")
    return "; ".join(parts) + ". Choose “Your uploads” under Photo gallery to search them."


# --------------------------------------------------------------------------------------------
# Metrics page sentences
# --------------------------------------------------------------------------------------------

LEGAL_LABELS = {  # key: (short label, what it measures)
    "query_recall": ("Child queries caught", "Share of child-related test queries that get the disclaimer"),
    "query_false_alarm": ("Other queries blocked", "Share of other test queries given the disclaimer"),
    "image_recall_holdout": ("Child photos flagged", "Share of holdout photos of children that are withheld"),
    "image_withheld_nonchild_holdout": (
        "Other photos withheld", "Share of holdout photos without children that are withheld anyway"
    ),
    "image_recall_holdout_worst_shift": (
        "Child photos flagged, worst shift",
        "The lowest share of holdout photos of children withheld when every photo is resized, "
        "cropped, letterboxed, recompressed, made grey or framed small (one shift at a time)"),
    "image_withheld_nonchild_holdout_worst_shift": (
        "Other photos withheld, worst shift",
        "The highest share of holdout photos without children withheld under one of those shifts"),
}


def retrieval_sizes(report: MetricsReport) -> str:
    """'Practicum test: 500 descriptions of 100 photos; Holdout: ...' for what the report holds."""
    parts = []
    for row in report.retrieval.itertuples(index=False):
        if not (math.isnan(row.queries) or math.isnan(row.images)):
            parts.append(f"{row.label}: {int(row.queries):,} descriptions of {int(row.images):,} photos")
    return "; ".join(parts)


def provenance(section: str) -> str:
    """'Clean figure: ...' or 'Selection figure: ...' for a section of the report (core's words)."""
    return PROVENANCE[section].note()


def retrieval_provenance(report: MetricsReport) -> str:
    """'Practicum test: selection figure, ... Holdout: clean figure, ...' for the sets it holds."""
    parts = []
    for row in report.retrieval.itertuples(index=False):
        kind = PROVENANCE.get(f"retrieval.{row.split}")
        if kind:
            parts.append(f"{row.label}: {kind.kind} figure, {kind.why}.")
    return " ".join(parts)


def legal_rows(report: MetricsReport) -> list[tuple[str, str, str]]:
    """(label, percentage, explanation) rows for the legal checks that the report holds."""
    rows = []
    for key, (label, meaning) in LEGAL_LABELS.items():
        if key in report.legal:
            rows.append((label, f"{report.legal[key] * 100:.1f}%", meaning))
    return rows
