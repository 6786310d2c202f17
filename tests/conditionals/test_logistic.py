"""The logistic family (pgm_ar.conditionals.logistic): probabilities against a softmax (sigmoid)
written out in numpy from the module's weights and the parents' encodings."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pgm_ar import Bernoulli, Categorical, Gaussian, Image, PgmArError
from pgm_ar.conditionals.logistic import Logistic, discrete_logits, expand_root


def _softmax(z):
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def test_parameter_count_is_k_minus_one_times_inputs_plus_one():
    parents = [Categorical("a", 3), Gaussian("g"), Image("i", (1, 2, 2), levels=None)]
    assert Logistic().build(Categorical("x", 4), parents).num_parameters() == 3 * (3 + 1 + 4 + 1)
    assert Logistic().build(Bernoulli("x"), []).num_parameters() == 1


def test_probabilities_are_the_softmax_of_w_u_plus_b_with_the_first_logit_zero():
    parents = [Categorical("a", 3), Gaussian("g"), Image("i", (1, 1, 2), levels=None)]
    torch.manual_seed(0)
    cond = Logistic().build(Categorical("x", 4), parents).double()
    rng = np.random.default_rng(0)
    n = 20
    a, g, img = rng.integers(0, 3, n), rng.normal(size=n), rng.normal(size=(n, 1, 1, 2))
    d = cond({"a": torch.as_tensor(a), "g": torch.as_tensor(g), "i": torch.as_tensor(img)})
    u = np.concatenate([np.eye(3)[a], g[:, None], img.reshape(n, 2)], axis=1)
    W, b = cond.weight.detach().numpy(), cond.bias.detach().numpy()
    want = _softmax(np.concatenate([np.zeros((n, 1)), u @ W.T + b], axis=1))
    np.testing.assert_allclose(d.probs.detach().numpy(), want, rtol=1e-12)
    x = torch.as_tensor(rng.integers(0, 4, n))
    np.testing.assert_allclose(d.log_prob(x).detach().numpy(), np.log(want[np.arange(n), x]),
                               rtol=1e-12)


def test_a_binary_node_is_a_sigmoid_unit():
    cond = Logistic().build(Bernoulli("y"), [Bernoulli("a"), Bernoulli("b")]).double()
    with torch.no_grad():
        cond.weight.copy_(torch.tensor([[0.3, -1.2, 2.0, 0.5]], dtype=torch.float64))
        cond.bias.fill_(-0.4)
    a, b = torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 0, 1])
    p1 = cond({"a": a, "b": b}).probs[:, 1].detach().numpy()
    z = np.array([0.3 + 2.0, 0.3 + 0.5, -1.2 + 2.0, -1.2 + 0.5]) - 0.4
    np.testing.assert_allclose(p1, 1 / (1 + np.exp(-z)), rtol=1e-12)


def test_root_node_and_helpers():
    torch.manual_seed(1)
    cond = Logistic().build(Categorical("x", 3), [])
    assert cond.weight is None
    d = cond({}, batch_size=5)
    assert d.batch_shape == (5,)
    want = _softmax(np.concatenate([[0.0], cond.bias.detach().numpy()]))
    np.testing.assert_allclose(d.probs[0].detach().numpy(), want, rtol=1e-6)
    assert cond({}).batch_shape == ()
    assert discrete_logits(torch.tensor([[1.0, 2.0]])).tolist() == [[0.0, 1.0, 2.0]]
    assert expand_root(torch.zeros(3), 4).shape == (4, 3) and expand_root(torch.zeros(3), None).shape == (3,)


def test_initialisation_scale():
    torch.manual_seed(0)
    cond = Logistic().build(Categorical("x", 3), [Categorical("a", 50), Gaussian("g")] * 1)
    bound = 1 / np.sqrt(51)
    assert cond.weight.abs().max() <= bound and cond.weight.abs().max() > 0.9 * bound
    assert 0 < cond.bias.abs().max() < 0.5


def test_supports_discrete_scalars_only():
    fam = Logistic()
    assert fam.supports(Bernoulli("b"), [Gaussian("g"), Image("i", (1, 2, 2))]) is None
    assert "'g' is Gaussian (use LinearGaussian or MLPGaussian)" in fam.supports(Gaussian("g"), [])
    assert "Logistic models a discrete scalar node; 'i' is Image" in fam.supports(
        Image("i", (1, 2, 2)), [])
    with pytest.raises(PgmArError, match="variable 'g': Logistic models"):
        fam.build(Gaussian("g"), [])
