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
_PAIRWISE_CELLS_3 = 1 << 13  # ... or above this many, for steps of three or more factors
try:  # einsum's C entry point, without the Python wrapper's argument handling (~1 us a call)
    from numpy._core.multiarray import c_einsum as _c_einsum
except ImportError:  # pragma: no cover - another numpy layout
    _c_einsum = np.einsum


# --------------------------------------------------------------------------- #
# products of factors
# --------------------------------------------------------------------------- #
def _einsum(arrays: Sequence[np.ndarray], subs: Sequence[Tuple[int, ...]],
            out: Sequence[int]) -> np.ndarray:
    # one einsum over all operands loops over the union of their axes once: that is the
    # clique that variable elimination builds anyway, and it avoids pairwise temporaries.
    # Past a large clique the operands go pairwise instead, each pair as a matrix product
    # (:func:`_contract_pairwise`): numpy's einsum loop takes 1.5-3 ns per clique entry,
    # where BLAS sums a shared axis of 61 states (MILDEW) twenty times faster.
    if len(arrays) >= 2:
        size = 1
        seen: set = set()
        for a, s in zip(arrays, subs):
            for lab, n in zip(s, a.shape):
                if lab not in seen:
                    seen.add(lab)
                    size *= n
        if size > _PAIRWISE_CELLS or (size > _PAIRWISE_CELLS_3 and len(arrays) >= 3):
            return _contract_pairwise(list(arrays), [tuple(s) for s in subs], tuple(out))
    operands: list = []
    for a, s in zip(arrays, subs):
        operands.append(a)
        operands.append(list(s))
    operands.append(list(out))
    return np.einsum(*operands)


def _contract_pairwise(arrays: List[np.ndarray], subs: List[Tuple[int, ...]],
                       out: Tuple[int, ...]) -> np.ndarray:
    """The einsum of :func:`_einsum` as a sequence of pairwise matrix products.

    Greedy: each time the pair whose product (after summing the labels no other operand
    and not ``out`` holds) is smallest; ties to the first pair.  Every pair is one batched
    ``matmul`` over (shared kept labels) x (labels of one side) x (summed shared labels).
    """
    while len(arrays) > 1:
        best = None
        for i in range(len(arrays)):
            for j in range(i + 1, len(arrays)):
                kept = _pair_kept(subs, i, j, out)
                size = 1
                dims = dict(zip(subs[i], arrays[i].shape))
                dims.update(zip(subs[j], arrays[j].shape))
                for lab in kept:
                    size *= dims[lab]
                if best is None or size < best[0]:
                    best = (size, i, j, kept)
        _, i, j, kept = best
        res, lab = _pair(arrays[i], subs[i], arrays[j], subs[j], kept)
        for k in (j, i):
            del arrays[k], subs[k]
        arrays.append(res)
        subs.append(lab)
    a, s = arrays[0], subs[0]
    extra = tuple(k for k, lab in enumerate(s) if lab not in out)
    if extra:
        a = a.sum(axis=extra)
        s = tuple(lab for lab in s if lab in out)
    if s != out:
        a = a.transpose([s.index(lab) for lab in out])
    return a


def _pair_kept(subs: List[Tuple[int, ...]], i: int, j: int, out: Tuple[int, ...]) -> set:
    """Labels of operands ``i`` and ``j`` still needed after their product: in ``out`` or in
    another operand."""
    need = set(out)
    for k, s in enumerate(subs):
        if k != i and k != j:
            need.update(s)
    return (set(subs[i]) | set(subs[j])) & need


def _pair(a: np.ndarray, sa: Tuple[int, ...], b: np.ndarray, sb: Tuple[int, ...],
          kept: set) -> Tuple[np.ndarray, Tuple[int, ...]]:
    """``a * b`` summed over the labels not in ``kept``, by one batched matrix product;
    returns the result and its labels (batch, then ``a``'s own, then ``b``'s own)."""
    # labels on one side only and not kept are summed before the product
    only_a = tuple(k for k, lab in enumerate(sa) if lab not in sb and lab not in kept)
    if only_a:
        a = a.sum(axis=only_a)
        sa = tuple(lab for lab in sa if lab in sb or lab in kept)
    only_b = tuple(k for k, lab in enumerate(sb) if lab not in sa and lab not in kept)
    if only_b:
        b = b.sum(axis=only_b)
        sb = tuple(lab for lab in sb if lab in sa or lab in kept)
    da, db = dict(zip(sa, a.shape)), dict(zip(sb, b.shape))
    batch = tuple(lab for lab in sa if lab in db and lab in kept)
    summed = tuple(lab for lab in sa if lab in db and lab not in kept)
    own_a = tuple(lab for lab in sa if lab not in db)
    own_b = tuple(lab for lab in sb if lab not in da)
    nb = math.prod(da[lab] for lab in batch)
    nm = math.prod(da[lab] for lab in own_a)
    nk = math.prod(da[lab] for lab in summed)
    nn = math.prod(db[lab] for lab in own_b)
    am = a.transpose([sa.index(lab) for lab in batch + own_a + summed]).reshape(nb, nm, nk)
    bm = b.transpose([sb.index(lab) for lab in batch + summed + own_b]).reshape(nb, nk, nn)
    res = np.matmul(am, bm)
    labels = batch + own_a + own_b
    return res.reshape([da[lab] for lab in batch + own_a] + [db[lab] for lab in own_b]), labels


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
    change).  Plain arrays are converted each time (they carry no version).  Tables
    with a ``tables_version`` (see :func:`plan_factors`) are not even read again while it
    is the same.
    """
    token = getattr(tables, "tables_version", None)
    hit = st.arrays.get(v)
    if token is not None and hit is not None and hit[4] is token:
        return hit[2]
    t = table_of(st, tables, v)
    if hit is not None and hit[0] is t and hit[1] == t._version:  # only tensors are kept
        if token is not None:
            st.arrays[v] = hit[:4] + (token,)
        return hit[2]
    if isinstance(t, torch.Tensor):
        if t.requires_grad or t.device.type != "cpu":
            t_cpu = t.detach().cpu()
        else:
            t_cpu = t
        a = t_cpu.numpy()
    else:
        a = np.asarray(t)
    if a.shape != st.table_shapes[v]:
        check_table_shape(st, v, a.shape)  # raises, naming the variable and both shapes
    if a.dtype != np.float64:
        a = a.astype(np.float64)
    if isinstance(t, torch.Tensor):
        st.arrays[v] = (t, t._version, a, None, token)
    return a


def node_minima(st: NetStructure, tables: Tables, v: int) -> np.ndarray:
    """Per state of node ``v``, its smallest probability over the CPT's rows (cached with
    the array; see :func:`pgm_ar.inference.relevance.surely_possible`)."""
    a = node_array(st, tables, v)
    hit = st.arrays.get(v)
    if hit is not None and hit[2] is a:
        if hit[3] is None:
            st.arrays[v] = hit[:3] + (state_minima(a),) + hit[4:]
        return st.arrays[v][3]
    return state_minima(a)


def plan_factors(st: NetStructure, plan: Plan, tables: Tables,
                 ev: Mapping[int, int]) -> List[np.ndarray]:
    """The plan's CPTs as float64 numpy arrays, reduced by the evidence ``{index: state}``.

    When ``tables`` has a ``tables_version`` attribute that is not ``None`` (a value that
    changes whenever any of its tables may change, e.g. a compiled model's table view
    while its tables are the network's), the unreduced arrays are kept with the plan under
    it, so a repeated query reads no table at all.
    """
    rt = plan.runtime
    token = getattr(tables, "tables_version", None)
    base = None
    if token is not None:
        hit = rt.get("arrays")
        if hit is not None and hit[0] is token:
            base = hit[1]
    if base is None:
        base = [node_array(st, tables, v) for v in plan.nodes]
        if token is not None:
            rt["arrays"] = (token, base)
    if not ev:
        return list(base)
    # per node, the axes the evidence fixes: found once per plan and evidence variables
    evk = tuple(ev)
    slots = rt.get("slots")
    if slots is None or slots[0] != evk:
        fixed = []
        for k, ax in enumerate(plan.axes[:len(plan.nodes)]):
            hits = [(pos, x) for pos, x in enumerate(ax) if x in ev]
            if hits:
                fixed.append((k, len(ax), hits))
        slots = rt["slots"] = (evk, fixed)
    pool = list(base)
    full = slice(None)
    for k, n, hits in slots[1]:
        idx = [full] * n
        for pos, x in hits:
            idx[pos] = ev[x]
        pool[k] = pool[k][tuple(idx)]
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
    if not (rescale or keep_products):
        sums = plan.runtime.get("sums_only")
        if sums is None:
            sums = plan.runtime["sums_only"] = all(step.op != MAX for step in plan.steps)
        if sums:
            return _run_sums(plan, list(pool))
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


def _run_sums(plan: Plan, pool: List[np.ndarray]) -> Tuple[np.ndarray, float, list]:
    """:func:`run_plan` of a plan of sums only, unscaled: one einsum per step with its
    operands laid out once per plan (``plan.runtime["program"]``); a step over a large
    clique goes pairwise (:func:`_contract_pairwise`)."""
    program = plan.runtime.get("program")
    if program is None:
        program = []
        for step in plan.steps:
            n_in = len(step.inputs)
            # three or more operands: one einsum multiplies them all at every clique entry,
            # pairs sum early -- worth it from a smaller clique (WATER's 4-state families)
            pairwise = (step.size > _PAIRWISE_CELLS and n_in >= 2) or \
                (step.size > _PAIRWISE_CELLS_3 and n_in >= 3)
            if pairwise or len(step.inputs) > _MAX_OPERANDS:
                program.append((step.inputs, None, step))
            else:
                program.append((step.inputs, [list(s) for s in step.subs], list(step.out_sub)))
        plan.runtime["program"] = program
    for inputs, subs, out in program:
        if subs is None:
            res, _ = multiply_out([pool[i] for i in inputs], out.subs, out.out_sub)
        else:
            ops: list = []
            for i, s in zip(inputs, subs):
                ops.append(pool[i])
                ops.append(s)
            ops.append(out)
            res = _c_einsum(*ops)
        pool.append(res)
    fin = [pool[i] for i in plan.final_inputs]
    out, _ = multiply_out(fin, plan.final_subs, tuple(range(len(plan.keep))))
    return np.asarray(out, dtype=np.float64), 0.0, [None] * len(plan.steps)


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
