"""Make pgm_ar/data/digits14.npz, the small binarized digit set shipped inside the package.

Provenance (see docs/data.md): MNIST training images (Yann LeCun and Corinna Cortes, CC BY-SA
3.0), read and checksum-verified by ``pgm_ar.datasets.load_mnist``.  Recipe, all from fixed
seeds so the file is reproducible bit for bit:

1. pick 300 images of each digit from the 60,000 training images (a seeded permutation of
   each class's indices), then shuffle the 3,000 together (seeded);
2. downsample 28 x 28 -> 14 x 14 by averaging each 2 x 2 block of grey levels (/ 255);
3. binarize stochastically: pixel ~ Bernoulli(mean grey level), seeded;
4. store the bits packed 8 per byte (np.packbits), the labels as uint8, the source indices
   into the MNIST training set (for provenance) and the shape, in a compressed .npz.

Usage::

    python scripts/make_embedded_digits.py --data-dir ../shared/data/mnist \
        [--out pgm_ar/data/digits14.npz] [--per-class 300] [--seed 0]
"""
from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
import torch

from pgm_ar.datasets import EMBEDDED_DIGITS_PATH, binarize, load_mnist
from pgm_ar.io.atomic import atomic_write_bytes


def make(data_dir: Path, per_class: int, seed: int):
    images, labels = load_mnist(data_dir, "train")
    rng = np.random.default_rng(seed)
    chosen = []
    for digit in range(10):
        idx = np.flatnonzero(labels.numpy() == digit)
        chosen.append(rng.permutation(idx)[:per_class])
    index = rng.permutation(np.concatenate(chosen))
    grey = images[torch.from_numpy(index)].float() / 255.0               # [N, 1, 28, 28]
    small = torch.nn.functional.avg_pool2d(grey, kernel_size=2)        # [N, 1, 14, 14]
    bits = binarize(small, "stochastic", seed=seed, dtype=torch.uint8).numpy()
    return bits, labels.numpy()[index].astype(np.uint8), index.astype(np.int32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, type=Path, help="directory of the MNIST IDX files")
    parser.add_argument("--out", type=Path, default=EMBEDDED_DIGITS_PATH)
    parser.add_argument("--per-class", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    bits, labels, index = make(args.data_dir, args.per_class, args.seed)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, bits=np.packbits(bits.reshape(-1)), shape=np.array(bits.shape),
                        labels=labels, mnist_train_index=index)
    atomic_write_bytes(args.out, buffer.getvalue())
    print(f"{args.out}: {len(labels)} images of shape {bits.shape[1:]}, "
          f"{args.out.stat().st_size} bytes, mean pixel {bits.mean():.4f}")


if __name__ == "__main__":
    main()
