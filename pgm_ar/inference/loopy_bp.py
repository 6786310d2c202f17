"""Loopy belief propagation: sum-product messages on the network's factor graph.

Every CPT, reduced by the evidence, is a factor over its variable and its
parents; messages run between factors and the variables they mention until
they stop changing.  On a network whose skeleton has no cycle (a polytree)
the factor graph is a tree and the beliefs are the exact posterior marginals
(Pearl's theorem); on networks with cycles they are an approximation that is
often good, and comes at the cost of a few sweeps over the CPTs however
dense the network is.

* **Schedule.**  Flooding: every variable-to-factor message, then every
  factor-to-variable message, per iteration.  A variable-to-factor message is
  the product of the variable's other incoming messages (in logs, by prefix
  and suffix sums, so a variable with many neighbours costs linear time and
  nothing underflows); a factor-to-variable message is one ``einsum`` of the
  factor and its other incoming messages.
* **Damping.**  Each new factor-to-variable message is mixed with the old one,
  ``(1 - damping) * new + damping * old``, which stops the oscillations that
  keep plain loopy propagation from converging on some networks.  The fixed
  points do not change.  Zeros are not damped: a state a new message rules out
  is ruled out at once.
* **Convergence.**  Iterations stop when no message (normalised to sum one)
  changed by more than ``tol``, or after ``max_iterations``; the result says
  which (with a ``RuntimeWarning`` when it did not converge).
* **Pruning.**  Only the targets, the evidence and their ancestors enter:
  other nodes are barren, and leaving them out is exact.
* **Impossible evidence.**  A zero in a message is sound (sum-product with
  non-negative factors only rules out states no consistent assignment has), so
  a variable all of whose states are ruled out proves the evidence impossible:
  :class:`~pgm_ar.errors.ImpossibleEvidenceError`.  On networks with cycles
  some impossible evidence goes unnoticed.

>>> from pgm_ar import BayesNet, Bernoulli, TabularCPD
>>> from pgm_ar.inference import tables_from_net
>>> net = BayesNet([Bernoulli("rain"), Bernoulli("wet")], [("rain", "wet")],
...                cpds={"rain": TabularCPD("rain", (), [0.8, 0.2]),
...                      "wet": TabularCPD("wet", ("rain",), [[0.9, 0.1], [0.2, 0.8]])})
>>> r = loopy_belief_propagation(net, tables_from_net(net), "rain", {"wet": 1})
>>> [round(p, 4) for p in r.marginals["rain"].tolist()], r.converged
([0.3333, 0.6667], True)
"""
from __future__ import annotations

import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from ..errors import ImpossibleEvidenceError, PgmArError
from ..network import BayesNet
from .estimates import ApproximateResult
from .inputs import Evidence, Tables, checked_evidence, checked_tables
from .queries import target_indices
from .structure import network_structure

__all__ = ["loopy_belief_propagation", "DEFAULT_DAMPING", "DEFAULT_TOL",
           "DEFAULT_MAX_ITERATIONS"]

#: weight of the old message in each update unless ``damping`` says otherwise
DEFAULT_DAMPING = 0.5
#: convergence: the largest change of a message (each sums to one) in an iteration
DEFAULT_TOL = 1e-8
#: iterations before giving up unless ``max_iterations`` says otherwise
DEFAULT_MAX_ITERATIONS = 500


def loopy_belief_propagation(net: BayesNet, tables: Tables, target: Union[str, Sequence[str]],
                             evidence: Optional[Evidence] = None, *,
                             damping: float = DEFAULT_DAMPING, tol: float = DEFAULT_TOL,
                             max_iterations: int = DEFAULT_MAX_ITERATIONS
                             ) -> ApproximateResult:
    """Posterior marginals of ``target`` given ``evidence`` by loopy belief propagation.

    Exact on polytrees (networks whose skeleton has no cycle), approximate otherwise.

    Parameters
    ----------
    net, tables
        A network of discrete scalar variables and its tables
        (``{name: tensor of shape (*parent_cards, card)}``).
    target
        A variable name or a list of names.
    evidence
        ``{name: state}`` (indices or state names).
    damping
        Weight of the old message in each update, ``0 <= damping < 1``.
    tol
        Stop when no message changed by more than this (``> 0``).
    max_iterations
        Stop after this many iterations (``>= 1``) even if not converged.

    Returns
    -------
    ApproximateResult
        ``marginals`` (the beliefs) for every target, ``converged``,
        ``iterations`` and ``max_change``.

    Raises
    ------
    PgmArError
        For unknown names or states or bad options;
        :class:`~pgm_ar.errors.ImpossibleEvidenceError` when the messages
        prove the evidence impossible.
    """
    damping, tol, max_iterations = _checked_options(damping, tol, max_iterations)
    st = network_structure(net)
    targets, _ = target_indices(st, target)
    ev = checked_evidence(st, net, evidence)
    nodes = st.closure(list(targets) + list(ev))
    tabs = checked_tables(st, tables, nodes)
    graph = _FactorGraph(st, tabs, nodes, ev, evidence)

    converged, change, it = not graph.edges, 0.0, 0
    with np.errstate(divide="ignore"):  # log 0 = -inf is how a ruled-out state is carried
        while not converged and it < max_iterations:
            it += 1
            change = graph.iterate(damping)
            converged = change <= tol
    if not converged:
        warnings.warn(f"loopy belief propagation did not converge in {it} iterations (last "
                      f"change of a message {change:.2e} > tol {tol:.0e}); the marginals are "
                      "rough: raise max_iterations or damping, or use method='gibbs'",
                      RuntimeWarning, stacklevel=2)
    for v in graph.var_edges:  # a contradiction anywhere (not only at a target) is an error
        graph.belief(v)
    marginals: Dict[str, torch.Tensor] = {}
    for t in dict.fromkeys(targets):
        if t in ev:
            p = np.zeros(st.cards[t])
            p[ev[t]] = 1.0
        else:
            p = graph.belief(t)
        marginals[st.names[t]] = torch.from_numpy(p)
    return ApproximateResult(marginals, "loopy_bp", converged=bool(converged), iterations=it,
                             max_change=float(change))


def _checked_options(damping, tol, max_iterations) -> Tuple[float, float, int]:
    try:
        damping, tol = float(damping), float(tol)
    except (TypeError, ValueError):
        raise PgmArError(f"loopy_bp: damping and tol must be numbers, got {damping!r} and "
                         f"{tol!r}") from None
    if not 0.0 <= damping < 1.0:
        raise PgmArError(f"loopy_bp: damping must lie in [0, 1), got {damping}")
    if not tol > 0.0:
        raise PgmArError(f"loopy_bp: tol must be > 0, got {tol}")
    if isinstance(max_iterations, bool) or not isinstance(max_iterations, (int, np.integer)) \
            or max_iterations < 1:
        raise PgmArError(f"loopy_bp: max_iterations must be an integer >= 1, got "
                         f"{max_iterations!r}")
    return damping, tol, int(max_iterations)


class _FactorGraph:
    """Factors (CPTs reduced by the evidence), the edges between them and their variables, and
    the messages along each edge (normalised to sum one)."""

    def __init__(self, st, tabs, nodes: Sequence[int], ev: Dict[int, int], evidence) -> None:
        self.st, self.evidence = st, evidence
        self.factors: List[np.ndarray] = []
        self.scopes: List[Tuple[int, ...]] = []
        self.factor_edges: List[List[int]] = []
        self.var_edges: Dict[int, List[int]] = {v: [] for v in nodes if v not in ev}
        self.edge_var: List[int] = []
        for v in nodes:
            axes = st.parents[v] + (v,)
            a = tabs[v].detach().cpu().to(torch.float64).numpy()
            a = a[tuple(ev[x] if x in ev else slice(None) for x in axes)]
            scope = tuple(x for x in axes if x not in ev)
            if not scope:
                if not float(a) > 0.0:  # every variable of this CPT observed, jointly impossible
                    raise ImpossibleEvidenceError(dict(evidence or {}))
                continue
            edges = []
            for x in scope:
                e = len(self.edge_var)
                self.edge_var.append(x)
                self.var_edges[x].append(e)
                edges.append(e)
            self.factors.append(np.ascontiguousarray(a))
            self.scopes.append(scope)
            self.factor_edges.append(edges)
        self.edges = len(self.edge_var)
        self.to_var = [np.full(st.cards[x], 1.0 / st.cards[x]) for x in self.edge_var]
        self.to_factor = [m.copy() for m in self.to_var]

    def iterate(self, damping: float) -> float:
        """One flooding iteration; returns the largest change of a factor-to-variable message."""
        for v, edges in self.var_edges.items():
            self._variable_messages(edges)
        change = 0.0
        for f, (table, scope, edges) in enumerate(zip(self.factors, self.scopes,
                                                      self.factor_edges)):
            for i, e in enumerate(edges):
                if len(edges) == 1:
                    new = table
                else:
                    ops: list = [table, list(range(len(scope)))]
                    for j, e2 in enumerate(edges):
                        if j != i:
                            ops += [self.to_factor[e2], [j]]
                    new = np.einsum(*ops, [i])
                new = _normalised(new)
                old = self.to_var[e]
                if damping:
                    # a zero in the new message is a proof (that state cannot happen): it stays
                    # exactly zero, not mixed with the old message, which would only shrink it
                    # towards zero and hide the contradiction it may prove
                    new = _normalised(np.where(new > 0, (1.0 - damping) * new + damping * old,
                                               0.0))
                change = max(change, float(np.abs(new - old).max()))
                self.to_var[e] = new
        return change

    def _variable_messages(self, edges: List[int]) -> None:
        """Each edge's message: the product of the variable's other incoming messages, by
        prefix and suffix sums of logs (linear in the degree, no underflow)."""
        d = len(edges)
        if d == 1:  # nothing else comes in: the uniform message it started with
            return
        if d == 2:  # the commonest case: each edge passes the other's message on
            a, b = edges
            self.to_factor[a], self.to_factor[b] = self.to_var[b], self.to_var[a]
            return
        logs = np.log(np.stack([self.to_var[e] for e in edges]))
        zero = np.zeros((1, logs.shape[1]))
        prefix = np.concatenate([zero, np.cumsum(logs[:-1], axis=0)])
        suffix = np.concatenate([np.cumsum(logs[:0:-1], axis=0)[::-1], zero])
        excl = prefix + suffix
        for k, e in enumerate(edges):
            self.to_factor[e] = _normalised_log(excl[k])

    def belief(self, v: int) -> np.ndarray:
        """The normalised product of the messages into ``v`` (uniform for an isolated one)."""
        edges = self.var_edges[v]
        card = self.st.cards[v]
        if not edges:
            return np.full(card, 1.0 / card)
        with np.errstate(divide="ignore"):
            total = np.sum([np.log(self.to_var[e]) for e in edges], axis=0)
        p = _normalised_log(total)
        if not p.sum() > 0:
            raise ImpossibleEvidenceError(
                dict(self.evidence or {}),
                f"the evidence {dict(self.evidence or {})} has probability zero under the "
                f"model: belief propagation rules out every state of {self.st.names[v]!r}")
        return p


def _normalised(m: np.ndarray) -> np.ndarray:
    """``m / m.sum()``; an all-zero message stays zero (it proves a contradiction)."""
    s = m.sum()
    return m / s if s > 0 else np.zeros_like(m)


def _normalised_log(lm: np.ndarray) -> np.ndarray:
    """``exp(lm)`` normalised to sum one; all ``-inf`` gives zeros."""
    top = lm.max()
    if not np.isfinite(top):
        return np.zeros_like(lm)
    p = np.exp(lm - top)
    return p / p.sum()
