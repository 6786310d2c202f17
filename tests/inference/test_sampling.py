"""Forward, likelihood-weighted and exact posterior sampling: chi-square tests against the
brute-force joint and exact queries; the effective sample size against its closed form."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pgm_ar import PgmArError
from pgm_ar import inference as inf
from oracles import (brute_conditional, brute_joint, chi_square_p, counts_of, marginal,
                     pgmpy_pair, random_net)


@pytest.mark.parametrize("seed", [0, 3])
def test_forward_samples_pass_chi_square_against_exact_joint(seed):
    net = random_net(seed, n_nodes=5, zeros=seed == 3)
    tables = inf.tables_from_net(net)
    joint = brute_joint(net)
    samples = inf.forward_sample(net, tables, 40_000, generator=torch.Generator().manual_seed(seed))
    assert all(s.dtype == torch.long and s.shape == (40_000,) for s in samples.values())
    assert chi_square_p(counts_of(net, samples), joint) > 1e-3
    again = inf.forward_sample(net, tables, 40_000, generator=torch.Generator().manual_seed(seed))
    assert all(torch.equal(samples[n], again[n]) for n in net.names)


@pytest.mark.parametrize("seed", [1, 2, 4])
def test_posterior_samples_follow_exact_conditional(seed):
    net = random_net(seed, n_nodes=6)
    tables = inf.tables_from_net(net)
    joint = brute_joint(net)
    # evidence on the last nodes (non-roots where the DAG has edges into them)
    evidence = {"x5": 1, "x3": 0}
    cond = brute_conditional(net, joint, evidence)
    samples = inf.posterior_sample(net, tables, 40_000, evidence,
                                   generator=torch.Generator().manual_seed(seed))
    assert torch.all(samples["x5"] == 1) and torch.all(samples["x3"] == 0)
    free = [n for n in net.names if n not in evidence]
    axes = tuple(net.index(n) for n in evidence)
    expected = cond.sum(axis=axes)
    assert chi_square_p(counts_of(net, samples, free), expected) > 1e-3


def test_likelihood_weighting_estimates_posterior():
    net = random_net(5, n_nodes=6)
    tables = inf.tables_from_net(net)
    joint = brute_joint(net)
    evidence = {"x4": 1, "x5": 0}
    samples, logw, ess = inf.likelihood_weighting(net, tables, 50_000, evidence,
                                                  generator=torch.Generator().manual_seed(0))
    assert logw.shape == (50_000,) and 0 < ess <= 50_000
    # each weight is the product of the evidence CPT entries given the sampled parents
    full = {n: samples[n] for n in net.names}
    expected_logw = sum(
        torch.log(tables[e][tuple(full[p] for p in net.parents(e)) + (full[e],)])
        for e in evidence)
    torch.testing.assert_close(logw, expected_logw)
    w = torch.softmax(logw, 0)
    cond = brute_conditional(net, joint, evidence)
    for name in ("x0", "x1", "x2"):
        est = torch.zeros(net.variable(name).cardinality, dtype=torch.float64)
        est.index_add_(0, samples[name], w)
        np.testing.assert_allclose(est.numpy(), marginal(net, cond, name), atol=0.02)
    w_plain = torch.exp(logw)
    assert math.isclose(ess, float(w_plain.sum() ** 2 / (w_plain ** 2).sum()), rel_tol=1e-9)


def test_likelihood_weighting_rejects_impossible_evidence():
    net = random_net(1, n_nodes=4, zeros=True)
    tables = {n: t.clone() for n, t in inf.tables_from_net(net).items()}
    tables["x3"][..., 1] = 0.0  # x3 = 1 can no longer happen
    with pytest.raises(PgmArError, match="zero weight"):
        inf.likelihood_weighting(net, tables, 100, {"x3": 1},
                                 generator=torch.Generator().manual_seed(0))


def test_effective_sample_size_equals_closed_form():
    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 1000):
        w = rng.gamma(0.5, size=n)
        expected = w.sum() ** 2 / (w ** 2).sum()
        assert math.isclose(inf.effective_sample_size(np.log(w)), expected, rel_tol=1e-12)
        # a constant shift of the log-weights (unnormalised weights) changes nothing, even
        # one that would underflow the weights themselves
        shifted = torch.from_numpy(np.log(w) - 2000.0)
        assert math.isclose(inf.effective_sample_size(shifted), expected, rel_tol=1e-9)
    assert inf.effective_sample_size(torch.zeros(50)) == pytest.approx(50.0)
    # zero weights count for nothing: one live weight of three is one effective sample
    assert inf.effective_sample_size(torch.tensor([-math.inf, 0.3, -math.inf])) == 1.0
    assert inf.effective_sample_size(torch.full((4,), -math.inf)) == 0.0
    assert inf.effective_sample_size(torch.zeros(0)) == 0.0


def test_sample_count_is_checked():
    net = random_net(0, n_nodes=3)
    tables = inf.tables_from_net(net)
    for bad in (-1, 2.5, True, "3"):
        with pytest.raises(PgmArError, match="number of samples"):
            inf.forward_sample(net, tables, bad)
    assert all(len(c) == 0 for c in inf.forward_sample(net, tables, 0).values())


def test_posterior_sample_is_exact_on_alarm(bif_path):
    net, _ = pgmpy_pair(bif_path("alarm"))
    tables = inf.tables_from_net(net)
    # evidence on non-root variables, as in a diagnosis: readings observed, causes unknown
    evidence = {"HRBP": "HIGH", "BP": "LOW", "SAO2": "LOW"}
    n = 40_000
    samples = inf.posterior_sample(net, tables, n, evidence,
                                   generator=torch.Generator().manual_seed(0))
    p_values = []
    for name in net.names:
        if name in evidence:
            assert torch.all(samples[name] == net.variable(name).state_index(evidence[name]))
            continue
        exact = inf.query(net, tables, name, evidence).numpy()
        observed = np.bincount(samples[name].numpy(), minlength=len(exact))
        p_values.append(chi_square_p(observed, exact))
    # 34 tests: Bonferroni at 1e-3 overall
    assert min(p_values) > 1e-3 / len(p_values)
    # the pair (LVFAILURE, HYPOVOLEMIA) jointly, against brute-force conditioning of the marginals
    joint_counts = counts_of(net, samples, ["LVFAILURE", "HYPOVOLEMIA"])
    exact_joint = np.array([[
        math.exp(inf.log_evidence(net, tables, {**evidence, "LVFAILURE": a, "HYPOVOLEMIA": b}))
        for b in range(2)] for a in range(2)])
    assert chi_square_p(joint_counts, exact_joint / exact_joint.sum()) > 1e-3
