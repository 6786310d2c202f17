"""PixelRNN and PixelCNN contexts: which earlier pixels each architecture lets a pixel see.

    python examples/10_pixelrnn_contexts.py [--tiny] [--out DIR]

Every autoregressive image model may use only the pixels before the current one, but the
architectures reach them differently (van den Oord et al., 2016): the Row LSTM sees a
triangle above the pixel, the Diagonal BiLSTM every earlier pixel, a plain PixelCNN a growing
cone with a *blind spot* to its upper right, and the gated PixelCNN (vertical + horizontal
stacks) removes the blind spot.  ``pgm_ar.draw.draw_context`` finds the context of one pixel
from autograd (which inputs its output depends on) and draws it; the script does so for the
four families on a small image, prints the counts, and fits the gated PixelCNN briefly on the
embedded 14x14 digits.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

from pgm_ar import Image, compile, independent, load_embedded_digits
from pgm_ar.draw import Category, draw_context
from pgm_ar.utils.atomic import atomic_write_text

#: small kernels (3x3 everywhere), so that the receptive fields stay smaller than the image
FAMILIES = {
    "rowlstm": {"family": "rowlstm", "hidden": 8, "layers": 2, "first_kernel": 3},
    "diagbilstm": {"family": "diagbilstm", "hidden": 8, "layers": 2, "first_kernel": 3},
    "pixelcnn": {"family": "pixelcnn", "channels": 8, "layers": 3, "first_kernel": 3},
    "gated_pixelcnn": {"family": "pixelcnn", "channels": 8, "layers": 3, "first_kernel": 3,
                       "gated": True},
}


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="examples_output/10_pixelrnn_contexts",
                    help="folder for the context pictures and result.json (default: "
                         "%(default)s)")
    ap.add_argument("--size", type=int, default=16, help="side of the image drawn")
    ap.add_argument("--tiny", action="store_true",
                    help="a 10x10 image, a one-epoch fit on 300 digits")
    args = ap.parse_args(argv)
    size = 10 if args.tiny else args.size
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pixel = (size // 2, size // 2)

    res: Dict[str, Any] = {"pixel": list(pixel), "contexts": {}}
    for name, family in FAMILIES.items():
        net = independent([Image("x", shape=(1, size, size), levels=2)], name=name)
        model = compile(net, {"x": family})
        path, dep = draw_context(model, out / f"context_{name}.png", pixel, images=4)
        print(dep.describe())
        print(f"  wrote {path}")
        res["contexts"][name] = {c.name.lower(): dep.count(c) for c in Category}

    # a short fit of the gated PixelCNN on the embedded digits
    epochs, n = (1, 300) if args.tiny else (5, 2500)
    x, xv = load_embedded_digits("train")[0][:n], load_embedded_digits("valid")[0]
    net = independent([Image("digit", shape=(1, 14, 14), levels=2)], name="digit14")
    model = compile(net, {"digit": dict(FAMILIES["gated_pixelcnn"], channels=16)})
    model.fit({"digit": x}, method="train", epochs=epochs, batch_size=100, lr=0.01,
              device="cpu", seed=0, progress=False)
    nll = float(-model.log_prob({"digit": xv}).mean())
    print(f"gated PixelCNN, {epochs} epochs on {len(x)} digits: validation NLL {nll:.2f} "
          "nats per image")
    res["gated_pixelcnn_nll"] = nll
    # atomic: a run stopped half-way leaves the previous result.json whole
    written = atomic_write_text(out / "result.json", json.dumps(res, indent=1) + "\n")
    print(f"wrote {written}")
    return res


if __name__ == "__main__":
    main()
