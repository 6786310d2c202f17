"""pgm-ar compare and pgm-ar learn: the numbers are the API's, files round-trip, constraints
hold, existing files are refused, and PC's CPDAG is written as one of its DAGs."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import pgm_ar
from pgm_ar.cli import main
from pgm_ar.io import load_any
from pgm_ar.learning.compare import compare_structures
from pgm_ar.learning.data import discrete_data
from tests.learning.forward import forward_codes, to_frame


@pytest.fixture(scope="module")
def rows_csv(tmp_path_factory):
    net = pgm_ar.example_network("asia")
    df = to_frame(forward_codes(net, 4000, seed=5))
    path = tmp_path_factory.mktemp("learn") / "rows.csv"
    df.to_csv(path, index=False)
    return net, df, path


def test_compare_prints_the_apis_numbers(rows_csv, capsys):
    net, df, path = rows_csv
    assert main(["compare", "asia", "--data", str(path), "--folds", "3", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    api = compare_structures(net, df, folds=3)
    assert [s["label"] for s in got["structures"]] == [r.label for r in api.rows]
    for s, r in zip(got["structures"], api.rows):
        assert s["heldout"] == pytest.approx(r.heldout, rel=1e-12)
        assert s["bic"] == pytest.approx(r.bic, rel=1e-12)
    assert "additive smoothing" in got["smoothing"]
    assert main(["compare", "asia", "--data", str(path), "--no-learn", "--markov-k", "2"]) == 0
    text = capsys.readouterr().out
    assert "Markov k=2" in text and "hill climbing" not in text and "held-out (5-fold)" in text


def test_learn_writes_yaml_and_bif_that_read_back(rows_csv, tmp_path, capsys):
    net, df, path = rows_csv
    yml, bif, gv = tmp_path / "l.yaml", tmp_path / "l.bif", tmp_path / "l.gv"
    assert main(["learn", "--data", str(path), "--spec", "asia", "-o", str(yml),
                 "--draw", str(gv)]) == 0
    out = capsys.readouterr().out
    assert "against asia: SHD" in out and "hill climbing on BIC" in out
    learned = load_any(str(yml)).network
    assert main(["learn", "--data", str(path), "--spec", "asia", "-o", str(bif)]) == 0
    again = pgm_ar.read_bif(bif)
    assert set(again.edges) == set(learned.edges)
    # the written CPTs are the relative frequencies of the data
    for v in again.names:
        ps = list(again.parents(v))
        counts = discrete_data(df, net).counts(ps + [v]).astype(float)
        sums = counts.sum(axis=-1, keepdims=True)
        # a parent configuration the data never show gets the uniform row
        freq = np.where(sums > 0, counts / np.maximum(sums, 1), 1.0 / counts.shape[-1])
        np.testing.assert_allclose(again.cpd(v).probs, freq, atol=1e-12)
    assert "learned against asia (SHD" in gv.read_text()
    # an existing output is refused, kept as it was, and --force overwrites it
    before = bif.read_bytes()
    assert main(["learn", "--data", str(path), "-o", str(bif)]) == 2
    assert "already exists" in capsys.readouterr().err and bif.read_bytes() == before
    assert main(["learn", "--data", str(path), "-o", str(bif), "--force", "--require",
                 "asia->dysp"]) == 0
    assert ("asia", "dysp") in pgm_ar.read_bif(bif).edges


def test_learn_constraints_and_json(rows_csv, capsys):
    _, _, path = rows_csv
    assert main(["learn", "--data", str(path), "--json", "--forbid", "either->xray",
                 "--forbid", "xray->either", "--tiers", "dysp, xray; asia, tub, smoke",
                 "--max-indegree", "1"]) == 0
    got = json.loads(capsys.readouterr().out)
    edges = {tuple(e) for e in got["edges"]}
    assert not {("either", "xray"), ("xray", "either")} & edges
    assert not any(b in ("dysp", "xray") and a in ("asia", "tub", "smoke") for a, b in edges)
    children = [b for _, b in edges]
    assert len(children) == len(set(children))  # at most one parent each
    assert got["trace"][0]["move"] == "start"
    assert any("tiers" in line for line in got["knowledge"])


def test_learn_errors_are_one_line(rows_csv, tmp_path, capsys):
    _, _, path = rows_csv
    for argv, message in [
        (["--require", "asia->nope"], "unknown variable 'nope'"),
        (["--require", "asia"], "PARENT->CHILD"),
        (["-o", str(tmp_path / "x.txt")], "use a .yaml"),
        (["--start", "declared"], "--start declared needs --spec"),
        (["--tiers", "a;;b"], "empty tier"),
    ]:
        assert main(["learn", "--data", str(path), *argv]) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("pgm-ar: error:") and message in err, (argv, err)
        assert len(err.strip().splitlines()) == 1


def test_learn_by_pc_writes_the_apis_cpdag_oriented(rows_csv, capsys):
    _, df, path = rows_csv
    assert main(["learn", "--data", str(path), "--method", "pc", "--alpha", "0.01",
                 "--require", "smoke->lung", "--json"]) == 0
    captured = capsys.readouterr()
    got = {tuple(e) for e in json.loads(captured.out)["edges"]}
    res = pgm_ar.learning.pc(df, alpha=0.01, required=[("smoke", "lung")])
    assert ("smoke", "lung") in got
    assert set(res.directed) <= got  # every edge PC oriented keeps its direction
    for a, b in res.undirected:      # and each undirected one is written one way
        assert ((a, b) in got) != ((b, a) in got)
    assert len(got) == len(res.directed) + len(res.undirected)
    if res.undirected:
        assert "undirected" in captured.err
