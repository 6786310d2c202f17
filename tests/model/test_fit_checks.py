"""Fit diagnostics: the independent baseline against a hand computation, the loss-curve rules
on made-up curves, and FitWarnings (with their numbers) from real fits."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from pgm_ar import BayesNet, Bernoulli, Categorical, FitWarning, Gaussian, Image
from pgm_ar.model import compile
from pgm_ar.model.fit_checks import check_baseline, check_loss, independent_baseline


def _fit_warnings(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return [str(w.message) for w in caught if issubclass(w.category, FitWarning)]


def test_independent_baseline_by_hand():
    net = BayesNet([Categorical("c", 3), Gaussian("u"), Image("x", shape=(1, 1, 2))])
    model = compile(net, {"x": {"family": "nade", "hidden": 2}})
    c = torch.tensor([0, 0, 1, -1])              # one missing: scored on the observed three
    u = torch.tensor([1.0, 2.0, 4.0, 5.0], dtype=torch.float64)
    x = torch.tensor([[0, 1], [1, 1], [0, 1], [0, 0]], dtype=torch.uint8).reshape(4, 1, 1, 2)
    by_hand = -(2 * math.log(2 / 3) + math.log(1 / 3))
    by_hand += 0.5 * 4 * math.log(2 * math.pi * math.e * float(u.var(unbiased=False)))
    by_hand += -(3 * math.log(3 / 4) + math.log(1 / 4)) - (3 * math.log(3 / 4) + math.log(1 / 4))
    got = independent_baseline(model, {"c": c, "u": u, "x": x})
    assert got == pytest.approx(by_hand / 4, rel=1e-12)
    # no closed form: grey levels (binarized batch by batch), a constant real column
    assert independent_baseline(model, {"x": x.float() * 0.5}) is None
    assert independent_baseline(model, {"u": torch.ones(3, dtype=torch.float64)}) is None


def test_loss_curve_rules():
    converged = [1 + 2 * math.exp(-e / 3) for e in range(60)]
    linear = [10 - 0.1 * e for e in range(60)]
    assert _fit_warnings(lambda: check_loss(converged)) == []
    [msg] = _fit_warnings(lambda: check_loss(linear))
    assert "far from converged: the loss fell by 0.6 nats per row in the last 6 epochs (10%" in msg
    assert _fit_warnings(lambda: check_loss(linear, stopped_early=True)) == []
    [msg] = _fit_warnings(lambda: check_loss([1.0, 1.5, 2.0]))
    assert "the loss rose from 1.0000 to 2.0000 nats per row over 3 epochs" in msg
    assert _fit_warnings(lambda: check_loss([5.0])) == []
    assert _fit_warnings(lambda: check_baseline(2.0, 2.005)) == []
    assert _fit_warnings(lambda: check_baseline(2.0, None)) == []
    [msg] = _fit_warnings(lambda: check_baseline(2.5, 2.0))
    assert "2.5000 nats per row, is worse than 2.0000 for independent marginals" in msg


def test_fits_warn_with_their_numbers_or_say_nothing():
    rng = np.random.default_rng(0)
    a = (rng.random(500) < 0.3).astype(int)
    b = np.where(a == 1, rng.random(500) < 0.9, rng.random(500) < 0.2).astype(int)
    data = {"a": a, "b": b}
    net = BayesNet([Bernoulli("a"), Bernoulli("b")], [("a", "b")])
    pa, pb = a.mean(), b.mean()
    baseline = -(pa * math.log(pa) + (1 - pa) * math.log(1 - pa)
                 + pb * math.log(pb) + (1 - pb) * math.log(1 - pb))
    # a rate too small to move: worse than independent marginals, and the warning says by how
    # much (the uniform start scores 2 log 2 per row)
    model = compile(net)
    msgs = _fit_warnings(lambda: model.fit(data, method="svi", epochs=3, lr=1e-6,
                                           progress=False))
    assert any(f"{2 * math.log(2):.4f} nats per row, is worse than {baseline:.4f}" in m
               for m in msgs), msgs
    # stopped while still falling fast
    msgs = _fit_warnings(lambda: compile(net).fit(data, method="svi", epochs=10, lr=0.02,
                                                  batch_size=500, progress=False))
    assert any("far from converged" in m for m in msgs), msgs
    # a fit that got there says nothing; nor does the closed form
    assert _fit_warnings(lambda: compile(net).fit(data, method="svi", epochs=150, lr=0.1,
                                                  batch_size=500, progress=False)) == []
    assert _fit_warnings(lambda: compile(net).fit(data)) == []
