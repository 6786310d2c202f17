"""The context of one pixel: which inputs an autoregressive image model's output depends on.

Expectations are computed independently of :mod:`pgm_ar.draw.context`: PixelCNN's receptive
field by walking its mask geometry back through the layers, NADE's context from the declared
ordering, the full Jacobian by torch's own ``jacobian``, and a deliberately broken model for
the "future" category.
"""
from __future__ import annotations

import itertools
import struct
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch

from pgm_ar.cli import main
from pgm_ar.model import compile
from pgm_ar.conditionals.base import Conditional, Family, family_from_spec
from pgm_ar.conditionals.nade import NADE, NADEConditional
from pgm_ar.conditionals.pixelcnn import PixelCNN
from pgm_ar.draw.context import (Category, context_dependence, context_figure, draw_context,
                                 render_context)
from pgm_ar.errors import PgmArError
from pgm_ar.network import BayesNet
from pgm_ar.variables import Categorical, Image


# -- independent expectations ---------------------------------------------------------------
def causal_offsets(k: int, include_centre: bool) -> set:
    """Offsets ``(dr, dc)`` a square causal kernel of size ``k`` reads (mask A or B)."""
    h = k // 2
    out = {(dr, dc) for dr in range(-h, 0) for dc in range(-h, h + 1)}
    out |= {(0, dc) for dc in range(-h, 0)}
    if include_centre:
        out.add((0, 0))
    return out


def plain_pixelcnn_context(H: int, W: int, target, first_kernel: int, kernel: int,
                           layers: int) -> set:
    """Input pixels a plain (one-channel) PixelCNN's output at ``target`` can reach: walk back
    from the output through the 1x1 head, ``layers`` residual mask-B layers and the mask-A
    layer, keeping only positions inside the image (feature maps exist only there)."""
    inside = lambda p: 0 <= p[0] < H and 0 <= p[1] < W
    frontier = {tuple(target)}
    for _ in range(layers):  # h_l = h_{l-1} + conv_B(relu(h_{l-1})): B holds the centre too
        frontier = {(r + dr, c + dc) for r, c in frontier
                    for dr, dc in causal_offsets(kernel, True) if inside((r + dr, c + dc))}
    return {(r + dr, c + dc) for r, c in frontier
            for dr, dc in causal_offsets(first_kernel, False) if inside((r + dr, c + dc))}


def steps_of(image: Image) -> np.ndarray:
    """``(C, H, W)`` 0-based visiting step of every value, from the declared order."""
    steps = np.empty(image.num_pixels, dtype=np.int64)
    steps[np.asarray(image.order)] = np.arange(image.num_pixels)
    return steps.reshape(image.shape)


def build(spec, image, parents=()):
    return family_from_spec(spec).build(image, list(parents))


PLAIN = {"family": "pixelcnn", "channels": 12, "layers": 2, "kernel": 3, "first_kernel": 3}
GATED = dict(PLAIN, gated=True, layers=3)


# -- PixelCNN: the blind spot ----------------------------------------------------------------
def test_plain_pixelcnn_context_is_its_mask_geometry():
    H = W = 7
    cond = build(PLAIN, Image("x", shape=(1, H, W)))
    blind_somewhere = False
    for i, j in itertools.product(range(H), range(W)):
        dep = context_dependence(cond, (i, j))
        seen = {tuple(p) for p in np.argwhere(dep.mask(Category.DEPENDS)[0])}
        assert seen == plain_pixelcnn_context(H, W, (i, j), 3, 3, 2), (i, j)
        # every earlier pixel it does not reach is reported unseen, nothing later is seen
        earlier = {(r, c) for r in range(H) for c in range(W) if r * W + c < i * W + j}
        unseen = {tuple(p) for p in np.argwhere(dep.unseen()[0])}
        assert unseen == earlier - seen
        assert not dep.count(Category.FUTURE_DEPENDS)
        blind_somewhere |= dep.count(Category.BLIND) > 0
    assert blind_somewhere


def test_blind_spot_is_above_right_and_the_gated_pixelcnn_sees_it():
    image = Image("x", shape=(1, 7, 7))
    plain = context_dependence(build(PLAIN, image), (4, 3))
    gated = context_dependence(build(GATED, image), (4, 3))
    # one row up, three columns right: earlier in raster order, out of every stacked mask's reach
    theory = plain_pixelcnn_context(7, 7, (4, 3), 3, 3, 2)
    assert (3, 6) not in theory and (3, 6) in {(r, c) for r in range(7) for c in range(7)
                                               if r * 7 + c < 4 * 7 + 3}
    assert plain.categories[0, 3, 6] == Category.BLIND
    assert gated.categories[0, 3, 6] == Category.DEPENDS
    assert plain.count(Category.BLIND) > 0


def test_gated_pixelcnn_has_no_blind_spot_anywhere():
    image = Image("x", shape=(1, 6, 6))
    cond = build(GATED, image)
    for i, j in itertools.product(range(6), range(6)):
        dep = context_dependence(cond, (i, j))
        assert dep.count(Category.BLIND) == 0, (i, j, np.argwhere(dep.unseen()[0]))
        assert dep.count(Category.FUTURE_DEPENDS) == 0


def test_out_of_reach_is_told_apart_from_the_blind_spot():
    """On a large image the top rows are beyond a shallow PixelCNN's receptive field: unseen,
    but not a hole inside what it sees."""
    cond = build(dict(PLAIN, layers=1), Image("x", shape=(1, 12, 12)))
    dep = context_dependence(cond, (9, 5))
    seen = np.argwhere(dep.mask(Category.DEPENDS)[0])
    top = seen[:, 0].min()
    assert top > 0 and dep.mask(Category.OUT_OF_REACH)[0, :top].all()
    for r, c in np.argwhere(dep.mask(Category.BLIND)[0]):
        assert seen[:, 0].min() <= r <= seen[:, 0].max()
        assert seen[:, 1].min() <= c <= seen[:, 1].max()
    assert dep.count(Category.BLIND) > 0  # the triangle up and to the right is still a hole


# -- NADE: every earlier value --------------------------------------------------------------
@pytest.mark.parametrize("ordering", ["raster", "snake", "diagonal", "random(5)"])
@pytest.mark.parametrize("levels", [2, 3])
def test_nade_context_is_exactly_the_earlier_values(ordering, levels):
    image = Image("x", shape=(1, 4, 5), levels=levels, ordering=ordering)
    cond = NADE(hidden=12).build(image, [])
    steps = steps_of(image)
    for i, j in [(0, 0), (2, 3), (3, 4), (1, 0)]:
        dep = context_dependence(cond, (i, j), images=8)
        t = steps[0, i, j]
        assert dep.step == t
        np.testing.assert_array_equal(dep.mask(Category.DEPENDS), steps < t)
        np.testing.assert_array_equal(dep.mask(Category.FUTURE), steps > t)
        assert dep.mask(Category.TARGET).sum() == 1 and dep.categories[0, i, j] == 0
        assert (dep.gradient[steps >= t] == 0).all()


# -- colour ----------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", [PLAIN, GATED, {"family": "nade", "hidden": 16},
                                  {"family": "fvsbn"}], ids=["plain", "gated", "nade", "fvsbn"])
def test_colour_green_sees_red_of_its_pixel_and_not_blue(spec):
    image = Image("x", shape=(3, 4, 4), levels=4)
    cond = build(spec, image)
    for i, j in [(0, 0), (2, 1), (3, 3)]:
        dep = context_dependence(cond, (i, j), "G")
        assert dep.channel == 1
        assert dep.categories[0, i, j] == Category.DEPENDS       # R of the same pixel
        assert dep.categories[1, i, j] == Category.TARGET
        assert dep.categories[2, i, j] == Category.FUTURE        # B of the same pixel
        red = context_dependence(cond, (i, j), "R")
        assert red.categories[1, i, j] == red.categories[2, i, j] == Category.FUTURE
        blue = context_dependence(cond, (i, j), 2)
        assert blue.categories[0, i, j] == blue.categories[1, i, j] == Category.DEPENDS


# -- the future, in every family -------------------------------------------------------------
FAMILIES = {
    "fvsbn": {"family": "fvsbn"},
    "ark-table": {"family": "ark", "k": 2},
    "ark-logistic": {"family": "ark", "k": 2, "tabular_max_k": 0},
    "nade": {"family": "nade", "hidden": 8},
    "made": {"family": "made", "hidden": [16, 16], "num_masks": 2},
    "pixelcnn": PLAIN,
    "gated": GATED,
}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_no_family_depends_on_the_future(name):
    image = Image("x", shape=(2, 3, 3), levels=2)
    label = Categorical("label", 3)
    cond = build(FAMILIES[name], image, [label])
    steps = steps_of(image)
    for c, i, j in itertools.product(range(2), range(3), range(3)):
        dep = context_dependence(cond, (i, j), c, images=8, parents={"label": 2})
        t = steps[c, i, j]
        assert (dep.gradient[steps > t] == 0).all()
        assert dep.count(Category.FUTURE_DEPENDS) == 0
        np.testing.assert_array_equal(dep.mask(Category.FUTURE), steps > t)
        if t > 0:
            assert dep.count(Category.DEPENDS) > 0


def test_real_valued_rnade_and_ark_lookup_table():
    image = Image("x", shape=(1, 3, 3), levels=None, ordering="snake")
    dep = context_dependence(NADE(hidden=4).build(Image("y", (1, 2, 2)), []), (1, 1))
    assert dep.method == "gradient"
    rnade = build({"family": "rnade", "hidden": 8}, image)
    steps = steps_of(image)
    dep = context_dependence(rnade, (2, 2))
    np.testing.assert_array_equal(dep.mask(Category.DEPENDS), steps < steps[0, 2, 2])
    # tabular AR-k looks its logits up by configuration: no gradient, probed by changing inputs
    table = build({"family": "ark", "k": 2}, Image("x", shape=(1, 3, 3), ordering="snake"))
    dep = context_dependence(table, (2, 1))
    assert dep.method == "change"
    t = steps[0, 2, 1]
    np.testing.assert_array_equal(dep.mask(Category.DEPENDS), (steps < t) & (steps >= t - 2))


def test_categories_agree_with_the_full_jacobian():
    image = Image("x", shape=(3, 3, 3), levels=2)
    cond = build(PLAIN, image)
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(2, (16, 3, 3, 3), generator=gen).float()
    J = torch.autograd.functional.jacobian(lambda v: cond.ordered_params(v, None),
                                           cond.to_ordered(x), vectorize=True)
    # J[n, t, m, s]; the images are independent, so only m == n matters
    per_image = torch.stack([J[n, :, n, :] for n in range(len(x))])     # (N, D, D)
    seen = (per_image.abs().amax(0) > 0).numpy()                       # (outputs, inputs)
    steps = steps_of(image)
    for c, i, j in itertools.product(range(3), range(3), range(3)):
        dep = context_dependence(cond, (i, j), c, images=16)
        t = steps[c, i, j]
        np.testing.assert_array_equal(dep.mask(Category.DEPENDS), seen[t][steps] & (steps < t))


class PeekingNADE(NADEConditional):
    """A broken model: every output also reads the next value (the future)."""

    def ordered_params(self, x_ord, ctx):
        out = super().ordered_params(x_ord, ctx)
        return out + 0.5 * torch.roll(x_ord, -1, dims=1).to(out.dtype)


def test_a_model_that_sees_the_future_is_shown_as_broken(tmp_path):
    image = Image("x", shape=(1, 3, 3))
    cond = PeekingNADE(image, [], hidden=4, activation="sigmoid")
    dep = context_dependence(cond, (1, 1))
    assert dep.categories[0, 1, 2] == Category.FUTURE_DEPENDS
    assert dep.count(Category.FUTURE_DEPENDS) == 1
    svg = render_context(dep, tmp_path / "broken.svg").read_text()
    assert "NOT autoregressive" in svg


# -- the module is left as it was -----------------------------------------------------------
def test_mode_masks_and_weights_are_restored():
    cond = build({"family": "made", "hidden": [16], "num_masks": 3},
                 Image("x", shape=(1, 3, 3), levels=3))
    cond.train()
    cond.next_mask()
    before = {k: v.clone() for k, v in cond.state_dict().items()}
    a = context_dependence(cond, (2, 0))
    b = context_dependence(cond, (2, 0))
    assert cond.training and int(cond.mask_index) == 1
    assert all(torch.equal(before[k], v) for k, v in cond.state_dict().items())
    assert "encode_inputs" not in cond.__dict__
    np.testing.assert_array_equal(a.categories, b.categories)   # same seed, same answer


# -- errors ---------------------------------------------------------------------------------
def test_errors_name_the_valid_range():
    cond = build(PLAIN, Image("x", shape=(3, 4, 5)))
    with pytest.raises(PgmArError, match=r"pixel \(4, 0\).*4x5.*rows 0\.\.3, columns 0\.\.4"):
        context_dependence(cond, (4, 0))
    with pytest.raises(PgmArError, match=r"channel 3 is out of range.*3 channels \(0\.\.2 or R, G, B\)"):
        context_dependence(cond, (0, 0), 3)
    with pytest.raises(PgmArError, match="channel 'Q'"):
        context_dependence(cond, (0, 0), "Q")
    with pytest.raises(PgmArError, match="I,J"):
        context_dependence(cond, "1;2")
    with pytest.raises(PgmArError, match="unsupported picture format '.gv'"):
        draw_context(cond, "ctx.gv", (0, 0))
    with pytest.raises(PgmArError, match=r"\['lbl'\] are not parents"):
        context_dependence(cond, (0, 0), parents={"lbl": 1})
    labelled = build(PLAIN, Image("x", shape=(1, 3, 3)), [Categorical("label", 3)])
    with pytest.raises(PgmArError, match=r"'label': values must be state indices 0\.\.2"):
        context_dependence(labelled, (0, 0), parents={"label": 3})


class _Flat(Conditional):
    pass


class FlatImage(Family):
    """A family that models an image but has no autoregressive conditional."""

    name = "flat_image_for_tests"

    def build(self, variable, parents):
        return _Flat(variable, parents)


def test_compiled_models_without_an_autoregressive_image():
    net = BayesNet([Categorical("a", 2)])
    with pytest.raises(PgmArError, match="no image variable"):
        context_dependence(compile(net), (0, 0))
    with pytest.raises(PgmArError, match="family 'flat_image_for_tests'.*no autoregressive"):
        context_dependence(compile(BayesNet([Image("x", (1, 2, 2))]), {"x": FlatImage()}),
                           (0, 0))
    two = BayesNet([Image("a", (1, 2, 2)), Image("b", (1, 2, 2))])
    model = compile(two, {"image": NADE(hidden=3)})
    with pytest.raises(PgmArError, match=r"several images \['a', 'b'\]"):
        context_dependence(model, (0, 0))
    assert context_dependence(model, (1, 1), variable="b").variable == "b"


# -- the picture ----------------------------------------------------------------------------
def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("shape,pixel", [((1, 7, 7), (4, 3)), ((3, 5, 5), (2, 2)),
                                         ((1, 28, 28), (20, 10))])
def test_picture_sizes_and_legend_clear_of_the_cells(tmp_path, shape, pixel):
    cond = PixelCNN(channels=12, layers=2, kernel=3, first_kernel=5).build(Image("x", shape), [])
    dep = context_dependence(cond, pixel, 1 if shape[0] == 3 else 0, images=8)
    out = render_context(dep, tmp_path / "ctx.png")
    width, height = png_size(out)
    assert 600 <= width <= 1400 and 400 <= height <= 1100
    assert out.stat().st_size > 10_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ctx.png"]  # no temporary left
    fig = context_figure(dep)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend = fig.legends[0].get_window_extent(renderer)
    assert len(fig.axes) == shape[0]
    for ax in fig.axes:
        box = ax.get_tightbbox(renderer)       # the cells with their tick labels
        assert not box.overlaps(legend)
        for other in fig.axes:
            if other is not ax:
                assert not ax.get_window_extent(renderer).overlaps(other.get_window_extent(renderer))
    for text in fig.texts:                     # the title lines stay above the panels
        assert all(text.get_window_extent(renderer).y0 > ax.get_tightbbox(renderer).y1 - 1
                   for ax in fig.axes)


def test_svg_has_title_and_legend(tmp_path):
    cond = build(GATED, Image("x", shape=(1, 5, 5)))
    path, dep = draw_context(cond, tmp_path / "ctx.svg", (3, 2))
    texts = " ".join(el.text for el in ET.parse(path).getroot().iter()
                     if el.tag.endswith("text") and el.text)
    assert "Gated PixelCNN" in texts and "blind spot (0)" in texts and "future" in texts
    assert "x[3, 2]" in texts and "25" in texts  # the title and the step numbers


# -- the command line -----------------------------------------------------------------------
SPEC = """name: tiny
variables:
  - {name: label, type: categorical, states: 3}
  - {name: x, type: image, shape: [%s], levels: 2, ordering: raster}
edges:
  - [label, x]
conditionals:
  x: %s
"""


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def pixelcnn_spec(tmp_path):
    path = tmp_path / "pcnn.yaml"
    path.write_text(SPEC % ("1, 7, 7", "{family: pixelcnn, channels: 12, layers: 2, kernel: 3, "
                                       "first_kernel: 3}"))
    return path


def test_cli_writes_png_and_svg(capsys, tmp_path, pixelcnn_spec):
    code, out, err = run(capsys, "draw", pixelcnn_spec, "--kind", "context", "--pixel", "4,3",
                         "--given", "label=1", "-o", tmp_path / "ctx.png")
    assert code == 0, err
    width, height = png_size(tmp_path / "ctx.png")
    assert width > 600 and height > 400 and (tmp_path / "ctx.png").stat().st_size > 10_000
    expected = plain_pixelcnn_context(7, 7, (4, 3), 3, 3, 2)
    assert f"{len(expected)} earlier inputs seen" in out
    code, out, _ = run(capsys, "draw", pixelcnn_spec, "--kind", "context", "--pixel", "4,3",
                       "-o", tmp_path / "ctx.svg")
    assert code == 0
    ET.parse(tmp_path / "ctx.svg")


def test_cli_reads_a_run_directory(capsys, tmp_path):
    spec = tmp_path / "nade.yaml"
    spec.write_text(SPEC % ("1, 4, 4", "{family: nade, hidden: 8}"))
    code, out, _ = run(capsys, "draw", spec, "--kind", "context", "--pixel", "2,2",
                       "-o", tmp_path / "a.png")
    assert code == 0 and "10 earlier inputs seen" in out
    # a "trained" model in which step 3 no longer reaches the hidden layer
    from pgm_ar.io import load_spec

    loaded = load_spec(spec)
    model = compile(loaded.network, loaded.conditionals)
    with torch.no_grad():
        model.conditional("x").W[3].zero_()
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    model.save(run_dir / "model.pt")
    code, out, err = run(capsys, "draw", run_dir, "--kind", "context", "--pixel", "2,2",
                         "-o", tmp_path / "b.png")
    assert code == 0, err
    assert "9 earlier inputs seen" in out and "1 unseen in a blind spot" in out
    # the other kinds read the run's network
    code, out, _ = run(capsys, "draw", run_dir, "--kind", "grid", "--variable", "x",
                       "-o", tmp_path / "g.gv")
    steps = [ln for ln in (tmp_path / "g.gv").read_text().splitlines()
             if " -> " in ln and "arrowhead=none" not in ln]   # one arrowhead per step
    assert code == 0 and len(steps) == 15


@pytest.mark.parametrize("args,message", [
    (["--pixel", "7,0"], "outside the 7x7 image 'x': rows 0..6, columns 0..6"),
    (["--pixel", "1,1", "--channel", "1"], "channel 1 is out of range: image 'x' has 1 channel"),
    (["--pixel", "1,1", "-o", "ctx.gv"], "unsupported picture format '.gv'"),
    ([], "--kind context needs --pixel I,J"),
    (["--pixel", "1,1", "--given", "label=7"], "no state '7'"),
])
def test_cli_errors_are_one_line_with_exit_code_2(capsys, tmp_path, pixelcnn_spec, args,
                                                   message, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["draw", pixelcnn_spec, "--kind", "context"] + args
    if "-o" not in args:
        argv += ["-o", "ctx.png"]
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "ctx.png").exists()


def test_cli_errors_for_networks_without_an_autoregressive_image(capsys, tmp_path):
    coins = tmp_path / "coins.yaml"
    coins.write_text("name: coins\nvariables: [{name: a, type: bernoulli}]\n"
                     "structure: independent\n")
    code, _, err = run(capsys, "draw", coins, "--kind", "context", "--pixel", "0,0",
                       "-o", tmp_path / "c.png")
    assert code == 2 and "has no image variable" in err
    bare = tmp_path / "bare.yaml"
    bare.write_text("name: bare\nvariables: [{name: x, type: image, shape: [1, 3, 3]}]\n"
                    "structure: independent\n")
    code, _, err = run(capsys, "draw", bare, "--kind", "context", "--pixel", "0,0",
                       "-o", tmp_path / "c.png")
    assert code == 2 and "needs a neural autoregressive family" in err
    code, _, err = run(capsys, "draw", coins, "--kind", "dag", "--pixel", "0,0",
                       "-o", tmp_path / "c.gv")
    assert code == 2 and "--pixel only applies to --kind context" in err
