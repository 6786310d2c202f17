"""The network's integer view: strides, rows and ancestor closures against the network's own
graph and numpy's row-major indexing; one structure per network, released with it."""
from __future__ import annotations

import gc
import itertools

import numpy as np
import pytest

from pgm_ar import BayesNet, Bernoulli, Gaussian, PgmArError
from pgm_ar.inference import structure as structure_module
from pgm_ar.inference.structure import network_structure
from oracles import random_net


@pytest.mark.parametrize("seed", range(4))
def test_structure_matches_the_network(seed):
    net = random_net(seed, n_nodes=7, max_parents=3)
    st = network_structure(net)
    assert st.names == net.names
    assert list(st.cards) == [v.cardinality for v in net.variables]
    for v, name in enumerate(st.names):
        assert [st.names[p] for p in st.parents[v]] == list(net.parents(name))
        parent_cards = [st.cards[p] for p in st.parents[v]]
        assert st.num_rows[v] == int(np.prod(parent_cards))
        # the parent row of a configuration is its row-major (C order) flat index
        for cfg in itertools.product(*(range(c) for c in parent_cards)):
            cols = [None] * len(st.names)
            for p, s in zip(st.parents[v], cfg):
                cols[p] = np.array([s])
            row = st.parent_row(v, cols)
            expected = np.ravel_multi_index(cfg, parent_cards) if cfg else None
            assert (row is None and expected is None) or int(row[0]) == expected
    position = {v: k for k, v in enumerate(st.topo)}
    assert all(position[p] < position[v] for v in range(len(st.names)) for p in st.parents[v])
    for nodes in ([0], [6], [2, 5], list(range(7))):
        names = {st.names[v] for v in nodes}
        expected = names | set(net.ancestors(names))
        got = st.closure(nodes)
        assert {st.names[v] for v in got} == expected
        assert got == [v for v in st.topo if st.names[v] in expected]


def test_one_structure_per_network_released_with_it():
    net = random_net(0, n_nodes=4)
    st = network_structure(net)
    assert network_structure(net) is st
    assert network_structure(random_net(0, n_nodes=4)) is not st  # equal, but another net
    key = id(net)
    assert structure_module._STRUCTURES[key][1] is st
    del net
    gc.collect()
    assert key not in structure_module._STRUCTURES  # no structure kept for a dead net


def test_only_discrete_scalar_networks():
    with pytest.raises(PgmArError, match="'h'.*not a discrete scalar"):
        network_structure(BayesNet([Bernoulli("a"), Gaussian("h")], [("a", "h")]))
    with pytest.raises(PgmArError, match="expected a BayesNet"):
        network_structure({"a": 2})
