"""A spec's CPTs (pgm_ar.io.spec.cpts): every form gives the same table."""
from __future__ import annotations

import json

import numpy as np
import pytest

from pgm_ar.io.spec import load_spec_text


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
