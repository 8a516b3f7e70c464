#!/usr/bin/env bash
# One-time setup on a fresh Debian machine: system packages, a virtualenv, WordNet for NLTK,
# and a link to the shared data. Safe to run again: every step skips what is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

need_apt=()
for pkg in wordnet-base wordnet-sense-index chromium; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo ">> apt-get install ${need_apt[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need_apt[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  echo ">> creating .venv"
  "$PY" -m venv .venv
fi
echo ">> pip install requirements.lock (torch comes from the local wheel cache when present)"
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -r requirements.lock
# The project itself, editable: `python -m core`, `withsense` and the tests import it from here.
.venv/bin/pip install -q --no-deps -e .

# Data: link the shared dataset when it is there, never copy it into git.
if [ ! -e data/practicum ] && [ -d ../shared/data/practicum ]; then
  mkdir -p data
  for part in practicum flickr8k holdout; do
    [ -e "data/$part" ] || ln -s "$(cd ../shared/data && pwd)/$part" "data/$part"
  done
  echo ">> linked ../shared/data into data/"
fi
# After the data: the WordNet step prebuilds answers for the captions' words.
echo ">> WordNet for NLTK"
.venv/bin/python scripts/setup_wordnet.py .nltk_data

echo ">> setup done"
