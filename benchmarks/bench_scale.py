"""Structure work on a 100,000-node network: nothing quadratic or exponential materialised.

Run ``python benchmarks/bench_scale.py [--nodes 100000] [--queries 200] [--seed 0]``.
It prints a table and writes it to ``benchmarks/results/bench_scale.txt``.

Three networks of ``--nodes`` binary variables:

* ``markov3``: a Markov chain of order 3, parsed from a three-line YAML spec
  (``count: N``, ``structure: {markov: 3}``);
* ``local`` and ``uniform``: random DAGs of :mod:`bench_structure` (average in-degree just
  under 3; parents near the child, or anywhere before it).

For each: building it (from the spec text, or ``BayesNet(variables, edges)``), topological
order, parameter count, the factorization's text, Markov blankets, d-separation queries
(random ``x _|_ y | Z`` and screened ``x _|_ y | Pa(x)``), minimal separators, DOT source of
the whole DAG and the part a picture shows.  pgmpy 1.1.2 (``DiscreteBayesianNetwork``) does
the same construction, topological order, Markov blankets and d-separation side by side;
every d-separation answer is compared.

``independencies()`` lists one statement per non-adjacent pair, about ``N^2 / 2`` of them
(5 * 10^9 at 100,000 nodes): that output cannot exist at this size, so it is timed on Markov-3
chains of growing length to show how far it goes.
"""
from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import List  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import pgm_ar  # noqa: E402
from pgm_ar import BayesNet, Bernoulli  # noqa: E402
from bench_structure import random_dag, random_queries, screened_queries  # noqa: E402


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def row(lines: List[str], what: str, seconds: float, note: str = "") -> None:
    text = f"{what:<44}{seconds * 1e3:>12.3f} ms" + (f"   {note}" if note else "")
    lines.append(text)
    print(text, flush=True)


def head(lines: List[str], text: str) -> None:
    lines.append(text)
    print(text, flush=True)


def bench_network(name: str, net: BayesNet, t_build: float, queries: int, seed: int,
                  pgmpy_queries: int, lines: List[str]) -> None:
    from pgmpy.models import DiscreteBayesianNetwork

    from pgm_ar.draw import draw
    from pgm_ar.draw.size import drawn_part

    n = len(net)
    head(lines, f"\n== {name}: {n} nodes, {len(net.edges)} edges ==")
    row(lines, "build", t_build)
    order, t = timed(net.topological_order)
    row(lines, "topological order", t)
    count, t = timed(pgm_ar.count_parameters, net)
    row(lines, "count_parameters", t, f"(total {count.total})")
    text, t = timed(lambda: str(net.factorization()))
    row(lines, "factorization() + str", t, f"({len(text):,} chars)")

    rng = np.random.default_rng(seed)
    picks = [net.names[i] for i in rng.choice(n, size=1000, replace=False)]
    _, t = timed(net.markov_blanket, picks[0])
    row(lines, "markov_blanket set-up (node index) + first", t)
    _, t = timed(lambda: [net.markov_blanket(v) for v in picks])
    row(lines, "markov_blanket, pgm_ar (1000 nodes)", t / 1000, "per node")

    ind = pgm_ar.Independence(net)
    qs = random_queries(n, queries, seed)
    _, t_setup = timed(ind.is_independent, *qs[0])
    row(lines, "independence set-up + first query", t_setup)
    ours, t = timed(lambda: [ind.is_independent(x, y, z) for x, y, z in qs])
    t_ours = t / len(qs)
    row(lines, f"d-separation, pgm_ar ({len(qs)} queries)", t_ours,
        f"per query, {sum(ours)} independent")
    sq = screened_queries(net, queries, seed)
    sc, t = timed(lambda: [ind.is_independent(x, y, z) for x, y, z in sq])
    t_screen = t / len(sq)
    row(lines, f"screened x _|_ y | Pa(x), pgm_ar ({len(sq)})", t_screen,
        f"per query, {sum(sc)} independent")
    pairs = [(x, y) for x, y, _ in sq[:20]]
    seps, t = timed(lambda: [net.minimal_separator(x, y) for x, y in pairs])
    row(lines, "minimal_separator (20 pairs)", t / 20, "per pair")
    for (x, y), sep in zip(pairs, seps):
        if sep is not None and not ind.is_independent(x, y, sep):
            raise SystemExit(f"minimal_separator({x}, {y}) does not separate")

    with tempfile.TemporaryDirectory() as tmp:
        _, t = timed(draw, net, Path(tmp) / "net.gv")
        row(lines, "draw: DOT source of the whole DAG", t,
            f"({(Path(tmp) / 'net.gv').stat().st_size:,} bytes)")
        (part, note), t = timed(drawn_part, net, "dag")
        row(lines, "draw: the part a picture shows", t, f"({note})")
        if shutil.which("dot"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _, t = timed(draw, net, Path(tmp) / "net.svg")
            row(lines, "draw: that picture as SVG (graphviz dot)", t)

    # pgmpy, side by side
    model, t_pg = timed(lambda: _pgmpy_model(DiscreteBayesianNetwork, net))
    row(lines, "build, pgmpy DiscreteBayesianNetwork", t_pg, f"(pgm_ar {t_pg / t_build:.1f}x "
        "faster)" if t_pg > t_build else f"(pgm_ar {t_build / t_pg:.1f}x slower)")
    import networkx as nx

    _, t = timed(lambda: list(nx.topological_sort(model)))
    row(lines, "topological order, networkx (pgmpy's graph)", t)
    _, t = timed(lambda: [model.get_markov_blanket(v) for v in picks[:200]])
    row(lines, "markov_blanket, pgmpy get_markov_blanket", t / 200, "per node")
    m = min(pgmpy_queries, len(qs))
    theirs, t = timed(lambda: [not model.is_dconnected(x, y, observed=z) for x, y, z in qs[:m]])
    t_theirs = t / m
    agree = sum(a == b for a, b in zip(ours, theirs))
    row(lines, f"d-separation, pgmpy is_dconnected ({m} queries)", t_theirs,
        f"per query; pgm_ar {t_theirs / t_ours:.1f}x faster; {agree} of {m} agree")
    if agree != m:
        raise SystemExit("d-separation answers disagree with pgmpy")
    m = min(pgmpy_queries, len(sq))
    theirs, t = timed(lambda: [not model.is_dconnected(x, y, observed=z) for x, y, z in sq[:m]])
    agree = sum(a == b for a, b in zip(sc, theirs))
    row(lines, f"screened, pgmpy is_dconnected ({m} queries)", t / m,
        f"per query; pgm_ar {t / m / t_screen:.1f}x faster; {agree} of {m} agree")
    if agree != m:
        raise SystemExit("d-separation answers disagree with pgmpy")


def _pgmpy_model(cls, net: BayesNet):
    model = cls()
    model.add_nodes_from(net.names)
    model.add_edges_from(net.edges)
    return model


def bench_independencies(lines: List[str], sizes: List[int]) -> None:
    head(lines, "\n== independencies() of a Markov-3 chain (one statement per non-adjacent "
                "pair: ~N^2/2) ==")
    for n in sizes:
        net = pgm_ar.markov(pgm_ar.bernoullis(n), k=3)
        ind, t = timed(net.independencies)
        row(lines, f"{n:>6} variables", t, f"({len(ind.pairs):,} pair statements)")
    n = 100_000
    head(lines, f"{n:>6} variables: {(n - 3) * (n - 4) // 2:,} pair statements -- not feasible "
                "(the listing alone); ask is_independent / minimal_separator per pair instead")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--pgmpy-queries", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_scale.txt"))
    args = ap.parse_args(argv)

    import platform

    import scipy

    from pgm_ar.io.spec import load_spec_text

    lines: List[str] = []
    head(lines, "bench_scale: structure work on a large network")
    head(lines, f"python {platform.python_version()}, numpy {np.__version__}, scipy "
                f"{scipy.__version__}, pgmpy {__import__('pgmpy').__version__}; OMP_NUM_THREADS="
                f"{os.environ.get('OMP_NUM_THREADS')}, {os.cpu_count()} CPU cores (shared; load "
                f"average {os.getloadavg()[0]:.1f} at the start)")
    head(lines, f"nodes={args.nodes} queries={args.queries} pgmpy_queries={args.pgmpy_queries} "
                f"seed={args.seed}")
    n = args.nodes
    text = (f"name: markov3\nvariables:\n  - {{name: x, type: bernoulli, count: {n}}}\n"
            "structure: {markov: 3}\n")
    spec, t = timed(load_spec_text, text, fmt="yaml", source="markov3.yaml")
    bench_network("markov3", spec.network, t, args.queries, args.seed, args.pgmpy_queries, lines)
    for scheme in ("local", "uniform"):
        edges = random_dag(n, scheme, args.seed)
        variables = [Bernoulli(f"x{i + 1}") for i in range(n)]
        net, t = timed(BayesNet, variables, edges, name=scheme)
        bench_network(scheme, net, t, args.queries, args.seed, args.pgmpy_queries, lines)
    bench_independencies(lines, [784, 1500])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, out)
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
