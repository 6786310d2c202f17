"""Credible intervals on query answers: draws answered together equal draws answered one at
a time, a root's interval is the Beta posterior's quantiles, intervals shrink with data, and
the posterior survives save / load."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import torch

from pgm_ar import BayesNet, Bernoulli, Categorical, compile, example_network, load_model
from pgm_ar.errors import PgmArError
from pgm_ar.inference import forward_sample, query, tables_from_net
from pgm_ar.learning import Credible, DirichletPosterior, credible_query
from pgm_ar.learning.credible import marginal_draws
from pgm_ar.tabular_data import decode


def sampled(name: str, n: int, seed: int = 0):
    net = example_network(name)
    gen = torch.Generator().manual_seed(seed)
    rows = forward_sample(net, tables_from_net(net), n, generator=gen)
    return net, rows


def test_batched_draws_equal_one_query_per_draw():
    net, rows = sampled("alarm", 500)
    post = DirichletPosterior.from_data(net, rows, "bdeu", 5.0)
    draws = post.sample(40, seed=2)
    evidence = {"BP": "LOW", "HRBP": "HIGH"}
    got = marginal_draws(net, draws, ["HYPOVOLEMIA", "LVFAILURE", "BP"], evidence)
    for s in range(40):
        one = {n: t[s] for n, t in draws.items()}
        ref = query(net, one, ["HYPOVOLEMIA", "LVFAILURE"], evidence)
        for t in ("HYPOVOLEMIA", "LVFAILURE"):
            np.testing.assert_allclose(got[t][s], ref[t].numpy(), rtol=1e-10, atol=1e-13)
    bp = net.variable("BP").state_index("LOW")
    assert (got["BP"][:, bp] == 1.0).all()  # evidence is a point mass in every draw


def test_root_interval_is_the_beta_quantiles():
    stats = pytest.importorskip("scipy.stats")
    net = BayesNet([Bernoulli("rain"), Bernoulli("wet")], [("rain", "wet")])
    df = pd.DataFrame({"rain": [1] * 12 + [0] * 28, "wet": [1, 0] * 20})
    model = compile(net)
    model.fit(df, prior=0.5)
    ans = model.query("rain", credible=0.8)
    beta = stats.beta(12 + 0.5, 28 + 0.5)   # the posterior of p(rain = 1)
    assert isinstance(ans["1"], Credible)
    assert ans["1"].estimate == pytest.approx(12.5 / 41, abs=1e-12)
    # 1000 draws: the empirical 10% / 90% quantiles are within ~3 standard errors
    assert ans["1"].lo == pytest.approx(beta.ppf(0.1), abs=0.012)
    assert ans["1"].hi == pytest.approx(beta.ppf(0.9), abs=0.012)
    assert ans["0"].lo == pytest.approx(1 - ans["1"].hi, abs=1e-12)
    post = model.parameter_posterior()
    many = credible_query(post, "rain", credible=0.8, num_samples=100_000, seed=1)
    assert many["1"].lo == pytest.approx(beta.ppf(0.1), abs=0.002)
    assert many["1"].hi == pytest.approx(beta.ppf(0.9), abs=0.002)


def test_intervals_shrink_with_data_and_cover_the_truth():
    net, _ = sampled("asia", 1)
    truth = query(net, tables_from_net(net), "lung", {"smoke": "yes"})
    widths = []
    for n in (200, 2000, 20000):
        _, rows = sampled("asia", n, seed=n)
        model = compile(net)
        model.fit(decode(net, rows), prior="bdeu", equivalent_sample_size=2)
        ans = model.query("lung", {"smoke": "yes"}, credible=0.99)
        c = ans["yes"]
        assert c.lo <= c.estimate <= c.hi
        assert c.lo <= float(truth[0]) <= c.hi
        widths.append(c.hi - c.lo)
    assert widths[0] > widths[1] > widths[2]
    assert widths[0] / widths[2] > 5  # about sqrt(100)


def test_same_seed_same_interval_and_list_targets():
    net, rows = sampled("asia", 300)
    model = compile(net)
    model.fit(decode(net, rows), prior="k2")
    a = model.query(["lung", "tub"], {"xray": "yes"}, credible=0.9, seed=3)
    b = model.query(["lung", "tub"], {"xray": "yes"}, credible=0.9, seed=3)
    c = model.query(["lung", "tub"], {"xray": "yes"}, credible=0.9, seed=4)
    assert a == b and a != c
    point = model.query(["lung", "tub"], {"xray": "yes"})
    assert {t: {s: x.estimate for s, x in d.items()} for t, d in a.items()} == point


def test_alarm_query_is_fast():
    net, rows = sampled("alarm", 1000)
    model = compile(net)
    model.fit(decode(net, rows), prior="bdeu", equivalent_sample_size=10)
    model.query("HYPOVOLEMIA", {"BP": "LOW"}, credible=0.9)  # draws the CPT sets once
    t0 = time.perf_counter()
    model.query("LVFAILURE", {"BP": "LOW", "CVP": "HIGH"}, credible=0.9)
    assert time.perf_counter() - t0 < 1.0


def test_posterior_is_saved_with_the_model(tmp_path):
    net, rows = sampled("asia", 400)
    model = compile(net)
    model.fit(decode(net, rows), prior="bdeu", equivalent_sample_size=3, estimate="map")
    before = model.query("lung", {"smoke": "no"}, credible=0.95)
    model.save(tmp_path / "m.pt")
    loaded = load_model(tmp_path / "m.pt")
    post = loaded.parameter_posterior()
    assert (post.prior, post.equivalent_sample_size, post.estimate) == ("bdeu", 3.0, "map")
    assert loaded.query("lung", {"smoke": "no"}, credible=0.95) == before
    compile(net).save(tmp_path / "plain.pt")
    with pytest.raises(PgmArError, match="no posterior over its CPTs"):
        load_model(tmp_path / "plain.pt").query("lung", credible=0.9)


def test_damaged_saved_posterior_is_refused():
    net = BayesNet([Bernoulli("a"), Categorical("b", 3)], [("a", "b")])
    post = DirichletPosterior.from_data(net, {"a": torch.tensor([0, 1]),
                                              "b": torch.tensor([2, 1])}, "k2")
    data = post.to_payload()
    assert DirichletPosterior.from_payload(net, data, "f.pt").concentration["b"].shape == (2, 3)
    data["counts"]["b"] = torch.ones(3, 2, dtype=torch.float64)
    with pytest.raises(PgmArError, match="f.pt: damaged model file.*shape"):
        DirichletPosterior.from_payload(net, data, "f.pt")
    data = post.to_payload()
    data["alpha"]["a"] = torch.tensor([1.0, -1.0], dtype=torch.float64)
    with pytest.raises(PgmArError, match="f.pt: damaged.*pseudo-counts of 'a'"):
        DirichletPosterior.from_payload(net, data, "f.pt")


@pytest.mark.parametrize("level", [0, 1, 1.5, -0.1, True, "0.9", float("nan")])
def test_credible_level_outside_zero_one(level):
    net = BayesNet([Bernoulli("a")])
    model = compile(net)
    model.fit(pd.DataFrame({"a": [0, 1, 1]}), prior="k2")
    with pytest.raises(PgmArError, match="strictly between 0 and 1"):
        model.query("a", credible=level)


@pytest.mark.filterwarnings("ignore::pgm_ar.errors.FitWarning")  # a one-epoch gradient fit
def test_credible_needs_a_fit_with_a_prior():
    net = example_network("asia")
    with pytest.raises(PgmArError, match="no posterior over its CPTs"):
        compile(net).query("lung", credible=0.9)  # given tables
    net2 = BayesNet([Bernoulli("a"), Bernoulli("b")], [("a", "b")])
    df = pd.DataFrame({"a": [0, 1, 1, 0], "b": [0, 1, 1, 1]})
    model = compile(net2)
    model.fit(df)  # maximum likelihood
    with pytest.raises(PgmArError, match="fitted without a prior, by a gradient method"):
        model.query("a", credible=0.9)
    model.fit(df, prior="k2")
    model.fit(df, method="svi", epochs=1, progress=False)  # a gradient fit drops it
    with pytest.raises(PgmArError, match="no posterior over its CPTs"):
        model.query("a", credible=0.9)


def test_frequentist_coverage_is_near_the_level():
    """Over many data sets drawn from a known p, about 90% of the 90% intervals hold it."""
    net = BayesNet([Bernoulli("x")])
    rng = np.random.default_rng(0)
    trials, held = 200, 0
    for k in range(trials):
        x = torch.from_numpy((rng.random(100) < 0.3).astype(np.int64))
        post = DirichletPosterior.from_data(net, {"x": x}, "k2")
        c = credible_query(post, "x", credible=0.9, num_samples=1000, seed=k)["1"]
        held += c.lo <= 0.3 <= c.hi
    # binomial(200, 0.9) has standard deviation 0.021: the band is over 3 of them
    assert 0.83 <= held / trials <= 0.97


def test_validation_nll_of_a_prior_fit():
    net = BayesNet([Bernoulli("a"), Bernoulli("b")], [("a", "b")])
    train = pd.DataFrame({"a": [0, 1, 1, 0, 1], "b": [0, 1, 1, 1, 0]})
    val = pd.DataFrame({"a": [1, 0], "b": [1, 1]})
    model = compile(net)
    hist = model.fit(train, prior="k2", val=val)
    # the posterior mean by hand: p(a=1) = 4/7; p(b=1 | a=0) = 2/4, p(b=1 | a=1) = 3/5
    expect = -(np.log(4 / 7 * 3 / 5) + np.log(3 / 7 * 2 / 4)) / 2
    assert hist.val_nll == [pytest.approx(expect, abs=1e-12)] and hist.best_epoch == 1
