"""A spec's variables (pgm_ar.io.spec.variables): every kind and the shorthands."""
from __future__ import annotations

from pgm_ar import Bernoulli, Gaussian, Image
from pgm_ar.io.spec import load_spec_text


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
