"""The answer of an approximate query: marginals, and diagnostics that say how far to trust them.

(And the error a sampler raises when no sample agrees with the evidence:
:func:`no_support_error`.)

Every approximate method (:mod:`~pgm_ar.inference.approximate`) returns an
:class:`ApproximateResult`.  Sampling methods report an effective sample size
(how many independent exact draws the estimate is worth); loopy belief
propagation reports whether its messages converged, after how many
iterations, and the last change of a message.

>>> import torch
>>> r = ApproximateResult({"a": torch.tensor([0.25, 0.75], dtype=torch.float64)}, "loopy_bp",
...                       converged=True, iterations=3, max_change=0.0)
>>> r.diagnostics()
{'method': 'loopy_bp', 'converged': True, 'iterations': 3, 'max_change': 0.0}
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

import torch

from ..errors import ImpossibleEvidenceError, InferenceTooLargeError, PgmArError
from ..network import BayesNet
from .inputs import Tables
from .queries import log_evidence

__all__ = ["ApproximateResult", "QUERY_METHODS", "APPROXIMATE_METHODS", "no_support_error"]

#: every ``method=`` a query accepts; the approximate ones are the last three
QUERY_METHODS = ("exact", "likelihood_weighting", "gibbs", "loopy_bp")
#: the methods that work where exact inference is too large
APPROXIMATE_METHODS = QUERY_METHODS[1:]


@dataclass
class ApproximateResult:
    """Estimated posterior marginals and their diagnostics.

    Attributes
    ----------
    marginals
        ``{name: float64 tensor of shape (card,)}`` summing to one.
    method
        ``"likelihood_weighting"``, ``"gibbs"`` or ``"loopy_bp"``.
    num_samples
        Samples the estimate averages over (sampling methods).
    effective_sample_size
        Sampling methods: for likelihood weighting Kish's
        ``(sum w)^2 / sum w^2``; for Gibbs sampling the smallest, over the
        targets' states, of ``chains * per-draw variance / variance of the
        chain means`` (at most ``num_samples``).
    converged, iterations, max_change
        Loopy belief propagation: whether the largest change of a message in
        the last iteration fell below the tolerance, how many iterations ran,
        and that change.
    stuck_chains
        Gibbs sampling: chains in which no variable ever changed its state.
    extra
        Anything else a method reports (e.g. ``num_chains``, ``burn_in``).
    """

    marginals: Dict[str, torch.Tensor]
    method: str
    num_samples: Optional[int] = None
    effective_sample_size: Optional[float] = None
    converged: Optional[bool] = None
    iterations: Optional[int] = None
    max_change: Optional[float] = None
    stuck_chains: Optional[int] = None
    extra: Dict[str, Any] = field(default_factory=dict)

    def diagnostics(self) -> Dict[str, Any]:
        """The diagnostics as a plain dict (fields that do not apply left out)."""
        out: Dict[str, Any] = {"method": self.method}
        for key in ("num_samples", "effective_sample_size", "converged", "iterations",
                    "max_change", "stuck_chains"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        out.update(self.extra)
        return out


def no_support_error(net: BayesNet, tables: Tables, evidence, method: str, proposals: int
                     ) -> PgmArError:
    """The error for evidence that no forward sample reached: impossible where exact
    inference can tell (an :class:`ImpossibleEvidenceError`), else too unlikely."""
    named = dict(evidence or {})
    try:
        impossible = log_evidence(net, tables, named) == -math.inf
    except InferenceTooLargeError:
        impossible = None
    if impossible:
        return ImpossibleEvidenceError(named)
    return PgmArError(
        f"{method}: none of {proposals} forward samples agrees with the evidence {named}: it "
        f"is {'too unlikely' if impossible is False else 'impossible or too unlikely'} to "
        "sample from; try method='loopy_bp'")
