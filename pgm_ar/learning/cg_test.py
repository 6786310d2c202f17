"""The conditional-Gaussian likelihood-ratio test of ``X _|_ Y | Z`` for mixed data.

A *conditional-Gaussian* (CG) model of discrete variables ``D`` and real ones ``R`` is a
multinomial over the configurations of ``D`` and, within each configuration that occurs, a
multivariate normal of ``R`` with its own mean and covariance.  Its maximum log-likelihood is
``sum_c n_c ln(n_c / n) - sum_c n_c (ln det S_c + |R| (ln 2 pi + 1)) / 2`` over the
configurations ``c`` (``S_c``: the maximum-likelihood covariance of ``R`` among those rows).

The test (bnlearn's ``"mi-cg"``) compares, on the same rows, the CG model of all the
variables with the one in which ``X`` and ``Y`` are independent given ``Z``::

    LR = 2 (ll(X, Y, Z) + ll(Z) - ll(X, Z) - ll(Y, Z)) = 2 n CMI

against chi-square with the difference in free parameters (per occurring configuration:
one probability, and ``d + d (d + 1) / 2`` for the mean and covariance of ``d`` reals).
The independence model is itself a CG model only when a discrete variable never has to
depend on a real one: when ``Z`` is all discrete, or ``X`` or ``Y`` is all real (Lauritzen's
*strong* decomposition), which :func:`cg_testable` checks.  With ``Y`` all real the
statistic is the likelihood ratio of the regression of ``Y`` on the real variables of
``X, Z`` within the strata of the discrete ones against its regression on those of ``Z``
within the strata of ``Z``'s discrete variables, and the degrees of freedom are the extra
coefficients: ``|Y| (1 + |X_real| + |Z_real|)`` plus ``|Y| (|Y| + 1) / 2`` per stratum of
the first, less the same count of the second.

*Small strata.* A configuration of all the discrete variables with at most ``|R|`` rows, or
whose reals are collinear there (a constant column within it, say), has no proper
covariance: its rows are left out of every fit (so the four models stay nested on the same
rows), the parameter counts follow the configurations kept, and the result says how many
strata and rows were dropped.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> d = rng.integers(0, 2, 3000)
>>> y = 1.5 * d + rng.normal(size=3000)
>>> cg = cg_statistic(d[:, None], (2,), y[:, None], x_d=[0], x_r=[], y_d=[], y_r=[0], z_d=[], z_r=[])
>>> cg.dof, cg.p_value < 1e-6, abs(cg.statistic - 2 * cg.n_used * cg.cmi) < 1e-9
(2, True, True)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Tuple

import numpy as np

from ..errors import DataError
from .citests import combine_codes, occurring_strata

__all__ = ["CGStatistic", "cg_statistic", "cg_testable", "cg_log_likelihood"]

#: a stratum's reals are collinear when the smallest eigenvalue of their correlation matrix
#: is below this
_COLLINEAR = 1e-10


@dataclass(frozen=True)
class CGStatistic:
    """The outcome of :func:`cg_statistic`: ``statistic`` (``2 n CMI``), ``dof``, ``p_value``,
    ``cmi`` (nats), ``n_used`` and the strata (and their rows) dropped as too small."""

    statistic: float
    dof: int
    p_value: float
    cmi: float
    n_used: int
    dropped_strata: int
    dropped_rows: int

    @property
    def note(self) -> str:
        if not self.dropped_strata:
            return ""
        return (f"{self.dropped_strata} stratum/strata with too few rows or collinear "
                f"real values dropped ({self.dropped_rows} rows)")


def cg_testable(x_d: Sequence[int], x_r: Sequence[int], y_d: Sequence[int],
                y_r: Sequence[int], z_d: Sequence[int], z_r: Sequence[int]) -> bool:
    """Whether the independence model is a CG model: ``Z`` all discrete, or ``X`` or ``Y``
    all real (else two discrete variables would have to depend on a real one)."""
    return not z_r or not x_d or not y_d


def _strata(codes: np.ndarray, cards: Sequence[int], cols: Sequence[int]) -> Tuple[np.ndarray, int]:
    """One dense stratum number per row over the configurations of ``cols`` that occur."""
    if not cols:
        return np.zeros(codes.shape[0], dtype=np.int64), 1
    code, k = combine_codes([codes[:, c].astype(np.int64) for c in cols],
                            [cards[c] for c in cols])
    return occurring_strata(code, k, 1)


def _moments(strata: np.ndarray, k: int, reals: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per stratum: the row count ``(k,)`` and the maximum-likelihood covariance ``(k, d, d)``
    (centred within each stratum before the cross products, for accuracy)."""
    n = np.bincount(strata, minlength=k).astype(np.float64)
    d = reals.shape[1]
    mean = np.stack([np.bincount(strata, weights=reals[:, j], minlength=k) for j in range(d)],
                    axis=1) / np.maximum(n, 1.0)[:, None]
    centred = reals - mean[strata]
    cov = np.empty((k, d, d))
    for i in range(d):
        for j in range(i, d):
            s = np.bincount(strata, weights=centred[:, i] * centred[:, j], minlength=k)
            cov[:, i, j] = cov[:, j, i] = s
    return n, cov / np.maximum(n, 1.0)[:, None, None]


def cg_log_likelihood(codes: np.ndarray, cards: Sequence[int], reals: np.ndarray,
                      disc: Sequence[int], real: Sequence[int]) -> Tuple[float, int]:
    """The maximum log-likelihood of the CG model of the discrete columns ``disc`` of
    ``codes`` and the real columns ``real`` of ``reals`` (without its ``n ln n`` and
    ``ln 2 pi + 1`` terms, which cancel in the test), and its free parameters (the same
    constant left out: one probability per occurring configuration)."""
    strata, k = _strata(codes, cards, disc)
    n = np.bincount(strata, minlength=k).astype(np.float64)
    ll = float(np.sum(n * np.log(n)))
    d = len(real)
    params = k
    if d:
        _, cov = _moments(strata, k, reals[:, list(real)])
        sign, logdet = np.linalg.slogdet(cov)
        if (sign <= 0).any():
            raise DataError("a stratum's covariance is singular after dropping the small ones")
        ll -= 0.5 * float(np.dot(n, logdet))
        params += k * (d + d * (d + 1) // 2)
    return ll, params


def cg_statistic(codes: np.ndarray, cards: Sequence[int], reals: np.ndarray, *,
                 x_d: Sequence[int], x_r: Sequence[int], y_d: Sequence[int],
                 y_r: Sequence[int], z_d: Sequence[int], z_r: Sequence[int]) -> CGStatistic:
    """The CG likelihood-ratio test of ``X _|_ Y | Z``.

    ``codes`` holds discrete columns (state indices, ``-1`` missing) with ``cards`` states,
    ``reals`` real columns (NaN missing); ``x_d, y_d, z_d`` are column numbers into
    ``codes`` and ``x_r, y_r, z_r`` into ``reals``.  Rows missing a value of the test are
    left out.  The caller checks :func:`cg_testable`.
    """
    from scipy import special

    disc = [*x_d, *y_d, *z_d]
    real = [*x_r, *y_r, *z_r]
    keep = np.ones(codes.shape[0] if codes.ndim == 2 else reals.shape[0], dtype=bool)
    for c in disc:
        keep &= codes[:, c] >= 0
    for c in real:
        keep &= ~np.isnan(reals[:, c])
    codes, reals = codes[keep], reals[keep]
    # the finest strata: all the discrete variables; a stratum without a proper covariance
    # of all the reals is dropped from every fit
    dropped_strata = dropped_rows = 0
    if real and len(codes):
        strata, k = _strata(codes, cards, disc)
        n, cov = _moments(strata, k, reals[:, real])
        d = len(real)
        sd = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0.0, None))
        scale = np.sqrt(np.maximum(np.diagonal(np.atleast_2d(np.cov(reals[:, real], rowvar=False))), 0.0))
        good = (n >= d + 1) & (sd > 1e-9 * np.maximum(scale, 1e-300)).all(axis=1)
        if good.any():
            corr = cov[good] / (sd[good][:, :, None] * sd[good][:, None, :])
            smallest = np.linalg.eigvalsh(corr)[:, 0]
            good[np.flatnonzero(good)[smallest <= _COLLINEAR]] = False
        if not good.all():
            dropped_strata = int((~good).sum())
            rows = good[strata]
            dropped_rows = int((~rows).sum())
            codes, reals = codes[rows], reals[rows]
    n_used = int(codes.shape[0])
    if n_used == 0:
        return CGStatistic(0.0, 0, 1.0, 0.0, 0, dropped_strata, dropped_rows)
    ll_xyz, p_xyz = cg_log_likelihood(codes, cards, reals, disc, real)
    ll_z, p_z = cg_log_likelihood(codes, cards, reals, list(z_d), list(z_r))
    ll_xz, p_xz = cg_log_likelihood(codes, cards, reals, [*x_d, *z_d], [*x_r, *z_r])
    ll_yz, p_yz = cg_log_likelihood(codes, cards, reals, [*y_d, *z_d], [*y_r, *z_r])
    stat = max(2.0 * (ll_xyz + ll_z - ll_xz - ll_yz), 0.0)
    dof = int(p_xyz + p_z - p_xz - p_yz)
    p = float(special.chdtrc(dof, stat)) if dof > 0 else 1.0
    return CGStatistic(float(stat), dof, p, stat / (2.0 * n_used), n_used, dropped_strata,
                       dropped_rows)
