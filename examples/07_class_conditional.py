"""Class-conditional generation: sample p(digit | label) for every label, one row per label.

    python examples/07_class_conditional.py [--tiny] [--out DIR]

The network is ``label -> digit``: the label (10 states) is the image's parent, and NADE
models ``p(digit | label)``.  Clamping the label and sampling the image gives digits of that
class; ``save_class_grid`` draws ``--per-class`` of them per label, one row each.  As a check
that a row is its label, the model classifies its own samples by Bayes' rule,
``argmax_y p(y) p(x | y)``, and the script prints how often it gets the label back.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import torch

from pgm_ar import BayesNet, Categorical, Image, compile, load_embedded_digits, save_class_grid
from pgm_ar.utils.atomic import atomic_write_text


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="examples_output/07_class_conditional",
                    help="folder for samples.png and result.json (default: %(default)s)")
    ap.add_argument("--per-class", type=int, default=10, help="samples per label")
    ap.add_argument("--tiny", action="store_true",
                    help="hidden 16, one epoch on 300 digits: checks that it runs")
    args = ap.parse_args(argv)
    hidden, epochs, (x, y) = 256, 30, load_embedded_digits("train")
    if args.tiny:
        hidden, epochs, x, y = 16, 1, x[:300], y[:300]
    net = BayesNet([Categorical("label", 10), Image("digit", shape=(1, 14, 14), levels=2)],
                   [("label", "digit")], name="digits")
    model = compile(net, {"digit": {"family": "nade", "hidden": hidden}})
    model.fit({"digit": x, "label": y}, method="train", epochs=epochs, batch_size=100,
              lr=0.01, device="cpu", seed=0, progress=False)
    print(f"fitted label -> digit NADE (hidden {hidden}, {epochs} epochs, {len(x)} digits)")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    grid = save_class_grid(model, out / "samples.png", per_class=args.per_class, seed=0,
                           title="samples of p(digit | label), one row per label")
    print(f"wrote {grid} (row d: {args.per_class} samples given label = d)")

    # Bayes' rule on the model's own samples: log p(y) + log p(x | y) for every y
    recovered = []
    for d in range(10):
        imgs = model.sample(args.per_class, evidence={"label": d}, seed=100 + d,
                            as_tensors=True)["digit"]
        scores = torch.stack([model.log_prob({"digit": imgs,
                                              "label": torch.full((len(imgs),), k)})
                              for k in range(10)])
        recovered.append(float((scores.argmax(0) == d).float().mean()))
    print("label recovered from the model's own samples: " +
          " ".join(f"{d}:{r:.0%}" for d, r in enumerate(recovered)))
    res = {"hidden": hidden, "epochs": epochs, "recovered": recovered,
           "mean_recovered": sum(recovered) / 10}
    # atomic: a run stopped half-way leaves the previous result.json whole
    written = atomic_write_text(out / "result.json", json.dumps(res, indent=1) + "\n")
    print(f"wrote {written}")
    return res


if __name__ == "__main__":
    main()
