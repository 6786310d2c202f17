"""The whole spec document (pgm_ar.io.spec.document): the shipped example specs, JSON and YAML,
the network's name, and errors about the document as a whole.

(``tests/io`` has no ``__init__.py``: a test package named ``io`` would shadow the standard
library's; the file names here are unique instead.)
"""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from conftest import REPO
from oracles import assert_same_cpts, parent_sets
from pgm_ar import Bernoulli, Image
from pgm_ar.errors import SpecError
from pgm_ar.io import load_any, load_network
from pgm_ar.io.spec import Spec, load_spec, load_spec_text
from pgm_ar.statements import Statement

EXAMPLES = REPO / "examples" / "specs"


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
