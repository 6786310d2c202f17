"""Row LSTM: strict causality, the triangular context against a rule derived from the
architecture, exact normalisation, samples, cached sampling and inpainting against naive
recomputation, the family through the public API, and option errors."""
from __future__ import annotations

import math
from functools import lru_cache

import pytest
import torch

from pgm_ar import BayesNet, Categorical, Image, compile
from pgm_ar.conditionals.base import family_from_spec
from pgm_ar.conditionals.rowlstm import RowLSTM, RowLSTMConditional
from pgm_ar.errors import PgmArError

from .grid_checks import (assert_cached_equals_naive, assert_cached_steps_match_full_pass,
                          assert_completion_equals_naive, assert_normalised,
                          assert_samples_match, assert_strictly_causal,
                          context_reaches_every_step, jacobian, randomize, tiny_images)


def build(img, parents=(), seed=0, **opts):
    opts = {"hidden": 6, "layers": 2, "first_kernel": 3, **opts}
    return randomize(RowLSTM(**opts).build(img, list(parents)), seed=seed).double()


def one_hot_ctx(n, k=3):
    return torch.nn.functional.one_hot(torch.arange(n) % k, k).double()


# ---------------------------------------------------------------- causality and context
@pytest.mark.parametrize("name", ["binary3x3", "colour2x2", "levels3"])
@pytest.mark.parametrize("layers", [0, 1, 2])
def test_strictly_causal(name, layers):
    cond = build(tiny_images()[name], layers=layers)
    assert_strictly_causal(cond)


def test_strictly_causal_with_wider_kernels_and_context():
    img = Image("x", shape=(3, 3, 4), levels=2)
    label = Categorical("label", 3)
    cond = build(img, [label], kernel=5, first_kernel=5, hidden=9)
    assert_strictly_causal(cond, ctx=one_hot_ctx(16))
    context_reaches_every_step(cond, label)


def expected_context(H, W, first_kernel, kernel, layers):
    """The pixels each output may depend on (one colour channel), by the architecture's rules.

    ``u_0(i, j)``: the mask-A ``k0 x k0`` window, the pixels before ``(i, j)`` in it;
    ``h_l(i, j)``: ``u_{l-1}`` at ``(i, j-r..j)`` and ``h_l`` (and ``c_l``, whose dependence
    is ``h_l``'s) of the row above at ``j-r..j+r``; ``u_l = u_{l-1} + h_l``.
    """
    r0, r = first_kernel // 2, kernel // 2

    def cols(lo, hi):
        return range(max(lo, 0), min(hi, W - 1) + 1)

    @lru_cache(maxsize=None)
    def u(l, i, j):
        if l == 0:
            return frozenset((a, b) for a in range(max(i - r0, 0), i + 1)
                             for b in cols(j - r0, j + r0) if (a, b) < (i, j))
        return u(l - 1, i, j) | h(l, i, j)

    @lru_cache(maxsize=None)
    def h(l, i, j):
        out = set()
        for b in cols(j - r, j):
            out |= u(l - 1, i, b)
        if i > 0:
            for b in cols(j - r, j + r):
                out |= h(l, i - 1, b)
        return frozenset(out)

    return {(i, j): u(layers, i, j) for i in range(H) for j in range(W)}


def seen_pixels(cond):
    """``{output pixel: set of input pixels with a nonzero gradient}`` (one colour channel)."""
    _, H, W = cond.image_shape
    J = jacobian(cond, torch.randint(2, (16, 1, H, W), generator=torch.Generator().manual_seed(3))
                 .double())
    return {divmod(t, W): {divmod(int(s), W) for s in torch.nonzero(J[t])[:, 0]}
            for t in range(H * W)}


@pytest.mark.parametrize("layers,first_kernel,kernel", [(1, 3, 3), (2, 3, 3), (1, 5, 3),
                                                        (2, 3, 5), (0, 3, 3)])
def test_context_is_the_triangle_the_architecture_predicts(layers, first_kernel, kernel):
    img = Image("x", shape=(1, 7, 7))
    cond = build(img, layers=layers, first_kernel=first_kernel, kernel=kernel)
    want = expected_context(7, 7, first_kernel, kernel, layers)
    got = seen_pixels(cond)
    for pix in want:
        assert got[pix] == set(want[pix]), (pix, sorted(got[pix] ^ want[pix]))


def test_triangle_by_hand():
    """From the bottom-middle pixel (6, 3), one layer, 3x3 first kernel: its own row only
    within reach of the kernels, the row above only up to column 4; a pixel that sees every
    earlier pixel (the Diagonal BiLSTM) would see all of these."""
    img = Image("x", shape=(1, 7, 7))
    got = seen_pixels(build(img, layers=1))[(6, 3)]
    assert {(6, 1), (6, 2), (5, 0), (5, 4), (4, 5), (3, 6), (0, 6)} <= got
    assert not got & {(6, 0), (5, 5), (5, 6), (4, 6)}
    # two layers reach one more column to the left in the own row
    assert (6, 0) in seen_pixels(build(img, layers=2))[(6, 3)]
    # a wide image: the far upper-right corner is outside the bottom-left pixel's triangle
    wide = seen_pixels(build(Image("x", shape=(1, 4, 12)), layers=2))[(3, 0)]
    assert (0, 11) not in wide and (2, 1) in wide and (0, 3) in wide


# ------------------------------------------------------------------ exact probabilities
@pytest.mark.parametrize("name", ["binary3x3", "colour2x2"])
@pytest.mark.parametrize("with_label", [False, True])
def test_normalised_by_enumeration(name, with_label):
    label = Categorical("label", 3) if with_label else None
    cond = build(tiny_images()[name], [label] if label else [], hidden=6, layers=2)
    assert_normalised(cond, label, tol=1e-9)


def test_samples_match_probabilities():
    cond = build(Image("x", shape=(1, 2, 2)), layers=1)
    assert_samples_match(cond, n=20000)


# ----------------------------------------------------------------------------- sampling
@pytest.mark.parametrize("name", ["binary3x3", "colour2x2", "levels3"])
@pytest.mark.parametrize("with_label", [False, True])
def test_cached_sampling_equals_naive(name, with_label):
    img = tiny_images()[name]
    parents = [Categorical("label", 3)] if with_label else []
    cond = build(img, parents, layers=2)
    ctx = one_hot_ctx(8) if with_label else None
    assert_cached_equals_naive(cond, n=8, ctx=ctx)
    torch.manual_seed(1)
    assert_cached_steps_match_full_pass(cond, cond.run_sequential(ctx, 8), ctx=ctx)


def test_cached_sampling_equals_naive_on_a_wider_image():
    cond = build(Image("x", shape=(3, 4, 5), levels=2), [Categorical("label", 3)], hidden=9,
                 kernel=5)
    assert_cached_equals_naive(cond, n=4, ctx=one_hot_ctx(4))
    torch.manual_seed(1)
    assert_cached_steps_match_full_pass(cond, cond.run_sequential(one_hot_ctx(4), 4),
                                        ctx=one_hot_ctx(4))


def test_sampling_never_runs_a_full_pass_and_visits_each_value_once():
    img = Image("x", shape=(3, 3, 4), levels=4)
    cond = build(img, hidden=6)
    calls = {"full": 0, "at": 0, "rows": 0}
    full, at, start_row = cond.feature_map, cond.features_at, cond._start_row

    def count(key, f):
        def wrapped(*a):
            calls[key] += 1
            return f(*a)
        return wrapped

    cond.feature_map = count("full", full)
    cond.features_at = count("at", at)
    cond._start_row = count("rows", start_row)
    x = cond({}, batch_size=5).sample()
    assert x.shape == (5, 3, 3, 4) and x.dtype == torch.long
    assert calls == {"full": 0, "at": cond.num_values, "rows": 3}


@pytest.mark.parametrize("name", ["binary3x3", "colour2x2", "levels3"])
def test_cached_completion_equals_naive(name):
    """Observed values skip their steps in the cached sampler; the recurrent states of those
    pixels are still computed (whole observed rows, a lone observed pixel, a lone channel)."""
    img = tiny_images()[name]
    cond = build(img, [Categorical("label", 3)])
    C, H, W = img.shape
    masks = [torch.zeros(C, H, W, dtype=torch.bool) for _ in range(3)]
    masks[0][:, 0] = True                 # the top row
    masks[1][:, 1, 0] = True              # one pixel in the middle
    masks[2][-1, 0, 1] = True             # the last channel of one pixel
    masks[2][:, 1, 1] = True
    for mask in masks:
        assert_completion_equals_naive(cond, mask, n=8, ctx=one_hot_ctx(8))


def test_complete_keeps_observed_pixels():
    img = Image("x", shape=(1, 4, 4))
    cond = build(img).float()
    x = torch.bernoulli(torch.full((10, 1, 4, 4), 0.5))
    mask = torch.zeros(1, 4, 4, dtype=torch.bool)
    mask[:, :2] = True
    out = cond({}, batch_size=10).complete(x, mask)
    assert out.shape == x.shape and torch.equal(out[:, :, :2], x[:, :, :2])
    assert set(out.unique().tolist()) <= {0.0, 1.0}


# ------------------------------------------------------------------- module and family
def test_features_shape_and_context():
    img = Image("x", shape=(1, 3, 4))
    cond = build(img, [Categorical("label", 3)], hidden=7)
    x = torch.bernoulli(torch.full((5, 1, 3, 4), 0.5)).double()
    lab = torch.tensor([0, 1, 2, 0, 1])
    f = cond({"label": lab}).features(x)
    assert f.shape == (5, 7)
    assert not torch.allclose(f, cond({"label": (lab + 1) % 3}).features(x))


def test_parameter_count_closed_form():
    for C, levels, K, Fw, L, k0, k in [(1, 2, 0, 5, 2, 7, 3), (3, 2, 3, 6, 1, 3, 5),
                                       (3, 4, 2, 9, 3, 5, 3)]:
        img = Image("x", shape=(C, 4, 4), levels=levels)
        parents = [Categorical("label", K)] if K else []
        cond = RowLSTM(hidden=Fw, layers=L, first_kernel=k0, kernel=k).build(img, parents)
        O = 1 if levels == 2 else levels
        r = k // 2
        want = (Fw * (C * k0 * k0 + 1) + K * Fw                         # first layer, context
                + L * (4 * Fw * (Fw * (r + 1) + Fw * k + 1) + K * 4 * Fw)  # Row LSTM layers
                + Fw * Fw + Fw + Fw * C * O + C * O)                     # output head
        assert cond.num_parameters() == want


def test_same_seed_same_weights_other_seed_other_weights():
    img, label = Image("x", shape=(3, 3, 3)), Categorical("label", 3)
    torch.manual_seed(0)
    a = RowLSTM(hidden=6, seed=4).build(img, [label]).state_dict()
    torch.manual_seed(99)  # the global generator must not matter
    b = RowLSTM(hidden=6, seed=4).build(img, [label]).state_dict()
    c = RowLSTM(hidden=6, seed=5).build(img, [label]).state_dict()
    assert a.keys() == b.keys() == c.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not any(torch.equal(a[k], c[k]) for k in a)


def test_spec_round_trip():
    fam = family_from_spec({"family": "rowlstm", "hidden": 16, "layers": 3})
    assert fam == RowLSTM(hidden=16, layers=3)
    assert family_from_spec(fam.to_spec()) == fam
    assert isinstance(fam.build(Image("x", shape=(1, 3, 3)), []), RowLSTMConditional)


def test_bad_options_name_the_option():
    img = Image("x", shape=(3, 4, 4))
    with pytest.raises(PgmArError, match="hidden"):
        RowLSTM(hidden=2).build(img, [])
    with pytest.raises(PgmArError, match="first_kernel"):
        RowLSTM(first_kernel=4).build(img, [])
    with pytest.raises(PgmArError, match="kernel"):
        RowLSTM(kernel=2).build(img, [])
    with pytest.raises(PgmArError, match="layers"):
        RowLSTM(layers=-1).build(img, [])
    snake = Image("x", shape=(1, 4, 4), ordering="snake")
    with pytest.raises(PgmArError, match="ordering.*raster"):
        RowLSTM().build(snake, [])
    assert "raster" in RowLSTM().supports(snake, [])
    assert RowLSTM().supports(Image("x", shape=(1, 4, 4)), []) is None
    with pytest.raises(PgmArError, match="discrete"):
        RowLSTM().build(Image("x", shape=(1, 4, 4), levels=None), [])
    with pytest.raises(PgmArError, match="bad options.*rowlstm"):
        family_from_spec({"family": "rowlstm", "hiden": 8})


# ------------------------------------------------------------------- the public API
def synthetic(n=120):
    """Three labels, each deciding one fixed 2x3 image."""
    patterns = torch.tensor([[[1, 1, 1], [0, 0, 0]], [[0, 1, 0], [1, 0, 1]],
                             [[1, 0, 0], [1, 1, 0]]], dtype=torch.float32).unsqueeze(1)
    y = torch.arange(n) % 3
    return patterns, patterns[y], y


def label_digit():
    net = BayesNet([Categorical("label", 3), Image("digit", shape=(1, 2, 3))],
                   [("label", "digit")])
    return compile(net, {"digit": {"family": "rowlstm", "hidden": 8, "layers": 1,
                                   "first_kernel": 3}})


def test_compiled_network_probabilities_sampling_and_fit():
    model = label_digit()
    assert isinstance(model.conditional("digit"), RowLSTMConditional)
    # every 2x3 image under each label: the probabilities sum to the label's prior
    imgs = torch.tensor([[(c >> s) & 1 for s in range(6)] for c in range(64)],
                        dtype=torch.float32).reshape(64, 1, 2, 3)
    prior = model.conditional("label").probs()
    joint = torch.stack([model.log_prob({"digit": imgs, "label": torch.full((64,), lab)}).exp()
                         for lab in range(3)])
    torch.testing.assert_close(joint.sum(1), prior.to(joint.dtype), rtol=1e-5, atol=1e-6)
    # the label summed out by enumeration
    torch.testing.assert_close(model.log_prob({"digit": imgs}), joint.sum(0).log(),
                               rtol=1e-5, atol=1e-5)

    patterns, x, y = synthetic()
    data = {"digit": x, "label": y}
    before = float(-model.log_prob(data).mean())
    history = model.fit(data, epochs=8, batch_size=40, lr=0.05, device="cpu", progress=False,
                        lr_schedule=None)
    after = float(-model.log_prob(data).mean())
    assert history.train_nll[-1] < history.train_nll[0] and after < before - 2.0

    for lab in range(3):
        df = model.sample(30, evidence={"label": lab}, seed=lab)
        assert (df["label"] == str(lab)).all()
        got = torch.stack(list(df["digit"]))
        assert got.shape == (30, 1, 2, 3)
        assert float((got == patterns[lab]).all(dim=(1, 2, 3)).float().mean()) >= 0.8
    a = model.sample(5, evidence={"label": "1"}, seed=0, as_tensors=True)
    b = model.sample(5, evidence={"label": "1"}, seed=0, as_tensors=True)
    assert torch.equal(a["digit"], b["digit"]) and a["label"].tolist() == [1] * 5
    # inpainting the bottom row from the top row and the label
    mask = torch.zeros(1, 2, 3, dtype=torch.bool)
    mask[:, 0] = True
    done = model.complete((patterns, torch.arange(3)), mask, seed=0)
    assert torch.equal(done[:, :, 0], patterns[:, :, 0])
    assert math.isfinite(float(model.bits_per_dim((x, y)).mean()))
    assert model.features({"digit": x, "label": y}).shape == (len(x), 8)
