"""Device resolution: the one reading of a ``device`` argument.

``"auto"`` (or ``None``) picks the GPU when there is one, else the CPU; ``"cpu"``,
``"cuda"`` and ``"cuda:N"`` name a device in any case; a :class:`torch.device` is
taken as it is.  Asking for a GPU that is not there is a
:class:`~pgm_ar.errors.PgmArError` saying so, never a failure deep inside torch.
"""
from __future__ import annotations

from typing import Union

import torch

from ..errors import PgmArError

__all__ = ["DeviceLike", "resolve_device"]

DeviceLike = Union[str, int, torch.device, None]

_USE = "use 'auto', 'cpu', 'cuda' or 'cuda:N'"


def resolve_device(device: DeviceLike = "auto") -> torch.device:
    """The :class:`torch.device` that ``device`` names.

    Parameters
    ----------
    device
        ``"auto"`` or ``None`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``,
        ``"cuda:N"`` (any case, surrounding spaces ignored), a GPU index ``N``, or a
        :class:`torch.device`.

    Returns
    -------
    torch.device

    Raises
    ------
    PgmArError
        For text that names no device, a device type other than CPU and CUDA, CUDA
        without a CUDA GPU, or a GPU index beyond the GPUs present.

    Examples
    --------
    >>> resolve_device("CPU")
    device(type='cpu')
    >>> resolve_device(None).type in ("cpu", "cuda")
    True
    """
    if device is None or (isinstance(device, str) and device.strip().lower() == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(device, str):
        text = device.strip().lower()
    elif isinstance(device, torch.device):
        text = device
    elif isinstance(device, int) and not isinstance(device, bool) and device >= 0:
        text = f"cuda:{device}"  # a GPU index, as torch.device(1) reads it
    else:
        raise PgmArError(f"a device must be text, a GPU index or a torch.device, got "
                         f"{device!r}; {_USE}")
    try:
        dev = torch.device(text)
    except (RuntimeError, TypeError, ValueError):
        raise PgmArError(f"unknown device {device!r}; {_USE}") from None
    if dev.type == "cpu":
        return dev
    if dev.type != "cuda":
        raise PgmArError(f"unsupported device {device!r}; {_USE}")
    if not torch.cuda.is_available():
        raise PgmArError(f"device {device!r} was asked for but no CUDA GPU is available (this "
                         "torch build or machine has none); use device='cpu' or 'auto'")
    count = torch.cuda.device_count()
    if dev.index is not None and dev.index >= count:
        raise PgmArError(f"device {device!r}: there {'is' if count == 1 else 'are'} only {count} "
                         f"GPU(s) (cuda:0 .. cuda:{count - 1})")
    return dev
