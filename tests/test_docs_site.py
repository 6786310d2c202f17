"""The documentation site: ``mkdocs build --strict`` passes (links, anchors, every page in the
navigation, the API reference from the docstrings), and the generated pages (``docs/cli.md``
from the argument parser, ``docs/benchmarks.md`` from ``benchmarks/results/``) are current."""
from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_docs = _script("gen_docs")


@pytest.mark.parametrize("page", ["docs/cli.md", "docs/benchmarks.md"])
def test_generated_page_is_current(page):
    path = REPO / page
    want = gen_docs.pages()[path]
    assert path.read_text() == want, (
        f"{page} is out of date: run `python scripts/gen_docs.py` and commit the result")


def test_cli_page_lists_every_command_and_option():
    """Checked against the parser itself, not against the generator's own tables."""
    from pgm_ar.cli import build_parser

    text = (REPO / "docs" / "cli.md").read_text()
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert len(sub.choices) >= 10
    for name, parser in sub.choices.items():
        assert f"\n## {name}\n" in text, name
        section = text.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]
        for action in parser._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert f"`{option}`" in section, (name, option)
            if action.choices and action.option_strings:
                for choice in action.choices:
                    assert str(choice) in section, (name, action.dest, choice)


def test_benchmarks_page_holds_every_result_file():
    text = (REPO / "docs" / "benchmarks.md").read_text()
    results = sorted((REPO / "benchmarks" / "results").glob("*.txt"))
    assert results
    for f in results:
        assert f"\n## {f.stem}\n" in text
        assert f.read_text().strip() in text, f.name


def test_docstring_rewrite_for_the_api_reference():
    rewrite = _script("griffe_docstrings").rewrite
    text = ("Summary.\n\nParameters\n----------\nx\n    A value.\n\nA closing remark on "
            ":class:`~pgm_ar.errors.PgmArError`.\n\n>>> f([1])\n[1]\n")
    out = rewrite(text)
    assert "Notes\n-----\n\nA closing remark on ``PgmArError``." in out
    assert "```pycon\n>>> f([1])\n[1]\n```" in out
    assert ":class:" not in out
    plain = "Summary.\n\n>>> 1 + 1\n2\n\nMore text."
    assert rewrite(plain) == "Summary.\n\n```pycon\n>>> 1 + 1\n2\n```\n\nMore text."


def test_mkdocs_build_strict(tmp_path):
    site = tmp_path / "site"
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                          str(site)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    for page in ["getting-started", "concepts", "cli", "benchmarks", "models", "api/model"]:
        assert (site / page / "index.html").is_file(), page
    api = (site / "api" / "structure" / "index.html").read_text()
    assert 'id="pgm_ar.network.BayesNet"' in api  # the API reference has the docstrings
    model = (site / "api" / "model" / "index.html").read_text()
    assert "CompiledModel" in model and "log_prob" in model
