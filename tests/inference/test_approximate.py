"""Approximate queries (likelihood weighting, Gibbs sampling, loopy belief propagation) against
brute-force enumeration: within tolerances set by the sample size, exact on polytrees, and the
errors for bad methods, bad options and impossible evidence."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from pgm_ar import (BayesNet, Bernoulli, Categorical, ImpossibleEvidenceError, PgmArError,
                    TabularCPD, example_network)
from pgm_ar import inference as inf
from oracles import brute_conditional, brute_joint, marginal, random_net

SAMPLERS = ["likelihood_weighting", "gibbs"]


def random_polytree(seed: int, n_nodes: int, max_card: int = 3, zeros: bool = False
                    ) -> BayesNet:
    """A random tree skeleton (node i joined to an earlier node), each edge pointing either way:
    a DAG whose skeleton has no cycle, where nodes have several parents as well as children."""
    rng = np.random.default_rng(seed)
    cards = [int(rng.integers(2, max_card + 1)) for _ in range(n_nodes)]
    parents = {i: [] for i in range(n_nodes)}
    for i in range(1, n_nodes):
        j = int(rng.integers(0, i))
        if rng.random() < 0.5:
            parents[i].append(j)
        else:
            parents[j].append(i)
    variables = [Categorical(f"x{i}", cards[i]) for i in range(n_nodes)]
    edges, cpds = [], {}
    for i in range(n_nodes):
        names = [f"x{p}" for p in parents[i]]
        edges += [(p, f"x{i}") for p in names]
        shape = tuple(cards[p] for p in parents[i]) + (cards[i],)
        probs = np.asarray(rng.dirichlet(np.ones(cards[i]), size=shape[:-1] or None))
        probs = probs.reshape(shape)
        if zeros:
            mask = rng.random(shape) < 0.25
            mask[..., 0] = False
            probs = np.where(mask, 0.0, probs)
            probs = probs / probs.sum(-1, keepdims=True)
        cpds[f"x{i}"] = TabularCPD(f"x{i}", names, probs)
    return BayesNet(variables, edges, cpds, name=f"polytree{seed}")


def possible_evidence(net, joint, rng, k: int) -> dict:
    """``k`` observed variables, their states drawn from the joint (so the evidence can happen)."""
    names = list(net.names)
    point = np.unravel_index(rng.choice(joint.size, p=joint.ravel()), joint.shape)
    chosen = rng.choice(len(names), size=k, replace=False)
    return {names[i]: int(point[i]) for i in chosen}


def sampling_tolerance(ess: float, p: np.ndarray) -> np.ndarray:
    """Five standard errors of a frequency estimated from ``ess`` independent draws."""
    return 5 * np.sqrt(p * (1 - p) / ess) + 1e-9


# --------------------------------------------------------------------------- #
# answers against brute force
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("method", SAMPLERS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_samplers_agree_with_brute_force_within_their_standard_error(method, seed):
    net = random_net(seed, n_nodes=7, zeros=seed == 2)
    tables, joint = inf.tables_from_net(net), brute_joint(net)
    rng = np.random.default_rng(seed)
    n = 40_000
    for _ in range(3):
        evidence = possible_evidence(net, joint, rng, k=2)
        cond = brute_conditional(net, joint, evidence)
        targets = [t for t in net.names if t not in evidence]
        res = inf.approximate_query(net, tables, targets, evidence, method=method, num_samples=n,
                                    generator=torch.Generator().manual_seed(seed))
        ess = res.effective_sample_size
        # the tolerance assumes the draws are worth at least a tenth of independent ones:
        # check that, then that every answer lies within five standard errors at that size
        # (and at the size the method reports, so that it does not overstate its precision)
        assert n / 10 <= ess <= n
        for t in targets:
            exact = marginal(net, cond, t)
            err = np.abs(res.marginals[t].numpy() - exact)
            assert (err <= sampling_tolerance(n / 10, exact)).all(), (t, evidence, err)
            assert (err <= sampling_tolerance(ess, exact)).all(), (t, evidence, err, ess)


@pytest.mark.parametrize("seed", [3, 4, 5, 6])
def test_loopy_bp_is_exact_on_polytrees(seed):
    net = random_polytree(seed, n_nodes=9, zeros=seed % 2 == 0)
    tables, joint = inf.tables_from_net(net), brute_joint(net)
    rng = np.random.default_rng(seed)
    for k in (0, 1, 3):
        evidence = possible_evidence(net, joint, rng, k)
        cond = brute_conditional(net, joint, evidence)
        targets = list(net.names)
        for damping in (0.0, 0.6):  # damping slows convergence but keeps the fixed point
            res = inf.loopy_belief_propagation(net, tables, targets, evidence, damping=damping,
                                               tol=1e-13, max_iterations=2000)
            assert res.converged and res.max_change <= 1e-13
            for t in targets:
                np.testing.assert_allclose(res.marginals[t].numpy(), marginal(net, cond, t),
                                           atol=1e-9, rtol=0)


def test_loopy_bp_on_a_large_polytree_equals_variable_elimination():
    net = random_polytree(11, n_nodes=60)
    tables = inf.tables_from_net(net)
    evidence = {"x5": 0, "x17": 1, "x40": 0, "x59": 1}
    res = inf.loopy_belief_propagation(net, tables, list(net.names), evidence, tol=1e-13,
                                       max_iterations=5000)
    exact = inf.query(net, tables, list(net.names), evidence)
    assert res.converged
    for t in net.names:
        np.testing.assert_allclose(res.marginals[t].numpy(), exact[t].numpy(), atol=1e-9, rtol=0)


def test_loopy_bp_reports_not_converging_and_its_iterations():
    net = random_net(7, n_nodes=7, max_parents=3)  # cycles in the skeleton
    tables = inf.tables_from_net(net)
    with pytest.warns(RuntimeWarning, match="did not converge in 1 iterations"):
        res = inf.loopy_belief_propagation(net, tables, "x6", {"x0": 0}, max_iterations=1)
    assert res.converged is False and res.iterations == 1 and res.max_change > 0
    good = inf.loopy_belief_propagation(net, tables, "x6", {"x0": 0})
    assert good.converged and good.iterations > 1
    assert good.diagnostics()["converged"] is True


# --------------------------------------------------------------------------- #
# the shipped networks
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("name", ["asia", "alarm"])
def test_every_method_is_close_to_exact_on_shipped_networks(name):
    net = example_network(name)
    tables = inf.tables_from_net(net)
    evidence = {"asia": {"dysp": "yes", "xray": "yes"},
                "alarm": {"HRBP": "HIGH", "CO": "LOW", "BP": "HIGH"}}[name]
    targets = {"asia": ["lung", "tub", "bronc"],
               "alarm": ["LVFAILURE", "HYPOVOLEMIA", "STROKEVOLUME"]}[name]
    exact = inf.query(net, tables, targets, evidence)
    n = 20_000
    for method in SAMPLERS:
        res = inf.approximate_query(net, tables, targets, evidence, method=method,
                                    num_samples=n, generator=torch.Generator().manual_seed(1))
        assert res.effective_sample_size >= n / 20
        for t in targets:
            p = exact[t].numpy()
            err = np.abs(res.marginals[t].numpy() - p)
            assert (err <= sampling_tolerance(res.effective_sample_size, p)).all(), (method, t)
    res = inf.approximate_query(net, tables, targets, evidence, method="loopy_bp")
    assert res.converged
    for t in targets:  # no theorem on networks with cycles: loopy BP is measured, see the docs
        assert float((res.marginals[t] - exact[t]).abs().max()) < 0.05


def test_model_query_and_cli_take_the_method(capsys):
    from pgm_ar.cli import main
    from pgm_ar.tables_model import TablesModel

    net = example_network("asia")
    model = TablesModel.from_network(net)
    ev = {"dysp": "yes"}
    exact = model.query("lung", ev)
    for method in ("likelihood_weighting", "gibbs", "loopy_bp"):
        got = model.query("lung", ev, method=method, num_samples=20_000, seed=3)
        assert got.diagnostics["method"] == method
        assert set(got) == set(exact) and abs(got["yes"] - exact["yes"]) < 0.02
        assert got == model.query("lung", ev, method=method, num_samples=20_000, seed=3)
    both = model.query(["lung", "dysp"], ev, method="gibbs", num_samples=20_000)
    assert both["dysp"] == {"yes": 1.0, "no": 0.0} and "num_chains" in both.diagnostics
    assert model.query("lung", ev, method="exact") == exact
    # the compiled model answers the same (its tables are the same numbers)
    from pgm_ar import Gaussian, compile

    compiled = compile(net)
    for method in ("gibbs", "loopy_bp"):
        assert compiled.query("lung", ev, method=method, num_samples=20_000, seed=2) == \
            model.query("lung", ev, method=method, num_samples=20_000, seed=2)
    mixed = compile(BayesNet([Bernoulli("a"), Gaussian("x")], [("a", "x")]))
    with pytest.raises(PgmArError, match="with real variables use method='likelihood_weighting'"):
        mixed.query("a", {"x": 0.5}, method="gibbs")
    with pytest.raises(PgmArError, match="did you mean 'loopy_bp'"):
        model.query("lung", ev, method="loopy-bp")

    assert main(["query", "asia", "--target", "lung", "--evidence", "dysp=yes", "--method",
                 "loopy_bp", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["diagnostics"]["converged"] is True
    assert abs(out["marginals"]["lung"]["yes"] - exact["yes"]) < 0.02
    assert main(["query", "asia", "--target", "lung", "--method", "gibbs", "--num-samples",
                 "2000", "--seed", "1"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("method gibbs, num_samples 2000") and "p(lung):" in text
    assert main(["query", "asia", "--target", "lung", "--method", "gibs"]) == 2
    assert "did you mean 'gibbs'" in capsys.readouterr().err
    assert main(["query", "asia", "--map", "--method", "gibbs"]) == 2
    assert "--map is answered exactly" in capsys.readouterr().err


# --------------------------------------------------------------------------- #
# seeds, zeros, impossible evidence, bad arguments
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("method", SAMPLERS)
def test_same_seed_same_answer(method):
    net = random_net(1, n_nodes=6)
    tables = inf.tables_from_net(net)

    def run(seed):
        return inf.approximate_query(net, tables, "x5", {"x0": 1}, method=method,
                                     num_samples=3000,
                                     generator=torch.Generator().manual_seed(seed))

    a, b, c = run(0), run(0), run(1)
    assert torch.equal(a.marginals["x5"], b.marginals["x5"])
    assert not torch.equal(a.marginals["x5"], c.marginals["x5"])
    assert a.effective_sample_size == b.effective_sample_size


def copy_net() -> BayesNet:
    """``b`` copies ``a`` exactly; ``c`` is a noisy child of both: single-site Gibbs cannot move
    ``a`` without ``b`` nor ``b`` without ``a``."""
    return BayesNet(
        [Bernoulli("a"), Bernoulli("b"), Bernoulli("c")], [("a", "b"), ("a", "c"), ("b", "c")],
        cpds={"a": TabularCPD("a", (), [0.5, 0.5]),
              "b": TabularCPD("b", ("a",), [[1.0, 0.0], [0.0, 1.0]]),
              "c": TabularCPD("c", ("a", "b"), [[[0.9, 0.1], [0.5, 0.5]],
                                                [[0.5, 0.5], [0.3, 0.7]]])})


def test_gibbs_warns_when_zeros_keep_the_chains_from_moving():
    net = copy_net()
    tables = inf.tables_from_net(net)
    with pytest.warns(RuntimeWarning, match="never changed state"):
        res = inf.gibbs_sampling(net, tables, "a", {"c": 1}, num_samples=2000, num_chains=100,
                                 generator=torch.Generator().manual_seed(0))
    assert res.stuck_chains == 100
    # each chain stays where it started, so the answer is only the start states' mix: the
    # effective sample size (about the number of chains) says how little that is worth
    assert res.effective_sample_size <= 2 * 100
    # likelihood weighting has no such trouble (exact: p(a=1 | c=1) = 0.35 / 0.4)
    lw = inf.approximate_query(net, tables, "a", {"c": 1}, method="likelihood_weighting",
                               num_samples=20_000, generator=torch.Generator().manual_seed(0))
    p = 0.35 / 0.4
    assert abs(float(lw.marginals["a"][1]) - p) < 5 * math.sqrt(p * (1 - p) / 5000)


def deterministic_net() -> BayesNet:
    """``b`` is never 1, whatever ``a`` is."""
    return BayesNet([Bernoulli("a"), Bernoulli("b")], [("a", "b")],
                    cpds={"a": TabularCPD("a", (), [0.3, 0.7]),
                          "b": TabularCPD("b", ("a",), [[1.0, 0.0], [1.0, 0.0]])})


@pytest.mark.parametrize("method", ["likelihood_weighting", "gibbs", "loopy_bp"])
def test_impossible_evidence_is_a_clear_error(method):
    net = deterministic_net()
    with pytest.raises(ImpossibleEvidenceError, match="probability zero"):
        inf.approximate_query(net, inf.tables_from_net(net), "a", {"b": 1}, method=method,
                              num_samples=500)
    # on a polytree with zeros, every impossible pair of observations is caught by each method
    poly = random_polytree(8, n_nodes=6, zeros=True)
    tables, joint = inf.tables_from_net(poly), brute_joint(poly)
    names = list(poly.names)
    caught = 0
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            pair = joint.sum(axis=tuple(k for k in range(len(names)) if k not in (i, j)))
            for si, sj in zip(*np.nonzero(pair == 0)):
                ev = {names[i]: int(si), names[j]: int(sj)}
                with pytest.raises(ImpossibleEvidenceError):
                    inf.approximate_query(poly, tables, names[0], ev, method=method,
                                          num_samples=500)
                caught += 1
    assert caught > 0


def test_bad_methods_and_options_are_named():
    net = deterministic_net()
    tables = inf.tables_from_net(net)
    with pytest.raises(PgmArError, match=r"unknown inference method 'gibs' \(did you mean "
                                         r"'gibbs'\?\)"):
        inf.approximate_query(net, tables, "a", method="gibs")
    with pytest.raises(PgmArError, match="did you mean 'likelihood_weighting'"):
        inf.check_method("likelihood-weighting")
    with pytest.raises(PgmArError, match=r"unknown option 'dampng' \(did you mean 'damping'"):
        inf.approximate_query(net, tables, "a", method="loopy_bp", dampng=0.3)
    with pytest.raises(PgmArError, match="damping must lie in"):
        inf.approximate_query(net, tables, "a", method="loopy_bp", damping=1.0)
    with pytest.raises(PgmArError, match="num_chains must be an integer >= 1"):
        inf.approximate_query(net, tables, "a", method="gibbs", num_chains=0)
    with pytest.raises(PgmArError, match="for exact marginals call"):
        inf.approximate_query(net, tables, "a", method="exact")
    with pytest.raises(PgmArError, match="unknown variable 'z'"):
        inf.approximate_query(net, tables, "z", method="gibbs")
    assert inf.QUERY_METHODS == ("exact", "likelihood_weighting", "gibbs", "loopy_bp")
    assert math.isfinite(inf.approximate_query(net, tables, "a", method="likelihood_weighting",
                                               num_samples=10).effective_sample_size)
