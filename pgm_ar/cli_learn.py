"""The structure commands: ``pgm-ar compare`` (a declared network against the chain rule,
Markov-k, independent and learned structures on data) and ``pgm-ar learn`` (hill climbing or
PC under the user's knowledge, written as a spec or BIF file and drawn against the
declaration).  Registered by :func:`add_learn_commands` from :func:`pgm_ar.cli.build_parser`.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, List, Optional

from .errors import PgmArError

__all__ = ["add_learn_commands", "parse_tiers", "run_pc"]


def parse_tiers(text: Optional[str]) -> List[List[str]]:
    """``"a, b; c; d, e"`` (or ``"a,b < c < d,e"``) as ``[["a", "b"], ["c"], ["d", "e"]]``.

    >>> parse_tiers("asia, smoke < tub, lung, bronc")
    [['asia', 'smoke'], ['tub', 'lung', 'bronc']]
    """
    if not text:
        return []
    tiers = []
    for part in re.split(r"[;<]", text):
        names = [n.strip() for n in part.split(",") if n.strip()]
        if not names:
            raise PgmArError(f"--tiers {text!r} has an empty tier; separate tiers with ';' "
                             "and the variables of a tier with ','")
        tiers.append(names)
    return tiers


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False))


def _declared(spec_arg: Optional[str]):
    if spec_arg is None:
        return None
    from .io import load_any

    return load_any(spec_arg)


def _refuse_existing(path: Optional[str], force: bool) -> None:
    if path and Path(path).exists() and not force:
        raise PgmArError(f"{path}: already exists; use --force to overwrite it")


def run_pc(data: Any, knowledge: Any, *, net: Any = None, alpha: float = 0.05) -> Any:
    """The PC algorithm (:func:`pgm_ar.learning.pc.pc`) under ``knowledge``, as a
    :class:`~pgm_ar.network.BayesNet`: the learned CPDAG itself when every edge is oriented,
    else one DAG of its equivalence class (its undirected edges are reported on stderr)."""
    from .learning.pc import pc

    result = pc(data, alpha=alpha, required=knowledge.required, forbidden=knowledge.forbidden,
                tiers=knowledge.tiers or None, statements=knowledge.statements, net=net)
    if result.undirected:
        shown = ", ".join(f"{a} - {b}" for a, b in result.undirected[:5])
        more = f" and {len(result.undirected) - 5} more" if len(result.undirected) > 5 else ""
        print(f"pgm-ar: note: PC left {len(result.undirected)} edge(s) undirected ({shown}"
              f"{more}); the network written orients them without new v-structures",
              file=sys.stderr)
        return result.dag_extension()
    return result.to_network()


def cmd_compare(args: argparse.Namespace) -> int:
    from .cli_model import read_csv
    from .learning.compare import compare_structures

    spec = _declared(args.spec)
    data = read_csv(args.data)
    table = compare_structures(spec.network, data, folds=args.folds, seed=args.seed,
                               markov_k=args.markov_k, order=args.order,
                               pseudo_count=args.pseudo_count, ess=args.ess,
                               learned=not args.no_learn, learn_score=args.score)
    if args.json:
        _print_json(table.to_dict())
    else:
        print(table)
    return 0


def _write_network(net: Any, path: str) -> Path:
    from .io.bif import write_bif
    from .io.spec import save_spec

    low = path.lower()
    if low.endswith((".bif", ".bif.gz")):
        return write_bif(net, path)
    if low.endswith((".yaml", ".yml", ".json")):
        return save_spec(net, path)
    raise PgmArError(f"-o {path}: use a .yaml, .yml, .json, .bif or .bif.gz file name")


def cmd_learn(args: argparse.Namespace) -> int:
    from .cli_model import read_csv
    from .learning.count_fit import fit_cpts_by_counts
    from .learning.data import discrete_data
    from .learning.hill_climb import hill_climb
    from .learning.knowledge import Knowledge
    from .learning.structure_diff import diff_edges, draw_learned

    _refuse_existing(args.output, args.force)
    _refuse_existing(args.draw, args.force)
    if args.output:  # fail on a bad suffix before the search, not after
        low = args.output.lower()
        if not low.endswith((".bif", ".bif.gz", ".yaml", ".yml", ".json")):
            raise PgmArError(f"-o {args.output}: use a .yaml, .yml, .json, .bif or .bif.gz "
                             "file name")
    spec = _declared(args.spec)
    net = spec.network if spec is not None else None
    if args.start == "declared" and net is None:
        raise PgmArError("--start declared needs --spec (the declared network)")
    statements = spec.statements if (spec is not None and not args.ignore_statements) else ()
    knowledge = Knowledge(args.require or (), args.forbid or (), parse_tiers(args.tiers),
                          statements)
    df = read_csv(args.data)
    if net is not None:
        extra = [c for c in df.columns if c not in net]
        if extra:
            raise PgmArError(f"the data has columns the network {net.name!r} does not declare: "
                             f"{extra[:5]}; drop them or add the variables to the spec")
    data = discrete_data(df, net)
    if args.method == "pc":
        learned = run_pc(data, knowledge, net=net, alpha=args.alpha)
        learned = fit_cpts_by_counts(learned, data, args.pseudo_count, encoded=data)
        report = {"method": "pc", "edges": [list(e) for e in learned.edges],
                  "knowledge": knowledge.describe()}
        notes: List[str] = []
    else:
        result = hill_climb(data, score=args.score, ess=args.ess,
                            start=("declared" if args.start == "declared" else "empty"),
                            knowledge=knowledge, net=net, max_indegree=args.max_indegree,
                            tabu_length=args.tabu, patience=args.patience,
                            restarts=args.restarts, seed=args.seed,
                            pseudo_count=args.pseudo_count, progress=not args.no_progress)
        learned = result.net
        report = {"method": "hc", **result.to_dict()}
        notes = result.notes
    if net is not None:
        report["against_declared"] = diff_edges(learned, net).to_dict()
    if args.output:
        report["written"] = str(_write_network(learned, args.output))
    if args.draw:
        report["drawn"] = str(draw_learned(learned, args.draw, net))
    if args.json:
        _print_json(report)
        return 0
    if args.method == "hc":
        moves = sum(1 for t in result.trace if t.move in ("add", "remove", "reverse"))
        print(f"hill climbing on {result.score_name.upper()}: score {result.score:,.2f} "
              f"(start {result.start_score:,.2f}) after {moves} moves "
              f"({args.restarts} restart{'' if args.restarts == 1 else 's'}); "
              f"{learned.num_edges} edges")
    else:
        print(f"PC: {learned.num_edges} edges")
    for line in knowledge.describe():
        print(f"  constraint  {line}")
    for v in learned.names:
        ps = learned.parents(v)
        if ps:
            print(f"  {v} <- {', '.join(ps)}")
    if net is not None:
        d = diff_edges(learned, net)
        print(f"against {net.name}: SHD {d.shd}; {d.summary()}")
        for kind in ("added", "reversed", "missing"):
            edges = getattr(d, kind)
            if edges:
                print(f"  {kind}: " + ", ".join(f"{a}->{b}" for a, b in edges))
    for note in notes:
        print(f"note: {note}")
    if args.output:
        print(f"wrote {report['written']}")
    if args.draw:
        print(f"drew {report['drawn']}")
    return 0


def add_learn_commands(sub: Any) -> None:
    """Add ``compare`` and ``learn`` to the ``pgm-ar`` subcommands."""
    from .cli_model import positive_float, positive_int, seed_int

    spec_help = ("a YAML/JSON spec, a BIF file (.bif, .bif.gz) or the name of an example "
                 "network (see 'pgm-ar examples')")

    def folds_int(text: str) -> int:
        n = positive_int(text)
        if n < 2:
            raise argparse.ArgumentTypeError(f"needs at least 2 folds, got {n}")
        return n

    def nonneg_int(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if n < 0:
            raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
        return n

    p = sub.add_parser(
        "compare", help="the declared network against chain rule, Markov-k, independent and "
                        "learned structures on data",
        description="Log-likelihood, BIC, BDeu, k-fold held-out log-likelihood and parameter "
                    "count of the declared structure, the chain rule (the full joint, where it "
                    "fits in memory), Markov-k, all-independent and a hill-climbed structure. "
                    "Every CPT is fitted from the data's counts.")
    p.add_argument("spec", help=spec_help)
    p.add_argument("--data", required=True, metavar="ROWS.csv",
                   help="complete rows, a column per variable (state names as values)")
    p.add_argument("--folds", type=folds_int, default=5, help="cross-validation folds "
                   "(default: %(default)s)")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the fold shuffle")
    p.add_argument("--markov-k", type=positive_int, default=1, metavar="K",
                   help="order of the Markov structure (default: %(default)s)")
    p.add_argument("--order", choices=["declared", "data", "topological"], default="declared",
                   help="variable order of the chain rule and Markov-k (default: %(default)s)")
    p.add_argument("--pseudo-count", type=positive_float, default=0.5, metavar="A",
                   help="added to every CPT cell for the held-out scores (default: "
                        "%(default)s)")
    p.add_argument("--ess", type=positive_float, default=10.0,
                   help="BDeu equivalent sample size (default: %(default)s)")
    p.add_argument("--score", choices=["bic", "bdeu"], default="bic",
                   help="what the learned structure maximises (default: %(default)s)")
    p.add_argument("--no-learn", action="store_true", help="leave out the learned structure")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser(
        "learn", help="learn a structure from data under your constraints",
        description="Hill climbing (add/remove/reverse edges, tabu list, random restarts) on "
                    "BIC or BDeu, or the PC algorithm. Knowledge: required and forbidden "
                    "edges, tiers (no edge into an earlier tier), and the spec's declared "
                    "statements (a declared X _|_ Y | Z keeps X and Y non-adjacent).")
    p.add_argument("--data", required=True, metavar="ROWS.csv",
                   help="complete rows, a column per variable")
    p.add_argument("--method", choices=["hc", "pc"], default="hc",
                   help="hill climbing or PC (default: %(default)s)")
    p.add_argument("--score", choices=["bic", "bdeu", "k2", "aic"], default="bic",
                   help="hill climbing's score (default: %(default)s)")
    p.add_argument("--ess", type=positive_float, default=10.0,
                   help="BDeu equivalent sample size (default: %(default)s)")
    p.add_argument("--spec", metavar="SPEC",
                   help="the declared network: its states, its statements as constraints, "
                        "the comparison and the drawing; " + spec_help)
    p.add_argument("--start", choices=["empty", "declared"], default="empty",
                   help="hill climbing's first DAG (default: %(default)s)")
    p.add_argument("--require", action="append", metavar="A->B",
                   help="an edge the result must have (repeatable)")
    p.add_argument("--forbid", action="append", metavar="A->B",
                   help="an edge the result must not have (repeatable)")
    p.add_argument("--tiers", metavar='"A,B; C; D"',
                   help="an ordering in tiers, earliest first: no edge from a later tier "
                        "into an earlier one")
    p.add_argument("--ignore-statements", action="store_true",
                   help="do not use the spec's declared statements as constraints")
    p.add_argument("--max-indegree", type=nonneg_int, metavar="K",
                   help="most parents per variable")
    p.add_argument("--restarts", type=nonneg_int, default=10,
                   help="random restarts from the best DAG (default: %(default)s; 0 with "
                        "--patience 0: plain greedy climbing)")
    p.add_argument("--tabu", type=nonneg_int, default=100, metavar="N",
                   help="moves that may not be undone (default: %(default)s)")
    p.add_argument("--patience", type=nonneg_int, default=10, metavar="N",
                   help="non-improving moves taken before a climb stops "
                        "(default: %(default)s)")
    p.add_argument("--seed", type=seed_int, default=0,
                   help="seed of the restarts: the same seed, the same result "
                        "(default: %(default)s)")
    p.add_argument("--alpha", type=positive_float, default=0.05,
                   help="PC's significance level (default: %(default)s)")
    p.add_argument("--pseudo-count", type=float, default=0.0, metavar="A",
                   help="added to every cell of the written CPTs (default: %(default)s, "
                        "maximum likelihood)")
    p.add_argument("-o", "--output", metavar="LEARNED.yaml|.bif",
                   help="write the network with CPTs fitted from the counts")
    p.add_argument("--draw", metavar="LEARNED.png",
                   help="draw it (.png, .svg, .pdf, .gv), edges marked against the spec")
    p.add_argument("--force", action="store_true", help="overwrite -o / --draw files")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress report of the hill-climbing restarts")
    p.set_defaults(func=cmd_learn)
