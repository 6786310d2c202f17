"""A CPT's table assembled from rows, as both file formats give it.

BIF (``(yes, no) 0.9, 0.1;`` and ``default ...;``) and spec files (``rows:`` and
``default:``) give a CPT one parent configuration at a time.  :class:`CptRows`
collects those rows into the ``(*parent cards, card)`` probability array, keeps
where each row came from (a line, a key path) so that an error can point at it,
and says which configuration is missing or does not sum to one.  The readers word
their own messages: each knows how its users write a configuration.

>>> rows = CptRows(["rain"], [["yes", "no"]], card=2)
>>> rows.given((0,)) is None
True
>>> rows.put_row((0,), [0.9, 0.1], where=3)
>>> rows.first_missing(), rows.describe((1,))
((1,), 'rain=no')
>>> rows.fill_default([0.2, 0.8], where=4)
>>> rows.probs.tolist(), rows.given((0,)), rows.where((1,))
([[0.9, 0.1], [0.2, 0.8]], 3, 4)
"""
from __future__ import annotations

import math

from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from ..limits import check as check_limit

__all__ = ["CptRows"]

Index = Tuple[int, ...]

_NONE, _TABLE, _ROW, _DEFAULT = 0, 1, 2, 3


class CptRows:
    """The probability array of one CPT, filled one parent configuration at a time.

    Parameters
    ----------
    parents
        The parents' names, in the CPT's axis order.
    parent_states
        Each parent's state names, in the same order.
    card
        The child's number of states.

    Attributes
    ----------
    probs
        ``(*parent cards, card)`` float64 array; rows not yet filled are zero.
    """

    def __init__(self, parents: Sequence[str], parent_states: Sequence[Sequence[str]],
                 card: int) -> None:
        self.parents = list(parents)
        self.parent_states = [list(s) for s in parent_states]
        cards = tuple(len(s) for s in self.parent_states)
        # Planned size first: a short file can name a child of many parents whose table
        # (or whose ``default`` row, expanded) would take gigabytes.
        check_limit("max_parents", len(cards), f"a CPT given {len(cards)} parents",
                    "give the child fewer parents or a non-tabular family")
        check_limit("max_table_cells", math.prod(cards) * int(card),
                    f"a CPT of {int(card)} states given parents with {list(cards)} states",
                    "give the child fewer parents or a non-tabular family")
        self.probs = np.zeros(cards + (int(card),), dtype=np.float64)
        # which form filled each configuration: _NONE, _TABLE, _ROW or _DEFAULT
        self._source = np.full(cards, _NONE, dtype=np.int8)
        self._row_where: Dict[Index, Any] = {}
        self._table_where: Any = None
        self._default_where: Any = None

    def put_row(self, index: Index, values: Any, where: Any) -> None:
        """The row of the configuration ``index`` (state indices in parent order)."""
        index = tuple(int(i) for i in index)
        self.probs[index] = values
        self._source[index] = _ROW
        self._row_where[index] = where

    def put_table(self, table: Any, where: Any) -> None:
        """Every row at once (``table`` of the full shape); a later row may replace one."""
        self.probs[...] = table
        self._source[...] = _TABLE
        self._table_where = where

    def fill_default(self, values: Any, where: Any) -> None:
        """``values`` for every configuration not filled yet."""
        empty = self._source == _NONE
        self.probs[empty] = values
        self._source[empty] = _DEFAULT
        self._default_where = where

    def given(self, index: Index) -> Any:
        """Where a row of its own gave ``index`` (even if a table replaced it since), else
        ``None``: a configuration given twice by rows is an error in both formats."""
        return self._row_where.get(tuple(int(i) for i in index))

    def where(self, index: Index) -> Any:
        """Where the row of ``index`` came from (row, table or default), else ``None``."""
        source = self._source[tuple(index)]
        if source == _ROW:
            return self.given(index)
        return {_TABLE: self._table_where, _DEFAULT: self._default_where}.get(int(source))

    def first_missing(self) -> Optional[Index]:
        """The first configuration (row-major) with no row, or ``None`` when all have one."""
        return _first(self._source == _NONE)

    def first_off_sum(self, tolerance: float) -> Optional[Index]:
        """The first configuration whose row does not sum to one within ``tolerance``."""
        return _first(np.abs(self.probs.sum(axis=-1) - 1.0) > tolerance)

    def describe(self, index: Index) -> str:
        """``"a=s1, b=s2"``: the configuration ``index`` in words."""
        return ", ".join(f"{p}={states[i]}"
                         for p, states, i in zip(self.parents, self.parent_states, index))


def _first(mask: np.ndarray) -> Optional[Index]:
    hits = np.argwhere(mask)
    return tuple(int(i) for i in hits[0]) if len(hits) else None
