#!/usr/bin/env bash
# Set up pgm_ar on a fresh machine: a virtual environment in .venv with torch (the CPU build,
# or the CUDA build where an NVIDIA GPU is present), the package and its test dependencies,
# and graphviz's `dot` program. Running it again on a ready .venv is quick.
#
# Environment:
#   PYTHON=python3.X          the interpreter that makes .venv (default: python3)
#   PGM_AR_TORCH=auto|cpu|cuda|skip
#                             which torch build (default auto: cuda when `nvidia-smi` finds a
#                             GPU, else cpu); skip leaves torch alone (install your own first)
#   PGM_AR_TORCH_INDEX=URL    a wheel index for torch instead of the default for the choice
#                             (e.g. https://download.pytorch.org/whl/cu126)
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
TORCH_VERSION=2.13.0
CPU_INDEX=https://download.pytorch.org/whl/cpu

# -- which torch: a plain `torch` requirement on Linux pulls the multi-GB CUDA build from PyPI,
# which a machine without a GPU does not need
want=${PGM_AR_TORCH:-auto}
case "$want" in auto|cpu|cuda|skip) ;; *)
  echo "setup: PGM_AR_TORCH must be auto, cpu, cuda or skip, not '$want'" >&2; exit 2 ;;
esac
if [ "$want" = auto ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    want=cuda
  else
    want=cpu
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
VPY=.venv/bin/python
VPIP="$VPY -m pip"

# The installed torch as "VERSION BUILD" (build: cpu or cuda), read from torch/version.py
# without importing torch (that takes seconds); nothing when torch is absent.
installed_torch() {
  "$VPY" - <<'EOF' 2>/dev/null || true
import importlib.util, pathlib
spec = importlib.util.find_spec("torch")
if spec is not None and spec.origin:
    info = {}
    exec((pathlib.Path(spec.origin).parent / "version.py").read_text(), info)
    print(info["__version__"].split("+")[0], "cuda" if info.get("cuda") else "cpu")
EOF
}

# -- torch, before anything that depends on it
if [ "$want" != skip ]; then
  have=$(installed_torch)
  if [ "$have" = "$TORCH_VERSION $want" ]; then
    : # the right build is there already
  else
    if [ -n "$have" ]; then
      echo "setup: replacing torch ($have) with the $want build of torch $TORCH_VERSION" >&2
      $VPIP uninstall -q -y torch
    fi
    index=${PGM_AR_TORCH_INDEX:-}
    if [ -z "$index" ] && [ "$want" = cpu ]; then index=$CPU_INDEX; fi
    # Try the chosen index briefly (no retries: an offline machine must not wait), then the
    # configured default, which also serves machines that reach only a local mirror.
    if [ -n "$index" ] && $VPIP install -q --timeout 15 --retries 0 --index-url "$index" \
        "torch==$TORCH_VERSION" 2>/dev/null; then
      :
    else
      if [ -n "$index" ]; then
        echo "setup: no torch==$TORCH_VERSION from $index; trying the default index" >&2
      fi
      $VPIP install -q "torch==$TORCH_VERSION"
    fi
    have=$(installed_torch)
    if [ "$have" != "$TORCH_VERSION $want" ]; then
      echo "setup: warning: wanted the $want build of torch $TORCH_VERSION, got ${have:-none}" \
        "(set PGM_AR_TORCH_INDEX to a wheel index that has it)" >&2
    fi
  fi
fi

# -- the package (editable) and its test dependencies; skipped when this checkout is installed
# and pyproject.toml's requirements are all met (pip resolving again takes seconds)
if ! "$VPY" - <<'EOF' 2>/dev/null; then
import importlib.metadata as md, json, pathlib, sys, tomllib
from packaging.requirements import Requirement
sys.path = [p for p in sys.path if p not in ("", ".")]  # not the build's pgm_ar.egg-info here
project = tomllib.loads(pathlib.Path("pyproject.toml").read_text())["project"]
dist = md.distribution("pgm_ar")
url = json.loads(dist.read_text("direct_url.json") or "{}")
if (url.get("url") != pathlib.Path.cwd().resolve().as_uri()
        or not url.get("dir_info", {}).get("editable") or dist.version != project["version"]
        or not all(pathlib.Path(".venv/bin", s).exists() for s in project.get("scripts", {}))):
    sys.exit(1)
for text in project["dependencies"] + project.get("optional-dependencies", {}).get("test", []):
    req = Requirement(text)
    if req.marker is None or req.marker.evaluate():
        if not req.specifier.contains(md.version(req.name), prereleases=True):
            sys.exit(1)
EOF
  $VPIP install -q -e ".[test]"
fi

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
# Headless Chromium for the test that opens the demo's HTML report (optional: without it that
# test skips and says why). PGM_AR_CHROMIUM=skip leaves it out.
if [ "${PGM_AR_CHROMIUM:-auto}" != skip ]; then
  bash scripts/install_chromium.sh || true
fi
echo "setup: done (.venv ready; torch: $(installed_torch || true))"
