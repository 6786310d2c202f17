"""AR-k: tabular and logistic forms of the order-k Markov chain along the ordering."""
from __future__ import annotations

import itertools

import torch

import pgm_ar
from pgm_ar.conditionals.ark import ARk
from pgm_ar.variables import Image


def test_tabular_parameter_count_equals_markov_network_count():
    for k in (0, 1, 2, 3):
        img = Image("x", shape=(1, 3, 4))
        want = pgm_ar.count_parameters(pgm_ar.markov(pgm_ar.bernoullis(12), k=k)).total
        assert ARk(k=k).build(img, []).num_parameters() == want


def test_tabular_counts_mle_reproduces_empirical_conditionals():
    """Setting the table to the counts MLE gives the empirical Markov likelihood."""
    img = Image("x", shape=(1, 1, 5), ordering=[4, 2, 0, 1, 3])
    cond = ARk(k=2).build(img, []).double()
    gen = torch.Generator().manual_seed(0)
    data = torch.bernoulli(torch.full((400, 1, 1, 5), 0.35), generator=gen).double()
    x_ord = data.reshape(400, 5)[:, img.order]
    want = torch.zeros(400, dtype=torch.float64)
    with torch.no_grad():
        for t in range(5):
            kk = min(t, 2)
            for prev in itertools.product([0, 1], repeat=kk):
                sel = torch.ones(400, dtype=torch.bool)
                for j, v in enumerate(prev):          # prev[j] is step t-1-j
                    sel &= x_ord[:, t - 1 - j] == v
                n1 = x_ord[sel, t].sum()
                n = sel.sum()
                p = ((n1 + 1) / (n + 2)).item()       # add-one smoothing avoids log 0
                code = sum(v * 2 ** j for j, v in enumerate(prev))
                cond.table[cond.offsets[t] + code] = torch.logit(torch.tensor(p, dtype=torch.float64))
                want[sel] += torch.where(x_ord[sel, t] > 0, torch.tensor(p).log(),
                                         torch.tensor(1 - p).log()).double()
    got = cond({}, batch_size=400).log_prob(data)
    torch.testing.assert_close(got, want.detach())


def test_logistic_parameter_count_and_levels():
    D, k, L = 12, 2, 3
    img = Image("x", shape=(1, 3, 4), levels=L)
    cond = ARk(k=k).build(img, [])
    assert not cond.tabular
    assert cond.num_parameters() == D * k * L * L + D * L
    img2 = Image("x", shape=(1, 3, 4))
    assert ARk(k=20).build(img2, []).k == D - 1           # k is capped at D - 1


def test_incremental_step_equals_one_pass():
    for family in (ARk(k=2), ARk(k=2, tabular_max_k=0)):
        img = Image("x", shape=(1, 2, 3), ordering="diagonal")
        cond = family.build(img, [])
        gen = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for p in cond.parameters():
                p.copy_(torch.randn(p.shape, generator=gen))
        x_ord = torch.bernoulli(torch.full((4, 6), 0.5), generator=gen)
        full = cond.ordered_params(x_ord, None)
        state = cond.start(None, 4)
        for t in range(6):
            torch.testing.assert_close(cond.step(state, t), full[:, t])
            state = cond.advance(state, t, x_ord[:, t])
