"""Elimination plans: which CPTs enter a query, in what order variables go, which einsums run.

The graph work of variable elimination depends only on the network and on
*which* variables are targets and evidence, never on the tables' numbers or
the observed states.  So it is done once per such key and cached with the
network's :class:`~pgm_ar.inference.structure.NetStructure`:

1. prune: only the targets, the evidence and their ancestors matter (other
   nodes are barren and sum to one), except for the most probable
   explanation, where every node is maximised;
2. order: a greedy min-fill elimination order over the interaction graph
   (:func:`greedy_order`); sums come before maxima in a marginal MAP;
3. simulate: :func:`make_plan` walks the order once and records every step's
   operands as einsum sublists, so that running the plan
   (:mod:`pgm_ar.inference.elimination`) is a loop of einsums with no graph
   work; it also refuses a factor larger than :data:`MAX_FACTOR_SIZE`.

>>> adj = interaction_graph([(0, 1), (1, 2), (2, 3)])  # a chain
>>> greedy_order(adj, [1, 2], cards=[2, 2, 2, 2])
[1, 2]
>>> sorted(adj)  # the graph left: 0 - 3
[0, 3]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, FrozenSet, List, Sequence, Tuple

from ..errors import InferenceTooLargeError
from .structure import NetStructure

__all__ = ["SUM", "MAX", "MAX_FACTOR_SIZE", "Step", "Plan", "interaction_graph", "greedy_order",
           "make_plan", "cached_plan", "marginal_plan", "evidence_plan", "map_plan"]

#: the largest intermediate factor (entries) variable elimination may build; read when a plan
#: is built, so set ``pgm_ar.inference.plan.MAX_FACTOR_SIZE`` to change it
MAX_FACTOR_SIZE = 2 ** 26
#: a plan caches at most this many plans per network (bounds memory on long-running services)
_MAX_CACHED_PLANS = 4096

#: the two elimination operations: sum a variable out, or maximise it out
SUM, MAX = 0, 1


@dataclass
class Step:
    """Multiply the factors ``inputs`` (pool ids) and sum or maximise ``var`` out of them."""

    var: int
    op: int
    inputs: Tuple[int, ...]
    subs: Tuple[Tuple[int, ...], ...]  # einsum sublists of the inputs (local labels)
    out_sub: Tuple[int, ...]           # labels of the result's axes
    var_sub: int                       # label of ``var``
    scope: Tuple[int, ...]             # variables of the result, in axis order


@dataclass
class Plan:
    """A precomputed variable elimination: the factors that enter and every step over them.

    The factor pool starts with one factor per node of ``nodes`` (pool ids
    ``0 .. len(nodes)-1``); each step appends its result.
    """

    nodes: Tuple[int, ...]                 # nodes whose CPTs enter, topological order
    axes: Tuple[Tuple[int, ...], ...]      # per node: the variables of its table's axes
    steps: Tuple[Step, ...]
    final_inputs: Tuple[int, ...]          # pool ids left after the last step
    final_subs: Tuple[Tuple[int, ...], ...]
    keep: Tuple[int, ...]                  # variables of the answer, in the order asked for
    width: int                             # entries of the largest factor built


# --------------------------------------------------------------------------- #
# ordering
# --------------------------------------------------------------------------- #
def interaction_graph(scopes: Sequence[Tuple[int, ...]]) -> Dict[int, set]:
    """Adjacency sets of the graph linking every two variables that share a factor."""
    adj: Dict[int, set] = {}
    for sc in scopes:
        for a in sc:
            adj.setdefault(a, set()).update(sc)
    for a, nb in adj.items():
        nb.discard(a)
    return adj


def greedy_order(adj: Dict[int, set], eliminate: Sequence[int],
                 cards: Sequence[int]) -> List[int]:
    """Greedy min-fill elimination order (ties: smallest clique weight, then index).

    ``adj`` is updated in place to the graph left after the elimination, so a
    second call can continue from it.  Scores are recomputed only for the
    nodes whose neighbourhood changed.
    """
    remaining = set(eliminate)

    def score(v: int) -> Tuple[int, int, int]:
        nb = list(adj[v])
        fill = 0
        for i, a in enumerate(nb):
            na = adj[a]
            for b in nb[i + 1:]:
                if b not in na:
                    fill += 1
        w = cards[v]
        for a in nb:
            w *= cards[a]
        return (fill, w, v)

    scores = {v: score(v) for v in remaining}
    order: List[int] = []
    while remaining:
        v = min(remaining, key=scores.__getitem__)
        remaining.discard(v)
        order.append(v)
        nb = adj.pop(v)
        touched = set(nb)
        for a in nb:  # connect v's neighbours (the fill-in) and drop v
            na = adj[a]
            na.discard(v)
            na |= nb
            na.discard(a)
            touched |= na
        for a in touched:
            if a in remaining:
                scores[a] = score(a)
    return order


# --------------------------------------------------------------------------- #
# simulating an elimination
# --------------------------------------------------------------------------- #
def make_plan(st: NetStructure, nodes: Sequence[int], evidence_vars,
              order: Sequence[Tuple[int, int]], keep: Sequence[int]) -> Plan:
    """Simulate eliminating ``order`` ((variable, op) pairs) to fix every einsum's operands.

    ``evidence_vars`` lose their axes (the tables are reduced by the evidence
    before the plan runs); ``keep`` are the variables of the final factor.

    Raises
    ------
    InferenceTooLargeError
        When a step would build a factor of more than :data:`MAX_FACTOR_SIZE` entries.
    """
    axes = tuple(st.parents[v] + (v,) for v in nodes)
    live: Dict[int, Tuple[int, ...]] = {
        i: tuple(a for a in ax if a not in evidence_vars) for i, ax in enumerate(axes)}
    width = max((st.size(sc) for sc in live.values()), default=1)
    steps = []
    for var, op in order:
        step = _step(st, live, var, op)
        width = max(width, st.size(step.scope) * st.cards[var])
        for i in step.inputs:
            del live[i]
        live[len(axes) + len(steps)] = step.scope  # the step's result joins the pool
        steps.append(step)
    keep_t = tuple(keep)
    local = {a: k for k, a in enumerate(keep_t)}
    final_inputs = tuple(live)
    final_subs = tuple(tuple(local[a] for a in live[i]) for i in final_inputs)
    return Plan(tuple(nodes), axes, tuple(steps), final_inputs, final_subs, keep_t, width)


def _step(st: NetStructure, live: Dict[int, Tuple[int, ...]], var: int, op: int) -> Step:
    """The step eliminating ``var`` from the live factors (pool id -> scope) that mention it."""
    ins = tuple(i for i, sc in live.items() if var in sc)
    local: Dict[int, int] = {}  # variable -> einsum label, in order of first appearance
    for i in ins:
        for a in live[i]:
            if a not in local:
                local[a] = len(local)
    size = st.size(local)
    if size > MAX_FACTOR_SIZE:
        raise InferenceTooLargeError(
            f"exact inference would build a factor of {size} entries while eliminating "
            f"{st.names[var]!r} (limit {MAX_FACTOR_SIZE}): the network is too densely "
            "connected for variable elimination; use likelihood_weighting instead")
    scope = tuple(a for a in local if a != var)
    subs = tuple(tuple(local[a] for a in live[i]) for i in ins)
    return Step(var, op, ins, subs, tuple(local[a] for a in scope), local[var], scope)


# --------------------------------------------------------------------------- #
# the plans of each kind of query, cached per network
# --------------------------------------------------------------------------- #
def cached_plan(st: NetStructure, key: tuple, build: Callable[[], Plan]) -> Plan:
    """The plan cached under ``key`` in ``st.plans``, built by ``build()`` on a miss."""
    plan = st.plans.get(key)
    if plan is None:
        plan = build()
        if len(st.plans) > _MAX_CACHED_PLANS:
            st.plans.clear()
        st.plans[key] = plan
    return plan


def _graph_without_evidence(st: NetStructure, nodes: Sequence[int],
                            ev: FrozenSet[int]) -> Dict[int, set]:
    """Interaction graph of the nodes' CPTs once the evidence axes are gone."""
    return interaction_graph([tuple(a for a in st.parents[v] + (v,) if a not in ev)
                              for v in nodes])


def marginal_plan(st: NetStructure, target: int, ev: FrozenSet[int]) -> Plan:
    """The plan of ``p(target, evidence)`` over the target's axis (cached)."""

    def build() -> Plan:
        nodes = st.closure([target, *ev])
        adj = _graph_without_evidence(st, nodes, ev)
        elim = [v for v in nodes if v != target and v not in ev]
        order = greedy_order(adj, elim, st.cards)
        return make_plan(st, nodes, ev, [(v, SUM) for v in order], (target,))

    return cached_plan(st, ("query", target, ev), build)


def evidence_plan(st: NetStructure, ev: FrozenSet[int]) -> Plan:
    """The plan that sums out every ancestor of the evidence, leaving ``p(evidence)`` (cached).

    Shared by ``log_evidence`` and ``posterior_sample``.
    """

    def build() -> Plan:
        nodes = st.closure(ev)
        adj = _graph_without_evidence(st, nodes, ev)
        order = greedy_order(adj, [v for v in nodes if v not in ev], st.cards)
        return make_plan(st, nodes, ev, [(v, SUM) for v in order], ())

    return cached_plan(st, ("evidence", ev), build)


def map_plan(st: NetStructure, targets, ev: FrozenSet[int]) -> Plan:
    """The max-product plan of the MPE (``targets is None``) or of a marginal MAP (cached).

    For a marginal MAP the non-target variables are all summed out before any
    target is maximised (the sums and maxima do not commute).
    """
    key = ("mpe", ev) if targets is None else ("map", frozenset(targets), ev)

    def build() -> Plan:
        if targets is None:
            nodes = list(st.topo)  # barren nodes are not constant under max: keep them all
            max_vars = [v for v in nodes if v not in ev]
            sum_vars: List[int] = []
        else:
            nodes = st.closure(set(targets) | set(ev))
            max_vars = [v for v in nodes if v in targets and v not in ev]
            sum_vars = [v for v in nodes if v not in targets and v not in ev]
        adj = _graph_without_evidence(st, nodes, ev)
        order = [(v, SUM) for v in greedy_order(adj, sum_vars, st.cards)]
        order += [(v, MAX) for v in greedy_order(adj, max_vars, st.cards)]
        return make_plan(st, nodes, ev, order, ())

    return cached_plan(st, key, build)
