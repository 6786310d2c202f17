"""The factorization (pgm_ar.factorization): compressed runs expand back to the network's terms,
and the hand-written forms of Markov chains, chain rules and their LaTeX."""
from __future__ import annotations

import numpy as np
import pytest

from pgm_ar import (BayesNet, Bernoulli, Categorical, Gaussian, Image, PgmArError, bernoullis, chain_rule,
                    independent, markov)
from pgm_ar.factorization import MIN_RUN, Factorization, Run, Term, pixel_expansion
from tests.oracles import random_dag


def _expand(piece):
    """The terms a compressed run stands for, from its definition."""
    if isinstance(piece, Term):
        return [(piece.child, set(piece.parents))]
    kind, k = piece.pattern
    out = []
    for i in range(piece.start, piece.stop + 1):
        lo = {"window": i - k, "from": k, "none": i}[kind]
        out.append((f"{piece.prefix}{i}", {f"{piece.prefix}{j}" for j in range(lo, i)}))
    return out


def _random_numbered_net(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 30))
    xs = bernoullis(n)
    edges = []
    for i in range(n):
        kind = rng.choice(["window", "from", "random"])
        if kind == "window":
            k = int(rng.integers(0, 4))
            ps = range(max(0, i - k), i)
        elif kind == "from":
            ps = range(min(i, int(rng.integers(0, 3))), i)
        else:
            ps = [j for j in range(i) if rng.random() < 0.3]
        edges += [(xs[j].name, xs[i].name) for j in ps]
    return BayesNet(xs, edges)


@pytest.mark.parametrize("seed", range(12))
def test_compressed_pieces_stand_for_exactly_the_networks_terms(seed):
    net = markov(bernoullis(40), 2) if seed == 0 else _random_numbered_net(seed)
    f = net.factorization()
    assert [t.child for t in f.terms] == list(net.topological_order())
    assert all(t.parents == net.parents(t.child) for t in f.terms)
    expanded = [t for piece in f._pieces for t in _expand(piece)]
    assert expanded == [(t.child, set(t.parents)) for t in f.terms]
    assert all(p.stop - p.start + 1 >= MIN_RUN for p in f._pieces if isinstance(p, Run))
    assert len(f) == len(net)
    assert f.expanded_text().count("p(") == len(net) + 1


@pytest.mark.parametrize("k,parents", [
    (1, "x_{i-1}"), (2, "x_{i-2}, x_{i-1}"), (3, "x_{i-3}, ..., x_{i-1}")])
def test_markov_chains(k, parents):
    f = markov(bernoullis(30), k).factorization()
    head = " ".join(f"p(x{i}{' | ' + ', '.join(f'x{j}' for j in range(1, i)) if i > 1 else ''})"
                    for i in range(1, k + 1))
    assert f.text() == f"p(x1, ..., x30) = {head} prod_{{i={k + 1}}}^{{30}} p(x_i | {parents})"


def test_a_long_chain_rule_head_is_a_run_of_its_own():
    # x2..x6 see all earlier values (a run of 5), x7..x30 the five before
    assert markov(bernoullis(30), 5).factorization().text() == (
        "p(x1, ..., x30) = p(x1) prod_{i=2}^{6} p(x_i | x_1, ..., x_{i-1}) "
        "prod_{i=7}^{30} p(x_i | x_{i-5}, ..., x_{i-1})")


def test_chain_rule_runs_from_a_fixed_start():
    assert chain_rule(bernoullis(6)).factorization().text() == \
        "p(x1, ..., x6) = p(x1) prod_{i=2}^{6} p(x_i | x_1, ..., x_{i-1})"
    # a run starting after x9: the start is braced (two digits)
    xs = bernoullis(16)
    net = BayesNet(xs, [(xs[j].name, xs[i].name) for i in range(11, 16) for j in range(11, i)])
    assert "prod_{i=13}^{16} p(x_i | x_{12}, ..., x_{i-1})" in net.factorization().text()


def test_short_runs_and_unnumbered_names_are_written_out():
    assert MIN_RUN == 4
    assert markov(bernoullis(5), 1).factorization().text() == \
        "p(x1, ..., x5) = p(x1) prod_{i=2}^{5} p(x_i | x_{i-1})"
    assert markov(bernoullis(4), 1).factorization().text() == \
        "p(x1, ..., x4) = p(x1) p(x2 | x1) p(x3 | x2) p(x4 | x3)"
    # leading zeros and non-numbered names never join a run
    vs = [Bernoulli(n) for n in ("x01", "x02", "x03", "x04", "x05")]
    net = BayesNet(vs, [(a.name, b.name) for a, b in zip(vs, vs[1:])])
    assert net.factorization().text() == ("p(x01, x02, x03, x04, x05) = p(x01) p(x02 | x01) "
                                          "p(x03 | x02) p(x04 | x03) p(x05 | x04)")
    mixed = BayesNet([Bernoulli("a"), Gaussian("b")], [("a", "b")])
    assert mixed.factorization().text() == "p(a, b) = p(a) p(b | a)"


def test_independent_and_styles():
    f = independent(bernoullis(5)).factorization()
    assert f.text() == "p(x1, ..., x5) = prod_{i=1}^{5} p(x_i)"
    assert str(f) == f.unicode() == "p(x1, ..., x5) = ∏_{i=1}^{5} p(x_i)"
    assert f.latex() == r"p(x_{1}, \ldots, x_{5}) = \prod_{i=1}^{5} p(x_i)"
    assert repr(f) == f"Factorization({f.text()!r})"
    under = BayesNet([Bernoulli("a_b"), Bernoulli("c")], [("a_b", "c")])
    assert under.factorization().latex() == r"p(a\_b, c) = p(a\_b) p(c \mid a\_b)"


def test_to_dict_and_pixel_expansions():
    net = BayesNet([Bernoulli("y"), Image("img", (1, 2, 2))], [("y", "img")])
    d = net.factorization().to_dict()
    assert d["terms"] == [{"variable": "y", "parents": []}, {"variable": "img", "parents": ["y"]}]
    assert d["text"] == "p(y, img) = p(y) p(img | y)"
    assert d["pixel_expansions_text"] == [
        "p(img | y) = prod_{t=1}^{4} p(img_t | img_<t, y)   [1x2x2, raster order]"]
    assert d["pixel_expansions"] == [pixel_expansion(net.variable("img"), ["y"])]
    assert d["pixel_expansions_latex"] == [pixel_expansion(net.variable("img"), ["y"], "latex")]
    with pytest.raises(PgmArError, match="unknown factorization style 'html'"):
        net.factorization().pixel_expansions("html")
    with pytest.raises(PgmArError, match="unknown factorization style 'html'"):
        pixel_expansion(net.variable("img"), style="html")


def test_a_hand_built_factorization():
    f = Factorization(["b", "a"], [Term("b", ()), Term("a", ("b",))])
    assert f.text() == "p(b, a) = p(b) p(a | b)" and f.images == ()


# ---------------------------------------------------------------------------- moved from test_assumptions
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
