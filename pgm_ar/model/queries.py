"""Questions to a compiled model: posterior marginals and most probable states.

All-discrete networks are answered exactly by :mod:`pgm_ar.inference` on the model's CPTs
(for non-tabular families, the CPT obtained by evaluating the conditional on every parent
configuration); networks with real variables by likelihood weighting, with a warning when the
effective sample size is small.
"""
from __future__ import annotations

import warnings
from typing import Any, Dict, Mapping, Optional, Sequence, Union

import torch

from .. import inference
from ..errors import PgmArError
from ..learning.posterior_fit import model_credible_query
from ..tabular_data import parse_evidence
from ..utils.seeding import torch_generator
from .modes import in_eval_mode

__all__ = ["QueryMixin"]


class QueryMixin:
    """Queries (a mixin of :class:`~pgm_ar.model.CompiledModel`)."""

    @in_eval_mode
    def query(self, target: Union[str, Sequence[str]], evidence: Optional[Mapping[str, Any]] = None,
              num_samples: int = 100_000, seed: Optional[int] = 0, method: str = "exact",
              credible: Optional[float] = None):
        """Posterior marginal ``p(target | evidence)`` as ``{state: probability}``.

        Exact (variable elimination) for all-discrete networks; with real variables, an
        estimate by likelihood weighting from ``num_samples`` samples (warns when the
        effective sample size is small).  A list of targets gives ``{target: {state: p}}``.
        Evidence values are state names or indices (numbers for real variables).
        ``method="likelihood_weighting"``, ``"gibbs"`` or ``"loopy_bp"`` estimates the
        marginals instead (networks too dense for exact inference; see
        :mod:`pgm_ar.inference.approximate`): ``num_samples`` and ``seed`` drive the sampling
        methods, and the answer's ``.diagnostics`` hold the effective sample size or whether
        belief propagation converged.

        With ``credible`` (a level in (0, 1), e.g. ``0.9``) on a model fitted with a
        Dirichlet prior (``fit(data, prior="bdeu")``), each state's answer is a
        :class:`~pgm_ar.learning.Credible` ``(estimate, lo, hi)``: this answer and the
        equal-tailed interval of the exact answers under 1000 CPT sets drawn from the
        posterior with ``seed`` (:mod:`pgm_ar.learning.credible`).
        """
        if credible is not None:
            if method != "exact":
                raise PgmArError(f"credible intervals come from exact answers under posterior "
                                 f"draws of the CPTs; drop method={method!r} or credible")
            return model_credible_query(self, target, evidence, credible, seed=seed)
        single = isinstance(target, str)
        targets = [target] if single else _target_list(target)
        for t in targets:
            var = self.net.variable(t)
            if not var.is_discrete_scalar:
                raise PgmArError(f"query target {t!r} is not discrete; use sample(...) for "
                                 "real or image variables")
        ev = parse_evidence(self.net, evidence)
        method = inference.check_method(method, discrete=self.all_discrete)
        if self.all_discrete and method != "exact":
            return inference.approximate_answer(self.net, self.tables(), target, ev, method,
                                                num_samples, seed)
        if self.all_discrete:
            res = inference.query(self.net, self.tables(), targets, ev)
            out = {t: dict(zip(self.net.variable(t).states, (float(p) for p in res[t])))
                   for t in targets}
        else:
            gen = torch_generator(seed)
            vals, logw = self._ancestral(int(num_samples), ev, gen, seed)
            if torch.isneginf(logw).all():
                raise PgmArError(f"every sample has zero weight: evidence {dict(ev)} is "
                                 "impossible or too unlikely for likelihood weighting")
            w = torch.softmax(logw.cpu(), 0)
            ess = inference.effective_sample_size(logw)
            if ev and ess < 1000:
                warnings.warn(f"likelihood weighting: effective sample size {ess:.1f}; the "
                              "answer is a rough estimate (raise num_samples)", RuntimeWarning,
                              stacklevel=2)
            out = {}
            for t in targets:
                var = self.net.variable(t)
                probs = torch.zeros(int(var.cardinality), dtype=torch.float64)
                probs.index_add_(0, vals[t].cpu().long(), w)
                out[t] = dict(zip(var.states, probs.tolist()))
        return out[targets[0]] if single else out

    @in_eval_mode
    def map_query(self, targets: Optional[Union[str, Sequence[str]]] = None,
                  evidence: Optional[Mapping[str, Any]] = None) -> Dict[str, str]:
        """The most probable states ``{name: state}``: of all non-evidence variables (MPE) when
        ``targets`` is ``None``, else of the targets with the others summed out (exact;
        all-discrete networks)."""
        if not self.all_discrete:
            raise PgmArError("map_query needs a network of discrete variables only")
        ev = parse_evidence(self.net, evidence)
        tl = [targets] if isinstance(targets, str) else targets
        res = inference.map_query(self.net, self.tables(), tl, ev)
        return {k: self.net.variable(k).states[v] for k, v in res.items()}


def _target_list(target: Any) -> list:
    """Query targets as a list of names; anything else is a PgmArError (not a TypeError)."""
    if target is None:
        raise PgmArError("no target variable given: name one, or a list of names")
    try:
        out = list(target)
    except TypeError:
        raise PgmArError(f"a query target must be a variable name or a list of names, got "
                         f"{type(target).__name__} {target!r}") from None
    bad = next((t for t in out if not isinstance(t, str)), None)
    if bad is not None:
        raise PgmArError(f"a query target must be a variable name, got {bad!r}")
    return out
