"""Image grids (pgm_ar.imaging): tiling checked cell by cell, value scaling by levels, the PNG
read back with Pillow, and class grids sampled one row per label state."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from pgm_ar import BayesNet, Bernoulli, Categorical, Image, PgmArError
from pgm_ar.imaging import make_grid, save_class_grid, save_grid


def _tile(x, ncol, p, border=0.5):
    """The grid glued together cell by cell: rows of cells, a border of width p around each."""
    n, c, h, w = x.shape
    rows = -(-n // ncol)
    cells = [x[i].transpose(1, 2, 0) if i < n else np.full((h, w, c), border)
             for i in range(rows * ncol)]
    pad = lambda a: np.pad(a, ((p, 0), (p, 0), (0, 0)), constant_values=border)  # noqa: E731
    body = np.concatenate([np.concatenate([pad(cells[r * ncol + k]) for k in range(ncol)], axis=1)
                           for r in range(rows)], axis=0)
    body = np.pad(body, ((0, p), (0, p), (0, 0)), constant_values=border)
    return body[..., 0] if c == 1 else body


@pytest.mark.parametrize("n,nrow,padding,c", [(5, 3, 1, 1), (4, None, 2, 1), (7, None, 0, 3),
                                             (1, 1, 3, 3), (10, 4, 1, 1)])
def test_make_grid_tiles_cell_by_cell(n, nrow, padding, c):
    rng = np.random.default_rng(n)
    x = rng.random((n, c, 2, 3))
    ncol = nrow or int(np.ceil(np.sqrt(n)))
    got = make_grid(x, nrow=nrow, padding=padding)
    np.testing.assert_array_equal(got, _tile(x, ncol, padding))
    np.testing.assert_array_equal(make_grid(torch.from_numpy(x), nrow=nrow, padding=padding), got)
    np.testing.assert_array_equal(
        make_grid([torch.from_numpy(a) for a in x], nrow=nrow, padding=padding), got)


def test_value_scaling():
    x = np.array([[[[0, 1, 2, 3]]]], dtype=float)
    np.testing.assert_allclose(make_grid(x, levels=4, padding=0), [[0, 1 / 3, 2 / 3, 1]])
    # a batch of a 4-level image that only uses 0..2 is not stretched with levels given
    np.testing.assert_allclose(make_grid(x[..., :3], levels=4, padding=0), [[0, 1 / 3, 2 / 3]])
    # without levels: [0, 1] as is, other ranges stretched to min..max, a constant to 0
    np.testing.assert_allclose(make_grid(x[..., :3], padding=0), [[0, 0.5, 1]])
    np.testing.assert_allclose(make_grid(x / 4 + 0.1, padding=0), x[0, 0] / 4 + 0.1)
    np.testing.assert_allclose(make_grid(np.full((1, 1, 1, 2), 7.0), padding=0), [[0, 0]])
    np.testing.assert_allclose(make_grid(np.array([[[-1.0, 1.0]]]), padding=0), [[0, 1]])


@pytest.mark.parametrize("bad,kw,match", [
    (np.zeros((2, 2, 3, 3)), {}, r"C = 1 or 3, got shape \(2, 2, 3, 3\)"),
    (np.zeros((0, 1, 3, 3)), {}, "non-empty"),
    (np.zeros((3, 3)), {}, "non-empty batch"),
    (np.full((1, 1, 2, 2), np.nan), {}, "non-finite"),
    (np.zeros((1, 1, 2, 2)), {"levels": 1}, "levels must be >= 2, got 1"),
    (np.full((1, 1, 2, 2), 4.0), {"levels": 4}, "must lie in 0..3, found 4"),
    (np.full((1, 1, 2, 2), -1.0), {"levels": 4}, "must lie in 0..3, found -1"),
    (np.zeros((1, 1, 2, 2)), {"nrow": 0}, "nrow must be >= 1 and padding >= 0, got nrow=0"),
    (np.zeros((1, 1, 2, 2)), {"padding": -1}, "padding=-1"),
])
def test_make_grid_errors(bad, kw, match):
    with pytest.raises(PgmArError, match=match):
        make_grid(bad, **kw)


def test_save_grid_png_shows_the_grid_pixel_for_pixel(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.random((4, 1, 3, 3)) > 0.5).astype(float)
    out = save_grid(x, tmp_path / "g.png", nrow=2, padding=1, cell_pixels=30, dpi=100)
    assert out == tmp_path / "g.png"
    grid = make_grid(x, nrow=2, padding=1)
    scale = 10                                             # round(30 / 3)
    img = np.asarray(PILImage.open(out).convert("L"), dtype=float) / 255
    assert img.shape == (grid.shape[0] * scale, grid.shape[1] * scale)
    centres = img[scale // 2::scale, scale // 2::scale]    # one screen pixel per grid cell
    np.testing.assert_allclose(centres, grid, atol=0.02)
    assert not list(tmp_path.glob(".*"))                   # the atomic write leaves nothing


def test_save_grid_labels_title_and_formats(tmp_path):
    x = np.zeros((4, 1, 2, 2))
    labelled = save_grid(x, tmp_path / "l.png", nrow=2, row_labels=["a", "b"], title="t",
                         cell_pixels=20, dpi=50)
    w, h = PILImage.open(labelled).size
    grid = make_grid(x, nrow=2)
    # inches = grid pixels * scale / dpi + margins (0.6 in for labels, 0.35 in for the title)
    assert w == grid.shape[1] * 10 + 30
    assert abs(h - (grid.shape[0] * 10 + 0.35 * 50)) <= 1
    assert save_grid(x, tmp_path / "g.svg").read_text().lstrip().startswith("<?xml")
    assert save_grid(x, tmp_path / "g.pdf").read_bytes()[:4] == b"%PDF"
    with pytest.raises(PgmArError, match="1 row labels for a grid of 2 rows"):
        save_grid(x, tmp_path / "x.png", nrow=2, row_labels=["a"])


class _FakeModel:
    """What save_class_grid asks of a model: names, the network, seeded samples."""

    def __init__(self, net, label):
        self.net, self._label, self.calls = net, label, []

    def image_name(self, variable=None):
        return variable or "img"

    def label_name(self, name):
        return self._label

    def sample(self, n, evidence=None, seed=None, as_tensors=False):
        self.calls.append((n, evidence, seed, as_tensors))
        value = 0.0 if not evidence else float(next(iter(evidence.values())) % 2)
        return {"img": torch.full((n, 1, 2, 2), value)}


def test_class_grid_samples_one_row_per_label_state(tmp_path):
    net = BayesNet([Categorical("y", 3), Image("img", (1, 2, 2))], [("y", "img")])
    model = _FakeModel(net, "y")
    out = save_class_grid(model, tmp_path / "c.png", per_class=2, seed=5, title="by class")
    assert PILImage.open(out).format == "PNG"
    assert model.calls == [(2, {"y": i}, 5 + i, True) for i in range(3)]
    model.calls.clear()
    save_class_grid(model, tmp_path / "n.png", per_class=2, seed=None)
    assert [c[2] for c in model.calls] == [None, None, None]
    plain = _FakeModel(net, None)
    save_class_grid(plain, tmp_path / "u.png", per_class=3, seed=1)
    assert plain.calls == [(9, None, 1, True)]
    with pytest.raises(PgmArError, match="per_class must be >= 1, got 0"):
        save_class_grid(model, tmp_path / "z.png", per_class=0)
    bad = BayesNet([Bernoulli("b"), Image("img", (1, 2, 2))], [("b", "img")])
    real_label = BayesNet([Image("r", (1, 1, 1), levels=None), Image("img", (1, 2, 2))])
    with pytest.raises(PgmArError, match="label 'r' is not a discrete variable"):
        save_class_grid(_FakeModel(real_label, "r"), tmp_path / "z.png")
    assert save_class_grid(_FakeModel(bad, "b"), tmp_path / "b.png", per_class=1).exists()
