"""Fitting: closed form vs pgmpy and vs SVI, latent variables by enumeration vs EM, Gaussians
vs least squares."""
from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
import torch

from pgm_ar import (BayesNet, Bernoulli, Categorical, DataError, Gaussian, Logistic, MLP,
                    PgmArError, Tabular, TabularCPD)
from pgm_ar.model import compile

from test_compile import random_net


# --------------------------------------------------------------------------- helpers
def empirical_cpt(net, enc_rows: pd.DataFrame, name: str, alpha: float = 1.0) -> np.ndarray:
    """Counts (plus alpha - 1) normalised per parent configuration, by a plain numpy loop."""
    var = net.variable(name)
    parents = net.parents(name)
    shape = tuple(net.variable(p).cardinality for p in parents) + (var.cardinality,)
    counts = np.zeros(shape)
    for _, row in enc_rows.iterrows():
        idx = tuple(net.variable(p).states.index(row[p]) for p in parents)
        counts[idx + (var.states.index(row[name]),)] += 1
    counts += alpha - 1.0
    tot = counts.sum(-1, keepdims=True)
    return np.where(tot > 0, counts / np.where(tot > 0, tot, 1), 1.0 / var.cardinality)


def parent_counts(net, rows: pd.DataFrame, name: str) -> np.ndarray:
    parents = net.parents(name)
    if not parents:
        return np.array([len(rows)])
    cards = [net.variable(p).cardinality for p in parents]
    idx = [rows[p].map({s: i for i, s in enumerate(net.variable(p).states)}).to_numpy()
           for p in parents]
    return np.bincount(np.ravel_multi_index(idx, cards), minlength=int(np.prod(cards)))


@pytest.fixture(scope="module")
def alarm(bif_path_module):
    """ALARM read by pgmpy (an independent reader), as a pgm_ar BayesNet with its CPTs."""
    from pgmpy.readwrite import BIFReader

    text = gzip.open(bif_path_module("alarm"), "rt").read()
    pm = BIFReader(string=text).get_model()
    states = {}
    for cpd in pm.get_cpds():
        states.update(cpd.state_names)
    variables = [Categorical(n, states[n]) for n in pm.nodes()]
    edges, cpds = [], {}
    for cpd in pm.get_cpds():
        child, parents = cpd.variables[0], cpd.variables[1:]
        edges += [(p, child) for p in parents]
        cpds[child] = TabularCPD(child, parents, np.moveaxis(cpd.values, 0, -1))
    return pm, BayesNet(variables, edges, cpds=cpds, name="alarm"), states


@pytest.fixture(scope="module")
def bif_path_module():
    from pgm_ar.io.examples import example_path

    return example_path


# --------------------------------------------------------------------------- closed form
def test_counts_fit_equals_empirical_frequencies_and_dirichlet_map():
    truth = random_net(11)
    rows = compile(truth).sample(600, seed=2)
    structure = BayesNet(truth.variables, truth.edges)
    model = compile(structure)
    history = model.fit(rows)  # auto -> counts (all tabular, complete)
    assert history.epoch == [1] and history.lr == [None]
    assert abs(history.loss[0] + float(model.log_prob(rows).mean())) < 1e-12
    for name in truth.names:
        np.testing.assert_allclose(model.tables()[name].numpy(),
                                   empirical_cpt(truth, rows, name), atol=1e-12)
    smoothed = compile(structure, {"categorical": Tabular(prior=3), "bernoulli": Tabular(prior=3)})
    smoothed.fit(rows, method="counts")
    for name in truth.names:
        np.testing.assert_allclose(smoothed.tables()[name].numpy(),
                                   empirical_cpt(truth, rows, name, alpha=3.0), atol=1e-12)


def test_svi_agrees_with_counts_including_dirichlet_prior():
    truth = random_net(12, n=4)
    rows = compile(truth).sample(3000, seed=3)
    structure = BayesNet(truth.variables, truth.edges)
    fams = {"categorical": Tabular(prior=2), "bernoulli": Tabular(prior=2)}
    exact = compile(structure, fams)
    exact.fit(rows, method="counts")
    svi = compile(structure, fams)
    hist = svi.fit(rows, method="svi", epochs=150, batch_size=3000, lr=0.1, progress=False)
    assert hist.loss[-1] < hist.loss[0]
    assert abs(hist.loss[-1] - exact.fit(rows, method="counts").loss[0]) < 2e-3
    for name in truth.names:
        np.testing.assert_allclose(svi.tables()[name].numpy(), exact.tables()[name].numpy(),
                                   atol=0.01)
    # same seed, same fit
    runs = [compile(structure, fams) for _ in range(2)]
    losses = [m.fit(rows, method="svi", epochs=3, batch_size=500, lr=0.1, seed=5,
                    progress=False).loss for m in runs]
    assert losses[0] == losses[1]
    for name in truth.names:
        assert torch.equal(runs[0].tables()[name], runs[1].tables()[name])


@pytest.mark.filterwarnings("ignore::FutureWarning")  # pgmpy 1.1 renames its estimators
def test_alarm_counts_fit_equals_pgmpy_and_svi_is_within_002(alarm):
    from pgmpy.estimators import MaximumLikelihoodEstimator
    from pgmpy.inference import VariableElimination

    pm, net, states = alarm
    rows = compile(net).sample(10_000, seed=0)
    structure = BayesNet(net.variables, net.edges, name="alarm")
    counts = compile(structure)
    assert counts.fit(rows, method="counts")
    mle = MaximumLikelihoodEstimator(pm, rows.astype(str), state_names=states)
    for name in net.names:
        cpd = mle.estimate_cpd(name)
        theirs = TabularCPD(name, cpd.variables[1:], np.moveaxis(cpd.values, 0, -1))
        theirs = theirs.reorder_parents(net.parents(name)).probs
        ours = counts.tables()[name].numpy()
        seen = parent_counts(net, rows, name).reshape(ours.shape[:-1]) > 0
        np.testing.assert_allclose(ours[seen], theirs[seen], atol=1e-9, err_msg=name)
    # exact queries on the fitted model agree with pgmpy's variable elimination on its fit
    fitted_pm = pm.copy()
    fitted_pm.cpds = []
    fitted_pm.add_cpds(*[mle.estimate_cpd(n) for n in net.names])
    ve = VariableElimination(fitted_pm)
    for target, evidence in [("HYPOVOLEMIA", {"BP": "LOW"}),
                             ("LVFAILURE", {"HR": "HIGH", "CVP": "NORMAL"})]:
        theirs = ve.query([target], evidence=evidence, show_progress=False)
        ours = counts.query(target, evidence)
        for s in states[target]:
            assert abs(ours[s] - theirs.get_value(**{target: s})) < 1e-6
    # SVI on the same rows: full-batch steps on the exact log-likelihood
    svi = compile(structure)
    svi.fit(rows, method="svi", epochs=80, batch_size=len(rows), lr=0.1, seed=0, progress=False)
    worst = 0.0
    for name in net.names:
        ours = counts.tables()[name].numpy()
        k = ours.shape[-1]
        busy = parent_counts(net, rows, name) >= 100
        diff = np.abs(svi.tables()[name].numpy().reshape(-1, k) - ours.reshape(-1, k))[busy]
        worst = max(worst, float(diff.max(initial=0.0)))
    assert worst < 0.02


# --------------------------------------------------------------------------- latent variables
def _em_mixture(x: np.ndarray, k: int, starts: int = 20, iters: int = 400, seed: int = 0):
    """EM for a mixture of independent Bernoullis; the best log-likelihood over random starts."""
    rng = np.random.default_rng(seed)
    best = (-np.inf, None, None)
    for _ in range(starts):
        pi = rng.dirichlet(np.ones(k))
        theta = rng.uniform(0.2, 0.8, size=(k, x.shape[1]))
        for _ in range(iters):
            logp = np.log(pi) + x @ np.log(theta).T + (1 - x) @ np.log(1 - theta).T
            ll_rows = np.logaddexp.reduce(logp, axis=1)
            resp = np.exp(logp - ll_rows[:, None])
            nk = resp.sum(0)
            pi = nk / len(x)
            theta = np.clip((resp.T @ x) / nk[:, None], 1e-12, 1 - 1e-12)
        logp = np.log(pi) + x @ np.log(theta).T + (1 - x) @ np.log(1 - theta).T
        ll = float(np.logaddexp.reduce(logp, axis=1).sum())
        if ll > best[0]:
            best = (ll, pi, theta)
    return best


def test_latent_mixture_fit_by_enumeration_reaches_em_maximum():
    rng = np.random.default_rng(0)
    n, d = 800, 5
    z = rng.random(n) < 0.35
    theta_true = np.array([[0.85, 0.8, 0.2, 0.15, 0.7], [0.1, 0.25, 0.9, 0.8, 0.3]])
    x = (rng.random((n, d)) < theta_true[z.astype(int)]).astype(np.int64)
    best_ll, pi, theta = _em_mixture(x.astype(float), 2)

    feats = [Bernoulli(f"x{j}") for j in range(d)]
    net = BayesNet([Bernoulli("z")] + feats, [("z", f.name) for f in feats])
    model = compile(net)
    data = pd.DataFrame(x, columns=[f.name for f in feats])  # no "z" column: latent
    hist = model.fit(data, method="svi", epochs=300, batch_size=n, lr=0.05, seed=1,
                     progress=False)
    ll = float(model.log_prob(data).sum())
    assert abs(ll - best_ll) < 0.05, (ll, best_ll)
    assert abs(hist.loss[-1] * n + ll) < 1.0  # the loss is the marginal negative log-likelihood
    # the fitted parameters are EM's, up to relabelling the components
    t = model.tables()
    ours = np.stack([t[f.name][:, 1].numpy() for f in feats], axis=1)
    pz = t["z"].numpy()
    if abs(pz[0] - pi[0]) > abs(pz[0] - pi[1]):
        ours, pz = ours[::-1], pz[::-1]
    np.testing.assert_allclose(pz, pi, atol=0.01)
    np.testing.assert_allclose(ours, theta, atol=0.01)
    # the marginal log-likelihood by enumeration equals the mixture formula on our parameters
    logp = np.log(t["z"].numpy()) + x @ np.log(np.stack([t[f.name][:, 1].numpy() for f in feats],
                                                        1)).T \
        + (1 - x) @ np.log(np.stack([t[f.name][:, 0].numpy() for f in feats], 1)).T
    np.testing.assert_allclose(model.log_prob(data).numpy(), np.logaddexp.reduce(logp, axis=1),
                               rtol=1e-9)
    # impute: the MAP component of each row is the argmax of its posterior
    filled = model.impute(data.head(50), mode="map")
    assert filled["z"].tolist() == [net.variable("z").states[i]
                                    for i in np.argmax(logp[:50], axis=1)]
    sampled = model.impute(data.head(50), mode="sample", seed=0)
    assert set(sampled["z"]) <= {"0", "1"} and (sampled[data.columns] == filled[data.columns]).all().all()


def test_missing_values_are_marginalised_during_svi():
    # a -> b with 30% of b missing: the marginal-likelihood optimum is the counts fit on the
    # rows where b is observed (for b | a) and on all rows (for a)
    rng = np.random.default_rng(3)
    a = (rng.random(2000) < 0.3).astype(int)
    b = (rng.random(2000) < np.where(a == 1, 0.8, 0.2)).astype(float)
    b[rng.random(2000) < 0.3] = np.nan
    net = BayesNet([Bernoulli("a"), Bernoulli("b")], [("a", "b")])
    model = compile(net)
    with pytest.raises(DataError, match="missing values"):
        model.fit({"a": a, "b": b}, method="counts")
    model.fit({"a": a, "b": b}, epochs=150, batch_size=2000, lr=0.1, progress=False)
    t = model.tables()
    obs = ~np.isnan(b)
    assert abs(float(t["a"][1]) - a.mean()) < 2e-3
    for s in (0, 1):
        assert abs(float(t["b"][s, 1]) - b[obs & (a == s)].mean()) < 5e-3


# --------------------------------------------------------------------------- real variables
def test_linear_gaussian_fit_matches_least_squares():
    rng = np.random.default_rng(5)
    n = 500
    c = rng.integers(0, 3, n)
    u = rng.normal(size=n)
    y = 1.5 * u - np.array([0.0, 2.0, -1.0])[c] + 0.3 + rng.normal(scale=0.7, size=n)
    net = BayesNet([Categorical("c", 3), Gaussian("u"), Gaussian("y")], [("c", "y"), ("u", "y")])
    data = {"c": c, "u": u, "y": y}
    model = compile(net)
    model.fit(data)  # closed form
    design = np.column_stack([np.eye(3)[c], u])  # one-hot columns span the intercept
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    pred = design @ coef
    sigma = np.sqrt(np.mean((y - pred) ** 2))
    lin = model.conditional("y")
    with torch.no_grad():
        ours = lin.mean({"c": torch.as_tensor(c), "u": torch.as_tensor(u)}).numpy()
    np.testing.assert_allclose(ours, pred, atol=1e-9)
    assert abs(float(torch.exp(lin.log_scale.detach())) - sigma) < 1e-9
    # the whole row score: counts for c, the Gaussian MLE for the root u, least squares for y
    from scipy import stats

    expected = (np.log(np.bincount(c) / n)[c] + stats.norm.logpdf(u, u.mean(), u.std())
                + stats.norm.logpdf(y, pred, sigma))
    np.testing.assert_allclose(model.log_prob(data).numpy(), expected, rtol=1e-9)
    # SVI on the same program reaches the same fit
    svi = compile(net)
    svi.fit(data, method="svi", epochs=400, batch_size=n, lr=0.05, progress=False)
    with torch.no_grad():
        svi_pred = svi.conditional("y").mean({"c": torch.as_tensor(c), "u": torch.as_tensor(u)})
    np.testing.assert_allclose(svi_pred.numpy(), pred, atol=0.02)
    assert abs(float(torch.exp(svi.conditional("y").log_scale.detach())) - sigma) < 0.01


def test_logistic_with_one_discrete_parent_is_saturated_and_matches_counts():
    truth = BayesNet([Categorical("a", 3), Bernoulli("b")], [("a", "b")])
    truth = truth.with_cpds({"a": TabularCPD("a", (), [0.2, 0.3, 0.5]),
                             "b": TabularCPD("b", ("a",), [[0.9, 0.1], [0.5, 0.5], [0.2, 0.8]])})
    rows = compile(truth).sample(3000, seed=0)
    structure = BayesNet(truth.variables, truth.edges)
    counts = compile(structure)
    counts.fit(rows)
    for fam in (Logistic(), MLP(hidden=(8,))):
        model = compile(structure, {"b": fam})
        hist = model.fit(rows, epochs=150, batch_size=3000, lr=0.05, progress=False)  # auto: SVI
        assert len(hist) == 150
        np.testing.assert_allclose(model.tables()["b"].numpy(), counts.tables()["b"].numpy(),
                                   atol=0.01)


def test_fit_errors():
    net = BayesNet([Bernoulli("a"), Gaussian("y")], [("a", "y")])
    model = compile(net, {"y": "mlp_gaussian"})
    with pytest.raises(PgmArError, match="'y'.*no closed-form fit"):
        model.fit({"a": [0, 1], "y": [0.0, 1.0]}, method="counts")
    with pytest.raises(PgmArError, match="unknown fit method 'em'"):
        model.fit({"a": [0, 1], "y": [0.0, 1.0]}, method="em")
    with pytest.raises(DataError, match="no rows"):
        model.fit({"a": [], "y": []})
    with pytest.raises(PgmArError, match="lr=0"):
        model.fit({"a": [0, 1], "y": [0.0, 1.0]}, lr=0)
    with pytest.raises(DataError, match="'y'.*missing column"):
        model.fit({"a": [0, 1]})
    if not torch.cuda.is_available():
        with pytest.raises(PgmArError, match="no CUDA"):
            model.fit({"a": [0, 1], "y": [0.0, 1.0]}, device="cuda")
    with pytest.raises(PgmArError, match="unknown device"):
        model.fit({"a": [0, 1], "y": [0.0, 1.0]}, device="tpu:x")
