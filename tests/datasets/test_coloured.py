"""Coloured digits: deterministic, seed-dependent colours; ink is the foreground, paper the
background, grey blends them; the two colours stay apart after any quantization."""
from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch

from pgm_ar.datasets import (MIN_CONTRAST, coloured_embedded_digits, coloured_mnist, colourize,
                             digit_colours, load_embedded_digits, load_mnist, quantize)
from pgm_ar.errors import DataError


def idx_gz(array: np.ndarray) -> bytes:
    """A gzipped IDX file written independently of the reader."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def test_colours_are_deterministic_seed_dependent_and_prefix_stable():
    fg, bg = digit_colours(500, seed=3)
    fg2, bg2 = digit_colours(500, seed=3)
    assert fg.dtype == bg.dtype == np.uint8 and fg.shape == bg.shape == (500, 3)
    assert np.array_equal(fg, fg2) and np.array_equal(bg, bg2)
    other = digit_colours(500, seed=4)
    assert (other[0] != fg).any(axis=1).mean() > 0.9        # another seed, other colours
    small = digit_colours(7, seed=3)                          # image i's colour depends on i only
    assert np.array_equal(small[0], fg[:7]) and np.array_equal(small[1], bg[:7])


def test_foreground_and_background_differ_by_the_contrast_in_some_channel():
    fg, bg = digit_colours(20_000, seed=0)
    diff = np.abs(fg.astype(int) - bg.astype(int))
    assert (diff.max(axis=1) >= MIN_CONTRAST).all()
    # ... so they fall in different bins at every number of levels
    for levels in (2, 3, 4, 8, 256):
        assert (quantize(fg, levels) != quantize(bg, levels)).any(axis=1).all()
    # the colours use the whole range: the foreground is uniform per channel (mean 127.5,
    # sd 73.9, so the mean of 20,000 lies within 127.5 +- 2 with overwhelming probability)
    assert np.abs(fg.mean(axis=0) - 127.5).max() < 2.0
    assert fg.min() == 0 and fg.max() == 255 and bg.min() == 0 and bg.max() == 255


def test_colourize_blends_by_grey_intensity():
    rng = np.random.default_rng(1)
    grey = rng.integers(0, 256, size=(6, 1, 5, 4)).astype(np.uint8)
    rgb = colourize(torch.from_numpy(grey), seed=9)
    assert rgb.dtype == torch.uint8 and rgb.shape == (6, 3, 5, 4)
    fg, bg = digit_colours(6, seed=9)
    g = grey.astype(np.float64)                               # (6, 1, 5, 4)
    f = fg.astype(np.float64)[:, :, None, None]
    b = bg.astype(np.float64)[:, :, None, None]
    expected = np.floor((b * (255 - g) + f * g) / 255 + 0.5)  # round half up
    assert np.array_equal(rgb.numpy(), expected.astype(np.uint8))
    ink, paper = grey[:, 0] == 255, grey[:, 0] == 0
    for i in range(6):
        assert (rgb[i].numpy()[:, ink[i]] == fg[i][:, None]).all()
        assert (rgb[i].numpy()[:, paper[i]] == bg[i][:, None]).all()
    # (N, H, W) input and explicit colours give the same
    same = colourize(grey[:, 0], colours=(fg, bg))
    assert torch.equal(same, rgb)
    with pytest.raises(DataError, match="shape"):
        colourize(np.zeros((2, 3, 4, 4), dtype=np.uint8))
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        colourize(np.full((1, 1, 2, 2), 2.0))


def test_coloured_embedded_digits_are_two_colours_per_image_and_split_like_the_grey_ones():
    x, y = coloured_embedded_digits("all")
    grey, labels = load_embedded_digits("all")
    assert x.shape == (3000, 3, 14, 14) and x.dtype == torch.uint8 and torch.equal(y, labels)
    fg, bg = digit_colours(3000)
    on = grey[:, 0].bool().numpy()
    xs = x.numpy()
    for i in (0, 1, 2999):
        assert (xs[i][:, on[i]] == fg[i][:, None]).all()
        assert (xs[i][:, ~on[i]] == bg[i][:, None]).all()
    train, ytr = coloured_embedded_digits("train")
    valid, yva = coloured_embedded_digits("valid")
    assert torch.equal(train, x[:2500]) and torch.equal(valid, x[2500:])
    assert torch.equal(ytr, y[:2500]) and torch.equal(yva, y[2500:])
    assert not torch.equal(coloured_embedded_digits("valid", seed=1)[0], valid)


def test_coloured_mnist_colours_the_idx_images(tmp_path):
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, size=(12, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, size=12).astype(np.uint8)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(idx_gz(images))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(idx_gz(labels))
    x, y = coloured_mnist(tmp_path, "test", verify=False)
    assert x.shape == (12, 3, 28, 28) and y.tolist() == labels.tolist()
    grey, _ = load_mnist(tmp_path, "test", verify=False)
    assert torch.equal(x, colourize(grey, seed=1))            # the test split's default seed
    assert torch.equal(coloured_mnist(tmp_path, "test", seed=5, verify=False)[0],
                       colourize(grey, seed=5))
