"""Properties every autoregressive family must have, for every ordering.

* The conditional of the value visited at step ``t`` has zero gradient with respect to the
  values visited at steps ``>= t`` and a nonzero one for some earlier value; the context
  enters every step.
* For tiny images, the probabilities of all configurations sum to one.
* Sample frequencies match ``exp(log_prob)`` (chi-square test, fixed seed).
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.stats
import torch

from pgm_ar.conditionals.ark import ARk
from pgm_ar.conditionals.fvsbn import FVSBN
from pgm_ar.conditionals.made import MADE
from pgm_ar.conditionals.nade import NADE
from pgm_ar.conditionals.rnade import RNADE
from pgm_ar.variables import Categorical, Image

SHAPE = (1, 2, 3)  # D = 6
ORDERINGS = ["raster", "snake", "diagonal", "random(3)", [5, 0, 3, 1, 4, 2]]
FAMILIES = {
    "fvsbn": FVSBN(),
    "ark1": ARk(k=1),
    "ark2-logistic": ARk(k=2, tabular_max_k=0),
    "nade": NADE(hidden=7),
    "nade-tanh": NADE(hidden=7, activation="tanh", block=4),
    "made": MADE(hidden=(24, 24), num_masks=1),
}


def _randomize(cond, seed=0):
    """Random (not zero-initialised) weights so that every allowed dependence is visible."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in cond.named_parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return cond


def _jacobian_steps(cond, x_img, ctx):
    """d params[step t] / d x (flat image index), ``(D, D)``; rows are steps."""
    D = cond.num_values
    x = x_img.clone().requires_grad_(True)
    params = cond.ordered_params(cond.to_ordered(x), ctx)
    params = params.reshape(params.shape[0], D, -1)
    rows = []
    for t in range(D):
        (g,) = torch.autograd.grad(params[:, t].sum(), x, retain_graph=True, allow_unused=True)
        rows.append(torch.zeros(D) if g is None else g.reshape(-1).abs())
    return torch.stack(rows)


@pytest.mark.parametrize("ordering", ORDERINGS, ids=str)
@pytest.mark.parametrize("fam", [k for k in FAMILIES if k != "ark1"])
def test_gradient_autoregressive_property(fam, ordering):
    img = Image("x", shape=SHAPE, ordering=ordering)
    cond = _randomize(FAMILIES[fam].build(img, []))
    order = img.order
    torch.manual_seed(1)
    x = torch.bernoulli(torch.full((3,) + SHAPE, 0.5))
    J = _jacobian_steps(cond, x, None)
    for t in range(img.num_pixels):
        later = order[t:]
        assert torch.all(J[t, later] == 0), f"step {t} sees a later pixel"
        if t > 0:
            assert J[t, order[:t]].max() > 0, f"step {t} ignores every earlier pixel"
    if fam == "ark2-logistic":  # only the two previous steps
        for t in range(3, img.num_pixels):
            assert torch.all(J[t, order[:t - 2]] == 0)


@pytest.mark.parametrize("ordering", ORDERINGS, ids=str)
def test_conditional_logits_in_image_layout(ordering):
    """The public per-pixel logits (image layout) obey the property too."""
    img = Image("x", shape=SHAPE, ordering=ordering)
    cond = _randomize(NADE(hidden=5).build(img, []))
    x = torch.bernoulli(torch.full((1,) + SHAPE, 0.5)).requires_grad_(True)
    logits = cond({}, batch_size=1).conditional_logits(x).reshape(-1)
    step_of = np.argsort(img.order)
    for i in range(img.num_pixels):
        (g,) = torch.autograd.grad(logits[i], x, retain_graph=True)
        g = g.reshape(-1)
        for j in range(img.num_pixels):
            if step_of[j] >= step_of[i]:
                assert g[j] == 0


def _perturbation_deps(cond, x_ord, levels):
    """deps[t, s] = changing the value at step s changes step t's parameters."""
    D = x_ord.shape[1]
    base = cond.ordered_params(x_ord, None).detach()
    deps = torch.zeros(D, D, dtype=torch.bool)
    for s in range(D):
        for v in range(levels):
            y = x_ord.clone()
            y[:, s] = v
            p = cond.ordered_params(y, None).detach()
            diff = (p - base).reshape(p.shape[0], D, -1).abs().amax(dim=(0, 2))
            deps[:, s] |= diff > 0
    return deps


@pytest.mark.parametrize("ordering", ["snake", "random(5)"], ids=str)
@pytest.mark.parametrize("fam,levels", [("ark1", 2), ("ark1", 3), ("nade", 3), ("fvsbn", 3),
                                        ("made", 3)])
def test_perturbation_autoregressive_property(fam, levels, ordering):
    """Discrete inputs (tables, one-hot levels) by changing values instead of gradients."""
    img = Image("x", shape=SHAPE, levels=levels, ordering=ordering)
    cond = _randomize(FAMILIES[fam].build(img, []))
    gen = torch.Generator().manual_seed(0)
    x_ord = torch.randint(levels, (4, img.num_pixels), generator=gen)
    deps = _perturbation_deps(cond, x_ord, levels)
    assert not torch.triu(deps).any()
    assert all(deps[t, :t].any() for t in range(1, img.num_pixels))
    if fam == "ark1":
        assert not torch.tril(deps, -2).any()


@pytest.mark.parametrize("fam", ["fvsbn", "ark1", "ark2-logistic", "nade", "made"])
def test_context_enters_every_step(fam):
    img = Image("x", shape=SHAPE, ordering="random(1)")
    label = Categorical("label", 3)
    cond = _randomize(FAMILIES[fam].build(img, [label]))
    x_ord = torch.bernoulli(torch.full((2, img.num_pixels), 0.5))
    ctx = torch.nn.functional.one_hot(torch.tensor([0, 2]), 3).float().requires_grad_(True)
    params = cond.ordered_params(x_ord, ctx)
    for t in range(img.num_pixels):
        (g,) = torch.autograd.grad(params[:, t].sum(), ctx, retain_graph=True)
        assert g.abs().max() > 0


def _all_configs(D, levels):
    return torch.tensor(list(itertools.product(range(levels), repeat=D)))


@pytest.mark.parametrize("fam", list(FAMILIES) + ["made-ensemble"])
@pytest.mark.parametrize("ordering", ["raster", "diagonal", "random(7)"], ids=str)
def test_probabilities_sum_to_one(fam, ordering):
    img = Image("x", shape=(1, 2, 4), ordering=ordering)  # D = 8, 256 configurations
    label = Categorical("label", 2)
    family = MADE(hidden=(16,), num_masks=4) if fam == "made-ensemble" else FAMILIES[fam]
    cond = _randomize(family.build(img, [label])).double().eval()
    xs = _all_configs(8, 2).double().reshape(-1, *img.shape)
    for lab in range(2):
        d = cond({"label": torch.full((len(xs),), lab)})
        total = torch.logsumexp(d.log_prob(xs), 0).exp().item()
        assert abs(total - 1.0) < 1e-5


@pytest.mark.parametrize("fam", ["nade", "ark1", "fvsbn", "made"])
def test_probabilities_sum_to_one_three_levels(fam):
    img = Image("x", shape=(1, 2, 2), levels=3, ordering="snake")  # 81 configurations
    cond = _randomize(FAMILIES[fam].build(img, [])).double()
    xs = _all_configs(4, 3).reshape(-1, *img.shape)
    total = torch.logsumexp(cond({}, batch_size=len(xs)).log_prob(xs), 0).exp().item()
    assert abs(total - 1.0) < 1e-5


@pytest.mark.parametrize("fam", ["fvsbn", "ark1", "nade", "made", "made-ensemble", "nade-levels"])
def test_sample_frequencies_match_log_prob(fam):
    levels = 3 if fam == "nade-levels" else 2
    img = Image("x", shape=(1, 2, 2), levels=levels, ordering=[3, 1, 0, 2])
    family = {"made-ensemble": MADE(hidden=(16,), num_masks=3),
              "nade-levels": NADE(hidden=6)}.get(fam) or FAMILIES[fam]
    cond = family.build(img, [])
    gen = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for p in cond.parameters():
            p.mul_(0).add_(0.7 * torch.randn(p.shape, generator=gen))
    cond.eval()
    n = 20000
    torch.manual_seed(0)
    d = cond({}, batch_size=n)
    x = d.sample()
    assert x.shape == (n,) + img.shape
    codes = (x.reshape(n, -1).long() * levels ** torch.arange(3, -1, -1)).sum(-1)
    counts = torch.bincount(codes, minlength=levels ** 4).numpy()
    configs = _all_configs(4, levels).reshape(-1, *img.shape)
    probs = cond({}, batch_size=len(configs)).log_prob(configs).detach().exp().double().numpy()
    probs = probs / probs.sum()
    stat = scipy.stats.chisquare(counts, probs * n)
    assert stat.pvalue > 1e-3


def test_rnade_property_for_orderings():
    for ordering in ORDERINGS:
        img = Image("x", shape=SHAPE, levels=None, ordering=ordering)
        cond = _randomize(RNADE(hidden=6, components=2, activation="tanh").build(img, []))
        x = torch.randn((2,) + SHAPE)
        J = _jacobian_steps(cond, x, None)
        for t in range(img.num_pixels):
            assert torch.all(J[t, img.order[t:]] == 0)
            if t > 0:
                assert J[t, img.order[:t]].max() > 0
