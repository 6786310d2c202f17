"""Builders that turn assumptions into a BayesNet.

* :func:`chain_rule` — no assumption: every variable depends on all before it.
* :func:`markov` — order-``k`` Markov: each variable depends on the ``k`` before it.
* :func:`independent` — every variable on its own.
* :func:`from_independencies` — the minimal I-map of declared CI statements for the
  variables' order.

>>> from pgm_ar import bernoullis
>>> net = from_independencies(bernoullis(3), ["x3 _|_ x1 | x2"])
>>> net.parents("x3")
('x2',)
>>> [(s.ascii(), ok) for s, ok in check_statements(net, ["x3 _|_ x1 | x2"])]
[('x3 _|_ x1 | x2', True)]
"""
from __future__ import annotations

from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple, Union

from .errors import PgmArError
from .network import BayesNet
from .statements import Statement, as_statement
from .variables import Variable

StatementLike = Union[str, Statement]


def _check_vars(variables: Iterable[Variable]) -> Tuple[Variable, ...]:
    vars_t = tuple(variables)
    if not vars_t:
        raise PgmArError("need at least one variable")
    return vars_t


def chain_rule(variables: Iterable[Variable], name: str = "chain_rule") -> BayesNet:
    """Every variable depends on all variables before it (the chain rule: no assumption).

    The edge list grows as n^2/2; for thousands of variables prefer :func:`markov`.
    """
    vs = _check_vars(variables)
    names = [v.name for v in vs]
    edges = [(names[j], names[i]) for i in range(len(names)) for j in range(i)]
    return BayesNet(vs, edges, name=name)


def markov(variables: Iterable[Variable], k: int = 1, name: Optional[str] = None) -> BayesNet:
    """Order-``k`` Markov (AR-k): each variable depends on the ``k`` variables before it.

    ``k = 1`` encodes ``x_{i+1} _|_ x_1..x_{i-1} | x_i``.
    """
    if not isinstance(k, int) or k < 0:
        raise PgmArError(f"Markov order k must be a non-negative integer, got {k!r}")
    vs = _check_vars(variables)
    names = [v.name for v in vs]
    edges = [(names[j], names[i]) for i in range(len(names)) for j in range(max(0, i - k), i)]
    return BayesNet(vs, edges, name=name or f"markov{k}")


def independent(variables: Iterable[Variable], name: str = "independent") -> BayesNet:
    """All variables mutually independent (no edges)."""
    return BayesNet(_check_vars(variables), name=name)


class _Facts:
    """The declared statements seen from one variable ``x`` (symmetry applied).

    Each fact ``(A, B, C)`` stands for ``A _|_ B | C`` with ``x`` in ``A``.  From it
    decomposition and weak union give ``x _|_ R | U`` exactly when ``R`` is a subset of
    ``B``, ``C`` a subset of ``U`` and ``U \\ C`` lies within ``(A - {x}) | B``;
    contraction chains such facts (``x _|_ Y | U`` and ``x _|_ W | U | Y`` give
    ``x _|_ Y | W | U``).
    """

    def __init__(self, x: str, statements: Sequence[Statement]) -> None:
        self.x = x
        self.facts: List[Tuple[FrozenSet[str], FrozenSet[str], FrozenSet[str]]] = []
        for s in statements:
            if x in s.xs:
                self.facts.append((s.xs, s.ys, s.given))
            elif x in s.ys:
                self.facts.append((s.ys, s.xs, s.given))

    def derives(self, rest: FrozenSet[str], given: FrozenSet[str]) -> bool:
        """Whether ``x _|_ rest | given`` follows (soundly) from the facts."""
        memo: Dict[FrozenSet[str], bool] = {}

        def go(r: FrozenSet[str], u: FrozenSet[str]) -> bool:
            if not r:
                return True
            if r in memo:
                return memo[r]
            memo[r] = False  # guards against cycles while exploring
            for a, b, c in self.facts:
                if c <= u and (u - c) <= ((a - {self.x}) | b):
                    y = r & b
                    if y and go(r - y, u | y):
                        memo[r] = True
                        return True
            return False

        return go(frozenset(rest), frozenset(given))

    def direct_candidates(self, preds: FrozenSet[str]) -> List[FrozenSet[str]]:
        """Parent sets ``U`` for which one fact alone gives ``x _|_ preds - U | U``."""
        out = []
        for a, b, c in self.facts:
            if c <= preds and preds <= (a | b | c):
                r = (b & preds) - c
                out.append(preds - r)
        return out


def from_independencies(variables: Iterable[Variable], statements: Iterable[StatementLike],
                        name: str = "from_independencies") -> BayesNet:
    """The minimal I-map of the statements for the variables' order.

    Each variable ``x_i`` gets a set ``U`` of its predecessors such that
    ``x_i _|_ (predecessors - U) | U`` follows from the statements under the
    semi-graphoid rules (symmetry, decomposition, weak union, contraction), and from
    which no single variable can be dropped.

    The derivation is sound: every edge it removes is justified by the statements.  It
    reasons about each variable from the statements that mention it on an independent
    side, so derivations that first combine statements about *other* variables are not
    searched; such a statement keeps its edges and is then reported as not implied by
    :func:`check_statements`.
    """
    vs = _check_vars(variables)
    names = [v.name for v in vs]
    stmts = [as_statement(s, names) for s in statements]
    parents: Dict[str, List[str]] = {}
    position = {n: i for i, n in enumerate(names)}
    for i, x in enumerate(names):
        preds = frozenset(names[:i])
        facts = _Facts(x, stmts)
        if not facts.facts or not preds:
            parents[x] = list(names[:i])
            continue
        # Start from the smallest parent set a single statement justifies (cheap, and
        # exact for Markov and local-Markov statements), then drop what else can go.
        candidates = [u for u in facts.direct_candidates(preds)]
        u = min(candidates, key=len) if candidates else preds
        for v in sorted(u, key=position.__getitem__):
            trial = u - {v}
            if facts.derives(preds - trial, trial):
                u = trial
        parents[x] = sorted(u, key=position.__getitem__)
    return BayesNet.from_parents(vs, parents, name=name)


def check_statements(net: BayesNet, statements: Iterable[StatementLike]) -> List[Tuple[Statement, bool]]:
    """Each statement with whether the network's DAG implies it (d-separation)."""
    from .independence import implied

    return implied(net, statements)
