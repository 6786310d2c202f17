"""Parameter counts (pgm_ar.counting) against closed forms and enumerated parent configurations.

Every expected count is either a hand-computed number, a closed form (``2^n - 1``,
``2n - 1``, ``(k - 1) * prod(parent cards)``) or the number of parent configurations listed
one by one with itertools; ``readable`` is checked against ``decimal``'s own rounding.
"""
from __future__ import annotations

import itertools
import math
from decimal import Decimal

import numpy as np
import pytest

from pgm_ar import (BayesNet, Bernoulli, Categorical, Gaussian, Image, PgmArError, bernoullis,
                    chain_rule, compare_parameter_counts, count_parameters, independent, markov)
from pgm_ar.counting import (CountRow, CountTable, ParameterCount, readable, tabular_count)


def _configs(*cards: int) -> int:
    """Parent configurations counted one by one."""
    return sum(1 for _ in itertools.product(*(range(c) for c in cards)))


def _sci(n: int) -> str:
    """``n`` with one decimal in scientific notation, rounded by Decimal (exact integers)."""
    mant, exp = f"{Decimal(n):.1e}".split("e")
    return f"{mant}e{int(exp)}"


# ---------------------------------------------------------------------------- readable
@pytest.mark.parametrize("n", [0, 7, -5, 999, 1000, 123_456, 999_999, -999_999])
def test_readable_is_exact_with_thousands_separators_below_a_million(n):
    assert readable(n) == f"{n:,}"


@pytest.mark.parametrize("n", [1_000_000, 1_049_999, 1_234_567, 9_940_000, 9_950_000, 9_960_000, 10 ** 40, 99_960_000,
                               123_456_789, 10 ** 17 + 3, 3 ** 200, 7 * 10 ** 298 + 11,
                               10 ** 299, 10 ** 300, 4 * 10 ** 300 + 1, 2 ** 784 - 1,
                               2 ** 10000, 3 ** 5000])
def test_readable_is_one_decimal_scientific_above(n):
    assert readable(n) == _sci(n)


def test_readable_of_no_count():
    assert readable(None) == "n/a"


def test_readable_examples_by_hand():
    assert readable(1_000_000) == "1.0e6"
    assert readable(9_960_000) == "1.0e7"  # 9.96 rounds up: the exponent moves, not "10.0e6"
    assert readable(9_940_000) == "9.9e6"
    assert readable(9_950_000) == "1.0e7"  # 9.95 itself rounds up
    assert readable(2 ** 784 - 1) == "1.0e236"
    assert readable(2 ** 10000) == "2.0e3010"  # 2^10000 = 1.995...e3010


# ---------------------------------------------------------------------------- tabular_count
def test_tabular_count_of_a_categorical_is_k_minus_one_times_parent_configurations():
    rng = np.random.default_rng(0)
    for _ in range(20):
        k = int(rng.integers(2, 6))
        cards = [int(c) for c in rng.integers(2, 5, size=int(rng.integers(0, 4)))]
        parents = [Categorical(f"p{i}", c) for i, c in enumerate(cards)]
        assert tabular_count(Categorical("x", k), parents) == (k - 1) * _configs(*cards)


def test_tabular_count_of_an_image_is_its_full_chain_rule_per_parent_configuration():
    img = Image("x", shape=(1, 1, 3), levels=3)
    assert tabular_count(img, []) == 3 ** 3 - 1
    assert tabular_count(img, [Categorical("a", 4), Bernoulli("b")]) == (27 - 1) * 8
    # a discrete image parent has levels ** pixels joint states
    assert tabular_count(Bernoulli("y"), [Image("p", shape=(1, 1, 2), levels=3)]) == 1 * 9
    assert tabular_count(img, [Image("p", shape=(1, 2, 1), levels=2)]) == 26 * 4


def test_tabular_count_is_none_without_a_finite_table():
    real_img = Image("r", shape=(1, 2, 2), levels=None)
    assert tabular_count(real_img, []) is None
    assert tabular_count(Image("x", shape=(1, 1, 2)), [Gaussian("g")]) is None
    assert tabular_count(Bernoulli("y"), [Gaussian("g")]) is None
    assert tabular_count(Categorical("y", 3), [Bernoulli("b"), real_img]) is None


def test_tabular_count_of_a_real_node_is_the_linear_gaussian_module():
    # the compiled LinearGaussian: one weight per one-hot state of each discrete parent and per
    # real value, one intercept and one variance (not one variance per configuration)
    assert tabular_count(Gaussian("y"), []) == 2
    assert tabular_count(Gaussian("y"), [Gaussian("a"), Gaussian("b")]) == 2 + 2
    assert tabular_count(Gaussian("y"), [Categorical("z", 3), Gaussian("a")]) == 3 + 1 + 2
    # a real image parent contributes one weight per pixel
    real_img = Image("r", shape=(1, 2, 3), levels=None)
    assert tabular_count(Gaussian("y"), [real_img, Bernoulli("b")]) == 6 + 2 + 2


# ---------------------------------------------------------------------------- count_parameters
@pytest.mark.parametrize("seed", range(4))
def test_count_parameters_enumerates_parent_configurations(seed):
    rng = np.random.default_rng(seed)
    vs = [Categorical(f"v{i}", int(rng.integers(2, 5))) for i in range(6)]
    edges = [(vs[j].name, vs[i].name) for i in range(6) for j in range(i) if rng.random() < 0.5]
    net = BayesNet(vs, edges)
    pc = count_parameters(net)
    assert list(pc.per_variable) == list(net.names)
    for v in vs:
        cards = [net.variable(p).cardinality for p in net.parents(v.name)]
        assert pc.per_variable[v.name] == (v.cardinality - 1) * _configs(*cards)
    assert pc.total == sum(pc.per_variable.values())
    assert net.count_parameters() == pc


@pytest.mark.parametrize("n", [1, 2, 3, 10, 20, 64])
def test_builders_closed_forms(n):
    xs = bernoullis(n)
    assert count_parameters(chain_rule(xs)).total == 2 ** n - 1
    assert count_parameters(markov(xs, 1)).total == 2 * n - 1
    assert count_parameters(independent(xs)).total == n


def test_total_is_none_when_any_node_has_no_table():
    net = BayesNet([Gaussian("g"), Bernoulli("y"), Bernoulli("z")], [("g", "y")])
    pc = count_parameters(net)
    assert pc.total is None
    assert pc.per_variable == {"g": 2, "y": None, "z": 1}
    assert pc.to_dict() == {"total": None, "total_readable": "n/a",
                            "per_variable": {"g": 2, "y": None, "z": 1}}


def test_parameter_count_text_and_dict():
    pc = ParameterCount(2 ** 30 + 1, {"a": 1, "bb": 2 ** 30})
    assert str(pc).splitlines() == ["a   1", "bb  1.1e9", "total  1.1e9"]
    assert pc.to_dict() == {"total": 2 ** 30 + 1, "total_readable": "1.1e9",
                            "per_variable": {"a": 1, "bb": 2 ** 30}}
    long = ParameterCount(3, {"alpha": 1, "b": 2})
    assert str(long).splitlines() == ["alpha  1", "b      2", "total  3"]
    assert str(ParameterCount(0, {})).splitlines() == ["total  0"]


# ---------------------------------------------------------------------------- compare_parameter_counts
def test_markov_rows_by_hand_with_mixed_cardinalities():
    vs = [Bernoulli("a"), Categorical("b", 3), Categorical("c", 4), Bernoulli("d")]
    table = compare_parameter_counts(vs, markov_orders=(1, 2, 3, 5))
    # k=1: 1 + 2*2 + 3*3 + 1*4 ; k=2: 1 + 2*2 + 3*(2*3) + 1*(3*4) ; k>=3: the full joint
    assert table.row("Markov k=1").count == 1 + 4 + 9 + 4
    assert table.row("Markov k=2").count == 1 + 4 + 18 + 12
    assert table.row("Markov k=3").count == 2 * 3 * 4 * 2 - 1
    assert table.row("Markov k=5").count == 2 * 3 * 4 * 2 - 1
    assert table.row("independent").count == 1 + 2 + 3 + 1
    assert table.row("full joint").count == table.row("chain rule").count == 47
    assert table.n_scalars == 4


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_markov_rows_equal_an_explicit_markov_network(seed, k):
    rng = np.random.default_rng(seed)
    cards = [int(c) for c in rng.integers(2, 5, size=7)]
    vs = [Categorical(f"v{i}", c) for i, c in enumerate(cards)]
    # the k-th order chain, written with explicit edges; counted by enumeration
    want = sum((cards[i] - 1) * _configs(*cards[max(0, i - k):i]) for i in range(len(cards)))
    edges = [(f"v{j}", f"v{i}") for i in range(7) for j in range(max(0, i - k), i)]
    table = compare_parameter_counts(vs, net=BayesNet(vs, edges, name="mine"))
    assert table.row(f"Markov k={k}").count == want
    assert table.row("declared network (mine)").count == want
    assert table.row("full joint").count == math.prod(cards) - 1
    assert table.row("independent").count == sum(c - 1 for c in cards)


def test_rows_and_labels():
    table = compare_parameter_counts(bernoullis(5), markov_orders=(2, 1))
    assert [r.label for r in table.rows] == ["full joint", "chain rule", "Markov k=2",
                                              "Markov k=1", "independent"]
    assert table.row("full joint").formula == "2^5 - 1"
    assert table.row("chain rule").formula == "2^5 - 1"
    assert table.row("full joint").note == "one probability per joint state, minus one"
    assert table.row("chain rule").note == "sum_i (k_i - 1) prod_{j<i} k_j: no savings"
    with pytest.raises(KeyError, match="Markov k=3"):
        table.row("Markov k=3")
    with pytest.raises(PgmArError, match="Markov orders must be >= 1, got 0"):
        compare_parameter_counts(bernoullis(3), markov_orders=(1, 0))


def test_power_formula_groups_equal_cardinalities_most_frequent_first():
    vs = [Categorical("a", 10), Bernoulli("b"), Bernoulli("c"), Categorical("d", 3),
          Categorical("e", 3), Bernoulli("f"), Categorical("g", 5)]
    assert compare_parameter_counts(vs).row("full joint").formula == "2^3 * 3^2 * 5 * 10 - 1"
    two = [Categorical("a", 3), Categorical("b", 3), Bernoulli("c"), Bernoulli("d")]
    assert compare_parameter_counts(two).row("full joint").formula == "2^2 * 3^2 - 1"
    # the most frequent cardinality comes first even when it is the larger one
    three = [Bernoulli("a"), Categorical("b", 3), Categorical("c", 3)]
    assert compare_parameter_counts(three).row("full joint").formula == "3^2 * 2 - 1"


def test_images_count_as_their_pixels_in_order():
    img = Image("digit", shape=(1, 28, 28))
    t = compare_parameter_counts([Categorical("label", 10), img])
    assert t.n_scalars == 785
    assert t.row("full joint").count == 10 * 2 ** 784 - 1
    assert t.row("full joint").formula == "2^784 * 10 - 1"
    # Markov k=1 in the order label, pixel 1, ..., pixel 784
    assert t.row("Markov k=1").count == 9 + 10 + 2 * 783
    assert t.row("independent").count == 9 + 784
    colour = compare_parameter_counts([Image("c", shape=(3, 1, 2), levels=4)])
    assert colour.n_scalars == 6 and colour.row("full joint").count == 4 ** 6 - 1


def test_real_variables_have_no_rows_but_keep_their_labels():
    t = compare_parameter_counts([Bernoulli("a"), Gaussian("g")], markov_orders=(1, 2))
    assert [r.label for r in t.rows] == ["full joint", "chain rule", "Markov k=1", "Markov k=2",
                                          "independent"]
    assert all(r.count is None and r.note == "real-valued variables have no table"
               for r in t.rows)
    assert t.n_scalars == 2
    real_img = compare_parameter_counts([Image("r", shape=(1, 2, 2), levels=None)])
    assert real_img.n_scalars == 4 and real_img.row("full joint").count is None


def test_table_dict_and_text():
    xs = bernoullis(784)
    t = compare_parameter_counts(xs, net=markov(xs, 1))
    d = t.to_dict()
    assert d["n_scalar_variables"] == 784
    first = d["rows"][0]
    assert first == {"assumption": "full joint", "count": 2 ** 784 - 1, "readable": "1.0e236",
                     "formula": "2^784 - 1", "note": t.rows[0].note}
    assert [r["assumption"] for r in d["rows"]] == [r.label for r in t.rows]
    lines = str(t).splitlines()
    w = max(len(r.label) for r in t.rows)
    cw = max(len(readable(r.count)) for r in t.rows)
    assert lines[0] == f"{'assumption':<{w}}  {'parameters':>{cw}}  exact"
    # a count of more than 40 digits is shown by its formula and its number of digits
    digits = len(str(2 ** 784 - 1))
    assert lines[1] == (f"{'full joint':<{w}}  {'1.0e236':>{cw}}  = 2^784 - 1 ({digits} digits)"
                        f"  [{t.rows[0].note}]")
    assert lines[3] == f"{'Markov k=1':<{w}}  {'1,567':>{cw}}  1567"
    assert lines[-1].startswith("declared network (markov1)") and lines[-1].endswith("  1567")


def test_table_text_of_long_counts_without_formula_and_missing_counts():
    big = 12345678901234567890123456789012345678901234567890
    t = CountTable(3, (CountRow("huge", big), CountRow("none", None, "why"), CountRow("x", 5)))
    lines = str(t).splitlines()
    cw = len(readable(big))
    assert lines[1] == f"huge  {readable(big):>{cw}}  123456789012...234567890 (50 digits)".replace(
        "123456789012...234567890", f"{str(big)[:12]}...{str(big)[-12:]}")
    assert lines[2] == f"none  {'n/a':>{cw}}    [why]"
    assert lines[3] == f"x     {'5':>{cw}}  5"
    assert CountTable(3, (CountRow("a", 10 ** 40 - 1),)).__str__().splitlines()[1].endswith(
        "  " + "9" * 40)  # 40 digits are still written out, 41 are not
    assert str(CountTable(3, (CountRow("a", 10 ** 40),))).splitlines()[1].endswith(
        "  100000000000...000000000000 (41 digits)")


# ---------------------------------------------------------------------------- moved from test_assumptions
def test_builders_counts_closed_forms():
    for n in (1, 3, 10, 20):
        xs = bernoullis(n)
        assert count_parameters(chain_rule(xs)).total == 2 ** n - 1
        assert count_parameters(markov(xs, 1)).total == 2 * n - 1
        assert count_parameters(independent(xs)).total == n
        table = compare_parameter_counts(xs, net=markov(xs, 2))
        assert table.row("full joint").count == 2 ** n - 1
        assert table.row("Markov k=1").count == 2 * n - 1
        assert table.row("declared network (markov2)").count == count_parameters(markov(xs, 2)).total


def test_count_matches_brute_force_table_sizes():
    # (k-1) * prod(parent cards), counted the long way by enumerating parent configurations
    rng = np.random.default_rng(0)
    vs = [Categorical(f"v{i}", int(rng.integers(2, 5))) for i in range(6)]
    edges = [(vs[j].name, vs[i].name) for i in range(6) for j in range(i) if rng.random() < 0.5]
    net = BayesNet(vs, edges)
    pc = count_parameters(net)
    for v in vs:
        configs = list(itertools.product(*[range(net.variable(p).cardinality) for p in net.parents(v.name)]))
        assert pc.per_variable[v.name] == (v.cardinality - 1) * len(configs)
    assert pc.total == sum(pc.per_variable.values())


def test_784_pixel_table():
    table = compare_parameter_counts(bernoullis(784))
    full = table.row("full joint")
    assert full.count == 2 ** 784 - 1 and readable(full.count) == "1.0e236"
    assert "2^784 - 1" in str(table)
    assert table.row("Markov k=1").count == 1567
    img = Image("digit", (1, 28, 28))
    t2 = compare_parameter_counts([img])
    assert t2.row("full joint").count == 2 ** 784 - 1 and t2.row("Markov k=1").count == 1567
    # an image node with a 10-state parent: the chain rule over its pixels, per label
    net = independent([Categorical("label", 10), img]).with_edges([("label", "digit")])
    assert count_parameters(net).per_variable["digit"] == (2 ** 784 - 1) * 10


def test_readable():
    assert readable(7) == "7"
    assert readable(123456789) == "1.2e8"
    assert readable(2 ** 10000).endswith("e3010")
    assert readable(None) == "n/a"


def test_gaussian_counts():
    from pgm_ar import Gaussian
    net = BayesNet([Categorical("z", 3), Gaussian("a"), Gaussian("b")], [("z", "b"), ("a", "b")])
    pc = count_parameters(net)
    assert pc.per_variable["a"] == 2 and pc.per_variable["b"] == 3 + 1 + 2
    t = compare_parameter_counts(net.variables)
    assert t.row("full joint").count is None


def test_linear_gaussian_count_sums_every_parents_input_width():
    from pgm_ar.counting import linear_gaussian_count

    img = Image("im", shape=(1, 2, 3), levels=2)
    # 6 pixel weights + 3 one-hot weights + 1 real weight, an intercept and a variance
    assert linear_gaussian_count([img, Categorical("c", 3), Gaussian("u")]) == 6 + 3 + 1 + 2
    assert linear_gaussian_count([Gaussian("u"), img, img]) == 1 + 6 + 6 + 2
    assert linear_gaussian_count([]) == 2


def test_readable_mantissa_of_huge_integers_is_exact_to_one_decimal():
    assert readable(7 * 10 ** 300) == "7.0e300"
    assert readable(2 ** 10000) == "2.0e3010"   # 1.995...e3010 rounds to 2.0
    assert readable(123 * 10 ** 297) == "1.2e299"
