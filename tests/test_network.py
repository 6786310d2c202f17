"""BayesNet (pgm_ar.network): graph queries against brute-force reachability, validation,
immutability, CPT checks, and d-separation against pgmpy."""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

from pgm_ar import (BayesNet, Bernoulli, Categorical, CycleError, DuplicateVariableError, Gaussian,
                    PgmArError, TabularCPD, UnknownVariableError)
from tests.oracles import random_net


def _reach(edges, start):
    """Nodes reachable from ``start`` along ``edges`` (a plain depth-first search)."""
    out, stack = set(), [start]
    while stack:
        u = stack.pop()
        for a, b in edges:
            if a == u and b not in out:
                out.add(b)
                stack.append(b)
    return out


@pytest.mark.parametrize("seed", range(4))
def test_graph_queries_equal_brute_force_reachability(seed):
    net = random_net(seed, n_nodes=7, max_parents=3)
    edges = list(net.edges)
    rev = [(b, a) for a, b in edges]
    for n in net.names:
        assert set(net.parents(n)) == {a for a, b in edges if b == n}
        assert net.children(n) == tuple(m for m in net.names if (n, m) in edges)
        assert net.descendants(n) == frozenset(_reach(edges, n))
        assert net.ancestors(n) == frozenset(_reach(rev, n))
    pair = net.names[-2:]
    assert net.ancestors(pair) == frozenset(_reach(rev, pair[0]) | _reach(rev, pair[1]))
    order = net.topological_order()
    pos = {n: i for i, n in enumerate(order)}
    assert sorted(order) == sorted(net.names)
    assert all(pos[a] < pos[b] for a, b in edges)
    assert net.num_edges == len(edges) == len(set(edges))
    assert len(net) == 7 and [v.name for v in net] == list(net.names)


def test_topological_ties_follow_declaration_order_and_parents_keep_edge_order():
    vs = [Bernoulli(n) for n in "dcba"]
    net = BayesNet(vs, [("a", "c"), ("b", "c"), ("d", "c"), ("a", "c")])
    assert net.topological_order() == ("d", "b", "a", "c")
    assert net.parents("c") == ("a", "b", "d")      # listed order, duplicate edge dropped
    assert net.edges == (("a", "c"), ("b", "c"), ("d", "c"))
    assert net.index("b") == 2 and "a" in net and "z" not in net
    assert net["c"] is vs[1] and net.variable("c") is vs[1]


def test_validation_errors_name_the_culprit():
    a, b = Bernoulli("a"), Bernoulli("b")
    with pytest.raises(CycleError) as err:
        BayesNet([a, b], [("a", "b"), ("b", "a")])
    assert set(err.value.cycle) == {"a", "b"}
    with pytest.raises(CycleError, match="self-loop on variable 'a'"):
        BayesNet([a], [("a", "a")])
    with pytest.raises(UnknownVariableError, match="'c'"):
        BayesNet([a, b], [("a", "c")])
    with pytest.raises(DuplicateVariableError, match="'a'"):
        BayesNet([a, Bernoulli("a")])
    with pytest.raises(PgmArError, match="expected a Variable"):
        BayesNet([a, "b"])
    with pytest.raises(PgmArError, match=r"\(parent, child\) pair, got 'abc'"):
        BayesNet([a, b], ["abc"])
    with pytest.raises(UnknownVariableError, match="parents mapping"):
        BayesNet.from_parents([a, b], {"z": ["a"]})
    net = BayesNet([a, b])
    for call in (net.parents, net.children, net.variable, net.index, net.cpd):
        with pytest.raises(UnknownVariableError, match="'zz'"):
            call("zz")
    with pytest.raises(PgmArError, match="'a' has no CPT in network 'net'"):
        net.cpd("a")


def test_from_parents_keeps_parent_order():
    vs = [Bernoulli("a"), Bernoulli("b"), Bernoulli("c")]
    net = BayesNet.from_parents(vs, {"c": ["b", "a"]}, name="m")
    assert net.parents("c") == ("b", "a") and net.name == "m"
    assert net == BayesNet(vs, [("a", "c"), ("b", "c")])   # equality ignores parent order
    assert net != BayesNet(vs, [("a", "c")]) and net != "net"


def test_cpts_are_checked_and_reordered_to_the_graphs_parent_order():
    vs = [Bernoulli("a"), Categorical("b", 3), Bernoulli("c")]
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(2), size=(3, 2))                       # (b, a, c)
    cpd = TabularCPD("c", ["b", "a"], p)
    net = BayesNet(vs, [("a", "c"), ("b", "c")], cpds={"c": cpd})
    got = net.cpd("c")
    assert got.parents == ("a", "b")
    for a, b in itertools.product(range(2), range(3)):
        np.testing.assert_allclose(got.probs[a, b], p[b, a], rtol=0, atol=1e-15)
    assert not net.has_all_cpds()
    with pytest.raises(PgmArError, match=r"over parents \['a'\] but the graph gives"):
        BayesNet(vs, [("a", "c"), ("b", "c")], cpds={"c": TabularCPD("c", ["a"], [[.5, .5]] * 2)})
    with pytest.raises(PgmArError, match=r"must be \(2, 3, 2\)"):
        BayesNet(vs, [("a", "c"), ("b", "c")],
                 cpds={"c": TabularCPD("c", ["a", "b"], np.full((2, 2, 2), 0.5))})
    with pytest.raises(UnknownVariableError, match="CPTs"):
        BayesNet(vs, cpds={"z": TabularCPD("z", [], [0.5, 0.5])})
    with pytest.raises(PgmArError, match="'g' is not a discrete scalar"):
        BayesNet([Gaussian("g")], cpds={"g": TabularCPD("g", [], [0.5, 0.5])})


def test_with_edges_and_with_cpds_return_new_networks():
    net = random_net(3, n_nodes=4)
    assert net.has_all_cpds()
    names = net.names
    root = [n for n in names if not net.parents(n)][0]
    last = names[-1]
    extra = [] if root in net.parents(last) or root == last else [(root, last)]
    new = net.with_edges(extra)
    assert net.edges != new.edges or not extra
    for n in names:
        if new.parents(n) == net.parents(n):
            assert new.cpd(n) is net.cpd(n)
        else:
            assert n not in new.cpds
    uniform = TabularCPD(root, [], np.full(net.variable(root).cardinality,
                                           1 / net.variable(root).cardinality))
    swapped = net.with_cpds({root: uniform})
    assert swapped.cpd(root) is uniform and net.cpd(root) is not uniform
    d = net.cpds
    d.clear()                                   # a copy: the network is unchanged
    assert net.has_all_cpds()
    assert repr(net) == f"BayesNet('random3', 4 variables, {net.num_edges} edges)"
    with pytest.raises(TypeError):
        hash(net)


@pytest.mark.parametrize("seed", range(3))
def test_d_separation_agrees_with_pgmpy(seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgmpy.base import DAG
    net = random_net(10 + seed, n_nodes=6, max_parents=2)
    dag = DAG()
    dag.add_nodes_from(net.names)
    dag.add_edges_from(net.edges)
    names = net.names
    for x, y in itertools.combinations(names, 2):
        rest = [n for n in names if n not in (x, y)]
        for k in range(3):
            for given in itertools.combinations(rest, k):
                want = not dag.is_dconnected(x, y, observed=list(given))
                assert net.is_independent(x, y, given) == want, (x, y, given)
    for n in names:
        blanket = set(net.parents(n)) | set(net.children(n))
        for c in net.children(n):
            blanket |= set(net.parents(c))
        assert net.markov_blanket(n) == frozenset(blanket - {n})
