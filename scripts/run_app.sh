#!/usr/bin/env bash
# Set up, train the default model when artifacts/ has none (about 4 minutes on 2 cores, once),
# then serve the app on http://localhost:8501.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -f artifacts/model.pt ]; then
  .venv/bin/python -m core train
fi
exec .venv/bin/streamlit run app.py --server.port "${PORT:-8501}"
