"""Exact inference and sampling, checked against brute-force enumeration and pgmpy."""
from __future__ import annotations

import functools
import gzip
import itertools
import math
import warnings

import numpy as np
import pytest
import torch
from scipy import stats

from pgm_ar import BayesNet, Bernoulli, Categorical, DataError, PgmArError, TabularCPD
from pgm_ar import inference as inf

# --------------------------------------------------------------------------- #
# independent reference computations
# --------------------------------------------------------------------------- #


def random_net(seed: int, n_nodes: int = 6, max_parents: int = 2, max_card: int = 3,
               zeros: bool = False) -> BayesNet:
    """A random DAG over x0..x{n-1} (edges only forward) with Dirichlet CPTs."""
    rng = np.random.default_rng(seed)
    cards = [int(rng.integers(2, max_card + 1)) for _ in range(n_nodes)]
    variables = [Categorical(f"x{i}", cards[i]) for i in range(n_nodes)]
    edges, cpds = [], {}
    for i in range(n_nodes):
        k = int(rng.integers(0, min(i, max_parents) + 1))
        parents = sorted(rng.choice(i, size=k, replace=False).tolist()) if k else []
        # shuffle so that the CPT's parent axis order is not always the sorted one
        rng.shuffle(parents)
        names = [f"x{p}" for p in parents]
        edges += [(p, f"x{i}") for p in names]
        shape = tuple(cards[p] for p in parents) + (cards[i],)
        probs = rng.dirichlet(np.ones(cards[i]), size=shape[:-1] or None)
        probs = np.asarray(probs).reshape(shape)
        if zeros:  # some impossible states, but never a whole row
            mask = rng.random(shape) < 0.2
            mask[..., 0] = False
            probs = np.where(mask, 0.0, probs)
            probs = probs / probs.sum(-1, keepdims=True)
        cpds[f"x{i}"] = TabularCPD(f"x{i}", names, probs)
    return BayesNet(variables, edges, cpds, name=f"random{seed}")


def brute_joint(net: BayesNet) -> np.ndarray:
    """The joint table over net.names, one assignment at a time (no shared code with VE)."""
    cards = [v.cardinality for v in net.variables]
    joint = np.zeros(cards)
    index = {n: i for i, n in enumerate(net.names)}
    for x in itertools.product(*(range(c) for c in cards)):
        p = 1.0
        for name in net.names:
            cpd = net.cpd(name)
            key = tuple(x[index[q]] for q in net.parents(name)) + (x[index[name]],)
            p *= cpd.probs[key]
        joint[x] = p
    return joint


def brute_conditional(net: BayesNet, joint: np.ndarray, evidence: dict) -> np.ndarray:
    """p(x | evidence) over all variables (evidence axes kept, zero elsewhere)."""
    mask = np.ones_like(joint, dtype=bool)
    for name, s in evidence.items():
        ax = net.index(name)
        sel = np.zeros(joint.shape[ax], dtype=bool)
        sel[s] = True
        shape = [1] * joint.ndim
        shape[ax] = -1
        mask &= sel.reshape(shape)
    cond = np.where(mask, joint, 0.0)
    return cond / cond.sum()


def marginal(net: BayesNet, table: np.ndarray, name: str) -> np.ndarray:
    ax = net.index(name)
    return table.sum(axis=tuple(i for i in range(table.ndim) if i != ax))


def chi_square_p(observed: np.ndarray, expected_probs: np.ndarray) -> float:
    """Goodness-of-fit p-value; cells expected below 5 are pooled into one cell."""
    observed = observed.ravel().astype(float)
    expected = expected_probs.ravel() * observed.sum()
    assert observed[expected == 0].sum() == 0, "a sample hit a cell of probability zero"
    small = expected < 5
    obs = np.append(observed[~small], observed[small].sum())
    exp = np.append(expected[~small], expected[small].sum())
    keep = exp > 0
    return float(stats.chisquare(obs[keep], exp[keep]).pvalue)


def counts_of(net: BayesNet, samples: dict, names=None) -> np.ndarray:
    names = list(net.names if names is None else names)
    cards = [net.variable(n).cardinality for n in names]
    flat = np.zeros(len(samples[names[0]]), dtype=np.int64)
    for n, c in zip(names, cards):
        flat = flat * c + samples[n].numpy()
    return np.bincount(flat, minlength=int(np.prod(cards))).reshape(cards)


SMALL_SEEDS = [0, 1, 2, 3, 4, 5]


# --------------------------------------------------------------------------- #
# small random networks against brute force
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("seed", SMALL_SEEDS)
def test_log_prob_equals_brute_force_joint(seed):
    net = random_net(seed, zeros=seed % 2 == 1)
    joint = brute_joint(net)
    rows = list(itertools.product(*(range(v.cardinality) for v in net.variables)))
    data = {n: torch.tensor([r[i] for r in rows]) for i, n in enumerate(net.names)}
    lp = inf.log_prob(net, inf.tables_from_net(net), data)
    with np.errstate(divide="ignore"):  # impossible rows: log 0 = -inf
        expected = np.log(np.array([joint[r] for r in rows]))
    assert lp.shape == (len(rows),)
    finite = np.isfinite(expected)
    np.testing.assert_allclose(lp.numpy()[finite], expected[finite], rtol=0, atol=1e-10)
    assert np.all(np.isneginf(lp.numpy()[~finite]))


@pytest.mark.parametrize("seed", SMALL_SEEDS)
def test_query_equals_brute_force_marginalisation(seed):
    net = random_net(seed, n_nodes=7, zeros=seed % 3 == 0)
    tables = inf.tables_from_net(net)
    joint = brute_joint(net)
    rng = np.random.default_rng(100 + seed)
    names = list(net.names)
    for _ in range(8):
        k = int(rng.integers(0, 4))
        chosen = rng.choice(len(names), size=k + 1, replace=False)
        target, ev_names = names[chosen[0]], [names[i] for i in chosen[1:]]
        # evidence drawn from the joint so that it is possible
        flat = rng.choice(joint.size, p=joint.ravel())
        point = np.unravel_index(flat, joint.shape)
        evidence = {n: int(point[net.index(n)]) for n in ev_names}
        expected = marginal(net, brute_conditional(net, joint, evidence), target)
        got = inf.query(net, tables, target, evidence)
        assert got.dtype == torch.float64
        np.testing.assert_allclose(got.numpy(), expected, atol=1e-12)
        # a list of targets answers each one
        both = inf.query(net, tables, [target, names[chosen[-1]]], evidence)
        assert set(both) == {target, names[chosen[-1]]}
        np.testing.assert_allclose(both[target].numpy(), expected, atol=1e-12)
        # log p(evidence)
        if evidence:
            p_e = brute_conditional(net, joint, {})  # the joint itself, normalised
            sel = tuple(evidence.get(n, slice(None)) for n in names)
            assert math.isclose(inf.log_evidence(net, tables, evidence),
                                math.log(p_e[sel].sum()), rel_tol=1e-10)


def test_query_target_in_evidence_and_state_names():
    net = random_net(7)
    tables = inf.tables_from_net(net)
    got = inf.query(net, tables, "x3", {"x3": 1})
    assert got.tolist() == [0.0, 1.0] + [0.0] * (net.variable("x3").cardinality - 2)
    by_name = inf.query(net, tables, "x5", {"x1": "1"})
    by_index = inf.query(net, tables, "x5", {"x1": 1})
    assert torch.equal(by_name, by_index)


@pytest.mark.parametrize("seed", SMALL_SEEDS)
def test_mpe_and_marginal_map_equal_brute_force(seed):
    net = random_net(seed, n_nodes=7)
    tables = inf.tables_from_net(net)
    joint = brute_joint(net)
    names = list(net.names)
    for evidence in ({}, {"x6": 0}, {"x2": 1, "x5": 0}):
        cond = brute_conditional(net, joint, evidence)
        best = np.unravel_index(int(np.argmax(cond)), cond.shape)
        expected = {n: int(best[i]) for i, n in enumerate(names) if n not in evidence}
        assert inf.map_query(net, tables, evidence=evidence) == expected
        # marginal MAP of two targets: the others summed out first
        targets = ["x1", "x4"]
        axes = tuple(i for i, n in enumerate(names) if n not in targets)
        m = cond.sum(axis=axes)
        i, j = np.unravel_index(int(np.argmax(m)), m.shape)
        assert inf.map_query(net, tables, targets, evidence) == {"x1": int(i), "x4": int(j)}


def test_marginal_map_differs_from_mpe_projection():
    # p(a): a=0 w.p. 0.4; given a=0, b is certain (0); given a=1, b is uniform over 3 states:
    # MPE is (a=0, b=0) with 0.4 but the MAP of a alone is a=1 with 0.6.
    net = BayesNet([Bernoulli("a"), Categorical("b", 3)], [("a", "b")],
                   cpds={"a": TabularCPD("a", (), [0.4, 0.6]),
                         "b": TabularCPD("b", ("a",), [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]])})
    tables = inf.tables_from_net(net)
    assert inf.map_query(net, tables) == {"a": 0, "b": 0}
    assert inf.map_query(net, tables, ["a"]) == {"a": 1}


@pytest.mark.parametrize("seed", [0, 3])
def test_forward_samples_pass_chi_square_against_exact_joint(seed):
    net = random_net(seed, n_nodes=5, zeros=seed == 3)
    tables = inf.tables_from_net(net)
    joint = brute_joint(net)
    samples = inf.forward_sample(net, tables, 40_000, generator=torch.Generator().manual_seed(seed))
    assert all(s.dtype == torch.long and s.shape == (40_000,) for s in samples.values())
    assert chi_square_p(counts_of(net, samples), joint) > 1e-3
    again = inf.forward_sample(net, tables, 40_000, generator=torch.Generator().manual_seed(seed))
    assert all(torch.equal(samples[n], again[n]) for n in net.names)


@pytest.mark.parametrize("seed", [1, 2, 4])
def test_posterior_samples_follow_exact_conditional(seed):
    net = random_net(seed, n_nodes=6)
    tables = inf.tables_from_net(net)
    joint = brute_joint(net)
    # evidence on the last nodes (non-roots where the DAG has edges into them)
    evidence = {"x5": 1, "x3": 0}
    cond = brute_conditional(net, joint, evidence)
    samples = inf.posterior_sample(net, tables, 40_000, evidence,
                                   generator=torch.Generator().manual_seed(seed))
    assert torch.all(samples["x5"] == 1) and torch.all(samples["x3"] == 0)
    free = [n for n in net.names if n not in evidence]
    axes = tuple(net.index(n) for n in evidence)
    expected = cond.sum(axis=axes)
    assert chi_square_p(counts_of(net, samples, free), expected) > 1e-3


def test_likelihood_weighting_estimates_posterior():
    net = random_net(5, n_nodes=6)
    tables = inf.tables_from_net(net)
    joint = brute_joint(net)
    evidence = {"x4": 1, "x5": 0}
    samples, logw, ess = inf.likelihood_weighting(net, tables, 50_000, evidence,
                                                  generator=torch.Generator().manual_seed(0))
    assert logw.shape == (50_000,) and 0 < ess <= 50_000
    # each weight is the product of the evidence CPT entries given the sampled parents
    full = {n: samples[n] for n in net.names}
    expected_logw = sum(
        torch.log(tables[e][tuple(full[p] for p in net.parents(e)) + (full[e],)])
        for e in evidence)
    torch.testing.assert_close(logw, expected_logw)
    w = torch.softmax(logw, 0)
    cond = brute_conditional(net, joint, evidence)
    for name in ("x0", "x1", "x2"):
        est = torch.zeros(net.variable(name).cardinality, dtype=torch.float64)
        est.index_add_(0, samples[name], w)
        np.testing.assert_allclose(est.numpy(), marginal(net, cond, name), atol=0.02)


def test_fit_counts_equals_counted_frequencies():
    net = random_net(2, n_nodes=6)
    tables = inf.tables_from_net(net)
    data = inf.forward_sample(net, tables, 5000, generator=torch.Generator().manual_seed(1))
    fitted = inf.fit_counts(net, data)
    arrays = {n: data[n].numpy() for n in net.names}
    for name in net.names:
        parents = net.parents(name)
        for cfg in itertools.product(*(range(net.variable(p).cardinality) for p in parents)):
            rows = np.ones(5000, dtype=bool)
            for p, s in zip(parents, cfg):
                rows &= arrays[p] == s
            counts = np.bincount(arrays[name][rows], minlength=net.variable(name).cardinality)
            expected = (counts / counts.sum() if counts.sum()
                        else np.full(len(counts), 1 / len(counts)))
            np.testing.assert_allclose(fitted[name][cfg].numpy(), expected, atol=1e-12)


def test_underflowing_evidence_is_rescaled():
    # a root with 400 children all observed at an unlikely state: p(evidence) ~ 1e-800
    kids = [Bernoulli(f"c{i}") for i in range(400)]
    cpds = {"z": TabularCPD("z", (), [0.7, 0.3])}
    for k in kids:
        cpds[k.name] = TabularCPD(k.name, ("z",), [[0.99, 0.01], [0.98, 0.02]])
    net = BayesNet([Bernoulli("z")] + kids, [("z", k.name) for k in kids], cpds)
    tables = inf.tables_from_net(net)
    evidence = {k.name: 1 for k in kids}
    log_post = np.log([0.7, 0.3]) + 400 * np.log([0.01, 0.02])
    expected = np.exp(log_post - np.logaddexp.reduce(log_post))
    np.testing.assert_allclose(inf.query(net, tables, "z", evidence).numpy(), expected, atol=1e-12)
    assert math.isclose(inf.log_evidence(net, tables, evidence),
                        float(np.logaddexp.reduce(log_post)), rel_tol=1e-12)
    gen = torch.Generator().manual_seed(0)
    s = inf.posterior_sample(net, tables, 1000, evidence, generator=gen)
    assert torch.all(s["z"] == 1)  # p(z=0 | e) is about 1e-120


def test_errors_name_the_culprit(monkeypatch):
    net = random_net(0, n_nodes=4)
    tables = inf.tables_from_net(net)
    with pytest.raises(PgmArError, match="'x9'"):
        inf.query(net, tables, "x1", {"x9": 0})
    with pytest.raises(PgmArError, match="'x9'"):
        inf.query(net, tables, "x9")
    with pytest.raises(PgmArError, match="no state 7"):
        inf.query(net, tables, "x1", {"x2": 7})
    data = {n: torch.zeros(3, dtype=torch.long) for n in net.names}
    data["x2"] = torch.tensor([0, 1, 9])
    with pytest.raises(DataError, match="'x2', row 2, value 9"):
        inf.log_prob(net, tables, data)
    data["x2"] = torch.tensor([0, 1, 1])
    with pytest.raises(DataError, match="'x3'"):
        inf.log_prob(net, tables, {n: data[n] for n in net.names if n != "x3"})
    with pytest.raises(PgmArError, match="'x0'"):
        inf.forward_sample(net, {n: t for n, t in tables.items() if n != "x0"}, 3)
    zero = BayesNet([Bernoulli("a"), Bernoulli("b")], [("a", "b")],
                    cpds={"a": TabularCPD("a", (), [1.0, 0.0]),
                          "b": TabularCPD("b", ("a",), [[1.0, 0.0], [0.5, 0.5]])})
    with pytest.raises(PgmArError, match="probability zero"):
        inf.query(zero, inf.tables_from_net(zero), "a", {"b": 1})
    monkeypatch.setattr(inf, "MAX_FACTOR_SIZE", 2)
    big = random_net(1, n_nodes=6, max_parents=3)
    with pytest.raises(PgmArError, match="too densely connected"):
        inf.map_query(big, inf.tables_from_net(big))


# --------------------------------------------------------------------------- #
# shipped networks against pgmpy
# --------------------------------------------------------------------------- #
@functools.lru_cache(maxsize=None)
def _pgmpy_pair(path):
    """Our net (built from pgmpy's reader, independent of pgm_ar's BIF code) and pgmpy's model."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgmpy.readwrite import BIFReader

        with gzip.open(path, "rt") as fh:
            model = BIFReader(string=fh.read()).get_model()
    variables, edges, cpds = [], [], {}
    for name in model.nodes():
        cpd = model.get_cpds(name)
        parents = list(cpd.variables[1:])
        variables.append(Categorical(name, cpd.state_names[name]))
        edges += [(p, name) for p in parents]
        cards = [len(cpd.state_names[p]) for p in parents]
        cpds[name] = TabularCPD.from_child_major(name, parents, cpd.get_values(), cards)
    return BayesNet(variables, edges, cpds, name=path.name), model


@pytest.fixture(scope="module", params=["alarm", "child", "insurance"])
def shipped(request):
    from pgm_ar.io.examples import example_path

    return _pgmpy_pair(example_path(request.param))


def test_queries_equal_pgmpy_variable_elimination(shipped):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgmpy.inference import VariableElimination

    net, model = shipped
    tables = inf.tables_from_net(net)
    ve = VariableElimination(model)
    gen = torch.Generator().manual_seed(42)
    rows = inf.forward_sample(net, tables, 12, generator=gen)  # possible evidence values
    rng = np.random.default_rng(7)
    names = list(net.names)
    for r in range(12):
        k = 1 + r % 4
        chosen = rng.choice(len(names), size=k + 1, replace=False)
        target = names[chosen[0]]
        evidence = {names[i]: int(rows[names[i]][r]) for i in chosen[1:]}
        named = {n: net.variable(n).states[s] for n, s in evidence.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = ve.query([target], evidence=named, show_progress=False)
        order = [ref.state_names[target].index(s) for s in net.variable(target).states]
        got = inf.query(net, tables, target, named)
        np.testing.assert_allclose(got.numpy(), np.asarray(ref.values)[order], atol=1e-6)


def test_fit_counts_equals_pgmpy_mle_on_alarm(bif_path):
    import pandas as pd
    from pgmpy.estimators import MaximumLikelihoodEstimator

    net, model = _pgmpy_pair(bif_path("alarm"))
    tables = inf.tables_from_net(net)
    data = inf.forward_sample(net, tables, 3000, generator=torch.Generator().manual_seed(3))
    fitted = inf.fit_counts(net, data)
    frame = pd.DataFrame({n: [net.variable(n).states[i] for i in data[n].tolist()]
                          for n in net.names})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MaximumLikelihoodEstimator(model, frame)
        for name in ("HR", "BP", "VENTLUNG", "CATECHOL"):
            ref = est.estimate_cpd(name)
            parents = list(ref.variables[1:])
            assert set(parents) == set(net.parents(name))
            # ours, with axes reordered to pgmpy's parents and state orders
            ours = fitted[name].permute(*[net.parents(name).index(p) for p in parents],
                                        len(parents)).numpy()
            for ax, var in enumerate(parents + [name]):
                idx = [net.variable(var).states.index(s) for s in ref.state_names[var]]
                ours = np.take(ours, idx, axis=ax)
            ref_vals = np.moveaxis(ref.get_values().reshape(
                [len(ref.state_names[name])] + [len(ref.state_names[p]) for p in parents]), 0, -1)
            # compare where the parent configuration occurs (pgmpy leaves the rest undefined)
            seen = np.isfinite(ref_vals).all(-1)
            assert seen.any()
            np.testing.assert_allclose(ours[seen], ref_vals[seen], atol=1e-12)


def test_posterior_sample_is_exact_on_alarm(bif_path):
    net, _ = _pgmpy_pair(bif_path("alarm"))
    tables = inf.tables_from_net(net)
    # evidence on non-root variables, as in a diagnosis: readings observed, causes unknown
    evidence = {"HRBP": "HIGH", "BP": "LOW", "SAO2": "LOW"}
    n = 40_000
    samples = inf.posterior_sample(net, tables, n, evidence,
                                   generator=torch.Generator().manual_seed(0))
    p_values = []
    for name in net.names:
        if name in evidence:
            assert torch.all(samples[name] == net.variable(name).state_index(evidence[name]))
            continue
        exact = inf.query(net, tables, name, evidence).numpy()
        observed = np.bincount(samples[name].numpy(), minlength=len(exact))
        p_values.append(chi_square_p(observed, exact))
    # 34 tests: Bonferroni at 1e-3 overall
    assert min(p_values) > 1e-3 / len(p_values)
    # the pair (LVFAILURE, HYPOVOLEMIA) jointly, against brute-force conditioning of the marginals
    joint_counts = counts_of(net, samples, ["LVFAILURE", "HYPOVOLEMIA"])
    exact_joint = np.array([[
        math.exp(inf.log_evidence(net, tables, {**evidence, "LVFAILURE": a, "HYPOVOLEMIA": b}))
        for b in range(2)] for a in range(2)])
    assert chi_square_p(joint_counts, exact_joint / exact_joint.sum()) > 1e-3
