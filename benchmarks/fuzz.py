"""Long fuzz campaigns: structured cases (specs, BIF texts, statements, command lines) from the
hypothesis strategies of ``tests/reliability/strategies.py``, run under small budgets, a
per-case time limit and an address-space cap, counted by outcome.

    OMP_NUM_THREADS=1 python benchmarks/fuzz.py --seconds 300 [--kinds spec,bif] [--save DIR]

Outcomes: ``ok``, ``error`` (a PgmArError / a one-line exit 2), ``hang`` (past the time
limit), ``crash:<Type>`` (any other exception: a finding).  ``--save DIR`` writes each finding
as a corpus file (copy it into ``tests/reliability/corpus/`` to replay it on every test run).
A JSON summary is printed at the end.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from hypothesis import HealthCheck, given, settings  # noqa: E402

from reliability.strategies import (RUNNERS, api_call, bif_text, classify,  # noqa: E402
                                    cli_argv, data_case, spec_text, statement_text)

STRATEGIES = {"spec": spec_text(), "bif": bif_text(), "statement": statement_text,
              "cli": cli_argv(), "api": api_call(), "data": data_case()}


def campaign(kind: str, seconds: float, counts: collections.Counter, findings: list,
             out_dir: Path) -> None:
    deadline = time.monotonic() + seconds

    # batches of fresh random cases until the time is up (outcomes are counted, never
    # raised, so hypothesis never stops to shrink)
    @settings(max_examples=100, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(STRATEGIES[kind])
    def one(case):
        if time.monotonic() > deadline:
            return
        if kind == "spec":
            outcome, detail = classify(lambda: RUNNERS["spec"](*case))
        elif kind in ("cli", "data"):
            outcome, detail = classify(lambda: RUNNERS[kind](case, out_dir))
        else:
            outcome, detail = classify(lambda: RUNNERS[kind](case))
        counts[(kind, outcome)] += 1
        if outcome not in ("ok", "error"):
            findings.append({"kind": kind, "outcome": outcome, "case": case,
                             "detail": detail[-600:]})

    while time.monotonic() < deadline:
        one()


def _save(findings: list, save: Path) -> None:
    save.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(findings):
        kind, case = f["kind"], f["case"]
        if kind == "spec":
            text, fmt = case
            (save / f"fuzz_{i}.{fmt}").write_text(text, encoding="utf-8")
        elif kind == "bif":
            (save / f"fuzz_{i}.bif").write_text(case, encoding="utf-8")
        elif kind == "statement":
            (save / f"fuzz_{i}.txt").write_text(case + "\n", encoding="utf-8")
        elif kind == "api":
            (save / f"fuzz_{i}.api.txt").write_text(repr(case) + "\n", encoding="utf-8")
        else:
            (save / f"fuzz_{i}.jsonl").write_text(json.dumps(case) + "\n", encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=300.0, help="total time, split by kind")
    ap.add_argument("--kinds", default="spec,bif,statement,cli,api,data")
    ap.add_argument("--memory-gb", type=float, default=4.0, help="address-space cap")
    ap.add_argument("--save", type=Path, default=None, help="write findings as corpus files")
    args = ap.parse_args()
    cap = int(args.memory_gb * 2 ** 30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    kinds = [k for k in args.kinds.split(",") if k]
    counts: collections.Counter = collections.Counter()
    findings: list = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            campaign(kind, args.seconds / len(kinds), counts, findings, Path(tmp))
    summary = {"seconds": round(time.perf_counter() - t0, 1), "memory_cap_gb": args.memory_gb,
               "cases": sum(counts.values()),
               "by_kind": {k: {o: n for (kk, o), n in sorted(counts.items()) if kk == k}
                           for k in kinds},
               "findings": findings[:20]}
    print(json.dumps(summary, indent=2, default=str))
    if args.save and findings:
        _save(findings, args.save)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
