"""The factorization of a colour image: one factor per channel, R -> G -> B inside each pixel."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from pgm_ar import BayesNet, Categorical, Image
from pgm_ar.cli import main
from pgm_ar.errors import PgmArError
from pgm_ar.factorization import pixel_expansion


def colour_net(shape=(3, 1, 2), ordering="raster", label=True) -> BayesNet:
    image = Image("x", shape=shape, levels=4, ordering=ordering)
    if not label:
        return BayesNet([image])
    return BayesNet([Categorical("label", 3), image], [("label", "x")])


def test_exact_strings_for_a_tiny_colour_image():
    f = colour_net(label=False).factorization()
    assert f.pixel_expansions("text") == [
        "p(x) = prod_{i=1}^{2} p(x_i,R | x_<i) p(x_i,G | x_<i, x_i,R) "
        "p(x_i,B | x_<i, x_i,R, x_i,G)   [3x1x2, raster order]"]
    assert f.pixel_expansions() == f.pixel_expansions("unicode") == [
        "p(x) = ∏_{i=1}^{2} p(x_i,R | x_<i) p(x_i,G | x_<i, x_i,R) "
        "p(x_i,B | x_<i, x_i,R, x_i,G)   [3x1x2, raster order]"]
    assert f.pixel_expansions("latex") == [
        r"p(x) = \prod_{i=1}^{2} p(x_{i,R} \mid x_{<i}) p(x_{i,G} \mid x_{<i}, x_{i,R}) "
        r"p(x_{i,B} \mid x_{<i}, x_{i,R}, x_{i,G}) \quad [3 \times 1 \times 2,\ "
        r"\text{raster order}]"]


def test_parents_join_every_factor():
    [line] = colour_net().factorization().pixel_expansions("text")
    assert line == ("p(x | label) = prod_{i=1}^{2} p(x_i,R | x_<i, label) "
                    "p(x_i,G | x_<i, x_i,R, label) p(x_i,B | x_<i, x_i,R, x_i,G, label)"
                    "   [3x1x2, raster order]")


def test_one_channel_images_keep_their_form():
    net = BayesNet([Categorical("label", 10), Image("digit", (1, 28, 28), ordering="snake")],
                   [("label", "digit")])
    f = net.factorization()
    assert f.pixel_expansions() == [
        "p(digit | label) = ∏_{t=1}^{784} p(digit_t | digit_<t, label)   [1x28x28, snake order]"]
    assert f.pixel_expansions("latex") == [
        r"p(digit \mid label) = \prod_{t=1}^{784} p(digit_{t} \mid digit_{<t}, label) "
        r"\quad [1 \times 28 \times 28,\ \text{snake order}]"]


def test_other_channel_counts():
    two = pixel_expansion(Image("y", (2, 2, 2)), style="text")
    assert two == ("p(y) = prod_{i=1}^{4} p(y_i,1 | y_<i) p(y_i,2 | y_<i, y_i,1)"
                   "   [2x2x2, raster order]")
    many = pixel_expansion(Image("y", (6, 2, 3)), style="unicode")
    assert many == ("p(y) = ∏_{i=1}^{6} ∏_{c=1}^{6} p(y_i,c | y_<i, y_i,<c)"
                    "   [6x2x3, raster order]")
    with pytest.raises(PgmArError, match="unknown factorization style 'html'"):
        colour_net().factorization().pixel_expansions("html")


def chain_rule_sets(image: Image):
    """``{value: set of values before it}`` by the chain rule over ``image.order``."""
    order = [int(v) for v in image.order]
    return {v: frozenset(order[:t]) for t, v in enumerate(order)}


def factors_from_text(line: str, image: Image):
    """Expand the spelled-out per-channel text form over the pixels in visiting order into
    ``{value: conditioning set}`` (flat ``(C, H, W)`` indices)."""
    C, H, W = image.shape
    names = ["R", "G", "B"] if C == 3 else [str(k + 1) for k in range(C)]
    out = {}
    for i, pixel in enumerate(int(p) for p in image.pixel_order):
        earlier_pixels = [int(p) for p in image.pixel_order[:i]]
        for child, conds in re.findall(r"p\(x_i,(\w) \| ([^)]*)\)", line):
            k = names.index(child)
            given = set()
            for cond in conds.split(", "):
                if cond == "x_<i":
                    given |= {c * H * W + p for c in range(C) for p in earlier_pixels}
                else:
                    given.add(names.index(cond.split(",")[1]) * H * W + pixel)
            out[k * H * W + pixel] = frozenset(given)
    return out


@pytest.mark.parametrize("ordering", ["raster", "snake", "diagonal", "random(4)"])
def test_the_per_channel_product_is_the_chain_rule_of_the_declared_order(ordering):
    net = colour_net(shape=(3, 2, 3), ordering=ordering, label=False)
    image = net.variable("x")
    [line] = net.factorization().pixel_expansions("text")
    assert factors_from_text(line, image) == chain_rule_sets(image)


def test_cli_factorize_prints_the_chosen_form(capsys, tmp_path):
    spec = tmp_path / "rgb.yaml"
    spec.write_text("name: rgb\nvariables:\n  - {name: x, type: image, shape: [3, 1, 2], "
                    "levels: 4}\nstructure: independent\n")
    assert main(["factorize", str(spec), "--format", "text"]) == 0
    out = capsys.readouterr().out
    assert "where p(x) = prod_{i=1}^{2} p(x_i,R | x_<i) p(x_i,G | x_<i, x_i,R)" in out
    assert main(["factorize", str(spec), "--format", "latex"]) == 0
    assert r"p(x_{i,B} \mid x_{<i}, x_{i,R}, x_{i,G})" in capsys.readouterr().out
    assert main(["factorize", str(spec), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["pixel_expansions"][0].startswith("p(x) = ∏_{i=1}^{2}")
    assert data["pixel_expansions_latex"][0].startswith(r"p(x) = \prod_{i=1}^{2}")
    assert data["pixel_expansions_text"][0].startswith("p(x) = prod_{i=1}^{2}")
