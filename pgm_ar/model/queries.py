"""Questions to a compiled model: posterior marginals and most probable states.

All-discrete networks are answered exactly by :mod:`pgm_ar.inference` on the model's CPTs
(for non-tabular families, the CPT obtained by evaluating the conditional on every parent
configuration); networks with real variables by likelihood weighting, with a warning when the
effective sample size is small.  Evidence given as rows (a DataFrame, or ``{name: column}``)
asks for the target's posterior in every row at once (:meth:`QueryMixin.predict_proba`).
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping as MappingABC
from typing import Any, Dict, Iterator, Mapping, Optional, Sequence, Union

import numpy as np
import torch

from .. import inference
from ..conditionals.tabular import TabularConditional
from ..errors import PgmArError
from ..inference.junction_tree import exact_posteriors
from ..learning.posterior_fit import model_credible_query
from ..tabular_data import parse_evidence
from ..utils.seeding import torch_generator
from .data import ModelData
from .modes import eval_mode, in_eval_mode

__all__ = ["QueryMixin"]


class QueryMixin:
    """Queries (a mixin of :class:`~pgm_ar.model.CompiledModel`)."""

    def query(self, target: Union[str, Sequence[str]], evidence: Optional[Any] = None,
              num_samples: int = 100_000, seed: Optional[int] = 0, method: str = "exact",
              credible: Optional[float] = None, device: Any = None):
        """Posterior marginal ``p(target | evidence)`` as ``{state: probability}``.

        Exact (variable elimination) for all-discrete networks; with real variables, an
        estimate by likelihood weighting from ``num_samples`` samples (warns when the
        effective sample size is small).  A list of targets gives ``{target: {state: p}}``.
        Evidence values are state names or indices (numbers for real variables).
        ``method="likelihood_weighting"``, ``"gibbs"`` or ``"loopy_bp"`` estimates the
        marginals instead (networks too dense for exact inference; see
        :mod:`pgm_ar.inference.approximate`): ``num_samples`` and ``seed`` drive the sampling
        methods, and the answer's ``.diagnostics`` hold the effective sample size or whether
        belief propagation converged.

        With ``credible`` (a level in (0, 1), e.g. ``0.9``) on a model fitted with a
        Dirichlet prior (``fit(data, prior="bdeu")``), each state's answer is a
        :class:`~pgm_ar.learning.Credible` ``(estimate, lo, hi)``: this answer and the
        equal-tailed interval of the exact answers under 1000 CPT sets drawn from the
        posterior with ``seed`` (:mod:`pgm_ar.learning.credible`).

        Evidence given as rows -- a pandas DataFrame or ``{name: column}`` -- gives the
        posterior of the target for every row instead, as a DataFrame (see
        :meth:`predict_proba`; a list of targets gives ``{target: DataFrame}``).  ``device``
        (rows only) chooses where their contractions run, as in :meth:`predict_proba`.
        """
        if credible is not None:
            if method != "exact":
                raise PgmArError(f"credible intervals come from exact answers under posterior "
                                 f"draws of the CPTs; drop method={method!r} or credible")
            return model_credible_query(self, target, evidence, credible, seed=seed)
        if _is_rows(evidence):
            if method != "exact":
                raise PgmArError(f"posteriors for rows are exact; method={method!r} answers one "
                                 "evidence set at a time (pass a dict of single values)")
            if isinstance(target, str):
                return self.predict_proba(evidence, target, device=device)
            return {t: self.predict_proba(evidence, t, device=device)
                    for t in _target_list(target)}
        if self.all_tabular:  # tables do not depend on the training flag: skip the mode walk
            return self._query(target, evidence, num_samples, seed, method)
        with eval_mode(self):
            return self._query(target, evidence, num_samples, seed, method)

    def _query(self, target, evidence, num_samples, seed, method):
        single = isinstance(target, str)
        targets = [target] if single else _target_list(target)
        for t in targets:
            var = self.net.variable(t)
            if not var.is_discrete_scalar:
                raise PgmArError(f"query target {t!r} is not discrete; use sample(...) for "
                                 "real or image variables")
        ev = parse_evidence(self.net, evidence)
        method = inference.check_method(method, discrete=self.all_discrete)
        if self.all_discrete and method != "exact":
            return inference.approximate_answer(self.net, self._query_tables(), target, ev, method,
                                                num_samples, seed)
        if self.all_discrete:
            res = exact_posteriors(self.net, self._query_tables(), targets, ev)
            out = {t: dict(zip(self.net.variable(t).states, res[t].tolist())) for t in targets}
        else:
            gen = torch_generator(seed)
            vals, logw = self._ancestral(int(num_samples), ev, gen, seed)
            if torch.isneginf(logw).all():
                raise PgmArError(f"every sample has zero weight: evidence {dict(ev)} is "
                                 "impossible or too unlikely for likelihood weighting")
            w = torch.softmax(logw.cpu(), 0)
            ess = inference.effective_sample_size(logw)
            if ev and ess < 1000:
                warnings.warn(f"likelihood weighting: effective sample size {ess:.1f}; the "
                              "answer is a rough estimate (raise num_samples)", RuntimeWarning,
                              stacklevel=3)
            out = {}
            for t in targets:
                var = self.net.variable(t)
                probs = torch.zeros(int(var.cardinality), dtype=torch.float64)
                probs.index_add_(0, vals[t].cpu().long(), w)
                out[t] = dict(zip(var.states, probs.tolist()))
        return out[targets[0]] if single else out

    @in_eval_mode
    def marginals(self, evidence: Optional[Mapping[str, Any]] = None,
                  targets: Optional[Sequence[str]] = None) -> Dict[str, Dict[str, float]]:
        """Every variable's posterior given ``evidence``, ``{name: {state: p}}``, from one
        calibration of the network's junction tree (:func:`pgm_ar.inference.calibrate`).

        ``targets`` narrows the answer to some variables (default: all, in the network's
        order); an evidence variable gets the point mass on its state.  Exact, on
        all-discrete networks; as ``query(list_of_targets, evidence)`` but one pass for all.
        Where the tree would hold a clique over the memory budget, each variable's own
        (pruned) elimination answers instead, and a variable whose elimination does not fit
        either is refused with the approximate methods named.
        """
        if not self.all_discrete:
            raise PgmArError("marginals needs a network of discrete variables only; use "
                             "query(target, evidence) for the discrete ones")
        names = (list(self.net.names) if targets is None else [targets] if isinstance(targets, str)
                 else _target_list(targets))
        for t in names:
            self.net.variable(t)  # an unknown name is an error naming it
        marg = exact_posteriors(self.net, self._query_tables(), names,
                                parse_evidence(self.net, evidence), one_pass=True)
        return {t: dict(zip(self.net.variable(t).states, marg[t].tolist())) for t in names}

    @in_eval_mode
    def predict_proba(self, data: ModelData, target: str, device: Any = None):
        """The posterior of ``target`` in every row of ``data``, as a DataFrame.

        ``data`` is a DataFrame or ``{name: column}`` of state names or indices; empty cells,
        ``None`` and ``NaN`` are missing (unobserved), absent columns unobserved in every
        row, and the target's own column is ignored (each row's answer is the prediction
        from its other values).  The result has one column per state of ``target`` and one
        row per input row (the DataFrame's index kept).  Exact, on all-discrete networks:
        rows are grouped by their missing-value pattern and contracted together
        (:func:`pgm_ar.inference.batched_query`), far faster than a query per row.
        ``device``: ``"numpy"``, ``"cpu"``/``"cuda"`` (torch there) or ``None``/``"auto"``
        (CUDA for large batches when present, else numpy); same answers on each.

        Raises
        ------
        ImpossibleEvidenceError
            Naming the first row whose observed values have probability zero.
        """
        if not self.all_discrete:
            raise PgmArError("posteriors for rows of data need a network of discrete "
                             "variables only; use sample(...) with evidence per row")
        if not isinstance(target, str):
            raise PgmArError(f"predict_proba takes one target variable name, got {target!r}")
        self.net.variable(target)  # an unknown name is an error naming it
        return inference.posterior_frame(self.net, self._query_tables(), target, data,
                                         device=device)

    def map_query(self, targets: Optional[Union[str, Sequence[str]]] = None,
                  evidence: Optional[Mapping[str, Any]] = None) -> Dict[str, str]:
        """The most probable states ``{name: state}``: of all non-evidence variables (MPE) when
        ``targets`` is ``None``, else of the targets with the others summed out (exact;
        all-discrete networks)."""
        if not self.all_discrete:
            raise PgmArError("map_query needs a network of discrete variables only")
        if self.all_tabular:
            return self._map_query(targets, evidence)
        with eval_mode(self):
            return self._map_query(targets, evidence)

    def _map_query(self, targets, evidence) -> Dict[str, str]:
        ev = parse_evidence(self.net, evidence)
        tl = [targets] if isinstance(targets, str) else targets
        res = inference.map_query(self.net, self._query_tables(), tl, ev)
        return {k: self.net.variable(k).states[v] for k, v in res.items()}

    def _query_tables(self) -> "Mapping[str, torch.Tensor]":
        """The CPTs as a mapping that computes each one when a query first reads it and keeps
        it while the node's parameters are unchanged (see :class:`_TableView`)."""
        view = self.__dict__.get("_table_view")
        if view is None:
            view = _TableView(self)
            self.__dict__["_table_view"] = view
        return view


class _TableView(MappingABC):
    """``{name: CPT}`` of a compiled model, computed lazily and cached per parameter version.

    A query reads only the CPTs its elimination needs, so computing all of them (a softmax
    per node) on every query would cost more than the query on a large network.  A tabular
    node's table is kept with its logits tensor and that tensor's version (torch bumps it on
    every in-place change: fitting, optimiser steps, ``load_state_dict``), so the same
    tensor object comes back until the parameters change.  Other families are evaluated
    on every read.
    """

    def __init__(self, model: Any) -> None:
        self._model = model
        self._cache: Dict[str, tuple] = {}
        self._nodes: tuple = ()
        self._node_list: Any = None

    def __getitem__(self, name: str) -> torch.Tensor:
        m = self._model
        i = m._index.get(name) if isinstance(name, str) else None
        if i is None:
            raise KeyError(name)
        lazy = m.__dict__.get("_lazy_tables")  # a model whose node modules are not built yet
        if lazy is not None:
            hit = self._cache.get(name)
            if hit is None or hit[0] is not lazy:
                hit = self._cache[name] = (lazy, None, lazy(i))
            return hit[2]
        nodes = m._modules["nodes"]
        if nodes is not self._node_list:  # indexing a ModuleList costs more than the lookup
            self._node_list, self._nodes = nodes, tuple(nodes)
        node = self._nodes[i]
        if not isinstance(node, TabularConditional):
            with torch.no_grad():
                return m._table(node).cpu()
        logits = node._parameters["logits"]  # what node.logits reads, without __getattr__
        hit = self._cache.get(name)
        if hit is not None and hit[0] is logits and hit[1] == logits._version:
            return hit[2]
        table = node.probs().cpu()
        self._cache[name] = (logits, logits._version, table)
        return table

    @property
    def tables_version(self) -> Any:
        """Changes whenever a table may change, ``None`` when unknown (see
        :func:`pgm_ar.inference.elimination.plan_factors`): while the model's node modules
        are not built its tables are the network's, fixed, and this is constant."""
        return self._model.__dict__.get("_tables_token")

    def __iter__(self) -> Iterator[str]:
        return iter(self._model.net.names)

    def __len__(self) -> int:
        return len(self._model.net.names)


def _is_rows(evidence: Any) -> bool:
    """Whether evidence is given as rows (a DataFrame, or a mapping of columns) rather than
    as one ``{name: state}`` assignment."""
    if evidence is None:
        return False
    try:
        import pandas as pd

        if isinstance(evidence, pd.DataFrame):
            return True
    except ImportError:  # pragma: no cover
        pass
    if not isinstance(evidence, Mapping):
        return False
    return any(isinstance(v, (list, tuple, np.ndarray, torch.Tensor)) and np.ndim(v) >= 1
               or type(v).__name__ == "Series" for v in evidence.values())


def _target_list(target: Any) -> list:
    """Query targets as a list of names; anything else is a PgmArError (not a TypeError)."""
    if target is None:
        raise PgmArError("no target variable given: name one, or a list of names")
    try:
        out = list(target)
    except TypeError:
        raise PgmArError(f"a query target must be a variable name or a list of names, got "
                         f"{type(target).__name__} {target!r}") from None
    bad = next((t for t in out if not isinstance(t, str)), None)
    if bad is not None:
        raise PgmArError(f"a query target must be a variable name, got {bad!r}")
    return out
