"""The "did you mean" hint (pgm_ar.utils.suggest): its wording, and that every reader of names
gives the same hint."""
from __future__ import annotations

import pytest

from pgm_ar import BayesNet, Bernoulli, Categorical
from pgm_ar.errors import PgmArError, SpecError, UnknownVariableError
from pgm_ar.io.bif import read_bif_string
from pgm_ar.io.examples import close_examples
from pgm_ar.io.spec import load_spec_text
from pgm_ar.utils.suggest import did_you_mean


def test_one_close_name():
    assert did_you_mean("sprinker", ["rain", "sprinkler", "wet"]) == " (did you mean 'sprinkler'?)"


def test_nothing_close_gives_nothing():
    assert did_you_mean("zzz", ["rain", "wet"]) == ""
    assert did_you_mean("rain", []) == ""


def test_several_closest_first_and_at_most_n():
    names = ["x10", "x11", "x12", "x13", "y"]
    hint = did_you_mean("x1", names)
    shown = [part.strip(" '") for part in hint[len(" (did you mean "):-len("?)")].split(",")]
    assert len(shown) == 3 and set(shown) <= {"x10", "x11", "x12", "x13"}
    assert did_you_mean("x1", names, n=1).count("'") == 2


def test_names_are_compared_as_text():
    assert did_you_mean(1234, [1235, 99, "a"]) == " (did you mean '1235'?)"


def test_every_reader_of_names_gives_the_same_hint():
    names = ["rain", "sprinkler", "wet"]
    want = did_you_mean("sprinker", names)
    assert want
    assert str(UnknownVariableError("sprinker", names)).endswith(want)
    net = BayesNet([Bernoulli(n) for n in names], [])
    with pytest.raises(PgmArError) as exc:
        net.variable("sprinker")
    assert want in str(exc.value)
    with pytest.raises(SpecError) as exc:
        load_spec_text("variables: [rain, sprinkler, wet]\nedges: [sprinker -> wet]\n")
    assert want in str(exc.value)
    bif = ("network n { }\n" + "".join(f"variable {n} {{ type discrete [ 2 ] {{ a, b }}; }}\n"
                                       for n in names)
           + "probability ( rain ) { table 0.5, 0.5; }\n"
           + "probability ( sprinkler ) { table 0.5, 0.5; }\n"
           + "probability ( wet | sprinker ) { table 0.5, 0.5, 0.5, 0.5; }\n")
    with pytest.raises(SpecError) as exc:
        read_bif_string(bif)
    assert want in str(exc.value)


def test_states_and_examples_hints():
    from pgm_ar.tabular_data import encode
    import pandas as pd

    net = BayesNet([Categorical("w", ["sunny", "rainy"])], [])
    with pytest.raises(PgmArError) as exc:
        encode(net, pd.DataFrame({"w": ["suny"]}))
    assert did_you_mean("suny", ["sunny", "rainy"]) in str(exc.value)
    assert close_examples("ALRAM") == did_you_mean("alram", ["alarm", "asia"])
