"""Complete rows (every variable observed): their log-probability and the CPTs they imply.

With nothing hidden there is nothing to eliminate: a row's log-probability is
a sum of one CPT entry per node, and the maximum-likelihood CPTs are counts.
Both reduce to one flat index per node and row,
``parent_configuration * card + value``, used as a gather (:func:`log_prob`)
or as a ``bincount`` (:func:`fit_counts`).

>>> import torch
>>> from pgm_ar import BayesNet, Bernoulli
>>> net = BayesNet([Bernoulli("a"), Bernoulli("b")], [("a", "b")])
>>> data = {"a": torch.tensor([0, 0, 1, 1]), "b": torch.tensor([0, 1, 1, 1])}
>>> fit_counts(net, data)["b"]
tensor([[0.5000, 0.5000],
        [0.0000, 1.0000]], dtype=torch.float64)
>>> [round(x, 4) for x in log_prob(net, fit_counts(net, data), data).tolist()]
[-1.3863, -1.3863, -0.6931, -0.6931]
"""
from __future__ import annotations

import math
from typing import Dict, Mapping, Sequence

import numpy as np
import torch

from ..errors import PgmArError
from ..network import BayesNet
from .inputs import Tables, checked_data, checked_tables
from .structure import NetStructure, network_structure

__all__ = ["log_prob", "fit_counts", "family_counts"]


def log_prob(net: BayesNet, tables: Tables, data: Mapping[str, object]) -> torch.Tensor:
    """Joint log-probability (nats) of each complete row: ``sum_i log p(x_i | parents)``.

    Differentiable in the tables, so it also serves as a training loss.

    Parameters
    ----------
    net, tables
        A network of discrete scalar variables and its tables
        (``{name: tensor of shape (*parent_cards, card)}``).
    data
        ``{name: 1-D integer array of state indices}`` for every variable.

    Returns
    -------
    torch.Tensor
        Shape ``(N,)``, the tables' dtype and device (``-inf`` for impossible rows).

    Raises
    ------
    DataError
        For a missing, unknown, non-integer or out-of-range column.
    """
    st = network_structure(net)
    tabs = checked_tables(st, tables)
    cols, n = checked_data(st, data, range(len(st.names)))
    device = tabs[0].device if tabs else torch.device("cpu")
    dtype = tabs[0].dtype if tabs else torch.float64
    cols = [c.to(device) for c in cols]
    total = torch.zeros(n, dtype=dtype, device=device)
    for v in range(len(st.names)):
        # one flat gather per node: (parent configuration, state) -> entry of the flat CPT
        row = st.parent_row(v, cols)
        flat = cols[v] if row is None else row * st.cards[v] + cols[v]
        total = total + torch.log(tabs[v].reshape(-1)[flat])
    return total


def fit_counts(net: BayesNet, data: Mapping[str, object],
               pseudocount: float = 0.0) -> Dict[str, torch.Tensor]:
    """Maximum-likelihood CPTs (or add-``pseudocount`` smoothed ones) from complete data.

    One ``bincount`` per node over the flat index ``parent_configuration * card + value``.
    Parent configurations that never occur (with ``pseudocount == 0``) get a
    uniform row, so every returned table is a valid CPT.

    Parameters
    ----------
    net
        A network of discrete scalar variables (its CPTs, if any, are not used).
    data
        ``{name: 1-D integer array of state indices}`` for every variable.
    pseudocount
        Added to every count (a finite number ``>= 0``).

    Returns
    -------
    dict
        ``{name: float64 tensor of shape (*parent_cards, card)}``.

    Raises
    ------
    DataError
        For a missing, unknown, non-integer or out-of-range column.
    """
    st = network_structure(net)
    if pseudocount < 0 or not math.isfinite(pseudocount):
        raise PgmArError(f"pseudocount must be a finite number >= 0, got {pseudocount}")
    cols, n = checked_data(st, data, range(len(st.names)))
    arrays = [c.cpu().numpy() for c in cols]  # numpy's bincount is several times faster here
    out = {}
    for name, table in family_counts(st, arrays).items():
        card = table.shape[-1]
        counts = table.reshape(-1, card) + pseudocount
        totals = counts.sum(1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            probs = np.where(totals > 0, counts / totals, 1.0 / card)
        out[name] = torch.from_numpy(probs.reshape(table.shape))
    return out


def family_counts(st: NetStructure, arrays: Sequence[np.ndarray]) -> Dict[str, np.ndarray]:
    """Counts of every node's (parents, value) configurations in complete integer columns
    (``arrays[v]`` for node ``v``, checked): ``{name: float64 array (*parent_cards, card)}``,
    one ``bincount`` per node over ``parent_configuration * card + value``."""
    out = {}
    for v, name in enumerate(st.names):
        card = st.cards[v]
        row = st.parent_row(v, arrays)
        flat = arrays[v] if row is None else row * card + arrays[v]
        counts = np.bincount(flat, minlength=st.num_rows[v] * card).astype(np.float64)
        out[name] = counts.reshape(tuple(st.cards[p] for p in st.parents[v]) + (card,))
    return out
