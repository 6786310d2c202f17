"""The PC algorithm: asia's CPDAG from 50,000 rows, knowledge constraints, Meek's rules on
hand-built graphs, the DAG extension and the batched tests against one test at a time."""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest

import pgm_ar
from pgm_ar.errors import PgmArError
from pgm_ar.learning import discrete_data
from pgm_ar.learning.citests import CITester
from pgm_ar.learning.pc import orient, pc

# asia's CPDAG, by hand: the v-structures tub -> either <- lung and either -> dysp <- bronc,
# then xray's edge by Meek's rule 1 (either -> xray); the rest could point either way
ASIA_DIRECTED = {("tub", "either"), ("lung", "either"), ("either", "dysp"), ("bronc", "dysp"),
                 ("either", "xray")}
ASIA_UNDIRECTED = {frozenset(("asia", "tub")), frozenset(("smoke", "lung")),
                   frozenset(("smoke", "bronc"))}


@pytest.fixture(scope="module")
def asia_rows():
    net = pgm_ar.example_network("asia")
    return net, discrete_data(pgm_ar.compile(net).sample(50000, seed=0), net)


def test_asia_cpdag_from_50000_rows(asia_rows):
    # either = tub OR lung is deterministic, so "xray _|_ either | tub, lung" holds in the data
    # (either is constant in every stratum).  Such a test has no degrees of freedom, and PC
    # does not remove an edge on it: the true skeleton is recovered, edges out of either too.
    net, data = asia_rows
    learned = pc(data, alpha=0.01)
    assert {frozenset(e) for e in learned.skeleton()} == {frozenset(e) for e in net.edges}
    assert set(learned.directed) == ASIA_DIRECTED
    assert {frozenset(e) for e in learned.undirected} == ASIA_UNDIRECTED
    assert learned.conflicts == 0 and not learned.is_dag
    with pytest.raises(PgmArError, match="dag_extension"):
        learned.to_network()
    dag = learned.dag_extension()
    assert {frozenset(e) for e in dag.edges} == {frozenset(e) for e in net.edges}
    assert _v_structures(dag) == _v_structures(net)
    cp = learned.cpdag()
    assert cp.has_edge("asia", "tub") and cp.has_edge("tub", "asia")


def _v_structures(net):
    adj = {frozenset(e) for e in net.edges}
    return {(frozenset((a, b)), c) for c in net.names
            for a, b in combinations(net.parents(c), 2) if frozenset((a, b)) not in adj}


def test_batched_skeleton_equals_one_test_at_a_time(asia_rows):
    # Yates' correction off and on the same data would differ; compare the batched path with
    # the per-test path by giving the per-test path a missing value in a column of its own
    net, data = asia_rows
    df = pd.DataFrame({n: np.asarray(data.states[i], dtype=object)[data.codes[:5000, i]]
                       for i, n in enumerate(data.names)})
    batched = pc(df, alpha=0.05)
    df2 = df.assign(extra=["u", "v"] * 2499 + ["u", None])
    single = pc(df2, alpha=0.05)  # missing values: one test at a time
    keep = lambda es: {e for e in es if "extra" not in e}  # noqa: E731
    assert keep(single.directed) == set(batched.directed)
    assert keep(single.undirected) == set(batched.undirected)
    # every separating set really separates: its test keeps independence
    tester = CITester(df, "g")
    for pair, sep in batched.sepsets.items():
        a, b = sorted(pair)
        assert tester.test(a, b, list(sep)).p_value > 0.05


def test_knowledge_is_honoured(asia_rows):
    net, data = asia_rows
    tiers = [["asia", "smoke"], ["tub", "lung", "bronc"], ["either"], ["xray", "dysp"]]
    learned = pc(data, alpha=0.01, forbidden=[("smoke", "bronc")], required=[("asia", "dysp")],
                 tiers=tiers, statements=["lung _|_ smoke"])
    skeleton = {frozenset(e) for e in learned.skeleton()}
    assert frozenset(("smoke", "bronc")) not in skeleton
    assert frozenset(("smoke", "lung")) not in skeleton
    assert learned.sepsets[frozenset(("lung", "smoke"))] == ()
    assert ("asia", "dysp") in learned.directed
    tier = {v: t for t, group in enumerate(tiers) for v in group}
    for a, b in learned.directed:
        assert tier[a] <= tier[b], (a, b)
    for a, b in learned.undirected:
        assert tier[a] == tier[b], (a, b)
    with pytest.raises(PgmArError, match="both required and forbidden"):
        pc(data, required=[("asia", "tub")], forbidden=[("tub", "asia")])
    with pytest.raises(PgmArError, match="later tier"):
        pc(data, required=[("dysp", "asia")], tiers=tiers)
    with pytest.raises(PgmArError, match="smok"):
        pc(data, forbidden=[("smok", "tub")])


def _pdag(directed, undirected):
    return set(directed), {frozenset(e) for e in undirected}


def test_meek_rule_1():
    # a -> b <- d (v-structure), b - c with c not adjacent to a or d  =>  b -> c
    d, u, _ = orient("abcd", [("a", "b"), ("d", "b"), ("b", "c")],
                     {frozenset("ad"): (), frozenset("ac"): ("b",), frozenset("dc"): ("b",)})
    assert _pdag(d, u) == ({("a", "b"), ("d", "b"), ("b", "c")}, set())


def test_meek_rule_2():
    # a -> b -> c (knowledge) and a - c  =>  a -> c
    d, u, _ = orient("abc", [("a", "b"), ("b", "c"), ("a", "c")], {},
                     required=[("a", "b"), ("b", "c")])
    assert _pdag(d, u) == ({("a", "b"), ("b", "c"), ("a", "c")}, set())


def test_meek_rule_3():
    # c -> b <- d (v-structure, c and d separated by a), a - b, a - c, a - d  =>  a -> b
    d, u, _ = orient("abcd", [("a", "b"), ("a", "c"), ("a", "d"), ("c", "b"), ("d", "b")],
                     {frozenset("cd"): ("a",)})
    assert _pdag(d, u) == ({("c", "b"), ("d", "b"), ("a", "b")},
                           {frozenset("ac"), frozenset("ad")})


def test_no_v_structure_no_orientation():
    d, u, _ = orient("abc", [("a", "b"), ("b", "c")], {frozenset("ac"): ("b",)})
    assert _pdag(d, u) == (set(), {frozenset("ab"), frozenset("bc")})


def test_fisher_z_pc_on_a_linear_gaussian_collider():
    rng = np.random.default_rng(4)
    n = 5000
    x, w = rng.normal(size=n), rng.normal(size=n)
    y = x + w + rng.normal(size=n)
    z = 0.8 * y + rng.normal(size=n)
    learned = pc(pd.DataFrame({"x": x, "w": w, "y": y, "z": z}), alpha=0.01)
    assert set(learned.directed) == {("x", "y"), ("w", "y"), ("y", "z")}
    net = learned.to_network()
    assert net.parents("y") == ("x", "w") and net.variable("z").kind.value == "gaussian"


def test_packed_counts_and_row_counts_learn_the_same(monkeypatch):
    # the two ways of counting a chunk's tables (packs of ys sharing a conditioning set, or
    # one row of codes per test) give the same integer tables, hence the same run
    import importlib

    pc_module = importlib.import_module("pgm_ar.learning.pc")  # the module, not the function

    net = pgm_ar.example_network("child")
    data = discrete_data(pgm_ar.compile(net).sample(4000, seed=3), net)
    runs = []
    for threshold in (0, 10 ** 15):  # always packed, never packed
        monkeypatch.setattr(pc_module, "_PACK_MIN_ROWS", threshold)
        r = pc(data, alpha=0.01, max_cond=3)
        runs.append((set(r.directed), {frozenset(e) for e in r.undirected}, r.sepsets,
                     r.n_tests))
    assert runs[0] == runs[1]
    assert runs[0][3] > 500  # levels past the first ran


@pytest.mark.parametrize("test", ["g", "chi2"])
def test_batched_separating_sets_pass_the_single_test(monkeypatch, test):
    # every separating set the batched counts found (small packs: many packs per set, a few
    # ys each) is one the one-at-a-time tester also accepts, with the same statistic
    import importlib

    from pgm_ar.learning import CITester

    pc_module = importlib.import_module("pgm_ar.learning.pc")
    monkeypatch.setattr(pc_module, "_PACK_MIN_ROWS", 0)
    monkeypatch.setattr(pc_module, "_PACK_CELLS", 64)
    net = pgm_ar.example_network("child")
    data = discrete_data(pgm_ar.compile(net).sample(3000, seed=5), net)
    learned = pc(data, alpha=0.05, max_cond=2, test=test)
    tester = CITester(data, test)
    conditioned = [(pair, s) for pair, s in learned.sepsets.items() if s]
    assert len(conditioned) > 20
    for pair, s in conditioned:
        a, b = sorted(pair)
        r = tester.test(a, b, list(s))
        assert r.p_value > 0.05 and r.dof > 0


def test_many_valued_columns_are_refused_before_any_table_exists():
    """An identifier-like column would ask for a card x card table: refused with the numbers
    (under a small budget here, so the test allocates nothing large either)."""
    import pandas as pd

    from pgm_ar.errors import PgmArError
    from pgm_ar.learning import ci_test, pc
    from pgm_ar.limits import limits_raised

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"id": [f"r{i}" for i in range(300)], "a": rng.integers(0, 2, 300),
                       "b": rng.integers(0, 3, 300)})
    with limits_raised(max_table_cells=800):
        with pytest.raises(PgmArError, match=r"'id' and 'b'.*900 table entries.*max_table_cells"):
            pc(df)
        with pytest.raises(PgmArError, match=r"1 strata x 300 x 3 states.*900 table entries"):
            ci_test(df, "id", "b")
        assert ci_test(df, "a", "b").dof == 2  # small tables still run under the same budget
    with limits_raised(max_table_cells=1000):  # 300 * 3 fits; (300 + 2 + 3)^2 does not
        with pytest.raises(PgmArError, match=r"first level.*93025 table entries"):
            pc(df)


@pytest.mark.parametrize("test", ["g", "chi2"])
def test_bitset_counts_learn_what_code_counts_learn(monkeypatch, test):
    # with every row kept (no distinct-row compression), a node's tests are counted from
    # bitsets of the rows or from codes and bincounts: the same integer tables, the same run
    import importlib

    pc_module = importlib.import_module("pgm_ar.learning.pc")
    monkeypatch.setattr(pc_module, "_FRAME_ROW_SHARE", 0.0)
    net = pgm_ar.example_network("child")
    data = discrete_data(pgm_ar.compile(net).sample(2500, seed=8), net)
    runs = []
    # never bitsets, always bitsets (y's last state by subtraction, or ANDed like the others)
    for cells, subtract in ((0, 1), (10 ** 6, 1), (10 ** 6, 10 ** 12)):
        monkeypatch.setattr(pc_module, "_BIT_PC_CELLS", cells)
        monkeypatch.setattr(pc_module, "_BIT_SUBTRACT_WORDS", subtract)
        r = pc(data, alpha=0.05, max_cond=3, test=test)
        runs.append((set(r.directed), {frozenset(e) for e in r.undirected}, r.sepsets,
                     r.n_tests))
    assert runs[0] == runs[1] == runs[2]
    assert sum(1 for s in runs[0][2].values() if len(s) >= 2) > 3  # levels 2+ decided edges


def test_distinct_rows_gives_up_on_a_prefix_that_truly_has_too_many():
    # the prefix it reports takes more than `most` distinct combinations (np.unique counts
    # them independently), so any set of columns including it does too
    from pgm_ar.learning.pc import distinct_rows

    rng = np.random.default_rng(4)
    cards = [3, 4, 5, 2, 6, 3, 4]
    cols = [rng.integers(0, k, 3000) for k in cards]
    for most in (50, 400, 1500):
        failed = []
        got = distinct_rows(cols, cards, most=most, failed=failed)
        full = len(np.unique(np.stack(cols, axis=1), axis=0))
        assert (got is None) == (full > most)
        if got is None:
            (j,) = failed
            assert len(np.unique(np.stack(cols[:j], axis=1), axis=0)) > most
        else:
            assert not failed and len(got[1]) == full and got[1].sum() == 3000


def test_skipping_hopeless_distinct_rows_learns_the_same(monkeypatch):
    # column sets already seen to take too many distinct rows are not tried again: the same
    # run as trying every time (the rows are then counted whole either way)
    import importlib

    pc_module = importlib.import_module("pgm_ar.learning.pc")
    monkeypatch.setattr(pc_module, "_FRAME_ROW_SHARE", 0.2)  # many attempts fail
    net = pgm_ar.example_network("child")
    data = discrete_data(pgm_ar.compile(net).sample(3000, seed=2), net)
    calls = []
    real = pc_module.distinct_rows
    monkeypatch.setattr(pc_module, "distinct_rows",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    runs = []
    for skip in (True, False):
        if not skip:
            monkeypatch.setattr(pc_module, "_known_too_many", lambda cols, hopeless: False)
        calls.clear()
        r = pc(data, alpha=0.01, max_cond=3)
        runs.append((set(r.directed), {frozenset(e) for e in r.undirected}, r.sepsets,
                     r.n_tests, len(calls)))
    assert runs[0][:4] == runs[1][:4]
    assert runs[0][4] < runs[1][4]  # the skip did skip attempts
