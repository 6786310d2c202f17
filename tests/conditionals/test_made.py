"""MADE: degree rules, functional masks, mask cycling, the probability-averaging ensemble, the
context, cached steps, mixture sampling and completion (chi-square against enumeration)."""
from __future__ import annotations

import itertools
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
import torch

from pgm_ar.conditionals import made as made_module
from pgm_ar.conditionals.autoregressive import ApproximateCompletionWarning
from pgm_ar.conditionals.made import MADE, MADEConditional
from pgm_ar.errors import PgmArError
from pgm_ar.variables import Bernoulli, Categorical, Gaussian, Image
from tests.conditionals.grid_checks import (assert_cached_equals_naive,
                                            assert_cached_steps_match_full_pass,
                                            assert_completion_equals_naive, randomize)


def _configs(D):
    return torch.tensor(list(itertools.product([0, 1], repeat=D))).float()


def test_mask_product_is_strictly_autoregressive_in_each_members_ordering():
    img = Image("x", shape=(1, 2, 3), ordering="snake")
    cond = MADE(hidden=(20, 20), num_masks=5, natural_ordering=False, seed=3).build(img, [])
    for m in range(5):
        masks = cond.masks_for(m)
        conn = masks[0]
        for mk in masks[1:]:
            conn = mk @ conn                               # paths input -> output
        rank = cond.ranks[m]
        allowed = rank[:, None] > rank[None, :]            # output p may see input q
        assert torch.all((conn > 0) <= allowed)
    # member 0 keeps the declared ordering; the others are permutations
    assert torch.equal(cond.ranks[0], torch.arange(6))
    assert any(not torch.equal(cond.ranks[m], torch.arange(6)) for m in range(1, 5))


def test_natural_ordering_keeps_declared_order():
    img = Image("x", shape=(1, 2, 3), ordering="random(4)")
    cond = MADE(hidden=(8,), num_masks=3, natural_ordering=True).build(img, [])
    for m in range(3):
        assert torch.equal(cond.ranks[m], torch.arange(6))


def test_masks_are_never_written_into_weights():
    img = Image("x", shape=(1, 2, 3))
    cond = MADE(hidden=(16,), num_masks=3).build(img, [])
    before = [lin.weight.detach().clone() for lin in cond.layers]
    x = torch.bernoulli(torch.full((8, 1, 2, 3), 0.5))
    cond.train()
    for _ in range(4):                                     # each call moves to the next mask
        cond.zero_grad()
        d = cond({}, batch_size=8)
        (-d.log_prob(x).sum()).backward()
        for lin, mask in zip(cond.layers, cond.current_masks()):
            assert torch.all(lin.weight.grad[mask == 0] == 0)
        for lin, w in zip(cond.layers, before):
            assert torch.equal(lin.weight, w)              # no optimizer step: untouched
    assert int(cond.mask_index) == 4 % 3


def test_next_mask_cycles_through_fixed_seeds():
    img = Image("x", shape=(1, 1, 5))
    cond = MADE(hidden=(9,), num_masks=3, seed=1).build(img, [])
    seen = [cond.masks_for(m) for m in range(3)]
    idx = [cond.next_mask() for _ in range(6)]
    assert idx == [1, 2, 0, 1, 2, 0]
    again = MADE(hidden=(9,), num_masks=3, seed=1).build(img, [])
    for m in range(3):
        for a, b in zip(seen[m], again.masks_for(m)):
            assert torch.equal(a, b)


def test_two_mask_sets_alternate_and_the_buffers_follow():
    cond = MADE(hidden=(9,), num_masks=2, seed=3).build(Image("x", shape=(1, 1, 5)), [])
    sets = [cond.masks_for(m) for m in range(2)]
    assert any(not torch.equal(a, b) for a, b in zip(*sets))  # two different mask sets
    for expected in (1, 0, 1):
        assert cond.next_mask() == expected and int(cond.mask_index) == expected
        for a, b in zip(cond.current_masks(), sets[expected]):
            assert torch.equal(a, b)


def test_ensemble_is_log_mean_exp_of_members_not_logit_average():
    img = Image("x", shape=(1, 2, 3), ordering="diagonal")
    cond = MADE(hidden=(12,), num_masks=4, natural_ordering=True, seed=0).build(img, []).double()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in cond.parameters():
            p.copy_(1.5 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    cond.eval()
    xs = _configs(6).double().reshape(-1, 1, 2, 3)
    n = len(xs)
    ens = cond({}, batch_size=n).log_prob(xs)
    x_ord = cond.to_ordered(xs)
    members = []
    logits = []
    for m in range(4):
        cond._set_masks(m)
        cond.train(False)
        single = cond.ordered_params(x_ord, None)
        logits.append(single)
        members.append(cond.pixel_log_prob(single, x_ord).sum(-1))
    want = torch.logsumexp(torch.stack(members), 0) - math.log(4)
    torch.testing.assert_close(ens, want)
    assert abs(torch.logsumexp(ens, 0).exp().item() - 1) < 1e-10
    # the trap: averaging logits gives other numbers (here with natural ordering it is still
    # a density, but a different model; with other orderings it is not even normalised)
    trap = cond.pixel_log_prob(torch.stack(logits).mean(0), x_ord).sum(-1)
    assert (trap - ens).abs().max() > 1e-3


def test_logit_average_over_orderings_is_not_normalised():
    img = Image("x", shape=(1, 2, 2))
    cond = MADE(hidden=(12,), num_masks=3, natural_ordering=False, seed=2).build(img, []).double()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in cond.parameters():
            p.copy_(2.0 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    cond.eval()
    xs = _configs(4).double().reshape(-1, 1, 2, 2)
    x_ord = cond.to_ordered(xs)
    avg = torch.stack([cond.member_params(x_ord, None, cond.masks_for(m)) for m in range(3)]).mean(0)
    trap_total = cond.pixel_log_prob(avg, x_ord).sum(-1).exp().sum().item()
    ens_total = cond({}, batch_size=len(xs)).log_prob(xs).exp().sum().item()
    assert abs(ens_total - 1) < 1e-10
    assert abs(trap_total - 1) > 1e-3


def test_training_mode_uses_one_member_eval_uses_ensemble():
    img = Image("x", shape=(1, 1, 4))
    cond = MADE(hidden=(8,), num_masks=2).build(img, [])
    cond.train()
    assert len(cond({}, batch_size=1).members) == 1
    cond.eval()
    assert cond({}, batch_size=1).members == (0, 1)
    cond.ensemble = False
    assert len(cond({}, batch_size=1).members) == 1


def test_parameter_count():
    D, H = 6, 10
    cond = MADE(hidden=(H,)).build(Image("x", shape=(1, 2, 3)), [])
    assert cond.num_parameters() == 2 * D * H + D + H
    cond2 = MADE(hidden=(H, 7)).build(Image("x", shape=(1, 2, 3)), [])
    assert cond2.num_parameters() == (D + 1) * H + (H + 1) * 7 + (7 + 1) * D


def test_ensemble_completion_keeps_observed():
    img = Image("x", shape=(1, 2, 3))
    cond = MADE(hidden=(12,), num_masks=3, natural_ordering=True).build(img, []).eval()
    x = torch.bernoulli(torch.full((10, 1, 2, 3), 0.5))
    mask = torch.zeros(1, 2, 3, dtype=torch.bool)
    mask[:, 0] = True
    out = cond({}, batch_size=10).complete(x, mask)
    assert torch.equal(out[:, :, 0], x[:, :, 0])


def test_equals_a_from_the_paper_reference_with_the_same_degrees_and_weights():
    """One hidden layer, raster order: masks and log-likelihood of a MADE written from the
    paper's definitions (inputs have degrees 1..D, hidden degrees in [1, D-1], hidden mask
    ``deg_in <= deg_h``, output mask ``deg_h < deg_out``), sharing no code with the package."""
    D, H = 16, 9
    made = MADE(hidden=(H,)).build(Image("x", shape=(1, 4, 4)), [])
    deg_in = np.arange(1, D + 1)
    deg_h = np.random.RandomState(5).randint(1, D, size=H)
    made.degrees0[0].copy_(torch.from_numpy(deg_h))
    made._set_masks(0)
    m_in = torch.tensor(deg_in[None, :] <= deg_h[:, None], dtype=torch.float32)
    m_out = torch.tensor(deg_h[None, :] < deg_in[:, None], dtype=torch.float32)
    assert torch.equal(made.mask0, m_in) and torch.equal(made.mask1, m_out)
    x = torch.bernoulli(torch.full((20, D), 0.4), generator=torch.Generator().manual_seed(0))
    (w1, b1), (w2, b2) = [(lin.weight.detach(), lin.bias.detach()) for lin in made.layers]
    logits = torch.relu(x @ (w1 * m_in).t() + b1) @ (w2 * m_out).t() + b2
    want = -torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
    got = made({}, batch_size=20).log_prob(x.reshape(20, 1, 4, 4))
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-5)


# ---------------------------------------------------------------------------- construction
@pytest.mark.parametrize("hidden,match", [((), "non-empty list of positive sizes, got \\(\\)"),
                                          ((4, 0), "positive sizes, got \\(4, 0\\)")])
def test_bad_hidden_sizes_are_refused(hidden, match):
    with pytest.raises(PgmArError, match=match):
        MADE(hidden=hidden).build(Image("x", shape=(1, 1, 3)), [])


def test_bad_num_masks_is_refused_and_width_one_is_allowed():
    with pytest.raises(PgmArError, match="num_masks must be >= 1, got 0"):
        MADE(hidden=(4,), num_masks=0).build(Image("x", shape=(1, 1, 3)), [])
    assert MADE(hidden=(1,)).build(Image("x", shape=(1, 1, 3)), []).num_parameters() == \
        (3 + 1) * 1 + (1 + 1) * 3


def test_defaults_and_seeded_initialisation():
    img = Image("x", shape=(1, 2, 3))
    direct = MADEConditional(img, [], hidden=(7,))
    assert (direct.num_masks, direct.natural_ordering, direct.seed) == (1, False, 0)
    family = MADE(hidden=(7,)).build(img, [])
    for a, b in zip(direct.parameters(), family.parameters()):
        assert torch.equal(a, b)                            # the family's defaults are the module's
    other = MADE(hidden=(7,), seed=3).build(img, [])
    again = MADE(hidden=(7,), seed=3).build(img, [])
    assert other.seed == 3
    assert all(torch.equal(a, b) for a, b in zip(other.parameters(), again.parameters()))
    assert not torch.equal(other.layers[0].weight, family.layers[0].weight)
    # the context layers come from the same seeded generator
    label = [Categorical("y", 3)]
    c1, c2 = (MADE(hidden=(7,), seed=3).build(img, label) for _ in range(2))
    assert torch.equal(c1.ctx_layer.weight, c2.ctx_layer.weight)
    assert torch.equal(c1.ctx_out.weight, c2.ctx_out.weight)
    # torch's Linear init: uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)], for weights and biases
    big = MADE(hidden=(400,)).build(Image("x", shape=(1, 1, 16)), [])
    for lin in big.layers:
        bound = 1 / math.sqrt(lin.in_features)
        for p in (lin.weight, lin.bias):
            assert p.abs().max() <= bound
            assert p.min() < -0.8 * bound and p.max() > 0.8 * bound


def test_buffers_are_integer_and_repr_names_the_options():
    cond = MADE(hidden=(6, 5), num_masks=2, natural_ordering=True).build(
        Image("x", shape=(1, 1, 4)), [])
    assert cond.ranks.dtype == torch.long and cond.mask_index.dtype == torch.long
    assert cond.degrees0.dtype == torch.long and cond.degrees1.dtype == torch.long
    assert cond.ranks.shape == (2, 4) and cond.degrees1.shape == (2, 5)
    assert "hidden=(6, 5), num_masks=2, natural_ordering=True" in repr(cond)


def test_hidden_degrees_span_min_previous_to_d_minus_one():
    D = 5
    cond = MADE(hidden=(300, 300), num_masks=3, seed=4).build(Image("x", shape=(1, 1, D)), [])
    for m in range(3):
        d0, d1 = cond.degrees0[m], cond.degrees1[m]
        assert set(d0.tolist()) == set(range(1, D))         # every degree 1..D-1 is drawn
        assert set(d1.tolist()) == set(range(int(d0.min()), D))
        assert sorted(cond.ranks[m].tolist()) == list(range(D))


def test_supports_discrete_images_only():
    fam = MADE(hidden=(4,))
    assert fam.supports(Image("x", shape=(1, 2, 2)), []) is None
    assert fam.supports(Image("x", shape=(1, 2, 2), levels=4), [Bernoulli("b")]) is None
    assert "MADE models discrete pixels" in fam.supports(Image("r", shape=(1, 2, 2), levels=None), [])
    assert "MADE models an Image" in fam.supports(Gaussian("g"), [])


# ---------------------------------------------------------------------------- with a context
def _reference_log_prob(cond, x_ord, onehot):
    """log p(x | label) of the current member from the module's weights, written out:
    first layer + context, ReLUs, last layer + direct context, Bernoulli / softmax."""
    h = x_ord if cond.in_width == 1 else torch.nn.functional.one_hot(
        x_ord.long(), cond.levels).to(x_ord.dtype)
    n, D = x_ord.shape
    h = h.reshape(n, -1)
    for li, (lin, mask) in enumerate(zip(cond.layers, cond.current_masks())):
        h = h @ (lin.weight * mask).t() + lin.bias
        if li == 0:
            h = h + onehot @ cond.ctx_layer.weight.t()
        if li < len(cond.layers) - 1:
            h = torch.relu(h)
    h = h + onehot @ cond.ctx_out.weight.t()
    if cond.levels == 2:
        return -torch.nn.functional.binary_cross_entropy_with_logits(
            h, x_ord, reduction="none").sum(1)
    logp = torch.log_softmax(h.reshape(n, D, cond.levels), -1)
    return logp.gather(-1, x_ord.long().unsqueeze(-1)).squeeze(-1).sum(1)


@pytest.mark.parametrize("levels", [2, 3])
def test_context_enters_the_first_layer_and_the_outputs(levels):
    label = Categorical("y", 3)
    img = Image("x", shape=(1, 1, 3), levels=levels)
    cond = randomize(MADE(hidden=(6, 5), num_masks=2, natural_ordering=True, seed=1)
                     .build(img, [label]).double(), seed=2, scale=0.8)
    cond.eval()
    cond.ensemble = False
    xs = torch.tensor(list(itertools.product(range(levels), repeat=3))).double()
    n = len(xs)
    for lab in range(3):
        y = torch.full((n,), lab)
        got = cond({"y": y}).log_prob(xs.reshape(n, 1, 1, 3))
        onehot = torch.nn.functional.one_hot(y, 3).double()
        torch.testing.assert_close(got, _reference_log_prob(cond, xs, onehot))
        assert abs(torch.logsumexp(got, 0).exp().item() - 1) < 1e-10
    # every member, scored by the module itself, sees the label too
    y = torch.arange(n) % 3
    onehot = torch.nn.functional.one_hot(y, 3).double()
    members = cond.member_log_probs(xs, onehot)
    for m in range(2):
        cond._set_masks(m)
        torch.testing.assert_close(members[m], _reference_log_prob(cond, xs, onehot))
    cond._set_masks(0)
    # the label changes every output, including the first (which no hidden unit reaches)
    a = cond({"y": torch.zeros(n, dtype=torch.long)}).log_prob(xs.reshape(n, 1, 1, 3))
    b = cond({"y": torch.ones(n, dtype=torch.long)}).log_prob(xs.reshape(n, 1, 1, 3))
    assert (a - b).abs().min() > 0


@pytest.mark.parametrize("levels,hidden", [(2, (6,)), (2, (6, 5, 4)), (3, (7, 5))])
def test_cached_steps_equal_the_full_pass_with_a_context(levels, hidden):
    label = Categorical("y", 2)
    img = Image("x", shape=(1, 2, 2), levels=levels)
    cond = randomize(MADE(hidden=hidden, num_masks=3, seed=5).build(img, [label]).double(),
                     seed=3, scale=0.7)
    ctx = torch.nn.functional.one_hot(torch.arange(6) % 2, 2).double()
    x_ord = torch.randint(levels, (6, 4), generator=torch.Generator().manual_seed(0)).double()
    for m in range(3):
        cond._set_masks(m)
        assert_cached_steps_match_full_pass(cond, x_ord, ctx=ctx)
        assert_cached_equals_naive(cond, n=6, seed=m, ctx=ctx)
        mask = torch.zeros(1, 2, 2, dtype=torch.bool)
        mask[0, 0, 1] = True
        assert_completion_equals_naive(cond, mask, n=6, seed=m, ctx=ctx)


# ---------------------------------------------------------------------------- members and modes
def test_training_calls_advance_the_mask_with_two_members_and_eval_restores():
    img = Image("x", shape=(1, 1, 3))
    cond = MADE(hidden=(8,), num_masks=2).build(img, [])
    cond.train()
    seen = [int(cond({}, batch_size=2).members[0]) for _ in range(4)]
    assert seen == [1, 0, 1, 0]
    single = MADE(hidden=(8,), num_masks=1).build(img, []).train()
    assert single({}, batch_size=2).members == (0,) and single.next_mask() == 0
    assert torch.equal(single.mask0, single.masks_for(0)[0])


def test_a_member_distribution_scores_with_its_member_and_restores_the_current_masks():
    img = Image("x", shape=(1, 2, 2))
    cond = randomize(MADE(hidden=(10,), num_masks=3, seed=2).build(img, []).double(), scale=1.0)
    cond.eval()
    cond.ensemble = False
    xs = _configs(4).double().reshape(-1, 1, 2, 2)
    x_ord = cond.to_ordered(xs)
    for m in range(3):
        cond._set_masks(m)
        d = cond({}, batch_size=len(xs))
        assert d.members == (m,)
        cond._set_masks((m + 1) % 3)                     # move on before scoring
        want = cond.pixel_log_prob(cond.member_params(x_ord, None, cond.masks_for(m)),
                                   x_ord).sum(-1)
        torch.testing.assert_close(d.log_prob(xs), want)
        assert int(cond.mask_index) == (m + 1) % 3
        assert all(torch.equal(a, b) for a, b in zip(cond.current_masks(),
                                                     cond.masks_for((m + 1) % 3)))
    members = cond.member_log_probs(x_ord, None)
    assert members.shape == (3, 16)
    for m in range(3):
        assert abs(members[m].exp().sum().item() - 1) < 1e-10


def test_two_member_ensemble_is_the_mean_of_the_members():
    img = Image("x", shape=(1, 1, 3))
    cond = randomize(MADE(hidden=(9,), num_masks=2, seed=1).build(img, []).double(), scale=1.2)
    cond.eval()
    xs = _configs(3).double().reshape(-1, 1, 1, 3)
    ens = cond({}, batch_size=len(xs)).log_prob(xs).exp()
    x_ord = cond.to_ordered(xs)
    p = [cond.pixel_log_prob(cond.member_params(x_ord, None, cond.masks_for(m)), x_ord)
         .sum(-1).exp() for m in range(2)]
    torch.testing.assert_close(ens, (p[0] + p[1]) / 2)


def _ensemble_probs(cond, label=None):
    xs = _configs(cond.num_values).double()
    imgs = cond.from_ordered(xs).reshape((len(xs),) + cond.image_shape).double()
    parents = {} if label is None else {"y": torch.full((len(xs),), label)}
    d = cond(parents, batch_size=None if parents else len(xs))
    return xs, d.log_prob(imgs).detach().exp()


def _codes(cond, samples):
    x_ord = cond.to_ordered(samples).long()
    D = cond.num_values
    return (x_ord * 2 ** torch.arange(D - 1, -1, -1)).sum(-1)


def test_ensemble_samples_follow_the_ensemble_per_context():
    label = Categorical("y", 2)
    img = Image("x", shape=(1, 1, 3))
    cond = randomize(MADE(hidden=(8,), num_masks=3, seed=7).build(img, [label]).double(),
                     seed=1, scale=1.5).eval()
    torch.manual_seed(0)
    y = torch.tensor([0, 1])
    x = cond({"y": y}).sample((3000,))
    assert x.shape == (3000, 2, 1, 1, 3)
    for lab in range(2):
        _, probs = _ensemble_probs(cond, lab)
        counts = torch.bincount(_codes(cond, x[:, lab]), minlength=8).numpy()
        assert scipy.stats.chisquare(counts, probs.numpy() * 3000).pvalue > 1e-3


@pytest.mark.parametrize("num_masks", [1, 3])
def test_samples_without_a_context_follow_the_model(num_masks):
    img = Image("x", shape=(1, 1, 3))
    cond = randomize(MADE(hidden=(8, 6), num_masks=num_masks, seed=2).build(img, []).double(),
                     seed=3, scale=1.5).eval()
    torch.manual_seed(1)
    x = cond({}, batch_size=3000).sample()
    assert x.shape == (3000, 1, 1, 3)
    _, probs = _ensemble_probs(cond)
    counts = torch.bincount(_codes(cond, x), minlength=8).numpy()
    assert scipy.stats.chisquare(counts, probs.numpy() * 3000).pvalue > 1e-3


def test_single_draws_use_whichever_member_is_chosen():
    img = Image("x", shape=(1, 1, 3))
    cond = randomize(MADE(hidden=(8,), num_masks=3, seed=7).build(img, []).double(),
                     scale=1.5).eval()
    with torch.no_grad():                      # every member now draws ones (p = 1 - 1e-13)
        cond.layers[-1].weight.zero_()
        cond.layers[-1].bias.fill_(30.0)
    for seed in range(8):                      # some draws pick member 1 or 2 (members before it
        torch.manual_seed(seed)                # get no rows), each member's one row is filled
        x = cond({}, batch_size=1).sample()
        assert x.shape == (1, 1, 1, 3) and torch.all(x == 1)
    x = cond({}).sample((2,))
    assert x.shape == (2, 1, 1, 3)


def test_exact_ensemble_completion_follows_the_ensembles_conditional():
    label = Categorical("y", 2)
    img = Image("x", shape=(1, 1, 4))
    cond = randomize(MADE(hidden=(10,), num_masks=3, natural_ordering=True, seed=3)
                     .build(img, [label]).double(), seed=4, scale=1.5).eval()
    n = 4000
    observed = torch.tensor([1.0, 0.0, 0.0, 0.0]).double()
    mask = torch.tensor([[[True, True, False, False]]])
    for lab in range(2):
        xs, probs = _ensemble_probs(cond, lab)
        keep = (xs[:, 0] == 1) & (xs[:, 1] == 0)
        want = (probs[keep] / probs[keep].sum()).numpy()       # p_ens(x3, x4 | x1=1, x2=0, y)
        torch.manual_seed(lab)
        with warnings.catch_warnings():
            warnings.simplefilter("error")                      # exact: no warning
            out = cond({"y": torch.full((n,), lab)}).complete(
                observed.expand(n, 4).reshape(n, 1, 1, 4), mask.to(torch.uint8))
        assert torch.all(out[:, 0, 0, :2] == observed[:2])
        codes = (out[:, 0, 0, 2] * 2 + out[:, 0, 0, 3]).long()
        counts = torch.bincount(codes, minlength=4).numpy()
        assert scipy.stats.chisquare(counts, want * n).pvalue > 1e-3


def test_completion_warns_when_an_observed_pixel_follows_a_missing_one():
    img = Image("x", shape=(1, 1, 4))
    cond = MADE(hidden=(6,), num_masks=3, natural_ordering=True).build(img, []).eval()
    x = torch.zeros(5, 1, 1, 4)
    mask = torch.tensor([[[False, True, False, True]]])
    with pytest.warns(ApproximateCompletionWarning,
                      match="completing image 'x': some observed pixels come after missing ones "
                            "in a member's ordering, so the completion is approximate") as rec:
        out = cond({}, batch_size=5).complete(x, mask)
    assert Path(rec[0].filename) != Path(made_module.__file__)   # attributed to a caller
    assert torch.all(out[:, 0, 0, 1] == 0) and torch.all(out[:, 0, 0, 3] == 0)
