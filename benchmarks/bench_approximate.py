"""Approximate inference against exact answers: error and time per query on pgmpy's networks.

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/bench_approximate.py \
        [--nets alarm insurance ...] [--out benchmarks/results/bench_approximate.txt]

For each network (read from pgmpy's package directory by ``pgm_ar.io.bif.read_bif``),
20 random queries: one target and 1-4 evidence variables whose states come
from one forward sample each (so the evidence is possible, and as likely as
the network makes it).  Each query is answered exactly
(``pgm_ar.inference.query``, the reference) and by every approximate method:

* ``likelihood_weighting`` -- 20,000 samples;
* ``gibbs`` -- 20,000 kept draws: 200 chains, 50 sweeps of burn-in, 100 kept;
* ``loopy_bp`` -- the defaults (damping 0.5, tol 1e-8, at most 500 iterations);
* pgmpy's ``ApproxInference`` -- 20,000 samples (rejection sampling given evidence,
  which is pgmpy's only approximate query for Bayesian networks: its
  ``BeliefPropagation`` is exact and its ``BeliefPropagationWithMessagePassing``
  refuses graphs with loops), given at most 10 s per query; a query over that
  is counted as a time-out and left out of its error columns.

Per method: the mean and the largest (over the queries) of the largest
absolute error over the target's states, and the CPU time per query
(``time.process_time``: the machine is shared, and CPU time is what one
query costs, whatever else runs).  A network is skipped where exact
inference takes over 5 s on a query.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import signal
import statistics
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch/numpy start their thread pools

import numpy as np  # noqa: E402
import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pgm_ar.utils.atomic import atomic_write_text  # noqa: E402
from pgm_ar import inference as inf  # noqa: E402
from pgm_ar.errors import InferenceTooLargeError  # noqa: E402
from pgm_ar.io.bif import read_bif  # noqa: E402

NETS = ["alarm", "insurance", "child", "hepar2", "win95pts", "hailfinder", "water", "andes",
        "pathfinder"]
N_QUERIES, N_SAMPLES = 20, 20_000
GIBBS = {"num_chains": 200, "burn_in": 50}
PGMPY_TIMEOUT_S, EXACT_LIMIT_S = 5, 5.0

warnings.filterwarnings("ignore")


class TimedOut(Exception):
    pass


def _alarm(signum, frame):
    raise TimedOut


def cpu(fn):
    """``(CPU seconds, result)`` of one call."""
    t0 = time.process_time()
    out = fn()
    return time.process_time() - t0, out


def queries_for(net, tables, seed: int):
    rng = random.Random(seed)
    names = list(net.names)
    rows = inf.forward_sample(net, tables, N_QUERIES, generator=torch.Generator().manual_seed(seed))
    out = []
    for i in range(N_QUERIES):
        chosen = rng.sample(names, rng.randint(1, 4) + 1)
        out.append((chosen[0], {e: int(rows[e][i]) for e in chosen[1:]}))
    return out


def bench(name: str, example_dir: Path, with_pgmpy: bool):
    path = example_dir / f"{name}.bif.gz"
    net = read_bif(path)
    tables = inf.tables_from_net(net)
    queries = queries_for(net, tables, seed=1)
    head = f"{name}: {len(net)} nodes, {net.num_edges} arcs"

    exact, t_exact = [], []
    for t, e in queries:
        try:
            dt, p = cpu(lambda: inf.query(net, tables, t, e))
        except InferenceTooLargeError as exc:
            return [f"{head}: skipped, exact inference refused ({exc})"]
        if dt > EXACT_LIMIT_S:
            return [f"{head}: skipped, exact inference took {dt:.1f} s on one query"]
        exact.append(p.numpy())
        t_exact.append(dt)

    rows = [("exact (variable elimination)", [0.0] * len(queries), t_exact, "reference")]
    for method in ("likelihood_weighting", "gibbs", "loopy_bp"):
        errs, times, notes = [], [], []
        for i, ((t, e), ref) in enumerate(zip(queries, exact)):
            opts = GIBBS if method == "gibbs" else {}
            dt, res = cpu(lambda: inf.approximate_query(
                net, tables, t, e, method=method, num_samples=N_SAMPLES,
                generator=torch.Generator().manual_seed(i), **opts))
            errs.append(float(np.abs(res.marginals[t].numpy() - ref).max()))
            times.append(dt)
            notes.append(res.effective_sample_size if method != "loopy_bp" else res.converged)
        if method == "loopy_bp":
            its = "converged on %d/%d" % (sum(bool(c) for c in notes), len(notes))
        else:
            its = "median ESS %.0f" % statistics.median(notes)
        rows.append((method, errs, times, its))

    if with_pgmpy:
        rows.append(pgmpy_row(net, path, queries, exact))

    lines = [head, f"  {'method':30s} {'mean err':>9s} {'max err':>9s} {'CPU s/query':>12s}  notes"]
    for method, errs, times, note in rows:
        if not errs:
            lines.append(f"  {method:30s} {'-':>9s} {'-':>9s} {'-':>12s}  {note}")
            continue
        lines.append(f"  {method:30s} {np.mean(errs):9.2e} {np.max(errs):9.2e} "
                     f"{np.mean(times):12.4f}  {note}")
    return lines


def pgmpy_row(net, path: Path, queries, exact):
    import gzip

    from pgmpy.inference import ApproxInference
    from pgmpy.readwrite import BIFReader

    with gzip.open(path, "rt") as fh:
        model = BIFReader(string=fh.read()).get_model()
    approx = ApproxInference(model)
    errs, times, timeouts, skipped = [], [], 0, 0
    old = signal.signal(signal.SIGPROF, _alarm)
    try:
        for i, ((t, e), ref) in enumerate(zip(queries, exact)):
            if timeouts >= 2:  # two time-outs: rejection sampling is hopeless on this network
                skipped += 1
                continue
            ev = {k: net.variable(k).states[v] for k, v in e.items()}
            states = list(net.variable(t).states)
            # a CPU-time limit (SIGPROF), fair on a shared machine where wall time is not
            signal.setitimer(signal.ITIMER_PROF, PGMPY_TIMEOUT_S)
            try:
                dt, f = cpu(lambda: approx.query([t], n_samples=N_SAMPLES, evidence=ev,
                                                 state_names={t: states}, show_progress=False,
                                                 seed=i))
            except TimedOut:
                timeouts += 1
                continue
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
            got = np.array([f.get_value(**{t: s}) for s in states])
            errs.append(float(np.abs(got - ref).max()))
            times.append(dt)
    finally:
        signal.signal(signal.SIGPROF, old)
    note = f"rejection sampling: {len(errs)} of {len(queries)} answered"
    if timeouts:
        note += f", {timeouts} timed out (> {PGMPY_TIMEOUT_S} CPU s)"
    if skipped:
        note += f", {skipped} not tried after two time-outs"

    return ("pgmpy ApproxInference", errs, times, note)


def main(argv=None) -> int:
    import pgmpy

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", nargs="+", default=NETS)
    ap.add_argument("--no-pgmpy", action="store_true", help="leave pgmpy's ApproxInference out")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" /
                                         "bench_approximate.txt"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    example_dir = Path(pgmpy.__file__).parent / "utils" / "example_models"
    lines = [
        "Approximate inference vs exact answers (20 random queries per network, 1-4 evidence)",
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, torch threads "
        f"{torch.get_num_threads()}; {os.cpu_count()} CPUs, "
        f"{platform.processor() or platform.machine()}",
        f"python {platform.python_version()}, torch {torch.__version__}, numpy {np.__version__}, "
        f"pgmpy {pgmpy.__version__}",
        f"likelihood_weighting and gibbs: {N_SAMPLES} samples (gibbs: {GIBBS['num_chains']} "
        f"chains, burn-in {GIBBS['burn_in']}); loopy_bp: defaults; pgmpy ApproxInference: "
        f"{N_SAMPLES} samples",
        "err = largest |p - exact| over the target's states; mean and max over the queries; "
        "CPU s/query = process time",
        "",
    ]
    t_start = time.perf_counter()
    for name in args.nets:
        block = bench(name, example_dir, not args.no_pgmpy)
        lines += block + [""]
        print("\n".join(block), flush=True)
    lines.append(f"total wall time {time.perf_counter() - t_start:.0f} s")
    text = "\n".join(lines) + "\n"
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, text)
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
