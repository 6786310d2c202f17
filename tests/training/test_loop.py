"""The training loop: convergence to a closed-form MLE (and MAP with a penalty), early
stopping, schedules, data forms, determinism and seeds, with small modules written here."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from pgm_ar.datasets import DynamicBinarizedDataset
from pgm_ar.errors import DataError, PgmArError
from pgm_ar.training import TrainConfig, evaluate, fit

from .modules import ClassCoin, Coin, TinyNADE, same_weights, weights


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


def test_penalty_gives_the_closed_form_map_and_is_recorded():
    # independent coins with a Beta(a, a) prior on each probability: the MAP is
    # (k + a - 1) / (n + 2a - 2), and the objective per example is NLL - log prior / n
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(40, 4, generator=g) < torch.tensor([0.1, 0.3, 0.6, 0.95])).float()
    a = 4.0
    model = Coin(4)

    def log_prior():
        logp, log1mp = nn.functional.logsigmoid(model.logits), nn.functional.logsigmoid(-model.logits)
        return (a - 1) * (logp + log1mp).sum()

    history = fit(model, x, epochs=300, batch_size=40, lr=0.05, lr_schedule=None, device="cpu",
                  progress=False, penalty_fn=log_prior)
    k, n = x.sum(0).double(), len(x)
    map_p = (k + a - 1) / (n + 2 * a - 2)
    assert torch.allclose(torch.sigmoid(model.logits.detach().double()), map_p, atol=2e-3)
    with torch.no_grad():
        nll = float(-model.log_prob(x).double().mean())
        penalty = float(log_prior()) / n
    assert history.penalty[-1] == pytest.approx(penalty, abs=1e-6)
    assert history.loss[-1] == pytest.approx(history.train_nll[-1] - history.penalty[-1])
    assert history.loss[-1] == pytest.approx(nll - penalty, abs=1e-4)
    # without the penalty: the MLE, farther from the prior's centre
    plain = Coin(4)
    fit(plain, x, epochs=300, batch_size=40, lr=0.05, lr_schedule=None, device="cpu",
        progress=False)
    mle = torch.sigmoid(plain.logits.detach().double())
    assert torch.allclose(mle, (k / n).clamp(0.02, 0.98), atol=0.03)
    assert float((mle - 0.5).abs().sum()) > float((map_p - 0.5).abs().sum())


def test_exponential_and_step_schedules(digits):
    x = digits[0][:100]
    h = fit(Coin(196), x, epochs=4, batch_size=50, lr=0.1, lr_schedule="exponential",
            lr_gamma=0.5, device="cpu", progress=False)
    assert h.lr == pytest.approx([0.1, 0.05, 0.025, 0.0125])
    h = fit(Coin(196), x, epochs=4, batch_size=50, lr=0.1, lr_schedule="Step", lr_step_size=2,
            lr_gamma=0.5, device="cpu", progress=False)
    assert h.lr == pytest.approx([0.1, 0.1, 0.05, 0.05])
    h = fit(Coin(196), x, epochs=2, batch_size=50, lr=0.1, lr_schedule="constant",
            device="cpu", progress=False)
    assert h.lr == [0.1, 0.1]


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


def test_seed_none_is_fresh_and_the_drawn_seed_repeats_the_run(digits):
    xt = digits[0][:200]

    def train(seed):
        model = TinyNADE(196, 8, dropout=0.2)
        h = fit(model, xt, epochs=2, batch_size=50, lr=0.01, device="cpu", seed=seed,
                progress=False)
        return weights(model), h

    a, ha = train(None)
    b, hb = train(None)
    assert ha.seed != hb.seed and not same_weights(a, b)
    again, h_again = train(ha.seed)  # the seed a fresh run drew gives that run again
    assert same_weights(a, again) and h_again.train_nll == ha.train_nll
    assert train(7)[1].seed == 7


def test_a_config_or_keywords_give_the_same_run(digits):
    xt = digits[0][:200]
    cfg = TrainConfig(epochs=2, batch_size=50, lr=0.05, device="cpu", progress=False, seed=3)
    a, b, c = Coin(196), Coin(196), Coin(196)
    fit(a, xt, config=cfg)
    fit(b, xt, epochs=2, batch_size=50, lr=0.05, device="cpu", progress=False, seed=3)
    assert torch.equal(a.logits, b.logits)
    h = fit(c, xt, config=cfg, epochs=1)  # keywords override the config's fields
    assert h.epoch == [1]
    with pytest.raises(PgmArError, match="unknown training setting 'epoch' .*'epochs'"):
        fit(Coin(196), xt, epoch=2)
    with pytest.raises(PgmArError, match="config must be a TrainConfig"):
        fit(Coin(196), xt, config={"epochs": 2})


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


def test_float64_scores_stay_float64(digits):
    # an exact (float64) model's per-example scores are summed in float64, not rounded to
    # float32 on the way: the loop's training NLL is the model's own to ~1e-12
    x = digits[0][:100].double()
    model = Coin(196).double()
    h = fit(model, x, epochs=1, batch_size=100, lr=1e-12, lr_schedule=None, device="cpu",
            progress=False)
    with torch.no_grad():
        direct = float(-Coin(196).double().log_prob(x).mean())
    assert abs(h.train_nll[0] - direct) < 1e-10


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
