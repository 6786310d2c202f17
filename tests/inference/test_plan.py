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
from pgm_ar.inference.plan import greedy_order, interaction_graph
from oracles import random_net


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
