"""A learned DAG against a declared (or true) one: which edges agree, were added, are missing or
point the other way; the structural Hamming distance; and a drawing that shows all four.

>>> d = diff_edges([("a", "b"), ("c", "b"), ("b", "d")], [("a", "b"), ("b", "c"), ("a", "d")])
>>> d.agree, d.reversed, d.added, d.missing
((('a', 'b'),), (('c', 'b'),), (('b', 'd'),), (('a', 'd'),))
>>> d.shd
3
"""
from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Optional, Tuple, Union

from ..errors import PgmArError
from ..network import BayesNet

__all__ = ["EDGE_STYLES", "EdgeDiff", "diff_edges", "draw_learned", "shd"]

Edge = Tuple[str, str]

#: how each kind of edge is drawn (graphviz attributes) and named in the legend
EDGE_STYLES: Dict[str, Dict[str, str]] = {
    "agree": {"color": "#333333", "penwidth": "1.2"},
    "added": {"color": "#1565c0", "penwidth": "2.4"},
    "reversed": {"color": "#e07000", "penwidth": "2.4"},
    "missing": {"color": "#c62828", "penwidth": "1.6", "style": "dashed", "constraint": "false"},
}
_LEGEND = {"agree": "agree (black)", "added": "added by the data (blue)",
           "reversed": "reversed (orange)", "missing": "declared but missing (red, dashed)"}


def _edges(x: Union[BayesNet, Iterable[Edge]]) -> Tuple[Edge, ...]:
    return tuple(x.edges) if isinstance(x, BayesNet) else tuple((str(a), str(b)) for a, b in x)


@dataclass(frozen=True)
class EdgeDiff:
    """Edges of a learned DAG sorted against a reference DAG.

    ``agree``: in both, same direction; ``reversed``: learned ``a -> b`` where the reference
    has ``b -> a``; ``added``: learned, not adjacent in the reference; ``missing``: in the
    reference, not adjacent in the learned DAG.
    """

    agree: Tuple[Edge, ...]
    reversed: Tuple[Edge, ...]
    added: Tuple[Edge, ...]
    missing: Tuple[Edge, ...]

    @property
    def shd(self) -> int:
        """Structural Hamming distance: edge additions, deletions and reversals needed."""
        return len(self.reversed) + len(self.added) + len(self.missing)

    def kind(self, edge: Edge) -> Optional[str]:
        for name in ("agree", "reversed", "added", "missing"):
            if edge in getattr(self, name):
                return name
        return None

    def summary(self) -> str:
        return ", ".join(f"{len(getattr(self, k))} {_LEGEND[k]}"
                         for k in ("agree", "added", "reversed", "missing"))

    def to_dict(self) -> Dict[str, Any]:
        return {"agree": [list(e) for e in self.agree], "added": [list(e) for e in self.added],
                "reversed": [list(e) for e in self.reversed],
                "missing": [list(e) for e in self.missing], "shd": self.shd}


def diff_edges(learned: Union[BayesNet, Iterable[Edge]],
               reference: Union[BayesNet, Iterable[Edge]]) -> EdgeDiff:
    """Sort ``learned``'s edges against ``reference``'s (see :class:`EdgeDiff`)."""
    le, re_ = _edges(learned), _edges(reference)
    ls, rs = set(le), set(re_)
    agree = tuple(e for e in le if e in rs)
    rev = tuple(e for e in le if e not in rs and (e[1], e[0]) in rs)
    added = tuple(e for e in le if e not in rs and (e[1], e[0]) not in rs)
    missing = tuple(e for e in re_ if e not in ls and (e[1], e[0]) not in ls)
    return EdgeDiff(agree, rev, added, missing)


def shd(learned: Union[BayesNet, Iterable[Edge]],
        reference: Union[BayesNet, Iterable[Edge]]) -> int:
    """Structural Hamming distance between two DAGs (see :attr:`EdgeDiff.shd`)."""
    return diff_edges(learned, reference).shd


def draw_learned(learned: BayesNet, path: Union[str, os.PathLike],
                 declared: Optional[BayesNet] = None, *, title: Optional[str] = None,
                 rankdir: str = "TB", fmt: Optional[str] = None) -> pathlib.Path:
    """Draw ``learned`` (``.png``, ``.svg``, ``.pdf``, ``.gv``), each edge marked against
    ``declared``: agreeing (black), added (blue, thick), reversed (orange, thick), and the
    declared edges the learned DAG lacks as red dashed arrows.  The title counts each kind.

    Without ``declared`` it is a plain drawing of the learned DAG.  Written atomically.
    """
    from ..draw.render import render
    from ..draw.spec import Edge as DrawEdge
    from ..draw.spec import EdgeRole, GraphSpec, dag_spec

    base = dag_spec(learned, rankdir=rankdir)
    if declared is None:
        spec = base
        heading = title or f"{learned.name}: {learned.num_edges} edges"
    else:
        unknown = [v for v in declared.names if v not in learned]
        if unknown:
            raise PgmArError(f"the declared network has variables the learned one lacks: "
                             f"{unknown[:5]}; draw against a network over the same variables")
        diff = diff_edges(learned, declared)
        edges = []
        for e in learned.edges:
            kind = diff.kind(e) or "agree"
            edges.append(DrawEdge(e[0], e[1], True, EdgeRole.DEPENDENCY, dict(EDGE_STYLES[kind])))
        for a, b in diff.missing:
            edges.append(DrawEdge(a, b, True, EdgeRole.DEPENDENCY, dict(EDGE_STYLES["missing"])))
        heading = title or f"{learned.name} against {declared.name} (SHD {diff.shd})"
        heading += "\n" + diff.summary()
        spec = GraphSpec(base.name, base.nodes, tuple(edges), True, "", base.engine,
                         dict(base.graph_attrs))
    spec = GraphSpec(spec.name, spec.nodes, spec.edges, True, heading, spec.engine,
                     dict(spec.graph_attrs))
    return render(spec, path, fmt)
