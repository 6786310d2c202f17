"""One rule for impossible evidence: a probability conditioned on evidence of probability zero
is an ImpossibleEvidenceError on every path (query of any target, map_query, sample, impute,
the CLI); the probability of it (log_prob) is -inf whether the row is complete or not.  Checked
against brute-force enumeration of asia's joint."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

import pgm_ar
from pgm_ar.cli import main
from pgm_ar.errors import ImpossibleEvidenceError, PgmArError


@pytest.fixture(scope="module")
def asia():
    net = pgm_ar.example_network("asia")
    return net, pgm_ar.compile(net)


def brute_log_prob(net, observed):
    """log sum over every full assignment agreeing with ``observed`` ({name: state name})."""
    names = net.names
    total = 0.0
    for states in itertools.product(*[net.variable(n).states for n in names]):
        row = dict(zip(names, states))
        if any(row[k] != v for k, v in observed.items()):
            continue
        p = 1.0
        for n in names:
            cpd = net.cpd(n)
            idx = tuple(net.variable(q).states.index(row[q]) for q in net.parents(n))
            p *= float(cpd.probs[idx + (net.variable(n).states.index(row[n]),)])
        total += p
    return math.log(total) if total > 0 else -math.inf


IMPOSSIBLE = [{"tub": "yes", "either": "no"}, {"lung": "yes", "either": "no"},
              {"tub": "no", "lung": "no", "either": "yes"}]


@pytest.mark.parametrize("ev", IMPOSSIBLE)
def test_every_conditioning_path_refuses_alike(asia, ev):
    net, m = asia
    assert brute_log_prob(net, ev) == -math.inf  # the evidence is impossible indeed
    for target in net.names:  # including the targets that are evidence themselves
        with pytest.raises(ImpossibleEvidenceError) as exc:
            m.query(target, ev)
        for k, v in ev.items():
            assert f"{k}={v}" in str(exc.value)
    with pytest.raises(ImpossibleEvidenceError):
        m.query(list(ev), ev)
    with pytest.raises(ImpossibleEvidenceError):
        m.map_query(None, ev)
    with pytest.raises(ImpossibleEvidenceError):
        m.map_query(["dysp"], ev)
    with pytest.raises(ImpossibleEvidenceError):
        m.sample(5, evidence=ev, seed=0)
    row = pd.DataFrame([{**{n: None for n in net.names}, **ev}])
    for mode in ("map", "sample"):
        with pytest.raises(ImpossibleEvidenceError, match="row 0"):
            m.impute(row, mode=mode, seed=0)


@pytest.mark.parametrize("ev", IMPOSSIBLE + [{"tub": "yes"}, {"smoke": "no", "dysp": "yes"}])
def test_log_prob_with_missing_columns_matches_brute_force(asia, ev):
    net, m = asia
    row = pd.DataFrame([{**{n: None for n in net.names}, **ev}])
    got = float(m.log_prob(row)[0])
    want = brute_log_prob(net, ev)
    if want == -math.inf:
        assert got == -math.inf
    else:
        assert got == pytest.approx(want, abs=1e-9)


def test_complete_impossible_row_is_minus_inf_too(asia):
    net, m = asia
    full = m.sample(1, seed=0).astype(str)
    full["tub"], full["either"] = "yes", "no"
    assert float(m.log_prob(full)[0]) == -math.inf
    # the same row with a column dropped: still -inf (it was -10000.07)
    assert float(m.log_prob(full.drop(columns=["dysp"]))[0]) == -math.inf


def test_possible_evidence_still_answers(asia):
    net, m = asia
    ev = {"tub": "yes", "either": "yes"}
    post = m.query("dysp", ev)
    assert sum(post.values()) == pytest.approx(1.0)
    assert m.query("tub", ev) == {"yes": 1.0, "no": 0.0}
    row = pd.DataFrame([{**{n: None for n in net.names}, **ev}])
    assert m.impute(row).loc[0, "either"] == "yes"


def test_cli_same_rule(capsys, tmp_path):
    for argv in (["query", "asia", "--target", "dysp", "--evidence", "tub=yes", "either=no"],
                 ["query", "asia", "--target", "tub", "--evidence", "tub=yes", "either=no"],
                 ["query", "asia", "--map", "--evidence", "tub=yes", "either=no"],
                 ["sample", "asia", "-n", "3", "-o", str(tmp_path / "x.csv"), "--evidence", "tub=yes",
                  "either=no"]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "probability zero" in err, (argv, err)
    assert not list(tmp_path.iterdir())  # the refused sample left no file


MIXED = """
name: mixed
variables:
  - {name: a, type: categorical, states: [x, y]}
  - {name: b, type: categorical, states: [u, v, w]}
  - {name: r, type: gaussian}
edges: [[a, b], [a, r]]
cpts:
  a: [0.3, 0.7]
  b: {x: [1.0, 0.0, 0.0], y: [0.4, 0.6, 0.0]}
"""


def test_mixed_network_impossible_rows_are_minus_inf_by_hand():
    """Tables with a real child: impossible rows score -inf whether the discrete parent is
    given or summed out, and possible ones the hand-computed mixture."""
    import torch

    from pgm_ar.io.spec import load_spec_text

    spec = load_spec_text(MIXED, fmt="yaml")
    model = pgm_ar.compile(spec.network, spec.conditionals or None)
    r_node = model.nodes[list(model.net.names).index("r")]
    weight, bias, sigma = (1.0, -2.0), 0.5, 0.8  # r | a ~ Normal(bias + weight[a], sigma)
    with torch.no_grad():
        r_node.weight.copy_(torch.tensor(weight))
        r_node.bias.fill_(bias)
        r_node.log_scale.fill_(math.log(sigma))

    def normal(x, mean):
        return -0.5 * ((x - mean) / sigma) ** 2 - math.log(sigma * math.sqrt(2 * math.pi))

    p_a = {"x": 0.3, "y": 0.7}
    p_b = {"x": {"u": 1.0, "v": 0.0, "w": 0.0}, "y": {"u": 0.4, "v": 0.6, "w": 0.0}}
    mean = {"x": bias + weight[0], "y": bias + weight[1]}

    def by_hand(row):
        terms = [math.log(p_a[a]) + (math.log(p_b[a][row["b"]]) if p_b[a][row["b"]] > 0
                                     else -math.inf) + normal(row["r"], mean[a])
                 for a in ("x", "y") if row.get("a", a) == a]
        top = max(terms)
        return top if top == -math.inf else top + math.log(sum(math.exp(t - top)
                                                               for t in terms))

    rows = [{"b": "w", "r": 0.3}, {"b": "v", "r": 0.3}, {"b": "u", "r": -1.1},
            {"a": "x", "b": "v", "r": 0.3}, {"a": "x", "b": "u", "r": 0.3},
            {"a": "y", "b": "w", "r": 2.0}]
    for row in rows:  # one at a time: complete and missing rows take different paths
        got = float(model.log_prob(pd.DataFrame([row]))[0])
        want = by_hand(row)
        if want == -math.inf:
            assert got == -math.inf, (row, got)
        else:
            assert got == pytest.approx(want, abs=1e-9), row
    # mixed in one frame (the missing path for all of them): the same numbers
    both = model.log_prob(pd.DataFrame(rows)).tolist()
    for got, row in zip(both, rows):
        want = by_hand(row)
        assert got == want if want == -math.inf else got == pytest.approx(want, abs=1e-9)
    # fitting still sees finite logits (gradients): scoring's -inf does not leak into training
    assert all(not m.exact_zeros for m in model.modules() if hasattr(m, "exact_zeros"))
