"""Encoding columns of Python objects (object and pandas ``str`` dtype): grouped by object
identity when the column repeats a few objects, by value otherwise, with the same answers and
the same errors either way; checked against a per-row encoding written out here."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pgm_ar import BayesNet, Bernoulli, Categorical, DataError
from pgm_ar import tabular_data
from pgm_ar.tabular_data import MISSING, encode

STATES = ["sun", "rain", "snow"]


def per_row(values) -> list:
    """The expected state index of each value, one row at a time."""
    out = []
    for v in values:
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            out.append(MISSING)
        elif isinstance(v, str):
            out.append(STATES.index(v.strip()))
        else:
            out.append(int(v))
    return out


@pytest.fixture
def net():
    return BayesNet([Categorical("w", STATES), Bernoulli("wet")], [("w", "wet")])


def _fresh(s: str) -> str:
    """An equal string at a new address (what a parser that does not deduplicate yields)."""
    return "".join(list(s))


@pytest.mark.parametrize("dtype", [object, "str"])
def test_repeated_objects_equal_strings_and_missing(net, dtype):
    rng = np.random.default_rng(0)
    pool = np.array(STATES + [_fresh("rain"), " snow ", None, float("nan"), 1, 2.0],
                    dtype=object)
    values = pool[rng.integers(0, len(pool), 2000)]
    if dtype == "str":  # pandas keeps NaN for missing and refuses numbers in a str column
        values = np.array([v if isinstance(v, str) or v is None else None for v in values],
                          dtype=object)
    col = pd.Series(values, dtype=dtype)
    got = encode(net, pd.DataFrame({"w": col})).values["w"].tolist()
    assert got == per_row(col.to_numpy(dtype=object))
    # the same column as a plain numpy object array and as a list
    assert encode(net, {"w": values}).values["w"].tolist() == per_row(values)
    assert encode(net, {"w": list(values)}).values["w"].tolist() == per_row(values)


def test_many_distinct_objects_are_encoded_by_value(net, monkeypatch):
    values = np.array([_fresh(STATES[i % 3]) for i in range(300)] + [None], dtype=object)
    expected = per_row(values)
    monkeypatch.setattr(tabular_data, "_MAX_DISTINCT_OBJECTS", 10)  # force the by-value path
    assert encode(net, {"w": values}).values["w"].tolist() == expected
    assert encode(net, pd.DataFrame({"w": values})).values["w"].tolist() == expected


@pytest.mark.parametrize("limit", [4096, 0])  # by identity, by value
def test_unknown_state_names_its_first_row(net, monkeypatch, limit):
    monkeypatch.setattr(tabular_data, "_MAX_DISTINCT_OBJECTS", limit)
    values = ["sun", "rain", _fresh("hail"), "sun", "hail"]
    for data in ({"w": np.array(values, dtype=object)}, pd.DataFrame({"w": values})):
        with pytest.raises(DataError) as err:
            encode(net, data)
        e = err.value
        assert (e.column, e.row, e.value) == ("w", 2, "hail")
        assert "unknown state" in str(e)


def test_strided_object_column_of_a_two_dimensional_block(net):
    block = np.array([["sun", "1"], ["snow", "0"], ["rain", "1"]], dtype=object)
    df = pd.DataFrame(block, columns=["w", "wet"], dtype=object)
    enc = encode(net, df)
    assert enc.values["w"].tolist() == [0, 2, 1]
    assert enc.values["wet"].tolist() == [1, 0, 1]
