"""No silent garbage and no tracebacks: each input the hostile-user review found giving a
traceback or a wrong answer with exit 0 is a one-line error (exit 2) or a PgmArError."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import pgm_ar
from pgm_ar.cli import main
from pgm_ar.errors import PgmArError, SpecError
from pgm_ar.io.spec import load_spec, load_spec_text


def one_line_error(capsys, argv) -> str:
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.fixture()
def asia_csv(tmp_path):
    path = tmp_path / "asia.csv"
    pgm_ar.compile(pgm_ar.example_network("asia")).sample(50, seed=0).to_csv(path, index=False)
    return path


# ------------------------------------------------------------------ spec files
@pytest.mark.parametrize("text, fmt, line", [
    ("variables: [a]\nvariables: [b]\nstructure: independent\n", "yaml", 2),
    ("variables:\n  - {name: a, states: 2, states: 3}\nstructure: independent\n", "yaml", 2),
    ('{"variables": ["a"],\n "variables": ["b"], "structure": "independent"}', "json", 2),
])
def test_duplicate_keys_are_errors_with_line(text, fmt, line):
    with pytest.raises(SpecError, match=rf"line {line}.*given twice"):
        load_spec_text(text, fmt=fmt, source="s")


@pytest.mark.parametrize("fmt, text", [
    ("yaml", "a: " + "[" * 5000 + "]" * 5000),
    ("json", '{"a": ' + "[" * 100000 + "]" * 100000 + "}"),
])
def test_deep_nesting_is_an_error(fmt, text):
    with pytest.raises(SpecError, match="nested too deeply"):
        load_spec_text(text, fmt=fmt, source="s")


def test_random_ordering_with_negative_seed(capsys, tmp_path):
    spec = tmp_path / "r.yaml"
    spec.write_text("variables: [{name: a, type: image, shape: [4, 4], ordering: random(-1)}]\n"
                    "structure: independent\n")
    assert "seed must be an integer from 0" in one_line_error(capsys, ["count", spec])


def test_spec_link_to_a_device_is_refused(tmp_path, capsys):
    link = tmp_path / "zero.yaml"
    os.symlink("/dev/zero", link)
    assert "not a regular file" in one_line_error(capsys, ["count", link])
    folder = tmp_path / "d.yaml"
    folder.mkdir()
    assert "is a directory" in one_line_error(capsys, ["count", folder])


def test_huge_shape_is_one_line(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text("variables: [{name: a, type: image, shape: [9223372036854775808, 2]}]\n"
                    "structure: independent\n")
    assert "max_image_values" in one_line_error(capsys, ["count", spec])


# ------------------------------------------------------------------ CLI arguments and data
def test_huge_seed_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["sample", "asia", "-n", "3", "-o", "x.csv", "--seed", "1" * 24])
    assert exc.value.code == 2
    assert "from 0 to 2**63-1" in capsys.readouterr().err


def test_api_seed_out_of_range():
    m = pgm_ar.compile(pgm_ar.example_network("asia"))
    with pytest.raises(PgmArError, match="from 0 to 2"):
        m.sample(3, seed=10 ** 24)


def test_directory_as_data(tmp_path, capsys):
    err = one_line_error(capsys, ["fit", "asia", "--data", tmp_path, "--out", tmp_path / "r"])
    assert "is a directory" in err


def test_file_in_the_middle_of_output_paths(tmp_path, asia_csv, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    one_line_error(capsys, ["fit", "asia", "--data", asia_csv, "--out", blocker / "run"])
    one_line_error(capsys, ["sample", "asia", "-n", "3", "-o", blocker / "s.csv"])
    assert blocker.read_text() == "x"


def test_header_only_short_rows_all_missing(tmp_path, capsys):
    head = tmp_path / "h.csv"
    head.write_text("asia,smoke\n")
    assert "no data rows" in one_line_error(capsys, ["evaluate", "asia", "--data", head])
    short = tmp_path / "s.csv"
    short.write_text("asia,smoke\nyes,no\nyes\n")
    assert "line 3: 1 fields, the header has 2" in one_line_error(
        capsys, ["evaluate", "asia", "--data", short])
    long = tmp_path / "l.csv"
    long.write_text("asia,smoke\nyes,no,no\n")
    assert "line 2: 3 fields" in one_line_error(capsys, ["evaluate", "asia", "--data", long])
    empty = tmp_path / "e.csv"
    empty.write_text("asia,smoke\n,\n,\n")
    assert "every value is missing" in one_line_error(
        capsys, ["fit", "asia", "--data", empty, "--out", tmp_path / "r"])
    assert not (tmp_path / "r").exists()


def test_device_ignored_by_count_fitting_warns(tmp_path, asia_csv, capsys):
    code = main(["fit", "asia", "--data", str(asia_csv), "--out", str(tmp_path / "r"),
                 "--device", "cuda", "--epochs", "3", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 0
    assert "--device cuda, --epochs ignored" in err and "closed form" in err


def test_model_files_with_missing_keys_are_one_line(tmp_path, capsys):
    import io

    import torch

    from pgm_ar.model.persistence import encode_model_file

    buf = io.BytesIO()
    torch.save({"format": "pgm_ar.model/1", "network": {}}, buf)
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.pt").write_bytes(encode_model_file(buf.getvalue()))
    err = one_line_error(capsys, ["query", run, "--target", "x"])
    assert "'families' is missing" in err


# ------------------------------------------------------------------ API
def test_api_wrong_types_are_pgm_ar_errors(tmp_path):
    net = pgm_ar.example_network("asia")
    m = pgm_ar.compile(net)
    with pytest.raises(PgmArError, match="no target"):
        m.query(None)
    with pytest.raises(PgmArError, match="evidence must be a mapping"):
        m.query("dysp", evidence=["smoke"])
    with pytest.raises(PgmArError, match="evidence must be a mapping"):
        m.sample(3, evidence=[("smoke", "yes")])
    with pytest.raises(PgmArError, match="variable name"):
        m.query(5)
    with pytest.raises(PgmArError, match="is a directory"):
        m.save(tmp_path)
    with pytest.raises(PgmArError, match="a variable name or a list"):
        net.is_independent(None, "dysp")
    # given=None means nothing observed: the same answer as given=()
    for x, y in [("asia", "smoke"), ("asia", "dysp")]:
        assert net.is_independent(x, y, given=None) == net.is_independent(x, y, given=())
