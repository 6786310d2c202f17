"""NADE: the one-pass density against a naive per-pixel recomputation, the fused kernel's
gradients, sampling, inpainting, features and the Pyro site."""
from __future__ import annotations

import math
import warnings

import pyro
import pytest
import torch

from pgm_ar.conditionals.autoregressive import ApproximateCompletionWarning
from pgm_ar.conditionals.nade import NADE, Activation, nade_outputs
from pgm_ar.errors import PgmArError
from pgm_ar.variables import Categorical, Gaussian, Image

ACTS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}


def _randomize(cond, seed=0):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in cond.parameters():
            p.copy_(0.8 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return cond.double()


def naive_log_prob(cond, x_img, ctx, act):
    """Recompute every conditional from scratch: h_i = act(c + U ctx + sum_{j<i} W_j x_j)."""
    order = cond.variable.order
    flat = x_img.reshape(x_img.shape[0], -1)
    total = torch.zeros(flat.shape[0], dtype=torch.float64)
    levels = cond.levels
    for t, pix in enumerate(order):
        a = cond.c.detach().clone().expand(flat.shape[0], -1).clone()
        if ctx is not None:
            a = a + ctx @ cond.U.weight.detach().t()
        for s in range(t):
            v = flat[:, order[s]]
            if levels == 2:
                a = a + v[:, None] * cond.W[s, 0].detach()
            else:
                a = a + cond.W[s, v.long()].detach()
        h = act(a)
        out = h @ cond.V[t].detach() + cond.b[t].detach()          # (N, Lout)
        v = flat[:, pix]
        if levels == 2:
            p1 = 1.0 / (1.0 + torch.exp(-out[:, 0]))
            total += torch.log(torch.where(v > 0, p1, 1 - p1))
        else:
            total += torch.log_softmax(out, -1).gather(-1, v.long()[:, None])[:, 0]
    return total


@pytest.mark.parametrize("levels", [2, 4])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("ordering", ["raster", "diagonal", "random(2)"])
def test_one_pass_equals_naive_recomputation(levels, activation, ordering):
    img = Image("x", shape=(1, 3, 4), levels=levels, ordering=ordering)
    label = Categorical("label", 3)
    cond = _randomize(NADE(hidden=5, activation=activation, block=5).build(img, [label]))
    gen = torch.Generator().manual_seed(1)
    x = torch.randint(levels, (6, 1, 3, 4), generator=gen).double()
    lab = torch.tensor([0, 1, 2, 0, 1, 2])
    got = cond({"label": lab}).log_prob(x)
    ctx = torch.nn.functional.one_hot(lab, 3).double()
    want = naive_log_prob(cond, x, ctx, ACTS[activation])
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("lin,lout,act", [(1, 1, "sigmoid"), (3, 3, "tanh"), (1, 6, "relu")])
@pytest.mark.parametrize("block", [1, 4, 16])
def test_fused_kernel_gradients(lin, lout, act, block):
    gen = torch.Generator().manual_seed(0)
    N, D, H = 3, 9, 4
    mk = lambda *s: torch.randn(*s, generator=gen, dtype=torch.float64).requires_grad_(True)
    args = (mk(N, D, lin), mk(D, lin, H), mk(N, H), mk(D, H, lout), mk(D, lout))
    f = lambda *a: nade_outputs(*a, Activation(act), block, "fused")
    assert torch.autograd.gradcheck(f, args)
    torch.testing.assert_close(f(*args), nade_outputs(*args, Activation(act), block, "cumsum"))


def test_bad_impl_and_activation():
    with pytest.raises(PgmArError, match="activation"):
        NADE(activation="softsign").build(Image("x", shape=(1, 2, 2)), [])
    with pytest.raises(PgmArError, match="RNADE"):
        NADE().build(Image("x", shape=(1, 2, 2), levels=None), [])
    with pytest.raises(PgmArError, match="Image"):
        NADE().build(Gaussian("g"), [])
    assert NADE().supports(Gaussian("g"), []) is not None


def test_parameter_count_closed_form():
    D, H, K = 12, 7, 3
    img = Image("x", shape=(1, 3, 4))
    assert NADE(hidden=H).build(img, []).num_parameters() == 2 * D * H + D + H
    assert NADE(hidden=H).build(img, [Categorical("l", K)]).num_parameters() == \
        2 * D * H + D + H + K * H
    L = 5
    img5 = Image("x", shape=(1, 3, 4), levels=L)
    assert NADE(hidden=H).build(img5, []).num_parameters() == 2 * D * L * H + D * L + H


def test_log_prob_bits_per_dim_and_shapes():
    img = Image("x", shape=(1, 2, 3))
    cond = NADE(hidden=4).build(img, [])
    d = cond({}, batch_size=5)
    x = torch.bernoulli(torch.full((5, 1, 2, 3), 0.5))
    lp = d.log_prob(x)
    assert lp.shape == (5,)
    torch.testing.assert_close(d.log_prob_bits_per_dim(x), -lp / (6 * math.log(2)))
    # extra sample dims broadcast against the batch
    assert d.log_prob(x.expand(2, 5, 1, 2, 3)).shape == (2, 5)
    assert d.sample((3,)).shape == (3, 5, 1, 2, 3)
    with pytest.raises(PgmArError, match="shape"):
        d.log_prob(torch.zeros(5, 6))
    torch.testing.assert_close(d.pixel_log_probs(x).sum((-1, -2, -3)), lp)


@pytest.mark.parametrize("levels", [2, 3])
def test_sampling_keeps_state_one_step_per_value(levels):
    """Sampling never runs a full pass; the generic path calls the O(H) step D times (binary
    images take a fused loop with the same state, checked by the chi-square tests)."""
    img = Image("x", shape=(1, 3, 3), levels=levels, ordering="snake")
    cond = NADE(hidden=4).build(img, [])
    calls = {"step": 0, "full": 0}
    step, full = cond.step, cond.ordered_params
    cond.step = lambda *a: (calls.__setitem__("step", calls["step"] + 1), step(*a))[1]
    cond.ordered_params = lambda *a: (calls.__setitem__("full", calls["full"] + 1), full(*a))[1]
    cond({}, batch_size=10).sample()
    assert calls == {"step": 9 if levels == 3 else 0, "full": 0}


def test_class_conditional_sampling_follows_label():
    """With a label parent, the label alone decides a pixel's probability."""
    img = Image("x", shape=(1, 1, 3))
    cond = NADE(hidden=3).build(img, [Categorical("label", 2)])
    with torch.no_grad():
        for p in cond.parameters():
            p.zero_()
        cond.b[:] = 0.0
        cond.V[:, 0, 0] = 20.0          # logit = 20 * h_0 (sigmoid of pre-activation)
        cond.U.weight[0] = torch.tensor([-30.0, 30.0])  # label 0 -> h_0 ~ 0, label 1 -> ~ 1
    torch.manual_seed(0)
    x0 = cond({"label": torch.zeros(200, dtype=torch.long)}).sample()
    x1 = cond({"label": torch.ones(200, dtype=torch.long)}).sample()
    assert x0.mean() < 0.6 and x1.mean() > 0.99


def test_complete_exact_and_approximate():
    img = Image("x", shape=(1, 2, 3))
    cond = _randomize(NADE(hidden=4).build(img, [])).float()
    x = torch.bernoulli(torch.full((50, 1, 2, 3), 0.5))
    top = torch.zeros(1, 2, 3, dtype=torch.bool)
    top[:, 0] = True          # first row observed: precedes the rest in raster order
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = cond({}, batch_size=50).complete(x, top)
    assert torch.equal(out[:, :, 0], x[:, :, 0])
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    with pytest.warns(ApproximateCompletionWarning):
        out = cond({}, batch_size=50).complete(x, ~top)
    assert torch.equal(out[:, :, 1], x[:, :, 1])


def test_complete_is_exact_conditional():
    """Completion frequencies of the last pixel equal p(x_last | observed) from log_prob."""
    img = Image("x", shape=(1, 1, 3))
    cond = _randomize(NADE(hidden=3).build(img, [])).float()
    obs = torch.tensor([1.0, 0.0, 0.0]).reshape(1, 1, 1, 3)
    mask = torch.tensor([True, True, False]).reshape(1, 1, 3)
    torch.manual_seed(0)
    out = cond({}, batch_size=20000).complete(obs.expand(20000, 1, 1, 3), mask)
    both = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 1.0]]).reshape(2, 1, 1, 3)
    p = cond({}, batch_size=2).log_prob(both).exp().detach()
    want = (p[1] / p.sum()).item()
    got = out[:, 0, 0, 2].mean().item()
    assert abs(got - want) < 4 * math.sqrt(want * (1 - want) / 20000) + 1e-3


def test_features_are_final_hidden_state():
    img = Image("x", shape=(1, 2, 2))
    cond = _randomize(NADE(hidden=6).build(img, []))
    x = torch.bernoulli(torch.full((4, 1, 2, 2), 0.5)).double()
    f = cond({}, batch_size=4).features(x)
    x_ord = x.reshape(4, -1)[:, img.order]
    want = torch.sigmoid(cond.c + x_ord @ cond.W[:, 0])
    torch.testing.assert_close(f, want.detach())


def test_pyro_site_and_trace():
    img = Image("x", shape=(1, 2, 2))
    cond = NADE(hidden=3).build(img, [])
    data = torch.bernoulli(torch.full((7, 1, 2, 2), 0.5))

    def model(data):
        with pyro.plate("data", data.shape[0]):
            return pyro.sample("x", cond({}, batch_size=data.shape[0]), obs=data)

    tr = pyro.poutine.trace(model).get_trace(data)
    tr.compute_log_prob()
    torch.testing.assert_close(tr.nodes["x"]["log_prob"], cond({}, batch_size=7).log_prob(data))
    # a root distribution without batch size expands to the plate
    d = cond({})
    assert d.expand(torch.Size([7])).log_prob(data).shape == (7,)
