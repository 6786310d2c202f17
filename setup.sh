#!/usr/bin/env bash
# Set up pgm_ar on a fresh machine: a virtual environment in .venv with the CPU build
# of torch, the package and its test dependencies, and graphviz's `dot` program.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
VPIP=".venv/bin/python -m pip"
# The pinned CPU build first: a plain `torch` requirement could pull a multi-GB CUDA build.
$VPIP install -q torch==2.13.0
$VPIP install -q -e ".[test]"

# graphviz's `dot` renders the drawings. Prefer the official package; fall back to the
# graphviz-pure wheel (no PDF) with a `dot` link inside the venv.
if ! command -v dot >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz) \
      >/dev/null 2>&1 || echo "setup: apt-get install graphviz failed; trying graphviz-pure" >&2
  fi
fi
if ! command -v dot >/dev/null 2>&1 && [ ! -x .venv/bin/dot ]; then
  if $VPIP install -q graphviz-pure && [ -x .venv/bin/graphviz-pure ]; then
    ln -sf graphviz-pure .venv/bin/dot
  else
    echo "setup: no graphviz 'dot' program; drawings will be written as DOT source only" >&2
  fi
fi
echo "setup: done (.venv ready)"
