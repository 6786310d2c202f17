"""Spec files (YAML/JSON): the format, round trips, errors with key path and line, and
atomic writes."""
from __future__ import annotations

import itertools
import json
import os

import numpy as np
import pytest

from conftest import BIF_NAMES, REPO
from pgm_ar import Bernoulli, Categorical, Gaussian, Image
from pgm_ar.cpd import TabularCPD
from pgm_ar.errors import CycleError, PgmArError, SpecError
from pgm_ar.io import SpecCycleError, load_any, load_network
from pgm_ar.io import atomic as atomic_mod
from pgm_ar.io.atomic import atomic_write_bytes, atomic_write_text
from pgm_ar.io.bif import read_bif, write_bif
from pgm_ar.io.spec import Spec, load_spec, load_spec_text, save_spec
from pgm_ar.network import BayesNet
from pgm_ar.statements import Statement

EXAMPLES = REPO / "examples" / "specs"


def line_of(text: str, marker: str, nth: int = 1) -> int:
    """1-based number of the ``nth`` line of ``text`` containing ``marker``."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if marker in line]
    assert len(hits) >= nth, f"marker {marker!r} not found {nth} time(s)"
    return hits[nth - 1]


def parent_sets(net: BayesNet) -> dict:
    return {n: set(net.parents(n)) for n in net.names}


def assert_same_cpts(a: BayesNet, b: BayesNet, atol: float = 1e-15) -> None:
    assert sorted(a.cpds) == sorted(b.cpds)
    for name in a.cpds:
        ca, cb = a.cpd(name), b.cpd(name)
        assert ca.parents == cb.parents == a.parents(name)
        np.testing.assert_allclose(ca.probs, cb.probs, rtol=0, atol=atol, err_msg=name)


# --------------------------------------------------------------------------- #
# the example specs
# --------------------------------------------------------------------------- #
def test_all_examples_load():
    files = sorted(EXAMPLES.glob("*.yaml"))
    assert {f.stem for f in files} >= {"coins", "markov10", "die", "sprinkler", "digit",
                                       "statements"}
    for f in files:
        spec = load_any(f)
        assert isinstance(spec, Spec) and spec.source == str(f)
        assert load_network(f) == spec.network


def test_coins_is_the_chain_rule():
    spec = load_spec(EXAMPLES / "coins.yaml")
    net = spec.network
    assert net.names == ("c1", "c2", "c3") and spec.structure == "chain_rule"
    assert all(isinstance(v, Bernoulli) for v in net.variables)
    assert parent_sets(net) == {f"c{i}": {f"c{j}" for j in range(1, i)} for i in (1, 2, 3)}
    assert net.count_parameters().total == 2 ** 3 - 1


def test_markov10_is_ar1():
    spec = load_spec(EXAMPLES / "markov10.yaml")
    net = spec.network
    assert spec.structure == "markov(1)" and len(net) == 10
    assert parent_sets(net) == {f"x{i}": ({f"x{i - 1}"} if i > 1 else set())
                                for i in range(1, 11)}
    assert net.count_parameters().total == 1 + 9 * 2


def test_dice_cpts_against_brute_force():
    net = load_spec(EXAMPLES / "die.yaml").network
    red, blue = net.variable("red"), net.variable("blue")
    assert red.states[0] == "one" and blue.states == tuple(str(i) for i in range(6))
    np.testing.assert_allclose(net.cpd("red").probs, np.full(6, 1 / 6), atol=1e-15)
    np.testing.assert_allclose(net.cpd("blue").probs, [0.1] * 5 + [0.5], atol=1e-15)
    parity = net.cpd("parity").probs
    for r, b in itertools.product(range(6), range(6)):
        odd = ((r + 1) + (b + 1)) % 2
        assert parity[r, b].tolist() == ([0.0, 1.0] if odd else [1.0, 0.0])
    # P(parity = even) by enumerating the joint
    even = sum(net.cpd("red").probs[r] * net.cpd("blue").probs[b] * parity[r, b, 0]
               for r in range(6) for b in range(6))
    assert even == pytest.approx(0.5)


def test_sprinkler_rows_land_in_the_right_cells():
    spec = load_spec(EXAMPLES / "sprinkler.yaml")
    net = spec.network
    assert net.variable("rain").states == ("no", "yes")  # YAML 1.2 booleans: 'no' stays text
    assert net.parents("wet") == ("sprinkler", "rain")
    assert net.cpd("sprinkler").probs[1].tolist() == [0.9, 0.1]   # cloudy=yes
    assert net.cpd("rain").probs[0].tolist() == [0.8, 0.2]        # cloudy=no
    assert net.cpd("wet").probs[0, 1].tolist() == [0.1, 0.9]      # sprinkler=off, rain=yes
    assert spec.conditionals == {"wet": {"family": "tabular", "prior": 1}}
    # the declared statements hold in the graph (d-separation)
    for st in spec.statements:
        assert net.is_independent(st.xs, st.ys, st.given), st


def test_digit_image_with_label_edge():
    spec = load_spec(EXAMPLES / "digit.yaml")
    net = spec.network
    digit = net.variable("digit")
    assert isinstance(digit, Image) and digit.shape == (1, 28, 28) and digit.levels == 2
    assert digit.ordering_label == "snake"
    assert net.parents("digit") == ("label",) and net.variable("label").cardinality == 10
    assert spec.conditionals["digit"] == {"family": "nade", "hidden": 500}


def test_statements_example_is_the_minimal_imap():
    spec = load_spec(EXAMPLES / "statements.yaml")
    assert spec.structure == "independencies"
    assert parent_sets(spec.network) == {"a": set(), "b": set(), "c": {"a", "b"}, "d": {"c"}}
    assert spec.statements == (Statement.parse("b _|_ a"), Statement.parse("d _|_ a, b | c"))
    for st in spec.statements:
        assert spec.network.is_independent(st.xs, st.ys, st.given)


# --------------------------------------------------------------------------- #
# the format
# --------------------------------------------------------------------------- #
VARS4 = "variables: [a, b, c, d]\n"


@pytest.mark.parametrize("structure, expected", [
    ("chain_rule", {"a": set(), "b": {"a"}, "c": {"a", "b"}, "d": {"a", "b", "c"}}),
    ("independent", {"a": set(), "b": set(), "c": set(), "d": set()}),
    ("markov", {"a": set(), "b": {"a"}, "c": {"b"}, "d": {"c"}}),
    ("{markov: 2}", {"a": set(), "b": {"a"}, "c": {"a", "b"}, "d": {"b", "c"}}),
    ("markov(2)", {"a": set(), "b": {"a"}, "c": {"a", "b"}, "d": {"b", "c"}}),
    ("{markov: 0}", {"a": set(), "b": set(), "c": set(), "d": set()}),
])
def test_structures(structure, expected):
    spec = load_spec_text(VARS4 + f"structure: {structure}\n")
    assert parent_sets(spec.network) == expected


def test_edges_forms_agree():
    as_lists = load_spec_text(VARS4 + "edges: [[a, b], [b, c], [c, d]]\n").network
    as_arrows = load_spec_text(VARS4 + "edges: [a -> b, b->c, 'c -> d']\n").network
    as_chain = load_spec_text(VARS4 + "edges: ['a -> b -> c -> d']\n").network
    as_parents = load_spec_text(VARS4 + "parents: {b: [a], c: b, d: [c]}\n").network
    assert as_lists == as_arrows == as_chain == as_parents
    assert parent_sets(as_lists) == {"a": set(), "b": {"a"}, "c": {"b"}, "d": {"c"}}


def test_parent_order_follows_the_file():
    net = load_spec_text(VARS4 + "parents: {d: [c, a, b]}\n").network
    assert net.parents("d") == ("c", "a", "b")


def test_statements_alone_derive_the_structure_and_with_edges_are_only_kept():
    derived = load_spec_text(VARS4 + "statements: ['c _|_ a | b', 'd _|_ a, b | c']\n")
    assert derived.structure == "independencies"
    assert parent_sets(derived.network) == {"a": set(), "b": {"a"}, "c": {"b"}, "d": {"c"}}
    kept = load_spec_text(VARS4 + "edges: [a -> d]\nstatements: ['b _|_ c']\n")
    assert kept.structure == "edges" and kept.network.num_edges == 1
    assert kept.statements == (Statement.parse("c _|_ b"),)
    as_mapping = load_spec_text(VARS4 + "structure: independent\n"
                                "statements: [{xs: [a], ys: [b, c], given: [d]}]\n")
    assert as_mapping.statements == (Statement("a", ["b", "c"], "d"),)


def test_variable_kinds_and_shorthands():
    spec = load_spec_text("""
variables:
  - plain                                       # a bare name: Bernoulli
  - {name: x, count: 3}                         # x1, x2, x3
  - {name: w, states: [sun, rain, on, off]}     # states imply categorical
  - {name: k, type: categorical, states: 4}
  - {name: h, type: gaussian}
  - {name: img, type: image, shape: [3, 4], levels: null, ordering: random(7)}
  - {name: perm, type: image, shape: [1, 2, 2], ordering: [3, 2, 1, 0]}
structure: independent
""")
    v = {x.name: x for x in spec.network.variables}
    assert list(v) == ["plain", "x1", "x2", "x3", "w", "k", "h", "img", "perm"]
    assert isinstance(v["plain"], Bernoulli) and isinstance(v["x2"], Bernoulli)
    assert v["w"].states == ("sun", "rain", "on", "off")
    assert v["k"].states == ("0", "1", "2", "3")
    assert isinstance(v["h"], Gaussian)
    assert v["img"] == Image("img", shape=(1, 3, 4), levels=None, ordering="random(7)")
    assert v["perm"].pixel_order.tolist() == [3, 2, 1, 0]


def test_json_and_yaml_agree(tmp_path):
    doc = {"name": "j", "variables": [{"name": "a", "type": "bernoulli"},
                                      {"name": "b", "type": "categorical", "states": ["u", "v"]}],
           "edges": [["a", "b"]],
           "cpts": {"a": [0.25, 0.75], "b": {"a=0": [0.5, 0.5], "a=1": [0.1, 0.9]}}}
    path = tmp_path / "j.json"
    path.write_text(json.dumps(doc))
    from_json = load_spec(path).network
    import yaml
    from_yaml = load_spec_text(yaml.safe_dump(doc)).network
    assert from_json == from_yaml and from_json.name == "j"
    assert_same_cpts(from_json, from_yaml, atol=0)


def test_name_defaults_to_the_file_stem(tmp_path):
    path = tmp_path / "my_net.yaml"
    path.write_text("variables: [a]\nstructure: independent\n")
    assert load_spec(path).network.name == "my_net"


# --------------------------------------------------------------------------- #
# CPT forms
# --------------------------------------------------------------------------- #
CPT_BASE = """\
variables:
  - {name: a, type: categorical, states: [x, y, z]}
  - {name: b, type: bernoulli}
  - {name: c, type: categorical, states: [lo, hi]}
parents: {c: [a, b]}
cpts:
  a: [0.2, 0.3, 0.5]
  b: {table: [0.6, 0.4]}
"""
# p(c = hi | a, b) = (i + 2 j + 1) / 10 for a's index i and b's index j
HI = {(i, j): (i + 2 * j + 1) / 10 for i in range(3) for j in range(2)}


def expected_c() -> np.ndarray:
    out = np.zeros((3, 2, 2))
    for (i, j), hi in HI.items():
        out[i, j] = [1 - hi, hi]
    return out


@pytest.mark.parametrize("form", ["table", "reordered", "rows", "positional", "default"])
def test_cpt_forms_agree(form):
    a_states, b_states = ["x", "y", "z"], ["0", "1"]
    if form == "table":
        body = "  c:\n    table: " + json.dumps(expected_c().tolist()) + "\n"
    elif form == "reordered":  # axes in the order (b, a, c)
        body = ("  c:\n    parents: [b, a]\n    table: "
                + json.dumps(np.transpose(expected_c(), (1, 0, 2)).tolist()) + "\n")
    elif form == "rows":
        body = "  c:\n" + "".join(
            f"    \"b={b_states[j]}, a={a_states[i]}\": [{1 - hi!r}, {hi!r}]\n"
            for (i, j), hi in HI.items())
    elif form == "positional":
        body = "  c:\n    rows:\n" + "".join(
            f"      \"{a_states[i]}, {j}\": [{1 - hi!r}, {hi!r}]\n" for (i, j), hi in HI.items())
    else:  # default fills (z, 1)
        body = "  c:\n    rows:\n" + "".join(
            f"      \"a={a_states[i]}, b={j}\": [{1 - hi!r}, {hi!r}]\n"
            for (i, j), hi in HI.items() if (i, j) != (2, 1))
        body += f"    default: [{1 - HI[2, 1]!r}, {HI[2, 1]!r}]\n"
    net = load_spec_text(CPT_BASE + body).network
    assert net.parents("c") == ("a", "b")
    np.testing.assert_allclose(net.cpd("c").probs, expected_c(), rtol=0, atol=1e-15)
    np.testing.assert_allclose(net.cpd("b").probs, [0.6, 0.4], atol=1e-15)


# --------------------------------------------------------------------------- #
# round trips
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("name", BIF_NAMES)
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_bif_networks_round_trip(name, suffix, bif_path, tmp_path):
    net = read_bif(bif_path(name))
    out = save_spec(net, tmp_path / f"{name}{suffix}")
    back = load_spec(out).network
    assert back == net and back.name == net.name
    assert all(back.parents(v) == net.parents(v) for v in net.names)
    assert_same_cpts(back, net)


@pytest.mark.parametrize("example", ["coins", "markov10", "die", "sprinkler", "digit",
                                     "statements"])
def test_examples_round_trip(example, tmp_path):
    spec = load_spec(EXAMPLES / f"{example}.yaml")
    back = load_spec(save_spec(spec, tmp_path / f"{example}.yaml"))
    assert back.network == spec.network and back.network.name == spec.network.name
    assert back.statements == spec.statements
    assert back.conditionals == spec.conditionals
    assert_same_cpts(back.network, spec.network)


def test_round_trip_of_every_variable_kind(tmp_path):
    variables = [Bernoulli("on"), Categorical("yes", ["no", "yes", "1"]), Gaussian("g"),
                 Image("im", shape=(2, 3, 2), levels=4, ordering="diagonal"),
                 Image("ic", shape=(1, 2, 2), levels=None, ordering=[1, 3, 0, 2]),
                 Image("ir", shape=(1, 3, 3), ordering="random(5)")]
    edges = [("on", "yes"), ("yes", "g"), ("on", "im"), ("g", "ic"), ("im", "ir")]
    cpds = {"on": TabularCPD("on", (), [0.3, 0.7]),
            "yes": TabularCPD("yes", ("on",), [[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])}
    net = BayesNet(variables, edges, cpds=cpds, name="kinds")
    spec = Spec(network=net, statements=(Statement.parse("g _|_ on | yes"),),
                conditionals={"im": {"family": "made", "hidden": [8, 8]}, "gaussian": "linear"},
                structure="edges")
    for suffix in (".yaml", ".json"):
        back = load_spec(save_spec(spec, tmp_path / f"kinds{suffix}"))
        assert back.network == net
        assert back.network.variable("ic").pixel_order.tolist() == [1, 3, 0, 2]
        assert back.network.variable("ir").ordering_label == "random(5)"
        assert back.statements == spec.statements and back.conditionals == spec.conditionals
        assert_same_cpts(back.network, net)


# --------------------------------------------------------------------------- #
# errors: file, key path and line
# --------------------------------------------------------------------------- #
GOOD = """\
name: err
variables:
  - {name: a, type: bernoulli}
  - {name: b, type: categorical, states: [u, v, w]}
  - {name: img, type: image, shape: [1, 2, 2]}
edges:
  - a -> b
  - [b, img]
statements:
  - a _|_ img | b
cpts:
  a: [0.5, 0.5]
  b:
    a=0: [0.2, 0.3, 0.5]
    a=1: [0.3, 0.3, 0.4]
conditionals:
  img: {family: nade, hidden: 8}
"""

SPEC_ERRORS = [
    # (id, old, new, expected key path, marker of the expected line, message fragment)
    ("unknown type", "type: bernoulli}", "type: bernouli}", "variables[0].type", "bernouli",
     "did you mean 'bernoulli'"),
    ("states one", "states: [u, v, w]", "states: [u]", "variables[1].states", "states: [u]",
     "at least 2 states"),
    ("states repeated", "states: [u, v, w]", "states: [u, v, u]", "variables[1].states",
     "states: [u, v, u]", "twice"),
    ("states of a bernoulli", "type: bernoulli}", "type: bernoulli, states: 2}",
     "variables[0].states", "states: 2}", "does not apply"),
    ("bad ordering", "shape: [1, 2, 2]}", "shape: [1, 2, 2], ordering: spiral}",
     "variables[2].ordering", "spiral", "unknown ordering 'spiral'"),
    ("bad custom ordering", "shape: [1, 2, 2]}", "shape: [1, 2, 2], ordering: [0, 1, 1, 2]}",
     "variables[2].ordering", "ordering: [0, 1, 1, 2]", "permutation"),
    ("bad shape", "shape: [1, 2, 2]}", "shape: [1, 0, 2]}", "variables[2].shape",
     "shape: [1, 0, 2]", "positive integers"),
    ("duplicate name", "{name: img, type: image", "{name: a, type: image", "variables[2]",
     "{name: a, type: image", "duplicate variable name 'a'"),
    ("unknown variable key", "type: bernoulli}", "type: bernoulli, stats: 2}",
     "variables[0].stats", "stats: 2", "unknown key 'stats'"),
    ("unknown edge end", "  - [b, img]", "  - [b, imgg]", "edges[1]", "[b, imgg]",
     "unknown variable 'imgg' in an edge (did you mean 'img'?)"),
    ("bad edge", "  - [b, img]", "  - [b, img, a]", "edges[1]", "[b, img, a]",
     "[parent, child]"),
    ("unknown in statement", "a _|_ img | b", "a _|_ image | b", "statements[0]", "image | b",
     "unknown variable 'image'"),
    ("malformed statement", "a _|_ img | b", "a img b", "statements[0]", "a img b",
     "malformed statement"),
    ("unknown cpt variable", "  a: [0.5, 0.5]", "  aa: [0.5, 0.5]", "cpts.aa", "aa: [0.5",
     "unknown variable 'aa'"),
    ("cpt of an image", "  a: [0.5, 0.5]", "  img: [0.5, 0.5]", "cpts.img", "img: [0.5",
     "only discrete scalar"),
    ("cpt row unknown state", "a=1: [0.3, 0.3, 0.4]", "a=2: [0.3, 0.3, 0.4]", 'cpts.b["a=2"]',
     "a=2:", "has no state '2'"),
    ("cpt row length", "a=1: [0.3, 0.3, 0.4]", "a=1: [0.3, 0.7]", 'cpts.b["a=1"]', "a=1:",
     "expected 3 probabilities"),
    ("cpt row sum", "a=1: [0.3, 0.3, 0.4]", "a=1: [0.3, 0.3, 0.3]", "cpts.b", "  b:",
     "sum to 0.9"),
    ("cpt missing row", "    a=1: [0.3, 0.3, 0.4]\n", "", "cpts.b", "  b:",
     "no row for (a=1)"),
    ("cpt table shape", "  a: [0.5, 0.5]", "  a: [[0.5, 0.5]]", "cpts.a", "a: [[0.5",
     "must be [2]"),
    ("cpt wrong parents", "  a: [0.5, 0.5]", "  a: {parents: [b], table: [0.5, 0.5]}",
     "cpts.a.parents", "parents: [b]", "graph gives []"),
    ("conditionals unknown", "  img: {family", "  imgs: {family", "conditionals.imgs",
     "imgs: {family", "unknown variable 'imgs'"),
    ("conditionals value", "  img: {family: nade, hidden: 8}", "  img: [nade]",
     "conditionals.img", "img: [nade]", "family name or a mapping"),
    ("unknown top key", "statements:", "statments:", "statments", "statments:",
     "did you mean 'statements'"),
    ("structure and edges", "edges:", "structure: chain_rule\nedges:", "edges", "edges:",
     "derives the edges itself"),
    ("unknown structure", "edges:", "structure: chain\nedges:", None, None, None),
    ("bad markov", "edges:", "structure: {markov: -1}\nedges:", "structure.markov",
     "markov: -1", "integer >= 0"),
]


@pytest.mark.parametrize("case", SPEC_ERRORS, ids=[c[0] for c in SPEC_ERRORS])
def test_spec_errors_name_key_and_line(case):
    _, old, new, key, marker, fragment = case
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    if key is None:  # 'chain' is an alias of chain_rule: only the edges conflict
        text = text.replace("structure: chain\n", "structure: chainrule\n")
        key, marker, fragment = "structure", "chainrule", "unknown structure 'chainrule'"
    with pytest.raises(SpecError) as exc:
        load_spec_text(text, source="err.yaml")
    err = exc.value
    assert err.path == "err.yaml" and err.key == key, str(err)
    assert err.line == line_of(text, marker), str(err)
    assert str(err).startswith(f"err.yaml, line {err.line}, at {key}: ")
    assert fragment in str(err)


def test_good_spec_loads():
    spec = load_spec_text(GOOD)
    assert spec.network.parents("img") == ("b",) and spec.conditionals["img"]["hidden"] == 8


def test_cycle_error_is_spec_and_cycle_error():
    text = VARS4 + "edges:\n  - a -> b\n  - [b, c]\n  - c -> a   # closes it\n"
    with pytest.raises(CycleError) as exc:
        load_spec_text(text, source="cyc.yaml")
    err = exc.value
    assert isinstance(err, SpecError) and isinstance(err, SpecCycleError)
    assert set(err.cycle) == {"a", "b", "c"}
    assert err.key == "edges[2]" and err.line == line_of(text, "closes it")
    self_loop = VARS4 + "parents: {b: [a, b]}\n"
    with pytest.raises(SpecCycleError) as exc:
        load_spec_text(self_loop)
    assert exc.value.cycle == ("b",)


def test_yaml_syntax_error_gives_the_line():
    text = "variables:\n  - {name: a, type: bernoulli\nstructure: chain_rule\n"
    with pytest.raises(SpecError) as exc:
        load_spec_text(text, source="s.yaml")
    assert exc.value.line == 3 and "YAML syntax error" in str(exc.value)
    assert "started at line 2" in str(exc.value)


def test_json_syntax_error_gives_the_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "variables": ["a", "b"],\n  "structure": "independent",\n}\n')
    with pytest.raises(SpecError) as exc:
        load_spec(path)
    assert exc.value.path == str(path) and exc.value.line == 4
    assert "JSON syntax error" in str(exc.value)


def test_key_path_lines_in_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "variables": [\n    {"name": "a"},\n    {"name": "b", "type": "x"}\n'
                    '  ],\n  "structure": "independent"\n}\n')
    with pytest.raises(SpecError) as exc:
        load_spec(path)
    assert exc.value.key == "variables[1].type" and exc.value.line == 4


@pytest.mark.parametrize("text, key, fragment", [
    ("", None, "empty"),
    ("- a\n- b\n", None, "must be a mapping"),
    ("name: x\n", None, "missing 'variables'"),
    ("variables: []\nstructure: independent\n", "variables", "non-empty list"),
    ("variables: [a, b]\n", None, "say how the variables depend"),
    ("variables: [a, b]\nstructure: independencies\n", "statements", "needs 'statements'"),
    ("variables: [a, b]\nedges: [a -> b]\nparents: {b: [a]}\n", "parents", "not both"),
])
def test_structural_errors(text, key, fragment):
    with pytest.raises(SpecError) as exc:
        load_spec_text(text, source="s.yaml")
    assert exc.value.key == key and fragment in str(exc.value)


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(SpecError, match="no such file") as exc:
        load_spec(tmp_path / "missing.yaml")
    assert str(tmp_path / "missing.yaml") in str(exc.value)
    with pytest.raises(SpecError, match="no such file"):
        load_any(tmp_path / "missing.json")
    with pytest.raises(SpecError, match="unknown file type"):
        load_any(tmp_path / "net.xml")
    with pytest.raises(SpecError, match="is a directory"):
        load_spec(tmp_path)


# --------------------------------------------------------------------------- #
# atomic writes
# --------------------------------------------------------------------------- #
def test_atomic_write_creates_parents_and_writes(tmp_path):
    target = tmp_path / "a" / "b" / "out.txt"
    assert atomic_write_text(target, "héllo\n") == target
    assert target.read_bytes() == "héllo\n".encode("utf-8")
    atomic_write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert os.listdir(target.parent) == ["out.txt"]  # no temp file left behind


def test_new_files_get_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    target = atomic_write_text(tmp_path / "perm.txt", "x")
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    os.chmod(target, 0o640)
    atomic_write_text(target, "y")
    assert target.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("broken", ["replace", "fsync"])
def test_failed_write_leaves_the_old_file(broken, tmp_path, monkeypatch):
    target = tmp_path / "keep.txt"
    target.write_text("old content")

    def boom(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(atomic_mod.os, broken, boom)
    with pytest.raises(OSError, match="disk on fire"):
        atomic_write_text(target, "new content that never lands")
    monkeypatch.undo()
    assert target.read_text() == "old content"
    assert os.listdir(tmp_path) == ["keep.txt"]


def test_save_spec_and_write_bif_are_atomic(tmp_path, monkeypatch, bif_path):
    net = read_bif(bif_path("asia"))
    spec_file, bif_file = tmp_path / "asia.yaml", tmp_path / "asia.bif"
    spec_file.write_text("old spec")
    bif_file.write_text("old bif")

    def boom(*args, **kwargs):
        raise OSError("no space left")

    monkeypatch.setattr(atomic_mod.os, "replace", boom)
    with pytest.raises(OSError):
        save_spec(net, spec_file)
    with pytest.raises(OSError):
        write_bif(net, bif_file)
    monkeypatch.undo()
    assert spec_file.read_text() == "old spec" and bif_file.read_text() == "old bif"
    assert sorted(os.listdir(tmp_path)) == ["asia.bif", "asia.yaml"]


def test_save_spec_rejects_other_objects(tmp_path):
    with pytest.raises(PgmArError, match="Spec or a BayesNet"):
        save_spec({"variables": []}, tmp_path / "x.yaml")
