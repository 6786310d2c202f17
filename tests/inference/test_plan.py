"""Elimination plans: the greedy min-fill order against a networkx re-enactment, the factor
size limit, and the plan cache keyed by the variables (not the states) of a query."""
from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest

from pgm_ar import InferenceTooLargeError, PgmArError
from pgm_ar import inference as inf
from pgm_ar.inference import plan as plan_module
from pgm_ar.inference import queries as queries_module
from pgm_ar.inference.plan import greedy_order, interaction_graph
from oracles import random_net


@pytest.fixture(autouse=True)
def _plans_even_for_small_networks(monkeypatch):
    # these tests look at the plans queries make; small networks answer from their joint
    # (queries_module.NETWORK_JOINT_CELLS), which makes none
    monkeypatch.setattr(queries_module, "NETWORK_JOINT_CELLS", 0)


def min_fill_by_networkx(scopes, eliminate, cards):
    """Eliminate, each time, the node whose fill-in edges weigh least (an edge ``a - b``
    weighs ``cards[a] * cards[b]``), then the smallest clique weight, then the smallest
    index, recomputing every score on a networkx graph."""
    g = nx.Graph()
    for sc in scopes:
        g.add_nodes_from(sc)
        g.add_edges_from(itertools.combinations(sc, 2))
    order, remaining = [], set(eliminate)
    while remaining:
        def score(v):
            nb = list(g.neighbors(v))
            fill = sum(cards[a] * cards[b] for a, b in itertools.combinations(nb, 2)
                       if not g.has_edge(a, b))
            return fill, int(np.prod([cards[a] for a in nb + [v]])), v
        v = min(remaining, key=score)
        g.add_edges_from(itertools.combinations(list(g.neighbors(v)), 2))
        g.remove_node(v)
        remaining.discard(v)
        order.append(v)
    return order, g


@pytest.mark.parametrize("seed", range(6))
def test_greedy_order_is_weighted_min_fill(seed):
    rng = np.random.default_rng(seed)
    n = 12
    cards = rng.integers(2, 5, size=n).tolist()
    scopes = [tuple(rng.choice(n, size=int(rng.integers(1, 4)), replace=False).tolist())
              for _ in range(10)]
    scopes += [(v,) for v in range(n)]
    eliminate = rng.choice(n, size=8, replace=False).tolist()
    adj = interaction_graph(scopes)
    expected, left = min_fill_by_networkx(scopes, eliminate, cards)
    assert greedy_order(adj, eliminate, cards) == expected
    # the graph left behind is the one after those eliminations
    assert {v: set(nb) for v, nb in adj.items()} == {v: set(left.neighbors(v)) for v in left}


def test_factor_size_limit_names_the_cause(monkeypatch):
    monkeypatch.setattr(plan_module, "MAX_FACTOR_SIZE", 2)
    big = random_net(1, n_nodes=6, max_parents=3)
    with pytest.raises(InferenceTooLargeError, match="too densely connected"):
        inf.map_query(big, inf.tables_from_net(big))
    assert issubclass(InferenceTooLargeError, PgmArError)


def test_plans_are_cached_by_variables_not_states():
    net = random_net(3, n_nodes=6)
    tables = inf.tables_from_net(net)
    plans = inf.network_structure(net).plans
    inf.query(net, tables, "x0", {"x5": 0})
    assert len(plans) == 1
    inf.query(net, tables, "x0", {"x5": 1})  # other state, same plan
    assert len(plans) == 1
    inf.query(net, tables, "x1", {"x5": 1})
    inf.log_evidence(net, tables, {"x5": 1})
    inf.map_query(net, tables, evidence={"x5": 1})
    inf.map_query(net, tables, ["x0"], {"x5": 1})
    assert len(plans) == 5
    # a plan's widest factor is at least every table it multiplies
    for p in plans.values():
        assert p.width >= max(int(np.prod([net.variable(net.names[a]).cardinality for a in ax]))
                              for ax in p.axes if not set(ax) & {net.index("x5")})


@pytest.mark.parametrize("seed", range(4))
def test_scope_order_is_greedy_order(seed):
    rng = np.random.default_rng(10 + seed)
    n = 14
    cards = rng.integers(2, 6, size=n).tolist()
    scopes = [tuple(rng.choice(n, size=int(rng.integers(1, 4)), replace=False).tolist())
              for _ in range(12)]
    eliminate = [v for v in rng.permutation(n).tolist() if any(v in sc for sc in scopes)][:9]
    expected, _ = min_fill_by_networkx(scopes, eliminate, cards)
    assert plan_module.scope_order(scopes, eliminate, cards) == expected


@pytest.mark.parametrize("seed", range(4))
def test_one_einsum_plans_answer_as_stepwise_elimination(seed, monkeypatch):
    # a small query is one einsum over every factor; forcing step-by-step elimination
    # (no joint is small enough) must give the same posterior, evidence possible or not
    net = random_net(20 + seed, n_nodes=7, zeros=seed % 2 == 1)
    tables = inf.tables_from_net(net)
    rng = np.random.default_rng(seed)
    asked = []
    for _ in range(6):
        names = rng.permutation(net.names).tolist()
        asked.append((names[0], {e: int(rng.integers(net.variable(e).cardinality))
                                 for e in names[1:1 + int(rng.integers(0, 3))]}))

    def answers():
        out = []
        for t, ev in asked:
            try:
                out.append(inf.query(net, tables, t, ev).numpy())
            except PgmArError as err:  # impossible evidence: the same error both ways
                out.append(type(err).__name__)
        return out

    joint = answers()
    plans = inf.network_structure(net).plans
    # some plan is one einsum that sums variables out of the product
    assert any(not p.steps and max(max(sub, default=0) for sub in p.final_subs) > 0
               for p in plans.values())
    plans.clear()
    monkeypatch.setattr(plan_module, "JOINT_CELLS", 0)
    stepwise = answers()
    # step plans: whatever the final einsum gets is over the target alone
    assert all(max((max(sub, default=0) for sub in p.final_subs), default=0) == 0
               for p in plans.values())
    for a, b in zip(joint, stepwise):
        if isinstance(a, str):
            assert a == b
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
