"""Batched posteriors on ALARM: the numpy contractions against torch on a device.

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/bench_batched_device.py \\
        [--rows 10000] [--devices numpy cpu] [--reps 5] [--out benchmarks/results]

On a GPU machine (``benchmarks/gpu_all.sh`` runs it so)::

    python benchmarks/bench_batched_device.py --rows 1000 10000 100000 --devices numpy cuda

For each row count: rows forward-sampled from ALARM's CPTs (seed 3), 30% of the values
blanked (seed 4), and the posterior of ``HYPOVOLEMIA`` for every row by
``pgm_ar.inference.batched_query(..., device=D)`` for each device ``D``.  The first call per
device (``first``: plan building, and on CUDA the moving of the CPTs and codes, after one
call that starts CUDA) is timed apart from the median of ``--reps`` further calls
(``median``; plans cached).  Times are CPU seconds of the process (``process_time``: a
shared machine's other load does not count) unless a CUDA device is measured, then wall
seconds (``perf_counter``; the answer comes back to the host, so the GPU's work is finished
when the clock stops).  ``max |diff|`` is the largest
difference to the numpy answers; above 1e-10 the script exits with status 1.  The table goes
to standard output and to ``<out>/bench_batched_device_<last device>.txt``.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch/numpy start their thread pools

import numpy as np  # noqa: E402
import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pgm_ar  # noqa: E402
from pgm_ar import inference as inf  # noqa: E402
from pgm_ar.inference import batched as batched_module  # noqa: E402

TARGET = "HYPOVOLEMIA"
TOLERANCE = 1e-10


def rows_of(net, tables, n: int):
    rows = inf.forward_sample(net, tables, n, generator=torch.Generator().manual_seed(3))
    rng = np.random.default_rng(4)
    return {k: np.where(rng.random(n) < 0.3, -1, v.numpy()) for k, v in rows.items()}


def timed(fn, reps: int, clock):
    t = clock()
    out = fn()
    first = clock() - t
    times = []
    for _ in range(reps):
        t = clock()
        fn()
        times.append(clock() - t)
    return out, first, statistics.median(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000])
    ap.add_argument("--devices", nargs="+", default=["numpy", "cpu"])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    args = ap.parse_args(argv)
    devices = list(dict.fromkeys(["numpy", *args.devices]))  # numpy first: the reference
    wall = any(d.startswith("cuda") for d in devices)
    clock = time.perf_counter if wall else time.process_time
    lines = [f"batched posteriors of {TARGET} on alarm, 30% of values missing; "
             f"{'wall' if wall else 'CPU'} s, first call and median of {args.reps}",
             f"python {platform.python_version()}, torch {torch.__version__}, numpy "
             f"{np.__version__}, threads {torch.get_num_threads()}, "
             f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, {platform.machine()}"]
    if torch.cuda.is_available():
        lines.append(f"gpu: {torch.cuda.get_device_name(0)}")
        torch.ones(1, device="cuda").sum().item()  # start CUDA outside every timing
    lines.append(f"auto picks cuda from {batched_module.AUTO_CUDA_ROWS} rows when present")
    lines.append(f"{'rows':>8}  {'device':<7} {'first s':>9} {'median s':>9} "
                 f"{'rows/s':>11} {'vs numpy':>9} {'max |diff|':>11}")
    print("\n".join(lines), flush=True)
    ok = True
    net = pgm_ar.example_network("alarm")
    tables = inf.tables_from_net(net)
    for n in args.rows:
        codes = rows_of(net, tables, n)
        ref, base = None, None
        for dev in devices:
            inf.network_structure(net).plans.clear()  # the first call builds its plans
            post, first, med = timed(
                lambda: inf.batched_query(net, tables, TARGET, codes, device=dev), args.reps, clock)
            if ref is None:
                ref, base = post, med
            diff = float((post - ref).abs().max())
            ok &= diff <= TOLERANCE
            line = (f"{n:>8}  {dev:<7} {first:>9.4f} {med:>9.4f} {n / med:>11,.0f} "
                    f"{base / med:>8.2f}x {diff:>11.1e}")
            lines.append(line)
            print(line, flush=True)
    lines.append("all answers within 1e-10 of numpy" if ok else
                 "FAILED: an answer differs from numpy by more than 1e-10")
    print(lines[-1])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"bench_batched_device_{devices[-1]}.txt").write_text("\n".join(lines) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
