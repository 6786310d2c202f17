"""Checkpoints: resume gives the weights of an uninterrupted run bitwise (Adam, cosine,
dropout, dynamic binarization), and refuses another model, other settings or another file."""
from __future__ import annotations

import json

import pytest
import torch

from pgm_ar.datasets import DynamicBinarization
from pgm_ar.errors import PgmArError
from pgm_ar.training import CHECKPOINT_NAME, fit

from .modules import Coin, TinyNADE, same_weights, weights


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


def _crash_at(at):
    def crash(epoch, history):
        if epoch == at:
            raise Interrupted
    return crash


def test_resume_gives_the_weights_of_an_uninterrupted_run(tmp_path, digits):
    full, h_full = _run(tmp_path, "full", digits)
    with pytest.raises(Interrupted):
        _run(tmp_path, "cut", digits, on_epoch_end=_crash_at(2))
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


def test_a_run_with_a_fresh_seed_resumes_with_the_seed_it_drew(tmp_path, digits):
    with pytest.raises(Interrupted):
        _run(tmp_path, "cut", digits, seed=None, on_epoch_end=_crash_at(2))
    drawn = json.loads((tmp_path / "cut" / "log.json").read_text())["seed"]
    resumed, h_res = _run(tmp_path, "cut", digits, seed=None, resume=True)
    full, h_full = _run(tmp_path, "full", digits, seed=drawn)
    assert h_res.seed == drawn and same_weights(weights(full), weights(resumed))
    with pytest.raises(PgmArError, match=f"seed: {drawn} in the checkpoint, {drawn + 1} in this run"):
        _run(tmp_path, "cut", digits, seed=drawn + 1, resume=True)


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
    with pytest.raises(PgmArError, match="lr: 0.001 in the checkpoint, 0.5 in this run"):
        fit(TinyNADE(196, 8), xt, epochs=1, batch_size=50, lr=0.5, device="cpu",
            checkpoint_dir=tmp_path, resume=True, progress=False)
    (tmp_path / CHECKPOINT_NAME).write_bytes(b"not a checkpoint")
    with pytest.raises(PgmArError, match="cannot read the checkpoint"):
        fit(TinyNADE(196, 8), xt, epochs=1, batch_size=50, device="cpu",
            checkpoint_dir=tmp_path, resume=True, progress=False)
