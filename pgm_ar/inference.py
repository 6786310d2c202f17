"""Exact inference and sampling for discrete Bayesian networks with tabular CPTs.

Every function here is a pure function of a :class:`~pgm_ar.network.BayesNet`
(its graph) and a mapping ``tables`` from variable name to a float tensor of
shape ``(*parent_cards, card)`` whose parent axes follow ``net.parents(name)``
(the layout of :class:`~pgm_ar.cpd.TabularCPD`; :func:`tables_from_net` builds
it from a net's CPTs).  Values are integer state indices ``0 .. card-1``.

* :func:`forward_sample` -- ancestral sampling, vectorised over rows.
* :func:`log_prob` -- the joint log-probability of complete rows (nats).
* :func:`query` -- posterior marginals by variable elimination.
* :func:`log_evidence` -- ``log p(evidence)``.
* :func:`map_query` -- the most probable explanation (MPE) or a marginal MAP.
* :func:`posterior_sample` -- exact samples from ``p(x | evidence)``.
* :func:`likelihood_weighting` -- weighted samples and their effective size.
* :func:`fit_counts` -- maximum-likelihood CPTs from complete data.

Sampling and scoring run in torch (on the tables' device).  Variable
elimination runs in float64 numpy: its factors are small, and a numpy
``einsum`` costs about 2 us where a torch one costs about 100 us, which would
dominate a query on networks such as ALARM.  The graph work of a query (which
nodes matter, the elimination order, the einsum steps) depends only on the
network and on *which* variables are targets and evidence, so it is planned
once per such key and cached with the network.

>>> import torch
>>> from pgm_ar import BayesNet, Bernoulli, TabularCPD
>>> net = BayesNet([Bernoulli("rain"), Bernoulli("wet")], [("rain", "wet")],
...                cpds={"rain": TabularCPD("rain", (), [0.8, 0.2]),
...                      "wet": TabularCPD("wet", ("rain",), [[0.9, 0.1], [0.2, 0.8]])})
>>> tables = tables_from_net(net)
>>> [round(p, 4) for p in query(net, tables, "rain", {"wet": 1}).tolist()]
[0.3333, 0.6667]
>>> map_query(net, tables, evidence={"wet": 1})
{'rain': 1}
>>> rows = forward_sample(net, tables, 5, generator=torch.Generator().manual_seed(0))
>>> sorted(rows), rows["wet"].shape
(['rain', 'wet'], torch.Size([5]))
"""
from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .errors import DataError, PgmArError, UnknownVariableError, InferenceTooLargeError
from .network import BayesNet

Tables = Mapping[str, torch.Tensor]
Evidence = Mapping[str, Union[int, str]]

#: the largest intermediate factor (entries) variable elimination may build
MAX_FACTOR_SIZE = 2 ** 26
#: a normaliser below this triggers a rerun that rescales every intermediate factor
_UNDERFLOW = 1e-250

SUM, MAX = 0, 1


# --------------------------------------------------------------------------- #
# the network's structure, cached per net (a BayesNet is immutable)
# --------------------------------------------------------------------------- #
class _Structure:
    """Integer view of a net: cards, parents, strides, ancestor bitmasks, plan cache."""

    def __init__(self, net: BayesNet) -> None:
        self.names: Tuple[str, ...] = net.names
        self.index: Dict[str, int] = {n: i for i, n in enumerate(self.names)}
        cards = []
        for v in net.variables:
            if not v.is_discrete or v.num_pixels != 1:
                raise PgmArError(
                    f"variable {v.name!r} is not a discrete scalar; exact inference and tabular "
                    "sampling need every variable to be Bernoulli or Categorical")
            cards.append(int(v.cardinality))
        self.cards: Tuple[int, ...] = tuple(cards)
        self.parents: Tuple[Tuple[int, ...], ...] = tuple(
            tuple(self.index[p] for p in net.parents(n)) for n in self.names)
        self.topo: Tuple[int, ...] = tuple(self.index[n] for n in net.topological_order())
        # row-major strides of the parent axes, so that a parent configuration is one flat row
        self.strides: List[Tuple[int, ...]] = []
        for ps in self.parents:
            s, acc = [], 1
            for p in reversed(ps):
                s.append(acc)
                acc *= self.cards[p]
            self.strides.append(tuple(reversed(s)))
        self.num_rows = tuple(int(np.prod([self.cards[p] for p in ps], dtype=np.int64))
                              for ps in self.parents)
        # ancestor closure (node included) as Python-int bitmasks, built in topological order
        anc = [0] * len(self.names)
        for v in self.topo:
            m = 1 << v
            for p in self.parents[v]:
                m |= anc[p]
            anc[v] = m
        self.anc = anc
        self.plans: Dict[tuple, "_Plan"] = {}

    def closure(self, nodes) -> List[int]:
        """The nodes and all their ancestors, in topological order."""
        m = 0
        for v in nodes:
            m |= self.anc[v]
        return [v for v in self.topo if m >> v & 1]


_STRUCTURES: Dict[int, Tuple["weakref.ref", _Structure]] = {}


def _structure(net: BayesNet) -> _Structure:
    if not isinstance(net, BayesNet):
        raise PgmArError(f"expected a BayesNet, got {type(net).__name__}")
    hit = _STRUCTURES.get(id(net))
    if hit is not None and hit[0]() is net:
        return hit[1]
    st = _Structure(net)
    key = id(net)
    _STRUCTURES[key] = (weakref.ref(net, lambda _r, k=key: _STRUCTURES.pop(k, None)), st)
    return st


# --------------------------------------------------------------------------- #
# tables and data
# --------------------------------------------------------------------------- #
def tables_from_net(net: BayesNet, dtype: torch.dtype = torch.float64) -> Dict[str, torch.Tensor]:
    """The CPTs of ``net`` as tensors of shape ``(*parent_cards, card)``.

    Raises :class:`~pgm_ar.errors.PgmArError` naming the first variable without a CPT.

    >>> from pgm_ar import BayesNet, Bernoulli, TabularCPD
    >>> net = BayesNet([Bernoulli("a")], cpds={"a": TabularCPD("a", (), [0.3, 0.7])})
    >>> tables_from_net(net)["a"]
    tensor([0.3000, 0.7000], dtype=torch.float64)
    """
    _structure(net)  # rejects continuous variables
    out = {}
    for name in net.names:
        cpd = net.cpds.get(name)
        if cpd is None:
            raise PgmArError(f"variable {name!r} has no CPT in network {net.name!r}")
        out[name] = torch.as_tensor(np.array(cpd.probs), dtype=dtype)
    return out


def _checked_tables(st: _Structure, tables: Tables, nodes=None) -> List[Optional[torch.Tensor]]:
    """Tables as a list indexed like ``st.names`` (``None`` for nodes not asked for)."""
    out: List[Optional[torch.Tensor]] = [None] * len(st.names)
    for v in (range(len(st.names)) if nodes is None else nodes):
        name = st.names[v]
        t = tables.get(name) if isinstance(tables, Mapping) else None
        if t is None:
            raise PgmArError(f"no table for variable {name!r}")
        shape = tuple(st.cards[p] for p in st.parents[v]) + (st.cards[v],)
        if tuple(t.shape) != shape:
            raise PgmArError(
                f"table of {name!r} has shape {tuple(t.shape)}; with parents "
                f"{[st.names[p] for p in st.parents[v]]} it must be {shape}")
        out[v] = t
    return out


def _checked_data(st: _Structure, data: Mapping[str, object],
                  nodes: Sequence[int]) -> Tuple[List[Optional[torch.Tensor]], int]:
    """Integer columns for ``nodes`` as 1-D long tensors, checked for range and length."""
    if not isinstance(data, Mapping):
        raise DataError(f"data must be a mapping from variable name to values, "
                        f"got {type(data).__name__}")
    for key in data:
        if key not in st.index:
            raise DataError("unknown column; it is not a variable of the network", column=key)
    cols: List[Optional[torch.Tensor]] = [None] * len(st.names)
    n = None
    for v in nodes:
        name = st.names[v]
        if name not in data:
            raise DataError("missing column: every variable needs a value", column=name)
        try:
            x = torch.as_tensor(data[name])
        except (TypeError, ValueError, RuntimeError):
            raise DataError("values are not a numeric array", column=name) from None
        if x.dtype.is_floating_point or x.dtype.is_complex or x.dtype == torch.bool:
            if x.dtype == torch.bool:
                x = x.long()
            else:
                bad = torch.nonzero(x != torch.round(x.real if x.is_complex() else x))
                if len(bad):
                    r = int(bad[0, 0])
                    raise DataError("values must be integer state indices", column=name, row=r,
                                    value=x.reshape(-1)[r].item())
                x = x.long()
        x = x.reshape(-1) if x.dim() == 0 else x
        if x.dim() != 1:
            raise DataError(f"expected a 1-D column, got shape {tuple(x.shape)}", column=name)
        if n is None:
            n = x.shape[0]
        elif x.shape[0] != n:
            raise DataError(f"has {x.shape[0]} rows but other columns have {n}", column=name)
        if len(x) and (int(x.min()) < 0 or int(x.max()) >= st.cards[v]):
            r = int(torch.nonzero((x < 0) | (x >= st.cards[v]))[0, 0])
            raise DataError(f"state index out of range 0..{st.cards[v] - 1}", column=name, row=r,
                            value=int(x[r]))
        cols[v] = x.long()
    return cols, (n or 0)


def _checked_evidence(st: _Structure, net: BayesNet,
                      evidence: Optional[Evidence]) -> Dict[int, int]:
    out: Dict[int, int] = {}
    for name, value in (evidence or {}).items():
        if name not in st.index:
            raise UnknownVariableError(name, st.names, where="evidence")
        out[st.index[name]] = net.variable(name).state_index(value)
    return out


def _flat_parent_index(st: _Structure, v: int, cols: List[Optional[torch.Tensor]],
                       n: int, device) -> torch.Tensor:
    flat = None
    for p, s in zip(st.parents[v], st.strides[v]):
        term = cols[p] * s if s != 1 else cols[p]
        flat = term if flat is None else flat + term
    if flat is None:
        return torch.zeros(n, dtype=torch.long, device=device)
    return flat


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


def _ancestral(st: _Structure, tabs: List[Optional[torch.Tensor]], n: int,
               generator: Optional[torch.Generator], fixed: Dict[int, torch.Tensor],
               weights_for: Sequence[int] = ()
               ) -> Tuple[List[torch.Tensor], Optional[torch.Tensor]]:
    """Sample every node not in ``fixed`` given its parents; optionally sum log p of some nodes.

    On the CPU the arithmetic runs in numpy, which has a fraction of torch's
    per-operation overhead at these sizes; on other devices it stays in torch.
    """
    device = next(t for t in tabs if t is not None).device
    on_cpu = device.type == "cpu"
    free = [v for v in st.topo if v not in fixed]
    gen_device = generator.device if generator is not None else device
    u_all = torch.rand(len(free), n, generator=generator, dtype=torch.float64, device=gen_device)
    u_all = u_all.numpy() if on_cpu else u_all.to(device)
    cols: list = [None] * len(st.names)
    for v, x in fixed.items():
        cols[v] = x.numpy() if on_cpu else x

    def table(v: int):
        t = tabs[v].detach().reshape(st.num_rows[v], st.cards[v])
        return t.to(torch.float64).numpy() if on_cpu else t.to(torch.float64)

    def flat_index(v: int):
        if not st.parents[v]:
            return None
        flat = None
        for p, stride in zip(st.parents[v], st.strides[v]):
            term = cols[p] * stride if stride != 1 else cols[p]
            flat = term if flat is None else flat + term
        return flat

    k = 0
    for v in st.topo:
        if v in fixed:
            continue
        cols[v] = _draw(_normalised_cdf(table(v)), flat_index(v), u_all[k])
        k += 1
    logw = None
    for v in weights_for:
        flat = flat_index(v)
        probs = table(v)
        p = probs[0 if flat is None else flat, cols[v]]
        term = np.log(p) if on_cpu else torch.log(p)
        logw = term if logw is None else logw + term
    if on_cpu:
        out = [torch.from_numpy(np.ascontiguousarray(c, dtype=np.int64)) for c in cols]
        if logw is not None:
            with np.errstate(divide="ignore"):
                logw = torch.from_numpy(np.asarray(logw, dtype=np.float64))
        return out, logw
    return cols, logw


# --------------------------------------------------------------------------- #
# sampling and scoring
# --------------------------------------------------------------------------- #
def forward_sample(net: BayesNet, tables: Tables, n: int,
                   generator: Optional[torch.Generator] = None) -> Dict[str, torch.Tensor]:
    """``n`` rows drawn from the joint by ancestral sampling.

    Each node, in topological order, gathers the CPT row of every sample's
    parent configuration (one flat index per row) and draws its value by
    inverse CDF from one uniform per row: one vectorised pass per node, no
    loop over rows.

    Returns
    -------
    dict
        ``{name: LongTensor[n]}`` of state indices, in the net's declaration order.
    """
    st = _structure(net)
    n = _check_n(n)
    tabs = _checked_tables(st, tables)
    cols, _ = _ancestral(st, tabs, n, generator, {})
    return {name: cols[i] for i, name in enumerate(st.names)}


def log_prob(net: BayesNet, tables: Tables, data: Mapping[str, object]) -> torch.Tensor:
    """Joint log-probability (nats) of each complete row: ``sum_i log p(x_i | parents)``.

    ``data`` maps every variable to a 1-D integer array of state indices; a
    missing, unknown or out-of-range column is a :class:`~pgm_ar.errors.DataError`.
    Returns a float tensor of shape ``(N,)`` (``-inf`` for impossible rows).
    """
    st = _structure(net)
    tabs = _checked_tables(st, tables)
    cols, n = _checked_data(st, data, range(len(st.names)))
    device = tabs[0].device if tabs else torch.device("cpu")
    dtype = tabs[0].dtype if tabs else torch.float64
    cols = [c.to(device) for c in cols]
    total = torch.zeros(n, dtype=dtype, device=device)
    for v in range(len(st.names)):
        # one flat gather per node: (parent configuration, state) -> entry of the flat CPT;
        # differentiable in the tables, so it also serves as a training loss
        flat = _flat_parent_index(st, v, cols, n, device) * st.cards[v] + cols[v]
        total = total + torch.log(tabs[v].reshape(-1)[flat])
    return total


def likelihood_weighting(net: BayesNet, tables: Tables, n: int, evidence: Evidence,
                         generator: Optional[torch.Generator] = None
                         ) -> Tuple[Dict[str, torch.Tensor], torch.Tensor, float]:
    """Samples with evidence clamped, their log importance weights, and the effective sample size.

    Non-evidence variables are drawn from their CPTs in topological order; each
    row's weight is ``prod_e p(e | parents(e))`` over the evidence variables.
    The effective sample size is ``(sum w)^2 / sum w^2``.

    Returns
    -------
    (samples, log_weights, ess)
        ``samples`` as in :func:`forward_sample` (evidence columns constant),
        ``log_weights`` a float64 tensor of shape ``(n,)``, ``ess`` a float.
    """
    st = _structure(net)
    n = _check_n(n)
    tabs = _checked_tables(st, tables)
    ev = _checked_evidence(st, net, evidence)
    device = tabs[0].device
    fixed = {v: torch.full((n,), s, dtype=torch.long, device=device) for v, s in ev.items()}
    cols, logw = _ancestral(st, tabs, n, generator, fixed, weights_for=sorted(ev))
    if logw is None:
        logw = torch.zeros(n, dtype=torch.float64, device=device)
    if torch.isneginf(logw).all():
        raise PgmArError(f"every sample has zero weight: evidence {dict(evidence)} is impossible "
                         "or too unlikely for likelihood weighting")
    ess = float(torch.exp(2 * torch.logsumexp(logw, 0) - torch.logsumexp(2 * logw, 0)))
    return {name: cols[i] for i, name in enumerate(st.names)}, logw, ess


def fit_counts(net: BayesNet, data: Mapping[str, object],
               pseudocount: float = 0.0) -> Dict[str, torch.Tensor]:
    """Maximum-likelihood CPTs (or add-``pseudocount`` smoothed ones) from complete data.

    One ``bincount`` per node over the flat index ``parent_configuration * card + value``.
    Parent configurations that never occur (with ``pseudocount == 0``) get a
    uniform row, so every returned table is a valid CPT.

    Returns ``{name: float64 tensor of shape (*parent_cards, card)}``.
    """
    st = _structure(net)
    if pseudocount < 0 or not math.isfinite(pseudocount):
        raise PgmArError(f"pseudocount must be a finite number >= 0, got {pseudocount}")
    cols, n = _checked_data(st, data, range(len(st.names)))
    arrays = [c.cpu().numpy() for c in cols]  # numpy's bincount is several times faster here
    out = {}
    for v, name in enumerate(st.names):
        card = st.cards[v]
        flat = arrays[v]
        mult = card
        for p in reversed(st.parents[v]):  # row-major over (parents..., child)
            flat = flat + arrays[p] * mult
            mult *= st.cards[p]
        counts = np.bincount(flat, minlength=mult).astype(np.float64)
        counts = counts.reshape(-1, card) + pseudocount
        totals = counts.sum(1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            probs = np.where(totals > 0, counts / totals, 1.0 / card)
        shape = tuple(st.cards[p] for p in st.parents[v]) + (card,)
        out[name] = torch.from_numpy(probs.reshape(shape))
    return out


def _check_n(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise PgmArError(f"the number of samples must be an integer >= 0, got {n!r}")
    return int(n)


# --------------------------------------------------------------------------- #
# variable elimination: planning
# --------------------------------------------------------------------------- #
@dataclass
class _Step:
    """Multiply the factors ``inputs`` (pool ids) and sum or maximise ``var`` out of them."""

    var: int
    op: int
    inputs: Tuple[int, ...]
    subs: Tuple[Tuple[int, ...], ...]  # einsum sublists of the inputs (local labels)
    out_sub: Tuple[int, ...]           # labels of the result's axes
    var_sub: int                       # label of ``var``
    scope: Tuple[int, ...]             # variables of the result, in axis order


@dataclass
class _Plan:
    nodes: Tuple[int, ...]                 # nodes whose CPTs enter, topological order
    axes: Tuple[Tuple[int, ...], ...]      # per node: the variables of its table's axes
    steps: Tuple[_Step, ...]
    final_inputs: Tuple[int, ...]          # pool ids left after the last step
    final_subs: Tuple[Tuple[int, ...], ...]
    keep: Tuple[int, ...]                  # variables of the answer, in the order asked for
    width: int                             # entries of the largest factor built


def _interaction_graph(scopes: Sequence[Tuple[int, ...]]) -> Dict[int, set]:
    adj: Dict[int, set] = {}
    for sc in scopes:
        for a in sc:
            adj.setdefault(a, set()).update(sc)
    for a, nb in adj.items():
        nb.discard(a)
    return adj


def _greedy_order(adj: Dict[int, set], eliminate: Sequence[int],
                  cards: Sequence[int]) -> List[int]:
    """Greedy min-fill elimination order (ties: smallest clique weight, then index).

    ``adj`` is updated in place to the graph left after the elimination, so a
    second call can continue from it.  Scores are recomputed only for the
    nodes whose neighbourhood changed.
    """
    remaining = set(eliminate)

    def score(v: int) -> Tuple[int, int, int]:
        nb = list(adj[v])
        fill = 0
        for i, a in enumerate(nb):
            na = adj[a]
            for b in nb[i + 1:]:
                if b not in na:
                    fill += 1
        w = cards[v]
        for a in nb:
            w *= cards[a]
        return (fill, w, v)

    scores = {v: score(v) for v in remaining}
    order: List[int] = []
    while remaining:
        v = min(remaining, key=scores.__getitem__)
        remaining.discard(v)
        order.append(v)
        nb = adj.pop(v)
        touched = set(nb)
        for a in nb:
            na = adj[a]
            na.discard(v)
            na |= nb
            na.discard(a)
            touched |= na
        for a in touched:
            if a in remaining:
                scores[a] = score(a)
    return order


def _size(st: _Structure, scope) -> int:
    s = 1
    for a in scope:
        s *= st.cards[a]
    return s


def _make_plan(st: _Structure, nodes: Sequence[int], evidence_vars,
               order: Sequence[Tuple[int, int]],
               keep: Sequence[int]) -> _Plan:
    """Simulate eliminating ``order`` ((variable, op) pairs) to fix every einsum's operands."""
    axes = tuple(st.parents[v] + (v,) for v in nodes)
    live: Dict[int, Tuple[int, ...]] = {
        i: tuple(a for a in ax if a not in evidence_vars) for i, ax in enumerate(axes)}
    width = max((_size(st, sc) for sc in live.values()), default=1)
    next_id = len(axes)
    steps = []
    for var, op in order:
        ins = tuple(i for i, sc in live.items() if var in sc)
        local: Dict[int, int] = {}
        for i in ins:
            for a in live[i]:
                if a not in local:
                    local[a] = len(local)
        size = _size(st, local)
        width = max(width, size)
        if size > MAX_FACTOR_SIZE:
            raise InferenceTooLargeError(
                f"exact inference would build a factor of {size} entries while eliminating "
                f"{st.names[var]!r} (limit {MAX_FACTOR_SIZE}): the network is too densely "
                "connected for variable elimination; use likelihood_weighting instead")
        scope = tuple(a for a in local if a != var)
        subs = tuple(tuple(local[a] for a in live[i]) for i in ins)
        for i in ins:
            del live[i]
        steps.append(_Step(var, op, ins, subs, tuple(local[a] for a in scope), local[var], scope))
        live[next_id] = scope
        next_id += 1
    keep_t = tuple(keep)
    local = {a: k for k, a in enumerate(keep_t)}
    final_inputs = tuple(live)
    final_subs = tuple(tuple(local[a] for a in live[i]) for i in final_inputs)
    return _Plan(tuple(nodes), axes, tuple(steps), final_inputs, final_subs, keep_t, width)


# --------------------------------------------------------------------------- #
# variable elimination: execution
# --------------------------------------------------------------------------- #
_MAX_OPERANDS = 24  # numpy's einsum takes at most 32 operands


def _einsum(arrays: Sequence[np.ndarray], subs: Sequence[Tuple[int, ...]],
            out: Sequence[int]) -> np.ndarray:
    operands: list = []
    for a, s in zip(arrays, subs):
        operands.append(a)
        operands.append(list(s))
    operands.append(list(out))
    # one einsum over all operands loops over the union of their axes once: that is the
    # clique that variable elimination builds anyway, and it avoids pairwise temporaries
    return np.einsum(*operands)


def _product(arrays: Sequence[np.ndarray], subs: Sequence[Tuple[int, ...]],
             out: Sequence[int], scaled: bool = False) -> Tuple[np.ndarray, float]:
    """Multiply factors and sum out the labels not in ``out``; returns (result, log scale).

    With ``scaled`` the factors are multiplied one at a time and each partial
    product is divided by its maximum, so that no product of many small numbers
    underflows (the divisors are returned as a log scale).  Without it, more
    operands than one einsum accepts are multiplied in chunks.
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
            m = float(np.max(acc)) if acc.size else 0.0
            if m > 0.0:
                acc = acc / m
                log_scale += math.log(m)
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
        m = float(np.max(res)) if res.size else 0.0
        if m > 0.0:
            res = res / m
            log_scale += math.log(m)
    return res, log_scale


def _factors(st: _Structure, plan: _Plan, tables: Tables, ev: Dict[int, int]) -> List[np.ndarray]:
    """The plan's CPTs as float64 numpy arrays, reduced by the evidence."""
    pool = []
    for v, ax in zip(plan.nodes, plan.axes):
        name = st.names[v]
        t = tables.get(name) if isinstance(tables, Mapping) else None
        if t is None:
            raise PgmArError(f"no table for variable {name!r}")
        a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
        if a.shape != tuple(st.cards[x] for x in ax):
            raise PgmArError(
                f"table of {name!r} has shape {a.shape}; with parents "
                f"{[st.names[p] for p in st.parents[v]]} it must be "
                f"{tuple(st.cards[x] for x in ax)}")
        if a.dtype != np.float64:
            a = a.astype(np.float64)
        if ev:
            a = a[tuple(ev[x] if x in ev else slice(None) for x in ax)]
        pool.append(a)
    return pool


def _run(plan: _Plan, pool: List[np.ndarray], rescale: bool = False,
         keep_products: bool = False) -> Tuple[np.ndarray, float, list]:
    """Execute a plan.

    Returns the final factor over ``plan.keep`` (times ``exp(-log_scale)``),
    ``log_scale``, and one record per step: the argmax table of a max step, or
    with ``keep_products`` the product of a sum step's inputs (``var`` on the
    last axis), which backward sampling draws from.
    """
    pool = list(pool)
    log_scale = 0.0
    records: list = []
    for step in plan.steps:
        ins = [pool[i] for i in step.inputs]
        if step.op == MAX or keep_products:
            prod, ls = _product(ins, step.subs, step.out_sub + (step.var_sub,), rescale)
            if step.op == MAX:
                records.append(prod.argmax(axis=-1))
                res = prod.max(axis=-1)
            else:
                records.append(prod)
                res = prod.sum(axis=-1)
        else:
            records.append(None)
            res, ls = _product(ins, step.subs, step.out_sub, rescale)
        log_scale += ls
        pool.append(res)
    fin = [pool[i] for i in plan.final_inputs]
    out, ls = _product(fin, plan.final_subs, tuple(range(len(plan.keep))), rescale)
    return np.asarray(out, dtype=np.float64), log_scale + ls, records


def _run_checked(plan: _Plan, pool: List[np.ndarray], evidence: Optional[Evidence],
                 keep_products: bool = False) -> Tuple[np.ndarray, float, list]:
    """Run; rerun with rescaling if the answer underflowed; reject impossible evidence."""
    out, log_scale, records = _run(plan, pool, keep_products=keep_products)
    total = float(out.sum()) if out.size else 0.0
    if not (total > _UNDERFLOW and math.isfinite(total)):
        out, log_scale, records = _run(plan, pool, rescale=True, keep_products=keep_products)
        total = float(out.sum()) if out.size else 0.0
        if not total > 0.0:
            raise PgmArError(f"the evidence {dict(evidence or {})} has probability zero "
                             "under the network")
    return out, log_scale, records


def _plan_for(st: _Structure, key: tuple, build) -> _Plan:
    plan = st.plans.get(key)
    if plan is None:
        plan = build()
        if len(st.plans) > 4096:  # bound the cache on long-running services
            st.plans.clear()
        st.plans[key] = plan
    return plan


def _target_list(st: _Structure, target) -> Tuple[List[int], bool]:
    single = isinstance(target, str)
    names = [target] if single else list(target)
    if not names:
        raise PgmArError("no target variable given")
    out = []
    for t in names:
        if t not in st.index:
            raise UnknownVariableError(t, st.names, where="query targets")
        out.append(st.index[t])
    return out, single


# --------------------------------------------------------------------------- #
# queries
# --------------------------------------------------------------------------- #
def query(net: BayesNet, tables: Tables, target: Union[str, Sequence[str]],
          evidence: Optional[Evidence] = None
          ) -> Union[torch.Tensor, Dict[str, torch.Tensor]]:
    """Exact posterior marginal ``p(target | evidence)`` by variable elimination.

    Only the target, the evidence and their ancestors matter (other nodes are
    barren and sum to one); their CPTs are reduced by the evidence and the
    remaining variables summed out in a greedy min-fill order, each step one
    float64 ``einsum`` over the factors that mention the variable.

    Parameters
    ----------
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
    st = _structure(net)
    targets, single = _target_list(st, target)
    ev = _checked_evidence(st, net, evidence)
    ev_key = frozenset(ev)
    out: Dict[str, torch.Tensor] = {}
    for t in targets:
        if t in ev:
            p = torch.zeros(st.cards[t], dtype=torch.float64)
            p[ev[t]] = 1.0
            out[st.names[t]] = p
            continue

        def build(t=t) -> _Plan:
            nodes = st.closure([t, *ev])
            axes = [st.parents[v] + (v,) for v in nodes]
            adj = _interaction_graph([tuple(a for a in ax if a not in ev) for ax in axes])
            elim = [v for v in nodes if v != t and v not in ev]
            order = _greedy_order(adj, elim, st.cards)
            return _make_plan(st, nodes, ev_key, [(v, SUM) for v in order], (t,))

        plan = _plan_for(st, ("query", t, ev_key), build)
        res, _, _ = _run_checked(plan, _factors(st, plan, tables, ev), evidence)
        out[st.names[t]] = torch.from_numpy(res / res.sum())
    return out[st.names[targets[0]]] if single else out


def _evidence_plan(st, ev, ev_key) -> "_Plan":
    """The (cached) plan that sums out every ancestor of the evidence: shared by
    :func:`log_evidence` and :func:`posterior_sample`."""

    def build() -> _Plan:
        nodes = st.closure(ev)
        axes = [st.parents[v] + (v,) for v in nodes]
        adj = _interaction_graph([tuple(a for a in ax if a not in ev) for ax in axes])
        order = _greedy_order(adj, [v for v in nodes if v not in ev], st.cards)
        return _make_plan(st, nodes, ev_key, [(v, SUM) for v in order], ())

    return _plan_for(st, ("evidence", ev_key), build)


def log_evidence(net: BayesNet, tables: Tables, evidence: Evidence) -> float:
    """``log p(evidence)`` in nats, by variable elimination (``-inf`` if impossible).

    >>> from pgm_ar import BayesNet, Bernoulli, TabularCPD
    >>> net = BayesNet([Bernoulli("a"), Bernoulli("b")], [("a", "b")],
    ...                cpds={"a": TabularCPD("a", (), [0.5, 0.5]),
    ...                      "b": TabularCPD("b", ("a",), [[1.0, 0.0], [0.5, 0.5]])})
    >>> round(math.exp(log_evidence(net, tables_from_net(net), {"b": 1})), 6)
    0.25
    """
    st = _structure(net)
    ev = _checked_evidence(st, net, evidence)
    if not ev:
        return 0.0
    ev_key = frozenset(ev)

    plan = _evidence_plan(st, ev, ev_key)
    pool = _factors(st, plan, tables, ev)
    out, log_scale, _ = _run(plan, pool)
    total = float(out.sum())
    if not (total > _UNDERFLOW and math.isfinite(total)):
        out, log_scale, _ = _run(plan, pool, rescale=True)
        total = float(out.sum())
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
      done exactly, and a :class:`~pgm_ar.errors.PgmArError` is raised when
      an intermediate factor would exceed :data:`MAX_FACTOR_SIZE` entries.

    Ties are broken towards the lower state index.  Evidence variables are
    not in the result (a target that is evidence keeps its observed state).
    """
    st = _structure(net)
    ev = _checked_evidence(st, net, evidence)
    ev_key = frozenset(ev)
    if targets is None:
        tset = None
        key = ("mpe", ev_key)
    else:
        tl, _ = _target_list(st, targets)
        tset = tuple(dict.fromkeys(tl))
        key = ("map", frozenset(tset), ev_key)

    def build() -> _Plan:
        if tset is None:
            nodes = list(st.topo)  # barren nodes are not constant under max: keep them all
            max_vars = [v for v in nodes if v not in ev]
            sum_vars: List[int] = []
        else:
            nodes = st.closure(set(tset) | set(ev))
            max_vars = [v for v in nodes if v in tset and v not in ev]
            sum_vars = [v for v in nodes if v not in tset and v not in ev]
        axes = [st.parents[v] + (v,) for v in nodes]
        adj = _interaction_graph([tuple(a for a in ax if a not in ev) for ax in axes])
        order = [(v, SUM) for v in _greedy_order(adj, sum_vars, st.cards)]
        order += [(v, MAX) for v in _greedy_order(adj, max_vars, st.cards)]
        return _make_plan(st, nodes, ev_key, order, ())

    plan = _plan_for(st, key, build)
    pool = _factors(st, plan, tables, ev)
    out, _, records = _run(plan, pool)
    if not float(out.sum()) > _UNDERFLOW:
        out, _, records = _run(plan, pool, rescale=True)
        if not float(out.sum()) > 0.0:
            raise PgmArError(f"the evidence {dict(evidence or {})} has probability zero "
                             "under the network")
    assign: Dict[int, int] = {}
    for step, rec in zip(reversed(plan.steps), reversed(records)):
        if step.op == MAX:
            assign[step.var] = int(rec[tuple(assign[a] for a in step.scope)])
    wanted = [v for v in st.topo if v not in ev] if tset is None else list(tset)
    return {st.names[v]: (ev[v] if v in ev else assign[v]) for v in wanted}


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
    """
    st = _structure(net)
    n = _check_n(n)
    ev = _checked_evidence(st, net, evidence)
    if not ev:
        return forward_sample(net, tables, n, generator)
    tabs = _checked_tables(st, tables)
    device = tabs[0].device
    ev_key = frozenset(ev)

    plan = _evidence_plan(st, ev, ev_key)
    _, _, products = _run_checked(plan, _factors(st, plan, tables, ev), evidence,
                                  keep_products=True)
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
    cols = {v: torch.from_numpy(x) for v, x in drawn.items()}
    fixed = {v: x.to(device) for v, x in cols.items()}
    for v, s in ev.items():
        fixed[v] = torch.full((n,), s, dtype=torch.long, device=device)
    full, _ = _ancestral(st, tabs, n, generator, fixed)
    return {name: full[i] for i, name in enumerate(st.names)}
