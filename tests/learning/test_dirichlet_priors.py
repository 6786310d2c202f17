"""Dirichlet priors on CPTs: pseudo-counts, posterior mean and mode against their closed
forms (counts by hand), against pgmpy's BayesianEstimator, and posterior draws against the
Dirichlet's moments."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from pgm_ar import BayesNet, Bernoulli, Categorical, compile, example_network
from pgm_ar.conditionals import Tabular
from pgm_ar.errors import DataError, PgmArError, UnknownVariableError
from pgm_ar.inference import forward_sample, tables_from_net
from pgm_ar.learning import DirichletPosterior, count_tables, dirichlet_prior
from pgm_ar.tabular_data import decode

#: a -> b (3 states); a hand-made sample: configuration a=1 is seen, b=2 never with a=0
ROWS = {"a": [0, 0, 0, 1, 1, 1, 1, 1], "b": [0, 0, 1, 2, 2, 2, 1, 2]}


def small_net() -> BayesNet:
    return BayesNet([Bernoulli("a"), Categorical("b", ["lo", "mid", "hi"])], [("a", "b")])


def hand_counts():
    """Counts by looping over the rows (independent of the bincount in the code)."""
    na, nb = np.zeros(2), np.zeros((2, 3))
    for a, b in zip(ROWS["a"], ROWS["b"]):
        na[a] += 1
        nb[a, b] += 1
    return {"a": na, "b": nb}


def columns():
    return {k: torch.tensor(v) for k, v in ROWS.items()}


@pytest.mark.parametrize("prior,ess,alpha_a,alpha_b", [
    ("bdeu", 12.0, 12.0 / 2, 12.0 / 6),
    ("bdeu", None, 1.0 / 2, 1.0 / 6),     # the default equivalent sample size is 1
    ("k2", None, 1.0, 1.0),
    (0.5, None, 0.5, 0.5),
    (3.0, None, 3.0, 3.0),
])
def test_posterior_mean_is_the_closed_form(prior, ess, alpha_a, alpha_b):
    post = DirichletPosterior.from_data(small_net(), columns(), prior, ess)
    n = hand_counts()
    for name, alpha in (("a", alpha_a), ("b", alpha_b)):
        c = n[name] + alpha
        expect = c / c.sum(-1, keepdims=True)      # (n + alpha) / (N + sum alpha)
        np.testing.assert_allclose(post.mean()[name].numpy(), expect, rtol=0, atol=1e-15)
        np.testing.assert_allclose(post.concentration[name].numpy(), c, rtol=0, atol=1e-15)


def test_map_is_the_mode_when_every_concentration_is_at_least_one():
    post = DirichletPosterior.from_data(small_net(), columns(), 2.5, estimate="map")
    n = hand_counts()
    for name, card in (("a", 2), ("b", 3)):
        c = n[name] + 2.5
        expect = (c - 1) / (c.sum(-1, keepdims=True) - card)
        np.testing.assert_allclose(post.map()[name].numpy(), expect, rtol=0, atol=1e-15)
    # and it is the maximiser of the density: no random point of the simplex beats it
    rng = np.random.default_rng(0)
    row = (n["b"][0] + 2.5)
    mode = post.map()["b"][0].numpy()
    logpdf = lambda x: float(((row - 1) * np.log(x)).sum())  # noqa: E731
    others = rng.dirichlet(np.ones(3), size=2000)
    assert all(logpdf(x) <= logpdf(mode) + 1e-12 for x in others)


def test_map_boundary_cases():
    """alpha = 1: the count ratios, zeros kept; alpha < 1: zero-count entries are 0 (the
    density is unbounded there); a row never seen with alpha <= 1 has no single mode and
    gets its mean."""
    k2 = DirichletPosterior.from_data(small_net(), columns(), "k2")
    n = hand_counts()
    np.testing.assert_allclose(k2.map()["b"].numpy(), n["b"] / n["b"].sum(-1, keepdims=True))
    sparse = DirichletPosterior.from_data(small_net(), columns(), 0.5)
    # row a=0: counts (2, 1, 0) + 0.5 -> excess (1.5, 0.5, 0) -> (0.75, 0.25, 0)
    np.testing.assert_allclose(sparse.map()["b"][0].numpy(), [0.75, 0.25, 0.0], atol=1e-15)
    net = BayesNet([Bernoulli("a"), Bernoulli("b")], [("a", "b")])
    unseen = DirichletPosterior.from_data(net, {"a": torch.tensor([0, 0]),
                                                "b": torch.tensor([1, 0])}, 0.3)
    np.testing.assert_allclose(unseen.map()["b"][1].numpy(), [0.5, 0.5])  # a=1 never seen
    assert torch.isfinite(unseen.map()["b"]).all()


def test_per_variable_prior_and_pseudo_count_array():
    pseudo = np.array([[1.0, 2.0, 3.0], [0.5, 0.25, 4.0]])
    post = DirichletPosterior.from_data(small_net(), columns(), {"a": "k2", "b": pseudo})
    n = hand_counts()
    np.testing.assert_allclose(post.alpha["b"].numpy(), pseudo)
    c = n["b"] + pseudo
    np.testing.assert_allclose(post.mean()["b"].numpy(), c / c.sum(-1, keepdims=True))
    np.testing.assert_allclose(post.alpha["a"].numpy(), [1.0, 1.0])
    mixed = dirichlet_prior(small_net(), {"a": "bdeu", "b": 0.7}, equivalent_sample_size=4)
    np.testing.assert_allclose(mixed["a"], [2.0, 2.0])
    np.testing.assert_allclose(mixed["b"], np.full((2, 3), 0.7))


def test_counts_match_a_loop_over_rows():
    net = example_network("asia")
    gen = torch.Generator().manual_seed(3)
    rows = forward_sample(net, tables_from_net(net), 300, generator=gen)
    counts = count_tables(net, rows)
    for name in net.names:
        parents = net.parents(name)
        expect = np.zeros(counts[name].shape)
        for i in range(300):
            expect[tuple(int(rows[p][i]) for p in parents) + (int(rows[name][i]),)] += 1
        np.testing.assert_array_equal(counts[name], expect)


def test_model_fit_sets_the_tables_and_keeps_the_posterior():
    df = pd.DataFrame({"a": ROWS["a"], "b": [["lo", "mid", "hi"][b] for b in ROWS["b"]]})
    model = compile(small_net())
    hist = model.fit(df, prior="bdeu", equivalent_sample_size=6, estimate="map")
    post = model.parameter_posterior()
    assert post.estimate == "map" and post.equivalent_sample_size == 6.0 and post.rows == 8
    for name, table in model.tables().items():
        np.testing.assert_allclose(table.numpy(), post.map()[name].numpy(), atol=1e-12)
    # the history's NLL is the fitted tables' mean NLL of the rows
    assert hist.train_nll[0] == pytest.approx(float(-model.log_prob(df).mean()), abs=1e-9)
    model.fit(df, prior=0.5)
    for name, table in model.tables().items():
        np.testing.assert_allclose(table.numpy(), model.parameter_posterior().mean()[name],
                                   atol=1e-12)
    model.fit(df)  # maximum likelihood: the posterior is dropped
    with pytest.raises(PgmArError, match="no posterior over its CPTs"):
        model.parameter_posterior()


def _pgmpy_cpts(net, df, prior_type, **kw):
    models = pytest.importorskip("pgmpy.models")
    estimators = pytest.importorskip("pgmpy.estimators")
    dag = models.DiscreteBayesianNetwork([(p, c) for c, ps in
                                          ((n, net.parents(n)) for n in net.names) for p in ps])
    dag.add_nodes_from(net.names)
    states = {v.name: list(v.states) for v in net.variables}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = estimators.BayesianEstimator(dag, df, state_names=states)
        out = {}
        for name in net.names:
            cpd = est.estimate_cpd(name, prior_type=prior_type, **kw)
            # pgmpy's values: (card, *evidence cards) over cpd.variables; ours: (*parents, card)
            order = [cpd.variables.index(p) for p in net.parents(name)] + [0]
            out[name] = np.transpose(cpd.values, order)
    return out


@pytest.mark.parametrize("prior,kw,ours", [("BDeu", {"equivalent_sample_size": 7}, "bdeu"),
                                           ("K2", {}, "k2")])
def test_against_pgmpy_bayesian_estimator(prior, kw, ours):
    net = example_network("child")
    gen = torch.Generator().manual_seed(1)
    rows = forward_sample(net, tables_from_net(net), 600, generator=gen)
    df = decode(net, rows)
    ref = _pgmpy_cpts(net, df, prior, **kw)
    model = compile(net)
    model.fit(df, prior=ours, equivalent_sample_size=kw.get("equivalent_sample_size"))
    mean = model.parameter_posterior().mean()
    tables = model.tables()
    for name in net.names:
        np.testing.assert_allclose(mean[name].numpy(), ref[name], rtol=0, atol=1e-9)
        np.testing.assert_allclose(tables[name].numpy(), ref[name], rtol=0, atol=1e-9)


def test_posterior_draws_have_the_dirichlet_moments():
    post = DirichletPosterior.from_data(small_net(), columns(), 0.05)  # includes tiny shapes
    s = 40_000
    draws = post.sample(s, seed=11)
    for name, conc in post.concentration.items():
        c = conc.numpy()
        c0 = c.sum(-1, keepdims=True)
        mean, var = c / c0, c * (c0 - c) / (c0 ** 2 * (c0 + 1))
        d = draws[name].numpy()
        assert d.shape == (s,) + c.shape
        np.testing.assert_allclose(d.sum(-1), 1.0, atol=1e-12)
        assert np.isfinite(d).all() and (d >= 0).all()
        # 5 standard errors of the sample mean; the variance within 5 of its standard errors
        np.testing.assert_array_less(np.abs(d.mean(0) - mean), 5 * np.sqrt(var / s) + 1e-12)
        fourth = np.mean((d - mean) ** 4, axis=0)
        se_var = np.sqrt(np.maximum(fourth - var ** 2, 0) / s)
        np.testing.assert_array_less(np.abs(d.var(0) - var), 5 * se_var + 1e-12)


def test_draws_are_seeded():
    post = DirichletPosterior.from_data(small_net(), columns(), "k2")
    a, b, c = post.sample(50, seed=4), post.sample(50, seed=4), post.sample(50, seed=5)
    assert all(torch.equal(a[n], b[n]) for n in a)
    assert not torch.equal(a["b"], c["b"])
    # a table's draws do not depend on which other tables are drawn
    assert torch.equal(post.sample(50, seed=4, names=["b"])["b"], a["b"])
    assert torch.equal(post.cached_sample(50, 4, ["b"])["b"], a["b"])
    g1, g2 = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    assert torch.equal(post.sample(5, seed=g1)["a"], post.sample(5, seed=g2)["a"])
    with pytest.raises(PgmArError, match="num_samples"):
        post.sample(0)
    with pytest.raises(UnknownVariableError):
        post.sample(3, names=["zz"])


@pytest.mark.parametrize("prior,match", [
    (0.0, "finite number > 0"), (-1, "finite number > 0"), (float("nan"), "finite number > 0"),
    ("bdue", "did you mean 'bdeu'"), ("kk2", "did you mean 'k2'"), (True, "a number > 0"),
    ({"a": 1.0}, "no prior for variable.*'b'"),
    ({"a": 1.0, "b": np.ones((3, 2))}, r"CPT's shape \(2, 3\)"),
    ({"a": 1.0, "b": np.zeros((2, 3))}, "must be a finite number > 0"),
    ({"a": 1.0, "b": 1.0, "zz": 1.0}, "unknown variable 'zz'"),
])
def test_bad_priors(prior, match):
    with pytest.raises(PgmArError, match=match):
        dirichlet_prior(small_net(), prior)


def test_bad_fit_arguments():
    df = pd.DataFrame({"a": ROWS["a"], "b": ROWS["b"]})
    model = compile(small_net())
    with pytest.raises(PgmArError, match="BDeu's parameter"):
        model.fit(df, prior="k2", equivalent_sample_size=3)
    with pytest.raises(PgmArError, match="equivalent_sample_size must be"):
        model.fit(df, prior="bdeu", equivalent_sample_size=0)
    with pytest.raises(PgmArError, match="go with prior="):
        model.fit(df, estimate="map")
    with pytest.raises(PgmArError, match="did you mean 'map'"):
        model.fit(df, prior="k2", estimate="mao")
    with pytest.raises(PgmArError, match="method='counts'"):
        model.fit(df, method="svi", prior="k2")
    with pytest.raises(DataError, match="complete data"):
        model.fit(pd.DataFrame({"a": [0, 1, None], "b": [0, 1, 2]}), prior="k2")
    with pytest.raises(DataError, match="complete data"):
        model.fit(pd.DataFrame({"a": [0, 1, 1]}), prior="k2")
    with pytest.raises(PgmArError, match="family"):
        compile(small_net(), {"b": "logistic"}).fit(df, prior="k2")
    with pytest.raises(PgmArError, match="give the prior one way"):
        compile(small_net(), {"b": Tabular(prior=2)}).fit(df, prior="k2")
    with pytest.raises(UnknownVariableError):
        model.fit(df, prior={"a": 1, "b": 1, "c": 1})
