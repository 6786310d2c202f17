"""Decomposable structure scores: log-likelihood, BIC, AIC, BDeu and K2 from counts.

A score of a DAG ``G`` on complete discrete data is a sum of *local* scores, one per variable
given its parents, each a function of the family's counts ``N[j, k]`` (rows: parent
configurations ``j``, columns: the child's states ``k``; ``N_j = sum_k N[j, k]``; ``q``
configurations, ``r`` states, ``n`` rows):

* log-likelihood: ``sum_jk N[j,k] log(N[j,k] / N_j)`` (``0 log 0 = 0``), the log-probability
  of the data under the maximum-likelihood CPTs;
* BIC: log-likelihood ``- log(n)/2 * q (r - 1)``; AIC: log-likelihood ``- q (r - 1)``;
* BDeu (equivalent sample size ``a``):
  ``sum_j [lgamma(a/q) - lgamma(N_j + a/q) + sum_k (lgamma(N[j,k] + a/(qr)) - lgamma(a/(qr)))]``,
  the log marginal likelihood under Dirichlet(``a/(qr)``) priors;
* K2: the same with every Dirichlet parameter 1.

Parent configurations that never occur contribute exactly zero to each, so :class:`Score`
counts only what occurs when the full table would be large.  Because the score decomposes, a
search that changes one variable's parents re-scores that variable alone; :class:`Score`
caches local scores by ``(child, parent set)`` for that reason.

>>> import numpy as np
>>> table = np.array([[3, 1], [0, 4]])          # q = 2 parent configurations, r = 2 states
>>> round(log_likelihood_score(table), 6)       # 3 log(3/4) + 1 log(1/4)
-2.249341
"""
from __future__ import annotations

import math
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from scipy.special import gammaln

from ..errors import DataError, PgmArError
from ..network import BayesNet
from .data import DiscreteData, discrete_data

__all__ = ["SCORES", "Score", "aic_score", "bdeu_score", "bic_score", "k2_score",
           "log_likelihood_score", "score_network"]

#: the score names :class:`Score` accepts
SCORES = ("loglik", "bic", "aic", "bdeu", "k2")

#: a family's counts are one dense ``np.bincount`` up to this many cells (or twice the rows);
#: above, the occurring parent configurations are numbered with ``np.unique`` first, so that
#: a family with many parents costs what its rows cost, not what its table would
_DENSE_CELLS = 1 << 16
#: families of at most this many cells, on at least this many rows, are counted with bitsets
_BITSET_CELLS = 64
_BITSET_MIN_ROWS = 4096
_HAS_POPCOUNT = hasattr(np, "bitwise_count")  # numpy >= 2.0
_DENSE_PER_ROW = 2


def _code_dtype(cells: int) -> Any:
    """The narrowest unsigned integer type holding codes ``0..cells-1``."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if cells <= np.iinfo(dtype).max + 1:
            return dtype
    return np.int64


def _table(counts: np.ndarray) -> np.ndarray:
    """``counts`` as a float ``(q, r)`` table: the child's states on the last axis."""
    arr = np.asarray(counts, dtype=np.float64)
    if arr.ndim == 0:
        raise PgmArError("a family's counts need the child's axis (got a 0-d array)")
    return arr.reshape(-1, arr.shape[-1])


def log_likelihood_score(counts: np.ndarray) -> float:
    """Maximised log-likelihood of one family from its counts (child's states on the last axis).

    ``sum_jk N[j,k] log(N[j,k] / N_j)`` in nats.
    """
    t = _table(counts)
    nj = t.sum(axis=1, keepdims=True)
    pos = t > 0
    return float(np.sum(t[pos] * (np.log(t[pos]) - np.log(np.broadcast_to(nj, t.shape)[pos]))))


def _free(q: float, r: int) -> float:
    return float(q) * (r - 1)


def bic_score(counts: np.ndarray, n_rows: int, n_configs: Optional[float] = None) -> float:
    """BIC of one family: log-likelihood ``- log(n_rows)/2 * q (r - 1)``.

    ``n_configs`` (``q``) defaults to the rows of the table; pass it when ``counts`` holds only
    the configurations that occur.
    """
    t = _table(counts)
    q = t.shape[0] if n_configs is None else n_configs
    return log_likelihood_score(t) - 0.5 * math.log(n_rows) * _free(q, t.shape[1])


def aic_score(counts: np.ndarray, n_configs: Optional[float] = None) -> float:
    """AIC of one family: log-likelihood ``- q (r - 1)``."""
    t = _table(counts)
    q = t.shape[0] if n_configs is None else n_configs
    return log_likelihood_score(t) - _free(q, t.shape[1])


def bdeu_score(counts: np.ndarray, ess: float = 10.0, n_configs: Optional[float] = None) -> float:
    """BDeu of one family with equivalent sample size ``ess`` (log marginal likelihood).

    >>> import math
    >>> # one root with counts (2, 1), ess 2: Dirichlet(1, 1) marginal likelihood 2! 1! / 4!
    >>> round(bdeu_score([2, 1], ess=2.0), 9) == round(math.log(2 / 24), 9)
    True
    """
    if not ess > 0:
        raise PgmArError(f"the BDeu equivalent sample size must be > 0, got {ess}")
    t = _table(counts)
    q = t.shape[0] if n_configs is None else n_configs
    r = t.shape[1]
    a = ess / q
    b = ess / (q * r)
    nj = t.sum(axis=1)
    # per occurring configuration; an absent one adds lgamma(a) - lgamma(a) + r * 0 = 0
    return float(np.sum(gammaln(a) - gammaln(nj + a))
                 + np.sum(gammaln(t + b) - gammaln(b)))


def k2_score(counts: np.ndarray) -> float:
    """K2 of one family: BD with every Dirichlet parameter 1."""
    t = _table(counts)
    r = t.shape[1]
    nj = t.sum(axis=1)
    return float(np.sum(gammaln(r) - gammaln(nj + r)) + np.sum(gammaln(t + 1.0)))


class Score:
    """A decomposable score of structures on one data set, with a cache of local scores.

    Parameters
    ----------
    data
        :class:`~pgm_ar.learning.DiscreteData`, or a DataFrame / mapping of columns (encoded
        with :func:`~pgm_ar.learning.discrete_data`, using ``net``'s states when given).
        Rows must be complete: a missing value is refused (the scores compare structures on
        the same rows).
    method
        ``"bic"`` (default), ``"aic"``, ``"bdeu"``, ``"k2"`` or ``"loglik"``.
    ess
        BDeu's equivalent sample size.
    net
        Only to encode a DataFrame with the network's states.

    Examples
    --------
    >>> s = Score({"a": [0, 0, 1, 1], "b": [0, 0, 1, 1]}, "loglik")
    >>> round(s.local("b", ["a"]), 6), round(s.local("b", []), 6)   # b copies a: log 1 = 0
    (0.0, -2.772589)
    """

    def __init__(self, data: object, method: str = "bic", ess: float = 10.0,
                 net: Optional[BayesNet] = None) -> None:
        method = str(method).lower()
        if method not in SCORES:
            raise PgmArError(f"unknown score {method!r}: use one of {', '.join(SCORES)}")
        if method == "bdeu" and not ess > 0:
            raise PgmArError(f"the BDeu equivalent sample size must be > 0, got {ess}")
        d = discrete_data(data, net)
        if d.has_missing:
            col = d.names[int(np.argmax((d.codes < 0).any(axis=0)))]
            raise DataError("has missing values; structure scores need complete rows (drop or "
                            "impute the incomplete rows first)", column=col)
        if d.n_rows == 0:
            raise DataError("the data has no rows to score")
        self.data: DiscreteData = d
        self.method = method
        self.ess = float(ess)
        self.names: Tuple[str, ...] = d.names
        self.cards: Tuple[int, ...] = d.cards
        self.n_rows: int = d.n_rows
        # one contiguous column per variable: a family's code is built column by column
        self._cols = [np.ascontiguousarray(d.codes[:, i], dtype=_code_dtype(card))
                      for i, card in enumerate(d.cards)]
        self._index = {name: i for i, name in enumerate(d.names)}
        self._cache: Dict[Tuple[int, Tuple[int, ...]], float] = {}
        self._bitsets: Dict[int, np.ndarray] = {}
        self.evaluations = 0  # local scores computed (cache misses)

    # -- families -------------------------------------------------------------------------
    def _idx(self, v: Union[int, str]) -> int:
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            if not 0 <= int(v) < len(self.names):
                raise DataError(f"column number {v} is out of range 0..{len(self.names) - 1}")
            return int(v)
        i = self._index.get(str(v))
        if i is None:
            return self.data.index(str(v))  # raises, naming close names
        return i

    def family_counts(self, child: Union[int, str], parents: Iterable[Union[int, str]]
                      ) -> Tuple[np.ndarray, float]:
        """Counts ``(q_seen, r)`` of the child per parent configuration, and ``q``.

        Dense (every configuration, in mixed-radix order of ``parents``) when the table is
        small; otherwise only the configurations that occur, in no particular order.
        """
        c = self._idx(child)
        ps = [self._idx(p) for p in parents]
        r = self.cards[c]
        q = math.prod(self.cards[p] for p in ps)
        if not ps:
            return np.bincount(self._cols[c], minlength=r).reshape(1, r), 1.0
        if q * r <= _BITSET_CELLS and self.n_rows >= _BITSET_MIN_ROWS and _HAS_POPCOUNT:
            # AND the state bitsets of the parents, then of the child, and count the bits:
            # (q r) x rows/64 word operations, several times fewer than a bincount's rows
            # for a small family
            cur = self._bits(ps[0])
            for p in ps[1:]:
                cur = (cur[:, None, :] & self._bits(p)[None, :, :]).reshape(-1, cur.shape[-1])
            cells = cur[:, None, :] & self._bits(c)[None, :, :]
            return np.bitwise_count(cells).sum(axis=-1, dtype=np.int64), float(q)
        if q * r <= max(_DENSE_CELLS, _DENSE_PER_ROW * self.n_rows):
            code = self._parent_code(ps, _code_dtype(q * r))
            code *= r
            code += self._cols[c]
            return np.bincount(code, minlength=q * r).reshape(q, r), float(q)
        # sparse: number the occurring parent configurations, then count per (config, state)
        if q < (1 << 62):
            _, cfg = np.unique(self._parent_code(ps), return_inverse=True)
        else:  # the mixed-radix code would overflow int64: compare whole rows instead
            _, cfg = np.unique(np.stack([self._cols[p] for p in ps], axis=1), axis=0,
                               return_inverse=True)
        cfg = cfg.reshape(-1)
        seen = int(cfg.max()) + 1
        table = np.bincount(cfg * r + self._cols[c], minlength=seen * r).reshape(seen, r)
        return table, float(q)

    def _bits(self, v: int) -> np.ndarray:
        """``(card, words)`` uint64: bit ``i`` of row ``k`` is set when row ``i`` has state
        ``k`` of variable ``v`` (built on first use, kept)."""
        got = self._bitsets.get(v)
        if got is None:
            onehot = self._cols[v][None, :] == np.arange(self.cards[v])[:, None]
            pad = (-self.n_rows) % 64
            if pad:
                onehot = np.pad(onehot, ((0, 0), (0, pad)))
            got = np.packbits(onehot, axis=1, bitorder="little").view(np.uint64)
            self._bitsets[v] = got
        return got

    def _parent_code(self, ps: Sequence[int], dtype: Any = np.int64) -> np.ndarray:
        """Mixed-radix code of each row's parent configuration (first parent slowest), in
        ``dtype`` (the narrowest that holds the family's cells: small integers are several
        times faster to multiply and add than int64)."""
        code = self._cols[ps[0]].astype(dtype)
        for p in ps[1:]:
            code *= self.cards[p]
            code += self._cols[p]
        return code

    def _compute(self, c: int, ps: Tuple[int, ...]) -> float:
        table, q = self.family_counts(c, ps)
        m = self.method
        if m == "loglik":
            return log_likelihood_score(table)
        if m == "bic":
            return bic_score(table, self.n_rows, q)
        if m == "aic":
            return aic_score(table, q)
        if m == "bdeu":
            return bdeu_score(table, self.ess, q)
        return k2_score(table)

    def local(self, child: Union[int, str], parents: Iterable[Union[int, str]] = ()) -> float:
        """The local score of ``child`` given ``parents`` (names or column numbers), cached."""
        c = self._idx(child)
        key = (c, tuple(sorted({self._idx(p) for p in parents})))
        got = self._cache.get(key)
        if got is None:
            if c in key[1]:
                raise PgmArError(f"variable {self.names[c]!r} cannot be its own parent")
            got = self._compute(c, key[1])
            self._cache[key] = got
            self.evaluations += 1
        return got

    def local_sorted(self, c: int, ps: Tuple[int, ...]) -> float:
        """:meth:`local` for a column number and a sorted tuple of parent column numbers
        (the search's hot path: no name look-ups)."""
        key = (c, ps)
        got = self._cache.get(key)
        if got is None:
            got = self._compute(c, ps)
            self._cache[key] = got
            self.evaluations += 1
        return got

    def network(self, structure: Union[BayesNet, Mapping[str, Sequence[str]],
                                       Iterable[Tuple[str, str]]]) -> float:
        """The score of a whole structure: the sum of its variables' local scores.

        ``structure`` is a :class:`~pgm_ar.network.BayesNet`, a ``{child: parents}`` mapping
        or a list of ``(parent, child)`` edges over the data's columns (columns it does not
        name are roots).
        """
        return float(sum(self.local_scores(structure).values()))

    def local_scores(self, structure: Union[BayesNet, Mapping[str, Sequence[str]],
                                            Iterable[Tuple[str, str]]]) -> Dict[str, float]:
        """``{variable: local score}`` over the data's columns for ``structure``."""
        parents = parent_sets(structure, self.names)
        return {name: self.local(name, parents.get(name, ())) for name in self.names}


def parent_sets(structure: Union[BayesNet, Mapping[str, Sequence[str]],
                                 Iterable[Tuple[str, str]]],
                names: Sequence[str]) -> Dict[str, Tuple[str, ...]]:
    """``{child: parents}`` of a network, a mapping or an edge list, checked against ``names``."""
    if isinstance(structure, BayesNet):
        out = {v: structure.parents(v) for v in structure.names}
    elif isinstance(structure, Mapping):
        out = {str(k): tuple(v) for k, v in structure.items()}
    else:
        out = {}
        for edge in structure:
            p, c = edge
            out.setdefault(str(c), ())
            out[str(c)] = out[str(c)] + (str(p),)
    known = set(names)
    for child, ps in out.items():
        for v in (child, *ps):
            if v not in known:
                from ..utils.suggest import did_you_mean

                raise DataError(f"the structure names {v!r}, which is not a data column"
                                + did_you_mean(v, list(names)))
    return out


def score_network(net: BayesNet, data: object, method: str = "bic", ess: float = 10.0) -> float:
    """The score of ``net``'s structure on ``data`` (encoded with ``net``'s states).

    >>> import pgm_ar
    >>> net = pgm_ar.BayesNet([pgm_ar.Bernoulli("a"), pgm_ar.Bernoulli("b")], [("a", "b")])
    >>> rows = {"a": [0, 1, 1, 0], "b": [0, 1, 1, 1]}
    >>> round(score_network(net, rows, "loglik"), 4)   # 4 log(1/2) + 2 log(1/2) + 0
    -4.1589
    """
    return Score(data, method, ess, net=net).network(net)
