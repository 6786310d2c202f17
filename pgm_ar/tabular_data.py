"""Tabular data: a pandas DataFrame or a dict of columns -> encoded tensors, and back.

A discrete column may hold state names (strings), state indices (integers), booleans (for
two-state variables: ``True`` is the state named true / yes / t / y / on, in any case, when the
two states are named so, else state 1; the strings ``"True"`` / ``"False"`` a pandas round
trip writes count as booleans), or floats that are whole numbers; ``NaN`` / ``None`` / an empty CSV cell
means *missing*.  A real (Gaussian) column holds numbers (or numeric strings).  An image
column is an array of shape ``(N, C, H, W)`` (or ``(N, C*H*W)``).  The data is checked and
converted once; every problem is a :class:`~pgm_ar.errors.DataError` that names the column, the
first bad row (0-based position) and its value.

Encoded, a discrete column is a ``LongTensor[N]`` of state indices with ``-1`` where the value
is missing; a real column is a ``float64`` tensor; a variable absent from the data is
*latent* (all rows missing).

>>> import pandas as pd
>>> from pgm_ar import BayesNet, Bernoulli, Categorical
>>> net = BayesNet([Categorical("w", ["sun", "rain"]), Bernoulli("wet")], [("w", "wet")])
>>> enc = encode(net, pd.DataFrame({"w": ["rain", "sun", None], "wet": [1, 0, 1]}))
>>> enc.values["w"].tolist(), enc.n, enc.has_missing
([1, 0, -1], 3, True)
>>> decode(net, enc.values)["w"].tolist()
['rain', 'sun', nan]
>>> encode(net, {"w": ["hail"]})
Traceback (most recent call last):
...
pgm_ar.errors.DataError: column 'w', row 0, value 'hail': unknown state; the states of 'w' are ['sun', 'rain']
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import numpy as np
import torch

from .errors import DataError, PgmArError
from .network import BayesNet
from .utils.suggest import did_you_mean
from .variables import Gaussian, Image, Variable

__all__ = ["MISSING", "DataLike", "EncodedData", "encode", "decode", "parse_evidence",
           "columns_of", "encode_discrete_column", "encode_real_column"]

#: the encoded value of a missing discrete entry
MISSING = -1

DataLike = Union["Any", Mapping[str, Any]]  # a pandas DataFrame or {column: values}


@dataclass
class EncodedData:
    """Checked, encoded columns.

    Attributes
    ----------
    values
        ``{name: tensor}`` for every variable present in the data.
    latent
        Discrete variables absent from the data (missing in every row).
    n
        Number of rows.
    """

    values: Dict[str, torch.Tensor]
    n: int
    latent: Tuple[str, ...] = ()
    _missing: Optional[Tuple[str, ...]] = field(default=None, repr=False)

    @property
    def missing_columns(self) -> Tuple[str, ...]:
        """Discrete columns with at least one missing entry."""
        if self._missing is None:
            self._missing = tuple(k for k, v in self.values.items()
                                  if not v.dtype.is_floating_point and v.dim() == 1
                                  and bool((v < 0).any()))
        return self._missing

    @property
    def has_missing(self) -> bool:
        """Whether some discrete value must be marginalised (a latent or missing entry)."""
        return bool(self.latent) or bool(self.missing_columns)

    def rows(self, index: torch.Tensor) -> "EncodedData":
        """The rows at ``index`` (a slice or an index tensor)."""
        vals = {k: v[index] for k, v in self.values.items()}
        n = int(torch.arange(self.n)[index].numel())
        return EncodedData(vals, n, self.latent)

    def to(self, device: Union[str, torch.device]) -> "EncodedData":
        return EncodedData({k: v.to(device) for k, v in self.values.items()}, self.n, self.latent,
                           self._missing)


def _tensor(arr: np.ndarray) -> torch.Tensor:
    """A tensor owning a writable, contiguous copy where needed (pandas may hand out read-only
    views)."""
    return torch.from_numpy(np.require(arr, requirements=["C", "W"]))


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _py(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _as_array(col: Any, name: str) -> np.ndarray:
    if isinstance(col, torch.Tensor):
        return col.detach().cpu().numpy()
    try:
        import pandas as pd

        if isinstance(col, (pd.Series, pd.Index)):
            if isinstance(col.dtype, pd.CategoricalDtype):
                return col.astype(object).to_numpy()
            if col.dtype.kind in "iufb":
                return col.to_numpy()
            # nullable dtypes (Int64, boolean, string): NA becomes None in an object array
            return col.to_numpy(dtype=object, na_value=None)
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    try:
        arr = np.asarray(col)
    except (TypeError, ValueError):
        raise DataError("values are not an array", column=name) from None
    if arr.dtype.kind in "OSU" and arr.ndim == 1:
        arr = arr.astype(object)
    return arr


def encode_discrete_column(var: Variable, col: Any) -> torch.Tensor:
    """One discrete column as state indices (``MISSING`` where empty), with a :class:`DataError`
    naming the column, the first bad row and its value."""
    name, card = var.name, int(var.cardinality)  # type: ignore[arg-type]
    try:
        import pandas as pd

        if isinstance(col, pd.Series) and isinstance(col.dtype, pd.CategoricalDtype):
            return _tensor(_lookup(var, col.cat.codes.to_numpy().astype(np.int64),
                                   list(col.cat.categories)))
        if isinstance(col, pd.Series) and _holds_python_objects(col.dtype):
            # no ``na_value``: NaN, None and pd.NA all reach _state_code, which reads them as
            # missing; converting them here would scan every row (as long as encoding them)
            return _tensor(_encode_objects(var, col.to_numpy(dtype=object)))
    except ImportError:  # pragma: no cover
        pass
    arr = _as_array(col, name)
    if arr.ndim != 1:
        raise DataError(f"expected a 1-D column, got shape {arr.shape}", column=name)
    kind = arr.dtype.kind
    if kind == "b":
        if card != 2:
            raise DataError(f"boolean values for a variable with {card} states", column=name,
                            row=0 if len(arr) else None)
        return _tensor(np.where(arr, _bool_index(var, True), _bool_index(var, False)))
    if kind in "iu":
        out = arr.astype(np.int64)
    elif kind == "f":
        miss = np.isnan(arr)
        bad = ~miss & (arr != np.round(arr))
        if bad.any():
            r = _first(bad)
            raise DataError("not a whole number: discrete values are state names or indices",
                            column=name, row=r, value=float(arr[r]))
        out = np.where(miss, MISSING, arr).astype(np.int64)
        ok = ~miss
        if ok.any() and (out[ok].min() < 0 or out[ok].max() >= card):
            r = _first(ok & ((out < 0) | (out >= card)))
            raise DataError(f"state index out of range 0..{card - 1}", column=name, row=r,
                            value=int(out[r]))
        return _tensor(out)
    elif kind == "O":
        return _tensor(_encode_objects(var, arr))
    else:
        raise DataError(f"unsupported dtype {arr.dtype} for a discrete variable", column=name)
    if len(out) and (out.min() < 0 or out.max() >= card):
        r = _first((out < 0) | (out >= card))
        raise DataError(f"state index out of range 0..{card - 1}", column=name, row=r,
                        value=int(out[r]))
    return _tensor(out)


def _holds_python_objects(dtype: Any) -> bool:
    """Whether a pandas column of this dtype keeps its values as Python objects in a numpy
    object array (``object``, and pandas' ``str`` dtype with Python storage)."""
    import pandas as pd

    if dtype == object:
        return True
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "python"


#: above this many distinct objects in a column, encode by value instead of by identity
_MAX_DISTINCT_OBJECTS = 4096


def _encode_objects(var: Variable, arr: np.ndarray) -> np.ndarray:
    """State indices of a 1-D object array: one look-up per distinct value, then a gather.

    Hashing every row's string is what costs (pandas' factorize takes ~45 ns a row).  A column
    of state names almost always holds a handful of distinct string *objects* (``read_csv``
    deduplicates them, and indexing an array of state names repeats its objects), so the rows
    are first grouped by object identity: the array's cells are ``PyObject*`` pointers, which
    factorize as integers ten times faster.  Equal strings at different addresses just become
    separate groups with the same state.  A column of mostly distinct objects is grouped by
    value instead.
    """
    import pandas as pd

    arr = np.ascontiguousarray(arr, dtype=object)
    grouped = _factorize_by_identity(arr)
    if grouped is None:
        codes, uniques = pd.factorize(arr, use_na_sentinel=True)
        return _lookup(var, codes, list(uniques))
    return _lookup(var, *grouped)


def _factorize_by_identity(arr: np.ndarray) -> Optional[Tuple[np.ndarray, list]]:
    """``(codes, objects)`` grouping the cells of a C-contiguous object array by identity, or
    ``None`` when it is empty or has more than ``_MAX_DISTINCT_OBJECTS`` distinct objects."""
    import pandas as pd

    if arr.ndim != 1 or not len(arr):
        return None
    word = ctypes.c_uint64 if ctypes.sizeof(ctypes.c_void_p) == 8 else ctypes.c_uint32
    # a read-only integer view of the pointers; ``arr`` holds a reference to every object, so
    # each address below stays valid (and names a live object) while ``arr`` is in scope
    addrs = np.ctypeslib.as_array(ctypes.cast(arr.ctypes.data, ctypes.POINTER(word)),
                                  (len(arr),))
    codes, uniq = pd.factorize(addrs)
    if len(uniq) > _MAX_DISTINCT_OBJECTS:
        return None
    objects = [ctypes.cast(int(a), ctypes.py_object).value for a in uniq]
    return codes.astype(np.int64, copy=False), objects


def _lookup(var: Variable, codes: np.ndarray, uniques: list) -> np.ndarray:
    """State indices of ``uniques[codes]`` (``codes == -1``: missing); a bad value's error names
    the first row where it occurs."""
    lut = np.empty(len(uniques) + 1, dtype=np.int64)
    lut[-1] = MISSING
    for j, u in enumerate(uniques):
        code = _state_code(var, u)
        if isinstance(code, str):  # the reason it is not a state: name the first row with it
            row = int(np.flatnonzero(codes == j)[0])
            raise DataError(code, column=var.name, row=row, value=_py(u))
        lut[j] = code
    return lut[codes]


#: names of (false, true) a two-state variable's states may have, compared in lower case
_BOOLEAN_NAMES = (("false", "true"), ("no", "yes"), ("f", "t"), ("n", "y"), ("off", "on"))


def _bool_index(var: Variable, flag: bool) -> int:
    """The state a boolean means for a two-state variable: by name when the states are named
    false/true (yes/no, ...; BIF files often list ``TRUE`` first), else index ``int(flag)``."""
    names = tuple(str(s).strip().lower() for s in var.states)  # type: ignore[union-attr]
    for pair in _BOOLEAN_NAMES:
        if set(names) == set(pair):
            return names.index(pair[int(flag)])
    return int(flag)


def _state_code(var: Variable, x: Any) -> Union[int, str]:
    """The state index of one value (``MISSING`` for NaN / None), or why it is not a state."""
    states = var.states
    card = len(states)  # type: ignore[arg-type]
    if x is None or (isinstance(x, (float, np.floating)) and np.isnan(x)):
        return MISSING
    try:
        import pandas as pd

        if x is pd.NA or x is pd.NaT:
            return MISSING
    except ImportError:  # pragma: no cover
        pass
    if isinstance(x, str):
        if x in states:  # type: ignore[operator]
            return states.index(x)  # type: ignore[union-attr]
        stripped = x.strip()
        if stripped in states:  # type: ignore[operator]
            return states.index(stripped)  # type: ignore[union-attr]
        if card == 2 and stripped in ("True", "False"):  # str(bool), as a CSV round trip has it
            return _bool_index(var, stripped == "True")
        return (f"unknown state; the states of {var.name!r} are {list(states)}"
                + did_you_mean(x, states))
    if isinstance(x, (bool, np.bool_)):
        if card != 2:
            return f"boolean value for a variable with {card} states"
        return _bool_index(var, bool(x))
    if isinstance(x, (int, np.integer)) or (isinstance(x, (float, np.floating))
                                            and float(x).is_integer()):
        k = int(x)
        if 0 <= k < card:
            return k
        return f"state index out of range 0..{card - 1}"
    return f"not a state of {var.name!r} (states: {list(states)})"


def encode_real_column(var: Variable, col: Any) -> torch.Tensor:
    """One real-valued column as float64 values (no missing entries allowed)."""
    arr = _as_array(col, var.name)
    if arr.ndim != 1:
        raise DataError(f"expected a 1-D column, got shape {arr.shape}", column=var.name)
    if arr.dtype.kind in "iufb":
        out = arr.astype(np.float64)
    elif arr.dtype.kind == "O":
        import pandas as pd

        out = pd.to_numeric(pd.Series(arr), errors="coerce").to_numpy(dtype=np.float64)
        given = np.array([not (x is None or (isinstance(x, float) and np.isnan(x))
                               or (isinstance(x, str) and not x.strip())) for x in arr], dtype=bool)
        bad = given & np.isnan(out)
        if bad.any():
            r = _first(bad)
            raise DataError(f"not a number; {var.name!r} is a real variable", column=var.name,
                            row=r, value=_py(arr[r]))
    else:
        raise DataError(f"unsupported dtype {arr.dtype} for a real variable", column=var.name)
    miss = np.isnan(out)
    if miss.any():
        r = _first(miss)
        raise DataError("missing value in a real column (only discrete values may be missing)",
                        column=var.name, row=r)
    if np.isinf(out).any():
        r = _first(np.isinf(out))
        raise DataError("infinite value", column=var.name, row=r, value=float(out[r]))
    return _tensor(out)


def _encode_image(var: Image, col: Any) -> torch.Tensor:
    if isinstance(col, torch.Tensor):
        x = col.detach()
    else:
        arr = _as_array(col, var.name)
        if arr.dtype == object:
            try:
                arr = np.stack([np.asarray(a) for a in arr])
            except (ValueError, TypeError):
                raise DataError("image rows have different shapes", column=var.name) from None
        x = _tensor(arr)
    if x.dim() < 1 or (len(x) and x[0].numel() != var.num_pixels):
        raise DataError(f"each row must have {var.num_pixels} values (shape {var.shape}), "
                        f"got shape {tuple(x.shape[1:])}", column=var.name)
    x = x.reshape((x.shape[0],) + tuple(var.shape))
    if var.levels is None:
        x = x.double()
        if not torch.isfinite(x).all():
            r = int(torch.nonzero(~torch.isfinite(x).reshape(len(x), -1).all(1))[0])
            raise DataError("non-finite pixel value", column=var.name, row=r)
        return x
    if x.dtype.is_floating_point:
        flat = x.reshape(len(x), -1)
        bad = (flat != torch.round(flat)).any(1)
        if bad.any():
            r = int(torch.nonzero(bad)[0])
            raise DataError("pixel values must be whole numbers", column=var.name, row=r)
    x = x.long()
    flat = x.reshape(len(x), -1)
    bad = ((flat < 0) | (flat >= var.levels)).any(1)
    if bad.any():
        r = int(torch.nonzero(bad)[0])
        raise DataError(f"pixel values must lie in 0..{var.levels - 1}", column=var.name, row=r)
    return x


def columns_of(data: DataLike) -> Dict[str, Any]:
    """``{column name: values}`` of a DataFrame, a mapping or an :class:`EncodedData`."""
    try:
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            if data.columns.duplicated().any():
                dup = data.columns[data.columns.duplicated()][0]
                raise DataError("duplicate column", column=str(dup))
            return {str(c): data[c] for c in data.columns}
    except ImportError:  # pragma: no cover
        pass
    if isinstance(data, EncodedData):
        return dict(data.values)
    if not isinstance(data, Mapping):
        raise DataError(f"data must be a pandas DataFrame or a mapping from variable name to "
                        f"values, got {type(data).__name__}")
    return {str(k): v for k, v in data.items()}


def encode(net: BayesNet, data: DataLike, *, allow_latent: bool = True) -> EncodedData:
    """Check and encode ``data`` for ``net``.

    Parameters
    ----------
    data
        A DataFrame or ``{name: values}``; an :class:`EncodedData` is returned unchanged.
    allow_latent
        Whether a discrete variable may be absent (then it is latent); absent real and image
        variables are always an error.

    Raises
    ------
    DataError
        For an unknown column, an unknown state, a value of the wrong type, a row-count
        mismatch, a missing real value, or an absent column that may not be latent.
    """
    if isinstance(data, EncodedData):
        return data
    cols = columns_of(data)
    for key in cols:
        if key not in net:
            raise DataError("unknown column; it is not a variable of the network"
                            + did_you_mean(key, net.names), column=key)
    values: Dict[str, torch.Tensor] = {}
    n: Optional[int] = None
    first_col = None
    latent = []
    for var in net.variables:
        if var.name not in cols:
            if var.is_discrete_scalar and allow_latent:
                latent.append(var.name)
                continue
            raise DataError("missing column: real and image variables must be observed"
                            if allow_latent else "missing column", column=var.name)
        col = cols[var.name]
        if isinstance(var, Image):
            x = _encode_image(var, col)
        elif var.is_discrete:
            x = encode_discrete_column(var, col)
        elif isinstance(var, Gaussian):
            x = encode_real_column(var, col)
        else:  # pragma: no cover - every kind is handled above
            raise PgmArError(f"variable {var.name!r} of kind {var.kind} cannot be encoded")
        if n is None:
            n, first_col = int(x.shape[0]), var.name
        elif x.shape[0] != n:
            raise DataError(f"has {x.shape[0]} rows but column {first_col!r} has {n}",
                            column=var.name)
        values[var.name] = x
    if n is None:
        raise DataError("the data has none of the network's variables")
    return EncodedData(values, n, tuple(latent))


def decode(net: BayesNet, values: Mapping[str, torch.Tensor]):
    """Encoded columns -> a DataFrame: state names for discrete variables (a pandas categorical
    column in the declared state order, ``NaN`` where missing), floats for real ones, one
    tensor per row for images."""
    import pandas as pd

    out: Dict[str, Any] = {}
    for var in net.variables:
        if var.name not in values:
            continue
        x = values[var.name].detach().cpu()
        if isinstance(var, Image):
            out[var.name] = list(x)
        elif var.is_discrete:
            # a categorical column keeps the declared state order; code -1 is missing (NaN)
            out[var.name] = pd.Categorical.from_codes(x.long().numpy(), categories=list(var.states))
        else:
            out[var.name] = x.double().numpy()
    return pd.DataFrame(out)


def parse_evidence(net: BayesNet, evidence: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """``{name: state name or index}`` -> ``{name: index}`` (real variables: ``float``).

    >>> from pgm_ar import BayesNet, Categorical
    >>> parse_evidence(BayesNet([Categorical("w", ["sun", "rain"])]), {"w": "rain"})
    {'w': 1}
    """
    out: Dict[str, Any] = {}
    if evidence is not None and not isinstance(evidence, Mapping):
        raise PgmArError(f"evidence must be a mapping {{name: state}}, got "
                         f"{type(evidence).__name__} {evidence!r:.80}")
    for name, value in (evidence or {}).items():
        var = net.variable(name)
        if isinstance(var, Image):
            raise PgmArError(f"evidence on image variable {name!r} is not supported here")
        if var.is_discrete:
            out[name] = var.state_index(value)
        else:
            try:
                out[name] = float(value)
            except (TypeError, ValueError):
                raise PgmArError(f"evidence for real variable {name!r} must be a number, "
                                 f"got {value!r}") from None
    return out
