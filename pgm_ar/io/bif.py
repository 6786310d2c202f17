"""Read and write discrete Bayesian networks in BIF (the Bayesian Interchange Format).

The reader is a small tokenizer plus a recursive-descent parser (no pyparsing):
it reads the bnlearn repository's files in milliseconds and reports every
problem as a :class:`~pgm_ar.errors.SpecError` naming the file and the line.

What is read
------------
* ``network NAME { ... }`` — the network's name.  bnlearn writes ``unknown``
  everywhere; for a file read from disk that placeholder is replaced by the file
  name's stem (``alarm.bif.gz`` gives ``alarm``).
* ``variable NAME { type discrete [ K ] { s1, s2, ... }; }`` — a
  :class:`~pgm_ar.variables.Categorical` with these state names, in file order.
* ``probability ( child | p1, p2 ) { ... }`` — the CPT of ``child``; the parents'
  order is the CPT's axis order.  The body holds

  - ``table v1, v2, ...;`` — all numbers, child's state slowest and the last
    parent fastest (the layout pgmpy reads and writes);
  - ``(s1, s2) v1, ..., vK;`` — the child's distribution for one configuration of
    the parents, given by state names in the header's parent order;
  - ``default v1, ..., vK;`` — the distribution for every configuration that no
    line names.

* ``property ...;`` lines and ``//`` / ``/* */`` comments are ignored.  As the
  format says, ``,`` and ``|`` only separate tokens.

Rows are checked to sum to one (within :data:`~pgm_ar.cpd.ROW_SUM_TOLERANCE`)
and then normalized, as :class:`~pgm_ar.cpd.TabularCPD` does.

>>> net = read_bif_string('''
... network rain { }
... variable rain { type discrete [ 2 ] { yes, no }; }
... variable wet { type discrete [ 2 ] { yes, no }; }
... probability ( rain ) { table 0.2, 0.8; }
... probability ( wet | rain ) { (yes) 0.9, 0.1; (no) 0.05, 0.95; }
... ''')
>>> net.name, net.parents("wet"), net.variable("wet").states
('rain', ('rain',), ('yes', 'no'))
>>> float(net.cpd("wet").probs[1, 0])
0.05
"""
from __future__ import annotations

import gzip
import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..cpd import ROW_SUM_TOLERANCE, TabularCPD
from ..errors import CycleError, PgmArError, SpecCycleError, SpecError
from ..network import BayesNet
from ..utils.atomic import atomic_write_bytes, atomic_write_text
from ..utils.suggest import did_you_mean
from ..variables import Categorical
from ..limits import check as check_limit, get_limits
from ..utils.files import gunzip_capped, read_input_bytes
from .cpts import CptRows

PathLike = Union[str, Path]

__all__ = ["read_bif", "read_bif_string", "write_bif"]

#: the name bnlearn gives every network; replaced by the file's stem on reading
PLACEHOLDER_NAME = "unknown"

# One alternative per token kind; ``lastgroup`` tells which matched.  Comments and
# strings are single tokens so that their newlines can be counted.
_TOKEN = re.compile(
    r"""(?P<nl>\n)
      | (?P<ws>[ \t\r\f\v]+)
      | (?P<lcomment>//[^\n]*)
      | (?P<bcomment>/\*.*?\*/)
      | (?P<str>"[^"\n]*")
      | (?P<punct>[{}()\[\];,|])
      | (?P<word>(?:[^\s{}()\[\];,|"/]|/(?![/*]))+)
      | (?P<bad>/\*|"|.)""",
    re.VERBOSE | re.DOTALL,
)

_GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class _Tok:
    kind: str  # "word", "str", or the punctuation character itself
    text: str
    line: int


@dataclass
class _RawVariable:
    name: str
    line: int
    states: List[str] = field(default_factory=list)


@dataclass
class _Entry:
    kind: str  # "table", "default" or "row"
    line: int
    values: List[float]
    states: List[Tuple[str, int]] = field(default_factory=list)  # (state, line) for rows


@dataclass
class _RawProbability:
    child: Tuple[str, int]
    parents: List[Tuple[str, int]]
    line: int
    entries: List[_Entry] = field(default_factory=list)


# --------------------------------------------------------------------------- #
# tokenizer
# --------------------------------------------------------------------------- #
def _long_token(n: int, source: str, line: int) -> None:
    try:
        check_limit("max_token_chars", n, "one word of the file")
    except PgmArError as exc:
        raise SpecError(str(exc), path=source, line=line) from None


def _tokenize(text: str, source: str) -> List[_Tok]:
    toks: List[_Tok] = []
    line = 1
    max_token = get_limits().max_token_chars
    append = toks.append
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "nl":
            line += 1
        elif kind == "ws" or kind == "lcomment":
            continue
        elif kind == "word":
            if m.end() - m.start() > max_token:
                _long_token(m.end() - m.start(), source, line)
            append(_Tok("word", m.group(), line))
        elif kind == "punct":
            ch = m.group()
            append(_Tok(ch, ch, line))
        elif kind == "bcomment":
            line += m.group().count("\n")
        elif kind == "str":
            if m.end() - m.start() > max_token:
                _long_token(m.end() - m.start(), source, line)
            append(_Tok("str", m.group()[1:-1], line))
        else:  # bad
            what = m.group()
            if what == "/*":
                raise SpecError("comment '/*' is never closed with '*/'", path=source, line=line)
            if what == '"':
                raise SpecError("string is not closed with '\"' on the same line", path=source,
                                line=line)
            raise SpecError(f"unexpected character {what!r}", path=source, line=line)
    return toks


# --------------------------------------------------------------------------- #
# parser
# --------------------------------------------------------------------------- #
class _Parser:
    """Recursive descent over the token list; builds raw records with line numbers."""

    def __init__(self, toks: List[_Tok], source: str) -> None:
        self.toks = toks
        self.pos = 0
        self.source = source
        self.name: Optional[str] = None
        self.variables: Dict[str, _RawVariable] = {}
        self.probabilities: Dict[str, _RawProbability] = {}
        self.block: Optional[Tuple[str, int]] = None  # (description, line) of the open block

    # -- helpers ---------------------------------------------------------------
    def error(self, message: str, line: Optional[int]) -> SpecError:
        return SpecError(message, path=self.source, line=line)

    def _eof(self) -> SpecError:
        if self.block is not None:
            desc, line = self.block
            return self.error(f"{desc} (opened at line {line}) is not closed: the file ends "
                              "before its '}'", line)
        last = self.toks[-1].line if self.toks else 1
        return self.error("unexpected end of file", last)

    def peek(self) -> Optional[_Tok]:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def next(self) -> _Tok:
        if self.pos >= len(self.toks):
            raise self._eof()
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def expect(self, kind: str, what: str) -> _Tok:
        tok = self.next()
        if tok.kind != kind:
            raise self.error(f"expected {what}, found {tok.text!r}", tok.line)
        return tok

    def word(self, what: str) -> _Tok:
        tok = self.next()
        if tok.kind not in ("word", "str"):
            raise self.error(f"expected {what}, found {tok.text!r}", tok.line)
        return tok

    def skip_statement(self) -> None:
        """Skip to the next ``;`` (a property line)."""
        while True:
            tok = self.next()
            if tok.kind == ";":
                return
            if tok.kind == "}":
                raise self.error("a 'property' line must end with ';'", tok.line)

    # -- grammar ---------------------------------------------------------------
    def parse(self) -> None:
        while self.peek() is not None:
            tok = self.next()
            if tok.kind == "word" and tok.text == "network":
                self.parse_network(tok)
            elif tok.kind == "word" and tok.text == "variable":
                self.parse_variable(tok)
            elif tok.kind == "word" and tok.text == "probability":
                self.parse_probability(tok)
            else:
                raise self.error(
                    f"expected a 'network', 'variable' or 'probability' block, found {tok.text!r}",
                    tok.line)

    def parse_network(self, start: _Tok) -> None:
        words = []
        while True:
            tok = self.next()
            if tok.kind == "{":
                break
            if tok.kind not in ("word", "str"):
                raise self.error(f"expected the network's name and '{{', found {tok.text!r}",
                                 tok.line)
            words.append(tok.text)
        if self.name is not None:
            raise self.error("a second 'network' block", start.line)
        self.name = " ".join(words) if words else PLACEHOLDER_NAME
        self.block = (f"network block {self.name!r}", start.line)
        self.parse_properties_until_close()
        self.block = None

    def parse_properties_until_close(self) -> None:
        while True:
            tok = self.next()
            if tok.kind == "}":
                return
            if tok.kind == "word" and tok.text == "property":
                self.skip_statement()
            else:
                raise self.error(f"expected 'property' or '}}', found {tok.text!r}", tok.line)

    def parse_variable(self, start: _Tok) -> None:
        name_tok = self.word("a variable name after 'variable'")
        self.block = (f"variable block {name_tok.text!r}", start.line)
        tok = self.next()
        if tok.kind != "{":
            raise self.error(f"expected '{{' after 'variable {name_tok.text}', found {tok.text!r}"
                             " (variable names are single words)", tok.line)
        if name_tok.text in self.variables:
            first = self.variables[name_tok.text].line
            raise self.error(f"variable {name_tok.text!r} is declared twice (first at line "
                             f"{first})", name_tok.line)
        var = _RawVariable(name_tok.text, name_tok.line)
        typed = False
        while True:
            tok = self.next()
            if tok.kind == "}":
                break
            if tok.kind == "word" and tok.text == "property":
                self.skip_statement()
            elif tok.kind == "word" and tok.text == "type":
                kind = self.word("a variable type after 'type'")
                if kind.text != "discrete":
                    raise self.error(f"variable {var.name!r} has type {kind.text!r}; only "
                                     "'discrete' variables are supported in BIF", kind.line)
                self.expect("[", "'[' and the number of states")
                count_tok = self.word("the number of states")
                try:
                    count = int(count_tok.text)
                except ValueError:
                    raise self.error(f"expected the number of states of {var.name!r}, found "
                                     f"{count_tok.text!r}", count_tok.line) from None
                self.expect("]", "']'")
                self.expect("{", "'{' and the state names")
                states = self.name_list("}", f"a state name of {var.name!r}")
                self.expect(";", "';' after the state names")
                if len(states) != count:
                    raise self.error(f"variable {var.name!r} declares [{count}] states but lists "
                                     f"{len(states)}: {[s.text for s in states]}", count_tok.line)
                seen: Dict[str, int] = {}
                for s in states:
                    if s.text in seen:
                        raise self.error(f"variable {var.name!r} lists state {s.text!r} twice",
                                         s.line)
                    seen[s.text] = s.line
                var.states = [s.text for s in states]
                typed = True
            else:
                raise self.error(f"expected 'type', 'property' or '}}' in variable "
                                 f"{var.name!r}, found {tok.text!r}", tok.line)
        if not typed:
            raise self.error(f"variable {var.name!r} has no 'type discrete [ K ] {{ ... }};' line",
                             var.line)
        self.variables[var.name] = var
        self.block = None

    def name_list(self, close: str, what: str) -> List[_Tok]:
        """Names up to the ``close`` token; ',' and '|' separate them."""
        names: List[_Tok] = []
        while True:
            tok = self.next()
            if tok.kind == close:
                return names
            if tok.kind in (",", "|"):
                continue
            if tok.kind not in ("word", "str"):
                raise self.error(f"expected {what}, found {tok.text!r}", tok.line)
            names.append(tok)

    def parse_probability(self, start: _Tok) -> None:
        self.block = ("probability block", start.line)
        self.expect("(", "'(' after 'probability'")
        names = self.name_list(")", "a variable name in the probability header")
        if not names:
            raise self.error("empty probability header: write 'probability ( child | parents )'",
                             start.line)
        child = names[0]
        self.block = (f"probability block of {child.text!r}", start.line)
        if child.text in self.probabilities:
            first = self.probabilities[child.text].line
            raise self.error(f"a second probability block for {child.text!r} (first at line "
                             f"{first})", start.line)
        prob = _RawProbability((child.text, child.line), [(t.text, t.line) for t in names[1:]],
                               start.line)
        self.expect("{", "'{' after the probability header")
        while True:
            tok = self.next()
            if tok.kind == "}":
                break
            if tok.kind == "word" and tok.text == "property":
                self.skip_statement()
            elif tok.kind == "word" and tok.text in ("table", "default"):
                prob.entries.append(_Entry(tok.text, tok.line, self.numbers()))
            elif tok.kind == "(":
                states: List[Tuple[str, int]] = []
                while True:
                    s = self.next()
                    if s.kind == ")":
                        break
                    if s.kind == ",":
                        continue
                    if s.kind not in ("word", "str"):
                        raise self.error(f"expected a state name, found {s.text!r}", s.line)
                    states.append((s.text, s.line))
                prob.entries.append(_Entry("row", tok.line, self.numbers(), states))
            else:
                raise self.error(f"expected 'table', 'default', '(' or '}}' in the probability "
                                 f"block of {child.text!r}, found {tok.text!r}", tok.line)
        self.probabilities[child.text] = prob
        self.block = None

    def numbers(self) -> List[float]:
        """Numbers up to the next ``;``."""
        out: List[float] = []
        while True:
            tok = self.next()
            if tok.kind == ";":
                return out
            if tok.kind == ",":
                continue
            try:
                value = float(tok.text) if tok.kind == "word" else math.nan
            except ValueError:
                value = math.nan
            if not math.isfinite(value) or value < 0:
                hint = " (missing ';' on the line before?)" if tok.kind in ("(", "}") else ""
                raise self.error(f"expected a probability (a number >= 0), found {tok.text!r}"
                                 f"{hint}", tok.line)
            out.append(value)


# --------------------------------------------------------------------------- #
# from raw records to a BayesNet
# --------------------------------------------------------------------------- #
def _unknown(name: str, known: Sequence[str], where: str) -> str:
    return f"unknown variable {name!r} in {where}{did_you_mean(name, known)}"


def _build_cpt(p: _Parser, prob: _RawProbability) -> TabularCPD:
    child, _ = prob.child
    var = p.variables[child]
    card = len(var.states)
    parents = [name for name, _ in prob.parents]
    pstates = [p.variables[name].states for name in parents]
    try:
        rows = CptRows(parents, pstates, card)
    except SpecError:
        raise
    except PgmArError as exc:
        raise p.error(f"probability of {child!r}: {exc}", prob.line) from None
    n_configs = math.prod(len(s) for s in pstates)
    default: Optional[_Entry] = None
    if not prob.entries:
        raise p.error(f"the probability block of {child!r} gives no numbers", prob.line)
    for e in prob.entries:
        if e.kind == "table":
            _put_table(p, rows, e, child, n_configs)
        elif e.kind == "default":
            if len(e.values) != card:
                raise p.error(f"default row of {child!r} has {len(e.values)} values; expected "
                              f"{card} (one per state {var.states})", e.line)
            default = e
        else:
            _put_row(p, rows, e, child, var.states)
    if default is not None:
        rows.fill_default(default.values, default.line)
    missing = rows.first_missing()
    if missing is not None:
        raise p.error(f"the probability block of {child!r} has no row for "
                      f"({rows.describe(missing)}) and no 'default'", prob.line)
    bad = rows.first_off_sum(ROW_SUM_TOLERANCE)
    if bad is not None:
        what = f"for ({rows.describe(bad)}) " if parents else ""
        total = float(rows.probs[bad].sum())
        raise p.error(f"probabilities of {child!r} {what}sum to {total:.6g}, not 1",
                      rows.where(bad))
    return TabularCPD(child, parents, rows.probs)


def _put_table(p: _Parser, rows: CptRows, e: _Entry, child: str, n_configs: int) -> None:
    card = rows.probs.shape[-1]
    if len(e.values) != card * n_configs:
        shape = f"{card} states x {n_configs} parent configurations" if rows.parents else \
            f"{card} states"
        raise p.error(f"table of {child!r} has {len(e.values)} values; expected "
                      f"{card * n_configs} ({shape})", e.line)
    # child-major (the child's state slowest, then parents in header order)
    pcards = rows.probs.shape[:-1]
    rows.put_table(np.moveaxis(np.asarray(e.values).reshape((card,) + pcards), 0, -1), e.line)


def _put_row(p: _Parser, rows: CptRows, e: _Entry, child: str, states: List[str]) -> None:
    parents, card = rows.parents, len(states)
    if len(e.states) != len(parents):
        raise p.error(f"row of {child!r} names {len(e.states)} parent states; expected "
                      f"{len(parents)} (for {parents})", e.line)
    idx = []
    for (state, sline), parent, pstates in zip(e.states, parents, rows.parent_states):
        try:
            idx.append(pstates.index(state))
        except ValueError:
            raise p.error(f"unknown state {state!r} of parent {parent!r} in the probability "
                          f"block of {child!r}; its states are {pstates}", sline) from None
    if len(e.values) != card:
        raise p.error(f"row of {child!r} has {len(e.values)} values; expected {card} "
                      f"(one per state {states})", e.line)
    first = rows.given(tuple(idx))
    if first is not None:
        raise p.error(f"configuration ({', '.join(s for s, _ in e.states)}) of {child!r} is "
                      f"given twice (also at line {first})", e.line)
    rows.put_row(tuple(idx), e.values, e.line)


def _build(p: _Parser, name: str) -> BayesNet:
    known = list(p.variables)
    for prob in p.probabilities.values():
        child, cline = prob.child
        if child not in p.variables:
            raise p.error(_unknown(child, known, "a probability header"), cline)
        seen = set()
        for parent, pline in prob.parents:
            if parent not in p.variables:
                raise p.error(_unknown(parent, known, f"the parents of {child!r}"), pline)
            if parent == child:
                raise SpecCycleError([child], path=p.source, line=pline)
            if parent in seen:
                raise p.error(f"parent {parent!r} of {child!r} is listed twice", pline)
            seen.add(parent)
    for var in p.variables.values():
        if var.name not in p.probabilities:
            raise p.error(f"variable {var.name!r} has no probability block (no CPT)", var.line)
    variables = []
    for var in p.variables.values():
        try:
            variables.append(Categorical(var.name, var.states))
        except PgmArError as exc:
            raise p.error(str(exc), var.line) from None
    cpds = {}
    for child in p.variables:
        cpds[child] = _build_cpt(p, p.probabilities[child])
    edges = [(parent, child) for child in p.variables
             for parent, _ in p.probabilities[child].parents]
    try:
        return BayesNet(variables, edges, cpds=cpds, name=name)
    except CycleError as exc:
        line = p.probabilities[exc.cycle[0]].line if exc.cycle[0] in p.probabilities else None
        raise SpecCycleError(exc.cycle, path=p.source, line=line) from None
    except SpecError:
        raise
    except PgmArError as exc:
        raise p.error(str(exc), None) from None


def read_bif_string(text: str, source: str = "<string>", name: Optional[str] = None) -> BayesNet:
    """Parse BIF text into a :class:`~pgm_ar.network.BayesNet` with CPTs.

    Parameters
    ----------
    text
        The BIF source.
    source
        What to call it in error messages (a file name).
    name
        Network name to use instead of the one in the text.

    Raises
    ------
    SpecError
        For any syntax or consistency problem, naming ``source`` and the line.  A
        cycle raises :class:`~pgm_ar.errors.SpecCycleError`, which is also a
        :class:`~pgm_ar.errors.CycleError`.
    """
    if not isinstance(text, str):
        raise PgmArError(f"read_bif_string expects text, got {type(text).__name__}")
    parser = _Parser(_tokenize(text, source), source)
    parser.parse()
    if not parser.variables:
        raise SpecError("no 'variable' blocks: this is not a BIF network", path=source)
    return _build(parser, name or parser.name or PLACEHOLDER_NAME)


def _read_text(path: Path) -> str:
    try:
        raw = read_input_bytes(path, "a BIF file")
    except PgmArError as exc:
        raise SpecError(str(exc).removeprefix(f"{path}: "), path=str(path)) from None
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gunzip_capped(raw, str(path))
        except PgmArError as exc:
            raise SpecError(str(exc).removeprefix(f"{path}: "), path=str(path)) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # older BIF files are plain 8-bit text


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".bif"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name or path.name


def read_bif(path: PathLike) -> BayesNet:
    """Read a BIF file (plain, or gzip-compressed such as ``alarm.bif.gz``).

    Variables are :class:`~pgm_ar.variables.Categorical` with the file's state
    names, in file order; each child's parents are in the order of its
    ``probability ( child | p1, p2 )`` header, which is its CPT's axis order.

    Raises
    ------
    SpecError
        Naming the file and the line, for a missing file, a syntax error, an
        unknown variable or state, a wrong number of values, a missing CPT, an
        unclosed block, or a cycle (:class:`~pgm_ar.errors.SpecCycleError`).
    """
    p = Path(path)
    parser = _Parser(_tokenize(_read_text(p), str(p)), str(p))
    parser.parse()
    if not parser.variables:
        raise SpecError("no 'variable' blocks: this is not a BIF network", path=str(p))
    name = parser.name
    if name is None or name == PLACEHOLDER_NAME:
        name = _stem(p)
    return _build(parser, name)


# --------------------------------------------------------------------------- #
# writing
# --------------------------------------------------------------------------- #
_BIF_WORD = re.compile(r'^(?:[^\s{}()\[\];,|"/]|/(?![/*]))+$')
_KEYWORDS = {"network", "variable", "probability", "property", "type", "discrete", "table",
             "default"}


def _check_word(text: str, what: str) -> str:
    if not _BIF_WORD.match(text) or text in _KEYWORDS:
        raise PgmArError(f"{what} {text!r} cannot be written to BIF: names there are single "
                         "words without spaces, quotes or any of {}()[];,|")
    return text


def _fmt(x: float) -> str:
    # repr gives the shortest text that reads back as the same double.
    return repr(float(x))


def bif_string(net: BayesNet) -> str:
    """The BIF text of ``net`` (see :func:`write_bif`)."""
    if not isinstance(net, BayesNet):
        raise PgmArError(f"write_bif expects a BayesNet, got {type(net).__name__}")
    for var in net.variables:
        if not var.is_discrete_scalar:
            raise PgmArError(f"variable {var.name!r} is a {type(var).__name__}; BIF holds only "
                             "discrete variables with CPTs")
    for var in net.variables:
        if var.name not in net.cpds:
            raise PgmArError(f"variable {var.name!r} has no CPT; BIF needs one for every "
                             "variable (attach CPTs with BayesNet.with_cpds or fit the model)")
    name = re.sub(r"\s+", "_", net.name.strip()) or PLACEHOLDER_NAME
    name = _check_word(name, "network name")
    out = [f"network {name} {{\n}}\n"]
    for var in net.variables:
        _check_word(var.name, "variable name")
        states = [_check_word(s, f"state of {var.name!r}") for s in var.states]
        out.append(f"variable {var.name} {{\n  type discrete [ {len(states)} ] "
                   f"{{ {', '.join(states)} }};\n}}\n")
    for var in net.variables:
        cpd = net.cpd(var.name)
        parents = net.parents(var.name)
        if cpd.parents != parents:
            cpd = cpd.reorder_parents(parents)
        if not parents:
            out.append(f"probability ( {var.name} ) {{\n  table "
                       f"{', '.join(_fmt(x) for x in cpd.probs)};\n}}\n")
            continue
        lines = [f"probability ( {var.name} | {', '.join(parents)} ) {{\n"]
        pstates = [net.variable(p).states for p in parents]
        ranges = [range(len(s)) for s in pstates]
        for idx in itertools.product(*ranges):  # first parent slowest, as pgmpy writes
            cfg = ", ".join(st[i] for st, i in zip(pstates, idx))
            lines.append(f"  ({cfg}) {', '.join(_fmt(x) for x in cpd.probs[idx])};\n")
        lines.append("}\n")
        out.append("".join(lines))
    return "".join(out)


def write_bif(net: BayesNet, path: PathLike) -> Path:
    """Write ``net`` with its CPTs as a BIF file (atomically; gzip if ``path`` ends in ``.gz``).

    Roots get a ``table`` line; other variables one ``(parent states) probs;`` line
    per parent configuration, the first parent varying slowest.  Numbers are
    written with enough digits to read back exactly.

    Raises
    ------
    PgmArError
        Naming the variable that has no CPT or is not discrete, or a name that
        BIF cannot hold.
    """
    text = bif_string(net)
    p = Path(path)
    if p.name.lower().endswith(".gz"):
        # mtime=0 keeps the output byte-for-byte reproducible.
        return atomic_write_bytes(p, gzip.compress(text.encode("utf-8"), mtime=0))
    return atomic_write_text(p, text)
