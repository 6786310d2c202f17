"""Text to enum members (pgm_ar.utils.enums), and the options parsed with it."""
from __future__ import annotations

from enum import Enum, IntEnum

import pytest

from pgm_ar.errors import PgmArError
from pgm_ar.utils.enums import parse_enum


class Colour(str, Enum):
    RED = "red"
    DARK_BLUE = "dark-blue"


class Level(IntEnum):
    LOW = 1
    HIGH = 2


@pytest.mark.parametrize("text", ["red", "RED", " Red ", "rEd"])
def test_values_in_any_case(text):
    assert parse_enum(Colour, text, "colour") is Colour.RED


def test_names_are_accepted_too():
    assert parse_enum(Colour, "dark_blue", "colour") is Colour.DARK_BLUE
    assert parse_enum(Colour, "Dark-Blue", "colour") is Colour.DARK_BLUE


def test_members_pass_through():
    assert parse_enum(Colour, Colour.DARK_BLUE, "colour") is Colour.DARK_BLUE
    assert parse_enum(Level, Level.HIGH, "level") is Level.HIGH


def test_other_values_by_the_enum_itself():
    assert parse_enum(Level, 2, "level") is Level.HIGH
    assert parse_enum(Level, "high", "level") is Level.HIGH


@pytest.mark.parametrize("bad", ["green", "", None, 3.5, ["red"]])
def test_unknown_values_list_every_choice(bad):
    with pytest.raises(PgmArError) as exc:
        parse_enum(Colour, bad, "colour")
    msg = str(exc.value)
    assert msg.startswith(f"unknown colour {bad!r}")
    assert all(repr(m.value) in msg for m in Colour)
    assert isinstance(exc.value, ValueError)


def test_a_close_value_is_suggested():
    with pytest.raises(PgmArError, match=r"unknown colour 'rad' \(did you mean 'red'\?\)"):
        parse_enum(Colour, "rad", "colour")


def test_options_parsed_with_it(tmp_path):
    from pgm_ar import BayesNet, Bernoulli
    from pgm_ar.conditionals.nade import NADE
    from pgm_ar.draw import draw
    from pgm_ar.draw.spec import ImageMode, dag_spec
    from pgm_ar.variables import Image

    net = BayesNet([Bernoulli("a"), Bernoulli("b")], [("a", "b")])
    assert dag_spec(net, image_mode="AUTO") == dag_spec(net, image_mode=ImageMode.AUTO)
    with pytest.raises(PgmArError, match="unknown drawing kind 'tree'.*'dag', 'factor', 'grid'"):
        draw(net, tmp_path / "x.gv", kind="tree")
    upper = NADE(hidden=3, activation="TANH").build(Image("x", shape=(1, 2, 2)), [])
    assert upper.activation.value == "tanh"
    with pytest.raises(PgmArError, match="unknown NADE activation 'softsign'"):
        NADE(activation="softsign").build(Image("x", shape=(1, 2, 2)), [])
