"""How the pages show core's errors: a message for each kind, never a traceback.

Pages wrap each call into core in ``try: ... except _problems.EXPECTED_ERRORS as exc:
_problems.show_problem(exc)``. Every error core raises for a person derives from
core.foundation.errors.WithSenseError and names its problem; that module's table gives the level
(info, warning, error) and ui.wording the headline and icon. Anything else is a bug and Streamlit
shows it as one.

The box holds the headline and hint (the project's words); the error's own message follows as
plain text, since it can carry a person's text (a photo's name from a link, a file's name) that
Markdown would turn into a link or an icon.
"""

from __future__ import annotations

import streamlit as st

from core.foundation.errors import Problem, WithSenseError
from core.measure.reports import EVALUATE_COMMAND
from pages import _language
from ui import wording

EXPECTED_ERRORS: tuple[type[Exception], ...] = (WithSenseError,)
# The command that mends a problem, shown as a block the person can copy.
_COMMANDS = {Problem.NO_MODEL: wording.TRAIN_COMMAND, Problem.NO_METRICS: EVALUATE_COMMAND}


def show_problem(exc: Exception) -> None:
    """Turn one of core's exceptions into a message (never a traceback): the headline in a box of
    the problem's level, the command that mends it (if any), then its message as plain text."""
    words = _language.wording()  # the visitor's language; core's messages where it has them
    if not isinstance(exc, WithSenseError):
        st.error(words.UNEXPECTED_HEADLINE, icon=":material/error:")
        st.text(words.core_message(str(exc)))
        return
    headline, icon = words.PROBLEM_HEADLINES[exc.problem]
    show = {"info": st.info, "warning": st.warning}.get(exc.handling.level, st.error)
    hint = words.PROBLEM_HINTS.get(exc.problem)
    show(" ".join(part for part in (headline, hint) if part), icon=icon)
    command = _COMMANDS.get(exc.problem)
    if command is not None:
        st.code(command, language="bash")
    st.text(words.core_message(str(exc)))
