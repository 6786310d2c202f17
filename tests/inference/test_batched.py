"""Posteriors of one target for many rows at once (inference.batched_query, model.query with
rows, predict_proba, ``pgm-ar query --data``), against brute-force enumeration per row, with
zeros in the CPTs and impossible rows, and against pgmpy on a shipped network."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import pgm_ar
from pgm_ar import ImpossibleEvidenceError
from pgm_ar import inference as inf
from pgm_ar.errors import DataError, UnknownVariableError
from pgm_ar.inference import batched as batched_module
from oracles import brute_conditional, brute_joint, marginal, pgmpy_pair, random_net


def _rows(net, n, missing, seed, possible_from=None):
    """``{name: codes}`` with ``-1`` for missing; drawn from the joint when ``possible_from``
    (so every row is possible), else uniformly (so some rows are impossible)."""
    rng = np.random.default_rng(seed)
    if possible_from is not None:
        flat = rng.choice(possible_from.size, size=n, p=possible_from.ravel())
        pts = np.stack(np.unravel_index(flat, possible_from.shape), axis=1)
        full = {name: pts[:, i] for i, name in enumerate(net.names)}
    else:
        full = {name: rng.integers(0, net.variable(name).cardinality, n) for name in net.names}
    return {k: np.where(rng.random(n) < missing, -1, v) for k, v in full.items()}


def _brute(net, joint, target, codes, i):
    ev = {k: int(c[i]) for k, c in codes.items() if c[i] >= 0 and k != target}
    return marginal(net, brute_conditional(net, joint, ev), target)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("min_group", [1, 10 ** 9])  # every pattern its own plan / all soft
def test_batched_equals_brute_force_per_row(seed, min_group, monkeypatch):
    monkeypatch.setattr(batched_module, "MIN_GROUP_ROWS", min_group)
    net = random_net(seed, n_nodes=6, zeros=True)
    joint = brute_joint(net)
    tables = inf.tables_from_net(net)
    codes = _rows(net, 60, 0.4, seed, possible_from=joint)
    for target in net.names[::2]:
        post = inf.batched_query(net, tables, target, codes)
        assert post.shape == (60, net.variable(target).cardinality)
        assert post.dtype == torch.float64
        for i in range(60):
            np.testing.assert_allclose(post[i].numpy(), _brute(net, joint, target, codes, i),
                                       atol=1e-12)


@pytest.mark.parametrize("seed", [0, 7, 9])  # seeds whose uniform rows include impossible ones
def test_the_first_impossible_row_is_named(seed):
    net = random_net(seed, n_nodes=6, zeros=True)
    joint = brute_joint(net)
    codes = _rows(net, 50, 0.2, seed)  # uniform values: some rows are impossible
    target = net.names[-1]
    impossible = []
    for i in range(50):
        ev = {k: int(c[i]) for k, c in codes.items() if c[i] >= 0 and k != target}
        sel = tuple(ev.get(n, slice(None)) for n in net.names)
        if joint[sel].sum() == 0:
            impossible.append(i)
    assert impossible  # the seeds are chosen so that some rows are impossible
    with pytest.raises(ImpossibleEvidenceError, match=rf"^row {impossible[0]}:"):
        inf.batched_query(net, inf.tables_from_net(net), target, codes)


def test_rows_that_underflow_are_recomputed_rescaled(monkeypatch):
    monkeypatch.setattr(batched_module, "UNDERFLOW", 2.0)  # every row counts as underflowed
    net = random_net(5, n_nodes=6)
    joint = brute_joint(net)
    codes = _rows(net, 12, 0.3, 1, possible_from=joint)
    post = inf.batched_query(net, inf.tables_from_net(net), "x2", codes)
    for i in range(12):
        np.testing.assert_allclose(post[i].numpy(), _brute(net, joint, "x2", codes, i),
                                   atol=1e-12)


def test_the_targets_own_column_is_ignored_and_bad_columns_are_named():
    net = random_net(2, n_nodes=5)
    tables = inf.tables_from_net(net)
    codes = {"x0": np.array([0, 1, -1]), "x3": np.array([1, -1, 0])}
    without = inf.batched_query(net, tables, "x3", {"x0": codes["x0"]})
    assert torch.equal(inf.batched_query(net, tables, "x3", codes), without)
    with pytest.raises(DataError, match="'x0'.*row 1.*out of range"):
        inf.batched_query(net, tables, "x3", {"x0": np.array([0, 7])})
    with pytest.raises(DataError, match="'x1'.*2 rows"):
        inf.batched_query(net, tables, "x3", {"x0": np.array([0, 1, 0]), "x1": [0, 1]})
    with pytest.raises(UnknownVariableError):
        inf.batched_query(net, tables, "x3", {"nope": [0]})
    with pytest.raises(DataError, match="num_rows"):
        inf.batched_query(net, tables, "x3", {})
    prior = inf.batched_query(net, tables, "x3", {}, num_rows=2)
    np.testing.assert_allclose(prior.numpy(), np.stack([inf.query(net, tables, "x3").numpy()] * 2))


def test_model_query_with_a_dataframe_and_predict_proba():
    net = pgm_ar.example_network("asia")
    model = pgm_ar.compile(net)
    frame = pd.DataFrame({"smoke": ["yes", None, "no", np.nan],
                          "dysp": [None, "yes", "yes", None],
                          "lung": ["yes", "no", None, None]},  # the target's column: ignored
                         index=[10, 11, 12, 13])
    post = model.query("lung", evidence=frame)
    assert list(post.columns) == list(net.variable("lung").states)
    assert list(post.index) == [10, 11, 12, 13]
    for (_, row), (_, got) in zip(frame.iterrows(), post.iterrows()):
        ev = {k: v for k, v in row.items() if isinstance(v, str) and k != "lung"}
        want = model.query("lung", ev)
        assert got.to_dict() == pytest.approx(want, abs=1e-12)
    same = model.predict_proba(frame, "lung")
    pd.testing.assert_frame_equal(same, post)
    # a dict of columns and a list of targets
    cols = {k: list(v) for k, v in frame.items()}
    both = model.query(["lung", "tub"], evidence=cols)
    np.testing.assert_allclose(both["lung"].to_numpy(), post.to_numpy(), atol=1e-12)
    assert list(both["tub"].columns) == list(net.variable("tub").states)
    # the tables-only model (the CLI's) answers the same
    from pgm_ar.tables_model import TablesModel

    np.testing.assert_allclose(TablesModel(net).predict_proba(frame, "lung").to_numpy(),
                               post.to_numpy(), atol=1e-12)


def test_batched_equals_pgmpy_on_alarm():
    pytest.importorskip("pgmpy")
    from conftest import BIF_DIR
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgmpy.inference import VariableElimination

    net, model = pgmpy_pair(BIF_DIR / "alarm.bif.gz")
    tables = inf.tables_from_net(net)
    rows = inf.forward_sample(net, tables, 40, generator=torch.Generator().manual_seed(3))
    rng = np.random.default_rng(4)
    codes = {k: np.where(rng.random(40) < 0.3, -1, v.numpy()) for k, v in rows.items()}
    target = "HYPOVOLEMIA"
    post = inf.batched_query(net, tables, target, codes)
    ve = VariableElimination(model)
    for i in range(0, 40, 4):
        ev = {k: net.variable(k).states[int(c[i])] for k, c in codes.items()
              if c[i] >= 0 and k != target}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = ve.query([target], evidence=ev, show_progress=False)
        order = [ref.state_names[target].index(s) for s in net.variable(target).states]
        np.testing.assert_allclose(post[i].numpy(), np.asarray(ref.values)[order], atol=1e-6)


def test_rows_fall_back_to_their_own_plans_when_the_joint_plan_is_too_large():
    from pgm_ar.limits import limits_raised

    net = random_net(8, n_nodes=7, max_parents=3, max_card=3)
    joint = brute_joint(net)
    tables = inf.tables_from_net(net)
    codes = _rows(net, 30, 0.2, 2, possible_from=joint)
    soft = batched_module._soft_plan(inf.network_structure(net), net.index("x0"),
                                     tuple(range(1, 7)))
    # a budget under the soft-evidence plan's widest factor but over every row's own plans
    with limits_raised(max_factor_cells=soft.width - 1):
        plans = inf.network_structure(net).plans
        plans.clear()
        post = inf.batched_query(net, tables, "x0", codes)
        assert not any(k[0] == "soft" for k in plans)  # refused, and each pattern planned
        assert any(k[0] == "query" for k in plans)
    for i in range(30):
        np.testing.assert_allclose(post[i].numpy(), _brute(net, joint, "x0", codes, i),
                                   atol=1e-12)
