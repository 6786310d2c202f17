"""The calibrated junction tree: every marginal, log p(evidence) and the MPE, against
brute-force enumeration of the joint and pgmpy's belief propagation."""
from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest

from pgm_ar import (BayesNet, Bernoulli, ImpossibleEvidenceError, InferenceTooLargeError,
                    PgmArError, TabularCPD)
from pgm_ar import inference as inf
from pgm_ar.inference import junction_tree as jt_module
from pgm_ar.inference.junction_tree import junction_tree
from pgm_ar.inference.structure import network_structure
from pgm_ar.limits import limits_raised
from oracles import brute_joint, marginal, pgmpy_pair, random_net


def _observed(joint: np.ndarray, net: BayesNet, evidence: dict) -> np.ndarray:
    """The joint with every cell that contradicts the evidence set to zero."""
    sel = joint.copy()
    for name, s in evidence.items():
        keep = np.zeros(joint.shape[net.index(name)], dtype=bool)
        keep[s] = True
        shape = [1] * joint.ndim
        shape[net.index(name)] = -1
        sel = sel * keep.reshape(shape)
    return sel


def _check_against_joint(net: BayesNet, joint: np.ndarray, evidence: dict) -> None:
    tables = inf.tables_from_net(net)
    cal = inf.calibrate(net, tables, evidence)
    sel = _observed(joint, net, evidence)
    z = sel.sum()
    if z == 0.0:
        assert cal.log_evidence == -math.inf
        with pytest.raises(ImpossibleEvidenceError):
            cal.marginals
        with pytest.raises(ImpossibleEvidenceError):
            cal.mpe()
        return
    assert math.isclose(cal.log_evidence, math.log(z) if evidence else 0.0, abs_tol=1e-10)
    assert list(cal.marginals) == list(net.names)
    for name in net.names:
        np.testing.assert_allclose(cal.marginals[name].numpy(), marginal(net, sel / z, name),
                                   rtol=0, atol=1e-10, err_msg=name)
    # the MPE reaches the joint's maximum; where that maximum is unique it is the argmax
    mpe = cal.mpe()
    assert set(mpe) == set(net.names) - set(evidence)
    point = tuple({**mpe, **evidence}[n] for n in net.names)
    best = sel.max()
    assert math.isclose(sel[point], best, rel_tol=1e-12)
    assert math.isclose(cal.mpe_log_prob(), math.log(best), abs_tol=1e-10)
    if np.sum(np.isclose(sel, best, rtol=1e-12, atol=0)) == 1:
        assert point == np.unravel_index(int(np.argmax(sel)), sel.shape)


def _one_clique_tree(st):
    """A (valid, deliberately poor) junction tree: one clique of every variable."""
    n = len(st.names)
    return jt_module.JunctionTree((tuple(range(n)),), (-1,), (0,), (0,) * n, ())


@pytest.fixture(params=["default", "tree", "broadcast", "evidence_tree", "joint"])
def path(request, monkeypatch):
    """Each way a calibration can be computed: the tree with small cliques multiplied by one
    einsum ("tree") or by broadcasting ("broadcast"), the tree triangulated without the
    observed variables (forced by offering a one-clique network tree to beat), and the
    whole joint as one clique."""
    mode = request.param
    if mode in ("tree", "broadcast", "evidence_tree"):
        monkeypatch.setattr(jt_module, "JOINT_CELLS", 0)
        monkeypatch.setattr(jt_module, "RETRIANGULATE_CELLS", 0)
        monkeypatch.setattr(jt_module, "BROADCAST_CELLS", 1 if mode != "tree" else 1 << 40)
    if mode == "evidence_tree":
        monkeypatch.setattr(jt_module, "junction_tree", _one_clique_tree)
    if mode == "joint":
        monkeypatch.setattr(jt_module, "JOINT_CELLS", 1 << 40)
    return mode


@pytest.mark.parametrize("seed", range(8))
def test_marginals_evidence_and_mpe_equal_brute_force(seed, path):
    # multi-state variables, up to three parents, zeros in half of the CPTs
    net = random_net(seed, n_nodes=7, max_parents=3, max_card=3, zeros=seed % 2 == 0)
    joint = brute_joint(net)
    rng = np.random.default_rng(seed)
    names = list(net.names)
    for _ in range(6):
        chosen = rng.choice(names, size=int(rng.integers(0, 4)), replace=False)
        # states drawn uniformly, so that impossible evidence occurs on the nets with zeros
        evidence = {n: int(rng.integers(net.variable(n).cardinality)) for n in chosen}
        _check_against_joint(net, joint, evidence)


def _two_components(seed: int) -> BayesNet:
    """Two random nets side by side (renamed), plus an isolated variable: a forest."""
    a, b = random_net(seed, n_nodes=4, zeros=True), random_net(seed + 50, n_nodes=3)
    variables, edges, cpds = [], [], {}
    for tag, net in (("a", a), ("b", b)):
        for v in net.variables:
            name = f"{tag}{v.name}"
            variables.append(type(v)(name, v.cardinality))
            parents = [f"{tag}{p}" for p in net.parents(v.name)]
            edges += [(p, name) for p in parents]
            cpds[name] = TabularCPD(name, parents, net.cpd(v.name).probs)
    variables.append(Bernoulli("lone"))
    cpds["lone"] = TabularCPD("lone", (), [0.3, 0.7])
    return BayesNet(variables, edges, cpds)


@pytest.mark.parametrize("seed", [0, 1])
def test_disconnected_networks(seed, path):
    net = _two_components(seed)
    jt = junction_tree(network_structure(net))
    if path != "evidence_tree":
        assert sum(p < 0 for p in jt.parent) >= 3  # one root per component at least
    joint = brute_joint(net)
    for evidence in ({}, {"ax0": 1}, {"bx1": 0, "lone": 1}, {"ax3": 1, "bx2": 1}):
        _check_against_joint(net, joint, evidence)


def test_every_variable_observed_and_jointly_impossible_evidence(path):
    # b copies a, c copies b: a = 0 with c = 1 is impossible though each is possible alone
    cpds = {"a": TabularCPD("a", (), [0.4, 0.6]),
            "b": TabularCPD("b", ("a",), [[1.0, 0.0], [0.0, 1.0]]),
            "c": TabularCPD("c", ("b",), [[1.0, 0.0], [0.0, 1.0]]),
            "d": TabularCPD("d", ("a", "c"), [[[0.3, 0.7], [0.5, 0.5]],
                                               [[0.2, 0.8], [0.9, 0.1]]])}
    net = BayesNet([Bernoulli(x) for x in "abcd"],
                   [("a", "b"), ("b", "c"), ("a", "d"), ("c", "d")], cpds)
    joint = brute_joint(net)
    for evidence in ({"a": 0, "c": 1}, {"a": 1, "c": 1}, {"a": 1, "b": 1, "c": 1, "d": 0},
                     {"a": 0, "b": 1, "c": 1, "d": 0}, {"d": 1}, {"b": 0, "d": 0}):
        _check_against_joint(net, joint, evidence)


def test_evidence_tree_is_a_junction_tree_of_the_unobserved_variables(monkeypatch):
    """The tree triangulated without the observed variables: running intersection over
    them, every CPT's unobserved variables inside its clique, and never a worse choice than
    the network's tree with the observed variables dropped."""
    monkeypatch.setattr(jt_module, "JOINT_CELLS", 0)  # the tree, not the joint
    monkeypatch.setattr(jt_module, "RETRIANGULATE_CELLS", 0)
    for seed in range(5):
        net = random_net(seed, n_nodes=12, max_parents=3, max_card=3)
        st = network_structure(net)
        rng = np.random.default_rng(seed)
        ev = frozenset(int(v) for v in rng.choice(len(st.names), size=3, replace=False))
        jt = jt_module._build_tree(st, ev)
        sets = [set(c) for c in jt.cliques]
        assert set().union(*sets) == set(range(len(st.names))) - ev
        for v in range(len(st.names)):
            assert (set(st.parents[v]) | {v}) - ev <= sets[jt.home[v]]
            if v in ev:
                continue
            holding = [k for k, s in enumerate(sets) if v in s]
            tops = [k for k in holding if jt.parent[k] < 0 or v not in sets[jt.parent[k]]]
            assert len(tops) == 1, (seed, st.names[v])
        sched = jt_module._schedule(st, ev)
        full = sum(st.size([a for a in c if a not in ev]) for c in junction_tree(st).cliques)
        assert sched.total <= full


def test_tree_is_a_junction_tree():
    """Running intersection, maximal cliques, every CPT inside its clique."""
    for seed in range(5):
        net = random_net(seed, n_nodes=12, max_parents=3, max_card=2)
        st = network_structure(net)
        jt = junction_tree(st)
        sets = [set(c) for c in jt.cliques]
        assert all(not (a <= b) for a, b in itertools.permutations(sets, 2))
        for v in range(len(st.names)):
            assert set(st.parents[v]) | {v} <= sets[jt.home[v]]
            # the cliques holding v are connected: exactly one of them has no parent holding v
            holding = [k for k, s in enumerate(sets) if v in s]
            tops = [k for k in holding if jt.parent[k] < 0 or v not in sets[jt.parent[k]]]
            assert len(tops) == 1, (seed, st.names[v])
        assert sorted(jt.upward) == list(range(len(sets)))
        seen = set()
        for k in jt.upward:  # children come before their parent
            assert all(j in seen for j, p in enumerate(jt.parent) if p == k)
            seen.add(k)


def test_unlikely_evidence_does_not_underflow():
    # 600 observations of probability 0.1 each: p(evidence) ~ 1e-600, below float64's range
    n = 600
    names = [f"x{i}" for i in range(n)]
    cpds = {"x0": TabularCPD("x0", (), [0.5, 0.5])}
    for i in range(1, n):
        cpds[names[i]] = TabularCPD(names[i], (names[i - 1],), [[0.9, 0.1], [0.1, 0.9]])
    net = BayesNet([Bernoulli(x) for x in names], list(zip(names, names[1:])), cpds)
    tables = inf.tables_from_net(net)
    evidence = {names[i]: (i // 2) % 2 for i in range(0, n, 2)}  # alternating states
    cal = inf.calibrate(net, tables, evidence)
    # closed form: between two observations two steps apart with opposite states, the
    # middle variable must flip once: p = 2 * 0.9 * 0.1; p(x0 = 0) = 0.5
    expected = math.log(0.5) + (len(evidence) - 1) * math.log(2 * 0.9 * 0.1)
    assert math.isclose(cal.log_evidence, expected, rel_tol=1e-12)
    # an unobserved middle variable is equally likely in either state, by symmetry
    np.testing.assert_allclose(cal.marginals["x1"].numpy(), [0.5, 0.5], atol=1e-12)
    # the MPE flips at one of the two steps between observations, and the last variable
    # keeps the last observed state
    assert math.isclose(cal.mpe_log_prob(), math.log(0.5) + (len(evidence) - 1)
                        * math.log(0.9 * 0.1) + math.log(0.9), rel_tol=1e-12)


def test_refusal_names_the_clique_and_its_size():
    net = random_net(3, n_nodes=10, max_parents=3, max_card=3)
    tables = inf.tables_from_net(net)
    st = network_structure(net)
    sizes = [st.size(c) for c in junction_tree(st).cliques]
    limit = max(sizes) - 1
    with limits_raised(max_factor_cells=limit):
        with pytest.raises(InferenceTooLargeError) as info:
            inf.calibrate(net, tables)
    err = info.value
    assert err.entries == max(sizes) == math.prod(st.cards[v] for v in err.clique)
    assert f"{err.entries:,} entries" in str(err) and f"limit of {limit:,}" in str(err)
    assert 'method="loopy_bp"' in str(err)
    with limits_raised(max_factor_cells=max(sizes)):
        inf.calibrate(net, tables)  # at the limit: answered


def test_a_refused_tree_falls_back_to_each_targets_own_elimination():
    # x has four parents: the tree needs the clique {a, b, c, d, x} of 32 entries, over a
    # limit of 16; the posterior of a parent alone prunes the barren x
    from pgm_ar.tables_model import TablesModel

    rng = np.random.default_rng(0)
    parents = ["a", "b", "c", "d"]
    cpds = {v: TabularCPD(v, (), rng.dirichlet([1, 1])) for v in parents}
    cpds["x"] = TabularCPD("x", tuple(parents), rng.dirichlet([1, 1], size=(2, 2, 2, 2)))
    net = BayesNet([Bernoulli(v) for v in parents + ["x"]], [(v, "x") for v in parents],
                   cpds=cpds)
    joint = brute_joint(net)
    tables = inf.tables_from_net(net)
    with limits_raised(max_factor_cells=16):
        with pytest.raises(InferenceTooLargeError):
            inf.calibrate(net, tables)
        post = inf.exact_posteriors(net, tables, parents, one_pass=True)
        for v in parents:
            np.testing.assert_allclose(post[v].numpy(), marginal(net, joint, v), atol=1e-12)
        model = TablesModel(net)
        got = model.marginals(targets=["a", "c"])
        states = net.variable("a").states
        assert got["a"][states[1]] == pytest.approx(marginal(net, joint, "a")[1], abs=1e-12)
        # x's own elimination sums its parents out of its 32-entry CPT one at a time and
        # builds nothing bigger than 16 entries: every posterior is still answered
        every = model.marginals()
        for v in parents + ["x"]:
            np.testing.assert_allclose(list(every[v].values()), marginal(net, joint, v),
                                       atol=1e-12)


def test_errors_name_the_culprit():
    net = random_net(1, n_nodes=4)
    tables = inf.tables_from_net(net)
    with pytest.raises(PgmArError, match="'nope'"):
        inf.calibrate(net, tables, {"nope": 0})
    with pytest.raises(PgmArError, match="'x9'"):
        inf.calibrate(net, tables).marginal("x9")


def test_marginals_equal_pgmpy_belief_propagation():
    pytest.importorskip("pgmpy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgmpy.inference import BeliefPropagation
    from conftest import BIF_DIR

    net, model = pgmpy_pair(BIF_DIR / "child.bif.gz")
    tables = inf.tables_from_net(net)
    rng = np.random.default_rng(5)
    names = list(net.names)
    bp = BeliefPropagation(model)
    for k in (2,):
        # a possible evidence set: states of a forward sample
        row = inf.forward_sample(net, tables, 1)
        chosen = list(rng.choice(names, size=k, replace=False))
        evidence = {n: net.variable(n).states[int(row[n][0])] for n in chosen}
        cal = inf.calibrate(net, tables, evidence)
        # pgmpy's belief propagation answers one variable per query (a pruned network and a
        # tree each time), so a few variables are compared, not all
        for n in rng.choice([n for n in names if n not in evidence], size=3, replace=False):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = bp.query([n], evidence=evidence, show_progress=False)
            order = [ref.state_names[n].index(s) for s in net.variable(n).states]
            np.testing.assert_allclose(cal.marginals[n].numpy(), np.asarray(ref.values)[order],
                                       atol=1e-6, err_msg=n)


# --------------------------------------------------------------------------- #
# the compiled model, the tables-only model and the command line
# --------------------------------------------------------------------------- #
def test_model_marginals_and_many_target_queries_equal_one_elimination_per_target():
    import pgm_ar
    from pgm_ar.inference.junction_tree import prefers_calibration
    from pgm_ar.tables_model import TablesModel

    net = pgm_ar.example_network("alarm")
    evidence = {"HR": "HIGH", "VENTLUNG": "LOW"}
    ev_idx = {n: net.variable(n).state_index(s) for n, s in evidence.items()}
    tables = inf.tables_from_net(net)
    # the reference: one variable elimination per variable
    ref = {n: inf.query(net, tables, n, ev_idx).numpy() for n in net.names}
    names = list(net.names)
    assert prefers_calibration(net, names, ev_idx) and not prefers_calibration(net, names[:2])
    for model in (pgm_ar.compile(net), TablesModel(net)):
        for got in (model.marginals(evidence), model.query(names, evidence)):
            assert list(got) == names
            for n in names:
                assert list(got[n]) == list(net.variable(n).states)
                np.testing.assert_allclose(list(got[n].values()), ref[n], atol=1e-12, err_msg=n)
        assert list(model.marginals(evidence, targets="HR")) == ["HR"]
        with pytest.raises(PgmArError, match="'nope'"):
            model.marginals(targets=["nope"])


def test_cli_query_all(capsys):
    import pgm_ar
    from pgm_ar.cli import main

    net = pgm_ar.example_network("asia")
    tables = inf.tables_from_net(net)
    assert main(["query", "asia", "--all", "--evidence", "dysp=yes", "--json"]) == 0
    import json

    out = json.loads(capsys.readouterr().out)["marginals"]
    assert list(out) == list(net.names)
    dysp = net.variable("dysp").state_index("yes")
    for n in net.names:
        np.testing.assert_allclose(list(out[n].values()),
                                   inf.query(net, tables, n, {"dysp": dysp}).numpy(), atol=1e-9)
    assert main(["query", "asia", "--all", "--target", "lung"]) == 2
    assert "--all" in capsys.readouterr().err
