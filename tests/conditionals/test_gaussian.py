"""Gaussian conditionals (pgm_ar.conditionals.gaussian): the linear-Gaussian closed-form fit
against numpy's least squares and scipy's normal density, the MLP-Gaussian against its network
written out in numpy, and the data units (standardised parameters, results in the data's
units, exact folding back, old files without units)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from pgm_ar import Bernoulli, Categorical, Gaussian, Image, PgmArError
from pgm_ar.conditionals import LinearGaussian, MLPGaussian
from pgm_ar.conditionals.gaussian import MIN_SCALE

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


def _data(seed, n=60):
    rng = np.random.default_rng(seed)
    z, a = rng.integers(0, 3, n), rng.normal(size=n)
    y = np.array([1.0, -2.0, 0.5])[z] + 1.7 * a + rng.normal(scale=0.3, size=n)
    return z, a, y


@pytest.mark.parametrize("seed", range(3))
def test_closed_form_fit_is_least_squares(seed):
    z, a, y = _data(seed)
    n = len(y)
    cond = LinearGaussian().build(Gaussian("y"), [Categorical("z", 3), Gaussian("a")]).double()
    ll = cond.fit_closed_form({"z": torch.as_tensor(z), "a": torch.as_tensor(a)},
                              torch.as_tensor(y))
    A = np.concatenate([np.eye(3)[z], a[:, None], np.ones((n, 1))], axis=1)
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    fitted = A @ coef                       # unique, although one-hot + intercept is rank deficient
    sigma = np.sqrt(np.mean((y - fitted) ** 2))
    mean = cond.mean({"z": torch.as_tensor(z), "a": torch.as_tensor(a)}).detach().numpy()
    np.testing.assert_allclose(mean, fitted, rtol=1e-9, atol=1e-9)
    assert math.exp(float(cond.log_scale.detach())) == pytest.approx(sigma, rel=1e-9)
    want_ll = stats.norm.logpdf(y, fitted, sigma).sum()
    assert ll == pytest.approx(want_ll, rel=1e-9)
    d = cond({"z": torch.as_tensor(z), "a": torch.as_tensor(a)})
    np.testing.assert_allclose(d.log_prob(torch.as_tensor(y)).detach().numpy(),
                               stats.norm.logpdf(y, fitted, sigma), rtol=1e-9)


def test_root_fit_is_the_sample_mean_and_ml_standard_deviation():
    y = np.array([1.0, 2.0, 4.0, 7.0])
    cond = LinearGaussian().build(Gaussian("y"), []).double()
    cond.fit_closed_form({}, torch.as_tensor(y))
    assert float(cond.bias.detach()) == pytest.approx(y.mean())
    assert math.exp(float(cond.log_scale.detach())) == pytest.approx(y.std(ddof=0))
    d = cond({}, batch_size=3)
    assert d.batch_shape == (3,) and torch.allclose(d.loc, torch.full((3,), y.mean()).double())
    # a constant column cannot give a zero scale
    cond.fit_closed_form({}, torch.full((5,), 2.0))
    assert math.exp(float(cond.log_scale.detach())) == pytest.approx(MIN_SCALE)
    with pytest.raises(PgmArError, match="no rows to fit 'y'"):
        cond.fit_closed_form({}, torch.zeros(0))


def test_linear_gaussian_parameters_and_image_parents():
    parents = [Gaussian("a"), Bernoulli("b"), Image("i", (1, 2, 2), levels=None)]
    cond = LinearGaussian().build(Gaussian("y"), parents)
    assert cond.num_parameters() == (1 + 2 + 4) + 2          # weights, intercept, log-scale
    rng = np.random.default_rng(0)
    n = 30
    a, b, img = rng.normal(size=n), rng.integers(0, 2, n), rng.normal(size=(n, 1, 2, 2))
    y = 0.5 * a - b + img.reshape(n, 4) @ np.array([1, 2, 3, 4]) + rng.normal(size=n) * 0.1
    cond = cond.double()
    pv = {"a": torch.as_tensor(a), "b": torch.as_tensor(b), "i": torch.as_tensor(img)}
    cond.fit_closed_form(pv, torch.as_tensor(y))
    A = np.concatenate([a[:, None], np.eye(2)[b], img.reshape(n, 4), np.ones((n, 1))], axis=1)
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    np.testing.assert_allclose(cond.mean(pv).detach().numpy(), A @ coef, rtol=1e-9, atol=1e-9)


def test_linear_gaussian_initialisation():
    cond = LinearGaussian().build(Gaussian("y"), [Gaussian(f"a{i}") for i in range(400)])
    assert float(cond.bias.detach()) == 0 and float(cond.log_scale.detach()) == 0
    assert float(cond.weight.detach().std()) == pytest.approx(1 / math.sqrt(400), rel=0.15)


def test_mlp_gaussian_mean_and_scale_from_its_network():
    torch.manual_seed(0)
    cond = MLPGaussian(hidden=(5,)).build(Gaussian("y"), [Categorical("z", 2), Gaussian("a")])
    cond = cond.double()
    assert cond.num_parameters() == (3 + 1) * 5 + (5 + 1) * 2
    rng = np.random.default_rng(0)
    n = 10
    z, a = rng.integers(0, 2, n), rng.normal(size=n)
    u = np.concatenate([np.eye(2)[z], a[:, None]], axis=1)
    l1, l2 = cond.net[0], cond.net[2]
    h = np.maximum(u @ l1.weight.detach().numpy().T + l1.bias.detach().numpy(), 0)
    out = h @ l2.weight.detach().numpy().T + l2.bias.detach().numpy()
    d = cond({"z": torch.as_tensor(z), "a": torch.as_tensor(a)})
    np.testing.assert_allclose(d.loc.detach().numpy(), out[:, 0], rtol=1e-10)
    np.testing.assert_allclose(d.scale.detach().numpy(), np.log1p(np.exp(out[:, 1])) + MIN_SCALE,
                               rtol=1e-10)


def test_mlp_gaussian_root():
    cond = MLPGaussian(hidden=(3,)).build(Gaussian("y"), [])
    assert cond.num_parameters() == 2
    with torch.no_grad():
        cond.root.copy_(torch.tensor([1.5, 0.0]))
    d = cond({}, batch_size=4)
    assert d.batch_shape == (4,)
    torch.testing.assert_close(d.loc, torch.full((4,), 1.5))
    torch.testing.assert_close(d.scale, torch.full((4,), math.log(2) + MIN_SCALE))
    cond.reset_parameters()
    assert torch.all(cond.root == 0)
    assert cond({}).batch_shape == ()


def test_supports_real_scalars_only():
    for fam, label in ((LinearGaussian(), "LinearGaussian"), (MLPGaussian(), "MLPGaussian")):
        assert fam.supports(Gaussian("y"), [Bernoulli("b")]) is None
        msg = fam.supports(Bernoulli("b"), [])
        assert f"{label} models a real (Gaussian) scalar node; 'b' is Bernoulli" in msg
        assert "(use Tabular, Logistic or MLP)" in msg
        assert "use Tabular" not in fam.supports(Image("r", (1, 2, 2), levels=None), [])
        with pytest.raises(PgmArError, match=f"variable 'b': {label}"):
            fam.build(Bernoulli("b"), [])
    with pytest.raises(PgmArError, match="MLPGaussian: hidden"):
        MLPGaussian(hidden=(0,))
