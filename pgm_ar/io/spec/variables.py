"""A spec's ``variables`` list: each entry to one or more :class:`~pgm_ar.variables.Variable`.

An entry is a bare name (a Bernoulli variable) or a mapping with ``name``, ``type``
and the keys of that type (``states``; ``shape``, ``levels``, ``ordering``); ``count: K``
declares ``name1 .. nameK`` alike.

>>> from .reading import Reader
>>> r = Reader(None, "<string>", None)
>>> [v.name for v in read_variables(r, ["a", {"name": "d", "states": 3, "count": 2}])]
['a', 'd1', 'd2']
>>> r.names
['a', 'd1', 'd2']
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping

from ...errors import PgmArError, SpecError
from ...limits import check as check_limit, get_limits
from ...orderings import make_ordering
from ...utils.suggest import did_you_mean
from ...variables import Bernoulli, Categorical, Gaussian, Image, Kind, Variable
from .reading import KeyPath, Reader, render_key, type_name

__all__ = ["TYPE_ALIASES", "VARIABLE_KEYS", "read_variables"]

VARIABLE_KEYS = ("name", "type", "states", "shape", "levels", "ordering", "count", "description")
TYPE_ALIASES = {"bernoulli": Kind.BERNOULLI, "binary": Kind.BERNOULLI,
                "categorical": Kind.CATEGORICAL, "gaussian": Kind.GAUSSIAN,
                "image": Kind.IMAGE}
#: the keys that only some kinds take
_KIND_KEYS = {Kind.CATEGORICAL: {"states"}, Kind.IMAGE: {"shape", "levels", "ordering"}}


def read_variables(r: Reader, value: Any) -> List[Variable]:
    """The variables of the ``variables`` list, in order; sets ``r.names``.

    Raises
    ------
    SpecError
        For a malformed entry or a name declared twice (saying where it was first).
    """
    path: KeyPath = ("variables",)
    if not isinstance(value, list) or not value:
        raise r.error(f"'variables' must be a non-empty list, got {type_name(value)}", path)
    out: List[Variable] = []
    first_at: Dict[str, KeyPath] = {}
    for i, item in enumerate(value):
        for var in _entry(r, item, path + (i,)):
            if var.name in first_at:
                raise r.error(f"duplicate variable name {var.name!r} (first declared at "
                              f"{render_key(first_at[var.name])})", path + (i,))
            first_at[var.name] = path + (i,)
            out.append(var)
    r.names = [v.name for v in out]
    return out


def _entry(r: Reader, item: Any, path: KeyPath) -> List[Variable]:
    """The variables of one entry (several with ``count``)."""
    if isinstance(item, str):
        item = {"name": item}
    d = r.mapping(item, path, "a variable")
    r.check_keys(d, VARIABLE_KEYS, path, where=" for a variable")
    if "name" not in d:
        raise r.error("a variable needs a 'name'", path)
    name = r.name_at(d["name"], path + ("name",))
    kind = _kind(r, d, path)
    names = [name]
    if "count" in d:
        count = d["count"]
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise r.error(f"'count' must be a positive integer, got {type_name(count)}",
                          path + ("count",))
        if count > get_limits().max_variables:
            try:
                check_limit("max_variables", count, f"'count' of {name!r}")
            except PgmArError as exc:
                raise r.error(str(exc), path + ("count",)) from None
        names = [f"{name}{j}" for j in range(1, count + 1)]
    out = []
    for n in names:
        try:
            out.append(_variable(r, kind, n, d, path))
        except SpecError:
            raise
        except PgmArError as exc:
            raise r.error(str(exc), path + ("name",)) from None
    return out


def _kind(r: Reader, d: Mapping, path: KeyPath) -> Kind:
    """The entry's kind (``categorical`` when it lists states, else ``bernoulli``)."""
    type_text = d.get("type", "categorical" if "states" in d else "bernoulli")
    if not isinstance(type_text, str) or type_text.strip().lower() not in TYPE_ALIASES:
        raise r.error(f"unknown variable type {type_text!r}"
                      f"{did_you_mean(type_text, TYPE_ALIASES)}; use bernoulli, "
                      "categorical, gaussian or image", path + ("type",))
    kind = TYPE_ALIASES[type_text.strip().lower()]
    for key in ("states", "shape", "levels", "ordering"):
        if key in d and key not in _KIND_KEYS.get(kind, set()):
            raise r.error(f"{key!r} does not apply to a {kind.value} variable", path + (key,))
    return kind


def _variable(r: Reader, kind: Kind, name: str, d: Mapping, path: KeyPath) -> Variable:
    if kind is Kind.BERNOULLI:
        return Bernoulli(name)
    if kind is Kind.GAUSSIAN:
        return Gaussian(name)
    if kind is Kind.CATEGORICAL:
        return _categorical(r, name, d, path)
    return _image(r, name, d, path)


def _categorical(r: Reader, name: str, d: Mapping, path: KeyPath) -> Categorical:
    if "states" not in d:
        raise r.error(f"categorical variable {name!r} needs 'states' (a count or a list of "
                      "names)", path)
    states = d["states"]
    spath = path + ("states",)
    if isinstance(states, list):
        for j, s in enumerate(states):
            if isinstance(s, (Mapping, list)) or s is None:
                raise r.error(f"a state name must be text or a number, got {type_name(s)}",
                              spath + (j,))
    elif isinstance(states, bool) or not isinstance(states, int):
        raise r.error(f"'states' must be a count or a list of names, got {type_name(states)}",
                      spath)
    try:
        return Categorical(name, states)
    except PgmArError as exc:
        raise r.error(str(exc), spath) from None


def _image(r: Reader, name: str, d: Mapping, path: KeyPath) -> Image:
    shape = d.get("shape")
    if shape is None:
        raise r.error(f"image {name!r} needs a 'shape' ([C, H, W] or [H, W])", path)
    if (not isinstance(shape, list) or len(shape) not in (2, 3)
            or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape)):
        raise r.error(f"'shape' must be [C, H, W] or [H, W] of positive integers, got "
                      f"{shape!r}", path + ("shape",))
    size = 1
    for s in shape:
        size *= s
    if size > get_limits().max_image_values:
        try:
            check_limit("max_image_values", size, f"image {name!r} of shape {shape}",
                        "use a smaller image or crop it")
        except PgmArError as exc:
            raise r.error(str(exc), path + ("shape",)) from None
    levels = d.get("levels", 2)
    if levels is not None and (isinstance(levels, bool) or not isinstance(levels, int)
                               or levels < 2):
        raise r.error(f"'levels' must be an integer >= 2 (values per pixel) or null for "
                      f"continuous pixels, got {levels!r}", path + ("levels",))
    ordering = d.get("ordering", "raster")
    opath = path + ("ordering",)
    if not isinstance(ordering, (str, list)):
        raise r.error(f"'ordering' must be raster, snake, diagonal, random(SEED) or a list, "
                      f"got {type_name(ordering)}", opath)
    if isinstance(ordering, list) and any(isinstance(o, bool) or not isinstance(o, int)
                                          for o in ordering):
        raise r.error("a custom 'ordering' must be a list of pixel indices (integers)", opath)
    try:
        make_ordering(ordering, shape[-2], shape[-1])
    except PgmArError as exc:
        raise r.error(str(exc), opath) from None
    return Image(name, shape=shape, levels=levels, ordering=ordering)
