"""The ``pgm-ar`` command.

Structure commands (``factorize``, ``count``, ``independencies``, ``draw``, ``demo``)
live here; model commands (``fit``, ``evaluate``, ``sample``, ``query``) are added by
:mod:`pgm_ar.cli_model`.  Every :class:`~pgm_ar.errors.PgmArError` is printed as one
line on stderr with exit code 2, never as a traceback.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional, Sequence

from .errors import PgmArError

EXIT_USER_ERROR = 2


def _load(path: str):
    from .io import load_any

    return load_any(path)


def _print_json(obj) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False))


def cmd_factorize(args: argparse.Namespace) -> int:
    spec = _load(args.spec)
    f = spec.network.factorization()
    if args.json:
        _print_json(f.to_dict())
        return 0
    render = {"text": f.text, "unicode": f.unicode, "latex": f.latex}[args.format]
    print(render())
    for line in f.pixel_expansions():
        print("  where " + line)
    return 0


#: family names whose parameter count is the tabular one (no module to build)
_TABLE_FAMILIES = frozenset({"tabular", "table"})


def _names_other_families(spec) -> bool:
    """Whether the spec's conditionals name a family other than tables (torch-free check)."""
    for opts in (getattr(spec, "conditionals", None) or {}).values():
        name = opts if isinstance(opts, str) else opts.get("family")
        if str(name).strip().lower() not in _TABLE_FAMILIES:
            return True
    return False


def _count_rows(counts, compiled) -> str:
    from .counting import readable

    def fam(spec) -> str:  # the family and its size options: nade(hidden=64)
        opts = [f"{k}={v}" for k, v in spec.items() if k in ("hidden", "components", "k",
                                                            "num_masks")]
        return spec.get("family", "?") + (f"({', '.join(opts)})" if opts else "")

    fams = {n: fam(f) for n, f in compiled["families"].items()}
    rows = [("variable", "tabular", "family", "module parameters")]
    for name, tab in counts.per_variable.items():
        rows.append((name, readable(tab) if tab is not None else "-", fams[name],
                     f"{compiled['per_variable'][name]:,}"))
    rows.append(("total", readable(counts.total) if counts.total is not None else "-", "",
                 f"{compiled['total']:,}"))
    w = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join(f"{r[0]:<{w[0]}}  {r[1]:>{w[1]}}  {r[2]:<{w[2]}}  {r[3]:>{w[3]}}".rstrip()
                     for r in rows)


def cmd_count(args: argparse.Namespace) -> int:
    from .counting import compare_parameter_counts, count_parameters

    spec = _load(args.spec)
    net = spec.network
    counts = count_parameters(net)
    table = compare_parameter_counts(net.variables, net=net)
    compiled = None
    if _names_other_families(spec):  # only then import torch and build the modules
        from .cli_model import compiled_counts

        try:
            compiled = compiled_counts(spec)
        except PgmArError as exc:
            raise PgmArError(f"{args.spec}: {exc}") from None
    if args.json:
        out = counts.to_dict()
        out["comparison"] = table.to_dict()
        if compiled is not None:
            out["compiled"] = compiled
        _print_json(out)
        return 0
    print(f"Free parameters of {net.name!r} with tabular conditionals:")
    print(counts)
    print()
    if compiled is not None:
        print("With the spec's conditionals (trainable parameters of the compiled modules):")
        print(_count_rows(counts, compiled))
        print()
    print(f"The same {table.n_scalars} scalar variables under other assumptions:")
    print(table)
    return 0


def cmd_independencies(args: argparse.Namespace) -> int:
    from .statements import Statement

    spec = _load(args.spec)
    net = spec.network
    if args.query:
        results = []
        for q in args.query:
            st = Statement.parse(q).check_names(net.names)
            results.append({"statement": st.ascii(),
                            "independent": net.is_independent(st.xs, st.ys, st.given)})
        if args.json:
            _print_json(results[0] if len(results) == 1 else results)
        else:
            for r in results:
                verdict = "implied by the graph" if r["independent"] else "NOT implied (d-connected)"
                print(f"{r['statement']}: {verdict}")
        return 0
    ind = net.independencies()
    declared = [(s.ascii(), net.is_independent(s.xs, s.ys, s.given)) for s in spec.statements]
    if args.json:
        _print_json({"independencies": ind.to_json(),
                     "declared": [{"statement": s, "implied": ok} for s, ok in declared]})
        return 0
    if declared:
        print("Declared statements:")
        for s, ok in declared:
            print(f"  {s}: {'implied' if ok else 'NOT implied'} by the graph")
        print()
    print(f"What the graph of {net.name!r} implies ({len(ind)} statements):")
    print(ind.to_text())
    return 0


def cmd_draw(args: argparse.Namespace) -> int:
    from .draw import draw

    spec = _load(args.spec)
    out = draw(spec.network, args.output, kind=args.kind, image_mode=args.image_mode)
    print(f"wrote {out}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(Path(args.out), draw_images=not args.no_draw, quick=args.quick)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pgm-ar",
        description="Declare variables and independence assumptions; derive, count, test and "
                    "draw Bayesian networks; fit and use them as Pyro models.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"pgm-ar {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    spec_help = "a YAML/JSON spec or a BIF file (.bif, .bif.gz)"

    p = sub.add_parser("factorize", help="print the factorization the network implies")
    p.add_argument("spec", help=spec_help)
    p.add_argument("--format", choices=["unicode", "text", "latex"], default="unicode")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_factorize)

    p = sub.add_parser("count", help="count free parameters and compare assumptions")
    p.add_argument("spec", help=spec_help)
    p.add_argument("--json", action="store_true",
                   help='print one JSON object with "total" and "per_variable"')
    p.set_defaults(func=cmd_count)

    p = sub.add_parser("independencies", help="what the graph implies; test statements")
    p.add_argument("spec", help=spec_help)
    p.add_argument("--query", action="append", metavar='"a _|_ b | c"',
                   help="test one statement by d-separation (repeatable)")
    p.add_argument("--json", action="store_true", help='print JSON (with "independent")')
    p.set_defaults(func=cmd_independencies)

    p = sub.add_parser("draw", help="draw the DAG or its factor graph (svg, png, pdf, gv)")
    p.add_argument("spec", help=spec_help)
    p.add_argument("--kind", choices=["dag", "factor", "grid"], default="dag")
    p.add_argument("--image-mode", choices=["auto", "node", "grid"], default="auto",
                   help="draw images as one node or as a numbered pixel grid (<= 16x16)")
    p.add_argument("-o", "--output", required=True, help="output file; format from suffix")
    p.set_defaults(func=cmd_draw)

    p = sub.add_parser("demo", help="the tour: counting, independence, inference and digit "
                                    "models, with an HTML report (about a minute)")
    p.add_argument("--out", default="demo_output",
                   help="folder for the pictures and DIR/index.html (default: %(default)s)")
    p.add_argument("--no-draw", action="store_true", help="skip the network drawings")
    p.add_argument("--quick", action="store_true",
                   help="tiny digit models, seconds: checks that every step runs")
    p.set_defaults(func=cmd_demo)

    try:
        from .cli_model import add_model_commands
    except ImportError:  # model commands need torch and Pyro
        pass
    else:
        add_model_commands(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PgmArError as exc:
        print(f"pgm-ar: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except FileNotFoundError as exc:
        print(f"pgm-ar: error: {exc.filename or exc}: no such file", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("pgm-ar: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
