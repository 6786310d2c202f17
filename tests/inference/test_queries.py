"""Posterior marginals, log p(evidence), MPE and marginal MAP, against brute-force enumeration
and pgmpy's variable elimination."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from pgm_ar import BayesNet, Bernoulli, Categorical, PgmArError, TabularCPD
from pgm_ar import inference as inf
from oracles import brute_conditional, brute_joint, marginal, pgmpy_pair, random_net

SMALL_SEEDS = [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize("seed", SMALL_SEEDS)
def test_query_equals_brute_force_marginalisation(seed):
    net = random_net(seed, n_nodes=7, zeros=seed % 3 == 0)
    tables = inf.tables_from_net(net)
    joint = brute_joint(net)
    rng = np.random.default_rng(100 + seed)
    names = list(net.names)
    for _ in range(8):
        k = int(rng.integers(0, 4))
        chosen = rng.choice(len(names), size=k + 1, replace=False)
        target, ev_names = names[chosen[0]], [names[i] for i in chosen[1:]]
        # evidence drawn from the joint so that it is possible
        flat = rng.choice(joint.size, p=joint.ravel())
        point = np.unravel_index(flat, joint.shape)
        evidence = {n: int(point[net.index(n)]) for n in ev_names}
        expected = marginal(net, brute_conditional(net, joint, evidence), target)
        got = inf.query(net, tables, target, evidence)
        assert got.dtype == torch.float64
        np.testing.assert_allclose(got.numpy(), expected, atol=1e-12)
        # a list of targets answers each one
        both = inf.query(net, tables, [target, names[chosen[-1]]], evidence)
        assert set(both) == {target, names[chosen[-1]]}
        np.testing.assert_allclose(both[target].numpy(), expected, atol=1e-12)
        # log p(evidence)
        if evidence:
            p_e = brute_conditional(net, joint, {})  # the joint itself, normalised
            sel = tuple(evidence.get(n, slice(None)) for n in names)
            assert math.isclose(inf.log_evidence(net, tables, evidence),
                                math.log(p_e[sel].sum()), rel_tol=1e-10)


def test_query_target_in_evidence_and_state_names():
    net = random_net(7)
    tables = inf.tables_from_net(net)
    got = inf.query(net, tables, "x3", {"x3": 1})
    assert got.tolist() == [0.0, 1.0] + [0.0] * (net.variable("x3").cardinality - 2)
    by_name = inf.query(net, tables, "x5", {"x1": "1"})
    by_index = inf.query(net, tables, "x5", {"x1": 1})
    assert torch.equal(by_name, by_index)


def test_log_evidence_of_impossible_and_empty_evidence():
    net = BayesNet([Bernoulli("a"), Bernoulli("b")], [("a", "b")],
                   cpds={"a": TabularCPD("a", (), [1.0, 0.0]),
                         "b": TabularCPD("b", ("a",), [[1.0, 0.0], [0.5, 0.5]])})
    tables = inf.tables_from_net(net)
    assert inf.log_evidence(net, tables, {"b": 1}) == -math.inf
    assert inf.log_evidence(net, tables, {}) == 0.0


@pytest.mark.parametrize("seed", SMALL_SEEDS)
def test_mpe_and_marginal_map_equal_brute_force(seed):
    net = random_net(seed, n_nodes=7)
    tables = inf.tables_from_net(net)
    joint = brute_joint(net)
    names = list(net.names)
    for evidence in ({}, {"x6": 0}, {"x2": 1, "x5": 0}):
        cond = brute_conditional(net, joint, evidence)
        best = np.unravel_index(int(np.argmax(cond)), cond.shape)
        expected = {n: int(best[i]) for i, n in enumerate(names) if n not in evidence}
        assert inf.map_query(net, tables, evidence=evidence) == expected
        # marginal MAP of two targets: the others summed out first
        targets = ["x1", "x4"]
        axes = tuple(i for i, n in enumerate(names) if n not in targets)
        m = cond.sum(axis=axes)
        i, j = np.unravel_index(int(np.argmax(m)), m.shape)
        assert inf.map_query(net, tables, targets, evidence) == {"x1": int(i), "x4": int(j)}


def test_marginal_map_differs_from_mpe_projection():
    # p(a): a=0 w.p. 0.4; given a=0, b is certain (0); given a=1, b is uniform over 3 states:
    # MPE is (a=0, b=0) with 0.4 but the MAP of a alone is a=1 with 0.6.
    net = BayesNet([Bernoulli("a"), Categorical("b", 3)], [("a", "b")],
                   cpds={"a": TabularCPD("a", (), [0.4, 0.6]),
                         "b": TabularCPD("b", ("a",), [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]])})
    tables = inf.tables_from_net(net)
    assert inf.map_query(net, tables) == {"a": 0, "b": 0}
    assert inf.map_query(net, tables, ["a"]) == {"a": 1}


def test_impossible_evidence_and_unknown_targets_are_named():
    zero = BayesNet([Bernoulli("a"), Bernoulli("b")], [("a", "b")],
                    cpds={"a": TabularCPD("a", (), [1.0, 0.0]),
                          "b": TabularCPD("b", ("a",), [[1.0, 0.0], [0.5, 0.5]])})
    tables = inf.tables_from_net(zero)
    with pytest.raises(PgmArError, match="probability zero"):
        inf.query(zero, tables, "a", {"b": 1})
    with pytest.raises(PgmArError, match="probability zero"):
        inf.map_query(zero, tables, evidence={"b": 1})
    with pytest.raises(PgmArError, match="'x9'"):
        inf.query(zero, tables, "x9")
    with pytest.raises(PgmArError, match="'x9'"):
        inf.map_query(zero, tables, ["a", "x9"])
    with pytest.raises(PgmArError, match="no target"):
        inf.query(zero, tables, [])


# --------------------------------------------------------------------------- #
# shipped networks against pgmpy
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module", params=["alarm", "child", "insurance"])
def shipped(request):
    from conftest import BIF_DIR

    path = BIF_DIR / f"{request.param}.bif.gz"
    if not path.exists():
        pytest.fail(f"shared data missing: {path}")
    return pgmpy_pair(path)


def test_queries_equal_pgmpy_variable_elimination(shipped):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgmpy.inference import VariableElimination

    net, model = shipped
    tables = inf.tables_from_net(net)
    ve = VariableElimination(model)
    gen = torch.Generator().manual_seed(42)
    rows = inf.forward_sample(net, tables, 12, generator=gen)  # possible evidence values
    rng = np.random.default_rng(7)
    names = list(net.names)
    for r in range(12):
        k = 1 + r % 4
        chosen = rng.choice(len(names), size=k + 1, replace=False)
        target = names[chosen[0]]
        evidence = {names[i]: int(rows[names[i]][r]) for i in chosen[1:]}
        named = {n: net.variable(n).states[s] for n, s in evidence.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = ve.query([target], evidence=named, show_progress=False)
        order = [ref.state_names[target].index(s) for s in net.variable(target).states]
        got = inf.query(net, tables, target, named)
        np.testing.assert_allclose(got.numpy(), np.asarray(ref.values)[order], atol=1e-6)
