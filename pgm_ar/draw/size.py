"""Size-aware drawing: the part of a large network a picture shows, and layout settings that
finish.

Graphviz's ``dot`` lays out a few hundred edges in well under a second, but its crossing
minimisation grows much faster than the edges: a chain-rule DAG over 30 variables (435 edges)
takes about 9 s, over 40 (780 edges) a minute, over 80 it does not finish.  So a picture
(``.svg``, ``.png``, ``.pdf``; DOT source ``.gv`` is always written whole, no layout is done)
shows at most :data:`MAX_DRAW_NODES` variables and :data:`MAX_DRAW_EDGES` edges (1000 for a
DAG, 500 for a factor graph): the first variables in topological order that fit, with a title
saying so.  Past :data:`FAST_LAYOUT_EDGES` edges, ``dot`` gets :data:`FAST_LAYOUT` (capped
network-simplex and crossing-minimisation passes, straight edges): the densest DAG of 1000
edges then takes about 1.5 s, a factor graph of 500 about 3 s.

>>> from pgm_ar import bernoullis, chain_rule
>>> part, note = drawn_part(chain_rule(bernoullis(60)), "dag")
>>> len(part), len(part.edges), note
(45, 990, 'the first 45 of 60 variables in topological order (990 of 1770 edges)')
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import PgmArError

if TYPE_CHECKING:  # pragma: no cover
    from ..network import BayesNet

__all__ = ["MAX_DRAW_NODES", "MAX_DRAW_EDGES", "FAST_LAYOUT_EDGES", "FAST_LAYOUT",
           "drawn_part", "layout_attrs"]

#: variables a picture shows by default (more are unreadable on any page)
MAX_DRAW_NODES = 200
#: edges of a picture, by kind: a DAG's edges; a factor graph's (which also join each factor
#: to its child, over twice the ranks: longer edges, about four times the layout work)
MAX_DRAW_EDGES: Dict[str, int] = {"dag": 1000, "factor": 500}
#: from this many edges on, ``dot`` gets :data:`FAST_LAYOUT`
FAST_LAYOUT_EDGES = 300
#: graphviz settings that bound ``dot``'s passes (see the module docstring)
FAST_LAYOUT: Dict[str, str] = {"nslimit": "1", "nslimit1": "1", "mclimit": "0.01",
                               "splines": "line"}


def _edges_within(net: "BayesNet", edges: Sequence[Tuple[str, str]], kind: str
                  ) -> Tuple[List[str], np.ndarray]:
    """The topological order and, for each ``k``, the edges drawn for its first ``k``
    variables."""
    order = list(net.topological_order())
    pos = {name: k for k, name in enumerate(order)}
    last = np.fromiter((max(pos[p], pos[c]) for p, c in edges), dtype=np.int64,
                       count=len(edges))
    per = np.bincount(last + 1, minlength=len(order) + 1)  # edges completed by the k-th
    within = np.cumsum(per)
    if kind == "factor":  # a factor per variable, joined to its child
        within = within + np.arange(len(order) + 1)
    return order, within


def drawn_part(net: "BayesNet", kind: str = "dag", max_nodes: Optional[int] = None
               ) -> Tuple["BayesNet", Optional[str]]:
    """The network a picture of ``net`` shows, and a note when it is a part of it.

    Parameters
    ----------
    net
        The network.
    kind
        ``"dag"`` or ``"factor"`` (whose edges also join each factor to its child).
    max_nodes
        Variables to show at most; ``None``: :data:`MAX_DRAW_NODES`, fewer when their edges
        are over the kind's :data:`MAX_DRAW_EDGES`.

    Returns
    -------
    (BayesNet, str or None)
        ``net`` itself and ``None`` when it fits; else the first variables in topological
        order that fit, with the edges among them, and a note saying which part it is.

    Raises
    ------
    PgmArError
        ``max_nodes`` not a positive integer, or its variables having more than the kind's
        :data:`MAX_DRAW_EDGES` edges (the message says how many variables fit).
    """
    from ..network import BayesNet

    if max_nodes is not None and (isinstance(max_nodes, bool) or not isinstance(max_nodes, int)
                                  or max_nodes < 1):
        raise PgmArError(f"max_nodes={max_nodes!r}: must be a positive integer")
    n = len(net)
    edges = net.edges  # built on each access: once here
    order, within = _edges_within(net, edges, kind)
    budget = MAX_DRAW_EDGES[kind]
    fits = int(np.searchsorted(within, budget, side="right")) - 1  # most that fit
    if max_nodes is not None:
        k = min(max_nodes, n)
        if within[k] > budget:
            raise PgmArError(
                f"drawing {net.name!r}: {k} variables with {int(within[k])} edges are more than "
                f"graphviz lays out in reasonable time (at most {budget} edges); draw "
                f"at most {fits} variables (--max-nodes {fits}), or write the DOT source "
                "(.gv) and lay it out yourself")
    else:
        k = min(n, MAX_DRAW_NODES, fits)
    if k >= n:
        return net, None
    keep = set(order[:k])
    inside = [(p, c) for p, c in edges if p in keep and c in keep]
    part = BayesNet([v for v in net.variables if v.name in keep], inside, name=net.name)
    drawn = len(inside) + (k if kind == "factor" else 0)
    total = len(edges) + (n if kind == "factor" else 0)
    return part, (f"the first {k} of {n} variables in topological order ({drawn} of "
                  f"{total} edges)")


def layout_attrs(edges: int, engine: str) -> Dict[str, str]:
    """Graphviz settings for a drawing with ``edges`` edges laid out by ``engine``."""
    return dict(FAST_LAYOUT) if engine == "dot" and edges >= FAST_LAYOUT_EDGES else {}
