"""Edge classes and SHD against a brute-force definition; the drawing marks every edge."""
from __future__ import annotations

import itertools

import pytest

import pgm_ar
from pgm_ar.errors import PgmArError
from pgm_ar.learning.structure_diff import EDGE_STYLES, diff_edges, draw_learned, shd
from tests.oracles import random_dag


def _shd_by_pairs(a, b, names):
    """SHD as the number of unordered pairs whose (absent / a->b / b->a) status differs."""
    def status(edges, x, y):
        return (x, y) in edges and 1 or ((y, x) in edges and 2 or 0)
    sa, sb = set(a), set(b)
    return sum(status(sa, x, y) != status(sb, x, y) for x, y in itertools.combinations(names, 2))


@pytest.mark.parametrize("seed", range(8))
def test_shd_counts_the_pairs_that_differ(seed):
    a, b = random_dag(7, 0.4, seed), random_dag(7, 0.4, seed + 100)
    d = diff_edges(a, b)
    assert shd(a, b) == _shd_by_pairs(a.edges, b.edges, a.names) == d.shd
    assert len(d.agree) + len(d.reversed) + len(d.added) == a.num_edges
    assert len(d.agree) + len(d.reversed) + len(d.missing) == b.num_edges
    assert shd(a, a) == 0


def test_drawing_marks_each_kind_of_edge(tmp_path):
    net = pgm_ar.example_network("asia")
    edges = [("asia", "tub"), ("lung", "smoke"), ("tub", "either"), ("lung", "either"),
             ("either", "xray"), ("bronc", "dysp"), ("either", "dysp"), ("asia", "xray")]
    learned = pgm_ar.BayesNet(net.variables, edges, name="learned")
    out = draw_learned(learned, tmp_path / "diff.gv", net)
    text = out.read_text()
    d = diff_edges(learned, net)
    assert d.reversed == (("lung", "smoke"),) and d.added == (("asia", "xray"),)
    assert d.missing == (("smoke", "bronc"),)
    assert text.count(EDGE_STYLES["added"]["color"]) == 1
    assert text.count(EDGE_STYLES["reversed"]["color"]) == 1
    assert text.count("style=dashed") == 1
    assert "SHD 3" in text and "1 added by the data" in text
    with pytest.raises(PgmArError, match="variables the learned one lacks"):
        draw_learned(pgm_ar.BayesNet(net.variables[:3]), tmp_path / "x.gv", net)
