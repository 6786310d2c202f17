"""Atomic writes moved to :mod:`pgm_ar.utils.atomic` (outside ``io``, so that writing a file
does not import the BIF and spec readers); this module keeps the old import path working."""
from __future__ import annotations

from ..utils.atomic import atomic_write_bytes, atomic_write_text

__all__ = ["atomic_write_bytes", "atomic_write_text"]
