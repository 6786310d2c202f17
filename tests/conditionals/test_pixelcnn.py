"""PixelCNN, plain and gated: causality per pixel and channel, the plain blind spot, exact
normalisation, samples against the density, cached sampling against naive recomputation, and
the family through the public API."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import pgm_ar
from pgm_ar.conditionals.pixelcnn import PixelCNN
from pgm_ar.errors import PgmArError
from pgm_ar.variables import Categorical, Image

from .grid_checks import (assert_cached_equals_naive, assert_normalised, assert_samples_match,
                          assert_strictly_causal, context_reaches_every_step, randomize,
                          tiny_images)

IMAGES = tiny_images()
LABEL = Categorical("label", 3)


def _build(img, gated, parents=(), layers=2, channels=12, first_kernel=3, seed=0):
    fam = PixelCNN(channels=channels, layers=layers, kernel=3, first_kernel=first_kernel,
                   gated=gated)
    return randomize(fam.build(img, list(parents)), seed=seed).double().eval()


@pytest.mark.parametrize("gated", [False, True], ids=["plain", "gated"])
@pytest.mark.parametrize("image", list(IMAGES))
def test_strictly_causal_per_pixel_and_channel(image, gated):
    assert_strictly_causal(_build(IMAGES[image], gated, layers=3))


@pytest.mark.parametrize("gated", [False, True], ids=["plain", "gated"])
@pytest.mark.parametrize("image", ["binary3x3", "colour2x2"])
def test_normalised_with_and_without_label(image, gated):
    assert_normalised(_build(IMAGES[image], gated))
    assert_normalised(_build(IMAGES[image], gated, parents=[LABEL]), LABEL)


@pytest.mark.parametrize("gated", [False, True], ids=["plain", "gated"])
def test_normalised_three_levels(gated):
    assert_normalised(_build(IMAGES["levels3"], gated))


@pytest.mark.parametrize("gated", [False, True], ids=["plain", "gated"])
def test_samples_match_density(gated):
    img = Image("x", shape=(1, 2, 2))
    cond = randomize(PixelCNN(channels=6, layers=1, gated=gated).build(img, []), scale=0.7)
    assert_samples_match(cond.double())


@pytest.mark.parametrize("gated", [False, True], ids=["plain", "gated"])
@pytest.mark.parametrize("image", list(IMAGES) + ["wide"])
def test_cached_sampling_equals_naive(image, gated):
    img = IMAGES.get(image) or Image("x", shape=(1, 4, 5))
    assert_cached_equals_naive(_build(img, gated, layers=2))
    cond = _build(img, gated, parents=[LABEL])
    ctx = torch.nn.functional.one_hot(torch.arange(6) % 3, 3).double()
    assert_cached_equals_naive(cond, ctx=ctx)


@pytest.mark.parametrize("gated", [False, True], ids=["plain", "gated"])
def test_context_reaches_every_step(gated):
    context_reaches_every_step(_build(IMAGES["colour2x2"], gated, parents=[LABEL]), LABEL)


def _seen(cond, i, j):
    """Which pixels the output at (i, j) depends on, from the gradient (1-channel images)."""
    C, H, W = cond.image_shape
    x = torch.randint(2, (32, C, H, W)).double()
    x_ord = cond.to_ordered(x).requires_grad_(True)
    out = cond.ordered_params(x_ord, None)
    (g,) = torch.autograd.grad(out[:, i * W + j].sum(), x_ord)
    return (g.abs().amax(0) > 0).reshape(H, W).numpy()


def _plain_field(H, W, i, j, k0, layers, k):
    """The plain PixelCNN's receptive field derived from the masks' geometry alone: a mask-A
    k0 x k0 window, then `layers` mask-B k x k windows (independent of the module's code)."""
    def window(pi, pj, r, include_centre):
        out = set()
        for di in range(-r, 1):
            for dj in range(-r, r + 1):
                if di == 0 and (dj > 0 or (dj == 0 and not include_centre)):
                    continue
                if 0 <= pi + di < H and 0 <= pj + dj < W:
                    out.add((pi + di, pj + dj))
        return out
    reach = {(i, j)}          # positions of the current layer's map the output reads
    for _ in range(layers):
        reach = set().union(*(window(a, b, k // 2, True) for a, b in reach))
    field = set().union(*(window(a, b, k0 // 2, False) for a, b in reach))
    seen = np.zeros((H, W), dtype=bool)
    for a, b in field:
        seen[a, b] = True
    return seen


def test_plain_blind_spot_matches_mask_geometry_and_gated_has_none():
    img = Image("x", shape=(1, 7, 7))
    plain = _build(img, gated=False, layers=2, first_kernel=3)
    gated = _build(img, gated=True, layers=2, first_kernel=3)
    i, j = 4, 2
    seen = _seen(plain, i, j)
    np.testing.assert_array_equal(seen, _plain_field(7, 7, i, j, k0=3, layers=2, k=3))
    before = (np.arange(49) < i * 7 + j).reshape(7, 7)
    blind = before & ~seen
    assert blind[i - 1, j + 3], "the plain PixelCNN's blind spot: up and to the right"
    seen_g = _seen(gated, i, j)
    # the gated vertical stack sees every column within its reach in every row above: the
    # plain blind spot pixel is seen, and the seen region has no holes row by row
    assert seen_g[i - 1, j + 3]
    assert not (seen_g & ~before).any()


def test_parameter_count_and_bad_options():
    img = Image("x", shape=(3, 4, 4), levels=256)
    cond = PixelCNN(channels=6, layers=1).build(img, [])
    assert cond.num_parameters() == sum(p.numel() for p in cond.parameters())
    # head: 6 -> 6 -> 3 * 256 logits
    assert cond.head.out.weight.shape == (3 * 256, 6, 1, 1)
    with pytest.raises(PgmArError, match="colour groups"):
        PixelCNN(channels=2).build(img, [])
    with pytest.raises(PgmArError, match="odd kernel"):
        PixelCNN(kernel=4).build(img, [])
    with pytest.raises(PgmArError, match="layers"):
        PixelCNN(layers=-1).build(img, [])
    with pytest.raises(PgmArError, match="raster"):
        pgm_ar.compile(pgm_ar.BayesNet([Image("x", shape=(1, 3, 3), ordering="snake")], []),
                       {"x": "pixelcnn"})


def test_seeded_builds():
    img = Image("x", shape=(1, 4, 4))
    a = PixelCNN(channels=4, layers=1, seed=3).build(img, [LABEL])
    b = PixelCNN(channels=4, layers=1, seed=3).build(img, [LABEL])
    c = PixelCNN(channels=4, layers=1, seed=4).build(img, [LABEL])
    for (n, p), q, r in zip(a.named_parameters(), b.parameters(), c.parameters()):
        assert torch.equal(p, q), n
    assert any(not torch.equal(p, r) for p, r in zip(a.parameters(), c.parameters()))


@pytest.mark.parametrize("gated", [False, True], ids=["plain", "gated"])
def test_through_the_public_api(gated):
    label = Categorical("label", 2)
    img = Image("x", shape=(1, 5, 5))
    net = pgm_ar.BayesNet([label, img], [("label", "x")])
    model = pgm_ar.compile(net, {"x": {"family": "pixelcnn", "channels": 8, "layers": 1,
                                       "gated": gated}})
    gen = torch.Generator().manual_seed(0)
    # two classes: class 0 lights the top rows, class 1 the bottom rows
    y = torch.randint(2, (200,), generator=gen)
    rows = torch.arange(5)[None, :, None]
    probs = torch.where(((y[:, None, None] == 0) & (rows < 2)) | ((y[:, None, None] == 1)
                                                                     & (rows >= 3)), 0.9, 0.1)
    x = torch.bernoulli(probs.expand(200, 5, 5), generator=gen)[:, None]
    data = {"label": y, "x": x}
    before = -model.log_prob(data).mean().item()
    model.fit(data, method="train", epochs=15, batch_size=50, lr=0.01, seed=0, progress=False)
    after = -model.log_prob(data).mean().item()
    assert after < before - 3, (before, after)
    s = model.sample(100, evidence={"label": 1}, seed=1)
    imgs = torch.as_tensor(np.stack(list(s["x"])) if not torch.is_tensor(s["x"]) else s["x"])
    imgs = imgs.reshape(100, 5, 5).double()
    assert imgs[:, 3:].mean() > imgs[:, :2].mean() + 0.3
    bpd = model.bits_per_dim(data)
    assert torch.allclose(bpd, -model.log_prob(data) / (25 * np.log(2)), atol=1e-4)
    done = model.complete({"label": y[:4], "x": x[:4]},
                          mask=torch.arange(25).reshape(1, 5, 5) < 10)
    assert done.shape == (4, 1, 5, 5)
    assert torch.equal(done.reshape(4, 25)[:, :10].double(), x[:4].reshape(4, 25)[:, :10])
