"""BayesNet: variables plus a DAG, immutable and validated.

>>> from pgm_ar import Bernoulli, BayesNet
>>> net = BayesNet([Bernoulli("a"), Bernoulli("b"), Bernoulli("c")], [("a", "b"), ("b", "c")])
>>> net.parents("c")
('b',)
>>> print(net.factorization())
p(a, b, c) = p(a) p(b | a) p(c | b)
"""
from __future__ import annotations

from typing import (TYPE_CHECKING, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence,
                    Tuple, Union)

import networkx as nx

from .cpd import TabularCPD
from .errors import CycleError, DuplicateVariableError, PgmArError, UnknownVariableError
from .variables import Variable

if TYPE_CHECKING:  # pragma: no cover
    from .factorization import Factorization
    from .independence import Independence

Names = Union[str, Iterable[str]]


def _as_names(x: Names) -> Tuple[str, ...]:
    return (x,) if isinstance(x, str) else tuple(x)


class BayesNet:
    """A Bayesian network: variables, directed edges, optional CPTs.

    Parameters
    ----------
    variables
        The variables, in declaration order (also the order used for ties in
        topological sorting and for printing).
    edges
        ``(parent, child)`` pairs.  A child's parents keep the order in which
        their edges are listed (this is the axis order of its CPT).
    cpds
        Optional CPTs, one per discrete variable, keyed by variable name.
    name
        A label for printing and files.

    The network is immutable: :meth:`with_edges`, :meth:`with_cpds` return new
    networks.  Cycles, self-loops, unknown and duplicate names raise a
    :class:`~pgm_ar.errors.PgmArError` naming the culprit.
    """

    def __init__(self, variables: Iterable[Variable], edges: Iterable[Tuple[str, str]] = (),
                 cpds: Optional[Mapping[str, TabularCPD]] = None, name: str = "net") -> None:
        vars_t = tuple(variables)
        index: Dict[str, int] = {}
        for i, v in enumerate(vars_t):
            if not isinstance(v, Variable):
                raise PgmArError(f"expected a Variable (Bernoulli, Categorical, ...), got {v!r}")
            if v.name in index:
                raise DuplicateVariableError(v.name)
            index[v.name] = i
        parents: Dict[str, List[str]] = {v.name: [] for v in vars_t}
        seen = set()
        for e in edges:
            try:
                u, w = e
            except (TypeError, ValueError):
                raise PgmArError(f"an edge must be a (parent, child) pair, got {e!r}")
            for end in (u, w):
                if end not in index:
                    raise UnknownVariableError(end, list(index), where=f"edge {u!r} -> {w!r}")
            if u == w:
                raise CycleError([u])
            if (u, w) in seen:
                continue
            seen.add((u, w))
            parents[w].append(u)
        self._variables = vars_t
        self._index = index
        self._parents: Dict[str, Tuple[str, ...]] = {k: tuple(p) for k, p in parents.items()}
        self.name = name
        graph = nx.DiGraph()
        graph.add_nodes_from(index)
        graph.add_edges_from((p, c) for c, ps in self._parents.items() for p in ps)
        self._graph = nx.freeze(graph)
        try:
            self._topo = tuple(nx.lexicographical_topological_sort(graph, key=index.__getitem__))
        except nx.NetworkXUnfeasible:
            cycle = [u for u, _ in nx.find_cycle(graph)]
            raise CycleError(cycle) from None
        self._cpds: Dict[str, TabularCPD] = {}
        if cpds:
            self._cpds = self._checked_cpds(cpds)

    # -- construction helpers -------------------------------------------------
    @classmethod
    def from_parents(cls, variables: Iterable[Variable], parents: Mapping[str, Sequence[str]],
                     cpds: Optional[Mapping[str, TabularCPD]] = None,
                     name: str = "net") -> "BayesNet":
        """Build from ``{child: [parents...]}`` (parent order kept)."""
        vars_t = tuple(variables)
        known = {v.name for v in vars_t}
        for child in parents:
            if child not in known:
                raise UnknownVariableError(child, sorted(known), where="parents mapping")
        edges = [(p, c) for c, ps in parents.items() for p in ps]
        return cls(vars_t, edges, cpds=cpds, name=name)

    def _checked_cpds(self, cpds: Mapping[str, TabularCPD]) -> Dict[str, TabularCPD]:
        out: Dict[str, TabularCPD] = {}
        for key, cpd in cpds.items():
            if key not in self._index:
                raise UnknownVariableError(key, self.names, where="CPTs")
            var = self.variable(key)
            if not var.is_discrete_scalar:
                raise PgmArError(f"variable {key!r} is not a discrete scalar; it cannot have a CPT")
            parents = self._parents[key]
            if sorted(cpd.parents) != sorted(parents):
                raise PgmArError(
                    f"CPT of {key!r} is over parents {list(cpd.parents)} but the graph gives "
                    f"{list(parents)}"
                )
            if cpd.parents != parents:
                cpd = cpd.reorder_parents(parents)
            expected = tuple(self.variable(p).cardinality for p in parents) + (var.cardinality,)
            if cpd.probs.shape != expected:
                raise PgmArError(
                    f"CPT of {key!r} has shape {cpd.probs.shape}; with parents {list(parents)} "
                    f"it must be {expected} (parent cardinalities, then {key!r}'s)"
                )
            out[key] = cpd
        return out

    def with_cpds(self, cpds: Mapping[str, TabularCPD]) -> "BayesNet":
        """A copy with these CPTs added or replaced."""
        merged = dict(self._cpds)
        merged.update(cpds)
        return BayesNet(self._variables, self.edges, cpds=merged, name=self.name)

    def with_edges(self, edges: Iterable[Tuple[str, str]]) -> "BayesNet":
        """A copy with extra edges (CPTs of nodes whose parents changed are dropped)."""
        new = BayesNet(self._variables, list(self.edges) + list(edges), name=self.name)
        kept = {k: c for k, c in self._cpds.items() if new.parents(k) == self.parents(k)}
        return new.with_cpds(kept) if kept else new

    # -- basic access -----------------------------------------------------------
    @property
    def variables(self) -> Tuple[Variable, ...]:
        return self._variables

    @property
    def names(self) -> Tuple[str, ...]:
        return tuple(v.name for v in self._variables)

    @property
    def edges(self) -> Tuple[Tuple[str, str], ...]:
        """``(parent, child)`` pairs, children in declaration order, parents in CPT order."""
        return tuple((p, v.name) for v in self._variables for p in self._parents[v.name])

    @property
    def graph(self) -> nx.DiGraph:
        """A frozen networkx view of the DAG (node names as in the net)."""
        return self._graph

    @property
    def cpds(self) -> Mapping[str, TabularCPD]:
        return dict(self._cpds)

    def cpd(self, name: str) -> TabularCPD:
        self._check(name)
        if name not in self._cpds:
            raise PgmArError(f"variable {name!r} has no CPT in network {self.name!r}")
        return self._cpds[name]

    def has_all_cpds(self) -> bool:
        return all(v.name in self._cpds for v in self._variables)

    def _check(self, name: str) -> str:
        if name not in self._index:
            raise UnknownVariableError(name, self.names)
        return name

    def _check_all(self, names: Names) -> Tuple[str, ...]:
        return tuple(self._check(n) for n in _as_names(names))

    def variable(self, name: str) -> Variable:
        return self._variables[self._index[self._check(name)]]

    __getitem__ = variable

    def index(self, name: str) -> int:
        """Position of ``name`` in declaration order."""
        return self._index[self._check(name)]

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __len__(self) -> int:
        return len(self._variables)

    def __iter__(self) -> Iterator[Variable]:
        return iter(self._variables)

    def parents(self, name: str) -> Tuple[str, ...]:
        return self._parents[self._check(name)]

    def children(self, name: str) -> Tuple[str, ...]:
        self._check(name)
        kids = set(self._graph.successors(name))
        return tuple(n for n in self.names if n in kids)

    def ancestors(self, names: Names) -> frozenset:
        """Strict ancestors of the given nodes (the nodes themselves excluded)."""
        out: set = set()
        for n in self._check_all(names):
            out |= nx.ancestors(self._graph, n)
        return frozenset(out)

    def descendants(self, names: Names) -> frozenset:
        out: set = set()
        for n in self._check_all(names):
            out |= nx.descendants(self._graph, n)
        return frozenset(out)

    def topological_order(self) -> Tuple[str, ...]:
        """A topological order, ties broken by declaration order."""
        return self._topo

    @property
    def num_edges(self) -> int:
        return self._graph.number_of_edges()

    def __repr__(self) -> str:
        return f"BayesNet({self.name!r}, {len(self)} variables, {self.num_edges} edges)"

    def __eq__(self, other: object) -> bool:
        """Same variables and same parent sets (CPTs not compared)."""
        return (isinstance(other, BayesNet) and self._variables == other._variables
                and {k: set(v) for k, v in self._parents.items()}
                == {k: set(v) for k, v in other._parents.items()})

    __hash__ = None  # type: ignore[assignment]

    # -- derived views (each lives in its own module) -------------------------
    def factorization(self) -> "Factorization":
        """The factorization ``p(x1..xn) = prod_i p(x_i | parents)``; see :mod:`pgm_ar.factorization`."""
        from .factorization import Factorization

        return Factorization.of(self)

    def count_parameters(self):
        """Free tabular parameters, total and per variable; see :func:`pgm_ar.count_parameters`."""
        from .counting import count_parameters

        return count_parameters(self)

    def _independence(self) -> "Independence":
        cached = self.__dict__.get("_independence_cache")
        if cached is None:
            from .independence import Independence

            cached = Independence(self)
            self.__dict__["_independence_cache"] = cached
        return cached

    def is_independent(self, xs: Names, ys: Names, given: Names = ()) -> bool:
        """Whether the DAG implies ``xs _|_ ys | given`` (d-separation)."""
        return self._independence().is_independent(xs, ys, given)

    def markov_blanket(self, name: str) -> frozenset:
        """Parents, children and the children's other parents."""
        return self._independence().markov_blanket(name)

    def local_independencies(self):
        """Each node independent of its non-descendants given its parents."""
        return self._independence().local_independencies()

    def minimal_separator(self, x: str, y: str):
        """A minimal set that d-separates ``x`` and ``y`` (``None`` if they are adjacent)."""
        return self._independence().minimal_separator(x, y)

    def independencies(self):
        """A compact list of what the graph implies: minimal separators plus local Markov."""
        return self._independence().independencies()

    def draw(self, path: str, kind: str = "dag", **kwargs):
        """Draw the DAG or its factor graph to ``path`` (format from the suffix)."""
        from .draw import draw

        return draw(self, path, kind=kind, **kwargs)
