"""Hill climbing with BIC: pgm_ar against pgmpy 1.x ``HillClimbSearch``, side by side.

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/bench_learning_hc.py \
        [--nets alarm insurance child hepar2 win95pts] [--rows 10000 100000] [--cap 40] \
        [--uncapped hepar2] [--out benchmarks/results/bench_learning_hc.txt]

The default run takes about 8 minutes on a shared 2-core machine, most of it pgmpy's capped
runs; ``--uncapped NET`` adds an uncapped pgmpy run per network (minutes each).

For each network (alarm, insurance and child ship with pgm_ar; hepar2, win95pts and the others
are read from pgmpy's own ``utils/example_models`` folder) and each number of rows, the script
draws the rows from the true network by ancestral sampling (numpy, seed 0), then learns a DAG
from the same pandas DataFrame (categorical columns) with

* pgm_ar, plain: ``pgm_ar.learning.hill_climb(df, score="bic")``, the same greedy search as
  pgmpy's, time from the DataFrame (encoding included), median of 3 runs;
* pgm_ar, tabu: the same with ``patience=10`` (a tabu walk of up to 10 non-improving moves past
  each local optimum) and ``restarts=5`` (seed 0), one run;
* pgmpy: ``HillClimbSearch(df).estimate(scoring_method="bic-d")`` with its defaults (tabu
  length 100, epsilon 1e-4, no in-degree limit), one run, stopped at ``--cap`` seconds; when
  that happens its time reads ``>cap`` and its SHD and BIC (marked ``*``) are those of the
  DAG it had reached, an unfinished search.

Both start from the empty DAG, use the same tabu length and stop when no move gains more than
1e-4.  The table gives both times, the speed-up (pgmpy / ours; ``>`` when pgmpy hit the cap),
the structural Hamming distance of each result to the true DAG (additions + deletions +
reversals) and the BIC of each result (pgm_ar's score; higher is better).
"""
from __future__ import annotations

import argparse
import logging
import os
import platform
import signal
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pgm_ar  # noqa: E402
from pgm_ar.learning import Score, hill_climb  # noqa: E402
from pgm_ar.learning.structure_diff import shd  # noqa: E402


def load_net(name: str):
    if name in pgm_ar.example_networks():
        return pgm_ar.example_network(name)
    import pgmpy

    path = Path(pgmpy.__file__).parent / "utils" / "example_models" / f"{name}.bif.gz"
    return pgm_ar.read_bif(path)


def sample_frame(net, n: int, seed: int = 0) -> pd.DataFrame:
    """Ancestral sampling from the CPTs with numpy; categorical columns of state names."""
    rng = np.random.default_rng(seed)
    cols = {}
    for name in net.topological_order():
        cpd = net.cpd(name)
        cfg = np.zeros(n, dtype=np.int64)
        for p, card in zip(cpd.parents, cpd.parent_cardinalities):
            cfg = cfg * card + cols[p]
        cdf = np.cumsum(cpd.probs.reshape(-1, cpd.cardinality), axis=1)
        cols[name] = np.minimum((rng.random(n)[:, None] > cdf[cfg]).sum(axis=1),
                                cpd.cardinality - 1)
    return pd.DataFrame({
        v: pd.Categorical.from_codes(cols[v], categories=list(net.variable(v).states))
        for v in net.names})


class _Cap(Exception):
    pass


def _on_alarm(signum, frame):  # noqa: ARG001
    raise _Cap()


def run_pgmpy(df: pd.DataFrame, cap: float):
    """pgmpy's time, its DAG's edges, and whether the cap stopped it (then the edges are
    those of the DAG it had reached: each iteration hands its current DAG to
    ``_legal_operations``, which this subclass remembers)."""
    from pgmpy.estimators import HillClimbSearch

    class Watched(HillClimbSearch):
        current = None

        def _legal_operations(self, model, *args, **kwargs):
            self.current = model
            return super()._legal_operations(model, *args, **kwargs)

    search = Watched(df)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, cap)
    t = time.perf_counter()
    try:
        dag = search.estimate(scoring_method="bic-d", show_progress=False)
        capped = False
    except _Cap:
        dag, capped = search.current, True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    took = time.perf_counter() - t
    edges = [] if dag is None else [(str(a), str(b)) for a, b in dag.edges()]
    return took, edges, capped


def run_ours(df: pd.DataFrame, repeats: int, **options):
    times, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = hill_climb(df, score="bic", epsilon=1e-4, tabu_length=100, fit=False,
                            **options)
        times.append(time.perf_counter() - t)
    return statistics.median(times), list(result.net.edges)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nets", nargs="+", default=["alarm", "insurance", "child", "hepar2",
                                                  "win95pts"])
    ap.add_argument("--rows", nargs="+", type=int, default=[10_000, 100_000])
    ap.add_argument("--cap", type=float, default=40.0, help="pgmpy's time cap per run (s)")
    ap.add_argument("--repeats", type=int, default=3, help="our runs per case (median)")
    ap.add_argument("--uncapped", nargs="*", default=[], metavar="NET",
                    help="after the table, run pgmpy without a cap on these networks at the "
                         "smallest --rows (minutes each on the larger ones)")
    ap.add_argument("--out", help="also write the table here")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    import pgmpy

    lines = [f"hill climbing, BIC, from the empty DAG: pgm_ar {pgm_ar.__version__} vs pgmpy "
             f"{pgmpy.__version__}; python {platform.python_version()}, "
             f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
             f"{os.cpu_count()} cores (shared machine); pgmpy capped at {args.cap:g} s",
             "run: " + " ".join(["bench_learning_hc.py"] + (argv if argv is not None
                                                           else sys.argv[1:])),
             "times in seconds (ours plain: median of %d runs; ours tabu (patience 10, 5 "
             "restarts) and pgmpy: one run); speed-up = pgmpy / ours plain; SHD to the true "
             "DAG; BIC of the result (higher is better)" % args.repeats, ""]
    head = (f"{'network':<10} {'vars':>4} {'edges':>5} {'rows':>7} | {'ours s':>7} "
            f"{'tabu s':>7} {'pgmpy s':>9} {'speed-up':>9} | {'SHD ours':>8} {'tabu':>5} "
            f"{'pgmpy':>6} | {'BIC ours':>13} {'BIC tabu':>13} {'BIC pgmpy':>13}")
    lines += [head, "-" * len(head)]
    print("\n".join(lines), flush=True)
    ratios = []
    for name in args.nets:
        net = load_net(name)
        for n in args.rows:
            df = sample_frame(net, n)
            ours_t, ours_e = run_ours(df, args.repeats)
            tabu_t, tabu_e = run_ours(df, 1, patience=10, restarts=5, seed=0)
            theirs_t, theirs_e, capped = run_pgmpy(df, args.cap)
            score = Score(df, "bic")
            ratio = theirs_t / ours_t
            ratios.append(ratio)
            row = (f"{name:<10} {len(net):>4} {net.num_edges:>5} {n:>7} | {ours_t:>7.2f} "
                   f"{tabu_t:>7.2f} {('>' if capped else '') + f'{theirs_t:.1f}':>9} "
                   f"{('>' if capped else '') + f'{ratio:.0f}x':>9} | "
                   f"{shd(ours_e, net):>8} {shd(tabu_e, net):>5} "
                   f"{str(shd(theirs_e, net)) + ('*' if capped else ''):>6} | "
                   f"{score.network(ours_e):>13,.1f} {score.network(tabu_e):>13,.1f} "
                   f"{format(score.network(theirs_e), ',.1f') + ('*' if capped else ''):>14}")
            lines.append(row)
            print(row, flush=True)
    lines += ["", "* pgmpy stopped at the cap: SHD and BIC of the DAG it had reached",
              f"speed-up (pgmpy / ours plain): median {statistics.median(ratios):.0f}x, smallest "
                  f"{min(ratios):.0f}x (a capped pgmpy run counts at the cap, so its ratio is a "
                  "lower bound)"]
    print(lines[-1])
    if args.uncapped:
        n = min(args.rows)
        lines += ["", f"pgmpy without a cap, {n} rows (ours plain as in the table, median of "
                      f"{args.repeats}):"]
        print(lines[-1], flush=True)
    for name in args.uncapped:
        net = load_net(name)
        df = sample_frame(net, n)
        ours_t, ours_e = run_ours(df, args.repeats)
        theirs_t, theirs_e, _ = run_pgmpy(df, 24 * 3600.0)
        score = Score(df, "bic")
        lines.append(f"  {name}: pgmpy {theirs_t:.1f} s, SHD {shd(theirs_e, net)}, BIC "
                     f"{score.network(theirs_e):,.1f}; ours {ours_t:.2f} s, SHD "
                     f"{shd(ours_e, net)}, BIC {score.network(ours_e):,.1f}; speed-up "
                     f"{theirs_t / ours_t:.0f}x")
        print(lines[-1], flush=True)
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
