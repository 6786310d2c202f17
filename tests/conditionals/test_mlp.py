"""The MLP family (pgm_ar.conditionals.mlp): the logits against a ReLU network written out in
numpy from the module's weights; the parameter count against the layer sizes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pgm_ar import Bernoulli, Categorical, Gaussian, PgmArError
from pgm_ar.conditionals.mlp import MLP, check_hidden, make_mlp


@pytest.mark.parametrize("hidden", [(8,), (5, 3), (4, 4, 2)])
def test_parameter_count_is_the_layers_weights_and_biases(hidden):
    parents = [Categorical("a", 3), Gaussian("g")]
    sizes = [3 + 1, *hidden, 4 - 1]
    want = sum((i + 1) * o for i, o in zip(sizes[:-1], sizes[1:]))
    assert MLP(hidden=hidden).build(Categorical("x", 4), parents).num_parameters() == want
    assert MLP(hidden=hidden).build(Categorical("x", 4), []).num_parameters() == 3


def test_logits_are_the_relu_network_with_the_first_logit_zero():
    torch.manual_seed(0)
    cond = MLP(hidden=(6, 5)).build(Categorical("x", 3), [Categorical("a", 3), Gaussian("g")])
    cond = cond.double()
    rng = np.random.default_rng(0)
    n = 25
    a, g = rng.integers(0, 3, n), rng.normal(size=n)
    h = np.concatenate([np.eye(3)[a], g[:, None]], axis=1)
    linears = [m for m in cond.net if isinstance(m, torch.nn.Linear)]
    for i, lin in enumerate(linears):
        h = h @ lin.weight.detach().numpy().T + lin.bias.detach().numpy()
        if i < len(linears) - 1:
            h = np.maximum(h, 0)
    logits = np.concatenate([np.zeros((n, 1)), h], axis=1)
    want = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    d = cond({"a": torch.as_tensor(a), "g": torch.as_tensor(g)})
    np.testing.assert_allclose(d.probs.detach().numpy(), want, rtol=1e-10)


def test_root_node_is_a_plain_categorical():
    cond = MLP(hidden=(4,)).build(Categorical("x", 3), [])
    assert cond.net is None and torch.all(cond.root_logits == 0)
    torch.manual_seed(0)
    cond.reset_parameters()
    assert 0 < cond.root_logits.abs().max() < 0.5
    d = cond({}, batch_size=3)
    assert d.batch_shape == (3,)
    free = cond.root_logits.detach().numpy()
    want = np.exp(np.r_[0, free]) / np.exp(np.r_[0, free]).sum()
    np.testing.assert_allclose(d.probs[0].detach().numpy(), want, rtol=1e-6)


def test_reset_re_initialises_the_layers():
    cond = MLP(hidden=(4,)).build(Bernoulli("y"), [Gaussian("g")])
    before = [p.detach().clone() for p in cond.parameters()]
    cond.reset_parameters()
    assert all(not torch.equal(a, b) for a, b in zip(before, cond.parameters()))


def test_make_mlp_and_hidden_checks():
    net = make_mlp(3, (4, 2), 1)
    assert [type(m).__name__ for m in net] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert [(m.in_features, m.out_features) for m in net if hasattr(m, "in_features")] == \
        [(3, 4), (4, 2), (2, 1)]
    assert check_hidden(7, "MLP") == (7,) and check_hidden([3, "4"], "MLP") == (3, 4)
    assert MLP(hidden=[8, 2]).hidden == (8, 2)
    for bad, match in [("abc", "list of layer widths"), ([0], "positive integers"),
                       ([True], "positive integers"), (None, "list of layer widths")]:
        with pytest.raises(PgmArError, match=f"MLP: hidden .*{match}"):
            check_hidden(bad, "MLP")


def test_supports_discrete_scalars_only():
    assert MLP().supports(Bernoulli("b"), [Gaussian("g")]) is None
    assert "MLP models a discrete scalar node" in MLP().supports(Gaussian("g"), [])
    with pytest.raises(PgmArError, match="variable 'g'"):
        MLP().build(Gaussian("g"), [])
