"""Scoring rows: log-likelihood in nats, bits per dimension, anomaly scores.

Complete rows are scored in one vectorised pass per node (all-tabular networks through the
exact routines of :mod:`pgm_ar.inference`).  Missing discrete values and latent variables are
summed out exactly by Pyro's enumeration of the model's own program, so ``log_prob({"digit":
x})`` of a ``label -> digit`` network is ``log sum_y p(y) p(x | y)``.
"""
from __future__ import annotations

import contextlib
import math
from typing import Iterator, Mapping, Optional

import torch
from pyro import poutine
from pyro.infer import config_enumerate

from .. import inference
from ..conditionals.tabular import TabularConditional
from ..errors import PgmArError
from ..tabular_data import EncodedData, encode
from .data import (ENUM_BUDGET, IMAGE_BATCH, IMAGE_ENUM_BUDGET, IMPOSSIBLE, ModelData,
                   is_discrete_image)
from .modes import in_eval_mode

__all__ = ["ScoringMixin", "exact_zeros"]


@contextlib.contextmanager
def exact_zeros(model: torch.nn.Module) -> Iterator[None]:
    """Within the block, the tables of ``model`` give ``-inf`` for their zeros (see
    :attr:`~pgm_ar.conditionals.tabular.TabularConditional.exact_zeros`); restored after."""
    tables = [m for m in model.modules() if isinstance(m, TabularConditional)]
    before = [t.exact_zeros for t in tables]
    for t in tables:
        t.exact_zeros = True
    try:
        yield
    finally:
        for t, b in zip(tables, before):
            t.exact_zeros = b


class ScoringMixin:
    """Log-likelihoods of rows (a mixin of :class:`~pgm_ar.model.CompiledModel`)."""

    def encode_data(self, data: ModelData) -> EncodedData:
        """``data`` checked and encoded for this network (state indices, ``-1`` where missing),
        on the model's device: what :meth:`model` takes."""
        return encode(self.net, self.as_mapping(data)).to(self.device)

    @in_eval_mode
    def log_prob(self, data: ModelData, batch_size: Optional[int] = None) -> torch.Tensor:
        """Per-row log-likelihood in nats, ``float64[N]`` (on the CPU).

        Complete rows are scored in one vectorised pass per node (``batch_size`` rows at a
        time: default 65536, or 1024 when the network has images).  Missing discrete values
        (and latent variables) are marginalised exactly by Pyro's enumeration: for
        ``label -> digit``, ``log_prob({"digit": x})`` is ``log sum_y p(y) p(x | y)``.
        """
        if batch_size is None:
            batch_size = IMAGE_BATCH if self.has_images else 65536
        enc = self.encode_data(data)
        # a table's zero is held as a very negative logit (fitting needs finite gradients);
        # scored, it is a zero: -inf for an impossible row, complete or not, in any network
        with torch.no_grad(), exact_zeros(self):
            if enc.has_missing:
                return self._log_prob_enum(enc)
            if self.all_tabular:
                tabs = {k: v.to(self.device) for k, v in self.tables().items()}
                return inference.log_prob(self.net, tabs, enc.values).cpu()
            parts = [self._log_prob_complete(enc.rows(slice(start, start + batch_size)))
                     for start in range(0, enc.n, batch_size)]
            if not parts:
                return torch.zeros(0, dtype=torch.float64)
            return torch.cat(parts).cpu()

    def _log_prob_complete(self, enc: EncodedData) -> torch.Tensor:
        return self.batch_log_prob(enc.values).double()

    def batch_log_prob(self, values: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Differentiable log-likelihood of complete rows, ``Tensor[B]`` on the model's device
        in its dtype: the objective of fitting (the Pyro program's log-joint with every site
        observed), computed straight from the conditionals."""
        n = int(next(iter(values.values())).shape[0])
        total: Optional[torch.Tensor] = None
        for name in self._topo:
            node = self.nodes[self._index[name]]
            var = node.variable
            d = node({p: values[p] for p in self._parents[name]}, batch_size=n)
            x = values[name]
            if var.is_discrete_scalar:
                x = x.long()
            elif not is_discrete_image(var):
                x = x.to(self.dtype)
            # discrete images go as they are (uint8 or float 0/1): the family encodes them
            lp = d.log_prob(x)
            total = lp if total is None else total + lp
        if total is None:
            raise PgmArError("the network has no variables")
        return total

    def _enum_width(self, enc: EncodedData) -> int:
        width = 1
        for name in set(enc.latent) | set(enc.missing_columns):
            width *= int(self.net.variable(name).cardinality)  # type: ignore[arg-type]
        return width

    def _enum_chunk(self, width: int) -> int:
        """Rows per enumeration pass for ``width`` enumerated joint states per row."""
        chunk = max(1, ENUM_BUDGET // width)
        if self.has_images:  # every enumerated state runs the image model on every row
            chunk = max(1, min(chunk, IMAGE_ENUM_BUDGET // (width * self.num_image_values)))
        return chunk

    def _check_enum_width(self, enc: EncodedData) -> int:
        width = self._enum_width(enc)
        if width > ENUM_BUDGET:
            raise PgmArError(
                f"marginalising the missing values exactly would enumerate {width} joint "
                f"states per row (limit {ENUM_BUDGET}): too many latent or missing variables")
        return width

    def enumerated_log_prob(self, values: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """``log p(observed part of each row)``, ``Tensor[B]``, with every latent or missing
        discrete value summed out by Pyro's enumeration of :meth:`model`; differentiable (the
        objective of fitting with missing values: an empty guide's ELBO is exactly this)."""
        enum_model = poutine.enum(config_enumerate(self.model),
                                  first_available_dim=self.plate_dim - 1)
        tr = poutine.trace(enum_model).get_trace(values)
        tr.compute_log_prob()
        n = int(next(iter(values.values())).shape[0])
        total = None
        for site in tr.nodes.values():
            if site["type"] == "sample" and "log_prob" in site:
                lp = site["log_prob"].double()  # sums of many small terms: float64
                total = lp if total is None else total + lp
        extra = -self.plate_dim - 1          # trailing size-1 dims right of the rows
        total = total.reshape(total.shape[:total.dim() - extra]) if extra else total
        total = total.reshape((-1,) + total.shape[-1:]) if total.dim() > 1 else total[None]
        return torch.logsumexp(total.expand(total.shape[0], n), dim=0)

    def _log_prob_enum(self, enc: EncodedData) -> torch.Tensor:
        chunk = self._enum_chunk(self._check_enum_width(enc))
        parts = [self.enumerated_log_prob(enc.rows(slice(start, start + chunk)).values)
                 for start in range(0, enc.n, chunk)]
        lp = torch.cat(parts).cpu()
        # an enumerated value disagreeing with an observed one is ruled out by a finite
        # factor (IMPOSSIBLE, for finite gradients): a row left with only such terms has
        # probability zero
        return lp.masked_fill(lp < IMPOSSIBLE / 2, float("-inf"))

    def _observed_log_prob(self, enc: EncodedData) -> torch.Tensor:
        """``log p(observed part of each row)`` with the missing values summed out, ``-inf``
        exactly where that probability is zero (tables' zeros as zeros)."""
        with exact_zeros(self):
            return self._log_prob_enum(enc)

    def bits_per_dim(self, data: ModelData, batch_size: Optional[int] = None) -> torch.Tensor:
        """``-log2 p(row) / D`` per row, ``D`` the pixel values of the image variables.

        ``p(row)`` is :meth:`log_prob`'s: give the images alone to sum a discrete label out
        (the density of the images, comparable to unconditional models), or with their
        labels for the joint.
        """
        if not self.has_images:
            raise PgmArError("bits per dimension is defined for networks with image variables; "
                             "use log_prob")
        return -self.log_prob(data, batch_size) / (self.num_image_values * math.log(2.0))

    def anomaly_score(self, data: ModelData, batch_size: Optional[int] = None) -> torch.Tensor:
        """Negative log-likelihood per row in nats (higher: less like the training data).

        Rows without their label are scored by ``p(image)`` with the label summed out.
        """
        return -self.log_prob(data, batch_size)
