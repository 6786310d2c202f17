"""Approximate posterior marginals, for networks too dense for exact inference.

Three methods, each with its own diagnostics (:class:`ApproximateResult`):

* ``"likelihood_weighting"`` -- forward samples with the evidence clamped,
  weighted by its likelihood (:func:`~pgm_ar.inference.likelihood_weighting`);
  unbiased and simple, but the effective sample size collapses when the
  evidence is unlikely.
* ``"gibbs"`` -- Markov chains redrawing one variable at a time from its
  Markov blanket (:func:`~pgm_ar.inference.gibbs_sampling`); copes with
  unlikely evidence, but zeros in the CPTs can stop chains from mixing.
* ``"loopy_bp"`` -- belief propagation on the factor graph
  (:func:`~pgm_ar.inference.loopy_belief_propagation`); deterministic and
  fast, exact on polytrees, biased on networks with many short cycles.

:func:`approximate_query` runs any of them by name; :func:`check_method`
validates a ``method=`` argument (``"exact"`` included) with a did-you-mean
hint; :func:`approximate_answer` gives the ``{state: probability}`` answer of
``model.query(..., method=...)``, with a warning where the diagnostics say
the answer is rough.

>>> import torch
>>> from pgm_ar import BayesNet, Bernoulli, TabularCPD
>>> from pgm_ar.inference import tables_from_net
>>> net = BayesNet([Bernoulli("rain"), Bernoulli("wet")], [("rain", "wet")],
...                cpds={"rain": TabularCPD("rain", (), [0.8, 0.2]),
...                      "wet": TabularCPD("wet", ("rain",), [[0.9, 0.1], [0.2, 0.8]])})
>>> r = approximate_query(net, tables_from_net(net), "rain", {"wet": 1}, method="loopy_bp")
>>> [round(p, 4) for p in r.marginals["rain"].tolist()]
[0.3333, 0.6667]
>>> check_method("gibs")
Traceback (most recent call last):
...
pgm_ar.errors.PgmArError: unknown inference method 'gibs' (did you mean 'gibbs'?); the methods are 'exact', 'likelihood_weighting', 'gibbs', 'loopy_bp'
"""
from __future__ import annotations

import warnings
from typing import Any, Dict, Mapping, Optional, Sequence, Union

import torch

from ..errors import PgmArError
from ..network import BayesNet
from ..utils.seeding import SeedLike, torch_generator
from ..utils.suggest import did_you_mean
from .estimates import (APPROXIMATE_METHODS, QUERY_METHODS, ApproximateResult,
                        no_support_error)
from .gibbs import gibbs_sampling
from .inputs import Evidence, Tables, check_sample_count
from .loopy_bp import loopy_belief_propagation
from .sampling import likelihood_weighting
from .structure import network_structure
from .queries import target_indices

__all__ = ["approximate_query", "approximate_answer", "check_method", "Marginals",
           "QUERY_METHODS", "APPROXIMATE_METHODS"]

#: the options each approximate method takes beside the common ones
_OPTIONS = {"likelihood_weighting": (), "gibbs": ("num_chains", "burn_in", "thin"),
            "loopy_bp": ("damping", "tol", "max_iterations")}


def check_method(method: object, discrete: bool = True) -> str:
    """``method`` if it names a query method, else a :class:`PgmArError` with a did-you-mean.

    Parameters
    ----------
    method
        ``"exact"``, ``"likelihood_weighting"``, ``"gibbs"`` or ``"loopy_bp"``.
    discrete
        Whether the network is all discrete; with real variables only
        ``"exact"`` (answered by likelihood weighting there) and
        ``"likelihood_weighting"`` work.

    >>> check_method("loopy_bp")
    'loopy_bp'
    """
    if not isinstance(method, str) or method not in QUERY_METHODS:
        raise PgmArError(f"unknown inference method {method!r}{did_you_mean(method, QUERY_METHODS)}"
                         f"; the methods are {', '.join(repr(m) for m in QUERY_METHODS)}")
    if not discrete and method in ("gibbs", "loopy_bp"):
        raise PgmArError(f"method {method!r} needs a network of discrete variables only; with "
                         "real variables use method='likelihood_weighting'")
    return method


def approximate_query(net: BayesNet, tables: Tables, target: Union[str, Sequence[str]],
                      evidence: Optional[Evidence] = None, method: str = "loopy_bp",
                      num_samples: int = 100_000, generator: Optional[torch.Generator] = None,
                      **options: Any) -> ApproximateResult:
    """Posterior marginals of ``target`` given ``evidence`` by an approximate method.

    Parameters
    ----------
    net, tables
        A network of discrete scalar variables and its tables.
    target
        A variable name or a list of names.
    evidence
        ``{name: state}`` (indices or state names).
    method
        ``"likelihood_weighting"``, ``"gibbs"`` or ``"loopy_bp"``.
    num_samples
        Samples for the sampling methods (ignored by ``"loopy_bp"``).
    generator
        Randomness of the sampling methods; same seed, same answer.
    **options
        ``gibbs``: ``num_chains``, ``burn_in``, ``thin``; ``loopy_bp``:
        ``damping``, ``tol``, ``max_iterations``.

    Returns
    -------
    ApproximateResult
        The marginals and the method's diagnostics.

    Raises
    ------
    PgmArError
        For an unknown method or option (naming it), unknown names or states;
        :class:`~pgm_ar.errors.ImpossibleEvidenceError` for evidence that
        cannot happen.
    """
    method = check_method(method)
    if method == "exact":
        raise PgmArError("approximate_query runs 'likelihood_weighting', 'gibbs' or "
                         "'loopy_bp'; for exact marginals call pgm_ar.inference.query")
    for key in options:
        if key not in _OPTIONS[method]:
            known = _OPTIONS[method]
            raise PgmArError(f"{method}: unknown option {key!r}{did_you_mean(key, known)}; "
                             f"it takes {', '.join(known) or 'no options beside num_samples'}")
    if method == "loopy_bp":
        return loopy_belief_propagation(net, tables, target, evidence, **options)
    if method == "gibbs":
        return gibbs_sampling(net, tables, target, evidence, num_samples, generator=generator,
                              **options)
    return _weighted_marginals(net, tables, target, evidence, num_samples, generator)


def _weighted_marginals(net: BayesNet, tables: Tables, target, evidence, num_samples: int,
                        generator: Optional[torch.Generator]) -> ApproximateResult:
    """Likelihood weighting's marginals: weighted state frequencies of the targets."""
    st = network_structure(net)
    targets, _ = target_indices(st, target)
    n = check_sample_count(num_samples)
    if n < 1:
        raise PgmArError("likelihood_weighting needs num_samples >= 1")
    try:
        values, logw, ess = likelihood_weighting(net, tables, n, evidence or {}, generator)
    except PgmArError as exc:
        if "zero weight" not in str(exc):
            raise
        raise no_support_error(net, tables, evidence, "likelihood_weighting", n) from None
    w = torch.softmax(logw.double().cpu(), 0)
    marginals = {}
    for t in dict.fromkeys(targets):
        name = st.names[t]
        p = torch.zeros(st.cards[t], dtype=torch.float64)
        p.index_add_(0, values[name].cpu().long(), w)
        marginals[name] = p
    return ApproximateResult(marginals, "likelihood_weighting", num_samples=n,
                             effective_sample_size=min(float(ess), float(n)))  # rounding


class Marginals(dict):
    """The ``{state: p}`` (or ``{target: {state: p}}``) answer of an approximate query, with the
    method's diagnostics in ``.diagnostics`` (a plain dict otherwise)."""

    diagnostics: Dict[str, Any]


def approximate_answer(net: BayesNet, tables: Tables, target: Union[str, Sequence[str]],
                       evidence: Optional[Mapping[str, Any]], method: str,
                       num_samples: int = 100_000, seed: SeedLike = 0) -> Marginals:
    """The answer of ``model.query(target, evidence, method=...)`` for an approximate method.

    State names as keys (``{state: p}`` for one target, ``{target: {state: p}}`` for a list),
    a :class:`Marginals` whose ``.diagnostics`` are those of :class:`ApproximateResult`;
    a ``RuntimeWarning`` when the effective sample size is small (below a tenth of the
    samples, at most 1000) or belief propagation did not converge.
    """
    single = isinstance(target, str)
    result = approximate_query(net, tables, target, evidence, method, num_samples,
                               generator=torch_generator(seed))
    ess = result.effective_sample_size
    if ess is not None and evidence and ess < min(1000.0, 0.1 * (result.num_samples or 0)):
        warnings.warn(f"{method}: effective sample size {ess:.1f} from {result.num_samples} "
                      "samples; the answer is a rough estimate (raise num_samples, or try "
                      "another method)", RuntimeWarning, stacklevel=3)
    out = Marginals()
    for name, p in result.marginals.items():
        out[name] = dict(zip(net.variable(name).states, (float(x) for x in p)))
    if single:
        out = Marginals(out[target])
    out.diagnostics = result.diagnostics()
    return out
