"""A spec's edges: its ``statements``, and the network that ``structure``, ``edges`` or
``parents`` give.

``structure`` names an assumption that derives the edges (``chain_rule``, ``markov``
or ``{markov: K}``, ``independent``, ``independencies`` from the statements); without
it, ``edges`` (``[parent, child]`` or ``"a -> b -> c"``) or ``parents`` (child ->
list) give them explicitly.  A cycle is a :class:`~pgm_ar.errors.SpecCycleError` that
points at the edge which closes it.

>>> from pgm_ar import bernoullis
>>> from .reading import Reader
>>> r = Reader(None, "<string>", None)
>>> r.names = ["x1", "x2", "x3"]
>>> net, how = derive_network(r, {"structure": "markov"}, bernoullis(3), (), "walk")
>>> how, net.parents("x3")
('markov(1)', ('x2',))
"""
from __future__ import annotations

import re
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from ...errors import CycleError, PgmArError, SpecCycleError, SpecError, StatementError
from ...network import BayesNet
from ...statements import Statement
from ...utils.suggest import did_you_mean
from ...variables import Variable
from .reading import KeyPath, Reader, line_of, render_key, type_name

__all__ = ["STRUCTURES", "derive_network", "read_statements"]

STRUCTURES = ("chain_rule", "markov", "independent", "independencies", "edges")
_STRUCTURE_ALIASES = {"chain_rule": "chain_rule", "chain": "chain_rule",
                      "independent": "independent", "independencies": "independencies",
                      "from_independencies": "independencies", "statements": "independencies",
                      "edges": "edges", "explicit": "edges"}
_MARKOV = re.compile(r"^markov\s*(?:\(\s*(\d+)\s*\)|(\d+))?$")
_ARROW = re.compile(r"\s*->\s*")

Edges = List[Tuple[str, str]]


# --------------------------------------------------------------------------- #
# statements
# --------------------------------------------------------------------------- #
def read_statements(r: Reader, value: Any) -> Tuple[Statement, ...]:
    """The ``statements`` (text ``"a _|_ b | c"`` or ``{xs, ys, given}``), in file order;
    every name must be declared."""
    if value is None:
        return ()
    path: KeyPath = ("statements",)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise r.error(f"'statements' must be a list, got {type_name(value)}", path)
    out = []
    for i, item in enumerate(value):
        ipath = path + (i,)
        try:
            st = _statement(r, item, ipath)
        except StatementError as exc:
            raise r.error(str(exc), ipath) from None
        for n in sorted(st.variables()):
            r.check_known(n, ipath, f"statement {st.ascii()!r}")
        out.append(st)
    return tuple(out)


def _statement(r: Reader, item: Any, path: KeyPath) -> Statement:
    if isinstance(item, str):
        return Statement.parse(item)
    if isinstance(item, Mapping):
        extra = set(item) - {"xs", "ys", "given"}
        if extra or "xs" not in item or "ys" not in item:
            raise r.error("a statement mapping has keys xs, ys and optional given (lists of "
                          "names)", path)
        return Statement(*(r.raw_names(item.get(k, []), path + (k,))
                           for k in ("xs", "ys", "given")))
    raise r.error(f"a statement must be text such as 'a _|_ b | c', got {type_name(item)}",
                  path)


# --------------------------------------------------------------------------- #
# the structure
# --------------------------------------------------------------------------- #
def derive_network(r: Reader, top: Mapping, variables: List[Variable],
                   statements: Tuple[Statement, ...], name: str) -> Tuple[BayesNet, str]:
    """The network of the document ``top`` and how its edges arose (``Spec.structure``)."""
    from ...assumptions import chain_rule, from_independencies, independent, markov

    kind, k = _structure_kind(r, top, statements)
    try:
        if kind == "chain_rule":
            return chain_rule(variables, name=name), kind
        if kind == "independent":
            return independent(variables, name=name), kind
        if kind == "markov":
            return markov(variables, k=k, name=name), f"markov({k})"
        if kind == "independencies":
            if not statements:
                raise r.error("structure 'independencies' needs 'statements' (a list such as "
                              "['c _|_ a | b'])", ("statements",))
            return from_independencies(variables, statements, name=name), kind
    except SpecError:
        raise
    except PgmArError as exc:
        raise r.error(str(exc), ("structure",)) from None
    return _explicit_network(r, top, variables, name), "edges"


def _structure_kind(r: Reader, top: Mapping,
                    statements: Tuple[Statement, ...]) -> Tuple[str, Optional[int]]:
    """``(kind, Markov order)`` from ``structure``, or from which keys are present."""
    has_edges = top.get("edges") is not None
    has_parents = top.get("parents") is not None
    if has_edges and has_parents:
        raise r.error("give the edges either as 'edges' or as 'parents', not both",
                      ("parents",))
    raw = top.get("structure")
    if raw is None:
        if has_edges or has_parents:
            return "edges", None
        if statements:
            return "independencies", None
        raise r.error("say how the variables depend on each other: 'structure: chain_rule', "
                      "'{markov: K}', 'independent', 'independencies' (with 'statements'), "
                      "or give 'edges' / 'parents'", ())
    kind, k = _named_structure(r, raw)
    if kind != "edges" and (has_edges or has_parents):
        key = "edges" if has_edges else "parents"
        raise r.error(f"{key!r} given, but the structure is {kind!r}, which derives the edges "
                      "itself; drop one of them (or write 'structure: edges')", (key,))
    return kind, k


def _named_structure(r: Reader, raw: Any) -> Tuple[str, Optional[int]]:
    """The value of ``structure``: a name (``markov(2)`` included) or ``{markov: K}``."""
    path: KeyPath = ("structure",)
    if isinstance(raw, Mapping):
        if len(raw) != 1 or "markov" not in raw:
            raise r.error(f"a structure mapping must be {{markov: K}}, got {dict(raw)!r}", path)
        k = raw["markov"]
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise r.error(f"the Markov order must be an integer >= 0, got {k!r}",
                          path + ("markov",))
        return "markov", k
    if isinstance(raw, str):
        text = raw.strip().lower().replace("-", "_").replace(" ", "_")
        m = _MARKOV.match(text)
        if m:
            return "markov", int(m.group(1) or m.group(2) or 1)
        if text in _STRUCTURE_ALIASES:
            return _STRUCTURE_ALIASES[text], None
        raise r.error(f"unknown structure {raw!r}{did_you_mean(text, STRUCTURES)}; use "
                      f"{', '.join(STRUCTURES)} or {{markov: K}}", path)
    raise r.error(f"'structure' must be text or {{markov: K}}, got {type_name(raw)}", path)


# --------------------------------------------------------------------------- #
# explicit edges
# --------------------------------------------------------------------------- #
def _explicit_network(r: Reader, top: Mapping, variables: List[Variable],
                      name: str) -> BayesNet:
    """The network of ``parents`` or ``edges``; a cycle points at the edge that closes it."""
    if top.get("parents") is not None:
        edges, where = _edges_from_parents(r, top["parents"])
    else:
        edges, where = _edges_from_list(r, top.get("edges", []))
    try:
        return BayesNet(variables, edges, name=name)
    except CycleError as exc:
        cyc = exc.cycle
        closing = {(cyc[j], cyc[(j + 1) % len(cyc)]) for j in range(len(cyc))}
        # point at the edge listed last among the cycle's: the one that closes it
        in_cycle = [w for e, w in zip(edges, where) if e in closing]
        kpath = in_cycle[-1] if in_cycle else \
            (("parents",) if top.get("parents") is not None else ("edges",))
        raise SpecCycleError(cyc, path=r.source, line=line_of(r.text, kpath),
                             key=render_key(kpath)) from None
    except PgmArError as exc:
        raise r.error(str(exc), ("edges",)) from None


def _edges_from_parents(r: Reader, value: Any) -> Tuple[Edges, List[KeyPath]]:
    """``parents: {child: [p1, p2]}``: the edges and the key path of each."""
    ppath: KeyPath = ("parents",)
    edges: Edges = []
    where: List[KeyPath] = []
    for child, plist in r.mapping(value, ppath, "'parents'").items():
        cpath = ppath + (str(child),)
        c = r.known(child, cpath, "'parents'")
        for j, p in enumerate(r.name_list(plist, cpath, f"the parents of {c!r}")):
            edges.append((p, c))
            where.append(cpath + (j,) if isinstance(plist, list) else cpath)
    return edges, where


def _edges_from_list(r: Reader, raw: Any) -> Tuple[Edges, List[KeyPath]]:
    """``edges: [[a, b], "b -> c -> d"]``: the edges and the key path of each."""
    epath: KeyPath = ("edges",)
    if not isinstance(raw, list):
        raise r.error(f"'edges' must be a list, got {type_name(raw)}", epath)
    edges: Edges = []
    where: List[KeyPath] = []
    for i, e in enumerate(raw):
        ipath = epath + (i,)
        ends = [r.known(x, ipath, "an edge") for x in _edge_ends(r, e, ipath)]
        for u, w in zip(ends, ends[1:]):
            if u == w:
                raise SpecCycleError([u], path=r.source, line=line_of(r.text, ipath),
                                     key=render_key(ipath))
            edges.append((u, w))
            where.append(ipath)
    return edges, where


def _edge_ends(r: Reader, e: Any, path: KeyPath) -> Sequence[Any]:
    """The names along one edge entry (two, or more for a chain ``a -> b -> c``)."""
    if isinstance(e, str):
        ends = _ARROW.split(e.strip())
        if len(ends) < 2 or any(not x for x in ends):
            raise r.error(f"an edge must be written 'parent -> child' or [parent, child], got "
                          f"{e!r}", path)
        return ends
    if isinstance(e, list) and len(e) == 2:
        return e
    raise r.error(f"an edge must be [parent, child] or 'parent -> child', got {e!r}", path)
