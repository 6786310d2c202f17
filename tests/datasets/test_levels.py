"""Quantization of 0..255 values to L levels, against the closed form floor(v * L / 256)."""
from __future__ import annotations

from fractions import Fraction
import math

import numpy as np
import pytest
import torch

from pgm_ar.datasets import dequantize, quantize
from pgm_ar.errors import DataError, PgmArError

LEVELS = [2, 3, 4, 5, 7, 8, 16, 100, 255, 256]
ALL = np.arange(256, dtype=np.uint8)


@pytest.mark.parametrize("levels", LEVELS)
def test_quantize_is_the_closed_form_for_every_value(levels):
    expected = [math.floor(Fraction(v * levels, 256)) for v in range(256)]
    got_np = quantize(ALL, levels)
    got_t = quantize(torch.from_numpy(ALL.copy()), levels)
    assert isinstance(got_np, np.ndarray) and got_np.dtype == np.uint8
    assert isinstance(got_t, torch.Tensor) and got_t.dtype == torch.uint8
    assert got_np.tolist() == expected and got_t.tolist() == expected
    # every level is used, in order, and each bin is 256 / L values wide (+- 1)
    counts = np.bincount(got_np, minlength=levels)
    assert len(counts) == levels and counts.min() >= 256 // levels
    assert counts.max() <= -(-256 // levels)


def test_quantize_keeps_shape_and_reads_wider_integer_types():
    x = np.random.default_rng(0).integers(0, 256, size=(5, 3, 4, 2))
    assert quantize(x, 4).shape == x.shape
    assert np.array_equal(quantize(x, 4), (x * 4) // 256)
    assert quantize(ALL, 256).tolist() == ALL.tolist()          # 256 levels: the identity
    assert quantize(ALL, 2).tolist() == (ALL >= 128).astype(int).tolist()


@pytest.mark.parametrize("levels", LEVELS)
def test_dequantize_spreads_levels_and_is_a_right_inverse(levels):
    q = np.arange(levels, dtype=np.uint8)
    v = dequantize(q, levels)
    assert v.dtype == np.uint8 and int(v[0]) == 0 and int(v[-1]) == 255
    assert (np.diff(v.astype(int)) > 0).all()
    # ceil(q * 255 / (L - 1)), the documented display value
    assert v.tolist() == [math.ceil(Fraction(int(k) * 255, levels - 1)) for k in q]
    assert quantize(v, levels).tolist() == q.tolist()
    assert dequantize(torch.from_numpy(q), levels).tolist() == v.tolist()


def test_bad_inputs_are_refused_with_a_message():
    with pytest.raises(DataError, match="integers 0..255"):
        quantize(np.array([0.5, 1.0], dtype=np.float32), 4)
    with pytest.raises(DataError, match="found 256"):
        quantize(np.array([0, 256]), 4)
    with pytest.raises(DataError, match="found -1"):
        quantize(torch.tensor([-1, 3]), 4)
    for bad in (1, 257, True, 2.0):
        with pytest.raises(PgmArError, match="levels must be an integer from 2 to 256"):
            quantize(ALL, bad)
    with pytest.raises(DataError, match="0..3"):
        dequantize(np.array([4], dtype=np.uint8), 4)
