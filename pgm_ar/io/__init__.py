"""Files in and out: BIF networks and YAML/JSON specs.

* :func:`load_network` — a :class:`~pgm_ar.network.BayesNet` from any supported file.
* :func:`load_any` — a :class:`~pgm_ar.io.spec.Spec` from any supported file (a BIF
  network becomes a spec with no declared statements).
* :mod:`pgm_ar.io.examples` — the example networks shipped with the package
  (:func:`example_network`, :func:`example_networks`); both loaders also take their names.
* :mod:`pgm_ar.io.bif` — :func:`read_bif`, :func:`read_bif_string`, :func:`write_bif`.
* :mod:`pgm_ar.io.spec` — :func:`load_spec`, :func:`load_spec_text`, :func:`save_spec`.
* :mod:`pgm_ar.io.cpts` — CPT rows assembled as both formats give them.

Atomic writes are :mod:`pgm_ar.utils.atomic` (re-exported here and as ``pgm_ar.io.atomic``).

Supported suffixes: ``.bif``, ``.bif.gz``, ``.yaml``, ``.yml``, ``.json``; or the name of
an example network (``alarm``) where no file of that name exists.
"""
from __future__ import annotations

from pathlib import Path
from typing import Union

# SpecCycleError lives with the other errors; it is re-exported here, where it was first
# defined.  Atomic writes moved to pgm_ar.utils.atomic; re-exported for the same reason.
from ..errors import SpecCycleError, SpecError
from ..utils.atomic import atomic_write_bytes, atomic_write_text
from .bif import read_bif, read_bif_string, write_bif
from .examples import (close_examples, example_for_missing, example_network, example_networks,
                       example_path, is_example_name)
from .spec import Spec, load_spec, load_spec_text, save_spec

PathLike = Union[str, Path]

BIF_SUFFIXES = (".bif", ".bif.gz")
SPEC_SUFFIXES = (".yaml", ".yml", ".json")

__all__ = ["Spec", "SpecCycleError", "atomic_write_bytes", "atomic_write_text",
           "example_network", "example_networks", "example_path", "load_any", "load_network",
           "load_spec", "load_spec_text", "read_bif", "read_bif_string", "save_spec", "write_bif"]


def _resolve(path: PathLike) -> Path:
    """The file behind ``path``: the path itself when it is a file, else the shipped example
    network of that name (so ``alarm`` works anywhere ``alarm.bif.gz`` would)."""
    p = Path(path)
    if p.is_file():  # a file of the same name as an example wins
        return p
    if len(p.parts) == 1 and is_example_name(p.name):
        return example_path(p.name)
    if not p.exists():
        meant = example_for_missing(p)
        if meant is not None and p.name.lower().endswith(BIF_SUFFIXES):
            raise SpecError(f"no such file; the example network {meant!r} ships with pgm_ar: "
                            f"give its name alone ({meant!r}) instead of a file", path=str(p))
        if len(p.parts) == 1 and not p.suffix:  # a bare word: most likely a mistyped example
            raise SpecError(f"no such file, and no example network of that name"
                            f"{close_examples(p.name)}; the examples are: "
                            f"{', '.join(example_networks())}", path=str(p))
    return p


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
    """A :class:`Spec` from a spec file or a BIF file (dispatch on the suffix), or from the
    name of a shipped example network (:func:`example_networks`) where no such file exists.

    A BIF network becomes a spec with its CPTs, no declared statements, no
    conditionals and ``structure == "bif"``; ``source`` is the file read.

    >>> spec = load_any("asia")
    >>> spec.structure, len(spec.network), spec.source.endswith("asia.bif.gz")
    ('bif', 8, True)
    """
    p = _resolve(path)
    if _kind(p) == "bif":
        return Spec(network=read_bif(p), statements=(), conditionals={}, structure="bif",
                    source=str(p))
    return load_spec(p)


def load_network(path: PathLike):
    """The :class:`~pgm_ar.network.BayesNet` of a spec or BIF file (dispatch on the suffix),
    or of a shipped example network named instead of a file (``load_network("alarm")``)."""
    p = _resolve(path)
    if _kind(p) == "bif":
        return read_bif(p)
    return load_spec(p).network
