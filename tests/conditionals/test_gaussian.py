"""Gaussian conditionals: least squares, and the data units (standardised parameters, results in
the data's units, exact folding back, old files without units)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pgm_ar import Bernoulli, Categorical, Gaussian, PgmArError
from pgm_ar.conditionals import LinearGaussian, MLPGaussian

PARENTS = [Categorical("c", 3), Gaussian("u"), Bernoulli("b")]


def _values(n=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"c": torch.randint(0, 3, (n,), generator=g), "u": 200 + 30 * torch.randn(n, generator=g,
                                                                                    dtype=torch.float64),
            "b": torch.randint(0, 2, (n,), generator=g)}


def test_closed_form_is_least_squares_and_resets_units():
    vals = _values()
    y = 5.0 + 0.3 * vals["u"] - 2.0 * (vals["c"] == 1) + torch.randn(50, dtype=torch.float64)
    node = LinearGaussian().build(Gaussian("y"), PARENTS).double()
    node.set_units((7.0, 3.0), {"u": (100.0, 10.0)})
    node.fit_closed_form(vals, y)
    design = np.column_stack([np.eye(3)[vals["c"]], vals["u"], np.eye(2)[vals["b"]]])
    coef, *_ = np.linalg.lstsq(design, y.numpy(), rcond=None)
    with torch.no_grad():
        np.testing.assert_allclose(node.mean(vals).numpy(), design @ coef, atol=1e-9)
    assert node.out_units.tolist() == [0.0, 1.0] and bool((node.in_scale == 1).all())


@pytest.mark.parametrize("family", [LinearGaussian(), MLPGaussian(hidden=(5,))])
def test_units_change_variables_exactly(family):
    # a module with units is the module without them applied to standardised values: its
    # log-density is that one minus log(scale) (change of variables)
    torch.manual_seed(0)
    vals = _values()
    y = 1000 + 40 * torch.randn(50, dtype=torch.float64)
    plain = family.build(Gaussian("y"), PARENTS).double()
    scaled = family.build(Gaussian("y"), PARENTS).double()
    scaled.load_state_dict(plain.state_dict())
    scaled.set_units((1000.0, 40.0), {"u": (200.0, 30.0)})
    std = dict(vals, u=(vals["u"] - 200.0) / 30.0)
    with torch.no_grad():
        expect = plain(std).log_prob((y - 1000.0) / 40.0) - math.log(40.0)
        got = scaled(vals).log_prob(y)
    torch.testing.assert_close(got, expect, rtol=1e-12, atol=1e-12)


def test_fold_units_keeps_the_distribution_and_reads_in_data_units():
    torch.manual_seed(1)
    vals = _values()
    y = 1000 + 40 * torch.randn(50, dtype=torch.float64)
    node = LinearGaussian().build(Gaussian("y"), PARENTS).double()
    with torch.no_grad():
        node.log_scale.fill_(-0.5)
        node.bias.fill_(0.25)
    node.set_units((1000.0, 40.0), {"u": (200.0, 30.0)})
    with torch.no_grad():
        before = node(vals).log_prob(y)
        mean_before = node.mean(vals)
    node.fold_units()
    assert node.out_units.tolist() == [0.0, 1.0]
    with torch.no_grad():
        torch.testing.assert_close(node(vals).log_prob(y), before, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(node.mean(vals), mean_before, rtol=1e-12, atol=1e-9)
    assert float(node.log_scale.detach()) == pytest.approx(-0.5 + math.log(40.0), abs=1e-12)


def test_files_saved_before_units_load_with_identity_units():
    node = MLPGaussian(hidden=(3,)).build(Gaussian("y"), PARENTS)
    old = {k: v for k, v in node.state_dict().items()
           if k not in ("out_units", "in_shift", "in_scale")}
    fresh = MLPGaussian(hidden=(3,)).build(Gaussian("y"), PARENTS)
    fresh.set_units((5.0, 2.0), {"u": (1.0, 3.0)})
    fresh.load_state_dict(old)
    assert fresh.out_units.tolist() == [0.0, 1.0] and bool((fresh.in_shift == 0).all())
    with pytest.raises(PgmArError, match="'y'.*positive"):
        fresh.set_units((0.0, 0.0))
