"""Coloured digits: grey digit images turned into RGB, deterministically, from a seed.

Each image gets a *foreground* and a *background* colour, and every pixel blends them by the
digit's grey intensity ``g`` (0..255)::

    pixel = round((bg * (255 - g) + fg * g) / 255)        per channel, uint8

so ink (``g = 255``) is exactly the foreground and paper (``g = 0``) exactly the background.
The colours come from ``numpy.random.default_rng(seed)``, eight uniform numbers per image in
a fixed order (:func:`digit_colours`):

* the foreground is uniform over the 256**3 RGB colours;
* one channel ``k`` (uniform among R, G, B) is the *contrast* channel: the background's value
  there is uniform among the values at least 128 away from the foreground's;
* the background's other two channels are uniform.

So foreground and background always differ by >= 128 in at least one channel: they differ
visibly, and they stay different after quantization to any number of levels (>= 2: values
128 apart always fall in different bins of width <= 128, see :mod:`.levels`).  Image ``i``'s
colours depend only on the seed and ``i``, not on how many images are coloured, so the
colours of a prefix (or of a split cut from the whole set) are the same whichever way it is
made.

>>> fg, bg = digit_colours(4, seed=0)
>>> bool((np.abs(fg.astype(int) - bg.astype(int)).max(axis=1) >= 128).all())
True
>>> grey = torch.tensor([[[[0, 255]]]], dtype=torch.uint8)      # one 1 x 2 image
>>> rgb = colourize(grey, seed=0)
>>> rgb.shape, rgb[0, :, 0, 1].tolist() == fg[0].tolist(), rgb[0, :, 0, 0].tolist() == bg[0].tolist()
(torch.Size([1, 3, 1, 2]), True, True)
"""
from __future__ import annotations

from typing import Optional, Tuple, Union

import numpy as np
import torch

from ..errors import DataError
from .embedded import EMBEDDED_SPLITS, load_embedded_digits
from .mnist import PathLike, load_mnist

__all__ = ["COLOUR_SEED", "MIN_CONTRAST", "digit_colours", "colourize",
           "coloured_embedded_digits", "coloured_mnist", "describe_colouring"]

#: default seed of the colours
COLOUR_SEED = 0
#: the least difference between foreground and background in their contrast channel
MIN_CONTRAST = 128
# images coloured per block by colourize
_BLOCK = 4096


def digit_colours(n: int, seed: int = COLOUR_SEED) -> Tuple[np.ndarray, np.ndarray]:
    """Foreground and background colours of ``n`` images, ``uint8 (n, 3)`` each.

    See the module docstring for the distribution; ``max |fg - bg| >= 128`` over the channels
    of every row.  Row ``i`` depends only on ``seed`` and ``i``.
    """
    n = int(n)
    # one (n, 8) draw, row-major: row i uses the 8 numbers drawn i-th, whatever n is
    u = np.random.default_rng(int(seed)).random((n, 8))
    fg = np.floor(u[:, 0:3] * 256).astype(np.int64)
    bg = np.floor(u[:, 4:7] * 256).astype(np.int64)
    k = np.floor(u[:, 3] * 3).astype(np.int64)
    rows = np.arange(n)
    f = fg[rows, k]
    # values at least 128 from f: 0..f-128 (f-127 of them) when f >= 128, else f+128..255
    # (128-f of them); exactly one of the two ranges is non-empty
    high = f >= MIN_CONTRAST
    count = np.where(high, f - (MIN_CONTRAST - 1), MIN_CONTRAST - f)
    pick = np.minimum(np.floor(u[:, 7] * count).astype(np.int64), count - 1)
    bg[rows, k] = np.where(high, pick, f + MIN_CONTRAST + pick)
    return fg.astype(np.uint8), bg.astype(np.uint8)


def _grey_uint8(images: Union[torch.Tensor, np.ndarray]) -> torch.Tensor:
    """``uint8 (N, H, W)`` grey levels from ``(N, 1, H, W)`` / ``(N, H, W)`` integers 0..255
    or floats in [0, 1] (e.g. the embedded digits' 0 / 1, which become 0 / 255)."""
    x = images if isinstance(images, torch.Tensor) else torch.as_tensor(np.asarray(images))
    if x.dim() == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.dim() != 3:
        raise DataError(f"colourize() takes grey images (N, 1, H, W) or (N, H, W), got shape "
                        f"{tuple(x.shape)}")
    if x.dtype == torch.bool:
        return x.to(torch.uint8) * 255
    if x.is_floating_point():
        if x.numel() and (float(x.min()) < 0 or float(x.max()) > 1):
            raise DataError("float grey images must lie in [0, 1] (integer ones are 0..255)")
        return torch.round(x.double() * 255).to(torch.uint8)
    if x.numel() and (int(x.min()) < 0 or int(x.max()) > 255):
        raise DataError("integer grey images must lie in 0..255")
    return x.to(torch.uint8)


def colourize(images: Union[torch.Tensor, np.ndarray], seed: int = COLOUR_SEED,
              colours: Optional[Tuple[np.ndarray, np.ndarray]] = None) -> torch.Tensor:
    """RGB images from grey ones: per image a foreground and a background colour, blended by
    the grey intensity (see the module docstring).

    Parameters
    ----------
    images
        Grey images ``(N, 1, H, W)`` or ``(N, H, W)``: integers 0..255, or floats in [0, 1].
    seed
        Seed of :func:`digit_colours`.
    colours
        ``(fg, bg)``, ``uint8 (N, 3)`` each, instead of drawing them.

    Returns
    -------
    torch.Tensor
        ``uint8 (N, 3, H, W)``.
    """
    grey = _grey_uint8(images)                                             # (N, H, W)
    n = len(grey)
    fg, bg = colours if colours is not None else digit_colours(n, seed)
    fg_t = torch.as_tensor(np.asarray(fg), dtype=torch.int32)
    bg_t = torch.as_tensor(np.asarray(bg), dtype=torch.int32)
    if fg_t.shape != (n, 3) or bg_t.shape != (n, 3):
        raise DataError(f"colours must be two (N, 3) arrays for N = {n} images, got "
                        f"{tuple(fg_t.shape)} and {tuple(bg_t.shape)}")
    out = torch.empty((n, 3) + tuple(grey.shape[1:]), dtype=torch.uint8)
    # in blocks, so the int32 temporaries of all 60,000 MNIST images never exist at once
    for start in range(0, n, _BLOCK):
        rows = slice(start, start + _BLOCK)
        g = grey[rows].to(torch.int32)[:, None]                          # (B, 1, H, W)
        f, b = fg_t[rows, :, None, None], bg_t[rows, :, None, None]
        # integer blend with rounding to nearest: exact at g = 0 (bg) and g = 255 (fg)
        out[rows] = ((b * (255 - g) + f * g + 127) // 255).to(torch.uint8)
    return out


def coloured_embedded_digits(split: str = "all", seed: int = COLOUR_SEED
                             ) -> Tuple[torch.Tensor, torch.Tensor]:
    """The embedded 14 x 14 digits coloured: ``uint8 (N, 3, 14, 14)`` and ``int64 [N]`` labels.

    The 3,000 digits are coloured as one set (image ``i`` gets colour pair ``i`` of ``seed``)
    and then split as :func:`~.embedded.load_embedded_digits` splits them.  The digits are
    binary, so each pixel is exactly its image's foreground or background colour.
    """
    images, labels = load_embedded_digits("all")
    if split not in EMBEDDED_SPLITS:  # load_embedded_digits' message for the same mistake
        load_embedded_digits(split)
    rows = EMBEDDED_SPLITS[split]
    return colourize(images, seed)[rows], labels[rows]


def coloured_mnist(data_dir: PathLike, split: str = "train", seed: Optional[int] = None,
                   download: bool = False, *, verify: bool = True
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
    """An MNIST split coloured: ``uint8 (N, 3, 28, 28)`` and ``int64 [N]`` labels.

    ``seed`` defaults to :data:`COLOUR_SEED` for ``"train"`` and ``COLOUR_SEED + 1`` for
    ``"test"`` (so the two splits do not share their colour sequence).  ``download`` and
    ``verify`` are :func:`~.mnist.load_mnist`'s.
    """
    images, labels = load_mnist(data_dir, split, download=download, verify=verify)
    if seed is None:
        seed = COLOUR_SEED + (1 if split == "test" else 0)
    return colourize(images, seed), labels


def describe_colouring(seed: int, source: str) -> str:
    """One line saying how coloured digits were made, for run logs."""
    return (f"{source} coloured: per image a foreground and a background RGB colour from "
            f"numpy default_rng({seed}) (they differ by >= {MIN_CONTRAST} in a random channel), "
            "blended by the grey intensity")
