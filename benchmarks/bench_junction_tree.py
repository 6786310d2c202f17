"""Every variable's posterior per evidence set: one junction tree calibration against one
query per variable, ours and pgmpy's, on the networks pgmpy ships.

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/bench_junction_tree.py \
        [--nets alarm andes ...] [--budget 10] [--pgmpy-max-nodes 250] [--bp-nets asia ...] \
        [--out benchmarks/results/bench_junction_tree.txt]

Per network, 20 evidence sets of 1-4 variables (states read off forward-sampled rows, so
each set is possible), and for each set the posterior of every other variable:

* ``calibrate`` -- ``pgm_ar.inference.calibrate(net, tables, evidence).marginals``; *cold*
  with every cache of the network dropped first (the junction tree is built inside the
  time), *warm* with the tree and the evidence schedules cached (median of 3 runs);
* ``VE/var`` -- ours, ``pgm_ar.inference.query`` once per variable (plans cached after the
  first set, as a model answering many questions has them);
* ``pgmpy BP`` -- pgmpy's ``BeliefPropagation.query([v], evidence)`` per variable (pgmpy
  answers one query at a time: each prunes the network, builds its junction tree and
  calibrates it; ``query`` of many variables at once with ``joint=False`` eliminates their
  whole subtree and runs out of memory on ALARM);
* ``pgmpy VE/var`` -- pgmpy's ``VariableElimination.query([v], evidence)`` per variable.

A side that takes longer than ``--budget`` CPU seconds stops after the evidence sets (or the
queries) done by then and its time is scaled to all of them (marked ``*``); ``fail`` means it
raised (pgmpy's junction tree of HEPAR2 asks for 17 PiB), ``-`` that it was not run (pgmpy
is read only for networks of at most ``--pgmpy-max-nodes`` nodes, its BP tried only on
``--bp-nets``: its BIF reader alone takes minutes on the larger networks, and its BP was
killed for memory on INSURANCE; the process's address space is capped at 8 GB above its
start so that an allocation too large is a ``MemoryError``).  Ratios are the
other side's time over ``calibrate`` warm.  ``max|diff|`` compares the calibrated marginals with ours by VE (all of those
answered) and with pgmpy's (those answered).  Times are CPU seconds of this process
(``time.process_time``), one thread.
"""
from __future__ import annotations

import argparse
import gzip
import os
import platform
import random
import signal
import statistics
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy/torch start their thread pools

import numpy as np  # noqa: E402
import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pgm_ar import inference as inf  # noqa: E402
from pgm_ar.errors import PgmArError  # noqa: E402
from pgm_ar.inference import structure as structure_module  # noqa: E402
from pgm_ar.inference.junction_tree import junction_tree  # noqa: E402
from pgm_ar.io.bif import read_bif  # noqa: E402

NETS = ["asia", "cancer", "earthquake", "survey", "sachs", "child", "alarm", "insurance",
        "hepar2", "win95pts", "hailfinder", "water", "andes", "pathfinder", "mildew", "barley",
        "diabetes", "pigs", "link", "munin1", "munin"]
BP_NETS = ["asia", "cancer", "earthquake", "survey", "sachs", "child", "alarm"]
N_SETS = 20

warnings.filterwarnings("ignore")


def pgmpy_dir() -> Path:
    import pgmpy

    return Path(pgmpy.__file__).parent / "utils" / "example_models"


def evidence_sets(net, seed: int = 1):
    tables = inf.tables_from_net(net)
    rows = inf.forward_sample(net, tables, N_SETS, generator=torch.Generator().manual_seed(0))
    rng = random.Random(seed)
    names = list(net.names)
    return [{e: int(rows[e][i]) for e in rng.sample(names, rng.randint(1, 4))}
            for i in range(N_SETS)]


def forget(net) -> None:
    """Drop every cache pgm_ar keeps for ``net`` (structure, tree, plans, arrays)."""
    structure_module._STRUCTURES.pop(id(net), None)


class Timeout(Exception):
    pass


def _alarm(_sig, _frame):
    raise Timeout


def budgeted(items, fn, budget: float):
    """Run ``fn`` on the items until ``budget`` CPU seconds are spent; (seconds scaled to all
    items, whether scaled, the results of the items done).  A first item still running after
    ``3 * budget`` wall seconds is abandoned: (``"> N s per query"``, True, [])."""
    out, t0 = [], time.process_time()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(int(3 * budget))
    try:
        for it in items:
            out.append(fn(it))
            signal.alarm(0)
            if time.process_time() - t0 > budget and len(out) < len(items):
                break
    except Timeout:
        return f"> {3 * budget:g} s per query", True, []
    finally:
        signal.alarm(0)
    spent = time.process_time() - t0
    return spent * len(items) / len(out), len(out) < len(items), out


def bench(name: str, budget: float, pgmpy_max: int, bp_nets) -> dict:
    net = read_bif(pgmpy_dir() / f"{name}.bif.gz")
    tables = inf.tables_from_net(net)
    sets = evidence_sets(net)
    names = list(net.names)
    row = dict(name=name, nodes=len(net))
    forget(net)
    try:
        t0 = time.process_time()
        cals = [inf.calibrate(net, tables, e).marginals for e in sets]
        row["cold"] = time.process_time() - t0
    except PgmArError as err:  # the refusal: over the memory budget
        row["refused"] = str(err)[:90]
        return row
    st = structure_module.network_structure(net)
    jt = junction_tree(st)
    row["cliques"] = len(jt.cliques)
    row["largest"] = max(st.size(c) for c in jt.cliques)
    warm = []
    for _ in range(3):
        t0 = time.process_time()
        for e in sets:
            inf.calibrate(net, tables, e).marginals
        warm.append(time.process_time() - t0)
    row["warm"] = statistics.median(warm)

    def ve(i):
        e = sets[i]
        return inf.query(net, tables, [n for n in names if n not in e], e)

    row["ve"], row["ve_scaled"], ves = budgeted(range(N_SETS), ve, budget)
    row["diff_ve"] = max(float(abs(r[n] - cals[i][n]).max())
                         for i, r in enumerate(ves) for n in r)
    if len(net) <= pgmpy_max:
        pg_bp_ve(row, net, sets, cals, budget, bp=name in bp_nets)
    return row


def pg_bp_ve(row: dict, net, sets, cals, budget: float, bp: bool) -> None:
    from pgmpy.inference import BeliefPropagation, VariableElimination
    from pgmpy.readwrite import BIFReader

    with gzip.open(pgmpy_dir() / f"{row['name']}.bif.gz", "rt") as fh:
        model = BIFReader(string=fh.read()).get_model()
    names = list(net.names)
    queries = [(i, n) for i, e in enumerate(sets) for n in names if n not in e]
    named = [{k: net.variable(k).states[s] for k, s in e.items()} for e in sets]
    diff = 0.0
    for key, make in (("bp", BeliefPropagation), ("pve", VariableElimination)):
        if key == "bp" and not bp:
            continue
        try:
            engine = make(model)

            def one(q):
                i, n = q
                return engine.query([n], evidence=named[i], show_progress=False)

            row[key], row[key + "_scaled"], refs = budgeted(queries, one, budget)
            for (i, n), ref in zip(queries, refs):
                order = [ref.state_names[n].index(s) for s in net.variable(n).states]
                diff = max(diff, float(np.abs(np.asarray(ref.values)[order]
                                              - cals[i][n].numpy()).max()))
        except (MemoryError, ValueError, RuntimeError) as err:
            row[key] = f"fail ({type(err).__name__})"
    row["diff_pgmpy"] = diff


def fmt_t(row: dict, key: str) -> str:
    v = row.get(key)
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    return f"{v:.3g}{'*' if row.get(key + '_scaled') else ''}"


def ratio(row: dict, key: str) -> str:
    v = row.get(key)
    return f"{v / row['warm']:.1f}x" if isinstance(v, float) and row.get("warm") else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", nargs="+", default=NETS)
    ap.add_argument("--budget", type=float, default=10.0)
    ap.add_argument("--pgmpy-max-nodes", type=int, default=250)
    ap.add_argument("--bp-nets", nargs="*", default=BP_NETS)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    import resource

    import pgmpy

    # pgmpy's junction trees can ask for more memory than the machine has: cap the address
    # space so that such a request fails as a MemoryError instead of the process being killed
    with open("/proc/self/statm") as fh:
        start = int(fh.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (start + 8 * 2 ** 30, resource.RLIM_INFINITY))

    lines = [f"# bench_junction_tree: all posteriors for {N_SETS} evidence sets of 1-4 variables",
             f"# python {platform.python_version()}, numpy {np.__version__}, pgmpy "
             f"{pgmpy.__version__}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
             f"{platform.machine()}; CPU seconds for all {N_SETS} sets; * = scaled from the "
             f"sets done in {args.budget:g} s",
             "",
             "| network | nodes | cliques | largest clique | calibrate cold | calibrate warm "
             "| ours VE/var | ratio | pgmpy BP | ratio | pgmpy VE/var | ratio | max diff VE "
             "| max diff pgmpy |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    for name in args.nets:
        row = bench(name, args.budget, args.pgmpy_max_nodes, args.bp_nets)
        if "refused" in row:
            line = f"| {name} | {row['nodes']} | refused: {row['refused']}... |"
        else:
            dp = row.get("diff_pgmpy")
            line = (f"| {name} | {row['nodes']} | {row['cliques']} | {row['largest']:,} "
                    f"| {fmt_t(row, 'cold')} | {fmt_t(row, 'warm')} | {fmt_t(row, 've')} "
                    f"| {ratio(row, 've')} | {fmt_t(row, 'bp')} | {ratio(row, 'bp')} "
                    f"| {fmt_t(row, 'pve')} | {ratio(row, 'pve')} | {row['diff_ve']:.1e} "
                    f"| {'-' if dp is None else f'{dp:.1e}'} |")
        print(line, flush=True)
        lines.append(line)
    if args.out:
        from pgm_ar.utils.atomic import atomic_write_text

        atomic_write_text(Path(args.out), "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
