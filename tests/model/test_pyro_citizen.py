"""The compiled model as a Pyro user composes it: their own SVI and guide, two models in one
program, the model inside their plates, conditioned models under infer_discrete / Predictive,
and answers that do not depend on the modules' train/eval mode."""
from __future__ import annotations

import numpy as np
import pyro
import pytest
import torch
from pyro.infer import SVI, Predictive, Trace_ELBO, config_enumerate, infer_discrete

import pgm_ar
from pgm_ar import BayesNet, Categorical, Image
from pgm_ar.errors import PgmArError


@pytest.fixture(scope="module")
def asia():
    truth = pgm_ar.compile(pgm_ar.example_network("asia"))
    rows = truth.sample(3000, seed=0)
    return truth, rows


def _blank(net):
    return pgm_ar.compile(BayesNet(net.variables, net.edges, name=net.name))


def test_users_own_svi_and_guide_train_the_conditionals(asia):
    truth, rows = asia
    model = _blank(truth.net)
    mle = _blank(truth.net)
    mle.fit(rows)                                   # counts: the optimum SVI should approach
    data = model.encode_data(rows).values
    pyro.clear_param_store()
    svi = SVI(model.model, lambda data: None, pyro.optim.Adam({"lr": 0.05}), Trace_ELBO())
    losses = [svi.step(data) for _ in range(300)]
    assert losses[-1] < 0.75 * losses[0]
    names = set(pyro.get_param_store().keys())
    assert {f"{model.plate_name}$$${k}" for k, _ in model.nodes.named_parameters()} <= names
    got, want = model.tables(), mle.tables()
    for name in truth.net.names:
        assert torch.allclose(got[name], want[name], atol=0.03), name


def test_two_models_in_one_program_and_unique_plates(asia):
    truth, rows = asia
    cancer = pgm_ar.compile(pgm_ar.example_network("cancer"))
    again = pgm_ar.compile(truth.net)
    assert len({truth.plate_name, cancer.plate_name, again.plate_name}) == 3
    c_rows = cancer.sample(50, seed=1)
    a_vals = truth.encode_data(rows.iloc[:40]).values
    c_vals = cancer.encode_data(c_rows).values

    def program():
        truth.model(a_vals)
        cancer.model(c_vals)

    tr = pyro.poutine.trace(program).get_trace()
    total = tr.log_prob_sum().item()
    want = truth.log_prob(rows.iloc[:40]).sum().item() + cancer.log_prob(c_rows).sum().item()
    assert total == pytest.approx(want, rel=1e-9)


def test_inside_a_users_plate(asia):
    truth, rows = asia
    vals = truth.encode_data(rows.iloc[:10]).values

    def program():
        with pyro.plate("repeats", 3, dim=-2):
            truth.model(vals)

    tr = pyro.poutine.trace(program).get_trace()
    tr.compute_log_prob()
    lp = sum(s["log_prob"] for s in tr.nodes.values() if s["type"] == "sample")
    assert lp.shape == (3, 10)
    np.testing.assert_allclose(lp[1].detach().numpy(), truth.log_prob(rows.iloc[:10]).numpy(), rtol=1e-9)


def test_plate_dim_is_configurable(asia):
    truth, rows = asia
    left = pgm_ar.compile(truth.net, plate_dim=-2, plate_name="left")
    vals = left.encode_data(rows.iloc[:6]).values

    def program():
        with pyro.plate("repeats", 4):      # allocated first: dim -1, to the right of ours
            left.model(vals)

    tr = pyro.poutine.trace(program).get_trace()
    tr.compute_log_prob()
    lp = sum(s["log_prob"] for s in tr.nodes.values() if s["type"] == "sample")
    assert lp.shape == (6, 4)
    np.testing.assert_allclose(lp[:, 2].detach().numpy(), truth.log_prob(rows.iloc[:6]).numpy(),
                               rtol=1e-9)
    with pytest.raises(PgmArError, match="plate_dim"):
        pgm_ar.compile(truth.net, plate_dim=0)


def test_infer_discrete_on_a_conditioned_model_needs_no_size(asia):
    truth, rows = asia
    vals = truth.encode_data(rows.iloc[:20]).values
    observed = {k: v for k, v in vals.items() if k != "lung"}
    conditioned = pyro.condition(truth.model, data=observed)
    out = infer_discrete(config_enumerate(conditioned), first_available_dim=-2, temperature=0)()
    assert out["lung"].shape == (20,)
    states = truth.net.variable("lung").states
    for i in range(20):
        ev = {k: truth.net.variable(k).states[int(v[i])] for k, v in observed.items()}
        post = truth.query("lung", ev)
        assert states[int(out["lung"][i])] == max(post, key=post.get)


def test_predictive_draws_rows_of_the_model(asia):
    truth, _ = asia
    draws = Predictive(truth.model, num_samples=4)(None, 25)
    assert draws["dysp"].shape[0] == 4 and draws["dysp"].numel() == 100


def test_answers_do_not_depend_on_the_modules_mode():
    label = Categorical("label", 2)
    img = Image("x", shape=(1, 3, 3))
    net = BayesNet([label, img], [("label", "x")])
    model = pgm_ar.compile(net, {"x": {"family": "made", "hidden": [16], "num_masks": 4}})
    x = torch.bernoulli(torch.full((8, 1, 3, 3), 0.4), generator=torch.Generator().manual_seed(0))
    y = torch.arange(8) % 2
    first = model.log_prob({"x": x, "label": y})
    assert torch.equal(first, model.log_prob({"x": x, "label": y}))   # no mask moved
    model.train()
    assert torch.equal(first, model.log_prob({"x": x, "label": y}))
    assert model.training and model.conditional("x").training      # the mode is put back
    model.eval()
    assert not model.conditional("x").training
