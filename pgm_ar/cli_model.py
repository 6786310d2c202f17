"""Model commands of ``pgm-ar``: ``fit``, ``evaluate``, ``sample`` and ``query``.

A *run directory* holds what ``fit`` made: ``model.pt`` (network, families and weights), a
copy of the spec file, and ``fit_log.json`` (data, method, settings, loss per epoch, timing).
``fit`` never overwrites an existing run unless given ``--force``.  ``evaluate``, ``sample``
and ``query`` also take, instead of a run directory, a BIF or spec file (or the name of an
example network) whose CPTs already give every parameter.

Data files are CSV with a header naming the variables; discrete values are state names (or
indices), an empty cell is a missing value.

Image networks (one discrete ``Image``, optionally with a label) take ``--data-dir`` or
``--images`` instead.  The image variable decides what the data become:

* ``--data-dir MNIST_DIR`` (the IDX gzip files): ``levels: 2`` and one channel give binarized
  digits (50,000 training digits re-binarized every epoch, the last 10,000 of the training
  file as validation binarized once with seed :data:`VALID_SEED`, the test set binarized once
  with seed :data:`TEST_SEED`); ``levels: L > 2`` quantizes the grey levels to ``L``; shape
  ``[3, 28, 28]`` gives coloured digits (:mod:`pgm_ar.datasets.coloured`), quantized to ``L``.
* ``--data-dir embedded``: the 14 x 14 binary digits shipped with the package (2,500
  training, 500 validation; ``evaluate`` scores the validation part), grey with
  ``levels: 2`` or coloured with shape ``[3, 14, 14]``.
* ``--images PATH``: a directory of PNGs or an ``.npz`` (:mod:`pgm_ar.datasets.folders`),
  quantized to the image's levels, its shape checked against the spec; ``fit`` holds 10 % out
  for validation (seeded), ``evaluate`` scores all of PATH.

A label variable must have as many states as the data have classes (10 for the digits).
Their run directory also holds ``checkpoints/checkpoint.pt`` (``--resume`` continues from
it), ``train_log.csv`` / ``train_log.json`` and ``curves.png``; ``sample`` writes a picture
grid.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from .errors import DataError, PgmArError
from .limits import check as check_limit
from .utils.atomic import atomic_text_writer, atomic_write_text

MODEL_FILE = "model.pt"
FIT_LOG = "fit_log.json"
CHECKPOINT_DIR = "checkpoints"
TRAIN_LOG = "train_log"
CURVES = "curves.png"
#: ``--data-dir`` value naming the 14 x 14 digits shipped with the package
EMBEDDED = "embedded"
#: fixed binarization seeds of the MNIST validation and test images
VALID_SEED, TEST_SEED = 1, 0
#: validation images of MNIST: the last ones of the training file
MNIST_VALID = 10_000
#: the classes of the digit sources, in label order
DIGIT_CLASSES = tuple(str(d) for d in range(10))
#: training defaults of image networks (the training loop)
IMAGE_EPOCHS, IMAGE_BATCH, IMAGE_LR = 20, 100, 0.005


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False))


def read_csv(path: str):
    """Read a data CSV as strings (so that state names stay as written); empty cells are missing.

    Refused with the line: a row with more or fewer fields than the header (pandas would pad
    or shift it silently), a header given twice, a file with no data rows, and data whose
    every value is missing (a fit would keep its random start and report success).
    """
    import csv
    import io

    import numpy as np
    import pandas as pd

    from .utils.files import read_input_bytes

    if not Path(path).exists():
        raise PgmArError(f"{path}: no such data file")
    raw = read_input_bytes(path, "a CSV data file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a readable CSV file (not UTF-8: {exc.reason} at byte "
                        f"{exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None or header == []:
            raise DataError(f"{path}: empty file; the first line names the columns")
        header = [h.strip() for h in header]
        seen = set()
        for h in header:
            if not h:
                raise DataError(f"{path}, line 1: a column has no name")
            if h in seen:
                raise DataError(f"{path}, line 1: column {h!r} is named twice")
            seen.add(h)
        rows = []
        for row in reader:
            if not row:
                continue  # a blank line
            if len(row) != len(header):
                raise DataError(f"{path}, line {reader.line_num}: {len(row)} fields, the header "
                                f"has {len(header)}; give every row one value per column "
                                "(an empty field for a missing value)")
            rows.append(row)
    except csv.Error as exc:
        raise DataError(f"{path}, line {reader.line_num}: not a readable CSV file ({exc})") \
            from None
    if not rows:
        raise DataError(f"{path}: no data rows, only the header")
    df = pd.DataFrame(rows, columns=header, dtype=object)
    df = df.replace("", np.nan)
    if bool(df.isna().all().all()):
        raise DataError(f"{path}: every value is missing ({len(df)} rows); there is nothing to "
                        "fit or score")
    return df


def _with_line(exc: DataError, path: str) -> DataError:
    """Name the CSV line (header = line 1) of a data error."""
    if exc.row is None:
        return DataError(f"{exc} (in {path})")
    return DataError(f"{exc} (in {path}, line {exc.row + 2})")


def parse_evidence_args(items: Optional[Sequence[str]]) -> Dict[str, str]:
    """``["name=state", ...]`` -> ``{name: state}``."""
    out: Dict[str, str] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise PgmArError(f"evidence must be written name=state, got {item!r}")
        name, value = name.strip(), value.strip()
        if name in out and out[name] != value:
            # keeping the last would silently answer another question
            raise PgmArError(f"contradictory evidence: {name}={out[name]} and {name}={value}; "
                             "give each variable one state")
        out[name] = value
    return out


def _load_run(run_dir: str, tables_ok: bool = False):
    """The model of a run directory, or of a network file or example name that carries all
    its parameters (``query``, ``sample`` and ``evaluate`` then need no fit).  With
    ``tables_ok``, an all-discrete file is answered from its CPTs without compiling it
    (:class:`~pgm_ar.tables_model.TablesModel`: no Pyro, a fast start)."""
    d = Path(run_dir)
    if not d.is_dir():
        return _model_from_file(run_dir, tables_ok)
    path = d / MODEL_FILE
    if not path.exists():
        raise PgmArError(f"{run_dir}: not a run directory ({MODEL_FILE} is missing)")
    from .model import CompiledModel

    return CompiledModel.load(path)


def _model_from_file(source: str, tables_ok: bool = False):
    """A ready model from a BIF or spec file (or an example network's name) whose CPTs give
    every variable's parameters; otherwise an error saying to run ``pgm-ar fit`` first."""
    from .io import load_any
    from .io.examples import close_examples, is_example_name

    p = Path(source)
    if not p.exists() and not (len(p.parts) == 1 and is_example_name(p.name)):
        hint = close_examples(p.name) if len(p.parts) == 1 and not p.suffix else ""
        raise PgmArError(f"{source}: no such run directory, network file or example network"
                         f"{hint}; make a run with 'pgm-ar fit', or see 'pgm-ar examples'")
    spec = load_any(source)
    if tables_ok and not spec.conditionals:
        from .tables_model import TablesModel

        fast = TablesModel.from_network(spec.network)
        if fast is not None:
            return fast
    from .model import compile

    try:
        model = compile(spec.network, spec.conditionals or None)
    except PgmArError as exc:
        raise PgmArError(f"{source}: conditionals: {exc}") from None
    missing = [n for n, done in zip(spec.network.names, model.fitted.tolist()) if not done]
    if missing:
        shown = ", ".join(repr(n) for n in missing[:5]) + (", ..." if len(missing) > 5 else "")
        data = "--data-dir DIR" if model.has_images else "--data ROWS.csv"
        raise PgmArError(f"{source}: the file gives no parameters for {shown} (no CPTs, or a "
                         f"learned family); run 'pgm-ar fit {source} {data} --out RUN' first "
                         "and give the run directory RUN instead")
    return model


# --------------------------------------------------------------------------- #
# image networks: data sources
# --------------------------------------------------------------------------- #
def image_layout(net, where: str = "the network") -> Tuple[str, Optional[str]]:
    """``(image, label or None)`` of a network that ``--data-dir`` / ``--images`` can feed:
    one discrete ``Image`` and at most one other variable, a discrete label (its number of
    states is checked against the data's classes when the data are read)."""
    from .variables import Image

    images = [v for v in net.variables if isinstance(v, Image)]
    if len(images) != 1:
        raise PgmArError(f"{where}: --data-dir / --images need a network with exactly one image "
                         f"variable, found {len(images)}")
    img = images[0]
    if img.levels is None:
        raise PgmArError(f"{where}: image {img.name!r} has continuous pixels (levels: null); "
                         "--data-dir / --images give discrete pixels: declare levels 2..256")
    others = [v for v in net.variables if v is not img]
    ok = len(others) == 0 or (len(others) == 1 and others[0].is_discrete_scalar)
    if not ok:
        raise PgmArError(f"{where}: with --data-dir / --images the network is the image "
                         f"{img.name!r} and optionally one discrete label variable; found "
                         f"{[v.name for v in others]}")
    return img.name, (others[0].name if others else None)


def _image_source(args: argparse.Namespace) -> Optional[Tuple[str, str]]:
    """``("data_dir" | "images", value)`` of the image flags given, or ``None``."""
    if getattr(args, "images", None) is not None:
        return "images", str(args.images)
    if getattr(args, "data_dir", None) is not None:
        return "data_dir", str(args.data_dir)
    return None


def _mnist_dir(data_dir: str) -> Path:
    d = Path(data_dir)
    if not d.is_dir():
        raise PgmArError(f"{data_dir}: no such MNIST directory (give the directory holding the "
                         f"four IDX .gz files, or '{EMBEDDED}' for the shipped 14x14 digits)")
    return d


def _columns(image: str, label: Optional[str], x, y) -> Dict[str, Any]:
    out = {image: x}
    if label is not None:
        out[label] = y
    return out


class _ImageKind:
    """What the network's image variable asks of the data: channels, size and levels."""

    def __init__(self, net, where: str) -> None:
        self.image, self.label = image_layout(net, where)
        var = net.variable(self.image)
        self.shape = tuple(int(s) for s in var.shape)
        self.levels = int(var.levels)
        self.colours = self.shape[0]
        self.where = where
        self.net = net

    def check_digits(self, data_dir: str) -> None:
        """The digit sources give grey (C = 1) or coloured (C = 3) images of a fixed size."""
        side = 14 if data_dir == EMBEDDED else 28
        what = "the embedded digits" if data_dir == EMBEDDED else f"the MNIST digits in {data_dir}"
        if self.shape[1:] != (side, side) or self.colours not in (1, 3):
            hint = " (e.g. examples/specs/digit14_nade.yaml)" if data_dir == EMBEDDED else ""
            raise PgmArError(f"{self.where}: image {self.image!r} has shape {list(self.shape)} but "
                             f"{what} have shape {[1, side, side]} (grey) or {[3, side, side]} "
                             f"(coloured); use a spec with one of these shapes{hint}")
        if data_dir == EMBEDDED and self.colours == 1 and self.levels != 2:
            raise PgmArError(f"{self.where}: image {self.image!r} has levels {self.levels}, but "
                             "the embedded digits are binary (0/1 pixels, no grey levels): "
                             "declare 'levels: 2', colour them (shape [3, 14, 14]), or use "
                             "--data-dir MNIST_DIR (grey levels 0..255 quantized) or --images")

    def quantized(self, x):
        from .datasets import quantize

        return quantize(x, self.levels)

    def check_classes(self, classes: Optional[Sequence[str]], source: str) -> None:
        """The label variable (if any) has one state per class of the data."""
        if self.label is None:
            return
        if classes is None:
            raise PgmArError(f"{self.where}: the network has a label variable {self.label!r} but "
                             f"{source} has no labels (give a directory with one subdirectory "
                             "per class, or an .npz with 'labels'; or drop the label variable)")
        states = tuple(self.net.variable(self.label).states)
        if len(classes) != len(states):
            raise PgmArError(f"{self.where}: label variable {self.label!r} has {len(states)} "
                             f"states but the data ({source}) have {len(classes)} classes "
                             f"{list(classes)}; declare states: {len(classes)}")

    def labels(self, y, classes: Optional[Sequence[str]], source: str):
        """``(label column, how classes map to states)`` for class indices ``y``; ``(None,
        None)`` without a label variable (the data's labels, if any, are then unused)."""
        import torch

        if self.label is None:
            return None, None
        self.check_classes(None if y is None else classes, source)
        states = tuple(self.net.variable(self.label).states)
        if set(classes) == set(states) and tuple(classes) != states:
            # the class names are the state names, in another order: match them by name
            remap = torch.tensor([states.index(c) for c in classes], dtype=torch.int64)
            return remap[torch.as_tensor(y).long()], "classes matched to states by name"
        return torch.as_tensor(y).long(), "class i is state i"


def _levels_info(kind: _ImageKind, what: str) -> str:
    if kind.levels == 256:
        return f"{what}: the 8-bit values as they are (256 levels)"
    return (f"{what} quantized to {kind.levels} levels: floor(v * {kind.levels} / 256) of each "
            "8-bit value v")


def _digit_sets(kind: _ImageKind, data_dir: str, test: bool):
    """``[(images, labels), ...]`` (train and validation, or the test set), ready for the
    model, and a description, from MNIST or the embedded digits."""
    from . import datasets as ds

    info: Dict[str, Any] = {}
    if data_dir == EMBEDDED:
        if kind.colours == 3:
            parts = [ds.coloured_embedded_digits(s) for s in (("valid",) if test else
                                                              ("train", "valid"))]
            parts = [(kind.quantized(x), y) for x, y in parts]
            info["colouring"] = ds.describe_colouring(ds.COLOUR_SEED, "embedded 14x14 digits")
            info["colour_seed"] = ds.COLOUR_SEED
            info["pixels"] = _levels_info(kind, "RGB values")
        else:
            parts = [ds.load_embedded_digits(s) for s in (("valid",) if test else
                                                           ("train", "valid"))]
            info["binarization"] = "stochastic, fixed (shipped)"
        info["data"] = "embedded 14x14 digits" + (" (coloured)" if kind.colours == 3 else "")
        info["transform"] = None
        return parts, info
    d = _mnist_dir(data_dir)
    info["data"] = f"MNIST {data_dir}" + (" (coloured)" if kind.colours == 3 else "")
    info["transform"] = None
    if kind.colours == 1 and kind.levels == 2:
        if test:
            return [ds.binarized_mnist_test(d, seed=TEST_SEED)], info
        images, labels = ds.load_mnist(d, "train")
        (xtr, ytr), (xva, yva) = ds.train_valid_split(images, labels, MNIST_VALID)
        info["transform"] = ds.DynamicBinarization(key=kind.image)
        info["binarization"] = (f"training: dynamic (re-drawn every epoch); validation: "
                                f"stochastic, seed {VALID_SEED}")
        return [(xtr, ytr), (ds.binarize(xva, seed=VALID_SEED), yva)], info
    split = "test" if test else "train"
    if kind.colours == 3:
        images, labels = ds.coloured_mnist(d, split)
        seed = ds.COLOUR_SEED + (1 if test else 0)
        info["colouring"] = ds.describe_colouring(seed, f"MNIST {split} images")
        info["colour_seed"] = seed
        info["pixels"] = _levels_info(kind, "RGB values")
    else:
        images, labels = ds.load_mnist(d, split)
        info["pixels"] = _levels_info(kind, "grey levels")
    images = kind.quantized(images)
    if test:
        return [(images, labels)], info
    return list(ds.train_valid_split(images, labels, MNIST_VALID)), info


def _user_images(kind: _ImageKind, path: str):
    """The images of ``--images PATH``, shape-checked against the spec and quantized."""
    from .datasets import load_images

    got = load_images(path)
    have = tuple(int(s) for s in got.images.shape[1:])
    if have != kind.shape:
        raise PgmArError(f"{kind.where}: image {kind.image!r} has shape {list(kind.shape)} but "
                         f"the images in {path} have shape {list(have)} (C, H, W); use a spec "
                         f"with shape {list(have)} or other images")
    y, how = kind.labels(got.labels, got.classes, path)
    info: Dict[str, Any] = {"data": f"images {path}", "transform": None,
                            "pixels": _levels_info(kind, "grey levels" if kind.colours == 1
                                                   else "RGB values")}
    if how is not None:
        info["labels"] = f"{len(got.classes)} classes {list(got.classes)}; {how}"
    return kind.quantized(got.images), y, info


def load_image_splits(net, data_dir: Optional[str] = None, max_train: Optional[int] = None,
                      where: str = "the network", *, images: Optional[str] = None
                      ) -> Tuple[Dict[str, Any], Dict[str, Any], Any, Dict[str, Any]]:
    """``(train, valid, transform, info)`` for ``--data-dir`` or ``--images``: column dicts for
    :meth:`CompiledModel.fit`, the training transform (dynamic binarization for binary MNIST,
    else ``None``) and a description for the log."""
    from .datasets import SPLIT_SEED, VALID_FRACTION, holdout_split

    kind = _ImageKind(net, where)
    if images is not None:
        x, y, info = _user_images(kind, images)
        train_idx, valid_idx = holdout_split(len(x))
        xtr, xva = x[train_idx], x[valid_idx]
        ytr, yva = (None, None) if y is None else (y[train_idx], y[valid_idx])
        info["split"] = (f"{len(valid_idx)} of {len(x)} images held out for validation "
                         f"({VALID_FRACTION:.0%}, at least 1, chosen by a permutation seeded "
                         f"{SPLIT_SEED})")
    else:
        if data_dir is None:
            raise PgmArError("give --data-dir or --images")
        kind.check_digits(data_dir)
        kind.check_classes(DIGIT_CLASSES, "the digits")
        ((xtr, ytr), (xva, yva)), info = _digit_sets(kind, data_dir, test=False)
        if kind.label is not None:
            ytr, _ = kind.labels(ytr, DIGIT_CLASSES, info["data"])
            yva, _ = kind.labels(yva, DIGIT_CLASSES, info["data"])
    transform = info.pop("transform")
    if max_train is not None:
        if max_train < 1:
            raise PgmArError(f"--max-train must be >= 1, got {max_train}")
        xtr = xtr[:max_train]
        ytr = None if ytr is None else ytr[:max_train]
    info.update({"train": int(len(xtr)), "valid": int(len(xva))})
    return (_columns(kind.image, kind.label, xtr, ytr), _columns(kind.image, kind.label, xva, yva),
            transform, info)


def load_image_test(net, data_dir: Optional[str] = None, where: str = "the model", *,
                    images: Optional[str] = None) -> Tuple[Dict[str, Any], str]:
    """The evaluation set: all of ``--images PATH``; the MNIST test set (binarized with seed
    :data:`TEST_SEED`, or quantized / coloured as the image asks); or the validation part of
    the embedded digits."""
    kind = _ImageKind(net, where)
    if images is not None:
        x, y, info = _user_images(kind, images)
        return _columns(kind.image, kind.label, x, y), f"all {len(x)} images in {images}"
    if data_dir is None:
        raise PgmArError("give --data-dir or --images")
    kind.check_digits(data_dir)
    kind.check_classes(DIGIT_CLASSES, "the digits")
    ((x, y),), info = _digit_sets(kind, data_dir, test=True)
    if kind.label is not None:
        y, _ = kind.labels(y, DIGIT_CLASSES, info["data"])
    base = "embedded 14x14 digits" if data_dir == EMBEDDED else "MNIST test set"
    if kind.colours == 3:
        base += f", coloured with seed {info['colour_seed']}"
    if kind.colours == 1 and kind.levels == 2:
        how = ("" if data_dir == EMBEDDED else
               f", stochastic binarization with seed {TEST_SEED}")
    else:
        how = f", {kind.levels} levels"
    part = f", validation part ({len(x)})" if data_dir == EMBEDDED else ""
    return _columns(kind.image, kind.label, x, y), base + how + part


def _fit_reporting_warnings(model, data, **kwargs):
    """``model.fit(data, **kwargs)`` with each :class:`~pgm_ar.errors.FitWarning` printed as
    one ``pgm-ar: warning:`` line; returns the history and the warnings' texts."""
    import warnings

    from .errors import FitWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitWarning)
        history = model.fit(data, **kwargs)
    texts = []
    for w in caught:
        if issubclass(w.category, FitWarning):
            texts.append(str(w.message))
            print(f"pgm-ar: warning: {w.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return history, texts


def _check_run_dir(out: Path, force: bool, resume: bool = False) -> None:
    if out.exists() and not out.is_dir():
        raise PgmArError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force and not resume:
        raise PgmArError(f"{out}: run directory already exists and is not empty; "
                         "use --force to overwrite it" + (" or --resume to continue it"
                                                          if (out / CHECKPOINT_DIR).is_dir()
                                                          else ""))


def _fit_images(args: argparse.Namespace, spec, model, out: Path) -> int:
    """Fit an image network, writing the run to ``out`` (the staging directory, or the run
    directory itself under torchrun); messages name the run directory ``args.out``."""
    from .training import distributed_rank

    shown = Path(args.out)
    # under torchrun every process trains (fit joins them); only rank 0 checks and writes
    # the run directory (a failure there ends the other processes through torchrun)
    main_process = distributed_rank() == 0
    if args.method not in ("auto", "train"):
        raise PgmArError(f"--method {args.method}: image networks are fitted by the training "
                         "loop (--method train)")
    flag, source = _image_source(args)
    train, valid, transform, info = load_image_splits(
        spec.network, args.data_dir, args.max_train, where=str(args.spec),
        images=source if flag == "images" else None)
    settings = {"epochs": args.epochs if args.epochs is not None else IMAGE_EPOCHS,
                "batch_size": args.batch_size if args.batch_size is not None else IMAGE_BATCH,
                "lr": args.lr if args.lr is not None else IMAGE_LR,
                "device": args.device, "early_stopping_patience": args.patience}
    if main_process:
        out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        history, fit_warnings = _fit_reporting_warnings(
            model, train, method="train", val=valid, seed=args.seed,
            progress=not args.no_progress, checkpoint_dir=out / CHECKPOINT_DIR,
            resume=args.resume, transform=transform, log_path=out / TRAIN_LOG, **settings)
    except KeyboardInterrupt:
        if main_process and (out / CHECKPOINT_DIR / "checkpoint.pt").exists():
            print(f"pgm-ar: the last finished epoch is saved in {shown / CHECKPOINT_DIR}; the "
                  "same command with --resume continues from it", file=sys.stderr)
        raise
    if not main_process:
        return 0
    seconds = time.perf_counter() - t0
    model.to("cpu")
    model.save(out / MODEL_FILE)
    spec_src = Path(args.spec)
    spec_copy = out / spec_src.name
    if spec_src.resolve() != spec_copy.resolve():
        shutil.copyfile(spec_src, spec_copy)
    history.plot(out / CURVES, title=f"{spec.network.name}: NLL per epoch")
    params = model.num_parameters()
    log = {
        "spec": str(spec_src), "spec_copy": spec_copy.name, flag: source,
        **info, "method": "train", "seed": args.seed, "resumed": bool(args.resume),
        "settings": settings, "device": history.device,
        "families": {n: f.to_spec() for n, f in model.families.items()},
        "parameters": params, "epochs_run": len(history.epoch),
        "best_epoch": history.best_epoch, "best_val_nll": history.best_val_nll,
        "stopped_early": history.stopped_early, "final_train_nll":
            history.train_nll[-1] if history.train_nll else None,
        "seconds": round(seconds, 3), "warnings": fit_warnings,
    }
    atomic_write_text(out / FIT_LOG, json.dumps(log, indent=2))
    total = sum(params.values())
    best = "" if history.best_val_nll is None else \
        f"; best validation NLL {history.best_val_nll:.3f} nats (epoch {history.best_epoch})"
    print(f"fitted {spec.network.name!r} ({total:,} parameters: "
          + ", ".join(f"{k} {v:,}" for k, v in params.items())
          + f") on {info['train']} images ({info['data']}) in {seconds:.1f} s on "
          f"{history.device}{best}")
    for key in ("pixels", "colouring", "split", "labels"):
        if key in info:
            print(f"{key}: {info[key]}")
    print(f"wrote {shown / MODEL_FILE}, {shown / FIT_LOG}, {shown / (TRAIN_LOG + '.csv')}, "
          f"{shown / CURVES}, {shown / CHECKPOINT_DIR}/")
    return 0


def evaluate_images(model, data: Mapping[str, Any], batch_size: int = 500,
                    progress: bool = False) -> Dict[str, Any]:
    """Test NLL of an image model: ``nll_nats`` of the images (label summed out, comparable to
    unconditional models), ``bits_per_dim`` of it, and with a label the joint NLL.

    With a label the images are scored once per label value, ``log p(y) + log p(x | y)``:
    the marginal is their log-sum-exp and the joint picks the true label, so both cost
    ``K`` passes of the image model (not ``K + 1``) and a progress bar can follow them.
    """
    import math

    import torch

    from .utils.progress import progress as progress_reporter

    image, label = image_layout(model.net)
    d = int(model.net.variable(image).num_pixels)
    x = data[image]
    n = int(len(x))
    states = int(model.net.variable(label).cardinality) if label is not None else 1
    # a bar on a terminal, a plain line every few seconds in logs and pipes
    bar = progress_reporter(n * states, "evaluate" if label is None else
                            f"evaluate ({states} labels each)", unit="img", enabled=progress)
    marginal_parts, joint_parts = [], []
    try:
        for start in range(0, n, batch_size):
            xs = x[start:start + batch_size]
            scores = []  # one row per label value (a single row without a label)
            for k in range(states):
                columns = {image: xs} if label is None else \
                    {image: xs, label: torch.full((len(xs),), k)}
                scores.append(model.log_prob(columns, batch_size=batch_size))
                if bar is not None:
                    bar.update(len(xs))
            per_label = torch.stack(scores)
            marginal_parts.append(torch.logsumexp(per_label, dim=0))
            if label is not None:
                ys = torch.as_tensor(data[label][start:start + batch_size]).long()
                joint_parts.append(per_label[ys, torch.arange(len(xs))])
    finally:
        if bar is not None:
            bar.close()
    marginal = torch.cat(marginal_parts) if marginal_parts else torch.zeros(0)
    if marginal.numel() == 0:
        raise PgmArError("the evaluation set is empty")
    res: Dict[str, Any] = {"n": n, "nll_nats": float(-marginal.mean()),
                           "bits_per_dim": float(-marginal.mean()) / (d * math.log(2))}
    if label is not None:
        res["nll_joint_nats"] = float(-torch.cat(joint_parts).mean())
    return res


def _evaluate_images(args: argparse.Namespace, model) -> int:
    from .utils.devices import resolve_device

    flag, source = _image_source(args)
    data, what = load_image_test(model.net, args.data_dir, where=str(args.run_dir),
                                 images=source if flag == "images" else None)
    model.to(resolve_device(args.device))
    t0 = time.perf_counter()
    res = evaluate_images(model, data, batch_size=args.batch_size,
                          progress=not args.no_progress)
    res.update({"data": what, "seconds": round(time.perf_counter() - t0, 3)})
    if args.json:
        _print_json(res)
        return 0
    print(f"{what}: {res['n']} images")
    print(f"test NLL: {res['nll_nats']:.4f} nats per image ({res['bits_per_dim']:.5f} bits/dim)"
          + (", label summed out" if "nll_joint_nats" in res else ""))
    if "nll_joint_nats" in res:
        print(f"joint NLL of image and label: {res['nll_joint_nats']:.4f} nats")
    return 0


def _sample_images(args: argparse.Namespace, model) -> int:
    from .imaging import save_class_grid, save_grid

    out = Path(args.output)
    if out.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise PgmArError(f"{out}: the network has image variables; write the samples as a "
                         "picture (.png, .svg or .pdf)")
    if out.exists() and not args.force:
        raise PgmArError(f"{out}: already exists; use --force to overwrite it")
    if args.n < 1:
        raise PgmArError(f"-n must be >= 1, got {args.n}")
    image = model.image_name()
    label = model.label_name(image)
    evidence: Dict[str, Any] = parse_evidence_args(args.evidence)
    if args.label is not None:
        if label is None:
            raise PgmArError(f"--label: image {image!r} has no label parent; use --evidence")
        evidence[label] = args.label
    if label is not None and not evidence:
        per = args.per_class if args.per_class is not None else max(1, args.n // 10)
        k = int(model.net.variable(label).cardinality)
        check_limit("max_grid_images", per * k, f"{out}: a grid of {per} samples per {label}",
                    "draw fewer per class")
        save_class_grid(model, out, per_class=per, seed=args.seed, label=label)
        k = int(model.net.variable(label).cardinality)
        print(f"wrote {out}: {per} samples per {label} ({per * k} images, one row per state)")
        return 0
    check_limit("max_grid_images", args.n, f"{out}: a grid of {args.n} pictures",
                "draw fewer (-n), or sample in several runs")
    samples = model.sample(args.n, evidence=evidence or None, seed=args.seed, as_tensors=True)
    given = ", ".join(f"{k}={v}" for k, v in evidence.items())
    save_grid(samples[image], out, nrow=args.nrow, title=f"{image} | {given}" if given else None,
              levels=model.net.variable(image).levels)
    print(f"wrote {out}: {args.n} samples of {image!r}" + (f" given {given}" if given else ""))
    return 0


def compiled_counts(spec) -> Dict[str, Any]:
    """Trainable parameters of the spec's compiled conditionals (``num_parameters()``)."""
    from .model import compile

    try:
        model = compile(spec.network, spec.conditionals or None)
    except PgmArError as exc:
        raise PgmArError(f"conditionals: {exc}") from None
    per = model.num_parameters()
    return {"families": {n: f.to_spec() for n, f in model.families.items()},
            "per_variable": per, "total": sum(per.values())}


# --------------------------------------------------------------------------- #
# commands
# --------------------------------------------------------------------------- #
def cmd_fit(args: argparse.Namespace) -> int:
    from .training import distributed_rank
    from .utils.rundir import RunDirWriter

    out = Path(args.out)
    images = _image_source(args) is not None
    if not images:
        for flag, given in (("--resume", args.resume), ("--patience", args.patience),
                            ("--max-train", args.max_train)):
            if given:
                raise PgmArError(f"{flag} is for image networks fitted from --data-dir or "
                                 "--images")
    if _distributed_launch():
        # under torchrun every rank computes the same run directory path and rank 0 writes
        # it in place (staging would move it under the other ranks' feet)
        if distributed_rank() == 0:
            _check_run_dir(out, args.force, bool(args.resume) and images)
        return _fit_into(args, out, images)
    # One writer at a time (a second fails here, at start), the run staged in a hidden
    # sibling and renamed into place: a crash leaves the old run or none, never half of one.
    with RunDirWriter(out, force=args.force, resume=bool(args.resume) and images,
                      checkpoint_dir=CHECKPOINT_DIR) as writer:
        code = _fit_into(args, writer.staging, images)
        writer.commit()
    return code


def _fits_by_counts(model, data, method: str) -> bool:
    """Whether ``model.fit(data, method)`` takes the closed form (as its ``auto`` rule does)."""
    if method == "counts":
        return True
    if method != "auto" or not all(m.closed_form for m in model.nodes):
        return False
    names = list(model.net.names)
    return all(n in data.columns for n in names) and not bool(data[names].isna().any().any())


def _prior_options(args: argparse.Namespace) -> Dict[str, Any]:
    """``model.fit``'s Dirichlet-prior arguments from ``--prior``, ``--ess``, ``--estimate``
    (a number given to ``--prior`` is a concentration, anything else a prior's name)."""
    if args.prior is None:
        if args.ess is not None or args.estimate is not None:
            raise PgmArError("--ess and --estimate go with --prior (e.g. --prior bdeu --ess 10)")
        return {}
    try:
        prior: Any = float(args.prior)
    except ValueError:
        prior = args.prior
    out = {"prior": prior}
    if args.ess is not None:
        out["equivalent_sample_size"] = args.ess
    if args.estimate is not None:
        out["estimate"] = args.estimate
    return out


def _distributed_launch() -> bool:
    import os

    try:
        return int(os.environ.get("WORLD_SIZE", "1")) > 1
    except ValueError:
        return False


def _fit_into(args: argparse.Namespace, out: Path, images: bool) -> int:
    """The fit itself, writing its files into ``out``; messages name ``args.out``."""
    from .model import compile
    from .io import load_any
    from .training import distributed_rank

    shown = Path(args.out)
    spec = load_any(args.spec)
    try:
        model = compile(spec.network, getattr(spec, "conditionals", None) or None)
    except PgmArError as exc:
        raise PgmArError(f"{args.spec}: conditionals: {exc}") from None
    if images:
        return _fit_images(args, spec, model, out)
    if model.has_images:
        raise PgmArError(f"{args.spec}: the network has image variables; give --data-dir (an "
                         f"MNIST directory or '{EMBEDDED}') or --images (PNG directory or "
                         ".npz) instead of --data")
    data = read_csv(args.data)
    kwargs: Dict[str, Any] = {"method": args.method, "seed": args.seed, "device": args.device,
                              "progress": not args.no_progress}
    for key in ("epochs", "batch_size", "lr"):
        if getattr(args, key) is not None:
            kwargs[key] = getattr(args, key)
    kwargs.update(_prior_options(args))
    if _fits_by_counts(model, data, args.method):
        # the closed form runs on the CPU in one pass: say so instead of ignoring options
        ignored = [f"--device {args.device}"] if args.device not in ("auto", "cpu") else []
        ignored += [f"--{key.replace('_', '-')}" for key in ("epochs", "batch_size", "lr")
                    if getattr(args, key) is not None]
        if ignored:
            print(f"pgm-ar: warning: {', '.join(ignored)} ignored: this network is fitted in "
                  "closed form (counts) on the CPU; use --method svi to train instead",
                  file=sys.stderr)
    t0 = time.perf_counter()
    try:
        history, fit_warnings = _fit_reporting_warnings(model, data, **kwargs)
    except DataError as exc:
        raise _with_line(exc, args.data) from None
    if distributed_rank() != 0:  # under torchrun: rank 0 writes the run
        return 0
    seconds = time.perf_counter() - t0
    losses = [float(x) for x in history.loss]
    model.to("cpu")
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / MODEL_FILE)
    spec_src = Path(spec.source)  # the file read, also when args.spec names an example
    spec_copy = out / spec_src.name
    if spec_src.resolve() != spec_copy.resolve():
        shutil.copyfile(spec_src, spec_copy)
    log = {
        "spec": str(spec_src), "spec_copy": spec_copy.name, "data": str(args.data),
        "rows": int(len(data)), "method": args.method, "seed": args.seed,
        "settings": {k: v for k, v in kwargs.items() if k not in ("method", "seed")},
        "families": {n: f.to_spec() for n, f in model.families.items()},
        "parameters": model.num_parameters(),
        "history": losses, "final_loss": losses[-1] if losses else None,
        "device": history.device, "world_size": history.world_size,
        "seconds": round(seconds, 3), "warnings": fit_warnings,
    }
    atomic_write_text(out / FIT_LOG, json.dumps(log, indent=2))
    final = f"; mean negative log-likelihood {losses[-1]:.4f} nats per row" if losses else ""
    print(f"fitted {spec.network.name!r} ({len(spec.network)} variables, "
          f"{sum(log['parameters'].values())} parameters) on {len(data)} rows in "
          f"{seconds:.2f} s{final}")
    print(f"wrote {shown / MODEL_FILE}, {shown / FIT_LOG}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    model = _load_run(args.run_dir)
    if _image_source(args) is not None:
        return _evaluate_images(args, model)
    if model.has_images:
        raise PgmArError(f"{args.run_dir}: the model has image variables; give --data-dir (an "
                         f"MNIST directory or '{EMBEDDED}') or --images (PNG directory or "
                         ".npz) instead of --data")
    data = read_csv(args.data)
    try:
        lp = model.log_prob(data)
    except DataError as exc:
        raise _with_line(exc, args.data) from None
    n = int(lp.shape[0])
    total = float(lp.sum())
    result = {"rows": n, "total_log_likelihood": total,
              "mean_log_likelihood": total / n if n else float("nan"), "unit": "nats"}
    if args.json:
        _print_json(result)
    else:
        print(f"rows: {n}")
        print(f"mean log-likelihood: {result['mean_log_likelihood']:.6f} nats per row")
        print(f"total log-likelihood: {total:.6f} nats")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from .variables import Image

    model = _load_run(args.run_dir, tables_ok=True)
    if any(isinstance(v, Image) for v in model.net.variables):
        return _sample_images(args, model)
    if args.label is not None:
        raise PgmArError("--label is for image models; use --evidence name=state")
    out = Path(args.output)
    if out.exists() and not args.force:
        raise PgmArError(f"{out}: already exists; use --force to overwrite it")
    if out.suffix.lower() in (".png", ".svg", ".pdf", ".jpg", ".jpeg"):
        raise PgmArError(f"{out}: the network has no image variables; its samples are rows, "
                         "written as CSV: give -o FILE.csv")
    evidence = parse_evidence_args(args.evidence)
    if args.n < 1:
        raise PgmArError(f"-n must be >= 1, got {args.n}")
    # Large samples stream to the file a chunk at a time: memory stays that of one chunk.
    chunk = max(1, SAMPLE_CHUNK_VALUES // model.values_per_row())
    rows, ess, how = 0, 0.0, "forward"
    with atomic_text_writer(out) as fh:
        for k, start in enumerate(range(0, args.n, chunk)):
            m = min(chunk, args.n - start)
            df = model.sample(m, evidence=evidence or None, seed=_chunk_seed(args.seed, k))
            df.to_csv(fh, index=False, header=(k == 0))
            rows += len(df)
            how = df.attrs.get("method", "forward")
            ess += float(df.attrs.get("ess", 0.0))
    extra = f", effective sample size {ess:.1f}" if ess else ""
    chunks = -(-args.n // chunk)
    streamed = f", in {chunks} chunks of up to {chunk} rows" if chunks > 1 else ""
    print(f"wrote {rows} rows to {out} ({how} sampling{extra}{streamed})")
    return 0


#: values (rows x values per row) drawn per chunk when ``pgm-ar sample`` streams to its CSV
SAMPLE_CHUNK_VALUES = 2_000_000


def _chunk_seed(seed: Optional[int], k: int) -> Optional[int]:
    """Chunk ``k``'s seed: the given one for the first chunk (so a sample that fits in one chunk
    is the one ``model.sample(n, seed=seed)`` draws), an independent one derived from it after."""
    if seed is None or k == 0:
        return seed
    import numpy as np

    return int(np.random.SeedSequence([int(seed) % 2 ** 64, k]).generate_state(1, np.uint64)[0]
               % 2 ** 63)


def cmd_query(args: argparse.Namespace) -> int:
    if args.data is not None:
        return _query_rows(args)
    if args.output is not None or args.force or args.device is not None:
        raise PgmArError("-o/--output, --force and --device go with --data (a CSV of "
                         "posteriors per row)")
    model = _load_run(args.run_dir, tables_ok=True)
    evidence = parse_evidence_args(args.evidence)
    if args.map:
        if args.method != "exact":
            raise PgmArError(f"--map is answered exactly; --method {args.method} estimates "
                             "marginals: leave one of them out")
        res = model.map_query(args.target or None, evidence or None)
        if args.json:
            _print_json({"map": res, "evidence": evidence})
        else:
            for k, v in res.items():
                print(f"{k} = {v}")
        return 0
    if args.all:
        if args.target or args.credible is not None or args.method != "exact":
            raise PgmArError("--all prints every variable's exact posterior: drop --target, "
                             "--credible and --method, or --all")
        if not callable(getattr(model, "marginals", None)) or not model.all_discrete:
            raise PgmArError(f"{args.run_dir}: --all needs a network of discrete variables")
        res = model.marginals(evidence or None)
    elif not args.target:
        raise PgmArError("give at least one --target, --all for every variable, or --map for "
                         "the most probable explanation")
    elif args.credible is not None:
        if args.method != "exact":
            raise PgmArError(f"--credible intervals come from exact answers; drop --method "
                             f"{args.method} or --credible")
        return _print_credible(args, model, evidence)
    else:
        res = model.query(list(args.target), evidence or None, method=args.method,
                          num_samples=args.num_samples, seed=args.seed)
    diagnostics = getattr(res, "diagnostics", None)  # approximate methods say how they fared
    if args.json:
        _print_json({"evidence": evidence, "marginals": res,
                     **({"diagnostics": diagnostics} if diagnostics else {})})
        return 0
    if diagnostics:
        print(", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                        for k, v in diagnostics.items()))
    given = ", ".join(f"{k}={v}" for k, v in evidence.items())
    for t, dist in res.items():
        print(f"p({t}{' | ' + given if given else ''}):")
        width = max(len(s) for s in dist)
        for state, p in dist.items():
            print(f"  {state:<{width}}  {p:.6f}")
    return 0


def _print_credible(args: argparse.Namespace, model, evidence: Dict[str, Any]) -> int:
    """``query --credible``: each state's probability with its credible interval."""
    if not callable(getattr(model, "parameter_posterior", None)):
        raise PgmArError(f"{args.run_dir}: --credible needs a run fitted with a prior "
                         f"('pgm-ar fit ... --prior bdeu'); given tables have no posterior")
    res = model.query(list(args.target), evidence or None, credible=args.credible)
    if args.json:
        _print_json({"evidence": evidence, "credible": args.credible,
                     "marginals": {t: {s: c._asdict() for s, c in d.items()}
                                   for t, d in res.items()}})
        return 0
    given = ", ".join(f"{k}={v}" for k, v in evidence.items())
    level = f"{100 * args.credible:g}%"
    for t, dist in res.items():
        print(f"p({t}{' | ' + given if given else ''}), {level} credible interval:")
        width = max(len(s) for s in dist)
        for state, c in dist.items():
            print(f"  {state:<{width}}  {c.estimate:.6f}  [{c.lo:.6f}, {c.hi:.6f}]")
    return 0


def _query_rows(args: argparse.Namespace) -> int:
    """``query --data rows.csv --target T``: the posterior of ``T`` for every row, as a CSV
    with one column per state of ``T`` (rows in the input's order), to ``-o`` or stdout."""
    from .errors import ImpossibleEvidenceError

    if args.map or args.evidence or args.all:
        raise PgmArError("--data takes neither --map, --all nor --evidence: each row of the "
                         "file is the evidence of its own posterior")
    if args.method != "exact" or args.credible is not None:
        raise PgmArError("--data posteriors are exact and without intervals: drop --method and "
                         "--credible, or query one evidence set with --evidence")
    if not args.target or len(args.target) != 1:
        raise PgmArError("--data needs exactly one --target: the variable whose posterior "
                         "each row gets")
    out = Path(args.output) if args.output else None
    if out is not None and out.exists() and not args.force:
        raise PgmArError(f"{out}: already exists; use --force to overwrite it")
    model = _load_run(args.run_dir, tables_ok=True)
    data = read_csv(args.data)
    try:
        post = model.predict_proba(data, args.target[0], device=args.device)
    except DataError as exc:
        raise _with_line(exc, args.data) from None
    except ImpossibleEvidenceError as exc:
        row = getattr(exc, "row", None)
        where = f" (in {args.data}, line {row + 2})" if row is not None else ""
        raise ImpossibleEvidenceError(exc.evidence, f"{exc}{where}") from None
    if out is None:
        post.to_csv(sys.stdout, index=False)
        return 0
    with atomic_text_writer(out) as fh:
        post.to_csv(fh, index=False)
    print(f"wrote the posterior of {args.target[0]} for {len(post)} rows to {out}")
    return 0


# --------------------------------------------------------------------------- #
# parser
# --------------------------------------------------------------------------- #
def positive_int(text: str) -> int:
    """argparse type of counts that must be at least 1 (epochs, batch sizes, image counts):
    a bad value is a one-line usage error naming the option, not a failure deep inside."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def seed_int(text: str) -> int:
    """argparse type of ``--seed``: an integer from 0 to 2**63-1 (a larger one would fail
    deep inside torch)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed, got {text!r}") from None
    if not 0 <= value < 2 ** 63:
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to 2**63-1, got {text}")
    return value


def positive_float(text: str) -> float:
    """argparse type of rates that must be above 0 (``--lr``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def add_model_commands(subparsers: "argparse._SubParsersAction") -> None:
    """Add ``fit``, ``evaluate``, ``sample`` and ``query`` to the ``pgm-ar`` parser."""
    spec_help = ("a YAML/JSON spec, a BIF file (.bif, .bif.gz) or the name of an example "
                 "network (see 'pgm-ar examples')")

    model_help = ("a run directory made by 'pgm-ar fit', or a BIF/spec file or example network "
                  "name whose CPTs give every parameter (no fit needed)")
    data_dir_help = (f"image networks: an MNIST directory (IDX .gz files) or '{EMBEDDED}' "
                     "for the shipped 14x14 digits; the spec's image decides binary, "
                     "L-level or coloured digits")
    images_help = ("image networks: your own images, a directory of PNGs (optionally one "
                   "subdirectory per class) or an .npz with a uint8 array (N, H, W[, C])")
    p = subparsers.add_parser("fit", help="fit a network's conditionals to a CSV of rows or to "
                                          "digit images")
    p.add_argument("spec", help=spec_help)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="CSV with one column per variable")
    src.add_argument("--data-dir", help=data_dir_help)
    src.add_argument("--images", metavar="PATH",
                     help=images_help + "; 10%% are held out for validation")
    p.add_argument("--out", required=True, help="run directory to create")
    p.add_argument("--method", choices=["auto", "counts", "svi", "train"], default="auto",
                   help="closed form (counts), SVI, the training loop (train), or auto "
                        "(train for images, else counts when possible)")
    p.add_argument("--epochs", type=positive_int,
                   help=f"passes over the data (default 100 for SVI, {IMAGE_EPOCHS} for images)")
    p.add_argument("--batch-size", type=positive_int,
                   help=f"rows per step (default 1024 for SVI, {IMAGE_BATCH} for images)")
    p.add_argument("--lr", type=positive_float,
                   help=f"Adam learning rate (default 0.01 for SVI, {IMAGE_LR} for images)")
    p.add_argument("--seed", type=seed_int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default: %(default)s)")
    p.add_argument("--resume", action="store_true",
                   help="images: continue the run in --out from its last checkpoint")
    p.add_argument("--patience", type=positive_int, default=None,
                   help="images: stop after this many epochs without a better validation NLL")
    p.add_argument("--max-train", type=positive_int, default=None, metavar="N",
                   help="images: train on the first N training digits only (quick runs)")
    p.add_argument("--prior", metavar="PRIOR",
                   help="tables: a Dirichlet prior on every CPT row, 'bdeu', 'k2' or a number "
                        "> 0; the posterior is kept for credible intervals")
    p.add_argument("--ess", type=positive_float, metavar="N",
                   help="BDeu's equivalent sample size (default 1)")
    p.add_argument("--estimate", choices=["mean", "map"],
                   help="with --prior: the tables are the posterior mean (default) or mode")
    p.add_argument("--force", action="store_true", help="overwrite an existing run directory")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_fit)

    p = subparsers.add_parser("evaluate", help="log-likelihood of CSV rows (or test NLL of "
                                               "digit images) under a fitted model")
    p.add_argument("run_dir", metavar="MODEL", help=model_help)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="CSV with one column per variable")
    src.add_argument("--data-dir", help=data_dir_help + " (scores the test set, or the "
                                                        "validation part of the embedded digits)")
    src.add_argument("--images", metavar="PATH", help=images_help + " (scores all of them)")
    p.add_argument("--device", default="auto", help="images: auto, cpu or cuda")
    p.add_argument("--batch-size", type=positive_int, default=500,
                   help="images per pass (default 500)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (on a terminal) or progress lines (in logs and pipes)")
    p.set_defaults(func=cmd_evaluate)

    p = subparsers.add_parser("sample", help="draw rows from a fitted model (given evidence), "
                                             "or a picture grid of images")
    p.add_argument("run_dir", metavar="MODEL", help=model_help)
    p.add_argument("-n", type=positive_int, required=True,
                   help="number of rows (images: with per-label rows, about n/10 per label)")
    p.add_argument("-o", "--output", required=True,
                   help="CSV file to write (images: a .png, .svg or .pdf grid)")
    p.add_argument("--evidence", nargs="+", metavar="NAME=STATE", help="condition on these")
    p.add_argument("--label", default=None,
                   help="images: sample this state of the image's label (same as --evidence)")
    p.add_argument("--per-class", type=positive_int, default=None,
                   help="images: samples per label row when no evidence is given")
    p.add_argument("--nrow", type=positive_int, default=None, help="images: images per grid row")
    p.add_argument("--seed", type=seed_int, default=None, help="random seed")
    p.add_argument("--force", action="store_true", help="overwrite the output file")
    p.set_defaults(func=cmd_sample)

    p = subparsers.add_parser("query", help="posterior marginals (or MAP) given evidence")
    p.add_argument("run_dir", metavar="MODEL", help=model_help)
    p.add_argument("--target", action="append", metavar="NAME",
                   help="variable to query (repeatable)")
    p.add_argument("--evidence", nargs="+", metavar="NAME=STATE", help="condition on these")
    p.add_argument("--map", action="store_true",
                   help="most probable states of the targets (all variables if none given)")
    p.add_argument("--all", action="store_true",
                   help="the posterior of every variable, from one junction tree calibration")
    p.add_argument("--credible", type=float, metavar="LEVEL",
                   help="with a run fitted with --prior: each probability's credible interval "
                        "at this level, e.g. 0.9")
    p.add_argument("--method", default="exact",
                   help="exact, or likelihood_weighting, gibbs or loopy_bp: approximate, for "
                        "networks too dense for exact inference (default: %(default)s)")
    p.add_argument("--num-samples", type=positive_int, default=100_000, metavar="N",
                   help="samples of likelihood_weighting and gibbs (default: %(default)s)")
    p.add_argument("--seed", type=seed_int, default=0,
                   help="seed of likelihood_weighting and gibbs (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--data", default=None, metavar="ROWS.csv",
                   help="the posterior of the one --target for every row of this CSV (empty "
                        "cells are unobserved); one column per state, rows in order")
    p.add_argument("-o", "--output", default=None,
                   help="with --data: CSV file to write (default: standard output)")
    p.add_argument("--force", action="store_true", help="with --data: overwrite the output file")
    p.add_argument("--device", default=None, metavar="DEV",
                   help="with --data: where the rows are contracted: numpy, cpu, cuda (torch "
                        "there) or auto: cuda for large files when present, else numpy "
                        "(default: auto)")
    p.set_defaults(func=cmd_query)
