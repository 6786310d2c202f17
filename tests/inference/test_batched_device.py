"""Batched posteriors contracted in torch (``device=``) against the numpy path and brute-force
enumeration per row, on small random networks with zeros in the CPTs and missing values; the
choice of device and its errors (a GPU asked for where torch sees none)."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import torch

import pgm_ar
from pgm_ar import ImpossibleEvidenceError
from pgm_ar import inference as inf
from pgm_ar.cli import main
from pgm_ar.errors import PgmArError
from pgm_ar.inference import batched as batched_module
from pgm_ar.inference.batched import batch_device
from oracles import brute_conditional, brute_joint, marginal, random_net


def _rows(net, n, missing, seed, joint=None):
    """``{name: codes}`` (``-1``: missing), drawn from ``joint`` (every row possible) or
    uniformly (some rows impossible)."""
    rng = np.random.default_rng(seed)
    if joint is not None:
        flat = rng.choice(joint.size, size=n, p=joint.ravel())
        pts = np.stack(np.unravel_index(flat, joint.shape), axis=1)
        full = {name: pts[:, i] for i, name in enumerate(net.names)}
    else:
        full = {name: rng.integers(0, net.variable(name).cardinality, n) for name in net.names}
    return {k: np.where(rng.random(n) < missing, -1, v) for k, v in full.items()}


@pytest.fixture
def no_single_queries(monkeypatch):
    """Fail if a row is recomputed alone: a row that the batch left NaN would otherwise get
    a correct answer from the fallback and hide an error of the batched contraction."""
    def refuse(*args, **kwargs):
        raise AssertionError("a possible row was recomputed alone")

    monkeypatch.setattr(batched_module, "query", refuse)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("min_group", [1, 10 ** 9])  # each pattern its own plan / all soft
def test_torch_cpu_equals_numpy_and_brute_force(seed, min_group, monkeypatch,
                                                no_single_queries):
    monkeypatch.setattr(batched_module, "MIN_GROUP_ROWS", min_group)
    monkeypatch.setattr(batched_module, "BATCH_CELLS", 64)  # several chunks per group
    net = random_net(seed, n_nodes=6, zeros=True)
    joint = brute_joint(net)
    tables = inf.tables_from_net(net)
    codes = _rows(net, 40, 0.4, seed, joint)
    for target in net.names[::2]:
        ours = inf.batched_query(net, tables, target, codes, device="cpu")
        ref = inf.batched_query(net, tables, target, codes, device="numpy")
        assert ours.dtype == torch.float64 and ours.device.type == "cpu"
        assert ours.shape == ref.shape
        np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=0, atol=1e-10)
        for i in range(40):
            ev = {k: int(c[i]) for k, c in codes.items() if c[i] >= 0 and k != target}
            want = marginal(net, brute_conditional(net, joint, ev), target)
            np.testing.assert_allclose(ours[i].numpy(), want, atol=1e-12)


@pytest.mark.parametrize("min_group", [1, 10 ** 9])
def test_impossible_rows_are_named_as_on_numpy(min_group, monkeypatch):
    monkeypatch.setattr(batched_module, "MIN_GROUP_ROWS", min_group)
    net = random_net(7, n_nodes=6, zeros=True)
    joint = brute_joint(net)
    codes = _rows(net, 50, 0.2, 7)  # uniform values: some rows are impossible
    target = net.names[-1]
    first = next(i for i in range(50) if joint[tuple(
        int(codes[n][i]) if codes[n][i] >= 0 and n != target else slice(None)
        for n in net.names)].sum() == 0)
    tables = inf.tables_from_net(net)
    with pytest.raises(ImpossibleEvidenceError) as on_numpy:
        inf.batched_query(net, tables, target, codes, device="numpy")
    with pytest.raises(ImpossibleEvidenceError, match=rf"^row {first}:") as on_torch:
        inf.batched_query(net, tables, target, codes, device="cpu")
    assert str(on_torch.value) == str(on_numpy.value) and on_torch.value.row == first


def test_torch_cpu_equals_numpy_on_alarm(no_single_queries):
    net = pgm_ar.example_network("alarm")
    tables = inf.tables_from_net(net)
    rows = inf.forward_sample(net, tables, 150, generator=torch.Generator().manual_seed(3))
    rng = np.random.default_rng(4)
    codes = {k: np.where(rng.random(150) < 0.3, -1, v.numpy()) for k, v in rows.items()}
    # the first 80 rows share one pattern (a plan of their own, CPTs gathered per row); the
    # others' patterns are rare (answered together as soft evidence)
    shared = rng.random(len(codes)) < 0.5
    for (k, c), blank in zip(codes.items(), shared):
        if blank:
            c[:80] = -1
        else:
            c[:80] = rows[k][:80].numpy()
    assert batched_module.MIN_GROUP_ROWS <= 80
    for target in ("HYPOVOLEMIA", "LVFAILURE"):
        ours = inf.batched_query(net, tables, target, codes, device="cpu")
        ref = inf.batched_query(net, tables, target, codes, device="numpy")
        np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=0, atol=1e-10)
        # spot checks against the single-query engine (an independent elimination)
        for i in (0, 79, 149):
            ev = {k: int(c[i]) for k, c in codes.items() if c[i] >= 0 and k != target}
            np.testing.assert_allclose(ours[i].numpy(), inf.query(net, tables, target, ev),
                                       atol=1e-12)


def test_underflowing_rows_are_recomputed_on_torch_too(monkeypatch):
    monkeypatch.setattr(batched_module, "UNDERFLOW", 2.0)  # every row counts as underflowed
    net = random_net(5, n_nodes=6)
    joint = brute_joint(net)
    codes = _rows(net, 10, 0.3, 1, joint)
    post = inf.batched_query(net, inf.tables_from_net(net), "x2", codes, device="cpu")
    for i in range(10):
        ev = {k: int(c[i]) for k, c in codes.items() if c[i] >= 0 and k != "x2"}
        np.testing.assert_allclose(post[i].numpy(),
                                   marginal(net, brute_conditional(net, joint, ev), "x2"),
                                   atol=1e-12)


def test_model_query_predict_proba_and_cli_take_a_device(tmp_path, capsys):
    model = pgm_ar.compile(pgm_ar.example_network("asia"))
    frame = pd.DataFrame({"smoke": ["yes", None, "no", None],
                          "dysp": [None, "yes", "yes", None],
                          "xray": ["no", None, None, "yes"]})
    ref = model.predict_proba(frame, "lung", device="numpy")
    for dev in ("cpu", torch.device("cpu"), "auto", None):
        got = model.predict_proba(frame, "lung", device=dev)
        np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), rtol=0, atol=1e-10)
    both = model.query(["lung", "tub"], evidence=frame, device="cpu")
    np.testing.assert_allclose(both["lung"].to_numpy(), ref.to_numpy(), rtol=0, atol=1e-10)
    data = tmp_path / "rows.csv"
    frame.to_csv(data, index=False)
    outs = {}
    for dev in ("numpy", "cpu"):
        assert main(["query", "asia", "--data", str(data), "--target", "lung",
                     "--device", dev]) == 0
        outs[dev] = pd.read_csv(io.StringIO(capsys.readouterr().out))
    np.testing.assert_allclose(outs["cpu"].to_numpy(), outs["numpy"].to_numpy(), atol=1e-10)
    np.testing.assert_allclose(outs["cpu"].to_numpy(), ref.to_numpy(), atol=1e-10)


def test_device_choice_and_errors(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert batch_device(None, 10 ** 7) is None and batch_device("auto", 10 ** 7) is None
    assert batch_device("numpy") is None and batch_device(" NumPy ") is None
    assert batch_device("cpu") == torch.device("cpu")
    assert batch_device(torch.device("cpu")) == torch.device("cpu")
    for bad, msg in [("cuda", "no CUDA GPU"), ("cuda:0", "no CUDA GPU"),
                     (torch.device("cuda"), "no CUDA GPU"), ("gpu0", "unknown device 'gpu0'"),
                     ("meta", "not supported"), (3, "got int 3")]:
        with pytest.raises(PgmArError, match=msg) as err:
            batch_device(bad)
        assert "\n" not in str(err.value)
    net = random_net(1, n_nodes=4)
    with pytest.raises(PgmArError, match="no CUDA GPU"):
        inf.batched_query(net, inf.tables_from_net(net), "x0", {"x1": [0, 1]}, device="cuda")
    data = tmp_path / "rows.csv"
    data.write_text("smoke\nyes\n")
    assert main(["query", "asia", "--data", str(data), "--target", "lung",
                 "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no CUDA GPU" in err
    data.write_text("tub,either\nyes,yes\nyes,no\n")  # line 3: tub=yes forces either=yes
    assert main(["query", "asia", "--data", str(data), "--target", "lung",
                 "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "probability zero" in err and "line 3" in err
    assert main(["query", "asia", "--target", "lung", "--device", "cpu"]) == 2
    assert "--device go with --data" in capsys.readouterr().err
    # where torch sees a GPU: auto takes it for large batches only, and indices are checked
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert batch_device("auto", batched_module.AUTO_CUDA_ROWS - 1) is None
    assert batch_device(None, batched_module.AUTO_CUDA_ROWS) == torch.device("cuda")
    assert batch_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(PgmArError, match="only 1 CUDA GPU"):
        batch_device("cuda:2")
