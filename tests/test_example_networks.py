"""The example networks shipped inside the package: loadable by name from Python and from every
``pgm-ar`` command that takes a network file, and listed by ``pgm-ar examples``."""
from __future__ import annotations

import fnmatch
import json
import math
import tomllib
from pathlib import Path

import pytest

import pgm_ar
from pgm_ar.cli import main
from pgm_ar.errors import PgmArError, SpecError
from pgm_ar.io import load_any, load_network, read_bif
from pgm_ar.io.examples import NETWORKS_DIR, example_path

REPO = Path(__file__).resolve().parents[1]
NAMES = ["asia", "cancer", "earthquake", "survey", "sachs", "child", "alarm", "insurance"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def summary(name: str):
    """(nodes, edges, free parameters) of a shipped file from its CPT arrays (test_bif checks
    the reading against pgmpy): each CPT has (states - 1) free numbers per configuration of its
    parents, counted here from the table's shape, not by pgm_ar.counting."""
    net = read_bif(NETWORKS_DIR / f"{name}.bif.gz")
    free = 0
    for v in net.names:
        shape = net.cpd(v).probs.shape  # (*parent states, child states)
        free += (shape[-1] - 1) * math.prod(shape[:-1])
    return len(net), len(net.edges), int(free)


# --------------------------------------------------------------------------- the package data
def test_the_listed_names_are_the_shipped_files_and_get_installed():
    assert list(pgm_ar.example_networks()) == NAMES
    files = sorted(p.name for p in NETWORKS_DIR.iterdir())
    assert files == sorted(f"{n}.bif.gz" for n in NAMES)
    assert sum((NETWORKS_DIR / f).stat().st_size for f in files) < 20_000
    # pyproject's package-data must carry them into an installed (non-editable) package
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["pgm_ar"]
    for f in files:
        rel = f"data/networks/{f}"
        assert any(fnmatch.fnmatch(rel, p) for p in patterns), rel


@pytest.mark.parametrize("name", NAMES)
def test_example_network_is_the_shipped_file(name):
    net = pgm_ar.example_network(name)
    assert net == read_bif(NETWORKS_DIR / f"{name}.bif.gz") and net.name == name
    assert pgm_ar.example_network(name.upper()) == net
    assert all(net.cpd(v) is not None for v in net.names)  # every CPT is there


def test_unknown_name_lists_the_examples_and_suggests():
    with pytest.raises(PgmArError, match="did you mean 'alarm'") as info:
        pgm_ar.example_network("alarn")
    assert all(n in str(info.value) for n in NAMES)
    with pytest.raises(PgmArError, match="no example network named 'mnist'"):
        example_path("mnist")


# --------------------------------------------------------------------------- names as files
def test_loaders_take_a_name_where_no_file_exists(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    expected = read_bif(NETWORKS_DIR / "alarm.bif.gz")
    assert load_network("alarm") == expected and load_network(Path("Alarm")) == expected
    spec = load_any("alarm")
    assert spec.network == expected and spec.structure == "bif"
    assert Path(spec.source) == NETWORKS_DIR / "alarm.bif.gz"
    # a file of the same name wins: here it is not a network file, and says so
    (tmp_path / "alarm").write_text("not a network")
    with pytest.raises(SpecError, match="unknown file type"):
        load_any("alarm")
    with pytest.raises(SpecError, match="did you mean 'asia'") as info:
        load_any("asai")
    assert "no such file" in str(info.value) and "insurance" in str(info.value)
    # a missing file named like an example points at the name
    with pytest.raises(SpecError, match="give its name alone \\('asia'\\)"):
        load_any("../shared/data/bif/asia.bif.gz")
    with pytest.raises(SpecError, match="no such file"):
        load_any("missing.yaml")


def test_examples_command_lists_sizes(capsys):
    code, out, _ = run(capsys, "examples", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["name"] for r in rows] == NAMES
    for r in rows:
        assert (r["nodes"], r["edges"], r["free_parameters"]) == summary(r["name"])
    code, out, _ = run(capsys, "examples")
    lines = out.splitlines()
    assert code == 0 and "free parameters" in lines[1]
    alarm = next(line.split() for line in lines if line.split()[:1] == ["alarm"])
    assert alarm == ["alarm", "37", "46", "509"]


def test_structure_commands_take_a_name(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "count", "alarm", "--json")
    assert code == 0 and json.loads(out)["total"] == summary("alarm")[2]
    code, out, _ = run(capsys, "factorize", "asia", "--json")
    assert code == 0
    terms = {t["variable"]: tuple(t["parents"]) for t in json.loads(out)["terms"]}
    asia = read_bif(NETWORKS_DIR / "asia.bif.gz")
    assert terms == {v: asia.parents(v) for v in asia.names}
    code, out, _ = run(capsys, "independencies", "asia", "--query", "tub _|_ smoke", "--json")
    assert code == 0 and json.loads(out)["independent"] is True
    code, out, _ = run(capsys, "draw", "asia", "-o", tmp_path / "asia.gv")
    assert code == 0 and "smoke" in (tmp_path / "asia.gv").read_text()
    code, _, err = run(capsys, "count", "alarm.bif.gz")
    assert code == 2 and "give its name alone ('alarm')" in err
    code, _, err = run(capsys, "count", "insurence")
    assert code == 2 and "did you mean 'insurance'" in err and len(err.strip().splitlines()) == 1
