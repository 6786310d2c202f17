"""Dirichlet priors on the rows of tabular CPTs, and the posterior they give with counts.

Each row ``theta_ij = p(X_i | parents_i = j)`` of a CPT gets a prior
``Dirichlet(alpha_ij1, ..., alpha_ijr)``.  With complete data the posterior of a row is
again a Dirichlet, ``Dirichlet(n_ij1 + alpha_ij1, ..., n_ijr + alpha_ijr)`` where ``n_ijk``
counts the rows with ``X_i = k`` and parents in configuration ``j``; rows are independent a
posteriori.  The priors:

* ``"bdeu"``: ``alpha_ijk = ess / (q_i * r_i)`` with ``r_i`` the variable's states, ``q_i``
  its parent configurations and ``ess`` the *equivalent sample size* (default 1): the
  likelihood-equivalent uniform prior, as if ``ess`` rows had been seen spread evenly;
* ``"k2"``: ``alpha_ijk = 1`` (uniform rows; the posterior mean is Laplace's rule);
* a number ``a > 0``: ``alpha_ijk = a`` (below 1 favours sparse rows: ``a = 0.5`` is the
  Jeffreys prior of a row);
* a dict ``{variable: prior}``: per variable one of the above, or an array of the CPT's shape
  ``(*parent_cards, card)`` of pseudo-counts.

:class:`DirichletPosterior` holds the counts and the pseudo-counts and gives the posterior
mean, the posterior mode (MAP) and seeded posterior samples of whole sets of CPTs; a compiled
model fitted with ``model.fit(data, prior="bdeu")`` keeps one
(:meth:`~pgm_ar.model.CompiledModel.parameter_posterior`), saves it with the model, and
answers ``model.query(target, evidence, credible=0.9)`` with credible intervals
(:mod:`pgm_ar.learning.credible`).

>>> import torch
>>> from pgm_ar import BayesNet, Bernoulli
>>> net = BayesNet([Bernoulli("coin")])
>>> post = DirichletPosterior.from_data(net, {"coin": torch.tensor([1, 1, 1, 0])}, prior="k2")
>>> post.concentration["coin"].tolist()            # counts (1, 3) + alpha 1
[2.0, 4.0]
>>> [round(p, 4) for p in post.mean()["coin"].tolist()]
[0.3333, 0.6667]
>>> [round(p, 4) for p in post.map()["coin"].tolist()]   # the mode: counts / N here
[0.25, 0.75]
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from ..errors import DataError, PgmArError, UnknownVariableError
from ..inference.complete_data import family_counts
from ..inference.structure import network_structure
from ..network import BayesNet
from ..utils.seeding import SeedLike, torch_generator
from ..utils.suggest import did_you_mean

__all__ = ["PRIOR_NAMES", "DEFAULT_ESS", "ESTIMATES", "PriorLike", "dirichlet_prior",
           "check_estimate", "DirichletPosterior", "count_tables"]

#: the named priors
PRIOR_NAMES = ("bdeu", "k2")
#: BDeu's equivalent sample size when none is given (bnlearn's default ``iss``)
DEFAULT_ESS = 1.0
#: the point estimates a fit with a prior can keep
ESTIMATES = ("mean", "map")
#: what ``prior=`` accepts
PriorLike = Union[str, float, Mapping[str, Any]]
#: posterior draws are made this many gamma variates at a time (bounds the memory)
_DRAW_CHUNK = 1 << 22


# --------------------------------------------------------------------------- #
# priors
# --------------------------------------------------------------------------- #
def dirichlet_prior(net: BayesNet, prior: PriorLike,
                    equivalent_sample_size: Optional[float] = None) -> Dict[str, np.ndarray]:
    """The pseudo-counts ``alpha`` of every CPT, ``{name: float64 array (*parent_cards, card)}``.

    Parameters
    ----------
    net
        A network of discrete scalar variables.
    prior
        ``"bdeu"``, ``"k2"``, a number ``> 0``, or ``{variable: prior}`` giving every variable
        one of these or an array of its CPT's shape (see the module docstring).
    equivalent_sample_size
        BDeu's ``ess`` (a number ``> 0``, default :data:`DEFAULT_ESS`); only with ``"bdeu"``.

    Raises
    ------
    PgmArError
        For an unknown prior name (with a suggestion), a number that is not ``> 0``, an array
        of the wrong shape or with entries ``<= 0``, a dict missing variables or naming unknown
        ones, or an ``equivalent_sample_size`` without BDeu.

    Examples
    --------
    >>> from pgm_ar import BayesNet, Bernoulli, Categorical
    >>> net = BayesNet([Bernoulli("a"), Categorical("b", 3)], [("a", "b")])
    >>> alpha = dirichlet_prior(net, "bdeu", equivalent_sample_size=12)
    >>> alpha["a"].tolist(), alpha["b"].tolist()      # 12 / (1 * 2), 12 / (2 * 3)
    ([6.0, 6.0], [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]])
    """
    st = network_structure(net)
    shapes = {name: tuple(st.cards[p] for p in st.parents[v]) + (st.cards[v],)
              for v, name in enumerate(st.names)}
    ess = _check_ess(equivalent_sample_size)
    if isinstance(prior, Mapping):
        unknown = [k for k in prior if k not in shapes]
        if unknown:
            raise UnknownVariableError(unknown[0], st.names, where="prior")
        missing = [n for n in st.names if n not in prior]
        if missing:
            raise PgmArError(f"prior: no prior for variable(s) {', '.join(map(repr, missing))}; "
                             "a dict prior gives every variable one ('bdeu', 'k2', a number "
                             "> 0, or an array of the CPT's shape)")
        uses_bdeu = any(_is_name(prior[n], "bdeu") for n in st.names)
        out = {n: _one_prior(n, prior[n], shapes[n], ess, f"prior[{n!r}]") for n in st.names}
    else:
        uses_bdeu = _is_name(prior, "bdeu")
        out = {n: _one_prior(n, prior, shapes[n], ess, "prior") for n in st.names}
    if equivalent_sample_size is not None and not uses_bdeu:
        raise PgmArError(f"equivalent_sample_size={equivalent_sample_size!r} is BDeu's "
                         "parameter; use it with prior='bdeu'")
    return out


def _is_name(prior: Any, name: str) -> bool:
    return isinstance(prior, str) and prior.strip().lower() == name


def _check_ess(ess: Any) -> float:
    if ess is None:
        return DEFAULT_ESS
    if isinstance(ess, bool) or not isinstance(ess, numbers.Real) \
            or not math.isfinite(float(ess)) or not float(ess) > 0:
        raise PgmArError(f"equivalent_sample_size must be a finite number > 0, got {ess!r}")
    return float(ess)


def _one_prior(name: str, prior: Any, shape: Tuple[int, ...], ess: float,
               where: str) -> np.ndarray:
    """The pseudo-count array of one CPT."""
    card = shape[-1]
    rows = int(np.prod(shape[:-1], dtype=np.int64))
    if isinstance(prior, str):
        key = prior.strip().lower()
        if key == "bdeu":
            return np.full(shape, ess / (rows * card))
        if key == "k2":
            return np.ones(shape)
        raise PgmArError(f"{where}: unknown prior {prior!r}{did_you_mean(key, PRIOR_NAMES)}; "
                         "give 'bdeu', 'k2', a number > 0 or (per variable) an array of "
                         "pseudo-counts")
    if isinstance(prior, bool) or prior is None:
        raise PgmArError(f"{where}: a prior is 'bdeu', 'k2' or a number > 0, got {prior!r}")
    if isinstance(prior, numbers.Real):
        a = float(prior)
        if not (math.isfinite(a) and a > 0):
            raise PgmArError(f"{where}: a Dirichlet concentration must be a finite number > 0 "
                             f"(0 would be no prior; below 1 favours sparse rows), got {prior!r}")
        return np.full(shape, a)
    try:
        arr = np.asarray(prior.detach().cpu() if isinstance(prior, torch.Tensor) else prior,
                         dtype=np.float64)
    except (TypeError, ValueError):
        raise PgmArError(f"{where}: a prior is 'bdeu', 'k2', a number > 0 or an array of "
                         f"pseudo-counts, got {type(prior).__name__}") from None
    if arr.shape != shape:
        raise PgmArError(f"{where}: pseudo-counts of {name!r} must have the CPT's shape "
                         f"{shape} (parent states..., states), got {arr.shape}")
    bad = ~(np.isfinite(arr) & (arr > 0))
    if bad.any():
        at = tuple(int(i) for i in np.argwhere(bad)[0])
        raise PgmArError(f"{where}: every pseudo-count of {name!r} must be a finite number > 0; "
                         f"entry {at} is {arr[at]!r}")
    return arr.copy()


# --------------------------------------------------------------------------- #
# counts
# --------------------------------------------------------------------------- #
def count_tables(net: BayesNet, columns: Mapping[str, Any]) -> Dict[str, np.ndarray]:
    """Counts ``n_ijk`` of complete rows, ``{name: float64 array (*parent_cards, card)}``.

    ``columns`` holds one integer column of state indices per variable (as
    :func:`pgm_ar.tabular_data.encode` gives them); a missing value (``-1``) or an absent
    column is refused: the Dirichlet posterior is a closed form of complete data only.
    """
    st = network_structure(net)
    absent = [n for n in st.names if n not in columns]
    if absent:
        raise DataError(f"no column for {absent[0]!r}: a Dirichlet posterior needs complete "
                        "data (every variable observed in every row)", column=absent[0])
    cols = []
    for v, name in enumerate(st.names):
        c = columns[name]
        c = (c.detach().cpu().numpy() if isinstance(c, torch.Tensor) else np.asarray(c))
        c = c.reshape(-1).astype(np.int64, copy=False)
        if c.size and (c.min() < 0 or c.max() >= st.cards[v]):
            raise DataError("missing or out-of-range values: a Dirichlet posterior needs "
                            "complete data; drop the incomplete rows, or fit without prior= "
                            "by method='svi' (a MAP fit with Tabular(prior=a) families)",
                            column=name)
        cols.append(c)
    return family_counts(st, cols)


# --------------------------------------------------------------------------- #
# the posterior
# --------------------------------------------------------------------------- #
class DirichletPosterior:
    """The Dirichlet posterior of every CPT row: ``Dirichlet(counts + alpha)``.

    Parameters
    ----------
    net
        The network (discrete scalar variables).
    counts, alpha
        ``{name: array (*parent_cards, card)}``: the data's counts (``>= 0``) and the prior's
        pseudo-counts (``> 0``), e.g. from :func:`count_tables` and :func:`dirichlet_prior`.
    prior
        A description of the prior kept for reports and files (``"bdeu"``, ``"k2"``, the
        number, or ``"per-variable"``).
    equivalent_sample_size
        BDeu's ``ess`` when the prior is BDeu.
    estimate
        The point estimate of :meth:`tables`: ``"mean"`` or ``"map"``.

    Attributes
    ----------
    concentration : dict
        ``{name: float64 tensor}``, ``counts + alpha``.
    rows : int
        The number of data rows counted (rows of a root's counts summed).
    """

    def __init__(self, net: BayesNet, counts: Mapping[str, Any], alpha: Mapping[str, Any], *,
                 prior: Any = "per-variable", equivalent_sample_size: Optional[float] = None,
                 estimate: str = "mean") -> None:
        st = network_structure(net)
        self.net = net
        self.prior = prior
        self.equivalent_sample_size = equivalent_sample_size
        self.estimate = check_estimate(estimate)
        self.counts: Dict[str, torch.Tensor] = {}
        self.alpha: Dict[str, torch.Tensor] = {}
        for v, name in enumerate(st.names):
            shape = tuple(st.cards[p] for p in st.parents[v]) + (st.cards[v],)
            n = torch.as_tensor(np.asarray(counts[name], dtype=np.float64))
            a = torch.as_tensor(np.asarray(alpha[name], dtype=np.float64))
            for what, t in (("counts", n), ("pseudo-counts", a)):
                if tuple(t.shape) != shape:
                    raise PgmArError(f"{what} of {name!r} must have shape {shape}, got "
                                     f"{tuple(t.shape)}")
            if not bool((torch.isfinite(n) & (n >= 0)).all()):
                raise PgmArError(f"counts of {name!r} must be finite and >= 0")
            if not bool((torch.isfinite(a) & (a > 0)).all()):
                raise PgmArError(f"pseudo-counts of {name!r} must be finite and > 0")
            self.counts[name], self.alpha[name] = n, a
        self.concentration = {n: self.counts[n] + self.alpha[n] for n in st.names}
        self._index = {n: v for v, n in enumerate(st.names)}
        first = st.names[0] if st.names else None
        self.rows = int(round(float(self.counts[first].sum()))) if first else 0
        self._draws: Optional[Tuple[Tuple[int, int], Dict[str, torch.Tensor]]] = None

    @classmethod
    def from_data(cls, net: BayesNet, columns: Mapping[str, Any], prior: PriorLike = "bdeu",
                  equivalent_sample_size: Optional[float] = None,
                  estimate: str = "mean") -> "DirichletPosterior":
        """The posterior of complete integer ``columns`` (:func:`count_tables`) under
        ``prior`` (:func:`dirichlet_prior`)."""
        alpha = dirichlet_prior(net, prior, equivalent_sample_size)
        ess = None
        if _is_name(prior, "bdeu") or (isinstance(prior, Mapping) and any(
                _is_name(p, "bdeu") for p in prior.values())):
            ess = _check_ess(equivalent_sample_size)
        return cls(net, count_tables(net, columns), alpha, prior=describe_prior(prior),
                   equivalent_sample_size=ess, estimate=estimate)

    def __repr__(self) -> str:
        ess = "" if self.equivalent_sample_size is None else \
            f", ess={self.equivalent_sample_size:g}"
        return (f"DirichletPosterior({self.net.name!r}, prior={self.prior!r}{ess}, "
                f"{self.rows} rows, estimate={self.estimate!r})")

    # ------------------------------------------------------------------ point estimates
    def mean(self) -> Dict[str, torch.Tensor]:
        """The posterior mean of every CPT: ``(n_ijk + alpha_ijk) / (n_ij + alpha_ij)``."""
        return {n: c / c.sum(-1, keepdim=True) for n, c in self.concentration.items()}

    def map(self) -> Dict[str, torch.Tensor]:
        """The posterior mode (MAP) of every CPT row.

        Where every concentration ``c_k = n_k + alpha_k`` of a row is ``>= 1`` this is the
        familiar ``(c_k - 1) / (sum(c) - r)``.  A concentration below 1 makes the density
        unbounded as ``theta_k -> 0``: its entry of the mode is 0, and the others are the
        mode on that face, ``max(c_k - 1, 0) / sum_j max(c_j - 1, 0)`` (so ``alpha = 1``
        gives the counts' ratios, zeros included).  A row in which no concentration exceeds 1
        (a parent configuration never seen, with ``alpha <= 1``) has no single mode (a flat
        or U-shaped density); it gets its posterior mean.
        """
        out = {}
        for n, c in self.concentration.items():
            excess = (c - 1.0).clamp_min(0.0)
            total = excess.sum(-1, keepdim=True)
            mean = c / c.sum(-1, keepdim=True)
            out[n] = torch.where(total > 0, excess / total.clamp_min(1e-300), mean)
        return out

    def tables(self) -> Dict[str, torch.Tensor]:
        """The point estimate the model was fitted with (:attr:`estimate`)."""
        return self.mean() if self.estimate == "mean" else self.map()

    # ------------------------------------------------------------------ samples
    def sample(self, num_samples: int = 1000, seed: SeedLike = 0,
               names: Optional[Sequence[str]] = None) -> Dict[str, torch.Tensor]:
        """Draws of whole sets of CPTs from the posterior.

        Parameters
        ----------
        num_samples
            The number of CPT sets.
        seed
            ``None`` (fresh entropy), an integer or a :class:`torch.Generator`.
        names
            Draw only these variables' tables (default: all).  A table's draws do not depend
            on which other tables are drawn: ``sample(n, 7, ["a"])["a"]`` equals
            ``sample(n, 7)["a"]``.

        Returns
        -------
        dict
            ``{name: float64 tensor (num_samples, *parent_cards, card)}``; draw ``s`` of
            every table together is one set of CPTs.

        Notes
        -----
        Every row is drawn as normalised gamma variates, all rows of a table at once, from
        the table's own stream (seeded by ``seed`` and the variable's position).  A gamma
        variate of shape ``c`` is drawn as ``G * U**(1/c)`` with ``G ~ Gamma(c + 1)`` and
        ``U ~ Uniform(0, 1)``, in logs: exact, and stable for the small concentrations
        (``alpha << 1``) whose plain gamma variates underflow to 0.
        """
        count = _check_count(num_samples)
        base = _base_seed(seed)
        return {n: self._draw(n, count, base) for n in self._names(names)}

    def cached_sample(self, num_samples: int, seed: int,
                      names: Optional[Sequence[str]] = None) -> Dict[str, torch.Tensor]:
        """:meth:`sample` with an integer seed, each table's draws kept for the last
        ``(num_samples, seed)`` asked (repeated credible queries then draw once)."""
        key = (_check_count(num_samples), _base_seed(int(seed)))
        if self._draws is None or self._draws[0] != key:
            self._draws = (key, {})
        kept = self._draws[1]
        for n in self._names(names):
            if n not in kept:
                kept[n] = self._draw(n, key[0], key[1])
        return {n: kept[n] for n in self._names(names)}

    def _names(self, names: Optional[Sequence[str]]) -> list:
        if names is None:
            return list(self.concentration)
        out = list(names)
        for n in out:
            if n not in self.concentration:
                raise UnknownVariableError(n, list(self.concentration))
        return out

    def _draw(self, name: str, count: int, base: int) -> torch.Tensor:
        """``count`` draws of ``name``'s table from its own stream of ``base``."""
        conc = self.concentration[name]
        shape = tuple(conc.shape)
        flat = conc.reshape(-1)
        gen = torch.Generator().manual_seed(_stream_seed(base, self._index[name]))
        step = max(1, _DRAW_CHUNK // max(1, int(flat.numel())))
        logs = []
        for start in range(0, count, step):
            size = (min(step, count - start), int(flat.numel()))
            g = torch._standard_gamma((flat + 1.0).expand(size).contiguous(), generator=gen)
            u = torch.rand(size, dtype=torch.float64, generator=gen)
            logs.append(torch.log(g) + torch.log(u) / flat)
        # normalise each row in logs (a softmax): no sum of underflowed variates is 0
        return torch.softmax(torch.cat(logs).reshape((count,) + shape), dim=-1)

    def query(self, target: Any, evidence: Optional[Mapping[str, Any]] = None,
              credible: float = 0.9, num_samples: int = 1000, seed: SeedLike = 0):
        """Posterior marginals with credible intervals from this posterior alone; see
        :func:`pgm_ar.learning.credible.credible_query`."""
        from .credible import credible_query

        return credible_query(self, target, evidence, credible, num_samples=num_samples,
                              seed=seed)

    # ------------------------------------------------------------------ files
    def to_payload(self) -> Dict[str, Any]:
        """Plain data (strings, numbers, tensors) for a model file."""
        return {"prior": self.prior if isinstance(self.prior, (str, float)) else str(self.prior),
                "equivalent_sample_size": self.equivalent_sample_size,
                "estimate": self.estimate,
                "counts": {n: t.clone() for n, t in self.counts.items()},
                "alpha": {n: t.clone() for n, t in self.alpha.items()}}

    @classmethod
    def from_payload(cls, net: BayesNet, data: Any, where: str) -> "DirichletPosterior":
        """The posterior of :meth:`to_payload`'s data; a :class:`PgmArError` naming ``where``
        when it does not fit the network."""
        if not isinstance(data, Mapping):
            raise PgmArError(f"{where}: damaged model file: 'dirichlet' must be a mapping")
        try:
            for key in ("counts", "alpha"):
                part = data[key]
                if not isinstance(part, Mapping) or set(part) != set(net.names) or not all(
                        isinstance(t, torch.Tensor) for t in part.values()):
                    raise PgmArError(f"{key!r} must hold one tensor per variable")
            prior = data.get("prior")
            ess = data.get("equivalent_sample_size")
            if not isinstance(prior, (str, float, int)) or isinstance(prior, bool):
                raise PgmArError(f"'prior' is {type(prior).__name__}")
            if ess is not None:
                ess = _check_ess(ess)
            return cls(net, {n: t.numpy() for n, t in data["counts"].items()},
                       {n: t.numpy() for n, t in data["alpha"].items()}, prior=prior,
                       equivalent_sample_size=ess, estimate=data.get("estimate"))
        except PgmArError as exc:
            raise PgmArError(f"{where}: damaged model file: the saved parameter posterior is "
                             f"not valid: {exc}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise PgmArError(f"{where}: damaged model file: the saved parameter posterior is "
                             f"not valid ({type(exc).__name__}: {exc})") from None


def _check_count(num_samples: Any) -> int:
    if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral) \
            or num_samples < 1:
        raise PgmArError(f"num_samples must be an integer >= 1, got {num_samples!r}")
    return int(num_samples)


def _base_seed(seed: SeedLike) -> int:
    """An integer seed as it is; from a generator or fresh entropy, one integer drawn."""
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        torch_generator(seed)  # the seed policy's checks (range, type)
        return int(seed)
    gen = torch_generator(seed)
    return int(torch.randint(0, 2 ** 62, (), generator=gen))


def _stream_seed(base: int, index: int) -> int:
    """A well-mixed 63-bit seed of variable ``index``'s stream under ``base``."""
    state = np.random.SeedSequence([base, index]).generate_state(1, np.uint64)[0]
    return int(state) & (2 ** 63 - 1)


def describe_prior(prior: PriorLike) -> Union[str, float]:
    """A short description of ``prior`` for reports and files."""
    if isinstance(prior, str):
        return prior.strip().lower()
    if isinstance(prior, numbers.Real) and not isinstance(prior, bool):
        return float(prior)
    return "per-variable"


def check_estimate(estimate: Any) -> str:
    """``"mean"`` or ``"map"`` (any case), else a :class:`PgmArError` with a suggestion."""
    key = estimate.strip().lower() if isinstance(estimate, str) else estimate
    if key not in ESTIMATES:
        hint = did_you_mean(key, ESTIMATES) if isinstance(key, str) else ""
        raise PgmArError(f"estimate={estimate!r}: must be 'mean' (posterior mean) or 'map' "
                         f"(posterior mode){hint}")
    return key
