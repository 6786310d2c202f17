"""Fit diagnostics: a :class:`~pgm_ar.errors.FitWarning`, with the numbers, when a gradient fit
is far from converged, got worse, or ends worse than a trivial baseline.

The baseline is the model that assumes nothing but independence: every variable on its own
with its maximum-likelihood marginal (category frequencies, a Gaussian with the column's mean
and variance, independent pixel frequencies), scored on the observed entries of the training
rows.  A network fitted by maximum likelihood contains that model (or comes arbitrarily close
to it), so ending above it means the optimisation failed, not the model.
"""
from __future__ import annotations

import math
from typing import Any, List, Mapping, Optional

import torch

from ..errors import FitWarning
from ..utils.warn import warn_at_caller
from .data import is_discrete_image

__all__ = ["independent_baseline", "check_loss", "check_baseline", "worse_than",
           "STILL_FALLING", "TOLERANCE"]

#: "far from converged": the last tenth of the epochs gave more than this share of the fall
STILL_FALLING = 0.05
#: nats per row (or this share of the value, if larger) that count as a real difference
TOLERANCE = 0.01


def independent_baseline(model: Any, columns: Mapping[str, torch.Tensor]) -> Optional[float]:
    """Mean NLL per row (nats) of independent maximum-likelihood marginals on the observed
    entries of ``columns``; ``None`` when some column has no such closed form here (images
    still in grey levels, continuous images, a constant real column)."""
    total, n = 0.0, None
    for name, x in columns.items():
        var = model.net.variable(name)
        n = int(x.shape[0]) if n is None else n
        if var.is_discrete_scalar:
            nll = _categorical_nll(x[x >= 0].long(), int(var.cardinality))
        elif is_discrete_image(var):
            if x.dtype.is_floating_point and bool((x != x.round()).any()):
                return None  # grey levels, binarized batch by batch
            nll = _pixel_nll(x.long().reshape(x.shape[0], -1), int(var.levels))
        elif not var.is_discrete and x.dim() == 1:
            var_ = float(x.double().var(unbiased=False)) if len(x) else 0.0
            if not var_ > 0:
                return None  # a constant column: any density can be made infinite
            nll = 0.5 * len(x) * math.log(2 * math.pi * math.e * var_)
        else:
            return None
        total += nll
    return None if not n else total / n


def _categorical_nll(codes: torch.Tensor, card: int) -> float:
    counts = torch.bincount(codes, minlength=card).double()
    seen = counts[counts > 0]
    return float(-(seen * torch.log(seen / seen.sum())).sum()) if len(seen) else 0.0


def _pixel_nll(x: torch.Tensor, levels: int) -> float:
    counts = torch.nn.functional.one_hot(x, levels).sum(0).double()    # (pixels, levels)
    probs = counts / counts.sum(-1, keepdim=True)
    return float(-(counts * torch.log(probs.clamp_min(1e-300))).sum())


def check_loss(loss: List[float], *, stopped_early: bool = False) -> None:
    """Warn (:class:`~pgm_ar.errors.FitWarning`) when the loss per epoch (``loss``, nats per
    row) ended above where it started, or was still falling fast at the end (the last tenth
    of the epochs gave over ``STILL_FALLING`` of the whole fall, and more than a
    thousandth of a nat per row and epoch; not after early stopping)."""
    epochs = len(loss)
    if epochs < 2:
        return
    first, last = loss[0], loss[-1]
    if last > first + _tol(first):
        _warn(f"the loss rose from {first:.4f} to {last:.4f} nats per row over {epochs} "
              "epochs: lower the learning rate")
    k = max(1, round(epochs / 10))
    recent, fall = loss[-1 - k] - last, first - last
    if (not stopped_early and fall > 0 and recent > STILL_FALLING * fall
            and recent / k > _tol(last) / 10):
        _warn(f"the fit is far from converged: the loss fell by {recent:.4g} nats per row "
              f"in the last {k} epoch{'s' if k > 1 else ''} ({100 * recent / fall:.0f}% of "
              f"its fall from {first:.4f} to {last:.4f}); train for more epochs or with a "
              "larger learning rate")


def worse_than(baseline: Optional[float], nll: float) -> bool:
    """Whether ``nll`` is worse than ``baseline`` by more than the tolerance."""
    return baseline is not None and nll > baseline + _tol(baseline)


def check_baseline(final_nll: float, baseline: Optional[float]) -> None:
    """Warn when the fitted model's training NLL is worse than the independent
    ``baseline`` (both nats per row on the same rows)."""
    if worse_than(baseline, final_nll):
        _warn(f"the fitted model's training NLL, {final_nll:.4f} nats per row, is worse than "
              f"{baseline:.4f} for independent marginals of the same columns: the optimisation "
              "did not fit the data (train longer, change the learning rate, or check the "
              "data)")


def _tol(value: float) -> float:
    return max(TOLERANCE, 1e-3 * abs(value))


def _warn(message: str) -> None:
    warn_at_caller(message, FitWarning)
