"""Multi-level and colour images through the compiled-model API (compile, fit with the
training loop, log_prob, bits_per_dim, sample, complete, anomaly_score), with a grid family
(PixelCNN) and with NADE.  Checked against enumeration of every image and closed forms."""
from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
import torch

from pgm_ar import BayesNet, Categorical, Image, compile

FAMILIES = [{"family": "pixelcnn", "channels": 12, "layers": 1}, {"family": "nade", "hidden": 6}]
CASES = [((3, 1, 2), 3), ((1, 2, 3), 4), ((3, 1, 1), 8)]    # (shape, levels): <= 729 images


def model_for(shape, levels, family, k=2):
    net = BayesNet([Categorical("label", k), Image("img", shape=shape, levels=levels)],
                   [("label", "img")])
    return compile(net, {"img": family})


def every_image(shape, levels):
    d = int(np.prod(shape))
    return torch.tensor(list(itertools.product(range(levels), repeat=d))).reshape((-1,) + shape)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f["family"])
@pytest.mark.parametrize("shape, levels", CASES)
def test_fit_then_probabilities_sum_to_one_and_derived_scores(family, shape, levels):
    model = model_for(shape, levels, family)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.integers(0, levels, (40,) + shape).astype(np.uint8))
    y = torch.from_numpy(rng.integers(0, 2, 40))
    history = model.fit({"img": x, "label": y}, method="train", epochs=2, batch_size=10,
                        lr=0.01, progress=False, val={"img": x[:10], "label": y[:10]}, seed=0)
    assert len(history.train_nll) == 2 and all(math.isfinite(v) for v in history.val_nll)

    allx = every_image(shape, levels)
    for lab in (0, 1):  # sum_x p(x, label) = p(label), summed over every image
        lp = model.log_prob({"img": allx, "label": torch.full((len(allx),), lab)})
        prior = float(model.conditional("label").probs()[lab])
        assert abs(float(torch.logsumexp(lp, 0)) - math.log(prior)) < 1e-4
    marginal = model.log_prob({"img": allx})                  # label summed out
    assert abs(float(torch.logsumexp(marginal, 0))) < 1e-4

    # uint8 and int64 inputs score the same; bits/dim and anomaly scores are closed forms
    lp8 = model.log_prob({"img": x})
    assert torch.allclose(lp8, model.log_prob({"img": x.long()}), atol=1e-6)
    d = int(np.prod(shape))
    assert torch.allclose(model.bits_per_dim({"img": x}), -lp8 / (d * math.log(2)), atol=1e-9)
    assert torch.allclose(model.anomaly_score({"img": x}), -lp8, atol=1e-9)

    s = model.sample(30, seed=3, as_tensors=True)
    assert s["img"].shape == (30,) + shape and s["img"].dtype == torch.int64
    assert int(s["img"].min()) >= 0 and int(s["img"].max()) <= levels - 1
    assert torch.equal(model.sample(30, seed=3, as_tensors=True)["img"], s["img"])

    mask = torch.zeros(shape, dtype=torch.bool)
    order = torch.as_tensor(model.net.variable("img").order)   # flat (C, H, W) index per step
    mask.reshape(-1)[order[: d // 2]] = True                   # the first values visited
    with warnings.catch_warnings():
        warnings.simplefilter("error")                         # observed-first: exact, no warning
        done = model.complete({"img": x[:5], "label": y[:5]}, mask, seed=0)
    assert done.shape == (5,) + shape
    assert torch.equal(done[:, mask], x[:5].long()[:, mask])
    assert int(done.min()) >= 0 and int(done.max()) <= levels - 1


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f["family"])
def test_out_of_range_values_are_refused_naming_the_image(family):
    model = model_for((3, 1, 2), 4, family)
    bad = torch.full((2, 3, 1, 2), 4, dtype=torch.uint8)
    with pytest.raises(Exception, match=r"img.*0\.\.3|0\.\.3.*img"):
        model.log_prob({"img": bad})
    with pytest.raises(Exception, match=r"0\.\.3"):
        model.fit({"img": bad, "label": torch.zeros(2, dtype=torch.long)}, method="train",
                  epochs=1, progress=False)
