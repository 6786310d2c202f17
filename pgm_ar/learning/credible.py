"""Credible intervals on query answers, from posterior samples of the CPTs.

A query answer ``p(target | evidence)`` is a function of the CPTs; under a
:class:`~pgm_ar.learning.priors.DirichletPosterior` the CPTs are uncertain, so the answer is
too.  Its credible interval is read off the answers of many CPT sets drawn from the posterior:
each draw's exact answer (variable elimination), then the equal-tailed quantiles per state.

The draws are answered together: the elimination plan of the query (cached per network and
kind of query, :mod:`pgm_ar.inference.plan`) is run once with one extra einsum axis over the
draws, so 1000 draws cost about one numpy einsum per step rather than 1000 queries.  A draw
whose answer underflows (evidence far below ``1e-250``) is answered alone by
:func:`pgm_ar.inference.query`, which rescales.

>>> import torch
>>> from pgm_ar import BayesNet, Bernoulli
>>> from pgm_ar.learning import DirichletPosterior
>>> net = BayesNet([Bernoulli("coin")])
>>> post = DirichletPosterior.from_data(net, {"coin": torch.tensor([1] * 30 + [0] * 10)},
...                                     prior="k2")
>>> ans = credible_query(post, "coin", credible=0.9, num_samples=2000, seed=0)
>>> ans["1"].estimate == 31 / 42, ans["1"].lo < 31 / 42 < ans["1"].hi
(True, True)
"""
from __future__ import annotations

import numbers
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Union

import numpy as np
import torch

from .. import inference
from ..errors import PgmArError
from ..inference.elimination import UNDERFLOW, multiply_out
from ..inference.inputs import checked_evidence
from ..inference.plan import SUM, Plan, marginal_plan
from ..inference.structure import network_structure
from ..tabular_data import parse_evidence
from ..utils.seeding import SeedLike
from .priors import DirichletPosterior

__all__ = ["Credible", "CREDIBLE_SAMPLES", "credible_query", "marginal_draws", "needed_tables"]

#: posterior CPT sets drawn for one credible query by default
CREDIBLE_SAMPLES = 1000
#: the einsum label of the draws' axis (numpy labels are 0..51; a plan's step uses far fewer)
_DRAW_LABEL = 51


class Credible(NamedTuple):
    """One state's answer: the point ``estimate`` and the credible interval ``(lo, hi)``."""

    estimate: float
    lo: float
    hi: float


def check_credible(credible: Any) -> float:
    """``credible`` as a float in (0, 1), else a :class:`PgmArError`."""
    if isinstance(credible, bool) or not isinstance(credible, numbers.Real) \
            or not 0.0 < float(credible) < 1.0:
        raise PgmArError(f"credible={credible!r}: the credible level must be a number "
                         "strictly between 0 and 1 (e.g. 0.9 for a 90% interval)")
    return float(credible)


def credible_query(posterior: DirichletPosterior, target: Union[str, Sequence[str]],
                   evidence: Optional[Mapping[str, Any]] = None, credible: float = 0.9, *,
                   num_samples: int = CREDIBLE_SAMPLES, seed: SeedLike = 0,
                   estimate: Optional[Mapping[str, Mapping[str, float]]] = None):
    """``p(target | evidence)`` per state with its equal-tailed credible interval.

    Parameters
    ----------
    posterior
        The CPTs' posterior.
    target
        A variable name or a list of names.
    evidence
        ``{name: state name or index}``.
    credible
        The interval's probability, in (0, 1): ``0.9`` gives the 5% and 95% quantiles.
    num_samples
        CPT sets drawn from the posterior (more: steadier interval ends).
    seed
        ``None`` (fresh entropy), an integer or a :class:`torch.Generator`; the same integer
        gives the same intervals.
    estimate
        ``{target: {state: p}}``, the point estimates to report; default: the answer on the
        posterior's own point estimate (:meth:`DirichletPosterior.tables`).

    Returns
    -------
    dict
        ``{state: Credible(estimate, lo, hi)}``; for a list of targets
        ``{target: {state: Credible}}``.
    """
    level = check_credible(credible)
    net = posterior.net
    single = isinstance(target, str)
    targets = [target] if single else list(target)
    ev = parse_evidence(net, evidence)
    if estimate is None:
        res = inference.query(net, posterior.tables(), targets, ev)
        estimate = {t: dict(zip(net.variable(t).states, (float(p) for p in res[t])))
                    for t in targets}
    needed = needed_tables(net, targets, ev)  # only the CPTs the query reads are drawn
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        draws = posterior.cached_sample(num_samples, int(seed), needed)
    else:
        draws = posterior.sample(num_samples, seed, needed)
    answers = marginal_draws(net, draws, targets, ev, size=num_samples)
    qs = [(1.0 - level) / 2.0, (1.0 + level) / 2.0]
    out: Dict[str, Dict[str, Credible]] = {}
    for t in targets:
        lo, hi = np.quantile(answers[t], qs, axis=0)
        states = net.variable(t).states
        out[t] = {s: Credible(float(estimate[t][s]), float(lo[k]), float(hi[k]))
                  for k, s in enumerate(states)}
    return out[targets[0]] if single else out


def needed_tables(net: Any, targets: Sequence[str],
                  evidence: Optional[Mapping[str, Any]] = None) -> List[str]:
    """The variables whose CPTs the exact answers of ``p(target | evidence)`` read (the
    targets', the evidence's and their ancestors'), in the network's order."""
    st = network_structure(net)
    ev = checked_evidence(st, net, evidence)
    nodes: set = set()
    for name in targets:
        t = st.index.get(name)
        if t is None:
            net.variable(name)  # the error with its suggestion
        if t not in ev:
            nodes.update(marginal_plan(st, t, frozenset(ev)).nodes)
    return [st.names[v] for v in sorted(nodes)]


def marginal_draws(net: Any, draws: Mapping[str, torch.Tensor], targets: Sequence[str],
                   evidence: Optional[Mapping[str, Any]] = None,
                   size: Optional[int] = None) -> Dict[str, np.ndarray]:
    """Exact ``p(target | evidence)`` under every drawn set of CPTs.

    Parameters
    ----------
    net
        A network of discrete scalar variables.
    draws
        ``{name: tensor (S, *parent_cards, card)}``: ``S`` sets of CPTs (at least those of
        :func:`needed_tables`).
    targets
        Variable names.
    evidence
        ``{name: state name or index}``.

    Returns
    -------
    dict
        ``{target: float64 array (S, card)}``, each row summing to one.
    """
    st = network_structure(net)
    ev = checked_evidence(st, net, evidence)
    arrays = {n: (t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t))
              for n, t in draws.items()}
    if size is None:
        size = next(iter(arrays.values())).shape[0] if arrays else 0
    out: Dict[str, np.ndarray] = {}
    for name in targets:
        if name not in st.index:
            net.variable(name)  # the error with its suggestion
        t = st.index[name]
        if t in ev:  # the evidence itself: a point mass in every draw
            res = np.zeros((size, st.cards[t]))
            res[:, ev[t]] = 1.0
            out[name] = res
            continue
        plan = marginal_plan(st, t, frozenset(ev))
        pool = []
        for v, ax in zip(plan.nodes, plan.axes):
            a = arrays[st.names[v]]
            if ev:
                a = a[(slice(None),) + tuple(ev[x] if x in ev else slice(None) for x in ax)]
            pool.append(a)
        res = _run_batched(plan, pool)
        totals = res.sum(axis=1)
        bad = np.flatnonzero(~(np.isfinite(totals) & (totals > UNDERFLOW)))
        for s in bad:  # rare: rescaled elimination, one draw at a time
            one = {n: a[s] for n, a in arrays.items()}
            res[s] = inference.query(net, one, name, ev).numpy()
            totals[s] = 1.0
        out[name] = res / totals[:, None]
    return out


def _run_batched(plan: Plan, pool: List[np.ndarray]) -> np.ndarray:
    """Run a sum-only plan on factors with a leading axis of draws; ``(S, *keep)``."""
    b = _DRAW_LABEL
    pool = list(pool)
    for step in plan.steps:
        if step.op != SUM:
            raise PgmArError("internal: a credible query runs marginal (sum) plans only")
        res, _ = multiply_out([pool[i] for i in step.inputs],
                              [(b,) + tuple(s) for s in step.subs], (b,) + tuple(step.out_sub))
        pool.append(res)
    keep = (b,) + tuple(range(len(plan.keep)))
    res, _ = multiply_out([pool[i] for i in plan.final_inputs],
                          [(b,) + tuple(s) for s in plan.final_subs], keep)
    return np.array(res, dtype=np.float64)
