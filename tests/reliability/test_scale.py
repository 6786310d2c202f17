"""Size-aware analysis and drawing: ``independencies`` of a long Markov chain in seconds (its
statements checked against networkx's d-separation), and pictures of large or dense networks
that finish, showing a named part."""
from __future__ import annotations

import random
import shutil
import time
import warnings

import networkx as nx
import pytest

import pgm_ar
from pgm_ar import BayesNet, Bernoulli, bernoullis, chain_rule, markov
from pgm_ar import independence as independence_mod
from pgm_ar.cli import main
from pgm_ar.draw import draw
from pgm_ar.draw.size import MAX_DRAW_EDGES, MAX_DRAW_NODES, drawn_part
from pgm_ar.errors import PgmArError


def _random_dag(seed: int, n: int, p: float) -> BayesNet:
    rng = random.Random(seed)
    order = list(range(n))
    rng.shuffle(order)  # declaration order differs from topological order
    edges = [(f"v{order[i]}", f"v{order[j]}") for j in range(n) for i in range(j)
             if rng.random() < p]
    return BayesNet([Bernoulli(f"v{i}") for i in range(n)], edges)


def _check_against_networkx(net: BayesNet) -> None:
    """Every non-adjacent pair has exactly one statement; its separator d-separates the pair
    and no proper subset does (one element removed: by the subset property of separators,
    enough), all by networkx's d-separation; adjacent pairs have none."""
    g = nx.DiGraph(list(net.edges))
    g.add_nodes_from(net.names)
    pairs = {frozenset((next(iter(s.xs)), next(iter(s.ys)))): s.given
             for s in net.independencies().pairs}
    for i, a in enumerate(net.names):
        for b in net.names[i + 1:]:
            adjacent = g.has_edge(a, b) or g.has_edge(b, a)
            assert (frozenset((a, b)) in pairs) == (not adjacent), (a, b)
            if adjacent:
                continue
            sep = set(pairs[frozenset((a, b))])
            assert nx.is_d_separator(g, {a}, {b}, sep), (a, b, sep)
            for s in sep:
                assert not nx.is_d_separator(g, {a}, {b}, sep - {s}), (a, b, sep, s)


@pytest.mark.parametrize("seed, n, p", [(0, 12, 0.25), (1, 16, 0.12), (2, 9, 0.5)])
def test_independencies_are_minimal_separators_by_networkx(seed, n, p, monkeypatch):
    net = _random_dag(seed, n, p)
    _check_against_networkx(net)
    fast = net.independencies().to_text()
    # the Python labelling (for DAGs too dense for the scipy one) gives the same statements
    monkeypatch.setattr(independence_mod, "MORAL_EDGE_BUDGET", 0)
    assert _random_dag(seed, n, p).independencies().to_text() == fast


def test_markov3_chain_independencies_in_seconds():
    _check_against_networkx(markov(bernoullis(16), k=3))
    net = markov(bernoullis(400), k=3)  # the search per pair took minutes at this size
    t0 = time.perf_counter()
    ind = net.independencies()
    seconds = time.perf_counter() - t0
    # every non-adjacent pair (i < j - 3) once, separated by j's three parents
    assert len(ind.pairs) == sum(max(0, j - 3) for j in range(400))
    s = next(s for s in ind.pairs if s.xs == {"x1"} and s.ys == {"x300"})
    assert s.given == {"x297", "x298", "x299"}
    assert seconds < 20, seconds


def test_drawn_part_of_large_and_dense_networks():
    # a long chain: the first MAX_DRAW_NODES variables
    part, note = drawn_part(markov(bernoullis(784), k=3), "dag")
    assert len(part) == MAX_DRAW_NODES and note.startswith("the first 200 of 784 variables")
    assert set(part.names) == {f"x{i}" for i in range(1, 201)}
    # a dense DAG: as many variables as keep the edges within budget (k (k-1) / 2 edges)
    for kind in ("dag", "factor"):
        part, note = drawn_part(chain_rule(bernoullis(80)), kind)
        k = len(part)
        extra = k if kind == "factor" else 0
        assert k * (k - 1) // 2 + extra <= MAX_DRAW_EDGES[kind] < (k + 1) * k // 2 + k + 1
    # small networks are drawn whole
    alarm = pgm_ar.example_network("alarm")
    assert drawn_part(alarm, "dag") == (alarm, None)
    with pytest.raises(PgmArError, match=r"80 variables with 3160 edges .* draw at most 45 "
                                         r"variables \(--max-nodes 45\)"):
        drawn_part(chain_rule(bernoullis(80)), "dag", max_nodes=100)


def test_dot_source_is_written_whole(tmp_path):
    net = chain_rule(bernoullis(60))
    out = draw(net, tmp_path / "net.gv")
    assert out.read_text().count(" -> ") == len(net.edges)  # no layout: nothing left out


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_pictures_of_large_networks_finish(tmp_path, capsys):
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = draw(chain_rule(bernoullis(80)), tmp_path / "dense.svg")  # never finished
    assert time.perf_counter() - t0 < 60
    svg = out.read_text()
    assert "the first 45 of 80 variables" in svg and svg.count("class=\"edge\"") == 990
    assert any("the first 45 of 80" in str(w.message) for w in caught)
    spec = tmp_path / "m3.yaml"
    spec.write_text("name: m3\nvariables:\n  - {name: x, type: bernoulli, count: 784}\n"
                    "structure: {markov: 3}\n")
    assert main(["draw", str(spec), "-o", str(tmp_path / "m3.svg")]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pgm-ar: note:" in err and "first 200 of 784" in err
    assert main(["draw", str(spec), "--max-nodes", "30", "-o", str(tmp_path / "m3.svg")]) == 0
    assert (tmp_path / "m3.svg").read_text().count("class=\"node\"") == 30
