"""No silent garbage from the Python API: a diverging fit stops (non-finite loss or weights)
or warns (a loss exploding against its start) with the epoch and the numbers, and data with
no observed value is refused with its columns."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import pgm_ar
from pgm_ar.errors import DataError, FitWarning, PgmArError
from pgm_ar.training import fit


@pytest.fixture(scope="module")
def asia_rows():
    return pgm_ar.compile(pgm_ar.example_network("asia")).sample(300, seed=1)


def _fit_catching(model, rows, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(rows, progress=False, device="cpu", **kw)
    return history, [str(w.message) for w in caught if issubclass(w.category, FitWarning)]


def test_exploding_svi_warns_with_the_epoch_and_the_loss(asia_rows):
    given = pgm_ar.example_network("asia")
    net = pgm_ar.BayesNet(given.variables, given.edges)  # no CPTs: uniform tables to start
    history, texts = _fit_catching(pgm_ar.compile(net), asia_rows, method="svi", lr=1e30,
                                   epochs=3, batch_size=100)
    diverged = [t for t in texts if t.startswith("training diverged")]
    assert len(diverged) == 1, texts
    m = re.search(r"in epoch (\d+): the mean training NLL rose to (\S+) nats per example from "
                  r"(\S+) on the first batch", diverged[0])
    assert m, diverged[0]
    epoch, value, start = int(m.group(1)), float(m.group(2)), float(m.group(3))
    # the numbers are the history's, and the start is the loss of the untrained model: the
    # uniform tables give every complete asia row probability 2^-8
    assert value == pytest.approx(history.train_nll[epoch - 1], rel=1e-5)
    assert start == pytest.approx(8 * np.log(2), rel=1e-5)
    assert "lr=1e+30" in diverged[0]
    # a sane learning rate does not warn of divergence
    _, texts = _fit_catching(pgm_ar.compile(net), asia_rows, method="svi", lr=0.05, epochs=3,
                             batch_size=100)
    assert not any(t.startswith("training diverged") for t in texts)


class _Overflow(nn.Module):
    """NLL ``(w - x)^2 * 1e38`` in float32: overflows to ``inf`` once ``w`` moves away."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))

    def log_prob(self, x):
        return -((self.w - x) ** 2) * 1e38


class _Saturated(nn.Module):
    """A finite NLL whatever ``w`` is (``tanh`` saturates): only the weights show the
    divergence."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))

    def log_prob(self, x):
        return -(10 * torch.tanh(self.w) - x) ** 2


def test_non_finite_loss_stops_naming_the_epoch():
    x = torch.full((20,), 3.0)
    with pytest.raises(PgmArError, match=r"training diverged in epoch 1: the mean training "
                                         r"NLL is inf nats per example; lower the learning "
                                         r"rate \(lr=1\)"):
        fit(_Overflow(), x, epochs=3, batch_size=10, lr=1.0, optimizer="sgd",
            device="cpu", progress=False)


def test_non_finite_weights_stop_naming_the_parameter():
    x = torch.full((20,), 5.0)
    model = _Saturated()
    with pytest.raises(PgmArError, match=r"epoch 1: parameter 'w' holds non-finite values"):
        fit(model, x, epochs=3, batch_size=20, lr=1e38, optimizer="sgd", lr_schedule=None,
            device="cpu", progress=False)
    assert not torch.isfinite(model.w)  # what the message says (independently checked)
    assert torch.isfinite(-model.log_prob(x)).all()  # though the loss stays finite
    # a step size no float32 weight can take is refused before any step
    with pytest.raises(PgmArError, match=r"lr=1e\+300 is over the largest torch.float32"):
        fit(_Saturated(), x, epochs=1, lr=1e300, device="cpu", progress=False)


def test_all_missing_data_refused_with_its_columns(asia_rows):
    net = pgm_ar.example_network("asia")
    empty = pd.DataFrame({c: [None] * 4 for c in ("smoke", "dysp")})
    for method in ("auto", "svi", "counts"):
        with pytest.raises(DataError, match=r"every value is missing \(4 rows\) in the "
                                            r"columns smoke, dysp"):
            pgm_ar.compile(net).fit(empty, method=method, epochs=1, progress=False)
    # a column given but wholly missing is fitted as latent, with a warning naming it
    partly = asia_rows.copy()
    partly["smoke"] = np.nan
    _, texts = _fit_catching(pgm_ar.compile(net), partly, method="svi", epochs=1,
                             batch_size=300)
    assert any("the column smoke has no observed value in any of the 300 rows" in t
               for t in texts), texts
