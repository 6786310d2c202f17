"""Coins and dice: a joint table, the chain rule, and what one independence statement saves.

    python examples/01_coins_and_dice.py [--tiny] [--out DIR]

Three coins have a joint table of 2^3 = 8 outcomes, 7 free numbers.  The chain rule
``p(x1) p(x2 | x1) p(x3 | x1, x2)`` assumes nothing and keeps all 7; declaring
``x3 _|_ x1 | x2`` drops the edge x1 -> x3 and leaves 5.  Two dice: 35 numbers for the joint
table, 10 when they are independent.  The script also checks the chain rule numerically: the
product of the conditionals read off a random joint table gives back that table.
"""
from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import numpy as np

from pgm_ar import Categorical, bernoullis, chain_rule, check_statements, from_independencies, \
    independent
from pgm_ar.utils.atomic import atomic_write_text


def chain_rule_check(seed: int = 0) -> float:
    """Largest difference between a random joint of three coins and the product of its
    conditionals ``p(x1) p(x2 | x1) p(x3 | x1, x2)`` (zero up to rounding)."""
    joint = np.random.default_rng(seed).dirichlet(np.ones(8)).reshape(2, 2, 2)
    p1 = joint.sum((1, 2))
    p2 = joint.sum(2) / p1[:, None]
    p3 = joint / joint.sum(2, keepdims=True)
    worst = 0.0
    for a, b, c in itertools.product(range(2), repeat=3):
        worst = max(worst, abs(p1[a] * p2[a, b] * p3[a, b, c] - joint[a, b, c]))
    return worst


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="examples_output/01_coins_and_dice",
                    help="folder for result.json (default: %(default)s)")
    ap.add_argument("--tiny", action="store_true", help="the same (it already takes a second)")
    args = ap.parse_args(argv)

    coins = bernoullis(3)
    full = chain_rule(coins, name="coins")
    markov = from_independencies(coins, ["x3 _|_ x1 | x2"], name="coins_markov")
    print("three coins, chain rule:  ", full.factorization(),
          f"  ({full.count_parameters().total} free parameters = 2^3 - 1)")
    print("after x3 _|_ x1 | x2:     ", markov.factorization(),
          f"  ({markov.count_parameters().total} free parameters)")
    checks = {str(st): bool(ok) for st, ok in
              check_statements(markov, ["x3 _|_ x1 | x2", "x3 _|_ x1"])}
    for st, ok in checks.items():
        print(f"  the graph implies {st}: {'yes' if ok else 'no'}")
    err = chain_rule_check()
    print(f"chain rule on a random joint table of the coins: largest error {err:.1e}")

    dice = independent([Categorical("die1", 6), Categorical("die2", 6)], name="dice")
    print("two dice: joint table 6^2 - 1 = 35 free parameters; independent:",
          dice.factorization(), f"({dice.count_parameters().total} = 5 + 5)")

    res = {"coins_chain_rule": full.count_parameters().total,
           "coins_markov": markov.count_parameters().total, "statements": checks,
           "chain_rule_error": err, "dice_independent": dice.count_parameters().total}
    # atomic: a run stopped half-way leaves the previous result.json whole
    written = atomic_write_text(Path(args.out) / "result.json", json.dumps(res, indent=1) + "\n")
    print(f"wrote {written}")
    return res


if __name__ == "__main__":
    main()
