"""Hill climbing with BIC: pgm_ar against pgmpy 1.x ``HillClimbSearch``, side by side.

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/bench_learning_hc.py \
        [--nets alarm insurance child hepar2 win95pts] [--rows 10000 100000] [--cap 600] \
        [--hash-seed 0] [--spread child insurance] [--out benchmarks/results/bench_learning_hc.txt]

The default run takes about 20 minutes on a shared 2-core machine, nearly all of it pgmpy's
(hepar2 and win95pts at 100,000 rows take 4-8 minutes each); ``--spread`` adds four pgmpy runs
per network named.

For each network (alarm, insurance and child ship with pgm_ar; hepar2, win95pts and the others
are read from pgmpy's own ``utils/example_models`` folder) and each number of rows, the script
draws the rows from the true network by ancestral sampling (numpy, seed 0), then learns a DAG
from the same pandas DataFrame (categorical columns) with

* pgm_ar, default: ``pgm_ar.learning.hill_climb(df, score="bic")``: a tabu walk (patience 10,
  tabu length 100) with 10 restarts (seed 0) and a last greedy climb; time from the DataFrame
  (encoding included), median of ``--repeats`` runs;
* pgm_ar, plain: the same with ``patience=0, restarts=0, epsilon=1e-4``: greedy climbing with
  pgmpy's settings, one run;
* pgmpy: ``HillClimbSearch(df).estimate(scoring_method="bic-d")`` with its defaults (tabu
  length 100, epsilon 1e-4, no in-degree limit), one run in a child process (the same
  rows, drawn there with the same seed) with ``PYTHONHASHSEED=--hash-seed``, stopped at
  ``--cap`` seconds; when that happens its time reads ``>cap`` and its SHD and BIC (marked
  ``*``) are those of the DAG it had reached, an unfinished search.

pgmpy's result depends on the hash seed: its candidate moves come from a ``set`` of node
pairs, and ``max`` keeps the first of equal gains, so the seed breaks ties between equivalent
moves.  ``--spread NET ...`` reruns pgmpy on those networks at the smallest ``--rows`` with
hash seeds 1-4 and prints the range of its SHDs.

The table gives the times, the speed-up (pgmpy / ours default; ``>`` when pgmpy hit the cap),
the structural Hamming distance of each result to the true DAG (additions + deletions +
reversals), the SHD between the CPDAGs (the equivalence classes: BIC gives every DAG of a
class the same score, so a reversed edge inside the class is the search's luck, not the
data's; one per node pair on which the two partially directed graphs differ) and the BIC of
each result (pgm_ar's score; higher is better).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pgm_ar  # noqa: E402
from pgm_ar.learning import Score, hill_climb  # noqa: E402
from pgm_ar.learning.pc import cpdag_of, structural_hamming_distance  # noqa: E402
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


def _pgmpy_here(df: pd.DataFrame, cap: float):
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


def run_pgmpy(name: str, n: int, cap: float, hash_seed: int):
    """:func:`_pgmpy_here` in a child process with ``PYTHONHASHSEED=hash_seed`` (pgmpy's ties
    between equal gains follow the order of a ``set``, which the hash seed fixes)."""
    env = dict(os.environ, PYTHONHASHSEED=str(hash_seed))
    out = subprocess.run([sys.executable, __file__, "--pgmpy-worker", name, str(n), str(cap)],
                         env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"pgmpy worker for {name} {n} failed:\n{out.stderr[-2000:]}")
    got = json.loads(out.stdout.strip().splitlines()[-1])
    return got["time"], [tuple(e) for e in got["edges"]], got["capped"]


def run_ours(df: pd.DataFrame, repeats: int, **options):
    times, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = hill_climb(df, score="bic", fit=False, **options)
        times.append(time.perf_counter() - t)
    return statistics.median(times), list(result.net.edges)


PLAIN = dict(patience=0, restarts=0, epsilon=1e-4, tabu_length=100)


def cpdag_shd(edges, net) -> int:
    """SHD between the CPDAGs of ``edges`` (over ``net``'s variables) and of ``net``."""
    learned = pgm_ar.BayesNet([net.variable(v) for v in net.names], list(edges))
    return structural_hamming_distance(cpdag_of(learned), cpdag_of(net))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nets", nargs="+", default=["alarm", "insurance", "child", "hepar2",
                                                  "win95pts"])
    ap.add_argument("--rows", nargs="+", type=int, default=[10_000, 100_000])
    ap.add_argument("--cap", type=float, default=600.0, help="pgmpy's time cap per run (s)")
    ap.add_argument("--repeats", type=int, default=3, help="our default runs per case (median)")
    ap.add_argument("--hash-seed", type=int, default=0, help="pgmpy's PYTHONHASHSEED")
    ap.add_argument("--spread", nargs="*", default=[], metavar="NET",
                    help="after the table, rerun pgmpy on these networks at the smallest "
                         "--rows with hash seeds 1-4")
    ap.add_argument("--out", help="also write the table here")
    ap.add_argument("--pgmpy-worker", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    if args.pgmpy_worker:
        name, n, cap = args.pgmpy_worker
        took, edges, capped = _pgmpy_here(sample_frame(load_net(name), int(n)), float(cap))
        print(json.dumps({"time": took, "edges": edges, "capped": capped}))
        return 0
    import pgmpy

    lines = [f"hill climbing, BIC, from the empty DAG: pgm_ar {pgm_ar.__version__} vs pgmpy "
             f"{pgmpy.__version__}; python {platform.python_version()}, "
             f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
             f"{os.cpu_count()} cores (shared machine); pgmpy capped at {args.cap:g} s, "
             f"PYTHONHASHSEED={args.hash_seed}",
             "run: " + " ".join(["bench_learning_hc.py"] + (argv if argv is not None
                                                           else sys.argv[1:])),
             f"ours: hill_climb defaults (tabu walk, patience 10, 10 restarts, seed 0), median "
             f"of {args.repeats} runs; plain: ours with patience 0, restarts 0 (pgmpy's greedy "
             "search), one run; pgmpy: HillClimbSearch defaults, one run",
             "speed-up = pgmpy / ours; SHD to the true DAG and between the CPDAGs (equivalence "
             "classes); BIC of the result (higher is better)", ""]
    head = (f"{'network':<9} {'vars':>4} {'edges':>5} {'rows':>7} | {'ours s':>6} "
            f"{'plain s':>7} {'pgmpy s':>8} {'speed-up':>8} | {'SHD ours':>8} {'plain':>5} "
            f"{'pgmpy':>5} | {'CPDAG ours':>10} {'plain':>5} {'pgmpy':>5} | {'BIC ours':>13} "
            f"{'BIC plain':>13} {'BIC pgmpy':>14}")
    lines += [head, "-" * len(head)]
    print("\n".join(lines), flush=True)
    ratios, wins, any_capped = [], {"dag": 0, "cpdag": 0, "bic": 0, "cases": 0}, False
    for name in args.nets:
        net = load_net(name)
        for n in args.rows:
            df = sample_frame(net, n)
            ours_t, ours_e = run_ours(df, args.repeats)
            plain_t, plain_e = run_ours(df, 1, **PLAIN)
            theirs_t, theirs_e, capped = run_pgmpy(name, n, args.cap, args.hash_seed)
            score = Score(df, "bic")
            ratio = theirs_t / ours_t
            ratios.append(ratio)
            star = "*" if capped else ""
            any_capped |= capped
            shds = [shd(e, net) for e in (ours_e, plain_e, theirs_e)]
            cshds = [cpdag_shd(e, net) for e in (ours_e, plain_e, theirs_e)]
            bics = [score.network(e) for e in (ours_e, plain_e, theirs_e)]
            wins["cases"] += 1
            wins["dag"] += shds[0] <= shds[2]
            wins["cpdag"] += cshds[0] <= cshds[2]
            wins["bic"] += bics[0] >= bics[2] - 1e-6
            row = (f"{name:<9} {len(net):>4} {net.num_edges:>5} {n:>7} | {ours_t:>6.2f} "
                   f"{plain_t:>7.2f} {('>' if capped else '') + f'{theirs_t:.1f}':>8} "
                   f"{('>' if capped else '') + f'{ratio:.0f}x':>8} | "
                   f"{shds[0]:>8} {shds[1]:>5} {str(shds[2]) + star:>5} | "
                   f"{cshds[0]:>10} {cshds[1]:>5} {str(cshds[2]) + star:>5} | "
                   f"{bics[0]:>13,.1f} {bics[1]:>13,.1f} {format(bics[2], ',.1f') + star:>14}")
            lines.append(row)
            print(row, flush=True)
    lines += [""] + (["* pgmpy stopped at the cap: SHD and BIC of the DAG it had reached"]
                     if any_capped else []) + [
              f"ours against pgmpy, {wins['cases']} cases: SHD to the true DAG <= pgmpy's in "
              f"{wins['dag']}, CPDAG SHD <= pgmpy's in {wins['cpdag']}, BIC >= pgmpy's in "
              f"{wins['bic']}",
              f"speed-up (pgmpy / ours): median {statistics.median(ratios):.0f}x, smallest "
              f"{min(ratios):.0f}x" + (" (a capped pgmpy run counts at the cap, so its ratio is "
                                       "a lower bound)" if any_capped else "")]
    print("\n".join(lines[-2:]), flush=True)
    if args.spread:
        n = min(args.rows)
        lines += ["", f"pgmpy's SHD to the true DAG (CPDAG SHD) with PYTHONHASHSEED 1-4, {n} rows "
                      "(ties between equal gains follow a set's order):"]
        print(lines[-1], flush=True)
    for name in args.spread:
        net = load_net(name)
        got = []
        for h in range(1, 5):
            _, edges, capped = run_pgmpy(name, n, args.cap, h)
            got.append(f"{shd(edges, net)} ({cpdag_shd(edges, net)})" + ("*" if capped else ""))
        lines.append(f"  {name}: " + ", ".join(got))
        print(lines[-1], flush=True)
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
