"""RNADE: a normalised density over real vectors, and samples that match it."""
from __future__ import annotations

import math

import torch

from pgm_ar.conditionals.rnade import RNADE
from pgm_ar.variables import Categorical, Image


def _model(ctx=()):
    img = Image("v", shape=(1, 1, 2), levels=None, ordering=[1, 0])
    cond = RNADE(hidden=6, components=3, activation="tanh").build(img, list(ctx)).double()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in cond.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return cond


def _grid():
    g = torch.linspace(-12, 12, 601, dtype=torch.float64)
    X, Y = torch.meshgrid(g, g, indexing="ij")
    return g, torch.stack([X.reshape(-1), Y.reshape(-1)], -1).reshape(-1, 1, 1, 2)


def test_density_integrates_to_one_and_samples_match_moments():
    cond = _model()
    g, pts = _grid()
    dx = (g[1] - g[0]).item()
    dens = cond({}, batch_size=len(pts)).log_prob(pts).exp().detach()
    total = dens.sum().item() * dx * dx
    assert abs(total - 1) < 1e-3
    flat = pts.reshape(-1, 2)
    mean = (dens[:, None] * flat).sum(0) * dx * dx
    second = (dens[:, None] * flat ** 2).sum(0) * dx * dx
    cross = (dens * flat[:, 0] * flat[:, 1]).sum() * dx * dx
    torch.manual_seed(0)
    n = 40000
    s = cond({}, batch_size=n).sample().reshape(n, 2)
    sd = (second - mean ** 2).sqrt()
    assert torch.all((s.mean(0) - mean).abs() < 4 * sd / math.sqrt(n))
    assert torch.allclose(s.pow(2).mean(0), second, rtol=0.05, atol=0.02)
    assert abs((s[:, 0] * s[:, 1]).mean() - cross) < 0.05


def test_conditional_density_integrates_to_one_per_label():
    cond = _model([Categorical("l", 2)])
    g, pts = _grid()
    dx = (g[1] - g[0]).item()
    for lab in (0, 1):
        d = cond({"l": torch.full((len(pts),), lab)})
        assert abs(d.log_prob(pts).exp().sum().item() * dx * dx - 1) < 1e-3


def test_parameter_count_closed_form():
    D, H, C = 8, 20, 5
    cond = RNADE(hidden=H, components=C).build(Image("v", shape=(1, 1, D), levels=None), [])
    assert cond.num_parameters() == D * H + H + 3 * C * D * (H + 1)
