"""Pruning to the requisite CPTs and the refusal of too-large eliminations, against
independent computations: brute-force enumeration (a CPT left out must not change the
answer), and an elimination re-enacted on a networkx graph (the refusal's numbers)."""
from __future__ import annotations

import itertools
import math
import re

import networkx as nx
import numpy as np
import pytest

from pgm_ar import BayesNet, InferenceTooLargeError, TabularCPD
from pgm_ar import inference as inf
from pgm_ar.inference import plan as plan_module
from pgm_ar.inference.relevance import requisite_nodes, surely_possible, state_minima
from pgm_ar.limits import limits_raised
from oracles import brute_conditional, brute_joint, marginal, random_net


def _with_cpt(net: BayesNet, name: str, rng) -> BayesNet:
    """``net`` with the CPT of ``name`` replaced by a random one of the same shape."""
    old = np.asarray(net.cpd(name).probs)
    probs = rng.dirichlet(np.ones(old.shape[-1]), size=old.shape[:-1] or None).reshape(old.shape)
    cpds = dict(net.cpds)
    cpds[name] = TabularCPD(name, net.parents(name), probs)
    return net.with_cpds(cpds)


@pytest.mark.parametrize("seed", range(3))
def test_cpts_left_out_do_not_change_the_posterior(seed):
    net = random_net(seed, n_nodes=6, max_parents=2)
    joint = brute_joint(net)
    rng = np.random.default_rng(seed)
    st = inf.network_structure(net)
    names = list(net.names)
    for _ in range(4):
        chosen = rng.choice(len(names), size=int(rng.integers(2, 5)), replace=False)
        target, ev_names = names[chosen[0]], [names[i] for i in chosen[1:]]
        evidence = {n: int(rng.integers(net.variable(n).cardinality)) for n in ev_names}
        keep = {st.names[v] for v in requisite_nodes(st, [st.index[target]],
                                                     {st.index[n]: s for n, s in evidence.items()})}
        expected = marginal(net, brute_conditional(net, joint, evidence), target)
        for other in set(names) - keep:  # a new CPT outside the requisite set: same answer
            changed = _with_cpt(net, other, rng)
            got = marginal(changed, brute_conditional(changed, brute_joint(changed), evidence),
                           target)
            np.testing.assert_allclose(got, expected, atol=1e-12)
        # and the query itself (pruned when the evidence is surely possible) agrees
        np.testing.assert_allclose(inf.query(net, inf.tables_from_net(net), target,
                                             evidence).numpy(), expected, atol=1e-12)


def test_requisite_nodes_of_a_chain_and_a_collider():
    from pgm_ar import Bernoulli

    net = BayesNet([Bernoulli(n) for n in "abcde"],
                   [("a", "b"), ("b", "c"), ("a", "d"), ("e", "d")])
    st = inf.network_structure(net)
    names = lambda vs: {st.names[v] for v in vs}  # noqa: E731
    idx = st.index
    assert names(requisite_nodes(st, [idx["c"]], {})) == {"a", "b", "c"}
    assert names(requisite_nodes(st, [idx["c"]], {idx["b"]: 0})) == {"c"}
    # d observed opens the collider a -> d <- e: e becomes relevant to a
    assert names(requisite_nodes(st, [idx["e"]], {idx["d"]: 1})) == {"a", "d", "e"}
    assert names(requisite_nodes(st, [idx["e"]], {})) == {"e"}


def test_surely_possible_is_sufficient_not_necessary():
    table = np.array([[0.5, 0.5], [1.0, 0.0]])  # state 1 impossible when the parent is 1
    minima = {1: state_minima(table)}
    assert surely_possible(minima, {1: 0})
    assert not surely_possible(minima, {1: 1})  # not known: the parent may be 0


def test_impossible_evidence_screened_off_from_the_target_is_still_refused():
    from pgm_ar import Bernoulli, ImpossibleEvidenceError

    # a and b independent; b=1 is impossible
    net = BayesNet([Bernoulli("a"), Bernoulli("b")], [],
                   cpds={"a": TabularCPD("a", (), [0.3, 0.7]),
                         "b": TabularCPD("b", (), [1.0, 0.0])})
    with pytest.raises(ImpossibleEvidenceError):
        inf.query(net, inf.tables_from_net(net), "a", {"b": 1})


def _eliminate_on_networkx(scopes, order, cards):
    """Cliques of eliminating ``order`` from the graph of ``scopes``, re-enacted on networkx."""
    g = nx.Graph()
    for sc in scopes:
        g.add_nodes_from(sc)
        g.add_edges_from(itertools.combinations(sc, 2))
    cliques = []
    for v in order:
        nb = list(g.neighbors(v))
        cliques.append(set(nb) | {v})
        g.add_edges_from(itertools.combinations(nb, 2))
        g.remove_node(v)
    return cliques


def test_refusal_names_the_largest_clique_bytes_and_width():
    net = random_net(11, n_nodes=9, max_parents=3, max_card=4)
    tables = inf.tables_from_net(net)
    st = inf.network_structure(net)
    with limits_raised(max_factor_cells=10):
        with pytest.raises(InferenceTooLargeError) as exc:
            inf.map_query(net, tables)  # MPE: every node enters, every variable maximised
    err = exc.value
    msg = str(err)
    m = re.search(r"clique of (\d+) variables \(([^)]*)\) with ([\d,]+) entries \(([\d.]+) "
                  r"(\w+) as float64\).*width \(treewidth of the order\) is (\d+)", msg)
    assert m, msg
    # the elimination the planner chose, re-enacted independently
    order = [v for v, _ in err.order]
    scopes = [st.parents[v] + (v,) for v in range(len(st.names))]
    cliques = _eliminate_on_networkx(scopes, order, st.cards)
    sizes = [math.prod(st.cards[v] for v in c) for c in cliques]
    big = cliques[int(np.argmax(sizes))]
    assert int(m.group(1)) == len(big)
    assert set(m.group(2).split(", ")) == {st.names[v] for v in big}
    assert int(m.group(3).replace(",", "")) == max(sizes)
    unit = {"bytes": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}[m.group(5)]
    assert float(m.group(4)) * unit == pytest.approx(8 * max(sizes), rel=0.06)
    assert int(m.group(6)) == max(len(c) for c in cliques) - 1
    for method in ("likelihood_weighting", "gibbs", "loopy_bp"):
        assert f'method="{method}"' in msg
    assert "too densely connected" in msg


def test_refusal_comes_before_any_factor_is_built(monkeypatch):
    net = random_net(12, n_nodes=8, max_parents=3, max_card=4)
    monkeypatch.setattr(plan_module, "MAX_FACTOR_SIZE", 4)
    from pgm_ar.inference import elimination

    def never(*a, **k):
        raise AssertionError("a factor was computed before the refusal")

    monkeypatch.setattr(elimination, "multiply_out", never)
    with pytest.raises(InferenceTooLargeError):
        inf.map_query(net, inf.tables_from_net(net))
