"""Progress: a bar with nats per example on a terminal, plain lines in logs and pipes, nothing
with progress=False."""
from __future__ import annotations

from pgm_ar.training import fit

from .modules import Coin


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
