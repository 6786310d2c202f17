"""Documentation that runs: every code block of README.md and docs/*.md is executed, or is
explicitly not code to run.

Each page runs in its own scratch directory (with ``examples/`` of the repository linked in), its
blocks in order, the ``python`` blocks in one namespace per page. Block kinds, by the fence's
language:

``python``
    executed. A line ``print(expr)  # text`` checks that the printed text equals ``text``
    (``...`` matches anything, as in doctests); a block that starts with ``>>>`` is run as a
    doctest (``ELLIPSIS``, ``NORMALIZE_WHITESPACE``).
``console``
    a transcript: each ``$ command`` runs, and the lines after it, when there are any, are
    compared with what it printed (``...`` matches anything, runs of white space are one
    space). A command whose shown output has ``pgm-ar: error:`` must fail with exit code 2,
    every other must succeed.
``bash``
    every command runs and must succeed (nothing is compared).
``text``, ``yaml``, ``json``
    shown, not run (outputs, formulas, file layouts, specs); ``yaml`` and ``json`` must parse.

A ``python``, ``console`` or ``bash`` block that cannot run here (it needs MNIST, a GPU, a long
run, or it is the set-up itself) is preceded by the line ``<!-- not run: REASON -->``. A fence
without a language, or with another one, fails the test: nothing is left out silently.

Commands run in this process, not in a shell: ``pgm-ar ...`` (also ``.venv/bin/pgm-ar``) calls
``pgm_ar.cli.main``, ``python -c CODE`` (also ``.venv/bin/python``) executes ``CODE``; leading
``NAME=value`` assignments are ignored. Anything else fails the test with a hint to mark the
block."""
from __future__ import annotations

import contextlib
import doctest
import io
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PAGES = ["README.md"] + sorted(p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.md"))
RUN = {"python", "console", "bash"}
SHOWN = {"text", "yaml", "json"}
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")
NOT_RUN = re.compile(r"^<!--\s*not run:\s*(\S.*?)\s*-->$")
EXPECT = re.compile(r"^(\s*)print\((.*)\)\s+#\s?(.+)$")
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
PROGRAMS = {"pgm-ar", ".venv/bin/pgm-ar"}
PYTHONS = {"python", "python3", ".venv/bin/python"}


@dataclass
class Block:
    page: str
    line: int            # 1-based line of the opening fence
    lang: str
    code: str
    not_run: str | None  # the reason given by a <!-- not run: ... --> line, if any

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def blocks(page: str) -> list[Block]:
    """The fenced code blocks of ``page`` (fences at any indentation, e.g. in list items)."""
    lines = (REPO / page).read_text().splitlines()
    found, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m.groups()
        start, body = i, []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1
        before = next((ln.strip() for ln in reversed(lines[:start]) if ln.strip()), "")
        marker = NOT_RUN.match(before)
        found.append(Block(page, start + 1, info.strip(), "\n".join(body) + "\n",
                           marker.group(1) if marker else None))
    return found


def _matches(want: str, got: str, flags: int = FLAGS) -> bool:
    return doctest.OutputChecker().check_output(want.strip() + "\n", got.strip() + "\n", flags)


def _show(*args) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        print(*args)
    return buf.getvalue().strip()


def _check_print(got: str, want: str) -> None:
    if not _matches(want, got, doctest.ELLIPSIS):
        raise AssertionError(f"printed {got!r}, the page says {want!r}")


def _checked(code: str) -> str:
    """Rewrite ``print(x)  # expected`` into a check of the printed text."""
    out = []
    for line in code.splitlines():
        m = EXPECT.match(line)
        if m:
            indent, expr, want = m.groups()
            out.append(f"{indent}_check_print(_show({expr}), {want.strip()!r})")
        else:
            out.append(line)
    return "\n".join(out)


def run_python(block: Block, namespace: dict) -> None:
    if block.code.lstrip().startswith(">>>"):
        test = doctest.DocTestParser().get_doctest(block.code, namespace, block.where,
                                                   block.page, block.line)
        out = io.StringIO()
        runner = doctest.DocTestRunner(optionflags=FLAGS)
        runner.run(test, out=out.write, clear_globs=False)
        if runner.failures:
            raise AssertionError(f"{block.where}:\n{out.getvalue()}")
        return
    try:
        exec(compile(_checked(block.code), block.where, "exec"), namespace)
    except AssertionError as exc:
        raise AssertionError(f"{block.where}: {exc}") from None


def run_command(command: str, where: str) -> tuple[int, str, str]:
    """Run one documented command in this process: (exit code, stdout, stderr)."""
    argv = shlex.split(command, comments=True)
    while argv and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", argv[0]):
        argv.pop(0)  # environment assignments such as OMP_NUM_THREADS=1 (set by conftest)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        if argv and argv[0] in PROGRAMS:
            from pgm_ar.cli import main

            try:
                code = main(argv[1:])
            except SystemExit as exc:  # argparse's own errors
                code = exc.code if isinstance(exc.code, int) else 1
        elif len(argv) == 3 and argv[0] in PYTHONS and argv[1] == "-c":
            exec(compile(argv[2], f"{where} (python -c)", "exec"), {"__name__": "__main__"})
            code = 0
        else:
            raise AssertionError(
                f"{where}: cannot run {command!r} here; mark the block with "
                "'<!-- not run: REASON -->' or fence it as text")
    return code, out.getvalue(), err.getvalue()


def _commands(code: str, prompt: bool) -> list[tuple[str, str]]:
    """(command, shown output) pairs; ``prompt``: commands start with ``$ ``."""
    pairs: list[tuple[str, list[str]]] = []
    lines = code.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        is_command = line.startswith("$ ") if prompt else bool(line.strip()) and not \
            line.lstrip().startswith("#")
        if is_command:
            cmd = line[2:] if prompt else line
            while cmd.rstrip().endswith("\\") and i + 1 < len(lines):
                i += 1
                cmd = cmd.rstrip()[:-1] + " " + lines[i].strip()
            pairs.append((cmd, []))
        elif pairs and prompt:
            pairs[-1][1].append(line)
        elif prompt and line.strip():
            raise AssertionError(f"output before the first '$ ' command: {line!r}")
        i += 1
    return [(cmd, "\n".join(shown).strip()) for cmd, shown in pairs]


def run_shell(block: Block) -> None:
    pairs = _commands(block.code, prompt=block.lang == "console")
    assert pairs, f"{block.where}: a {block.lang} block without commands"
    for cmd, shown in pairs:
        code, out, err = run_command(cmd, block.where)
        wants_error = "pgm-ar: error:" in shown
        if code != (2 if wants_error else 0):
            raise AssertionError(f"{block.where}: `{cmd}` exited with {code}\n{out}{err}")
        got = out + err if wants_error else out
        if shown and not _matches(shown, got):
            raise AssertionError(f"{block.where}: `{cmd}` printed\n{got}\nthe page shows\n{shown}")


def _scratch(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "examples").symlink_to(REPO / "examples")
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("page", PAGES)
def test_every_block_is_run_or_marked(page):
    """Every fence names a kind of block; only runnable kinds carry a reason not to run."""
    problems = []
    for b in blocks(page):
        if b.lang not in RUN | SHOWN:
            problems.append(f"{b.where}: fence language {b.lang!r}; use one of "
                            f"{sorted(RUN | SHOWN)}")
        elif b.not_run and b.lang not in RUN:
            problems.append(f"{b.where}: a {b.lang} block is never run; drop the marker")
        elif b.lang == "yaml":
            try:
                yaml.safe_load(b.code)
            except yaml.YAMLError as exc:
                problems.append(f"{b.where}: yaml does not parse: {exc}")
        elif b.lang == "json":
            try:
                json.loads(b.code)
            except ValueError as exc:
                problems.append(f"{b.where}: json does not parse: {exc}")
    assert not problems, "\n".join(problems)


def _runnable(page: str) -> list[Block]:
    return [b for b in blocks(page) if b.lang in RUN and not b.not_run]


@pytest.mark.parametrize("page", [p for p in PAGES if _runnable(p)])
def test_every_block_runs_and_prints_what_it_says(page, tmp_path, monkeypatch):
    todo = _runnable(page)
    _scratch(tmp_path, monkeypatch)
    namespace = {"_show": _show, "_check_print": _check_print, "__name__": "__docs__"}
    for b in todo:
        if b.lang == "python":
            run_python(b, namespace)
        else:
            run_shell(b)


def test_the_checker_catches_a_stale_print():
    """The print check is not vacuous: a wrong expected value fails."""
    namespace = {"_show": _show, "_check_print": _check_print}
    run_python(Block("x.md", 1, "python", "print(1 + 1)  # 2\nprint('a b')  # a ...\n", None),
               namespace)
    with pytest.raises(AssertionError, match="printed '3'"):
        run_python(Block("x.md", 1, "python", "print(1 + 2)  # 4\n", None), namespace)
    with pytest.raises(AssertionError):
        run_python(Block("x.md", 1, "python", ">>> 1 + 1\n3\n", None), namespace)
