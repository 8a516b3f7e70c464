#!/usr/bin/env bash
# Set up, train the default model when artifacts/ has none that this version can read (a few
# minutes on 2 cores, once), then serve the app on http://localhost:8501.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
usable='from core.foundation.settings import Settings; from core.bundle import ModelBundle; from core.gallery.store import read_gallery
s = Settings(); m = ModelBundle.load(s.artifacts_dir); read_gallery(s, "test").check_model(m.fingerprint())'
if ! .venv/bin/python -c "$usable" 2>/dev/null; then
  .venv/bin/python -m core train
fi
# serve.py: streamlit run app.py, with the model loading from process start (docs/experiments.md, 'The app: details and page-load timings')
exec .venv/bin/python serve.py --server.port "${PORT:-8501}"
