"""Spec files: a network declared in YAML or JSON.

A spec lists the variables, says how the edges arise (the chain rule, a Markov
order, independence statements, or explicit edges), and may carry CPTs and the
options of each variable's conditional family for the compile stage.  The full
format, with examples, is in ``docs/spec-format.md``.

>>> spec = load_spec_text('''
... name: wet_grass
... variables:
...   - {name: rain, type: bernoulli}
...   - {name: sprinkler, type: bernoulli}
...   - {name: wet, type: bernoulli}
... edges: ["rain -> wet", "sprinkler -> wet"]
... statements: ["rain _|_ sprinkler"]
... ''')
>>> spec.structure, spec.network.parents("wet")
('edges', ('rain', 'sprinkler'))
>>> [s.ascii() for s in spec.statements]
['rain _|_ sprinkler']

Every problem is a :class:`~pgm_ar.errors.SpecError` naming the file, the key
path (``variables[2].states``) and, where it can be found, the line.
"""
from __future__ import annotations

import copy
import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import yaml

from ..cpd import TabularCPD
from ..errors import CycleError, PgmArError, SpecError, StatementError
from ..network import BayesNet
from ..orderings import make_ordering
from ..statements import Statement
from ..variables import Bernoulli, Categorical, Gaussian, Image, Kind, Variable
from . import SpecCycleError
from .atomic import atomic_write_text

PathLike = Union[str, Path]
KeyPath = Tuple[Union[str, int], ...]

__all__ = ["Spec", "load_spec", "load_spec_text", "save_spec", "spec_to_dict"]

TOP_KEYS = ("name", "description", "variables", "structure", "statements", "edges", "parents",
            "cpts", "conditionals")
VARIABLE_KEYS = ("name", "type", "states", "shape", "levels", "ordering", "count", "description")
CPT_KEYS = ("parents", "table", "rows", "default")
TYPE_ALIASES = {"bernoulli": Kind.BERNOULLI, "binary": Kind.BERNOULLI,
                "categorical": Kind.CATEGORICAL, "gaussian": Kind.GAUSSIAN,
                "image": Kind.IMAGE}
STRUCTURES = ("chain_rule", "markov", "independent", "independencies", "edges")
_STRUCTURE_ALIASES = {"chain_rule": "chain_rule", "chain": "chain_rule",
                      "independent": "independent", "independencies": "independencies",
                      "from_independencies": "independencies", "statements": "independencies",
                      "edges": "edges", "explicit": "edges"}
_MARKOV = re.compile(r"^markov\s*(?:\(\s*(\d+)\s*\)|(\d+))?$")
_ARROW = re.compile(r"\s*->\s*")


@dataclass(frozen=True)
class Spec:
    """A loaded spec: the network plus what the compile and check stages need.

    Attributes
    ----------
    network
        The :class:`~pgm_ar.network.BayesNet` (with CPTs where the file gives them).
    statements
        The declared conditional-independence statements, in file order.
    conditionals
        Raw per-variable (or per-kind) family options, e.g.
        ``{"digit": {"family": "nade", "hidden": 500}}``, for :func:`pgm_ar.compile`.
    structure
        How the edges were derived: ``chain_rule``, ``markov(K)``, ``independent``,
        ``independencies``, ``edges`` or ``bif``.
    source
        The file (or ``<string>``) the spec came from.
    """

    network: BayesNet
    statements: Tuple[Statement, ...] = ()
    conditionals: Dict[str, Any] = field(default_factory=dict)
    structure: str = "edges"
    source: str = "<string>"


# --------------------------------------------------------------------------- #
# YAML flavour: YAML 1.2 booleans
# --------------------------------------------------------------------------- #
class _SpecLoader(yaml.SafeLoader):
    """SafeLoader that reads ``yes``/``no``/``on``/``off`` as text (YAML 1.2).

    YAML 1.1 turns the state names ``[yes, no]`` into booleans; only ``true`` and
    ``false`` are booleans here.
    """


_BOOL_TAG = "tag:yaml.org,2002:bool"
_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_SpecLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


# --------------------------------------------------------------------------- #
# key paths and line numbers
# --------------------------------------------------------------------------- #
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def render_key(path: KeyPath) -> str:
    """``("variables", 2, "states")`` -> ``variables[2].states``.

    >>> render_key(("cpts", "wet", "rows", "rain=1, sprinkler=0"))
    'cpts.wet.rows["rain=1, sprinkler=0"]'
    """
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += json.dumps(part, ensure_ascii=False).join("[]")
    return out


def _line_of(text: Optional[str], path: KeyPath) -> Optional[int]:
    """1-based line of the node at ``path`` (the key's line for a mapping entry).

    Composes the text again, which is cheap and happens only on an error.  When
    the path leaves the document, the line of the deepest node reached is given.
    """
    if not text:
        return None
    try:
        node = yaml.compose(text, Loader=_SpecLoader)
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                    line = key_node.start_mark.line + 1
                    node = value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


# --------------------------------------------------------------------------- #
# the loader
# --------------------------------------------------------------------------- #
def _hint(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=3)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def _type_name(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return f"{type(value).__name__} {value!r}"


class _Loader:
    def __init__(self, data: Any, source: str, text: Optional[str], default_name: str) -> None:
        self.data = data
        self.source = source
        self.text = text
        self.default_name = default_name
        self.names: List[str] = []

    # -- errors ----------------------------------------------------------------
    def error(self, message: str, path: KeyPath) -> SpecError:
        return SpecError(message, path=self.source, line=_line_of(self.text, path),
                         key=render_key(path) if path else None)

    def name_at(self, value: Any, path: KeyPath, what: str = "a variable name") -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise self.error(f"expected {what}, got {_type_name(value)}", path)
        return str(value).strip()

    def known(self, value: Any, path: KeyPath, where: str) -> str:
        name = self.name_at(value, path)
        if name not in self.names:
            raise self.error(f"unknown variable {name!r} in {where}{_hint(name, self.names)}",
                             path)
        return name

    def mapping(self, value: Any, path: KeyPath, what: str) -> Mapping:
        if not isinstance(value, Mapping):
            raise self.error(f"{what} must be a mapping, got {_type_name(value)}", path)
        return value

    def name_list(self, value: Any, path: KeyPath, where: str) -> List[str]:
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return [self.known(value, path, where)]
        if not isinstance(value, list):
            raise self.error(f"expected a list of variable names, got {_type_name(value)}", path)
        return [self.known(v, path + (i,), where) for i, v in enumerate(value)]

    # -- the whole document ------------------------------------------------------
    def load(self) -> Spec:
        if self.data is None:
            raise self.error("the spec is empty; it needs at least 'variables'", ())
        top = self.mapping(self.data, (), "a spec")
        for key in top:
            if key not in TOP_KEYS:
                raise self.error(f"unknown key {key!r}{_hint(key, TOP_KEYS)}; the keys are "
                                 f"{', '.join(TOP_KEYS)}", (str(key),))
        name = top.get("name", self.default_name)
        if not isinstance(name, str) or not name.strip():
            raise self.error(f"the name must be non-empty text, got {_type_name(name)}",
                             ("name",))
        if "variables" not in top:
            raise self.error("missing 'variables': list the random variables", ())
        variables = self.variables(top["variables"])
        statements = self.statements(top.get("statements"))
        net, structure = self.structure(top, variables, statements, name.strip())
        if top.get("cpts") is not None:
            net = self.cpts(top["cpts"], net)
        conditionals = self.conditionals(top.get("conditionals"))
        return Spec(network=net, statements=statements, conditionals=conditionals,
                    structure=structure, source=self.source)

    # -- variables ---------------------------------------------------------------
    def variables(self, value: Any) -> List[Variable]:
        path: KeyPath = ("variables",)
        if not isinstance(value, list) or not value:
            raise self.error(f"'variables' must be a non-empty list, got {_type_name(value)}",
                             path)
        out: List[Variable] = []
        first_at: Dict[str, KeyPath] = {}
        for i, item in enumerate(value):
            for var in self.variable(item, path + (i,)):
                if var.name in first_at:
                    raise self.error(f"duplicate variable name {var.name!r} (first declared at "
                                     f"{render_key(first_at[var.name])})", path + (i,))
                first_at[var.name] = path + (i,)
                out.append(var)
        self.names = [v.name for v in out]
        return out

    def variable(self, item: Any, path: KeyPath) -> List[Variable]:
        if isinstance(item, str):
            item = {"name": item}
        d = self.mapping(item, path, "a variable")
        for key in d:
            if key not in VARIABLE_KEYS:
                raise self.error(f"unknown key {key!r} for a variable{_hint(key, VARIABLE_KEYS)};"
                                 f" the keys are {', '.join(VARIABLE_KEYS)}", path + (str(key),))
        if "name" not in d:
            raise self.error("a variable needs a 'name'", path)
        name = self.name_at(d["name"], path + ("name",))
        type_text = d.get("type", "categorical" if "states" in d else "bernoulli")
        if not isinstance(type_text, str) or type_text.strip().lower() not in TYPE_ALIASES:
            raise self.error(f"unknown variable type {type_text!r}"
                             f"{_hint(str(type_text), list(TYPE_ALIASES))}; use bernoulli, "
                             "categorical, gaussian or image", path + ("type",))
        kind = TYPE_ALIASES[type_text.strip().lower()]
        allowed = {Kind.CATEGORICAL: {"states"}, Kind.IMAGE: {"shape", "levels", "ordering"}}
        for key in ("states", "shape", "levels", "ordering"):
            if key in d and key not in allowed.get(kind, set()):
                raise self.error(f"{key!r} does not apply to a {kind.value} variable",
                                 path + (key,))
        names = [name]
        if "count" in d:
            count = d["count"]
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise self.error(f"'count' must be a positive integer, got {_type_name(count)}",
                                 path + ("count",))
            names = [f"{name}{j}" for j in range(1, count + 1)]
        out = []
        for n in names:
            try:
                out.append(self.make_variable(kind, n, d, path))
            except SpecError:
                raise
            except PgmArError as exc:
                raise self.error(str(exc), path + ("name",)) from None
        return out

    def make_variable(self, kind: Kind, name: str, d: Mapping, path: KeyPath) -> Variable:
        if kind is Kind.BERNOULLI:
            return Bernoulli(name)
        if kind is Kind.GAUSSIAN:
            return Gaussian(name)
        if kind is Kind.CATEGORICAL:
            if "states" not in d:
                raise self.error(f"categorical variable {name!r} needs 'states' (a count or a "
                                 "list of names)", path)
            states = d["states"]
            spath = path + ("states",)
            if isinstance(states, list):
                for j, s in enumerate(states):
                    if isinstance(s, (Mapping, list)) or s is None:
                        raise self.error(f"a state name must be text or a number, got "
                                         f"{_type_name(s)}", spath + (j,))
            elif isinstance(states, bool) or not isinstance(states, int):
                raise self.error(f"'states' must be a count or a list of names, got "
                                 f"{_type_name(states)}", spath)
            try:
                return Categorical(name, states)
            except PgmArError as exc:
                raise self.error(str(exc), spath) from None
        # image
        shape = d.get("shape")
        spath = path + ("shape",)
        if shape is None:
            raise self.error(f"image {name!r} needs a 'shape' ([C, H, W] or [H, W])", path)
        if (not isinstance(shape, list) or len(shape) not in (2, 3)
                or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape)):
            raise self.error(f"'shape' must be [C, H, W] or [H, W] of positive integers, got "
                             f"{shape!r}", spath)
        levels = d.get("levels", 2)
        if levels is not None and (isinstance(levels, bool) or not isinstance(levels, int)
                                   or levels < 2):
            raise self.error(f"'levels' must be an integer >= 2 (values per pixel) or null for "
                             f"continuous pixels, got {levels!r}", path + ("levels",))
        ordering = d.get("ordering", "raster")
        if not isinstance(ordering, (str, list)):
            raise self.error(f"'ordering' must be raster, snake, diagonal, random(SEED) or a "
                             f"list, got {_type_name(ordering)}", path + ("ordering",))
        if isinstance(ordering, list) and any(isinstance(o, bool) or not isinstance(o, int)
                                              for o in ordering):
            raise self.error("a custom 'ordering' must be a list of pixel indices (integers)",
                             path + ("ordering",))
        height, width = shape[-2], shape[-1]
        try:
            make_ordering(ordering, height, width)
        except PgmArError as exc:
            raise self.error(str(exc), path + ("ordering",)) from None
        return Image(name, shape=shape, levels=levels, ordering=ordering)

    # -- statements --------------------------------------------------------------
    def statements(self, value: Any) -> Tuple[Statement, ...]:
        if value is None:
            return ()
        path: KeyPath = ("statements",)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.error(f"'statements' must be a list, got {_type_name(value)}", path)
        out = []
        for i, item in enumerate(value):
            ipath = path + (i,)
            try:
                if isinstance(item, str):
                    st = Statement.parse(item)
                elif isinstance(item, Mapping):
                    extra = set(item) - {"xs", "ys", "given"}
                    if extra or "xs" not in item or "ys" not in item:
                        raise self.error("a statement mapping has keys xs, ys and optional "
                                         "given (lists of names)", ipath)
                    st = Statement(*(self.raw_names(item.get(k, []), ipath + (k,))
                                     for k in ("xs", "ys", "given")))
                else:
                    raise self.error(f"a statement must be text such as 'a _|_ b | c', got "
                                     f"{_type_name(item)}", ipath)
            except StatementError as exc:
                raise self.error(str(exc), ipath) from None
            for n in sorted(st.variables()):
                if n not in self.names:
                    raise self.error(f"unknown variable {n!r} in statement {st.ascii()!r}"
                                     f"{_hint(n, self.names)}", ipath)
            out.append(st)
        return tuple(out)

    def raw_names(self, value: Any, path: KeyPath) -> List[str]:
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return [str(value)]
        if not isinstance(value, list):
            raise self.error(f"expected a list of variable names, got {_type_name(value)}", path)
        return [self.name_at(v, path + (i,)) for i, v in enumerate(value)]

    # -- structure ---------------------------------------------------------------
    def structure(self, top: Mapping, variables: List[Variable],
                  statements: Tuple[Statement, ...], name: str) -> Tuple[BayesNet, str]:
        from ..assumptions import chain_rule, from_independencies, independent, markov

        has_edges = top.get("edges") is not None
        has_parents = top.get("parents") is not None
        if has_edges and has_parents:
            raise self.error("give the edges either as 'edges' or as 'parents', not both",
                             ("parents",))
        raw = top.get("structure")
        path: KeyPath = ("structure",)
        k: Optional[int] = None
        if raw is None:
            if has_edges or has_parents:
                kind = "edges"
            elif statements:
                kind = "independencies"
            else:
                raise self.error("say how the variables depend on each other: 'structure: "
                                 "chain_rule', '{markov: K}', 'independent', 'independencies' "
                                 "(with 'statements'), or give 'edges' / 'parents'", ())
        elif isinstance(raw, Mapping):
            if len(raw) != 1 or "markov" not in raw:
                raise self.error(f"a structure mapping must be {{markov: K}}, got {dict(raw)!r}",
                                 path)
            k = raw["markov"]
            if isinstance(k, bool) or not isinstance(k, int) or k < 0:
                raise self.error(f"the Markov order must be an integer >= 0, got {k!r}",
                                 path + ("markov",))
            kind = "markov"
        elif isinstance(raw, str):
            text = raw.strip().lower().replace("-", "_").replace(" ", "_")
            m = _MARKOV.match(text)
            if m:
                kind, k = "markov", int(m.group(1) or m.group(2) or 1)
            elif text in _STRUCTURE_ALIASES:
                kind = _STRUCTURE_ALIASES[text]
            else:
                raise self.error(f"unknown structure {raw!r}{_hint(text, STRUCTURES)}; use "
                                 f"{', '.join(STRUCTURES)} or {{markov: K}}", path)
        else:
            raise self.error(f"'structure' must be text or {{markov: K}}, got {_type_name(raw)}",
                             path)
        if kind != "edges" and (has_edges or has_parents):
            key = "edges" if has_edges else "parents"
            raise self.error(f"{key!r} given, but the structure is {kind!r}, which derives the "
                             "edges itself; drop one of them (or write 'structure: edges')",
                             (key,))
        try:
            if kind == "chain_rule":
                return chain_rule(variables, name=name), kind
            if kind == "independent":
                return independent(variables, name=name), kind
            if kind == "markov":
                return markov(variables, k=k, name=name), f"markov({k})"
            if kind == "independencies":
                if not statements:
                    raise self.error("structure 'independencies' needs 'statements' (a list "
                                     "such as ['c _|_ a | b'])", ("statements",))
                return from_independencies(variables, statements, name=name), kind
        except SpecError:
            raise
        except PgmArError as exc:
            raise self.error(str(exc), path) from None
        return self.explicit(top, variables, name), "edges"

    def explicit(self, top: Mapping, variables: List[Variable], name: str) -> BayesNet:
        edges: List[Tuple[str, str]] = []
        where: List[KeyPath] = []
        if top.get("parents") is not None:
            ppath: KeyPath = ("parents",)
            parents = self.mapping(top["parents"], ppath, "'parents'")
            for child, plist in parents.items():
                cpath = ppath + (str(child),)
                c = self.known(child, cpath, "'parents'")
                for j, p in enumerate(self.name_list(plist, cpath, f"the parents of {c!r}")):
                    edges.append((p, c))
                    where.append(cpath + (j,) if isinstance(plist, list) else cpath)
        else:
            epath: KeyPath = ("edges",)
            raw = top.get("edges", [])
            if not isinstance(raw, list):
                raise self.error(f"'edges' must be a list, got {_type_name(raw)}", epath)
            for i, e in enumerate(raw):
                ipath = epath + (i,)
                if isinstance(e, str):
                    ends = _ARROW.split(e.strip())
                    if len(ends) < 2 or any(not x for x in ends):
                        raise self.error(f"an edge must be written 'parent -> child' or "
                                         f"[parent, child], got {e!r}", ipath)
                elif isinstance(e, list) and len(e) == 2:
                    ends = e
                else:
                    raise self.error(f"an edge must be [parent, child] or 'parent -> child', got "
                                     f"{e!r}", ipath)
                ends = [self.known(x, ipath, "an edge") for x in ends]
                for u, w in zip(ends, ends[1:]):
                    if u == w:
                        raise SpecCycleError([u], path=self.source,
                                             line=_line_of(self.text, ipath),
                                             key=render_key(ipath))
                    edges.append((u, w))
                    where.append(ipath)
        try:
            return BayesNet(variables, edges, name=name)
        except CycleError as exc:
            cyc = exc.cycle
            closing = {(cyc[j], cyc[(j + 1) % len(cyc)]) for j in range(len(cyc))}
            # point at the edge listed last among the cycle's: the one that closes it
            in_cycle = [w for e, w in zip(edges, where) if e in closing]
            kpath = in_cycle[-1] if in_cycle else \
                (("parents",) if top.get("parents") is not None else ("edges",))
            raise SpecCycleError(cyc, path=self.source, line=_line_of(self.text, kpath),
                                 key=render_key(kpath)) from None
        except PgmArError as exc:
            raise self.error(str(exc), ("edges",)) from None

    # -- CPTs --------------------------------------------------------------------
    def cpts(self, value: Any, net: BayesNet) -> BayesNet:
        path: KeyPath = ("cpts",)
        table = self.mapping(value, path, "'cpts'")
        cpds: Dict[str, TabularCPD] = {}
        for var_name, entry in table.items():
            vpath = path + (str(var_name),)
            name = self.known(var_name, vpath, "'cpts'")
            var = net.variable(name)
            if not var.is_discrete or var.num_pixels != 1:
                raise self.error(f"{name!r} is a {var.kind.value} variable; only discrete "
                                 "scalar variables have CPTs (use 'conditionals' for others)",
                                 vpath)
            cpds[name] = self.cpt(entry, net, name, vpath)
        try:
            return net.with_cpds(cpds)
        except PgmArError as exc:
            raise self.error(str(exc), path) from None

    def cpt(self, entry: Any, net: BayesNet, name: str, path: KeyPath) -> TabularCPD:
        var = net.variable(name)
        card = var.cardinality
        graph_parents = list(net.parents(name))
        parents = graph_parents
        if isinstance(entry, list):
            return self.table(entry, name, parents, net, path)
        d = self.mapping(entry, path, f"the CPT of {name!r}")
        structured = any(k in CPT_KEYS for k in d)
        if structured:
            for key in d:
                if key not in CPT_KEYS:
                    raise self.error(f"unknown key {key!r} in the CPT of {name!r}"
                                     f"{_hint(str(key), CPT_KEYS)}; the keys are "
                                     f"{', '.join(CPT_KEYS)}", path + (str(key),))
            rows = d.get("rows")
            default = d.get("default")
            table = d.get("table")
        else:
            rows, default, table = d, None, None
        if structured and "parents" in d:
            ppath = path + ("parents",)
            parents = self.name_list(d["parents"], ppath, f"the CPT of {name!r}")
            if sorted(parents) != sorted(graph_parents) or len(set(parents)) != len(parents):
                raise self.error(f"the CPT of {name!r} lists parents {parents}, but the graph "
                                 f"gives {graph_parents}", ppath)
        if table is not None:
            if rows is not None or default is not None:
                raise self.error(f"the CPT of {name!r} has a 'table' and also rows or a "
                                 "'default'; give one form", path)
            return self.table(table, name, parents, net, path + ("table",))
        pvars = [net.variable(p) for p in parents]
        pcards = tuple(v.cardinality for v in pvars)
        probs = np.zeros(pcards + (card,))
        filled = np.zeros(pcards, dtype=bool)
        if rows is not None:
            rpath = path + ("rows",) if structured else path
            rows = self.mapping(rows, rpath, f"the rows of the CPT of {name!r}")
            for key, values in rows.items():
                kpath = rpath + (str(key),)
                idx = self.config(key, parents, pvars, kpath, name)
                if filled[idx]:
                    raise self.error(f"this parent configuration of {name!r} is given twice",
                                     kpath)
                probs[idx] = self.vector(values, card, kpath, name)
                filled[idx] = True
        if default is not None:
            probs[~filled] = self.vector(default, card, path + ("default",), name)
            filled[...] = True
        if not filled.all():
            missing = tuple(int(i) for i in np.argwhere(~filled)[0])
            cfg = ", ".join(f"{p}={v.states[i]}" for p, v, i in zip(parents, pvars, missing))
            raise self.error(f"the CPT of {name!r} has no row for ({cfg}) and no 'default'", path)
        try:
            return TabularCPD(name, parents, probs)
        except PgmArError as exc:
            raise self.error(str(exc), path) from None

    def table(self, value: Any, name: str, parents: List[str], net: BayesNet,
              path: KeyPath) -> TabularCPD:
        expected = tuple(net.variable(p).cardinality for p in parents) + \
            (net.variable(name).cardinality,)
        try:
            arr = np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise self.error(f"the CPT of {name!r} must be nested lists of numbers of shape "
                             f"{list(expected)} (parents {parents}, then {name!r})", path) from None
        if arr.shape != expected:
            raise self.error(f"the CPT of {name!r} has shape {list(arr.shape)}; with parents "
                             f"{parents} it must be {list(expected)} (one axis per parent, "
                             f"then {name!r}'s states)", path)
        try:
            return TabularCPD(name, parents, arr)
        except PgmArError as exc:
            raise self.error(str(exc), path) from None

    def vector(self, value: Any, card: int, path: KeyPath, name: str) -> np.ndarray:
        if not isinstance(value, list) or len(value) != card or any(
                isinstance(x, bool) or not isinstance(x, (int, float)) for x in value):
            raise self.error(f"expected {card} probabilities (one per state of {name!r}), got "
                             f"{value!r}", path)
        return np.asarray(value, dtype=np.float64)

    def config(self, key: Any, parents: List[str], pvars: List[Variable], path: KeyPath,
               name: str) -> Tuple[int, ...]:
        if not parents:
            raise self.error(f"{name!r} has no parents: give its CPT as a list of "
                             "probabilities or as 'table'", path)
        parts = [s.strip() for s in str(key).split(",")]
        if len(parts) != len(parents):
            raise self.error(f"a row key names {len(parts)} parent state(s); {name!r} has "
                             f"parents {parents} (write 'p1=s1, p2=s2' or the states in "
                             "that order)", path)
        idx: Dict[str, int] = {}
        for pos, part in enumerate(parts):
            if "=" in part:
                pname, _, state = (x.strip() for x in part.partition("="))
                if pname not in parents:
                    raise self.error(f"{pname!r} is not a parent of {name!r} (its parents are "
                                     f"{parents})", path)
            else:
                pname, state = parents[pos], part
            if pname in idx:
                raise self.error(f"parent {pname!r} appears twice in the row key", path)
            var = pvars[parents.index(pname)]
            try:
                idx[pname] = var.state_index(int(state) if state.lstrip("-").isdigit()
                                             and state not in (var.states or ()) else state)
            except PgmArError:
                raise self.error(f"parent {pname!r} has no state {state!r}; its states are "
                                 f"{list(var.states or ())}", path) from None
        return tuple(idx[p] for p in parents)

    # -- conditionals --------------------------------------------------------------
    def conditionals(self, value: Any) -> Dict[str, Any]:
        if value is None:
            return {}
        path: KeyPath = ("conditionals",)
        d = self.mapping(value, path, "'conditionals'")
        kinds = [k.value for k in Kind]
        out: Dict[str, Any] = {}
        for key, options in d.items():
            kpath = path + (str(key),)
            k = self.name_at(key, kpath, "a variable name or kind")
            if k not in self.names and k not in kinds:
                raise self.error(f"unknown variable {k!r} in 'conditionals'"
                                 f"{_hint(k, self.names + kinds)}; keys are variable names or "
                                 f"kinds ({', '.join(kinds)})", kpath)
            if not isinstance(options, (Mapping, str)):
                raise self.error(f"the conditional of {k!r} must be a family name or a mapping "
                                 f"such as {{family: nade, hidden: 500}}, got "
                                 f"{_type_name(options)}", kpath)
            out[k] = copy.deepcopy(dict(options)) if isinstance(options, Mapping) else options
        return out


# --------------------------------------------------------------------------- #
# public API: loading
# --------------------------------------------------------------------------- #
def _parse(text: str, fmt: str, source: str) -> Any:
    fmt = fmt.lower()
    if fmt == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"JSON syntax error: {exc.msg} (column {exc.colno})", path=source,
                            line=exc.lineno) from None
    if fmt in ("yaml", "yml"):
        try:
            return yaml.load(text, Loader=_SpecLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = exc.problem or exc.context or "invalid YAML"
            if exc.context and exc.problem and exc.context_mark is not None:
                problem += f" ({exc.context} started at line {exc.context_mark.line + 1})"
            raise SpecError(f"YAML syntax error: {problem}", path=source,
                            line=mark.line + 1 if mark is not None else None) from None
        except yaml.YAMLError as exc:
            raise SpecError(f"YAML error: {exc}", path=source) from None
    raise PgmArError(f"unknown spec format {fmt!r}: use 'yaml' or 'json'")


def load_spec_text(text: str, fmt: str = "yaml", source: str = "<string>",
                   name: Optional[str] = None) -> Spec:
    """Load a spec from text.

    Parameters
    ----------
    text
        The YAML or JSON source.
    fmt
        ``"yaml"`` or ``"json"``.
    source
        What to call the text in error messages (a file name).
    name
        The network name when the spec has no ``name`` key (default ``"net"``).

    Raises
    ------
    SpecError
        Naming ``source``, the key path and the line where it can be found.
    """
    if not isinstance(text, str):
        raise PgmArError(f"load_spec_text expects text, got {type(text).__name__}")
    data = _parse(text, fmt, source)
    return _Loader(data, source, text, name or "net").load()


def load_spec(path: PathLike) -> Spec:
    """Load a spec file (``.yaml``, ``.yml`` or ``.json``; other suffixes are read as YAML).

    The network is named by the spec's ``name`` key, else by the file's stem.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("no such file", path=str(p)) from None
    except IsADirectoryError:
        raise SpecError("is a directory, not a spec file", path=str(p)) from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=str(p)) from None
    except OSError as exc:
        raise SpecError(f"cannot read the file: {exc.strerror or exc}", path=str(p)) from None
    fmt = "json" if p.suffix.lower() == ".json" else "yaml"
    return load_spec_text(text, fmt=fmt, source=str(p), name=p.stem)


# --------------------------------------------------------------------------- #
# public API: saving
# --------------------------------------------------------------------------- #
def _variable_dict(v: Variable) -> Dict[str, Any]:
    if isinstance(v, Image):
        ordering: Any = v.ordering_label
        if ordering == "custom":
            ordering = [int(i) for i in v.pixel_order]
        return {"name": v.name, "type": "image", "shape": list(v.shape), "levels": v.levels,
                "ordering": ordering}
    if isinstance(v, Bernoulli):
        return {"name": v.name, "type": "bernoulli"}
    if isinstance(v, Categorical):
        return {"name": v.name, "type": "categorical", "states": list(v.states)}
    if isinstance(v, Gaussian):
        return {"name": v.name, "type": "gaussian"}
    raise PgmArError(f"cannot save variable {v.name!r} of type {type(v).__name__}")


def _plain(obj: Any) -> Any:
    """numpy scalars and tuples to plain Python, so YAML and JSON can write them."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Kind):
        return obj.value
    return obj


def spec_to_dict(spec_or_net: Union[Spec, BayesNet]) -> Dict[str, Any]:
    """The spec as plain data: explicit ``parents`` (in CPT axis order) and CPT tables."""
    if isinstance(spec_or_net, Spec):
        spec = spec_or_net
    elif isinstance(spec_or_net, BayesNet):
        spec = Spec(network=spec_or_net)
    else:
        raise PgmArError(f"save_spec expects a Spec or a BayesNet, got "
                         f"{type(spec_or_net).__name__}")
    net = spec.network
    out: Dict[str, Any] = {"name": net.name,
                           "variables": [_variable_dict(v) for v in net.variables],
                           "structure": "edges"}
    out["parents"] = {v.name: list(net.parents(v.name)) for v in net.variables
                      if net.parents(v.name)}
    if spec.statements:
        out["statements"] = [s.ascii() for s in spec.statements]
    cpds = net.cpds
    if cpds:
        out["cpts"] = {}
        for v in net.variables:
            if v.name in cpds:
                cpd = cpds[v.name]
                entry: Dict[str, Any] = {}
                if cpd.parents:
                    entry["parents"] = list(cpd.parents)
                entry["table"] = cpd.probs.tolist()
                out["cpts"][v.name] = entry
    if spec.conditionals:
        out["conditionals"] = _plain(spec.conditionals)
    return out


def save_spec(spec_or_net: Union[Spec, BayesNet], path: PathLike,
              fmt: Optional[str] = None) -> Path:
    """Write a spec (or a bare network) to ``path`` atomically.

    The format follows the suffix (``.json`` gives JSON, anything else YAML)
    unless ``fmt`` says.  The edges are written as an explicit ``parents``
    mapping, so loading the file gives an equal network with equal CPTs.
    """
    data = spec_to_dict(spec_or_net)
    p = Path(path)
    fmt = (fmt or ("json" if p.suffix.lower() == ".json" else "yaml")).lower()
    if fmt == "json":
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    elif fmt in ("yaml", "yml"):
        text = yaml.safe_dump(data, sort_keys=False, default_flow_style=None,
                              allow_unicode=True, width=100)
    else:
        raise PgmArError(f"unknown spec format {fmt!r}: use 'yaml' or 'json'")
    return atomic_write_text(p, text)
