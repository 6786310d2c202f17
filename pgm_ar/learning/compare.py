"""A declared structure against the alternatives, on the same data.

For each structure -- the declared network, the chain rule (the full joint: no assumption),
Markov-k over a variable order, all variables independent, and the structure hill climbing
finds -- :func:`compare_structures` reports:

* free parameters (:func:`pgm_ar.count_parameters`);
* log-likelihood of the data under the maximum-likelihood CPTs (in nats), BIC and BDeu
  (:mod:`~pgm_ar.learning.scores`): the in-sample view, BIC and BDeu charging for parameters;
* held-out log-likelihood by k-fold cross-validation: rows are shuffled with ``seed`` and cut
  into ``folds`` parts (:func:`kfold_indices`); each part is scored by CPTs fitted on the other
  parts with ``pseudo_count`` added to every cell (additive smoothing, so a state unseen in
  training costs a finite amount instead of ``-inf``); the sum over the parts counts every row
  once.  It is the out-of-sample view: more parameters only pay if they predict new rows.

A structure whose largest CPT is over the ``max_table_cells`` budget (the chain rule of many
variables) is reported as too large, with its size, instead of being built.

>>> import pgm_ar
>>> net = pgm_ar.example_network("asia")
>>> rows = pgm_ar.compile(net).sample(2000, seed=0)
>>> table = compare_structures(net, rows, folds=3, learned=False)
>>> [r.label for r in table.rows]
['declared (asia)', 'chain rule', 'Markov k=1', 'independent']
>>> table.row("declared (asia)").parameters
18
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
from scipy.special import gammaln

from ..assumptions import chain_rule, independent, markov
from ..counting import count_parameters, readable
from ..errors import PgmArError
from ..limits import get_limits
from ..network import BayesNet
from ..tabular_data import columns_of
from .count_fit import few_names as _few
from .data import DiscreteData, discrete_data
from .scores import Score

__all__ = ["Comparison", "StructureRow", "compare_structures", "kfold_indices"]


def kfold_indices(n_rows: int, folds: int, seed: int = 0) -> List[np.ndarray]:
    """Row numbers of each fold: a seeded shuffle of ``0..n_rows-1`` cut into ``folds`` parts
    whose sizes differ by at most one (each row in exactly one part).

    >>> parts = kfold_indices(5, 2, seed=0)
    >>> [len(p) for p in parts], sorted(np.concatenate(parts).tolist())
    ([3, 2], [0, 1, 2, 3, 4])
    """
    if int(folds) < 2:
        raise PgmArError(f"cross-validation needs at least 2 folds, got {folds}")
    if n_rows < folds:
        raise PgmArError(f"{folds} folds need at least {folds} rows; the data has {n_rows}")
    order = np.random.default_rng(seed).permutation(n_rows)
    return list(np.array_split(order, int(folds)))


@dataclass(frozen=True)
class StructureRow:
    """One structure's numbers (``None`` where it was too large to compute)."""

    label: str
    edges: Optional[int]
    parameters: Optional[int]
    loglik: Optional[float]
    bic: Optional[float]
    bdeu: Optional[float]
    heldout: Optional[float]
    heldout_per_row: Optional[float]
    note: str = ""


@dataclass
class Comparison:
    """The table :func:`compare_structures` returns: rows plus the settings behind them."""

    rows: List[StructureRow]
    n_rows: int
    variables: List[str]
    folds: int
    seed: int
    pseudo_count: float
    ess: float
    order: List[str]
    notes: List[str] = field(default_factory=list)

    @property
    def smoothing(self) -> str:
        """How the held-out CPTs were fitted, in words."""
        return (f"held-out: {self.folds}-fold cross-validation (rows shuffled with seed "
                f"{self.seed}); CPTs fitted on {self.folds - 1} folds with {self.pseudo_count:g} "
                "added to every cell (additive smoothing), log-likelihood of the held-out fold, "
                "summed over folds (every row once)")

    def row(self, label: str) -> StructureRow:
        """The row whose label is ``label`` (or starts with it)."""
        for r in self.rows:
            if r.label == label:
                return r
        for r in self.rows:
            if r.label.startswith(label):
                return r
        raise PgmArError(f"no structure {label!r} in the comparison: "
                         f"{', '.join(r.label for r in self.rows)}")

    def to_dict(self) -> Dict[str, Any]:
        return {"n_rows": self.n_rows, "variables": list(self.variables), "folds": self.folds,
                "seed": self.seed, "pseudo_count": self.pseudo_count, "bdeu_ess": self.ess,
                "order": list(self.order), "smoothing": self.smoothing,
                "units": "nats; higher is better for every score",
                "notes": list(self.notes), "structures": [asdict(r) for r in self.rows]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_frame(self):
        """The rows as a pandas DataFrame indexed by structure."""
        import pandas as pd

        frame = pd.DataFrame([asdict(r) for r in self.rows]).set_index("label")
        frame.index.name = "structure"
        return frame

    def __str__(self) -> str:
        def num(x: Optional[float], digits: int = 1) -> str:
            return "-" if x is None else f"{x:,.{digits}f}"

        head = ["structure", "edges", "parameters", "log-lik", "BIC", "BDeu",
                f"held-out ({self.folds}-fold)", "per row"]
        body = [[r.label, "-" if r.edges is None else str(r.edges), readable(r.parameters),
                 num(r.loglik), num(r.bic), num(r.bdeu), num(r.heldout),
                 num(r.heldout_per_row, 4)] for r in self.rows]
        widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]

        def line(cells: Sequence[str]) -> str:
            return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

        out = [f"{len(self.variables)} variables, {self.n_rows:,} rows; log-likelihoods in nats, "
               "higher is better in every column", line(head)]
        out += [line(b) for b in body]
        out.append(self.smoothing)
        out.append(f"BDeu with equivalent sample size {self.ess:g}; BIC = log-lik - "
                   "log(rows)/2 x parameters")
        out += [f"{r.label}: {r.note}" for r in self.rows if r.note]
        out += self.notes
        return "\n".join(out)


def _family_codes(d: DiscreteData, child: int, parents: Sequence[int]) -> np.ndarray:
    code = np.zeros(d.n_rows, dtype=np.int64)
    for p in parents:
        code = code * d.cards[p] + d.codes[:, p]
    return code * d.cards[child] + d.codes[:, child]


def _evaluate(label: str, net: BayesNet, d: DiscreteData, folds: List[np.ndarray],
              fold_of: np.ndarray, pseudo_count: float, ess: float, note: str = ""
              ) -> StructureRow:
    params = count_parameters(net).total
    idx = {v: i for i, v in enumerate(d.names)}
    cells = {v: d.cards[idx[v]] * math.prod(d.cards[idx[p]] for p in net.parents(v))
             for v in net.names}
    big = max(cells, key=cells.get)
    bound = get_limits().max_table_cells
    if cells[big] > bound:
        return StructureRow(label, net.num_edges, params, None, None, None, None, None,
                            f"too large: the CPT of {big!r} has {readable(cells[big])} cells "
                            f"(over max_table_cells = {readable(bound)})")
    ll = bic = bdeu = held = 0.0
    k = len(folds)
    for v in net.names:
        c = idx[v]
        r = d.cards[c]
        q = cells[v] // r
        # only the (configuration, state) cells that occur are counted: memory grows with the
        # rows, not with the table (the chain rule's last CPT may have millions of cells)
        cell_codes, cell_of_row = np.unique(_family_codes(d, c, [idx[p] for p in net.parents(v)]),
                                            return_inverse=True)
        cell_of_row = cell_of_row.reshape(-1)
        cfg_codes, cfg_of_cell = np.unique(cell_codes // r, return_inverse=True)
        cfg_of_cell = cfg_of_cell.reshape(-1)
        n_cells, n_cfg = len(cell_codes), len(cfg_codes)
        cell_n = np.bincount(cell_of_row, minlength=n_cells).astype(np.float64)
        cfg_n = np.bincount(cfg_of_cell, weights=cell_n, minlength=n_cfg)
        ll_v = float(np.sum(cell_n * (np.log(cell_n) - np.log(cfg_n[cfg_of_cell]))))
        ll += ll_v
        bic += ll_v - 0.5 * math.log(d.n_rows) * q * (r - 1)
        # BDeu over occurring cells and configurations (absent ones contribute exactly 0)
        a, b = ess / q, ess / (q * r)
        bdeu += float(np.sum(gammaln(a) - gammaln(cfg_n + a))
                      + np.sum(gammaln(cell_n + b) - gammaln(b)))
        # per fold: the fold's counts; training counts are the total minus the fold's
        per_fold = np.bincount(fold_of * n_cells + cell_of_row,
                               minlength=k * n_cells).reshape(k, n_cells).astype(np.float64)
        for f in range(k):
            test = per_fold[f]
            train_cell = cell_n - test
            train_cfg = cfg_n - np.bincount(cfg_of_cell, weights=test, minlength=n_cfg)
            used = test > 0
            theta = ((train_cell[used] + pseudo_count)
                     / (train_cfg[cfg_of_cell[used]] + pseudo_count * r))
            held += float(np.sum(test[used] * np.log(theta)))
    return StructureRow(label, net.num_edges, params, ll, bic, bdeu, held,
                        held / d.n_rows, note)


def _order(order: Union[str, Sequence[str]], net: BayesNet, data: Any) -> List[str]:
    if isinstance(order, str):
        if order == "declared":
            return list(net.names)
        if order == "topological":
            return list(net.topological_order())
        if order == "data":
            if isinstance(data, DiscreteData):
                cols = list(data.names)
            else:
                cols = list(columns_of(data))
            return [c for c in cols if c in net] + [v for v in net.names if v not in cols]
        raise PgmArError(f"unknown order {order!r}: use 'declared', 'data', 'topological' or "
                         "a list of the variables")
    names = [str(v) for v in order]
    if sorted(names) != sorted(net.names):
        missing = sorted(set(net.names) - set(names))
        extra = sorted(set(names) - set(net.names))
        raise PgmArError("the order must list every variable once"
                         + (f"; missing {missing}" if missing else "")
                         + (f"; unknown {extra}" if extra else ""))
    return names


def compare_structures(net: BayesNet, data: Any, *, folds: int = 5, seed: int = 0,
                       markov_k: Union[int, Sequence[int]] = 1,
                       order: Union[str, Sequence[str]] = "declared",
                       pseudo_count: float = 0.5, ess: float = 10.0,
                       learned: Union[bool, BayesNet] = True, learn_score: str = "bic",
                       learn_options: Optional[Dict[str, Any]] = None) -> Comparison:
    """Log-likelihood, BIC, BDeu, held-out log-likelihood and parameters of the declared
    structure and its alternatives (see the module docstring).

    Parameters
    ----------
    net
        The declared network (all-discrete); its CPTs, if any, are not used: every structure
        gets CPTs fitted by counts.
    data
        Complete rows with a column per variable (DataFrame, mapping, DiscreteData).
    folds, seed
        Cross-validation folds (>= 2) and the seed of their shuffle.
    markov_k
        The Markov order(s) to include.
    order
        The variable order of the chain rule and Markov-k: ``"declared"`` (the network's
        variable order), ``"data"`` (the data's columns), ``"topological"`` or a list.
    pseudo_count
        Added to every CPT cell for the held-out scores (the in-sample scores are the
        maximum-likelihood ones).
    ess
        BDeu's equivalent sample size.
    learned
        ``True``: hill-climb a structure on ``learn_score`` (its held-out score is optimistic:
        the search saw every row); a :class:`~pgm_ar.network.BayesNet`: compare that one;
        ``False``: no learned row.
    learn_options
        Keywords for :func:`~pgm_ar.learning.hill_climb.hill_climb`.
    """
    if not pseudo_count > 0:
        raise PgmArError(f"the held-out pseudo-count must be > 0 (a zero would give -inf for a "
                         f"state unseen in training), got {pseudo_count}")
    missing = [v for v in net.names if v not in (data.names if isinstance(data, DiscreteData)
                                                  else columns_of(data))]
    if missing:
        raise PgmArError(f"the data has no column for {_few(missing)}; the "
                         "comparison needs every variable of the network")
    d = discrete_data(data, net)
    Score(d)  # refuses missing values and empty data with the scores' messages
    names = _order(order, net, data)
    parts = kfold_indices(d.n_rows, folds, seed)
    fold_of = np.empty(d.n_rows, dtype=np.int64)
    for f, part in enumerate(parts):
        fold_of[part] = f
    variables = [net.variable(v) for v in names]
    structures: List[tuple] = [(f"declared ({net.name})", net, "")]
    structures.append(("chain rule", chain_rule(variables), "the full joint, in the order "
                       + " < ".join(names) if len(names) <= 8 else ""))
    for k in ([markov_k] if isinstance(markov_k, int) else list(markov_k)):
        structures.append((f"Markov k={k}", markov(variables, k=int(k)), ""))
    structures.append(("independent", independent(variables), ""))
    notes: List[str] = []
    if learned is True:
        from .hill_climb import hill_climb

        result = hill_climb(d, score=learn_score, net=net, fit=False, **(learn_options or {}))
        structures.append((f"hill climbing ({result.score_name.upper()})", result.net,
                           "learned from all rows: its held-out score is optimistic"))
        notes += result.notes
    elif isinstance(learned, BayesNet):
        structures.append((f"learned ({learned.name})", learned, ""))
    elif learned is not False:
        raise PgmArError(f"learned must be True, False or a BayesNet, got {learned!r}")
    rows = [_evaluate(label, s, d, parts, fold_of, pseudo_count, ess, note)
            for label, s, note in structures]
    return Comparison(rows, d.n_rows, list(net.names), int(folds), int(seed),
                      float(pseudo_count), float(ess), names, notes)
