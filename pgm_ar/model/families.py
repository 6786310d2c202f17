"""Choosing a conditional family for every node of a network.

A node's family comes from the user's ``conditionals`` mapping, by variable name first, then by
kind (``"gaussian"``, ``Kind.IMAGE``, the ``Bernoulli`` class), else the default: tables for
discrete nodes with discrete parents, logistic regression for discrete nodes with real
parents, linear-Gaussian for real nodes.  Images have no default (the family sets the model's
cost and quality), so the error says how to name one.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from ..conditionals import Family, LinearGaussian, Logistic, Tabular, family_from_spec
from ..errors import PgmArError, UnknownVariableError
from ..network import BayesNet
from ..variables import Gaussian, Image, Kind, Variable

__all__ = ["default_family", "resolve_families"]


def _kind_key(key: Any) -> Optional[Kind]:
    """The variable kind a ``conditionals`` key names (``"gaussian"``, ``Kind.IMAGE``,
    ``Bernoulli``), or ``None`` when it names none."""
    if isinstance(key, Kind):
        return key
    if isinstance(key, type) and issubclass(key, Variable) and isinstance(key.kind, Kind):
        return key.kind
    if isinstance(key, str):
        try:
            return Kind(key.lower())
        except ValueError:
            return None
    return None


def default_family(net: BayesNet, name: str) -> Family:
    """Tabular for discrete nodes with discrete parents, logistic for discrete nodes with real
    parents, linear-Gaussian for real nodes.

    Images have no default: the family and its size (NADE's hidden units, MADE's layers) set
    the model's cost and quality, so they are asked for explicitly, and the error says how.
    """
    var = net.variable(name)
    parents = [net.variable(p) for p in net.parents(name)]
    if isinstance(var, Image):
        example = "{'family': 'rnade', 'hidden': 100}" if var.levels is None else \
            "{'family': 'nade', 'hidden': 500}"
        raise PgmArError(
            f"image variable {var.name!r} needs a neural autoregressive family (nade, made, "
            f"fvsbn, ark, pixelcnn, rowlstm, diagbilstm; rnade for real pixels), e.g. conditionals={{{var.name!r}: {example}}} "
            "or, in a spec, 'conditionals:' with that mapping")
    if isinstance(var, Gaussian):
        return LinearGaussian()
    if all(p.is_discrete_scalar for p in parents) and Tabular().supports(var, parents) is None:
        return Tabular()
    return Logistic()


def resolve_families(net: BayesNet, conditionals: Optional[Mapping[Any, Any]] = None
                     ) -> Dict[str, Family]:
    """The family of every node: by variable name, else by kind (``"gaussian"``, ``Kind.IMAGE``,
    ``Bernoulli``), else the default.  Raises :class:`PgmArError` naming the variable whose
    family cannot model it."""
    by_name: Dict[str, Family] = {}
    by_kind: Dict[Kind, Family] = {}
    for key, spec in (conditionals or {}).items():
        if isinstance(key, str) and key in net:
            by_name[key] = family_from_spec(spec)
            continue
        kind = _kind_key(key)
        if kind is None:
            raise UnknownVariableError(str(key), net.names, where="conditionals")
        by_kind[kind] = family_from_spec(spec)
    out: Dict[str, Family] = {}
    for var in net.variables:
        fam = by_name.get(var.name) or by_kind.get(var.kind)
        if fam is None:
            fam = default_family(net, var.name)
            if type(fam) is Tabular:  # chosen because it supports the node: no second check
                out[var.name] = fam
                continue
        parents = [net.variable(p) for p in net.parents(var.name)]
        reason = fam.supports(var, parents)
        if reason:
            raise PgmArError(f"variable {var.name!r}: family {fam.name!r} cannot model it: {reason}")
        out[var.name] = fam
    return out
