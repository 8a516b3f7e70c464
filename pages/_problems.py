"""How the pages show core's errors: a message for each kind, never a traceback.

Pages wrap each call into core in ``try: ... except _problems.EXPECTED_ERRORS as exc:
_problems.show_problem(exc)``; anything else is a bug and Streamlit shows it as one.
"""

from __future__ import annotations

import streamlit as st

from core.data.dataset import DataError
from core.encoders.own_weights import OwnWeightsError
from core.encoders.registry import UnknownEncoderError, WeightsUnavailableError
from core.foundation.atomic import UnwritableError
from core.foundation.images import ImageError
from core.gallery import store
from core.measure.reports import EVALUATE_COMMAND, MetricsFormatError, MetricsMissingError
from core.text.wordnet import QueryError, WordNetMissingError
from ui import wording


def show_problem(exc: Exception) -> None:
    """Turn one of core's exceptions into a message (never a traceback)."""
    from core.bundle import ArtifactsMissingError
    from core.search.service import PhotoNotInGalleryError

    message = wording.escape_markdown(str(exc))
    if isinstance(exc, store.GalleryMissingError):
        st.info(f"**This photo gallery is not indexed yet.** {message}", icon=":material/photo_library:")
    elif isinstance(exc, store.IndexFileError | UnwritableError):
        st.error(f"**This photo gallery cannot be used as it is.** {message}",
                 icon=":material/photo_library:")
    elif isinstance(exc, ArtifactsMissingError):
        st.info(
            "**No trained model yet.** Search needs the model and the photo indexes. "
            "Build them (a few minutes on a laptop CPU) with:",
            icon=":material/model_training:",
        )
        st.code(wording.TRAIN_COMMAND, language="bash")
        st.caption(message)
    elif isinstance(exc, MetricsMissingError):
        st.info("**No metrics report yet.** Produce it with:", icon=":material/analytics:")
        st.code(EVALUATE_COMMAND, language="bash")
        st.caption(message)
    elif isinstance(exc, QueryError):
        st.warning(message, icon=":material/edit_note:")
    elif isinstance(exc, DataError):
        st.error(f"**The dataset could not be read.** {message}", icon=":material/database:")
    elif isinstance(exc, MetricsFormatError):
        st.error(message, icon=":material/analytics:")
    elif isinstance(exc, WeightsUnavailableError | OwnWeightsError | WordNetMissingError
                    | UnknownEncoderError):
        st.error(f"**The model cannot run on this machine yet.** {message}", icon=":material/build:")
    elif isinstance(exc, ImageError):
        st.warning(message, icon=":material/broken_image:")
    elif isinstance(exc, PhotoNotInGalleryError):
        st.warning(f"{message} Pick a photo from the results, or search by text.",
                   icon=":material/image_not_supported:")
    else:
        st.error(f"Something went wrong: {message}", icon=":material/error:")


def __getattr__(name: str) -> tuple[type[Exception], ...]:
    """EXPECTED_ERRORS: the exceptions the pages expect from core and show with show_problem().

    Built on first access (``except _problems.EXPECTED_ERRORS`` evaluates it only when an exception
    is raised), so importing this module does not import torch.
    """
    if name != "EXPECTED_ERRORS":
        raise AttributeError(name)
    from core.bundle import ArtifactsMissingError
    from core.search.service import PhotoNotInGalleryError

    return (
        ArtifactsMissingError,
        PhotoNotInGalleryError,
        store.IndexFileError,
        UnwritableError,
        MetricsMissingError,
        MetricsFormatError,
        QueryError,
        DataError,
        WeightsUnavailableError,
        OwnWeightsError,
        WordNetMissingError,
        UnknownEncoderError,
        ImageError,
    )
