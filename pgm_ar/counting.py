"""Parameter counts: exact Python ints, per variable and compared across assumptions.

Tabular counts are *free* parameters: ``(k - 1) * prod(parent cardinalities)``.  An
image counts as its pixels under the full chain rule in its ordering, which for ``n``
pixels of ``L`` levels is ``(L**n - 1) * prod(parent cardinalities)``.

>>> from pgm_ar import bernoullis, markov
>>> table = compare_parameter_counts(bernoullis(784))
>>> table.row("full joint").count == 2**784 - 1
True
>>> table.row("Markov k=1").count
1567
>>> readable(2**784 - 1)
'1.0e236'
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from .errors import PgmArError
from .variables import Image, Variable


def readable(n: Optional[int]) -> str:
    """A short form: exact below a million, else ``1.2e236``."""
    if n is None:
        return "n/a"
    if abs(n) < 1_000_000:
        return f"{n:,}"
    exp = int(math.floor(math.log10(n)))
    # int / int is correctly rounded in Python whatever the sizes, so 2**10000 does not
    # overflow a float here (both operands stay integers until the quotient).
    mant = n / 10 ** exp
    if mant >= 9.95:
        mant, exp = mant / 10, exp + 1
    return f"{mant:.1f}e{exp}"


def _card(v: Variable) -> Optional[int]:
    """Number of joint states of a discrete variable (an image: levels ** pixels)."""
    if isinstance(v, Image):
        return None if v.levels is None else v.levels ** v.num_pixels
    return v.cardinality


def tabular_count(v: Variable, parents: Sequence[Variable]) -> Optional[int]:
    """Free parameters of a table for ``v`` given ``parents``; ``None`` if not tabular.

    A real-valued node has no table; it gets the count of the conditional it compiles to by
    default, the linear-Gaussian one (:class:`~pgm_ar.conditionals.LinearGaussian`): one
    weight per input column (a one-hot column per state of a discrete parent, one per real
    parent, one per pixel of an image parent), an intercept and one variance.
    """
    discrete = [p for p in parents if _card(p) is not None]
    real = [p for p in parents if _card(p) is None]
    if isinstance(v, Image):
        if v.levels is None or real:
            return None
        configs = math.prod(_card(p) for p in discrete)  # type: ignore[misc]
        return (v.levels ** v.num_pixels - 1) * configs
    if v.is_discrete:
        if real:
            return None  # a discrete node with real parents has no finite table
        configs = math.prod(_card(p) for p in discrete)  # type: ignore[misc]
        return (int(v.cardinality) - 1) * configs  # type: ignore[arg-type]
    return linear_gaussian_count(parents)


def linear_gaussian_count(parents: Sequence[Variable]) -> int:
    """Parameters of a linear-Gaussian node: its input columns' weights, an intercept and a
    variance (what the compiled module trains).

    >>> from pgm_ar import Bernoulli, Categorical, Gaussian
    >>> linear_gaussian_count([Categorical("c", 3), Gaussian("u")])   # 3 + 1 weights, b, sigma
    6
    """
    width = 0
    for p in parents:
        if isinstance(p, Image):
            width += p.num_pixels
        elif p.is_discrete:
            width += int(p.cardinality)  # type: ignore[arg-type]
        else:
            width += 1
    return width + 2


@dataclass(frozen=True)
class ParameterCount:
    """Free parameters of a network's conditionals.

    ``total`` is ``None`` when some conditional has no tabular form (a discrete node
    with real-valued parents); ``per_variable`` maps each name to its count.
    """

    total: Optional[int]
    per_variable: Dict[str, Optional[int]]

    def to_dict(self) -> dict:
        return {"total": self.total, "total_readable": readable(self.total),
                "per_variable": dict(self.per_variable)}

    def __str__(self) -> str:
        width = max((len(n) for n in self.per_variable), default=4)
        lines = [f"{n:<{width}}  {readable(c)}" for n, c in self.per_variable.items()]
        lines.append(f"{'total':<{width}}  {readable(self.total)}")
        return "\n".join(lines)


def count_parameters(net) -> ParameterCount:
    """Free tabular parameters of ``net``, total and per variable (exact ints)."""
    per: Dict[str, Optional[int]] = {}
    for v in net.variables:
        per[v.name] = tabular_count(v, [net.variable(p) for p in net.parents(v.name)])
    total = None if any(c is None for c in per.values()) else sum(per.values())  # type: ignore[arg-type]
    return ParameterCount(total, per)


@dataclass(frozen=True)
class CountRow:
    label: str
    count: Optional[int]
    note: str = ""
    formula: str = ""


@dataclass(frozen=True)
class CountTable:
    """Parameter counts of the same variables under several assumptions."""

    n_scalars: int
    rows: Tuple[CountRow, ...] = field(default=())

    def row(self, label: str) -> CountRow:
        for r in self.rows:
            if r.label == label:
                return r
        raise KeyError(label)

    def to_dict(self) -> dict:
        return {"n_scalar_variables": self.n_scalars,
                "rows": [{"assumption": r.label, "count": r.count,
                          "readable": readable(r.count), "formula": r.formula,
                          "note": r.note} for r in self.rows]}

    def __str__(self) -> str:
        w = max(len(r.label) for r in self.rows)
        cw = max(len(readable(r.count)) for r in self.rows)
        out = [f"{'assumption':<{w}}  {'parameters':>{cw}}  exact"]
        for r in self.rows:
            exact = "" if r.count is None else str(r.count)
            if len(exact) > 40:
                exact = f"= {r.formula} ({len(exact)} digits)" if r.formula else \
                    f"{exact[:12]}...{exact[-12:]} ({len(exact)} digits)"
            note = f"  [{r.note}]" if r.note else ""
            out.append(f"{r.label:<{w}}  {readable(r.count):>{cw}}  {exact}{note}")
        return "\n".join(out)


def _scalar_cards(variables: Iterable[Variable]) -> List[Optional[int]]:
    """Cardinalities of the scalar variables (images expanded into pixels, in order)."""
    cards: List[Optional[int]] = []
    for v in variables:
        if isinstance(v, Image):
            cards.extend([v.levels] * v.num_pixels)
        else:
            cards.append(v.cardinality)
    return cards


def _power_formula(cards: Sequence[int]) -> str:
    """``prod(cards)`` as powers, largest count first: ``[10, 2, 2] -> '2^2 * 10'``."""
    from collections import Counter

    parts = []
    for card, times in sorted(Counter(cards).items(), key=lambda kv: (-kv[1], kv[0])):
        parts.append(f"{card}^{times}" if times > 1 else f"{card}")
    return " * ".join(parts)


def _markov_count(cards: Sequence[int], k: int) -> int:
    total = 0
    for i, c in enumerate(cards):
        window = math.prod(cards[max(0, i - k):i])
        total += (c - 1) * window
    return total


def compare_parameter_counts(variables: Iterable[Variable], net=None,
                             markov_orders: Sequence[int] = (1, 2, 3)) -> CountTable:
    """Counts for the same (discrete) variables under common assumptions.

    Rows: full joint table, chain rule (the same number: it assumes nothing), Markov-k
    for each ``k`` in ``markov_orders``, fully independent, and ``net`` if given.
    Images count as their pixels in their ordering.
    """
    vs = tuple(variables)
    cards = _scalar_cards(vs)
    rows: List[CountRow] = []
    if any(c is None for c in cards):
        note = "real-valued variables have no table"
        for label in ["full joint", "chain rule"] + [f"Markov k={k}" for k in markov_orders] + ["independent"]:
            rows.append(CountRow(label, None, note))
    else:
        full = math.prod(cards) - 1  # type: ignore[arg-type]
        formula = _power_formula(cards) + " - 1"
        rows.append(CountRow("full joint", full, "one probability per joint state, minus one",
                             formula))
        rows.append(CountRow("chain rule", full, "sum_i (k_i - 1) prod_{j<i} k_j: no savings",
                             formula))
        for k in markov_orders:
            if k < 1:
                raise PgmArError(f"Markov orders must be >= 1, got {k}")
            rows.append(CountRow(f"Markov k={k}", _markov_count(cards, k)))  # type: ignore[arg-type]
        rows.append(CountRow("independent", sum(c - 1 for c in cards)))  # type: ignore[operator]
    if net is not None:
        rows.append(CountRow(f"declared network ({net.name})", count_parameters(net).total))
    return CountTable(len(cards), tuple(rows))
