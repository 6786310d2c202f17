"""The ``pgm-ar`` command.

Structure commands (``factorize``, ``count``, ``independencies``, ``draw``, ``examples``,
``demo``) live here; model commands (``fit``, ``evaluate``, ``sample``, ``query``) are added by
:mod:`pgm_ar.cli_model`.  Every :class:`~pgm_ar.errors.PgmArError` is printed as one
line on stderr with exit code 2, never as a traceback, and with the command-line option
where the library's message names a Python argument (``--kind dag``, not ``kind='dag'``).
A reader that closes the pipe early (``pgm-ar count alarm | head -1``) ends the command
quietly with exit code 141 (128 + SIGPIPE), as other Unix tools do.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Optional, Sequence

from .errors import PgmArError

EXIT_USER_ERROR = 2
#: exit code after the reader closed our standard output (a shell's code for SIGPIPE)
EXIT_CLOSED_PIPE = 128 + 13
#: commands that hold nothing needing clean-up when they have returned: run from the command
#: line they end the process at once, skipping the interpreter's tear-down of torch (about a
#: second of a two-second command)
QUICK_EXIT = frozenset({"cmd_count", "cmd_query", "cmd_sample"})

#: library errors speak Python to API callers (``kind='dag'``); the command names its options
_CLI_WORDING = [
    (re.compile(r"\bkind='(\w+)'"), r"--kind \1"),
    (re.compile(r"\bimage_mode='(\w+)' \(or '(\w+)'\)"), r"--image-mode \1 (or \2)"),
    (re.compile(r"\bimage_mode='(\w+)'"), r"--image-mode \1"),
    (re.compile(r"\bmethod='(\w+)'"), r"--method \1"),
    (re.compile(r"\bdevice='(\w+)' or '(\w+)'"), r"--device \1 or \2"),
    (re.compile(r"\bdevice='(\w+)'"), r"--device \1"),
    (re.compile(r" \(pass verify=False to read another IDX data set with MNIST's file names\)"),
     " (the command reads the original MNIST files only)"),
    (re.compile(r"MNIST file not found: (.*)/([^/;]*); put the four IDX files in that "
                r"directory, or pass download=True to fetch them"),
     lambda m: (f"MNIST file not found: {m[1]}/{m[2]}; put the four IDX files in that directory, "
                f"or fetch them with: python -c \"import pgm_ar.datasets as d; "
                f"d.download_mnist('{m[1]}')\"")),
]


def cli_wording(message: str) -> str:
    """``message`` with Python argument names replaced by the command-line options.

    >>> cli_wording("no pixel ordering to draw; use kind='dag' or kind='factor'")
    'no pixel ordering to draw; use --kind dag or --kind factor'
    """
    for pattern, replacement in _CLI_WORDING:
        message = pattern.sub(replacement, message)
    return message


def _closed_pipe() -> int:
    """The reader of our output went away: stop quietly, like ``yes | head -1``."""
    try:  # later writes (the interpreter's final flush) go nowhere instead of failing again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is no real file (tests)
        pass
    return EXIT_CLOSED_PIPE


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
    for line in f.pixel_expansions(args.format):
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


def _network(path: str):
    """The network of a spec or BIF file, or of a run directory made by ``pgm-ar fit``."""
    if Path(path).is_dir():
        from .cli_model import _load_run

        return _load_run(path).net
    return _load(path).network


def _context_model(path: str):
    """A run directory's trained model, or a spec compiled with its seeded initial weights."""
    if Path(path).is_dir():
        from .cli_model import _load_run

        return _load_run(path)
    from .model import compile
    from .variables import Image

    spec = _load(path)
    net = spec.network
    if not any(isinstance(v, Image) for v in net.variables):
        raise PgmArError(f"{path}: network {net.name!r} has no image variable; --kind context "
                         "explains the autoregressive conditional of an image")
    try:
        return compile(net, getattr(spec, "conditionals", None) or None)
    except PgmArError as exc:
        raise PgmArError(f"{path}: {exc}") from None


def _given_values(model, items: Optional[Sequence[str]]) -> dict:
    """``--given label=3`` -> ``{"label": 3}``: state names or indices, numbers for real
    parents."""
    out = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise PgmArError(f"--given takes NAME=VALUE, got {item!r}")
        var = model.net.variable(name)
        if var.is_discrete:
            out[name] = var.state_index(value)
        else:
            try:
                out[name] = float(value)
            except ValueError:
                raise PgmArError(f"--given {item}: {name!r} is real-valued; give a number") \
                    from None
    return out


def _draw_context(args: argparse.Namespace) -> int:
    from .draw.context import autoregressive_conditional, context_format, draw_context

    if args.pixel is None:
        raise PgmArError("--kind context needs --pixel I,J: the (row, column) of the output "
                         "whose context to draw")
    context_format(args.output)  # an unusable suffix fails before anything is compiled
    model = _context_model(args.spec)
    cond = autoregressive_conditional(model, args.variable)
    given = _given_values(model, args.given)
    path, dep = draw_context(cond, args.output, args.pixel,
                             0 if args.channel is None else args.channel,
                             images=args.images, seed=args.seed, parents=given)
    print(f"wrote {path}")
    print(dep.describe())
    return 0


def cmd_draw(args: argparse.Namespace) -> int:
    from .draw import draw

    if args.kind == "context":
        if args.max_nodes is not None:
            raise PgmArError("--max-nodes applies to --kind dag and --kind factor")
        return _draw_context(args)
    for flag, value in (("--pixel", args.pixel), ("--channel", args.channel),
                        ("--given", args.given)):
        if value is not None:
            raise PgmArError(f"{flag} only applies to --kind context")
    net = _network(args.spec)
    variable = args.variable if args.kind == "grid" else None
    if args.variable is not None and args.kind != "grid":
        raise PgmArError("--variable only applies to --kind grid and --kind context")
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        out = draw(net, args.output, kind=args.kind, image_mode=args.image_mode,
                   variable=variable, max_nodes=args.max_nodes)
    for w in caught:  # a part of a large network: said in one line
        print(f"pgm-ar: note: {w.message}", file=sys.stderr)
    print(f"wrote {out}")
    return 0


def cmd_examples(args: argparse.Namespace) -> int:
    from .counting import count_parameters
    from .io.examples import example_network, example_networks

    rows = []
    for name in example_networks():
        net = example_network(name)
        rows.append({"name": name, "nodes": len(net), "edges": len(net.edges),
                     "free_parameters": int(count_parameters(net).total)})
    if args.json:
        _print_json(rows)
        return 0
    table = [("name", "nodes", "edges", "free parameters")]
    table += [(r["name"], str(r["nodes"]), str(r["edges"]), f"{r['free_parameters']:,}")
              for r in rows]
    w = [max(len(r[i]) for r in table) for i in range(4)]
    print("Example networks shipped with pgm_ar (discrete, with their CPTs):")
    for r in table:
        print(f"  {r[0]:<{w[0]}}  {r[1]:>{w[1]}}  {r[2]:>{w[2]}}  {r[3]:>{w[3]}}")
    print("Give a name wherever a network file is accepted, e.g. 'pgm-ar count alarm' or\n"
          "'pgm-ar query asia --target lung --evidence smoke=yes'.")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(Path(args.out), draw_images=not args.no_draw, quick=args.quick)
    return 0


def build_parser() -> argparse.ArgumentParser:
    # the argparse types shared with the model commands (light: they load no torch)
    from .cli_model import positive_int, seed_int

    parser = argparse.ArgumentParser(
        prog="pgm-ar",
        description="Declare variables and independence assumptions; derive, count, test and "
                    "draw Bayesian networks; fit and use them as Pyro models.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"pgm-ar {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    spec_help = ("a YAML/JSON spec, a BIF file (.bif, .bif.gz) or the name of an example "
                 "network (see 'pgm-ar examples')")

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

    p = sub.add_parser(
        "draw", help="draw the DAG, its factor graph, an image's ordering or a pixel's context",
        description="dag / factor: the network (svg, png, pdf, gv); grid: the visiting order "
                    "of an image's pixels (numbered up to 16x16, a heat-map up to 32x32); "
                    "context: which inputs the output for one pixel of an autoregressive image "
                    "model depends on, from the gradient (png, svg, pdf).")
    p.add_argument("spec", help=spec_help + ", or a run directory made by 'pgm-ar fit'")
    p.add_argument("--kind", choices=["dag", "factor", "grid", "context"], default="dag")
    p.add_argument("--image-mode", choices=["auto", "node", "grid"], default="auto",
                   help="draw images as one node or as a numbered pixel grid (<= 16x16)")
    p.add_argument("--variable", metavar="IMAGE",
                   help="the image to draw (grid, context) when the network has several")
    p.add_argument("--pixel", metavar="I,J",
                   help="context: row and column of the output to explain (0-based)")
    p.add_argument("--channel", metavar="C",
                   help="context: the output's channel, 0-based or R/G/B (default 0)")
    p.add_argument("--given", action="append", metavar="NAME=VALUE",
                   help="context: a value of one of the image's parents (default: state 0 / "
                        "0.0; repeatable)")
    p.add_argument("--images", type=positive_int, default=32, metavar="N",
                   help="context: random input images the gradients are maxed over "
                        "(default: %(default)s)")
    p.add_argument("--seed", type=seed_int, default=0,
                   help="context: seed of the random images (default: %(default)s)")
    p.add_argument("--max-nodes", type=positive_int, metavar="N",
                   help="dag / factor pictures: show the first N variables in topological "
                        "order (default: all up to 200 variables and 1000 edges, else the "
                        "first that fit)")
    p.add_argument("-o", "--output", required=True, help="output file; format from suffix")
    p.set_defaults(func=cmd_draw)

    p = sub.add_parser("examples", help="list the example networks shipped with pgm_ar "
                                        "(usable by name in place of a file)")
    p.add_argument("--json", action="store_true", help="print one JSON list")
    p.set_defaults(func=cmd_examples)

    p = sub.add_parser("demo", help="the tour: counting, independence, inference and digit "
                                    "models, with an HTML report (about a minute)")
    p.add_argument("--out", default="demo_output",
                   help="folder for the pictures and DIR/index.html (default: %(default)s)")
    p.add_argument("--no-draw", action="store_true", help="skip the network drawings")
    p.add_argument("--quick", action="store_true",
                   help="tiny digit models, seconds: checks that every step runs")
    p.set_defaults(func=cmd_demo)

    from .cli_model import add_model_commands  # torch and Pyro load only when one runs

    add_model_commands(sub)
    from .cli_learn import add_learn_commands

    add_learn_commands(sub)
    from .cli_check import add_check_commands

    add_check_commands(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, where it is handled, not at exit
        if argv is None and getattr(args.func, "__name__", "") in QUICK_EXIT:
            sys.stderr.flush()
            os._exit(code)  # the command line only: a caller passing argv gets the code back
        return code
    except BrokenPipeError:
        return _closed_pipe()
    except PgmArError as exc:
        print(f"pgm-ar: error: {cli_wording(str(exc))}", file=sys.stderr)
        return EXIT_USER_ERROR
    except FileNotFoundError as exc:
        print(f"pgm-ar: error: {exc.filename or exc}: no such file", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as exc:  # a file in the middle of an output path, no permission, disk full
        what = f"{exc.filename}: " if exc.filename else ""
        why = exc.strerror or str(exc)
        if isinstance(exc, (FileExistsError, NotADirectoryError)):
            why += " (a file stands where the path needs a directory)"
        print(f"pgm-ar: error: {what}{why}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("pgm-ar: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
