"""`python -m core`: the command line. The commands live in `commands`, their grammar in
`parser`; this is the one place that prints."""

from core.cli.commands import main

__all__ = ["main"]
