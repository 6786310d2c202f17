"""check(): corrections against statsmodels and a hand computation, calibration and power on
data sampled from asia, the result's forms, the CLI and the evidence drawing."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import pgm_ar
from pgm_ar import BayesNet, Gaussian
from pgm_ar.cli import main
from pgm_ar.errors import PgmArError
from pgm_ar.learning.check import benjamini_hochberg, check, holm


@pytest.fixture(scope="module")
def asia():
    net = pgm_ar.example_network("asia")
    return net, pgm_ar.compile(net)


def test_holm_and_bh_by_hand():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: 0.005, 0.01, 0.03, 0.04; Holm multiplies by 4, 3, 2, 1 and keeps the running max
    assert holm(p).tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # BH: p * m / rank = 0.02, 0.02, 0.04, 0.04, then the running min from the top
    assert benjamini_hochberg(p).tolist() == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert holm([0.6, 0.7]).tolist() == [1.0, 1.0]


def test_holm_and_bh_equal_statsmodels():
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    rng = np.random.default_rng(0)
    for k in (1, 2, 7, 50):
        p = np.concatenate([rng.random(k) ** 3, [0.5] * (k // 3)])  # with ties
        for ours, method in ((holm, "holm"), (benjamini_hochberg, "fdr_bh")):
            expected = multitest.multipletests(p, method=method)[1]
            assert ours(p) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_implied_statements_are_rejected_at_about_the_level(asia):
    net, model = asia
    rejected, total = 0, 0
    for seed in range(30):
        result = check(net, model.sample(2000, seed=seed), correction="none")
        for row in result.rows:
            if row.result is not None:
                total += 1
                rejected += row.result.p_value <= 0.05
        # missing edges: pairwise implied statements, a second family of true statements
        for ev in result.missing_edge_evidence():
            total += 1
            rejected += ev.result.p_value <= 0.05
    assert total > 500
    assert rejected / total <= 0.05 + 0.02


@pytest.mark.parametrize("edge", [("smoke", "lung"), ("smoke", "bronc"), ("tub", "either"),
                                  ("either", "xray"), ("bronc", "dysp")])
def test_a_removed_edge_is_rejected_with_power(asia, edge):
    net, model = asia
    declared = BayesNet(net.variables, [e for e in net.edges if e != edge], name="wrong")
    hits = 0
    for seed in range(10):
        result = check(declared, model.sample(10000, seed=100 + seed))
        child = [r for r in result.rows if r.statement.xs == frozenset([edge[1]])]
        hits += any(r.verdict == "rejected" for r in child)
    assert hits >= 9


def test_declared_statements_and_result_forms(asia):
    net, model = asia
    data = model.sample(3000, seed=5)
    result = check(net, data, statements=["asia _|_ smoke", "tub _|_ smoke | either"],
                   correction="bh")
    first, second = result.rows[:2]
    assert (first.source, first.implied) == ("declared", True)
    assert (second.source, second.implied) == ("declared", False)  # either is a collider
    assert second.verdict == "rejected"
    frame = result.to_frame()
    assert list(frame.statement[:2]) == ["asia _|_ smoke", "tub _|_ smoke | either"]
    assert frame.p_adjusted.dropna().tolist() == pytest.approx(
        benjamini_hochberg(frame.p_value.dropna()).tolist())
    payload = json.loads(result.to_json(edges=True))
    assert payload["n_statements"] == len(result.rows)
    assert {e["evidence"] for e in payload["edges"]} <= {"strong", "weak"}
    assert "Benjamini-Hochberg" in str(result) and "rejected" in str(result)
    # either = tub or lung: its local statement has no degrees of freedom, so it is untested
    untested = [r for r in result.rows if r.verdict == "untested"]
    assert [r.statement.xs for r in untested] == [frozenset(["either"])]


def test_statements_alone_and_real_valued_data():
    rng = np.random.default_rng(1)
    a = rng.normal(size=800)
    df = pd.DataFrame({"a": a, "b": a + rng.normal(size=800), "c": rng.normal(size=800)})
    result = check(["a _|_ c", "a _|_ b"], df, correction=None)
    assert [r.result.test for r in result.rows] == ["fisher_z", "fisher_z"]
    assert [r.verdict for r in result.rows] == ["consistent with the data", "rejected"]
    net = BayesNet([Gaussian("a"), Gaussian("b"), Gaussian("c")], [("a", "b")])
    assert check(net, df).rows[0].result.test in ("fisher_z", "gaussian_lr")
    with pytest.raises(PgmArError, match="level"):
        check(net, df, level=1.5)
    with pytest.raises(PgmArError, match="correction"):
        check(net, df, correction="bonferonni")


def test_cli_check_json_and_drawing(asia, tmp_path, capsys):
    net, model = asia
    rows = tmp_path / "rows.csv"
    model.sample(2000, seed=3).to_csv(rows, index=False)
    out = tmp_path / "evidence.gv"
    assert main(["check", "asia", "--data", str(rows), "--json", "--draw", str(out),
                 "--correction", "bh"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["correction"] == "bh" and len(payload["edges"]) == len(net.edges)
    source = out.read_text()
    assert source.count("->") >= len(net.edges)
    with pytest.raises(SystemExit):
        main(["check", "asia", "--data", str(rows), "--level", "2"])
    capsys.readouterr()
    assert main(["check", "asia", "--data", str(tmp_path / "none.csv")]) == 2


def test_a_spec_file_s_declared_statements_are_tested(tmp_path, capsys):
    # a chain a -> b -> c with a declared statement it implies and one it does not
    spec = tmp_path / "chain.yaml"
    spec.write_text("""
variables:
  - {name: a, type: categorical, states: [lo, hi]}
  - {name: b, type: categorical, states: [lo, hi]}
  - {name: c, type: categorical, states: [lo, mid, hi]}
edges: ["a -> b -> c"]
statements:
  - c _|_ a | b
  - c _|_ a
""")
    rng = np.random.default_rng(8)
    a = rng.integers(0, 2, 4000)
    b = np.where(rng.random(4000) < 0.8, a, 1 - a)
    c = np.clip(b + rng.integers(0, 2, 4000), 0, 2)
    names = (["lo", "hi"], ["lo", "hi"], ["lo", "mid", "hi"])
    rows = tmp_path / "rows.csv"
    pd.DataFrame({k: np.asarray(s)[v] for k, s, v in zip("abc", names, (a, b, c))}).to_csv(
        rows, index=False)
    assert main(["check", str(spec), "--data", str(rows), "--json", "--no-implied"]) == 0
    payload = json.loads(capsys.readouterr().out)
    got = {s["statement"]: (s["source"], s["implied_by_dag"], s["verdict"])
           for s in payload["statements"]}
    assert got == {"c _|_ a | b": ("declared", True, "consistent with the data"),
                   "c _|_ a": ("declared", False, "rejected")}
    # with the implied statements, the declared one that is also c's local Markov statement
    # is listed once
    assert main(["check", str(spec), "--data", str(rows), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    sources = {s["statement"]: s["source"] for s in payload["statements"]}
    assert sources["c _|_ a | b"] == "declared, local Markov"
    assert len(payload["statements"]) == 2
