"""A junction tree calibrated once per evidence set: every posterior, ``p(evidence)`` and the MPE.

Variable elimination (:mod:`~pgm_ar.inference.queries`) plans and runs one elimination per
target, so asking for every variable's posterior costs one elimination per variable.  A
junction tree answers all of them from two passes over a tree of cliques:

1. **Tree** (once per network, cached with its
   :class:`~pgm_ar.inference.structure.NetStructure`): the moral graph (every CPT's
   variables pairwise linked) is triangulated by eliminating all variables in the greedy
   weighted min-fill order of :func:`~pgm_ar.inference.plan.greedy_order`.  Each
   elimination forms a clique, the variable and its neighbours left; joining each clique to
   the clique of its first-eliminated neighbour gives the *elimination tree*, a junction
   tree (it has the running intersection property; it is a maximum-weight spanning tree of
   the clique graph over separator sizes, without building that graph).  Cliques contained
   in a neighbour are merged into it, and each CPT goes to one clique holding its
   variables.  A network of several components gives a forest.
2. **Schedule** (once per set of evidence *variables*): the evidence variables are dropped
   from every clique (the tables are sliced at the observed states), which keeps the
   running intersection property and makes every clique smaller.  Where that tree is
   large, the moral graph is also triangulated *without* the observed variables (an
   observation cuts every edge through it, so cliques split) and the smaller tree kept;
   a large tree of a small network is also searched for among a few randomised greedy
   orders.  An evidence set leaving a joint of at most :data:`JOINT_CELLS` states is one
   clique, the joint.  Each clique's axes start with its separator; the operands of each
   clique are fixed.  A clique over the memory budget of
   :func:`~pgm_ar.inference.plan.factor_limit` is refused here, before anything is built.
3. **Calibration** (Hugin, float64 numpy): an upward pass multiplies each clique's CPTs by
   its children's messages (one einsum for a small clique; in place, small operands first,
   for a large one) and sums the result onto the separator with its parent; each message
   is divided by its maximum and the divisors kept, so that ``log p(evidence)`` is their
   sum plus the log of the roots' totals and nothing underflows.  A downward pass turns
   each table into the normalised joint of its clique given the evidence (parent's
   separator marginal over the upward message); a large leaf is left as its table and
   that ratio.  A variable's posterior is read from the smallest table that holds it, a
   clique or a separator marginal.
4. **MPE**: the same upward pass with maxima instead of sums, and a backtrack from the
   roots: each clique's best states given its parent's.

>>> from pgm_ar import BayesNet, Bernoulli, TabularCPD
>>> from pgm_ar.inference import tables_from_net
>>> net = BayesNet([Bernoulli("rain"), Bernoulli("wet")], [("rain", "wet")],
...                cpds={"rain": TabularCPD("rain", (), [0.8, 0.2]),
...                      "wet": TabularCPD("wet", ("rain",), [[0.9, 0.1], [0.2, 0.8]])})
>>> cal = calibrate(net, tables_from_net(net), {"wet": 1})
>>> [round(p, 4) for p in cal.marginals["rain"].tolist()]
[0.3333, 0.6667]
>>> round(math.exp(cal.log_evidence), 4), cal.mpe()
(0.24, {'rain': 1})
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

from ..errors import InferenceTooLargeError, UnknownVariableError
from ..network import BayesNet
from .elimination import multiply_out, node_array, require_possible
from .inputs import Evidence, Tables, checked_evidence
from .queries import query
from .plan import clique_refusal, factor_limit, greedy_order, interaction_graph, order_cliques
from .structure import NetStructure, network_structure

__all__ = ["JunctionTree", "Calibration", "junction_tree", "calibrate", "prefers_calibration",
           "exact_posteriors",
           "CALIBRATION_MAX_CELLS_PER_VARIABLE", "CALIBRATION_MIN_TARGETS"]

#: :func:`prefers_calibration` keeps variable elimination where the tree (evidence removed)
#: holds more than this many entries per variable: every calibration pays for all of them,
#: while each elimination triangulates its own pruned, evidence-reduced graph.  Measured for
#: all posteriors (warm, 20 evidence sets of 1-4 variables): BARLEY (up to 384k entries per
#: variable) is as fast either way, MILDEW (up to 290k) and WATER (up to 145k) 1.5-2x faster
#: by calibration, and every network with fewer entries per variable faster still
CALIBRATION_MAX_CELLS_PER_VARIABLE = 1 << 19
#: ... and where fewer than this many targets (or a quarter of the variables) are asked for:
#: measured crossovers (warm, 2 evidence variables) are 8-16 targets on ALARM, HEPAR2 and
#: HAILFINDER, 4-8 on ANDES, 16-64 on WIN95PTS and PATHFINDER
CALIBRATION_MIN_TARGETS = 8


# --------------------------------------------------------------------------- #
# the tree, once per network
# --------------------------------------------------------------------------- #
@dataclass
class JunctionTree:
    """The cliques of a network's triangulation, joined in a tree (a forest over components).

    ``cliques[k]`` are variable indices; ``parent[k]`` is the clique's parent (``-1`` for a
    root); ``upward`` lists the cliques children first; ``home[v]`` is the clique that holds
    variable ``v``'s CPT.
    """

    cliques: Tuple[Tuple[int, ...], ...]
    parent: Tuple[int, ...]
    upward: Tuple[int, ...]
    home: Tuple[int, ...]
    order: Tuple[int, ...]  # the elimination order that triangulated the moral graph


def junction_tree(st: NetStructure) -> JunctionTree:
    """The (cached) junction tree of the network behind ``st``; see the module's text."""
    key = ("junction_tree",)
    jt = st.plans.get(key)
    if jt is None:
        jt = _build_tree(st)
        st.plans[key] = jt
    return jt


def _build_tree(st: NetStructure, ev: FrozenSet[int] = frozenset()) -> JunctionTree:
    """The elimination tree of the moral graph, with the ``ev`` variables (observed) left out
    of it: an observed variable cuts every edge through it, so the triangulation of what is
    left can have far smaller cliques than the network's tree with ``ev`` dropped from them.
    A CPT over observed variables alone (a number once sliced) goes to the last root."""
    scopes = [tuple(a for a in st.parents[v] + (v,) if a not in ev)
              for v in range(len(st.names))]
    # the moral graph: a CPT's variables are pairwise linked (parents married)
    live = [v for v in range(len(st.names)) if v not in ev]
    nonempty = [sc for sc in scopes if sc]
    order = greedy_order(interaction_graph(nonempty), live, st.cards)
    found = order_cliques(nonempty, [(v, 0) for v in order])
    total = sum(st.size(c) for c in found)
    if total >= SEARCH_CELLS and len(live) <= SEARCH_MAX_VARIABLES:
        # a large tree of a small network: the greedy order is one guess among many near
        # ties; a few randomised greedy orders often find a tree 5-40% smaller (measured on
        # WATER, MILDEW, BARLEY), for milliseconds once per network or evidence set
        rng = random.Random(0)
        graph = interaction_graph(nonempty)  # read, not changed, by _perturbed_order
        for _ in range(SEARCH_TRIES if not ev else SEARCH_TRIES // 2):
            cand = _perturbed_order(graph, st.cards, rng)
            cl = order_cliques(nonempty, [(v, 0) for v in cand])
            size = sum(st.size(c) for c in cl)
            if size < total:
                order, found, total = cand, cl, size
    n = len(order)
    cliques = [frozenset(c) for c in found]
    pos = {v: k for k, v in enumerate(order)}
    # elimination tree: clique k's parent is the clique of its first-eliminated neighbour
    nbrs: List[set] = [set() for _ in range(n)]
    for k, v in enumerate(order):
        rest = cliques[k] - {v}
        if rest:
            p = min(pos[a] for a in rest)
            nbrs[k].add(p)
            nbrs[p].add(k)
    # merge every clique contained in a neighbour into it: by running intersection a clique
    # contained in any other is contained in a neighbour, and merging keeps the property
    into = list(range(n))
    alive = [True] * n
    for k in range(n):
        big = next((j for j in nbrs[k] if cliques[k] <= cliques[j]), None)
        if big is None:
            continue
        for x in nbrs[k]:
            if x != big:
                nbrs[x].discard(k)
                nbrs[x].add(big)
                nbrs[big].add(x)
        nbrs[big].discard(k)
        nbrs[k] = set()
        alive[k], into[k] = False, big

    def final(k: int) -> int:
        while not alive[k]:
            k = into[k]
        return k

    keep = [k for k in range(n) if alive[k]]
    new = {k: i for i, k in enumerate(keep)}
    # root each component at its last-eliminated clique; breadth first, then reversed
    parent = [-1] * len(keep)
    seen = [False] * len(keep)
    down: List[int] = []
    for r in reversed(keep):
        if seen[new[r]]:
            continue
        seen[new[r]] = True
        queue = [r]
        while queue:
            k = queue.pop()
            down.append(new[k])
            for j in nbrs[k]:
                if not seen[new[j]]:
                    seen[new[j]] = True
                    parent[new[j]] = new[k]
                    queue.append(j)
    # a CPT's variables are all in the clique of the first of them to be eliminated
    home = tuple(new[final(min(pos[a] for a in sc))] if sc else down[0] for sc in scopes)
    members = tuple(tuple(sorted(cliques[k], key=pos.__getitem__)) for k in keep)
    return JunctionTree(members, tuple(parent), tuple(reversed(down)), home, tuple(order))


#: a tree of at least this many entries, over at most :data:`SEARCH_MAX_VARIABLES`
#: unobserved variables, is searched for among :data:`SEARCH_TRIES` randomised orders too
#: (half as many for the tree of an evidence set, made once per set of observed variables)
SEARCH_CELLS = 1 << 20
SEARCH_MAX_VARIABLES = 120
SEARCH_TRIES = 12


def _perturbed_order(adj: Dict[int, set], cards: Sequence[int],
                     rng: random.Random) -> List[int]:
    """A weighted min-fill elimination order (as :func:`~pgm_ar.inference.plan.greedy_order`)
    with each score multiplied by a random factor in [1, 1.5): a different near-greedy
    triangulation per draw.  Quadratic in the variables, for small networks only."""
    adj = {v: set(nb) for v, nb in adj.items()}
    order: List[int] = []
    while adj:
        def score(v: int) -> Tuple[float, float]:
            nb = list(adj[v])
            fill = sum(cards[a] * cards[b] for i, a in enumerate(nb) for b in nb[:i]
                       if b not in adj[a])
            w = cards[v] * math.prod(cards[a] for a in nb)
            return fill * (1 + 0.5 * rng.random()), w * (1 + 0.5 * rng.random())

        v = min(adj, key=score)
        order.append(v)
        nb = adj.pop(v)
        for a in nb:
            adj[a] |= nb
            adj[a].discard(a)
            adj[a].discard(v)
    return order


# --------------------------------------------------------------------------- #
# the schedule, once per set of evidence variables
# --------------------------------------------------------------------------- #
@dataclass
class _Clique:
    vars: Tuple[int, ...]              # variables once the evidence is gone, in axis order
    shape: Tuple[int, ...]
    parent: int
    sep_axes: Tuple[int, ...]          # this clique's axes shared with its parent
    sum_axes: Tuple[int, ...]          # the others (summed onto the separator)
    parent_sep: Tuple[int, ...]        # the parent's labels of the separator, in our order
    nodes: Tuple[int, ...]             # CPTs multiplied in here
    subs: Tuple[Tuple[int, ...], ...]  # einsum labels of those CPTs' axes left
    children: Tuple[int, ...]
    parent_labels: Tuple[int, ...]     # 0 .. (the parent's axes) - 1
    ratio_shape: Tuple[int, ...]       # the separator's axes broadcast over this clique
    # for a large clique, each operand (CPTs, then children's messages) transposed to the
    # clique's axis order and reshaped to broadcast over it: a product by in-place
    # multiplications, far faster than one einsum of many operands into a large table
    perms: Tuple[Tuple[int, ...], ...]
    bshapes: Tuple[Tuple[int, ...], ...]
    psum_axes: Tuple[int, ...]         # the parent's axes summed onto the separator
    mu_perm: Tuple[int, ...]           # that sum's axes to this clique's separator order


@dataclass
class _Schedule:
    cliques: Tuple[_Clique, ...]
    upward: Tuple[int, ...]
    # (table, its axes summed first, ((variable, the axes of what is left summed), ...))
    reads: Tuple[Tuple[int, Tuple[int, ...], Tuple[Tuple[int, Tuple[int, ...]], ...]], ...]
    largest: int                       # entries of the largest clique
    total: int                         # entries of all cliques


def _schedule(st: NetStructure, ev: FrozenSet[int]) -> _Schedule:
    key = ("junction_schedule", ev)
    hit = st.plans.get(key)
    if hit is not None:
        return hit
    jt = junction_tree(st)
    kept = [tuple(a for a in c if a not in ev) for c in jt.cliques]
    sizes = [st.size(c) for c in kept]
    live = tuple(v for v in range(len(st.names)) if v not in ev)
    if st.size(live) <= JOINT_CELLS:
        # a small network: one clique of every unobserved variable, the joint itself; a
        # single einsum then does what a pass over the tree does in many small steps
        jt = JunctionTree((live,), (-1,), (0,), (0,) * len(st.names), live)
        kept, sizes = [live], [st.size(live)]
    elif ev and len(ev) < len(st.names) and sum(sizes) >= RETRIANGULATE_CELLS:
        # the tree triangulated without the observed variables is often far smaller (and
        # sometimes larger: the greedy order is only a heuristic); keep the smaller
        alt = _build_tree(st, ev)
        alt_sizes = [st.size(c) for c in alt.cliques]
        if sum(alt_sizes) < sum(sizes):
            jt, kept, sizes = alt, list(alt.cliques), alt_sizes
    # the separator with the parent leads each clique's axes: the message is then a sum over
    # trailing axes and the downward scaling a broadcast over them, both fast in numpy
    psets = [frozenset(kept[p]) if p >= 0 else frozenset() for p in jt.parent]
    kept = [tuple(a for a in vs if a in ps) + tuple(a for a in vs if a not in ps)
            for vs, ps in zip(kept, psets)]
    largest = max(range(len(kept)), key=sizes.__getitem__)
    if sizes[largest] > factor_limit():
        raise _too_large(st, kept[largest], max(len(c) for c in kept) - 1)
    by_clique: Dict[int, List[int]] = {}
    for v, k in enumerate(jt.home):
        by_clique.setdefault(k, []).append(v)
    kids: Dict[int, List[int]] = {}
    for k, p in enumerate(jt.parent):
        if p >= 0:
            kids.setdefault(p, []).append(k)
    seps: List[Tuple[int, ...]] = []
    for k, vs in enumerate(kept):
        p = jt.parent[k]
        plocal = {a: i for i, a in enumerate(kept[p])} if p >= 0 else {}
        seps.append(tuple(plocal[a] for a in vs if a in plocal))
    out = []
    for k, vs in enumerate(kept):
        local = {a: i for i, a in enumerate(vs)}
        p = jt.parent[k]
        pvars = kept[p] if p >= 0 else ()
        plocal = {a: i for i, a in enumerate(pvars)}
        sep = tuple(i for i, a in enumerate(vs) if a in plocal)
        nodes = tuple(by_clique.get(k, ()))
        subs = tuple(tuple(local[a] for a in st.parents[v] + (v,) if a not in ev)
                     for v in nodes)
        shape = tuple(st.cards[a] for a in vs)
        children = tuple(kids.get(k, ()))
        perms, bshapes = [], []
        for sub in list(subs) + [seps[j] for j in children]:
            perms.append(tuple(sorted(range(len(sub)), key=sub.__getitem__)))
            bshapes.append(tuple(n if i in sub else 1 for i, n in enumerate(shape)))
        parent_sep = seps[k]
        ordered = sorted(parent_sep)
        out.append(_Clique(vs, shape, p, sep,
                           tuple(i for i in range(len(vs)) if i not in sep),
                           parent_sep, nodes, subs, children, tuple(range(len(pvars))),
                           tuple(n if i in sep else 1 for i, n in enumerate(shape)),
                           tuple(perms), tuple(bshapes),
                           tuple(i for i in range(len(pvars)) if i not in parent_sep),
                           tuple(ordered.index(lab) for lab in parent_sep)))
    # each variable's posterior from the smallest table that holds it: a clique (``k``) or
    # the separator marginal the downward pass computes for clique ``k`` (``n + k``; its
    # axes are the clique's leading ones)
    n = len(kept)
    tables = list(kept) + [kept[k][:len(c.sep_axes)] for k, c in enumerate(out)]
    tsizes = sizes + [st.size(vs) for vs in tables[n:]]
    best: Dict[int, int] = {}
    for k, vs in enumerate(tables):
        for a in vs:
            if a not in best or tsizes[k] < tsizes[best[a]]:
                best[a] = k
    # the variables read from one table: its other axes are summed out once, then each
    # variable's from that (smaller) table, instead of a pass over the table per variable
    groups: Dict[int, List[int]] = {}
    for v in sorted(best):
        groups.setdefault(best[v], []).append(v)
    reads = []
    for k, vs in groups.items():
        keep = [i for i, a in enumerate(tables[k]) if a in vs]
        labels = [tables[k][i] for i in keep]
        rest = tuple(i for i in range(len(tables[k])) if i not in keep)
        reads.append((k, rest, tuple((v, tuple(j for j, a in enumerate(labels) if a != v))
                                     for v in (tables[k][i] for i in keep))))
    reads = tuple(reads)
    sched = _Schedule(tuple(out), jt.upward, reads, sizes[largest], sum(sizes))
    st.plans[key] = sched
    return sched


def _too_large(st: NetStructure, clique: Tuple[int, ...], width: int) -> InferenceTooLargeError:
    """The refusal of :func:`~pgm_ar.inference.plan.too_large`, for a junction tree clique."""
    err = clique_refusal(st, clique, "the junction tree would hold",
                         f"the triangulation's width is {width}")
    err.width = width
    return err


# --------------------------------------------------------------------------- #
# the passes
# --------------------------------------------------------------------------- #
def _factors(st: NetStructure, tables: Tables, ev: Mapping[int, int]) -> List[np.ndarray]:
    """Every CPT as float64, sliced at the observed states."""
    out = []
    for v in range(len(st.names)):
        a = node_array(st, tables, v)
        ax = st.parents[v] + (v,)
        if ev and any(x in ev for x in ax):
            a = a[tuple(ev[x] if x in ev else slice(None) for x in ax)]
        out.append(a)
    return out


#: an evidence set whose network tree (observed variables dropped) holds at least this
#: many entries is also given a tree triangulated without the observed variables; below
#: it the triangulation costs more than it can save
RETRIANGULATE_CELLS = 1 << 19

#: an evidence set that leaves at most this many joint states unobserved is calibrated as
#: one clique, the joint (see :func:`_schedule`)
JOINT_CELLS = 1 << 9

#: a clique of at least this many entries is multiplied out operand by operand, in place
#: (see ``_Clique.perms``); a smaller one by one einsum, which costs fewer Python calls
BROADCAST_CELLS = 1 << 12


def _sum_out(t: np.ndarray, axes: Tuple[int, ...]) -> np.ndarray:
    """``t`` summed over ``axes``: numpy's sum where they are one leading or trailing block
    (contiguous), einsum where they interleave with the kept ones (measured twice as fast
    there on cliques of millions of entries)."""
    if not axes:
        return t
    nd, na = t.ndim, len(axes)
    if axes == tuple(range(nd - na, nd)) or axes == tuple(range(na)):
        return t.sum(axis=axes)
    labels = list(range(nd))
    return np.einsum(t, labels, [i for i in labels if i not in axes])


def _product(c: _Clique, arrays: List[np.ndarray]) -> np.ndarray:
    """The product of a large clique's operands over its axes, in a fresh table: each
    operand is transposed and reshaped to broadcast over the clique, then multiplied in."""
    ops = sorted((a.transpose(pm).reshape(bs) for a, pm, bs in zip(arrays, c.perms, c.bshapes)),
                 key=lambda a: a.size)
    # the small operands first, multiplied over the union of their axes only (a table far
    # smaller than the clique); the clique-sized table is written once, then scaled in place
    acc, i = ops[0], 1
    while i < len(ops) and np.broadcast_shapes(acc.shape, ops[i].shape) != c.shape:
        acc = acc * ops[i]
        i += 1
    t = np.empty(c.shape)
    if i == len(ops):
        t[...] = acc
        return t
    np.multiply(acc, ops[i], out=t)
    for a in ops[i + 1:]:
        np.multiply(t, a, out=t)
    return t


def _upward(sched: _Schedule, factors: List[np.ndarray], maximise: bool
            ) -> Tuple[List[Optional[np.ndarray]], List[Optional[np.ndarray]],
                       List[float], List[bool], float]:
    """Each clique's table (its CPTs times its children's messages, *not* rescaled), its
    maximum, whether the table is ours to overwrite, each clique's message to its parent
    (summed, or maximised, onto the separator and divided by the table's maximum), and the
    log of the maxima plus the roots' totals (``-inf`` when the evidence is impossible).
    Dividing the message rather than the table by the maximum keeps every later product
    from underflowing for the price of a pass over the separator, not over the clique."""
    cl = sched.cliques
    n = len(cl)
    tabs: List[Optional[np.ndarray]] = [None] * n
    msgs: List[Optional[np.ndarray]] = [None] * n
    maxes = [1.0] * n
    owned = [False] * n
    log_z = 0.0
    for k in sched.upward:
        c = cl[k]
        arrays = [factors[v] for v in c.nodes] + [msgs[j] for j in c.children]
        if math.prod(c.shape) >= BROADCAST_CELLS and arrays:
            t, own = _product(c, arrays), True
        elif arrays:
            subs = list(c.subs) + [cl[j].parent_sep for j in c.children]
            t, _ = multiply_out(arrays, subs, tuple(range(len(c.vars))))
            own = False
            if t.shape != c.shape:
                t = np.broadcast_to(t, c.shape)
        else:
            t, own = np.ones(c.shape), True
        # the scale: the message's maximum (a pass over the separator, not the clique); a
        # root's total
        if c.parent >= 0:
            msg = (t.max(axis=c.sum_axes) if maximise else _sum_out(t, c.sum_axes)) \
                if c.sum_axes else np.array(t)
            m = float(msg.max()) if msg.size else 0.0
        else:
            msg = None
            m = (float(t.max()) if maximise else float(t.sum())) if t.size else 0.0
        if not (m > 0.0 and math.isfinite(m)):  # underflow: multiply one factor at a time
            subs = list(c.subs) + [cl[j].parent_sep for j in c.children]
            t, ls = multiply_out(arrays, subs, tuple(range(len(c.vars))), scaled=True)
            own = False
            m = float(t.max()) if t.size else 0.0
            if not (m > 0.0 and math.isfinite(m)):
                return tabs, msgs, maxes, owned, -math.inf
            t = t / m  # the scale is folded into the table here (rare)
            log_z += ls + math.log(m)
            if c.parent >= 0:
                msg = (t.max(axis=c.sum_axes) if maximise else t.sum(axis=c.sum_axes)) \
                    if c.sum_axes else np.array(t)
                m = float(msg.max())
                log_z += math.log(m)
            else:  # the root's total (or maximum) completes the normaliser
                m = float(t.max()) if maximise else float(t.sum())
                log_z += math.log(m)
        else:
            log_z += math.log(m)
        tabs[k], maxes[k], owned[k] = t, m, own
        if c.parent >= 0:
            msgs[k] = msg / m
    return tabs, msgs, maxes, owned, log_z


def _downward(sched: _Schedule, tabs: List[np.ndarray], msgs: List[np.ndarray],
              maxes: List[float], owned: List[bool]) -> None:
    """Turn the upward tables into normalised clique posteriors, in place (Hugin)."""
    cl = sched.cliques
    for k in reversed(sched.upward):
        c = cl[k]
        t = tabs[k]
        if c.parent < 0:
            z = t.sum()
            if owned[k]:
                t /= z
            else:
                tabs[k] = t / z
            continue
        # the parent's posterior on the separator, axes in this clique's order
        if c.sep_axes:
            mu = _sum_out(tabs[c.parent], c.psum_axes).transpose(c.mu_perm)
            tabs[len(cl) + k] = mu
        else:
            mu = np.ones(())
        # this table's own sum onto the separator is the message times the table's maximum;
        # where the message is 0 so is the parent's marginal (the message is one of its
        # factors), and so are this clique's rows there: any divisor but 0 will do
        old = msgs[k] * maxes[k]
        ratio = (mu / np.where(old > 0.0, old, 1.0)).reshape(c.ratio_shape)
        if not c.children and t.size >= BROADCAST_CELLS:
            # a large leaf: nothing below needs its posterior table, only the posteriors
            # read from it, which one contraction of (table, ratio) gives without writing
            # the scaled table out
            tabs[k] = (t, ratio)
        elif owned[k]:
            t *= ratio
        else:
            tabs[k] = t * ratio


# --------------------------------------------------------------------------- #
# the public answer
# --------------------------------------------------------------------------- #
class Calibration:
    """What one calibration answers: every posterior, ``log p(evidence)`` and the MPE.

    Attributes
    ----------
    log_evidence : float
        ``log p(evidence)`` in nats; ``0.0`` without evidence, ``-inf`` when impossible.
    """

    def __init__(self, net: BayesNet, st: NetStructure, sched: _Schedule,
                 factors: List[np.ndarray], ev: Dict[int, int], log_evidence: float,
                 tabs: Optional[List[np.ndarray]]) -> None:
        self._net, self._st, self._sched = net, st, sched
        self._factors, self._ev = factors, ev
        self.log_evidence = log_evidence
        self._marginals: Optional[Dict[str, torch.Tensor]] = None
        if tabs is not None:
            self._marginals = self._read(tabs)

    def _read(self, tabs: List[np.ndarray]) -> Dict[str, torch.Tensor]:
        st = self._st
        got: Dict[int, np.ndarray] = {}
        for k, rest, each in self._sched.reads:
            tab = tabs[k]
            if isinstance(tab, tuple):  # a large leaf's table and its downward scale
                t, ratio = tab
                labels = list(range(t.ndim))
                ns = len(self._sched.cliques[k].sep_axes)
                reduced = np.einsum(t, labels, ratio.reshape(t.shape[:ns]), labels[:ns],
                                    [i for i in labels if i not in rest])
            else:
                reduced = _sum_out(tab, rest)
            for v, axes in each:
                p = _sum_out(reduced, axes)
                got[v] = p / p.sum()
        out: Dict[str, torch.Tensor] = {}
        for v, name in enumerate(st.names):
            if v in self._ev:
                p = np.zeros(st.cards[v])
                p[self._ev[v]] = 1.0
            else:
                p = got[v]
            out[name] = torch.from_numpy(np.ascontiguousarray(p, dtype=np.float64))
        return out

    @property
    def marginals(self) -> Dict[str, torch.Tensor]:
        """``{name: p(name | evidence)}``, a float64 tensor per variable in the net's order
        (an evidence variable gets the point mass on its observed state).

        Raises
        ------
        ImpossibleEvidenceError
            When the evidence has probability zero.
        """
        if self._marginals is None:
            require_possible(0.0, self._ev, self._net)
        return self._marginals

    def marginal(self, name: str) -> torch.Tensor:
        """One variable's posterior (see :attr:`marginals`)."""
        if name not in self._st.index:
            raise UnknownVariableError(name, self._st.names, where="marginals")
        return self.marginals[name]

    def mpe(self) -> Dict[str, int]:
        """The most probable explanation ``{name: state index}`` of every non-evidence
        variable (topological order), by max-product over the same tree and a backtrack.

        Raises
        ------
        ImpossibleEvidenceError
            When the evidence has probability zero.
        """
        return self._mpe()[0]

    def mpe_log_prob(self) -> float:
        """``log p(mpe, evidence)``, the joint log-probability of :meth:`mpe` with the
        evidence (nats)."""
        return self._mpe()[1]

    def _mpe(self) -> Tuple[Dict[str, int], float]:
        if not self.log_evidence > -math.inf:
            require_possible(0.0, self._ev, self._net)
        sched, st = self._sched, self._st
        tabs, _, _, _, log_max = _upward(sched, self._factors, maximise=True)
        assign: Dict[int, int] = {}
        for k in reversed(sched.upward):  # parents before children
            c = sched.cliques[k]
            t = tabs[k]
            idx = tuple(assign[a] if a in assign else slice(None) for a in c.vars)
            sub = t[idx]
            free = [a for a in c.vars if a not in assign]
            if free:
                best = np.unravel_index(int(np.argmax(sub)), sub.shape)
                for a, s in zip(free, best):
                    assign[a] = int(s)
        ev = self._ev
        return ({st.names[v]: assign[v] for v in st.topo if v not in ev}, log_max)

    def __repr__(self) -> str:
        return (f"Calibration({self._net.name!r}, {len(self._st.names)} variables, "
                f"log_evidence={self.log_evidence:.6g})")


def prefers_calibration(net: BayesNet, targets: Sequence[str],
                        evidence: Optional[Evidence] = None) -> bool:
    """Whether one :func:`calibrate` answers the posteriors of ``targets`` faster than a
    variable elimination per target (:func:`~pgm_ar.inference.query`).

    A measured rule: at least :data:`CALIBRATION_MIN_TARGETS` distinct non-evidence targets
    and a quarter of the variables, and at most :data:`CALIBRATION_MAX_CELLS_PER_VARIABLE`
    entries of the tree's cliques (evidence removed) per variable (a tree over the memory
    budget is left to variable elimination, which may still answer).
    """
    st = network_structure(net)
    ev = checked_evidence(st, net, evidence)
    wanted = {st.index[t] for t in targets if t in st.index} - set(ev)
    if len(wanted) < max(CALIBRATION_MIN_TARGETS, len(st.names) // 4):
        return False
    try:
        sched = _schedule(st, frozenset(ev))
    except InferenceTooLargeError:
        return False
    return sched.total <= CALIBRATION_MAX_CELLS_PER_VARIABLE * len(st.names)


def calibrate(net: BayesNet, tables: Tables, evidence: Optional[Evidence] = None) -> Calibration:
    """Calibrate the network's junction tree on ``evidence``: every posterior at once.

    One upward and one downward pass over the cached junction tree of ``net`` (see the
    module's text) give the posterior of every variable, ``log p(evidence)`` and, on
    request, the most probable explanation, for about the cost of two variable
    eliminations whatever the number of variables asked for.

    Parameters
    ----------
    net
        A network of discrete scalar variables.
    tables
        ``{name: tensor of shape (*parent_cards, card)}``, e.g. from
        :func:`~pgm_ar.inference.tables_from_net`.
    evidence
        ``{name: state}`` with states as indices or state names.

    Returns
    -------
    Calibration
        ``.marginals`` (``{name: float64 tensor}``), ``.log_evidence`` and ``.mpe()``.
        Impossible evidence gives ``log_evidence == -inf``; its ``.marginals`` and
        ``.mpe()`` raise :class:`~pgm_ar.errors.ImpossibleEvidenceError`.

    Raises
    ------
    PgmArError
        For unknown names or states, or tables of the wrong shape.
    InferenceTooLargeError
        When a clique of the tree (evidence removed) is over the limit of
        :func:`~pgm_ar.inference.plan.factor_limit`; raised before anything is built.
    """
    st = network_structure(net)
    ev = checked_evidence(st, net, evidence)
    sched = _schedule(st, frozenset(ev))
    factors = _factors(st, tables, ev)
    tabs, msgs, maxes, owned, log_z = _upward(sched, factors, maximise=False)
    if log_z == -math.inf:
        return Calibration(net, st, sched, factors, ev, -math.inf, None)
    tabs.extend([None] * len(tabs))  # the separator marginals, from the downward pass
    _downward(sched, tabs, msgs, maxes, owned)
    return Calibration(net, st, sched, factors, ev, log_z if ev else 0.0, tabs)


def exact_posteriors(net: BayesNet, tables: Tables, targets: Sequence[str],
                     evidence: Optional[Evidence] = None, *,
                     one_pass: bool = False) -> Dict[str, torch.Tensor]:
    """``{target: posterior}`` for each of ``targets``, exactly, by the cheaper route.

    One :func:`calibrate` when ``one_pass`` is asked for or :func:`prefers_calibration`
    measures it faster, else a variable elimination per target
    (:func:`~pgm_ar.inference.query`).  When the tree holds a clique over the memory budget,
    the eliminations are tried instead: each is pruned to what its own target needs and may
    still fit (MUNIN1's tree is refused, its queries are not); if one of them does not fit
    either, its refusal names the clique and the approximate methods.

    >>> from pgm_ar import example_network
    >>> from pgm_ar.inference import tables_from_net
    >>> net = example_network("asia")
    >>> post = exact_posteriors(net, tables_from_net(net), ["lung", "bronc"], {"dysp": 1},
    ...                         one_pass=True)
    >>> sorted(post), round(float(post["lung"].sum()), 6)
    (['bronc', 'lung'], 1.0)
    """
    targets = list(targets)
    if one_pass or (len(targets) > 1 and prefers_calibration(net, targets, evidence)):
        try:
            marg = calibrate(net, tables, evidence).marginals
        except InferenceTooLargeError:
            pass
        else:
            return {t: marg[t] for t in targets}
    return query(net, tables, targets, evidence)
