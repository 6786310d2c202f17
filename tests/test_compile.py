"""Compiling networks to Pyro programs: scores, queries and samples against brute force."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pyro
import pytest
import torch
from pyro import poutine
from scipy import stats

import pgm_ar
from pgm_ar import (MLP, BayesNet, Bernoulli, Categorical, Gaussian, Image, LinearGaussian,
                    Logistic, MLPGaussian, PgmArError, Tabular, TabularCPD, UnknownVariableError)
from pgm_ar.model import CompiledModel, compile
from pgm_ar.conditionals import Family, family_from_spec, get_family, register_family
from pgm_ar.conditionals.tabular import TabularConditional
from oracles import joint_rows


def random_net(seed: int, n: int = 5, max_parents: int = 2) -> BayesNet:
    """A random DAG over variables with 2-3 states, with random CPTs (some near-zero entries)."""
    rng = np.random.default_rng(seed)
    variables = []
    for i in range(n):
        k = int(rng.integers(2, 4))
        variables.append(Bernoulli(f"v{i}") if k == 2 else
                         Categorical(f"v{i}", [f"s{j}" for j in range(k)]))
    edges = []
    for i in range(1, n):
        for p in rng.choice(i, size=min(i, int(rng.integers(0, max_parents + 1))), replace=False):
            edges.append((f"v{p}", f"v{i}"))
    net = BayesNet(variables, edges, name=f"random{seed}")
    cpds = {}
    for v in net.variables:
        shape = tuple(net.variable(p).cardinality for p in net.parents(v.name)) + (v.cardinality,)
        cpds[v.name] = TabularCPD(v.name, net.parents(v.name),
                                  rng.dirichlet(np.ones(v.cardinality) * 0.8, size=shape[:-1])
                                  .reshape(shape))
    return net.with_cpds(cpds)


def as_data(net, configs):
    return {n: torch.as_tensor(configs[:, j]) for j, n in enumerate(net.names)}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_prob_equals_brute_force_joint(seed):
    net = random_net(seed)
    model = compile(net)
    configs, probs = joint_rows(net)
    data = as_data(net, configs)
    lp = model.log_prob(data)
    assert lp.shape == (len(configs),)
    np.testing.assert_allclose(lp.numpy(), np.log(probs), rtol=1e-10, atol=1e-10)
    # the Pyro program itself: the trace's per-row sum of site log-probs is the same joint
    tr = poutine.trace(model.model).get_trace(data)
    tr.compute_log_prob()
    per_row = sum(site["log_prob"] for site in tr.nodes.values() if site["type"] == "sample")
    np.testing.assert_allclose(per_row.detach().numpy(), np.log(probs), rtol=1e-10, atol=1e-10)
    assert [s for s, site in tr.nodes.items() if site["type"] == "sample" and s != model.plate_name] == \
        list(net.topological_order())
    assert all(tr.nodes[n]["is_observed"] for n in net.names)


@pytest.mark.parametrize("seed", [3, 4])
def test_queries_equal_brute_force_marginalisation(seed):
    net = random_net(seed, n=6)
    model = compile(net)
    configs, probs = joint_rows(net)
    names = net.names
    rng = np.random.default_rng(seed)
    for _ in range(4):
        ev_vars = rng.choice(names, size=2, replace=False)
        evidence = {e: int(rng.integers(net.variable(e).cardinality)) for e in ev_vars}
        keep = np.all([configs[:, names.index(e)] == s for e, s in evidence.items()], axis=0)
        targets = [t for t in names if t not in evidence][:3]
        got = model.query(targets, evidence={e: net.variable(e).states[s]
                                             for e, s in evidence.items()})
        for t in targets:
            expect = np.bincount(configs[keep, names.index(t)], weights=probs[keep],
                                 minlength=net.variable(t).cardinality)
            expect /= expect.sum()
            np.testing.assert_allclose([got[t][s] for s in net.variable(t).states], expect,
                                       atol=1e-10)
        # MAP of everything else: the brute-force argmax of the joint among consistent rows
        mpe = model.map_query(evidence=evidence)
        best = configs[keep][np.argmax(probs[keep])]
        assert mpe == {n: net.variable(n).states[best[j]] for j, n in enumerate(names)
                       if n not in evidence}


def _chi_square_pvalue(observed_rows: np.ndarray, configs: np.ndarray, probs: np.ndarray) -> float:
    cards = configs.max(0) + 1
    flat_cfg = np.ravel_multi_index(configs.T, cards)
    flat_obs = np.ravel_multi_index(observed_rows.T, cards)
    counts = np.bincount(flat_obs, minlength=int(np.prod(cards)))[flat_cfg]
    expected = probs / probs.sum() * len(observed_rows)
    big = expected >= 5  # pool the rare cells so the chi-square approximation holds
    obs = np.append(counts[big], counts[~big].sum())
    exp = np.append(expected[big], expected[~big].sum())
    if exp[-1] == 0:
        obs, exp = obs[:-1], exp[:-1]
    return float(stats.chisquare(obs, exp).pvalue)


def _rows(net, df):
    return np.stack([np.array([net.variable(n).states.index(s) for s in df[n]]) for n in net.names],
                    axis=1)


def test_sample_frequencies_pass_chi_square_against_exact_joint():
    net = random_net(5)
    model = compile(net)
    configs, probs = joint_rows(net)
    df = model.sample(20000, seed=0)
    assert list(df.columns) == list(net.names) and len(df) == 20000
    assert _chi_square_pvalue(_rows(net, df), configs, probs) > 1e-3
    # same seed, same rows
    pd.testing.assert_frame_equal(df.head(50), model.sample(20000, seed=0).head(50))


def test_sample_given_evidence_follows_exact_conditional():
    net = random_net(6)
    model = compile(net)
    configs, probs = joint_rows(net)
    names = net.names
    last = net.topological_order()[-1]  # evidence on a non-root node
    evidence = {last: net.variable(last).states[0]}
    df = model.sample(20000, evidence=evidence, seed=1)
    assert df.attrs["method"] == "exact" and (df[last] == evidence[last]).all()
    keep = configs[:, names.index(last)] == 0
    assert _chi_square_pvalue(_rows(net, df), configs[keep], probs[keep]) > 1e-3


def test_log_prob_and_impute_with_missing_values_marginalise_exactly():
    net = random_net(7, n=5)
    model = compile(net)
    configs, probs = joint_rows(net)
    names = net.names
    rng = np.random.default_rng(0)
    rows = configs[rng.choice(len(configs), size=40)]
    df = pd.DataFrame({n: [net.variable(n).states[i] for i in rows[:, j]]
                       for j, n in enumerate(names)})
    hide = rng.random(df.shape) < 0.3
    df = df.mask(hide)
    lp = model.log_prob(df).numpy()
    imputed = model.impute(df, mode="map")
    for r in range(len(df)):
        obs = ~hide[r]
        match = np.all(configs[:, obs] == rows[r, obs], axis=1)
        assert math.isclose(lp[r], np.log(probs[match].sum()), rel_tol=1e-9, abs_tol=1e-9)
        best = configs[match][np.argmax(probs[match])]
        assert [imputed[n][r] for n in names] == [net.variable(n).states[best[j]]
                                                   for j, n in enumerate(names)]


def test_render_model_draws_the_network():
    net = random_net(1)
    model = compile(net)
    graph = pyro.render_model(model.model, model_args=(None, 3), render_distributions=True)
    src = graph.source
    for name in net.names:
        assert name in src
    for parent, child in net.edges:
        assert f"{parent} -> {child}" in src
    assert f"cluster_{model.plate_name}" in src  # the plate, named after the model


def test_bif_network_is_a_ready_model_and_round_trips_to_bayesnet():
    net = random_net(8)
    model = compile(net)
    back = model.to_bayesnet()
    for name in net.names:
        assert back.cpd(name).allclose(net.cpd(name), atol=1e-12)
    tables = model.tables()
    assert set(tables) == set(net.names) and all(t.dtype == torch.float64 for t in tables.values())


def test_num_parameters_free_counts_and_neural_counts():
    net = random_net(2)
    model = compile(net)
    assert model.num_parameters() == dict(net.count_parameters().per_variable)
    a, b, y = Bernoulli("a"), Categorical("b", 3), Gaussian("y")
    mixed = BayesNet([a, b, y], [("a", "b"), ("a", "y"), ("b", "y")])
    m2 = compile(mixed, {"b": Logistic(), "y": MLPGaussian(hidden=(4,))})
    # logistic: (card - 1) * (one-hot width + 1); MLP-Gaussian: 5 -> 4 -> 2 weights and biases
    assert m2.num_parameters() == {"a": 1, "b": 2 * (2 + 1), "y": (5 * 4 + 4) + (4 * 2 + 2)}


def test_defaults_and_conditionals_by_name_kind_and_spec():
    z, x, g, h = Bernoulli("z"), Categorical("x", 3), Gaussian("g"), Bernoulli("h")
    net = BayesNet([z, x, g, h], [("z", "x"), ("z", "g"), ("g", "h")])
    m = compile(net)
    assert {n: f.name for n, f in m.families.items()} == {
        "z": "tabular", "x": "tabular", "g": "linear_gaussian", "h": "logistic"}
    m = compile(net, {"gaussian": {"family": "mlp_gaussian", "hidden": [8]}, "h": "mlp",
                      pgm_ar.variables.Kind.CATEGORICAL: Logistic(), "z": Tabular(prior=2)})
    assert m.families["g"] == MLPGaussian(hidden=(8,)) and m.families["h"] == MLP()
    assert m.families["x"] == Logistic() and m.families["z"] == Tabular(prior=2.0)
    assert family_from_spec(m.families["g"].to_spec()) == m.families["g"]


def test_compile_errors_name_the_variable():
    z, g = Bernoulli("z"), Gaussian("g")
    net = BayesNet([z, g], [("z", "g")])
    with pytest.raises(PgmArError, match="'g'.*tabular"):
        compile(net, {"g": "tabular"})
    with pytest.raises(PgmArError, match="'z'.*linear_gaussian"):
        compile(net, {"z": LinearGaussian()})
    with pytest.raises(UnknownVariableError, match="'zz'"):
        compile(net, {"zz": "tabular"})
    with pytest.raises(PgmArError, match="unknown conditional family 'nope'"):
        compile(net, {"z": "nope"})
    with pytest.raises(PgmArError, match="bad options for family 'mlp'"):
        compile(net, {"z": {"family": "mlp", "width": 3}})
    with pytest.raises(PgmArError, match="prior"):
        Tabular(prior=0.5)
    img = BayesNet([Image("digit", shape=(1, 2, 2))])
    with pytest.raises(PgmArError, match="'digit'.*neural autoregressive"):
        compile(img)


def test_family_registry_lets_other_modules_add_families():
    class Constant(Family):
        name = "constant_test_family"

        def build(self, variable, parents):
            return Tabular().build(variable, parents)

    assert get_family("constant_test_family") is Constant
    register_family("constant_alias", Constant)
    net = BayesNet([Bernoulli("a")])
    assert isinstance(compile(net, {"a": "constant_alias"}).conditional("a"), TabularConditional)
    # families defined in their own module are found by name without being imported first
    img = BayesNet([Image("digit", shape=(1, 2, 2)), Bernoulli("label")], [("digit", "label")])
    m = compile(img, {"digit": {"family": "nade", "hidden": 4}})
    x = torch.tensor([[0, 1, 1, 0], [1, 1, 0, 0], [0, 0, 0, 1]]).reshape(3, 1, 2, 2)
    data = {"digit": x, "label": torch.tensor([0, 1, 1])}
    lp = m.log_prob(data)
    tr = poutine.trace(m.model).get_trace(m.encode_data(data).values)
    tr.compute_log_prob()
    np.testing.assert_allclose(lp.numpy(), sum(s["log_prob"] for s in tr.nodes.values()
                                               if s["type"] == "sample").double().detach().numpy(),
                               rtol=1e-6)
    assert m.sample(4, seed=0)["digit"][0].shape == (1, 2, 2)


def test_non_tabular_discrete_nodes_have_cpts_consistent_with_their_scores():
    a, b, c = Bernoulli("a"), Categorical("b", 3), Bernoulli("c")
    net = BayesNet([a, b, c], [("a", "b"), ("a", "c"), ("b", "c")])
    torch.manual_seed(0)
    model = compile(net, {"b": Logistic(), "c": MLP(hidden=(5,))})
    tables = model.tables()
    for t in tables.values():
        np.testing.assert_allclose(t.sum(-1).numpy(), 1.0, rtol=1e-6)
    configs = np.array(list(itertools.product(range(2), range(3), range(2))))
    expect = (np.log(tables["a"].numpy()[configs[:, 0]])
              + np.log(tables["b"].numpy()[configs[:, 0], configs[:, 1]])
              + np.log(tables["c"].numpy()[configs[:, 0], configs[:, 1], configs[:, 2]]))
    np.testing.assert_allclose(model.log_prob(as_data(net, configs)).numpy(), expect, rtol=1e-5)
    assert set(model.query("a", {"c": 1})) == {"0", "1"}
    assert model.to_bayesnet().has_all_cpds()


def test_mixed_network_query_and_sampling_with_evidence():
    # z -> g with g | z ~ Normal(mu_z, 1): p(z | g) follows from Bayes' rule in closed form
    z, g = Bernoulli("z"), Gaussian("g")
    net = BayesNet([z, g], [("z", "g")])
    model = compile(net)
    with torch.no_grad():
        model.conditional("z").set_probs(torch.tensor([0.3, 0.7]))
        lin = model.conditional("g")
        lin.weight.copy_(torch.tensor([-1.0, 1.0]))
        lin.bias.zero_()
        lin.log_scale.zero_()
    prior = np.array([0.3, 0.7])
    like = stats.norm.pdf(0.5, loc=[-1.0, 1.0], scale=1.0)
    post = prior * like / (prior * like).sum()
    got = model.query("z", {"g": 0.5}, num_samples=200_000, seed=0)
    np.testing.assert_allclose([got["0"], got["1"]], post, atol=0.01)
    df = model.sample(4000, evidence={"g": 0.5}, seed=0)
    assert df.attrs["method"] == "likelihood_weighting" and df.attrs["ess"] > 1000
    assert abs((df["z"] == "1").mean() - post[1]) < 0.03
    # evidence on a root: clamped ancestral sampling is exact
    df = model.sample(5000, evidence={"z": "1"}, seed=0)
    assert df.attrs["method"] == "clamped" and abs(df["g"].mean() - 1.0) < 0.05
    with pytest.raises(PgmArError, match="not discrete"):
        model.query("g")
    with pytest.raises(PgmArError, match="discrete variables only"):
        model.map_query()


def test_save_and_load_keep_spec_and_weights(tmp_path):
    a, b, y = Bernoulli("a"), Categorical("b", ["lo", "mid", "hi"]), Gaussian("y")
    net = BayesNet([a, b, y], [("a", "b"), ("b", "y")])
    torch.manual_seed(1)
    model = compile(net, {"y": MLPGaussian(hidden=(3,)), "b": Tabular(prior=2)})
    data = model.sample(50, seed=3)
    path = model.save(tmp_path / "m.pt")
    loaded = CompiledModel.load(path)
    assert loaded.families == model.families and loaded.net == net
    np.testing.assert_allclose(loaded.log_prob(data).numpy(), model.log_prob(data).numpy())
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temporary file left behind
    (tmp_path / "bad.pt").write_bytes(b"not a model")
    with pytest.raises(PgmArError, match="bad.pt: not a saved pgm_ar model"):
        CompiledModel.load(tmp_path / "bad.pt")


def test_pgm_ar_compile_is_the_function_after_submodule_import():
    import pgm_ar.model  # noqa: F401  (the package is named model, not compile)

    net = BayesNet([Bernoulli("a")])
    assert isinstance(pgm_ar.compile(net), CompiledModel)


def test_enumeration_through_neural_conditionals_matches_their_cpts():
    # a latent z feeding logistic and MLP children: the marginal by enumeration equals the sum
    # over z of the product of the conditionals' own CPTs
    z, a, b = Categorical("z", 3), Bernoulli("a"), Categorical("b", 3)
    net = BayesNet([z, a, b], [("z", "a"), ("z", "b"), ("a", "b")])
    torch.manual_seed(2)
    model = compile(net, {"a": Logistic(), "b": MLP(hidden=(6,))})
    t = {k: v.numpy() for k, v in model.tables().items()}
    rows = np.array(list(itertools.product(range(2), range(3))))
    data = {"a": torch.as_tensor(rows[:, 0]), "b": torch.as_tensor(rows[:, 1])}
    expect = np.log(sum(t["z"][k] * t["a"][k, rows[:, 0]] * t["b"][k, rows[:, 0], rows[:, 1]]
                        for k in range(3)))
    np.testing.assert_allclose(model.log_prob(data).numpy(), expect, rtol=1e-5)
    hist = model.fit(data, method="svi", epochs=5, batch_size=6, lr=0.01, progress=False)
    assert len(hist) == 5 and all(np.isfinite(hist.loss))
