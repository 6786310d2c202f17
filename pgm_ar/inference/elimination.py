"""Running an elimination plan: factor products by einsum, with rescaling against underflow.

Variable elimination runs in float64 numpy, not torch: its factors are small,
and a numpy ``einsum`` costs about 2 us where a torch one costs about 100 us,
which would dominate a query on networks such as ALARM.

A plan (:mod:`pgm_ar.inference.plan`) is run as it is first; only when the
answer underflows (evidence of probability below about ``1e-250``, e.g. many
unlikely observations) is it rerun with every partial product divided by its
maximum and the divisors kept as a log scale.  The fast path thus pays
nothing for the rare case.

>>> import numpy as np
>>> a, b = np.array([0.5, 0.5]), np.array([[0.9, 0.1], [0.2, 0.8]])
>>> multiply_out([a, b], [(0,), (0, 1)], (1,))[0]  # sum_a p(a) p(b | a)
array([0.55, 0.45])
"""
from __future__ import annotations

import math
from typing import Any, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

from ..errors import ImpossibleEvidenceError
from .inputs import Tables, check_table_shape, table_of
from .plan import MAX, Plan
from .relevance import state_minima
from .structure import NetStructure

__all__ = ["UNDERFLOW", "multiply_out", "node_array", "node_minima", "plan_factors", "run_plan", "eliminate",
           "require_possible"]

#: an answer whose total is below this is recomputed with every intermediate factor rescaled
UNDERFLOW = 1e-250
_MAX_OPERANDS = 24  # numpy's einsum takes at most 32 operands
_PAIRWISE_CELLS = 1 << 16  # cliques above this many entries are contracted pairwise


# --------------------------------------------------------------------------- #
# products of factors
# --------------------------------------------------------------------------- #
def _einsum(arrays: Sequence[np.ndarray], subs: Sequence[Tuple[int, ...]],
            out: Sequence[int]) -> np.ndarray:
    operands: list = []
    for a, s in zip(arrays, subs):
        operands.append(a)
        operands.append(list(s))
    operands.append(list(out))
    # one einsum over all operands loops over the union of their axes once: that is the
    # clique that variable elimination builds anyway, and it avoids pairwise temporaries.
    # Past a large clique, three or more operands go pairwise instead (numpy's greedy
    # path): a product of two of them, summed early, is often far smaller than the clique.
    if len(arrays) >= 3:
        dims: dict = {}
        for a, s in zip(arrays, subs):
            dims.update(zip(s, a.shape))
        if math.prod(dims.values()) > _PAIRWISE_CELLS:
            return np.einsum(*operands, optimize="greedy")
    return np.einsum(*operands)


def multiply_out(arrays: Sequence[np.ndarray], subs: Sequence[Tuple[int, ...]],
                 out: Sequence[int], scaled: bool = False) -> Tuple[np.ndarray, float]:
    """Multiply factors and sum out the labels not in ``out``; returns (result, log scale).

    Parameters
    ----------
    arrays, subs
        The factors and their einsum sublists (one integer label per axis).
    out
        Labels of the result's axes.
    scaled
        Multiply the factors one at a time and divide each partial product by
        its maximum, so that no product of many small numbers underflows; the
        divisors are returned as a log scale (the true result is
        ``result * exp(log_scale)``).  Without it, more operands than one
        einsum accepts are multiplied in chunks and the scale is 0.
    """
    if not arrays:
        return np.ones(tuple(1 for _ in out)), 0.0
    if not scaled and len(arrays) <= _MAX_OPERANDS:
        return _einsum(arrays, subs, out), 0.0
    chunk = 1 if scaled else _MAX_OPERANDS - 1
    acc, acc_sub = arrays[0], tuple(subs[0])
    log_scale = 0.0
    i = 1
    while True:
        if scaled:
            acc, log_scale = _rescaled(acc, log_scale)
        if i >= len(arrays):
            break
        group = range(i, min(i + chunk, len(arrays)))
        union = list(acc_sub)
        for j in group:
            union += [a for a in subs[j] if a not in union]
        acc = _einsum([acc] + [arrays[j] for j in group], [acc_sub] + [subs[j] for j in group],
                      union)
        acc_sub = tuple(union)
        i = group.stop
    res = _einsum([acc], [acc_sub], out)
    if scaled:
        res, log_scale = _rescaled(res, log_scale)
    return res, log_scale


def _rescaled(a: np.ndarray, log_scale: float) -> Tuple[np.ndarray, float]:
    """``a`` divided by its maximum (when positive), the maximum's log added to the scale."""
    m = float(np.max(a)) if a.size else 0.0
    if m > 0.0:
        return a / m, log_scale + math.log(m)
    return a, log_scale


# --------------------------------------------------------------------------- #
# running a plan
# --------------------------------------------------------------------------- #
def node_array(st: NetStructure, tables: Tables, v: int) -> np.ndarray:
    """Node ``v``'s table as a float64 numpy array, converted once per tensor and version.

    Converting every CPT of a plan on every query (``detach``, ``cpu``,
    ``numpy``, a shape check) costs more than the einsums of a small query;
    the array is kept with the structure and reused while the tensor is the
    same object at the same version (``torch`` bumps it on every in-place
    change).  Plain arrays are converted each time (they carry no version).
    """
    t = table_of(st, tables, v)
    hit = st.arrays.get(v)
    if hit is not None and hit[0] is t and hit[1] == t._version:  # only tensors are kept
        return hit[2]
    a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    check_table_shape(st, v, a.shape)
    if a.dtype != np.float64:
        a = a.astype(np.float64)
    if isinstance(t, torch.Tensor):
        st.arrays[v] = (t, t._version, a, None)
    return a


def node_minima(st: NetStructure, tables: Tables, v: int) -> np.ndarray:
    """Per state of node ``v``, its smallest probability over the CPT's rows (cached with
    the array; see :func:`pgm_ar.inference.relevance.surely_possible`)."""
    a = node_array(st, tables, v)
    hit = st.arrays.get(v)
    if hit is not None and hit[2] is a:
        if hit[3] is None:
            st.arrays[v] = hit[:3] + (state_minima(a),)
        return st.arrays[v][3]
    return state_minima(a)


def plan_factors(st: NetStructure, plan: Plan, tables: Tables,
                 ev: Mapping[int, int]) -> List[np.ndarray]:
    """The plan's CPTs as float64 numpy arrays, reduced by the evidence ``{index: state}``."""
    pool = []
    for v, ax in zip(plan.nodes, plan.axes):
        a = node_array(st, tables, v)
        if ev:
            a = a[tuple(ev[x] if x in ev else slice(None) for x in ax)]
        pool.append(a)
    return pool


def run_plan(plan: Plan, pool: List[np.ndarray], rescale: bool = False,
             keep_products: bool = False) -> Tuple[np.ndarray, float, list]:
    """Execute a plan on its factors (see :func:`plan_factors`).

    Returns
    -------
    (factor, log_scale, records)
        The final factor over ``plan.keep`` (times ``exp(-log_scale)``),
        ``log_scale``, and one record per step: the argmax table of a max
        step, or with ``keep_products`` the product of a sum step's inputs
        (``var`` on the last axis), which backward sampling draws from.
    """
    pool = list(pool)
    log_scale = 0.0
    records: list = []
    for step in plan.steps:
        ins = [pool[i] for i in step.inputs]
        if step.op == MAX or keep_products:
            prod, ls = multiply_out(ins, step.subs, step.out_sub + (step.var_sub,), rescale)
            if step.op == MAX:
                records.append(prod.argmax(axis=-1))
                res = prod.max(axis=-1)
            else:
                records.append(prod)
                res = prod.sum(axis=-1)
        else:
            records.append(None)
            res, ls = multiply_out(ins, step.subs, step.out_sub, rescale)
        log_scale += ls
        pool.append(res)
    fin = [pool[i] for i in plan.final_inputs]
    out, ls = multiply_out(fin, plan.final_subs, tuple(range(len(plan.keep))), rescale)
    return np.asarray(out, dtype=np.float64), log_scale + ls, records


def eliminate(plan: Plan, pool: List[np.ndarray],
              keep_products: bool = False) -> Tuple[np.ndarray, float, list, float]:
    """Run a plan; rerun it rescaled when the answer underflowed (or overflowed).

    Returns what :func:`run_plan` returns, plus the final factor's total
    (``0`` or not finite only when even the rescaled run found nothing).
    """
    out, log_scale, records = run_plan(plan, pool, keep_products=keep_products)
    total = float(out.sum()) if out.size else 0.0
    if not (total > UNDERFLOW and math.isfinite(total)):
        out, log_scale, records = run_plan(plan, pool, rescale=True,
                                           keep_products=keep_products)
        total = float(out.sum()) if out.size else 0.0
    return out, log_scale, records, total


def require_possible(total: float, evidence: Optional[Mapping], net: Any = None) -> None:
    """Reject evidence whose elimination total is not positive (probability zero) with an
    :class:`~pgm_ar.errors.ImpossibleEvidenceError` (state names when ``net`` is given)."""
    if not total > 0.0:
        raise ImpossibleEvidenceError(_named(evidence, net))


def _named(evidence: Optional[Mapping], net: Any) -> str:
    """``{'tub': 0}`` -> ``"tub=yes"`` (state names where the network has them)."""
    parts = []
    for name, value in dict(evidence or {}).items():
        if net is not None and isinstance(name, (int, np.integer)):
            name = net.names[int(name)]  # checked evidence is keyed by variable index
        if net is not None and isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            try:
                value = net.variable(name).states[int(value)]
            except (AttributeError, IndexError, TypeError, KeyError):
                pass
        parts.append(f"{name}={value}")
    return "{" + ", ".join(parts) + "}"
