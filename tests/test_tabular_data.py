"""Encoding tabular data: state names and indices, missing values, and the DataError cases."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from pgm_ar import BayesNet, Bernoulli, Categorical, DataError, Gaussian, Image
from pgm_ar.tabular_data import MISSING, EncodedData, decode, encode, parse_evidence


@pytest.fixture
def net():
    return BayesNet([Categorical("w", ["sun", "rain", "snow"]), Bernoulli("wet"), Gaussian("t")],
                    [("w", "wet"), ("w", "t")])


def test_state_names_indices_and_round_trip(net):
    df = pd.DataFrame({"w": ["snow", "sun", "rain"], "wet": [True, False, True],
                       "t": [1.5, -2.0, 0.25]})
    enc = encode(net, df)
    assert enc.n == 3 and not enc.has_missing
    assert enc.values["w"].tolist() == [2, 0, 1]
    assert enc.values["wet"].tolist() == [1, 0, 1]
    assert enc.values["t"].dtype == torch.float64
    back = decode(net, enc.values)
    assert back["w"].tolist() == ["snow", "sun", "rain"]
    assert back["wet"].tolist() == ["1", "0", "1"]
    assert back["t"].tolist() == [1.5, -2.0, 0.25]
    # integers are state indices; whole floats too; numeric strings are parsed for real columns
    enc2 = encode(net, {"w": np.array([2, 0]), "wet": [1.0, 0.0], "t": ["1e-3", " 4 "]})
    assert enc2.values["w"].tolist() == [2, 0] and enc2.values["wet"].tolist() == [1, 0]
    assert enc2.values["t"].tolist() == [0.001, 4.0]
    # a pandas categorical column (what decode returns) encodes back
    assert encode(net, back).values["w"].tolist() == [2, 0, 1]


def test_missing_values_and_latent_columns(net):
    df = pd.DataFrame({"w": ["rain", None, float("nan")], "wet": [1, np.nan, 0], "t": [0, 1, 2]})
    enc = encode(net, df)
    assert enc.values["w"].tolist() == [1, MISSING, MISSING]
    assert enc.values["wet"].tolist() == [1, MISSING, 0]
    assert set(enc.missing_columns) == {"w", "wet"} and enc.has_missing
    enc = encode(net, {"t": [0.0, 1.0]})  # absent discrete variables are latent
    assert set(enc.latent) == {"w", "wet"} and enc.has_missing and enc.n == 2
    sub = enc.rows(torch.tensor([1]))
    assert isinstance(sub, EncodedData) and sub.n == 1 and sub.values["t"].tolist() == [1.0]


@pytest.mark.parametrize("data, column, row, value, words", [
    ({"w": ["sun"], "wind": [1], "t": [0.0]}, "wind", None, None, "unknown column"),
    ({"w": ["sun", "sun", "hail"], "t": [0.0, 1, 2]}, "w", 2, "hail", "unknown state"),
    ({"w": ["sun", "rain"], "t": [0.0, "warm"]}, "t", 1, "warm", "not a number"),
    ({"w": [0, 1.5], "t": [0.0, 1.0]}, "w", 1, 1.5, "whole number"),
    ({"w": [0, 3], "t": [0.0, 1.0]}, "w", 1, 3, "out of range"),
    ({"w": [0, -2], "t": [0.0, 1.0]}, "w", 1, -2, "out of range"),
    ({"w": [0, 1], "t": [0.0, 1.0, 2.0]}, "t", None, None, "rows"),
    ({"w": [0, 1], "t": [0.0, float("nan")]}, "t", 1, None, "missing value in a real column"),
    ({"w": [0, 1]}, "t", None, None, "missing column"),
    ({"w": [0, 1], "wet": [True, 2], "t": [0.0, 1.0]}, "wet", 1, 2, "out of range"),
    ({"w": [True, False], "t": [0.0, 1.0]}, "w", 0, None, "boolean"),
])
def test_data_errors_name_column_row_and_value(net, data, column, row, value, words):
    with pytest.raises(DataError) as info:
        encode(net, data)
    err = info.value
    assert err.column == column and err.row == row
    if value is not None:
        assert err.value == value
    assert words in str(err)
    assert repr(column) in str(err)


def test_unknown_column_suggests_close_name(net):
    with pytest.raises(DataError, match="did you mean 'wet'"):
        encode(net, {"w": [0], "wett": [1], "t": [0.0]})


def test_wrong_container_and_duplicate_columns(net):
    with pytest.raises(DataError, match="DataFrame or a mapping"):
        encode(net, [[0, 1]])
    df = pd.DataFrame([[0, 1, 0.0]], columns=["w", "w", "t"])
    with pytest.raises(DataError, match="duplicate"):
        encode(net, df)


def test_image_columns():
    net = BayesNet([Image("img", shape=(1, 2, 2), levels=2), Bernoulli("y")], [("img", "y")])
    x = torch.tensor([[0, 1, 1, 0], [1, 1, 1, 1]])
    enc = encode(net, {"img": x, "y": [0, 1]})
    assert enc.values["img"].shape == (2, 1, 2, 2)
    with pytest.raises(DataError, match="0..1") as info:
        encode(net, {"img": x * 2, "y": [0, 1]})
    assert info.value.row == 0
    with pytest.raises(DataError, match="4 values"):
        encode(net, {"img": torch.zeros(2, 3), "y": [0, 1]})


def test_parse_evidence(net):
    assert parse_evidence(net, {"w": "snow", "wet": 1, "t": "2.5"}) == {"w": 2, "wet": 1, "t": 2.5}
    with pytest.raises(Exception, match="no state 'hail'"):
        parse_evidence(net, {"w": "hail"})
    with pytest.raises(Exception, match="unknown variable"):
        parse_evidence(net, {"v": 1})
    with pytest.raises(Exception, match="must be a number"):
        parse_evidence(net, {"t": "warm"})
    assert math.isclose(parse_evidence(net, {"t": -1})["t"], -1.0)


@pytest.mark.parametrize("states", [("TRUE", "FALSE"), ("no", "yes"), ("Yes", "No"),
                                    ("off", "on"), ("lo", "hi")])
def test_booleans_mean_the_state_named_true_whatever_its_position(states):
    import pandas as pd

    from pgm_ar import BayesNet, Categorical
    from pgm_ar.tabular_data import encode

    net = BayesNet([Categorical("b", list(states))], [])
    lower = [s.lower() for s in states]
    true_names = {"true", "yes", "on"}
    # by name where the states are named so, else state 1 (the documented fallback)
    want_true = next((i for i, s in enumerate(lower) if s in true_names), 1)
    want = [want_true, 1 - want_true, -1]
    for col in ([True, False, None],                                   # Python objects
                pd.Series([True, False, None], dtype="boolean"),        # nullable booleans
                ["True", "False", None]):                               # a CSV round trip
        assert encode(net, {"b": col}).values["b"].tolist() == want, col
    plain = np.array([True, False, True])                               # numpy bool dtype
    assert encode(net, {"b": plain}).values["b"].tolist() == [want_true, 1 - want_true,
                                                              want_true]
