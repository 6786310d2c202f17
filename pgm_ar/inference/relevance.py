"""Which CPTs a posterior needs: Bayes-ball pruning, and when pruning keeps errors honest.

``p(target | evidence)`` depends only on the *requisite* CPTs (Shachter's
Bayes-ball, 1998): a ball sent from the target through the network, passing
or bouncing at each node by the d-separation rules, marks on top exactly the
nodes whose CPT can change the answer.  Barren nodes (no evidence below them)
and ancestors of evidence that the evidence screens off from the target are
left out, often most of a large network.

Pruning by d-separation has one catch: evidence screened off from the target
can still be *impossible*, and the project's rule is that a posterior given
evidence of probability zero is an error.  :func:`surely_possible` settles it
cheaply from the numbers: when every observed state has a positive
probability under every parent configuration, some assignment of the hidden
variables reaches the evidence with positive probability (draw each hidden
variable in topological order from a positive entry of its row), so the
evidence is possible.  Otherwise the query falls back to the ancestral set,
whose elimination total is ``p(evidence)`` itself.

>>> from pgm_ar import BayesNet, Bernoulli
>>> net = BayesNet([Bernoulli(n) for n in "abcd"], [("a", "b"), ("b", "c"), ("a", "d")])
>>> from pgm_ar.inference.structure import network_structure
>>> st = network_structure(net)
>>> [st.names[v] for v in requisite_nodes(st, [2], {1: 0})]  # c given b: only c's CPT
['c']
>>> [st.names[v] for v in requisite_nodes(st, [3], {2: 1})]  # d given c: a, b, c and d
['a', 'b', 'c', 'd']
"""
from __future__ import annotations

from typing import Iterable, List, Mapping

import numpy as np

from .structure import NetStructure

__all__ = ["requisite_nodes", "surely_possible", "state_minima"]


def requisite_nodes(st: NetStructure, targets: Iterable[int],
                    observed: Mapping[int, int]) -> List[int]:
    """The nodes whose CPTs ``p(targets | observed)`` needs, in topological order.

    Bayes-ball from the targets: a node visited from a child passes the ball
    to its parents and children unless observed; a node visited from a parent
    passes it to its children unless observed, and to its parents if
    observed.  The nodes the ball leaves upwards ("marked on top") are the
    requisite ones.
    """
    parents, children = st.parents, st.children
    top = bytearray(len(st.names))
    bottom = bytearray(len(st.names))
    # two stacks, one per direction the ball arrives from (no (node, flag) pair per visit);
    # the marks are a fixpoint, so the order in which visits are handled does not matter
    up = list(targets)  # nodes visited from a child
    down: List[int] = []  # nodes visited from a parent
    while up or down:
        while up:
            j = up.pop()
            if j in observed:
                continue
            if not top[j]:
                top[j] = 1
                up.extend(parents[j])
            if not bottom[j]:
                bottom[j] = 1
                down.extend(children[j])
        while down:
            j = down.pop()
            if j in observed:
                if not top[j]:
                    top[j] = 1
                    up.extend(parents[j])
            elif not bottom[j]:
                bottom[j] = 1
                down.extend(children[j])
    return [v for v in st.topo if top[v]]


def state_minima(table: np.ndarray) -> np.ndarray:
    """Per state of the child, its smallest probability over the CPT's rows."""
    return table.reshape(-1, table.shape[-1]).min(axis=0)


def surely_possible(minima: Mapping[int, np.ndarray], observed: Mapping[int, int]) -> bool:
    """Whether ``observed`` has positive probability whatever the hidden states.

    ``minima[v]`` is :func:`state_minima` of observed node ``v``'s CPT.  True when every
    observed state is positive in every row of its CPT (a sufficient
    condition: see the module docstring); False means "not known", not
    "impossible".
    """
    return all(minima[v][s] > 0.0 for v, s in observed.items())
