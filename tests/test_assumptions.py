"""Builders from assumptions and from independence statements (parameter counts live in
test_counting, factorization rendering in test_factorization)."""
from __future__ import annotations

import itertools

import pytest

from pgm_ar import bernoullis, check_statements, from_independencies, markov
from tests.oracles import random_dag


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
