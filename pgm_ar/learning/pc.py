"""The PC algorithm: a skeleton from conditional-independence tests, then orientation.

:func:`pc` runs

1. the **stable skeleton** search (Colombo & Maathuis 2014): start from the complete
   graph; at level ``l = 0, 1, ...`` each node's adjacency set is frozen, and an edge
   ``x - y`` is removed at the first set ``S`` of ``l`` frozen neighbours of ``x`` (then of
   ``y``) with ``p > alpha`` in the test of ``x _|_ y | S``, which becomes their *separating
   set*.  Freezing makes the skeleton independent of the variables' order;
2. **v-structures**: ``x -> z <- y`` for each unshielded triple ``x - z - y`` whose ``z``
   is not in the separating set of ``x`` and ``y`` (an edge already oriented the other way
   is left as it is and counted in ``conflicts``);
3. **Meek's rules** 1-3 (and rule 4 when knowledge oriented edges) until nothing changes:
   the result is the CPDAG, whose undirected edges could point either way.

Knowledge
    ``required`` edges ``(u, v)`` are never removed and point ``u -> v``; ``forbidden`` pairs
    are never joined; ``tiers`` (lists of variables) forbid an edge from a later tier to an
    earlier one (edges between tiers point forward, and no v-structure is made against them);
    declared ``statements`` (``"a _|_ b | c"``) are taken as known independences: each pair
    ``a, b`` across the statement starts unjoined, with ``c`` as its separating set, and is
    not tested.  A pair removed by ``forbidden`` alone has no separating set, so no
    v-structure is oriented on it.

Counting
    All tests of a node ``x`` at one level condition on subsets of its frozen neighbours.
    They are counted a few dozen at a time in one ``bincount`` (successive conditioning sets,
    each against every neighbour still joined to ``x``, the neighbours packed a few to a code
    made once per node and level), over the distinct rows of ``x`` and its neighbours with
    their multiplicities when those are much fewer than the rows; only the strata that occur
    enter the statistics.  The pairwise tests of level 0 all come from one matrix product of
    one-hot rows (:func:`~pgm_ar.learning.citests.pairwise_counts`).  The statistics are
    those of one test at a time; a test of ``x, y | S`` already run from ``y``'s side at the
    same level is not repeated.

>>> import pgm_ar
>>> net = pgm_ar.example_network("cancer")
>>> learned = pc(pgm_ar.compile(net).sample(20000, seed=0), alpha=0.01)
>>> sorted(map(sorted, learned.skeleton())) == sorted(sorted(e) for e in net.edges)
True
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple, Union

import networkx as nx
import numpy as np

from ..errors import PgmArError, UnknownVariableError
from ..limits import check as check_limit
from ..network import BayesNet
from ..statements import Statement, as_statement
from ..variables import Categorical, Gaussian, Variable
from .citests import (CITest, CITester, batch_p_values, combine_codes, marginal_sum_matrix,
                      occurring_strata, ones_vector, pack_by_product, pairwise_counts,
                      table_statistics)

__all__ = ["PCResult", "pc", "cpdag_of", "orient", "structural_hamming_distance"]

Pair = Tuple[str, str]

#: the distinct rows of a node and its neighbours replace the rows when they are at most this
#: share of them
_FRAME_ROW_SHARE = 0.5

#: the code space of :func:`distinct_rows` is renumbered past this size
_RENUMBER_SPACE = 1 << 20

#: a node's distinct rows are looked for only when they serve at least this many batches
_FRAME_MIN_TESTS = 4


@dataclass(frozen=True)
class PCResult:
    """A CPDAG learned by :func:`pc`.

    Attributes
    ----------
    names
        The variables, in data order.
    directed
        ``(parent, child)`` edges whose direction the data (or knowledge) fix.
    undirected
        ``(a, b)`` edges (``a < b`` in data order) that could point either way.
    sepsets
        For each pair found independent, the separating set found (``frozenset({a, b}) ->
        tuple``).
    n_tests
        The number of CI tests run.
    conflicts
        V-structures that were not oriented because an edge already pointed the other way.
    """

    names: Tuple[str, ...]
    directed: Tuple[Pair, ...]
    undirected: Tuple[Pair, ...]
    sepsets: Dict[FrozenSet[str], Tuple[str, ...]] = field(repr=False)
    n_tests: int = 0
    conflicts: int = 0
    variables: Tuple[Variable, ...] = field(default=(), repr=False)

    @property
    def is_dag(self) -> bool:
        """Whether every edge is oriented."""
        return not self.undirected

    def skeleton(self) -> List[Pair]:
        """All edges, directions dropped."""
        return list(self.directed) + list(self.undirected)

    def cpdag(self) -> nx.DiGraph:
        """A networkx DiGraph with an undirected edge as two opposite arcs."""
        g = nx.DiGraph()
        g.add_nodes_from(self.names)
        g.add_edges_from(self.directed)
        g.add_edges_from(self.undirected)
        g.add_edges_from((b, a) for a, b in self.undirected)
        return g

    def to_network(self, name: str = "pc") -> BayesNet:
        """The learned DAG as a :class:`~pgm_ar.network.BayesNet` (no CPTs); only when every
        edge is oriented (else see :meth:`dag_extension`)."""
        if self.undirected:
            raise PgmArError(f"{len(self.undirected)} edge(s) are undirected (e.g. "
                             f"{self.undirected[0][0]} - {self.undirected[0][1]}); use "
                             "dag_extension() for a DAG with the same independences")
        return BayesNet(self.variables, self.directed, name=name)

    def dag_extension(self, name: str = "pc") -> BayesNet:
        """A DAG in the CPDAG's equivalence class (Dor & Tarsi 1992): undirected edges are
        oriented without new v-structures or cycles where the CPDAG allows it."""
        return BayesNet(self.variables, _extend(self.names, self.directed, self.undirected),
                        name=name)

    def to_dict(self) -> Dict[str, Any]:
        return {"directed": [list(e) for e in self.directed],
                "undirected": [list(e) for e in self.undirected],
                "n_tests": self.n_tests, "conflicts": self.conflicts}


# -- tests through per-node rows ---------------------------------------------------------------
class _Rows:
    """The rows a node's tests at one level count: the columns of the node and its frozen
    neighbours, as the distinct combinations that occur with their multiplicities when those
    are much fewer than the rows (then every test counts fewer rows), else the rows.

    ``previous`` is the same node's rows at the level before: its columns include these (the
    neighbours only shrink), so when it was compressed the new rows are found from it.
    """

    def __init__(self, tester: CITester, cols: Sequence[int], compress: bool,
                 previous: Optional["_Rows"] = None,
                 hopeless: Optional[List[FrozenSet[int]]] = None) -> None:
        self.cols = list(cols)
        columns = {c: tester._cols[c] for c in cols}
        self.weights: Optional[np.ndarray] = None
        if compress and len(cols) > 1 and not _known_too_many(cols, hopeless):
            cards = [tester._cards[c] for c in cols]
            most = int(_FRAME_ROW_SHARE * tester.n_rows)
            failed: List[int] = []
            if previous is not None and previous.weights is not None \
                    and set(cols) <= set(previous.columns):
                got = distinct_rows([previous.columns[c] for c in cols], cards,
                                    previous.weights, most=most, failed=failed)
            else:
                got = distinct_rows(list(columns.values()), cards, most=most, failed=failed)
            if got is not None:
                columns = dict(zip(cols, got[0]))
                self.weights = got[1].astype(np.float64)
            elif hopeless is not None and failed:
                hopeless.append(frozenset(self.cols[:failed[0]]))
        self.columns = columns


def _known_too_many(cols: Sequence[int], hopeless: Optional[List[FrozenSet[int]]]) -> bool:
    """Whether ``cols`` include a set of columns already seen to take more distinct
    combinations than :data:`_FRAME_ROW_SHARE` of the rows: more columns take at least as
    many, so looking for their distinct rows again would only fail again (the neighbours only
    shrink from level to level, but nodes of a dense region share most of their columns)."""
    if not hopeless:
        return False
    have = set(cols)
    return any(h <= have for h in hopeless)


def distinct_rows(columns: Sequence[np.ndarray], cards: Sequence[int],
                  weights: Optional[np.ndarray] = None, most: Optional[int] = None,
                  failed: Optional[List[int]] = None
                  ) -> Optional[Tuple[List[np.ndarray], np.ndarray]]:
    """The distinct combinations of ``columns`` that occur, as one array per column, and how
    often each occurs (the sum of ``weights`` when the rows carry multiplicities); no sort.
    ``None`` as soon as more than ``most`` distinct combinations are seen (when given): the
    columns' first few already occur in that many, so the rest cannot be fewer; then how many
    first columns those were is appended to ``failed`` (when given).

    The columns are folded into one code a column at a time; whenever the code space passes
    four times the rows (at most :data:`_RENUMBER_SPACE`) the codes that occur are renumbered ``0..U-1`` (a count over the
    space), so it never outgrows the rows by much.  A column's value for each distinct code is
    then written by plain assignment: rows with the same code agree on it.
    """
    code, space = columns[0], int(cards[0])
    limit = min(_RENUMBER_SPACE, 4 * len(code))  # a count over the space costs what the rows do
    for j, (col, k) in enumerate(zip(columns[1:], cards[1:]), start=1):
        if space * int(k) > limit:
            occurs = np.bincount(code, minlength=space) > 0
            space = int(occurs.sum())
            if most is not None and space > most:
                if failed is not None:
                    failed.append(j)  # the first j columns already take too many
                return None
            code = (np.cumsum(occurs) - 1)[code]
        code = code * int(k) + col
        space *= int(k)
    counts = np.bincount(code, weights=weights, minlength=space)
    keep = counts > 0
    if most is not None and int(keep.sum()) > most:
        if failed is not None:
            failed.append(len(columns))
        return None
    if not keep.all():
        code = (np.cumsum(keep) - 1)[code]
        counts = counts[keep]
    out = []
    for col in columns:
        values = np.empty(len(counts), dtype=np.int64)
        values[code] = col
        out.append(values)
    return out, (np.rint(counts).astype(np.int64) if weights is not None else counts)


# -- skeleton ---------------------------------------------------------------------------------
def _pairs_of(statements: Iterable[Statement]) -> List[Tuple[str, str, Tuple[str, ...]]]:
    out = []
    for s in statements:
        for a in sorted(s.xs):
            for b in sorted(s.ys):
                out.append((a, b, tuple(sorted(s.given))))
    return out


def _skeleton(tester: CITester, alpha: float, max_cond: Optional[int],
              required: Set[FrozenSet[int]], removed: Dict[FrozenSet[int], Optional[Tuple[int, ...]]]):
    n = len(tester.names)
    adj: List[Set[int]] = [set(range(n)) - {i} for i in range(n)]
    for pair in removed:
        a, b = tuple(pair)
        adj[a].discard(b)
        adj[b].discard(a)
    sepsets: Dict[FrozenSet[int], Optional[Tuple[int, ...]]] = dict(removed)
    batched = tester.kind is not CITest.FISHER_Z and not tester.yates and not tester._missing
    level = 0
    rows_of: Dict[int, "_Rows"] = {}  # each node's rows at the last level it was tested
    hopeless: List[FrozenSet[int]] = []  # column sets with too many distinct rows
    if batched and n > 1:
        _level_zero(tester, alpha, adj, required, sepsets)
        level = 1
    while max_cond is None or level <= max_cond:
        frozen = [tuple(sorted(a)) for a in adj]
        any_tested = False
        done: Set[tuple] = set()  # tests run at this level: (x, y, S) = (y, x, S)
        for x in range(n):
            ys = [y for y in frozen[x] if frozenset((x, y)) not in required]
            if not ys or len(frozen[x]) - 1 < level:
                continue
            any_tested = True
            if batched:
                _level_batched(tester, x, frozen[x], ys, level, alpha, adj, sepsets, done, rows_of,
                               hopeless)
            else:
                _level_single(tester, x, frozen[x], ys, level, alpha, adj, sepsets, done)
        if not any_tested:
            break
        level += 1
    return adj, sepsets


def _independent(p: float, dof: Optional[int], alpha: float) -> bool:
    """Whether a test removes an edge: ``p > alpha`` on at least one degree of freedom.

    A discrete test with no degrees of freedom (``x`` or ``y`` constant within every
    stratum) has p = 1 but says nothing: it happens when ``x`` is a function of the
    conditioning set, as asia's ``either = tub or lung``, where ``xray _|_ either | tub,
    lung`` holds in the data but the edge ``either -> xray`` is real.  Such a test keeps
    the edge.
    """
    return p > alpha and (dof is None or dof > 0)


def _remove(x: int, y: int, s: Tuple[int, ...], adj, sepsets) -> None:
    adj[x].discard(y)
    adj[y].discard(x)
    sepsets[frozenset((x, y))] = tuple(s)


def _level_zero(tester, alpha, adj, required, sepsets) -> None:
    """Level 0, every pair at once: all pairwise tables from one Gram matrix of one-hot rows
    (:func:`~pgm_ar.learning.citests.pairwise_counts`), statistics in one batch."""
    n = len(tester.names)
    cards = tester._cards
    gram, off = pairwise_counts(tester._cols, cards)
    pairs = [(x, y) for x in range(n) for y in range(x + 1, n)
             if y in adj[x] and frozenset((x, y)) not in required]
    if not pairs:
        return
    k = max(cards)
    tables = np.zeros((len(pairs), 1, k, k), dtype=np.int64)
    for i, (x, y) in enumerate(pairs):
        tables[i, 0, :cards[x], :cards[y]] = gram[off[x]:off[x + 1], off[y]:off[y + 1]]
    stat, dof, _, _ = table_statistics(tables, tester._nlogn_lut(tester.n_rows),
                                       tester.kind is CITest.CHI2)
    p = batch_p_values(stat, dof)
    tester.n_tests += len(pairs)
    for (x, y), pk, dk in zip(pairs, p, dof):
        if _independent(float(pk), int(dk), alpha):
            _remove(x, y, (), adj, sepsets)


def _level_single(tester, x, neighbours, ys, level, alpha, adj, sepsets, done) -> None:
    """One test at a time (Fisher's z, Yates' correction or missing values)."""
    for y in ys:
        for s in combinations([v for v in neighbours if v != y], level):
            if y not in adj[x]:
                break
            key = (frozenset((x, y)), s)
            if key in done:
                continue
            done.add(key)
            _, dof, p, *_ = tester.run([x], [y], list(s))
            if _independent(p, dof, alpha):
                _remove(x, y, s, adj, sepsets)


#: tests of one node counted together: at least this many (when there are), ...
_CHUNK_TESTS = 24

#: ... at most this many row entries (tests x rows) ...
_CHUNK_ENTRIES = 1 << 22

#: ... and at most this many table cells (tests x the most strata x states of x x states of
#: y: one row of codes per test pads every table to the largest)
_CHUNK_CELLS = 1 << 16

#: a conditioning set with more strata than this (times the cells of x and y) is renumbered
#: to the strata that occur
_SPARSE_CELLS = 1 << 22


def _level_batched(tester, x, neighbours, ys, level, alpha, adj, sepsets, done, rows_of,
                   hopeless=None) -> None:
    """The tests of ``x`` at this level, a few dozen per count.

    The tests are the pairs (conditioning set ``S``, neighbour ``y``), ``S`` in the order of
    ``combinations``.  A chunk takes the sets in turn, each with every ``y`` still joined to
    ``x``, until it holds :data:`_CHUNK_TESTS` tests; they are counted by one ``bincount``
    with the ``y``s packed a few to a code (:func:`_chunk_tables`; the packs' codes are made
    once for the node and level, :class:`_YPacks`), and only the strata that occur are kept
    (:func:`_strata_statistics`).  Then, in order, a test that keeps independence removes its
    edge, and later tests of that edge are dropped.  For each ``y`` the first separating set
    is the same as when testing one ``S`` after another; a chunk only counts a few tests ahead.
    """
    sets = list(combinations(neighbours, level))
    rows = _Rows(tester, [x, *neighbours], compress=level > 0 and len(sets) >= _FRAME_MIN_TESTS,
                 previous=rows_of.get(x), hopeless=hopeless)
    if rows.weights is not None:
        rows_of[x] = rows
    cols, cards, w = rows.columns, tester._cards, rows.weights
    m = len(cols[x])
    kx = cards[x]
    ky = max(cards[y] for y in ys)
    lut = tester._nlogn_lut(tester.n_rows)
    chi2 = tester.kind is CITest.CHI2
    if w is None and level > 0:
        # the rows are all there (no few distinct ones): small tables cost less as bitsets
        largest = sorted((cards[v] for v in neighbours), reverse=True)[:level]
        if kx * ky * int(np.prod(largest)) <= _BIT_PC_CELLS:
            bits = tester._bitsets()
            if bits is not None:
                _level_bits(tester, x, sets, ys, alpha, adj, sepsets, done, bits, lut, chi2)
                return
    packer = _YPacks(cols, cards, ys)
    adj_x = adj[x]
    next_set = 0
    while next_set < len(sets):
        chunk: List[Tuple[Tuple[int, ...], int]] = []
        strata: Dict[Tuple[int, ...], Tuple[np.ndarray, int]] = {}
        kz_max = 1
        while next_set < len(sets) and len(chunk) < _CHUNK_TESTS:
            s = sets[next_set]
            todo = [y for y in ys if y in adj_x and y not in s
                    and ((x, y, s) if x < y else (y, x, s)) not in done]
            if not todo:
                next_set += 1
                continue
            if s:
                z, kz = combine_codes([cols[v] for v in s], [cards[v] for v in s])
                if kz * kx * ky > _SPARSE_CELLS:
                    z, kz = occurring_strata(z, kz, kx * ky)  # only the strata that occur
            else:
                z, kz = np.zeros(m, dtype=np.int64), 1
            size = len(chunk) + len(todo)
            if chunk and (size * m > _CHUNK_ENTRIES
                          or size * max(kz_max, kz) * kx * ky > _CHUNK_CELLS):
                break  # this set starts the next chunk
            strata[s] = (z * kx, kz)  # premultiplied: a test adds x, then scales by |Y|
            kz_max = max(kz_max, kz)
            chunk.extend((s, y) for y in todo)
            next_set += 1
        if not chunk:
            break
        done.update((x, y, s) if x < y else (y, x, s) for s, y in chunk)
        if m * len(chunk) >= _PACK_MIN_ROWS * len(strata):
            tables, tid = _chunk_tables(chunk, strata, cols, cards, x, ky, w, packer)
        else:
            tables, tid = _chunk_tables_rows(chunk, strata, cols, x, kx, ky, w)
        _decide_chunk(x, chunk, tables, tid, lut, chi2, alpha, tester, adj, adj_x, sepsets)


#: a node whose rows stay all there counts its tests from bitsets of the rows while a test's
#: full table has at most this many cells: an AND and a popcount per cell over rows/64 words
#: then cost less than the passes over the rows' codes and their ``bincount``
_BIT_PC_CELLS = 256

#: ... and a count of several ys at once ANDs at most this many words (2 MiB: the ANDed cells
#: then stay near the cache for their popcount; at 100,000 rows 32 MiB blocks cost more)
_BIT_WORDS = 1 << 18

#: a conditioning set's y cells take y's last state by subtraction from this many ANDed words
#: a y on (10,000 rows: tables of about 100 cells; 100,000 rows: of about 10)
_BIT_SUBTRACT_WORDS = 1 << 14


def _level_bits(tester, x, sets, ys, alpha, adj, sepsets, done, bits, lut, chi2) -> None:
    """The tests of ``x`` at this level from bitsets of the rows (one per state of each
    variable, :meth:`CITester._bitsets`): per conditioning set, its strata's bitsets (ANDs,
    the empty ones dropped), split by ``x``, and each cell of every ``y`` still joined the
    popcount of one more AND; all of a set's ``y`` in one array.  Chunks, order and early
    stopping as in :func:`_level_batched`."""
    cards = tester._cards
    kx = cards[x]
    ky = max(cards[y] for y in ys)
    words = bits[x].shape[1]
    # every y's bitsets padded to ky states (the padding holds no rows), all in one array
    yall = np.zeros((len(ys), ky, words), dtype=np.uint64)
    for i, y in enumerate(ys):
        yall[i, :cards[y]] = bits[y]
    y_at = {y: i for i, y in enumerate(ys)}
    adj_x = adj[x]
    next_set = 0
    while next_set < len(sets):
        parts, tids, chunk = [], [], []
        while next_set < len(sets) and len(chunk) < _CHUNK_TESTS:
            s = sets[next_set]
            next_set += 1
            todo = [y for y in ys if y in adj_x and y not in s
                    and ((x, y, s) if x < y else (y, x, s)) not in done]
            if not todo:
                continue
            strata = bits[s[0]]
            for v in s[1:]:
                strata = (strata[:, None, :] & bits[v][None, :, :]).reshape(-1, words)
            occurs = np.bitwise_count(strata).sum(axis=1) > 0
            if not occurs.all():
                strata = strata[occurs]
            xz = strata[:, None, :] & bits[x][None, :, :]                   # (S, |X|, words)
            # with many words a cell, y's last state is not ANDed: its cells are the
            # stratum's x counts less the other states' (the same integers, for (ky - 1) / ky
            # of the ANDs and popcounts; with few, the three more calls cost more)
            subtract = ky > 1 and len(strata) * kx * ky * words >= _BIT_SUBTRACT_WORDS
            head = ky - 1 if subtract else ky
            if subtract:
                n_xz = np.bitwise_count(xz).sum(axis=2, dtype=np.int64)     # (S, |X|)
            # a few ys at a time: their cells' words stay below _BIT_WORDS
            step = max(_BIT_WORDS // (len(strata) * kx * head * words), 1)
            for start in range(0, len(todo), step):
                group = todo[start:start + step]
                yb = yall[[y_at[y] for y in group]]                          # (Y, ky, words)
                if subtract:
                    yb = yb[:, :head]
                cells = xz[None, :, :, None, :] & yb[:, None, None, :, :]   # (Y, S, |X|, head, w)
                tables = np.bitwise_count(cells).sum(axis=4, dtype=np.int64)
                if subtract:
                    last = n_xz - tables.sum(axis=3)                          # (Y, S, |X|)
                    tables = np.concatenate([tables, last[..., None]], axis=3)
                parts.append(tables.reshape(-1, kx, ky))
                tids.append(np.repeat(np.arange(len(chunk), len(chunk) + len(group)),
                                      len(strata)))
                chunk.extend((s, y) for y in group)
        if not chunk:
            break
        done.update((x, y, s) if x < y else (y, x, s) for s, y in chunk)
        tables = np.concatenate(parts) if len(parts) > 1 else parts[0]
        tid = np.concatenate(tids) if len(tids) > 1 else tids[0]
        _decide_chunk(x, chunk, tables, tid, lut, chi2, alpha, tester, adj, adj_x, sepsets)


def _decide_chunk(x: int, chunk: List[Tuple[Tuple[int, ...], int]], tables: np.ndarray,
                  tid: np.ndarray, lut: np.ndarray, chi2: bool, alpha: float, tester: CITester,
                  adj, adj_x, sepsets) -> None:
    """Test a chunk of ``(conditioning set, y)`` pairs of ``x`` from their strata tables and
    remove each edge ``x - y`` found independent (unless an earlier test removed it)."""
    stat, dof = _strata_statistics(tables, tid, len(chunk), lut, chi2)
    p = batch_p_values(stat, dof)
    tester.n_tests += len(chunk)
    for (s, y), pk, dk in zip(chunk, p.tolist(), dof.tolist()):
        if y in adj_x and _independent(pk, dk, alpha):
            _remove(x, y, s, adj, sepsets)


def _strata_statistics(t: np.ndarray, tid: np.ndarray, b: int, lut: np.ndarray,
                       chi2: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """``(statistic, dof)`` of ``b`` tests from their non-empty strata: ``t`` holds one
    ``(|X|, |Y|)`` table of integer counts per stratum, ``tid`` the test each belongs to.  The
    same sums as :func:`~pgm_ar.learning.citests.table_statistics`, without the empty strata a
    padded batch would carry (most strata of a large conditioning set are empty).

    The margins are products with vectors of ones (numpy's reductions over axes of two or
    three entries cost several times more) and ``n ln n`` is looked up (``lut``)."""
    m, kx, ky = t.shape
    tf = t.astype(np.float64)
    n_xz = tf.reshape(m * kx, ky) @ ones_vector(ky)          # (m * |X|,)
    n_yz = tf[:, 0, :].copy()                           # (m, |Y|): a sum over |X| slices
    for a in range(1, kx):
        n_yz += tf[:, a, :]
    n_z = n_yz @ ones_vector(ky)
    rows = np.maximum((n_xz > 0).reshape(m, kx) @ ones_vector(kx) - 1.0, 0.0)
    cols = np.maximum((n_yz > 0) @ ones_vector(ky) - 1.0, 0.0)
    dof = np.rint(np.bincount(tid, weights=rows * cols, minlength=b)).astype(np.int64)
    if chi2:
        expected = (n_xz.reshape(m, kx)[:, :, None] * n_yz[:, None, :]
                    / np.maximum(n_z, 1)[:, None, None])
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(expected > 0, (tf - expected) ** 2 / expected, 0.0)
        return np.bincount(tid, weights=terms.reshape(m, -1) @ ones_vector(kx * ky), minlength=b), dof
    take = lut.take
    per = (take(t).reshape(m, kx * ky) @ ones_vector(kx * ky) + take(n_z.astype(np.intp))
           - take(n_xz.astype(np.intp)).reshape(m, kx) @ ones_vector(kx)
           - take(n_yz.astype(np.intp)) @ ones_vector(ky))
    g = 2.0 * np.bincount(tid, weights=per, minlength=b)
    return np.maximum(g, 0.0), dof  # rounding leaves -1e-13 where a table is independent



#: the tests of one conditioning set are packed so that one count covers a pack of at most
#: this many cells (strata x states of x x joint states of the pack's ys)
_PACK_CELLS = 1 << 15


#: packed counts (:func:`_chunk_tables`) when the rows (or distinct rows) times the tests per
#: conditioning set of a chunk reach this; below it one row of codes per test
#: (:func:`_chunk_tables_rows`, a few calls for the whole chunk) costs less than the packs' calls
_PACK_MIN_ROWS = 30000


def _chunk_tables_rows(chunk, strata, cols, x, kx, ky, w) -> Tuple[np.ndarray, np.ndarray]:
    """The non-empty stratum tables of a chunk and the test of each, one row of codes per
    test: ``(z * |X| + x) * ky + y``, shifted to the test's own table, all in one
    ``bincount``."""
    kz_max = max(kz for _, kz in strata.values())
    cells = kz_max * kx * ky
    set_list = list(strata)
    y_list = sorted({y for _, y in chunk})
    zx = np.stack([strata[s][0] for s in set_list])
    zx += cols[x]
    zx *= ky
    ymat = np.stack([cols[y] for y in y_list])
    s_at = {s: i for i, s in enumerate(set_list)}
    y_at = {y: i for i, y in enumerate(y_list)}
    flat = zx[[s_at[s] for s, _ in chunk]]
    flat += ymat[[y_at[y] for _, y in chunk]]
    flat += (np.arange(len(chunk), dtype=np.int64) * cells)[:, None]
    weights = None if w is None else np.tile(w, len(chunk))
    counts = np.bincount(flat.ravel(), weights=weights, minlength=len(chunk) * cells)
    if weights is not None:
        counts = np.rint(counts).astype(np.int64)
    counts = counts.reshape(len(chunk) * kz_max, kx * ky)
    keep = np.flatnonzero(counts @ ones_vector(kx * ky) if kx * ky > 1 else counts[:, 0])
    return counts[keep].reshape(-1, kx, ky), keep // kz_max


class _YPacks:
    """The neighbours ``ys`` of a node in packs of at most ``room`` joint states, each pack's
    mixed-radix code made once per node and level (not once per conditioning set): a set's
    tests then cost one multiply-add per pack."""

    def __init__(self, cols, cards, ys) -> None:
        self.cols, self.cards, self.ys = cols, cards, list(ys)
        self._by_room: Dict[int, Tuple[List[List[int]], List[np.ndarray], List[int],
                                       Dict[int, Tuple[int, int]]]] = {}

    def get(self, room: int):
        """``(packs, codes, caps, where)``: ``where[y] = (pack, position)``."""
        size = 1
        while size * 2 <= room:  # powers of two: a few packings serve every set
            size *= 2
        got = self._by_room.get(size)
        if got is None:
            cols, cards = self.cols, self.cards
            packs = pack_by_product(self.ys, cards.__getitem__, size)
            codes, caps, where = [], [], {}
            for q, pack in enumerate(packs):
                code, inner = None, 1
                for j in reversed(range(len(pack))):
                    y = pack[j]
                    code = cols[y] * inner if code is None else code + cols[y] * inner
                    inner *= cards[y]
                    where[y] = (q, j)
                codes.append(code)
                caps.append(inner)
            got = (packs, codes, caps, where)
            self._by_room[size] = got
        return got


def _chunk_tables(chunk, strata, cols, cards, x, ky, w, packer) -> Tuple[np.ndarray, np.ndarray]:
    """The non-empty stratum tables ``(M, |X|, ky)`` of a chunk and the test of each.

    The tests of one conditioning set share its stratum code, so their ``y``s come from the
    node's packs (:class:`_YPacks`) beside it: one count per pack instead of one per test,
    and each test's table is a marginal of its pack's count (a product with a 0/1 matrix).
    The tables are the integer counts either way; the strata a set never takes are dropped.
    """
    kx = cards[x]
    by_set: Dict[Tuple[int, ...], List[int]] = {}
    for i, (s, _) in enumerate(chunk):
        by_set.setdefault(s, []).append(i)
    plan = []  # (strata, packs, {pack: [(position in chunk, in pack)]}, [(pack, offset, cap)])
    rows = []
    offset = 0
    for s, members in by_set.items():
        zx, kz = strata[s]
        u = zx + cols[x]                      # stratum and x: z * |X| + x
        ku = kz * kx
        # a pack's count should not outgrow the rows: its cells are zeroed, converted and
        # marginalised (a product of cells x tests), its rows only added once
        packs, codes, caps, where = packer.get(max(min(_PACK_CELLS, len(u) // 2) // ku, 1))
        slots: Dict[int, List[Tuple[int, int]]] = {}
        for i in members:
            q, j = where[chunk[i][1]]
            slots.setdefault(q, []).append((i, j))
        starts = []
        for q in slots:
            code = u * caps[q]
            code += codes[q]
            if offset:
                code += offset
            rows.append(code)
            starts.append((q, offset, caps[q]))
            offset += ku * caps[q]
        plan.append((kz, packs, slots, starts))
    flat = np.concatenate(rows) if len(rows) > 1 else rows[0]
    weights = None if w is None else np.tile(w, len(rows))
    counts = np.bincount(flat, weights=weights, minlength=offset).astype(np.float64)
    parts, tids = [], []
    for kz, packs, slots, starts in plan:
        occurs = None
        for q, start, cap in starts:
            block = counts[start:start + kz * kx * cap].reshape(kz, kx * cap)
            if occurs is None:  # the strata of the set: the same in each of its packs
                occurs = np.flatnonzero(block.any(axis=1)) if kz > 1 else None
            if occurs is not None and len(occurs) < kz:
                block = block[occurs]
            ks = tuple(cards[v] for v in packs[q])
            got = block.reshape(-1, cap) @ marginal_sum_matrix(ks, ky)
            got = got.reshape(-1, kx, len(ks), ky)
            idx, js = zip(*slots[q])
            sel = got[:, :, list(js), :].transpose(2, 0, 1, 3)  # (tests, strata, |X|, ky)
            parts.append(sel.reshape(-1, kx, ky))
            tids.append(np.repeat(np.asarray(idx, dtype=np.int64), sel.shape[1]))
    tables = np.concatenate(parts) if len(parts) > 1 else parts[0]
    return np.rint(tables).astype(np.int64), np.concatenate(tids)


# -- orientation --------------------------------------------------------------------------------
class _PDAG:
    """Adjacency with marks: ``directed[u]`` holds ``v`` for ``u -> v``; ``undirected[u]``
    holds ``v`` for ``u - v`` (both ways)."""

    def __init__(self, n: int, edges: Iterable[Tuple[int, int]]) -> None:
        self.und: List[Set[int]] = [set() for _ in range(n)]
        self.out: List[Set[int]] = [set() for _ in range(n)]
        self.inn: List[Set[int]] = [set() for _ in range(n)]
        for a, b in edges:
            self.und[a].add(b)
            self.und[b].add(a)

    def neighbours(self, a: int) -> Set[int]:
        return self.und[a] | self.out[a] | self.inn[a]

    def adjacent(self, a: int, b: int) -> bool:
        return b in self.und[a] or b in self.out[a] or b in self.inn[a]

    def orient(self, a: int, b: int) -> bool:
        """``a - b`` becomes ``a -> b``; False when the edge is not undirected."""
        if b not in self.und[a]:
            return False
        self.und[a].discard(b)
        self.und[b].discard(a)
        self.out[a].add(b)
        self.inn[b].add(a)
        return True

    def meek(self, rule4: bool = False) -> None:
        n = len(self.und)
        changed = True
        while changed:
            changed = False
            for b in range(n):
                for c in sorted(self.und[b]):
                    # R1: a -> b - c, a and c not adjacent  =>  b -> c
                    if any(not self.adjacent(a, c) for a in self.inn[b]):
                        changed |= self.orient(b, c)
                        continue
                    # R2: b -> a -> c and b - c  =>  b -> c
                    if self.out[b] & self.inn[c]:
                        changed |= self.orient(b, c)
                        continue
                    # R3: b - a1 -> c, b - a2 -> c, a1, a2 not adjacent, b - c  =>  b -> c
                    mids = sorted(self.und[b] & self.inn[c])
                    if any(not self.adjacent(a1, a2) for a1, a2 in combinations(mids, 2)):
                        changed |= self.orient(b, c)
                        continue
                    # R4: b - k -> l -> c, k and c not adjacent, b adjacent to l  =>  b -> c
                    if rule4 and any(not self.adjacent(k, c) and self.adjacent(b, l)
                                     for k in self.und[b] for l in self.out[k] & self.inn[c]):
                        changed |= self.orient(b, c)

    def edges(self, names: Sequence[str]) -> Tuple[Tuple[Pair, ...], Tuple[Pair, ...]]:
        directed = tuple((names[a], names[b]) for a in range(len(names)) for b in sorted(self.out[a]))
        undirected = tuple((names[a], names[b]) for a in range(len(names))
                           for b in sorted(self.und[a]) if a < b)
        return directed, undirected


def orient(names: Sequence[str], skeleton: Iterable[Pair],
           sepsets: Dict[FrozenSet[str], Optional[Sequence[str]]],
           required: Iterable[Pair] = (), tiers: Optional[Sequence[Sequence[str]]] = None
           ) -> Tuple[Tuple[Pair, ...], Tuple[Pair, ...], int]:
    """Orient a skeleton: knowledge, then v-structures, then Meek's rules.

    Returns ``(directed, undirected, conflicts)``.  ``sepsets`` maps each non-adjacent pair
    to its separating set (``None``: unknown, no v-structure is made on that pair).
    """
    idx = {n: i for i, n in enumerate(names)}
    pd_ = _PDAG(len(names), [(idx[a], idx[b]) for a, b in skeleton])
    tier = _tier_of(names, tiers)
    knowledge = False
    for a, b in required:
        knowledge |= pd_.orient(idx[a], idx[b])
    if tier:
        for a in range(len(names)):
            for b in sorted(pd_.und[a]):
                if tier.get(a, -1) >= 0 and tier.get(b, -1) >= 0 and tier[a] < tier[b]:
                    knowledge |= pd_.orient(a, b)
    conflicts = 0
    n = len(names)
    for x in range(n):
        for y in range(x + 1, n):
            if pd_.adjacent(x, y):
                continue
            sep = sepsets.get(frozenset((names[x], names[y])))
            if sep is None:
                continue
            sep_ids = {idx[s] for s in sep}
            # in increasing order, as a scan of every z would find them
            common = sorted((pd_.neighbours(x) & pd_.neighbours(y)) - sep_ids)
            for z in common:
                if tier and (tier.get(z, 0) < tier.get(x, 0) or tier.get(z, 0) < tier.get(y, 0)):
                    continue  # the tiers say z comes first: it cannot be their common child
                for a in (x, y):
                    if a in pd_.out[z]:
                        conflicts += 1
                    else:
                        pd_.orient(a, z)
    pd_.meek(rule4=knowledge)
    directed, undirected = pd_.edges(names)
    return directed, undirected, conflicts


def _tier_of(names: Sequence[str], tiers: Optional[Sequence[Sequence[str]]]) -> Dict[int, int]:
    if not tiers:
        return {}
    if isinstance(tiers, str):
        raise PgmArError("tiers must be a list of lists of variable names, earliest first")
    idx = {n: i for i, n in enumerate(names)}
    out: Dict[int, int] = {}
    for t, group in enumerate(tiers):
        for name in ([group] if isinstance(group, str) else group):
            if name not in idx:
                raise UnknownVariableError(name, list(names), where="tiers")
            if idx[name] in out:
                raise PgmArError(f"variable {name!r} is in two tiers")
            out[idx[name]] = t
    return out


def _extend(names: Sequence[str], directed: Sequence[Pair], undirected: Sequence[Pair]) -> List[Pair]:
    """Dor & Tarsi: repeatedly take a node with no outgoing arc whose undirected neighbours are
    adjacent to all its other neighbours, point its undirected edges into it, and remove it."""
    out: Dict[str, Set[str]] = {n: set() for n in names}
    inn: Dict[str, Set[str]] = {n: set() for n in names}
    und: Dict[str, Set[str]] = {n: set() for n in names}
    for a, b in directed:
        out[a].add(b)
        inn[b].add(a)
    for a, b in undirected:
        und[a].add(b)
        und[b].add(a)
    result = list(directed)
    alive = list(names)
    adj = lambda a, b: b in out[a] or b in inn[a] or b in und[a]  # noqa: E731
    while alive:
        pick = None
        for x in alive:
            if out[x]:
                continue
            neigh = inn[x] | und[x]
            if all(adj(u, w) for u in und[x] for w in neigh if w != u):
                pick = x
                break
        if pick is None:  # no consistent extension: orient what is left along a topological order
            g = nx.DiGraph()
            g.add_nodes_from(alive)
            g.add_edges_from((a, b) for a in alive for b in out[a] if b in out and b in alive)
            pos = {n: i for i, n in enumerate(nx.lexicographical_topological_sort(g))}
            rest = sorted({tuple(sorted((a, b))) for a in alive for b in und[a]})
            result += [(a, b) if pos[a] < pos[b] else (b, a) for a, b in rest]
            break
        for u in list(und[pick]):
            result.append((u, pick))
            und[u].discard(pick)
        und[pick].clear()
        for u in list(inn[pick]):
            out[u].discard(pick)
        inn[pick].clear()
        alive.remove(pick)
    return result


def cpdag_of(net: BayesNet) -> Tuple[Tuple[Pair, ...], Tuple[Pair, ...]]:
    """The CPDAG of ``net``'s DAG: its skeleton, its v-structures, then Meek's rules 1-3.

    Returns ``(directed, undirected)``.
    """
    names = net.names
    idx = {n: i for i, n in enumerate(names)}
    pd_ = _PDAG(len(names), [(idx[a], idx[b]) for a, b in net.edges])
    for child in names:
        parents = net.parents(child)
        for a, b in combinations(parents, 2):
            if not pd_.adjacent(idx[a], idx[b]):
                pd_.orient(idx[a], idx[child])
                pd_.orient(idx[b], idx[child])
    pd_.meek()
    return pd_.edges(names)


def structural_hamming_distance(a: Tuple[Iterable[Pair], Iterable[Pair]],
                                b: Tuple[Iterable[Pair], Iterable[Pair]]) -> int:
    """Node pairs on which two partially directed graphs differ (a missing or extra edge, or
    another mark), each ``(directed, undirected)``; one per pair, as bnlearn's ``shd``."""
    def marks(g):
        d, u = g
        m = {}
        for x, y in u:
            m[frozenset((x, y))] = "-"
        for x, y in d:
            m[frozenset((x, y))] = (x, y)
        return m

    ma, mb = marks(a), marks(b)
    return sum(ma.get(k) != mb.get(k) for k in set(ma) | set(mb))


# -- the algorithm ------------------------------------------------------------------------------
def _variables_of(tester: CITester, net: Optional[BayesNet]) -> Tuple[Variable, ...]:
    if net is not None:
        return tuple(net.variable(n) for n in tester.names)
    if tester.kind is CITest.FISHER_Z:
        return tuple(Gaussian(n) for n in tester.names)
    out = []
    for n, states in zip(tester.names, tester.data.states):
        states = tuple(states) if len(states) >= 2 else tuple(states) + ("(unseen)",) * (2 - len(states))
        out.append(Categorical(n, states if len(set(states)) == len(states) else 2))
    return tuple(out)


def _check_table_sizes(tester) -> None:
    """Refuse, before any table exists, discrete data whose pairwise tables would not fit the
    ``max_table_cells`` budget: the Gram matrix of level 0 holds ``(sum of cards)^2`` counts
    and every test of the two largest variables a ``card_x * card_y`` table (an identifier
    column of 20,000 distinct values asks for 400 million cells)."""
    cards = list(getattr(tester, "_cards", None) or ())
    if tester.kind is CITest.FISHER_Z or len(cards) < 2:
        return
    order = sorted(range(len(cards)), key=lambda i: -cards[i])
    a, b = order[0], order[1]
    instead = (f"{tester.names[a]!r} has {cards[a]} distinct values: drop identifier-like "
               "columns or bin many-valued ones before learning")
    check_limit("max_table_cells", cards[a] * cards[b],
                f"a CI test of {tester.names[a]!r} and {tester.names[b]!r}", instead)
    check_limit("max_table_cells", sum(cards) ** 2,
                "the pairwise counts of PC's first level (sum of the variables' states, "
                "squared)", instead)


def pc(data: Any, *, alpha: float = 0.01, test: Union[str, CITest] = "auto",
       max_cond: Optional[int] = None, required: Iterable[Pair] = (),
       forbidden: Iterable[Pair] = (), tiers: Optional[Sequence[Sequence[str]]] = None,
       statements: Iterable[Union[str, Statement]] = (), net: Optional[BayesNet] = None,
       yates: bool = False) -> PCResult:
    """Learn a CPDAG with the PC algorithm (stable skeleton, v-structures, Meek's rules).

    Parameters
    ----------
    data
        A pandas DataFrame, a ``{column: values}`` mapping or a
        :class:`~pgm_ar.learning.data.DiscreteData`; one column per variable.
    alpha
        Significance level of each test: an edge goes when a test gives ``p > alpha``.
    test
        ``"auto"`` (G-test for discrete data, Fisher's z for floating-point columns),
        ``"g"``, ``"chi2"`` or ``"fisher_z"``.
    max_cond
        The largest conditioning set tried (``None``: no limit).
    required, forbidden
        ``(u, v)`` pairs: required edges are kept and point ``u -> v``; forbidden pairs are
        never joined (either direction).
    tiers
        Lists of variables, earliest first: no edge points from a later tier to an earlier one.
    statements
        Declared independences (``"a _|_ b | c"``) taken as known.
    net
        A network whose variables give the data's states (and the result's variables).
    yates
        Yates' correction in 2x2 strata (as pgmpy's tests); off by default.

    Returns
    -------
    PCResult
        The CPDAG; ``to_network()`` when fully oriented, ``dag_extension()`` otherwise.
    """
    if not isinstance(alpha, (int, float)) or not 0 < float(alpha) < 1:
        raise PgmArError(f"alpha must be between 0 and 1, got {alpha!r}")
    if max_cond is not None and (not isinstance(max_cond, int) or max_cond < 0):
        raise PgmArError(f"max_cond must be a non-negative integer or None, got {max_cond!r}")
    tester = CITester(data, test, net=net, yates=yates)
    if tester.kind is CITest.CG:
        raise PgmArError("PC runs the 'g', 'chi2' or 'fisher_z' test, not 'cg'")
    names = tester.names
    _check_table_sizes(tester)
    ids = lambda pair, where: tuple(_id(tester, n, where) for n in pair)  # noqa: E731
    req_pairs = [ids(p, "required edges") for p in _pairs(required, "required")]
    forb_pairs = [ids(p, "forbidden edges") for p in _pairs(forbidden, "forbidden")]
    required_set = {frozenset(p) for p in req_pairs}
    removed: Dict[FrozenSet[int], Optional[Tuple[int, ...]]] = {}
    for p in forb_pairs:
        if frozenset(p) in required_set:
            raise PgmArError(f"edge {names[p[0]]} - {names[p[1]]} is both required and forbidden")
        removed[frozenset(p)] = None
    tier = _tier_of(names, tiers)
    for a, b in req_pairs:
        if tier and tier.get(a, 0) > tier.get(b, 0):
            raise PgmArError(f"required edge {names[a]} -> {names[b]} points from a later tier "
                             "to an earlier one")
    for a, b, given in _pairs_of(as_statement(s, names) for s in statements):
        pair = frozenset((tester.index(a), tester.index(b)))
        if pair in required_set:
            raise PgmArError(f"edge {a} - {b} is required, but a declared statement makes "
                             f"{a} and {b} independent given {list(given)}")
        removed[pair] = tuple(tester.index(g) for g in given)
    adj, sepsets = _skeleton(tester, float(alpha), max_cond, required_set, removed)
    skeleton = [(names[a], names[b]) for a in range(len(names)) for b in sorted(adj[a]) if a < b]
    named_sepsets = {frozenset((names[a], names[b])): (None if s is None else tuple(names[i] for i in s))
                     for (a, b), s in ((tuple(k), v) for k, v in sepsets.items())}
    directed, undirected, conflicts = orient(names, skeleton, named_sepsets,
                                             [(names[a], names[b]) for a, b in req_pairs], tiers)
    return PCResult(names=tuple(names), directed=directed, undirected=undirected,
                    sepsets={k: v for k, v in named_sepsets.items() if v is not None},
                    n_tests=tester.n_tests, conflicts=conflicts,
                    variables=_variables_of(tester, net))


def _pairs(pairs: Iterable[Pair], what: str) -> List[Pair]:
    out = []
    for p in pairs:
        if isinstance(p, str) or len(tuple(p)) != 2:
            raise PgmArError(f"each {what} edge must be a (from, to) pair, got {p!r}")
        out.append(tuple(p))
    return out


def _id(tester: CITester, name: str, where: str) -> int:
    if name not in tester.names:
        raise UnknownVariableError(name, list(tester.names), where=where)
    return tester.index(name)
