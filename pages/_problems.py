"""How the pages show core's errors: a message for each kind, never a traceback.

Pages wrap each call into core in ``try: ... except _problems.EXPECTED_ERRORS as exc:
_problems.show_problem(exc)``. Every error core raises for a person derives from
core.foundation.errors.WithSenseError and names its problem; that module's table gives the level
(info, warning, error) and ui.wording the headline and icon. Anything else is a bug and Streamlit
shows it as one.
"""

from __future__ import annotations

import streamlit as st

from core.foundation.errors import Problem, WithSenseError
from core.measure.reports import EVALUATE_COMMAND
from ui import wording

EXPECTED_ERRORS: tuple[type[Exception], ...] = (WithSenseError,)
# The command that mends a problem, shown as a block the person can copy.
_COMMANDS = {Problem.NO_MODEL: wording.TRAIN_COMMAND, Problem.NO_METRICS: EVALUATE_COMMAND}


def show_problem(exc: Exception) -> None:
    """Turn one of core's exceptions into a message (never a traceback)."""
    message = wording.escape_markdown(str(exc))
    if not isinstance(exc, WithSenseError):
        st.error(f"Something went wrong: {message}", icon=":material/error:")
        return
    headline, icon = wording.PROBLEM_HEADLINES[exc.problem]
    show = {"info": st.info, "warning": st.warning}.get(exc.handling.level, st.error)
    command = _COMMANDS.get(exc.problem)
    if command is not None:
        show(headline, icon=icon)
        st.code(command, language="bash")
        st.caption(message)
        return
    hint = wording.PROBLEM_HINTS.get(exc.problem)
    text = " ".join(part for part in (headline, message, hint) if part)
    show(text, icon=icon)
