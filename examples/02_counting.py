"""Counting parameters: the chain rule against Markov assumptions and declared statements.

    python examples/02_counting.py [--tiny] [--out DIR]

For n binary variables the chain rule needs 2^n - 1 numbers (every earlier variable is a
parent); a Markov chain of order k needs about 2^k n; statements you declare yourself land
in between.  The table shows n = 3, 10 and 784 (the pixels of a 28x28 image); the DAGs of
n = 10 are drawn (chain rule and Markov k=1).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

from pgm_ar import bernoullis, chain_rule, compare_parameter_counts, draw, from_independencies, \
    markov
from pgm_ar.counting import readable
from pgm_ar.errors import GraphvizMissingError
from pgm_ar.utils.atomic import atomic_write_text


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="examples_output/02_counting",
                    help="folder for the drawings and result.json (default: %(default)s)")
    ap.add_argument("--tiny", action="store_true", help="n = 3 and 10 only, no drawings")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    ns = (3, 10) if args.tiny else (3, 10, 784)
    tables = {n: compare_parameter_counts(bernoullis(n)) for n in ns}
    labels = [r.label for r in tables[ns[0]].rows]
    print(f"{'assumption':<16}" + "".join(f"{'n = ' + str(n):>14}" for n in ns))
    for label in labels:
        print(f"{label:<16}" + "".join(f"{readable(tables[n].row(label).count):>14}"
                                       for n in ns))

    # a statement of your own: x4 depends on x1..x3 only through x3 (10 variables)
    xs = bernoullis(10)
    declared = from_independencies(xs[:4], ["x4 _|_ x1, x2 | x3"], name="declared")
    print("\ndeclared x4 _|_ x1, x2 | x3 over 4 coins:", declared.factorization(),
          f"({declared.count_parameters().total} instead of "
          f"{chain_rule(xs[:4]).count_parameters().total})")
    res: Dict[str, Any] = {str(n): {r.label: str(r.count) for r in tables[n].rows} for n in ns}
    res["declared"] = declared.count_parameters().total
    if not args.tiny:
        try:
            for net in (chain_rule(xs, name="chain10"), markov(xs, k=1, name="markov10")):
                path = draw(net, out / f"{net.name}.png")
                print(f"wrote {path}")
        except GraphvizMissingError as exc:
            print(f"(no drawings: {exc})")
    # atomic: a run stopped half-way leaves the previous result.json whole
    written = atomic_write_text(out / "result.json", json.dumps(res, indent=1) + "\n")
    print(f"wrote {written}")
    return res


if __name__ == "__main__":
    main()
