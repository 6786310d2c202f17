"""The fast paths of a first query: a compiled model whose modules are not built yet, answers
read off a small network's joint, and large cliques contracted pairwise -- each against an
independent computation (brute-force enumeration, plain broadcasting)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from pgm_ar import BayesNet, Bernoulli, Categorical, TabularCPD, compile, example_network
from pgm_ar.errors import ImpossibleEvidenceError, PgmArError
from pgm_ar.inference.elimination import multiply_out
from pgm_ar.limits import limits_raised
from oracles import broadcast_product


def brute_force(net, target, evidence):
    """p(target | evidence) by enumerating every joint state of the network's CPTs."""
    names = list(net.names)
    cards = [net.variable(n).cardinality for n in names]
    post = np.zeros(net.variable(target).cardinality)
    for states in itertools.product(*[range(c) for c in cards]):
        x = dict(zip(names, states))
        if any(net.variable(k).states.index(v) != x[k] for k, v in evidence.items()):
            continue
        p = 1.0
        for n in names:
            cpd = net.cpd(n)
            p *= cpd.probs[tuple(x[q] for q in cpd.parents) + (x[n],)]
        post[x[target]] += p
    return post / post.sum()


@pytest.mark.parametrize("name", ["asia", "alarm"])
def test_a_fresh_model_answers_like_one_with_its_modules_built(name):
    net = example_network(name)
    rng = np.random.default_rng(0)
    names = list(net.names)
    queries = []
    for _ in range(6):
        t, *ev = rng.choice(names, size=3, replace=False)
        queries.append((str(t), {str(e): net.variable(str(e)).states[0] for e in ev}))
    fresh = compile(net)
    first = [fresh.query(t, e) for t, e in queries]
    assert len(list(fresh.parameters())) == len(names)  # reading parameters builds them
    again = [fresh.query(t, e) for t, e in queries]
    built = compile(net)
    built.nodes  # built before any query
    other = [built.query(t, e) for t, e in queries]
    assert first == again == other  # the same numbers, to the last bit
    if name == "asia":  # small enough to enumerate
        for (t, e), got in zip(queries, first):
            want = brute_force(net, t, e)
            np.testing.assert_allclose([got[s] for s in net.variable(t).states], want,
                                       atol=1e-12)


def test_small_network_joint_keeps_impossible_evidence_an_error():
    # b copies a: evidence a=0, b=1 has probability zero
    net = BayesNet([Bernoulli("a"), Bernoulli("b"), Categorical("c", 3)],
                   [("a", "b"), ("b", "c")],
                   cpds={"a": TabularCPD("a", (), [0.4, 0.6]),
                         "b": TabularCPD("b", ("a",), [[1.0, 0.0], [0.0, 1.0]]),
                         "c": TabularCPD("c", ("b",), [[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])})
    model = compile(net)
    with pytest.raises(ImpossibleEvidenceError, match="a=0"):
        model.query("c", {"a": "0", "b": "1"})
    got = model.query("a", {"c": "2"})
    want = brute_force(net, "a", {"c": "2"})
    np.testing.assert_allclose([got["0"], got["1"]], want, atol=1e-12)


def test_compile_still_refuses_a_table_over_the_parameter_budget():
    net = example_network("alarm")
    with limits_raised(max_parameters=50):
        with pytest.raises(PgmArError, match="max_parameters"):
            compile(net)


@pytest.mark.parametrize("n_ops", [2, 3, 4])
def test_large_cliques_contracted_pairwise_equal_broadcasting(n_ops):
    # a clique of 6 * 7 * 8 * 5 * 9 * 4 = 60,480 * ... entries: past both pairwise thresholds
    rng = np.random.default_rng(n_ops)
    cards = [6, 7, 8, 5, 9, 4, 3]
    subs = [(0, 1, 2), (2, 3, 4), (4, 5, 0), (5, 6, 1)][:n_ops]
    arrays = [rng.random([cards[i] for i in s]) for s in subs]
    out = (1, 4) if n_ops > 2 else (0, 3)
    got, _ = multiply_out(arrays, subs, out)
    labels = sorted({a for s in subs for a in s})
    relabel = {a: k for k, a in enumerate(labels)}
    want = broadcast_product(arrays, [tuple(relabel[a] for a in s) for s in subs],
                     tuple(relabel[a] for a in out), len(labels))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert torch.from_numpy(np.ascontiguousarray(got)).shape == tuple(cards[a] for a in out)
