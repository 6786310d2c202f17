"""CPTs estimated from counts: relative frequencies with an optional pseudo-count per cell.

``p(child = k | parents = j) = (N[j, k] + a) / (N_j + a r)``: with ``a = 0`` the maximum-
likelihood estimate (a parent configuration that never occurs gets the uniform row), with
``a > 0`` additive smoothing (``a = 1``: Laplace; ``a = 0.5``: Krichevsky-Trofimov), so that no
state has probability zero on new rows.

>>> import pgm_ar
>>> net = pgm_ar.BayesNet([pgm_ar.Bernoulli("a"), pgm_ar.Bernoulli("b")], [("a", "b")])
>>> fitted = fit_cpts_by_counts(net, {"a": [0, 0, 1, 1], "b": [0, 1, 1, 1]}, pseudo_count=0)
>>> fitted.cpd("b").probs.tolist()
[[0.5, 0.5], [0.0, 1.0]]
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..cpd import TabularCPD
from ..errors import PgmArError
from ..network import BayesNet
from .data import DiscreteData, discrete_data

def few_names(names: list) -> str:
    """Up to five names, then how many more."""
    shown = ", ".join(map(repr, names[:5]))
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


__all__ = ["fit_cpts_by_counts", "smoothed_table"]


def smoothed_table(counts: np.ndarray, pseudo_count: float) -> np.ndarray:
    """Rows of ``counts`` (child's states on the last axis) normalised after adding
    ``pseudo_count`` to every cell; an all-zero row becomes uniform."""
    t = np.asarray(counts, dtype=np.float64) + float(pseudo_count)
    sums = t.sum(axis=-1, keepdims=True)
    r = t.shape[-1]
    return np.divide(t, sums, out=np.full_like(t, 1.0 / r), where=sums > 0)


def fit_cpts_by_counts(net: BayesNet, data: object, pseudo_count: float = 0.0,
                       encoded: Optional[DiscreteData] = None) -> BayesNet:
    """``net`` with every CPT estimated from ``data``'s counts (see the module docstring).

    Parameters
    ----------
    net
        An all-discrete network; its CPTs (if any) are replaced.
    data
        Rows with a column per variable (a DataFrame, a mapping or
        :class:`~pgm_ar.learning.DiscreteData` whose states are the network's).
    pseudo_count
        ``a >= 0`` added to every cell.
    """
    if not pseudo_count >= 0:
        raise PgmArError(f"the pseudo-count must be >= 0, got {pseudo_count}")
    d = encoded if encoded is not None else discrete_data(data, net)
    missing = [v for v in net.names if v not in d.names]
    if missing:
        raise PgmArError(f"the data has no column for {few_names(missing)}; every "
                         "variable needs one to fit its CPT from counts")
    for v in net.names:
        want = tuple(str(s) for s in net.variable(v).states)
        if d.states[d.index(v)] != want:
            raise PgmArError(f"the data's states of {v!r} {list(d.states[d.index(v)])} are not "
                             f"the network's {list(want)}; encode the data with the network")
    cpds = {}
    for v in net.names:
        ps = net.parents(v)
        cpds[v] = TabularCPD(v, ps, smoothed_table(d.counts([*ps, v]), pseudo_count))
    return net.with_cpds(cpds)
