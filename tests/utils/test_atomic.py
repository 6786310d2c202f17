"""Atomic writes (pgm_ar.utils.atomic): complete files or none, the usual permissions."""
from __future__ import annotations

import os

import pytest

from pgm_ar.utils import atomic as atomic_mod
from pgm_ar.utils.atomic import atomic_write_bytes, atomic_write_text


def test_atomic_write_creates_parents_and_writes(tmp_path):
    target = tmp_path / "a" / "b" / "out.txt"
    assert atomic_write_text(target, "héllo\n") == target
    assert target.read_bytes() == "héllo\n".encode("utf-8")
    atomic_write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert os.listdir(target.parent) == ["out.txt"]  # no temp file left behind


def test_new_files_get_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    target = atomic_write_text(tmp_path / "perm.txt", "x")
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    os.chmod(target, 0o640)
    atomic_write_text(target, "y")
    assert target.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("broken", ["replace", "fsync"])
def test_failed_write_leaves_the_old_file(broken, tmp_path, monkeypatch):
    target = tmp_path / "keep.txt"
    target.write_text("old content")

    def boom(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(atomic_mod.os, broken, boom)
    with pytest.raises(OSError, match="disk on fire"):
        atomic_write_text(target, "new content that never lands")
    monkeypatch.undo()
    assert target.read_text() == "old content"
    assert os.listdir(tmp_path) == ["keep.txt"]


def test_the_old_import_path_is_the_same_function():
    from pgm_ar.io import atomic as old
    from pgm_ar.io import atomic_write_text as reexported

    assert old.atomic_write_bytes is atomic_write_bytes
    assert old.atomic_write_text is reexported is atomic_write_text


def test_writing_does_not_import_the_readers():
    """Atomic writes live outside pgm_ar.io, so a module that only writes files (training
    logs, pictures) does not pay for the BIF parser, YAML and networkx."""
    import subprocess
    import sys
    from pathlib import Path

    repo = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [repo] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    code = ("import sys, pgm_ar.utils.atomic, pgm_ar.utils.suggest, pgm_ar.utils.enums, "
            "pgm_ar.utils.seeding; print(sorted(m for m in ('yaml', 'networkx', 'torch', "
            "'pgm_ar.io') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60, env=env, cwd=repo)
    assert out.stdout.strip() == "[]"
