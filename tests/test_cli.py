"""The structure commands of ``pgm-ar``: factorize, count, independencies, draw (the demo: test_demo.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pgm_ar.cli import main

REPO = Path(__file__).resolve().parents[1]
SPECS = REPO / "examples" / "specs"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_count_json_alarm(capsys, bif_path):
    code, out, _ = run(capsys, "count", bif_path("alarm"), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["total"] == 509
    assert sum(data["per_variable"].values()) == 509 and len(data["per_variable"]) == 37


def test_count_text_and_784_table(capsys, tmp_path):
    spec = tmp_path / "pixels.yaml"
    spec.write_text("name: pixels\nvariables: [{name: x, count: 784}]\nstructure: {markov: 1}\n")
    code, out, _ = run(capsys, "count", spec)
    assert code == 0
    assert "2^784 - 1" in out and "1.0e236" in out and "1,567" in out
    code, out, _ = run(capsys, "count", spec, "--json")
    data = json.loads(out)
    assert data["total"] == 1567
    rows = {r["assumption"]: r["count"] for r in data["comparison"]["rows"]}
    assert rows["full joint"] == 2 ** 784 - 1


def test_factorize(capsys):
    code, out, _ = run(capsys, "factorize", SPECS / "markov10.yaml")
    assert code == 0 and "∏_{i=2}^{10}" in out
    code, out, _ = run(capsys, "factorize", SPECS / "coins.yaml", "--format", "latex")
    assert code == 0 and r"\mid" in out


def test_independencies_query(capsys, bif_path):
    code, out, _ = run(capsys, "independencies", bif_path("asia"), "--query",
                       "asia _|_ smoke", "--json")
    assert code == 0 and json.loads(out)["independent"] is True
    code, out, _ = run(capsys, "independencies", bif_path("asia"), "--query",
                       "asia _|_ smoke | dysp", "--json")
    assert json.loads(out)["independent"] is False  # dysp is a common descendant
    code, out, _ = run(capsys, "independencies", bif_path("asia"))
    assert code == 0 and "_|_" in out


def test_independencies_reports_declared_statements(capsys):
    code, out, _ = run(capsys, "independencies", SPECS / "statements.yaml", "--json")
    assert code == 0
    declared = json.loads(out)["declared"]
    assert declared and all("implied" in d for d in declared)


@pytest.mark.parametrize("kind,suffix", [("dag", ".svg"), ("factor", ".png"), ("dag", ".gv")])
def test_draw(capsys, tmp_path, kind, suffix, bif_path):
    out_file = tmp_path / f"asia{suffix}"
    code, out, _ = run(capsys, "draw", bif_path("asia"), "--kind", kind, "-o", out_file)
    assert code == 0 and out_file.exists() and out_file.stat().st_size > 100


@pytest.mark.parametrize("content,needle", [
    ("variables: [a, b]\nstructure: independencies\nstatements: ['a _|_ b c']\n", "statements[0]"),
    ("variables: [a, b]\nedges: [[a, q]]\n", "'q'"),
    ("variables: [a, b]\nedges: [[a, b], [b, a]]\n", "cycle"),
    ("variables: [a, b\n", "line"),
])
def test_errors_are_one_line_exit_2(capsys, tmp_path, content, needle):
    spec = tmp_path / "bad.yaml"
    spec.write_text(content)
    code, out, err = run(capsys, "count", spec)
    assert code == 2
    assert err.startswith("pgm-ar: error:") and needle in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_bad_bif_line_and_missing_file(capsys, tmp_path):
    bif = tmp_path / "bad.bif"
    bif.write_text("network x {\n}\nvariable a {\n  type discrete [ 2 ] { t, f };\n}\n"
                   "probability ( a ) {\n  table 0.5, 0.3, 0.2;\n}\n")
    code, _, err = run(capsys, "count", bif)
    assert code == 2 and "line 7" in err
    code, _, err = run(capsys, "count", tmp_path / "nope.yaml")
    assert code == 2 and "nope.yaml" in err


def test_unknown_variable_in_query(capsys, bif_path):
    code, _, err = run(capsys, "independencies", bif_path("asia"), "--query", "asai _|_ smoke")
    assert code == 2 and "'asai'" in err and "did you mean 'asia'" in err


def test_console_script_runs():
    exe = Path(sys.executable).with_name("pgm-ar")
    if not exe.exists():
        pytest.fail(f"console script not installed next to {sys.executable}; run setup.sh")
    res = subprocess.run([str(exe), "count", str(SPECS / "coins.yaml"), "--json"],
                         capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["total"] == 7


# --------------------------------------------------------------------------- pipes, wording
def test_a_closed_pipe_ends_quietly(tmp_path):
    """`pgm-ar count alarm | head -1`: the reader leaves early; no traceback, exit 141."""
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write: deterministic EPIPE
    try:
        res = subprocess.run([sys.executable, "-m", "pgm_ar.cli", "count", "alarm"],
                             stdout=write_end, stderr=subprocess.PIPE, env=env, cwd=tmp_path,
                             timeout=60)
    finally:
        os.close(write_end)
    assert res.stderr == b"" and res.returncode == 128 + 13  # as a shell reports SIGPIPE
    shell = subprocess.run(["bash", "-c", f"{sys.executable} -m pgm_ar.cli independencies alarm"
                            " | head -1"], capture_output=True, text=True, env=env,
                           cwd=tmp_path, timeout=60)
    assert shell.stderr == "" and shell.stdout.startswith("What the graph of 'alarm' implies")


def test_errors_name_the_command_line_options(capsys, tmp_path):
    from pgm_ar import example_network
    from pgm_ar.draw import draw
    from pgm_ar.errors import PgmArError

    code, _, err = run(capsys, "draw", "asia", "--kind", "grid", "-o", tmp_path / "never.svg")
    assert code == 2 and "--kind dag or --kind factor" in err and "kind='" not in err
    code, _, err = run(capsys, "draw", SPECS / "digit.yaml", "--image-mode", "grid",
                       "-o", tmp_path / "never.svg")
    assert code == 2 and "--image-mode node" in err and "image_mode=" not in err
    assert not (tmp_path / "never.svg").exists()
    # Python callers keep the Python wording
    with pytest.raises(PgmArError, match="kind='dag'"):
        draw(example_network("asia"), tmp_path / "never.svg", kind="grid")
