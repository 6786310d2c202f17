"""Budgets checked before allocation: the one setting that bounds what input may ask for.

Every size that comes from input (a variable's number of states, a spec's ``count``, an image
shape, a CPT expanded from a BIF ``default`` row, a token of a file, the decompressed size of a
``.gz``, the tensors of a model file, an exact-inference factor, the parameters of a family, the
pictures of a sample grid) is compared against a named limit here *before* anything of that size
is built.  Over a limit, a :class:`~pgm_ar.errors.PgmArError` names the thing, the size asked
for, the limit, and how to raise it.

The defaults are generous for real work and far below what would exhaust a machine.  Raise
them for one process with :func:`set_limits`, temporarily with :func:`limits_raised`, or from
the environment with ``PGM_AR_LIMITS="max_states=10000000,max_file_bytes=8e9"`` (read at
import).

>>> from pgm_ar.limits import get_limits, limits_raised
>>> get_limits().max_states
1000000
>>> with limits_raised(max_states=5):
...     check("max_states", 6, "variable 'x'")
Traceback (most recent call last):
...
pgm_ar.errors.PgmArError: variable 'x': 6 states is over the limit max_states = 5; raise it with pgm_ar.set_limits(max_states=...) or PGM_AR_LIMITS="max_states=..."
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
from dataclasses import dataclass
from typing import Iterator

from .errors import PgmArError

__all__ = ["Limits", "get_limits", "set_limits", "limits_raised", "check", "ENV_VAR"]

#: environment variable read at import: ``name=value`` pairs separated by commas
ENV_VAR = "PGM_AR_LIMITS"


@dataclass(frozen=True)
class Limits:
    """The budgets (each a count; ``*_bytes`` in bytes, ``*_cells`` in table entries)."""

    #: states of one discrete variable (Categorical, BIF variable)
    max_states: int = 1_000_000
    #: variables of one network (a spec's ``count``, BIF variables, images' pixels excluded)
    max_variables: int = 1_000_000
    #: pixels of one image, C*H*W
    max_image_values: int = 16_777_216
    #: entries of one conditional probability table (parent configurations x states)
    max_table_cells: int = 50_000_000
    #: entries of one exact-inference factor (joint of the variables it spans)
    max_factor_cells: int = 50_000_000
    #: characters of one token or line in a BIF or spec file
    max_token_chars: int = 1_000_000
    #: bytes of one input file once decompressed (spec, BIF, ``.gz``, model file)
    max_file_bytes: int = 2_000_000_000
    #: bytes of a gzip file's content once decompressed (MNIST's largest file has 47 MB)
    max_decompressed_bytes: int = 256_000_000
    #: parameters of one family's network (MLP, NADE, PixelCNN, ...)
    max_parameters: int = 100_000_000
    #: values (rows x values per row, an image counting its pixels) drawn by one call that
    #: returns them in memory; ``pgm-ar sample`` streams larger samples to its CSV in chunks
    max_sample_values: int = 50_000_000
    #: pictures of one sample grid
    max_grid_images: int = 10_000
    #: parents of one variable (a CPT with more is exponential in them)
    max_parents: int = 24
    #: images of one image set (PNG files of an ``--images`` directory, entries of an ``.npz``)
    max_images: int = 10_000_000
    #: bytes of one image set once decoded (``N*C*H*W`` uint8 values), and of any one array
    #: of an ``.npz``, checked from the files' headers before anything is decoded
    max_image_bytes: int = 4_000_000_000

    def describe(self) -> str:
        return ", ".join(f"{f.name}={getattr(self, f.name)}" for f in dataclasses.fields(self))


#: what each limit counts, for messages
_UNITS = {
    "max_states": "states", "max_variables": "variables", "max_image_values": "values",
    "max_table_cells": "table entries", "max_factor_cells": "factor entries",
    "max_token_chars": "characters", "max_file_bytes": "bytes", "max_decompressed_bytes": "bytes", "max_parameters": "parameters",
    "max_sample_values": "values", "max_grid_images": "pictures", "max_parents": "parents",
    "max_images": "images", "max_image_bytes": "bytes",
}


def _from_env(base: Limits) -> Limits:
    raw = os.environ.get(ENV_VAR, "").strip()
    if not raw:
        return base
    names = {f.name for f in dataclasses.fields(Limits)}
    values = {}
    for part in raw.split(","):
        if not part.strip():
            continue
        key, _, val = part.partition("=")
        key = key.strip()
        if key not in names:
            raise PgmArError(f"{ENV_VAR}: unknown limit {key!r}; the limits are {sorted(names)}")
        try:
            values[key] = int(float(val))
        except ValueError:
            raise PgmArError(f"{ENV_VAR}: {key} must be a number, got {val.strip()!r}") from None
    return dataclasses.replace(base, **values)


_current: Limits = _from_env(Limits())


def get_limits() -> Limits:
    """The budgets in force."""
    return _current


def set_limits(**values: int) -> Limits:
    """Change some budgets for this process; returns the previous :class:`Limits`.

    >>> old = set_limits(max_states=10)
    >>> get_limits().max_states
    10
    >>> _ = set_limits(**dataclasses.asdict(old))
    """
    global _current
    names = {f.name for f in dataclasses.fields(Limits)}
    for key, val in values.items():
        if key not in names:
            raise PgmArError(f"unknown limit {key!r}; the limits are {sorted(names)}")
        if isinstance(val, bool) or not isinstance(val, int) or val < 1:
            raise PgmArError(f"limit {key} must be a positive integer, got {val!r}")
    old = _current
    _current = dataclasses.replace(_current, **values)
    return old


@contextlib.contextmanager
def limits_raised(**values: int) -> Iterator[Limits]:
    """Change some budgets inside a ``with`` block only."""
    old = set_limits(**values)
    try:
        yield _current
    finally:
        set_limits(**dataclasses.asdict(old))


def check(limit: str, size: int, what: str, instead: str = "") -> None:
    """Refuse ``size`` of ``what`` when over the named limit (before anything is allocated).

    ``instead`` says what to do other than raising the limit.
    """
    bound = getattr(_current, limit)
    if size > bound:
        unit = _UNITS.get(limit, "")
        hint = f"; {instead}" if instead else ""
        raise PgmArError(
            f"{what}: {size} {unit} is over the limit {limit} = {bound}{hint}; raise it with "
            f"pgm_ar.set_limits({limit}=...) or {ENV_VAR}=\"{limit}=...\"")
