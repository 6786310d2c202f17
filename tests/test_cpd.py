"""Conditional probability tables (pgm_ar.cpd): layout, validation, conversions, pgmpy agreement."""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

from pgm_ar import PgmArError, TabularCPD
from pgm_ar.cpd import ROW_SUM_TOLERANCE


def _random_table(rng, parent_cards, card):
    return rng.dirichlet(np.ones(card), size=tuple(parent_cards) or None).reshape(
        tuple(parent_cards) + (card,))


def test_layout_and_properties():
    rng = np.random.default_rng(0)
    p = _random_table(rng, (2, 3), 4)
    cpd = TabularCPD("x", ["a", "b"], p)
    assert cpd.parents == ("a", "b") and cpd.cardinality == 4
    assert cpd.parent_cardinalities == (2, 3)
    assert cpd.num_free_parameters == (4 - 1) * 2 * 3
    assert TabularCPD("r", (), [0.25, 0.75]).num_free_parameters == 1
    np.testing.assert_allclose(cpd.probs, p, rtol=0, atol=1e-15)
    assert not cpd.probs.flags.writeable


def test_rows_are_renormalised_within_tolerance_only():
    almost = np.array([[0.5, 0.5 + ROW_SUM_TOLERANCE / 2], [0.3, 0.7]])
    cpd = TabularCPD("x", ["a"], almost)
    np.testing.assert_allclose(cpd.probs.sum(-1), 1.0, rtol=0, atol=1e-15)
    raw = TabularCPD("x", ["a"], almost, normalize=False)
    assert raw.probs[0, 1] == almost[0, 1]
    with pytest.raises(PgmArError, match=r"parent states \(1,\) \(parents \['a'\]\) sum to 1.1"):
        TabularCPD("x", ["a"], [[0.5, 0.5], [0.3, 0.8]])


@pytest.mark.parametrize("bad,match", [
    ([[0.5, 0.5]], "expected 1 axes"),
    ([-0.1, 1.1], "negative or non-finite"),
    ([np.nan, 1.0], "negative or non-finite"),
    ([np.inf, 0.0], "negative or non-finite"),
])
def test_invalid_tables(bad, match):
    with pytest.raises(PgmArError, match=match):
        TabularCPD("x", [], bad)


def test_child_major_round_trip_matches_a_hand_layout():
    rng = np.random.default_rng(1)
    cards = (2, 3)
    p = _random_table(rng, cards, 3)
    cpd = TabularCPD("x", ["a", "b"], p)
    cm = cpd.to_child_major()
    # column j is the parent configuration j with the first parent slowest
    for j, (a, b) in enumerate(itertools.product(range(2), range(3))):
        np.testing.assert_allclose(cm[:, j], p[a, b], rtol=0, atol=1e-15)
    back = TabularCPD.from_child_major("x", ["a", "b"], cm, cards)
    np.testing.assert_allclose(back.probs, cpd.probs, rtol=0, atol=1e-15)


def test_child_major_is_pgmpys_layout():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgmpy.factors.discrete import TabularCPD as PgmpyCPD
    rng = np.random.default_rng(2)
    p = _random_table(rng, (3, 2), 2)
    ours = TabularCPD("x", ["a", "b"], p)
    theirs = PgmpyCPD("x", 2, ours.to_child_major(), evidence=["a", "b"], evidence_card=[3, 2])
    for a, b, x in itertools.product(range(3), range(2), range(2)):
        assert theirs.get_value(a=a, b=b, x=x) == pytest.approx(p[a, b, x], abs=1e-15)


def test_reorder_parents_transposes_the_table():
    rng = np.random.default_rng(3)
    p = _random_table(rng, (2, 3, 4), 2)
    cpd = TabularCPD("x", ["a", "b", "c"], p)
    r = cpd.reorder_parents(["c", "a", "b"])
    assert r.parents == ("c", "a", "b") and r.probs.shape == (4, 2, 3, 2)
    for a, b, c in itertools.product(range(2), range(3), range(4)):
        np.testing.assert_allclose(r.probs[c, a, b], p[a, b, c], rtol=0, atol=1e-15)
    with pytest.raises(PgmArError, match=r"\['a', 'd'\] are not its parents"):
        cpd.reorder_parents(["a", "d"])


def test_allclose_ignores_parent_order_only():
    rng = np.random.default_rng(4)
    p = _random_table(rng, (2, 3), 2)
    cpd = TabularCPD("x", ["a", "b"], p)
    assert cpd.allclose(cpd.reorder_parents(["b", "a"]))
    assert not cpd.allclose(TabularCPD("y", ["a", "b"], p))
    assert not cpd.allclose(TabularCPD("x", ["a", "c"], p))
    shifted = p.copy()
    shifted[0, 0] = [shifted[0, 0, 0] + 1e-3, shifted[0, 0, 1] - 1e-3]
    assert not cpd.allclose(TabularCPD("x", ["a", "b"], shifted))
    assert cpd.allclose(TabularCPD("x", ["a", "b"], shifted), atol=2e-3)
