"""Progress reporting: plain lines in logs and pipes, nothing with ``--no-progress``."""
from __future__ import annotations

import io

import torch

from pgm_ar.utils import progress as progress_mod
from pgm_ar.utils.progress import LineProgress, progress


class FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_lines_come_every_few_seconds_with_the_count_and_the_time():
    clock, out = FakeClock(), io.StringIO()
    p = LineProgress(10_000, "evaluate", unit="images", every=10, stream=out, clock=clock)
    for step in range(20):            # 500 images per 3 s: lines at 12, 24, 36, 48 (and 60)
        clock.t += 3
        p.update(500)
    p.close()
    lines = out.getvalue().splitlines()
    expected = []
    last, n, t = 0.0, 0, 0
    for _ in range(20):               # the same schedule, computed independently
        t += 3
        n += 500
        if t - last >= 10:
            last = t
            expected.append(f"evaluate: {n}/10000 images, {t} s")
    expected.append(f"evaluate: 10000/10000 images, {t} s")
    assert lines == expected


def test_quick_work_prints_nothing_and_close_is_idempotent():
    clock, out = FakeClock(), io.StringIO()
    p = LineProgress(5, "fit", every=10, stream=out, clock=clock)
    p.update(5)
    p.close()
    p.close()
    assert out.getvalue() == ""


def test_disabled_is_silent_and_a_terminal_gets_a_bar():
    assert progress(10, "x", enabled=False) is None

    class Tty(io.StringIO):
        def isatty(self):
            return True

    bar = progress(10, "x", stream=Tty())
    assert type(bar).__name__ == "tqdm"
    bar.close()
    assert isinstance(progress(10, "x", stream=io.StringIO()), LineProgress)


def test_evaluate_prints_progress_lines_when_not_on_a_terminal(monkeypatch, capsys):
    from pgm_ar.cli_model import evaluate_images
    from pgm_ar.io import load_spec
    from pgm_ar.model import compile
    from conftest import REPO

    spec = load_spec(REPO / "examples" / "specs" / "digit14_nade.yaml")
    torch.manual_seed(0)
    model = compile(spec.network, spec.conditionals)
    x = torch.randint(0, 2, (40, 1, 14, 14))
    data = {"digit": x, "label": torch.arange(40) % 10}
    monkeypatch.setattr(progress_mod, "DEFAULT_EVERY", 0.0)   # a line at every batch
    evaluate_images(model, data, batch_size=20, progress=True)
    err = capsys.readouterr().err.splitlines()
    # 2 batches x 10 label values of 20 images = 20 updates, then the closing line
    assert len(err) == 21
    assert err[0].startswith("evaluate (10 labels each): 20/400 img, ")
    assert err[-1].startswith("evaluate (10 labels each): 400/400 img, ")
    evaluate_images(model, data, batch_size=20, progress=False)
    assert capsys.readouterr().err == ""


def test_postfix_goes_at_the_end_of_the_lines():
    clock, out = FakeClock(), io.StringIO()
    p = LineProgress(4, "epoch 1/2", unit="batch", every=5, stream=out, clock=clock)
    p.set_postfix_str("95.125 nats/ex")
    clock.t += 6
    p.update(1)
    p.set_postfix(loss="1.5")
    clock.t += 6
    p.update(1)
    assert out.getvalue().splitlines() == ["epoch 1/2: 1/4 batch, 6 s, 95.125 nats/ex",
                                           "epoch 1/2: 2/4 batch, 12 s, loss=1.5"]


def test_training_prints_epoch_progress_lines_in_a_log(monkeypatch, capsys):
    from pgm_ar import Bernoulli, BayesNet, compile

    monkeypatch.setattr(progress_mod, "DEFAULT_EVERY", 0.0)
    model = compile(BayesNet([Bernoulli("a"), Bernoulli("b")], [("a", "b")]))
    data = {"a": torch.tensor([0, 1, 1, 0] * 25), "b": torch.tensor([0, 1, 0, 0] * 25)}
    model.fit(data, method="train", epochs=2, batch_size=50, lr=0.1, progress=True)
    err = capsys.readouterr().err.splitlines()
    # 2 batches per epoch: a line per batch, a closing line and the epoch's summary
    assert [ln.split(":")[0] for ln in err] == ["epoch 1/2"] * 4 + ["epoch 2/2"] * 4
    assert err[1].startswith("epoch 1/2: 2/2 batch, ") and err[1].endswith(" nats/ex")
    assert err[3].startswith("epoch 1/2: train ") and err[3].endswith(" nats/example")
    model.fit(data, method="train", epochs=1, batch_size=50, lr=0.1, progress=False)
    assert capsys.readouterr().err == ""
