"""python -m lab: the research commands (lab/cli.py)."""

from lab.cli import main

raise SystemExit(main())
