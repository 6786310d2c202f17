"""BIF reading and writing, checked against pgmpy's BIFReader/BIFWriter as an oracle."""
from __future__ import annotations

import gzip
import itertools
import re
import time

import numpy as np
import pytest

from conftest import BIF_NAMES
from oracles import line_of
from pgm_ar import Bernoulli, Categorical, Gaussian, Image
from pgm_ar.cpd import TabularCPD
from pgm_ar.errors import CycleError, PgmArError, SpecError
from pgm_ar.io import SpecCycleError, load_any, load_network
from pgm_ar.io.bif import read_bif, read_bif_string, write_bif
from pgm_ar.network import BayesNet

pgmpy_bif = pytest.importorskip("pgmpy.readwrite.BIF")

# Published free-parameter counts (bnlearn repository, see REFERENCES.md).
PUBLISHED_PARAMS = {"asia": 18, "sachs": 178, "child": 230, "alarm": 509, "insurance": 1008}


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #
_PGMPY_CACHE: dict = {}


def pgmpy_model_from_text(text: str):
    return pgmpy_bif.BIFReader(string=text).get_model()


def pgmpy_model(path):
    key = str(path)
    if key not in _PGMPY_CACHE:
        with gzip.open(path, "rt") as fh:
            _PGMPY_CACHE[key] = pgmpy_model_from_text(fh.read())
    return _PGMPY_CACHE[key]


def pgmpy_table(model, var: str, parent_order, state_order):
    """pgmpy's CPT of ``var`` as an array (*parents, child), axes and states aligned to ours."""
    cpd = model.get_cpds(var)
    names = list(cpd.variables)  # [var, *evidence]
    values = np.asarray(cpd.get_values(), dtype=float).reshape(tuple(cpd.cardinality))
    # reorder state axes to the given state names
    for axis, name in enumerate(names):
        theirs = list(cpd.state_names[name])
        perm = [theirs.index(s) for s in state_order[name]]
        values = np.take(values, perm, axis=axis)
    # axes -> (*parent_order, var)
    perm = [names.index(p) for p in parent_order] + [0]
    values = np.transpose(values, perm)
    return values / values.sum(axis=-1, keepdims=True)


def assert_matches_pgmpy(net: BayesNet, model) -> None:
    assert set(net.names) == set(model.nodes())
    states = {v.name: list(v.states) for v in net.variables}
    for v in net.variables:
        cpd = model.get_cpds(v.name)
        assert list(cpd.state_names[v.name]) == list(v.states), v.name
        assert set(net.parents(v.name)) == set(model.get_parents(v.name)), v.name
        expected = pgmpy_table(model, v.name, net.parents(v.name), states)
        np.testing.assert_allclose(net.cpd(v.name).probs, expected, rtol=0, atol=1e-9,
                                   err_msg=v.name)


SMALL = """\
network tiny {
}
variable a {
  type discrete [ 2 ] { yes, no };
}
variable b {
  type discrete [ 3 ] { lo, mid, hi };
}
variable c {
  type discrete [ 2 ] { off, on };
}
probability ( a ) {
  table 0.3, 0.7;
}
probability ( b | a ) {
  (yes) 0.2, 0.3, 0.5;
  (no) 0.6, 0.3, 0.1;
}
probability ( c | b, a ) {
  (lo, yes) 0.9, 0.1;
  (mid, yes) 0.8, 0.2;
  (hi, yes) 0.7, 0.3;
  (lo, no) 0.6, 0.4;
  (mid, no) 0.5, 0.5;
  (hi, no) 0.4, 0.6;
}
"""


# --------------------------------------------------------------------------- #
# the shipped example networks
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("name", BIF_NAMES)
def test_shipped_network_matches_pgmpy(name, bif_path):
    path = bif_path(name)
    net = read_bif(path)
    model = pgmpy_model(path)
    assert_matches_pgmpy(net, model)
    assert net.name == name  # bnlearn's placeholder "unknown" gives way to the file stem
    # variables in file order; parents in the order of each probability header
    text = gzip.open(path, "rt").read()
    assert list(net.names) == re.findall(r"^variable\s+(\S+)\s*\{", text, flags=re.M)
    for child, parents in re.findall(r"probability\s*\(\s*(\S+)\s*(?:\|([^)]*))?\)", text):
        expected = tuple(p.strip() for p in parents.split(",")) if parents.strip() else ()
        assert net.parents(child) == expected
    assert all(isinstance(v, Categorical) for v in net.variables)
    assert net.num_edges == model.number_of_edges()


@pytest.mark.parametrize("name", BIF_NAMES)
def test_free_parameters_match_pgmpy(name, bif_path):
    path = bif_path(name)
    net = read_bif(path)
    model = pgmpy_model(path)
    theirs = 0
    for node in model.nodes():
        card = model.get_cardinality(node)
        theirs += (card - 1) * int(np.prod([model.get_cardinality(p)
                                            for p in model.get_parents(node)]))
    assert net.count_parameters().total == theirs
    assert sum(c.num_free_parameters for c in net.cpds.values()) == theirs
    if name in PUBLISHED_PARAMS:
        assert theirs == PUBLISHED_PARAMS[name]


def test_alarm_has_published_size(bif_path):
    net = read_bif(bif_path("alarm"))
    assert (len(net), net.num_edges, net.count_parameters().total) == (37, 46, 509)


def test_reading_is_fast(bif_path):
    read_bif(bif_path("insurance"))  # warm caches (imports, regex)
    start = time.perf_counter()
    for name in BIF_NAMES:
        read_bif(bif_path(name))
    # ~0.05 s for all eight here; pgmpy's reader takes ~1 s for insurance alone
    assert time.perf_counter() - start < 2.0


# --------------------------------------------------------------------------- #
# round trips through pgmpy
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("name", ["asia", "child", "alarm", "insurance"])
def test_written_file_reads_in_pgmpy(name, bif_path, tmp_path):
    net = read_bif(bif_path(name))
    out = write_bif(net, tmp_path / f"{name}.bif")
    model = pgmpy_bif.BIFReader(str(out)).get_model()
    assert_matches_pgmpy(net, model)
    again = read_bif(out)
    assert again == net
    for v in net.names:  # numbers are written with repr; reading renormalizes (last bit)
        assert again.parents(v) == net.parents(v)
        np.testing.assert_allclose(again.cpd(v).probs, net.cpd(v).probs, rtol=0, atol=1e-15)


@pytest.mark.parametrize("name", ["sachs", "alarm"])
def test_pgmpy_written_file_reads_here(name, bif_path, tmp_path):
    model = pgmpy_model(bif_path(name))
    out = tmp_path / f"{name}_pgmpy.bif"
    writer = pgmpy_bif.BIFWriter(model)
    (writer.write if hasattr(writer, "write") else writer.write_bif)(str(out))
    net = read_bif(out)
    assert_matches_pgmpy(net, model)
    original = read_bif(bif_path(name))  # pgmpy writes the variables sorted by name
    assert set(net.names) == set(original.names)
    for v in original.variables:
        assert net.variable(v.name) == v
        assert net.parents(v.name) == original.parents(v.name)  # pgmpy keeps header order


def test_gzip_round_trip(tmp_path):
    net = read_bif_string(SMALL)
    out = write_bif(net, tmp_path / "tiny.bif.gz")
    assert out.read_bytes()[:2] == b"\x1f\x8b"
    back = read_bif(out)
    assert back == net and back.name == "tiny"
    assert all(np.allclose(back.cpd(v).probs, net.cpd(v).probs, rtol=0, atol=1e-15)
               for v in net.names)


def test_write_bif_is_deterministic(tmp_path):
    net = read_bif_string(SMALL)
    a = write_bif(net, tmp_path / "a.bif.gz").read_bytes()
    b = write_bif(net, tmp_path / "b.bif.gz").read_bytes()
    assert a == b


# --------------------------------------------------------------------------- #
# the forms of a probability block
# --------------------------------------------------------------------------- #
def test_small_network_cells():
    net = read_bif_string(SMALL)
    assert net.name == "tiny"
    assert net.parents("c") == ("b", "a")
    assert net.variable("b").states == ("lo", "mid", "hi")
    # c's axes: (b, a, c); the line "(mid, no) 0.5, 0.5" sets [1, 1]
    np.testing.assert_allclose(net.cpd("c").probs[1, 1], [0.5, 0.5], atol=1e-15)
    np.testing.assert_allclose(net.cpd("c").probs[2, 0], [0.7, 0.3], atol=1e-15)
    np.testing.assert_allclose(net.cpd("b").probs[1], [0.6, 0.3, 0.1], atol=1e-15)


def test_table_with_parents_uses_pgmpys_layout():
    # The same CPT of c written as one 'table' line; pgmpy reads it as the oracle.
    # the child's state slowest, then b, then a fastest
    values = [0.9, 0.6, 0.8, 0.5, 0.7, 0.4, 0.1, 0.4, 0.2, 0.5, 0.3, 0.6]
    text = re.sub(r"probability \( c \| b, a \) \{.*?\}",
                  "probability ( c | b, a ) {\n  table " + ", ".join(map(str, values)) + ";\n}",
                  SMALL, flags=re.S)
    ours = read_bif_string(text)
    assert_matches_pgmpy(ours, pgmpy_model_from_text(text))
    # and it is the same CPT as the per-configuration lines
    assert np.allclose(ours.cpd("c").probs, read_bif_string(SMALL).cpd("c").probs)


def test_default_row_fills_the_missing_configurations():
    text = SMALL.replace("  (mid, yes) 0.8, 0.2;\n", "").replace("  (hi, no) 0.4, 0.6;\n",
                                                                 "  default 0.25, 0.75;\n")
    probs = read_bif_string(text).cpd("c").probs
    full = read_bif_string(SMALL).cpd("c").probs
    for b, a in itertools.product(range(3), range(2)):
        expected = [0.25, 0.75] if (b, a) in ((1, 0), (2, 1)) else full[b, a].tolist()
        assert probs[b, a].tolist() == expected


def test_comments_and_properties_are_ignored():
    text = ("// a line comment\n/* a block\n   comment */\n" +
            SMALL.replace("network tiny {\n}", "network tiny {\n  property author = x ;\n}")
            .replace("type discrete [ 2 ] { yes, no };",
                     "type discrete [ 2 ] { yes, no }; // trailing\n  property \"pos (1, 2)\" ;")
            .replace("probability ( a ) {", "probability ( a ) { /* inline */ property p = 1;"))
    net = read_bif_string(text)
    plain = read_bif_string(SMALL)
    assert net == plain
    assert all(np.array_equal(net.cpd(v).probs, plain.cpd(v).probs) for v in net.names)
    # line numbers still count the comment lines: break line of "(hi, no)"
    bad = text.replace("(hi, no) 0.4, 0.6;", "(hi, no) 0.4, 0.6, 0.1;")
    with pytest.raises(SpecError) as exc:
        read_bif_string(bad)
    assert exc.value.line == line_of(bad, "(hi, no)")


def test_rows_are_normalized_within_tolerance():
    text = SMALL.replace("table 0.3, 0.7;", "table 0.3, 0.7004;")
    probs = read_bif_string(text).cpd("a").probs
    assert np.allclose(probs, np.array([0.3, 0.7004]) / 1.0004, atol=1e-15)


def test_load_network_and_load_any_dispatch_on_suffix(bif_path, tmp_path):
    path = bif_path("asia")
    assert load_network(path) == read_bif(path)
    spec = load_any(path)
    assert spec.network == read_bif(path) and spec.statements == () and spec.structure == "bif"
    plain = tmp_path / "tiny.bif"
    plain.write_text(SMALL)
    assert load_network(plain) == read_bif_string(SMALL)
    with pytest.raises(SpecError, match="unknown file type"):
        load_network(tmp_path / "net.txt")


# --------------------------------------------------------------------------- #
# errors name the file and the line
# --------------------------------------------------------------------------- #
ERROR_CASES = [
    # (description, old, new, marker of the expected line, message fragment)
    ("unknown child", "probability ( b | a )", "probability ( bb | a )", "probability ( bb",
     "unknown variable 'bb'"),
    ("unknown parent", "probability ( b | a )", "probability ( b | \n aa )", " aa )",
     "unknown variable 'aa'"),
    ("too many values in a row", "(no) 0.6, 0.3, 0.1;", "(no) 0.6, 0.3, 0.05, 0.05;",
     "(no) 0.6, 0.3, 0.05", "has 4 values; expected 3"),
    ("too few values in a table", "table 0.3, 0.7;", "table 1.0;", "table 1.0;",
     "has 1 values; expected 2"),
    ("unknown state", "(mid, no) 0.5, 0.5;", "(medium, no) 0.5, 0.5;", "(medium, no)",
     "unknown state 'medium' of parent 'b'"),
    ("wrong number of parent states", "(mid, no) 0.5, 0.5;", "(mid) 0.5, 0.5;", "(mid) 0.5",
     "names 1 parent states; expected 2"),
    ("missing configuration", "  (mid, no) 0.5, 0.5;\n", "", "probability ( c | b, a )",
     "no row for (b=mid, a=no)"),
    ("duplicate configuration", "(mid, no) 0.5, 0.5;", "(lo, no) 0.5, 0.5;", "(lo, no) 0.5",
     "given twice"),
    ("row does not sum to one", "(no) 0.6, 0.3, 0.1;", "(no) 0.6, 0.3, 0.3;",
     "(no) 0.6, 0.3, 0.3", "sum to 1.2"),
    ("not a number", "table 0.3, 0.7;", "table 0.3, seven;", "table 0.3, seven",
     "found 'seven'"),
    ("missing semicolon", "(yes) 0.2, 0.3, 0.5;", "(yes) 0.2, 0.3, 0.5", "(no) 0.6",
     "missing ';'"),
    ("state count mismatch", "[ 3 ] { lo, mid, hi }", "[ 4 ] { lo, mid, hi }", "[ 4 ]",
     "declares [4] states but lists 3"),
    ("duplicate variable", "variable c {", "variable a { // again", "// again",
     "declared twice (first at line 3)"),
    ("continuous variable", "type discrete [ 2 ] { off, on };", "type continuous;",
     "type continuous", "only 'discrete'"),
    ("unknown block", "probability ( a ) {", "potential ( a ) {", "potential", "found 'potential'"),
    ("duplicate probability block", "probability ( b | a ) {",
     "probability ( a ) { // again\n table 0.5, 0.5;\n}\nprobability ( b | a ) {", "// again",
     "a second probability block for 'a'"),
]


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors_give_file_and_line(case):
    _, old, new, marker, fragment = case
    assert old in SMALL
    text = SMALL.replace(old, new, 1)
    with pytest.raises(SpecError) as exc:
        read_bif_string(text, source="tiny.bif")
    err = exc.value
    expected_line = line_of(text, marker)
    assert err.path == "tiny.bif" and err.line == expected_line, str(err)
    assert str(err).startswith(f"tiny.bif, line {expected_line}: ")
    assert fragment in str(err)


def test_missing_cpt_names_the_variable_line():
    text = re.sub(r"probability \( b \| a \) \{.*?\}\n", "", SMALL, flags=re.S)
    text = text.replace("probability ( c | b, a )", "probability ( c | a )")
    text = re.sub(r"  \((lo|mid|hi), (yes|no)\).*\n", "", text)
    text = text.replace("probability ( c | a ) {\n", "probability ( c | a ) {\n  (yes) 0.5, 0.5;\n"
                        "  (no) 0.5, 0.5;\n")
    with pytest.raises(SpecError) as exc:
        read_bif_string(text)
    assert exc.value.line == line_of(text, "variable b {")
    assert "'b' has no probability block" in str(exc.value)


def test_unterminated_block_names_its_opening_line():
    text = SMALL.rstrip().rstrip("}")
    with pytest.raises(SpecError) as exc:
        read_bif_string(text)
    assert exc.value.line == line_of(text, "probability ( c | b, a )")
    assert "not closed" in str(exc.value)
    with pytest.raises(SpecError) as exc:
        read_bif_string(SMALL + "/* never closed\n")
    assert exc.value.line == SMALL.count("\n") + 1


def test_cycle_is_both_spec_and_cycle_error():
    text = SMALL.replace("probability ( a ) {\n  table 0.3, 0.7;",
                         "probability ( a | c ) {\n  (off) 0.3, 0.7;\n  (on) 0.5, 0.5;")
    with pytest.raises(SpecError) as exc:
        read_bif_string(text, source="cyc.bif")
    err = exc.value
    assert isinstance(err, CycleError) and isinstance(err, SpecCycleError)
    assert set(err.cycle) == {"a", "b", "c"}
    assert err.line == line_of(text, f"probability ( {err.cycle[0]} ")
    assert "cyc.bif" in str(err) and "cycle" in str(err)
    self_loop = SMALL.replace("probability ( b | a )", "probability ( b | b )")
    with pytest.raises(CycleError):
        read_bif_string(self_loop)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(SpecError, match="no such file"):
        read_bif(tmp_path / "nope.bif")
    with pytest.raises(SpecError, match="not a BIF network"):
        read_bif_string("// nothing here\n")


# --------------------------------------------------------------------------- #
# write_bif refuses what BIF cannot hold
# --------------------------------------------------------------------------- #
def test_write_bif_needs_every_cpt(tmp_path):
    net = BayesNet([Categorical("a", ["x", "y"]), Bernoulli("b")], [("a", "b")],
                   cpds={"a": TabularCPD("a", (), [0.5, 0.5])})
    target = tmp_path / "net.bif"
    with pytest.raises(PgmArError, match="'b' has no CPT"):
        write_bif(net, target)
    assert not target.exists()


@pytest.mark.parametrize("var", [Gaussian("h"), Image("img", shape=(1, 2, 2))])
def test_write_bif_rejects_non_categorical(var, tmp_path):
    net = BayesNet([Bernoulli("a"), var], [("a", var.name)])
    with pytest.raises(PgmArError, match=f"{var.name!r} is a {type(var).__name__}"):
        write_bif(net, tmp_path / "net.bif")


def test_write_bif_rejects_unwritable_state_names(tmp_path):
    net = BayesNet([Categorical("a", ["very low", "high"])],
                   cpds={"a": TabularCPD("a", (), [0.5, 0.5])})
    with pytest.raises(PgmArError, match="'very low'"):
        write_bif(net, tmp_path / "net.bif")


def test_write_bif_bernoulli_states_round_trip(tmp_path):
    net = BayesNet([Bernoulli("a"), Bernoulli("b")], [("a", "b")],
                   cpds={"a": TabularCPD("a", (), [0.25, 0.75]),
                         "b": TabularCPD("b", ("a",), [[0.9, 0.1], [0.2, 0.8]])}, name="ab")
    out = write_bif(net, tmp_path / "ab.bif")
    back = read_bif(out)
    assert back.variable("a").states == ("0", "1") and back.name == "ab"
    np.testing.assert_allclose(back.cpd("b").probs, net.cpd("b").probs, rtol=0, atol=1e-15)
    assert_matches_pgmpy(back, pgmpy_bif.BIFReader(str(out)).get_model())
