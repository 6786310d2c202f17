"""Model commands of ``pgm-ar``: ``fit``, ``evaluate``, ``sample`` and ``query``.

A *run directory* holds what ``fit`` made: ``model.pt`` (network, families and weights), a
copy of the spec file, and ``fit_log.json`` (data, method, settings, loss per epoch, timing).
``fit`` never overwrites an existing run unless given ``--force``.

Data files are CSV with a header naming the variables; discrete values are state names (or
indices), an empty cell is a missing value.
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

from .errors import DataError, PgmArError

MODEL_FILE = "model.pt"
FIT_LOG = "fit_log.json"


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False))


def read_csv(path: str):
    """Read a data CSV as strings (so that state names stay as written); empty cells are missing."""
    import pandas as pd

    p = Path(path)
    if not p.exists():
        raise PgmArError(f"{path}: no such data file")
    try:
        return pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a readable CSV file ({str(exc).splitlines()[0]})") from None


def _with_line(exc: DataError, path: str) -> DataError:
    """Name the CSV line (header = line 1) of a data error."""
    if exc.row is None:
        return DataError(f"{exc} (in {path})")
    return DataError(f"{exc} (in {path}, line {exc.row + 2})")


def parse_evidence_args(items: Optional[Sequence[str]]) -> Dict[str, str]:
    """``["name=state", ...]`` -> ``{name: state}``."""
    out: Dict[str, str] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise PgmArError(f"evidence must be written name=state, got {item!r}")
        out[name.strip()] = value.strip()
    return out


def _atomic_write_text(path: Path, text: str) -> None:
    from .compiler import _atomic_write_bytes

    _atomic_write_bytes(path, text.encode("utf-8"))


def _load_run(run_dir: str):
    from .compiler import CompiledModel

    d = Path(run_dir)
    if not d.is_dir():
        raise PgmArError(f"{run_dir}: no such run directory (make one with 'pgm-ar fit')")
    path = d / MODEL_FILE
    if not path.exists():
        raise PgmArError(f"{run_dir}: not a run directory ({MODEL_FILE} is missing)")
    return CompiledModel.load(path)


# --------------------------------------------------------------------------- #
# commands
# --------------------------------------------------------------------------- #
def cmd_fit(args: argparse.Namespace) -> int:
    from .compiler import compile
    from .io import load_any

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise PgmArError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not args.force:
        raise PgmArError(f"{out}: run directory already exists and is not empty; "
                         "use --force to overwrite it")
    spec = load_any(args.spec)
    try:
        model = compile(spec.network, getattr(spec, "conditionals", None) or None)
    except PgmArError as exc:
        raise PgmArError(f"{args.spec}: conditionals: {exc}") from None
    data = read_csv(args.data)
    kwargs: Dict[str, Any] = {"method": args.method, "seed": args.seed, "device": args.device,
                              "progress": not args.no_progress}
    for key in ("epochs", "batch_size", "lr"):
        if getattr(args, key) is not None:
            kwargs[key] = getattr(args, key)
    t0 = time.perf_counter()
    try:
        history = model.fit(data, **kwargs)
    except DataError as exc:
        raise _with_line(exc, args.data) from None
    seconds = time.perf_counter() - t0
    model.to("cpu")
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / MODEL_FILE)
    spec_src = Path(args.spec)
    spec_copy = out / spec_src.name
    if spec_src.resolve() != spec_copy.resolve():
        shutil.copyfile(spec_src, spec_copy)
    log = {
        "spec": str(spec_src), "spec_copy": spec_copy.name, "data": str(args.data),
        "rows": int(len(data)), "method": args.method, "seed": args.seed,
        "settings": {k: v for k, v in kwargs.items() if k not in ("method", "seed")},
        "families": {n: f.to_spec() for n, f in model.families.items()},
        "parameters": model.num_parameters(),
        "history": history, "final_loss": history[-1] if history else None,
        "seconds": round(seconds, 3),
    }
    _atomic_write_text(out / FIT_LOG, json.dumps(log, indent=2))
    print(f"fitted {spec.network.name!r} ({len(spec.network)} variables, "
          f"{sum(log['parameters'].values())} parameters) on {len(data)} rows in "
          f"{seconds:.2f} s; mean negative log-likelihood {history[-1]:.4f} nats per row")
    print(f"wrote {out / MODEL_FILE}, {out / FIT_LOG}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    model = _load_run(args.run_dir)
    data = read_csv(args.data)
    try:
        lp = model.log_prob(data)
    except DataError as exc:
        raise _with_line(exc, args.data) from None
    n = int(lp.shape[0])
    total = float(lp.sum())
    result = {"rows": n, "total_log_likelihood": total,
              "mean_log_likelihood": total / n if n else float("nan"), "unit": "nats"}
    if args.json:
        _print_json(result)
    else:
        print(f"rows: {n}")
        print(f"mean log-likelihood: {result['mean_log_likelihood']:.6f} nats per row")
        print(f"total log-likelihood: {total:.6f} nats")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from .variables import Image

    model = _load_run(args.run_dir)
    if any(isinstance(v, Image) for v in model.net.variables):
        raise PgmArError("the network has image variables; sample them from Python "
                         "(CompiledModel.sample) rather than to CSV")
    out = Path(args.output)
    if out.exists() and not args.force:
        raise PgmArError(f"{out}: already exists; use --force to overwrite it")
    evidence = parse_evidence_args(args.evidence)
    df = model.sample(args.n, evidence=evidence or None, seed=args.seed)
    _atomic_write_text(out, df.to_csv(index=False))
    how = df.attrs.get("method", "forward")
    extra = f", effective sample size {df.attrs['ess']:.1f}" if "ess" in df.attrs else ""
    print(f"wrote {len(df)} rows to {out} ({how} sampling{extra})")
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    model = _load_run(args.run_dir)
    evidence = parse_evidence_args(args.evidence)
    if args.map:
        res = model.map_query(args.target or None, evidence or None)
        if args.json:
            _print_json({"map": res, "evidence": evidence})
        else:
            for k, v in res.items():
                print(f"{k} = {v}")
        return 0
    if not args.target:
        raise PgmArError("give at least one --target (or --map for the most probable explanation)")
    res = model.query(list(args.target), evidence or None)
    if args.json:
        _print_json({"evidence": evidence, "marginals": res})
        return 0
    given = ", ".join(f"{k}={v}" for k, v in evidence.items())
    for t, dist in res.items():
        print(f"p({t}{' | ' + given if given else ''}):")
        width = max(len(s) for s in dist)
        for state, p in dist.items():
            print(f"  {state:<{width}}  {p:.6f}")
    return 0


# --------------------------------------------------------------------------- #
# parser
# --------------------------------------------------------------------------- #
def add_model_commands(subparsers: "argparse._SubParsersAction") -> None:
    """Add ``fit``, ``evaluate``, ``sample`` and ``query`` to the ``pgm-ar`` parser."""
    spec_help = "a YAML/JSON spec or a BIF file (.bif, .bif.gz)"

    p = subparsers.add_parser("fit", help="fit a network's conditionals to a CSV of rows")
    p.add_argument("spec", help=spec_help)
    p.add_argument("--data", required=True, help="CSV with one column per variable")
    p.add_argument("--out", required=True, help="run directory to create")
    p.add_argument("--method", choices=["auto", "counts", "svi"], default="auto",
                   help="closed form (counts), SVI, or auto (counts when possible)")
    p.add_argument("--epochs", type=int, help="SVI passes over the data (default 100)")
    p.add_argument("--batch-size", type=int, help="SVI rows per step (default 1024)")
    p.add_argument("--lr", type=float, help="SVI Adam learning rate (default 0.01)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default: %(default)s)")
    p.add_argument("--force", action="store_true", help="overwrite an existing run directory")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_fit)

    p = subparsers.add_parser("evaluate", help="log-likelihood of CSV rows under a fitted model")
    p.add_argument("run_dir", help="a run directory made by 'pgm-ar fit'")
    p.add_argument("--data", required=True, help="CSV with one column per variable")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_evaluate)

    p = subparsers.add_parser("sample", help="draw rows from a fitted model (given evidence)")
    p.add_argument("run_dir", help="a run directory made by 'pgm-ar fit'")
    p.add_argument("-n", type=int, required=True, help="number of rows")
    p.add_argument("-o", "--output", required=True, help="CSV file to write")
    p.add_argument("--evidence", nargs="+", metavar="NAME=STATE", help="condition on these")
    p.add_argument("--seed", type=int, default=None, help="random seed")
    p.add_argument("--force", action="store_true", help="overwrite the output file")
    p.set_defaults(func=cmd_sample)

    p = subparsers.add_parser("query", help="posterior marginals (or MAP) given evidence")
    p.add_argument("run_dir", help="a run directory made by 'pgm-ar fit'")
    p.add_argument("--target", action="append", metavar="NAME",
                   help="variable to query (repeatable)")
    p.add_argument("--evidence", nargs="+", metavar="NAME=STATE", help="condition on these")
    p.add_argument("--map", action="store_true",
                   help="most probable states of the targets (all variables if none given)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_query)
