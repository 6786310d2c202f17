"""Representation learning: a linear probe of NADE's hidden features for the digit labels.

    python examples/09_representation_learning.py --tiny                    # embedded 14x14 digits, seconds
    python examples/09_representation_learning.py --data-dir /path/to/mnist --device cuda

A NADE is fitted to the digit images *without* their labels (an image with no parents, so its
features cannot see the label).  ``model.features(x)`` is its hidden state after all pixels,
``sigmoid(c + sum_j W_j x_j)``.  A multinomial logistic regression (the probe) is trained on
those features of the training digits and scored on held-out digits (MNIST: the test set,
binarized once with seed 0; embedded: the validation digits), next to the same probe on the raw
pixels.  Chance is 10%.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Dict, Optional, Sequence

import torch

from pgm_ar import BayesNet, Image, compile
from pgm_ar.conditionals.nade import NADE
from pgm_ar.datasets import binarize, binarized_mnist_test, load_embedded_digits, load_mnist
from pgm_ar.utils.atomic import atomic_write_text


def probe_accuracy(f_train: torch.Tensor, y_train: torch.Tensor, f_test: torch.Tensor,
                   y_test: torch.Tensor, l2: float = 1e-3, steps: int = 100) -> float:
    """Test accuracy of an L2-regularised softmax regression fitted by L-BFGS (full batch)."""
    mean, std = f_train.mean(0), f_train.std(0) + 1e-6     # standardise with training stats
    a, b = ((f_train - mean) / std).double(), ((f_test - mean) / std).double()
    k = int(y_train.max()) + 1
    w = torch.zeros(a.shape[1], k, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(k, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, bias], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(a @ w + bias, y_train) + l2 * (w ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return float(((b @ w + bias).argmax(1) == y_test).double().mean())


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default="embedded", help="an MNIST directory or 'embedded'")
    ap.add_argument("--hidden", type=int, default=500)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--lr", type=float, default=0.005)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--probe-train", type=int, default=10_000,
                    help="training digits for the probe (MNIST; all embedded ones are used)")
    ap.add_argument("--out", default="examples_output/09_representation_learning",
                    help="folder for result.json (default: %(default)s)")
    ap.add_argument("--tiny", action="store_true",
                    help="embedded digits, hidden 64, 3 epochs: runs in seconds")
    args = ap.parse_args(argv)
    if args.tiny:
        args.data_dir, args.hidden, args.epochs, args.lr = "embedded", 64, 3, 0.01
    if args.data_dir == "embedded":
        (xtr, ytr), (xte, yte) = load_embedded_digits("train"), load_embedded_digits("valid")
        shape, transform, x_probe, y_probe = (1, 14, 14), None, xtr, ytr
    else:
        from pgm_ar.datasets import DynamicBinarization

        xtr, ytr = load_mnist(args.data_dir, "train")
        xte, yte = binarized_mnist_test(args.data_dir, seed=0)
        shape, transform = (1, 28, 28), DynamicBinarization(key="digit")
        x_probe, y_probe = binarize(xtr[:args.probe_train], seed=2), ytr[:args.probe_train]

    model = compile(BayesNet([Image("digit", shape=shape)]), {"digit": NADE(hidden=args.hidden)})
    t0 = time.perf_counter()
    model.fit({"digit": xtr}, epochs=args.epochs, lr=args.lr, device=args.device,
              transform=transform, progress=not args.tiny)
    print(f"fitted an unconditional NADE (hidden {args.hidden}) on {len(xtr)} digits in "
          f"{time.perf_counter() - t0:.1f} s")
    feats_train = model.features({"digit": x_probe})
    feats_test = model.features({"digit": xte})
    res = {"nade_features": probe_accuracy(feats_train, y_probe, feats_test, yte),
           "raw_pixels": probe_accuracy(x_probe.reshape(len(x_probe), -1).float(), y_probe,
                                        xte.reshape(len(xte), -1).float(), yte),
           "chance": float(torch.bincount(yte).max()) / len(yte)}
    print(f"linear probe accuracy on {len(xte)} held-out digits (trained on {len(x_probe)}):")
    rows = [(f"NADE features ({feats_train.shape[1]})", res["nade_features"]),
            (f"raw pixels ({x_probe[0].numel()})", res["raw_pixels"]),
            ("majority class", res["chance"])]
    for label, acc in rows:
        print(f"  {label:<22}{acc:.3f}")
    # atomic: a run stopped half-way leaves the previous result.json whole
    written = atomic_write_text(Path(args.out) / "result.json", json.dumps(res, indent=1) + "\n")
    print(f"wrote {written}")
    return res


if __name__ == "__main__":
    main()
