"""The tabular family (pgm_ar.conditionals.tabular): table lookups against numpy indexing,
the closed-form fit against counts, the Dirichlet MAP against its formula."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from pgm_ar import Bernoulli, Categorical, Gaussian, Image, PgmArError
from pgm_ar.conditionals.tabular import (MAX_TABLE_SIZE, ZERO_LOGIT, NormalizedCategorical,
                                         Tabular)


def _node(seed, max_parents=3):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 5))
    cards = [int(c) for c in rng.integers(2, 4, size=int(rng.integers(0, max_parents + 1)))]
    return Categorical("x", k), [Categorical(f"p{i}", c) for i, c in enumerate(cards)], rng


@pytest.mark.parametrize("seed", range(6))
def test_parameter_count_is_k_minus_one_times_parent_configurations(seed):
    x, parents, _ = _node(seed)
    configs = len(list(itertools.product(*(range(p.cardinality) for p in parents))))
    assert Tabular().build(x, parents).num_parameters() == (x.cardinality - 1) * configs


@pytest.mark.parametrize("seed", range(6))
def test_log_prob_is_the_table_entry(seed):
    x, parents, rng = _node(seed)
    cards = tuple(p.cardinality for p in parents)
    table = rng.dirichlet(np.ones(x.cardinality), size=cards or None).reshape(
        cards + (x.cardinality,))
    cond = Tabular().build(x, parents).double()
    cond.set_probs(table)
    np.testing.assert_allclose(cond.probs().numpy(), table, rtol=1e-12, atol=1e-15)
    n = 50
    pv = {p.name: torch.as_tensor(rng.integers(0, p.cardinality, size=n)) for p in parents}
    xs = torch.as_tensor(rng.integers(0, x.cardinality, size=n))
    got = cond(pv, batch_size=n).log_prob(xs).detach().numpy()
    want = [np.log(table[tuple(int(pv[p.name][i]) for p in parents) + (int(xs[i]),)])
            for i in range(n)]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_an_enumerated_parent_broadcasts_against_the_batch():
    cond = Tabular().build(Bernoulli("x"), [Categorical("z", 3), Bernoulli("b")]).double()
    table = np.array([[[0.9, 0.1], [0.2, 0.8]], [[0.5, 0.5], [0.3, 0.7]], [[0.6, 0.4], [1.0, 0.0]]])
    cond.set_probs(table)
    z = torch.arange(3).reshape(3, 1)                           # Pyro's enumeration shape
    b = torch.tensor([0, 1, 1, 0])
    d = cond({"z": z, "b": b})
    assert d.batch_shape == (3, 4)
    np.testing.assert_allclose(d.probs.detach().numpy(), table[np.arange(3)[:, None], b.numpy()])


def test_zero_probabilities_become_finite_logits():
    cond = Tabular().build(Categorical("x", 3), []).double()
    cond.set_probs(torch.tensor([0.5, 0.5, 0.0]))
    assert float(cond.logits.detach()[2]) == ZERO_LOGIT
    assert cond.probs()[2] == 0 and cond({}, batch_size=4).batch_shape == (4,)
    with pytest.raises(PgmArError, match=r"CPT of 'x' must have shape \(3,\), got \(2,\)"):
        cond.set_probs([0.5, 0.5])
    with pytest.raises(PgmArError, match="missing value for parent 'a' of 'y'"):
        Tabular().build(Bernoulli("y"), [Bernoulli("a")])({})


def test_normalized_categorical_equals_categorical_of_the_same_logits():
    logits = torch.log_softmax(torch.randn(5, 4, generator=torch.Generator().manual_seed(0)), -1)
    ours, ref = NormalizedCategorical(logits), torch.distributions.Categorical(logits=logits)
    x = torch.tensor([0, 3, 2, 1, 1])
    torch.testing.assert_close(ours.log_prob(x), ref.log_prob(x))
    wide = ours.expand((2, 5))
    assert isinstance(wide, NormalizedCategorical) and wide.batch_shape == (2, 5)
    torch.testing.assert_close(wide.log_prob(x.expand(2, 5)), ref.log_prob(x).expand(2, 5))


@pytest.mark.parametrize("prior", [None, 1.0, 2.0, 3.5])
def test_closed_form_fit_is_the_count_ratio_or_the_dirichlet_mode(prior):
    x, parents = Categorical("x", 3), [Bernoulli("a"), Categorical("b", 3)]
    rng = np.random.default_rng(1)
    n = 40
    a, b = rng.integers(0, 2, n), rng.integers(0, 3, n)
    a[b == 2] = 0                                                # row (1, 2) is never seen
    xs = rng.integers(0, 3, n)
    counts = np.zeros((2, 3, 3))
    for i in range(n):
        counts[a[i], b[i], xs[i]] += 1
    alpha = 1.0 if prior is None else prior
    post = counts + (alpha - 1)
    totals = post.sum(-1, keepdims=True)
    want = np.where(totals > 0, post / np.where(totals > 0, totals, 1), 1 / 3)
    cond = Tabular(prior=prior).build(x, parents).double()
    ll = cond.fit_closed_form({"a": torch.as_tensor(a), "b": torch.as_tensor(b)},
                              torch.as_tensor(xs))
    np.testing.assert_allclose(cond.probs().numpy(), want, rtol=1e-10, atol=1e-12)
    assert ll == pytest.approx(float(np.sum(np.log(want[a, b, xs]))), rel=1e-12)
    if prior is None:
        np.testing.assert_allclose(cond.probs()[1, 2].numpy(), [1 / 3] * 3)


def test_log_prior_is_the_unnormalised_dirichlet_density():
    cond = Tabular(prior=3).build(Categorical("x", 3), [Bernoulli("a")]).double()
    p = np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    cond.set_probs(p)
    assert float(cond.log_prior().detach()) == pytest.approx(2 * np.log(p).sum(), rel=1e-12)
    assert Tabular().build(Bernoulli("x"), []).log_prior() is None
    assert Tabular(prior=1).build(Bernoulli("x"), []).log_prior() is None


def test_reset_draws_new_logits():
    cond = Tabular().build(Categorical("x", 4), [Bernoulli("a")])
    assert torch.all(cond.logits == 0)                           # uniform start
    torch.manual_seed(0)
    cond.reset_parameters()
    assert cond.logits.std() > 0.3


@pytest.mark.parametrize("prior,match", [(0.5, "concentration >= 1"), ("x", "a number >= 1"),
                                         (float("inf"), "concentration >= 1")])
def test_bad_priors(prior, match):
    with pytest.raises(PgmArError, match=match):
        Tabular(prior=prior)


def test_supports_names_the_reason():
    assert Tabular(prior="2").prior == 2.0
    fam = Tabular()
    assert "discrete scalar node; 'g' is Gaussian" in fam.supports(Gaussian("g"), [])
    assert "parent 'g' is Gaussian (use Logistic or MLP)" in fam.supports(Bernoulli("b"),
                                                                            [Gaussian("g")])
    assert "parent 'i' is Image" in fam.supports(Bernoulli("b"), [Image("i", (1, 2, 2))])
    big = [Categorical(f"p{i}", 16) for i in range(6)]          # 16^6 * 2 > 2^24 entries
    assert f"more than {MAX_TABLE_SIZE}" in fam.supports(Bernoulli("b"), big)
    assert fam.supports(Bernoulli("b"), big[:5]) is None
    with pytest.raises(PgmArError, match="variable 'g': a table needs"):
        fam.build(Gaussian("g"), [])
