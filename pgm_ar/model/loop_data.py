"""The columns the training loop trains on: checked, compact, complete or with their gaps.

The loop (:func:`pgm_ar.training.fit`) batches a dict of CPU tensors.  This module turns the
model's data forms (:data:`~pgm_ar.model.data.ModelData`) into one, with the same checks as
everywhere else (:func:`pgm_ar.tabular_data.encode`: unknown columns, states, ranges), keeping
discrete images as ``uint8`` (8x smaller than encoded int64; cast per batch).

By default the rows must be complete.  With ``keep_missing=True`` (how
:meth:`~pgm_ar.model.CompiledModel.fit` calls it) a missing discrete value stays ``-1`` and a
discrete variable absent from the data stays absent (latent): the model's
:meth:`~pgm_ar.model.CompiledModel.enumerated_log_prob` sums them out batch by batch;
:func:`marginalised` names them.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Tuple

import numpy as np
import torch

from ..errors import DataError
from ..tabular_data import (EncodedData, columns_of, encode, encode_discrete_column,
                            encode_real_column)
from ..variables import Image
from .data import ModelData, is_discrete_image

__all__ = ["loop_columns", "marginalised"]


def loop_columns(model: Any, data: ModelData, what: str, raw_images: bool = False,
                 keep_missing: bool = False) -> Dict[str, torch.Tensor]:
    """Checked columns as CPU tensors for the training loop.

    Parameters
    ----------
    model
        The compiled model (its network, dtype and data forms).
    data
        Rows in any of the model's data forms.
    what
        ``"training"`` or ``"validation"``, for messages.
    raw_images
        Image columns are only shape-checked, since a transform (e.g. dynamic binarization
        of grey levels) turns them into pixel values batch by batch.
    keep_missing
        Keep missing discrete values (``-1``) and absent discrete columns (latent) instead of
        refusing them.
    """
    data = model.as_mapping(data)
    if isinstance(data, EncodedData):
        data = data.values
    if raw_images:
        values = _raw_image_columns(model, data, what, keep_missing)
    else:
        try:
            enc = encode(model.net, data, allow_latent=keep_missing)
        except DataError as exc:
            raise DataError(f"{what} data: {exc}") from None
        if enc.has_missing and not keep_missing:
            raise DataError(f"{what} data: missing values; the training loop needs complete "
                            "rows here (CompiledModel.fit marginalises missing discrete values)",
                            column=enc.missing_columns[0])
        values = dict(enc.values)
    out: Dict[str, torch.Tensor] = {}
    for name, x in values.items():
        var = model.net.variable(name)
        x = x.detach().cpu()
        if is_discrete_image(var):
            if not raw_images and var.levels <= 256:  # type: ignore[attr-defined]
                x = x.to(torch.uint8)  # 8x smaller than the encoded int64; cast per batch
        elif not var.is_discrete:
            x = x.to(model.dtype)
        out[name] = x
    if not out or next(iter(out.values())).shape[0] == 0:
        raise DataError(f"{what} data has no rows")
    return out


def _raw_image_columns(model: Any, data: Mapping[str, Any], what: str, keep_missing: bool
                       ) -> Dict[str, torch.Tensor]:
    cols = columns_of(data)
    for key in cols:
        if key not in model.net:
            raise DataError(f"{what} data: unknown column; it is not a variable of the "
                            "network", column=key)
    values: Dict[str, torch.Tensor] = {}
    for var in model.net.variables:
        if var.name not in cols:
            if keep_missing and var.is_discrete_scalar:
                continue  # latent: summed out
            raise DataError(f"{what} data: missing column (the training loop needs "
                            "every variable)", column=var.name)
        col = cols[var.name]
        if isinstance(var, Image):
            x = col if torch.is_tensor(col) else torch.as_tensor(np.asarray(col))
            if x.dim() < 1 or (len(x) and x[0].numel() != var.num_pixels):
                raise DataError(f"{what} data: each image must have {var.num_pixels} "
                                f"values (shape {tuple(var.shape)}), got shape "
                                f"{tuple(x.shape[1:])}", column=var.name)
            values[var.name] = x.reshape((x.shape[0],) + tuple(var.shape))
        elif var.is_discrete:
            values[var.name] = encode_discrete_column(var, col)
            if not keep_missing and bool((values[var.name] < 0).any()):
                raise DataError(f"{what} data: missing values; the training loop needs "
                                "complete rows here", column=var.name)
        else:
            values[var.name] = encode_real_column(var, col)
    sizes = {k: int(v.shape[0]) for k, v in values.items()}
    if len(set(sizes.values())) > 1:
        raise DataError(f"{what} data: columns have different numbers of rows: {sizes}")
    return values


def marginalised(model: Any, columns: Mapping[str, torch.Tensor]) -> Tuple[str, ...]:
    """The discrete variables that must be summed out of ``columns``: absent (latent) or with
    a missing (``-1``) value somewhere, in the network's order."""
    out = []
    for var in model.net.variables:
        if not var.is_discrete_scalar:
            continue
        col = columns.get(var.name)
        if col is None or bool((col < 0).any()):
            out.append(var.name)
    return tuple(out)
