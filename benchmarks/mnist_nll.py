"""Binarized-MNIST test NLL of one autoregressive family (NADE, MADE, FVSBN, AR-k, PixelCNN,
Row LSTM, Diagonal BiLSTM).

Run from the repository root, e.g.::

    OMP_NUM_THREADS=1 python benchmarks/mnist_nll.py --family nade --time-limit-min 15
    python benchmarks/mnist_nll.py --family made --num-masks 32 --device cuda --time-limit-min 4
    python benchmarks/mnist_nll.py --family pixelcnn --gated --hidden 64 --layers 7 --device cuda
    python benchmarks/mnist_nll.py --family diagbilstm --hidden 16 --layers 7 --device cuda

Protocol (the numbers are comparable in kind, not in training budget, to the published ones):

* data: the 60,000 MNIST training images of ``--data-dir`` (IDX gzip files, checksums verified);
  the last 10,000 are the validation set, the first 50,000 the training set;
* training images are binarized stochastically (pixel ~ Bernoulli(grey / 255)) afresh every
  epoch (dynamic binarization); the validation images once, with seed 1;
* the test NLL is measured on the 10,000 MNIST test images binarized **once, stochastically,
  with seed 0** (:func:`pgm_ar.datasets.binarized_mnist_test`) -- a fixed stochastic
  binarization like Murray & Salakhutdinov's, but not their exact file, so differences of a
  few tenths of a nat against published numbers are within what the binarization draw alone
  can move;
* Adam, cosine learning-rate schedule over ``--epochs``, early stopping on the validation NLL
  (``--patience`` epochs), and the weights of the best validation epoch are the ones tested;
* ``--time-limit-min`` stops training after the epoch at which another epoch would overrun
  the limit; without ``--epochs`` the number of epochs (and so the cosine schedule) is
  sized to the limit from a short timing probe.  The best weights are then evaluated.

Reported (stdout, and ``<out>/mnist_<name>_<device>.{txt,json,csv,png}``): test NLL in nats
per image with its standard error, bits/dim, best validation NLL, epochs, wall times, device,
threads, parameter count, the independent-pixel baseline, and the published anchors.  MADE
with ``--num-masks K > 1`` reports the ensemble (probabilities averaged over the K masks:
log-mean-exp of the members' likelihoods) and every single member.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch starts its thread pool

import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pgm_ar.conditionals import get_family  # noqa: E402
from pgm_ar.conditionals.ark import ARk  # noqa: E402
from pgm_ar.conditionals.fvsbn import FVSBN  # noqa: E402
from pgm_ar.conditionals.made import MADE  # noqa: E402
from pgm_ar.conditionals.nade import NADE  # noqa: E402
from pgm_ar.datasets import (DynamicBinarization, binarize, binarized_mnist_test,  # noqa: E402
                             load_mnist, train_valid_split)
from pgm_ar.errors import PgmArError  # noqa: E402
from pgm_ar.training import History, fit  # noqa: E402
from pgm_ar.utils.atomic import atomic_write_text  # noqa: E402
from pgm_ar.utils.devices import resolve_device  # noqa: E402
from pgm_ar.variables import Image  # noqa: E402

D = 784
LN2 = math.log(2.0)
VALID_SEED = 1  # the validation images are binarized once with this seed (test: seed 0)

# Published test NLLs (nats) on binarized MNIST, fixed binarization (see REFERENCES.md).
ANCHORS: Dict[str, List[tuple]] = {
    "nade": [("NADE, H=500 (Larochelle & Murray 2011)", 88.86),
             ("NADE (Uria et al.)", 88.33)],
    "made1": [("MADE, 1 hidden layer, 1 mask (Germain et al. 2015)", 88.40)],
    "madeK": [("MADE, 1 hidden layer, 32-mask ensemble (Germain et al. 2015)", 88.04),
              ("MADE, 2 hidden layers, 32-mask ensemble (Germain et al. 2015)", 86.64)],
    "fvsbn": [("FVSBN (Larochelle & Murray 2011 table; issue: about 96-100)", 97.45)],
    "ark": [],
    "pixelcnn": [("PixelCNN (van den Oord et al. 2016, Table 4)", 81.30),
                 ("PixelCNN, dynamic binarization of train and test (public model zoo)", 81.45)],
    "pixelcnn-gated": [("Gated PixelCNN, dynamic binarization of train and test (public model "
                        "zoo)", 81.50)],
    "diagbilstm": [("Diagonal BiLSTM, 1 layer, h = 32 (van den Oord et al. 2016)", 80.75),
                   ("Diagonal BiLSTM, 7 layers, h = 16 (van den Oord et al. 2016)", 79.20)],
    "rowlstm": [],  # no published MNIST figure; on CIFAR-10 it sits between the two above
}


def log_prob_fn(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``log p(x)`` per image: the conditional is a root node, so no parent values."""
    return model({}, batch_size=x.shape[0]).log_prob(x)


def build(args: argparse.Namespace) -> tuple:
    """(family config, module, run name)."""
    image = Image("x", (1, 28, 28))
    if args.family == "nade":
        fam, name = NADE(hidden=args.hidden[0]), "nade"
    elif args.family == "made":
        fam = MADE(hidden=tuple(args.hidden), num_masks=args.num_masks,
                   natural_ordering=args.natural_ordering)
        name = "made" if args.num_masks == 1 else f"made{args.num_masks}"
    elif args.family == "fvsbn":
        fam, name = FVSBN(), "fvsbn"
    elif args.family == "ark":
        fam, name = ARk(k=args.k), f"ark{args.k}"
    elif args.family == "pixelcnn":
        fam = get_family("pixelcnn")(channels=args.hidden[0], layers=args.layers,
                                     first_kernel=args.first_kernel, gated=args.gated)
        name = "gated_pixelcnn" if args.gated else "pixelcnn"
    else:  # rowlstm, diagbilstm
        fam = get_family(args.family)(hidden=args.hidden[0], layers=args.layers,
                                      first_kernel=args.first_kernel)
        name = args.family
    return fam, fam.build(image, []), (args.tag or name)


def sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


@torch.no_grad()
def per_example_log_prob(model: torch.nn.Module, x: torch.Tensor, dev: torch.device,
                         batch_size: int) -> torch.Tensor:
    """``log p`` of every image (float64, CPU), eval mode, float32, no autocast."""
    was = model.training
    model.eval()
    out = []
    try:
        for s in range(0, len(x), batch_size):
            xb = x[s:s + batch_size].to(dev, non_blocking=True)
            out.append(log_prob_fn(model, xb).double().cpu())
    finally:
        model.train(was)
    return torch.cat(out)


def nll_stats(lp: torch.Tensor) -> Dict[str, float]:
    nll = -lp
    return {"nll_nats": float(nll.mean()),
            "nll_se": float(nll.std() / math.sqrt(len(nll))),
            "bits_per_dim": float(nll.mean()) / (D * LN2)}


def independent_baseline(train_grey: torch.Tensor, test_bin: torch.Tensor) -> float:
    """Test NLL of independent Bernoulli pixels at their MLE under dynamic binarization
    (p_j = mean grey / 255 over the training images): a closed-form floor to beat."""
    p = (train_grey.double() / 255.0).mean(0).reshape(-1).clamp(1e-6, 1 - 1e-6)
    x = test_bin.double().reshape(len(test_bin), -1)
    lp = x @ torch.log(p) + (1 - x) @ torch.log1p(-p)
    return float(-lp.mean())


def probe_epoch_seconds(model: torch.nn.Module, train_grey: torch.Tensor, n_valid: int,
                        args: argparse.Namespace, dev: torch.device) -> float:
    """Seconds per epoch (training steps plus validation), timed on a throwaway copy."""
    m = copy.deepcopy(model).to(dev)
    opt = torch.optim.Adam(m.parameters(), lr=args.lr)
    gen = torch.Generator(device=dev).manual_seed(12345)
    xb = train_grey[:args.batch_size].to(dev)
    tf = DynamicBinarization()

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16,
                            enabled=args.amp and dev.type == "cuda"):
            loss = -log_prob_fn(m, tf(xb, gen)).mean()
        loss.backward()
        opt.step()

    m.train()
    for _ in range(2):  # warm-up (allocator, kernels, cuDNN/cuBLAS handles)
        step()
    sync(dev)
    reps = 3 if dev.type == "cpu" else 20
    t0 = time.perf_counter()
    for _ in range(reps):
        step()
    sync(dev)
    t_step = (time.perf_counter() - t0) / reps
    vb = binarize(train_grey[:args.eval_batch_size]).to(dev)
    per_example_log_prob(m, vb, dev, args.eval_batch_size)  # warm-up
    sync(dev)
    t0 = time.perf_counter()
    per_example_log_prob(m, vb, dev, args.eval_batch_size)
    sync(dev)
    t_eval = (time.perf_counter() - t0) / len(vb)
    steps = math.ceil(len(train_grey) / args.batch_size)
    return steps * t_step + n_valid * t_eval


def anchors_for(args: argparse.Namespace) -> List[tuple]:
    if args.family == "made":
        return ANCHORS["made1" if args.num_masks == 1 else "madeK"]
    if args.family == "pixelcnn" and args.gated:
        return ANCHORS["pixelcnn-gated"]
    return ANCHORS[args.family]


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--family", required=True, choices=["nade", "made", "fvsbn", "ark",
                                                         "pixelcnn", "rowlstm", "diagbilstm"])
    ap.add_argument("--layers", type=int, default=None, help="PixelCNN / Row LSTM / Diagonal "
                    "BiLSTM: layers after the first masked convolution (default: the family's)")
    ap.add_argument("--first-kernel", type=int, default=7, help="grid families: first (mask A) "
                    "convolution size")
    ap.add_argument("--gated", action="store_true", help="PixelCNN: the gated variant")
    ap.add_argument("--hidden", type=int, nargs="+", default=[500],
                    help="hidden units (NADE: one size; MADE: one size per layer)")
    ap.add_argument("--num-masks", type=int, default=1, help="MADE: mask sets (K > 1: "
                    "order-agnostic training, evaluated as the K-member ensemble)")
    ap.add_argument("--natural-ordering", action="store_true",
                    help="MADE: all masks keep the raster ordering (connectivity-agnostic only)")
    ap.add_argument("--k", type=int, default=1, help="AR-k: Markov order along the ordering")
    ap.add_argument("--epochs", type=int, default=None, help="default: sized to "
                    "--time-limit-min by a timing probe, or 100 without a limit")
    ap.add_argument("--time-limit-min", type=float, default=None,
                    help="stop training after the epoch past which another would overrun this")
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--eval-batch-size", type=int, default=1000)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--lr-schedule", choices=["cosine", "none"], default="cosine")
    ap.add_argument("--patience", type=int, default=10, help="early-stopping patience (epochs)")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=None,
                    help="torch.set_num_threads (default: OMP_NUM_THREADS, else 1)")
    ap.add_argument("--amp", action="store_true", help="bf16 autocast for training on CUDA "
                    "(validation and test are always float32)")
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    ap.add_argument("--max-train", type=int, default=None, help="use the first N training images")
    ap.add_argument("--max-valid", type=int, default=None, help="use the first N validation images")
    ap.add_argument("--max-test", type=int, default=None, help="score the first N test images "
                    "only (dry runs of the pipeline; reported NLLs then are not the test NLL)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    ap.add_argument("--tag", default=None, help="run name in the output files "
                    "(default: nade, made, made<K>, fvsbn, ark<k>)")
    ap.add_argument("--checkpoint-dir", default=None, help="checkpoint every epoch here")
    args = ap.parse_args(argv)
    t_start = time.perf_counter()

    threads = args.threads or int(os.environ.get("OMP_NUM_THREADS", "1") or 1)
    torch.set_num_threads(threads)
    dev = resolve_device(args.device)
    if args.layers is None:
        args.layers = {"pixelcnn": 7, "rowlstm": 2, "diagbilstm": 2}.get(args.family, 1)
    if args.family in ("pixelcnn", "rowlstm", "diagbilstm") and args.hidden == [500]:
        args.hidden = [{"pixelcnn": 64, "rowlstm": 32, "diagbilstm": 16}[args.family]]
    if args.family == "nade" and len(args.hidden) != 1:
        raise PgmArError(f"NADE has one hidden layer; got --hidden {args.hidden}")

    # ---- data
    t0 = time.perf_counter()
    grey, _ = load_mnist(args.data_dir, "train")
    train_grey, valid_grey = train_valid_split(grey)
    if args.max_train is not None:
        train_grey = train_grey[:args.max_train]
    if args.max_valid is not None:
        valid_grey = valid_grey[:args.max_valid]
    valid = binarize(valid_grey, seed=VALID_SEED)
    test, _ = binarized_mnist_test(args.data_dir, seed=0)
    if args.max_test is not None:
        test = test[:args.max_test]
    t_data = time.perf_counter() - t0
    baseline = independent_baseline(train_grey, test)

    fam, model, name = build(args)
    run = f"mnist_{name}_{dev.type}"
    n_params = model.num_parameters()
    print(f"[{run}] {fam!r}: {n_params:,} parameters; {len(train_grey)} train / "
          f"{len(valid)} valid / {len(test)} test images; device {dev}, threads "
          f"{torch.get_num_threads()}", flush=True)

    # ---- epochs: explicit, or sized to the time limit
    limit_s = None if args.time_limit_min is None else 60.0 * args.time_limit_min
    est_epoch_s = None
    epochs = args.epochs
    if limit_s is not None:
        est_epoch_s = probe_epoch_seconds(model, train_grey, len(valid), args, dev)
        if epochs is None:
            epochs = max(1, min(1000, int(0.97 * limit_s / est_epoch_s)))
        print(f"[{run}] probe: ~{est_epoch_s:.1f} s/epoch; {epochs} epochs planned within "
              f"{args.time_limit_min:g} min", flush=True)
    if epochs is None:
        epochs = 100

    # ---- training
    t_train0 = time.perf_counter()
    stop = {"reason": "epochs"}

    def on_epoch_end(epoch: int, hist: History) -> bool:
        elapsed = time.perf_counter() - t_train0
        print(f"[{run}] epoch {epoch}/{epochs}: train {hist.train_nll[-1]:.3f}, valid "
              f"{hist.val_nll[-1]:.3f} nats ({hist.seconds[-1]:.1f} s, {elapsed / 60:.1f} min)",
              flush=True)
        if limit_s is not None and epoch < epochs:
            # the next epoch would take about as long as the slowest one so far
            if elapsed + max(hist.seconds) > limit_s:
                stop["reason"] = "time limit"
                return True
        return False

    hist = fit(model, train_grey, valid, epochs=epochs, batch_size=args.batch_size, lr=args.lr,
               lr_schedule=None if args.lr_schedule == "none" else args.lr_schedule,
               device=dev, amp=args.amp, early_stopping_patience=args.patience,
               checkpoint_dir=args.checkpoint_dir, seed=args.seed, progress=False,
               transform=DynamicBinarization(), val_batch_size=args.eval_batch_size,
               on_epoch_end=on_epoch_end, log_prob_fn=log_prob_fn)
    if hist.stopped_early:
        stop["reason"] = "early stopping"
    sync(dev)
    t_train = time.perf_counter() - t_train0

    # ---- test (best-validation weights, restored by fit)
    t0 = time.perf_counter()
    lp = per_example_log_prob(model, test, dev, args.eval_batch_size)
    sync(dev)
    t_test = time.perf_counter() - t0
    result: Dict[str, Any] = {"test": nll_stats(lp)}
    if args.family == "made" and args.num_masks > 1:
        # every member alone (ensemble off), in mask order 0..K-1; mask 0 is the raster order
        model.ensemble = False
        members = {}
        for _ in range(args.num_masks):
            m = model.next_mask()
            members[m] = nll_stats(per_example_log_prob(model, test, dev,
                                                        args.eval_batch_size))["nll_nats"]
        model.ensemble = True
        member_nll = [members[m] for m in range(args.num_masks)]
        result["test_members_nll"] = member_nll
        result["test_member_mean_nll"] = sum(member_nll) / len(member_nll)

    anchors = anchors_for(args)
    test_nll = result["test"]["nll_nats"]
    summary: Dict[str, Any] = {
        "run": run, "family": fam.to_spec(), "parameters": n_params,
        "device": str(dev),
        "device_name": (torch.cuda.get_device_name(dev) if dev.type == "cuda"
                        else (platform.processor() or platform.machine())),
        "threads": torch.get_num_threads(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "torch": torch.__version__, "python": platform.python_version(),
        "data": {"dir": str(args.data_dir), "train": len(train_grey), "valid": len(valid),
                 "test": len(test),
                 "train_binarization": "dynamic stochastic (re-drawn every epoch)",
                 "valid_binarization": f"stochastic, fixed seed {VALID_SEED}",
                 "test_binarization": "stochastic, fixed seed 0 (binarized_mnist_test)"},
        "settings": {"epochs_planned": epochs, "batch_size": args.batch_size, "lr": args.lr,
                     "optimizer": "adam", "lr_schedule": args.lr_schedule,
                     "patience": args.patience, "time_limit_min": args.time_limit_min,
                     "amp": bool(args.amp and dev.type == "cuda"), "seed": args.seed,
                     "probe_epoch_seconds": est_epoch_s},
        "epochs_run": len(hist.epoch), "best_epoch": hist.best_epoch,
        "best_valid_nll": hist.best_val_nll, "stopped_by": stop["reason"],
        **result,
        "independent_pixels_test_nll": baseline,
        "seconds": {"data": t_data, "train": t_train, "test_eval": t_test,
                    "total": time.perf_counter() - t_start},
        "train_images_per_s": len(train_grey) * len(hist.epoch) / max(sum(hist.seconds), 1e-9),
        "test_images_per_s": len(test) / max(t_test, 1e-9),
        "anchors": [{"model": a, "test_nll": v, "gap": test_nll - v} for a, v in anchors],
        "history": hist.to_dict(),
    }

    # ---- outputs
    out = Path(args.out)
    text = render(summary)
    print(text, flush=True)
    atomic_write_text(out / f"{run}.txt", text + "\n")
    atomic_write_text(out / f"{run}.json", json.dumps(summary, indent=1) + "\n")
    hist.to_csv(out / f"{run}.csv")
    hist.plot(out / f"{run}.png", title=f"{run}: test NLL {test_nll:.2f} nats "
              f"(fixed-seed binarized test set)")
    return summary


def render(s: Dict[str, Any]) -> str:
    t, sec = s["test"], s["seconds"]
    st = s["settings"]
    lines = [
        f"# {s['run']}: binarized MNIST, {s['family']}",
        f"# device {s['device']} ({s['device_name']}), torch {s['torch']}, threads {s['threads']} "
        f"(OMP_NUM_THREADS={s['omp_num_threads']})",
        f"# data: {s['data']['train']} train (dynamic binarization) / {s['data']['valid']} valid "
        f"(seed {VALID_SEED}) / {s['data']['test']} test (stochastic binarization, fixed seed 0)",
        f"# adam lr {st['lr']}, batch {st['batch_size']}, schedule {st['lr_schedule']} over "
        f"{st['epochs_planned']} epochs, patience {st['patience']}, time limit "
        f"{st['time_limit_min']} min, amp {st['amp']}, seed {st['seed']}",
        f"parameters                 {s['parameters']:,}",
        f"epochs run                 {s['epochs_run']} (stopped by {s['stopped_by']}; best "
        f"epoch {s['best_epoch']})",
        f"best validation NLL        {s['best_valid_nll']:.2f} nats",
        f"test NLL                   {t['nll_nats']:.2f} +- {t['nll_se']:.2f} nats "
        f"({t['bits_per_dim']:.4f} bits/dim)",
    ]
    if "test_members_nll" in s:
        m = s["test_members_nll"]
        lines.append(f"  ensemble of {len(m)} masks (log-mean-exp of member likelihoods); single "
                     f"members: mean {s['test_member_mean_nll']:.2f}, raster-order mask 0 "
                     f"{m[0]:.2f}, best {min(m):.2f}, worst {max(m):.2f}")
    lines += [
        f"independent pixels (MLE)   {s['independent_pixels_test_nll']:.2f} nats (closed form, "
        "same test set)",
        f"wall time                  train {sec['train'] / 60:.1f} min, test {sec['test_eval']:.1f} s, "
        f"total {sec['total'] / 60:.1f} min",
        f"throughput                 training {s['train_images_per_s']:.0f} images/s (with "
        f"validation), test {s['test_images_per_s']:.0f} images/s",
    ]
    for a in s["anchors"]:
        lines.append(f"published: {a['model']:60s} {a['test_nll']:6.2f}  (ours "
                     f"{a['gap']:+.2f})")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
