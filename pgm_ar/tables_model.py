"""Answers from a network's own CPTs, without compiling it into a Pyro program.

``pgm-ar query alarm ...`` or ``pgm-ar sample asia.bif -n 10 ...`` need nothing but the CPTs
of an all-discrete network: exact inference and sampling work on the tables directly
(:mod:`pgm_ar.inference`).  Compiling the network (:func:`pgm_ar.model.compile`) would import
Pyro and build one module per node, seconds of start-up for a question answered in
milliseconds.  :class:`TablesModel` offers the same ``query``, ``map_query`` and ``sample`` as a
compiled model of such a network, with the same answers: its tables are computed exactly as a
compiled model computes them (logits, then a softmax), so that the same seed draws the same
rows.

>>> from pgm_ar.io import load_any
>>> model = TablesModel.from_network(load_any("asia").network)
>>> round(model.query("lung", {"smoke": "yes"})["yes"], 4)
0.1
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Sequence, Union

import numpy as np
import torch

from . import inference
from .inference.junction_tree import exact_posteriors
from .limits import check as check_limit
from .network import BayesNet
from .tabular_data import decode, parse_evidence
from .utils.seeding import torch_generator

__all__ = ["TablesModel"]

#: logit of a zero probability, as :class:`pgm_ar.conditionals.tabular.TabularConditional`
#: stores it (importing that package would import Pyro, which this module exists to avoid)
_ZERO_LOGIT = -1e4


def _as_compiled(probs: Any) -> torch.Tensor:
    """A CPT as a compiled model of tables holds it: float64 logits (zeros clamped), read
    back through a softmax, so that the last bits agree too."""
    p = torch.as_tensor(np.array(probs, dtype=np.float64))
    return torch.softmax(torch.log(p).clamp_min(_ZERO_LOGIT), dim=-1)


class TablesModel:
    """``query``, ``map_query`` and ``sample`` of an all-discrete network with every CPT.

    Parameters
    ----------
    net
        The network; every variable discrete and scalar, each with a CPT.
    """

    has_images = False
    all_discrete = True

    def __init__(self, net: BayesNet) -> None:
        self.net = net
        self._tables = {name: _as_compiled(net.cpds[name].probs) for name in net.names}

    @classmethod
    def from_network(cls, net: BayesNet) -> Optional["TablesModel"]:
        """The model of ``net``, or ``None`` where it needs compiling (a variable that is not
        a discrete scalar, or one without a CPT)."""
        if not all(v.is_discrete_scalar and v.name in net.cpds for v in net.variables):
            return None
        return cls(net)

    def tables(self) -> Dict[str, torch.Tensor]:
        """Every node's CPT, ``(*parent_cards, card)`` float64."""
        return dict(self._tables)

    def query(self, target: Union[str, Sequence[str]],
              evidence: Optional[Mapping[str, Any]] = None, num_samples: int = 100_000,
              seed: Optional[int] = 0, method: str = "exact"):
        """``p(target | evidence)`` as ``{state: p}`` (``{target: {state: p}}`` for a list),
        exact or by an approximate ``method``, as :meth:`pgm_ar.model.CompiledModel.query`."""
        single = isinstance(target, str)
        targets = [target] if single else list(target)
        for t in targets:
            self.net.variable(t)  # an unknown name is an error naming it
        ev = parse_evidence(self.net, evidence)
        if inference.check_method(method) != "exact":
            return inference.approximate_answer(self.net, self._tables, target, ev, method,
                                                num_samples, seed)
        res = exact_posteriors(self.net, self._tables, targets, ev)
        out = {t: dict(zip(self.net.variable(t).states, (float(p) for p in res[t])))
               for t in targets}
        return out[targets[0]] if single else out

    def marginals(self, evidence: Optional[Mapping[str, Any]] = None,
                  targets: Optional[Sequence[str]] = None) -> Dict[str, Dict[str, float]]:
        """Every variable's posterior from one junction tree calibration, as
        :meth:`pgm_ar.model.CompiledModel.marginals`."""
        names = (list(self.net.names) if targets is None else [targets] if isinstance(targets, str)
                 else list(targets))
        for t in names:
            self.net.variable(t)  # an unknown name is an error naming it
        marg = exact_posteriors(self.net, self._tables, names, parse_evidence(self.net, evidence),
                                one_pass=True)
        return {t: dict(zip(self.net.variable(t).states, marg[t].tolist())) for t in names}

    def predict_proba(self, data: Any, target: str, device: Any = None):
        """The posterior of ``target`` in every row of ``data``, as
        :meth:`pgm_ar.model.CompiledModel.predict_proba`."""
        self.net.variable(target)  # an unknown name is an error naming it
        return inference.posterior_frame(self.net, self._tables, target, data, device=device)

    def map_query(self, targets: Optional[Union[str, Sequence[str]]] = None,
                  evidence: Optional[Mapping[str, Any]] = None) -> Dict[str, str]:
        """Most probable states, as :meth:`pgm_ar.model.CompiledModel.map_query`."""
        ev = parse_evidence(self.net, evidence)
        tl = [targets] if isinstance(targets, str) else targets
        res = inference.map_query(self.net, self._tables, tl, ev)
        return {k: self.net.variable(k).states[v] for k, v in res.items()}

    def sample(self, n: int, evidence: Optional[Mapping[str, Any]] = None,
               seed: Optional[int] = None, num_proposals: Optional[int] = None):
        """``n`` rows as a DataFrame, drawn as :meth:`pgm_ar.model.CompiledModel.sample` draws
        them (forward; exact posterior samples with evidence; likelihood weighting where the
        network is too dense for that); ``df.attrs["method"]`` says which."""
        n = inference.check_sample_count(n)
        check_limit("max_sample_values", n * self.values_per_row(), f"a sample of {n} rows",
                    "draw it in several calls with different seeds (pgm-ar sample streams "
                    "large samples to its CSV in chunks)")
        ev = parse_evidence(self.net, evidence)
        gen = torch_generator(seed)
        vals, method, ess = inference.discrete_sample(self.net, self._tables, n, ev, gen,
                                                      num_proposals)
        df = decode(self.net, vals)
        df.attrs["method"] = method
        if ess is not None:
            df.attrs["ess"] = ess
        return df

    def values_per_row(self) -> int:
        """Values one sampled row holds: one per variable (all are scalars)."""
        return len(self.net)

    def __repr__(self) -> str:
        return f"TablesModel({self.net.name!r}, {len(self.net)} variables)"
