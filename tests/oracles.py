"""Independent reference computations shared by the tests.

Nothing here uses the code under test beyond the network classes that hold
a model: joints are enumerated one assignment at a time, conditionals and
marginals are read off the enumerated joint, sample counts are compared by a
chi-square test, and the shipped networks are read by pgmpy's own BIF reader.
"""
from __future__ import annotations

import functools
import gzip
import itertools
import warnings
from pathlib import Path
from typing import Optional, Sequence, Tuple

import numpy as np
from scipy import stats

from pgm_ar import BayesNet, Categorical, TabularCPD, bernoullis

__all__ = ["random_net", "random_dag", "brute_joint", "brute_conditional", "marginal", "chi_square_p",
           "counts_of", "pgmpy_pair", "line_of", "parent_sets", "assert_same_cpts"]


def random_net(seed: int, n_nodes: int = 6, max_parents: int = 2, max_card: int = 3,
               zeros: bool = False) -> BayesNet:
    """A random DAG over x0..x{n-1} (edges only forward) with Dirichlet CPTs.

    With ``zeros`` about a fifth of the CPT entries are exactly zero (never a
    whole row), so that impossible rows and evidence occur.
    """
    rng = np.random.default_rng(seed)
    cards = [int(rng.integers(2, max_card + 1)) for _ in range(n_nodes)]
    variables = [Categorical(f"x{i}", cards[i]) for i in range(n_nodes)]
    edges, cpds = [], {}
    for i in range(n_nodes):
        k = int(rng.integers(0, min(i, max_parents) + 1))
        parents = sorted(rng.choice(i, size=k, replace=False).tolist()) if k else []
        # shuffle so that the CPT's parent axis order is not always the sorted one
        rng.shuffle(parents)
        names = [f"x{p}" for p in parents]
        edges += [(p, f"x{i}") for p in names]
        shape = tuple(cards[p] for p in parents) + (cards[i],)
        probs = rng.dirichlet(np.ones(cards[i]), size=shape[:-1] or None)
        probs = np.asarray(probs).reshape(shape)
        if zeros:  # some impossible states, but never a whole row
            mask = rng.random(shape) < 0.2
            mask[..., 0] = False
            probs = np.where(mask, 0.0, probs)
            probs = probs / probs.sum(-1, keepdims=True)
        cpds[f"x{i}"] = TabularCPD(f"x{i}", names, probs)
    return BayesNet(variables, edges, cpds, name=f"random{seed}")


def random_dag(n: int, p: float, seed: int) -> BayesNet:
    """A random DAG over the Bernoullis x1..xn: each forward edge ``(x_j, x_i)``, ``j < i``,
    with probability ``p`` (no CPTs)."""
    rng = np.random.default_rng(seed)
    vs = bernoullis(n)
    edges = [(vs[j].name, vs[i].name) for i in range(n) for j in range(i) if rng.random() < p]
    return BayesNet(vs, edges)


def brute_joint(net: BayesNet) -> np.ndarray:
    """The joint table over net.names, one assignment at a time (no shared code with VE)."""
    cards = [v.cardinality for v in net.variables]
    joint = np.zeros(cards)
    index = {n: i for i, n in enumerate(net.names)}
    for x in itertools.product(*(range(c) for c in cards)):
        p = 1.0
        for name in net.names:
            cpd = net.cpd(name)
            key = tuple(x[index[q]] for q in net.parents(name)) + (x[index[name]],)
            p *= cpd.probs[key]
        joint[x] = p
    return joint


def joint_rows(net: BayesNet) -> Tuple[np.ndarray, np.ndarray]:
    """Every joint assignment as a row of state indices (net.names order, the order of
    ``itertools.product``) and its probability, from :func:`brute_joint`."""
    table = brute_joint(net)
    configs = np.array(list(itertools.product(*(range(c) for c in table.shape))), dtype=np.int64)
    return configs, table.reshape(-1)


def joint_by_state_names(net: BayesNet) -> Tuple[list, dict]:
    """``(names, {tuple of state names: probability})``, from :func:`brute_joint`."""
    names = list(net.names)
    states = [net.variable(n).states for n in names]
    configs, probs = joint_rows(net)
    return names, {tuple(s[i] for s, i in zip(states, row)): float(p)
                   for row, p in zip(configs, probs)}


def brute_conditional(net: BayesNet, joint: np.ndarray, evidence: dict) -> np.ndarray:
    """p(x | evidence) over all variables (evidence axes kept, zero elsewhere)."""
    mask = np.ones_like(joint, dtype=bool)
    for name, s in evidence.items():
        ax = net.index(name)
        sel = np.zeros(joint.shape[ax], dtype=bool)
        sel[s] = True
        shape = [1] * joint.ndim
        shape[ax] = -1
        mask &= sel.reshape(shape)
    cond = np.where(mask, joint, 0.0)
    return cond / cond.sum()


def marginal(net: BayesNet, table: np.ndarray, name: str) -> np.ndarray:
    """The marginal of ``name`` from a table over all of ``net.names``."""
    ax = net.index(name)
    return table.sum(axis=tuple(i for i in range(table.ndim) if i != ax))


def chi_square_p(observed: np.ndarray, expected_probs: np.ndarray) -> float:
    """Goodness-of-fit p-value; cells expected below 5 are pooled into one cell."""
    observed = observed.ravel().astype(float)
    expected = expected_probs.ravel() * observed.sum()
    assert observed[expected == 0].sum() == 0, "a sample hit a cell of probability zero"
    small = expected < 5
    obs = np.append(observed[~small], observed[small].sum())
    exp = np.append(expected[~small], expected[small].sum())
    keep = exp > 0
    return float(stats.chisquare(obs[keep], exp[keep]).pvalue)


def counts_of(net: BayesNet, samples: dict, names: Optional[Sequence[str]] = None) -> np.ndarray:
    """Counts of each joint configuration of ``names`` (default: all) in tensor samples."""
    names = list(net.names if names is None else names)
    cards = [net.variable(n).cardinality for n in names]
    flat = np.zeros(len(samples[names[0]]), dtype=np.int64)
    for n, c in zip(names, cards):
        flat = flat * c + samples[n].numpy()
    return np.bincount(flat, minlength=int(np.prod(cards))).reshape(cards)


@functools.lru_cache(maxsize=None)
def pgmpy_pair(path: Path) -> Tuple[BayesNet, object]:
    """Our net (built from pgmpy's reader, independent of pgm_ar's BIF code) and pgmpy's model."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgmpy.readwrite import BIFReader

        with gzip.open(path, "rt") as fh:
            model = BIFReader(string=fh.read()).get_model()
    variables, edges, cpds = [], [], {}
    for name in model.nodes():
        cpd = model.get_cpds(name)
        parents = list(cpd.variables[1:])
        variables.append(Categorical(name, cpd.state_names[name]))
        edges += [(p, name) for p in parents]
        cards = [len(cpd.state_names[p]) for p in parents]
        cpds[name] = TabularCPD.from_child_major(name, parents, cpd.get_values(), cards)
    return BayesNet(variables, edges, cpds, name=path.name), model


def line_of(text: str, marker: str, nth: int = 1) -> int:
    """1-based number of the ``nth`` line of ``text`` containing ``marker`` (where a file
    reader's error should point)."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if marker in line]
    assert len(hits) >= nth, f"marker {marker!r} not found {nth} time(s)"
    return hits[nth - 1]


def parent_sets(net: BayesNet) -> dict:
    """``{name: set of parents}``: the graph, whatever the parents' order."""
    return {n: set(net.parents(n)) for n in net.names}


def assert_same_cpts(a: BayesNet, b: BayesNet, atol: float = 1e-15) -> None:
    """Both nets have CPTs for the same variables, with the same parent order and cells."""
    assert sorted(a.cpds) == sorted(b.cpds)
    for name in a.cpds:
        ca, cb = a.cpd(name), b.cpd(name)
        assert ca.parents == cb.parents == a.parents(name)
        np.testing.assert_allclose(ca.probs, cb.probs, rtol=0, atol=atol, err_msg=name)


def broadcast_product(arrays, subs, out, n_labels):
    """A product of factors (einsum-style ``subs`` -> ``out``) by explicit broadcasting over all labels, then summing the others."""
    acc = np.ones((1,) * n_labels)
    for a, s in zip(arrays, subs):
        acc = acc * np.expand_dims(np.transpose(a, np.argsort(s)),
                                   tuple(i for i in range(n_labels) if i not in s))
    summed = acc.sum(axis=tuple(i for i in range(n_labels) if i not in out), keepdims=True)
    kept = sorted(out)
    return np.transpose(summed.reshape([acc.shape[i] for i in kept]),
                        [kept.index(o) for o in out])
