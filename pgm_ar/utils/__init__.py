"""Small helpers that many modules share, one concept per module.

* :mod:`~pgm_ar.utils.suggest` — :func:`did_you_mean`, the hint after an unknown name.
* :mod:`~pgm_ar.utils.enums` — :func:`parse_enum`, text (any case) to an enum member.
* :mod:`~pgm_ar.utils.seeding` — the seed policy: :func:`torch_generator`, the
  :func:`torch_random_state` decorator and :func:`forked_global_rng`.
* :mod:`~pgm_ar.utils.devices` — :func:`resolve_device` (``"auto"``, ``"cpu"``, ``"cuda:1"``).
* :mod:`~pgm_ar.utils.atomic` — :func:`atomic_write_bytes`, :func:`atomic_write_text`.

Names are imported lazily (PEP 562), as in :mod:`pgm_ar`: asking for
:func:`did_you_mean` does not import torch.

>>> from pgm_ar.utils import did_you_mean
>>> did_you_mean("rian", ["rain", "wet"])
" (did you mean 'rain'?)"
"""
from __future__ import annotations

import importlib
from typing import Any

# public name -> module (of this package) that defines it
_EXPORTS = {
    "did_you_mean": "suggest",
    "parse_enum": "enums",
    "torch_generator": "seeding", "torch_random_state": "seeding", "forked_global_rng": "seeding",
    "resolve_device": "devices",
    "atomic_write_bytes": "atomic", "atomic_write_text": "atomic",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # cache: later look-ups skip this function
    return value


def __dir__() -> list:
    return __all__
