"""The conditional-Gaussian likelihood-ratio test against regressions fitted by hand, its
level and power on data sampled from small mixed networks, and its use by check()."""
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pgm_ar import BayesNet, Bernoulli, Categorical, Gaussian, PgmArError
from pgm_ar.cli import main
from pgm_ar.learning.check import check
from pgm_ar.learning.citests import CITester


def _n_logdet_resid(y, regressors, groups):
    """sum over groups of n_g ln det(residual covariance) of the least-squares regression of
    ``y`` (n, q) on ``[1, regressors]`` within each group, and the number of groups."""
    total, count = 0.0, 0
    for g in np.unique(groups):
        rows = groups == g
        design = np.column_stack([np.ones(rows.sum()), regressors[rows]])
        coef, *_ = np.linalg.lstsq(design, y[rows], rcond=None)
        resid = y[rows] - design @ coef
        cov = np.atleast_2d(resid.T @ resid / rows.sum())
        total += rows.sum() * np.linalg.slogdet(cov)[1]
        count += 1
    return total, count


def _codes(*cols):
    return pd.MultiIndex.from_arrays(cols).factorize()[0] if len(cols) > 1 else np.asarray(cols[0])


def _mixed_rows(seed, n, d_to_h=0.0):
    """d (3 states) -> g <- e (Bernoulli), g -> h, and d -> h with weight ``d_to_h``."""
    rng = np.random.default_rng(seed)
    d = rng.integers(0, 3, n)
    e = (rng.random(n) < 0.4).astype(int)
    g = np.array([-0.5, 0.3, 1.0])[d] + 0.8 * e + rng.normal(size=n)
    h = 0.7 * g + d_to_h * (d == 2) + np.where(e == 1, 1.5, 1.0) * rng.normal(size=n)
    return pd.DataFrame({"d": np.array(["lo", "mid", "hi"])[d], "e": e, "g": g, "h": h})


def test_a_real_response_equals_regressions_fitted_by_hand():
    rng = np.random.default_rng(3)
    n = 1500
    d, e = rng.integers(0, 3, n), rng.integers(0, 2, n)
    w = rng.normal(size=n)
    y = 0.3 * d + w * (1 + e) + rng.normal(size=n)
    df = pd.DataFrame({"d": d, "e": e, "w": w, "y": y})
    r = CITester(df, "cg").test("d", "y", ["e", "w"])
    # y | w within the strata of (d, e) against y | w within the strata of e
    full, k1 = _n_logdet_resid(y[:, None], w[:, None], _codes(d, e))
    null, k0 = _n_logdet_resid(y[:, None], w[:, None], e)
    assert r.test == "cg" and r.n_used == n
    assert r.statistic == pytest.approx(null - full, rel=1e-9)
    assert r.dof == 3 * k1 - 3 * k0 == 12  # intercept, slope, variance per stratum
    assert r.p_value == pytest.approx(stats.chi2.sf(null - full, 12), rel=1e-9)
    assert r.cmi == pytest.approx((null - full) / (2 * n), rel=1e-9)
    # the same test with the sides swapped
    assert CITester(df, "cg").test("y", "d", ["w", "e"]).statistic == pytest.approx(r.statistic)


def test_sets_on_both_sides_equal_multivariate_regressions_by_hand():
    rng = np.random.default_rng(4)
    n = 2000
    d, v, w = rng.integers(0, 2, n), rng.normal(size=n), rng.normal(size=n)
    y1 = v + w + rng.normal(size=n)
    y2 = 0.5 * y1 - 0.4 * d + rng.normal(size=n)
    df = pd.DataFrame({"d": d, "v": v, "w": w, "y1": y1, "y2": y2})
    r = CITester(df, "cg").test(["d", "v"], ["y1", "y2"], ["w"])
    y = np.column_stack([y1, y2])
    full, k1 = _n_logdet_resid(y, np.column_stack([v, w]), d)
    null, k0 = _n_logdet_resid(y, w[:, None], np.zeros(n, dtype=int))
    assert r.statistic == pytest.approx(null - full, rel=1e-9)
    # per stratum: 2 responses x (1 + regressors) coefficients and 3 covariance entries
    assert r.dof == k1 * (2 * 3 + 3) - k0 * (2 * 2 + 3) == 11


def test_discrete_conditioning_set_is_g_test_plus_regression():
    # x = d discrete, y = {f discrete, r real}, z = e discrete: by the chain rule
    # I(d; f, r | e) = I(d; f | e) + I(d; r | f, e)
    rng = np.random.default_rng(5)
    n = 3000
    e = rng.integers(0, 2, n)
    d = (rng.random(n) < 0.3 + 0.3 * e).astype(int)
    f = rng.integers(0, 3, n)
    r_ = 0.2 * d * f + rng.normal(size=n)
    df = pd.DataFrame({"d": d, "e": e, "f": f, "r": r_})
    got = CITester(df, "cg").test("d", ["f", "r"], ["e"])
    table = pd.crosstab([e, f], d).to_numpy().astype(float)  # rows (e, f), columns d
    g = 0.0
    for k in range(2):
        sub = table[3 * k:3 * k + 3]
        expected = sub.sum(1, keepdims=True) * sub.sum(0, keepdims=True) / sub.sum()
        g += 2 * np.sum(sub * np.log(sub / expected))
    null, k0 = _n_logdet_resid(r_[:, None], np.zeros((n, 0)), _codes(f, e))
    full, k1 = _n_logdet_resid(r_[:, None], np.zeros((n, 0)), _codes(d, f, e))
    assert got.statistic == pytest.approx(g + null - full, rel=1e-9)
    # G: (2 - 1)(3 - 1) per e; regression: a mean and a variance per stratum
    assert got.dof == 2 * 2 + 2 * (k1 - k0) == 16


def test_small_strata_are_dropped_and_said_so():
    rng = np.random.default_rng(6)
    n = 600
    d = rng.integers(0, 3, n)
    d[:2] = 3  # two rows of a fourth state: too few for an intercept, a slope and a variance
    w = rng.normal(size=n)
    y = w + rng.normal(size=n)
    df = pd.DataFrame({"d": d, "w": w, "y": y})
    r = CITester(df, "cg").test("d", "y", ["w"])
    keep = d < 3
    full, k1 = _n_logdet_resid(y[keep, None], w[keep, None], d[keep])
    null, k0 = _n_logdet_resid(y[keep, None], w[keep, None], np.zeros(keep.sum(), dtype=int))
    assert r.n_used == n - 2 and "1 stratum" in r.note and "(2 rows)" in r.note
    assert r.statistic == pytest.approx(null - full, rel=1e-9)
    assert r.dof == 3 * (k1 - k0) == 6
    assert r.to_dict()["note"] == r.note
    # a stratum where the regressor is constant (collinear with the intercept) goes too
    w2 = w.copy()
    w2[d == 0] = 1.0
    r2 = CITester(df.assign(w=w2), "cg").test("d", "y", ["w"])
    assert r2.n_used == n - 2 - int((d == 0).sum()) and r2.dof == 3


def test_missing_values_leave_rows_out():
    df = _mixed_rows(0, 800)
    df.loc[:9, "g"] = np.nan
    df.loc[10:14, "d"] = None
    r = CITester(df, "cg").test("h", "d", ["g", "e"])
    assert r.n_used == 800 - 15
    ref = CITester(df.dropna().reset_index(drop=True), "cg").test("h", "d", ["g", "e"])
    assert r.statistic == pytest.approx(ref.statistic, rel=1e-12) and r.dof == ref.dof


def test_true_statements_are_rejected_at_about_the_level():
    # in the network h _|_ d | g, e holds (h's variance depends on e, which is given), and
    # so does d _|_ e; g _|_ e | d does not (a removed edge's statement, rejected every time)
    level, seeds = 0.05, 300
    tests = (("h", "d", ["g", "e"]), ("d", "e", []), ("g", "e", ["d"]))
    p = np.array([[t.test(*args).p_value for args in tests]
                  for t in (CITester(_mixed_rows(s, 400), "cg") for s in range(seeds))])
    rates = (p <= level).mean(axis=0)
    assert 0.02 < rates[0] < 0.09 and rates[2] == 1.0, rates
    # d _|_ e (two discrete variables, no reals) is the G-test's CG form: level too
    assert 0.02 < (p[:, 1] <= level).mean() < 0.09


def test_a_removed_edge_is_rejected_with_power():
    # the true network has d -> h; a declaration without it implies h _|_ d | g, e
    rejected = [CITester(_mixed_rows(100 + s, 3000, d_to_h=0.25), "cg")
                .test("h", "d", ["g", "e"]).p_value <= 0.05 for s in range(40)]
    assert np.mean(rejected) >= 0.9


def test_check_tests_mixed_statements(tmp_path, capsys):
    net = BayesNet([Categorical("d", ["lo", "mid", "hi"]), Bernoulli("e"), Gaussian("g"),
                    Gaussian("h")], [("d", "g"), ("e", "g"), ("g", "h"), ("e", "h")])
    df = _mixed_rows(7, 3000)
    df["e"] = np.array(["0", "1"])[df["e"]]
    result = check(net, df, statements=["d _|_ e | g", "h _|_ d | g"])
    by = {r.statement.ascii(): r for r in result.rows}
    assert by["d _|_ e | g"].verdict == "untested"
    assert "discrete variables on both sides" in by["d _|_ e | g"].reason
    assert by["h _|_ d | g"].result.test == "cg"
    local = [r for r in result.rows if "local Markov" in r.source]
    assert len(local) == len(set(net.local_independencies()))
    assert all(r.verdict != "untested" for r in local)
    mixed = [r for r in local if {"g", "h"} & set(r.statement.variables())
             and {"d", "e"} & set(r.statement.variables())]
    assert mixed and all(r.result.test == "cg" for r in mixed)
    # the edges' evidence uses it too: every edge of this network is strong
    assert all(e.result.test == "cg" and e.strong for e in result.edge_evidence()
               if {e.src, e.dst} != {"g", "h"})
    # pure statements keep their tests
    assert check(net, df, statements=["d _|_ e"], implied=False).rows[0].result.test == "g"

    spec = tmp_path / "mixed.yaml"
    spec.write_text("""
variables:
  - {name: d, type: categorical, states: [lo, mid, hi]}
  - {name: e, type: bernoulli}
  - {name: g, type: gaussian}
  - {name: h, type: gaussian}
edges: ["d -> g", "e -> g", "g -> h", "e -> h"]
""")
    rows = tmp_path / "rows.csv"
    _mixed_rows(8, 2000).to_csv(rows, index=False)
    assert main(["check", str(spec), "--data", str(rows), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    tests = {s["statement"]: s.get("test") for s in payload["statements"]}
    assert "cg" in tests.values() and None not in tests.values()
    assert payload["n_rejected"] == 0


def test_errors_name_the_problem():
    df = _mixed_rows(1, 300)
    with pytest.raises(PgmArError, match="conditional-Gaussian test of d against e"):
        CITester(df, "cg").test("d", "e", ["g"])
    from pgm_ar.learning.pc import pc

    with pytest.raises(PgmArError, match="'cg'"):
        pc(df, test="cg")


def test_statements_alone_with_the_cg_test_and_the_cli_option(tmp_path, capsys):
    df = _mixed_rows(2, 2000)
    result = check(["h _|_ d | g, e", "d _|_ e | g", "h _|_ e"], df, tests="cg", correction=None)
    by = {r.statement.ascii(): r for r in result.rows}
    assert by["h _|_ d | e, g"].result.test == "cg"
    assert by["h _|_ d | e, g"].verdict == "consistent with the data"
    assert by["d _|_ e | g"].verdict == "untested"
    # h's variance depends on e: the CG test sees it
    assert by["h _|_ e"].verdict == "rejected"
    spec = tmp_path / "chain.yaml"
    spec.write_text("""
variables:
  - {name: d, type: categorical, states: [lo, mid, hi]}
  - {name: g, type: gaussian}
edges: ["d -> g"]
statements:
  - g _|_ d
""")
    rows = tmp_path / "rows.csv"
    df[["d", "g"]].to_csv(rows, index=False)
    assert main(["check", str(spec), "--data", str(rows), "--json", "--test", "cg"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [(s["test"], s["verdict"]) for s in payload["statements"]] == [("cg", "rejected")]
