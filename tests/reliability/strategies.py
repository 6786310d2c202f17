"""Structured hypothesis strategies that reach extreme values: spec documents, BIF text,
independence statements and ``pgm-ar`` command lines; and the runners that feed one generated
case to the library and classify the outcome.

Shared by ``tests/reliability/test_properties.py`` (a small CI budget) and
``benchmarks/fuzz.py`` (long campaigns that count outcomes).

Every runner works under tight budgets (:data:`FUZZ_LIMITS`) so that each case is fast: what
is checked is that every size taken from input passes through a budget check, whatever the
budget.  An outcome is ``"ok"``, ``"error"`` (a :class:`~pgm_ar.errors.PgmArError`, or exit 2
from the CLI), ``"hang"`` (over the per-case time limit) or ``"crash:<ExceptionType>"``.
"""
from __future__ import annotations

import contextlib
import json
import re
import signal
import string
import traceback
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

import yaml
from hypothesis import strategies as st

#: budgets every generated case runs under (small, so each case stays fast)
FUZZ_LIMITS = dict(max_states=1000, max_variables=200, max_image_values=4096,
                   max_table_cells=200_000, max_factor_cells=200_000, max_token_chars=10_000,
                   max_file_bytes=1_000_000, max_decompressed_bytes=1_000_000,
                   max_parameters=200_000, max_sample_values=200_000, max_grid_images=64,
                   max_parents=12)

#: seconds one case may take before it counts as a hang
CASE_SECONDS = 10.0

# ------------------------------------------------------------------ building blocks
EXTREME_INTS = [0, 1, -1, 2, 3, 255, 256, 2 ** 31, 2 ** 32, 2 ** 63 - 1, 2 ** 63, 2 ** 64,
                10 ** 8, 10 ** 12, 10 ** 24, -2 ** 63]
extreme_int = st.one_of(st.integers(-3, 12), st.sampled_from(EXTREME_INTS))
extreme_float = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                          st.sampled_from([0.0, 1.0, 0.5, -0.0, 1e-300, 1e300]))
name = st.one_of(st.sampled_from(["a", "b", "c", "d", "x1", "x2", "rain", "wet"]),
                 st.text(alphabet=string.ascii_letters + string.digits + "_ -.[]=|,:",
                         min_size=0, max_size=6))
scalar = st.one_of(extreme_int, extreme_float, st.text(max_size=5), st.booleans(), st.none())
FAMILIES = ["tabular", "mlp", "logistic", "nade", "made", "fvsbn", "pixelcnn", "gaussian",
            "linear_gaussian", "bogus"]
STRUCTURES = ["chain_rule", "markov", "independent", "independencies", "edges", "markov(3)",
              "markov(99999999999)", "markov(-1)"]
ORDERINGS = ["raster", "snake", "diagonal", "random", "random(-1)", "random(7)",
             "random(99999999999999999999999)", "random(x)", "spiral"]


def _statement_text() -> st.SearchStrategy[str]:
    tokens = st.sampled_from(["a", "b", "c", "d", "x", "_|_", "|", ",", " ", "⊥", "(", ")",
                              "a b", "∣", "_|_ _|_", "", "x" * 300])
    return st.lists(tokens, max_size=9).map(" ".join)


@st.composite
def _structured_statement(draw) -> str:
    """``X _|_ Y | Z`` over a..d (sometimes overlapping or empty sides)."""
    order = draw(st.permutations(["a", "b", "c", "d"]))
    cut1 = draw(st.integers(1, 2))
    cut2 = draw(st.integers(cut1 + 1, 4))
    x, y, z = order[:cut1], order[cut1:cut2], order[cut2:]
    if draw(st.integers(0, 4)) == 0:  # now and then: overlapping or empty sides
        x, y, z = (draw(st.lists(st.sampled_from("abcd"), max_size=3)) for _ in range(3))
    sym = draw(st.sampled_from(["_|_", "⊥", "_|_", "_|_", "|"]))
    text = f"{', '.join(x)} {sym} {', '.join(y)}"
    return text + (f" | {', '.join(z)}" if z else "")


statement_text = st.one_of(_structured_statement(), _statement_text())

variable = st.fixed_dictionaries(
    {"name": name},
    optional={
        "type": st.sampled_from(["bernoulli", "categorical", "gaussian", "image", "bogus", 3]),
        "states": st.one_of(extreme_int, st.lists(name, max_size=4), scalar),
        "count": st.one_of(extreme_int, scalar),
        "shape": st.one_of(st.lists(extreme_int, max_size=4), scalar),
        "levels": st.one_of(extreme_int, st.none(), scalar),
        "ordering": st.one_of(st.sampled_from(ORDERINGS), st.lists(extreme_int, max_size=5),
                              scalar),
    })

family = st.one_of(
    st.sampled_from(FAMILIES),
    st.fixed_dictionaries({"family": st.sampled_from(FAMILIES)},
                          optional={"hidden": st.one_of(extreme_int,
                                                        st.lists(extreme_int, max_size=3)),
                                    "prior": st.one_of(extreme_float, extreme_int)}))

cpt = st.one_of(st.lists(st.one_of(extreme_float, extreme_int), max_size=4),
                st.dictionaries(name, st.lists(extreme_float, max_size=3), max_size=3),
                st.fixed_dictionaries({}, optional={
                    "default": st.lists(extreme_float, max_size=3),
                    "rows": st.dictionaries(name, st.lists(extreme_float, max_size=3),
                                            max_size=2),
                    "table": st.lists(st.lists(extreme_float, max_size=3), max_size=3),
                    "parents": st.lists(name, max_size=3)}),
                scalar)

document = st.fixed_dictionaries(
    {"variables": st.one_of(st.lists(st.one_of(variable, name), max_size=5), scalar)},
    optional={
        "name": st.one_of(name, scalar),
        "structure": st.one_of(st.sampled_from(STRUCTURES),
                               st.fixed_dictionaries({"markov": extreme_int}), scalar),
        "edges": st.lists(st.lists(name, max_size=3), max_size=4),
        "parents": st.dictionaries(name, st.lists(name, max_size=3), max_size=3),
        "statements": st.lists(statement_text, max_size=3),
        "cpts": st.dictionaries(name, cpt, max_size=3),
        "conditionals": st.dictionaries(name, family, max_size=2),
    })


@st.composite
def plausible_document(draw) -> Dict[str, Any]:
    """A document that is nearly valid (distinct names, known types, a known structure), with
    extreme values in a few places: it reaches the deeper readers and the compiler."""
    n = draw(st.integers(1, 5))
    names = [f"v{i}" for i in range(n)]
    variables = []
    for v in names:
        kind = draw(st.sampled_from(["bernoulli", "categorical", "gaussian", "image"]))
        d: Dict[str, Any] = {"name": v, "type": kind}
        rare = st.integers(0, 4).map(lambda i: i == 0)  # extreme values now and then
        if kind == "categorical":
            d["states"] = draw(extreme_int) if draw(rare) else draw(st.one_of(
                st.integers(2, 5), st.lists(name, min_size=2, max_size=4, unique=True)))
        if kind == "image":
            d["shape"] = draw(st.lists(extreme_int, min_size=2, max_size=3)) if draw(rare) \
                else draw(st.lists(st.integers(1, 6), min_size=2, max_size=3))
            d["levels"] = draw(extreme_int) if draw(rare) else draw(st.sampled_from([2, 4, None]))
            d["ordering"] = draw(st.sampled_from(ORDERINGS))
        if draw(st.integers(0, 5)) == 0:
            d["count"] = draw(extreme_int)
        variables.append(d)
    doc: Dict[str, Any] = {"name": "fuzz", "variables": variables}
    how = draw(st.sampled_from(["structure", "edges", "parents"]))
    if how == "structure":
        doc["structure"] = draw(st.one_of(st.sampled_from(STRUCTURES),
                                          st.fixed_dictionaries({"markov": extreme_int})))
        if doc["structure"] == "independencies":
            doc["statements"] = draw(st.lists(statement_text, max_size=3))
    elif how == "edges":
        doc["edges"] = [[a, b] for a, b in draw(st.lists(
            st.tuples(st.sampled_from(names), st.sampled_from(names)), max_size=4))]
    else:
        doc["parents"] = {v: draw(st.lists(st.sampled_from(names[:i]), max_size=3, unique=True))
                          for i, v in enumerate(names) if i}
    if draw(st.booleans()):
        doc["conditionals"] = {draw(st.sampled_from(names)): draw(family)}
    if draw(st.booleans()):
        doc["cpts"] = {draw(st.sampled_from(names)): draw(cpt)}
    return doc


@st.composite
def spec_text(draw) -> Tuple[str, str]:
    """A spec document as YAML or JSON text, sometimes with one character changed."""
    doc = draw(st.one_of(document, plausible_document()))
    fmt = draw(st.sampled_from(["yaml", "json"]))
    text = yaml.safe_dump(doc, allow_unicode=True) if fmt == "yaml" else json.dumps(doc)
    if draw(st.booleans()) and text:
        i = draw(st.integers(0, len(text) - 1))
        text = text[:i] + draw(st.sampled_from(list("{}[]:,-\"'\n #&*!|>%@`") + ["\t", "  "])) \
            + text[i + 1:]
    return text, fmt


@st.composite
def bif_text(draw) -> str:
    """A BIF network: declared state counts that may disagree with the lists, parents that may
    be unknown or many, ``table`` / ``default`` / row entries of extreme numbers."""
    n = draw(st.integers(1, 6))
    names = [f"v{i}" for i in range(n)]
    out = [draw(st.sampled_from(["network x { }", "network x { }", "", "network x {"]))]
    cards = {}
    for v in names:
        k = draw(st.sampled_from([2, 2, 3, 4, 1]))
        cards[v] = k
        declared = k if draw(st.integers(0, 5)) else draw(extreme_int)
        states = ", ".join(f"s{j}" for j in range(k))
        out.append(f"variable {v} {{ type discrete [ {declared} ] {{ {states} }}; }}")
    plausible = draw(st.booleans())
    for i, v in enumerate(names):
        if plausible:  # earlier variables as parents, one normalised table: mostly valid
            parents = draw(st.lists(st.sampled_from(names[:i]), max_size=3, unique=True)) \
                if i else []
            size = cards[v]
            for p in parents:
                size *= cards[p]
            k = cards[v]
            row = [1.0 / k] * k
            vals = ", ".join(f"{x:.6f}" for x in row * (size // k))
            kind = draw(st.sampled_from(["table", "default"]))
            head = f"probability ( {v}" + (f" | {', '.join(parents)}" if parents else "") + " ) {"
            body = f"table {vals};" if kind == "table" else \
                f"default {', '.join(f'{x:.6f}' for x in row)};"
            out.append(f"{head} {body} }}")
            continue
        parents = draw(st.lists(st.sampled_from(names + ["nope"]), max_size=4, unique=True))
        head = f"probability ( {v}" + (f" | {', '.join(parents)}" if parents else "") + " ) {"
        entries = []
        for _ in range(draw(st.integers(0, 3))):
            kind = draw(st.sampled_from(["table", "default", "row"]))
            vals = ", ".join(repr(x) if not isinstance(x, float) else f"{x}"
                             for x in draw(st.lists(st.one_of(extreme_float, extreme_int),
                                                    max_size=6)))
            if kind == "row":
                key = ", ".join(f"s{draw(st.integers(0, 4))}" for _ in parents)
                entries.append(f"({key}) {vals};")
            else:
                entries.append(f"{kind} {vals};")
        out.append(head + " " + " ".join(entries) + " }")
    text = "\n".join(out)
    if draw(st.integers(0, 3)) == 0 and text:
        i = draw(st.integers(0, len(text) - 1))
        text = text[:i] + draw(st.sampled_from(list("{}();,|/*\"") + ["\n", "  ", "//"])) \
            + text[i + 1:]
    return text


OPTION_VALUES = st.one_of(extreme_int.map(str), name, st.sampled_from(
    ["asia", "smoke=yes", "smoke=no", "either=no", "tub=yes", "dysp", "x=1", "=", "", "-1",
     "1" * 24, "nan", "inf"]))


@st.composite
def cli_argv(draw) -> List[str]:
    """A ``pgm-ar`` command line over the shipped asia network (no output outside ``OUT``)."""
    cmd = draw(st.sampled_from(["count", "factorize", "independencies", "query", "sample",
                                "evaluate", "bogus"]))
    argv = [cmd, draw(st.sampled_from(["asia", "cancer", "nowhere.yaml", "", "asia.bif"]))]
    options = {
        "query": ["--target", "--evidence", "--map", "--json", "--seed"],
        "sample": ["-n", "--evidence", "--seed", "--force"],
        "evaluate": ["--data", "--json"],
        "count": ["--json"], "factorize": ["--json"], "independencies": ["--json"],
        "bogus": ["--x"],
    }[cmd]
    for opt in draw(st.lists(st.sampled_from(options), max_size=4)):
        if opt in ("--json", "--map", "--force"):
            argv.append(opt)
        elif opt == "--evidence":
            argv += [opt] + draw(st.lists(OPTION_VALUES, min_size=1, max_size=3))
        elif opt == "-n":  # a large -n streams for as long as it takes: that is not a hang
            argv += [opt, str(draw(st.one_of(st.integers(-2, 300), st.sampled_from(
                ["0", "x", "1e3", "1" * 24]))))]
        else:
            argv += [opt, draw(OPTION_VALUES)]
    if cmd == "sample":
        argv += ["-o", "OUT/" + draw(st.sampled_from(["s.csv", "s.png", "d/s.csv", "", "s"]))]
    return argv


anything = st.one_of(scalar, st.lists(scalar, max_size=4),
                     st.dictionaries(name, scalar, max_size=3))


@st.composite
def api_call(draw) -> Tuple[str, tuple]:
    """One public call with extreme or mistyped arguments: ``(what, arguments)``."""
    what = draw(st.sampled_from(["image", "categorical", "bernoullis", "markov", "query",
                                 "map_query", "sample", "is_independent", "log_prob"]))
    if what == "image":
        args = (draw(st.one_of(st.lists(extreme_int, max_size=4), anything)),
                draw(st.one_of(extreme_int, st.none(), anything)),
                draw(st.one_of(st.sampled_from(ORDERINGS), st.lists(extreme_int, max_size=5),
                               anything)))
    elif what in ("categorical", "bernoullis", "markov"):
        args = (draw(st.one_of(extreme_int, anything)),)
    elif what == "is_independent":
        args = tuple(draw(st.one_of(st.sampled_from(["asia", "dysp", "smoke"]), anything))
                     for _ in range(3))
    elif what == "log_prob":
        args = (draw(st.one_of(st.dictionaries(
            st.sampled_from(["asia", "smoke", "tub", "either", "dysp", "x"]),
            st.lists(st.one_of(st.sampled_from(["yes", "no", None]), scalar), min_size=1,
                     max_size=1), max_size=4), anything)),)
    else:
        target = draw(st.one_of(st.sampled_from(["dysp", "tub", "either", "x"]),
                                st.lists(st.sampled_from(["dysp", "tub", "x"]), max_size=3),
                                anything))
        evidence = draw(st.one_of(
            st.dictionaries(st.sampled_from(["smoke", "tub", "either", "x"]),
                            st.one_of(st.sampled_from(["yes", "no", 0, 1, 2]), scalar),
                            max_size=3), anything))
        args = (target, evidence, draw(extreme_int))
    return what, args


_ASIA = {}


def run_api(case: Tuple[str, tuple]) -> None:
    """Make the call of :func:`api_call`."""
    import warnings

    import pgm_ar

    what, args = case
    if "model" not in _ASIA:
        _ASIA["net"] = pgm_ar.example_network("asia")
        _ASIA["model"] = pgm_ar.compile(_ASIA["net"])
    net, m = _ASIA["net"], _ASIA["model"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if what == "image":
            pgm_ar.Image("x", shape=args[0], levels=args[1], ordering=args[2])
        elif what == "categorical":
            pgm_ar.Categorical("x", args[0])
        elif what == "bernoullis":
            pgm_ar.bernoullis(args[0])
        elif what == "markov":
            pgm_ar.markov(pgm_ar.bernoullis(4), k=args[0])
        elif what == "is_independent":
            net.is_independent(*args)
        elif what == "log_prob":
            m.log_prob(args[0])
        elif what == "query":
            m.query(args[0], args[1], seed=args[2])
        elif what == "map_query":
            m.map_query(args[0], args[1])
        else:
            n = args[2] if isinstance(args[2], int) and args[2] < 1000 else 5
            m.sample(n, evidence=args[1], seed=args[2])


# ------------------------------------------------------------------ running one case
class CaseTimeout(Exception):
    """One case ran past :data:`CASE_SECONDS`."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`CaseTimeout` in the main thread after ``seconds`` (POSIX timers)."""
    def fire(signum, frame):
        raise CaseTimeout()

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def classify(fn: Callable[[], Any], seconds: float = CASE_SECONDS) -> Tuple[str, str]:
    """Run ``fn`` under the fuzz budgets and a time limit; ``(outcome, detail)``."""
    from pgm_ar.errors import PgmArError
    from pgm_ar.limits import limits_raised

    try:
        with limits_raised(**FUZZ_LIMITS), time_limit(seconds):
            fn()
        return "ok", ""
    except CaseTimeout:
        return "hang", ""
    except PgmArError as exc:
        return "error", str(exc)[:200]
    except Exception as exc:  # anything else is a finding
        return f"crash:{type(exc).__name__}", traceback.format_exc(limit=-3)


def run_spec(text: str, fmt: str) -> None:
    """Read a spec; count its network; compile it when it names families."""
    import warnings

    from pgm_ar import count_parameters
    from pgm_ar.io.spec import load_spec_text

    spec = load_spec_text(text, fmt=fmt, source="fuzz")
    count_parameters(spec.network)
    if spec.conditionals:
        from pgm_ar import compile

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(spec.network, spec.conditionals)


def run_bif(text: str) -> None:
    """Read a BIF text; count its network and answer one query when it has CPTs."""
    from pgm_ar import count_parameters
    from pgm_ar.io.bif import read_bif_string

    net = read_bif_string(text, source="fuzz.bif")
    count_parameters(net)
    if len(net.cpds) == len(net.names):
        from pgm_ar import compile

        compile(net).query(net.names[-1], {net.names[0]: 0})


def run_statement(text: str) -> None:
    """Parse a statement, derive a network from it and check it on a four-variable chain
    (``a b c d`` stand for ``x1 .. x4``)."""
    from pgm_ar import Statement, bernoullis, check_statements, from_independencies, markov

    Statement.parse(text)
    variables = bernoullis(4, prefix="x")
    renamed = re.sub(r"\b[abcd]\b", lambda m: "x" + str("abcd".index(m.group()) + 1), text)
    from_independencies(variables, [renamed])
    check_statements(markov(variables, k=1), [renamed])


def run_cli(argv: List[str], out_dir: Path) -> None:
    """Run ``pgm-ar ARGV`` in-process; exit 0 and 2 are fine, anything else raises."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from pgm_ar.cli import main

    argv = [a.replace("OUT", str(out_dir)) for a in argv]
    buf = io.StringIO()
    try:
        with redirect_stdout(buf), redirect_stderr(buf):
            code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    if code not in (0, 2):
        raise AssertionError(f"exit {code}: {buf.getvalue()[-300:]}")
    if code == 2:
        lines = [ln for ln in buf.getvalue().strip().splitlines() if ln.startswith("pgm-ar")]
        if "Traceback" in buf.getvalue() or not lines:
            raise AssertionError(f"exit 2 without a one-line error: {buf.getvalue()[-300:]}")
        from pgm_ar.errors import PgmArError

        raise PgmArError(lines[-1])


DATA_COLUMNS = ["asia", "smoke", "tub", "lung", "bronc", "either", "xray", "dysp", "x", "",
                "asia"]
DATA_VALUES = st.one_of(st.sampled_from(["yes", "no", "", "YES", " no", "nan", "True", "0",
                                         "1", "-1", "1e400", "\u00e9", "a,b", '"', "x" * 300]),
                        scalar.map(str))


@st.composite
def data_case(draw) -> Tuple[List[str], List[List[str]]]:
    """A command reading rows (check, compare, learn, query --data) and a crafted CSV for it:
    ``(argv with ROWS for the file, rows of cells with the header first)``."""
    cols = draw(st.lists(st.sampled_from(DATA_COLUMNS), min_size=0, max_size=6))
    width = draw(st.one_of(st.just(len(cols)), st.integers(0, 8)))  # ragged rows too
    body = draw(st.lists(st.lists(DATA_VALUES, min_size=width, max_size=width), max_size=30))
    if draw(st.booleans()) and cols:  # many rows of real states, so the statistics run
        body += [[draw(st.sampled_from(["yes", "no"])) for _ in cols] for _ in range(60)]
    cmd = draw(st.sampled_from([
        ["check", "asia"], ["check", "asia", "--correction", "bh", "--json"],
        ["compare", "asia", "--folds", draw(st.sampled_from(["2", "3", "1", "0", "x"]))],
        ["learn"], ["learn", "--method", "pc"], ["learn", "--spec", "asia", "--start", "declared"],
        ["learn", "--require", draw(st.sampled_from(["smoke->lung", "x->y", "a->a", "->"]))],
        ["query", "asia", "--target", draw(st.sampled_from(["dysp", "x", ""]))]]))
    return cmd + ["--data", "ROWS"], [cols] + body


def run_data(case: Tuple[List[str], List[List[str]]], out_dir: Path) -> None:
    """Write the case's CSV and run its command like :func:`run_cli`."""
    import csv

    argv, rows = case
    path = out_dir / "rows.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    run_cli([a.replace("ROWS", str(path)) for a in argv], out_dir)


RUNNERS: Dict[str, Callable[..., None]] = {"spec": run_spec, "bif": run_bif,
                                           "statement": run_statement, "cli": run_cli,
                                           "api": run_api, "data": run_data}
