#!/usr/bin/env bash
# Lint and run every test (core, app pages, real browser, pgvector). Run scripts/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
