"""Builders from assumptions; factorization rendering; parameter counts."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from pgm_ar import (BayesNet, Bernoulli, Categorical, Image, Statement, bernoullis, chain_rule,
                    check_statements, compare_parameter_counts, count_parameters,
                    from_independencies, independent, markov)
from pgm_ar.counting import readable


def random_dag(n: int, p: float, seed: int) -> BayesNet:
    rng = np.random.default_rng(seed)
    vs = bernoullis(n)
    edges = [(vs[j].name, vs[i].name) for i in range(n) for j in range(i) if rng.random() < p]
    return BayesNet(vs, edges)


def test_markov_statements_give_the_chain():
    xs = bernoullis(12)
    stmts = [f"x{i + 1} _|_ {', '.join(f'x{j}' for j in range(1, i))} | x{i}" for i in range(2, 12)]
    net = from_independencies(xs, stmts)
    assert net == markov(xs, k=1)
    assert all(ok for _, ok in check_statements(net, stmts))


def test_markov_k2_statements():
    xs = bernoullis(8)
    stmts = [f"x{i} _|_ {', '.join(f'x{j}' for j in range(1, i - 2))} | x{i - 2}, x{i - 1}"
             for i in range(4, 9)]
    assert from_independencies(xs, stmts) == markov(xs, k=2)


@pytest.mark.parametrize("seed", range(8))
def test_local_markov_statements_recover_the_dag(seed):
    dag = random_dag(8, 0.35, seed)
    stmts = dag.local_independencies()
    rebuilt = from_independencies(dag.variables, stmts)
    assert rebuilt == dag


@pytest.mark.parametrize("seed", range(4))
def test_local_markov_in_another_topological_order(seed):
    # Same DAG, variables listed in a different topological order: same DAG back.
    dag = random_dag(7, 0.4, 100 + seed)
    import networkx as nx
    orders = list(itertools.islice(nx.all_topological_sorts(dag.graph), 5))
    order = orders[-1]
    vs = [dag.variable(n) for n in order]
    rebuilt = from_independencies(vs, dag.local_independencies())
    assert {n: set(rebuilt.parents(n)) for n in order} == {n: set(dag.parents(n)) for n in order}


def test_contraction_is_used():
    # x4 _|_ x1 | x2, x3  and  x4 _|_ x2 | x3  give  x4 _|_ x1, x2 | x3 by contraction
    xs = bernoullis(4)
    net = from_independencies(xs, ["x4 _|_ x1 | x2, x3", "x4 _|_ x2 | x3"])
    assert net.parents("x4") == ("x3",)


def test_marginal_statement_does_not_drop_conditional_edges():
    # x3 _|_ x1 says nothing about x3 _|_ x1 | x2: x3 keeps both parents, and the
    # statement is then reported as not implied by the resulting DAG.
    xs = bernoullis(3)
    net = from_independencies(xs, ["x3 _|_ x1"])
    assert set(net.parents("x3")) == {"x1", "x2"}
    assert check_statements(net, ["x3 _|_ x1"])[0][1] is False


def test_builders_counts_closed_forms():
    for n in (1, 3, 10, 20):
        xs = bernoullis(n)
        assert count_parameters(chain_rule(xs)).total == 2 ** n - 1
        assert count_parameters(markov(xs, 1)).total == 2 * n - 1
        assert count_parameters(independent(xs)).total == n
        table = compare_parameter_counts(xs, net=markov(xs, 2))
        assert table.row("full joint").count == 2 ** n - 1
        assert table.row("Markov k=1").count == 2 * n - 1
        assert table.row("declared network (markov2)").count == count_parameters(markov(xs, 2)).total


def test_count_matches_brute_force_table_sizes():
    # (k-1) * prod(parent cards), counted the long way by enumerating parent configurations
    rng = np.random.default_rng(0)
    vs = [Categorical(f"v{i}", int(rng.integers(2, 5))) for i in range(6)]
    edges = [(vs[j].name, vs[i].name) for i in range(6) for j in range(i) if rng.random() < 0.5]
    net = BayesNet(vs, edges)
    pc = count_parameters(net)
    for v in vs:
        configs = list(itertools.product(*[range(net.variable(p).cardinality) for p in net.parents(v.name)]))
        assert pc.per_variable[v.name] == (v.cardinality - 1) * len(configs)
    assert pc.total == sum(pc.per_variable.values())


def test_784_pixel_table():
    table = compare_parameter_counts(bernoullis(784))
    full = table.row("full joint")
    assert full.count == 2 ** 784 - 1 and readable(full.count) == "1.0e236"
    assert "2^784 - 1" in str(table)
    assert table.row("Markov k=1").count == 1567
    img = Image("digit", (1, 28, 28))
    t2 = compare_parameter_counts([img])
    assert t2.row("full joint").count == 2 ** 784 - 1 and t2.row("Markov k=1").count == 1567
    # an image node with a 10-state parent: the chain rule over its pixels, per label
    net = independent([Categorical("label", 10), img]).with_edges([("label", "digit")])
    assert count_parameters(net).per_variable["digit"] == (2 ** 784 - 1) * 10


def test_readable():
    assert readable(7) == "7"
    assert readable(123456789) == "1.2e8"
    assert readable(2 ** 10000).endswith("e3010")
    assert readable(None) == "n/a"


def test_gaussian_counts():
    from pgm_ar import Gaussian
    net = BayesNet([Categorical("z", 3), Gaussian("a"), Gaussian("b")], [("z", "b"), ("a", "b")])
    pc = count_parameters(net)
    # the compiled linear-Gaussian node: a weight per state of z and for a, an intercept and
    # one variance (not one per configuration of z)
    assert pc.per_variable["a"] == 2 and pc.per_variable["b"] == 3 + 1 + 1 + 1
    t = compare_parameter_counts(net.variables)
    assert t.row("full joint").count is None


def test_factorization_forms():
    net = BayesNet([Bernoulli("a"), Bernoulli("b"), Bernoulli("c")], [("a", "b"), ("b", "c")])
    f = net.factorization()
    assert f.text() == "p(a, b, c) = p(a) p(b | a) p(c | b)"
    assert f.latex() == r"p(a, b, c) = p(a) p(b \mid a) p(c \mid b)"
    assert str(markov(bernoullis(784)).factorization()) == \
        "p(x1, ..., x784) = p(x1) ∏_{i=2}^{784} p(x_i | x_{i-1})"
    assert markov(bernoullis(784)).factorization().text() == \
        "p(x1, ..., x784) = p(x1) prod_{i=2}^{784} p(x_i | x_{i-1})"
    assert str(chain_rule(bernoullis(9)).factorization()) == \
        "p(x1, ..., x9) = p(x1) ∏_{i=2}^{9} p(x_i | x_1, ..., x_{i-1})"
    assert str(independent(bernoullis(5)).factorization()) == "p(x1, ..., x5) = ∏_{i=1}^{5} p(x_i)"
    # short runs are written out
    assert str(markov(bernoullis(3)).factorization()) == "p(x1, x2, x3) = p(x1) p(x2 | x1) p(x3 | x2)"
    assert len(markov(bernoullis(50), 3).factorization().expanded_text().split(") p(")) == 50


def test_factorization_matches_parents_on_random_nets():
    # every term of the (uncompressed) factorization is p(child | its parents)
    for seed in range(5):
        net = random_dag(10, 0.3, seed)
        f = net.factorization()
        assert [t.child for t in f.terms] == list(net.topological_order())
        for t in f.terms:
            assert t.parents == net.parents(t.child)


def test_image_pixel_expansion():
    net = independent([Categorical("label", 10), Image("digit", (1, 8, 8), ordering="snake")])
    net = net.with_edges([("label", "digit")])
    [line] = net.factorization().pixel_expansions()
    assert "64" in line and "snake" in line and "label" in line
