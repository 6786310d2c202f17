"""Posteriors of one target for every row of a data set with missing values, at once.

Classifying or imputing a table row by row costs one variable elimination per
row, almost all of it Python.  :func:`batched_query` runs the elimination once
per *group* of rows with a row axis through every einsum:

* rows that observe the same variables (one missing-value pattern) and are
  many share the plan of that evidence set; each CPT with an observed axis is
  gathered at every row's observed state, giving one slice per row;
* the remaining rows (patterns too rare to be worth a plan of their own) are
  contracted together as *soft evidence*: each observed variable gets a
  likelihood vector per row (one-hot where observed, all ones where missing),
  so that one plan over the union of their variables answers them all.

Each group's final factor is ``p(target, observed values)`` per row; its total
is ``p(observed values)``, so impossible rows are found exactly.  A row whose
total underflows is recomputed alone by :func:`~pgm_ar.inference.query`, which
rescales.

The contractions run in numpy, or in torch on a chosen device (``device=``; see
:func:`batch_device`): the same grouping and plans, the same float64 answers, one
``torch.einsum`` per step with the row axis through it.  On a GPU the row axis of a
large batch is contracted in parallel; for small batches numpy wins (a torch
einsum costs tens of microseconds to launch, a numpy one a few), which is why
``device=None`` picks CUDA only from :data:`AUTO_CUDA_ROWS` rows.

>>> import numpy as np
>>> from pgm_ar import BayesNet, Bernoulli, TabularCPD
>>> from pgm_ar.inference import tables_from_net
>>> net = BayesNet([Bernoulli("rain"), Bernoulli("wet")], [("rain", "wet")],
...                cpds={"rain": TabularCPD("rain", (), [0.8, 0.2]),
...                      "wet": TabularCPD("wet", ("rain",), [[0.9, 0.1], [0.2, 0.8]])})
>>> post = batched_query(net, tables_from_net(net), "rain", {"wet": np.array([1, 0, -1])})
>>> post.numpy().round(4).tolist()  # wet=1, wet=0, wet missing
[[0.3333, 0.6667], [0.9474, 0.0526], [0.8, 0.2]]
"""
from __future__ import annotations

import functools
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from ..errors import (DataError, ImpossibleEvidenceError, InferenceTooLargeError, PgmArError,
                      UnknownVariableError)
from ..network import BayesNet
from .elimination import UNDERFLOW, multiply_out, node_array
from .inputs import Tables
from .plan import SUM, Plan, cached_plan, greedy_order, interaction_graph, make_plan, marginal_plan
from .queries import query
from .structure import NetStructure, network_structure

__all__ = ["batched_query", "posterior_frame", "batch_device", "MISSING_CODE", "MIN_GROUP_ROWS",
           "BATCH_CELLS", "CUDA_BATCH_CELLS", "AUTO_CUDA_ROWS"]

#: the code of a missing value in ``evidence_codes`` (any negative code counts as missing)
MISSING_CODE = -1
#: a missing-value pattern shared by at least this many rows gets a plan of its own
MIN_GROUP_ROWS = 32
#: rows x largest factor entries contracted per chunk (bounds the memory of one einsum)
BATCH_CELLS = 1 << 23
#: the same bound on a CUDA device: larger chunks amortise the launch of each einsum
CUDA_BATCH_CELLS = 1 << 26
#: with ``device=None`` / ``"auto"``, batches of at least this many rows go to CUDA when
#: torch sees a GPU: below it, launching each einsum there costs more than numpy's whole
#: contraction (an estimate; ``benchmarks/bench_batched_device.py`` measures the crossover)
AUTO_CUDA_ROWS = 20_000

#: an argument of ``device=`` that means the numpy path
_NUMPY = "numpy"

_ROW = 51  # the einsum label of the row axis (numpy labels are 0..51; plan labels start at 0)


def batched_query(net: BayesNet, tables: Tables, target: str,
                  evidence_codes: Mapping[str, object],
                  num_rows: Optional[int] = None,
                  device: Union[None, str, torch.device] = None) -> torch.Tensor:
    """``p(target | observed values of row i)`` for every row ``i``, as one ``(N, card)`` tensor.

    Parameters
    ----------
    net, tables
        As in :func:`~pgm_ar.inference.query`.
    target
        The variable whose posterior is wanted.  Its own column, if given, is
        ignored: the answer is the prediction from the other columns.
    evidence_codes
        ``{name: 1-D integer array of state indices}``, one entry per row,
        with :data:`MISSING_CODE` (any negative value) where the value is
        missing.  Variables without a column are unobserved in every row.
    num_rows
        The number of rows; needed only when no column is given.
    device
        Where the contractions run: ``"numpy"``; ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or a
        :class:`torch.device` (torch on that device); ``None`` or ``"auto"``: CUDA when
        torch sees a GPU and there are at least :data:`AUTO_CUDA_ROWS` rows, else numpy
        (see :func:`batch_device`).  Every choice gives the same answers (float64).

    Returns
    -------
    torch.Tensor
        float64 on the CPU, shape ``(N, card)``, each row summing to one.

    Raises
    ------
    DataError
        For a column of another length, not 1-D or not integer, or a state
        index out of range (naming the column, row and value).
    ImpossibleEvidenceError
        Naming the first row whose observed values have probability zero (the
        rule of :class:`~pgm_ar.errors.ImpossibleEvidenceError`: no posterior
        is given on such evidence).
    InferenceTooLargeError
        When a group's elimination would build a factor over the limit.
    PgmArError
        For a device that is not known, or CUDA asked for where torch sees none.
    """
    st = network_structure(net)
    if not isinstance(target, str):
        raise PgmArError(f"a batched query takes one target variable name, got {target!r}")
    if target not in st.index:
        raise UnknownVariableError(target, st.names, where="query targets")
    t = st.index[target]
    cols, n = _checked_codes(st, evidence_codes, num_rows, skip=t)
    dev = batch_device(device, n)
    out = np.full((n, st.cards[t]), np.nan)
    if n == 0:
        return torch.from_numpy(out)
    # on torch, each CPT is moved to the device once per call, not once per group
    answer = _answer if dev is None else functools.partial(_answer_torch, device=dev, moved={})
    observed = np.stack([c >= 0 for _, c in cols], axis=1) if cols else np.zeros((n, 0), bool)
    # rows grouped by the set of columns they observe
    keys = np.packbits(observed, axis=1) if cols else np.zeros((n, 1), np.uint8)
    _, group_of, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    group_of = group_of.reshape(-1)
    rest = counts[group_of] < MIN_GROUP_ROWS
    by_group = np.argsort(group_of, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(counts)])

    def by_pattern(groups) -> None:
        for g in groups:
            rows = by_group[bounds[g]:bounds[g + 1]]
            seen = [(v, c[rows]) for (v, c), o in zip(cols, observed[rows[0]]) if o]
            plan = marginal_plan(st, t, frozenset(v for v, _ in seen))
            answer(st, plan, tables, dict(seen), rows, out, soft=())

    by_pattern(np.nonzero(counts >= MIN_GROUP_ROWS)[0])
    if rest.any():
        rows = np.nonzero(rest)[0]
        used = [(v, c[rows]) for (v, c), o in zip(cols, observed[rows].any(0)) if o]
        try:
            plan = _soft_plan(st, t, tuple(v for v, _ in used))
        except InferenceTooLargeError:
            # with nothing observed the union's cliques can be too large where each row's
            # own evidence keeps them small: then every remaining pattern gets its own plan
            by_pattern(np.nonzero(counts < MIN_GROUP_ROWS)[0])
        else:
            answer(st, plan, tables, {}, rows, out, soft=used)
    _redo_underflows(net, tables, target, st, cols, out)
    return torch.from_numpy(out)


def batch_device(device: Union[None, str, torch.device], num_rows: int = 0
                 ) -> Optional[torch.device]:
    """The torch device a batch of ``num_rows`` rows is contracted on, or ``None`` for numpy.

    ``None`` / ``"auto"``: CUDA when torch sees a GPU and ``num_rows`` is at least
    :data:`AUTO_CUDA_ROWS`, else numpy.  ``"numpy"``: numpy.  Anything else is a torch
    device (``"cpu"``, ``"cuda"``, ``"cuda:1"``, a :class:`torch.device`), checked here
    so that a missing GPU is one clear error, not a failure deep inside torch.

    >>> batch_device("numpy") is None, batch_device("cpu")
    (True, device(type='cpu'))
    """
    if device is None or (isinstance(device, str) and device.strip().lower() == "auto"):
        if num_rows >= AUTO_CUDA_ROWS and torch.cuda.is_available():
            return torch.device("cuda")
        return None
    if isinstance(device, str) and device.strip().lower() == _NUMPY:
        return None
    if not isinstance(device, (str, torch.device)):
        raise PgmArError(f"device must be 'auto', 'numpy', 'cpu', 'cuda' or a torch.device, "
                         f"got {type(device).__name__} {device!r}")
    try:
        dev = torch.device(device.strip().lower() if isinstance(device, str) else device)
    except (RuntimeError, ValueError, TypeError):
        raise PgmArError(f"unknown device {device!r}: use 'auto', 'numpy', 'cpu', 'cuda' or "
                         "'cuda:N'") from None
    if dev.type == "cpu":
        return dev
    if dev.type != "cuda":
        raise PgmArError(f"device {device!r} is not supported for batched queries: use "
                         "'auto', 'numpy', 'cpu' or 'cuda'")
    if not torch.cuda.is_available():
        raise PgmArError(f"device {str(device)!r} asked for, but torch sees no CUDA GPU on "
                         "this machine; use device 'cpu', 'numpy' or 'auto'")
    if dev.index is not None and dev.index >= torch.cuda.device_count():
        raise PgmArError(f"device {str(device)!r} asked for, but torch sees only "
                         f"{torch.cuda.device_count()} CUDA GPU(s) (cuda:0.."
                         f"cuda:{torch.cuda.device_count() - 1})")
    return dev


def _checked_codes(st: NetStructure, codes: Mapping[str, object], num_rows: Optional[int],
                   skip: int) -> Tuple[List[Tuple[int, np.ndarray]], int]:
    """The evidence columns as ``[(variable index, int64 codes)]`` (the target's left out)."""
    if not isinstance(codes, Mapping):
        raise DataError(f"evidence must map variable names to columns, got "
                        f"{type(codes).__name__}")
    cols: List[Tuple[int, np.ndarray]] = []
    n = num_rows
    for name, values in codes.items():
        if name not in st.index:
            raise UnknownVariableError(name, st.names, where="evidence")
        x = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else \
            np.asarray(values)
        if x.ndim != 1:
            raise DataError(f"expected a 1-D column, got shape {x.shape}", column=name)
        if x.dtype.kind not in "iub":
            raise DataError("evidence codes must be integer state indices (negative: missing)",
                            column=name)
        if n is None:
            n = len(x)
        elif len(x) != n:
            raise DataError(f"has {len(x)} rows but the others have {n}", column=name)
        v = st.index[name]
        x = x.astype(np.int64)
        over = np.nonzero(x >= st.cards[v])[0]
        if len(over):
            raise DataError(f"state index out of range 0..{st.cards[v] - 1}", column=name,
                            row=int(over[0]), value=int(x[over[0]]))
        if v != skip:
            cols.append((v, np.where(x < 0, MISSING_CODE, x)))
    if n is None:
        raise DataError("no evidence column given: pass num_rows to say how many rows")
    return cols, int(n)


def _soft_plan(st: NetStructure, target: int, soft: Tuple[int, ...]) -> Plan:
    """The plan of ``p(target, soft evidence)`` with one likelihood factor per variable of
    ``soft``, every other variable of their ancestral set summed out (cached)."""

    def build() -> Plan:
        nodes = st.closure([target, *soft])
        adj = interaction_graph([st.parents[v] + (v,) for v in nodes])
        order = greedy_order(adj, [v for v in nodes if v != target], st.cards)
        return make_plan(st, nodes, frozenset(), [(v, SUM) for v in order], (target,),
                         extra=[(v,) for v in soft])

    return cached_plan(st, ("soft", target, frozenset(soft)), build)


def _answer(st: NetStructure, plan: Plan, tables: Tables, hard: Dict[int, np.ndarray],
            rows: np.ndarray, out: np.ndarray, soft: Sequence[Tuple[int, np.ndarray]]) -> None:
    """Run ``plan`` for ``rows`` (chunked) and write the normalised posteriors into ``out``.

    ``hard`` maps observed variables to their codes for these rows (CPTs are
    gathered per row); ``soft`` gives the likelihood factors' variables and codes.
    """
    chunk = max(1, BATCH_CELLS // max(1, plan.width))
    base = [node_array(st, tables, v) for v in plan.nodes]
    for start in range(0, len(rows), chunk):
        part = slice(start, start + chunk)
        m = len(rows[part])
        pool: List[np.ndarray] = []
        batched: List[bool] = []
        # the row axis goes last: einsum's innermost loop then runs over contiguous rows
        for a, ax in zip(base, plan.axes):
            at = [k for k, x in enumerate(ax) if x in hard]
            if at:  # one slice of the CPT per row: observed axes first, gathered by the codes
                a = np.moveaxis(a, at, range(len(at)))[tuple(hard[ax[k]][part] for k in at)]
                a = np.ascontiguousarray(np.moveaxis(a, 0, -1))
            pool.append(a)
            batched.append(bool(at))
        for v, codes in soft:
            lam = np.ones((st.cards[v], m))
            seen = np.nonzero(codes[part] >= 0)[0]
            lam[:, seen] = 0.0
            lam[codes[part][seen], seen] = 1.0
            pool.append(lam)
            batched.append(True)
        res, row_axis = _run_batched(plan, pool, batched)
        res = res.T if row_axis else np.broadcast_to(res, (m,) + res.shape)
        total = res.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            post = res / total
        post[~(total[:, 0] > UNDERFLOW)] = np.nan  # redone alone, rescaled (or refused)
        out[rows[part]] = post


def _run_batched(plan: Plan, pool: List[np.ndarray],
                 batched: List[bool]) -> Tuple[np.ndarray, bool]:
    """Execute a plan whose factors may carry a trailing row axis (``batched``); returns the
    final factor (row axis last) and whether it has the row axis."""
    pool = list(pool)
    batched = list(batched)
    for step in plan.steps:
        ins = [pool[i] for i in step.inputs]
        flags = [batched[i] for i in step.inputs]
        subs = [(s + (_ROW,)) if f else s for s, f in zip(step.subs, flags)]
        row = any(flags)
        res, _ = multiply_out(ins, subs, step.out_sub + ((_ROW,) if row else ()))
        pool.append(res)
        batched.append(row)
    fin = [pool[i] for i in plan.final_inputs]
    flags = [batched[i] for i in plan.final_inputs]
    subs = [(s + (_ROW,)) if f else s for s, f in zip(plan.final_subs, flags)]
    row = any(flags)
    res, _ = multiply_out(fin, subs, tuple(range(len(plan.keep))) + ((_ROW,) if row else ()))
    return np.asarray(res, dtype=np.float64), row


def _answer_torch(st: NetStructure, plan: Plan, tables: Tables, hard: Dict[int, np.ndarray],
                  rows: np.ndarray, out: np.ndarray, soft: Sequence[Tuple[int, np.ndarray]],
                  device: torch.device, moved: Dict[int, torch.Tensor]) -> None:
    """:func:`_answer` in torch on ``device``: the CPTs (kept in ``moved``) and the group's
    codes are moved there (far less than the gathered per-row slices would be), gathered and
    contracted there, and only each chunk's posteriors come back."""
    cells = CUDA_BATCH_CELLS if device.type == "cuda" else BATCH_CELLS
    chunk = max(1, cells // max(1, plan.width))
    for v in plan.nodes:
        if v not in moved:
            moved[v] = torch.from_numpy(node_array(st, tables, v)).to(device)
    base = [moved[v] for v in plan.nodes]
    hard_t = {v: torch.from_numpy(c).to(device) for v, c in hard.items()}
    soft_t = [(v, torch.from_numpy(c).to(device)) for v, c in soft]
    states = {v: torch.arange(st.cards[v], device=device)[:, None] for v, _ in soft}
    for start in range(0, len(rows), chunk):
        part = slice(start, start + chunk)
        m = len(rows[part])
        pool: List[torch.Tensor] = []
        batched: List[bool] = []
        for a, ax in zip(base, plan.axes):
            at = [k for k, x in enumerate(ax) if x in hard_t]
            if at:
                a = a.movedim(at, tuple(range(len(at))))[tuple(hard_t[ax[k]][part] for k in at)]
                a = a.movedim(0, -1)
            pool.append(a)
            batched.append(bool(at))
        for v, codes in soft_t:
            c = codes[part]
            # one-hot at the observed state, ones where the value is missing
            pool.append(((states[v] == c) | (c < 0)).to(torch.float64))
            batched.append(True)
        res, row_axis = _run_batched_torch(plan, pool, batched)
        res = res.movedim(-1, 0) if row_axis else res.expand((m,) + tuple(res.shape))
        res = res.reshape(m, -1)
        total = res.sum(dim=1, keepdim=True)
        # rows whose total underflowed are redone alone, rescaled (or refused); a where, not
        # a masked assignment, which would wait for the device to count the mask
        post = torch.where(total > UNDERFLOW, res / total, float("nan"))
        out[rows[part]] = post.cpu().numpy()


def _torch_product(arrays: Sequence[torch.Tensor], subs: Sequence[Tuple[int, ...]],
                   out: Tuple[int, ...], device: torch.device) -> torch.Tensor:
    """Multiply factors and sum out the labels not in ``out`` (one ``torch.einsum``; torch
    orders the pairwise contractions by opt_einsum when it is installed)."""
    if not arrays:
        return torch.ones(tuple(1 for _ in out), dtype=torch.float64, device=device)
    operands: list = []
    for a, s in zip(arrays, subs):
        operands += [a, list(s)]
    return torch.einsum(*operands, list(out))


def _run_batched_torch(plan: Plan, pool: List[torch.Tensor],
                       batched: List[bool]) -> Tuple[torch.Tensor, bool]:
    """:func:`_run_batched` in torch."""
    pool = list(pool)
    batched = list(batched)
    device = pool[0].device if pool else torch.device("cpu")
    for step in plan.steps:
        ins = [pool[i] for i in step.inputs]
        flags = [batched[i] for i in step.inputs]
        subs = [(s + (_ROW,)) if f else s for s, f in zip(step.subs, flags)]
        row = any(flags)
        pool.append(_torch_product(ins, subs, step.out_sub + ((_ROW,) if row else ()), device))
        batched.append(row)
    fin = [pool[i] for i in plan.final_inputs]
    flags = [batched[i] for i in plan.final_inputs]
    subs = [(s + (_ROW,)) if f else s for s, f in zip(plan.final_subs, flags)]
    row = any(flags)
    res = _torch_product(fin, subs, tuple(range(len(plan.keep))) + ((_ROW,) if row else ()),
                         device)
    return res, row


def _redo_underflows(net: BayesNet, tables: Tables, target: str, st: NetStructure,
                     cols: Sequence[Tuple[int, np.ndarray]], out: np.ndarray) -> None:
    """Recompute alone (rescaled) each row whose total was zero, tiny or not finite; a row
    that is impossible indeed is an :class:`ImpossibleEvidenceError` naming it."""
    bad = np.nonzero(~np.isfinite(out).all(axis=1))[0]
    for r in bad:
        ev = {st.names[v]: int(c[r]) for v, c in cols if c[r] >= 0}
        try:
            out[r] = query(net, tables, target, ev).numpy()
        except ImpossibleEvidenceError:
            named = {k: _state_name(net, k, s) for k, s in ev.items()}
            err = ImpossibleEvidenceError(
                named, f"row {int(r)}: its observed values {named} have probability zero "
                       f"under the model; no posterior of {target!r} can be conditioned on "
                       "them (drop or correct the row)")
            err.row = int(r)  # for callers that name a file's line
            raise err from None


def _state_name(net: BayesNet, name: str, s: int):
    try:
        return net.variable(name).states[s]
    except (AttributeError, IndexError, TypeError):
        return s


def posterior_frame(net: BayesNet, tables: Tables, target: str, data: object,
                    device: Union[None, str, torch.device] = None):
    """:func:`batched_query` on a DataFrame or ``{name: column}`` of state names or indices
    (empty cells, ``None`` and ``NaN`` are missing), as a DataFrame of posteriors: one
    column per state of ``target``, rows aligned with ``data`` (its index kept); ``device``
    as in :func:`batched_query`.

    >>> import pandas as pd
    >>> from pgm_ar import BayesNet, Categorical, TabularCPD
    >>> from pgm_ar.inference import tables_from_net
    >>> net = BayesNet([Categorical("rain", ["no", "yes"]), Categorical("wet", ["no", "yes"])],
    ...                [("rain", "wet")],
    ...                cpds={"rain": TabularCPD("rain", (), [0.8, 0.2]),
    ...                      "wet": TabularCPD("wet", ("rain",), [[0.9, 0.1], [0.2, 0.8]])})
    >>> posterior_frame(net, tables_from_net(net), "rain",
    ...                 pd.DataFrame({"wet": ["yes", None]})).round(4)
           no     yes
    0  0.3333  0.6667
    1  0.8000  0.2000
    """
    import pandas as pd

    from ..tabular_data import encode

    if isinstance(data, Mapping) and not isinstance(data, pd.DataFrame):
        # columns as a DataFrame reads missing cells (None, NaN) the way a DataFrame's are read
        data = pd.DataFrame({k: (v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else v)
                             for k, v in data.items()})
    enc = encode(net, data)
    codes = {k: v for k, v in enc.values.items() if net.variable(k).is_discrete_scalar}
    post = batched_query(net, tables, target, codes, num_rows=enc.n, device=device)
    index = data.index if isinstance(data, pd.DataFrame) else None
    return pd.DataFrame(post.numpy(), columns=list(net.variable(target).states), index=index)
