"""The demo's first half: what a network says before any data is seen.

Coins and dice (a joint table, the chain rule, one independence statement), parameter
counts of the chain rule against Markov chains for n = 3, 10 and 784 binary variables, an
image variable with its pixel ordering, and the ASIA network: its factorization,
independence questions answered by d-separation and exact posteriors by variable
elimination.  Every function prints its section and adds it to the report.
"""
from __future__ import annotations

from typing import Any, Dict, List

from ..assumptions import chain_rule, check_statements, from_independencies, independent, markov
from ..counting import compare_parameter_counts, readable
from ..io.examples import example_path
from ..variables import Categorical, Image, bernoullis
from .outputs import DemoOutputs
from .report import Report

__all__ = ["ASIA_PATH", "ASIA_QUERIES", "ASIA_STATEMENTS", "coins_and_dice",
           "parameter_counts", "image_variable", "asia"]

#: the classic ASIA network (Lauritzen & Spiegelhalter 1988), a copy of
#: ``examples/networks/asia.bif`` shipped inside the package so the demo runs anywhere
ASIA_PATH = example_path("asia")  # the shipped example network

#: independence questions asked of ASIA, each with the reason d-separation gives
ASIA_STATEMENTS = [
    ("tub _|_ smoke", "the only paths meet head to head at `either`, which is not observed"),
    ("tub _|_ smoke | dysp", "observing `dysp`, a descendant of the collider `either`, opens "
                             "the path tub -> either <- lung <- smoke"),
    ("lung _|_ bronc | smoke", "their common cause `smoke` is observed"),
    ("xray _|_ dysp | either", "every path passes through the observed chain node `either`"),
    ("asia _|_ dysp | either", "`either` blocks asia -> tub -> either -> dysp but opens the "
                               "collider path tub -> either <- lung <- smoke -> bronc -> dysp"),
]

#: posterior questions: (target, evidence, what the change shows)
ASIA_QUERIES = [
    ("lung", {}, "prior"),
    ("lung", {"smoke": "yes"}, "smoking raises it"),
    ("lung", {"smoke": "yes", "dysp": "yes"}, "shortness of breath raises it a little"),
    ("lung", {"smoke": "yes", "dysp": "yes", "xray": "yes"}, "a positive X-ray, a lot"),
    ("tub", {"xray": "yes"}, "a positive X-ray raises tuberculosis"),
    ("tub", {"xray": "yes", "lung": "yes"}, "explaining away: lung cancer accounts for it"),
    ("tub", {"xray": "yes", "asia": "yes"}, "a visit to Asia makes it likelier"),
]


def coins_and_dice(rep: Report, out: DemoOutputs) -> Dict[str, Any]:
    """Sections on three coins and two dice."""
    sec = rep.section("Three coins",
                      "The chain rule keeps all 7 numbers of the joint table of three coins; "
                      "one independence statement cuts them to 5.")
    coins = bernoullis(3)
    full = chain_rule(coins, name="coins_chain_rule")
    chain = from_independencies(coins, ["x3 _|_ x1 | x2"], name="coins_markov")
    sec.text("Variables x1, x2, x3, each Bernoulli (2 states). A full joint table has one "
             "probability per outcome, minus one: 2^3 - 1 = 7. The chain rule assumes nothing "
             "and keeps all 7:")
    sec.code(f"{full.factorization()}\nfree parameters: 1 + 2 + 4 = "
             f"{full.count_parameters().total}")
    sec.text("Declare `x3 _|_ x1 | x2` and the network drops the edge x1 -> x3:")
    sec.code(f"{chain.factorization()}\nfree parameters: {chain.count_parameters().total} "
             "(= 2n - 1)")
    checks = check_statements(chain, ["x3 _|_ x1 | x2", "x3 _|_ x1"])
    sec.table(["statement", "implied by the graph (d-separation)?"],
              [[str(st), "yes" if ok else "no"] for st, ok in checks])
    sec.figures([
        out.draw(full, "coins_chain_rule", "Chain rule: every earlier coin is a parent."),
        out.draw(chain, "coins_markov", "After x3 ⊥ x1 | x2: the edge x1 -> x3 is gone."),
        out.draw(chain, "coins_markov_factor_graph", "The same network as a factor graph: one "
                 "factor per conditional.", kind="factor"),
    ])

    sec = rep.section("Two dice", "Two dice need 35 numbers for their joint table; "
                                  "independent dice need 10.")
    dice = [Categorical("die1", 6), Categorical("die2", 6)]
    joint = compare_parameter_counts(dice).row("full joint").count
    ind = independent(dice, name="dice")
    sec.text(f"Two 6-sided dice: the joint table has 6^2 - 1 = {joint} free parameters; "
             f"independent dice need 5 + 5 = {ind.count_parameters().total}.")
    sec.code(str(ind.factorization()))
    return {"coins": {"chain_rule": full.count_parameters().total,
                      "markov": chain.count_parameters().total,
                      "statements": {st.ascii(): ok for st, ok in checks}},
            "dice": {"joint": joint, "independent": ind.count_parameters().total}}


def parameter_counts(rep: Report, out: DemoOutputs) -> Dict[str, Any]:
    """The chain rule against Markov chains for n = 3, 10 and 784 binary variables."""
    sec = rep.section("Chain rule vs Markov assumptions",
                      "The chain rule's parameter count grows as 2^n; a Markov chain of order "
                      "k grows linearly in n (n = 3, 10 and the 784 pixels of a 28x28 image).")
    ns = (3, 10, 784)
    tables = {n: compare_parameter_counts(bernoullis(n)) for n in ns}
    labels = [r.label for r in tables[3].rows]
    rows: List[List[str]] = []
    for label in labels:
        cells = [label]
        for n in ns:
            c = tables[n].row(label).count
            cells.append(readable(c))
        rows.append(cells)
    sec.table(["assumption"] + [f"n = {n}" for n in ns], rows,
              caption="Free parameters of n binary variables")
    xs10 = bernoullis(10)
    m10 = markov(xs10, k=1, name="markov10")
    sec.code("chain rule:  " + str(chain_rule(xs10).factorization()) + "\n"
             "Markov k=1:  " + str(m10.factorization()) + "\n"
             "chain rule:  " + str(chain_rule(bernoullis(784)).factorization()) + "\n"
             "Markov k=1:  " + str(markov(bernoullis(784), k=1).factorization()))
    full784 = tables[784].row("full joint").count
    digits = str(full784)
    sec.text(f"The full table of a 28x28 binary image, exactly ({len(digits)} digits, about "
             f"{readable(full784)}):")
    sec.code("\n".join(digits[i:i + 79] for i in range(0, len(digits), 79)))
    sec.text(f"The Markov chain needs {tables[784].row('Markov k=1').count:,} numbers; the "
             "neural conditionals of pgm_ar keep the full chain rule with shared weights "
             "(see docs/autoregressive.md and the digit sections below).")
    sec.figures([out.draw(m10, "markov10", "A Markov chain of order 1 over 10 variables: "
                          "9 edges, 19 parameters.", rankdir="LR")])
    sec.figures([out.draw(chain_rule(xs10, name="chain10"), "chain10",
                          "The chain rule over 10 variables: 45 edges, 1,023 parameters.",
                          width=620)])
    return {"counts": {str(n): {r.label: (str(r.count) if r.count > 10 ** 15 else r.count)
                                for r in tables[n].rows} for n in ns}}


def image_variable(rep: Report, out: DemoOutputs) -> Dict[str, Any]:
    """An image variable: one node in the network, a chain rule over its pixels."""
    sec = rep.section("An image is a variable with a pixel ordering",
                      "label -> digit is a two-node network whose image node factorizes over "
                      "its pixels in the order they are visited.")
    img = Image("digit", shape=(1, 8, 8), ordering="snake")
    net = independent([Categorical("label", 10), img]).with_edges([("label", "digit")])
    sec.text("label -> digit, an 8x8 binary image visited in snake order:")
    fac = net.factorization()
    sec.code("\n".join([str(fac)] + ["where " + line for line in fac.pixel_expansions()]))
    sec.figures([
        out.draw(net, "label_digit", "The network, the image drawn as one node.",
                 image_mode="node"),
        out.draw(net, "digit_snake_ordering", "The snake visiting order of the 8x8 pixels.",
                 kind="grid"),
    ])
    return {}


def asia(rep: Report, out: DemoOutputs) -> Dict[str, Any]:
    """ASIA: factorization, d-separation queries and exact posteriors."""
    from ..model import compile as compile_net
    from ..io.bif import read_bif

    net = read_bif(ASIA_PATH)
    sec = rep.section("Independence and exact inference on ASIA",
                      "On a classic 8-variable medical network, d-separation answers "
                      "independence questions from the graph alone, and variable elimination "
                      "gives exact posteriors from its tables.")
    sec.text("ASIA (Lauritzen & Spiegelhalter, 1988): a visit to Asia and smoking, "
             "tuberculosis, lung cancer and bronchitis, a positive X-ray and shortness of "
             "breath (dysp); `either` is 'tuberculosis or lung cancer'. Its factorization and "
             f"{net.count_parameters().total} free parameters (the full joint table has "
             f"2^8 - 1 = 255):")
    sec.code(str(net.factorization()))
    rows = []
    answers = {}
    for text, why in ASIA_STATEMENTS:
        ok = bool(check_statements(net, [text])[0][1])
        answers[text] = ok
        rows.append([text.replace("_|_", "⊥"), "yes" if ok else "no", why])
    sec.table(["statement", "implied?", "why (d-separation)"], rows)
    blanket = sorted(net.markov_blanket("lung"))
    sec.text(f"The Markov blanket of `lung` (parents, children, children's other parents): "
             f"{', '.join(blanket)}.")

    model = compile_net(net)
    post_rows = []
    posteriors = []
    for target, ev, what in ASIA_QUERIES:
        p = model.query(target, ev)["yes"]
        given = ", ".join(f"{k}={v}" for k, v in ev.items())
        post_rows.append([f"p({target}=yes{' | ' + given if given else ''})", f"{p:.4f}", what])
        posteriors.append({"target": target, "evidence": dict(ev), "p_yes": p})
    sec.table(["query (exact, variable elimination)", "probability", "what it shows"],
              post_rows)
    sec.figures([
        out.draw(net, "asia", "ASIA's DAG, with the evidence of the third query shaded "
                 "(smoke, dysp).", observed=["smoke", "dysp"]),
        out.draw(net, "asia_factor_graph", "Its factor graph: one factor per conditional "
                 "table, joined to the variables it mentions.", kind="factor"),
    ])
    return {"asia": {"statements": answers, "markov_blanket_lung": blanket,
                     "posteriors": posteriors, "free_parameters": net.count_parameters().total}}
