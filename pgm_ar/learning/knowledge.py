"""What the user knows about a structure before the data speak: required and forbidden edges,
an ordering in tiers, and declared independence statements.

A structure search may only visit DAGs that honour this knowledge:

* a **required** edge ``A -> B`` is in every DAG visited (it is never removed or reversed);
* a **forbidden** edge ``A -> B`` is never added (``B -> A`` stays possible unless forbidden too);
* **tiers** ``[[a, b], [c], ...]``: no edge from a variable in a later tier to one in an
  earlier tier (edges inside a tier, and to or from variables in no tier, are free);
* a declared statement ``X _|_ Y | Z``: no edge between any ``x`` in ``X`` and any ``y`` in
  ``Y``, either way.  Adjacent variables are dependent given any set, so this is necessary for
  the statement to hold in the DAG; it is not sufficient (a path through other variables may
  still connect them given ``Z``): that the learned DAG implies the statement is *not*
  enforced; check it with d-separation afterwards.

>>> k = Knowledge(required=[("smoke", "lung")], tiers=[["asia", "smoke"], ["tub", "lung"]],
...               statements=["asia _|_ smoke"])
>>> allowed = k.allowed(["asia", "smoke", "tub", "lung"])
>>> bool(allowed[2, 0]), bool(allowed[0, 1]), bool(allowed[0, 2])  # tub->asia, asia->smoke
(False, False, True)
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import networkx as nx
import numpy as np

from ..errors import PgmArError, UnknownVariableError
from ..statements import Statement, as_statement

__all__ = ["Knowledge", "parse_edge"]

Edge = Tuple[str, str]

_ARROW = re.compile(r"^\s*([^\s<>-][^<>]*?)\s*(->|<-)\s*([^\s<>-][^<>]*?)\s*$")


def parse_edge(text: Union[str, Sequence[str]]) -> Edge:
    """``"A->B"`` (or ``"B <- A"``, or a pair) as ``("A", "B")``.

    >>> parse_edge("smoke -> lung"), parse_edge("lung<-smoke")
    (('smoke', 'lung'), ('smoke', 'lung'))
    """
    if not isinstance(text, str):
        pair = tuple(str(t) for t in text)
        if len(pair) != 2:
            raise PgmArError(f"an edge is a (parent, child) pair, got {text!r}")
        return pair  # type: ignore[return-value]
    m = _ARROW.match(text)
    if not m:
        raise PgmArError(f"cannot read the edge {text!r}: write it as PARENT->CHILD")
    a, arrow, b = m.groups()
    return (a, b) if arrow == "->" else (b, a)


@dataclass(frozen=True)
class Knowledge:
    """Constraints on a learned structure (see the module docstring for what each means).

    Parameters
    ----------
    required, forbidden
        ``(parent, child)`` pairs or ``"A->B"`` strings.
    tiers
        Lists of variable names, earliest first.
    statements
        Declared independence statements (:class:`~pgm_ar.statements.Statement` or text such
        as ``"a _|_ b | c"``).
    """

    required: Tuple[Edge, ...] = ()
    forbidden: Tuple[Edge, ...] = ()
    tiers: Tuple[Tuple[str, ...], ...] = ()
    statements: Tuple[Statement, ...] = field(default=())

    def __init__(self, required: Iterable[Union[str, Edge]] = (),
                 forbidden: Iterable[Union[str, Edge]] = (),
                 tiers: Iterable[Iterable[str]] = (),
                 statements: Iterable[Union[str, Statement]] = ()) -> None:
        object.__setattr__(self, "required", tuple(parse_edge(e) for e in required))
        object.__setattr__(self, "forbidden", tuple(parse_edge(e) for e in forbidden))
        object.__setattr__(self, "tiers", tuple(tuple(str(v) for v in t) for t in tiers))
        object.__setattr__(self, "statements", tuple(as_statement(s) for s in statements))

    @property
    def empty(self) -> bool:
        return not (self.required or self.forbidden or self.tiers or self.statements)

    def _check_names(self, names: Sequence[str]) -> None:
        known = list(names)
        known_set = set(known)
        for what, edges in (("required edge", self.required), ("forbidden edge", self.forbidden)):
            for a, b in edges:
                for v in (a, b):
                    if v not in known_set:
                        raise UnknownVariableError(v, known, where=f"{what} {a}->{b}")
                if a == b:
                    raise PgmArError(f"{what} {a}->{b} is a self-loop")
        seen = {}
        for i, tier in enumerate(self.tiers):
            for v in tier:
                if v not in known_set:
                    raise UnknownVariableError(v, known, where=f"tier {i + 1}")
                if v in seen and seen[v] != i:
                    raise PgmArError(f"variable {v!r} is in tiers {seen[v] + 1} and {i + 1}; "
                                     "put it in one")
                seen[v] = i
        for s in self.statements:
            s.check_names(known)

    def tier_of(self, names: Sequence[str]) -> np.ndarray:
        """Per variable its tier number, or -1 for a variable in no tier."""
        pos = {v: i for i, t in enumerate(self.tiers) for v in t}
        return np.array([pos.get(v, -1) for v in names], dtype=np.int64)

    def separated_pairs(self) -> List[Tuple[str, str, Statement]]:
        """``(x, y, statement)`` for each pair a declared statement keeps non-adjacent."""
        return [(x, y, s) for s in self.statements for x in sorted(s.xs) for y in sorted(s.ys)]

    def allowed(self, names: Sequence[str]) -> np.ndarray:
        """``allowed[i, j]``: may the edge ``names[i] -> names[j]`` be in the DAG?

        Required edges are allowed; everything else obeys forbidden edges, tiers and
        statements.  Raises a :class:`~pgm_ar.errors.PgmArError` naming the conflict when a
        required edge breaks another constraint, or the required edges form a cycle.
        """
        self._check_names(names)
        idx = {v: i for i, v in enumerate(names)}
        n = len(names)
        ok = ~np.eye(n, dtype=bool)
        tier = self.tier_of(names)
        later = (tier[:, None] > tier[None, :]) & (tier[:, None] >= 0) & (tier[None, :] >= 0)
        ok &= ~later
        why = {}
        for a, b in self.forbidden:
            ok[idx[a], idx[b]] = False
            why[(a, b)] = "it is also forbidden"
        for x, y, s in self.separated_pairs():
            ok[idx[x], idx[y]] = ok[idx[y], idx[x]] = False
            why[(x, y)] = why[(y, x)] = f"the declared statement {s} keeps {x} and {y} apart"
        for a, b in self.required:
            if not ok[idx[a], idx[b]]:
                reason = why.get((a, b)) or (f"the tiers put {a} (tier {tier[idx[a]] + 1}) after "
                                             f"{b} (tier {tier[idx[b]] + 1})")
                raise PgmArError(f"the required edge {a}->{b} cannot be kept: {reason}")
        g = nx.DiGraph(self.required)
        if not nx.is_directed_acyclic_graph(g):
            cycle = " -> ".join(u for u, _ in nx.find_cycle(g))
            raise PgmArError(f"the required edges form a cycle ({cycle}); drop one of them")
        return ok

    def violations(self, edges: Iterable[Edge], names: Sequence[str]) -> List[str]:
        """What in ``edges`` breaks this knowledge, one line each (empty when nothing)."""
        ok = self.allowed(names)
        idx = {v: i for i, v in enumerate(names)}
        have = set(edges)
        out = [f"{a}->{b} is not allowed" for a, b in sorted(have) if not ok[idx[a], idx[b]]]
        out += [f"the required edge {a}->{b} is missing" for a, b in self.required
                if (a, b) not in have]
        return out

    def describe(self) -> List[str]:
        """One line per kind of constraint, for reports."""
        lines = []
        if self.required:
            lines.append("required: " + ", ".join(f"{a}->{b}" for a, b in self.required))
        if self.forbidden:
            lines.append("forbidden: " + ", ".join(f"{a}->{b}" for a, b in self.forbidden))
        if self.tiers:
            lines.append("tiers (no edge into an earlier tier): "
                         + " < ".join("{" + ", ".join(t) + "}" for t in self.tiers))
        if self.statements:
            lines.append("declared statements (their pairs kept non-adjacent): "
                         + "; ".join(str(s) for s in self.statements))
        return lines

    def merged(self, other: Optional["Knowledge"]) -> "Knowledge":
        """Both sets of constraints (``other``'s tiers replace these when it has some)."""
        if other is None:
            return self
        return Knowledge(self.required + other.required, self.forbidden + other.forbidden,
                         other.tiers or self.tiers, self.statements + other.statements)
