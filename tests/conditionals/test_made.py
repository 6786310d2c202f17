"""MADE: degree rules, functional masks, mask cycling, and the probability-averaging ensemble."""
from __future__ import annotations

import itertools
import math

import numpy as np
import torch

from pgm_ar.conditionals.made import MADE
from pgm_ar.variables import Image


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
