"""What the repository itself ships: a licence matching pyproject, no stray build artefacts."""
from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_license_file_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    license_text = (REPO / "LICENSE").read_text()
    assert project["license"]["text"] == "MIT"
    assert license_text.startswith("MIT License\n") and "pgm_ar authors" in license_text
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in license_text


def test_no_wheels_or_archives_are_tracked():
    try:
        tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                                 timeout=30)
    except OSError:  # no git program: look at the files themselves
        tracked = None
    if tracked is not None and tracked.returncode == 0:
        names = tracked.stdout.splitlines()
    else:  # not a git checkout (an unpacked source archive)
        names = [str(p.relative_to(REPO)) for p in REPO.glob("*")]
    stray = [n for n in names if n.endswith((".whl", ".tar.gz", ".zip", ".egg"))]
    assert stray == []
