"""Documentation that runs: every ```python block of the pages listed here is executed, in
order, in one namespace per page (from a scratch directory), and each ``print(...)  # text``
whose comment gives the expected output is compared with what it printed."""
from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = ["docs/pyro.md", "docs/reliability.md"]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)
EXPECT = re.compile(r"^(\s*)print\((.*)\)\s+#\s*(.+)$")


def blocks(page: str):
    return BLOCK.findall((REPO / page).read_text())


def _checked(code: str) -> str:
    """Rewrite ``print(x)  # expected`` into an assertion on the printed text."""
    out = []
    for line in code.splitlines():
        m = EXPECT.match(line)
        if m:
            indent, expr, want = m.groups()
            out.append(f"{indent}_got = _show({expr})")
            out.append(f"{indent}assert _got == {want.strip()!r}, (_got, {want.strip()!r})")
        else:
            out.append(line)
    return "\n".join(out)


def _show(*args) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        print(*args)
    return buf.getvalue().strip()


@pytest.mark.parametrize("page", PAGES)
def test_every_block_runs_and_prints_what_it_says(page, tmp_path, monkeypatch):
    found = blocks(page)
    assert found, f"{page} has no python blocks"
    monkeypatch.chdir(tmp_path)
    namespace = {"_show": _show, "__name__": "__docs__"}
    for i, code in enumerate(found):
        try:
            exec(compile(_checked(code), f"{page}[block {i + 1}]", "exec"), namespace)
        except AssertionError as exc:
            raise AssertionError(f"{page}, block {i + 1}: printed {exc}") from None
