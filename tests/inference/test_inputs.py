"""Tables, data and evidence checked before any work, with errors that name the culprit."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pgm_ar import BayesNet, Bernoulli, DataError, PgmArError, TabularCPD
from pgm_ar import inference as inf
from oracles import random_net


def test_tables_from_net_are_the_cpts():
    net = random_net(2, n_nodes=5)
    tables = inf.tables_from_net(net)
    assert list(tables) == list(net.names)
    for name, t in tables.items():
        assert t.dtype == torch.float64
        np.testing.assert_array_equal(t.numpy(), np.asarray(net.cpd(name).probs))
    assert inf.tables_from_net(net, dtype=torch.float32)["x1"].dtype == torch.float32
    bare = BayesNet([Bernoulli("a"), Bernoulli("b")], [("a", "b")],
                    cpds={"a": TabularCPD("a", (), [0.5, 0.5])})
    with pytest.raises(PgmArError, match="'b' has no CPT"):
        inf.tables_from_net(bare)


def test_errors_name_the_culprit():
    net = random_net(0, n_nodes=4)
    tables = inf.tables_from_net(net)
    with pytest.raises(PgmArError, match="'x9'"):
        inf.query(net, tables, "x1", {"x9": 0})
    with pytest.raises(PgmArError, match="no state 7"):
        inf.query(net, tables, "x1", {"x2": 7})
    data = {n: torch.zeros(3, dtype=torch.long) for n in net.names}
    data["x2"] = torch.tensor([0, 1, 9])
    with pytest.raises(DataError, match="'x2', row 2, value 9"):
        inf.log_prob(net, tables, data)
    data["x2"] = torch.tensor([0, 1, 1])
    with pytest.raises(DataError, match="'x3'"):
        inf.log_prob(net, tables, {n: data[n] for n in net.names if n != "x3"})
    with pytest.raises(PgmArError, match="'x0'"):
        inf.forward_sample(net, {n: t for n, t in tables.items() if n != "x0"}, 3)


def test_wrong_tables_are_named():
    net = random_net(0, n_nodes=4)
    tables = dict(inf.tables_from_net(net))
    child = next(n for n in net.names if net.parents(n))
    tables[child] = torch.cat([tables[child], tables[child][..., :1]], -1)  # one state too many
    for call in (lambda: inf.forward_sample(net, tables, 3),
                 lambda: inf.query(net, tables, child),
                 lambda: inf.log_prob(net, tables, {n: [0] for n in net.names})):
        with pytest.raises(PgmArError, match=f"table of '{child}' has shape"):
            call()


def test_data_columns_are_checked():
    net = random_net(1, n_nodes=3)
    tables = inf.tables_from_net(net)
    good = {"x0": [0, 1], "x1": [1, 0], "x2": [0, 0]}
    as_floats = inf.log_prob(net, tables, {k: np.array(v, dtype=float) for k, v in good.items()})
    torch.testing.assert_close(as_floats, inf.log_prob(net, tables, good))
    cases = [({**good, "x1": [0.5, 1.0]}, "'x1', row 0, value 0.5"),
             ({**good, "y": [0, 0]}, "'y'"),
             ({**good, "x2": [0, 0, 0]}, "'x2'.*3 rows"),
             ({**good, "x0": [[0, 1]]}, "'x0'.*1-D"),
             ({**good, "x0": ["a", "b"]}, "'x0'.*numeric"),
             ([0, 1], "mapping")]
    for data, message in cases:
        with pytest.raises(DataError, match=message):
            inf.log_prob(net, tables, data)
