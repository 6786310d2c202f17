"""Checks every grid family (PixelCNN, Row LSTM, Diagonal BiLSTM) must pass, shared by their tests.

Each check computes its expectation independently of the family's code:

* strict causality from autograd: the output for (pixel i, channel c) has zero gradient with
  respect to every input at a later pixel and at pixel i for channels >= c;
* exact normalisation by enumerating every configuration of a tiny image;
* samples against ``exp(log_prob)`` by a chi-square test;
* cached sampling against the naive sampler (one full pass per value) with the same random
  numbers: the draws must be identical;
* cached inpainting, which skips the steps of values observed for the whole batch, against
  a naive completion, and every cached step's parameters against the one-pass ones.
"""
from __future__ import annotations

import itertools
from typing import Optional

import numpy as np
import scipy.stats
import torch

from pgm_ar.variables import Categorical, Image


def randomize(cond, seed: int = 0, scale: float = 0.5):
    """Random weights (not the init) so every allowed dependence shows in the gradient."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in cond.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return cond


def jacobian(cond, x_img: torch.Tensor, ctx: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``J[t, s]`` = max |d output(step t) / d input(step s)| over the batch and logits,
    in visiting-order coordinates (rows: outputs, columns: inputs)."""
    D = cond.num_values
    x_ord = cond.to_ordered(x_img).clone().requires_grad_(True)
    params = cond.ordered_params(x_ord, ctx)
    params = params.reshape(params.shape[0], D, -1)
    rows = []
    for t in range(D):
        (g,) = torch.autograd.grad(params[:, t].sum(), x_ord, retain_graph=True,
                                   allow_unused=True)
        rows.append(torch.zeros(D) if g is None else g.abs().amax(0))
    return torch.stack(rows)


def assert_strictly_causal(cond, batch: int = 16, seed: int = 0, ctx=None) -> torch.Tensor:
    """No output sees its own or a later value; every output after the first sees something.

    Returns the Jacobian (steps x steps) for family-specific checks (triangle, blind spot).
    """
    C, H, W = cond.image_shape
    gen = torch.Generator().manual_seed(seed)
    levels = cond.levels
    x = torch.randint(levels, (batch, C, H, W), generator=gen).to(torch.float64)
    J = jacobian(cond, x, ctx)
    D = cond.num_values
    for t in range(D):
        assert torch.all(J[t, t:] == 0), (
            f"step {t} (pixel {divmod(t // C, W)}, channel {t % C}) sees step "
            f"{t + int(torch.nonzero(J[t, t:])[0])}")
        if t > 0:
            assert J[t, :t].max() > 0, f"step {t} ignores every earlier value"
    return J


def all_configs(D: int, levels: int) -> torch.Tensor:
    return torch.tensor(list(itertools.product(range(levels), repeat=D)))


def assert_normalised(cond, label: Optional[Categorical] = None, tol: float = 1e-6) -> None:
    """``sum_x p(x | label) = 1`` by enumerating every configuration (each label value)."""
    C, H, W = cond.image_shape
    xs = all_configs(C * H * W, cond.levels)
    # configs enumerate the values in visiting order (pixel-major, channel-fastest)
    imgs = cond.image_from_ordered(xs).to(torch.float64)
    labels = range(label.cardinality) if label is not None else [None]
    for lab in labels:
        if lab is None:
            d = cond({}, batch_size=len(xs))
        else:
            d = cond({label.name: torch.full((len(xs),), lab)})
        total = torch.logsumexp(d.log_prob(imgs), 0).exp().item()
        assert abs(total - 1.0) < tol, f"probabilities sum to {total} (label {lab})"


def assert_samples_match(cond, n: int = 20000, seed: int = 0) -> None:
    """Chi-square of sample frequencies against ``exp(log_prob)`` of every configuration."""
    C, H, W = cond.image_shape
    D, L = C * H * W, cond.levels
    torch.manual_seed(seed)
    x = cond({}, batch_size=n).sample()
    assert x.shape == (n, C, H, W)
    x_ord = cond.to_ordered(x).long()
    codes = (x_ord * L ** torch.arange(D - 1, -1, -1)).sum(-1)
    counts = torch.bincount(codes, minlength=L ** D).numpy()
    configs = all_configs(D, L)
    imgs = cond.image_from_ordered(configs).to(torch.float64)
    probs = cond({}, batch_size=len(configs)).log_prob(imgs).detach().exp().numpy()
    probs = probs / probs.sum()
    stat = scipy.stats.chisquare(counts, probs * n)
    assert stat.pvalue > 1e-3, f"chi-square p = {stat.pvalue}"


def assert_cached_equals_naive(cond, n: int = 6, seed: int = 0, ctx=None) -> None:
    """The cached sampler and the naive one draw the same images from the same random numbers."""
    torch.manual_seed(seed)
    cached = cond.run_sequential(ctx, n)
    torch.manual_seed(seed)
    naive = cond.run_naive(ctx, n)
    assert torch.equal(cached, naive), (cached != naive).nonzero()[:5]


def tiny_images():
    """The images of the issue: a 3x3 binary one, a 2x2 colour one at 2 levels, a 2x2 one
    with 3 levels (categorical softmax)."""
    return {
        "binary3x3": Image("x", shape=(1, 3, 3), levels=2),
        "colour2x2": Image("x", shape=(3, 2, 2), levels=2),
        "levels3": Image("x", shape=(1, 2, 2), levels=3),
    }


def context_reaches_every_step(cond, label: Categorical) -> None:
    C, H, W = cond.image_shape
    x_ord = torch.randint(cond.levels, (8, cond.num_values)).to(torch.float64)
    ctx = torch.nn.functional.one_hot(torch.arange(8) % label.cardinality,
                                      label.cardinality).to(torch.float64).requires_grad_(True)
    params = cond.ordered_params(x_ord, ctx).reshape(8, cond.num_values, -1)
    for t in range(cond.num_values):
        (g,) = torch.autograd.grad(params[:, t].sum(), ctx, retain_graph=True)
        assert g.abs().max() > 0, f"step {t} ignores the label"


def grid_to_image(J_row: torch.Tensor, shape) -> np.ndarray:
    """A Jacobian row (inputs in visiting order) as a ``(C, H, W)`` array of dependence."""
    C, H, W = shape
    return J_row.reshape(H * W, C).t().reshape(C, H, W).numpy()


def naive_complete(cond, observed: torch.Tensor, mask: torch.Tensor, ctx=None) -> torch.Tensor:
    """The reference for ``run_sequential`` with observed values: one full pass before every
    step that draws, drawing exactly when the cached sampler does (same random numbers)."""
    n, D = observed.shape
    dtype = next(cond.parameters()).dtype
    out = torch.zeros(n, D, dtype=dtype)
    with torch.no_grad():
        for t in cond.step_positions():
            if bool(mask[:, t].all()):
                out[:, t] = observed[:, t].to(dtype)
                continue
            value = cond.sample_step(cond.ordered_params(out, ctx)[:, t])
            out[:, t] = torch.where(mask[:, t], observed[:, t].to(dtype), value)
    return out


def assert_cached_steps_match_full_pass(cond, x_ord: torch.Tensor,
                                        mask: Optional[torch.Tensor] = None, ctx=None,
                                        tol: float = 1e-9) -> None:
    """Replay the cached steps on known values ``x_ord`` ``(n, D)``: every step's parameters
    equal the one-pass ``ordered_params`` of those values (by causality the later values do
    not matter).  Steps whose value ``mask`` ``(n, D)`` marks observed for the whole batch are
    skipped, as the cached sampler skips them.  Finer than comparing draws, which a small
    error in a probability rarely flips."""
    with torch.no_grad():
        full = cond.ordered_params(x_ord.to(next(cond.parameters()).dtype), ctx)
        state = cond.start(ctx, x_ord.shape[0])
        for t in cond.step_positions():
            if mask is None or not bool(mask[:, t].all()):
                got = cond.step(state, t)
                err = float((got - full[:, t]).abs().max())
                assert err < tol, f"step {t}: cached parameters off by {err}"
            state = cond.advance(state, t, x_ord[:, t].to(full.dtype))


def assert_completion_equals_naive(cond, mask_img: torch.Tensor, n: int = 6, seed: int = 0,
                                   ctx=None) -> None:
    """Cached inpainting (``run_sequential`` with observed values) against :func:`naive_complete`
    (same draws) and :func:`assert_cached_steps_match_full_pass` (same parameters).

    ``mask_img`` ``(C, H, W)`` marks the observed values, the same for the whole batch, so that
    the cached sampler skips the steps of the observed values: the states of those pixels
    must still be computed for the pixels after them.
    """
    C, H, W = cond.image_shape
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.randint(cond.levels, (n, C, H, W), generator=gen)
    x_ord = cond.to_ordered(x)
    m_ord = cond.to_ordered(mask_img.expand(n, C, H, W))
    torch.manual_seed(seed)
    cached = cond.run_sequential(ctx, n, observed=x_ord, observed_mask=m_ord)
    torch.manual_seed(seed)
    naive = naive_complete(cond, x_ord, m_ord, ctx)
    assert torch.equal(cached, naive), (cached != naive).nonzero()[:5]
    assert torch.equal(cached[m_ord], x_ord[m_ord].to(cached.dtype))
    assert_cached_steps_match_full_pass(cond, cached, m_ord, ctx)
