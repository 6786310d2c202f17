"""Writing a spec: a :class:`~pgm_ar.io.spec.Spec` (or a bare network) to plain data and to
a YAML or JSON file.

The edges are written as an explicit ``parents`` mapping (in each CPT's axis order)
and the CPTs as ``table`` entries, so loading the file gives an equal network with
equal CPTs.

>>> from pgm_ar import BayesNet, Bernoulli
>>> d = spec_to_dict(BayesNet([Bernoulli("a"), Bernoulli("b")], [("a", "b")], name="ab"))
>>> d["name"], d["structure"], d["parents"], [v["type"] for v in d["variables"]]
('ab', 'edges', {'b': ['a']}, ['bernoulli', 'bernoulli'])
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Union

import numpy as np
import yaml

from ...errors import PgmArError
from ...network import BayesNet
from ...utils.atomic import atomic_write_text
from ...variables import Bernoulli, Categorical, Gaussian, Image, Kind, Variable
from .document import PathLike, Spec

__all__ = ["dump_spec", "save_spec", "spec_to_dict"]


def spec_to_dict(spec_or_net: Union[Spec, BayesNet]) -> Dict[str, Any]:
    """The spec as plain data: explicit ``parents`` (in CPT axis order) and CPT tables."""
    if isinstance(spec_or_net, Spec):
        spec = spec_or_net
    elif isinstance(spec_or_net, BayesNet):
        spec = Spec(network=spec_or_net)
    else:
        raise PgmArError(f"save_spec expects a Spec or a BayesNet, got "
                         f"{type(spec_or_net).__name__}")
    net = spec.network
    out: Dict[str, Any] = {"name": net.name,
                           "variables": [_variable_dict(v) for v in net.variables],
                           "structure": "edges"}
    out["parents"] = {v.name: list(net.parents(v.name)) for v in net.variables
                      if net.parents(v.name)}
    if spec.statements:
        out["statements"] = [s.ascii() for s in spec.statements]
    if net.cpds:
        out["cpts"] = _cpts_dict(net)
    if spec.conditionals:
        out["conditionals"] = _plain(spec.conditionals)
    return out


def dump_spec(spec_or_net: Union[Spec, BayesNet], fmt: str = "yaml") -> str:
    """The text of a spec file in format ``fmt`` (``"yaml"``, ``"yml"`` or ``"json"``)."""
    data = spec_to_dict(spec_or_net)
    fmt = fmt.lower()
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt in ("yaml", "yml"):
        return yaml.safe_dump(data, sort_keys=False, default_flow_style=None,
                              allow_unicode=True, width=100)
    raise PgmArError(f"unknown spec format {fmt!r}: use 'yaml' or 'json'")


def save_spec(spec_or_net: Union[Spec, BayesNet], path: PathLike,
              fmt: Optional[str] = None) -> Path:
    """Write a spec (or a bare network) to ``path`` atomically.

    The format follows the suffix (``.json`` gives JSON, anything else YAML)
    unless ``fmt`` says.  The edges are written as an explicit ``parents``
    mapping, so loading the file gives an equal network with equal CPTs.
    """
    p = Path(path)
    text = dump_spec(spec_or_net, fmt or ("json" if p.suffix.lower() == ".json" else "yaml"))
    return atomic_write_text(p, text)


def _variable_dict(v: Variable) -> Dict[str, Any]:
    if isinstance(v, Image):
        ordering: Any = v.ordering_label
        if ordering == "custom":
            ordering = [int(i) for i in v.pixel_order]
        return {"name": v.name, "type": "image", "shape": list(v.shape), "levels": v.levels,
                "ordering": ordering}
    if isinstance(v, Bernoulli):
        return {"name": v.name, "type": "bernoulli"}
    if isinstance(v, Categorical):
        return {"name": v.name, "type": "categorical", "states": list(v.states)}
    if isinstance(v, Gaussian):
        return {"name": v.name, "type": "gaussian"}
    raise PgmArError(f"cannot save variable {v.name!r} of type {type(v).__name__}")


def _cpts_dict(net: BayesNet) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    cpds = net.cpds
    for v in net.variables:
        if v.name in cpds:
            cpd = cpds[v.name]
            entry: Dict[str, Any] = {}
            if cpd.parents:
                entry["parents"] = list(cpd.parents)
            entry["table"] = cpd.probs.tolist()
            out[v.name] = entry
    return out


def _plain(obj: Any) -> Any:
    """numpy scalars and tuples to plain Python, so YAML and JSON can write them."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Kind):
        return obj.value
    return obj
