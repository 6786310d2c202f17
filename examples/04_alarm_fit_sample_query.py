"""Fit, sample and query ALARM: learn the CPTs of a 37-variable network back from its samples.

    python examples/04_alarm_fit_sample_query.py [--tiny] [--rows N] [--out DIR]

ALARM (Beinlich et al., 1989; shipped with pgm_ar) is a patient-monitoring network with 509
free parameters.  The script draws rows from the true network, fits a copy of its *structure*
(no CPTs) to them by counting (with a Dirichlet(2) prior on each row of each table), and compares the two: the average log-likelihood of fresh
rows, and an exact posterior query of each.  More rows, closer answers.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

from pgm_ar import BayesNet, Tabular, compile, example_network
from pgm_ar.utils.atomic import atomic_write_text

QUERY = ("BP", {"HR": "HIGH", "CO": "LOW"})


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20_000, help="training rows to draw")
    ap.add_argument("--out", default="examples_output/04_alarm_fit_sample_query",
                    help="folder for the sampled rows and result.json (default: %(default)s)")
    ap.add_argument("--tiny", action="store_true", help="2,000 rows")
    args = ap.parse_args(argv)
    rows = 2_000 if args.tiny else args.rows
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    truth = example_network("alarm")
    true_model = compile(truth)
    print(f"ALARM: {len(truth)} variables, {truth.num_edges} edges, "
          f"{truth.count_parameters().total} free parameters")
    train = true_model.sample(rows, seed=0)
    test = true_model.sample(5_000, seed=1)
    train.to_csv(out / "alarm_rows.csv", index=False)
    print(f"sampled {rows} rows (first ones in {out / 'alarm_rows.csv'}):")
    print(train.iloc[:3, :6].to_string(index=False))

    structure = BayesNet(truth.variables, truth.edges, name="alarm_fitted")   # no CPTs
    # a Dirichlet(2) prior on each row: a configuration never seen in the rows gets a small
    # probability instead of zero (which would make a fresh row containing it impossible)
    model = compile(structure, {v: Tabular(prior=2.0) for v in structure.names})
    model.fit(train, method="counts")
    ll_true = float(true_model.log_prob(test).mean())
    ll_fit = float(model.log_prob(test).mean())
    print(f"mean log-likelihood of 5,000 fresh rows: true CPTs {ll_true:.3f}, "
          f"fitted {ll_fit:.3f} nats")
    target, ev = QUERY
    p_true, p_fit = true_model.query(target, ev), model.query(target, ev)
    given = ", ".join(f"{k}={v}" for k, v in ev.items())
    print(f"p({target} | {given}):")
    for s in p_true:
        print(f"  {s:<7} true {p_true[s]:.4f}   fitted {p_fit[s]:.4f}")
    res = {"rows": rows, "ll_true": ll_true, "ll_fitted": ll_fit,
           "query_true": p_true, "query_fitted": p_fit}
    # atomic: a run stopped half-way leaves the previous result.json whole
    written = atomic_write_text(out / "result.json", json.dumps(res, indent=1) + "\n")
    print(f"wrote {written}")
    return res


if __name__ == "__main__":
    main()
