"""Compiled networks with image variables: label -> digit with a NADE conditional.

Expected values are computed independently: a per-pixel NADE loop in numpy from the module's
weights, enumeration of every 2x3 binary image, the closed-form independent-pixel baseline.
"""
from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
import torch

from pgm_ar import BayesNet, Categorical, Image, compile
from pgm_ar.conditionals.autoregressive import ApproximateCompletionWarning
from pgm_ar.datasets import load_embedded_digits
from pgm_ar.model.loop_data import loop_columns
from pgm_ar.errors import DataError, PgmArError
from pgm_ar.imaging import make_grid, save_class_grid, save_grid
from pgm_ar.training import History

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def label_digit(shape=(1, 2, 3), k=3, hidden=5, ordering="snake", seed=0):
    net = BayesNet([Categorical("label", k), Image("digit", shape=shape, ordering=ordering)],
                   [("label", "digit")])
    model = compile(net, {"digit": {"family": "nade", "hidden": hidden}})
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # non-trivial label prior and biases (they start at zero)
        model.conditional("label").set_probs(torch.rand(k, generator=gen) + 0.2)
        node = model.conditional("digit")
        node.b.copy_(torch.randn(node.b.shape, generator=gen))
        node.c.copy_(torch.randn(node.c.shape, generator=gen))
    return model


def all_images(shape):
    d = int(np.prod(shape))
    return torch.tensor(list(itertools.product([0, 1], repeat=d)),
                        dtype=torch.float32).reshape((-1,) + tuple(shape))


def naive_nade_log_prob(model, x, y):
    """log p(x | y) by an explicit loop over the pixels in visiting order (numpy, float64)."""
    node = model.conditional("digit")
    W = node.W.detach().double().numpy()[:, 0, :]         # (D, H)
    V = node.V.detach().double().numpy()[:, :, 0]         # (D, H)
    b = node.b.detach().double().numpy()[:, 0]
    c = node.c.detach().double().numpy()
    U = node.U.weight.detach().double().numpy()           # (H, K)
    order = np.asarray(model.net.variable("digit").order)
    out = []
    for img, lab in zip(x.reshape(len(x), -1).numpy(), y.numpy()):
        xo = img[order]
        a = c + U[:, lab]
        total = 0.0
        for t in range(len(order)):
            h = 1 / (1 + np.exp(-a))
            p1 = 1 / (1 + np.exp(-(V[t] @ h + b[t])))
            total += math.log(p1 if xo[t] == 1 else 1 - p1)
            a = a + W[t] * xo[t]
        out.append(total)
    return np.array(out)


def test_log_prob_is_label_prior_plus_nade_given_label():
    model = label_digit()
    gen = torch.Generator().manual_seed(1)
    x = (torch.rand(20, 1, 2, 3, generator=gen) < 0.5).float()
    y = torch.randint(0, 3, (20,), generator=gen)
    prior = model.conditional("label").probs().numpy()
    expect = np.log(prior[y.numpy()]) + naive_nade_log_prob(model, x, y)
    got = model.log_prob({"digit": x, "label": y})
    assert got.dtype == torch.float64 and got.shape == (20,)
    np.testing.assert_allclose(got.numpy(), expect, rtol=1e-5, atol=1e-5)
    # the (images, labels) convenience, bits/dim and anomaly score are the same numbers
    np.testing.assert_allclose(model.log_prob((x, y)).numpy(), got.numpy())
    np.testing.assert_allclose(model.anomaly_score((x, y)).numpy(), -got.numpy())
    np.testing.assert_allclose(model.bits_per_dim((x, y)).numpy(),
                               -got.numpy() / (6 * math.log(2)), rtol=1e-12)
    # the differentiable path of the training loop gives the same values, with gradients
    values = loop_columns(model, (x, y), "training")
    lp = model.batch_log_prob(values)
    assert lp.requires_grad
    np.testing.assert_allclose(lp.detach().double().numpy(), expect, rtol=1e-5, atol=1e-5)


def test_one_pyro_site_per_variable_with_the_image_event_shape():
    from pyro import poutine
    from pyro.poutine.util import site_is_subsample

    model = label_digit()
    x = torch.zeros(4, 1, 2, 3)
    y = torch.tensor([0, 1, 2, 0])
    tr = poutine.trace(model.model).get_trace({"digit": x, "label": y})
    sites = {k: v for k, v in tr.nodes.items()
             if v["type"] == "sample" and not site_is_subsample(v)}
    assert list(sites) == ["label", "digit"]
    assert tuple(sites["digit"]["fn"].event_shape) == (1, 2, 3)
    assert tuple(sites["digit"]["fn"].batch_shape) == (4,)
    prior = poutine.trace(model.model).get_trace(None, 5)          # sampled, not observed
    assert tuple(prior.nodes["digit"]["value"].shape) == (5, 1, 2, 3)


def test_probabilities_of_all_images_sum_to_the_label_prior():
    model = label_digit()
    imgs = all_images((1, 2, 3))                             # all 64 binary 2x3 images
    prior = model.conditional("label").probs().numpy()
    joint = np.zeros((3, len(imgs)))
    for lab in range(3):
        y = torch.full((len(imgs),), lab)
        joint[lab] = np.exp(model.log_prob({"digit": imgs, "label": y}).numpy())
        np.testing.assert_allclose(joint[lab].sum(), prior[lab], rtol=1e-5)
    assert abs(joint.sum() - 1.0) < 1e-5
    # the images alone: the label is summed out by enumeration
    marginal = model.log_prob({"digit": imgs}).numpy()
    np.testing.assert_allclose(marginal, np.log(joint.sum(0)), rtol=1e-5, atol=1e-6)
    assert abs(np.exp(marginal).sum() - 1.0) < 1e-5


def test_training_on_embedded_digits_beats_the_independent_pixel_baseline(tmp_path):
    xtr, ytr = load_embedded_digits("train")
    xva, yva = load_embedded_digits("valid")
    net = BayesNet([Categorical("label", 10), Image("digit", shape=(1, 14, 14))],
                   [("label", "digit")])
    model = compile(net, {"digit": {"family": "nade", "hidden": 32}})
    history = model.fit((xtr, ytr), val=(xva, yva), epochs=8, batch_size=100, lr=0.01,
                        device="cpu", progress=False, log_path=tmp_path / "log")
    assert isinstance(history, History) and history.epoch == list(range(1, 9))
    assert history.val_nll[-1] < history.val_nll[0]
    assert (tmp_path / "log.csv").exists() and (tmp_path / "log.json").exists()
    # closed-form baseline: independent Bernoulli pixels (and a label prior) from the counts
    p = ((xtr.sum(0) + 1) / (len(xtr) + 2)).double()
    prior = (torch.bincount(ytr, minlength=10).double() + 1) / (len(ytr) + 10)
    xv = xva.double()
    pixels = -(xv * p.log() + (1 - xv) * (1 - p).log()).sum((1, 2, 3))
    base_joint = float((pixels - prior.log()[yva]).mean())
    ours_joint = float(-model.log_prob((xva, yva)).mean())
    assert ours_joint < base_joint - 5.0, (ours_joint, base_joint)
    # the loop's validation NLL is the model's own log-likelihood (best weights restored)
    assert abs(ours_joint - history.best_val_nll) < 1e-3
    # the digit's density (label summed out) also beats the pixel baseline
    assert float(model.anomaly_score(xva).mean()) < float(pixels.mean()) - 5.0
    bpd = model.bits_per_dim(xva)
    np.testing.assert_allclose(bpd.numpy(), model.anomaly_score(xva).numpy() / (196 * math.log(2)))


def synthetic(n=240, seed=0):
    """Three labels, each deciding one fixed 2x3 image."""
    patterns = torch.tensor([[[1, 1, 1], [0, 0, 0]], [[0, 1, 0], [1, 0, 1]],
                             [[1, 0, 0], [1, 1, 0]]], dtype=torch.float32).unsqueeze(1)
    y = torch.arange(n) % 3
    return patterns, patterns[y], y


def test_class_conditional_sampling_reproduces_the_image_the_label_decides():
    patterns, x, y = synthetic()
    model = label_digit(hidden=8)
    model.fit({"digit": x, "label": y}, epochs=100, batch_size=60, lr=0.1, device="cpu",
              progress=False, lr_schedule=None)
    for lab in range(3):
        df = model.sample(40, evidence={"label": lab}, seed=lab)
        assert df.attrs["method"] == "clamped" and (df["label"] == str(lab)).all()
        imgs = torch.stack(list(df["digit"]))
        assert imgs.shape == (40, 1, 2, 3)
        assert float((imgs == patterns[lab]).all(dim=(1, 2, 3)).float().mean()) >= 0.95
    tensors = model.sample(6, evidence={"label": "2"}, seed=0, as_tensors=True)
    assert tensors["digit"].shape == (6, 1, 2, 3) and tensors["label"].tolist() == [2] * 6
    # same seed, same samples
    again = model.sample(6, evidence={"label": "2"}, seed=0, as_tensors=True)
    assert torch.equal(tensors["digit"], again["digit"])
    # inpainting: observed top row first in the snake ordering -> exact, no warning
    mask = torch.zeros(1, 2, 3, dtype=torch.bool)
    mask[:, 0] = True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        done = model.complete((patterns, torch.arange(3)), mask, seed=0)
    assert torch.equal(done[:, :, 0], patterns[:, :, 0])
    assert torch.equal(done, patterns)                      # the label decides the rest
    with pytest.warns(ApproximateCompletionWarning):
        model.complete((patterns, torch.arange(3)), ~mask, seed=0)


def test_features_are_the_hidden_state_with_the_label_context():
    model = label_digit(hidden=4)
    gen = torch.Generator().manual_seed(2)
    x = (torch.rand(7, 1, 2, 3, generator=gen) < 0.5).float()
    y = torch.randint(0, 3, (7,), generator=gen)
    node = model.conditional("digit")
    order = np.asarray(model.net.variable("digit").order)
    W = node.W.detach().double().numpy()[:, 0, :]
    a = (node.c.detach().double().numpy() + node.U.weight.detach().double().numpy()[:, y.numpy()].T
         + x.reshape(7, -1).double().numpy()[:, order] @ W)
    feats = model.features({"digit": x, "label": y}, batch_size=3)
    assert feats.shape == (7, 4) and feats.dtype == torch.float32
    np.testing.assert_allclose(feats.numpy(), 1 / (1 + np.exp(-a)), rtol=1e-5)
    other = model.features({"digit": x, "label": (y + 1) % 3})
    assert not torch.allclose(feats, other)                 # the context is included
    with pytest.raises(DataError, match="'label'"):
        model.features({"digit": x})


def test_save_grid_and_class_grid_write_pngs(tmp_path):
    grid = make_grid(torch.zeros(10, 1, 2, 3), nrow=4, padding=1)
    assert grid.shape == (3 * 3 + 1, 4 * 4 + 1)
    assert grid[1:3, 1:4].max() == 0 and grid[0].min() == 0.5
    rgb = make_grid(np.ones((2, 3, 4, 4)), nrow=2, padding=0)
    assert rgb.shape == (4, 8, 3) and rgb.min() == 1.0
    out = save_grid(torch.rand(9, 1, 5, 5), tmp_path / "g.png", nrow=3)
    assert out.read_bytes()[:8] == PNG_MAGIC
    model = label_digit()
    cls = save_class_grid(model, tmp_path / "c.png", per_class=4, seed=0)
    assert cls.read_bytes()[:8] == PNG_MAGIC
    assert not list(tmp_path.glob(".*tmp"))                 # atomic writes leave nothing behind
    with pytest.raises(PgmArError, match="row labels"):
        save_grid(torch.rand(4, 1, 2, 2), tmp_path / "x.png", nrow=2, row_labels=["a"])
    with pytest.raises(PgmArError, match="C = 1 or 3"):
        save_grid(torch.rand(4, 2, 2, 2), tmp_path / "x.png")


def test_errors_name_the_variable_and_the_cure():
    net = BayesNet([Categorical("label", 3), Image("digit", shape=(1, 2, 3))],
                   [("label", "digit")])
    with pytest.raises(PgmArError, match="'digit'.*neural autoregressive.*nade"):
        compile(net)
    fv = compile(net, {"digit": "fvsbn"})
    with pytest.raises(PgmArError, match="no hidden representation"):
        fv.features({"digit": torch.zeros(2, 1, 2, 3), "label": torch.zeros(2).long()})
    model = label_digit()
    with pytest.raises(PgmArError, match="checkpoint_dir: only with a gradient fit"):
        model.fit({"digit": torch.zeros(2, 1, 2, 3), "label": torch.zeros(2).long()},
                  method="counts", checkpoint_dir="run")
    with pytest.raises(DataError, match="'digit'.*missing column"):
        model.fit({"label": torch.zeros(2).long()}, epochs=1, progress=False)
    with pytest.raises(DataError, match="validation"):
        model.fit({"digit": torch.zeros(2, 1, 2, 3), "label": torch.zeros(2).long()},
                  val={"digit": torch.full((2, 1, 2, 3), 0.5), "label": torch.zeros(2).long()},
                  epochs=1, progress=False)
    with pytest.raises(PgmArError, match="mask of shape"):
        model.complete((torch.zeros(2, 1, 2, 3), torch.zeros(2).long()),
                       torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(PgmArError, match="image variables"):
        compile(BayesNet([Categorical("a", 2)])).bits_per_dim({"a": [0, 1]})
