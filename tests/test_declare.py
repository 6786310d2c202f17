"""Variables, CPTs, BayesNet validation and statements (orderings: test_orderings)."""
from __future__ import annotations

import numpy as np
import pytest

import pgm_ar
from pgm_ar import (BayesNet, Bernoulli, Categorical, CycleError, DuplicateVariableError, Gaussian,
                    Image, PgmArError, Statement, StatementError, TabularCPD, UnknownVariableError)


def test_variable_kinds():
    assert Bernoulli("a").cardinality == 2
    assert Categorical("d", 6).states == tuple("012345")
    assert Categorical("w", ["sun", "rain"]).state_index("rain") == 1
    assert Categorical("w", ["sun", "rain"]).state_index(0) == 0
    assert Gaussian("h").cardinality is None and not Gaussian("h").is_discrete
    img = Image("img", shape=(3, 4, 5), levels=256)
    assert img.num_pixels == 60 and len(img.pixels()) == 60
    # discrete pixels make a discrete image, which still has no enumerable state set
    assert img.is_discrete and img.cardinality is None and img.pixel_cardinality == 256
    assert Image("b", shape=(2, 2)).is_discrete
    assert not Image("r", shape=(2, 2), levels=None).is_discrete
    with pytest.raises(PgmArError, match="no state 'snow'"):
        Categorical("w", ["sun", "rain"]).state_index("snow")
    with pytest.raises(PgmArError, match="lists state 'a' twice"):
        Categorical("w", ["a", "a"])
    with pytest.raises(PgmArError, match="at least 2 states"):
        Categorical("w", 1)
    with pytest.raises(PgmArError, match="non-empty string"):
        Bernoulli("")


def test_bayesnet_validation():
    a, b, c = Bernoulli("a"), Bernoulli("b"), Bernoulli("c")
    with pytest.raises(CycleError) as err:
        BayesNet([a, b, c], [("a", "b"), ("b", "c"), ("c", "a")])
    cyc = err.value.cycle
    assert set(cyc) == {"a", "b", "c"}
    # the reported cycle follows edges in order
    edges = {("a", "b"), ("b", "c"), ("c", "a")}
    assert all((cyc[i], cyc[(i + 1) % 3]) in edges for i in range(3))
    with pytest.raises(CycleError, match="self-loop on variable 'a'"):
        BayesNet([a, b], [("a", "a")])
    with pytest.raises(UnknownVariableError, match="'d'"):
        BayesNet([a, b], [("a", "d")])
    with pytest.raises(DuplicateVariableError, match="'a'"):
        BayesNet([a, Bernoulli("a")])
    with pytest.raises(UnknownVariableError, match="did you mean 'abc'"):
        BayesNet([Bernoulli("abc")]).parents("abd")


def test_bayesnet_access_and_immutability():
    net = BayesNet([Bernoulli("c"), Bernoulli("a"), Bernoulli("b")], [("a", "c"), ("b", "c")])
    assert net.parents("c") == ("a", "b")
    assert net.topological_order() == ("a", "b", "c")
    assert net.children("a") == ("c",)
    assert net.ancestors("c") == {"a", "b"}
    with pytest.raises(Exception):
        net.graph.add_edge("c", "a")  # frozen view
    net2 = net.with_edges([("a", "b")])
    assert net2.parents("b") == ("a",) and net.parents("b") == ()


def test_cpd_layouts_and_checks():
    cpd = TabularCPD("c", ("a", "b"), np.random.default_rng(0).dirichlet([1, 1, 1], size=(2, 4)))
    cm = cpd.to_child_major()
    assert cm.shape == (3, 8)
    back = TabularCPD.from_child_major("c", ("a", "b"), cm, (2, 4))
    assert np.allclose(back.probs, cpd.probs)
    swapped = cpd.reorder_parents(("b", "a"))
    assert np.allclose(swapped.probs[3, 1], cpd.probs[1, 3])
    with pytest.raises(PgmArError, match=r"parent states \(0,\)"):
        TabularCPD("b", ("a",), [[0.5, 0.6], [0.5, 0.5]])
    net = BayesNet([Bernoulli("a"), Categorical("b", 3)], [("a", "b")])
    with pytest.raises(PgmArError, match="must be"):
        net.with_cpds({"b": TabularCPD("b", ("a",), [[0.5, 0.5], [0.5, 0.5]])})


@pytest.mark.parametrize("text,xs,ys,given", [
    ("x3 _|_ x1, x2 | x4", {"x3"}, {"x1", "x2"}, {"x4"}),
    ("a ⊥ b", {"a"}, {"b"}, set()),
    ("a,b ⫫ c|d,e", {"a", "b"}, {"c"}, {"d", "e"}),
    ("a ⊥⊥ b |", {"a"}, {"b"}, set()),
])
def test_statement_parsing(text, xs, ys, given):
    s = Statement.parse(text)
    assert (s.xs, s.ys, s.given) == (xs, ys, given)
    assert Statement.parse(s.ascii()) == s == Statement.parse(str(s))


@pytest.mark.parametrize("bad,msg", [
    ("a b", "malformed"), ("a _|_ b _|_ c", "malformed"), ("a | c _|_ b", "after"),
    ("a _|_ b | c | d", "more than one"), ("a _|_ , b", "empty variable name"),
    ("a _|_ a", "two sides"), ("a _|_ b | a", "two sides"),
])
def test_statement_errors(bad, msg):
    with pytest.raises(StatementError, match=msg):
        Statement.parse(bad)


def test_statement_symmetry_and_unknown_names():
    assert Statement.parse("a _|_ b | c") == Statement.parse("b _|_ a | c")
    with pytest.raises(UnknownVariableError, match="'q'"):
        Statement.parse("a _|_ q").check_names(["a", "b"])


def test_public_api_lists_only_real_names():
    for name in ["BayesNet", "markov", "count_parameters", "Statement", "Image"]:
        assert getattr(pgm_ar, name) is not None
    with pytest.raises(AttributeError):
        pgm_ar.no_such_name
