"""Sampling from a discrete network: ancestral, likelihood-weighted and exact posterior samples.

* :func:`forward_sample` -- rows from the joint, by ancestral sampling;
* :func:`likelihood_weighting` -- rows with the evidence clamped and their
  importance weights, summarised by :func:`effective_sample_size`;
* :func:`posterior_sample` -- exact rows from ``p(x | evidence)``, by forward
  filtering (variable elimination) and backward sampling.

Every draw is an inverse-CDF draw from one uniform per row, vectorised over
the rows: one pass per node, no loop over rows.  On the CPU the arithmetic
runs in numpy, which has a fraction of torch's per-operation overhead at
these sizes; on other devices it stays in torch.  The uniforms come from the
caller's ``torch.Generator``, so the same seed gives the same rows.

>>> import torch
>>> from pgm_ar import BayesNet, Bernoulli, TabularCPD
>>> from pgm_ar.inference import tables_from_net
>>> net = BayesNet([Bernoulli("rain"), Bernoulli("wet")], [("rain", "wet")],
...                cpds={"rain": TabularCPD("rain", (), [0.8, 0.2]),
...                      "wet": TabularCPD("wet", ("rain",), [[0.9, 0.1], [0.2, 0.8]])})
>>> rows = forward_sample(net, tables_from_net(net), 5, generator=torch.Generator().manual_seed(0))
>>> sorted(rows), rows["wet"].shape
(['rain', 'wet'], torch.Size([5]))
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

import warnings

from ..errors import InferenceTooLargeError, PgmArError
from ..network import BayesNet
from .elimination import eliminate, plan_factors, require_possible
from .inputs import (Evidence, Tables, check_sample_count, checked_evidence,
                     checked_tables)
from .plan import Plan, evidence_plan
from .structure import NetStructure, network_structure

__all__ = ["forward_sample", "likelihood_weighting", "posterior_sample", "discrete_sample",
           "resample_weighted",
           "effective_sample_size"]


# --------------------------------------------------------------------------- #
# the samplers
# --------------------------------------------------------------------------- #
def forward_sample(net: BayesNet, tables: Tables, n: int,
                   generator: Optional[torch.Generator] = None) -> Dict[str, torch.Tensor]:
    """``n`` rows drawn from the joint by ancestral sampling.

    Each node, in topological order, gathers the CPT row of every sample's
    parent configuration (one flat index per row) and draws its value by
    inverse CDF from one uniform per row.

    Parameters
    ----------
    net, tables
        A network of discrete scalar variables and its tables
        (``{name: tensor of shape (*parent_cards, card)}``).
    n
        Number of rows (an integer ``>= 0``).
    generator
        Source of the uniforms; same seed, same rows.

    Returns
    -------
    dict
        ``{name: LongTensor[n]}`` of state indices, in the net's declaration
        order, on the tables' device.
    """
    st = network_structure(net)
    n = check_sample_count(n)
    tabs = checked_tables(st, tables)
    cols, _ = ancestral_values(st, tabs, n, generator, {})
    return {name: cols[i] for i, name in enumerate(st.names)}


def likelihood_weighting(net: BayesNet, tables: Tables, n: int, evidence: Evidence,
                         generator: Optional[torch.Generator] = None
                         ) -> Tuple[Dict[str, torch.Tensor], torch.Tensor, float]:
    """Samples with evidence clamped, their log importance weights, and the effective sample size.

    Non-evidence variables are drawn from their CPTs in topological order; each
    row's weight is ``prod_e p(e | parents(e))`` over the evidence variables.
    The effective sample size is ``(sum w)^2 / sum w^2``
    (:func:`effective_sample_size`).

    Returns
    -------
    (samples, log_weights, ess)
        ``samples`` as in :func:`forward_sample` (evidence columns constant),
        ``log_weights`` a float64 tensor of shape ``(n,)``, ``ess`` a float.

    Raises
    ------
    PgmArError
        When every sample has weight zero (impossible or too unlikely evidence).
    """
    st = network_structure(net)
    n = check_sample_count(n)
    tabs = checked_tables(st, tables)
    ev = checked_evidence(st, net, evidence)
    device = tabs[0].device
    fixed = {v: torch.full((n,), s, dtype=torch.long, device=device) for v, s in ev.items()}
    cols, logw = ancestral_values(st, tabs, n, generator, fixed, weights_for=sorted(ev))
    if logw is None:
        logw = torch.zeros(n, dtype=torch.float64, device=device)
    if torch.isneginf(logw).all():
        raise PgmArError(f"every sample has zero weight: evidence {dict(evidence)} is impossible "
                         "or too unlikely for likelihood weighting")
    ess = effective_sample_size(logw)
    return {name: cols[i] for i, name in enumerate(st.names)}, logw, ess


def posterior_sample(net: BayesNet, tables: Tables, n: int, evidence: Optional[Evidence] = None,
                     generator: Optional[torch.Generator] = None) -> Dict[str, torch.Tensor]:
    """``n`` exact samples from ``p(x | evidence)``, as ``{name: LongTensor[n]}``.

    Forward filtering, backward sampling: the evidence's ancestors are summed
    out by variable elimination, keeping each step's product of factors
    ``phi(v, later variables)``; the variables are then drawn in reverse
    elimination order from ``phi`` given the values already drawn (exactly
    ``p(v | later variables, evidence)``).  Variables that are not ancestors of
    the evidence do not influence it, so they are then drawn from their CPTs
    given their sampled parents.  Evidence columns hold the observed states.

    Raises
    ------
    PgmArError
        For unknown names or states, or evidence of probability zero;
        :class:`~pgm_ar.errors.InferenceTooLargeError` when the network is too
        densely connected for variable elimination.
    """
    st = network_structure(net)
    n = check_sample_count(n)
    ev = checked_evidence(st, net, evidence)
    if not ev:
        return forward_sample(net, tables, n, generator)
    tabs = checked_tables(st, tables)
    device = tabs[0].device
    plan = evidence_plan(st, frozenset(ev))
    _, _, products, total = eliminate(plan, plan_factors(st, plan, tables, ev),
                                      keep_products=True)
    require_possible(total, ev, net)
    drawn = _backward_draws(st, plan, products, n, generator)
    fixed = {v: torch.from_numpy(x).to(device) for v, x in drawn.items()}
    for v, s in ev.items():
        fixed[v] = torch.full((n,), s, dtype=torch.long, device=device)
    full, _ = ancestral_values(st, tabs, n, generator, fixed)
    return {name: full[i] for i, name in enumerate(st.names)}


def effective_sample_size(log_weights) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` of importance weights, given as logs.

    The weights are taken as logarithms because that is how importance
    samplers produce them and because the weights themselves often underflow;
    the formula is evaluated in log space and does not change when a constant
    is added to every log-weight (so normalised or unnormalised weights give
    the same size).  Rows of weight zero (``-inf``) count for nothing.

    Parameters
    ----------
    log_weights
        A 1-D tensor or array of log importance weights.

    Returns
    -------
    float
        Between 1 and the number of weights; ``0.0`` when there are no
        weights or all are zero.

    >>> w = torch.tensor([1.0, 1.0, 2.0])
    >>> round(effective_sample_size(torch.log(w)), 6)  # (1 + 1 + 2)^2 / (1 + 1 + 4)
    2.666667
    """
    lw = torch.as_tensor(log_weights, dtype=torch.float64).reshape(-1)
    if lw.numel() == 0 or bool(torch.isneginf(lw).all()):
        return 0.0
    return float(torch.exp(2 * torch.logsumexp(lw, 0) - torch.logsumexp(2 * lw, 0)))


# --------------------------------------------------------------------------- #
# inverse-CDF draws
# --------------------------------------------------------------------------- #
def resample_weighted(values: Dict[str, torch.Tensor], log_weights: torch.Tensor, n: int,
                      generator: Optional[torch.Generator], ess: float,
                      proposals: int) -> Dict[str, torch.Tensor]:
    """``n`` rows drawn with replacement from weighted ``values`` (``log_weights`` per row),
    warning when the effective sample size ``ess`` of the ``proposals`` is below ``n``."""
    w = torch.softmax(log_weights.double().cpu(), 0)
    idx = torch.multinomial(w, n, replacement=True, generator=generator) if n else \
        torch.zeros(0, dtype=torch.long)
    if ess < n:
        warnings.warn(f"likelihood weighting: effective sample size {ess:.1f} from {proposals} "
                      f"proposals is below the {n} rows asked for; rows repeat "
                      "(raise num_proposals)", RuntimeWarning, stacklevel=4)
    return {k: v.cpu()[idx] for k, v in values.items()}


def discrete_sample(net: BayesNet, tables: Tables, n: int, evidence: Optional[Evidence],
                    generator: Optional[torch.Generator] = None,
                    num_proposals: Optional[int] = None
                    ) -> Tuple[Dict[str, torch.Tensor], str, Optional[float]]:
    """``n`` rows of an all-discrete network: ``(values, method, ess)``.

    Without evidence, forward sampling (``"forward"``); with evidence, exact posterior
    samples (``"exact"``), or where the network is too dense for that, ``num_proposals``
    (default ``max(10 n, 10000)``) likelihood-weighted samples resampled to ``n`` rows
    (``"likelihood_weighting"``, with the effective sample size).
    """
    if not evidence:
        return forward_sample(net, tables, n, generator=generator), "forward", None
    try:
        return posterior_sample(net, tables, n, evidence, generator=generator), "exact", None
    except InferenceTooLargeError:
        m = int(num_proposals) if num_proposals is not None else max(10 * n, 10_000)
        props, logw, ess = likelihood_weighting(net, tables, m, evidence, generator=generator)
        return resample_weighted(props, logw, n, generator, ess, m), "likelihood_weighting", ess


def _normalised_cdf(probs):
    """Row-wise cumulative sums scaled so that each row ends at exactly 1 (numpy or torch)."""
    if isinstance(probs, np.ndarray):
        cdf = np.cumsum(probs, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):  # all-zero rows are never drawn
            return cdf / cdf[:, -1:]
    cdf = torch.cumsum(probs, dim=1)
    return cdf / cdf[:, -1:]


def _draw(cdf, flat, u):
    """Inverse-CDF draw per row: the number of cumulative probabilities ``<= u``.

    ``cdf`` is ``(rows, card)`` (numpy or torch), ``flat`` the row of each
    sample (``None`` when there is a single row) and ``u`` one uniform per
    sample.  Comparing one state column at a time costs ``card - 1`` gathers of
    length ``n`` and never builds an ``(n, card)`` block; the last column (1)
    is skipped because ``u < 1``.
    """
    if isinstance(u, np.ndarray):
        x = np.zeros(len(u), dtype=np.int64)
    else:
        x = torch.zeros(len(u), dtype=torch.long, device=u.device)
    for k in range(cdf.shape[1] - 1):
        col = cdf[:, k]
        x += u >= (col[0] if flat is None else col[flat])
    return x


def _uniforms(count: int, n: int, generator: Optional[torch.Generator],
              device: torch.device):
    """``(count, n)`` float64 uniforms: numpy on the CPU, else a tensor on ``device``."""
    gen_device = generator.device if generator is not None else device
    u = torch.rand(count, n, generator=generator, dtype=torch.float64, device=gen_device)
    return u.numpy() if device.type == "cpu" else u.to(device)


# --------------------------------------------------------------------------- #
# ancestral pass and backward pass
# --------------------------------------------------------------------------- #
def ancestral_values(st: NetStructure, tabs: List[Optional[torch.Tensor]], n: int,
                     generator: Optional[torch.Generator], fixed: Dict[int, torch.Tensor],
                     weights_for: Sequence[int] = ()
                     ) -> Tuple[List[torch.Tensor], Optional[torch.Tensor]]:
    """Sample every node not in ``fixed`` given its parents; optionally sum log p of some nodes.

    Returns one long column per variable index and, when ``weights_for`` is
    not empty, ``sum_{v in weights_for} log p(x_v | parents)`` per row.
    """
    device = next(t for t in tabs if t is not None).device
    on_cpu = device.type == "cpu"
    free = [v for v in st.topo if v not in fixed]
    u_all = _uniforms(len(free), n, generator, device)
    cols: list = [None] * len(st.names)
    for v, x in fixed.items():
        cols[v] = x.numpy() if on_cpu else x

    def table(v: int):
        t = tabs[v].detach().reshape(st.num_rows[v], st.cards[v])
        return t.to(torch.float64).numpy() if on_cpu else t.to(torch.float64)

    for k, v in enumerate(free):
        cols[v] = _draw(_normalised_cdf(table(v)), st.parent_row(v, cols), u_all[k])
    logw = None
    for v in weights_for:
        flat = st.parent_row(v, cols)
        p = table(v)[0 if flat is None else flat, cols[v]]
        with np.errstate(divide="ignore"):  # a zero weight is log 0 = -inf, not a warning
            term = np.log(p) if on_cpu else torch.log(p)
        logw = term if logw is None else logw + term
    if not on_cpu:
        return cols, logw
    out = [torch.from_numpy(np.ascontiguousarray(c, dtype=np.int64)) for c in cols]
    if logw is not None:
        logw = torch.from_numpy(np.asarray(logw, dtype=np.float64))
    return out, logw


def _backward_draws(st: NetStructure, plan: Plan, products: list, n: int,
                    generator: Optional[torch.Generator]) -> Dict[int, np.ndarray]:
    """Draw the plan's eliminated variables in reverse order from the kept step products.

    Step ``k``'s product is ``phi(scope, var)`` with ``var`` on the last axis;
    given the scope's values (all eliminated later, hence drawn earlier here)
    its row is ``p(var | scope, evidence)`` up to a constant.
    """
    gdev = generator.device if generator is not None else torch.device("cpu")
    u_all = torch.rand(len(plan.steps), n, generator=generator, dtype=torch.float64,
                       device=gdev).cpu().numpy()
    drawn: Dict[int, np.ndarray] = {}
    for k, (step, prod) in enumerate(zip(reversed(plan.steps), reversed(products))):
        table = prod.reshape(-1, st.cards[step.var])
        flat = None
        for a in step.scope:  # row-major flat index over the product's leading axes
            flat = drawn[a] if flat is None else flat * st.cards[a] + drawn[a]
        drawn[step.var] = _draw(_normalised_cdf(table), flat, u_all[k])
    return drawn
