"""CI tests and the PC algorithm against pgmpy, on data sampled from known networks.

Run ``python benchmarks/bench_learning_ci.py [--networks alarm,insurance,child,hepar2:10000,
win95pts:10000] [--rows 10000,100000] [--cap 60] [--queries 200]``.  It prints a table and
writes it to ``benchmarks/results/bench_learning_ci.txt``.  ``NAME:ROWS`` gives one network
its own row counts (``hepar2:10000+100000``): by default the two larger networks run on 10,000
rows only, because at 100,000 rows the data support so many edges that PC's tests with up to
five conditioning variables run into the hundreds of thousands (hepar2: about 270 s here for
pgm_ar, and pgmpy past any cap), which would take the run far past a few minutes.  win95pts runs with at most 2 conditioning
variables (``win95pts:10000:2``, shown as ``win95pts/2``): its deterministic nodes keep many
edges whose tests have no degrees of freedom, and 3 or more conditioning variables take
minutes.

For each network and row count, rows are sampled from the network (``pgm_ar``'s sampler,
seed 0), then

* **CI tests per second**: the same random queries ``x _|_ y | Z`` (``|Z|`` from 0 to 3)
  through pgm_ar's :class:`~pgm_ar.learning.citests.CITester` one test at a time
  (``ours``), pgmpy 1.x's vectorised ``pgmpy.ci_tests.GSq`` (``pgmpy``), and pgmpy's older
  per-stratum ``pgmpy.estimators.CITests.g_sq`` on the first 20 queries (``pgmpy old``);
  medians of ``--repeat`` passes over the queries, each with a fresh tester of each tool;
  ``ours in PC`` is the rate inside ``pc`` (tests run / seconds), where tests are counted in
  batches (one conditioning set against every neighbour at once).
* **Local Markov statements in one batch** (the second table): every local Markov statement
  of the true network, ``X _|_ nondescendants | parents``, split into the single-variable
  tests ``X _|_ Y | parents`` that pgmpy can run: pgm_ar's ``CITester.test_pairs`` (one call
  for the whole list, building the tester included) against pgmpy's ``ci_tests.GSq``, one
  call per test (its cache off; building it not counted).  Both with Yates' correction on
  strata with one degree of freedom (pgmpy's rule, ``CITester(..., yates=True)``), so the
  numbers must agree: the table shows the largest relative difference of the statistics, the
  largest difference of the p-values (tests with degrees of freedom; pgmpy gives NaN where
  there are none, pgm_ar 1) and how many degrees of freedom differ, over the tests where
  pgmpy's statistic is finite (its vectorised G is NaN when a stratum of the full product of
  the parents' states is empty; the last column counts those).
* **PC**: pgm_ar's ``pc`` and pgmpy's ``pgmpy.causal_discovery.PC`` (``variant="stable"``,
  ``ci_test="g_sq"``, one job), both at ``alpha = 0.01`` with at most 5 conditioning
  variables (pgmpy's default; fewer where the network says so), and the structural Hamming distance (SHD) of each learned
  CPDAG to the true DAG's CPDAG (one per node pair whose edge or mark differs).  pgmpy runs
  in a child process with a time cap; a capped run prints ``>cap``.

* **Where the time goes** (the third table): per network and row count, the microseconds of
  one ``np.bincount`` over one column of codes (the least one pass over the rows costs), each
  tool's time a test on single tests and in the batch beside a tenth of pgmpy's (what 10x
  asks for), and for PC the number of tests each tool computed (pgmpy's cache misses,
  counted by wrapping its ``GSq``), the time a test over the whole run, and the share of
  pgm_ar's run spent counting rows in ``np.bincount`` and ``np.bitwise_count`` (one more
  run, timed around each call).

Both run in one process (pgmpy's PC in a forked child only to be stoppable), on one thread
(``OMP_NUM_THREADS=1``); times are medians of ``--repeat`` runs for ours and one run for
pgmpy's PC.
"""
from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import multiprocessing as mp  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pgm_ar  # noqa: E402
from pgm_ar.learning import discrete_data  # noqa: E402
from pgm_ar.learning.citests import CITester  # noqa: E402
from pgm_ar.learning.pc import cpdag_of, pc, structural_hamming_distance  # noqa: E402

warnings.filterwarnings("ignore")


def load(name: str):
    if name in pgm_ar.example_networks():
        return pgm_ar.example_network(name)
    import pgmpy

    path = Path(pgmpy.__file__).parent / "utils" / "example_models" / f"{name}.bif.gz"
    return pgm_ar.read_bif(path)


def queries(names, k, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(k):
        size = int(rng.integers(0, 4))
        v = rng.choice(len(names), 2 + size, replace=False)
        out.append((names[v[0]], names[v[1]], [names[i] for i in v[2:]]))
    return out


def rate(fn, qs):
    t0 = time.perf_counter()
    for x, y, z in qs:
        fn(x, y, z)
    return len(qs) / (time.perf_counter() - t0)


def markov_pairs(net):
    """Every local Markov statement X _|_ nondescendants | parents, split into single pairs."""
    out = []
    for st in net.local_independencies():
        (x,) = tuple(st.xs)
        out += [(x, y, sorted(st.given)) for y in sorted(st.ys)]
    return out


def markov_batch(net, data, pdf, repeat):
    """Rates of pgm_ar's one batch and of pgmpy's GSq one call at a time on the same tests, and
    how far their numbers are apart."""
    from pgmpy.ci_tests import GSq

    tests = markov_pairs(net)
    ours_t, res = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = CITester(data, "g", yates=True).test_pairs(tests)
        ours_t.append(time.perf_counter() - t0)
    g = GSq(pdf, use_cache=False)
    theirs = []
    t0 = time.perf_counter()
    for x, y, z in tests:
        g.run_test(x, y, z)
        theirs.append((float(g.statistic_), int(g.dof_), float(g.p_value_)))
    pg_t = time.perf_counter() - t0
    # pgmpy's statistic is NaN where a stratum of the full product of the parents' states is
    # empty (0 log 0/0 in its vectorised formula): those tests are counted, not compared
    both = [(r, t) for r, t in zip(res, theirs) if np.isfinite(t[0])]
    ds = max((abs(r.statistic - s) / max(1.0, abs(s)) for r, (s, _, _) in both), default=0.0)
    dp = max((abs(r.p_value - p) for r, (_, d, p) in both if d > 0), default=0.0)
    dd = sum(r.dof != d for r, (_, d, _) in both)
    groups = len({(x, tuple(z)) for x, _, z in tests})
    return (len(tests), groups, len(tests) / float(np.median(ours_t)), len(tests) / pg_t,
            ds, dp, dd, len(tests) - len(both))


def _pgmpy_pc(df, max_cond, conn):
    from pgmpy.causal_discovery import PC
    from pgmpy.ci_tests import GSq

    computed = [0]  # tests pgmpy computes (its cache answers repeats)
    inner = GSq._compute_result

    def counting(self, *args, **kwargs):
        computed[0] += 1
        return inner(self, *args, **kwargs)

    GSq._compute_result = counting
    t0 = time.perf_counter()
    est = PC(variant="stable", ci_test="g_sq", significance_level=0.01, max_cond_vars=max_cond,
             n_jobs=1, show_progress=False).fit(df)
    g = est.causal_graph_
    conn.send((time.perf_counter() - t0, sorted(g.directed_edges), sorted(g.undirected_edges),
               computed[0]))


def pgmpy_pc(df, cap, max_cond):
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_pgmpy_pc, args=(df, max_cond, child))
    proc.start()
    got = parent.recv() if parent.poll(cap) else None
    if got is None:
        proc.terminate()
    proc.join()
    return got


def kept_by_nan(net, pdf, res, got):
    """The edges pgmpy's skeleton keeps and ours removes: how many, how many are true edges,
    and on how many pgmpy's own G is NaN for the separating set ours found (its G is NaN
    when a stratum of the full product of the set's states is empty; a NaN p-value never
    removes an edge)."""
    from pgmpy.ci_tests import GSq

    ours = {frozenset(e) for e in res.skeleton()}
    kept = {frozenset(e) for e in list(got[1]) + list(got[2])} - ours
    true = {frozenset(e) for e in net.edges}
    test = GSq(pdf, use_cache=False)
    nan = 0
    for pair in kept:
        a, b = sorted(pair)
        sep = res.sepsets.get(pair)
        if sep is not None:
            test.run_test(a, b, list(sep))
            nan += int(not np.isfinite(test.statistic_))
    return len(kept), len(kept & true), nan


def one_pass_us(data) -> float:
    """Microseconds of one ``np.bincount`` over one column of codes (int64, every row): the
    least a count over the rows costs, whoever does it."""
    col = np.ascontiguousarray(data.codes[:, 0])
    k = int(col.max()) + 1
    times = []
    for _ in range(30):
        t0 = time.perf_counter()
        np.bincount(col, minlength=k)
        times.append(time.perf_counter() - t0)
    return 1e6 * float(np.median(times))


def pc_count_share(data, max_cond) -> float:
    """The share of one pc run spent counting rows: inside ``np.bincount`` (codes) and
    ``np.bitwise_count`` (bitsets of the rows)."""
    spent = [0.0]
    inner = {name: getattr(np, name) for name in ("bincount", "bitwise_count")}

    def timed(fn):
        def run(*args, **kwargs):
            t0 = time.perf_counter()
            out = fn(*args, **kwargs)
            spent[0] += time.perf_counter() - t0
            return out
        return run

    for name, fn in inner.items():
        setattr(np, name, timed(fn))
    try:
        t0 = time.perf_counter()
        pc(data, alpha=0.01, max_cond=max_cond)
        total = time.perf_counter() - t0
    finally:
        for name, fn in inner.items():
            setattr(np, name, fn)
    return spent[0] / total


def notes(floor_rows, markov_rows, skeleton_notes):
    """Why a 10x target is missed where it is, in the numbers just measured."""
    out = ["Notes (from the numbers above)"]
    out.append(
        "- Single tests: a tenth of pgmpy's time a test (us) against one np.bincount pass over "
        "the rows and our own test on the first 64 rows only (the fixed cost of a call: "
        "names, table, statistics, p-value): "
        + ", ".join(f"{r[0]} {r[1] // 1000}k {r[3] / 10:.0f} vs pass {r[2]:.0f}, fixed "
                    f"{r[11]:.0f}" for r in floor_rows)
        + ". At 100,000 rows a tenth of pgmpy's time is under one pass over the rows (pgmpy's "
        "GSq counts each test in one vectorised pass too); at 10,000 rows it is about our "
        "fixed cost a call before any counting. Either way one test at a time cannot reach "
        "10x; tests go 10x and more only counted together (test_pairs, PC's batches).")
    batch = [(r[0], r[1], (1e6 / r[4]) / f[2], r[4] / r[5]) for r, f in zip(markov_rows, floor_rows)]
    missed = [b for b in batch if b[3] < 10]
    if missed:
        out.append(
            "- Local Markov batch below 10x on "
            + ", ".join(f"{lb} {n // 1000}k ({ratio:.1f}x, {passes:.2f} passes a test)"
                        for lb, n, passes, ratio in missed)
            + ": each (X, parents) group counts its Ys in packs, one pass over the rows a "
            "pack (a pack holds the Ys whose joint states fit beside the parents' strata), so "
            "a test costs a share of a pass that grows with the parents' strata; at 10,000 "
            "rows a pass is short enough that numpy's fixed cost a pack (a few calls) weighs as "
            "much as the counting, hence more passes a test there than at 100,000 rows.")
    pcs = [(r[0], r[1], r[7], r[9], r[10], r[8]) for r in floor_rows]
    out.append(
        "- PC: tests computed ours / pgmpy's: "
        + ", ".join(f"{lb} {n // 1000}k {nt}/{pg[0] if pg else '-'}" for lb, n, nt, pg, _, _ in pcs)
        + "; share of our run counting rows (np.bincount, np.bitwise_count): "
        + ", ".join(f"{100 * sh:.0f}%" for *_, sh, _ in pcs)
        + ". The counting is a small part: the rest is numpy's fixed cost a call on small "
        "tables (a few microseconds each, a few calls a test in batches of about two dozen "
        "tests), the per-node distinct rows, and the Python loop over conditioning sets; PC's "
        "ratio is highest where the tests a node are many (win95pts) and at 100,000 rows on "
        "alarm, lowest where neighbourhoods are small (child).")
    below = [(lb, n, pg[1] / t) for lb, n, _, pg, _, t in pcs if pg and pg[1] / t < 10]
    if below:
        out.append(
            "- PC below 10x in this run: "
            + ", ".join(f"{lb} {n // 1000}k {r:.1f}x" for lb, n, r in below)
            + ". Ours is the median of --repeat runs, pgmpy's one run, both on a shared machine: "
            "a ratio moves by a fifth from run to run. What is left is spread thin: at 10,000 "
            "rows the row codes of each chunk of tests (a few passes over tests x rows entries "
            "before the bincount) and the statistics' calls a chunk; at 100,000 rows the nodes "
            "whose rows do not compress to distinct rows are counted from bitsets (an AND and "
            "a popcount per cell over rows/64 words) or from codes, both a pass over all rows "
            "for a few tests.")
    worse = [(nm, n, k, t, nan) for nm, n, k, t, nan, ours, theirs in skeleton_notes
             if ours > theirs]
    if worse:
        out.append(
            "- PC's SHD where ours is larger: the edges pgmpy keeps and ours removes (kept / "
            "true / pgmpy's G NaN on our separating set): "
            + "; ".join(f"{nm} {n // 1000}k {k}/{t}/{nan}" for nm, n, k, t, nan in worse)
            + ". pgmpy's vectorised G is NaN when a stratum of the full product of the "
            "separating set's states is empty, and a NaN p-value never removes an edge; ours "
            "tests those sets with the empty strata left out (the degrees of freedom adjusted, "
            "as its own older CITests and bnlearn do) and removes the edge at p > 0.01.")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--networks", default="alarm,insurance,child,hepar2:10000,win95pts:10000:2",
                    help="NAME[:ROWS[:MAX_COND]] (rows for that network only, several joined "
                         "with '+'; its own largest conditioning set), comma-separated")
    ap.add_argument("--rows", default="10000,100000")
    ap.add_argument("--cap", type=float, default=60.0, help="seconds for pgmpy's PC")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_learning_ci.txt"))
    args = ap.parse_args()
    from pgmpy.ci_tests import GSq
    from pgmpy.estimators import CITests

    lines = []
    markov_rows = []
    floor_rows = []
    skeleton_notes = []

    def emit(text=""):
        print(text, flush=True)
        lines.append(text)

    emit("CI tests and PC: pgm_ar vs pgmpy " + __import__("pgmpy").__version__
         + f" (OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, alpha 0.01, max 5 "
         "conditioning variables, G-test)")
    head = (f"{'network':<10} {'rows':>7} | {'tests/s ours':>12} {'pgmpy':>8} {'old':>6} "
            f"{'ratio':>6} {'in PC':>8} | {'PC ours s':>9} {'pgmpy s':>8} {'ratio':>6} | "
            f"{'SHD ours':>8} {'pgmpy':>6} | {'edges':>5}")
    emit(head)
    emit("-" * len(head))
    for item in args.networks.split(","):
        name, _, rest = item.partition(":")
        own_rows, _, own_cond = rest.partition(":")
        max_cond = int(own_cond) if own_cond else 5
        net = load(name)
        model = pgm_ar.compile(net)
        truth = cpdag_of(net)
        for n in (int(r) for r in (own_rows.split("+") if own_rows else args.rows.split(","))):
            df = model.sample(n, seed=0)
            data = discrete_data(df, net)
            pdf = df.astype(str)
            qs = queries(list(net.names), args.queries)
            # the median of --repeat passes, each on a fresh tester (pgmpy's caches its
            # results, ours makes its bitsets on first use: each pass pays for them)
            ours_rates, pgmpy_rates = [], []
            for _ in range(args.repeat):
                tester = CITester(data, "g")
                ours_rates.append(rate(lambda x, y, z: tester.test(x, y, z), qs))
                g = GSq(pdf)
                pgmpy_rates.append(rate(lambda x, y, z: g(x, y, z), qs))
            ours_rate, pgmpy_rate = float(np.median(ours_rates)), float(np.median(pgmpy_rates))
            # the same queries on the first 64 rows: what a test costs with next to no counting
            small = CITester(data.rows(slice(0, 64)), "g")
            fixed_us = 1e6 / float(np.median([rate(lambda x, y, z: small.test(x, y, z), qs)
                                              for _ in range(args.repeat)]))
            old_rate = rate(lambda x, y, z: CITests.g_sq(x, y, z, pdf, boolean=False), qs[:20])
            markov_rows.append((name, n) + markov_batch(net, data, pdf, args.repeat))
            times, res = [], None
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                res = pc(data, alpha=0.01, max_cond=max_cond)
                times.append(time.perf_counter() - t0)
            ours_t = float(np.median(times))
            ours_shd = structural_hamming_distance((res.directed, res.undirected), truth)
            got = pgmpy_pc(pdf, args.cap, max_cond)
            if got is None:
                pg_t, pg_shd, ratio = f">{args.cap:g}", "-", f">{args.cap / ours_t:.0f}"
                pg_tests = None
            else:
                pg_t = f"{got[0]:.2f}"
                pg_shd = str(structural_hamming_distance((got[1], got[2]), truth))
                ratio = f"{got[0] / ours_t:.1f}"
                pg_tests = (got[3], got[0])
                skeleton_notes.append((name, n) + kept_by_nan(net, pdf, res, got)
                                      + (ours_shd, int(pg_shd)))
            label0 = name if max_cond == 5 else f"{name}/{max_cond}"
            floor_rows.append((label0, n, one_pass_us(data), 1e6 / pgmpy_rate, 1e6 / ours_rate,
                               markov_rows[-1][5], markov_rows[-1][4], res.n_tests, ours_t,
                               pg_tests, pc_count_share(data, max_cond), fixed_us))
            label = name if max_cond == 5 else f"{name}/{max_cond}"
            emit(f"{label:<10} {n:>7} | {ours_rate:>12.0f} {pgmpy_rate:>8.0f} {old_rate:>6.0f} "
                 f"{ours_rate / pgmpy_rate:>6.1f} {res.n_tests / ours_t:>8.0f} | "
                 f"{ours_t:>9.2f} {pg_t:>8} {ratio:>6} | {ours_shd:>8} {pg_shd:>6} | "
                 f"{len(net.edges):>5}")
    emit("NAME/K: at most K conditioning variables (both tools). tests/s: single tests on random "
         "queries (pgmpy: ci_tests.GSq; old: estimators.CITests.g_sq); in PC: tests run per "
         "second inside pgm_ar's pc. SHD: to the true DAG's CPDAG.")
    emit("Edges pgmpy's PC keeps and ours removes (kept: how many / true edges among them / "
         "pgmpy's G NaN on our separating set): "
         + "; ".join(f"{nm} {rows}: {k}/{t}/{nan}" for nm, rows, k, t, nan, *_ in skeleton_notes))
    emit()
    emit("Every local Markov statement of the true network as single-variable tests "
         "X _|_ Y | parents(X), G-test with Yates' correction")
    head = (f"{'network':<10} {'rows':>7} | {'tests':>5} {'groups':>6} | {'tests/s ours':>12} "
            f"{'pgmpy':>8} {'ratio':>6} | {'max rel stat diff':>17} {'max p diff':>10} "
            f"{'dof diff':>8} {'pgmpy NaN':>9}")
    emit(head)
    emit("-" * len(head))
    for name, n, k, groups, ours, theirs, ds, dp, dd, nan in markov_rows:
        emit(f"{name:<10} {n:>7} | {k:>5} {groups:>6} | {ours:>12.0f} {theirs:>8.0f} "
             f"{ours / theirs:>6.1f} | {ds:>17.1e} {dp:>10.1e} {dd:>8} {nan:>9}")
    emit("ours: CITester(data, 'g', yates=True).test_pairs(all tests), tester built each time; "
         "pgmpy: ci_tests.GSq(df, use_cache=False) one call per test; groups: distinct "
         "(X, parents) batches; diffs over the tests where pgmpy's statistic is finite "
         "(pgmpy NaN: an empty stratum of the parents' full product makes its G NaN).")
    emit()
    emit("Where the time goes (the 10x targets against what one pass over the rows costs)")
    head = (f"{'network':<10} {'rows':>7} | {'1 pass us':>9} | {'single: pgmpy us':>16} "
            f"{'10x needs':>9} {'ours':>6} | {'batch: pgmpy us':>15} {'10x needs':>9} "
            f"{'ours':>6} | {'PC tests ours':>13} {'pgmpy':>6} {'us/test ours':>12} "
            f"{'pgmpy':>6} {'count %':>7}")
    emit(head)
    emit("-" * len(head))
    for (label, n, one, pg1, ours1, pgb, oursb, nt, pct, pgt, share, _) in floor_rows:
        pg_nt, pg_us = (f"{pgt[0]}", f"{1e6 * pgt[1] / max(pgt[0], 1):.0f}") if pgt else ("-", "-")
        emit(f"{label:<10} {n:>7} | {one:>9.0f} | {pg1:>16.0f} {pg1 / 10:>9.0f} {ours1:>6.0f} | "
             f"{1e6 / pgb:>15.0f} {1e5 / pgb:>9.0f} {1e6 / oursb:>6.0f} | {nt:>13} {pg_nt:>6} "
             f"{1e6 * pct / max(nt, 1):>12.0f} {pg_us:>6} {100 * share:>7.0f}")
    emit("1 pass: one np.bincount over one int64 column of all rows (median of 30). single / "
         "batch: microseconds a test (pgmpy one call per test; ours one test at a time / one "
         "test_pairs batch). PC: tests computed (pgmpy: calls that missed its cache), "
         "microseconds a test over the whole run, and the share of our run spent counting rows "
         "(np.bincount and np.bitwise_count).")
    emit()
    for line in notes(floor_rows, markov_rows, skeleton_notes):
        emit(line)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
