"""Structure work at scale: build, factorize, count, and d-separation on a 10,000-node DAG.

Run ``python benchmarks/bench_structure.py [--nodes 10000] [--queries 1000] [--seed 0]``.
It prints a table and writes it to ``benchmarks/results/bench_structure.txt``.

Two random DAGs are drawn, both with nodes ``x1..xn`` in topological order and
each node ``i`` taking ``min(i - 1, Poisson(3))`` distinct parents among the
earlier nodes (average in-degree just under 3):

* ``uniform``: parents uniformly among all earlier nodes;
* ``local``:   parent ``i - d`` with ``d - 1 ~ Geometric(1/20)`` (mean distance 20),
  the kind of locality a pixel or time-series model has.

Locality does not keep ancestral sets small at this density: with three
parents within ~20 positions, a node's ancestors reach back through nearly
every earlier node (the mean ``|An(x, y, Z)|`` is about 70% of the graph), while
uniform parents jump straight back to the few early nodes and ancestral sets
stay near 800 of 10,000.  Both are reported; the table prints the mean size of
``An(x, y, Z)`` over the first 100 queries.

d-separation queries are ``x _|_ y | Z`` for random distinct ``x``, ``y`` and a
random ``Z`` of 0 to 3 other nodes (mostly d-connected), then "screened" queries
``x _|_ y | Pa(x)`` with ``y`` an earlier non-parent (all d-separated: the search
cannot stop early).  pgmpy's ``DiscreteBayesianNetwork.is_dconnected`` answers
the same queries as the reference, and every answer is compared.  Minimal
separators are timed against networkx 3.6's ``find_minimal_d_separator``.
"""
from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import List, Tuple  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pgm_ar  # noqa: E402
from pgm_ar import BayesNet, Bernoulli  # noqa: E402

Edges = List[Tuple[str, str]]


def random_dag(n: int, scheme: str, seed: int, mean_parents: float = 3.0,
               mean_distance: float = 20.0) -> Edges:
    """Edges of a random DAG over ``x1..xn`` (see the module docstring for the schemes)."""
    rng = np.random.default_rng(seed)
    edges: Edges = []
    for i in range(1, n):  # node index i has i earlier nodes
        k = min(i, int(rng.poisson(mean_parents)))
        if k == 0:
            continue
        if scheme == "uniform":
            parents = rng.choice(i, size=k, replace=False)
        elif scheme == "local":
            chosen: set = set()
            while len(chosen) < k:
                d = int(rng.geometric(1.0 / mean_distance))
                chosen.add(i - min(d, i))
            parents = np.array(sorted(chosen))
        else:
            raise ValueError(f"unknown scheme {scheme!r}")
        edges.extend((f"x{p + 1}", f"x{i + 1}") for p in sorted(parents))
    return edges


def random_queries(n: int, count: int, seed: int) -> List[Tuple[str, str, List[str]]]:
    rng = np.random.default_rng(seed + 1)
    out = []
    for _ in range(count):
        size = int(rng.integers(0, 4))
        picked = rng.choice(n, size=2 + size, replace=False)
        names = [f"x{i + 1}" for i in picked]
        out.append((names[0], names[1], names[2:]))
    return out


def screened_queries(net: BayesNet, count: int, seed: int) -> List[Tuple[str, str, List[str]]]:
    """``x``, an earlier non-parent ``y`` and ``Z = Pa(x)``, for ``x`` with 1 to 3 parents."""
    rng = np.random.default_rng(seed + 2)
    names = net.names
    out = []
    while len(out) < count:
        i = int(rng.integers(1, len(names)))
        pa = net.parents(names[i])
        if not 1 <= len(pa) <= 3:
            continue
        j = int(rng.integers(0, i))
        if names[j] in pa:
            continue
        out.append((names[i], names[j], list(pa)))
    return out


def nonadjacent_pairs(net: BayesNet, count: int, seed: int) -> List[Tuple[str, str]]:
    rng = np.random.default_rng(seed + 3)
    g, names, out = net.graph, net.names, []
    while len(out) < count:
        x, y = (names[i] for i in rng.choice(len(names), size=2, replace=False))
        if not (g.has_edge(x, y) or g.has_edge(y, x)):
            out.append((x, y))
    return out


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def bench_scheme(n: int, scheme: str, queries: int, pgmpy_queries: int, seed: int,
                 lines: List[str]) -> None:
    from pgmpy.models import DiscreteBayesianNetwork

    edges = random_dag(n, scheme, seed)
    variables = [Bernoulli(f"x{i + 1}") for i in range(n)]
    lines.append(f"\n== {scheme} DAG: {n} nodes, {len(edges)} edges "
                 f"(average in-degree {len(edges) / n:.2f}) ==")

    net, t_build = timed(BayesNet, variables, edges)
    text, t_fact = timed(lambda: str(net.factorization()))
    count, t_count = timed(pgm_ar.count_parameters, net)
    lines.append(f"{'build BayesNet':<42}{t_build * 1e3:>10.1f} ms")
    lines.append(f"{'factorization() + str':<42}{t_fact * 1e3:>10.1f} ms   ({len(text)} chars)")
    lines.append(f"{'count_parameters':<42}{t_count * 1e3:>10.1f} ms   (total {count.total})")
    lines.append(f"{'  all three':<42}{(t_build + t_fact + t_count) * 1e3:>10.1f} ms   "
                 f"(target < 1000 ms)")

    qs = random_queries(n, queries, seed)
    ind = pgm_ar.Independence(net)
    _, t_setup = timed(ind.is_independent, qs[0][0], qs[0][1], qs[0][2])  # builds the arrays
    lines.append(f"{'independence set-up + first query':<42}{t_setup * 1e3:>10.1f} ms")

    t0 = time.perf_counter()
    ours = [ind.is_independent(x, y, z) for x, y, z in qs]
    t_ours = (time.perf_counter() - t0) / len(qs)

    sizes = [len(ind._ancestral(ind._index[v] for v in (x, y, *z))) for x, y, z in qs[:100]]

    model = DiscreteBayesianNetwork()
    model.add_nodes_from(net.names)
    model.add_edges_from(edges)
    m = min(pgmpy_queries, len(qs))
    t0 = time.perf_counter()
    theirs = [not model.is_dconnected(x, y, observed=z) for x, y, z in qs[:m]]
    t_pgmpy = (time.perf_counter() - t0) / m
    agree = sum(a == b for a, b in zip(ours, theirs))

    lines.append(f"{'mean |An(x, y, Z)| (first 100 queries)':<42}{np.mean(sizes):>10.0f} nodes")
    lines.append(f"{'independent answers':<42}{sum(ours):>10d} of {len(ours)}")
    lines.append(f"{'d-separation, pgm_ar':<42}{t_ours * 1e3:>10.3f} ms/query ({len(qs)} queries)")
    lines.append(f"{'d-separation, pgmpy is_dconnected':<42}{t_pgmpy * 1e3:>10.3f} ms/query ({m} queries)")
    lines.append(f"{'throughput ratio pgm_ar / pgmpy':<42}{t_pgmpy / t_ours:>10.1f} x   (target >= 10x)")
    lines.append(f"{'answers agree with pgmpy':<42}{agree:>10d} of {m}")
    if agree != m:
        raise SystemExit("d-separation answers disagree with pgmpy")

    # Screened queries: x given all its parents against an earlier non-parent.  Every
    # answer is "independent" (local Markov), the worst case for a search that stops
    # at the first y reached, since it must exhaust the ball's reach.
    sq = screened_queries(net, queries, seed)
    t0 = time.perf_counter()
    ours = [ind.is_independent(x, y, z) for x, y, z in sq]
    t_ours = (time.perf_counter() - t0) / len(sq)
    m = min(pgmpy_queries, len(sq))
    t0 = time.perf_counter()
    theirs = [not model.is_dconnected(x, y, observed=z) for x, y, z in sq[:m]]
    t_pgmpy = (time.perf_counter() - t0) / m
    agree = sum(a == b for a, b in zip(ours, theirs))
    lines.append(f"screened queries x _|_ y | Pa(x), y earlier: {sum(ours)} of {len(sq)} independent")
    lines.append(f"{'  d-separation, pgm_ar':<42}{t_ours * 1e3:>10.3f} ms/query ({len(sq)} queries)")
    lines.append(f"{'  d-separation, pgmpy is_dconnected':<42}{t_pgmpy * 1e3:>10.3f} ms/query ({m} queries)")
    lines.append(f"{'  throughput ratio pgm_ar / pgmpy':<42}{t_pgmpy / t_ours:>10.1f} x")
    lines.append(f"{'  answers agree with pgmpy':<42}{agree:>10d} of {m}")
    if agree != m:
        raise SystemExit("d-separation answers disagree with pgmpy")

    # Minimal separators of random non-adjacent pairs, against networkx 3.6.
    import networkx as nx

    pairs = nonadjacent_pairs(net, 20, seed)
    t0 = time.perf_counter()
    seps = [net.minimal_separator(x, y) for x, y in pairs]
    t_ours = (time.perf_counter() - t0) / len(pairs)
    k = 2
    t0 = time.perf_counter()
    for x, y in pairs[:k]:
        nx.find_minimal_d_separator(net.graph, x, y)
    t_nx = (time.perf_counter() - t0) / k
    for (x, y), sep in zip(pairs, seps):
        if not ind.is_independent(x, y, sep):
            raise SystemExit(f"minimal_separator({x}, {y}) does not separate")
    lines.append(f"{'minimal_separator, pgm_ar':<42}{t_ours * 1e3:>10.1f} ms/pair ({len(pairs)} pairs, "
                 f"mean size {np.mean([len(s) for s in seps]):.1f})")
    lines.append(f"{'minimal separator, networkx':<42}"
                 f"{t_nx * 1e3:>10.1f} ms/pair ({k} pairs, find_minimal_d_separator)")


def bench_bif(lines: List[str]) -> None:
    """independencies() on the shared BIF networks (loaded through pgmpy's reader)."""
    import gzip

    from pgmpy.readwrite import BIFReader

    from pgm_ar import Categorical

    bif_dir = Path(os.environ.get("PGM_AR_SHARED_DATA", ROOT.parent / "shared" / "data")) / "bif"
    lines.append("\n== independencies() on BIF networks ==")
    for name in ("child", "insurance", "alarm"):
        path = bif_dir / f"{name}.bif.gz"
        if not path.exists():
            lines.append(f"{name:<12} (missing: {path})")
            continue
        with tempfile.NamedTemporaryFile("wb", suffix=".bif", delete=False) as tmp:
            tmp.write(gzip.decompress(path.read_bytes()))
        try:
            model = BIFReader(tmp.name).get_model()
        finally:
            os.unlink(tmp.name)
        states = model.states
        net = BayesNet([Categorical(v, states[v]) for v in model.nodes()], model.edges(), name=name)
        ind, t = timed(net.independencies)
        lines.append(f"{name:<12}{len(net):>4} nodes {net.num_edges:>4} edges: {len(ind.pairs):>4} pair + "
                     f"{len(ind) - len(ind.pairs):>3} further local statements in {t * 1e3:8.1f} ms")
        if name == "alarm":
            import networkx as nx

            pairs = [(s.xs, s.ys) for s in ind.pairs]
            _, t_nx = timed(lambda: [nx.find_minimal_d_separator(net.graph, x, y) for x, y in pairs])
            lines.append(f"{'':<12}(networkx find_minimal_d_separator on the same {len(pairs)} pairs: "
                         f"{t_nx * 1e3:.1f} ms)")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=10000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--pgmpy-queries", type=int, default=None,
                    help="time pgmpy on only the first N queries (default: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bench_structure.txt"))
    args = ap.parse_args(argv)

    import platform

    import scipy

    lines = [
        "bench_structure: build, factorize, count and d-separation at scale",
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"pgmpy {__import__('pgmpy').__version__}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}"
        f" (single-threaded), {os.cpu_count()} CPU cores (shared)",
        f"nodes={args.nodes} queries={args.queries} seed={args.seed}",
    ]
    pq = args.pgmpy_queries or args.queries
    print("\n".join(lines), flush=True)
    for scheme in ("local", "uniform"):
        start = len(lines)
        bench_scheme(args.nodes, scheme, args.queries, pq, args.seed, lines)
        print("\n".join(lines[start:]), flush=True)
    start = len(lines)
    bench_bif(lines)
    print("\n".join(lines[start:]))
    text = "\n".join(lines) + "\n"
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, out)
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
