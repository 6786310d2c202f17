"""CI tests against pgmpy, a brute-force CMI, a hand count of degrees of freedom and
least-squares regressions."""
from __future__ import annotations

import math
import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from pgm_ar import BayesNet, Categorical
from pgm_ar.errors import DataError, PgmArError
from pgm_ar.learning.citests import CITester, ci_test


def _discrete_frame(n=3000, seed=1, binary=False):
    rng = np.random.default_rng(seed)
    cards = [2] * 5 if binary else [3, 4, 3, 2, 5]
    df = pd.DataFrame({c: rng.integers(0, k, n) for c, k in zip("abcde", cards)})
    df["b"] = (df.a + (rng.random(n) < 0.3)) % cards[1]      # b depends on a
    df["c"] = (df.d + (rng.random(n) < 0.4)) % cards[2]      # c depends on d
    return df


QUERIES = [("a", "b", []), ("a", "c", ["d"]), ("a", "b", ["c", "d", "e"]), ("d", "e", []),
           ("d", "c", ["a"]), ("e", "a", ["b", "c"])]


def _pgmpy_result(cls, df, x, y, z):
    test = cls(df)
    test(x, y, z)
    return test.statistic_, test.dof_, test.p_value_


@pytest.mark.parametrize("binary", [False, True])
def test_statistics_equal_pgmpy(binary):
    pytest.importorskip("pgmpy")
    from pgmpy.ci_tests import ChiSquare, GSq
    from pgmpy.estimators import CITests

    df = _discrete_frame(binary=binary)
    for x, y, z in QUERIES:
        for ours_name, cls, old in (("g", GSq, CITests.g_sq), ("chi2", ChiSquare, CITests.chi_square)):
            # pgmpy applies Yates' correction to 2x2 strata; ours does so on request only
            ours = ci_test(df, x, y, z, ours_name, yates=True)
            stat, dof, p = _pgmpy_result(cls, df, x, y, z)
            # pgmpy's vectorised G-test gives NaN when a stratum of Z is empty (0 log 0/0);
            # its older per-stratum function below covers those queries
            if np.isfinite(stat):
                assert ours.statistic == pytest.approx(stat, rel=1e-9, abs=1e-9)
                assert ours.dof == dof
                assert ours.p_value == pytest.approx(p, rel=1e-9, abs=1e-12)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                old_stat, _, old_dof = old(x, y, z, df, boolean=False)
            assert ours.statistic == pytest.approx(old_stat, rel=1e-9, abs=1e-9)
            assert ours.dof == old_dof
            if not binary:  # no 2x2 stratum: the correction changes nothing
                plain = ci_test(df, x, y, z, ours_name)
                assert plain.statistic == pytest.approx(old_stat, rel=1e-9, abs=1e-9)


def _brute_cmi(df, x, y, z):
    """I(X; Y | Z) in nats from a plain count of the rows."""
    rows = [tuple(r) for r in df[[x, y, *z]].itertuples(index=False)]
    n = len(rows)
    c_xyz = Counter(rows)
    c_xz = Counter((r[0],) + r[2:] for r in rows)
    c_yz = Counter(r[1:] for r in rows)
    c_z = Counter(r[2:] for r in rows)
    return sum(k / n * math.log(k * c_z[r[2:]] / (c_xz[(r[0],) + r[2:]] * c_yz[r[1:]]))
               for r, k in c_xyz.items())


@pytest.mark.parametrize("x,y,z", QUERIES)
def test_g_is_2n_times_a_brute_force_cmi(x, y, z):
    df = _discrete_frame(n=1500, seed=3)
    r = ci_test(df, x, y, z, "g")
    cmi = _brute_cmi(df, x, y, z)
    assert r.cmi == pytest.approx(cmi, rel=1e-9, abs=1e-12)
    assert r.statistic == pytest.approx(2 * len(df) * cmi, rel=1e-9, abs=1e-9)
    # the chi-square test reports the same CMI (it is a property of the counts)
    assert ci_test(df, x, y, z, "chi2").cmi == pytest.approx(cmi, rel=1e-9, abs=1e-12)


def test_degrees_of_freedom_skip_empty_strata_rows_and_columns():
    # z = 0: x in {0,1,2}, y in {0,1}          -> (3-1)(2-1) = 2
    # z = 1: x in {0} only                      -> 0
    # z = 2: never occurs                       -> 0
    # z = 3: x in {1,2}, y in {0,1,2}           -> (2-1)(3-1) = 2
    rows = ([(0, 0, 0), (1, 1, 0), (2, 0, 0), (2, 1, 0)] + [(0, 0, 1), (0, 2, 1)]
            + [(1, 0, 3), (2, 1, 3), (2, 2, 3), (1, 2, 3)])
    df = pd.DataFrame(rows * 5, columns=["x", "y", "z"])
    # the network declares z's four states, so the table has an empty stratum (z = 2)
    net = BayesNet([Categorical("x", 3), Categorical("y", 3), Categorical("z", 4)])
    r = ci_test(df, "x", "y", ["z"], "g", net=net)
    assert r.dof == 4
    p_expected = 1.0 - __import__("scipy").stats.chi2.cdf(r.statistic, 4)
    assert r.p_value == pytest.approx(p_expected, rel=1e-9)


def test_missing_values_leave_rows_out_per_test():
    df = _discrete_frame(n=400, seed=5).astype(object)
    df.loc[:49, "e"] = None
    r = ci_test(df, "a", "b", ["e"], "g")
    assert r.n_used == 350
    full = ci_test(df.iloc[50:], "a", "b", ["e"], "g")
    assert r.statistic == pytest.approx(full.statistic, rel=1e-12)
    assert ci_test(df, "a", "b", [], "g").n_used == 400


def test_a_set_is_tested_as_its_joint_column():
    df = _discrete_frame(n=2000, seed=7)
    joint = df.assign(bc=df.b.astype(str) + "/" + df.c.astype(str))
    r_set = ci_test(df, "a", ["b", "c"], ["d"], "g")
    r_joint = ci_test(joint, "a", "bc", ["d"], "g")
    assert (r_set.statistic, r_set.dof) == pytest.approx((r_joint.statistic, r_joint.dof))
    assert r_set.y == ("b", "c")


def _gaussian_frame(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    z1, z2 = rng.normal(size=n), rng.normal(size=n)
    x = 0.8 * z1 + rng.normal(size=n)
    y = 0.5 * z1 - 0.7 * z2 + 0.2 * x + rng.normal(size=n)
    w = z2 + rng.normal(size=n) + 3.0
    return pd.DataFrame({"x": x, "y": y, "z1": z1 + 1.5, "z2": z2, "w": w})


@pytest.mark.parametrize("x,y,z", [("x", "y", []), ("x", "y", ["z1"]), ("x", "w", ["z1", "z2"]),
                                   ("w", "z1", ["x", "y", "z2"])])
def test_fisher_z_equals_pgmpy(x, y, z):
    pytest.importorskip("pgmpy")
    from pgmpy.ci_tests import FisherZ, Pearsonr
    from pgmpy.estimators import CITests

    df = _gaussian_frame()
    r = ci_test(df, x, y, z)  # auto: floating columns
    assert r.test == "fisher_z" and r.dof is None
    fz = FisherZ(df)
    fz(x, y, z)
    assert r.statistic == pytest.approx(fz.statistic_, rel=1e-9, abs=1e-9)
    assert r.p_value == pytest.approx(fz.p_value_, rel=1e-7, abs=1e-12)
    pr = Pearsonr(df)
    pr(x, y, z)
    rho = np.tanh(r.statistic / np.sqrt(len(df) - len(z) - 3))
    assert rho == pytest.approx(pr.statistic_, rel=1e-9, abs=1e-12)
    assert r.cmi == pytest.approx(-0.5 * np.log(1 - pr.statistic_ ** 2), rel=1e-9, abs=1e-12)
    # the older function regresses without an intercept: the same on centred data
    centred = df - df.mean()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        coef, _ = CITests.pearsonr(x, y, z, centred, boolean=False)
    assert rho == pytest.approx(coef, rel=1e-9, abs=1e-12)


def test_gaussian_likelihood_ratio_for_sets_against_regressions():
    df = _gaussian_frame(n=3000, seed=2)
    r = ci_test(df, "y", ["x", "w"], ["z1"])
    assert r.test == "gaussian_lr" and r.dof == 2

    def resid_var(target, cols):
        design = np.column_stack([np.ones(len(df))] + [df[c] for c in cols])
        coef = np.linalg.lstsq(design, df[target], rcond=None)[0]
        return np.var(df[target] - design @ coef)

    cmi = 0.5 * np.log(resid_var("y", ["z1"]) / resid_var("y", ["z1", "x", "w"]))
    assert r.cmi == pytest.approx(cmi, rel=1e-8)
    assert r.statistic == pytest.approx(2 * len(df) * cmi, rel=1e-8)


def test_errors_name_the_problem():
    df = _discrete_frame(n=100)
    with pytest.raises(DataError, match="agee"):
        ci_test(df, "agee", "b")
    with pytest.raises(PgmArError, match="two sides"):
        ci_test(df, "a", "b", ["a"])
    with pytest.raises(PgmArError, match="CI test"):
        CITester(df, "kendall")
    real = _gaussian_frame(n=50).assign(x2=lambda d: 2 * d.x)
    with pytest.raises(DataError, match="singular"):
        ci_test(real, "x", "y", ["x2"], "fisher_z")


def test_test_many_equals_one_test_at_a_time():
    df = _discrete_frame(n=2500, seed=11)
    for kind in ("g", "chi2"):
        tester = CITester(df, kind)
        for given in ([], ["d"], ["d", "e"]):
            ys = [y for y in "bce" if y not in given]
            for many in tester.test_many("a", ys, given):
                one = tester.test(many.x, many.y, many.given)
                assert many.statistic == pytest.approx(one.statistic, rel=1e-9, abs=1e-9)
                assert (many.dof, many.n_used) == (one.dof, one.n_used)
                assert many.p_value == pytest.approx(one.p_value, rel=1e-9, abs=1e-15)


def test_pairwise_counts_equal_a_crosstab():
    from pgm_ar.learning.citests import pairwise_counts

    df = _discrete_frame(n=1000, seed=12)
    tester = CITester(df, "g")
    cols = [np.ascontiguousarray(tester.data.codes[:, j]) for j in range(5)]
    gram, off = pairwise_counts(cols, tester.data.cards, chunk=300)  # several chunks
    for i in range(5):
        for j in range(5):
            expected = pd.crosstab(cols[i], cols[j]).reindex(
                index=range(tester.data.cards[i]), columns=range(tester.data.cards[j]),
                fill_value=0).to_numpy()
            if i == j:
                expected = np.diag(np.bincount(cols[i], minlength=tester.data.cards[i]))
            assert (gram[off[i]:off[i + 1], off[j]:off[j + 1]] == expected).all()


def _pairs_frame(n=4000, seed=21):
    """Few distinct rows (so the compressed path can run), a many-state parent set, a root."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"a": rng.integers(0, 2, n), "d": rng.integers(0, 3, n),
                       "e": rng.integers(0, 5, n)})
    df["b"] = (df.a + (rng.random(n) < 0.2)) % 2
    df["c"] = (df.d + df.e * (rng.random(n) < 0.5)) % 4
    return df


PAIRS = [("a", "b", []), ("a", "c", []), ("c", "a", ["d", "e"]), ("c", "b", ["e", "d"]),
         ("b", "e", ["a"]), ("b", "d", ["a"]), ("b", "c", ["a"]), ("e", "d", []),
         ("a", "e", ["b", "c", "d"]), ("a", "d", ["b", "c", "e"])]


@pytest.mark.parametrize("kind", ["g", "chi2"])
@pytest.mark.parametrize("yates", [False, True])
@pytest.mark.parametrize("path", ["rows", "distinct rows", "sparse strata"])
def test_test_pairs_equals_one_test_at_a_time(kind, yates, path, monkeypatch):
    from pgm_ar.learning import citests

    if path == "distinct rows":
        monkeypatch.setattr(citests, "_COMPRESS_ROWS", 1)
    if path == "sparse strata":  # every group past the dense count: the fallback path
        monkeypatch.setattr(citests, "_PACK_CELLS", 2)
    tester = CITester(_pairs_frame(), kind, yates=yates)
    batch = tester.test_pairs(PAIRS)
    if path == "distinct rows":
        assert tester._packed_columns.weights is not None  # the distinct rows were used
    assert len(batch) == len(PAIRS)
    for got, (x, y, z) in zip(batch, PAIRS):
        one = tester.test(x, y, z)
        assert (got.x, got.y, got.given) == (one.x, one.y, one.given)
        assert got.statistic == pytest.approx(one.statistic, rel=1e-9, abs=1e-9)
        assert (got.dof, got.n_used) == (one.dof, one.n_used)
        assert got.p_value == pytest.approx(one.p_value, rel=1e-9, abs=1e-15)
        assert got.cmi == pytest.approx(one.cmi, rel=1e-9, abs=1e-12)


def test_test_pairs_equal_pgmpy_gsq():
    pytest.importorskip("pgmpy")
    from pgmpy.ci_tests import GSq

    df = _pairs_frame(n=3000, seed=22)
    ours = CITester(df, "g", yates=True).test_pairs(PAIRS)
    theirs = GSq(df, use_cache=False)
    for got, (x, y, z) in zip(ours, PAIRS):
        theirs.run_test(x, y, z)
        if np.isfinite(theirs.statistic_):  # NaN when a stratum of Z is empty (see above)
            assert got.statistic == pytest.approx(theirs.statistic_, rel=1e-9, abs=1e-9)
            assert got.dof == theirs.dof_
            assert got.p_value == pytest.approx(theirs.p_value_, rel=1e-9, abs=1e-12)


def test_test_pairs_with_missing_values_and_errors():
    df = _pairs_frame(n=500, seed=23).astype(float)
    df.loc[::7, "c"] = np.nan
    tester = CITester(df, "g")
    got = tester.test_pairs([("a", "c", ["d"]), ("a", "b", [])])
    assert got[0].n_used == 500 - len(df.index[::7])
    assert got[0].statistic == pytest.approx(tester.test("a", "c", ["d"]).statistic)
    with pytest.raises(PgmArError):
        CITester(_pairs_frame(n=100), "g").test_pairs([("a", "a", [])])


def test_test_pairs_with_a_many_state_variable_counts_in_halves(monkeypatch):
    from pgm_ar.learning import citests

    monkeypatch.setattr(citests, "_TABLE_CELLS", 64)  # every batch past it: split to single tests
    rng = np.random.default_rng(24)
    df = _pairs_frame(n=1500, seed=24)
    df["f"] = rng.integers(0, 300, len(df))  # 300 states: every pack as wide
    tester = CITester(df, "g")
    pairs = [("a", y, ["d"]) for y in "bcef"]
    for got, (x, y, z) in zip(tester.test_pairs(pairs), pairs):
        one = tester.test(x, y, z)
        assert got.statistic == pytest.approx(one.statistic, rel=1e-9, abs=1e-9)
        assert (got.dof, got.n_used) == (one.dof, one.n_used)


@pytest.mark.parametrize("zs", [[], ["c"], ["c", "d"], ["c", "d", "e"]])
def test_bitset_tables_equal_a_plain_count(zs, monkeypatch):
    # both ways of counting one test (bitsets of the rows, codes and a bincount) give the
    # counts of a Counter over the rows, the strata that never occur left out
    from pgm_ar.learning import citests

    df = _discrete_frame(n=1001, seed=7)  # not a multiple of 64: the last word is partial
    df.loc[df.c == 1, "d"] = 0            # strata (c=1, d>0) never occur
    counts = Counter(tuple(r) for r in df[["a", "b", *zs]].itertuples(index=False))
    strata = sorted({k[2:] for k in counts})
    expected = np.array([[[counts.get((i, j, *s), 0) for j in range(4)] for i in range(3)]
                         for s in strata])
    # never bitsets, always bitsets (y's last state by subtraction or ANDed like the others)
    for cells, subtract in ((0, 1), (10 ** 6, 1), (10 ** 6, 10 ** 9)):
        monkeypatch.setattr(citests, "_BIT_CELLS", cells)
        monkeypatch.setattr(citests, "_BIT_SUBTRACT_WORDS", subtract)
        t = CITester(df, "g")
        table = t.table([t.index("a")], [t.index("b")], [t.index(z) for z in zs])
        assert table.dtype == np.int64 and np.array_equal(table, expected)


@pytest.mark.parametrize("kind", ["g", "chi2"])
def test_single_name_fast_path_equals_the_general_path(kind):
    # names given as plain strings and a list take a shorter path; lists of names on each
    # side (and the given as a generator) take the general one: the same results, equal objects
    df = _discrete_frame(n=2000, seed=6)
    fast, general = CITester(df, kind), CITester(df, kind)
    for x, y, z in QUERIES:
        a = fast.test(x, y, z)
        b = general.test([x], [y], (v for v in z))
        assert a == b and hash(a) == hash(b)
        assert a.given == tuple(sorted(z)) and a.note == "" and isinstance(a.dof, int)
        assert a.to_dict() == b.to_dict()
        # and the statistic is 2n times the brute-force CMI
        if kind == "g":
            assert a.statistic == pytest.approx(2 * len(df) * _brute_cmi(df, x, y, z),
                                                rel=1e-9, abs=1e-9)
    assert fast.n_tests == general.n_tests == len(QUERIES)
    with pytest.raises(DataError, match="dd"):
        fast.test("a", "b", ["dd"])
    with pytest.raises(PgmArError, match="two sides"):
        fast.test("a", "b", ["c", "b"])
