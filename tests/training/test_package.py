"""The package: its public names, and what importing it loads."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pgm_ar.training as training


def test_public_names_are_importable():
    for name in training.__all__:
        assert getattr(training, name) is not None
    from pgm_ar.utils.devices import resolve_device

    assert training.resolve_device is resolve_device


def test_importing_the_training_loop_loads_no_file_readers():
    # atomic writes live in pgm_ar.utils: the loop does not pull in the BIF / spec readers,
    # the YAML loader or networkx
    repo = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [repo] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    code = ("import sys, pgm_ar.training; print(sorted(m for m in ('yaml', 'networkx', "
            "'pgm_ar.io', 'pgm_ar.model', 'pgm_ar.network') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60, env=env, cwd=repo)
    assert out.stdout.strip() == "[]"
