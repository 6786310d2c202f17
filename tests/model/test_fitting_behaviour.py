"""Fitting that does the right thing: auto sums out latent and missing values (images too),
real columns far from unit scale fit as well as standardised ones (results in the data's
units), given zeros are floored, one seed policy, lr_decay, a History from every method."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from pgm_ar import (BayesNet, Bernoulli, Categorical, FitWarning, Gaussian, Image, PgmArError,
                    TabularCPD)
from pgm_ar.model import compile
from pgm_ar.model.fitting import ZERO_MIX
from pgm_ar.training import History


def label_digit(states=3):
    net = BayesNet([Categorical("label", states), Image("digit", shape=(1, 2, 3))],
                   [("label", "digit")])
    return compile(net, {"digit": {"family": "nade", "hidden": 6}})


def joint_marginal_nll(model, x, states):
    """-mean log sum_y p(y, x), from the model's own joint scores of every label."""
    joint = torch.stack([model.log_prob({"digit": x, "label": torch.full((len(x),), k)})
                         for k in range(states)])
    return float(-torch.logsumexp(joint, 0).mean())


@pytest.mark.filterwarnings("ignore::pgm_ar.errors.FitWarning")  # a one-step fit
def test_auto_sums_out_a_latent_or_missing_label_of_images():
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(40, 1, 2, 3, generator=g) < 0.5).float()
    model = label_digit()
    # before: "training data: column 'label': missing column"; now the label is summed out,
    # and the loop's objective is the exact marginal NLL (one step at a negligible rate, so
    # the model after the step scores as the one the step saw)
    history = model.fit({"digit": x}, epochs=1, batch_size=40, lr=1e-12, progress=False)
    assert isinstance(history, History)
    assert history.train_nll[0] == pytest.approx(joint_marginal_nll(model, x, 3), abs=1e-5)
    # some labels missing: observed ones count, missing ones are summed out
    y = torch.tensor([0, 1, 2, 0] * 10, dtype=torch.float64)
    y[::3] = float("nan")
    model = label_digit()
    history = model.fit({"digit": x, "label": y}, method="train", epochs=1, batch_size=40,
                        lr=1e-12, progress=False)
    obs = ~torch.isnan(y)
    joint = -model.log_prob({"digit": x[obs], "label": y[obs].long()}).sum()
    expect = (float(joint) + joint_marginal_nll(model, x[~obs], 3) * int((~obs).sum())) / 40
    assert history.train_nll[0] == pytest.approx(expect, abs=1e-5)


def _em_shared_variance(x, iters=300, seed=0):
    """EM for a two-component mixture of axis-aligned Gaussians with one variance per column
    shared by the components (what c -> y, c -> w with linear-Gaussian nodes is)."""
    rng = np.random.default_rng(seed)
    best = -np.inf
    for _ in range(5):
        pi, mu, var = np.full(2, 0.5), x[rng.choice(len(x), 2, replace=False)], x.var(0)
        for _ in range(iters):
            logp = np.log(pi) - 0.5 * (((x[:, None] - mu) ** 2) / var
                                       + np.log(2 * np.pi * var)).sum(-1)
            ll = np.logaddexp.reduce(logp, 1)
            r = np.exp(logp - ll[:, None])
            pi, mu = r.mean(0), (r.T @ x) / r.sum(0)[:, None]
            var = (r[:, :, None] * (x[:, None] - mu) ** 2).sum((0, 1)) / len(x)
        if ll.sum() > best:
            best, params = ll.sum(), (pi, mu, np.sqrt(var))
    return -best / len(x), params


def test_gaussian_mixture_far_from_unit_scale_fits_in_the_data_units():
    rng = np.random.default_rng(0)
    n = 600
    c = rng.random(n) < 0.4
    y = 1000 + 10 * c + rng.normal(size=n) * 3
    w = -500 + 800 * c + rng.normal(size=n) * 20
    em_nll, (pi, mu, sd) = _em_shared_variance(np.column_stack([y, w]))
    net = BayesNet([Bernoulli("c"), Gaussian("y"), Gaussian("w")], [("c", "y"), ("c", "w")])
    raw, std = compile(net), compile(net)
    settings = dict(epochs=100, batch_size=n, lr=0.05, seed=0, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitWarning)  # a good fit says nothing
        h_raw = raw.fit({"y": y, "w": w}, **settings)
    h_std = std.fit({"y": (y - y.mean()) / y.std(), "w": (w - w.mean()) / w.std()}, **settings)
    # the same fit in two units: NLLs differ by the log-Jacobian, both at EM's optimum
    jacobian = math.log(y.std()) + math.log(w.std())
    assert h_raw.loss[-1] == pytest.approx(h_std.loss[-1] + jacobian, abs=0.01)
    ours = float(-raw.log_prob({"y": y, "w": w}).mean())
    assert abs(ours - em_nll) < 0.01, (ours, em_nll)
    # the parameters read in the data's units: component means and the shared scale
    lin = raw.conditional("y")
    with torch.no_grad():
        means = sorted(lin.mean({"c": torch.tensor([0, 1])}).tolist())
        scale = float(torch.exp(lin.log_scale))
    np.testing.assert_allclose(means, sorted(mu[:, 0]), atol=0.1)
    assert scale == pytest.approx(sd[0], rel=0.02) and lin.out_units.tolist() == [0.0, 1.0]


def test_zero_probabilities_of_given_cpts_are_floored_and_then_fitted():
    cpds = {"a": TabularCPD("a", (), [1.0, 0.0]),
            "b": TabularCPD("b", ("a",), [[0.7, 0.3], [0.5, 0.5]])}
    net = BayesNet([Bernoulli("a"), Bernoulli("b")], [("a", "b")], cpds=cpds)
    rng = np.random.default_rng(1)
    a = (rng.random(400) < 0.3).astype(int)
    b = (rng.random(400) < 0.6).astype(int)
    start = compile(net)
    start.fit({"a": a, "b": b}, method="svi", epochs=0, progress=False)
    t = start.tables()
    np.testing.assert_allclose(t["a"].numpy(), [1 - ZERO_MIX / 2, ZERO_MIX / 2], atol=1e-12)
    np.testing.assert_allclose(t["b"].numpy(), [[0.7, 0.3], [0.5, 0.5]], atol=1e-12)  # no zero
    model = compile(net)  # from the zero, the loop reaches the data's frequency
    model.fit({"a": a, "b": b}, method="svi", epochs=100, batch_size=400, lr=0.1, seed=0,
              progress=False)
    assert float(model.tables()["a"][1]) == pytest.approx(a.mean(), abs=0.01)


def test_one_seed_policy():
    rng = np.random.default_rng(2)
    data = {f"x{j}": (rng.random(200) < 0.3 + 0.2 * j).astype(int) for j in range(3)}
    net = BayesNet([Bernoulli("z")] + [Bernoulli(f"x{j}") for j in range(3)],
                   [("z", f"x{j}") for j in range(3)])

    def fit(seed):
        model = compile(net)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitWarning)
            h = model.fit(data, epochs=3, batch_size=50, lr=0.05, seed=seed, progress=False)
        return model.tables()["x0"], h

    a, ha = fit(None)
    b, hb = fit(None)
    assert ha.seed != hb.seed and not torch.equal(a, b)
    again, h_again = fit(ha.seed)  # the seed drawn repeats the whole fit
    assert torch.equal(a, again) and h_again.loss == ha.loss
    assert torch.equal(fit(4)[0], fit(4)[0]) and fit(4)[1].seed == 4
    with pytest.raises(PgmArError, match="seed=1.5"):
        compile(net).fit(data, seed=1.5, progress=False)


@pytest.mark.filterwarnings("ignore::pgm_ar.errors.FitWarning")
def test_lr_decay_is_the_exponential_schedule():
    net = BayesNet([Bernoulli("a")])
    data = {"a": [0, 1, 1]}
    h = compile(net).fit(data, method="svi", epochs=3, lr=0.1, lr_decay=0.5, progress=False)
    assert h.lr == pytest.approx([0.1, 0.05, 0.025])
    assert compile(net).fit(data, method="svi", epochs=2, progress=False).lr == [0.01, 0.01]
    h = compile(net).fit(data, method="train", epochs=3, lr=0.1, progress=False)
    assert h.lr[0] == 0.1 and h.lr[2] < h.lr[1] < 0.1  # train: cosine
    with pytest.raises(PgmArError, match="lr_decay=0.5 is the factor of the exponential"):
        compile(net).fit(data, method="svi", lr_decay=0.5, lr_schedule="cosine")
    with pytest.raises(PgmArError, match="lr_decay=0: must be a number in"):
        compile(net).fit(data, method="svi", lr_decay=0)


def test_every_method_returns_a_history():
    rows = pd.DataFrame({"a": ["0", "1", "1", "1"], "b": ["0", "0", "1", "1"]})
    net = BayesNet([Bernoulli("a"), Bernoulli("b")], [("a", "b")])
    model = compile(net)
    h = model.fit(rows, val=rows.head(2))  # auto: counts
    assert h.epoch == [1] and h.lr == [None] and h.penalty == [None]
    assert h.train_nll[0] == pytest.approx(float(-model.log_prob(rows).mean()), abs=1e-12)
    assert h.val_nll[0] == pytest.approx(float(-model.log_prob(rows.head(2)).mean()))
    assert h.best_epoch == 1 and len(h) == 1
    with pytest.raises(PgmArError, match="checkpoint_dir, log_path: only with a gradient fit"):
        model.fit(rows, method="counts", checkpoint_dir="c", log_path="l")


def test_bad_settings_leave_the_model_untouched():
    net = BayesNet([Bernoulli("a"), Gaussian("y")], [("a", "y")])
    model = compile(net)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(PgmArError, match="lr=0"):
        model.fit({"a": [0, 1], "y": [100.0, 300.0]}, method="svi", lr=0)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
