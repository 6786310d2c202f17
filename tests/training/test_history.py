"""History: CSV and JSON logs after every epoch (atomic, round-tripping), the penalty column,
and the training-curve plot."""
from __future__ import annotations

import csv
import json

from pgm_ar.training import History, fit

from .modules import Coin


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


def test_penalty_column_and_loss(tmp_path):
    h = History()
    h.append(1, train=3.0, val=None, lr=0.1, seconds=0.5, penalty=0.5)
    h.append(2, train=2.0, val=None, lr=0.1, seconds=0.5, penalty=0.25)
    assert h.loss == [2.5, 1.75]
    rows = list(csv.DictReader(h.to_csv(tmp_path / "h.csv").open()))
    assert [float(r["penalty"]) for r in rows] == [0.5, 0.25]
    # a closed-form fit has no learning rate; the plot and the logs take it
    closed = History()
    closed.append(1, train=2.0, val=1.5, lr=None, seconds=0.0)
    assert closed.loss == [2.0] and History.from_dict(json.loads(json.dumps(closed.to_dict()))) == closed
    assert closed.plot(tmp_path / "c.png").stat().st_size > 0


def test_histories_saved_before_the_penalty_column_still_load():
    old = {"epoch": [1, 2], "train_nll": [2.0, 1.0], "val_nll": [None, None], "lr": [0.1, 0.1],
           "seconds": [0.1, 0.1], "best_epoch": None, "best_val_nll": None,
           "stopped_early": False, "device": "cpu", "world_size": 1}
    h = History.from_dict(old)
    assert h.loss == [2.0, 1.0] and h.seed is None
    h.append(3, train=0.5, val=None, lr=0.1, seconds=0.1)
    assert h.penalty == [None, None, None] and h.loss == [2.0, 1.0, 0.5]
