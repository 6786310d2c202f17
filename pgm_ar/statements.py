"""Conditional-independence statements: ``xs _|_ ys | given``.

Parsed from text (``"x3 _|_ x1, x2 | x4"``, also ``⊥`` or ``⫫``) or built
directly.  A statement is symmetric: ``a _|_ b`` equals ``b _|_ a``.

>>> s = Statement.parse("x3 _|_ x1, x2 | x4")
>>> sorted(s.xs), sorted(s.ys), sorted(s.given)
(['x3'], ['x1', 'x2'], ['x4'])
>>> str(s)
'x3 ⊥ x1, x2 | x4'
>>> s.ascii()
'x3 _|_ x1, x2 | x4'
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence, Union

from .errors import StatementError, UnknownVariableError

# The independence symbol: '_|_', '⊥', '⫫', '⊥⊥' or the word 'indep'.
_INDEP = re.compile(r"\s*(?:_\|_|⊥⊥|⊥|⫫|\bindep\b)\s*")


def _names(text: str, where: str, statement: str) -> frozenset:
    parts = [p.strip() for p in text.split(",")]
    if any(not p for p in parts):
        raise StatementError(f"empty variable name in {where} of statement {statement!r}")
    return frozenset(parts)


@dataclass(frozen=True)
class Statement:
    """``xs`` is independent of ``ys`` given ``given`` (sets of variable names)."""

    xs: frozenset
    ys: frozenset
    given: frozenset = frozenset()

    def __init__(self, xs: Union[str, Iterable[str]], ys: Union[str, Iterable[str]],
                 given: Union[str, Iterable[str]] = ()) -> None:
        as_set = lambda v: frozenset([v]) if isinstance(v, str) else frozenset(v)  # noqa: E731
        x, y, z = as_set(xs), as_set(ys), as_set(given)
        if not x or not y:
            raise StatementError("an independence statement needs variables on both sides")
        overlap = (x & y) | ((x | y) & z)
        if overlap:
            raise StatementError(
                f"variable(s) {sorted(overlap)} appear on two sides of the statement "
                f"{_fmt(x, y, z, ' _|_ ')!r}"
            )
        object.__setattr__(self, "xs", x)
        object.__setattr__(self, "ys", y)
        object.__setattr__(self, "given", z)

    @classmethod
    def parse(cls, text: str) -> "Statement":
        """Parse ``"a, b _|_ c | d, e"``; raises :class:`StatementError` if malformed."""
        if not isinstance(text, str):
            raise StatementError(f"a statement must be text, got {text!r}")
        pieces = _INDEP.split(text.strip())
        if len(pieces) != 2:
            raise StatementError(
                f"malformed statement {text!r}: write it as 'a _|_ b | c' "
                "(one '_|_' or '⊥', then an optional '| given')"
            )
        left, right = pieces
        if "|" in left:
            raise StatementError(f"malformed statement {text!r}: '|' must come after '_|_'")
        rhs = right.split("|")
        if len(rhs) > 2:
            raise StatementError(f"malformed statement {text!r}: more than one '|'")
        xs = _names(left, "the left side", text)
        ys = _names(rhs[0], "the right side", text)
        given = _names(rhs[1], "the conditioning set", text) if len(rhs) == 2 and rhs[1].strip() else frozenset()
        return cls(xs, ys, given)

    def variables(self) -> frozenset:
        return self.xs | self.ys | self.given

    def check_names(self, known: Sequence[str]) -> "Statement":
        """Raise :class:`UnknownVariableError` for a name not in ``known``."""
        known_set = set(known)
        for n in sorted(self.variables()):
            if n not in known_set:
                raise UnknownVariableError(n, list(known), where=f"statement {self.ascii()!r}")
        return self

    def _key(self):
        a, b = sorted(self.xs), sorted(self.ys)
        return (min(a, b), max(a, b), sorted(self.given))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Statement) and self._key() == other._key()

    def __hash__(self) -> int:
        # equal statements have the same unordered pair of sides and the same given set
        # (frozensets cache their hashes: cheap for the 10^5 statements of a large network)
        return hash((frozenset((self.xs, self.ys)), self.given))

    @classmethod
    def _trusted(cls, xs: frozenset, ys: frozenset, given: frozenset) -> "Statement":
        """A statement from sides already known to be non-empty and disjoint (built by the
        library itself, e.g. :meth:`Independence.independencies`), without re-checking."""
        st = object.__new__(cls)
        object.__setattr__(st, "xs", xs)
        object.__setattr__(st, "ys", ys)
        object.__setattr__(st, "given", given)
        return st

    def __str__(self) -> str:
        return _fmt(self.xs, self.ys, self.given, " ⊥ ")

    def ascii(self) -> str:
        return _fmt(self.xs, self.ys, self.given, " _|_ ")

    def latex(self) -> str:
        s = _fmt(self.xs, self.ys, self.given, r" \perp\!\!\!\perp ")
        return s.replace("|", r"\mid")

    def __repr__(self) -> str:
        return f"Statement({self.ascii()!r})"

    def to_dict(self) -> dict:
        return {"xs": sorted(self.xs), "ys": sorted(self.ys), "given": sorted(self.given)}


def _fmt(x, y, z, sym: str) -> str:
    s = ", ".join(sorted(x)) + sym + ", ".join(sorted(y))
    return s + (" | " + ", ".join(sorted(z)) if z else "")


def as_statement(s: Union[str, Statement], known: Optional[Sequence[str]] = None) -> Statement:
    st = s if isinstance(s, Statement) else Statement.parse(s)
    return st.check_names(known) if known is not None else st
