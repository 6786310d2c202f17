"""``pgm-ar demo``: the coins, dice, chain-rule and Markov story, printed and drawn.

The walk-through: three coins need 7 numbers for their joint table; the chain rule
rewrites that table as a product of conditionals with the same 7 numbers; the Markov
assumption ``x_{i+1} _|_ x_1..x_{i-1} | x_i`` cuts it to ``2n - 1``.  The same story at
n = 10 and at n = 784 binary pixels (a 28x28 image), where the full table has
``2^784 - 1`` entries.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import List

from .assumptions import chain_rule, check_statements, from_independencies, independent, markov
from .counting import compare_parameter_counts, readable
from .errors import GraphvizMissingError
from .variables import Categorical, Image, bernoullis


def _h(title: str) -> None:
    print()
    print(title)
    print("=" * len(title))


def run_demo(out_dir: Path, draw_images: bool = True) -> List[Path]:
    """Print the walk-through and write its drawings into ``out_dir``; return the files."""
    t0 = time.perf_counter()
    written: List[Path] = []
    if draw_images:
        out_dir.mkdir(parents=True, exist_ok=True)

    def draw(net, name: str, **kw) -> None:
        if not draw_images:
            return
        from .draw import draw as draw_fn

        try:
            written.append(draw_fn(net, out_dir / f"{name}.svg", **kw))
        except GraphvizMissingError as exc:
            # Still give the user something to look at: the DOT source.
            written.append(draw_fn(net, out_dir / f"{name}.gv", **kw))
            if len(written) == 1:
                print(f"  (note: {exc})")

    _h("1. Three coins")
    coins = bernoullis(3)
    print("Variables: x1, x2, x3, each Bernoulli (2 states).")
    print("A full joint table has one probability per outcome, minus one: 2^3 - 1 = 7.")
    full = chain_rule(coins, name="coins_chain_rule")
    print("The chain rule assumes nothing and keeps all 7:")
    print("  " + str(full.factorization()))
    print("  free parameters: 1 + 2 + 4 =", full.count_parameters().total)
    chain = from_independencies(coins, ["x3 _|_ x1 | x2"], name="coins_markov")
    print("Declare  x3 _|_ x1 | x2  and the network drops the edge x1 -> x3:")
    print("  " + str(chain.factorization()))
    for st, ok in check_statements(chain, ["x3 _|_ x1 | x2", "x3 _|_ x1"]):
        print(f"  {st.ascii():<16} {'implied' if ok else 'not implied'} by the graph (d-separation)")
    print("  free parameters:", chain.count_parameters().total, "(= 2n - 1)")
    draw(full, "coins_chain_rule")
    draw(chain, "coins_markov")
    draw(chain, "coins_markov_factor_graph", kind="factor")

    _h("2. Two dice")
    dice = [Categorical("die1", 6), Categorical("die2", 6)]
    print("Two 6-sided dice: the joint table has 6^2 - 1 =",
          compare_parameter_counts(dice).row("full joint").count, "free parameters;")
    print(f"independent dice need 5 + 5 = {independent(dice).count_parameters().total}.")
    print("  " + str(independent(dice, name="dice").factorization()))

    for n in (10, 784):
        _h(f"3. {n} binary {'pixels (a 28x28 image)' if n == 784 else 'variables'}")
        xs = bernoullis(n)
        # 784 variables under the chain rule is a 306,936-edge DAG: about a second.
        print("chain rule:  " + str(chain_rule(xs).factorization()))
        m1 = markov(xs, k=1)
        print("Markov k=1:  " + str(m1.factorization()))
        print()
        print(compare_parameter_counts(xs, net=m1))
        if n == 10:
            draw(m1, "markov10")
            draw(m1, "markov10_factor_graph", kind="factor")
            draw(chain_rule(xs, name="chain10"), "chain10")
    full784 = compare_parameter_counts(bernoullis(784)).row("full joint").count
    print()
    print(f"The full table of a 28x28 binary image, exactly ({len(str(full784))} digits, "
          f"about {readable(full784)}):")
    digits = str(full784)
    for start in range(0, len(digits), 79):
        print("  " + digits[start:start + 79])
    print("The Markov chain needs 1567 numbers; the neural conditionals of pgm_ar keep the full "
          "chain rule with shared weights (see docs/autoregressive.md).")

    _h("4. An image variable and its pixel ordering")
    img = Image("digit", shape=(1, 8, 8), ordering="snake")
    net = independent([Categorical("label", 10), img]).with_edges([("label", "digit")])
    print("label -> digit, an 8x8 binary image visited in snake order:")
    print("  " + str(net.factorization()))
    for line in net.factorization().pixel_expansions():
        print("  where " + line)
    draw(net, "label_digit", image_mode="node")
    draw(net, "digit_snake_ordering", kind="grid")

    print()
    if written:
        print(f"Drawings written to {out_dir}/:")
        for p in written:
            print(f"  {p}")
    print(f"(demo finished in {time.perf_counter() - t0:.1f} s)")
    return written
