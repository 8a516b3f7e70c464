"""With Sense photo search: the shared library behind the app and the command line."""

__version__ = "0.1.0"
