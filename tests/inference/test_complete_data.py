"""Scoring and counting complete rows, against brute-force enumeration, counted frequencies
and pgmpy's maximum-likelihood estimator."""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch

from pgm_ar import PgmArError
from pgm_ar import inference as inf
from oracles import brute_joint, pgmpy_pair, random_net

SMALL_SEEDS = [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize("seed", SMALL_SEEDS)
def test_log_prob_equals_brute_force_joint(seed):
    net = random_net(seed, zeros=seed % 2 == 1)
    joint = brute_joint(net)
    rows = list(itertools.product(*(range(v.cardinality) for v in net.variables)))
    data = {n: torch.tensor([r[i] for r in rows]) for i, n in enumerate(net.names)}
    lp = inf.log_prob(net, inf.tables_from_net(net), data)
    with np.errstate(divide="ignore"):  # impossible rows: log 0 = -inf
        expected = np.log(np.array([joint[r] for r in rows]))
    assert lp.shape == (len(rows),)
    finite = np.isfinite(expected)
    np.testing.assert_allclose(lp.numpy()[finite], expected[finite], rtol=0, atol=1e-10)
    assert np.all(np.isneginf(lp.numpy()[~finite]))


def test_log_prob_is_differentiable_in_the_tables():
    # d/dθ sum_rows log p(row) = count of the entry / θ, for every CPT entry
    net = random_net(4, n_nodes=4)
    tables = {n: t.clone().requires_grad_(True) for n, t in inf.tables_from_net(net).items()}
    data = inf.forward_sample(net, inf.tables_from_net(net), 200,
                              generator=torch.Generator().manual_seed(0))
    inf.log_prob(net, tables, data).sum().backward()
    for name in net.names:
        idx = tuple(data[p] for p in net.parents(name)) + (data[name],)
        ones = torch.ones(200, dtype=torch.float64)
        counts = torch.zeros_like(tables[name]).index_put_(idx, ones, accumulate=True)
        torch.testing.assert_close(tables[name].grad, counts / tables[name].detach())


def test_fit_counts_equals_counted_frequencies():
    net = random_net(2, n_nodes=6)
    tables = inf.tables_from_net(net)
    data = inf.forward_sample(net, tables, 5000, generator=torch.Generator().manual_seed(1))
    fitted = inf.fit_counts(net, data)
    arrays = {n: data[n].numpy() for n in net.names}
    for name in net.names:
        parents = net.parents(name)
        for cfg in itertools.product(*(range(net.variable(p).cardinality) for p in parents)):
            rows = np.ones(5000, dtype=bool)
            for p, s in zip(parents, cfg):
                rows &= arrays[p] == s
            counts = np.bincount(arrays[name][rows], minlength=net.variable(name).cardinality)
            expected = (counts / counts.sum() if counts.sum()
                        else np.full(len(counts), 1 / len(counts)))
            np.testing.assert_allclose(fitted[name][cfg].numpy(), expected, atol=1e-12)


def test_fit_counts_pseudocount_smooths_every_row():
    net = random_net(3, n_nodes=5)
    data = inf.forward_sample(net, inf.tables_from_net(net), 300,
                              generator=torch.Generator().manual_seed(2))
    fitted = inf.fit_counts(net, data, pseudocount=0.5)
    name = "x4"
    parents = net.parents(name)
    card = net.variable(name).cardinality
    for cfg in itertools.product(*(range(net.variable(p).cardinality) for p in parents)):
        rows = torch.ones(300, dtype=torch.bool)
        for p, s in zip(parents, cfg):
            rows &= data[p] == s
        counts = np.bincount(data[name][rows].numpy(), minlength=card) + 0.5
        np.testing.assert_allclose(fitted[name][cfg].numpy(), counts / counts.sum(), atol=1e-12)
    with pytest.raises(PgmArError, match="pseudocount"):
        inf.fit_counts(net, data, pseudocount=-1)


def test_fit_counts_equals_pgmpy_mle_on_alarm(bif_path):
    import pandas as pd
    from pgmpy.estimators import MaximumLikelihoodEstimator

    net, model = pgmpy_pair(bif_path("alarm"))
    tables = inf.tables_from_net(net)
    data = inf.forward_sample(net, tables, 3000, generator=torch.Generator().manual_seed(3))
    fitted = inf.fit_counts(net, data)
    frame = pd.DataFrame({n: [net.variable(n).states[i] for i in data[n].tolist()]
                          for n in net.names})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MaximumLikelihoodEstimator(model, frame)
        for name in ("HR", "BP", "VENTLUNG", "CATECHOL"):
            ref = est.estimate_cpd(name)
            parents = list(ref.variables[1:])
            assert set(parents) == set(net.parents(name))
            # ours, with axes reordered to pgmpy's parents and state orders
            ours = fitted[name].permute(*[net.parents(name).index(p) for p in parents],
                                        len(parents)).numpy()
            for ax, var in enumerate(parents + [name]):
                idx = [net.variable(var).states.index(s) for s in ref.state_names[var]]
                ours = np.take(ours, idx, axis=ax)
            ref_vals = np.moveaxis(ref.get_values().reshape(
                [len(ref.state_names[name])] + [len(ref.state_names[p]) for p in parents]), 0, -1)
            # compare where the parent configuration occurs (pgmpy leaves the rest undefined)
            seen = np.isfinite(ref_vals).all(-1)
            assert seen.any()
            np.testing.assert_allclose(ours[seen], ref_vals[seen], atol=1e-12)
