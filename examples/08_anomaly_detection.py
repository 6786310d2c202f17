"""Anomaly detection with a fitted NADE: how well does -log p(x) tell digits from corrupted ones?

    python examples/08_anomaly_detection.py --tiny                   # embedded 14x14 digits, seconds
    python examples/08_anomaly_detection.py --data-dir /path/to/mnist --device cuda

A ``label -> digit`` NADE is fitted on training digits; the anomaly score of an image is its
negative log-likelihood with the (unknown) label summed out, ``-log sum_y p(y) p(x | y)``.
Held-out digits (MNIST: the test set, binarized once with seed 0; embedded: the validation
digits) are the normal class; each corruption of them is an anomaly class:

* ``noise``: independent pixels with the data's mean ink (no digit at all);
* ``flip03``: every pixel of a real digit flipped with probability 0.03;
* ``shuffled``: a real digit's pixels permuted at random (same ink, no strokes);
* ``spliced``: the top half of one digit above the bottom half of another (every pixel is in
  a plausible place, so independent pixels cannot tell; only the joint structure can);
* ``inverted``: ``1 - x`` (a negative image).

The AUROC (probability that a random anomaly scores above a random digit) is computed by the
rank formula (Mann-Whitney U, ties counted half), and compared with the same score from the
closed-form independent-pixel model.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from scipy.stats import rankdata

from pgm_ar import BayesNet, Categorical, Image, compile
from pgm_ar.conditionals.nade import NADE
from pgm_ar.datasets import (DynamicBinarization, binarized_mnist_test, load_embedded_digits,
                             load_mnist)
from pgm_ar.utils.atomic import atomic_write_text


def auroc(normal: np.ndarray, anomalous: np.ndarray) -> float:
    """AUROC of ``score`` separating anomalies (higher) from normal examples, by ranks."""
    scores = np.concatenate([normal, anomalous])
    ranks = rankdata(scores)                          # average ranks: ties count one half
    n0, n1 = len(normal), len(anomalous)
    return float((ranks[n0:].sum() - n1 * (n1 + 1) / 2) / (n0 * n1))


def corruptions(x: torch.Tensor, seed: int = 0) -> Dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    n = len(x)
    flat = x.reshape(n, -1)
    ink = float(x.mean())
    perm = torch.stack([torch.randperm(flat.shape[1], generator=g) for _ in range(n)])
    flips = (torch.rand(x.shape, generator=g) < 0.03).float()
    other = x[torch.randperm(n, generator=g)]
    half = x.shape[-2] // 2
    spliced = torch.cat([x[..., :half, :], other[..., half:, :]], dim=-2)
    return {"noise": (torch.rand(x.shape, generator=g) < ink).float(),
            "flip03": (x + flips) % 2,
            "shuffled": torch.gather(flat, 1, perm).reshape(x.shape),
            "spliced": spliced,
            "inverted": 1 - x}


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Dict[str, float]]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default="embedded", help="an MNIST directory or 'embedded'")
    ap.add_argument("--hidden", type=int, default=500)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--lr", type=float, default=0.005)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", default="examples_output/08_anomaly_detection",
                    help="folder for result.json (default: %(default)s)")
    ap.add_argument("--tiny", action="store_true",
                    help="embedded digits, hidden 32, 3 epochs: runs in seconds")
    args = ap.parse_args(argv)
    if args.tiny:
        args.data_dir, args.hidden, args.epochs, args.lr = "embedded", 32, 3, 0.01
    if args.data_dir == "embedded":
        (xtr, ytr), (xte, _) = load_embedded_digits("train"), load_embedded_digits("valid")
        transform, shape = None, (1, 14, 14)
    else:
        xtr, ytr = load_mnist(args.data_dir, "train")           # grey: re-binarized per epoch
        xte, _ = binarized_mnist_test(args.data_dir, seed=0)
        transform, shape = DynamicBinarization(key="digit"), (1, 28, 28)

    net = BayesNet([Categorical("label", 10), Image("digit", shape=shape)], [("label", "digit")])
    model = compile(net, {"digit": NADE(hidden=args.hidden)})
    t0 = time.perf_counter()
    model.fit({"digit": xtr, "label": ytr}, epochs=args.epochs, lr=args.lr, device=args.device,
              transform=transform, progress=not args.tiny)
    print(f"fitted label -> digit NADE (hidden {args.hidden}) on {len(xtr)} digits in "
          f"{time.perf_counter() - t0:.1f} s")

    # the closed-form baseline: independent Bernoulli pixels from the training means
    grey = xtr.float() / 255 if not xtr.is_floating_point() else xtr
    p = ((grey.sum(0) + 1) / (len(grey) + 2)).double()

    def pixel_score(x: torch.Tensor) -> np.ndarray:
        x = x.double()
        return (-(x * p.log() + (1 - x) * (1 - p).log()).sum((1, 2, 3))).numpy()

    normal = model.anomaly_score({"digit": xte}).numpy()       # label summed out
    base_normal = pixel_score(xte)
    res: Dict[str, Dict[str, float]] = {}
    print(f"{'corruption':<10}  {'AUROC NADE':>10}  {'AUROC pixels':>12}  mean score (nats)")
    print(f"{'none':<10}  {'':>10}  {'':>12}  {normal.mean():.1f}")
    for name, bad in corruptions(xte).items():
        scores = model.anomaly_score({"digit": bad}).numpy()
        res[name] = {"nade": auroc(normal, scores), "pixels": auroc(base_normal, pixel_score(bad))}
        print(f"{name:<10}  {res[name]['nade']:>10.4f}  {res[name]['pixels']:>12.4f}  "
              f"{scores.mean():.1f}")
    # atomic: a run stopped half-way leaves the previous result.json whole
    written = atomic_write_text(Path(args.out) / "result.json", json.dumps(res, indent=1) + "\n")
    print(f"wrote {written}")
    return res


if __name__ == "__main__":
    main()
