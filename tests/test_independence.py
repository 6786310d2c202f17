"""d-separation, Markov blankets, minimal separators and implied independencies.

Oracles: the full joint of small random networks enumerated with numpy (every
independence claimed must hold numerically, every d-connection must show up as
a dependence for generic parameters), pgmpy's ``is_dconnected`` and
``get_markov_blanket``, networkx's ``is_d_separator``, and brute force over
subsets for minimality.
"""
from __future__ import annotations

import gzip
import itertools
import re
import time
from functools import lru_cache

import networkx as nx
import numpy as np
import pytest

import pgm_ar.independence as independence
from pgm_ar import BayesNet, Bernoulli, Categorical, Independence, Statement
from pgm_ar.errors import PgmArError, StatementError, UnknownVariableError
from pgm_ar.independence import Independencies, implied

from conftest import BIF_DIR, BIF_NAMES


# -- helpers ---------------------------------------------------------------------------------
def random_dag(n: int, p: float, seed: int, card_max: int = 2) -> BayesNet:
    """Nodes v0..v{n-1} listed in a shuffled order, edges only from lower to higher number."""
    rng = np.random.default_rng(seed)
    cards = rng.integers(2, card_max + 1, size=n)
    vs = [Categorical(f"v{i}", int(cards[i])) for i in range(n)]
    edges = [(f"v{j}", f"v{i}") for i in range(n) for j in range(i) if rng.random() < p]
    order = rng.permutation(n)
    return BayesNet([vs[i] for i in order], edges)


def sparse_random_dag(n: int, mean_parents: float, seed: int) -> BayesNet:
    """Each node takes Poisson(mean_parents) parents among the earlier nodes."""
    rng = np.random.default_rng(seed)
    edges = []
    for i in range(1, n):
        k = min(i, int(rng.poisson(mean_parents)))
        edges += [(f"x{p}", f"x{i}") for p in rng.choice(i, size=k, replace=False)]
    return BayesNet([Bernoulli(f"x{i}") for i in range(n)], edges)


def random_joint(net: BayesNet, seed: int) -> np.ndarray:
    """The joint of ``net`` with Dirichlet(1) CPTs, axes in declaration order."""
    rng = np.random.default_rng(seed)
    names = list(net.names)
    axis = {v: k for k, v in enumerate(names)}
    operands = []
    for v in names:
        pa = list(net.parents(v))
        shape = [net.variable(p).cardinality for p in pa] + [net.variable(v).cardinality]
        cpt = rng.dirichlet(np.ones(shape[-1]), size=int(np.prod(shape[:-1]))).reshape(shape)
        operands += [cpt, [axis[p] for p in pa] + [axis[v]]]
    joint = np.einsum(*operands, list(range(len(names))))
    assert abs(joint.sum() - 1) < 1e-12
    return joint


def dependence(joint: np.ndarray, names, xs, ys, zs) -> float:
    """max |p(x, y | z) - p(x | z) p(y | z)| over all values."""
    axis = {v: k for k, v in enumerate(names)}
    keep = sorted(axis[v] for v in (*xs, *ys, *zs))
    drop = tuple(k for k in range(joint.ndim) if k not in keep)
    m = joint.sum(axis=drop)  # axes now in `keep` order
    pos = {k: i for i, k in enumerate(keep)}
    X = tuple(pos[axis[v]] for v in xs)
    Y = tuple(pos[axis[v]] for v in ys)
    pxz = m.sum(axis=Y, keepdims=True)
    pyz = m.sum(axis=X, keepdims=True)
    pz = m.sum(axis=X + Y, keepdims=True)
    return float(np.abs(m / pz - (pxz / pz) * (pyz / pz)).max())


@lru_cache(maxsize=None)
def bif_structure(name: str):
    """(names, states, parents) read from the shipped BIF file with a small regex reader."""
    text = gzip.decompress((BIF_DIR / f"{name}.bif.gz").read_bytes()).decode()
    states = {m.group(1): [s.strip() for s in m.group(2).split(",")]
              for m in re.finditer(r"variable\s+(\S+)\s*\{[^{}]*\{([^}]*)\}", text)}
    parents = {}
    for m in re.finditer(r"probability\s*\(\s*([^|)\s]+)\s*(?:\|([^)]*))?\)", text):
        parents[m.group(1)] = [p.strip() for p in (m.group(2) or "").split(",") if p.strip()]
    return list(states), states, parents


@lru_cache(maxsize=None)
def bif_net(name: str) -> BayesNet:
    names, states, parents = bif_structure(name)
    return BayesNet([Categorical(v, states[v]) for v in names],
                    [(p, c) for c in names for p in parents[c]], name=name)


def pgmpy_model(net: BayesNet):
    from pgmpy.models import DiscreteBayesianNetwork

    model = DiscreteBayesianNetwork()
    model.add_nodes_from(net.names)
    model.add_edges_from(net.edges)
    return model


def random_queries(net: BayesNet, count: int, seed: int, max_given: int = 3, max_side: int = 1):
    rng = np.random.default_rng(seed)
    names = list(net.names)
    for _ in range(count):
        a = int(rng.integers(1, max_side + 1))
        b = int(rng.integers(1, max_side + 1))
        g = int(rng.integers(0, max_given + 1))
        picked = [names[i] for i in rng.choice(len(names), size=min(len(names), a + b + g),
                                                replace=False)]
        yield picked[:a], picked[a:a + b], picked[a + b:]


@pytest.fixture(params=["python", "vector", "hybrid"])
def route(request, monkeypatch):
    """Run a test with each d-separation route: plain Python (what small nets use),
    the vectorized search alone, and the big-net default (Python with a budget, then
    vectorized)."""
    if request.param == "python":
        monkeypatch.setattr(independence, "VECTOR_MIN_SIZE", 10 ** 12)
    else:
        monkeypatch.setattr(independence, "VECTOR_MIN_SIZE", 0)
    if request.param == "vector":
        monkeypatch.setattr(independence, "PYTHON_BUDGET", 1)
    elif request.param == "hybrid":
        monkeypatch.setattr(independence, "PYTHON_BUDGET", 8)  # small nets: make both parts run
    return request.param


# -- the reader used by these tests agrees with pgmpy's ------------------------------------------
def test_test_reader_matches_pgmpy_bifreader():
    from pgmpy.readwrite import BIFReader

    text = gzip.decompress((BIF_DIR / "alarm.bif.gz").read_bytes()).decode()
    model = BIFReader(string=text).get_model()
    net = bif_net("alarm")
    assert set(net.names) == set(model.nodes())
    assert set(net.edges) == set(model.edges())
    assert (len(net), net.num_edges) == (37, 46)


# -- d-separation against the numbers ---------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_claims_hold_numerically_on_random_networks(seed, route):
    net = random_dag(5 + seed % 3, 0.45, seed, card_max=3)
    joint = random_joint(net, seed)
    names = list(net.names)
    ind = Independence(net)
    checked = dependent = 0
    # every disjoint (X, Y, Z) with |X|, |Y| <= 2, X before Y in a fixed order (symmetry)
    for assign in itertools.product(range(4), repeat=len(names)):  # 0 none, 1 X, 2 Y, 3 Z
        xs = [v for v, a in zip(names, assign) if a == 1]
        ys = [v for v, a in zip(names, assign) if a == 2]
        zs = [v for v, a in zip(names, assign) if a == 3]
        if not (1 <= len(xs) <= 2 and 1 <= len(ys) <= 2) or min(xs) > min(ys):
            continue
        diff = dependence(joint, names, xs, ys, zs)
        if ind.is_independent(xs, ys, zs):
            assert diff < 1e-9, (xs, ys, zs, diff)
            checked += 1
        elif len(xs) == len(ys) == 1:
            # generic parameters: a d-connected pair is dependent (faithfulness)
            assert diff > 1e-6, (xs, ys, zs, diff)
            dependent += 1
    assert checked > 0 and dependent > 0


# -- d-separation against pgmpy and networkx -------------------------------------------------------
@pytest.mark.parametrize("name", BIF_NAMES)
def test_dseparation_agrees_with_pgmpy_on_bif_networks(name, route):
    net = bif_net(name)
    model = pgmpy_model(net)
    ind = Independence(net)
    for xs, ys, zs in random_queries(net, 150, seed=len(name)):
        expected = not model.is_dconnected(xs[0], ys[0], observed=zs)
        assert ind.is_independent(xs, ys, zs) == expected, (xs, ys, zs)
        assert net.is_independent(xs[0], ys[0], zs) == expected


@pytest.mark.parametrize("seed", range(4))
def test_set_queries_agree_with_networkx(seed, route):
    net = random_dag(12, 0.25, 50 + seed)
    ind = Independence(net)
    for xs, ys, zs in random_queries(net, 200, seed=seed, max_given=4, max_side=3):
        expected = nx.is_d_separator(net.graph, set(xs), set(ys), set(zs))
        assert ind.is_independent(xs, ys, zs) == expected, (xs, ys, zs)


def test_vector_route_on_a_larger_network_agrees_with_pgmpy():
    net = sparse_random_dag(1500, 3.0, seed=7)
    assert len(net) + net.num_edges >= independence.VECTOR_MIN_SIZE  # the default route here
    model = pgmpy_model(net)
    answers = []
    for xs, ys, zs in random_queries(net, 60, seed=3):
        ours = net.is_independent(xs, ys, zs)
        assert ours == (not model.is_dconnected(xs[0], ys[0], observed=zs)), (xs, ys, zs)
        answers.append(ours)
    # parent sets of a node separate it from a random earlier non-parent: both answers occur
    x = "x1400"
    pa = net.parents(x)
    others = [f"x{i}" for i in range(1300) if f"x{i}" not in pa]
    assert net.is_independent(x, others[:50], pa)
    assert not net.is_independent(x, pa[0], ())


def test_chain_rule_sized_network_uses_linear_memory():
    # 400 nodes, every earlier node a parent: 80k edges, 10M co-parent pairs (never built)
    from pgm_ar import bernoullis, chain_rule

    net = chain_rule(bernoullis(400))
    assert not net.is_independent("x1", "x400", ["x2", "x3"])
    assert net.is_independent("x1", "x2", []) is False


# -- statements, errors, implied -------------------------------------------------------------------
def test_check_accepts_text_and_statements():
    net = bif_net("asia")
    ind = Independence(net)
    assert ind.check("xray _|_ smoke | either")
    assert ind.check(Statement("tub", "smoke"))
    assert not ind.check("tub ⊥ smoke | dysp")
    with pytest.raises(UnknownVariableError, match="xrya"):
        ind.check("xrya _|_ smoke")


def test_errors_name_the_culprit():
    net = bif_net("asia")
    with pytest.raises(UnknownVariableError, match="'lungs'"):
        net.is_independent("lungs", "tub")
    with pytest.raises(UnknownVariableError, match="'nope'"):
        net.is_independent("tub", "lung", ["either", "nope"])
    with pytest.raises(StatementError, match="either"):
        net.is_independent("tub", ["lung", "either"], ["either"])
    with pytest.raises(StatementError, match="tub"):
        net.is_independent("tub", "tub")
    with pytest.raises(StatementError):
        net.is_independent([], "tub")
    with pytest.raises(UnknownVariableError, match="'nope'"):
        net.markov_blanket("nope")
    with pytest.raises(UnknownVariableError):
        net.minimal_separator("tub", "nope")
    with pytest.raises(StatementError):
        net.minimal_separator("tub", "tub")
    assert issubclass(StatementError, PgmArError)


def test_implied_reports_each_statement():
    net = bif_net("asia")
    out = implied(net, ["xray _|_ smoke | either", Statement("tub", "smoke", "dysp")])
    assert [ok for _, ok in out] == [True, False]
    assert all(isinstance(s, Statement) for s, _ in out)
    with pytest.raises(UnknownVariableError):
        implied(net, ["tub _|_ smok"])


# -- Markov blanket -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", BIF_NAMES)
def test_markov_blanket_matches_pgmpy_and_screens_off(name):
    net = bif_net(name)
    model = pgmpy_model(net)
    for v in net.names:
        mb = net.markov_blanket(v)
        assert mb == frozenset(model.get_markov_blanket(v)), v
        rest = set(net.names) - mb - {v}
        if rest:
            assert nx.is_d_separator(net.graph, {v}, rest, set(mb))
            assert net.is_independent(v, rest, mb)
        for m in mb:  # the blanket is minimal: dropping any member lets it talk to v
            assert not net.is_independent(v, m, mb - {m})


# -- local Markov ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["asia", "sachs", "child", "alarm"])
def test_local_independencies_are_the_local_markov_property(name):
    net = bif_net(name)
    g = net.graph
    stmts = net.local_independencies()
    by_node = {next(iter(s.xs)): s for s in stmts}
    for v in net.names:
        rest = set(net.names) - nx.descendants(g, v) - set(g.predecessors(v)) - {v}
        if not rest:
            assert v not in by_node
            continue
        s = by_node[v]
        assert s.ys == rest and s.given == set(g.predecessors(v))
        assert nx.is_d_separator(g, {v}, rest, set(s.given))


# -- minimal separators ------------------------------------------------------------------------------
def _assert_minimal(net: BayesNet, x: str, y: str, sep, brute: bool) -> None:
    g = net.graph
    assert nx.is_d_separator(g, {x}, {y}, set(sep))
    assert sep <= net.ancestors([x, y])
    if brute:
        for k in range(len(sep)):
            for sub in itertools.combinations(sorted(sep), k):
                assert not nx.is_d_separator(g, {x}, {y}, set(sub)), (x, y, sep, sub)
    else:
        for m in sep:
            assert not nx.is_d_separator(g, {x}, {y}, set(sep) - {m}), (x, y, sep, m)


@pytest.mark.parametrize("seed", range(10))
def test_minimal_separator_is_minimal_by_brute_force(seed):
    net = random_dag(8, 0.4, 200 + seed)
    g = net.graph
    for x, y in itertools.combinations(net.names, 2):
        sep = net.minimal_separator(x, y)
        if g.has_edge(x, y) or g.has_edge(y, x):
            assert sep is None
        else:
            _assert_minimal(net, x, y, sep, brute=True)
            # networkx's finder agrees that a separator exists; both are minimal
            theirs = nx.find_minimal_d_separator(g, x, y)
            assert theirs is not None


@pytest.mark.parametrize("name", ["alarm", "insurance"])
def test_minimal_separator_on_bif_networks(name):
    net = bif_net(name)
    g = net.graph
    for x, y in itertools.combinations(net.names, 2):
        sep = net.minimal_separator(x, y)
        if g.has_edge(x, y) or g.has_edge(y, x):
            assert sep is None
        else:
            _assert_minimal(net, x, y, sep, brute=False)


def test_minimal_separator_on_a_large_random_network():
    net = sparse_random_dag(1500, 3.0, seed=11)
    rng = np.random.default_rng(0)
    g = net.graph
    done = 0
    while done < 5:
        x, y = (f"x{i}" for i in rng.choice(1500, size=2, replace=False))
        if g.has_edge(x, y) or g.has_edge(y, x):
            continue
        sep = net.minimal_separator(x, y)
        assert net.is_independent(x, y, sep)
        for m in sep:
            assert not net.is_independent(x, y, sep - {m})
        done += 1


# -- the compact list ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["alarm", "child", "insurance"])
def test_independencies_on_bif_networks(name):
    net = bif_net(name)
    g = net.graph
    t0 = time.perf_counter()
    ind = Independence(net).independencies()
    elapsed = time.perf_counter() - t0
    assert elapsed < 5.0, elapsed  # about 0.05 s on ALARM; generous for shared CI machines
    n = len(net)
    non_adjacent = n * (n - 1) // 2 - g.to_undirected().number_of_edges()
    assert len(ind.pairs) == non_adjacent
    pairs = {frozenset(s.xs | s.ys) for s in ind.pairs}
    assert len(pairs) == non_adjacent
    for s in ind:
        assert nx.is_d_separator(g, set(s.xs), set(s.ys), set(s.given)), s
    assert set(ind.local) == set(net.local_independencies())
    assert len(ind) == len(ind.pairs) + len(set(ind.local) - set(ind.pairs))


def test_independencies_text_and_json():
    net = BayesNet([Bernoulli(n) for n in "abcd"],
                   [("a", "b"), ("b", "c"), ("a", "d"), ("c", "d")])
    ind = net.independencies()
    assert isinstance(ind, Independencies)
    assert ind.to_text().splitlines() == ["a _|_ c | b", "b _|_ d | a, c"]
    assert ind.to_json() == [
        {"xs": ["a"], "ys": ["c"], "given": ["b"], "kind": "pair"},
        {"xs": ["b"], "ys": ["d"], "given": ["a", "c"], "kind": "pair"},
    ]
    assert "c _|_ a | b" in ind and len(list(ind)) == len(ind) == 2
    assert ind[0] == Statement("a", "c", "b")


def test_independence_object_is_cached_on_the_net():
    net = bif_net("sachs")
    assert net._independence() is net._independence()
