"""Elimination plans: which CPTs enter a query, in what order variables go, which einsums run.

The graph work of variable elimination depends only on the network and on
*which* variables are targets and evidence, never on the tables' numbers or
the observed states.  So it is done once per such key and cached with the
network's :class:`~pgm_ar.inference.structure.NetStructure`:

1. prune: only the targets, the evidence and their ancestors matter (other
   nodes are barren and sum to one), except for the most probable
   explanation, where every node is maximised;
2. order: a greedy weighted min-fill elimination order over the interaction graph
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

import heapq
from dataclasses import dataclass, field
from typing import Callable, Dict, FrozenSet, List, Optional, Sequence, Tuple

from ..errors import InferenceTooLargeError
from ..limits import get_limits
from .relevance import requisite_nodes
from .structure import NetStructure

__all__ = ["SUM", "MAX", "MAX_FACTOR_SIZE", "Step", "Plan", "interaction_graph", "format_bytes", "clique_refusal",
           "greedy_order", "scope_order", "make_plan", "cached_plan", "factor_limit",
           "order_cliques", "too_large", "marginal_plan", "evidence_plan", "map_plan", "sum_plan",
           "network_rank", "NETWORK_ORDER_BUDGET", "NETWORK_ORDER_NODES", "RESTRICT_MIN",
           "SMALL_GRAPH", "WIDE_NETWORK"]

#: the largest intermediate factor (entries) variable elimination may build, at most; read
#: when a plan is built together with the ``max_factor_cells`` budget of :mod:`pgm_ar.limits`
#: (the smaller wins, see :func:`factor_limit`), so raise that one with ``pgm_ar.set_limits``
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
    size: int = 0                      # entries of the clique the step loops over


@dataclass
class Plan:
    """A precomputed variable elimination: the factors that enter and every step over them.

    The factor pool starts with one factor per node of ``nodes`` (pool ids
    ``0 .. len(nodes)-1``); each step appends its result.
    """

    nodes: Tuple[int, ...]                 # nodes whose CPTs enter, topological order
    axes: Tuple[Tuple[int, ...], ...]      # per node (then per extra factor): its variables
    steps: Tuple[Step, ...]
    final_inputs: Tuple[int, ...]          # pool ids left after the last step
    final_subs: Tuple[Tuple[int, ...], ...]
    keep: Tuple[int, ...]                  # variables of the answer, in the order asked for
    width: int                             # entries of the largest factor built
    cost: int = 0                          # entries of all the steps' cliques together
    #: what running the plan derives from it once and keeps (see
    #: :func:`pgm_ar.inference.elimination.plan_factors`)
    runtime: dict = field(default_factory=dict, repr=False, compare=False)


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
    """Greedy weighted min-fill elimination order (ties: smallest clique weight, then index).

    A fill-in edge ``a - b`` weighs ``card(a) * card(b)``, the size of the
    table it ties together: on networks mixing binary and many-state variables
    this keeps the largest clique far smaller than counting edges does (on
    LINK, 16 times smaller for the worst of 20 random queries).

    ``adj`` is updated in place to the graph left after the elimination, so a
    second call can continue from it.  Scores are recomputed only for the
    nodes whose neighbourhood changed.  Neighbourhoods are held as integer
    bitsets while ordering: a node's fill-in is then one ``AND NOT`` and a bit
    count per neighbour instead of a set lookup per pair of neighbours, which
    is what makes planning a query on a network of hundreds of nodes cheap.
    """
    nodes = list(adj)
    bit = {v: k for k, v in enumerate(nodes)}
    # each neighbourhood twice: a set to iterate over, a bitset to count with
    nsets = [{bit[a] for a in adj[v]} for v in nodes]
    order = _greedy(nodes, nsets, cards, {bit[v] for v in eliminate})
    for v in order:
        del adj[v]
    for v in adj:
        adj[v] = {nodes[a] for a in nsets[bit[v]]}
    return order


def scope_order(scopes: Sequence[Tuple[int, ...]], eliminate: Sequence[int],
                cards: Sequence[int], budget: Optional[int] = None,
                widths: Optional[List[int]] = None) -> Optional[List[int]]:
    """:func:`greedy_order` of ``eliminate`` over ``interaction_graph(scopes)``, built directly.

    The same order (ties are broken by variable index, not by position), without the
    dictionary of sets of :func:`interaction_graph` and its translation to positions: a
    query's planning builds its graph once and never reads it again.

    With ``budget``, ``None`` is returned instead once scoring has visited more than that
    many neighbours (a deterministic bound on the time spent).  ``widths``, a list, gets
    the entries of each clique the order forms, in order.

    >>> scope_order([(0, 1), (1, 2), (2, 3)], [1, 2], cards=[2, 2, 2, 2])
    [1, 2]
    """
    pos: Dict[int, int] = {}
    nsets: List[set] = []
    nbits: List[int] = []
    # the neighbourhoods as sets and as bitsets together, one pass over the scopes
    for sc in scopes:
        ks = []
        m = 0
        for a in sc:
            k = pos.get(a)
            if k is None:
                k = pos[a] = len(nsets)
                nsets.append(set())
                nbits.append(0)
            ks.append(k)
            m |= 1 << k
        for k in ks:
            nsets[k].update(ks)
            nbits[k] |= m
    for k, ns in enumerate(nsets):
        ns.discard(k)
        nbits[k] &= ~(1 << k)
    return _greedy(list(pos), nsets, cards, {pos[v] for v in eliminate}, budget, widths,
                   nbits)


def _greedy(nodes: List[int], nsets: List[set], cards: Sequence[int],
            remaining: set, budget: Optional[int] = None,
            widths: Optional[List[int]] = None,
            nbits: Optional[List[int]] = None) -> Optional[List[int]]:
    """The greedy loop of :func:`greedy_order` on positions: ``nodes[k]`` is the variable at
    position ``k``, ``nsets[k]`` its neighbours' positions (updated in place to the graph
    left), ``nbits[k]`` the same as a bitset when the caller has it (consumed),
    ``remaining`` the positions to eliminate (consumed); ``None`` past ``budget``
    neighbours scored (see :func:`scope_order`)."""
    if nbits is None:
        nbits = [sum(1 << a for a in ns) for ns in nsets]
    kcards = [cards[v] for v in nodes]
    # nodes by cardinality, as bitsets: the weight of a set of nodes is then a few bit counts
    by_card: Dict[int, int] = {}
    for k, c in enumerate(kcards):
        by_card[c] = by_card.get(c, 0) | (1 << k)
    card_masks = list(by_card.items())

    # closed neighbourhoods (a node's own bit too): the missing edges at a neighbour ``a`` of
    # ``k`` are then one AND NOT, ``nbits[k] & ~closed[a]``
    closed = [b | (1 << k) for k, b in enumerate(nbits)]

    # the score, unrolled for one or two cardinalities (most networks); the same numbers as
    # the general loop: fill = sum over neighbours a of card(a) * weight(missing at a)
    if len(card_masks) == 1:
        (c1, _), = card_masks
        c11 = c1 * c1

        def score(k: int) -> Tuple[int, int, int]:
            nb = nbits[k]
            cnt = 0
            for a in nsets[k]:
                cnt += (nb & ~closed[a]).bit_count()
            return (c11 * cnt, c1 ** (len(nsets[k]) + 1), nodes[k])
    elif len(card_masks) == 2:
        (c1, m1), (c2, m2) = card_masks

        def score(k: int) -> Tuple[int, int, int]:
            nb = nbits[k]
            fill = 0  # twice the weight of the missing edges among k's neighbours
            for a in nsets[k]:
                missing = nb & ~closed[a]
                if missing:
                    fill += kcards[a] * (c1 * (missing & m1).bit_count()
                                         + c2 * (missing & m2).bit_count())
            w = kcards[k] * c1 ** (nb & m1).bit_count() * c2 ** (nb & m2).bit_count()
            return (fill, w, nodes[k])
    elif len(card_masks) == 3:
        (c1, m1), (c2, m2), (c3, m3) = card_masks

        def score(k: int) -> Tuple[int, int, int]:
            nb = nbits[k]
            fill = 0  # twice the weight of the missing edges among k's neighbours
            for a in nsets[k]:
                missing = nb & ~closed[a]
                if missing:
                    fill += kcards[a] * (c1 * (missing & m1).bit_count()
                                         + c2 * (missing & m2).bit_count()
                                         + c3 * (missing & m3).bit_count())
            w = kcards[k] * c1 ** (nb & m1).bit_count() * c2 ** (nb & m2).bit_count() \
                * c3 ** (nb & m3).bit_count()
            return (fill, w, nodes[k])
    else:
        card_of_bit = {1 << k: c for k, c in enumerate(kcards)}
        n_masks = len(card_masks)

        def weight(s: int) -> int:
            # one bit count per cardinality, or one lookup per set bit when fewer
            if s.bit_count() > n_masks:
                return sum(c * (s & m).bit_count() for c, m in card_masks)
            w = 0
            while s:
                low = s & -s
                w += card_of_bit[low]
                s ^= low
            return w

        def score(k: int) -> Tuple[int, int, int]:
            nb = nbits[k]
            fill = 0  # twice the weight of the missing edges among k's neighbours
            w = kcards[k]
            for a in nsets[k]:
                missing = nb & ~closed[a]
                if missing:
                    fill += kcards[a] * weight(missing)
                w *= kcards[a]
            return (fill, w, nodes[k])

    # a heap of scores with lazy deletion: a popped entry counts only if it is still current
    scores = {k: score(k) for k in remaining}
    heap = [(sc, k) for k, sc in scores.items()]
    heapq.heapify(heap)
    order: List[int] = []
    # the budget counts neighbours scored, a bit count per cardinality each past two
    unit = 1 if len(card_masks) <= 2 else len(card_masks)
    work = 0
    if budget is not None:
        work = unit * sum(len(nsets[k]) for k in remaining)
        if work > budget:
            return None
    while remaining:
        sc, k = heapq.heappop(heap)
        if k not in remaining or scores[k] != sc:
            continue
        remaining.discard(k)
        order.append(nodes[k])
        if widths is not None:
            widths.append(sc[1])  # every score's second part is the clique's entries
        nb, ns = nbits[k], nsets[k]
        nbits[k], nsets[k] = 0, set()
        kbit = 1 << k
        # k's neighbours lose k and gain the fill-in; another node's fill changes only if
        # it sees both ends of an added edge
        touched = set(ns)
        for a in ns:  # connect k's neighbours (the fill-in) and drop k
            abit = 1 << a
            added = nb & ~nbits[a] & ~abit
            if added:
                for c in nsets[a]:
                    if c != k and c not in touched and c in remaining and nbits[c] & added:
                        touched.add(c)
            na = nsets[a]
            na |= ns
            na.discard(a)
            na.discard(k)
            nbits[a] = (nbits[a] | nb) & ~abit & ~kbit
            closed[a] = nbits[a] | abit
        if budget is not None:
            work += unit * sum(len(nsets[a]) for a in touched)
            if work > budget:
                return None
        for a in touched:
            if a in remaining:
                new = score(a)
                if new != scores[a]:
                    scores[a] = new
                    heapq.heappush(heap, (new, a))
    return order


# --------------------------------------------------------------------------- #
# simulating an elimination
# --------------------------------------------------------------------------- #
def make_plan(st: NetStructure, nodes: Sequence[int], evidence_vars,
              order: Sequence[Tuple[int, int]], keep: Sequence[int],
              extra: Sequence[Tuple[int, ...]] = (),
              scopes: Optional[Sequence[Tuple[int, ...]]] = None) -> Plan:
    """Simulate eliminating ``order`` ((variable, op) pairs) to fix every einsum's operands.

    ``evidence_vars`` lose their axes (the tables are reduced by the evidence
    before the plan runs); ``keep`` are the variables of the final factor.
    ``extra`` are the scopes of further factors that follow the CPTs in the
    pool (likelihood vectors of soft evidence); ``plan.axes`` lists them too.
    ``scopes``, when the caller has them, are the nodes' axes without the evidence (they
    are computed otherwise).

    Raises
    ------
    InferenceTooLargeError
        When a step would build a factor of more than :data:`MAX_FACTOR_SIZE`
        entries; raised here, while planning, so before any factor exists.
    """
    fams = st.families
    axes = tuple([fams[v] for v in nodes]) + tuple(tuple(e) for e in extra)
    if scopes is not None and not extra:
        live: Dict[int, Tuple[int, ...]] = dict(enumerate(scopes))
    else:
        live = {i: tuple(a for a in ax if a not in evidence_vars) for i, ax in enumerate(axes)}
    # variable -> pool ids of the factors that mention it, increasing; ids of factors consumed
    # since stay (they are skipped when read, no longer in ``live``): pool ids are appended in
    # increasing order, so a step's inputs come out sorted without a sort or a removal
    holders: Dict[int, List[int]] = {}
    for i, sc in live.items():
        for a in sc:
            h = holders.get(a)
            if h is None:
                holders[a] = [i]
            else:
                h.append(i)
    width = max((st.size(sc) for sc in live.values()), default=1)
    initial = list(live.values())
    limit = factor_limit()
    steps = []
    cost = 0
    cards = st.cards
    new = len(axes)
    empty: List[int] = []
    # one pass per variable of every plan: labels, sublists and bookkeeping together
    for var, op in order:
        ins = tuple([i for i in holders.pop(var, empty) if i in live])
        local: Dict[int, int] = {}  # variable -> einsum label, in order of first appearance
        subs = []
        size = 1
        for i in ins:
            sub = []
            for a in live.pop(i):
                k = local.get(a)
                if k is None:
                    k = local[a] = len(local)
                    size *= cards[a]
                sub.append(k)
            subs.append(tuple(sub))
        if size > limit:
            raise too_large(st, initial, order)
        cost += size
        if size > width:
            width = size
        var_sub = local.pop(var, None)
        if var_sub is None:  # a variable no factor holds any more: a step over nothing
            var_sub = len(local)
        scope = tuple(local)
        live[new] = scope  # the step's result joins the pool
        for a in scope:
            holders[a].append(new)
        steps.append(Step(var, op, ins, tuple(subs), tuple(local.values()), var_sub, scope,
                          size))
        new += 1
    keep_t = tuple(keep)
    local = {a: k for k, a in enumerate(keep_t)}
    final_inputs = tuple(sorted(live))
    final_subs = tuple(tuple(local[a] for a in live[i]) for i in final_inputs)
    return Plan(tuple(nodes), axes, tuple(steps), final_inputs, final_subs, keep_t, width, cost)


# --------------------------------------------------------------------------- #
# the refusal
# --------------------------------------------------------------------------- #
def factor_limit() -> int:
    """The most entries one factor may have: :data:`MAX_FACTOR_SIZE` or the
    ``max_factor_cells`` budget of :mod:`pgm_ar.limits`, whichever is smaller."""
    return min(MAX_FACTOR_SIZE, get_limits().max_factor_cells)


def order_cliques(scopes: Sequence[Tuple[int, ...]],
                  order: Sequence[Tuple[int, int]]) -> List[Tuple[int, ...]]:
    """The clique each elimination of ``order`` forms (the variable and its neighbours among
    the factors left), starting from factors over ``scopes``; nothing is allocated."""
    live = {i: set(sc) for i, sc in enumerate(scopes)}
    holders: Dict[int, set] = {}
    for i, sc in live.items():
        for a in sc:
            holders.setdefault(a, set()).add(i)
    cliques = []
    for k, (var, _) in enumerate(order):
        ins = holders.pop(var, set())
        clique = set().union(*(live[i] for i in ins)) | {var}
        cliques.append(tuple(sorted(clique)))
        for i in ins:
            for a in live.pop(i):
                if a != var:
                    holders[a].discard(i)
        new = len(scopes) + k
        live[new] = clique - {var}
        for a in live[new]:
            holders.setdefault(a, set()).add(new)
    return cliques


def too_large(st: NetStructure, scopes: Sequence[Tuple[int, ...]],
              order: Sequence[Tuple[int, int]]) -> InferenceTooLargeError:
    """The one refusal of exact inference: the largest clique of the elimination ``order``
    (its variables, entries and bytes), the order's width and the approximate methods to use.

    Built while planning, before any factor is allocated.
    """
    cliques = order_cliques(scopes, order)
    big = max(cliques, key=st.size)
    width = max(len(c) for c in cliques) - 1
    err = clique_refusal(st, big, "exact inference would build",
                         f"the elimination order's width (treewidth of the order) is {width}")
    # the numbers, for callers and tests: the order, the largest clique, its entries, the width
    err.order, err.width = list(order), width
    return err


def clique_refusal(st: NetStructure, clique: Tuple[int, ...], builds: str,
                   width_text: str) -> InferenceTooLargeError:
    """The refusal's message for a ``clique`` over the memory budget: its variables, entries
    and bytes, ``width_text`` and the approximate methods to use; ``builds`` says what would
    hold the clique (``"exact inference would build"``).  Sets ``err.clique`` and
    ``err.entries``."""
    entries = st.size(clique)
    names = ", ".join(st.names[v] for v in clique[:8]) + (", ..." if len(clique) > 8 else "")
    err = InferenceTooLargeError(
        f"{builds} a clique of {len(clique)} variables ({names}) with "
        f"{entries:,} entries ({format_bytes(8 * entries)} as float64), over the limit of "
        f"{factor_limit():,} entries; {width_text}: the network is too densely connected for "
        'exact inference. Use an approximate method: model.query(..., '
        'method="likelihood_weighting"), method="gibbs" or method="loopy_bp"; or raise the '
        "limit with pgm_ar.set_limits(max_factor_cells=...)")
    err.clique, err.entries = clique, entries
    return err


def format_bytes(n: int) -> str:
    """``n`` bytes as a short human-readable size, e.g. ``"1.5 GB"``."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


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
    return interaction_graph(st.scopes(nodes, ev))


def marginal_plan(st: NetStructure, target: int, ev: FrozenSet[int],
                  pruned: bool = False, joint: bool = False) -> Plan:
    """The plan of ``p(target, evidence)`` over the target's axis (cached).

    By default its CPTs are the target's and the evidence's ancestors', so
    that the final factor's total is ``p(evidence)``.  With ``pruned`` only
    the requisite CPTs enter (:func:`~pgm_ar.inference.relevance.requisite_nodes`):
    the final factor is then only *proportional* to ``p(target | evidence)``,
    for a caller that knows the evidence is possible.  With ``joint`` a query whose
    factors' joint is small (:data:`JOINT_CELLS`) gets a plan of no steps, one einsum over
    every factor, for a caller that runs plans with
    :func:`~pgm_ar.inference.elimination.run_plan`.
    """

    def build() -> Plan:
        if pruned:
            nodes = requisite_nodes(st, [target], dict.fromkeys(ev, 0))
        else:
            nodes = st.closure([target, *ev])
        scopes = st.scopes(nodes, ev)
        if joint:
            plan = _joint_plan(st, nodes, scopes, target)
            if plan is not None:
                return plan
        elim = [v for v in nodes if v != target and v not in ev]
        return sum_plan(st, nodes, ev, elim, (target,), scopes)

    return cached_plan(st, ("query", target, ev, pruned, joint), build)


#: ordering a whole network may visit at most this many neighbours (see :func:`scope_order`'s
#: ``budget``; about 5 ms): past it (MUNIN, LINK, PATHFINDER's 63-state hub), each query
#: orders its own variables only
NETWORK_ORDER_BUDGET = 20_000
#: ... and have at most this many nodes
NETWORK_ORDER_NODES = 300
#: queries eliminating fewer variables than this order them themselves: cheap enough that
#: ordering the whole network would not pay for itself (PIGS' queries, ~9 variables)
RESTRICT_MIN = 32
#: a restricted order is kept when its steps loop over at most this many clique entries per
#: variable eliminated (plus :data:`_CHEAP_CELLS`): running them costs less than ordering
_CELLS_PER_VARIABLE = 1 << 12
_CHEAP_CELLS = 1 << 16


def network_rank(st: NetStructure) -> Optional[Dict[int, int]]:
    """Each variable's position in a greedy weighted min-fill order of the whole network
    (cached on ``st``), or ``None`` when that order is over :data:`NETWORK_ORDER_BUDGET`
    or the network has more than :data:`NETWORK_ORDER_NODES` nodes."""
    if st.rank is None and len(st.names) > NETWORK_ORDER_NODES:
        st.rank = {}  # not even tried: LINK, MUNIN, DIABETES spend the budget and fail
    if st.rank is None:
        scopes = [st.parents[v] + (v,) for v in range(len(st.names))]
        widths: List[int] = []
        order = scope_order(scopes, range(len(st.names)), st.cards,
                            budget=NETWORK_ORDER_BUDGET, widths=widths)
        st.rank = {} if order is None else {v: k for k, v in enumerate(order)}
        st.rank_width = max(widths, default=1)
    return st.rank or None


#: a network whose interaction graph has at most this sum of squared degrees (ALARM: 612,
#: WIN95PTS: 4,230) is ordered once for all its queries, however few variables they eliminate
SMALL_GRAPH = 5_000


#: a network whose whole-network order builds a clique of more than this many entries
WIDE_NETWORK = 1 << 20


def _small_graph(st: NetStructure) -> bool:
    """Whether ordering all of ``st``'s network is cheap (:data:`SMALL_GRAPH`), cached."""
    flag = st.small_graph
    if flag is None:
        nbits = [0] * len(st.names)
        for v in range(len(st.names)):
            sc = st.parents[v] + (v,)
            m = 0
            for a in sc:
                m |= 1 << a
            for a in sc:
                nbits[a] |= m
        flag = sum((b.bit_count() - 1) ** 2 for b in nbits) <= SMALL_GRAPH
        st.small_graph = flag
    return flag


def sum_plan(st: NetStructure, nodes: Sequence[int], ev: FrozenSet[int],
             elim: Sequence[int], keep: Sequence[int],
             scopes: Sequence[Tuple[int, ...]]) -> Plan:
    """The plan summing ``elim`` out of the CPTs of ``nodes`` (axes ``scopes``, evidence gone).

    Ordering the variables by greedy weighted min-fill (:func:`scope_order`) is most of
    the cost of planning a query.  Eliminating a subgraph in the order of a whole-network
    order restricted to it builds no clique larger than that order does on the whole
    network, and costs one sort; so on networks small enough to order once
    (:func:`network_rank`) the restricted order is tried first, and kept when its steps
    are cheap to run (:data:`_CELLS_PER_VARIABLE`); otherwise the query's own greedy order
    is made too and the plan whose steps loop over fewer entries wins.
    """
    rank = None
    if len(elim) >= RESTRICT_MIN:
        rank = network_rank(st)
    elif _small_graph(st):
        rank = network_rank(st)
        if rank is not None and st.rank_width > WIDE_NETWORK:
            # restricted orders of a network with wide cliques (WATER, BARLEY, MILDEW) are
            # often too costly to run and planned twice: small queries order themselves
            rank = None
    first = None
    if rank is not None:
        order = sorted(elim, key=rank.__getitem__)
        try:
            first = make_plan(st, nodes, ev, [(v, SUM) for v in order], keep, scopes=scopes)
        except InferenceTooLargeError:
            first = None
        else:
            if first.cost <= _CHEAP_CELLS + _CELLS_PER_VARIABLE * len(elim):
                return first
    order = scope_order(scopes, elim, st.cards)
    if first is None:
        return make_plan(st, nodes, ev, [(v, SUM) for v in order], keep, scopes=scopes)
    try:
        own = make_plan(st, nodes, ev, [(v, SUM) for v in order], keep, scopes=scopes)
    except InferenceTooLargeError:
        return first
    return own if own.cost <= first.cost else first


#: a query whose factors' joint has at most this many entries is one einsum over all
#: of them: ordering and simulating the steps would cost more than the einsum itself
JOINT_CELLS = 1 << 12


def _joint_plan(st: NetStructure, nodes: Sequence[int], scopes: Sequence[Tuple[int, ...]],
                target: int) -> "Plan | None":
    """A plan of no steps whose final einsum sums every variable but ``target`` out of the
    product of all the factors, when their joint is at most :data:`JOINT_CELLS` entries
    (``None`` otherwise); see :func:`marginal_plan`."""
    label = {target: 0}
    size = st.cards[target]
    # the joint is the one factor this plan builds: over the factor limit, the steps refuse
    cap = min(JOINT_CELLS, factor_limit())
    if size > cap:
        return None
    for sc in scopes:
        for a in sc:
            if a not in label:
                label[a] = len(label)
                size *= st.cards[a]
                if size > cap:
                    return None
    axes = tuple(st.parents[v] + (v,) for v in nodes)
    subs = tuple(tuple(label[a] for a in sc) for sc in scopes)
    return Plan(tuple(nodes), axes, (), tuple(range(len(nodes))), subs, (target,), size)


def evidence_plan(st: NetStructure, ev: FrozenSet[int]) -> Plan:
    """The plan that sums out every ancestor of the evidence, leaving ``p(evidence)`` (cached).

    Shared by ``log_evidence`` and ``posterior_sample``.
    """

    def build() -> Plan:
        nodes = st.closure(ev)
        scopes = st.scopes(nodes, ev)
        return sum_plan(st, nodes, ev, [v for v in nodes if v not in ev], (), scopes)

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
