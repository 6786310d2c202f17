"""Property-based tests: generated specs, BIF texts, statements and command lines that reach
extreme values give success or a PgmArError (exit 2 with one line from the CLI), never another
exception, and never run past the per-case time limit.  Every case found so far is kept in
``corpus/`` and replayed on every run.  Longer campaigns: ``benchmarks/fuzz.py``."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from .strategies import (RUNNERS, api_call, bif_text, classify, cli_argv, data_case,
                         spec_text, statement_text)

CORPUS = Path(__file__).parent / "corpus"

#: a small CI budget: the four properties together take seconds
CI = settings(max_examples=40, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])


def _assert_library_outcome(outcome: str, detail: str, case) -> None:
    assert outcome in ("ok", "error"), f"{outcome} for {case!r}:\n{detail}"


@CI
@given(spec_text())
def test_generated_specs(case):
    text, fmt = case
    _assert_library_outcome(*classify(lambda: RUNNERS["spec"](text, fmt)), case)


@CI
@given(bif_text())
def test_generated_bif(text):
    _assert_library_outcome(*classify(lambda: RUNNERS["bif"](text)), text)


@CI
@given(statement_text)
def test_generated_statements(text):
    _assert_library_outcome(*classify(lambda: RUNNERS["statement"](text)), text)


@CI
@given(cli_argv())
def test_generated_command_lines(tmp_path, argv):
    _assert_library_outcome(*classify(lambda: RUNNERS["cli"](argv, tmp_path)), argv)


@CI
@given(data_case())
def test_generated_data_files(tmp_path, case):
    """Crafted CSVs (ragged rows, unknown states and columns, empty files) for the commands
    that read rows: a result or a one-line error, never a traceback."""
    _assert_library_outcome(*classify(lambda: RUNNERS["data"](case, tmp_path)), case)


@CI
@given(api_call())
def test_generated_api_calls(case):
    _assert_library_outcome(*classify(lambda: RUNNERS["api"](case)), case)


def _corpus_cases():
    for path in sorted(CORPUS.iterdir()):
        if path.suffix in (".yaml", ".json"):
            yield pytest.param("spec", path, id=path.name)
        elif path.suffix in (".bif", ".gz"):
            yield pytest.param("bif", path, id=path.name)
        elif path.suffix == ".txt":  # one statement per line
            yield pytest.param("statement", path, id=path.name)
        elif path.name.endswith(".api.jsonl"):  # one [call, arguments] per line
            yield pytest.param("api", path, id=path.name)
        elif path.suffix == ".jsonl":  # one command line (a JSON list) per line
            yield pytest.param("cli", path, id=path.name)


@pytest.mark.parametrize("kind, path", list(_corpus_cases()))
def test_corpus_replays(kind, path, tmp_path):
    """Every case kept in the corpus: a PgmArError (or success), no other exception, no hang.
    Specs and BIF files go through the file readers (size, link and gzip checks included)."""
    if kind == "spec":
        from pgm_ar import compile, count_parameters
        from pgm_ar.io.spec import load_spec

        def read_count_compile():
            spec = load_spec(path)
            count_parameters(spec.network)
            compile(spec.network, spec.conditionals or None)

        cases = [read_count_compile]
    elif kind == "bif":
        from pgm_ar.io.bif import read_bif

        cases = [lambda: read_bif(path)]
    elif kind == "statement":
        lines = path.read_text(encoding="utf-8").splitlines()
        cases = [lambda t=t: RUNNERS["statement"](t) for t in lines]
    elif kind == "api":
        rows = [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln]
        cases = [lambda a=a: RUNNERS["api"]((a[0], tuple(a[1]))) for a in rows]
    else:
        rows = [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln]
        cases = [lambda a=a: RUNNERS["cli"](a, tmp_path) for a in rows]
    for case in cases:
        outcome, detail = classify(case)
        _assert_library_outcome(outcome, detail, path.name)
