"""Distributed training on CPU: one process against two processes launched by ``torchrun``.

Run:  python benchmarks/bench_ddp.py  [--images 6000] [--epochs 1] [--hidden 500] [--out DIR]

Setting: NADE (H = ``--hidden``) on the first ``--images`` MNIST training images, dynamic
binarization, global batch 100, Adam, one thread per process (``OMP_NUM_THREADS=1``).  The
same seeded run is done twice, in this process and as two gloo processes under ``torchrun``
(each trains on half of every global batch and all-reduces the gradients); printed are the
wall times of ``fit`` (after a short warm-up fit in each process), their ratio, and the largest difference between the two sets of final
weights (float rounding only: the global batch does not depend on the number of processes).

On a 2-core machine the ratio is bounded by 2; whatever the other processes on the machine
take from the second core shows up in it, so compare runs made close together.
"""
from __future__ import annotations

import argparse
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch starts its thread pool

import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pgm_ar.conditionals.nade import NADE  # noqa: E402
from pgm_ar.datasets import DynamicBinarization, load_mnist  # noqa: E402
from pgm_ar.training import fit  # noqa: E402
from pgm_ar.utils.atomic import atomic_write_text  # noqa: E402
from pgm_ar.variables import Image  # noqa: E402


def train(args: argparse.Namespace) -> tuple:
    """One seeded fit; returns (seconds, state_dict, history)."""
    torch.set_num_threads(1)
    x, _ = load_mnist(args.data_dir, "train")
    x = x[:args.images]
    settings = dict(batch_size=100, lr=1e-3, device="cpu", seed=3, progress=False,
                    transform=DynamicBinarization(),
                    log_prob_fn=lambda m, b: m({}, batch_size=b.shape[0]).log_prob(b))
    # warm-up on a throw-away model: the first fit pays one-off costs (imports, the first
    # process group, kernel caches) that are not what this benchmark compares
    fit(NADE(hidden=args.hidden).build(Image("digit", (1, 28, 28)), []), x[:200], epochs=1,
        **settings)
    torch.manual_seed(0)
    model = NADE(hidden=args.hidden).build(Image("digit", (1, 28, 28)), [])
    t0 = time.perf_counter()
    history = fit(model, x, epochs=args.epochs, **settings)
    seconds = time.perf_counter() - t0
    return seconds, {k: v.clone() for k, v in model.state_dict().items()}, history


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    p.add_argument("--images", type=int, default=6000, help="training images (default 6000)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--hidden", type=int, default=500)
    p.add_argument("--out", default=None, help="also write the report to OUT/bench_ddp.txt")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)  # set under torchrun
    args = p.parse_args()

    if args.worker is not None:  # one of the two torchrun processes
        seconds, state, history = train(args)
        if int(os.environ["RANK"]) == 0:
            torch.save({"seconds": seconds, "state": state,
                        "train_nll": history.train_nll}, args.worker)
        return

    one_s, one_state, one_hist = train(args)
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "rank0.pt"
        env = dict(os.environ, OMP_NUM_THREADS="1")
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
               "--master_addr", "127.0.0.1", "--master_port", str(free_port()), __file__,
               "--data-dir", args.data_dir, "--images", str(args.images), "--epochs", str(args.epochs),
               "--hidden", str(args.hidden), "--worker", str(result)]
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True)
        launch_s = time.perf_counter() - t0
        two = torch.load(result, weights_only=False)
    diff = max(float((one_state[k] - two["state"][k]).abs().max()) for k in one_state)
    lines = [
        f"NADE H={args.hidden}, {args.images} MNIST images, {args.epochs} epoch(s), global batch 100,"
        f" 1 thread per process, torch {torch.__version__}, {platform.machine()}, "
        f"{os.cpu_count()} cores",
        f"one process          fit {one_s:7.2f} s   train NLL {one_hist.train_nll[-1]:.4f}",
        f"two processes (DDP)  fit {two['seconds']:7.2f} s   train NLL "
        f"{two['train_nll'][-1]:.4f}   (torchrun wall incl. start-up {launch_s:.2f} s)",
        f"speed-up of fit: {one_s / two['seconds']:.2f}x",
        f"largest weight difference one vs two processes: {diff:.2e}",
    ]
    report = "\n".join(lines)
    print(report)
    if args.out:
        atomic_write_text(Path(args.out) / "bench_ddp.txt", report + "\n")


if __name__ == "__main__":
    main()
