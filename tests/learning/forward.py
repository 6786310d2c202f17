"""A small numpy ancestral sampler over a network's CPTs (independent of pgm_ar's samplers),
returning rows as :class:`~pgm_ar.learning.DiscreteData` and as a DataFrame of state names."""
from __future__ import annotations

import numpy as np
import pandas as pd

from pgm_ar.learning import DiscreteData


def forward_codes(net, n: int, seed: int) -> DiscreteData:
    rng = np.random.default_rng(seed)
    cols = {}
    for name in net.topological_order():
        cpd = net.cpd(name)
        probs = cpd.probs.reshape(-1, cpd.cardinality)
        cfg = np.zeros(n, dtype=np.int64)
        for p, card in zip(cpd.parents, cpd.parent_cardinalities):
            cfg = cfg * card + cols[p]
        cdf = np.cumsum(probs, axis=1)
        u = rng.random(n)
        cols[name] = np.minimum((u[:, None] > cdf[cfg]).sum(axis=1), cpd.cardinality - 1)
    names = tuple(net.names)
    states = tuple(tuple(str(s) for s in net.variable(v).states) for v in names)
    return DiscreteData(names, states, np.stack([cols[v] for v in names], axis=1))


def to_frame(d: DiscreteData) -> pd.DataFrame:
    return pd.DataFrame({name: np.asarray(d.states[i], dtype=object)[d.codes[:, i]]
                         for i, name in enumerate(d.names)})
