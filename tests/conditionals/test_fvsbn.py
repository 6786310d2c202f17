"""FVSBN: a logistic regression per pixel on all earlier pixels."""
from __future__ import annotations

import torch

from pgm_ar.conditionals.fvsbn import FVSBN
from pgm_ar.variables import Categorical, Image


def test_matches_independent_logistic_regressions():
    img = Image("x", shape=(1, 2, 3), ordering="snake")
    cond = FVSBN().build(img, [Categorical("l", 2)]).double()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in cond.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype))
    W = cond.full_weight()[:, 0, :, 0]                      # (D, D) in visiting order
    assert torch.all(torch.triu(W) == 0)
    x = torch.bernoulli(torch.full((5, 1, 2, 3), 0.5)).double()
    lab = torch.tensor([0, 1, 1, 0, 1])
    got = cond({"l": lab}).log_prob(x)
    order = img.order
    flat = x.reshape(5, -1)
    ctx = torch.nn.functional.one_hot(lab, 2).double()
    want = torch.zeros(5, dtype=torch.float64)
    for t in range(6):
        logit = cond.bias[t, 0] + ctx @ cond.U.weight[t] + sum(
            W[t, s] * flat[:, order[s]] for s in range(t))
        v = flat[:, order[t]]
        want += v * torch.nn.functional.logsigmoid(logit) + (1 - v) * torch.nn.functional.logsigmoid(-logit)
    torch.testing.assert_close(got, want.detach())


def test_parameter_count():
    D = 12
    assert FVSBN().build(Image("x", shape=(1, 3, 4)), []).num_parameters() == D * (D - 1) // 2 + D
    L = 3
    assert FVSBN().build(Image("x", shape=(1, 3, 4), levels=L), []).num_parameters() == \
        D * (D - 1) // 2 * L * L + D * L


def test_sampling_reuses_running_logits():
    img = Image("x", shape=(1, 2, 2))
    cond = FVSBN().build(img, [])
    with torch.no_grad():
        cond.bias[:] = torch.tensor([[10.0], [-10.0], [0.0], [0.0]])
        cond.weight[:] = 0.0
        # pixel 2 copies pixel 0, pixel 3 copies the negation of pixel 1
        rows, cols = cond.rows.tolist(), cond.cols.tolist()
        cond.weight[rows.index(2) + cols[rows.index(2):].index(0), 0, 0] = 0.0
        full = torch.zeros(4, 4)
        full[2, 0] = 30.0
        full[3, 1] = -30.0
        for i, (r, c) in enumerate(zip(rows, cols)):
            cond.weight[i, 0, 0] = full[r, c]
        cond.bias[2] = -15.0
        cond.bias[3] = 15.0
    x = cond({}, batch_size=50).sample()
    flat = x.reshape(50, 4)
    assert torch.all(flat[:, 0] == 1) and torch.all(flat[:, 1] == 0)
    assert torch.all(flat[:, 2] == 1) and torch.all(flat[:, 3] == 1)
