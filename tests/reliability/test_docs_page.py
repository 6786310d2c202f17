"""docs/reliability.md names a test for each guarantee: every one it names exists."""
from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "reliability.md"


def _functions(path: Path) -> set:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


def test_every_named_test_exists():
    text = PAGE.read_text(encoding="utf-8")
    named = 0
    for cell in re.findall(r"\| ([^|\n]*tests/[^|\n]*) \|", text):
        current = None
        for ref in re.findall(r"`([^`]+)`", cell):
            file_part, _, func = ref.rpartition("::")
            if file_part:
                current = REPO / file_part
            assert current is not None and current.is_file(), ref
            assert func in _functions(current), f"{ref}: no such test in {current.name}"
            named += 1
    assert named >= 30


def test_every_limit_is_documented():
    import dataclasses

    from pgm_ar.limits import Limits

    text = PAGE.read_text(encoding="utf-8")
    for f in dataclasses.fields(Limits):
        assert f"`{f.name}` | {getattr(Limits(), f.name):,} |" in text, f.name
