"""The data a compiled model takes, and the kinds of variable its code has to tell apart.

Every public method of :class:`~pgm_ar.model.CompiledModel` that reads rows accepts the same
forms (:data:`ModelData`): a pandas DataFrame (state names or indices; empty cells are
missing), a mapping ``{variable name: values}`` (tensors, arrays or lists), an already
:class:`~pgm_ar.tabular_data.EncodedData`, and for networks with one image variable the images
alone (``[N, C, H, W]``) or an ``(images, labels)`` pair.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Tuple, Union

from ..tabular_data import EncodedData

if TYPE_CHECKING:  # names for the alias only
    import pandas
    import torch
from ..variables import Image

__all__ = ["ModelData", "is_discrete_image", "IMPOSSIBLE", "ENUM_BUDGET",
           "IMAGE_ENUM_BUDGET", "IMAGE_BATCH"]

#: the forms of data the model's methods accept (see the module docstring)
ModelData = Union["pandas.DataFrame", Mapping[str, Any], EncodedData, "torch.Tensor",
                  Tuple[Any, Any]]

#: log-factor that rules out an enumerated value disagreeing with an observed one
IMPOSSIBLE = -1e30
#: the most entries an exact marginalisation over missing values may hold per chunk of rows
ENUM_BUDGET = 2 ** 24
#: with image variables: the most pixel values (rows x enumerated states x pixels) per chunk
IMAGE_ENUM_BUDGET = 2 ** 22
#: rows scored per pass by log_prob / features when the network has images
IMAGE_BATCH = 1024


def is_discrete_image(v: Image) -> bool:
    """An image whose pixels take ``levels`` discrete values."""
    return isinstance(v, Image) and v.levels is not None
