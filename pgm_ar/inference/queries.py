"""Exact queries by variable elimination: posterior marginals, ``log p(evidence)``, MPE and MAP.

Each query checks its arguments, fetches the (cached) elimination plan for
its kind and its variables (:mod:`pgm_ar.inference.plan`), reduces the CPTs by
the evidence and runs the plan (:mod:`pgm_ar.inference.elimination`).

>>> from pgm_ar import BayesNet, Bernoulli, TabularCPD
>>> from pgm_ar.inference import tables_from_net
>>> net = BayesNet([Bernoulli("rain"), Bernoulli("wet")], [("rain", "wet")],
...                cpds={"rain": TabularCPD("rain", (), [0.8, 0.2]),
...                      "wet": TabularCPD("wet", ("rain",), [[0.9, 0.1], [0.2, 0.8]])})
>>> tables = tables_from_net(net)
>>> [round(p, 4) for p in query(net, tables, "rain", {"wet": 1}).tolist()]
[0.3333, 0.6667]
>>> map_query(net, tables, evidence={"wet": 1})
{'rain': 1}
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from ..errors import PgmArError, UnknownVariableError
from ..network import BayesNet
from .elimination import (UNDERFLOW, eliminate, multiply_out, node_array, node_minima,
                          plan_factors, require_possible)
from .inputs import Evidence, Tables, checked_evidence
from .relevance import surely_possible
from .plan import MAX, Plan, evidence_plan, map_plan, marginal_plan
from .structure import NetStructure, network_structure

__all__ = ["query", "log_evidence", "map_query"]


def query(net: BayesNet, tables: Tables, target: Union[str, Sequence[str]],
          evidence: Optional[Evidence] = None
          ) -> Union[torch.Tensor, Dict[str, torch.Tensor]]:
    """Exact posterior marginal ``p(target | evidence)`` by variable elimination.

    Only the CPTs that can change the answer enter: the requisite nodes of
    Bayes-ball (:mod:`~pgm_ar.inference.relevance`) when every observed state is
    positive in every row of its CPT (so the evidence is surely possible), else
    the target, the evidence and their ancestors (whose total is
    ``p(evidence)``, so impossible evidence is caught).  The CPTs are reduced by
    the evidence and the remaining variables summed out in a greedy weighted
    min-fill order, each step one float64 ``einsum`` over the factors that
    mention the variable.

    Parameters
    ----------
    net
        A network of discrete scalar variables.
    tables
        ``{name: tensor of shape (*parent_cards, card)}``, e.g. from
        :func:`~pgm_ar.inference.tables_from_net`.
    target
        A variable name, or a list of names (each gets its own marginal).
    evidence
        ``{name: state}`` with states as indices or state names.

    Returns
    -------
    torch.Tensor or dict
        A float64 tensor of shape ``(card,)`` summing to one; for a list of
        targets a ``{name: tensor}`` dict.  A target that is also evidence gets
        the point mass on its observed state.

    Raises
    ------
    PgmArError
        For unknown names or states, or evidence of probability zero.
    """
    st = network_structure(net)
    targets, single = target_indices(st, target)
    ev = checked_evidence(st, net, evidence)
    joint = network_joint(st, tables)
    if joint is not None:
        answer = _from_joint(st, joint, targets, ev)
        if answer is not None:
            return answer[st.names[targets[0]]] if single else answer
    ev_key = frozenset(ev)
    out: Dict[str, torch.Tensor] = {}
    checked = False
    # pruning to the requisite CPTs is safe only when the evidence is known to be possible
    pruned = bool(ev) and surely_possible({v: node_minima(st, tables, v) for v in ev}, ev)
    for t in targets:
        if t in ev:
            p = torch.zeros(st.cards[t], dtype=torch.float64)
            p[ev[t]] = 1.0
            out[st.names[t]] = p
            continue
        plan = marginal_plan(st, t, ev_key, pruned, joint=True)
        res, _, _, total = eliminate(plan, plan_factors(st, plan, tables, ev))
        require_possible(total, ev, net)
        checked = True
        out[st.names[t]] = torch.from_numpy(res / res.sum())
    if ev and not checked:
        # every target is evidence: the point mass is the answer only if the evidence can
        # happen (the same rule as for any other target)
        plan = evidence_plan(st, ev_key)
        _, _, _, total = eliminate(plan, plan_factors(st, plan, tables, ev))
        require_possible(total, ev, net)
    return out[st.names[targets[0]]] if single else out


#: a network whose joint distribution has at most this many entries (ASIA: 256) answers
#: queries from that joint, computed once while its tables stay the same: slicing it by the
#: evidence and summing costs less than finding and running a plan
NETWORK_JOINT_CELLS = 1 << 12


def network_joint(st: NetStructure, tables: Tables) -> Optional[np.ndarray]:
    """The joint distribution of a small network (axes in variable index order), kept on
    ``st`` while its tables are the same arrays (:func:`~pgm_ar.inference.elimination.node_array`
    hands back the same array while a table is unchanged); ``None`` for a network over
    :data:`NETWORK_JOINT_CELLS` entries."""
    hit = st.joint
    if hit is False:
        return None
    n = len(st.names)
    if hit is None and st.size(range(n)) > NETWORK_JOINT_CELLS:
        st.joint = False  # never: the network is too large
        return None
    arrays = [node_array(st, tables, v) for v in range(n)]
    if hit is not None and all(a is b for a, b in zip(hit[0], arrays)):
        return hit[1]
    joint, _ = multiply_out(arrays, [st.parents[v] + (v,) for v in range(n)], tuple(range(n)))
    st.joint = (arrays, joint)
    return joint


def _from_joint(st: NetStructure, joint: np.ndarray, targets: Sequence[int],
                ev: Dict[int, int]) -> Optional[Dict[str, torch.Tensor]]:
    """The marginals of :func:`query` read off the network's joint; ``None`` when the
    evidence's probability is below :data:`~pgm_ar.inference.elimination.UNDERFLOW` (the
    plans then rescale, and say whether it is impossible)."""
    sub = joint[tuple(ev[v] if v in ev else slice(None) for v in range(len(st.names)))]
    total = float(sub.sum())
    if not (total > UNDERFLOW and math.isfinite(total)):
        return None
    free = [v for v in range(len(st.names)) if v not in ev]
    out: Dict[str, torch.Tensor] = {}
    for t in targets:
        if t in ev:
            p = torch.zeros(st.cards[t], dtype=torch.float64)
            p[ev[t]] = 1.0
        else:
            k = free.index(t)
            m = sub.sum(axis=tuple(j for j in range(len(free)) if j != k))
            p = torch.from_numpy(m / m.sum())
        out[st.names[t]] = p
    return out


def log_evidence(net: BayesNet, tables: Tables, evidence: Evidence) -> float:
    """``log p(evidence)`` in nats, by variable elimination (``-inf`` if impossible).

    Parameters
    ----------
    net, tables
        As in :func:`query`.
    evidence
        ``{name: state}``; no evidence has probability one (``0.0`` is returned).

    >>> from pgm_ar import BayesNet, Bernoulli, TabularCPD
    >>> from pgm_ar.inference import tables_from_net
    >>> net = BayesNet([Bernoulli("a"), Bernoulli("b")], [("a", "b")],
    ...                cpds={"a": TabularCPD("a", (), [0.5, 0.5]),
    ...                      "b": TabularCPD("b", ("a",), [[1.0, 0.0], [0.5, 0.5]])})
    >>> round(math.exp(log_evidence(net, tables_from_net(net), {"b": 1})), 6)
    0.25
    """
    st = network_structure(net)
    ev = checked_evidence(st, net, evidence)
    if not ev:
        return 0.0
    plan = evidence_plan(st, frozenset(ev))
    _, log_scale, _, total = eliminate(plan, plan_factors(st, plan, tables, ev))
    return math.log(total) + log_scale if total > 0 else -math.inf


def map_query(net: BayesNet, tables: Tables, targets: Optional[Sequence[str]] = None,
              evidence: Optional[Evidence] = None) -> Dict[str, int]:
    """The most probable assignment, as ``{name: state index}``.

    * ``targets=None`` -- the most probable explanation (MPE): the joint
      assignment of *all* non-evidence variables maximising
      ``p(x, evidence)``, by max-product variable elimination and a traceback
      of the argmax tables.
    * ``targets=[...]`` -- the marginal MAP: the assignment of the targets
      maximising ``p(targets | evidence)`` with every other non-evidence
      variable summed out.  This is NP-hard in general (the sums must all be
      done before the maxima, which constrains the elimination order); it is
      done exactly, and a :class:`~pgm_ar.errors.InferenceTooLargeError` is
      raised when an intermediate factor would exceed
      :data:`~pgm_ar.inference.plan.MAX_FACTOR_SIZE` entries.

    Ties are broken towards the lower state index.  Evidence variables are
    not in the result (a target that is evidence keeps its observed state).

    Raises
    ------
    PgmArError
        For unknown names or states, or evidence of probability zero.
    """
    st = network_structure(net)
    ev = checked_evidence(st, net, evidence)
    tset = None if targets is None else tuple(dict.fromkeys(target_indices(st, targets)[0]))
    plan = map_plan(st, tset, frozenset(ev))
    _, _, records, total = eliminate(plan, plan_factors(st, plan, tables, ev))
    require_possible(total, ev, net)
    assign = _traceback(plan, records)
    wanted = [v for v in st.topo if v not in ev] if tset is None else list(tset)
    return {st.names[v]: (ev[v] if v in ev else assign[v]) for v in wanted}


def _traceback(plan: Plan, records: list) -> Dict[int, int]:
    """The maximising states, read from the argmax tables in reverse elimination order."""
    assign: Dict[int, int] = {}
    for step, rec in zip(reversed(plan.steps), reversed(records)):
        if step.op == MAX:
            assign[step.var] = int(rec[tuple(assign[a] for a in step.scope)])
    return assign


def target_indices(st: NetStructure, target) -> Tuple[List[int], bool]:
    """Target names as indices, and whether a single name (not a list) was given."""
    single = isinstance(target, str)
    try:
        names = [target] if single else list(target)
    except TypeError:
        raise PgmArError(f"query targets must be a variable name or a list of names, got "
                         f"{type(target).__name__} {target!r}") from None
    if not names:
        raise PgmArError("no target variable given")
    out = []
    for t in names:
        if not isinstance(t, str):
            raise PgmArError(f"a query target must be a variable name, got {t!r}")
        if t not in st.index:
            raise UnknownVariableError(t, st.names, where="query targets")
        out.append(st.index[t])
    return out, single
