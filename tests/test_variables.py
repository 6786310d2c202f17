"""Variables: the "discrete scalar" test that decides which variables can have a CPT."""
from __future__ import annotations

import pytest

from pgm_ar import BayesNet, Bernoulli, Categorical, Gaussian, Image, TabularCPD
from pgm_ar.errors import PgmArError


@pytest.mark.parametrize("var, expected", [
    (Bernoulli("b"), True),
    (Categorical("c", 5), True),
    (Gaussian("g"), False),
    (Image("binary", shape=(1, 2, 2)), False),
    (Image("one_pixel", shape=(1, 1, 1)), False),   # an image is never one discrete value
    (Image("real", shape=(1, 2, 2), levels=None), False),
])
def test_discrete_scalars_are_the_variables_with_states(var, expected):
    assert var.is_discrete_scalar is expected
    # independently: exactly these have a number of states to put in a CPT's last axis
    assert (var.cardinality is not None and var.num_pixels == 1) is expected


@pytest.mark.parametrize("var", [Gaussian("x"), Image("x", shape=(1, 1, 1))])
def test_only_discrete_scalars_take_a_cpt(var):
    with pytest.raises(PgmArError, match="not a discrete scalar"):
        BayesNet([var], []).with_cpds({"x": TabularCPD("x", (), [0.5, 0.5])})
    net = BayesNet([Bernoulli("x")], []).with_cpds({"x": TabularCPD("x", (), [0.5, 0.5])})
    assert net.cpd("x").probs.tolist() == [0.5, 0.5]
