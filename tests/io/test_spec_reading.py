"""Reading a spec's text (pgm_ar.io.spec.reading): every error names the file, the key path
and the line; syntax errors give the line."""
from __future__ import annotations

import pytest

from oracles import line_of
from pgm_ar.errors import SpecError
from pgm_ar.io.spec import load_spec, load_spec_text


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
