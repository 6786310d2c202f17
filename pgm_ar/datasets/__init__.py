"""Image data sets, one module per source.

* :mod:`.mnist` -- MNIST from its IDX files (checked, optionally downloaded), binarization
  (fixed and dynamic) and the train / validation split;
* :mod:`.embedded` -- 3,000 binarized 14 x 14 digits shipped inside the package;
* :mod:`.levels` -- 0..255 values quantized to ``L`` levels, and back for display;
* :mod:`.coloured` -- coloured digits (RGB) derived deterministically from grey ones;
* :mod:`.folders` -- your own images: a directory of PNGs or an ``.npz`` array.

Every public name of the submodules is importable from ``pgm_ar.datasets``; see
``docs/data.md`` for conventions (binarization seeds, quantization, colours, file formats).
"""
from __future__ import annotations

from .coloured import (COLOUR_SEED, MIN_CONTRAST, coloured_embedded_digits, coloured_mnist,
                       colourize, describe_colouring, digit_colours)
from .embedded import EMBEDDED_DIGITS_PATH, EMBEDDED_SPLITS, load_embedded_digits
from .folders import (SPLIT_SEED, VALID_FRACTION, ImageSet, holdout_split, load_images,
                      load_npz_images, load_png_dir, read_png)
from .levels import check_levels, dequantize, quantize
from .mnist import (MIRROR_ENV, MNIST_FILES, MNIST_MIRRORS, MNIST_SHA256, Binarization,
                    DynamicBinarization, DynamicBinarizedDataset, binarize, binarized_mnist_test,
                    download_mnist, load_mnist, read_idx, train_valid_split)

__all__ = [
    # mnist
    "MNIST_FILES", "MNIST_SHA256", "MNIST_MIRRORS", "MIRROR_ENV", "Binarization",
    "read_idx", "load_mnist", "download_mnist", "train_valid_split", "binarize",
    "binarized_mnist_test", "DynamicBinarization", "DynamicBinarizedDataset",
    # embedded
    "load_embedded_digits", "EMBEDDED_DIGITS_PATH", "EMBEDDED_SPLITS",
    # levels
    "quantize", "dequantize", "check_levels",
    # coloured
    "COLOUR_SEED", "MIN_CONTRAST", "digit_colours", "colourize", "coloured_embedded_digits",
    "coloured_mnist", "describe_colouring",
    # folders
    "ImageSet", "VALID_FRACTION", "SPLIT_SEED", "load_images", "load_png_dir",
    "load_npz_images", "read_png", "holdout_split",
]
