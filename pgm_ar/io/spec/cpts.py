"""A spec's ``cpts``: each discrete variable's table, in one of three forms.

* a list (a root's probabilities) or ``table:`` — nested lists, one axis per parent
  (in ``parents`` order, the graph's by default), then the child's states;
* ``rows:`` (or the mapping itself) — one row per parent configuration, keyed
  ``"p1=s1, p2=s2"`` or by the states alone in parent order;
* ``default:`` — the row of every configuration that no key names.

Rows are assembled by :class:`~pgm_ar.io.cpts.CptRows`, as BIF rows are.

>>> from pgm_ar import BayesNet, Bernoulli
>>> from .reading import Reader
>>> net = BayesNet([Bernoulli("a"), Bernoulli("b")], [("a", "b")])
>>> r = Reader(None, "<string>", None)
>>> r.names = ["a", "b"]
>>> cpts = {"a": [0.3, 0.7], "b": {"rows": {"a=1": [0.9, 0.1]}, "default": [0.5, 0.5]}}
>>> read_cpts(r, cpts, net).cpd("b").probs.tolist()
[[0.5, 0.5], [0.9, 0.1]]
"""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

import numpy as np

from ...cpd import TabularCPD
from ...errors import PgmArError
from ...network import BayesNet
from ...variables import Variable
from ..cpts import CptRows
from .reading import KeyPath, Reader

__all__ = ["CPT_KEYS", "read_cpts"]

CPT_KEYS = ("parents", "table", "rows", "default")


def read_cpts(r: Reader, value: Any, net: BayesNet) -> BayesNet:
    """``net`` with the CPTs of the ``cpts`` mapping attached."""
    path: KeyPath = ("cpts",)
    table = r.mapping(value, path, "'cpts'")
    cpds: Dict[str, TabularCPD] = {}
    for var_name, entry in table.items():
        vpath = path + (str(var_name),)
        name = r.known(var_name, vpath, "'cpts'")
        var = net.variable(name)
        if not var.is_discrete_scalar:
            raise r.error(f"{name!r} is a {var.kind.value} variable; only discrete scalar "
                          "variables have CPTs (use 'conditionals' for others)", vpath)
        real = [p for p in net.parents(name) if not net.variable(p).is_discrete_scalar]
        if real:
            raise r.error(f"{name!r} has the {net.variable(real[0]).kind.value} parent "
                          f"{real[0]!r}; a CPT needs discrete parents (use 'conditionals' "
                          "for a family that takes real or image parents)", vpath)
        cpds[name] = _cpt(r, entry, net, name, vpath)
    try:
        return net.with_cpds(cpds)
    except PgmArError as exc:
        raise r.error(str(exc), path) from None


def _cpt(r: Reader, entry: Any, net: BayesNet, name: str, path: KeyPath) -> TabularCPD:
    """One variable's CPT from its entry, in whichever form it is given."""
    parents = list(net.parents(name))
    if isinstance(entry, list):
        return _table(r, entry, name, parents, net, path)
    d = r.mapping(entry, path, f"the CPT of {name!r}")
    structured = any(k in CPT_KEYS for k in d)
    if not structured:  # the mapping is the rows
        return _rows(r, d, None, name, parents, net, path, path)
    r.check_keys(d, CPT_KEYS, path, where=f" in the CPT of {name!r}")
    if "parents" in d:
        parents = _parent_order(r, d["parents"], name, parents, path + ("parents",))
    if d.get("table") is not None:
        if d.get("rows") is not None or d.get("default") is not None:
            raise r.error(f"the CPT of {name!r} has a 'table' and also rows or a 'default'; "
                          "give one form", path)
        return _table(r, d["table"], name, parents, net, path + ("table",))
    return _rows(r, d.get("rows"), d.get("default"), name, parents, net, path,
                 path + ("rows",))


def _parent_order(r: Reader, value: Any, name: str, graph_parents: List[str],
                  path: KeyPath) -> List[str]:
    """The ``parents`` key: the graph's parents in the order of the table's axes."""
    parents = r.name_list(value, path, f"the CPT of {name!r}")
    if sorted(parents) != sorted(graph_parents) or len(set(parents)) != len(parents):
        raise r.error(f"the CPT of {name!r} lists parents {parents}, but the graph gives "
                      f"{graph_parents}", path)
    return parents


def _table(r: Reader, value: Any, name: str, parents: List[str], net: BayesNet,
           path: KeyPath) -> TabularCPD:
    """The nested-list form: one axis per parent, then the child's states."""
    expected = tuple(net.variable(p).cardinality for p in parents) + \
        (net.variable(name).cardinality,)
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise r.error(f"the CPT of {name!r} must be nested lists of numbers of shape "
                      f"{list(expected)} (parents {parents}, then {name!r})", path) from None
    if arr.shape != expected:
        raise r.error(f"the CPT of {name!r} has shape {list(arr.shape)}; with parents "
                      f"{parents} it must be {list(expected)} (one axis per parent, then "
                      f"{name!r}'s states)", path)
    return _checked_cpd(r, name, parents, arr, path)


def _rows(r: Reader, rows: Any, default: Any, name: str, parents: List[str], net: BayesNet,
          path: KeyPath, rows_path: KeyPath) -> TabularCPD:
    """The row form: ``rows`` keyed by parent configuration, and an optional ``default``."""
    pvars = [net.variable(p) for p in parents]
    card = int(net.variable(name).cardinality)
    assembled = CptRows(parents, [v.states for v in pvars], card)
    if rows is not None:
        rows = r.mapping(rows, rows_path, f"the rows of the CPT of {name!r}")
        for key, values in rows.items():
            kpath = rows_path + (str(key),)
            idx = _configuration(r, key, parents, pvars, kpath, name)
            if assembled.given(idx) is not None:
                raise r.error(f"this parent configuration of {name!r} is given twice", kpath)
            assembled.put_row(idx, _vector(r, values, card, kpath, name), kpath)
    if default is not None:
        dpath = path + ("default",)
        assembled.fill_default(_vector(r, default, card, dpath, name), dpath)
    missing = assembled.first_missing()
    if missing is not None:
        raise r.error(f"the CPT of {name!r} has no row for ({assembled.describe(missing)}) and "
                      "no 'default'", path)
    return _checked_cpd(r, name, parents, assembled.probs, path)


def _checked_cpd(r: Reader, name: str, parents: List[str], probs: np.ndarray,
                 path: KeyPath) -> TabularCPD:
    try:
        return TabularCPD(name, parents, probs)
    except PgmArError as exc:
        raise r.error(str(exc), path) from None


def _vector(r: Reader, value: Any, card: int, path: KeyPath, name: str) -> np.ndarray:
    """One row: ``card`` numbers."""
    if not isinstance(value, list) or len(value) != card or any(
            isinstance(x, bool) or not isinstance(x, (int, float)) for x in value):
        raise r.error(f"expected {card} probabilities (one per state of {name!r}), got "
                      f"{value!r}", path)
    return np.asarray(value, dtype=np.float64)


def _configuration(r: Reader, key: Any, parents: List[str], pvars: List[Variable],
                   path: KeyPath, name: str) -> Tuple[int, ...]:
    """A row key (``"p1=s1, p2=s2"`` or ``"s1, s2"``) as state indices in parent order."""
    if not parents:
        raise r.error(f"{name!r} has no parents: give its CPT as a list of probabilities or "
                      "as 'table'", path)
    parts = [s.strip() for s in str(key).split(",")]
    if len(parts) != len(parents):
        raise r.error(f"a row key names {len(parts)} parent state(s); {name!r} has parents "
                      f"{parents} (write 'p1=s1, p2=s2' or the states in that order)", path)
    idx: Dict[str, int] = {}
    for pos, part in enumerate(parts):
        pname, state = _key_part(r, part, parents[pos], parents, path, name)
        if pname in idx:
            raise r.error(f"parent {pname!r} appears twice in the row key", path)
        idx[pname] = _state_index(r, pvars[parents.index(pname)], state, path)
    return tuple(idx[p] for p in parents)


def _key_part(r: Reader, part: str, positional: str, parents: List[str], path: KeyPath,
              name: str) -> Tuple[str, str]:
    """``(parent, state)`` of one part of a row key: ``p=s``, or ``s`` for the parent at
    that position."""
    if "=" not in part:
        return positional, part
    pname, _, state = (x.strip() for x in part.partition("="))
    if pname not in parents:
        raise r.error(f"{pname!r} is not a parent of {name!r} (its parents are {parents})",
                      path)
    return pname, state


def _state_index(r: Reader, var: Variable, state: str, path: KeyPath) -> int:
    """A state given by name, or by index where no state has that name."""
    states = var.states or ()
    try:
        return var.state_index(int(state) if state.lstrip("-").isdigit()
                               and state not in states else state)
    except PgmArError:
        raise r.error(f"parent {var.name!r} has no state {state!r}; its states are "
                      f"{list(states)}", path) from None
