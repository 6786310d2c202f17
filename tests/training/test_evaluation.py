"""evaluate: mean NLL and bits per dimension against a direct computation."""
from __future__ import annotations

import math

import pytest
import torch

from pgm_ar.errors import PgmArError
from pgm_ar.training import evaluate

from .modules import Coin


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
    assert model.training  # evaluated in eval mode, the mode restored after
    with pytest.raises(PgmArError, match="batch_size=0"):
        evaluate(model, x, batch_size=0, device="cpu")
