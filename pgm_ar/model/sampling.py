"""Drawing rows from a compiled model, with or without evidence, and filling in missing values.

Without evidence: ancestral sampling, vectorised per node.  With evidence, the most exact
method that applies: exact posterior samples for all-discrete networks (variable elimination,
then backward sampling), clamped ancestral sampling when the evidence's ancestors are all
evidence too, else likelihood weighting with the effective sample size reported.  Missing
discrete values are imputed by Pyro's ``infer_discrete`` on the model's own program.
"""
from __future__ import annotations

from enum import Enum
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import torch
from pyro import poutine
from pyro.infer import config_enumerate, infer_discrete

from .. import inference
from ..errors import ImpossibleEvidenceError, PgmArError
from ..limits import check as check_limit
from ..tabular_data import decode, parse_evidence
from ..utils.enums import parse_enum
from ..utils.seeding import forked_global_rng, torch_generator
from .data import ModelData
from .modes import in_eval_mode

__all__ = ["ImputeMode", "SamplingMixin"]


class ImputeMode(str, Enum):
    """How :meth:`CompiledModel.impute` fills missing values: the per-row joint MAP assignment
    or a posterior sample."""

    MAP = "map"
    SAMPLE = "sample"


class SamplingMixin:
    """Sampling and imputation (a mixin of :class:`~pgm_ar.model.CompiledModel`)."""

    @in_eval_mode
    def impute(self, data: ModelData, mode: Union[str, ImputeMode] = "map",
               seed: Optional[int] = None, batch_size: int = 65536):
        """Fill missing discrete values (and latent variables) with their per-row joint MAP
        assignment (``mode="map"``) or a posterior sample (``"sample"``), via Pyro's
        ``infer_discrete``.  Returns a DataFrame with state names."""
        mode = parse_enum(ImputeMode, mode, "impute mode")
        enc = self.encode_data(data)
        if not enc.has_missing:
            return decode(self.net, enc.values)
        # The rule for impossible evidence: a row whose observed values have probability zero
        # has nothing to condition on (as map_query and query refuse it).
        observed_lp = self._observed_log_prob(enc)
        bad = torch.nonzero(torch.isneginf(observed_lp)).reshape(-1)
        if len(bad):
            i = int(bad[0])
            seen = {name: self.net.variable(name).states[int(v[i])]
                    for name, v in enc.values.items()
                    if name in self.net and self.net.variable(name).is_discrete_scalar
                    and int(v[i]) >= 0}
            raise ImpossibleEvidenceError(
                seen, f"row {i}: its observed values {seen} have probability zero under the "
                      f"model ({len(bad)} such row(s)); nothing can be imputed given them")
        fill = list(enc.latent) + list(enc.missing_columns)
        chunk = max(1, min(batch_size, self._enum_chunk(max(1, self._enum_width(enc)))))
        temperature = 0 if mode is ImputeMode.MAP else 1
        out = {k: v.clone() for k, v in enc.values.items()}
        got: Dict[str, List[torch.Tensor]] = {name: [] for name in fill}
        with forked_global_rng(seed, self.device):
            with torch.no_grad():
                for start in range(0, enc.n, chunk):
                    part = enc.rows(slice(start, start + chunk))
                    program = infer_discrete(config_enumerate(self.model), first_available_dim=self.plate_dim - 1,
                                             temperature=temperature)
                    tr = poutine.trace(program).get_trace(part.values)
                    for name in fill:
                        got[name].append(tr.nodes[name]["value"].reshape(-1).expand(part.n))
        for name in fill:
            x = torch.cat(got[name]).long()
            if name in out:
                out[name] = torch.where(out[name] < 0, x, out[name])
            else:
                out[name] = x
        ordered = {n: out[n] for n in self.net.names if n in out}
        return decode(self.net, ordered)

    @in_eval_mode
    def sample(self, n: int, evidence: Optional[Mapping[str, Any]] = None,
               seed: Optional[int] = None, num_proposals: Optional[int] = None,
               as_tensors: bool = False):
        """``n`` rows as a pandas DataFrame (state names for discrete variables; for an image
        variable, a column holding one ``(C, H, W)`` tensor per row).

        With ``as_tensors=True`` the result is ``{name: tensor}`` instead: images stacked as
        ``(n, C, H, W)``, discrete values as state indices (the way :meth:`log_prob` takes
        them); ``torch.stack(list(df["digit"]))`` gives the same images from the DataFrame.

        Without evidence: ancestral sampling, vectorised per node.  With evidence:

        * all-discrete networks: exact posterior samples (variable elimination, then
          backward sampling); if the network is too densely connected for that, likelihood
          weighting as below;
        * evidence whose ancestors are all evidence too: clamped ancestral sampling (exact);
        * otherwise likelihood weighting: ``num_proposals`` (default ``max(10 n, 10000)``)
          weighted ancestral samples are resampled to ``n`` rows; the effective sample size is
          in ``df.attrs["ess"]`` and a warning is given when it is below ``n``.

        ``df.attrs["method"]`` says which was used.
        """
        n = inference.check_sample_count(n)
        check_limit("max_sample_values", n * self.values_per_row(), f"a sample of {n} rows",
                    "draw it in several calls with different seeds (pgm-ar sample streams "
                    "large samples to its CSV in chunks)")
        ev = parse_evidence(self.net, evidence)
        gen = torch_generator(seed)
        method, ess = "forward", None
        if self.all_discrete:
            vals, method, ess = inference.discrete_sample(self.net, self.tables(), n, ev,
                                                          gen, num_proposals)
        else:
            if not ev or self._clamp_is_exact(ev):
                vals, _ = self._ancestral(n, ev, gen, seed)
                method = "forward" if not ev else "clamped"
            else:
                vals, ess = self._weighted_resample(n, ev, gen, num_proposals, seed)
                method = "likelihood_weighting"
        if as_tensors:
            return {k: v.detach().cpu() for k, v in vals.items()}
        df = decode(self.net, vals)
        df.attrs["method"] = method
        if ess is not None:
            df.attrs["ess"] = ess
        return df

    def values_per_row(self) -> int:
        """Values one sampled row holds (an image counts its ``C*H*W`` pixels)."""
        return sum(v.num_pixels for v in self.net.variables)

    def _clamp_is_exact(self, ev: Mapping[str, Any]) -> bool:
        return all(self.net.ancestors(e) <= set(ev) for e in ev)

    def _ancestral(self, n: int, ev: Mapping[str, Any], gen: torch.Generator,
                   seed: Optional[int]) -> Tuple[Dict[str, torch.Tensor], torch.Tensor]:
        """Ancestral samples with evidence clamped, and each row's log weight (sum of the
        evidence's log-likelihoods)."""
        vals: Dict[str, torch.Tensor] = {}
        logw = torch.zeros(n, dtype=torch.float64, device=self.device)
        # distributions draw from torch's global generator: seed a forked copy of it from gen
        with forked_global_rng(gen, self.device):
            with torch.no_grad():
                for name in self._topo:
                    node = self.nodes[self._index[name]]
                    d = node({p: vals[p] for p in self._parents[name]}, batch_size=n)
                    if name in ev:
                        var = node.variable
                        x = torch.full((n,), ev[name], device=self.device,
                                       dtype=torch.long if var.is_discrete else self.dtype)
                        logw = logw + d.log_prob(x).double()
                        vals[name] = x
                    else:
                        vals[name] = d.sample()
        return {k: vals[k] for k in self.net.names}, logw

    def _weighted_resample(self, n: int, ev: Mapping[str, Any], gen: torch.Generator,
                           num_proposals: Optional[int], seed: Optional[int] = None
                           ) -> Tuple[Dict[str, torch.Tensor], float]:
        """Likelihood weighting by clamped ancestral sampling of the conditionals (networks
        with real or image variables), resampled to ``n`` rows."""
        m = int(num_proposals) if num_proposals is not None else max(10 * n, 10_000)
        vals, logw = self._ancestral(m, ev, gen, seed)
        if torch.isneginf(logw).all():
            raise PgmArError(f"every sample has zero weight: evidence {dict(ev)} is "
                             "impossible or too unlikely for likelihood weighting")
        ess = inference.effective_sample_size(logw)
        return inference.resample_weighted(vals, logw, n, gen, ess, m), ess

