"""python -m core: the command line (core/cli/commands.py)."""

import os
import sys

from core.cli import main
from core.foundation.settings import uses_pgvector

code = main()
if sys.argv[1:2] == ["search"] and not uses_pgvector():
    # A search has written all it will: skip the interpreter's teardown of torch and
    # scikit-learn (about 0.5 s of a 3 s cold search). Not with pgvector, whose server may be ours.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
raise SystemExit(code)
