"""Pixel orderings (pgm_ar.orderings) against their definitions, checked pixel by pixel."""
from __future__ import annotations

import numpy as np
import pytest

from pgm_ar import Image, PgmArError
from pgm_ar import orderings
from pgm_ar.orderings import (custom, diagonal, expand_channels, make_ordering, random, raster,
                              snake)

SHAPES = [(1, 1), (1, 5), (4, 1), (2, 3), (3, 4), (5, 5)]


def _coords(order, width):
    return [divmod(int(p), width) for p in order]


@pytest.mark.parametrize("h,w", SHAPES)
def test_raster_is_row_by_row_left_to_right(h, w):
    want = [(r, c) for r in range(h) for c in range(w)]
    assert _coords(raster(h, w), w) == want
    assert raster(h, w).dtype == np.int64


@pytest.mark.parametrize("h,w", SHAPES)
def test_snake_alternates_direction_row_by_row(h, w):
    want = [(r, c) for r in range(h) for c in (range(w) if r % 2 == 0 else reversed(range(w)))]
    assert _coords(snake(h, w), w) == want


@pytest.mark.parametrize("h,w", SHAPES)
def test_diagonal_visits_anti_diagonals_top_row_first(h, w):
    want = [(r, d - r) for d in range(h + w - 1) for r in range(h) if 0 <= d - r < w]
    assert _coords(diagonal(h, w), w) == want


@pytest.mark.parametrize("h,w", SHAPES)
def test_random_is_a_seeded_permutation(h, w):
    perm = random(h, w, seed=5)
    assert sorted(perm.tolist()) == list(range(h * w))
    assert np.array_equal(perm, np.random.default_rng(5).permutation(h * w))
    assert np.array_equal(perm, random(h, w, 5))


def test_random_seeds_differ():
    assert not np.array_equal(random(4, 4, 1), random(4, 4, 2))


def test_custom_accepts_permutations_only():
    assert custom(2, 2, [3, 1, 0, 2]).tolist() == [3, 1, 0, 2]
    with pytest.raises(PgmArError, match=r"permutation of 0\.\.3 .*2x2.*got 4 values with repeats"):
        custom(2, 2, [0, 1, 1, 3])
    with pytest.raises(PgmArError, match="got 3 values$"):
        custom(2, 2, [0, 1, 2])
    with pytest.raises(PgmArError, match=r"permutation of 0\.\.3 .*got the value 4$"):
        custom(2, 2, [0, 1, 2, 4])


@pytest.mark.parametrize("spec,label,fn", [
    ("raster", "raster", raster), (" Raster ", "raster", raster), ("snake", "snake", snake),
    ("boustrophedon", "snake", snake), ("DIAGONAL", "diagonal", diagonal),
])
def test_make_ordering_names(spec, label, fn):
    got_label, perm = make_ordering(spec, 3, 4)
    assert got_label == label and np.array_equal(perm, fn(3, 4))


@pytest.mark.parametrize("spec,seed", [("random", 0), ("random(7)", 7), ("random:11", 11),
                                       ("random = 3", 3), ("random()", 0)])
def test_make_ordering_random_seeds(spec, seed):
    label, perm = make_ordering(spec, 3, 4)
    assert label == f"random({seed})"
    assert np.array_equal(perm, np.random.default_rng(seed).permutation(12))


def test_make_ordering_custom_and_errors():
    label, perm = make_ordering([1, 0, 3, 2], 2, 2)
    assert label == "custom" and perm.tolist() == [1, 0, 3, 2]
    with pytest.raises(PgmArError, match=r"bad random ordering 'random\(x\)'"):
        make_ordering("random(x)", 2, 2)
    with pytest.raises(PgmArError, match="unknown ordering 'spiral'"):
        make_ordering("spiral", 2, 2)
    assert orderings.OrderingKind("snake") is orderings.OrderingKind.SNAKE


@pytest.mark.parametrize("channels", [1, 2, 3])
def test_expand_channels_visits_the_channels_of_each_pixel_in_turn(channels):
    h, w = 2, 3
    pix = snake(h, w)
    full = expand_channels(pix, channels)
    # flat (C, H, W) index c*H*W + p, listed pixel by pixel, channel fastest
    want = [c * h * w + int(p) for p in pix for c in range(channels)]
    assert full.tolist() == want
    assert Image("x", (channels, h, w), ordering="snake").order.tolist() == want


# ---------------------------------------------------------------------------- moved from test_declare
@pytest.mark.parametrize("kind", ["raster", "snake", "diagonal", "random(3)"])
def test_orderings_are_permutations(kind):
    label, perm = orderings.make_ordering(kind, 5, 7)
    assert sorted(perm.tolist()) == list(range(35))


def test_ordering_definitions():
    h, w = 4, 5
    r, c = np.divmod(orderings.diagonal(h, w), w)
    # anti-diagonals in order, top row first within each
    keys = list(zip(r + c, r))
    assert keys == sorted(keys)
    s = orderings.snake(h, w)
    rows, cols = np.divmod(s, w)
    assert list(cols[:w]) == list(range(w)) and list(cols[w:2 * w]) == list(range(w))[::-1]
    assert np.array_equal(orderings.random(h, w, 1), orderings.random(h, w, 1))
    assert not np.array_equal(orderings.random(h, w, 1), orderings.random(h, w, 2))
    with pytest.raises(PgmArError, match="permutation"):
        Image("x", (1, 2, 2), ordering=[0, 1, 1, 3])
    with pytest.raises(PgmArError, match="unknown ordering"):
        Image("x", (1, 2, 2), ordering="spiral")
    img = Image("x", (2, 2, 2), ordering=[3, 2, 1, 0])
    assert img.order.tolist() == [3, 7, 2, 6, 1, 5, 0, 4]  # channels of a pixel in turn
