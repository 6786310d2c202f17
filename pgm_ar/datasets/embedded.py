"""The embedded digits: 3,000 binarized 14 x 14 MNIST digits shipped inside the package.

They let the demo, the examples and the tests run without any download.  The file
(``pgm_ar/data/digits14.npz``) is made once by ``scripts/make_embedded_digits.py`` from the
MNIST training set; provenance and licence are in ``docs/data.md``.

>>> images, labels = load_embedded_digits()
>>> tuple(images.shape), images.dtype, sorted(set(images.unique().tolist())), labels[:5].tolist()
((3000, 1, 14, 14), torch.float32, [0.0, 1.0], [5, 0, 8, 2, 8])
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Tuple

import numpy as np
import torch

from ..errors import DataError, PgmArError

__all__ = ["EMBEDDED_DIGITS_PATH", "EMBEDDED_SPLITS", "load_embedded_digits"]

#: the embedded digit set shipped inside the package (made by scripts/make_embedded_digits.py);
#: it stays in ``pgm_ar/data`` so that the package-data rule ``data/*`` ships it
EMBEDDED_DIGITS_PATH = Path(__file__).resolve().parent.parent / "data" / "digits14.npz"

#: split name -> the rows of the 3,000 digits it holds
EMBEDDED_SPLITS: Dict[str, slice] = {"all": slice(None), "train": slice(0, 2500),
                                     "valid": slice(2500, None)}


def load_embedded_digits(split: str = "all", dtype: torch.dtype = torch.float32
                         ) -> Tuple[torch.Tensor, torch.Tensor]:
    """A small binarized digit set shipped inside the package: no download needed.

    3,000 MNIST training digits (300 per class, shuffled), downsampled to 14 x 14 by 2 x 2
    averaging and binarized stochastically with a fixed seed; made once by
    ``scripts/make_embedded_digits.py`` (provenance and licence in ``docs/data.md``).

    Parameters
    ----------
    split
        ``"all"`` (3,000), ``"train"`` (the first 2,500) or ``"valid"`` (the last 500).
    dtype
        Type of the returned images (values 0 / 1).

    Returns
    -------
    (images, labels)
        ``[N, 1, 14, 14]`` images and ``int64 [N]`` digits 0..9.
    """
    if split not in EMBEDDED_SPLITS:
        raise PgmArError(f"unknown split {split!r} of the embedded digits: use 'all', 'train' "
                         "or 'valid'")
    try:
        with np.load(EMBEDDED_DIGITS_PATH) as npz:
            n, c, h, w = (int(s) for s in npz["shape"])
            bits = np.unpackbits(npz["bits"], count=n * c * h * w)
            labels = npz["labels"].astype(np.int64)
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"{EMBEDDED_DIGITS_PATH}: the embedded digit file is missing or "
                        f"damaged ({exc}); reinstall pgm_ar") from None
    images = torch.from_numpy(bits.reshape(n, c, h, w)).to(dtype)
    rows = EMBEDDED_SPLITS[split]
    return images[rows], torch.from_numpy(labels)[rows]
