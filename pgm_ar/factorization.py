"""The factorization a network implies, rendered as text, unicode or LaTeX.

Long regular runs of numbered variables are shown compactly, so a 784-pixel Markov
chain prints as ``p(x1, ..., x784) = p(x1) ∏_{i=2}^{784} p(x_i | x_{i-1})``.

>>> from pgm_ar import bernoullis, markov, chain_rule
>>> print(markov(bernoullis(784), k=1).factorization())
p(x1, ..., x784) = p(x1) ∏_{i=2}^{784} p(x_i | x_{i-1})
>>> print(chain_rule(bernoullis(3)).factorization().text())
p(x1, x2, x3) = p(x1) p(x2 | x1) p(x3 | x1, x2)
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

from .variables import Image

_NUMBERED = re.compile(r"^(.*?)(\d+)$")

#: runs shorter than this are written out term by term
MIN_RUN = 4


@dataclass(frozen=True)
class Term:
    """One conditional ``p(child | parents)``."""

    child: str
    parents: Tuple[str, ...]


@dataclass(frozen=True)
class Run:
    """A run of terms ``p(prefix_i | ...)`` for ``i = start..stop`` sharing one parent pattern.

    ``pattern`` is ``("window", k)`` (the ``k`` before), ``("from", s)`` (all from
    ``s`` to ``i-1``) or ``("none", 0)`` (no parents).
    """

    prefix: str
    start: int
    stop: int
    pattern: Tuple[str, int]


Piece = Union[Term, Run]


def _split(name: str) -> Optional[Tuple[str, int]]:
    m = _NUMBERED.match(name)
    if not m or (len(m.group(2)) > 1 and m.group(2).startswith("0")):
        return None
    return m.group(1), int(m.group(2))


def _patterns(term: Term) -> List[Tuple[str, Tuple[str, int]]]:
    """The (prefix, pattern) pairs a term matches, if its names are numbered."""
    sc = _split(term.child)
    if sc is None:
        return []
    prefix, j = sc
    if not term.parents:
        return [(prefix, ("none", 0))]
    idx = []
    for p in term.parents:
        sp = _split(p)
        if sp is None or sp[0] != prefix:
            return []
        idx.append(sp[1])
    idx.sort()
    if idx != list(range(idx[0], idx[0] + len(idx))) or idx[-1] != j - 1:
        return []
    return [(prefix, ("window", len(idx))), (prefix, ("from", idx[0]))]


def _compress(terms: Sequence[Term]) -> List[Piece]:
    pieces: List[Piece] = []
    i, n = 0, len(terms)
    while i < n:
        best_len, best = 1, None
        for prefix, pat in _patterns(terms[i]):
            start = _split(terms[i].child)[1]  # type: ignore[index]
            length = 1
            while i + length < n:
                nxt = terms[i + length]
                sc = _split(nxt.child)
                if sc != (prefix, start + length) or (prefix, pat) not in _patterns(nxt):
                    break
                length += 1
            if length > best_len:
                best_len, best = length, Run(prefix, start, start + length - 1, pat)
        if best is not None and best_len >= MIN_RUN:
            pieces.append(best)
            i += best_len
        else:
            pieces.append(terms[i])
            i += 1
    return pieces


class _Style:
    def __init__(self, prod: str, given: str, dots: str, sub: str, wrap_name=lambda s: s) -> None:
        self.prod, self.given, self.dots, self.sub, self.wrap_name = prod, given, dots, sub, wrap_name


_TEXT = _Style("prod", " | ", "...", "_")
_UNICODE = _Style("∏", " | ", "...", "_")
_LATEX = _Style(r"\prod", r" \mid ", r"\ldots", "_",
                wrap_name=lambda s: re.sub(r"^(.*?)(\d+)$", r"\1_{\2}", s.replace("_", r"\_")))


def _idx(prefix: str, offset: int) -> str:
    if offset == 0:
        return f"{prefix}_i"
    return f"{prefix}_{{i{'+' if offset > 0 else '-'}{abs(offset)}}}"


class Factorization:
    """``p(all variables) = prod_i p(x_i | parents(x_i))`` for a network.

    ``str(f)`` gives the unicode form; :meth:`text` plain ASCII; :meth:`latex` LaTeX.
    Image variables appear as one term and are expanded over their pixels in
    :meth:`pixel_expansions`.
    """

    def __init__(self, names: Sequence[str], terms: Sequence[Term],
                 images: Sequence[Tuple[Image, Tuple[str, ...]]] = ()) -> None:
        self.names = tuple(names)
        self.terms = tuple(terms)
        self.images = tuple(images)
        self._pieces = _compress(self.terms)

    @classmethod
    def of(cls, net) -> "Factorization":
        order = net.topological_order()
        terms = [Term(n, net.parents(n)) for n in order]
        images = [(v, net.parents(v.name)) for v in net.variables if isinstance(v, Image)]
        return cls(net.names, terms, images)

    def __len__(self) -> int:
        return len(self.terms)

    def _lhs(self, style: _Style) -> str:
        names = self.names
        w = style.wrap_name
        if len(names) >= MIN_RUN:
            first, last = _split(names[0]), _split(names[-1])
            if first and last and first[0] == last[0] and all(
                    _split(nm) == (first[0], first[1] + k) for k, nm in enumerate(names)):
                return f"p({w(names[0])}, {style.dots}, {w(names[-1])})"
        return "p(" + ", ".join(w(n) for n in names) + ")"

    def _piece(self, piece: Piece, style: _Style) -> str:
        w = style.wrap_name
        if isinstance(piece, Term):
            if not piece.parents:
                return f"p({w(piece.child)})"
            return f"p({w(piece.child)}{style.given}{', '.join(w(p) for p in piece.parents)})"
        kind, k = piece.pattern
        pre = piece.prefix.replace("_", r"\_") if style is _LATEX else piece.prefix
        if kind == "none":
            parents = ""
        elif kind == "window":
            if k == 1:
                parents = _idx(pre, -1)
            elif k == 2:
                parents = f"{_idx(pre, -2)}, {_idx(pre, -1)}"
            else:
                parents = f"{_idx(pre, -k)}, {style.dots}, {_idx(pre, -1)}"
        else:
            parents = f"{pre}_{k}, {style.dots}, {_idx(pre, -1)}" if k < 10 else \
                f"{pre}_{{{k}}}, {style.dots}, {_idx(pre, -1)}"
        inner = f"{_idx(pre, 0)}{style.given}{parents}" if parents else _idx(pre, 0)
        space = " " if style is _LATEX else " "
        return f"{style.prod}_{{i={piece.start}}}^{{{piece.stop}}}{space}p({inner})"

    def _render(self, style: _Style) -> str:
        rhs = " ".join(self._piece(p, style) for p in self._pieces)
        return f"{self._lhs(style)} = {rhs}"

    def text(self) -> str:
        """Plain ASCII, e.g. ``p(a, b) = p(a) p(b | a)``."""
        return self._render(_TEXT)

    def unicode(self) -> str:
        return self._render(_UNICODE)

    def latex(self) -> str:
        r"""LaTeX, e.g. ``p(a, b) = p(a) p(b \mid a)``."""
        return self._render(_LATEX)

    def expanded_text(self) -> str:
        """Every term written out, never compressed."""
        rhs = " ".join(self._piece(t, _TEXT) for t in self.terms)
        return f"p({', '.join(self.names)}) = {rhs}"

    def pixel_expansions(self) -> List[str]:
        """For each image: its term as a product over pixels in the visiting order."""
        out = []
        for img, parents in self.images:
            ctx = (", " + ", ".join(parents)) if parents else ""
            out.append(
                f"p({img.name}{' | ' + ', '.join(parents) if parents else ''}) = "
                f"∏_{{t=1}}^{{{img.num_pixels}}} p({img.name}_t | {img.name}_<t{ctx})"
                f"   [{img.shape[0]}x{img.shape[1]}x{img.shape[2]}, {img.ordering_label} order]"
            )
        return out

    def __str__(self) -> str:
        return self.unicode()

    def __repr__(self) -> str:
        return f"Factorization({self.text()!r})"

    def to_dict(self) -> dict:
        return {"text": self.text(), "unicode": self.unicode(), "latex": self.latex(),
                "terms": [{"variable": t.child, "parents": list(t.parents)} for t in self.terms],
                "pixel_expansions": self.pixel_expansions()}
