"""``pgm-ar check``: test a network's declared and implied independences on data.

    pgm-ar check SPEC --data rows.csv [--level 0.05] [--correction holm|bh|none]
                 [--test auto|g|chi2|fisher_z|cg] [--no-implied] [--json] [--draw out.png]

prints one row per statement (the declared ones, then the local Markov statements of the
DAG) with its test, p-value, corrected p-value, conditional mutual information and verdict;
``--draw`` pictures each edge's evidence and each missing edge the data contradict
(:func:`pgm_ar.draw.evidence.draw_evidence`).  The exit code is 0 whatever the verdicts (a
rejected statement is a finding, not an error).
"""
from __future__ import annotations

import argparse
import json

from .errors import PgmArError

__all__ = ["add_check_commands", "cmd_check"]


def _level(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"the level must lie between 0 and 1, got {text}")
    return value


def cmd_check(args: argparse.Namespace) -> int:
    from .cli_model import read_csv
    from .io import load_any
    from .learning.check import check

    spec = load_any(args.spec)
    data = read_csv(args.data)
    unknown = [c for c in data.columns if c not in spec.network]
    if len(unknown) == len(data.columns):
        raise PgmArError(f"{args.data}: none of its columns ({', '.join(unknown[:5])}) is a "
                         f"variable of {spec.network.name!r}")
    data = data[[c for c in data.columns if c in spec.network]]
    result = check(spec, data, level=args.level, correction=args.correction, tests=args.test,
                   implied=not args.no_implied)
    if args.draw:
        from .draw.evidence import draw_evidence

        path = draw_evidence(result, args.draw)
    if args.json:
        print(json.dumps(result.to_dict(edges=bool(args.draw)), indent=2, ensure_ascii=False))
    else:
        print(result)
        if args.draw:
            print(f"wrote {path}")
    return 0


def add_check_commands(sub) -> None:
    """Register ``check`` on the ``pgm-ar`` subparsers."""
    p = sub.add_parser(
        "check", help="test declared and implied independences on data (G-test, chi-square, "
                      "Fisher z), with multiple-testing correction",
        description="For each statement the spec declares and each local Markov statement "
                    "its DAG implies (X independent of its non-descendants given its "
                    "parents), a conditional-independence test on the rows, p-values "
                    "corrected for testing many statements, and a verdict at the level.")
    p.add_argument("spec", help="a YAML/JSON spec, a BIF file or the name of an example network")
    p.add_argument("--data", required=True, metavar="ROWS.csv",
                   help="CSV with a header; one column per variable (others are ignored)")
    p.add_argument("--level", type=_level, default=0.05,
                   help="significance level of the verdicts (default: %(default)s)")
    p.add_argument("--correction", choices=["holm", "bh", "none"], default="holm",
                   help="multiple-testing correction: Holm (family-wise error), bh "
                        "(Benjamini-Hochberg false discovery rate) or none "
                        "(default: %(default)s)")
    p.add_argument("--test", choices=["auto", "g", "chi2", "fisher_z", "cg"], default="auto",
                   help="the CI test: auto is the G-test for discrete variables, Fisher's z "
                        "for real-valued ones and the conditional-Gaussian likelihood ratio "
                        "(cg) for statements mixing both (default: %(default)s)")
    p.add_argument("--no-implied", action="store_true",
                   help="test only the declared statements, not the DAG's local Markov ones")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--draw", metavar="OUT.png",
                   help="draw the DAG with each edge's evidence and each missing edge the data "
                        "reject (png, svg, pdf, gv)")
    p.set_defaults(func=cmd_check)
