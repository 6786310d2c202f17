"""Diagonal BiLSTM: causality by autograd (and that the check catches a missing down-shift or a
wrong mirror), full context, exact normalisation, samples, cached sampling and inpainting
against naive recomputation, the public API, options."""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch

from pgm_ar import BayesNet, Categorical, Image, compile
from pgm_ar.conditionals import diagbilstm as dbl
from pgm_ar.conditionals import family_from_spec
from pgm_ar.conditionals.autoregressive import ApproximateCompletionWarning
from pgm_ar.conditionals.diagbilstm import DiagonalBiLSTM
from pgm_ar.conditionals.pixelcnn import PixelCNN
from pgm_ar.errors import PgmArError

from . import grid_checks as gc

LABEL = Categorical("label", 3)


def build(img, parents=(), hidden=12, layers=2, first_kernel=3, seed=0, scale=0.5):
    """A float64 module with random (not initial) weights, so every allowed path shows."""
    fam = DiagonalBiLSTM(hidden=hidden, layers=layers, first_kernel=first_kernel)
    return gc.randomize(fam.build(img, list(parents)), seed=seed, scale=scale).double()


def label_ctx(n, k=3):
    return torch.nn.functional.one_hot(torch.arange(n) % k, k).to(torch.float64)


CAUSAL_IMAGES = {
    **gc.tiny_images(),
    "binary4x4": Image("x", shape=(1, 4, 4)),
    "binary3x5": Image("x", shape=(1, 3, 5)),      # H != W: the skew's geometry
    "binary4x2": Image("x", shape=(1, 4, 2)),
}


# ------------------------------------------------------------------------ geometry
def test_skew_moves_row_i_right_by_i_and_unskew_inverts_it():
    m = torch.randn(2, 3, 4, 5)
    s = dbl.skew(m)
    assert s.shape == (2, 3, 4, 8)
    expect = torch.zeros_like(s)
    for i, j in itertools.product(range(4), range(5)):
        expect[:, :, i, i + j] = m[:, :, i, j]
    assert torch.equal(s, expect)
    assert torch.equal(dbl.unskew(s, 5), m)


def test_parameter_count_closed_form():
    for shape, levels, hidden, layers, k0, parents in [((1, 5, 5), 2, 8, 3, 5, []),
                                                       ((3, 4, 4), 4, 9, 2, 3, [LABEL])]:
        cond = DiagonalBiLSTM(hidden=hidden, layers=layers, first_kernel=k0).build(
            Image("x", shape=shape, levels=levels), parents)
        C, Fh, K = shape[0], hidden, 3 if parents else 0
        out = C * (1 if levels == 2 else levels)
        expect = (Fh * (C * k0 * k0 + 1) + K * Fh                      # first layer, context
                  + layers * 2 * (4 * Fh * Fh + 4 * Fh + 8 * Fh * Fh + K * 4 * Fh)
                  + 4 * Fh * C                                          # K^x
                  + (Fh * Fh + Fh) + (Fh * out + out))                  # head
        assert cond.num_parameters() == expect


# ------------------------------------------------------------------------ causality
@pytest.mark.parametrize("name", sorted(CAUSAL_IMAGES))
def test_strictly_causal_with_two_layers(name):
    img = CAUSAL_IMAGES[name]
    gc.assert_strictly_causal(build(img, layers=2))


def test_strictly_causal_with_a_label_context():
    cond = build(Image("x", shape=(3, 2, 3)), [LABEL])
    gc.assert_strictly_causal(cond, ctx=label_ctx(16))
    gc.context_reaches_every_step(cond, LABEL)


@pytest.mark.parametrize("name", ["binary3x3", "colour2x2"])
def test_the_causality_check_catches_a_missing_down_shift(name, monkeypatch):
    """Adding the right-to-left output unshifted lets (i, j) see the rest of row i."""
    cond = build(gc.tiny_images()[name])
    monkeypatch.setattr(dbl, "shift_down", lambda m: m)
    with pytest.raises(AssertionError, match="sees step"):
        gc.assert_strictly_causal(cond)


def test_the_causality_check_catches_a_mirror_along_the_wrong_axis(monkeypatch):
    cond = build(Image("x", shape=(1, 3, 3)))
    monkeypatch.setattr(dbl, "mirror", lambda m: m.flip(2))      # rows instead of columns
    with pytest.raises(AssertionError, match="sees step"):
        gc.assert_strictly_causal(cond)


def test_every_earlier_pixel_is_in_the_context():
    """One layer already sees everything before (i, j); PixelCNN of equal depth does not."""
    img = Image("x", shape=(1, 5, 5))
    cond = build(img, layers=1, first_kernel=3)
    J = gc.assert_strictly_causal(cond)
    D = img.num_pixels
    for t in range(1, D):
        assert bool((J[t, :t] > 0).all()), f"pixel {divmod(t, 5)} misses {(J[t, :t] == 0).nonzero()}"
    # e.g. (i, 0) sees (0, W - 1) for i >= 1: the right-to-left pass carries it
    pcnn = gc.randomize(PixelCNN(channels=6, layers=1, first_kernel=3).build(img, [])).double()
    Jp = gc.jacobian(pcnn, torch.randint(2, (8, 1, 5, 5)).double())
    assert J[4 * 5, 4] > 0 and Jp[4 * 5, 4] == 0
    # the last pixel of a row reaches the start of the next row only through K^x
    with torch.no_grad():
        cond.layers[0].image_to_state.zero_()
    J0 = gc.jacobian(cond, torch.randint(2, (8, 1, 5, 5)).double())
    assert J0[1 * 5 + 0, 4] == 0 and J0[1 * 5 + 3, 4] > 0
    # colour: every channel of every earlier pixel, and the earlier channels of its own
    Jc = gc.assert_strictly_causal(build(Image("x", shape=(3, 3, 3)), layers=2))
    for t in range(1, 27):
        assert bool((Jc[t, :t] > 0).all()), f"step {t} misses {(Jc[t, :t] == 0).nonzero()}"


# ------------------------------------------------------------------------ the density
@pytest.mark.parametrize("name", ["binary3x3", "colour2x2"])
@pytest.mark.parametrize("with_label", [False, True])
def test_probabilities_sum_to_one(name, with_label):
    img = gc.tiny_images()[name]
    parents = [LABEL] if with_label else []
    gc.assert_normalised(build(img, parents, hidden=6, scale=0.8),
                         LABEL if with_label else None, tol=1e-9)


def test_normalised_with_three_levels():
    gc.assert_normalised(build(gc.tiny_images()["levels3"], [LABEL]), LABEL, tol=1e-9)


@pytest.mark.parametrize("levels", [2, 3])
def test_samples_follow_the_probabilities(levels):
    gc.assert_samples_match(build(Image("x", shape=(1, 2, 2), levels=levels), scale=0.8),
                            n=20000)


# ------------------------------------------------------------------------ incremental form
CACHE_IMAGES = {"binary": Image("x", shape=(1, 3, 4)),
                "colour": Image("x", shape=(3, 3, 2)),
                "levels3": Image("x", shape=(1, 4, 3), levels=3)}


@pytest.mark.parametrize("name", sorted(CACHE_IMAGES))
def test_step_logits_equal_the_one_pass_logits(name):
    """Feeding a fixed image through start/step/advance gives the one-pass logits."""
    img = CACHE_IMAGES[name]
    cond = build(img, [LABEL], scale=0.8)
    n, ctx = 5, label_ctx(5)
    x = torch.randint(img.levels, (n, cond.num_values)).double()
    one_pass = cond.ordered_params(x, ctx)
    state, steps = cond.start(ctx, n), []
    for t in range(cond.num_values):
        steps.append(cond.step(state, t))
        state = cond.advance(state, t, x[:, t])
    torch.testing.assert_close(torch.stack(steps, 1), one_pass, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CACHE_IMAGES))
@pytest.mark.parametrize("with_label", [False, True])
def test_cached_sampling_equals_naive_sampling(name, with_label):
    img = CACHE_IMAGES[name]
    cond = build(img, [LABEL] if with_label else [], scale=0.8)
    gc.assert_cached_equals_naive(cond, n=6, ctx=label_ctx(6) if with_label else None)


def naive_completion(cond, x_ord, m_ord, ctx=None):
    """Clamped sampling by a full pass before every missing value (no cache)."""
    out = x_ord.clone().to(torch.float64)
    with torch.no_grad():
        for t in range(cond.num_values):
            if bool(m_ord[:, t].all()):
                continue
            v = cond.sample_step(cond.ordered_params(out, ctx)[:, t])
            out[:, t] = torch.where(m_ord[:, t], x_ord[:, t].to(out.dtype), v)
    return out


@pytest.mark.parametrize("shape", [(1, 4, 4), (3, 3, 3)])
def test_cached_completion_equals_naive_completion(shape):
    """Values observed for the whole batch skip ``step``: the cache must still see them."""
    cond = build(Image("x", shape=shape), [LABEL], scale=1.0)
    n, D = 8, cond.num_values
    gen = torch.Generator().manual_seed(3)
    x = torch.randint(2, (n, D), generator=gen).double()
    m = torch.zeros(n, D, dtype=torch.bool)
    m[:, :D // 2] = True                           # the top half, for every row
    m[::2, D // 2 + 1] = True                      # a value observed in some rows only
    if shape[0] == 3:
        m[:, 1::3] = True                          # every G value: pixels half observed
    ctx = label_ctx(n)
    torch.manual_seed(0)
    cached = cond.run_sequential(ctx, n, observed=x, observed_mask=m)
    torch.manual_seed(0)
    assert torch.equal(cached, naive_completion(cond, x, m, ctx))
    assert torch.equal(cached[m], x[m])


def test_complete_keeps_observed_pixels_and_warns_when_they_come_later():
    cond = build(Image("x", shape=(1, 3, 3)))
    d = cond({}, batch_size=4)
    x = torch.randint(2, (4, 1, 3, 3)).double()
    mask = torch.zeros(1, 3, 3, dtype=torch.bool)
    mask[:, 0] = True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        done = d.complete(x, mask)
    assert torch.equal(done[:, :, 0], x[:, :, 0])
    with pytest.warns(ApproximateCompletionWarning):
        d.complete(x, ~mask)


def test_features_and_seeding():
    img = Image("x", shape=(3, 4, 4))
    cond = DiagonalBiLSTM(hidden=9, layers=2).build(img, [LABEL])
    x = torch.randint(2, (5, 3, 4, 4)).float()
    f = cond({"label": torch.arange(5) % 3}).features(x)
    assert f.shape == (5, 9)
    assert cond.feature_map(cond.encode_image(x), label_ctx(5).float()).shape == (5, 9, 4, 4)
    same = DiagonalBiLSTM(hidden=9, layers=2).build(img, [LABEL])
    other = DiagonalBiLSTM(hidden=9, layers=2, seed=1).build(img, [LABEL])
    a, b, c = (dict(m.named_parameters()) for m in (cond, same, other))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not any(torch.equal(a[k], c[k]) for k in a if a[k].numel() > 1)


# ------------------------------------------------------------------------ public API
def label_image(shape=(1, 2, 3), hidden=8, layers=1):
    net = BayesNet([Categorical("label", 3), Image("x", shape=shape)], [("label", "x")])
    return compile(net, {"x": {"family": "diagbilstm", "hidden": hidden, "layers": layers}})


def all_images(shape):
    d = int(np.prod(shape))
    return torch.tensor(list(itertools.product([0, 1], repeat=d)),
                        dtype=torch.float32).reshape((-1,) + tuple(shape))


def test_compiled_log_prob_sums_to_the_label_prior():
    model = label_image()
    assert isinstance(model.conditional("x"), dbl.DiagonalBiLSTMConditional)
    gc.randomize(model.conditional("x"), scale=0.8)
    with torch.no_grad():
        model.conditional("label").set_probs(torch.tensor([0.2, 0.3, 0.5]))
    imgs = all_images((1, 2, 3))
    for lab, prior in enumerate([0.2, 0.3, 0.5]):
        lp = model.log_prob({"x": imgs, "label": torch.full((len(imgs),), lab)})
        assert lp.shape == (64,)
        np.testing.assert_allclose(lp.exp().sum().item(), prior, rtol=1e-5)
    marginal = model.log_prob({"x": imgs})                 # the label summed out
    np.testing.assert_allclose(marginal.exp().sum().item(), 1.0, rtol=1e-5)


def test_fit_lowers_the_nll_and_sampling_follows_the_label():
    patterns = torch.tensor([[[1, 1, 1], [0, 0, 0]], [[0, 1, 0], [1, 0, 1]],
                             [[1, 0, 0], [1, 1, 0]]], dtype=torch.float32).unsqueeze(1)
    y = torch.arange(120) % 3
    x = patterns[y]
    model = label_image(hidden=8, layers=1)
    before = float(-model.log_prob((x, y)).mean())
    history = model.fit({"x": x, "label": y}, epochs=15, batch_size=60, lr=0.1, device="cpu",
                        progress=False, lr_schedule=None)
    after = float(-model.log_prob((x, y)).mean())
    assert history.train_nll[-1] < history.train_nll[0] and after < before - 2.0
    assert after < np.log(3) + 0.2            # the label prior's entropy is all that is left
    for lab in range(3):
        out = model.sample(20, evidence={"label": lab}, seed=lab, as_tensors=True)
        assert out["x"].shape == (20, 1, 2, 3) and out["label"].tolist() == [lab] * 20
        hit = (out["x"] == patterns[lab]).all(dim=(1, 2, 3)).float().mean()
        assert float(hit) >= 0.9, (lab, float(hit))
    again = model.sample(20, evidence={"label": 2}, seed=2, as_tensors=True)
    first = model.sample(20, evidence={"label": 2}, seed=2, as_tensors=True)
    other = model.sample(20, evidence={"label": 2}, seed=3, as_tensors=True)
    assert torch.equal(again["x"], first["x"])
    df = model.sample(5, seed=0)
    assert len(df) == 5 and set(df.columns) == {"label", "x"}
    assert other["x"].shape == again["x"].shape


def test_different_seeds_sample_differently():
    model = label_image(shape=(1, 4, 4), hidden=6)
    gc.randomize(model.conditional("x"), scale=0.3)
    a = model.sample(30, seed=0, as_tensors=True)["x"]
    b = model.sample(30, seed=1, as_tensors=True)["x"]
    assert not torch.equal(a, b)


# ------------------------------------------------------------------------ options
@pytest.mark.parametrize("opts, option", [({"hidden": 0}, "hidden"), ({"layers": 0}, "layers"),
                                          ({"hidden": 2.5}, "hidden"),
                                          ({"first_kernel": 4}, "first_kernel"),
                                          ({"first_kernel": "7"}, "first_kernel"),
                                          ({"seed": "x"}, "seed"),
                                          ({"kernel": 3}, "kernel")])
def test_bad_options_name_the_option(opts, option):
    with pytest.raises(PgmArError, match=option):
        family_from_spec({"family": "diagbilstm", **opts})


def test_images_it_cannot_model():
    fam = family_from_spec({"family": "diagbilstm", "hidden": 2})
    with pytest.raises(PgmArError, match="colour groups"):
        fam.build(Image("x", shape=(3, 2, 2)), [])
    reason = fam.supports(Image("x", shape=(1, 3, 3), ordering="snake"), [])
    assert reason is not None and "raster" in reason
    assert fam.supports(Image("x", shape=(1, 3, 3), levels=None), []) is not None
    assert family_from_spec({"family": "diagbilstm"}) == DiagonalBiLSTM(hidden=16, layers=2)
