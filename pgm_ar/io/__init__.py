"""Files in and out: BIF networks, YAML/JSON specs, and atomic writes.

* :func:`load_network` — a :class:`~pgm_ar.network.BayesNet` from any supported file.
* :func:`load_any` — a :class:`~pgm_ar.io.spec.Spec` from any supported file (a BIF
  network becomes a spec with no declared statements).
* :mod:`pgm_ar.io.bif` — :func:`read_bif`, :func:`read_bif_string`, :func:`write_bif`.
* :mod:`pgm_ar.io.spec` — :func:`load_spec`, :func:`load_spec_text`, :func:`save_spec`.
* :mod:`pgm_ar.io.atomic` — :func:`atomic_write_text`, :func:`atomic_write_bytes`.

Supported suffixes: ``.bif``, ``.bif.gz``, ``.yaml``, ``.yml``, ``.json``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence, Union

from ..errors import CycleError, SpecError


class SpecCycleError(SpecError, CycleError):
    """A cycle in a file's edges: both a :class:`SpecError` (file, line, key) and a
    :class:`CycleError` (``cycle`` lists the nodes in order)."""

    def __init__(self, cycle: Sequence[str], path: Optional[str] = None,
                 line: Optional[int] = None, key: Optional[str] = None) -> None:
        # Both bases build their own message; compose it here once instead of
        # letting the cooperative __init__ chain mix the two signatures.
        self.cycle = tuple(cycle)
        self.path, self.line, self.key = path, line, key
        where = [str(p) for p in (path,) if p]
        if line is not None:
            where.append(f"line {line}")
        if key:
            where.append(f"at {key}")
        message = str(CycleError(self.cycle))
        ValueError.__init__(self, f"{', '.join(where)}: {message}" if where else message)


from .atomic import atomic_write_bytes, atomic_write_text  # noqa: E402
from .bif import read_bif, read_bif_string, write_bif  # noqa: E402
from .spec import Spec, load_spec, load_spec_text, save_spec  # noqa: E402

PathLike = Union[str, Path]

BIF_SUFFIXES = (".bif", ".bif.gz")
SPEC_SUFFIXES = (".yaml", ".yml", ".json")

__all__ = ["Spec", "SpecCycleError", "atomic_write_bytes", "atomic_write_text", "load_any",
           "load_network", "load_spec", "load_spec_text", "read_bif", "read_bif_string",
           "save_spec", "write_bif"]


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(BIF_SUFFIXES):
        return "bif"
    if name.endswith(SPEC_SUFFIXES):
        return "spec"
    raise SpecError(
        f"unknown file type {path.suffix or '(no suffix)'!r}: expected one of "
        f"{', '.join(BIF_SUFFIXES + SPEC_SUFFIXES)}", path=str(path))


def load_any(path: PathLike) -> Spec:
    """A :class:`Spec` from a spec file or a BIF file (dispatch on the suffix).

    A BIF network becomes a spec with its CPTs, no declared statements, no
    conditionals and ``structure == "bif"``.
    """
    p = Path(path)
    if _kind(p) == "bif":
        return Spec(network=read_bif(p), statements=(), conditionals={}, structure="bif",
                    source=str(p))
    return load_spec(p)


def load_network(path: PathLike):
    """The :class:`~pgm_ar.network.BayesNet` of a spec or BIF file (dispatch on the suffix)."""
    p = Path(path)
    if _kind(p) == "bif":
        return read_bif(p)
    return load_spec(p).network
