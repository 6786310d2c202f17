"""The shared training loop: convergence to a closed-form MLE, exact resume, early stopping,
logs, data forms, determinism and argument errors, with small modules written here."""
from __future__ import annotations

import csv
import json
import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from pgm_ar.datasets import DynamicBinarization, DynamicBinarizedDataset, load_embedded_digits
from pgm_ar.errors import DataError, PgmArError
from pgm_ar.training import CHECKPOINT_NAME, History, evaluate, fit


class Coin(nn.Module):
    """Independent Bernoulli pixels: the MLE is the vector of pixel means."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(d))

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        return -F.binary_cross_entropy_with_logits(self.logits.expand_as(x), x,
                                                   reduction="none").sum(-1)


class ClassCoin(nn.Module):
    """Independent Bernoulli pixels given a digit label; batches are dicts or (x, y) tuples."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(10, d))

    def log_prob(self, batch) -> torch.Tensor:
        x, y = (batch["image"], batch["label"]) if isinstance(batch, dict) else batch
        x = x.flatten(1)
        return -F.binary_cross_entropy_with_logits(self.logits[y], x, reduction="none").sum(-1)


class TinyNADE(nn.Module):
    """A small NADE written plainly: h_i = sigmoid(c + sum_{j<i} W_j x_j), with dropout on the
    hidden units so that training also draws from torch's global generator."""

    def __init__(self, d: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(d * 31 + hidden)
        self.W = nn.Parameter(torch.randn(d, hidden, generator=g) * 0.05)
        self.V = nn.Parameter(torch.randn(d, hidden, generator=g) * 0.05)
        self.b = nn.Parameter(torch.zeros(d))
        self.c = nn.Parameter(torch.zeros(hidden))
        self.drop = nn.Dropout(dropout)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        contrib = x.unsqueeze(-1) * self.W                        # (B, D, H)
        a = self.c + torch.cumsum(contrib, dim=1) - contrib       # exclusive running sum
        h = self.drop(torch.sigmoid(a))
        logits = (h * self.V).sum(-1) + self.b
        return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)


@pytest.fixture(scope="module")
def digits():
    (xt, yt), (xv, yv) = load_embedded_digits("train"), load_embedded_digits("valid")
    return xt, yt, xv, yv


def weights(model: nn.Module):
    return {k: v.clone() for k, v in model.state_dict().items()}


def same_weights(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_independent_bernoulli_reaches_the_closed_form_mle(digits):
    x = digits[0]
    p = x.flatten(1).double().mean(0)
    mle_nll = float(-(torch.xlogy(p, p) + torch.xlogy(1 - p, 1 - p)).sum())  # sum of entropies
    model = Coin(196)
    history = fit(model, x, epochs=20, batch_size=100, lr=0.3, device="cpu", progress=False)
    nll = evaluate(model, x, batch_size=500, device="cpu")["nll_nats"]
    assert mle_nll - 1e-9 <= nll < mle_nll + 0.05  # the MLE is the lowest training NLL
    inner = (p > 0.05) & (p < 0.95)
    assert torch.allclose(torch.sigmoid(model.logits.detach().double())[inner], p[inner], atol=0.01)
    assert history.train_nll[-1] < history.train_nll[0] and len(history.epoch) == 20
    assert history.lr[0] == 0.3 and history.lr[-1] < history.lr[1]  # cosine schedule


def test_evaluate_matches_direct_computation(digits):
    x = digits[2]
    model = Coin(196)
    with torch.no_grad():
        model.logits.copy_(torch.linspace(-3, 1, 196))
        direct = float(-model.log_prob(x).double().mean())
    out = evaluate(model, x, batch_size=64, device="cpu")
    assert out["n"] == 500 and math.isclose(out["nll_nats"], direct, rel_tol=1e-9)
    assert math.isclose(out["bits_per_dim"], direct / (196 * math.log(2)), rel_tol=1e-9)
    assert evaluate(model, x, device="cpu", num_dims=1)["bits_per_dim"] == pytest.approx(
        direct / math.log(2))


def _run(tmp_path, name, digits, epochs=4, **kw):
    xt, _, xv, _ = digits
    grey = xt[:400] * 0.8 + 0.1  # probabilities: re-binarized differently every epoch
    model = TinyNADE(196, 12, dropout=0.1)
    args = dict(epochs=epochs, batch_size=50, lr=0.02, lr_schedule="cosine", device="cpu",
                checkpoint_dir=tmp_path / name, transform=DynamicBinarization(), seed=3,
                progress=False)
    args.update(kw)
    return model, fit(model, grey, xv[:200], **args)


class Interrupted(Exception):
    pass


def test_resume_gives_the_weights_of_an_uninterrupted_run(tmp_path, digits):
    full, h_full = _run(tmp_path, "full", digits)

    def crash(epoch, history):
        if epoch == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        _run(tmp_path, "cut", digits, on_epoch_end=crash)
    torch.rand(100)  # the process goes on drawing numbers; resume must not depend on it
    first = json.loads((tmp_path / "cut" / "log.json").read_text())
    assert first["epoch"] == [1, 2]
    resumed, h_res = _run(tmp_path, "cut", digits, resume=True)

    assert same_weights(weights(full), weights(resumed))  # bitwise, with Adam, cosine, dropout
    assert h_full.train_nll == h_res.train_nll and h_full.val_nll == h_res.val_nll
    assert h_full.lr == h_res.lr and h_res.epoch == [1, 2, 3, 4]
    assert h_full.best_epoch == h_res.best_epoch
    # resuming a finished run trains no more
    again, h_again = _run(tmp_path, "cut", digits, resume=True)
    assert same_weights(weights(again), weights(full)) and h_again.epoch == [1, 2, 3, 4]


def test_resume_rejects_another_model_or_other_settings(tmp_path, digits):
    xt = digits[0][:100]
    fit(TinyNADE(196, 8), xt, epochs=1, batch_size=50, device="cpu", checkpoint_dir=tmp_path,
        progress=False)
    assert (tmp_path / CHECKPOINT_NAME).exists()
    with pytest.raises(PgmArError, match=r"different model: 'V' has shape \(196, 8\) there but "
                                         r"\(196, 6\) here"):
        fit(TinyNADE(196, 6), xt, epochs=2, batch_size=50, device="cpu", checkpoint_dir=tmp_path,
            resume=True, progress=False)
    with pytest.raises(PgmArError, match="different model: it has 'V'"):
        fit(Coin(196), xt, epochs=2, batch_size=50, device="cpu", checkpoint_dir=tmp_path,
            resume=True, progress=False)
    with pytest.raises(PgmArError, match="lr=0.001, this run has lr=0.5"):
        fit(TinyNADE(196, 8), xt, epochs=1, batch_size=50, lr=0.5, device="cpu",
            checkpoint_dir=tmp_path, resume=True, progress=False)
    (tmp_path / CHECKPOINT_NAME).write_bytes(b"not a checkpoint")
    with pytest.raises(PgmArError, match="cannot read the checkpoint"):
        fit(TinyNADE(196, 8), xt, epochs=1, batch_size=50, device="cpu",
            checkpoint_dir=tmp_path, resume=True, progress=False)


def test_early_stopping_restores_the_best_weights(digits):
    xt, _, xv, _ = digits
    model = TinyNADE(196, 64)
    history = fit(model, xt[:40], xv[:300], epochs=60, batch_size=20, lr=0.03,
                  lr_schedule=None, early_stopping_patience=3, device="cpu", progress=False)
    assert history.stopped_early and len(history.epoch) < 60
    vals = history.val_nll
    best = min(range(len(vals)), key=vals.__getitem__)
    assert history.best_epoch == best + 1 and history.best_val_nll == vals[best]
    assert len(vals) == best + 1 + 3  # exactly `patience` epochs without improvement
    assert vals[-1] > vals[best]
    restored = evaluate(model, xv[:300], batch_size=20, device="cpu")["nll_nats"]
    assert restored == pytest.approx(history.best_val_nll, abs=1e-9)


def test_logs_and_plot(tmp_path, digits):
    xt, _, xv, _ = digits
    model = Coin(196)
    history = fit(model, xt[:200], xv[:100], epochs=3, batch_size=50, lr=0.1, device="cpu",
                  checkpoint_dir=tmp_path / "run", progress=False)
    rows = list(csv.DictReader((tmp_path / "run" / "log.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert set(rows[0]) == {"epoch", "train_nll", "val_nll", "lr", "seconds"}
    assert [float(r["val_nll"]) for r in rows] == history.val_nll
    logged = json.loads((tmp_path / "run" / "log.json").read_text())
    assert History.from_dict(logged) == history
    fit(Coin(196), xt[:100], epochs=2, batch_size=50, device="cpu", progress=False,
        log_path=tmp_path / "other" / "train.csv")
    no_val = list(csv.DictReader((tmp_path / "other" / "train.csv").open()))
    assert len(no_val) == 2 and no_val[0]["val_nll"] == ""
    assert json.loads((tmp_path / "other" / "train.json").read_text())["best_epoch"] is None
    png = history.plot(tmp_path / "curves.png", title="coin")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png", "other", "run"]


def test_same_seed_same_weights_on_every_data_path(digits):
    xt = digits[0][:300]

    def train(data=xt, seed=0, **kw):
        model = TinyNADE(196, 8)
        fit(model, data, epochs=2, batch_size=64, lr=0.01, device="cpu", seed=seed,
            progress=False, **kw)
        return weights(model)

    ref = train()
    assert same_weights(ref, train())
    assert not same_weights(ref, train(seed=1))
    assert same_weights(ref, train(preload=False))             # through a DataLoader
    assert same_weights(ref, train(preload=False, num_workers=1))
    assert same_weights(ref, train(TensorDataset(xt)))
    assert same_weights(ref, train(torch.utils.data.Subset(xt, range(300))))  # a plain Dataset


def test_dict_and_tuple_batches(digits):
    xt, yt, _, _ = digits
    a, b = ClassCoin(196), ClassCoin(196)
    fit(a, {"image": xt[:500], "label": yt[:500]}, epochs=2, batch_size=100, lr=0.1,
        device="cpu", progress=False)
    fit(b, TensorDataset(xt[:500], yt[:500]), epochs=2, batch_size=100, lr=0.1, device="cpu",
        progress=False)
    assert torch.equal(a.logits, b.logits)
    out = evaluate(a, {"image": xt[:500], "label": yt[:500]}, device="cpu", num_dims=196)
    assert out["bits_per_dim"] == pytest.approx(out["nll_nats"] / (196 * math.log(2)))
    with pytest.raises(DataError, match="column 'label'"):
        fit(ClassCoin(196), {"image": xt[:500], "label": yt[:400]}, epochs=1, device="cpu",
            progress=False)


def test_dataloader_and_epoch_aware_dataset(digits):
    xt = digits[0][:200]
    grey = (xt * 200 + 20).to(torch.uint8)
    ds = DynamicBinarizedDataset(grey, seed=0)
    history = fit(Coin(196), ds, epochs=3, batch_size=50, lr=0.1, device="cpu", progress=False)
    assert ds.epoch == 2 and len(history.epoch) == 3
    loader = DataLoader(ds, batch_size=40, shuffle=True)
    model = Coin(196)
    fit(model, loader, epochs=2, lr=0.1, device="cpu", progress=False)
    assert ds.epoch == 1 and float(model.logits.detach().abs().sum()) > 0


def test_bad_arguments(digits, monkeypatch):
    x = digits[0][:100]

    def run(model=None, data=x, **kw):
        args = dict(epochs=1, device="cpu", progress=False)
        args.update(kw)
        return fit(model if model is not None else Coin(196), data, **args)

    with pytest.raises(PgmArError, match="epochs=-1"):
        run(epochs=-1)
    with pytest.raises(PgmArError, match="batch_size=0"):
        run(batch_size=0)
    with pytest.raises(PgmArError, match="lr=0"):
        run(lr=0)
    with pytest.raises(PgmArError, match="unknown optimizer 'rmsprop'"):
        run(optimizer="rmsprop")
    with pytest.raises(PgmArError, match="unknown lr_schedule 'linear'"):
        run(lr_schedule="linear")
    with pytest.raises(PgmArError, match="needs the checkpoint_dir"):
        run(resume=True)
    with pytest.raises(PgmArError, match="needs validation data"):
        run(early_stopping_patience=2)
    with pytest.raises(PgmArError, match="unknown device 'tpu'|unsupported device 'tpu'"):
        run(device="tpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(PgmArError, match="no CUDA GPU"):
        run(device="cuda")
    monkeypatch.undo()
    with pytest.raises(PgmArError, match="Linear is not a torch.nn.Module with a log_prob"):
        run(model=nn.Linear(3, 1))
    with pytest.raises(DataError, match="type list"):
        run(data=[[0.0, 1.0]])

    class Wrong(Coin):
        def log_prob(self, x):
            return super().log_prob(x).sum()

    with pytest.raises(PgmArError, match=r"returned \(\) for a batch of 100"):
        run(model=Wrong(196))

    class Diverges(Coin):
        def log_prob(self, x):
            return super().log_prob(x) * float("nan")

    with pytest.raises(PgmArError, match="diverged in epoch 1"):
        run(model=Diverges(196))


def test_progress_bar_shows_nats_per_example_on_a_terminal(digits, monkeypatch, capsys):
    x = digits[0][:200]
    fit(Coin(196), x, epochs=1, batch_size=50, device="cpu")  # not a terminal: plain lines
    err = capsys.readouterr().err
    assert "\r" not in err and "epoch 1/1: train" in err      # no bar redraws in a log
    assert all(line.startswith("epoch 1/1: ") for line in err.splitlines())
    monkeypatch.setattr(__import__("sys").stderr, "isatty", lambda: True, raising=False)
    fit(Coin(196), x, digits[2][:50], epochs=2, batch_size=50, device="cpu")
    err = capsys.readouterr().err
    assert "nats/ex" in err and "epoch 2/2: train" in err and "val" in err
    fit(Coin(196), x, epochs=1, batch_size=50, device="cpu", progress=False)
    assert capsys.readouterr().err == ""


def test_log_prob_fn_scores_a_module_without_log_prob(digits):
    xt = digits[0][:200]

    class Scorer(nn.Module):  # scoring method under another name, as a distribution factory
        def __init__(self):
            super().__init__()
            self.inner = Coin(196)

        def score(self, x):
            return self.inner.log_prob(x)

    a, b = Scorer(), Coin(196)
    fit(a, xt, epochs=2, batch_size=50, lr=0.1, device="cpu", progress=False,
        log_prob_fn=lambda m, batch: m.score(batch))
    fit(b, xt, epochs=2, batch_size=50, lr=0.1, device="cpu", progress=False)
    assert torch.equal(a.inner.logits, b.logits)
    out = evaluate(a, xt, device="cpu", log_prob_fn=lambda m, batch: m.score(batch))
    assert out["nll_nats"] == pytest.approx(evaluate(b, xt, device="cpu")["nll_nats"])
