"""What the inference functions accept, checked against the network before any work.

Tables map each variable name to a float tensor of shape
``(*parent_cards, card)`` whose parent axes follow ``net.parents(name)`` (the
layout of :class:`~pgm_ar.cpd.TabularCPD`); data map names to 1-D integer
columns of state indices; evidence maps names to a state index or state
name.  Each checker here turns one of them into the integer, index-ordered
form the kernels use, and rejects a wrong one with an error that names the
culprit (variable, column, row, value), so that no user meets a shape error
from deep inside numpy or torch.
"""
from __future__ import annotations

from collections import abc
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from ..errors import DataError, PgmArError, UnknownVariableError
from ..network import BayesNet
from .structure import NetStructure, network_structure

__all__ = ["Tables", "Evidence", "tables_from_net", "table_of", "check_table_shape",
           "checked_tables", "checked_data", "checked_evidence", "check_sample_count"]

Tables = Mapping[str, torch.Tensor]
Evidence = Mapping[str, Union[int, str]]


def tables_from_net(net: BayesNet, dtype: torch.dtype = torch.float64) -> Dict[str, torch.Tensor]:
    """The CPTs of ``net`` as tensors of shape ``(*parent_cards, card)``.

    Parameters
    ----------
    net
        A network of discrete scalar variables, each with a CPT.
    dtype
        Floating dtype of the tensors.

    Returns
    -------
    dict
        ``{name: tensor}`` in the net's declaration order.

    Raises
    ------
    PgmArError
        Naming the first variable without a CPT, or one that is not discrete.

    >>> from pgm_ar import BayesNet, Bernoulli, TabularCPD
    >>> net = BayesNet([Bernoulli("a")], cpds={"a": TabularCPD("a", (), [0.3, 0.7])})
    >>> tables_from_net(net)["a"]
    tensor([0.3000, 0.7000], dtype=torch.float64)
    """
    network_structure(net)  # rejects continuous variables
    out = {}
    for name in net.names:
        cpd = net.cpds.get(name)
        if cpd is None:
            raise PgmArError(f"variable {name!r} has no CPT in network {net.name!r}")
        out[name] = torch.as_tensor(np.array(cpd.probs), dtype=dtype)
    return out


def table_of(st: NetStructure, tables: Tables, v: int):
    """The table of variable index ``v``; a :class:`PgmArError` naming it when there is none."""
    name = st.names[v]
    # a plain dict is the common case: skip the (slow) abstract-class check for it
    t = tables.get(name) if type(tables) is dict or isinstance(tables, abc.Mapping) else None
    if t is None:
        raise PgmArError(f"no table for variable {name!r}")
    return t


def check_table_shape(st: NetStructure, v: int, shape: Tuple[int, ...]) -> None:
    """Reject a table of variable index ``v`` whose shape is not ``(*parent_cards, card)``."""
    expected = tuple(st.cards[p] for p in st.parents[v]) + (st.cards[v],)
    if tuple(shape) != expected:
        raise PgmArError(
            f"table of {st.names[v]!r} has shape {tuple(shape)}; with parents "
            f"{[st.names[p] for p in st.parents[v]]} it must be {expected}")


def checked_tables(st: NetStructure, tables: Tables,
                   nodes: Optional[Sequence[int]] = None) -> List[Optional[torch.Tensor]]:
    """Tables as a list indexed like ``st.names`` (``None`` for nodes not asked for)."""
    out: List[Optional[torch.Tensor]] = [None] * len(st.names)
    for v in (range(len(st.names)) if nodes is None else nodes):
        t = table_of(st, tables, v)
        check_table_shape(st, v, tuple(t.shape))
        out[v] = t
    return out


def checked_data(st: NetStructure, data: Mapping[str, object],
                 nodes: Sequence[int]) -> Tuple[List[Optional[torch.Tensor]], int]:
    """Integer columns for ``nodes`` as 1-D long tensors, checked for range and length.

    Returns the columns indexed like ``st.names`` (``None`` for nodes not
    asked for) and the number of rows.

    Raises
    ------
    DataError
        Naming the column (and row and value) that is unknown, missing, not
        integer, not 1-D, of another length, or out of its state range.
    """
    if not isinstance(data, Mapping):
        raise DataError(f"data must be a mapping from variable name to values, "
                        f"got {type(data).__name__}")
    for key in data:
        if key not in st.index:
            raise DataError("unknown column; it is not a variable of the network", column=key)
    cols: List[Optional[torch.Tensor]] = [None] * len(st.names)
    n = None
    for v in nodes:
        name = st.names[v]
        if name not in data:
            raise DataError("missing column: every variable needs a value", column=name)
        x = _integer_column(name, data[name])
        if n is None:
            n = x.shape[0]
        elif x.shape[0] != n:
            raise DataError(f"has {x.shape[0]} rows but other columns have {n}", column=name)
        if len(x) and (int(x.min()) < 0 or int(x.max()) >= st.cards[v]):
            r = int(torch.nonzero((x < 0) | (x >= st.cards[v]))[0, 0])
            raise DataError(f"state index out of range 0..{st.cards[v] - 1}", column=name, row=r,
                            value=int(x[r]))
        cols[v] = x.long()
    return cols, (n or 0)


def _integer_column(name: str, values: object) -> torch.Tensor:
    """``values`` as a 1-D long tensor; floats must hold whole numbers, booleans count 0/1."""
    try:
        x = torch.as_tensor(values)
    except (TypeError, ValueError, RuntimeError):
        raise DataError("values are not a numeric array", column=name) from None
    if x.dtype == torch.bool:
        x = x.long()
    elif x.dtype.is_floating_point or x.dtype.is_complex:
        bad = torch.nonzero(x != torch.round(x.real if x.is_complex() else x))
        if len(bad):
            r = int(bad[0, 0])
            raise DataError("values must be integer state indices", column=name, row=r,
                            value=x.reshape(-1)[r].item())
        x = x.long()
    x = x.reshape(-1) if x.dim() == 0 else x
    if x.dim() != 1:
        raise DataError(f"expected a 1-D column, got shape {tuple(x.shape)}", column=name)
    return x


def checked_evidence(st: NetStructure, net: BayesNet,
                     evidence: Optional[Evidence]) -> Dict[int, int]:
    """Evidence as ``{variable index: state index}``; states may be given by name.

    Raises
    ------
    PgmArError
        For an unknown variable (:class:`~pgm_ar.errors.UnknownVariableError`)
        or a state the variable does not have.
    """
    out: Dict[int, int] = {}
    for name, value in (evidence or {}).items():
        if name not in st.index:
            raise UnknownVariableError(name, st.names, where="evidence")
        out[st.index[name]] = net.variable(name).state_index(value)
    return out


def check_sample_count(n: object) -> int:
    """``n`` as an int, or a :class:`PgmArError` unless it is an integer ``>= 0``.

    >>> check_sample_count(3)
    3
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise PgmArError(f"the number of samples must be an integer >= 0, got {n!r}")
    return int(n)
