"""Distributed training: two CPU processes (gloo) launched by ``torchrun`` give the weights and
histories of a single process with the same seed and global batch size; distributed resume;
checkpoints that move between distributed and single-process runs; ``pgm-ar fit`` under
``torchrun``; errors.

Run as a script, this file is the worker that ``torchrun`` starts (see :func:`_worker`).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pgm_ar.errors import PgmArError
from pgm_ar.training import CHECKPOINT_NAME
from pgm_ar.training.checkpoint import read_checkpoint

EPOCHS, BATCH = 3, 7  # 50 rows: slices of 4 and 3, and a last global batch of 1 (one empty)
REPO = Path(__file__).resolve().parents[2]


def make_model():
    from pgm_ar.conditionals.nade import NADE
    from pgm_ar.variables import Image

    torch.manual_seed(0)
    return NADE(hidden=8).build(Image("x", (1, 4, 4)), [])


def log_prob(module, x):
    return module({}, batch_size=x.shape[0]).log_prob(x)


def data():
    g = torch.Generator().manual_seed(1)
    grey = torch.rand(50, 1, 4, 4, generator=g)            # re-binarized every epoch
    val = (torch.rand(13, 1, 4, 4, generator=g) < 0.5).float()
    binary = (torch.rand(50, 1, 4, 4, generator=g) < 0.4).float()
    return grey, val, binary


def train(ckpt=None, stop_at=None, **kw):
    """One fit of the test model; returns (state_dict, history dict)."""
    from pgm_ar.datasets import DynamicBinarization
    from pgm_ar.training import fit

    grey, val, _ = data()
    args = dict(epochs=EPOCHS, batch_size=BATCH, lr=0.02, device="cpu", seed=5,
                transform=DynamicBinarization(), progress=False, log_prob_fn=log_prob,
                checkpoint_dir=ckpt)
    if stop_at is not None:
        args["on_epoch_end"] = lambda epoch, history: epoch == stop_at
    args.update(kw)
    args.setdefault("train", grey)
    args.setdefault("val", val)
    model = make_model()
    history = fit(model, args.pop("train"), args.pop("val"), **args)
    return {k: v.clone() for k, v in model.state_dict().items()}, history.to_dict()


def _worker(out: Path) -> None:
    """What each of the two torchrun processes does."""
    import torch.distributed as dist

    torch.set_num_threads(1)
    rank = int(os.environ["RANK"])
    res = {}
    # fit starts the process group itself and ends it afterwards, twice in a row
    res["full"] = train(out / "full")
    assert not dist.is_initialized()
    binary = data()[2]  # no transform: each process fetches only its slices (a Dataset)
    res["dataset"] = train(train=torch.utils.data.Subset(binary, range(len(binary))),
                           transform=None, lr_schedule=None)
    assert not dist.is_initialized()
    # a process group of the caller's is used and left alone
    dist.init_process_group("gloo")
    # interrupted after epoch 1 (only rank 1 asks to stop: both stop), then resumed
    res["cut"] = train(out / "cut", stop_at=1 if rank == 1 else None)
    if rank == 0:
        shutil.copytree(out / "cut", out / "cut_copy")
    dist.barrier()
    res["resumed"] = train(out / "cut", resume=True)
    # a single-process checkpoint (made by the test before launching) resumed here
    res["from_single"] = train(out / "single_cut", resume=True)
    assert dist.is_initialized()
    dist.destroy_process_group()
    torch.save(res, out / f"rank{rank}.pt")


# ----------------------------------------------------------------------------- the tests
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(*args, cwd) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(free_port()), *map(str, args)]
    # a session of its own, so that a timeout ends torchrun and its workers together
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"torchrun timed out:\n{stdout[-3000:]}\n{stderr[-5000:]}")
    proc = subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


def close(a, b, atol=1e-6):
    return a.keys() == b.keys() and all(
        torch.allclose(a[k].double(), b[k].double(), atol=atol, rtol=0) for k in a)


def equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def same_curves(h, ref):
    assert h["epoch"] == ref["epoch"]
    assert h["train_nll"] == pytest.approx(ref["train_nll"], rel=1e-6)
    assert h["val_nll"] == pytest.approx(ref["val_nll"], rel=1e-6)
    assert h["best_epoch"] == ref["best_epoch"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("ddp")
    train(out / "single_cut", stop_at=1)  # for the distributed run to resume
    torchrun(__file__, out, cwd=REPO)
    ranks = [torch.load(out / f"rank{r}.pt", weights_only=False) for r in (0, 1)]
    return out, ranks


def test_two_processes_train_like_one(runs):
    out, (r0, r1) = runs
    single = train()
    for key in ("full", "resumed", "from_single", "dataset"):
        assert equal(r0[key][0], r1[key][0]), key          # the ranks agree bitwise
        assert r0[key][1] == {**r1[key][1], "seconds": r0[key][1]["seconds"]}
    weights, history = r0["full"]
    assert close(weights, single[0])                       # and agree with one process
    same_curves(history, single[1])
    assert history["world_size"] == 2 and single[1]["world_size"] == 1
    assert history["val_nll"][0] is not None and len(history["epoch"]) == EPOCHS
    # without a transform, from a Dataset, each process fetching its own slices
    binary = data()[2]
    one = train(train=binary, transform=None, lr_schedule=None)
    assert close(r0["dataset"][0], one[0])
    same_curves(r0["dataset"][1], one[1])


def test_distributed_resume_and_checkpoints_shared_with_one_process(runs):
    out, (r0, _) = runs
    assert r0["cut"][1]["epoch"] == [1]                    # one rank asked to stop: all did
    assert equal(r0["resumed"][0], r0["full"][0])          # resumed = uninterrupted, bitwise
    assert r0["resumed"][1]["train_nll"] == r0["full"][1]["train_nll"]
    assert r0["resumed"][1]["val_nll"] == r0["full"][1]["val_nll"]
    # rank 0 wrote one checkpoint with the plain model's keys, and the log
    assert sorted(p.name for p in (out / "full").iterdir()) == [CHECKPOINT_NAME, "log.csv",
                                                                 "log.json"]
    ckpt = read_checkpoint(out / "full" / CHECKPOINT_NAME)
    assert set(ckpt["model"]) == set(make_model().state_dict())
    assert len(ckpt["rng_ranks"]) == 2
    assert json.loads((out / "full" / "log.json").read_text())["world_size"] == 2
    # the distributed checkpoint of epoch 1 resumed in one process
    single_resumed = train(out / "cut_copy", resume=True)
    assert close(single_resumed[0], r0["full"][0])
    same_curves(single_resumed[1], r0["full"][1])
    # a single-process checkpoint resumed by two processes
    assert close(r0["from_single"][0], train()[0])


def test_cli_fit_under_torchrun_writes_one_run(tmp_path):
    spec = REPO / "examples" / "specs" / "digit14_nade.yaml"
    # `-m pgm_ar.cli` is what the pgm-ar script runs, without depending on where it lies
    proc = torchrun("-m", "pgm_ar.cli", "fit", spec, "--data-dir", "embedded", "--out", "run",
                    "--epochs", "1", "--max-train", "100", "--batch-size", "30",
                    "--device", "cpu", "--no-progress", cwd=tmp_path)
    assert proc.stdout.count("fitted 'digit14'") == 1      # rank 0 alone reports
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    run = tmp_path / "run"
    assert {"model.pt", "fit_log.json", "train_log.csv", "train_log.json", "curves.png",
            "checkpoints", spec.name} <= {p.name for p in run.iterdir()}
    assert json.loads((run / "train_log.json").read_text())["world_size"] == 2
    assert json.loads((run / "fit_log.json").read_text())["epochs_run"] == 1


def test_errors_without_a_launcher_or_with_a_dataloader(monkeypatch):
    from torch.utils.data import DataLoader

    from pgm_ar.training import fit

    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(key, raising=False)
    x = data()[2]
    with pytest.raises(PgmArError, match="not started by a launcher.*torchrun"):
        fit(make_model(), x, epochs=1, device="cpu", log_prob_fn=log_prob, distributed=True)
    with pytest.raises(PgmArError, match="distributed='yes'"):
        fit(make_model(), x, epochs=1, device="cpu", log_prob_fn=log_prob, distributed="yes")
    monkeypatch.setenv("WORLD_SIZE", "2")  # as if launched, with half the variables missing
    with pytest.raises(PgmArError, match="DataLoader.*pass the tensors or the Dataset"):
        fit(make_model(), DataLoader(x, batch_size=10), epochs=1, device="cpu",
            log_prob_fn=log_prob)
    with pytest.raises(PgmArError, match="RANK, MASTER_ADDR, MASTER_PORT not set"):
        fit(make_model(), x, epochs=1, device="cpu", log_prob_fn=log_prob)
    # distributed=False trains alone whatever the environment says
    history = fit(make_model(), x, epochs=1, device="cpu", log_prob_fn=log_prob,
                  distributed=False, progress=False)
    assert history.world_size == 1


if __name__ == "__main__":  # a torchrun process
    _worker(Path(sys.argv[1]))


def test_svi_with_a_latent_variable_and_a_prior_under_torchrun_matches_one_process(tmp_path):
    # the compiled model's SVI is the same loop: enumeration of the latent z, the Dirichlet
    # prior as the penalty, and two processes giving the fit of one
    import numpy as np
    import pandas as pd

    from pgm_ar.cli import main
    from pgm_ar.model import CompiledModel

    spec = tmp_path / "mix.yaml"
    spec.write_text("name: mix\nvariables:\n  - {name: z, type: bernoulli}\n"
                    "  - {name: x, type: bernoulli, count: 3}\n"
                    "edges: [[z, x1], [z, x2], [z, x3]]\n"
                    "conditionals:\n  bernoulli: {family: tabular, prior: 2}\n")
    rng = np.random.default_rng(0)
    z = rng.random(200) < 0.4
    rows = pd.DataFrame({f"x{j}": (rng.random(200) < np.where(z, 0.8, 0.2)).astype(int)
                         for j in (1, 2, 3)})
    rows.to_csv(tmp_path / "rows.csv", index=False)
    args = ["fit", "mix.yaml", "--data", "rows.csv", "--method", "svi", "--epochs", "3",
            "--batch-size", "50", "--lr", "0.05", "--device", "cpu", "--no-progress"]
    torchrun("-m", "pgm_ar.cli", *args, "--out", "two", cwd=tmp_path)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert main(args + ["--out", "one"]) == 0
    finally:
        os.chdir(cwd)
    one = CompiledModel.load(tmp_path / "one" / "model.pt").tables()
    two = CompiledModel.load(tmp_path / "two" / "model.pt").tables()
    assert one.keys() == two.keys() and all(torch.allclose(one[k], two[k], atol=1e-9, rtol=0)
                                            for k in one)
    assert not torch.allclose(one["z"], torch.tensor([0.5, 0.5], dtype=torch.float64))
    logs = [json.loads((tmp_path / d / "fit_log.json").read_text()) for d in ("one", "two")]
    assert [log["world_size"] for log in logs] == [1, 2]
