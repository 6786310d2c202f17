"""Grey (or colour) values 0..255 quantized to ``L`` levels, and back for display.

An image variable with ``levels: L`` takes pixel values ``0..L-1``.  Eight-bit data (MNIST's
grey levels, the channels of an RGB picture) become such values by cutting 0..255 into ``L``
bins of equal width::

    q = floor(v * L / 256)

so ``L = 256`` keeps every value, ``L = 2`` is the threshold ``v >= 128``, and ``L = 4`` maps
0..63 -> 0, 64..127 -> 1, 128..191 -> 2, 192..255 -> 3.  (When 256 is not a multiple of
``L`` the bins differ in width by one value.)  :func:`dequantize` goes back for display: it
spreads ``0..L-1`` evenly over 0..255 (``0 -> 0``, ``L-1 -> 255``) and is a right inverse:
``quantize(dequantize(q, L), L) == q``.

>>> import numpy as np
>>> quantize(np.array([0, 63, 64, 127, 128, 255], dtype=np.uint8), 4).tolist()
[0, 0, 1, 1, 2, 3]
>>> dequantize(np.array([0, 1, 2, 3], dtype=np.uint8), 4).tolist()
[0, 85, 170, 255]
"""
from __future__ import annotations

from typing import TypeVar, Union

import numpy as np
import torch

from ..errors import DataError, PgmArError

__all__ = ["quantize", "dequantize", "check_levels"]

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)


def check_levels(levels: int) -> int:
    """``levels`` as an int, if it is one of 2..256 (values that fit in ``uint8``)."""
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) \
            or not 2 <= int(levels) <= 256:
        raise PgmArError(f"levels must be an integer from 2 to 256, got {levels!r}")
    return int(levels)


def _integers(x: Union[np.ndarray, torch.Tensor], top: int, what: str) -> None:
    """Refuse anything but integers in 0..top (floats would be silently truncated)."""
    if isinstance(x, torch.Tensor):
        floating, is_bool = x.is_floating_point() or x.is_complex(), x.dtype == torch.bool
        dtype = str(x.dtype).replace("torch.", "")
    else:
        floating = not np.issubdtype(x.dtype, np.integer) and x.dtype != np.bool_
        is_bool, dtype = x.dtype == np.bool_, str(x.dtype)
    if floating or is_bool:
        raise DataError(f"{what} must be integers 0..{top} (e.g. uint8), got {dtype} values; "
                        "scale and convert them first")
    if x.size if isinstance(x, np.ndarray) else x.numel():
        lo, hi = int(x.min()), int(x.max())
        if lo < 0 or hi > top:
            raise DataError(f"{what} must lie in 0..{top}, found {lo if lo < 0 else hi}")


def quantize(images: ArrayT, levels: int) -> ArrayT:
    """``floor(v * levels / 256)`` of every value ``v`` in 0..255: ``levels`` equal-width bins.

    Parameters
    ----------
    images
        A numpy array or a torch tensor of integers 0..255 (``uint8`` typically), any shape.
    levels
        Number of output levels, 2..256.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        The same kind and shape as ``images``, ``uint8`` values ``0..levels-1``.

    Raises
    ------
    DataError
        Values are not integers, or lie outside 0..255.
    """
    levels = check_levels(levels)
    _integers(images, 255, "values to quantize")
    if isinstance(images, torch.Tensor):
        # int32 holds 255 * 256 exactly; the shift is the floor division by 256
        return ((images.to(torch.int32) * levels) >> 8).to(torch.uint8)
    return ((np.asarray(images).astype(np.int32) * levels) >> 8).astype(np.uint8)


def dequantize(values: ArrayT, levels: int) -> ArrayT:
    """Levels ``0..levels-1`` spread over 0..255 for display: ``ceil(q * 255 / (levels - 1))``.

    ``0 -> 0`` and ``levels-1 -> 255``; rounding up (rather than to nearest) keeps each value
    inside the bin it came from, so ``quantize(dequantize(q, L), L) == q`` for every ``q``.

    Returns the same kind and shape as ``values``, ``uint8``.
    """
    levels = check_levels(levels)
    _integers(values, levels - 1, f"values of a {levels}-level image")
    if isinstance(values, torch.Tensor):
        return ((values.to(torch.int32) * 255 + (levels - 2)) // (levels - 1)).to(torch.uint8)
    return ((np.asarray(values).astype(np.int32) * 255 + (levels - 2)) // (levels - 1)
            ).astype(np.uint8)
