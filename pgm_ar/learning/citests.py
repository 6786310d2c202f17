"""Tests of conditional independence ``X _|_ Y | Z`` on data.

Discrete variables
    The **G-test** (log-likelihood ratio, ``test="g"``) and **Pearson's chi-square**
    (``test="chi2"``).  The rows are counted once into a table of shape
    ``(strata, |X|, |Y|)`` holding only the strata of ``Z`` that occur, and both statistics
    are computed from it with numpy over all strata at once (no Python loop over strata):
    ``G = 2 sum n_xyz ln(n_xyz n_z / (n_xz n_yz))``, ``X2 = sum (n_xyz - E)^2 / E`` with
    ``E = n_xz n_yz / n_z``.

    *Degrees of freedom.* Each stratum ``z`` contributes ``(r_z - 1)(c_z - 1)``, where
    ``r_z`` and ``c_z`` are the numbers of states of ``X`` and of ``Y`` that occur in it
    (clipped at 0).  An empty stratum, a state that never occurs beside ``z``, and a stratum
    with a single row or column thus add nothing, neither to the statistic nor to the
    degrees of freedom.  This is the rule of pgmpy 1.1.2 (``pgmpy.ci_tests.PowerDivergence``
    counts active rows and columns per stratum; its older ``CITests`` functions build each
    stratum's table from the states present) and of bnlearn's ``"x2-adf"`` / ``"mi-adf"``.
    Without it a test with a large ``Z`` claims degrees of freedom for cells that cannot
    hold data and loses all power.

    pgmpy also applies Yates' continuity correction to every stratum whose table is 2x2
    (one degree of freedom); the G-test proper and ``2 N CMI`` have no such correction, so it
    is off here unless ``yates=True``, which reproduces pgmpy's numbers.

    The **conditional mutual information** ``I(X; Y | Z)`` in nats is ``G / (2 N)`` (the
    plug-in estimate from the counts, whichever statistic is reported).  ``X`` and ``Y``
    may be sets: their joint states are the combinations that occur.

Real-valued variables
    **Partial correlation with Fisher's z** (``test="fisher_z"``): ``r`` = the correlation of
    ``X`` and ``Y`` after linear regression on ``Z`` (with an intercept), from the inverse of
    their covariance matrix; ``z = sqrt(N - |Z| - 3) atanh(r)``, two-sided p-value.  The
    Gaussian CMI is ``-ln(1 - r^2) / 2``.  For a set on either side the test is the Gaussian
    likelihood ratio ``2 N CMI`` against chi-square with ``|X| |Y|`` degrees of freedom
    (reported as ``test="gaussian_lr"``).

One test
    A test of two single variables whose full table is small (at most :data:`_BIT_CELLS`
    cells) is counted from bitsets of the rows, one per state of each variable and made once
    per tester: each cell is the popcount of the AND of a stratum's, ``x``'s and ``y``'s
    bitsets, 64 rows a word (:func:`bit_table`); larger tables from the codes and one
    ``bincount``.

Many tests
    :meth:`CITester.test_pairs` runs a list of single-variable tests at once (all the local
    Markov statements of a network, split into pairs): the tests sharing ``x`` and ``given``
    are counted from fixed packs of variables (:class:`PackedColumns`), one count a pack, and
    the p-values come from one vectorised call.

Rows with a missing value in any variable of a test are left out of that test
(``n_used`` says how many rows it used).  P-values come from ``scipy.special.chdtrc``
(the function behind ``scipy.stats.chi2.sf``, without its per-call overhead).

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> z = rng.integers(0, 2, 5000)
>>> df = pd.DataFrame({"z": z, "x": z ^ (rng.random(5000) < .2), "y": z ^ (rng.random(5000) < .3)})
>>> ci_test(df, "x", "y").p_value < 1e-6          # x and y are dependent ...
True
>>> r = ci_test(df, "x", "y", given=["z"])       # ... but independent given z
>>> r.test, r.dof, r.p_value > 0.01, abs(r.statistic - 2 * r.n_used * r.cmi) < 1e-9
('g', 2, True, True)
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
from scipy import special

from ..errors import DataError, PgmArError
from ..limits import check as check_limit
from ..network import BayesNet
from ..utils.enums import parse_enum
from ..variables import Gaussian
from .data import DiscreteData, discrete_data

__all__ = ["CITest", "CITestResult", "CITester", "ci_test", "g_test", "chi_square_test",
           "fisher_z_test", "batch_statistics", "batch_p_values", "table_statistics",
           "PackedColumns", "pack_by_product", "pairwise_counts", "bit_table", "ones_vector"]

Names = Union[str, Iterable[str]]

#: a mixed-radix code of several columns must stay below this (int64 with room to spare);
#: past it the columns are combined a few at a time, renumbering the combinations that occur
_CODE_LIMIT = 1 << 62

#: a direct count over every stratum of Z (occurring or not) is used while the full table has at
#: most this many cells or four per row; past that the occurring strata are found by sorting
_DENSE_CELLS = 1 << 20


class CITest(str, Enum):
    """Which test :class:`CITester` runs."""

    AUTO = "auto"          # g for discrete data, fisher_z for real-valued data
    G = "g"                # G-test (log-likelihood ratio)
    CHI2 = "chi2"          # Pearson's chi-square
    FISHER_Z = "fisher_z"  # partial correlation, Fisher's z (sets: Gaussian likelihood ratio)
    CG = "cg"              # conditional-Gaussian likelihood ratio, for mixed discrete and real


@dataclass(frozen=True)
class CITestResult:
    """The outcome of one test of ``x _|_ y | given``.

    Attributes
    ----------
    x, y, given
        The variables tested (names, sorted).
    test
        ``"g"``, ``"chi2"``, ``"fisher_z"``, ``"gaussian_lr"`` or ``"cg"``.
    statistic
        G, X^2, Fisher's z or the (conditional-)Gaussian likelihood-ratio statistic.
    dof
        Degrees of freedom (``None`` for Fisher's z, a normal statistic).
    p_value
        The probability, under independence, of a statistic at least as extreme.
    cmi
        The estimated conditional mutual information in nats.
    n_used
        Rows used (complete in every variable of the test).
    note
        What the test left out, if anything (the conditional-Gaussian test drops strata too
        small for a covariance).
    """

    x: Tuple[str, ...]
    y: Tuple[str, ...]
    given: Tuple[str, ...]
    test: str
    statistic: float
    dof: Optional[int]
    p_value: float
    cmi: float
    n_used: int
    note: str = ""

    def independent(self, level: float = 0.05) -> bool:
        """Whether the test keeps independence at ``level`` (``p_value > level``)."""
        return self.p_value > level

    def statement_text(self) -> str:
        text = ", ".join(self.x) + " _|_ " + ", ".join(self.y)
        return text + (" | " + ", ".join(self.given) if self.given else "")

    def to_dict(self) -> Dict[str, Any]:
        return {"x": list(self.x), "y": list(self.y), "given": list(self.given),
                "test": self.test, "statistic": float(self.statistic), "dof": self.dof,
                "p_value": float(self.p_value), "cmi": float(self.cmi),
                "n_used": int(self.n_used), **({"note": self.note} if self.note else {})}


def _result(x, y, given, test, statistic, dof, p_value, cmi, n_used) -> CITestResult:
    """A :class:`CITestResult` without the frozen dataclass's ``__init__`` (one
    ``object.__setattr__`` a field): the same object, built for the many small tests."""
    r = object.__new__(CITestResult)
    r.__dict__.update(x=x, y=y, given=given, test=test, statistic=statistic, dof=dof,
                      p_value=p_value, cmi=cmi, n_used=n_used, note="")
    return r


def _as_names(x: Names) -> Tuple[str, ...]:
    return (x,) if isinstance(x, str) else tuple(x)


def _is_real_column(values: Any) -> bool:
    dtype = getattr(values, "dtype", None)
    if dtype is None:
        return False
    import pandas as pd

    return bool(pd.api.types.is_float_dtype(dtype))


# -- counting ------------------------------------------------------------------------------
def combine_codes(columns: Sequence[np.ndarray],
                  cards: Sequence[int]) -> Tuple[np.ndarray, int]:
    """One code per row for several columns, and the number of codes.

    A mixed-radix code while it fits; past :data:`_CODE_LIMIT` the columns are folded in one
    at a time and the combinations renumbered (``np.unique``), so any number of columns works.
    """
    code, card = columns[0], int(cards[0])
    for col, k in zip(columns[1:], cards[1:]):
        if card * int(k) >= _CODE_LIMIT:
            uniq, code = np.unique(code, return_inverse=True)
            card = len(uniq)
        code = code * int(k) + col
        card *= int(k)
    return code, card


def occurring_strata(z: np.ndarray, z_card: int, inner: int) -> Tuple[np.ndarray, int]:
    """Renumber stratum codes ``z`` (below ``z_card``) to ``0..S-1`` over the strata that occur.

    ``inner`` is the number of cells per stratum: while the full table is small a count over
    all strata (linear) finds the occurring ones, else a sort does.
    """
    if z_card * inner <= max(_DENSE_CELLS, 4 * len(z)):
        if z_card == 1:
            return z, 1
        occurs = np.bincount(z, minlength=z_card) > 0
        if occurs.all():
            return z, z_card
        renumber = np.cumsum(occurs) - 1
        return renumber[z], int(occurs.sum())
    uniq, inverse = np.unique(z, return_inverse=True)
    return inverse.reshape(-1), len(uniq)


def _joint(columns: Sequence[np.ndarray], cards: Sequence[int]) -> Tuple[np.ndarray, int]:
    """Like :func:`combine_codes`, but numbered densely when there are several columns (a set on
    one side of a test: only its occurring combinations become states)."""
    if len(columns) == 1:
        return columns[0], int(cards[0])
    code, card = combine_codes(columns, cards)
    return occurring_strata(code, card, 1)


def stratified_table(x: np.ndarray, y: np.ndarray, z: np.ndarray, kx: int, ky: int,
                     kz: int, weights: Optional[np.ndarray] = None) -> np.ndarray:
    """Counts of shape ``(S, kx, ky)`` over the ``S`` strata of ``z`` that occur.

    ``z`` holds stratum codes below ``kz``; ``weights`` (row multiplicities) are optional.
    While the full table is small, one count over all of its cells is taken and the empty
    strata dropped afterwards (one pass over the rows); else the occurring strata are
    renumbered first (a sort).
    """
    dense = kz * kx * ky <= max(_DENSE_CELLS, 4 * len(z))
    if dense:
        s = kz
    else:
        z, s = occurring_strata(z, kz, kx * ky)
    check_limit("max_table_cells", s * kx * ky,
                f"a CI test's table ({s} strata x {kx} x {ky} states)",
                "a column with many distinct values (an identifier?) makes tests this large: "
                "drop it or bin it")
    flat = (z * kx + x) * ky + y if s > 1 else x * ky + y
    if weights is None:
        table = np.bincount(flat, minlength=s * kx * ky)
    else:
        table = np.rint(np.bincount(flat, weights=weights, minlength=s * kx * ky)).astype(np.int64)
    table = table.reshape(s, kx, ky)
    if dense and s > 1:
        occurs = table.reshape(s, -1).any(axis=1)
        if not occurs.all():
            table = table[occurs]
    return table


# -- statistics from a stratified table -----------------------------------------------------
#: a single test is counted from bitsets of the rows (:func:`bit_table`) while its full table
#: has at most this many cells: one AND and popcount over the rows' bits per cell then costs
#: less than the passes over the rows' codes and the ``bincount`` of the other way
_BIT_CELLS = 160

#: the bitsets of every variable's states take at most this many bytes (else codes only)
_BIT_BYTES = 1 << 28


def bit_table(bits: Sequence[np.ndarray], x: int, y: int, zs: Sequence[int]) -> np.ndarray:
    """The ``(S, |X|, |Y|)`` table of ``x, y`` over the occurring strata of ``zs`` from
    bitsets of the rows (``bits[v][k]``: the rows where ``v`` takes state ``k``, 64 to a
    word): each cell is the popcount of an AND of a stratum's, ``x``'s and ``y``'s bitsets.
    The strata are built one variable at a time and the empty ones dropped as they appear."""
    words = bits[x].shape[1]
    if zs:
        strata = bits[zs[0]]
        for z in zs[1:]:
            strata = (strata[:, None, :] & bits[z][None, :, :]).reshape(-1, words)
        occurs = np.bitwise_count(strata).sum(axis=1) > 0
        if not occurs.all():
            strata = strata[occurs]
        xz = strata[:, None, :] & bits[x][None, :, :]
    else:
        xz = bits[x][None, :, :]
    yb = bits[y]
    ky = len(yb)
    if ky > 1 and xz.size * ky >= _BIT_SUBTRACT_WORDS:
        # y's last state by subtraction from the stratum's x counts: (|Y| - 1) / |Y| of the
        # ANDs and popcounts, for three more calls (worth it once the words are many)
        n_xz = np.bitwise_count(xz).sum(axis=2, dtype=np.int64)
        cells = xz[:, :, None, :] & yb[None, None, :-1, :]
        head = np.bitwise_count(cells).sum(axis=3, dtype=np.int64)
        return np.concatenate([head, (n_xz - head.sum(axis=2))[:, :, None]], axis=2)
    cells = xz[:, :, None, :] & yb[None, None, :, :]
    return np.bitwise_count(cells).sum(axis=3).astype(np.int64)


#: :func:`bit_table` counts y's last state by subtraction from this many ANDed words on
_BIT_SUBTRACT_WORDS = 1 << 14


def _nlogn(counts: np.ndarray) -> float:
    c = counts[counts > 1]  # 0 ln 0 = 1 ln 1 = 0
    return float(np.dot(c, np.log(c)))


def g_statistic(table: np.ndarray) -> float:
    """``G = 2 sum n ln(n n_z / (n_xz n_yz))`` of a ``(S, kx, ky)`` table (no correction)."""
    n_xz, n_yz, n_z = table.sum(axis=2), table.sum(axis=1), table.sum(axis=(1, 2))
    g = 2.0 * (_nlogn(table) + _nlogn(n_z) - _nlogn(n_xz) - _nlogn(n_yz))
    return max(g, 0.0)  # rounding can leave -1e-13 where the table is exactly independent


def adjusted_dof(table: np.ndarray) -> int:
    """``sum_z (r_z - 1)(c_z - 1)`` over strata, ``r_z`` / ``c_z`` the occurring rows/columns."""
    rows = (table.sum(axis=2) > 0).sum(axis=1)
    cols = (table.sum(axis=1) > 0).sum(axis=1)
    return int(np.dot(np.clip(rows - 1, 0, None), np.clip(cols - 1, 0, None)))


def _expected(table: np.ndarray) -> np.ndarray:
    t = table.astype(np.float64)
    n_z = t.sum(axis=(1, 2), keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_z > 0, t.sum(axis=2, keepdims=True) * t.sum(axis=1, keepdims=True)
                        / np.where(n_z > 0, n_z, 1.0), 0.0)


def _yates(table: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Observed counts moved half a count towards the expected ones in strata whose table of
    occurring rows and columns is 2x2 (pgmpy's and ``scipy.stats.chi2_contingency``'s rule)."""
    rows = (table.sum(axis=2) > 0).sum(axis=1)
    cols = (table.sum(axis=1) > 0).sum(axis=1)
    one = ((rows - 1).clip(0) * (cols - 1).clip(0) == 1)[:, None, None]
    diff = expected - table
    return np.where(one, table + np.minimum(0.5, np.abs(diff)) * np.sign(diff), table)


def chi2_statistic(table: np.ndarray, yates: bool = False) -> float:
    """Pearson's ``X^2 = sum (n - E)^2 / E`` over cells with ``E > 0``."""
    expected = _expected(table)
    observed = _yates(table, expected) if yates else table
    safe = expected > 0
    return float(np.sum((observed[safe] - expected[safe]) ** 2 / expected[safe]))


def _g_yates(table: np.ndarray) -> float:
    expected = _expected(table)
    observed = _yates(table, expected)
    return float(np.sum(2.0 * (special.xlogy(observed, observed) - special.xlogy(observed, expected))))


def chi2_p_value(statistic: float, dof: int) -> float:
    """Upper tail of chi-square; 1 when there are no degrees of freedom (nothing to test)."""
    if dof <= 0:
        return 1.0
    return float(special.chdtrc(dof, statistic))


#: a batch of tests counts into one table of at most this many cells; larger batches are split
_BATCH_CELLS = 1 << 22


def batch_statistics(x: np.ndarray, kx: int, ys: Sequence[np.ndarray], kys: Sequence[int],
                     z: np.ndarray, kz: int, lut: np.ndarray, chi2: bool = False,
                     weights: Optional[np.ndarray] = None
                     ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``x _|_ y_b | z`` for every ``y_b`` at once: ``(statistic, dof, cmi, n)`` arrays.

    One count over the rows of every test (``b`` is the outer axis of one table padded to the
    largest ``|Y|``; padding cells hold no rows, so they add to neither the statistic nor the
    degrees of freedom) and one pass of numpy over the tables: the per-call overhead of numpy
    is paid once per batch instead of once per test.  ``lut[k] = k ln k``.  No missing values
    (codes ``>= 0``); ``z`` holds stratum codes below ``kz``; ``weights`` are row counts.
    """
    b = len(ys)
    ky = max(kys)
    if kz * kx * ky * b > _BATCH_CELLS and kz > 1:
        z, kz = occurring_strata(z, kz, 1 << 62)  # only the occurring strata
    if kz * kx * ky * b > _BATCH_CELLS and b > 1:
        half = b // 2
        first = batch_statistics(x, kx, ys[:half], kys[:half], z, kz, lut, chi2, weights)
        second = batch_statistics(x, kx, ys[half:], kys[half:], z, kz, lut, chi2, weights)
        return tuple(np.concatenate(pair) for pair in zip(first, second))  # type: ignore
    zx = (z * kx + x) * ky if kz > 1 else x * ky
    cells = kz * kx * ky
    flat = np.empty((b, len(zx)), dtype=np.int64)
    for k, y in enumerate(ys):  # one row of the count per test: no stacked copy of the ys
        np.add(zx, y, out=flat[k])
        if k:
            flat[k] += k * cells
    w = None if weights is None else np.tile(weights, b)
    counts = np.bincount(flat.ravel(), weights=w, minlength=b * cells)
    if w is not None:
        counts = np.rint(counts).astype(np.int64)
    return table_statistics(counts.reshape(b, kz, kx, ky), lut, chi2)


def table_statistics(t: np.ndarray, lut: np.ndarray, chi2: bool = False, yates: bool = False,
                     precise: bool = False
                     ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(statistic, dof, cmi, n)`` of a batch of tables of shape ``(B, strata, |X|, |Y|)``
    (integer counts; empty strata, rows and columns allowed).  ``yates`` moves the counts of
    strata with one degree of freedom half a count towards the expected ones (pgmpy's rule;
    the CMI stays the plug-in one).  ``precise`` computes G cell by cell as
    ``2 sum n ln(n / E)`` (a log per cell, slower) instead of from sums of ``n ln n`` over
    the table and its margins, whose terms are large and cancel: at 100,000 rows the
    difference leaves about 1e-9 of rounding, and a table that is exactly independent then
    gives exactly 0 (as pgmpy's formula does)."""
    # margins as products with vectors of ones: numpy's reductions over axes of two to four
    # entries cost several times more (all counts are integers, exact in float64)
    b, s, kx, ky = t.shape
    tf = t.astype(np.float64)
    f_xz = (tf.reshape(-1, ky) @ ones_vector(ky)).reshape(b, s, kx)
    f_yz = tf[:, :, 0, :].copy()
    for a in range(1, kx):
        f_yz += tf[:, :, a, :]
    f_z = (f_yz.reshape(-1, ky) @ ones_vector(ky)).reshape(b, s)
    n = np.rint(f_z @ ones_vector(s)).astype(np.int64)
    rows = np.maximum(((f_xz > 0).reshape(-1, kx) @ ones_vector(kx)).reshape(b, s) - 1.0, 0.0)
    cols = np.maximum(((f_yz > 0).reshape(-1, ky) @ ones_vector(ky)).reshape(b, s) - 1.0, 0.0)
    dof = np.rint((rows * cols) @ ones_vector(s)).astype(np.int64)
    n_xz, n_yz, n_z = f_xz.astype(np.intp), f_yz.astype(np.intp), f_z.astype(np.intp)
    take = lut.take
    g = 2.0 * (take(t).reshape(b, -1) @ ones_vector(s * kx * ky) + take(n_z) @ ones_vector(s)
               - take(n_xz).reshape(b, -1) @ ones_vector(s * kx) - take(n_yz).reshape(b, -1)
               @ ones_vector(s * ky))
    g = np.maximum(g, 0.0)
    cmi = np.where(n > 0, g / np.maximum(2 * n, 1), 0.0)
    stat = g
    if precise and not chi2:
        # 2 sum (n ln n - n ln E), pgmpy's formula term for term (so its numbers to the last
        # digits; n ln(n / E) differs from it by 1e-11 where the terms cancel)
        expected = f_xz[..., None] * f_yz[:, :, None, :] / np.maximum(f_z, 1.0)[..., None, None]
        plain = np.maximum(_g_cells(tf, expected, b), 0.0)
        cmi = np.where(n > 0, plain / np.maximum(2 * n, 1), 0.0)
        stat = plain
        if yates:
            one = (rows * cols == 1)[..., None, None]
            if one.any():
                diff = expected - tf
                obs = np.where(one, tf + np.minimum(0.5, np.abs(diff)) * np.sign(diff), tf)
                stat = np.maximum(_g_cells(obs, expected, b), 0.0)
        return stat, dof, cmi, n
    if chi2:
        expected = (n_xz[..., None] * n_yz[:, :, None, :]
                    / np.maximum(n_z, 1)[..., None, None].astype(np.float64))
        observed = (_yates(t.reshape(-1, *t.shape[2:]), expected.reshape(-1, *t.shape[2:]))
                    .reshape(t.shape) if yates else t)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(expected > 0, (observed - expected) ** 2 / expected, 0.0)
        stat = terms.sum(axis=(1, 2, 3))
    elif yates:
        # only strata with one degree of freedom change: their G is recomputed there
        bs, zs = np.nonzero(rows * cols == 1)
        if len(bs):
            sub, sxz, syz, sz = t[bs, zs], n_xz[bs, zs], n_yz[bs, zs], n_z[bs, zs]
            plain = (lut[sub].sum(axis=(1, 2)) + lut[sz] - lut[sxz].sum(axis=1)
                     - lut[syz].sum(axis=1))
            expected = sxz[:, :, None] * syz[:, None, :] / np.maximum(sz, 1)[:, None, None]
            observed = _yates(sub, expected)
            fixed = (special.xlogy(observed, observed)
                     - special.xlogy(observed, expected)).sum(axis=(1, 2))
            stat = np.maximum(g + 2.0 * np.bincount(bs, weights=fixed - plain, minlength=len(g)),
                              0.0)  # rounding can leave -1e-11 where a table is independent
    return stat, dof, cmi, n


def _g_cells(observed: np.ndarray, expected: np.ndarray, b: int) -> np.ndarray:
    """``2 sum (o ln o - o ln E)`` per table of a batch of ``b``, over the occupied cells only
    (``xlogy`` is slow, and padding and empty cells are many)."""
    flat = observed.reshape(-1)
    at = np.flatnonzero(flat)
    o, e = flat[at], expected.reshape(-1)[at]
    terms = special.xlogy(o, o) - special.xlogy(o, e)
    return 2.0 * np.bincount(at // (flat.size // b), weights=terms, minlength=b)


_ONES: Dict[int, np.ndarray] = {}


def ones_vector(k: int) -> np.ndarray:
    """A cached vector of ``k`` ones (read-only by convention).

    Sums over a short last axis are taken as ``table @ ones_vector(k)``: numpy's reductions
    over axes of 2-4 entries cost several times more than the matrix product.
    """
    got = _ONES.get(k)
    if got is None:
        got = _ONES[k] = np.ones(k)
    return got


def pairwise_counts(columns: Sequence[np.ndarray], cards: Sequence[int],
                    chunk: int = 1 << 15) -> Tuple[np.ndarray, np.ndarray]:
    """The joint counts of every pair of columns at once: ``(gram, offsets)`` with the table of
    columns ``i, j`` at ``gram[offsets[i]:offsets[i+1], offsets[j]:offsets[j+1]]``.

    The rows are one-hot encoded (one block of ``card`` columns per variable) and the counts
    are the Gram matrix ``O^T O``, one matrix product per chunk of rows: every pairwise
    table for the price of one BLAS call instead of one pass over the rows per pair.  Each
    chunk's float32 sums stay below 2^24, so the counts are exact.  No missing values.
    """
    offsets = np.concatenate([[0], np.cumsum(cards)]).astype(np.int64)
    total = int(offsets[-1])
    n = len(columns[0]) if columns else 0
    gram = np.zeros((total, total), dtype=np.float64)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        onehot = np.zeros((stop - start, total), dtype=np.float32)
        rows = np.arange(stop - start)
        for col, off in zip(columns, offsets[:-1]):
            onehot[rows, col[start:stop] + off] = 1.0
        gram += onehot.T @ onehot
    return np.rint(gram).astype(np.int64), offsets


#: the distinct rows replace the rows of packed counts from this many rows on, when they are
#: at most 60% of them (below it, finding them costs about what they save)
_COMPRESS_ROWS = 30000

#: one count of :meth:`PackedColumns.tables` spans at most this many cells (more tests: halves)
_TABLE_CELLS = 1 << 24

#: one pack of tests counts into at most this many cells (its count stays in the cache)
_PACK_CELLS = 1 << 15


def pack_by_product(items: Iterable[int], card: Callable[[int], int],
                    room: int) -> List[List[int]]:
    """Group ``items`` (largest ``card`` first) into packs whose cards multiply to at most
    ``room`` (a single item larger than ``room`` gets a pack of its own): each pack's values
    then combine into one mixed-radix code below ``room``, counted by one ``bincount``."""
    packs: List[List[int]] = []
    size = 0
    for i in sorted(items, key=lambda i: -card(i)):
        k = card(i)
        if packs and size * k <= room:
            packs[-1].append(i)
            size *= k
        else:
            packs.append([i])
            size = k
    return packs


class PackedColumns:
    """The variables of a data set in fixed packs, each pack's mixed-radix code made once.

    For a pack size ``R`` the variables (most states first) are grouped greedily into packs of
    at most ``R`` joint states and each pack's code is stored (int32): a batch of tests
    ``x _|_ y | zs`` then needs one addition per pack, not a multiply-add per ``y``, before
    its one count (:meth:`tables`).  Sizes are powers of four, made when first asked for.
    """

    def __init__(self, columns: Sequence[np.ndarray], cards: Sequence[int],
                 weights: Optional[np.ndarray] = None) -> None:
        self.columns, self.cards, self.weights = columns, [int(k) for k in cards], weights
        self.n = len(columns[0]) if len(columns) else 0
        self._levels: Dict[int, Tuple[List[List[int]], List[np.ndarray], List[int],
                                      Dict[int, Tuple[int, int]]]] = {}

    def level(self, room: int):
        """``(packs, codes, caps, where)`` for the largest pack size at most ``room``."""
        size = 1
        while size * 4 <= room:
            size *= 4
        got = self._levels.get(size)
        if got is None:
            packs = pack_by_product(range(len(self.cards)), self.cards.__getitem__, size)
            codes, caps, where = [], [], {}
            buf = np.empty(self.n, dtype=np.int32)
            for q, pack in enumerate(packs):
                code = np.zeros(self.n, dtype=np.int32)
                inner = 1
                for j in reversed(range(len(pack))):
                    v = pack[j]
                    np.multiply(self.columns[v], np.int32(inner), out=buf, dtype=np.int32)
                    code += buf
                    where[v] = (q, j)
                    inner *= self.cards[v]
                codes.append(code)
                caps.append(inner)
            got = (packs, codes, caps, where)
            self._levels[size] = got
        return got

    def tables(self, x: int, ys: Sequence[int], zs: Sequence[int]) -> np.ndarray:
        """The tables of ``x _|_ y | zs`` for every ``y`` in ``ys``: ``(B, strata, |X|,
        max|Y|)`` integer counts over the strata of ``zs`` that occur (padding holds no rows).

        The codes of the packs holding a ``y`` are shifted past the stratum and ``x``, all
        counted by one ``bincount``, and each test's table is a marginal of its pack's count
        (a small matrix product).
        """
        cards = self.cards
        kx = cards[x]
        kz = 1
        for z in zs:
            kz *= cards[z]
        ku = kz * kx
        # a pack's count should not outgrow the rows much (zeroing and reading it costs too)
        packs, codes, caps, where = self.level(
            max(min(_PACK_CELLS, max(self.n // 2, 1024)) // ku, 1))
        used = sorted({where[y][0] for y in ys})
        stride = max(caps[q] for q in used)
        if len(used) * ku * stride > _TABLE_CELLS and len(ys) > 1:
            # a variable with many states makes every pack as wide: count in halves
            half = len(ys) // 2
            first, second = self.tables(x, ys[:half], zs), self.tables(x, ys[half:], zs)
            ky = max(first.shape[3], second.shape[3])
            pad = lambda t: np.pad(t, ((0, 0), (0, 0), (0, 0), (0, ky - t.shape[3])))  # noqa
            return np.concatenate([pad(first), pad(second)])
        itype = np.int32 if len(used) * ku * stride < 1 << 31 else np.int64
        base = np.multiply(self.columns[x], itype(stride), dtype=itype)
        buf = np.empty(self.n, dtype=itype)
        step = stride * kx
        for z in reversed(list(zs)):
            np.multiply(self.columns[z], itype(step), out=buf, dtype=itype)
            base += buf
            step *= cards[z]
        flat = np.empty((len(used), self.n), dtype=itype)
        for i, q in enumerate(used):
            np.add(base, codes[q], out=flat[i])
            if i:
                flat[i] += itype(i * ku * stride)
        w = None if self.weights is None else np.tile(self.weights, len(used))
        counts = np.bincount(flat.ravel(), weights=w, minlength=len(used) * ku * stride)
        counts = counts.reshape(len(used), kz, kx * stride)
        occurs = counts[0].any(axis=1)  # every test of the batch has the same strata
        if not occurs.all():
            counts = counts[:, occurs]
        s = counts.shape[1]
        counts = counts.reshape(len(used), s * kx, stride).astype(np.float64)
        ky = max(cards[y] for y in ys)
        tables = np.zeros((len(ys), s, kx, ky), dtype=np.int64)
        slots: Dict[int, List[Tuple[int, int]]] = {}
        for b, y in enumerate(ys):
            q, j = where[y]
            slots.setdefault(q, []).append((b, j))
        for i, q in enumerate(used):
            ks = tuple(cards[v] for v in packs[q])
            width = max(ks)
            got = counts[i, :, :caps[q]] @ marginal_sum_matrix(ks, width)
            got = np.rint(got).astype(np.int64).reshape(s, kx, len(ks), width)
            bs, js = zip(*slots[q])
            keep = min(width, ky)
            tables[list(bs), :, :, :keep] = got[:, :, list(js), :keep].transpose(2, 0, 1, 3)
        return tables


_MARGINALS: Dict[Tuple[Tuple[int, ...], int], np.ndarray] = {}


def marginal_sum_matrix(ks: Tuple[int, ...], width: int) -> np.ndarray:
    """The 0/1 matrix taking a count over the mixed-radix codes of variables with ``ks``
    states (the last varying fastest) to each variable's own count, ``width`` columns per
    variable: ``(prod(ks), len(ks) * width)``.  Kept, since the same shapes recur."""
    key = (ks, width)
    m = _MARGINALS.get(key)
    if m is None:
        cap = int(np.prod(ks))
        m = np.zeros((cap, len(ks) * width))
        before = 1
        for j, k in enumerate(ks):
            after = cap // (before * k)
            block = np.kron(np.kron(np.ones((before, 1)), np.eye(k)), np.ones((after, 1)))
            m[:, j * width:j * width + k] = block
            before *= k
        if len(_MARGINALS) < 4096:
            _MARGINALS[key] = m
    return m


def batch_p_values(stat: np.ndarray, dof: np.ndarray) -> np.ndarray:
    """``chdtrc`` over arrays; 1 where there are no degrees of freedom."""
    with np.errstate(invalid="ignore"):
        p = special.chdtrc(np.maximum(dof, 1), stat)
    return np.where(dof > 0, p, 1.0)


# -- the tester -------------------------------------------------------------------------------
class CITester:
    """Conditional-independence tests on one data set (encoded once, tested many times).

    Parameters
    ----------
    data
        A pandas DataFrame, a ``{column: values}`` mapping or a :class:`DiscreteData`.
    test
        ``"auto"`` (the default: Fisher's z when every column is floating point or every
        variable of ``net`` is Gaussian, else the G-test), ``"g"``, ``"chi2"``,
        ``"fisher_z"`` or ``"cg"`` (the conditional-Gaussian likelihood ratio of
        :mod:`~pgm_ar.learning.cg_test`, for discrete and real columns together: the real
        ones are ``net``'s Gaussian variables, or without ``net`` the floating-point
        columns).
    net
        Optional network whose variables' states encode discrete data
        (:func:`~pgm_ar.learning.data.discrete_data`).
    yates
        Apply Yates' continuity correction to 2x2 strata (as pgmpy does); off by default.

    >>> import pandas as pd
    >>> t = CITester(pd.DataFrame({"a": [0, 0, 1, 1] * 25, "b": [0, 1, 0, 1] * 25}))
    >>> r = t.test("a", "b")
    >>> r.statistic, r.dof, r.p_value
    (0.0, 1, 1.0)
    """

    def __init__(self, data: Any, test: Union[str, CITest] = "auto", *,
                 net: Optional[BayesNet] = None, yates: bool = False) -> None:
        kind = parse_enum(CITest, test, "CI test")
        self.yates = bool(yates)
        if kind is CITest.AUTO:
            kind = CITest.FISHER_Z if _all_real(data, net) else CITest.G
        self.kind = kind
        if kind is CITest.FISHER_Z:
            self._real = _real_matrix(data, net)
            self.names = self._real[0]
            self._cov: Optional[np.ndarray] = None
        elif kind is CITest.CG:
            self.names, self._where, self._mixed_codes, self._mixed_cards, self._mixed_reals = (
                _mixed_columns(data, net))
        else:
            self.data: DiscreteData = discrete_data(data, net)
            self.names = self.data.names
            # one contiguous array per column: a test reads 2 + |Z| columns, and a column of a
            # C-ordered matrix is strided (about 3x slower to combine)
            self._cols = [np.ascontiguousarray(self.data.codes[:, j]) for j in range(len(self.names))]
            self._cards = self.data.cards
            self._missing = self.data.has_missing
        self._index = {n: i for i, n in enumerate(self.names)}
        self.n_tests = 0

    @property
    def n_rows(self) -> int:
        if self.kind is CITest.CG:
            return int(self._mixed_reals.shape[0])
        return int(self._real[1].shape[0]) if self.kind is CITest.FISHER_Z else self.data.n_rows

    def is_real(self, name: str) -> bool:
        """Whether column ``name`` is real-valued (for the conditional-Gaussian test: its
        real columns; for the others: whether the tester is Fisher's z)."""
        if self.kind is CITest.CG:
            return self._where[self.index(name)][0]
        return self.kind is CITest.FISHER_Z

    def cg_testable(self, x: Names, y: Names, given: Names = ()) -> bool:
        """Whether the conditional-Gaussian test applies to ``x _|_ y | given``: the
        conditioning set is all discrete, or one side is all real (see
        :func:`~pgm_ar.learning.cg_test.cg_testable`)."""
        from .cg_test import cg_testable

        parts = [[n for n in _as_names(v) if self.is_real(n) == r]
                 for v in (x, y, given) for r in (False, True)]
        return cg_testable(*parts)

    def index(self, name: str) -> int:
        try:
            return self._index[name]
        except (KeyError, TypeError):
            from ..utils.suggest import did_you_mean

            raise DataError("no such column" + did_you_mean(str(name), self.names),
                            column=str(name)) from None

    def _ids(self, names: Names) -> List[int]:
        return [self.index(n) for n in _as_names(names)]

    def test(self, x: Names, y: Names, given: Names = ()) -> CITestResult:
        """Test ``x _|_ y | given`` (each a name or a list of names)."""
        if type(x) is str and type(y) is str and type(given) in (tuple, list) \
                and self.kind is not CITest.CG:
            # the common case (one variable a side, the given as a list of names) without the
            # general normalisation: at small tables it is most of a test's cost
            index = self._index
            try:
                ids = [index[x], index[y], *[index[g] for g in given]]
            except (KeyError, TypeError):
                pass  # the general path below names the offending column
            else:
                if len(set(ids)) == len(ids):
                    stat, dof, p, cmi, n, name = self.run(ids[:1], ids[1:2], ids[2:])
                    return _result((x,), (y,), tuple(sorted(given)), name, stat, dof, p, cmi, n)
        xi, yi, zi = self._ids(x), self._ids(y), self._ids(given)
        if not xi or not yi:
            raise PgmArError("a test of independence needs variables on both sides")
        overlap = (set(xi) & set(yi)) | ((set(xi) | set(yi)) & set(zi))
        if overlap:
            raise PgmArError(f"variable(s) {sorted(self.names[i] for i in overlap)} appear on "
                             "two sides of the test")
        names = lambda ids: tuple(sorted(self.names[i] for i in ids))  # noqa: E731
        if self.kind is CITest.CG:
            self.n_tests += 1
            got = self._cg(xi, yi, zi)
            return CITestResult(names(xi), names(yi), names(zi), "cg", got.statistic, got.dof,
                                got.p_value, got.cmi, got.n_used, got.note)
        stat, dof, p, cmi, n, name = self.run(xi, yi, zi)
        return CITestResult(names(xi), names(yi), names(zi), name, stat, dof, p, cmi, n)

    def test_many(self, x: str, ys: Sequence[str], given: Names = ()) -> List[CITestResult]:
        """``x _|_ y | given`` for each ``y`` in ``ys``: as many :meth:`test` calls, but counted
        in one pass (discrete tests of single variables without Yates' correction and with no
        missing values; otherwise one test at a time)."""
        xi, zi = self.index(x), self._ids(given)
        yis = [self.index(y) for y in ys]
        if (self.kind in (CITest.FISHER_Z, CITest.CG) or self.yates or self._missing or not yis
                or any(y == xi or y in zi for y in yis) or xi in zi):
            return [self.test(x, y, given) for y in ys]
        z, kz = (combine_codes([self._cols[i] for i in zi], [self._cards[i] for i in zi]) if zi
                 else (np.zeros(self.n_rows, dtype=np.int64), 1))
        stat, dof, cmi, n = batch_statistics(
            self._cols[xi], self._cards[xi], [self._cols[y] for y in yis],
            [self._cards[y] for y in yis], z, kz, self._nlogn_lut(self.n_rows),
            chi2=self.kind is CITest.CHI2)
        p = batch_p_values(stat, dof)
        self.n_tests += len(yis)
        name = "chi2" if self.kind is CITest.CHI2 else "g"
        zs = tuple(sorted(self.names[i] for i in zi))
        return [CITestResult((self.names[xi],), (self.names[y],), zs, name, float(stat[k]),
                             int(dof[k]), float(p[k]), float(cmi[k]), int(n[k]))
                for k, y in enumerate(yis)]

    def test_pairs(self, tests: Iterable[Tuple[str, str, Names]]) -> List[CITestResult]:
        """Run many tests ``(x, y, given)`` of single variables at once, in the given order.

        The tests sharing ``x`` and ``given`` are counted together (see
        :class:`PackedColumns`) and every p-value comes from one vectorised call: the way to
        test all local Markov statements of a network (split into pairs).  Tests of real-valued
        data, with missing values, or whose variables repeat run one at a time.
        """
        tests = [(x, y, _as_names(z)) for x, y, z in tests]
        if self.kind in (CITest.FISHER_Z, CITest.CG) or self._missing:
            return [self.test(x, y, z) for x, y, z in tests]
        groups: Dict[Tuple[int, Tuple[int, ...]], List[Tuple[int, int]]] = {}
        out: List[Optional[CITestResult]] = [None] * len(tests)
        index, given_ids = self._index, {}
        for k, (x, y, z) in enumerate(tests):
            xi, yi = index.get(x), index.get(y)
            if xi is None or yi is None:
                xi, yi = self.index(x), self.index(y)  # raises, naming the column
            zi = given_ids.get(z)
            if zi is None:
                zi = given_ids[z] = tuple(sorted(self._ids(z)))
            if xi == yi or xi in zi or yi in zi:
                out[k] = self.test(x, y, z)  # raises the usual error
                continue
            groups.setdefault((xi, zi), []).append((k, yi))
        if not groups:
            return out  # type: ignore[return-value]
        packed = self._packed()
        lut = self._nlogn_lut(self.n_rows)
        chi2 = self.kind is CITest.CHI2
        parts, order = [], []
        for (xi, zi), members in groups.items():
            yis = [y for _, y in members]
            kz = 1
            for z in zi:
                kz *= self._cards[z]
            if kz * self._cards[xi] > _PACK_CELLS:  # too many strata for a dense count
                if zi:
                    z, kz = combine_codes([self._cols[i] for i in zi], [self._cards[i] for i in zi])
                    z, kz = occurring_strata(z, kz, 1 << 62)
                else:
                    z, kz = np.zeros(self.n_rows, dtype=np.int64), 1
                b = len(yis)
                ky = max(self._cards[y] for y in yis)
                zx = z * self._cards[xi] + self._cols[xi]
                flat = np.concatenate([(zx * ky + self._cols[y]) + j * kz * self._cards[xi] * ky
                                       for j, y in enumerate(yis)])
                tables = np.bincount(flat, minlength=b * kz * self._cards[xi] * ky).reshape(
                    b, kz, self._cards[xi], ky)
            else:
                tables = packed.tables(xi, yis, zi)
            parts.append(table_statistics(tables, lut, chi2, self.yates, precise=True))
            order.append((xi, zi, members))
        stat, dof, cmi, n = (np.concatenate(a) for a in zip(*parts))
        p = batch_p_values(stat, dof)
        self.n_tests += len(stat)
        name = "chi2" if chi2 else "g"
        values = zip(stat.tolist(), dof.tolist(), p.tolist(), cmi.tolist(), n.tolist())
        names = self.names
        for xi, zi, members in order:
            zs = tuple(sorted(names[i] for i in zi))
            xs = (names[xi],)
            for (k, yi), (st, df, pv, mi, nu) in zip(members, values):
                out[k] = CITestResult(xs, (names[yi],), zs, name, st, int(df), pv, mi, int(nu))
        return out  # type: ignore[return-value]

    def _packed(self) -> "PackedColumns":
        """The codes in packs (:class:`PackedColumns`), over the distinct rows with their
        multiplicities when those are much fewer than the rows, each column in the smallest
        integer type that holds it; made once: batches read the codes once each, and the
        fewer and smaller they are the faster."""
        packed = getattr(self, "_packed_columns", None)
        if packed is None:
            from .pc import distinct_rows  # pc builds on this module

            cols, weights = list(self._cols), None
            if len(cols) > 1 and self.n_rows >= _COMPRESS_ROWS:
                got = distinct_rows(cols, self._cards, most=int(0.6 * self.n_rows))
                if got is not None:
                    cols, weights = got[0], got[1].astype(np.float64)
            top = max(self._cards, default=1)
            dtype = np.uint8 if top <= 255 else (np.uint16 if top <= 65535 else np.int32)
            packed = PackedColumns([c.astype(dtype) for c in cols], self._cards, weights)
            self._packed_columns = packed
        return packed

    def run(self, xi: Sequence[int], yi: Sequence[int], zi: Sequence[int]):
        """The test on column numbers: ``(statistic, dof, p_value, cmi, n_used, test name)``."""
        self.n_tests += 1
        if self.kind is CITest.FISHER_Z:
            return self._gaussian(list(xi), list(yi), list(zi))
        if self.kind is CITest.CG:
            got = self._cg(xi, yi, zi)
            return got.statistic, got.dof, got.p_value, got.cmi, got.n_used, "cg"
        return self._discrete(list(xi), list(yi), list(zi))

    # -- discrete ------------------------------------------------------------------------
    def table(self, xi: Sequence[int], yi: Sequence[int], zi: Sequence[int]) -> np.ndarray:
        """The ``(S, |X|, |Y|)`` table of counts over the occurring strata of ``Z``."""
        if len(xi) == 1 and len(yi) == 1 and not self._missing:
            cells = self._cards[xi[0]] * self._cards[yi[0]]
            for z in zi:
                cells *= self._cards[z]
            if cells <= _BIT_CELLS:
                bits = self._bitsets()
                if bits is not None:
                    return bit_table(bits, xi[0], yi[0], zi)
        cols = [self._cols[i] for i in (*xi, *yi, *zi)]
        if self._missing:
            keep = np.ones(self.n_rows, dtype=bool)
            for c in cols:
                keep &= c >= 0
            if not keep.all():
                cols = [c[keep] for c in cols]
        nx_, ny_ = len(xi), len(yi)
        cards = [self._cards[i] for i in (*xi, *yi, *zi)]
        x, kx = _joint(cols[:nx_], cards[:nx_])
        y, ky = _joint(cols[nx_:nx_ + ny_], cards[nx_:nx_ + ny_])
        if len(zi):
            z, kz = combine_codes(cols[nx_ + ny_:], cards[nx_ + ny_:])
        else:
            z, kz = np.zeros(len(x), dtype=np.int64), 1
        return stratified_table(x, y, z, kx, ky, kz)

    def _bitsets(self) -> Optional[List[np.ndarray]]:
        """Per variable, one bitset of the rows per state (``(card, words)`` uint64), made
        once; ``None`` when they would take more than :data:`_BIT_BYTES`."""
        bits = getattr(self, "_bits", False)
        if bits is False:
            words = (self.n_rows + 63) // 64
            bits = None
            if sum(self._cards) * words * 8 <= _BIT_BYTES and self.n_rows:
                bits = []
                for col, k in zip(self._cols, self._cards):
                    onehot = col[None, :] == np.arange(k)[:, None]
                    packed = np.packbits(onehot, axis=1, bitorder="little")
                    full = np.zeros((k, words * 8), dtype=np.uint8)
                    full[:, :packed.shape[1]] = packed
                    bits.append(full.view(np.uint64))
            self._bits = bits
        return bits

    def _discrete(self, xi, yi, zi):
        table = self.table(xi, yi, zi)
        return self.from_table(table)

    def from_table(self, table: np.ndarray):
        """``(statistic, dof, p, cmi, n, name)`` of a stratified table, by this tester's test.

        The table's strata must all be non-empty (as :meth:`table` gives them).
        """
        # The G statistic and the degrees of freedom in a dozen numpy calls: n ln n is looked
        # up in a table of every count up to the number of rows (PC runs thousands of tests,
        # and per-call overhead, not arithmetic, is what a small table costs).
        add = np.add.reduce  # the ufunc itself: .sum() and count_nonzero(axis=) wrap it
        n_xz, n_yz = add(table, axis=2), add(table, axis=1)
        n_z = add(n_xz, axis=1)
        n = int(add(n_z))
        rows, cols = add(n_xz > 0, axis=1), add(n_yz > 0, axis=1)
        dof = int(np.dot(rows - 1, cols - 1)) if len(n_z) else 0  # every stratum occurs
        lut = self._nlogn_lut(n)
        # every count and margin in one vector, one lookup and one segmented sum: three calls
        # for what four lookups and four sums cost
        cells, strata = table.size, len(n_z)
        terms = lut.take(np.concatenate((table.ravel(), n_z, n_xz.ravel(), n_yz.ravel())))
        t_xyz, t_z, t_margins = np.add.reduceat(terms, (0, cells, cells + strata)) \
            if strata else (0.0, 0.0, 0.0)
        g = 2.0 * (t_xyz + t_z - t_margins)
        g = max(float(g), 0.0)  # rounding leaves -1e-13 where the table is exactly independent
        cmi = g / (2 * n) if n else 0.0
        if self.kind is CITest.CHI2:
            stat, name = chi2_statistic(table, self.yates), "chi2"
        else:
            stat, name = (_g_yates(table) if self.yates else g), "g"
        return stat, dof, chi2_p_value(stat, dof), cmi, n, name

    def _nlogn_lut(self, n: int) -> np.ndarray:
        lut = getattr(self, "_lut", None)
        if lut is None or len(lut) <= n:
            counts = np.arange(max(n, self.n_rows) + 1, dtype=np.float64)
            lut = special.xlogy(counts, counts)
            self._lut = lut
        return lut

    # -- mixed ---------------------------------------------------------------------------
    def _cg(self, xi, yi, zi):
        from .cg_test import cg_statistic, cg_testable

        parts = {}
        for side, ids in (("x", xi), ("y", yi), ("z", zi)):
            parts[side + "_d"] = [self._where[i][1] for i in ids if not self._where[i][0]]
            parts[side + "_r"] = [self._where[i][1] for i in ids if self._where[i][0]]
        if not cg_testable(**parts):
            raise PgmArError(
                "no conditional-Gaussian test of " + ", ".join(self.names[i] for i in xi)
                + " against " + ", ".join(self.names[i] for i in yi) + " given real-valued "
                "variables: with discrete variables on both sides they would have to depend "
                "on real ones; test a side of real variables only, or condition on discrete ones")
        return cg_statistic(self._mixed_codes, self._mixed_cards, self._mixed_reals, **parts)

    # -- real-valued -----------------------------------------------------------------------
    def _gaussian(self, xi, yi, zi):
        names, values = self._real
        idx = [*xi, *yi, *zi]
        sub = values[:, idx]
        if np.isnan(sub).any():
            sub = sub[~np.isnan(sub).any(axis=1)]
            cov = np.cov(sub, rowvar=False) if len(sub) > 1 else np.full((len(idx),) * 2, np.nan)
        else:
            if self._cov is None:  # one covariance of every column serves every test
                full = values[~np.isnan(values).any(axis=1)] if np.isnan(values).any() else values
                self._cov = np.atleast_2d(np.cov(full, rowvar=False))
            cov = self._cov[np.ix_(idx, idx)]
        n = len(sub)
        k = len(zi)
        if n - k - 3 < 1:
            raise DataError(f"too few complete rows ({n}) to test "
                            f"{', '.join(names[i] for i in xi)} against "
                            f"{', '.join(names[i] for i in yi)} given {k} variable(s)")
        if len(xi) == 1 and len(yi) == 1:
            prec = _inverse(cov, names, idx)
            r = float(-prec[0, 1] / np.sqrt(prec[0, 0] * prec[1, 1]))
            r = min(max(r, -1.0), 1.0)
            cmi = -0.5 * np.log1p(-r * r) if abs(r) < 1 else float("inf")
            # pgmpy clips the same way: a perfect correlation gives a large, finite z
            rc = min(max(r, -0.999999), 0.999999)
            z = float(np.sqrt(n - k - 3) * np.arctanh(rc))
            return z, None, float(2.0 * special.ndtr(-abs(z))), float(cmi), n, "fisher_z"
        a, b = len(xi), len(yi)
        sets = {"xz": list(range(a)) + list(range(a + b, a + b + k)),
                "yz": list(range(a, a + b + k)), "z": list(range(a + b, a + b + k)),
                "xyz": list(range(a + b + k))}
        logdet = {key: (_logdet(cov[np.ix_(ix, ix)], names, idx) if ix else 0.0)
                  for key, ix in sets.items()}
        cmi = max(0.5 * (logdet["xz"] + logdet["yz"] - logdet["z"] - logdet["xyz"]), 0.0)
        stat = 2.0 * n * cmi
        return stat, a * b, chi2_p_value(stat, a * b), float(cmi), n, "gaussian_lr"


def _singular(names, idx) -> DataError:
    return DataError("the covariance of " + ", ".join(names[i] for i in idx) + " is singular "
                     "(a constant column, or one that is a linear function of others); "
                     "drop or merge it")


def _inverse(cov: np.ndarray, names, idx) -> np.ndarray:
    try:
        return np.linalg.inv(cov)
    except np.linalg.LinAlgError:
        raise _singular(names, idx) from None


def _logdet(cov: np.ndarray, names, idx) -> float:
    sign, value = np.linalg.slogdet(cov)
    if sign <= 0:
        raise _singular(names, idx)
    return float(value)


def _all_real(data: Any, net: Optional[BayesNet]) -> bool:
    if isinstance(data, DiscreteData):
        return False
    if net is not None:
        return all(not v.is_discrete for v in net.variables)
    from ..tabular_data import columns_of

    cols = columns_of(data)
    return bool(cols) and all(_is_real_column(c) for c in cols.values())


def _real_matrix(data: Any, net: Optional[BayesNet]) -> Tuple[Tuple[str, ...], np.ndarray]:
    if isinstance(data, DiscreteData):
        raise DataError("Fisher's z needs real-valued columns, not discrete codes")
    from ..tabular_data import columns_of

    cols = columns_of(data)
    if net is not None:
        cols = {n: cols[n] for n in net.names if n in cols}
    names, out = [], []
    for name, col in cols.items():
        try:
            out.append(np.asarray(col, dtype=np.float64))
        except (TypeError, ValueError):
            raise DataError("is not numeric; Fisher's z needs real-valued columns (use "
                            "test='g' for discrete ones)", column=name) from None
        names.append(name)
    if not names:
        raise DataError("the data has no columns")
    return tuple(names), np.stack(out, axis=1)


def _mixed_columns(data: Any, net: Optional[BayesNet]):
    """``(names, where, codes, cards, reals)`` for the conditional-Gaussian test: each
    column is discrete (encoded as :func:`discrete_data` does, with ``net``'s states when
    given) or real (float64, NaN missing); ``where[i] = (is_real, column number)``.
    Without a network, floating-point columns are the real ones."""
    import pandas as pd

    from ..tabular_data import columns_of

    if isinstance(data, DiscreteData):
        raise DataError("the conditional-Gaussian test needs the data's columns, not codes")
    cols = columns_of(data)
    if net is not None:
        names = [n for n in net.names if n in cols]
        real = set()
        for n in names:
            var = net.variable(n)
            if not var.is_discrete_scalar:
                if not isinstance(var, Gaussian):
                    raise DataError(f"variable {n!r} is neither discrete nor Gaussian; the "
                                    "conditional-Gaussian test cannot use it")
                real.add(n)
    else:
        names = list(cols)
        real = {n for n in names if _is_real_column(cols[n])}
    if not names:
        raise DataError("the data has no columns")
    disc = [n for n in names if n not in real]
    if disc:
        sub = BayesNet([net.variable(n) for n in disc], name=net.name) if net is not None else None
        dd = discrete_data({n: cols[n] for n in disc}, sub)
        codes, cards = dd.codes, dd.cards
    else:
        codes, cards = None, ()
    reals = []
    for n in names:
        if n not in real:
            continue
        given = pd.Series(np.asarray(cols[n], dtype=object))
        values = pd.to_numeric(given, errors="coerce")
        bad = values.isna() & given.notna() & (given.astype(str).str.strip() != "")
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError("is not a number; the variable is real-valued", column=n, row=i,
                            value=given.iloc[i])
        reals.append(values.to_numpy(dtype=np.float64))
    n_rows = len(codes) if codes is not None else len(reals[0])
    if codes is None:
        codes = np.zeros((n_rows, 0), dtype=np.int64)
    reals_m = np.stack(reals, axis=1) if reals else np.zeros((n_rows, 0))
    if len(reals_m) != n_rows:
        raise DataError(f"the real-valued columns have {len(reals_m)} rows, the discrete "
                        f"ones {n_rows}")
    where, d_pos, r_pos = [], 0, 0
    for n in names:
        if n in real:
            where.append((True, r_pos))
            r_pos += 1
        else:
            where.append((False, d_pos))
            d_pos += 1
    return tuple(names), where, codes, tuple(cards), reals_m


# -- one-off tests ----------------------------------------------------------------------------
def ci_test(data: Any, x: Names, y: Names, given: Names = (), test: Union[str, CITest] = "auto",
            *, net: Optional[BayesNet] = None, yates: bool = False) -> CITestResult:
    """Test ``x _|_ y | given`` on ``data`` once (see :class:`CITester` for many tests)."""
    return CITester(data, test, net=net, yates=yates).test(x, y, given)


def g_test(data: Any, x: Names, y: Names, given: Names = (), **kwargs: Any) -> CITestResult:
    """The G-test (log-likelihood ratio) of ``x _|_ y | given``."""
    return ci_test(data, x, y, given, "g", **kwargs)


def chi_square_test(data: Any, x: Names, y: Names, given: Names = (), **kwargs: Any) -> CITestResult:
    """Pearson's chi-square test of ``x _|_ y | given``."""
    return ci_test(data, x, y, given, "chi2", **kwargs)


def fisher_z_test(data: Any, x: Names, y: Names, given: Names = (), **kwargs: Any) -> CITestResult:
    """Partial correlation with Fisher's z of ``x _|_ y | given`` (real-valued columns)."""
    return ci_test(data, x, y, given, "fisher_z", **kwargs)
