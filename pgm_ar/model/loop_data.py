"""The columns the training loop trains on: complete, checked, compact.

The loop (:func:`pgm_ar.training.fit`) batches a dict of CPU tensors.  This module turns the
model's data forms (:data:`~pgm_ar.model.data.ModelData`) into one, with the same checks as
everywhere else (:func:`pgm_ar.tabular_data.encode`: unknown columns, states, ranges), refusing
missing values (the loop maximises the likelihood of complete rows) and keeping discrete
images as ``uint8`` (8x smaller than encoded int64; cast per batch).
"""
from __future__ import annotations

from typing import Any, Dict

import numpy as np
import torch

from ..errors import DataError
from ..tabular_data import (EncodedData, columns_of, encode, encode_discrete_column,
                            encode_real_column)
from ..variables import Image
from .data import ModelData, is_discrete_image

__all__ = ["loop_columns"]


def loop_columns(model: Any, data: ModelData, what: str, raw_images: bool = False
                 ) -> Dict[str, torch.Tensor]:
    """Complete, checked columns as CPU tensors for the training loop.

    Discrete images are kept compactly (``uint8``).  With ``raw_images`` image columns are
    only shape-checked, since a transform (e.g. dynamic binarization of grey levels)
    turns them into pixel values batch by batch.
    """
    data = model.as_mapping(data)
    if isinstance(data, EncodedData):
        data = data.values
    if not raw_images:
        try:
            enc = encode(model.net, data, allow_latent=False)
        except DataError as exc:
            raise DataError(f"{what} data: {exc}") from None
        if enc.has_missing:
            raise DataError(f"{what} data: missing values; the training loop needs complete "
                            "rows (method='svi' marginalises missing discrete values)",
                            column=enc.missing_columns[0])
        values = dict(enc.values)
    else:
        cols = columns_of(data)
        values = {}
        for key in cols:
            if key not in model.net:
                raise DataError(f"{what} data: unknown column; it is not a variable of the "
                                "network", column=key)
        for var in model.net.variables:
            if var.name not in cols:
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
                if bool((values[var.name] < 0).any()):
                    raise DataError(f"{what} data: missing values; the training loop needs "
                                    "complete rows", column=var.name)
            else:
                values[var.name] = encode_real_column(var, col)
        sizes = {k: int(v.shape[0]) for k, v in values.items()}
        if len(set(sizes.values())) > 1:
            raise DataError(f"{what} data: columns have different numbers of rows: {sizes}")
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

