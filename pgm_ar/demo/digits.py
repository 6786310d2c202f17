"""The demo's second half: models of the embedded 14x14 digits, fitted, scored and sampled.

Every model is the same two-node network ``label -> digit`` fitted by the same training
loop (:meth:`pgm_ar.model.CompiledModel.fit` with ``method="train"``) on the same 2,500
training digits; only the digit's conditional family and its pixel ordering change:

* independent pixels given the label (AR-k with ``k = 0``: naive Bayes),
* Markov chains of order ``k`` along the ordering (AR-k, a table per pixel; the label shifts
  each pixel's logit),
* NADE, which keeps the full chain rule with shared weights.

Each is scored on the 500 validation digits by ``-log p(digit)`` with the label summed out
exactly, so the numbers compare with any model of the image alone.
"""
from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..utils.atomic import atomic_write_bytes
from .outputs import DemoOutputs
from .report import Figure, Report, png_size

__all__ = ["DigitSettings", "FULL", "QUICK", "ModelSpec", "FitResult", "MAIN_MODELS",
           "ORDERING_MODELS", "fit_all", "digits_sections"]

SHAPE = (1, 14, 14)
NUM_PIXELS = 196


@dataclass(frozen=True)
class DigitSettings:
    """How hard the demo trains its digit models.

    The full settings fit all nine models in about 40 s of one CPU core.  NADE with 256 hidden
    units, 30 epochs at learning rate 0.01, reaches about 40 nats on the validation digits
    (64 units for 20 epochs: 43.5, and samples that are mostly blobs; 500 units or more epochs
    do not do better on 2,500 training digits).  The Markov tables converge slowly at NADE's
    rate, so they get a larger one.
    """

    hidden: int = 256
    nade_epochs: int = 30
    nade_lr: float = 0.01
    markov_epochs: int = 30
    markov_lr: float = 0.05
    batch_size: int = 100
    per_class: int = 8
    max_train: Optional[int] = None
    max_valid: Optional[int] = None
    seed: int = 0


#: the demo as ``pgm-ar demo`` runs it
FULL = DigitSettings()
#: a check that every step runs (seconds; the numbers mean little): ``pgm-ar demo --quick``
QUICK = DigitSettings(hidden=16, nade_epochs=1, markov_epochs=1, per_class=3, max_train=300,
                      max_valid=100)


@dataclass(frozen=True)
class ModelSpec:
    """One digit model: a name, the family of the digit's conditional and its ordering."""

    key: str
    name: str
    assumption: str
    family: str
    k: int = 0
    ordering: str = "raster"

    def conditional(self, s: DigitSettings) -> Dict[str, Any]:
        if self.family == "nade":
            return {"family": "nade", "hidden": s.hidden}
        return {"family": "ark", "k": self.k}


MAIN_MODELS: Tuple[ModelSpec, ...] = (
    ModelSpec("independent", "independent pixels", "p(x_i | label)", "ark", 0),
    ModelSpec("markov1", "Markov k=1", "p(x_i | x_{i-1}, label)", "ark", 1),
    ModelSpec("markov2", "Markov k=2", "p(x_i | x_{i-2}, x_{i-1}, label)", "ark", 2),
    ModelSpec("markov3", "Markov k=3", "p(x_i | x_{i-3}, ..., x_{i-1}, label)", "ark", 3),
    ModelSpec("nade", "NADE", "p(x_i | x_1, ..., x_{i-1}, label)", "nade"),
)
ORDERING_MODELS: Tuple[ModelSpec, ...] = (
    ModelSpec("markov1_snake", "Markov k=1", MAIN_MODELS[1].assumption, "ark", 1, "snake"),
    ModelSpec("markov1_diagonal", "Markov k=1", MAIN_MODELS[1].assumption, "ark", 1, "diagonal"),
    ModelSpec("markov1_random", "Markov k=1", MAIN_MODELS[1].assumption, "ark", 1, "random(0)"),
    ModelSpec("nade_random", "NADE", MAIN_MODELS[4].assumption, "nade", 0, "random(0)"),
)


@dataclass
class FitResult:
    """What fitting one :class:`ModelSpec` gave."""

    spec: ModelSpec
    parameters: int
    nll: float
    joint_nll: float
    seconds: float
    epochs: int
    val_curve: List[float] = field(default_factory=list)
    model: Any = None

    @property
    def bits_per_pixel(self) -> float:
        return self.nll / (NUM_PIXELS * math.log(2.0))

    def to_dict(self) -> Dict[str, Any]:
        return {"name": self.spec.name, "family": self.spec.family, "k": self.spec.k,
                "ordering": self.spec.ordering, "parameters": self.parameters,
                "nll_nats": self.nll, "bits_per_pixel": self.bits_per_pixel,
                "joint_nll_nats": self.joint_nll, "seconds": self.seconds,
                "epochs": self.epochs, "val_curve": self.val_curve}


def _data(s: DigitSettings):
    from ..datasets import load_embedded_digits

    (x, y), (xv, yv) = load_embedded_digits("train"), load_embedded_digits("valid")
    if s.max_train is not None:
        x, y = x[:s.max_train], y[:s.max_train]
    if s.max_valid is not None:
        xv, yv = xv[:s.max_valid], yv[:s.max_valid]
    return (x, y), (xv, yv)


def _network(ordering: str):
    from ..assumptions import independent
    from ..variables import Categorical, Image

    img = Image("digit", shape=SHAPE, levels=2, ordering=ordering)
    return independent([Categorical("label", 10), img], name="digit14").with_edges(
        [("label", "digit")])


def _fit_one(spec: ModelSpec, s: DigitSettings, train, valid, echo: bool) -> FitResult:
    from ..model import compile as compile_net

    model = compile_net(_network(spec.ordering), {"digit": spec.conditional(s)})
    nade = spec.family == "nade"
    epochs = s.nade_epochs if nade else s.markov_epochs
    t0 = time.perf_counter()
    hist = model.fit(train, method="train", epochs=epochs, batch_size=s.batch_size,
                     lr=s.nade_lr if nade else s.markov_lr, val=valid, device="cpu",
                     seed=s.seed, progress=False)
    seconds = time.perf_counter() - t0
    # -log p(digit): the label is left out, so the model sums it out exactly
    nll = float(-model.log_prob({"digit": valid[0]}).mean())
    res = FitResult(spec, int(model.num_parameters()["digit"]), nll,
                    float(hist.best_val_nll), seconds, epochs,
                    [float(v) for v in hist.val_nll], model)
    if echo:
        print(f"  fitted {spec.name:<18} {spec.ordering:<9} {res.parameters:>8,} parameters  "
              f"NLL {nll:7.2f} nats  ({seconds:.1f} s)", flush=True)
    return res


def fit_all(s: DigitSettings, echo: bool = True) -> Dict[str, FitResult]:
    """Fit every model of the demo (:data:`MAIN_MODELS` and :data:`ORDERING_MODELS`)."""
    train, valid = _data(s)
    if echo:
        print(f"Fitting {len(MAIN_MODELS) + len(ORDERING_MODELS)} models of the digits on "
              f"{len(train[0])} training images (validation: {len(valid[0])}) ...", flush=True)
    return {m.key: _fit_one(m, s, train, valid, echo) for m in MAIN_MODELS + ORDERING_MODELS}


# --------------------------------------------------------------------------- pictures
#: pictures are written at twice their display size, so they stay crisp on high-density screens
_DPI = 200


def _save_figure(fig, path, **kw: Any) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi, **kw)
    atomic_write_bytes(path, buf.getvalue())


def _figure(path, caption: str) -> Figure:
    """A PNG of the report, shown at half its pixel size (see :data:`_DPI`)."""
    return Figure(path, caption, width=png_size(path)[0] // 2)


def _curves(results: Sequence[FitResult], path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(6.4, 3.6), dpi=_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for r in results:
        ep = np.arange(1, len(r.val_curve) + 1)
        ax.plot(ep, r.val_curve, marker="o" if len(ep) < 3 else None, markersize=3,
                label=r.spec.name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation NLL of (digit, label), nats")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=8)
    lo = min(min(r.val_curve) for r in results)
    hi = max(r.val_curve[min(1, len(r.val_curve) - 1)] for r in results)
    if hi > lo:
        ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.15 * (hi - lo))
    fig.tight_layout()
    _save_figure(fig, path)


#: how many first steps of each ordering are drawn as a path
_PATH_STEPS = 42


def _orderings(specs: Sequence[str], path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    from ..orderings import make_ordering

    fig = MplFigure(figsize=(2.0 * len(specs) + 0.6, 2.4), dpi=_DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(specs))
    im = None
    for ax, spec in zip(np.atleast_1d(axes), specs):
        label, order = make_ordering(spec, SHAPE[1], SHAPE[2])
        step = np.empty(NUM_PIXELS)
        step[order] = np.arange(NUM_PIXELS)
        im = ax.imshow(step.reshape(SHAPE[1:]), cmap="viridis", interpolation="nearest")
        # the path through the first steps shows what the colours cannot: the direction
        rows, cols = np.divmod(np.asarray(order[:_PATH_STEPS]), SHAPE[2])
        ax.plot(cols, rows, color="white", linewidth=0.8, alpha=0.9)
        ax.plot(cols[:1], rows[:1], "o", color="white", markersize=2.5)
        ax.set_title(label, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    cbar = fig.colorbar(im, ax=list(np.atleast_1d(axes)), fraction=0.025, pad=0.02)
    cbar.set_label("step", fontsize=8)
    cbar.ax.tick_params(labelsize=7)
    _save_figure(fig, path, bbox_inches="tight", pad_inches=0.05)


def _digit_grid(images: torch.Tensor, path, per_row: int, row_labels: Optional[Sequence[str]],
                scale: int = 5) -> None:
    """Images tiled ``per_row`` to a row, each pixel drawn as ``scale x scale`` (shown at half
    that in the report), with a narrow column of row labels if given."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    from ..imaging import make_grid

    grid = make_grid(images, nrow=per_row, padding=1)
    gh, gw = grid.shape[0] * scale, grid.shape[1] * scale
    left = 44 if row_labels is not None else 0
    fig = MplFigure(figsize=((gw + left) / _DPI, gh / _DPI), dpi=_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((left / (gw + left), 0.0, gw / (gw + left), 1.0))
    ax.imshow(grid, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest", aspect="auto")
    ax.set_xticks([])
    ax.set_yticks([])
    if row_labels is not None:
        h = images.shape[-2]
        ax.set_yticks([1 + r * (h + 1) + (h - 1) / 2 for r in range(len(row_labels))],
                      list(row_labels), fontsize=9)
        ax.tick_params(axis="y", length=0, pad=3)
    for spine in ax.spines.values():
        spine.set_visible(False)
    _save_figure(fig, path)


def _samples(model, s: DigitSettings) -> Tuple[torch.Tensor, torch.Tensor]:
    """``per_class`` true samples of ``p(digit | label = d)`` per digit, and for each sample the
    probability ``p(x_i = 1 | x_<i, label)`` that the model gave each of its pixels."""
    imgs = torch.cat([model.sample(s.per_class, evidence={"label": d}, seed=s.seed + d,
                                   as_tensors=True)["digit"] for d in range(10)]).float()
    labels = torch.arange(10).repeat_interleave(s.per_class)
    with torch.no_grad():
        probs = model.conditional("digit")({"label": labels}).conditional_probs(imgs)
    return imgs, probs.float()


def _fmt(x: float, nd: int = 2) -> str:
    return f"{x:.{nd}f}" if math.isfinite(x) else "n/a"


def digits_sections(rep: Report, out: DemoOutputs, s: DigitSettings) -> Dict[str, Any]:
    """Fit the digit models and add the sections on scores, samples and orderings."""
    (x, y), (xv, yv) = _data(s)
    sec = rep.section("Fitting the digits: NADE against simpler assumptions",
                      "NADE, which keeps the full chain rule, against independent pixels and "
                      "Markov chains fitted the same way, scored on held-out digits.")
    results = fit_all(s, echo=rep.echo)
    main = [results[m.key] for m in MAIN_MODELS]
    nade = results["nade"]
    best_markov = min((results[k] for k in ("markov1", "markov2", "markov3")),
                      key=lambda r: r.nll)
    sec.conclude(f"On held-out digits NADE, which keeps the full chain rule, scores "
                    f"{_fmt(nade.nll)} nats per image, against {_fmt(results['independent'].nll)}"
                    f" for independent pixels and {_fmt(best_markov.nll)} for the best Markov "
                    "chain (lower is better).")
    sec.text(f"Data: the 14x14 binarized digits shipped with pgm_ar ({len(x):,} for training, "
             f"{len(xv):,} for validation; no download). Every model is the network label -> "
             "digit, fitted by the same training loop (Adam, cosine schedule, batch "
             f"{s.batch_size}, best validation epoch kept); only the digit's conditional "
             "changes. NLL is -log p(digit) on the validation digits with the label summed out, "
             "in nats per image (lower is better); bits/pixel divide it by 196 ln 2.")
    sec.table(["model", "each pixel's conditional", "parameters", "NLL (nats)", "bits/pixel",
               "epochs", "fit (s)"],
              [[r.spec.name, r.spec.assumption, f"{r.parameters:,}", _fmt(r.nll),
                _fmt(r.bits_per_pixel, 4), str(r.epochs), _fmt(r.seconds, 1)] for r in main],
              caption="Validation NLL, raster order")
    sec.note(f"NADE: {s.hidden} hidden units, learning rate {s.nade_lr}; the AR-k tables: "
             f"learning rate {s.markov_lr}. The full table of a 14x14 binary image would need "
             "2^196 - 1 ≈ 1.0e59 numbers.")
    _curves(main, out.path("digits_curves.png"))
    sec.figures([_figure(out.dir / "digits_curves.png",
                         "Validation NLL per epoch (of digit and label together, as the "
                         "training loop reports it).")])

    sec = rep.section("Class-conditional samples: one row per digit",
                      "NADE's samples of p(digit | label) for each label, beside real "
                      "validation digits and the probabilities the model gave each sampled "
                      "pixel.")
    rows = [str(d) for d in range(10)]
    real = torch.cat([xv[yv == d][:s.per_class] for d in range(10)
                      if int((yv == d).sum()) >= s.per_class])
    imgs, probs = _samples(nade.model, s)
    real_rows = [str(d) for d in range(10) if int((yv == d).sum()) >= s.per_class]
    _digit_grid(real, out.path("digits_real.png"), s.per_class, real_rows)
    _digit_grid(imgs, out.path("digits_samples.png"), s.per_class, rows)
    # the maps' rows are the samples' rows: no labels, so the three fit side by side
    _digit_grid(probs, out.path("digits_sample_probs.png"), s.per_class, None)
    sec.text("Left: real validation digits, for comparison (the shipped digits were binarized "
             "at random from grey levels, hence their speckle). Middle: true samples of the "
             f"fitted NADE ({s.hidden} hidden units, raster order), drawn pixel by pixel, "
             f"{s.per_class} per label; nothing is thresholded or tempered. Right: for the same "
             "samples, the probability p(x_i = 1 | x_<i, label) the model gave each pixel as it "
             "drew it (white = 1). These maps are not samples: they show the grey-level digit "
             "the model had in mind, of which the middle picture is one random binarization.")
    sec.figures([
        _figure(out.dir / "digits_real.png", "Real validation digits, one row per label."),
        _figure(out.dir / "digits_samples.png", "NADE's samples of p(digit | label), one row "
                                                "per label: true samples."),
        _figure(out.dir / "digits_sample_probs.png", "For each sample in the middle, "
                "p(x_i = 1 | x_<i, label) per pixel: probabilities, not samples."),
    ])

    spread = {fam: max(r.nll for r in rs) - min(r.nll for r in rs) for fam, rs in (
        ("markov", [results[k] for k in ("markov1", "markov1_snake", "markov1_diagonal",
                                         "markov1_random")]),
        ("nade", [results["nade"], results["nade_random"]]))}
    sec = rep.section("Ordering matters",
                      "The same data under other pixel orderings and other assumptions gives "
                      f"other fits: across the orderings tried, Markov k=1 moves by "
                      f"{spread['markov']:.2f} nats, NADE by {spread['nade']:.2f}.")
    order_rows = [results[k] for k in ("markov1", "markov2", "markov3", "markov1_snake",
                                       "markov1_diagonal", "markov1_random", "independent",
                                       "nade", "nade_random")]
    base = results["markov1"].nll
    sec.table(["model", "ordering", "parameters", "NLL (nats)", "vs Markov k=1 raster"],
              [[r.spec.name, r.spec.ordering if r.spec.k or r.spec.family == "nade" else
                "(any)", f"{r.parameters:,}", _fmt(r.nll), f"{r.nll - base:+.2f}"]
               for r in order_rows],
              caption="Validation NLL by assumption and ordering")
    sec.text("A raster or snake order keeps a pixel's left neighbour just before it, and the "
             "Markov chain uses it; the diagonal order puts the up-right neighbour there and a "
             "random order an unrelated pixel, and the chain falls back towards independent "
             "pixels. Raising k uses more of the neighbourhood. NADE conditions each pixel on "
             "all earlier ones, so whatever the order it can find the informative ones.")
    _orderings(["raster", "snake", "diagonal", "random(0)"], out.path("orderings.png"))
    sec.figures([_figure(out.dir / "orderings.png",
                         "The orderings: the step at which each pixel of the 14x14 image is "
                         f"visited (dark first); the white line follows the first {_PATH_STEPS} "
                         "steps.")])

    return {"digits": {"settings": {k: getattr(s, k) for k in s.__dataclass_fields__},
                       "n_train": len(x), "n_valid": len(xv),
                       "models": {k: r.to_dict() for k, r in results.items()}}}
