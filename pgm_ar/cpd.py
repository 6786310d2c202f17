"""Conditional probability tables (CPTs) of discrete variables.

A :class:`TabularCPD` stores ``p(child | parents)`` as an array of shape
``(*parent_cards, child_card)``: index it with the parents' state indices and
the last axis is a distribution over the child's states.  (pgmpy and BIF lay
the same numbers out child-first; :meth:`TabularCPD.to_child_major` and
:meth:`TabularCPD.from_child_major` convert.)

>>> cpd = TabularCPD("b", ("a",), [[0.9, 0.1], [0.2, 0.8]])
>>> float(cpd.probs[1, 1])
0.8
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence, Tuple

import numpy as np

from .errors import PgmArError

#: how far a CPT row may be from summing to one (BIF files print 4-6 decimals)
ROW_SUM_TOLERANCE = 1e-3


@dataclass(frozen=True, eq=False)
class TabularCPD:
    """``p(variable | parents)`` with ``probs.shape == (*parent_cards, card)``."""

    variable: str
    parents: Tuple[str, ...]
    probs: np.ndarray = field(repr=False)

    def __init__(self, variable: str, parents: Sequence[str], probs: object,
                 normalize: bool = True) -> None:
        arr = np.array(probs, dtype=np.float64)
        parents_t = tuple(parents)
        if arr.ndim != len(parents_t) + 1:
            raise PgmArError(
                f"CPT of {variable!r}: expected {len(parents_t) + 1} axes "
                f"(one per parent {list(parents_t)} and one for {variable!r}), got shape {arr.shape}"
            )
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise PgmArError(f"CPT of {variable!r} has negative or non-finite entries")
        sums = arr.sum(axis=-1)
        bad = np.argwhere(np.abs(sums - 1.0) > ROW_SUM_TOLERANCE)
        if len(bad):
            cfg = tuple(int(i) for i in bad[0])
            raise PgmArError(
                f"CPT of {variable!r}: probabilities for parent states {cfg} "
                f"(parents {list(parents_t)}) sum to {float(sums[tuple(bad[0])]):.6g}, not 1"
            )
        if normalize:
            arr = arr / sums[..., None]
        arr.setflags(write=False)
        object.__setattr__(self, "variable", variable)
        object.__setattr__(self, "parents", parents_t)
        object.__setattr__(self, "probs", arr)

    @property
    def cardinality(self) -> int:
        return int(self.probs.shape[-1])

    @property
    def parent_cardinalities(self) -> Tuple[int, ...]:
        return tuple(int(s) for s in self.probs.shape[:-1])

    @property
    def num_free_parameters(self) -> int:
        return (self.cardinality - 1) * int(np.prod(self.parent_cardinalities, dtype=object) or 1)

    def to_child_major(self) -> np.ndarray:
        """The ``(card, prod(parent_cards))`` layout of pgmpy and BIF (first parent slowest)."""
        return np.moveaxis(self.probs, -1, 0).reshape(self.cardinality, -1)

    @classmethod
    def from_child_major(cls, variable: str, parents: Sequence[str], values: object,
                         parent_cards: Sequence[int]) -> "TabularCPD":
        arr = np.asarray(values, dtype=np.float64)
        card = arr.shape[0]
        arr = arr.reshape((card,) + tuple(parent_cards))
        return cls(variable, parents, np.moveaxis(arr, 0, -1))

    def reorder_parents(self, new_order: Sequence[str]) -> "TabularCPD":
        """The same table with its parent axes in ``new_order``."""
        new_order = tuple(new_order)
        if sorted(new_order) != sorted(self.parents):
            raise PgmArError(f"CPT of {self.variable!r}: {list(new_order)} are not its parents")
        perm = [self.parents.index(p) for p in new_order] + [len(self.parents)]
        return TabularCPD(self.variable, new_order, np.transpose(self.probs, perm))

    def allclose(self, other: "TabularCPD", atol: float = 1e-8) -> bool:
        if self.variable != other.variable or sorted(self.parents) != sorted(other.parents):
            return False
        o = other.reorder_parents(self.parents) if other.parents != self.parents else other
        return self.probs.shape == o.probs.shape and bool(np.allclose(self.probs, o.probs, atol=atol))
