"""A spec's statements and edges (pgm_ar.io.spec.structure): each structure, the edge forms,
and cycles."""
from __future__ import annotations

import pytest

from oracles import line_of, parent_sets
from pgm_ar.errors import CycleError, SpecError
from pgm_ar.io import SpecCycleError
from pgm_ar.io.spec import load_spec_text
from pgm_ar.statements import Statement

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
