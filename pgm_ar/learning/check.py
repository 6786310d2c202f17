"""Confront declared independences with data: :func:`check`.

For a network (or a spec, or a list of statements) and rows of data, :func:`check` tests

* every statement the user **declared** (a spec's ``independencies``, or the statements
  given), with whether the DAG implies it, and
* every **local Markov** statement the DAG implies, ``X _|_ non-descendants | parents``
  (nodes whose non-descendants are all parents say nothing and are left out),

each by a conditional-independence test (:mod:`pgm_ar.learning.citests`: the G-test or
chi-square for discrete variables, Fisher's z for real-valued ones, and for statements
mixing both the conditional-Gaussian likelihood ratio of :mod:`pgm_ar.learning.cg_test`,
where the independence model is one: the conditioning set all discrete or a side all
real), corrects the p-values
for testing many statements at once (Holm's step-down, which bounds the chance of any false
rejection, or Benjamini-Hochberg, which bounds the expected share of false rejections), and
gives each statement a verdict at the chosen level: *consistent with the data* (not
rejected: the data do not contradict it, which is not proof of it) or *rejected*.

Beside the statements, :meth:`CheckResult.edge_evidence` weighs each edge ``p -> c`` of the
DAG by the test of ``p _|_ c | (other parents of c)`` (a small p-value: the data show the
dependence the edge allows for), and :meth:`CheckResult.missing_edge_evidence` each missing
edge ``u, v`` (``u`` not a descendant of ``v``) by the test of ``v _|_ u | parents(v)``,
which the DAG implies; :func:`pgm_ar.draw.evidence.draw_evidence` draws both.

>>> import pgm_ar
>>> net = pgm_ar.example_network("asia")
>>> rows = pgm_ar.compile(net).sample(2000, seed=1)
>>> result = check(net, rows)
>>> len(result.rows) == len(net.local_independencies())
True
>>> result.rows[0].verdict in ("consistent with the data", "rejected")
True
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import DataError, PgmArError
from ..network import BayesNet
from ..statements import Statement, as_statement
from ..utils.enums import parse_enum
from ..variables import Gaussian
from .citests import CITest, CITester, CITestResult

__all__ = ["Correction", "StatementCheck", "EdgeEvidence", "CheckResult", "check", "holm",
           "benjamini_hochberg", "adjust"]

CONSISTENT = "consistent with the data"
REJECTED = "rejected"
UNTESTED = "untested"


class Correction(str, Enum):
    """How p-values are corrected for testing many statements."""

    HOLM = "holm"  # family-wise error rate (Holm 1979)
    BH = "bh"      # false discovery rate (Benjamini & Hochberg 1995)
    NONE = "none"


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values: ``max_{j<=i} min(1, (m - j + 1) p_(j))`` in sorted order.

    >>> holm([0.01, 0.04, 0.03]).round(4).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


def benjamini_hochberg(p_values: Sequence[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values: ``min_{j>=i} min(1, m p_(j) / j)`` in sorted order.

    >>> benjamini_hochberg([0.01, 0.04, 0.03]).round(4).tolist()
    [0.03, 0.04, 0.04]
    """
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    stepped = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


def adjust(p_values: Sequence[float], correction: Union[str, Correction, None]) -> np.ndarray:
    """The p-values corrected by ``correction`` (``"holm"``, ``"bh"``, ``"none"`` / ``None``)."""
    which = Correction.NONE if correction is None else parse_enum(Correction, correction,
                                                                    "correction")
    if which is Correction.HOLM:
        return holm(p_values)
    if which is Correction.BH:
        return benjamini_hochberg(p_values)
    return np.asarray(p_values, dtype=np.float64)


@dataclass(frozen=True)
class StatementCheck:
    """One tested statement.

    ``source`` is ``"declared"``, ``"local Markov"`` or ``"declared, local Markov"``;
    ``implied`` says whether the DAG implies a declared statement (``None`` without a DAG);
    ``result`` is ``None`` for an untested statement, whose ``reason`` says why.
    """

    statement: Statement
    source: str
    result: Optional[CITestResult]
    p_adjusted: float
    verdict: str
    implied: Optional[bool] = None
    reason: str = ""

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"statement": self.statement.ascii(), "source": self.source,
                               "implied_by_dag": self.implied, "verdict": self.verdict}
        if self.result is not None:
            r = self.result
            out.update(test=r.test, statistic=r.statistic, dof=r.dof, p_value=r.p_value,
                       p_adjusted=self.p_adjusted, cmi=r.cmi, n_used=r.n_used)
            if r.note:
                out["note"] = r.note
        else:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class EdgeEvidence:
    """The test behind one edge ``src -> dst`` of the DAG, or one missing edge ``src, dst``.

    For an edge: ``strong`` when the test rejects independence at the level (the data show
    the dependence).  For a missing edge: ``rejected`` when its implied independence is
    rejected after correction over all missing edges.
    """

    src: str
    dst: str
    present: bool
    result: CITestResult
    p_adjusted: float
    level: float

    @property
    def strong(self) -> bool:
        return self.result.p_value <= self.level

    @property
    def rejected(self) -> bool:
        return (not self.present) and self.p_adjusted <= self.level

    def to_dict(self) -> Dict[str, Any]:
        d = {"from": self.src, "to": self.dst, "test": self.result.statement_text(),
             "p_value": self.result.p_value, "p_adjusted": self.p_adjusted,
             "cmi": self.result.cmi}
        if self.present:
            d["evidence"] = "strong" if self.strong else "weak"
        else:
            d["verdict"] = REJECTED if self.rejected else CONSISTENT
        return d


def format_p(p: float) -> str:
    """A p-value in a few characters: ``0.031``, ``2.1e-07``, ``<1e-300``."""
    if p != p:
        return "nan"
    if p < 1e-300:
        return "<1e-300"
    if p < 1e-3:
        return f"{p:.1e}"
    return f"{p:.3f}"


class CheckResult:
    """What :func:`check` found: one :class:`StatementCheck` per statement.

    ``str(result)`` is a table; :meth:`to_frame`, :meth:`to_dict` and :meth:`to_json` give
    the numbers; :meth:`edge_evidence` and :meth:`missing_edge_evidence` weigh the DAG's
    edges (computed on first use).
    """

    def __init__(self, rows: Sequence[StatementCheck], level: float, correction: str,
                 net: Optional[BayesNet], testers: Dict[str, CITester]) -> None:
        self.rows: Tuple[StatementCheck, ...] = tuple(rows)
        self.level = level
        self.correction = correction
        self.net = net
        self._testers = testers
        self._edges: Optional[List[EdgeEvidence]] = None
        self._missing: Optional[List[EdgeEvidence]] = None

    @property
    def rejected(self) -> List[StatementCheck]:
        return [r for r in self.rows if r.verdict == REJECTED]

    # -- edges -----------------------------------------------------------------------------
    def _tester_for(self, names: Iterable[str]) -> Optional[CITester]:
        """The tester holding every one of ``names`` that can test them (``x``, ``y``, then
        the given), ``None`` if none can."""
        names = list(names)
        kinds = {_kind_of(self.net, n) for n in names} if self.net is not None else {"data"}
        key = "mixed" if kinds == {"discrete", "real"} else kinds.pop() if len(kinds) == 1 \
            else None
        tester = self._testers.get(key) if key is not None else None
        if tester is None or not all(n in tester.names for n in names):
            return None
        if tester.kind is CITest.CG and not tester.cg_testable(names[0], names[1], names[2:]):
            return None
        return tester

    def _run(self, queries: Sequence[Tuple[str, str, Sequence[str]]]
             ) -> List[Optional[CITestResult]]:
        """The tests ``x _|_ y | given`` of single variables, ``None`` where no tester holds
        them all; each tester's share runs as one batch (:meth:`CITester.test_pairs`: the
        tests sharing ``x`` and ``given`` are counted together), with the numbers of one
        test at a time."""
        out: List[Optional[CITestResult]] = [None] * len(queries)
        batches: Dict[int, Tuple[CITester, List[int]]] = {}
        for k, (x, y, given) in enumerate(queries):
            tester = self._tester_for([x, y, *given])
            if tester is None:
                continue
            batches.setdefault(id(tester), (tester, []))[1].append(k)
        for tester, ks in batches.values():
            got = tester.test_pairs([(queries[k][0], queries[k][1], list(queries[k][2]))
                                     for k in ks])
            for k, r in zip(ks, got):
                out[k] = r
        return out

    def edge_evidence(self) -> List[EdgeEvidence]:
        """For each edge ``p -> c``: the test of ``p _|_ c | other parents of c``."""
        if self.net is None:
            raise PgmArError("edge evidence needs a network, not only statements")
        if self._edges is None:
            edges = list(self.net.edges)
            got = self._run([(c, p, [q for q in self.net.parents(c) if q != p])
                             for p, c in edges])
            self._edges = [EdgeEvidence(p, c, True, r, r.p_value, self.level)
                           for (p, c), r in zip(edges, got) if r is not None]
        return list(self._edges)

    def missing_edge_evidence(self) -> List[EdgeEvidence]:
        """For each non-adjacent pair: the implied ``v _|_ u | parents(v)`` (``u`` earlier in
        topological order, so not a descendant of ``v``), corrected over all missing edges."""
        if self.net is None:
            raise PgmArError("missing-edge evidence needs a network, not only statements")
        if self._missing is None:
            net = self.net
            order = net.topological_order()
            position = {n: i for i, n in enumerate(order)}
            adjacent = {frozenset(e) for e in net.edges}
            pairs = [(u, v) for v in order for u in order[:position[v]]
                     if frozenset((u, v)) not in adjacent]
            got = self._run([(v, u, list(net.parents(v))) for u, v in pairs])
            found = [(u, v, r) for (u, v), r in zip(pairs, got) if r is not None]
            adjusted = adjust([r.p_value for _, _, r in found], self.correction)
            self._missing = [EdgeEvidence(u, v, False, r, float(a), self.level)
                             for (u, v, r), a in zip(found, adjusted)]
        return list(self._missing)

    # -- output ----------------------------------------------------------------------------
    def to_frame(self):
        """A pandas DataFrame, one row per statement."""
        import pandas as pd

        cols = ["statement", "source", "implied_by_dag", "test", "statistic", "dof", "p_value",
                "p_adjusted", "cmi", "n_used", "verdict"]
        return pd.DataFrame([{c: r.to_dict().get(c) for c in cols} for r in self.rows],
                            columns=cols)

    def to_dict(self, edges: bool = False) -> Dict[str, Any]:
        out: Dict[str, Any] = {"level": self.level, "correction": self.correction,
                               "n_statements": len(self.rows), "n_rejected": len(self.rejected),
                               "statements": [r.to_dict() for r in self.rows]}
        if edges and self.net is not None:
            out["edges"] = [e.to_dict() for e in self.edge_evidence()]
            out["missing_edges"] = [e.to_dict() for e in self.missing_edge_evidence()]
        return out

    def to_json(self, edges: bool = False, indent: Optional[int] = 2) -> str:
        return json.dumps(self.to_dict(edges), indent=indent, ensure_ascii=False)

    def __str__(self) -> str:
        head = ["statement", "source", "test", "statistic", "dof", "p", "p adj.", "CMI",
                "verdict"]
        lines = []
        for r in self.rows:
            text = r.statement.ascii()
            text = text if len(text) <= 60 else text[:59] + "…"
            if r.result is None:
                lines.append([text, r.source, "-", "-", "-", "-", "-", "-",
                              f"{UNTESTED} ({r.reason})"])
                continue
            t = r.result
            lines.append([text, r.source, t.test, f"{t.statistic:.4g}",
                          "-" if t.dof is None else str(t.dof), format_p(t.p_value),
                          format_p(r.p_adjusted), f"{t.cmi:.3g}", r.verdict])
        widths = [max(len(h), *(len(ln[i]) for ln in lines)) if lines else len(h)
                  for i, h in enumerate(head)]
        fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
        corr = {"holm": "Holm", "bh": "Benjamini-Hochberg", "none": "no"}[self.correction]
        title = (f"{len(self.rows)} statement(s) tested at level {self.level:g} with {corr} "
                 f"correction: {len(self.rejected)} rejected")
        return "\n".join([title, fmt(head), fmt(["-" * w for w in widths])]
                         + [fmt(ln) for ln in lines])

    def __repr__(self) -> str:
        return f"CheckResult({len(self.rows)} statements, {len(self.rejected)} rejected)"


# -- data and kinds ---------------------------------------------------------------------------
def _kind_of(net: Optional[BayesNet], name: str) -> str:
    if net is None:
        return "data"
    var = net.variable(name)
    if var.is_discrete_scalar:
        return "discrete"
    if isinstance(var, Gaussian):
        return "real"
    return "other"


def _testers(net: Optional[BayesNet], data: Any, test: CITest) -> Dict[str, CITester]:
    """One tester per kind of variable the data hold (discrete, real), or ``{"data": ...}``
    without a network (the kind then comes from the columns)."""
    if net is None:
        return {"data": CITester(data, test)}
    from ..tabular_data import columns_of

    cols = columns_of(data)
    out: Dict[str, CITester] = {}
    discrete = [v for v in net.variables if v.is_discrete_scalar and v.name in cols]
    real = [v for v in net.variables if _kind_of(net, v.name) == "real" and v.name in cols]
    if discrete:
        if test is CITest.FISHER_Z:
            raise PgmArError("test 'fisher_z' is for real-valued variables, but "
                             f"{discrete[0].name!r} is discrete; use 'g' or 'chi2' (or 'auto')")
        sub = BayesNet(discrete, name=net.name)
        out["discrete"] = CITester({v.name: cols[v.name] for v in discrete},
                                   CITest.G if test in (CITest.AUTO, CITest.CG) else test,
                                   net=sub)
    if real:
        if test in (CITest.G, CITest.CHI2):
            raise PgmArError(f"test {test.value!r} is for discrete variables, but "
                             f"{real[0].name!r} is real-valued; use 'fisher_z' (or 'auto')")
        import pandas as pd

        frame = {}
        for v in real:
            values = pd.to_numeric(pd.Series(np.asarray(cols[v.name], dtype=object)),
                                   errors="coerce")
            given = pd.Series(np.asarray(cols[v.name], dtype=object))
            bad = values.isna() & given.notna() & (given.astype(str).str.strip() != "")
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise DataError("is not a number; the variable is real-valued", column=v.name,
                                row=i, value=given.iloc[i])
            frame[v.name] = values.to_numpy(dtype=np.float64)
        out["real"] = CITester(frame, CITest.FISHER_Z)
    if discrete and real and test in (CITest.AUTO, CITest.CG):
        # statements mixing both kinds: the conditional-Gaussian test over all the columns
        sub = BayesNet(discrete + real, name=net.name)
        frame = {v.name: cols[v.name] for v in discrete}
        frame.update({v.name: out["real"]._real[1][:, i] for i, v in enumerate(real)})
        out["mixed"] = CITester(frame, CITest.CG, net=sub)
    return out


def _untested_reason(net: Optional[BayesNet], st: Statement,
                     testers: Dict[str, CITester]) -> Tuple[Optional[CITester], str]:
    names = sorted(st.variables())
    kinds = {_kind_of(net, n) for n in names}
    if "other" in kinds:
        return None, "images cannot be tested"
    if len(kinds) > 1:
        tester = testers.get("mixed")
        if tester is None:
            return None, "mixes discrete and real-valued variables"
        absent = [n for n in names if n not in tester.names]
        if absent:
            return None, f"no column {absent[0]!r} in the data"
        if not tester.cg_testable(sorted(st.xs), sorted(st.ys), sorted(st.given)):
            return None, _NOT_CG
        return tester, ""
    tester = testers.get(kinds.pop())
    absent = [n for n in names if tester is None or n not in tester.names]
    if absent:
        return None, f"no column {absent[0]!r} in the data"
    if tester.kind is CITest.CG and not tester.cg_testable(sorted(st.xs), sorted(st.ys),
                                                          sorted(st.given)):
        return None, _NOT_CG
    return tester, ""


_NOT_CG = "discrete variables on both sides given real-valued ones: no conditional-Gaussian test"


# -- the check --------------------------------------------------------------------------------
def check(net_or_statements: Any, data: Any, level: float = 0.05,
          correction: Union[str, Correction, None] = "holm", tests: Union[str, CITest] = "auto",
          *, statements: Iterable[Union[str, Statement]] = (), implied: bool = True) -> CheckResult:
    """Test declared and implied independences on ``data``.

    Parameters
    ----------
    net_or_statements
        A :class:`~pgm_ar.network.BayesNet`, a :class:`~pgm_ar.io.spec.Spec` (its declared
        statements are tested too), or statements alone (``"a _|_ b | c"`` strings or
        :class:`~pgm_ar.statements.Statement` objects).
    data
        A pandas DataFrame or ``{column: values}``: one column per variable tested.
    level
        The significance level of the verdicts (0 < level < 1).
    correction
        ``"holm"`` (the default), ``"bh"`` (Benjamini-Hochberg) or ``"none"`` / ``None``.
    tests
        ``"auto"`` (G-test for discrete variables, Fisher's z for real-valued ones, the
        conditional-Gaussian likelihood ratio for statements mixing both), ``"g"``,
        ``"chi2"``, ``"fisher_z"`` or ``"cg"`` (with a network as ``"auto"``, ``cg`` for the
        mixed statements; without one, ``cg`` for every statement, the floating-point columns
        being the real-valued ones).
    statements
        More declared statements.
    implied
        Also test the DAG's local Markov statements (default ``True``).

    Returns
    -------
    CheckResult
        Declared statements first (file order), then the local Markov ones (variable order).
    """
    if not isinstance(level, (int, float)) or not 0 < float(level) < 1:
        raise PgmArError(f"level must be a number between 0 and 1, got {level!r}")
    test = parse_enum(CITest, tests, "CI test")
    corr = Correction.NONE if correction is None else parse_enum(Correction, correction,
                                                                   "correction")
    net, declared = _unpack(net_or_statements)
    declared += [as_statement(s) for s in statements]
    if net is not None:
        declared = [s.check_names(net.names) for s in declared]
    entries: Dict[Statement, List[Any]] = {}
    for s in declared:
        entries.setdefault(s, ["declared", None])
    if net is not None:
        from ..independence import implied as implied_by

        for s, ok in implied_by(net, list(entries)):
            entries[s][1] = ok
        if implied:
            for s in net.local_independencies():
                if s in entries:
                    entries[s][0] = "declared, local Markov"
                else:
                    entries[s] = ["local Markov", True]
    if not entries:
        raise PgmArError("nothing to check: the network implies no independence and no "
                         "statement was declared")
    testers = _testers(net, data, test)
    plan = [(s, source, imp, *_untested_reason(net, s, testers))
            for s, (source, imp) in entries.items()]
    # statements of two single variables run as one batch per tester (test_pairs counts
    # those sharing x and the conditioning set together); sets on a side one at a time
    pairs: Dict[int, Tuple[CITester, List[int]]] = {}
    done: Dict[int, CITestResult] = {}
    for k, (s, _, _, tester, _) in enumerate(plan):
        if tester is not None and len(s.xs) == 1 and len(s.ys) == 1:
            pairs.setdefault(id(tester), (tester, []))[1].append(k)
    for tester, ks in pairs.values():
        got = tester.test_pairs([(next(iter(plan[k][0].xs)), next(iter(plan[k][0].ys)),
                                  sorted(plan[k][0].given)) for k in ks])
        done.update(zip(ks, got))
    results: List[Tuple[Statement, str, Optional[bool], Optional[CITestResult], str]] = []
    for k, (s, source, imp, tester, reason) in enumerate(plan):
        if tester is None:
            results.append((s, source, imp, None, reason))
            continue
        r = done.get(k) or tester.test(sorted(s.xs), sorted(s.ys), sorted(s.given))
        if r.dof == 0:
            # every stratum has one row or column: nothing the data could contradict (a
            # variable that is a function of the conditioning set, or too few rows)
            results.append((s, source, imp, None, "no degrees of freedom"))
            continue
        results.append((s, source, imp, r, ""))
    tested = [r for *_, r, _ in results if r is not None]
    adjusted = iter(adjust([r.p_value for r in tested], corr))
    rows = []
    for s, source, imp, r, reason in results:
        if r is None:
            rows.append(StatementCheck(s, source, None, float("nan"), UNTESTED, imp, reason))
            continue
        a = float(next(adjusted))
        rows.append(StatementCheck(s, source, r, a, REJECTED if a <= level else CONSISTENT, imp))
    return CheckResult(rows, float(level), corr.value, net, testers)


def _unpack(obj: Any) -> Tuple[Optional[BayesNet], List[Statement]]:
    if isinstance(obj, BayesNet):
        return obj, []
    network = getattr(obj, "network", None)
    if isinstance(network, BayesNet):  # a Spec
        return network, list(getattr(obj, "statements", ()))
    if isinstance(obj, (str, Statement)):
        return None, [as_statement(obj)]
    try:
        return None, [as_statement(s) for s in obj]
    except TypeError:
        raise PgmArError("check() needs a BayesNet, a spec or a list of statements, got "
                         f"{type(obj).__name__}") from None
