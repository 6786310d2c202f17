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

from .errors import PgmArError
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

    def pixel_expansions(self, style: str = "unicode") -> List[str]:
        """For each image: its term as a product over its values in the visiting order.

        ``style`` is ``"unicode"`` (the default), ``"text"`` (ASCII) or ``"latex"``.  A
        one-channel image is a product over its ``D`` values, ``p(x_t | x_<t)``; a colour image
        visits the channels of each pixel in turn, so it is a product over pixels ``i`` of
        one factor per channel (see :func:`pixel_expansion`).
        """
        styles = {"unicode": _UNICODE, "text": _TEXT, "latex": _LATEX}
        if style not in styles:
            raise PgmArError(f"unknown factorization style {style!r}: use one of {sorted(styles)}")
        return [pixel_expansion(img, parents, styles[style]) for img, parents in self.images]

    def __str__(self) -> str:
        return self.unicode()

    def __repr__(self) -> str:
        return f"Factorization({self.text()!r})"

    def to_dict(self) -> dict:
        return {"text": self.text(), "unicode": self.unicode(), "latex": self.latex(),
                "terms": [{"variable": t.child, "parents": list(t.parents)} for t in self.terms],
                "pixel_expansions": self.pixel_expansions(),
                "pixel_expansions_text": self.pixel_expansions("text"),
                "pixel_expansions_latex": self.pixel_expansions("latex")}


#: colour channels written out one factor each up to this many; more become a product over c
MAX_CHANNELS_SPELLED = 4


def _channel_names(channels: int) -> List[str]:
    """``R, G, B`` for three channels, else ``1 .. C``."""
    return ["R", "G", "B"] if channels == 3 else [str(k) for k in range(1, channels + 1)]


def pixel_expansion(image: Image, parents: Sequence[str] = (), style: Union[str, _Style] = "unicode"
                    ) -> str:
    """The term ``p(image | parents)`` as a product over the image's values in visiting order.

    One channel: ``p(x) = ∏_{t=1}^{D} p(x_t | x_<t)``.  ``C`` channels, visited in turn inside
    each pixel (R, then G, then B), over the ``H W`` pixels ``i`` in visiting order: one factor
    per channel, each given the earlier pixels and the pixel's earlier channels; past
    :data:`MAX_CHANNELS_SPELLED` channels an inner product over ``c`` takes their place.  The
    image's parents join every factor's conditioning set, last.

    >>> print(pixel_expansion(Image("x", shape=(3, 1, 2)), style="text"))
    p(x) = prod_{i=1}^{2} p(x_i,R | x_<i) p(x_i,G | x_<i, x_i,R) p(x_i,B | x_<i, x_i,R, x_i,G)   [3x1x2, raster order]
    >>> print(pixel_expansion(Image("x", shape=(1, 2, 2)), ["y"], style="latex"))
    p(x \\mid y) = \\prod_{t=1}^{4} p(x_{t} \\mid x_{<t}, y) \\quad [1 \\times 2 \\times 2,\\ \\text{raster order}]
    """
    if isinstance(style, str):
        styles = {"unicode": _UNICODE, "text": _TEXT, "latex": _LATEX}
        if style not in styles:
            raise PgmArError(f"unknown factorization style {style!r}: use one of {sorted(styles)}")
        style = styles[style]
    latex = style is _LATEX
    w = style.wrap_name
    name = w(image.name)
    base = f"{{{name}}}" if latex and "_" in name else name  # a subscripted name gets braces

    def value(index: str) -> str:  # x_t, x_i,R  /  x_{t}, x_{i,R}
        return f"{base}_{{{index}}}" if latex else f"{name}_{index}"

    def before(index: str) -> str:  # x_<t  /  x_{<t}
        return f"{base}_{{<{index}}}" if latex else f"{name}_<{index}"

    given = style.given
    ctx = [w(p) for p in parents]

    def factor(child: str, conds: List[str]) -> str:
        conds = conds + ctx
        return f"p({child}{given}{', '.join(conds)})" if conds else f"p({child})"

    C, H, W = image.shape
    if C == 1:
        rhs = f"{style.prod}_{{t=1}}^{{{image.num_pixels}}} " + factor(value("t"), [before("t")])
    else:
        names = _channel_names(C)
        if C <= MAX_CHANNELS_SPELLED:
            factors = [factor(value(f"i,{names[k]}"),
                              [before("i")] + [value(f"i,{names[m]}") for m in range(k)])
                       for k in range(C)]
            inner = " ".join(factors)
        else:
            inner = (f"{style.prod}_{{c=1}}^{{{C}}} "
                     + factor(value("i,c"), [before("i"), value("i,<c")]))
        rhs = f"{style.prod}_{{i=1}}^{{{H * W}}} {inner}"
    lhs = f"p({name}{given}{', '.join(ctx)})" if ctx else f"p({name})"
    order = image.ordering_label
    if latex:
        order_tex = order.replace("_", r"\_")
        note = rf" \quad [{C} \times {H} \times {W},\ \text{{{order_tex} order}}]"
    else:
        note = f"   [{C}x{H}x{W}, {order} order]"
    return f"{lhs} = {rhs}{note}"
