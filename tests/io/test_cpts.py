"""CPT rows (pgm_ar.io.cpts), the assembly that BIF and spec files share: checked against a
table written cell by cell, and both readers give the same CPT from the same rows."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from pgm_ar.errors import SpecError
from pgm_ar.io.bif import read_bif_string
from pgm_ar.io.cpts import CptRows
from pgm_ar.io.spec import load_spec_text

PARENTS = ["a", "b"]
STATES = [["x", "y", "z"], ["lo", "hi"]]


def random_rows(seed: int, card: int = 3) -> dict:
    """``{(i, j): row}`` for every configuration of a and b: random distributions."""
    rng = np.random.default_rng(seed)
    return {idx: rng.dirichlet(np.ones(card))
            for idx in itertools.product(*(range(len(s)) for s in STATES))}


@pytest.mark.parametrize("seed", range(4))
def test_rows_in_any_order_land_in_their_cells(seed):
    rows = random_rows(seed)
    order = list(rows)
    np.random.default_rng(seed).shuffle(order)
    assembled = CptRows(PARENTS, STATES, card=3)
    for k, idx in enumerate(order):
        assert assembled.given(idx) is None
        assembled.put_row(idx, rows[idx], where=k)
        assert assembled.given(idx) == k
    assert assembled.first_missing() is None and assembled.first_off_sum(1e-9) is None
    for idx, row in rows.items():
        assert assembled.probs[idx].tolist() == row.tolist()


def test_default_fills_only_the_configurations_without_a_row():
    rows = random_rows(0)
    assembled = CptRows(PARENTS, STATES, card=3)
    given = [(0, 1), (2, 0)]
    for idx in given:
        assembled.put_row(idx, rows[idx], where=("rows", idx))
    assert assembled.first_missing() == (0, 0)              # row-major: a slowest
    default = np.array([0.5, 0.25, 0.25])
    assembled.fill_default(default, where="default")
    assert assembled.first_missing() is None
    for idx in rows:
        want = rows[idx] if idx in given else default
        assert assembled.probs[idx].tolist() == want.tolist()
        assert assembled.where(idx) == (("rows", idx) if idx in given else "default")


def test_a_table_then_a_row_that_replaces_one():
    table = np.stack([np.stack([r for (i, j), r in sorted(random_rows(1).items()) if i == a])
                      for a in range(3)])
    assembled = CptRows(PARENTS, STATES, card=3)
    assembled.put_table(table, where="table")
    assert assembled.given((1, 1)) is None and assembled.where((1, 1)) == "table"
    assembled.put_row((1, 1), [1.0, 0.0, 0.0], where="row")
    want = table.copy()
    want[1, 1] = [1.0, 0.0, 0.0]
    np.testing.assert_array_equal(assembled.probs, want)


def test_off_sums_and_descriptions():
    assembled = CptRows(PARENTS, STATES, card=2)
    for idx in itertools.product(range(3), range(2)):
        assembled.put_row(idx, [0.5, 0.5] if idx != (2, 1) else [0.5, 0.4], where=idx)
    assert assembled.first_off_sum(1e-6) == (2, 1)
    assert assembled.describe((2, 1)) == "a=z, b=hi"


def test_a_root_has_one_row():
    assembled = CptRows([], [], card=2)
    assert assembled.first_missing() == ()
    assembled.put_row((), [0.3, 0.7], where=1)
    assert assembled.first_missing() is None and assembled.probs.tolist() == [0.3, 0.7]
    assert assembled.describe(()) == ""


# --------------------------------------------------------------------------- #
# both readers, same rows
# --------------------------------------------------------------------------- #
def bif_text(rows: dict, default=None, skip=()) -> str:
    lines = [f"  ({STATES[0][i]}, {STATES[1][j]}) {', '.join(repr(float(x)) for x in row)};\n"
             for (i, j), row in rows.items() if (i, j) not in skip]
    if default is not None:
        lines.append(f"  default {', '.join(repr(float(x)) for x in default)};\n")
    return ("network n { }\n"
            "variable a { type discrete [ 3 ] { x, y, z }; }\n"
            "variable b { type discrete [ 2 ] { lo, hi }; }\n"
            "variable c { type discrete [ 3 ] { u, v, w }; }\n"
            "probability ( a ) { table 0.2, 0.3, 0.5; }\n"
            "probability ( b ) { table 0.6, 0.4; }\n"
            "probability ( c | a, b ) {\n" + "".join(lines) + "}\n")


def spec_text(rows: dict, default=None, skip=()) -> str:
    body = "".join(f"      \"a={STATES[0][i]}, b={STATES[1][j]}\": "
                   f"[{', '.join(repr(float(x)) for x in row)}]\n"
                   for (i, j), row in rows.items() if (i, j) not in skip)
    if default is not None:
        body += f"    default: [{', '.join(repr(float(x)) for x in default)}]\n"
    return ("variables:\n"
            "  - {name: a, states: [x, y, z]}\n  - {name: b, states: [lo, hi]}\n"
            "  - {name: c, states: [u, v, w]}\n"
            "parents: {c: [a, b]}\n"
            "cpts:\n  a: [0.2, 0.3, 0.5]\n  b: [0.6, 0.4]\n  c:\n    rows:\n" + body)


@pytest.mark.parametrize("seed", range(3))
def test_bif_and_spec_rows_give_the_same_cpt(seed):
    rows = dict(sorted(random_rows(seed).items(), key=lambda kv: -kv[1][0]))  # any order
    skip = {(1, 0), (2, 1)}
    default = np.array([0.1, 0.1, 0.8])
    from_bif = read_bif_string(bif_text(rows, default, skip)).cpd("c").probs
    from_spec = load_spec_text(spec_text(rows, default, skip)).network.cpd("c").probs
    want = np.stack([np.stack([default if (i, j) in skip else rows[i, j] for j in range(2)])
                     for i in range(3)])
    want = want / want.sum(-1, keepdims=True)  # both readers normalise within tolerance
    np.testing.assert_allclose(from_bif, want, rtol=0, atol=1e-15)
    np.testing.assert_allclose(from_spec, want, rtol=0, atol=1e-15)


def test_both_readers_name_the_missing_configuration():
    rows = random_rows(0)
    with pytest.raises(SpecError, match=r"no row for \(a=y, b=lo\) and no 'default'"):
        read_bif_string(bif_text(rows, skip={(1, 0)}))
    with pytest.raises(SpecError, match=r"no row for \(a=y, b=lo\) and no 'default'"):
        load_spec_text(spec_text(rows, skip={(1, 0)}))


def test_both_readers_refuse_a_configuration_given_twice():
    rows = random_rows(0)
    text = bif_text(rows)
    dup = text.replace("  (x, lo)", "  (x, lo) 0.2, 0.3, 0.5;\n  (x, lo)", 1)
    with pytest.raises(SpecError, match=r"\(x, lo\) of 'c' is given twice \(also at line 8\)"):
        read_bif_string(dup)
    spec = spec_text(rows).replace('      "a=x, b=lo"', '      "b=lo, a=x": [0.2, 0.3, 0.5]\n'
                                   '      "a=x, b=lo"', 1)
    with pytest.raises(SpecError, match="given twice") as exc:
        load_spec_text(spec)
    assert exc.value.key == 'cpts.c.rows["a=x, b=lo"]'
