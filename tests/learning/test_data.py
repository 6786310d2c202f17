"""DiscreteData: codes and counts checked against a plain Python count of the rows."""
from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pandas as pd
import pytest

import pgm_ar
from pgm_ar.errors import DataError
from pgm_ar.learning import discrete_data


def _python_counts(df, cols, states):
    c = Counter(tuple(r) for r in df[cols].itertuples(index=False) if not any(pd.isna(v) for v in r))
    return np.array([c[key] for key in itertools.product(*states)]).reshape(
        [len(s) for s in states])


def test_counts_match_a_python_count_with_missing_values():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.choice(["lo", "mid", "hi"], 200),
                       "b": rng.choice([1, 2], 200).astype(object),
                       "c": rng.choice(["u", "v", "w", "z"], 200)})
    df.loc[rng.choice(200, 30, replace=False), "b"] = None
    d = discrete_data(df)
    assert d.states == (("hi", "lo", "mid"), ("1", "2"), ("u", "v", "w", "z"))
    assert d.n_rows == 200 and d.has_missing
    assert (d.codes[:, 1] == -1).sum() == 30
    for cols in (["a"], ["a", "b"], ["c", "a", "b"], ["b", "c"]):
        states = [sorted(df[c].dropna().unique().tolist()) for c in cols]
        np.testing.assert_array_equal(d.counts(cols), _python_counts(df, cols, states))
    assert int(d.counts([])) == 200


def test_network_states_give_codes_aligned_with_the_cpts():
    net = pgm_ar.example_network("asia")
    rows = pgm_ar.compile(net).sample(300, seed=1)
    d = discrete_data(rows, net)
    assert d.names == tuple(net.names)
    for i, name in enumerate(d.names):
        states = tuple(str(s) for s in net.variable(name).states)
        assert d.states[i] == states
        assert [states[k] for k in d.codes[:, i]] == [str(v) for v in rows[name]]


def test_rows_and_select_keep_states():
    d = discrete_data({"x": ["p", "q", "q"], "y": ["r", "r", "s"]})
    assert d.select(["y"]).counts(["y"]).tolist() == [2, 1]
    assert d.rows(slice(1, None)).counts(["x"]).tolist() == [0, 2]
    assert d.index(1) == 1


def test_errors_name_the_column():
    d = discrete_data({"alpha": ["p", "q"], "beta": ["r", "r"]})
    with pytest.raises(DataError, match="alpah.*alpha"):
        d.counts(["alpah"])
    with pytest.raises(DataError, match="out of range"):
        d.counts([5])
    with pytest.raises(DataError, match="'b'"):
        discrete_data({"a": [1, 2], "b": [1]})
    with pytest.raises(DataError, match="no columns"):
        discrete_data({})
