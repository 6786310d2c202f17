"""Pixel orderings: the order in which an autoregressive model visits an image.

An ordering over an ``H x W`` grid is a permutation ``order`` of the flat pixel
indices ``0 .. H*W-1``: ``order[t]`` is the pixel visited at step ``t``.  With
``C`` channels the channels of one pixel are visited consecutively (R, then G,
then B, as PixelCNN does), so the full ordering over ``C*H*W`` values is
``order[t] * C + c`` expanded channel-fastest ... in flat ``(C, H, W)`` index
terms ``c * H * W + p``.

>>> raster(2, 3).tolist()
[0, 1, 2, 3, 4, 5]
>>> snake(2, 3).tolist()
[0, 1, 2, 5, 4, 3]
>>> diagonal(2, 3).tolist()
[0, 1, 3, 2, 4, 5]
"""
from __future__ import annotations

from enum import Enum
from typing import Sequence, Union

import numpy as np

from .errors import PgmArError


class OrderingKind(str, Enum):
    RASTER = "raster"
    SNAKE = "snake"
    DIAGONAL = "diagonal"
    RANDOM = "random"
    CUSTOM = "custom"


def raster(height: int, width: int) -> np.ndarray:
    """Row by row, left to right."""
    return np.arange(height * width, dtype=np.int64)


def snake(height: int, width: int) -> np.ndarray:
    """Boustrophedon: even rows left to right, odd rows right to left."""
    grid = np.arange(height * width, dtype=np.int64).reshape(height, width)
    grid[1::2] = grid[1::2, ::-1]
    return grid.reshape(-1)


def diagonal(height: int, width: int) -> np.ndarray:
    """Anti-diagonals ``r + c = 0, 1, ...``, each from the top row down.

    This is the order in which PixelRNN's Diagonal BiLSTM completes pixels.
    """
    r, c = np.divmod(np.arange(height * width, dtype=np.int64), width)
    # lexsort sorts by the last key first: by diagonal, then by row.
    return np.lexsort((r, r + c)).astype(np.int64)


def random(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A uniformly random permutation, reproducible from ``seed``."""
    return np.random.default_rng(seed).permutation(height * width).astype(np.int64)


def custom(height: int, width: int, permutation: Sequence[int]) -> np.ndarray:
    """A user-given permutation, validated."""
    n = height * width
    try:
        items = list(permutation)
    except TypeError:
        raise PgmArError(f"a custom ordering must be a list of pixel indices, got "
                         f"{type(permutation).__name__}") from None
    if len(items) != n:
        raise PgmArError(f"custom ordering must be a permutation of 0..{n - 1} (a {height}x"
                         f"{width} grid); got {len(items)} values")
    # integers only (0.5 must not be truncated to 0), each in range before numpy sees it
    for x in items:
        if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)) \
                or not 0 <= int(x) < n:
            raise PgmArError(f"custom ordering must be a permutation of 0..{n - 1} (a {height}x"
                             f"{width} grid); got the value {x!r}")
    perm = np.asarray([int(x) for x in items], dtype=np.int64)
    if perm.shape != (n,) or not np.array_equal(np.sort(perm), np.arange(n)):
        raise PgmArError(
            f"custom ordering must be a permutation of 0..{n - 1} (a {height}x{width} grid); "
            f"got {len(perm)} values" + ("" if perm.shape != (n,) else " with repeats or gaps")
        )
    return perm


OrderingSpec = Union[str, Sequence[int], np.ndarray]


def make_ordering(spec: OrderingSpec, height: int, width: int) -> tuple[str, np.ndarray]:
    """Turn an ordering spec into ``(label, permutation)``.

    ``spec`` is ``"raster"``, ``"snake"``, ``"diagonal"``, ``"random"`` (seed 0),
    ``"random(SEED)"`` / ``"random:SEED"``, or an explicit permutation.
    """
    if isinstance(spec, str):
        text = spec.strip().lower()
        if text == OrderingKind.RASTER.value:
            return text, raster(height, width)
        if text in (OrderingKind.SNAKE.value, "boustrophedon"):
            return OrderingKind.SNAKE.value, snake(height, width)
        if text == OrderingKind.DIAGONAL.value:
            return text, diagonal(height, width)
        if text.startswith(OrderingKind.RANDOM.value):
            rest = text[len("random"):].strip("():= ")
            try:
                seed = int(rest) if rest else 0
            except ValueError:
                raise PgmArError(f"bad random ordering {spec!r}: write 'random' or 'random(SEED)'")
            if not 0 <= seed < 2 ** 63:
                raise PgmArError(f"bad random ordering {spec!r}: the seed must be an integer "
                                 f"from 0 to 2**63-1, got {seed}")
            return f"random({seed})", random(height, width, seed)
        raise PgmArError(
            f"unknown ordering {spec!r}: use raster, snake, diagonal, random(SEED) "
            "or a list giving the permutation"
        )
    return OrderingKind.CUSTOM.value, custom(height, width, spec)


def expand_channels(pixel_order: np.ndarray, channels: int) -> np.ndarray:
    """Full ordering over flat ``(C, H, W)`` indices: all channels of a pixel in turn."""
    hw = len(pixel_order)
    return (np.arange(channels, dtype=np.int64)[None, :] * hw + pixel_order[:, None]).reshape(-1)
