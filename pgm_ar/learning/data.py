"""Data as the learning code sees it: one integer code matrix, its states, and fast counts.

Tests of conditional independence, structure scores and structure search all ask the same
question many times: *how often does each combination of these columns' states occur?*
:class:`DiscreteData` holds the rows once as an ``(n_rows, n_vars)`` matrix of state indices
(``-1`` where a value is missing) and answers :meth:`DiscreteData.counts` with one
``np.bincount`` over mixed-radix codes, the fastest count numpy offers (no Python loop over
rows or states).

A network's own states are used when one is given (so the codes line up with its CPTs);
without one, each column's distinct values, sorted, become its states.

>>> import pandas as pd
>>> d = discrete_data(pd.DataFrame({"a": ["x", "y", "y", "x"], "b": [0, 1, 1, 1]}))
>>> d.names, d.cards
(('a', 'b'), (2, 2))
>>> d.counts(["a", "b"]).tolist()   # rows: a = x, y; columns: b = 0, 1
[[1, 1], [0, 2]]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import DataError
from ..network import BayesNet
from ..tabular_data import MISSING, columns_of, encode
from ..utils.suggest import did_you_mean

__all__ = ["DiscreteData", "discrete_data"]

Column = Union[int, str]


@dataclass(frozen=True)
class DiscreteData:
    """Rows of discrete variables as state indices.

    Attributes
    ----------
    names
        Variable (column) names, in column order.
    states
        Per variable, its state names; index ``k`` of a code means ``states[v][k]``.
    codes
        ``int64`` array of shape ``(n_rows, len(names))``; ``-1`` marks a missing value.
    """

    names: Tuple[str, ...]
    states: Tuple[Tuple[str, ...], ...]
    codes: np.ndarray

    @property
    def cards(self) -> Tuple[int, ...]:
        """Number of states of each variable."""
        return tuple(len(s) for s in self.states)

    @property
    def n_rows(self) -> int:
        return int(self.codes.shape[0])

    @property
    def has_missing(self) -> bool:
        return bool((self.codes < 0).any())

    def index(self, column: Column) -> int:
        """The column number of ``column`` (a name or a number)."""
        if isinstance(column, (int, np.integer)) and not isinstance(column, bool):
            if not 0 <= int(column) < len(self.names):
                raise DataError(f"column number {column} is out of range 0..{len(self.names) - 1}")
            return int(column)
        try:
            return self.names.index(str(column))
        except ValueError:
            raise DataError("no such column" + did_you_mean(str(column), self.names),
                            column=str(column)) from None

    def counts(self, columns: Sequence[Column]) -> np.ndarray:
        """Joint counts of ``columns``: an int64 array of shape ``(card_1, ..., card_k)``.

        Rows with a missing value in any of ``columns`` are left out (complete-case counts).
        No columns gives a 0-d array holding the number of rows.
        """
        idx = [self.index(c) for c in columns]
        cards = [self.cards[i] for i in idx]
        if not idx:
            return np.array(self.n_rows, dtype=np.int64)
        sub = self.codes[:, idx]
        if self.has_missing:
            sub = sub[(sub >= 0).all(axis=1)]
        flat = np.ravel_multi_index(sub.T, cards) if len(idx) > 1 else sub[:, 0]
        return np.bincount(flat, minlength=int(np.prod(cards))).reshape(cards)

    def rows(self, index: Any) -> "DiscreteData":
        """The rows at ``index`` (a slice, a boolean mask or integer positions)."""
        return DiscreteData(self.names, self.states, self.codes[index])

    def select(self, columns: Sequence[Column]) -> "DiscreteData":
        """Only ``columns``, in the order given."""
        idx = [self.index(c) for c in columns]
        return DiscreteData(tuple(self.names[i] for i in idx),
                            tuple(self.states[i] for i in idx), self.codes[:, idx])


def discrete_data(data: Any, net: Optional[BayesNet] = None) -> DiscreteData:
    """Encode a DataFrame or ``{column: values}`` as :class:`DiscreteData`.

    Parameters
    ----------
    data
        A pandas DataFrame, a mapping of columns, or a :class:`DiscreteData` (returned as is).
        Missing values (``None``, NaN, empty) become ``-1``.
    net
        When given, its variables' states are used and its checks apply (unknown columns or
        states are errors naming them); columns are the network's discrete variables present
        in the data, in the network's order.  Without it, each column's distinct non-missing
        values, sorted, are its states.

    Raises
    ------
    DataError
        For a non-discrete network variable, an unknown column or state, or unequal columns.
    """
    if isinstance(data, DiscreteData):
        return data
    if net is not None:
        for var in net.variables:
            if not var.is_discrete_scalar:
                raise DataError(f"variable {var.name!r} is not discrete; this needs discrete "
                                "variables (categorical or Bernoulli)")
        enc = encode(net, data, allow_latent=False)
        names = tuple(n for n in net.names if n in enc.values)
        codes = np.stack([enc.values[n].numpy().astype(np.int64, copy=False) for n in names],
                         axis=1) if names else np.zeros((enc.n, 0), dtype=np.int64)
        states = tuple(tuple(str(s) for s in net.variable(n).states) for n in names)
        return DiscreteData(names, states, codes)
    import pandas as pd

    cols = columns_of(data)
    if not cols:
        raise DataError("the data has no columns")
    names, states, out = [], [], []
    n_rows = None
    for name, col in cols.items():
        values = pd.Series(np.asarray(col, dtype=object) if not hasattr(col, "dtype") else col)
        if n_rows is None:
            n_rows = len(values)
        elif len(values) != n_rows:
            raise DataError(f"has {len(values)} rows but the first column has {n_rows}",
                            column=name)
        codes, uniques = pd.factorize(values, sort=True)  # missing (None, NaN): -1
        if any(str(u).strip() == "" for u in uniques):
            # blank strings are missing too: test the distinct values, not every row (a
            # string per row costs more than the whole search on 100,000 rows)
            missing = values.isna().to_numpy() | (values.astype(str).str.strip() == "").to_numpy()
            codes, uniques = pd.factorize(values.where(~missing), sort=True)
        codes = np.where(codes < 0, MISSING, codes).astype(np.int64)
        names.append(name)
        states.append(tuple(str(u) for u in uniques))
        out.append(codes)
    return DiscreteData(tuple(names), tuple(states), np.stack(out, axis=1))
