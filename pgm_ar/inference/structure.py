"""The integer view of a network that every inference routine works on.

A :class:`~pgm_ar.network.BayesNet` speaks in names; inference loops speak in
integers.  :class:`NetStructure` holds, per variable index, the cardinality,
the parent indices, the row-major strides of the parent axes (so that a
parent configuration is one flat CPT row) and the ancestor closure as a
bitmask, plus the cache of elimination plans.  A ``BayesNet`` is immutable, so
:func:`network_structure` builds this once per net and keeps it as long as the
net lives.

>>> from pgm_ar import BayesNet, Bernoulli, Categorical
>>> net = BayesNet([Bernoulli("a"), Categorical("b", 3), Bernoulli("c")],
...                [("a", "c"), ("b", "c")])
>>> st = network_structure(net)
>>> st.cards, st.parents, st.strides[2], st.num_rows
((2, 3, 2), ((), (), (0, 1)), (3, 1), (1, 1, 6))
>>> [st.names[v] for v in st.closure([2])]
['a', 'b', 'c']
>>> network_structure(net) is st
True
"""
from __future__ import annotations

import math
import weakref
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import PgmArError
from ..network import BayesNet

__all__ = ["NetStructure", "network_structure"]


class NetStructure:
    """Integer view of a discrete net: cards, parents, strides, ancestor bitmasks, plan cache.

    Parameters
    ----------
    net
        A network whose variables are all discrete scalars (Bernoulli or Categorical).

    Attributes
    ----------
    names : tuple of str
        Variable names; a variable's index is its position here (declaration order).
    index : dict
        Name -> index.
    cards : tuple of int
        Number of states per variable.
    parents : tuple of tuple of int
        Parent indices per variable, in the order of the CPT's parent axes.
    children : tuple of tuple of int
        Child indices per variable.
    topo : tuple of int
        A topological order of the indices.
    strides : list of tuple of int
        Row-major strides of each variable's parent axes.
    num_rows : tuple of int
        Parent configurations (CPT rows) per variable.
    families : tuple of tuple of int
        Per variable, the axes of its table: its parents, then itself.
    anc : list of int
        Per variable, the bitmask of itself and its ancestors.
    plans : dict
        Elimination plans already built for this net (see :mod:`pgm_ar.inference.plan`).
    arrays : dict
        The tables last used, as numpy arrays (see
        :func:`pgm_ar.inference.elimination.node_array`).

    Raises
    ------
    PgmArError
        Naming the first variable that is not a discrete scalar.
    """

    def __init__(self, net: BayesNet) -> None:
        self.names: Tuple[str, ...] = net.names
        index = self.index = {n: i for i, n in enumerate(self.names)}
        cards = self.cards = _cardinalities(net)
        # one pass per variable for its parents, strides, rows and table shape
        parents: List[Tuple[int, ...]] = []
        strides: List[Tuple[int, ...]] = []
        rows: List[int] = []
        shapes: List[Tuple[int, ...]] = []
        kids: List[List[int]] = [[] for _ in self.names]
        for v, n in enumerate(self.names):
            ps = tuple([index[p] for p in net.parents(n)])
            parents.append(ps)
            acc, back = 1, []
            for p in reversed(ps):
                back.append(acc)
                acc *= cards[p]
                kids[p].append(v)
            strides.append(tuple(reversed(back)))
            rows.append(acc)
            shapes.append(tuple([cards[p] for p in ps]) + (cards[v],))
        self.parents: Tuple[Tuple[int, ...], ...] = tuple(parents)
        # per variable, the axes of its table: (*parents, itself); read by every plan
        self.families: Tuple[Tuple[int, ...], ...] = tuple(
            [ps + (v,) for v, ps in enumerate(parents)])
        self.topo: Tuple[int, ...] = tuple([index[n] for n in net.topological_order()])
        # children in increasing index order (each child appended once per parent above,
        # in index order)
        self.children: Tuple[Tuple[int, ...], ...] = tuple(tuple(k) for k in kids)
        self.strides: List[Tuple[int, ...]] = strides
        self.num_rows = tuple(rows)
        # per variable, the shape of its table: (*parent cards, card)
        self.table_shapes: Tuple[Tuple[int, ...], ...] = tuple(shapes)
        self.anc: List[int] = self._ancestor_masks()
        self.plans: Dict[tuple, object] = {}
        # per variable, its position in one elimination order of the whole network (built
        # when first asked for, empty when too costly; see pgm_ar.inference.plan.network_rank)
        self.rank: Optional[Dict[int, int]] = None
        self.rank_width = 0  # entries of the largest clique of that order
        self.small_graph: Optional[bool] = None  # see pgm_ar.inference.plan.SMALL_GRAPH
        # (the arrays it was made from, joint distribution) of a small network, False for a
        # large one, see
        # pgm_ar.inference.queries.network_joint
        self.joint: object = None
        # per node: (tensor, its version, float64 array, state minima or None, the tables'
        # version it was read under or None), see
        # pgm_ar.inference.elimination.node_array
        self.arrays: Dict[int, tuple] = {}

    def _row_major_strides(self, parents: Sequence[int]) -> Tuple[int, ...]:
        strides, acc = [], 1
        for p in reversed(parents):
            strides.append(acc)
            acc *= self.cards[p]
        return tuple(reversed(strides))

    def _ancestor_masks(self) -> List[int]:
        # Python ints as bitsets: a closure is a few ORs, whatever the network's size;
        # built in topological order so that each parent's mask is complete when read
        anc = [0] * len(self.names)
        for v in self.topo:
            m = 1 << v
            for p in self.parents[v]:
                m |= anc[p]
            anc[v] = m
        return anc

    def scopes(self, nodes: Iterable[int], ev) -> List[Tuple[int, ...]]:
        """Per node, the axes of its table less the evidence ``ev`` (a set)."""
        fams = self.families
        if not ev:
            return [fams[v] for v in nodes]
        out = []
        for v in nodes:
            fam = fams[v]
            # most tables hold no evidence axis: share their family tuple
            out.append(fam if ev.isdisjoint(fam) else tuple([a for a in fam if a not in ev]))
        return out

    def closure(self, nodes: Iterable[int]) -> List[int]:
        """The nodes and all their ancestors, in topological order."""
        m = 0
        for v in nodes:
            m |= self.anc[v]
        return [v for v in self.topo if m >> v & 1]

    def size(self, scope: Iterable[int]) -> int:
        """Number of entries of a factor over the variables ``scope``."""
        s = 1
        for a in scope:
            s *= self.cards[a]
        return s

    def parent_row(self, v: int, cols: Sequence) -> Optional[object]:
        """The flat CPT row of each sample's parent configuration, ``None`` for a root.

        ``cols`` holds one integer column (numpy or torch) per variable index;
        only the parents of ``v`` are read.
        """
        flat = None
        for p, stride in zip(self.parents[v], self.strides[v]):
            term = cols[p] * stride if stride != 1 else cols[p]
            flat = term if flat is None else flat + term
        return flat


def _cardinalities(net: BayesNet) -> Tuple[int, ...]:
    cards = []
    for v in net.variables:
        if not v.is_discrete_scalar:
            raise PgmArError(
                f"variable {v.name!r} is not a discrete scalar; exact inference and tabular "
                "sampling need every variable to be Bernoulli or Categorical")
        cards.append(int(v.cardinality))
    return tuple(cards)


# id(net) -> (weak reference to the net, its structure); the entry leaves with the net
_STRUCTURES: Dict[int, Tuple["weakref.ref", NetStructure]] = {}


def network_structure(net: BayesNet) -> NetStructure:
    """The (cached) :class:`NetStructure` of ``net``.

    Raises
    ------
    PgmArError
        When ``net`` is not a :class:`~pgm_ar.network.BayesNet` or has a
        variable that is not a discrete scalar.
    """
    if not isinstance(net, BayesNet):
        raise PgmArError(f"expected a BayesNet, got {type(net).__name__}")
    hit = _STRUCTURES.get(id(net))
    if hit is not None and hit[0]() is net:
        return hit[1]
    st = NetStructure(net)
    key = id(net)
    _STRUCTURES[key] = (weakref.ref(net, lambda _r, k=key: _STRUCTURES.pop(k, None)), st)
    return st
