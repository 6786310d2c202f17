"""A whole spec document: the :class:`Spec` it gives, and loading it from text or a file.

The top-level keys are read in order: ``name``, ``variables``
(:mod:`~pgm_ar.io.spec.variables`), ``statements`` and the edges
(:mod:`~pgm_ar.io.spec.structure`), ``cpts`` (:mod:`~pgm_ar.io.spec.cpts`) and
``conditionals``, the raw family options kept for :func:`pgm_ar.compile`.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple, Union

from ...errors import PgmArError, SpecError
from ...network import BayesNet
from ...statements import Statement
from ...utils.suggest import did_you_mean
from ...utils.files import read_input_bytes
from ...variables import Kind
from .cpts import read_cpts
from .reading import KeyPath, Reader, parse_text, type_name
from .structure import derive_network, read_statements
from .variables import read_variables

__all__ = ["PathLike", "Spec", "TOP_KEYS", "load_spec", "load_spec_text"]

PathLike = Union[str, Path]

TOP_KEYS = ("name", "description", "variables", "structure", "statements", "edges", "parents",
            "cpts", "conditionals")


@dataclass(frozen=True)
class Spec:
    """A loaded spec: the network plus what the compile and check stages need.

    Attributes
    ----------
    network
        The :class:`~pgm_ar.network.BayesNet` (with CPTs where the file gives them).
    statements
        The declared conditional-independence statements, in file order.
    conditionals
        Raw per-variable (or per-kind) family options, e.g.
        ``{"digit": {"family": "nade", "hidden": 500}}``, for :func:`pgm_ar.compile`.
    structure
        How the edges were derived: ``chain_rule``, ``markov(K)``, ``independent``,
        ``independencies``, ``edges`` or ``bif``.
    source
        The file (or ``<string>``) the spec came from.
    """

    network: BayesNet
    statements: Tuple[Statement, ...] = ()
    conditionals: Dict[str, Any] = field(default_factory=dict)
    structure: str = "edges"
    source: str = "<string>"


def load_spec_text(text: str, fmt: str = "yaml", source: str = "<string>",
                   name: Optional[str] = None) -> Spec:
    """Load a spec from text.

    Parameters
    ----------
    text
        The YAML or JSON source.
    fmt
        ``"yaml"`` or ``"json"``.
    source
        What to call the text in error messages (a file name).
    name
        The network name when the spec has no ``name`` key (default ``"net"``).

    Raises
    ------
    SpecError
        Naming ``source``, the key path and the line where it can be found.
    """
    if not isinstance(text, str):
        raise PgmArError(f"load_spec_text expects text, got {type(text).__name__}")
    data = parse_text(text, fmt, source)
    return read_document(Reader(data, source, text), name or "net")


def load_spec(path: PathLike) -> Spec:
    """Load a spec file (``.yaml``, ``.yml`` or ``.json``; other suffixes are read as YAML).

    The network is named by the spec's ``name`` key, else by the file's stem.
    """
    p = Path(path)
    try:
        raw = read_input_bytes(p, "a spec file")
    except PgmArError as exc:
        raise SpecError(str(exc).removeprefix(f"{p}: "), path=str(p)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=str(p)) from None
    fmt = "json" if p.suffix.lower() == ".json" else "yaml"
    return load_spec_text(text, fmt=fmt, source=str(p), name=p.stem)


def read_document(r: Reader, default_name: str) -> Spec:
    """The :class:`Spec` of the document held by ``r``; ``default_name`` when it has no
    ``name``."""
    if r.data is None:
        raise r.error("the spec is empty; it needs at least 'variables'", ())
    top = r.mapping(r.data, (), "a spec")
    r.check_keys(top, TOP_KEYS, ())
    name = top.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        raise r.error(f"the name must be non-empty text, got {type_name(name)}", ("name",))
    if "variables" not in top:
        raise r.error("missing 'variables': list the random variables", ())
    variables = read_variables(r, top["variables"])
    statements = read_statements(r, top.get("statements"))
    net, structure = derive_network(r, top, variables, statements, name.strip())
    if top.get("cpts") is not None:
        net = read_cpts(r, top["cpts"], net)
    conditionals = _conditionals(r, top.get("conditionals"))
    return Spec(network=net, statements=statements, conditionals=conditionals,
                structure=structure, source=r.source)


def _conditionals(r: Reader, value: Any) -> Dict[str, Any]:
    """``conditionals``: family options per variable or per kind, kept as given."""
    if value is None:
        return {}
    path: KeyPath = ("conditionals",)
    d = r.mapping(value, path, "'conditionals'")
    kinds = [k.value for k in Kind]
    out: Dict[str, Any] = {}
    for key, options in d.items():
        kpath = path + (str(key),)
        k = r.name_at(key, kpath, "a variable name or kind")
        if k not in r.names and k not in kinds:
            raise r.error(f"unknown variable {k!r} in 'conditionals'"
                          f"{did_you_mean(k, r.names + kinds)}; keys are variable names or "
                          f"kinds ({', '.join(kinds)})", kpath)
        if not isinstance(options, (Mapping, str)):
            raise r.error(f"the conditional of {k!r} must be a family name or a mapping such "
                          f"as {{family: nade, hidden: 500}}, got {type_name(options)}", kpath)
        out[k] = copy.deepcopy(dict(options)) if isinstance(options, Mapping) else options
    return out
