"""Your own images: PNG directories (flat or one subdirectory per class) and .npz arrays,
round trips through files written here, every documented error, and the held-out split."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from pgm_ar.datasets import holdout_split, load_images, load_npz_images, load_png_dir, read_png
from pgm_ar.errors import DataError

RNG = np.random.default_rng(0)


def grey(n, h=5, w=4):
    return RNG.integers(0, 256, size=(n, h, w)).astype(np.uint8)


def rgb(n, h=5, w=4):
    return RNG.integers(0, 256, size=(n, h, w, 3)).astype(np.uint8)


def write(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode).save(path) if mode else Image.fromarray(array).save(path)
    return path


# --------------------------------------------------------------------------- PNG directories
def test_flat_greyscale_directory_round_trip(tmp_path):
    x = grey(4)
    for i, a in enumerate(x):
        write(tmp_path / f"img{i}.png", a)
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / ".hidden.png").write_bytes(b"not read")
    got = load_images(tmp_path)
    assert got.images.dtype == torch.uint8 and got.images.shape == (4, 1, 5, 4)
    assert np.array_equal(got.images[:, 0].numpy(), x)
    assert got.labels is None and got.classes is None and got.source == str(tmp_path)


def test_class_subdirectories_give_labels_in_sorted_order(tmp_path):
    x = rgb(5)
    layout = [("cat", 0), ("cat", 1), ("ant", 2), ("dog", 3), ("dog", 4)]
    for cls, i in layout:
        write(tmp_path / cls / f"{i:02d}.png", x[i])
    got = load_png_dir(tmp_path)
    assert got.classes == ("ant", "cat", "dog")
    assert got.labels.tolist() == [0, 1, 1, 2, 2] and got.labels.dtype == torch.int64
    order = [2, 0, 1, 3, 4]                                  # ant/02, cat/00, cat/01, dog/...
    assert np.array_equal(got.images.numpy(), x[order].transpose(0, 3, 1, 2))


def test_modes_bilevel_palette_and_opaque_alpha(tmp_path):
    bits = RNG.integers(0, 2, size=(5, 4)).astype(bool)
    assert read_png(write(tmp_path / "b.png", bits)).tolist() == \
        (bits.astype(np.uint8) * 255)[:, :, None].tolist()
    g = grey(1)[0]
    pal_grey = Image.fromarray(g).convert("P")               # a palette of greys -> 1 channel
    pal_grey.save(tmp_path / "pg.png")
    assert np.array_equal(read_png(tmp_path / "pg.png")[:, :, 0], np.asarray(pal_grey.convert("L")))
    c = rgb(1)[0]
    pal = Image.fromarray(c).quantize(8)                     # a colour palette -> 3 channels
    pal.save(tmp_path / "pc.png")
    assert np.array_equal(read_png(tmp_path / "pc.png"), np.asarray(pal.convert("RGB")))
    rgba = np.concatenate([c, np.full((5, 4, 1), 255, np.uint8)], axis=2)
    assert np.array_equal(read_png(write(tmp_path / "a.png", rgba)), c)       # opaque: dropped
    la = np.stack([g, np.full_like(g, 255)], axis=2)
    assert np.array_equal(read_png(write(tmp_path / "la.png", la, "LA"))[:, :, 0], g)


def test_refused_pngs_name_the_file(tmp_path):
    c = rgb(1)[0]
    rgba = np.concatenate([c, np.full((5, 4, 1), 255, np.uint8)], axis=2)
    rgba[2, 1, 3] = 10
    with pytest.raises(DataError, match=r"t\.png: transparent pixels .*row 2, column 1"):
        read_png(write(tmp_path / "t.png", rgba))
    Image.fromarray(np.full((3, 3), 1000, np.uint16)).save(tmp_path / "deep.png")
    with pytest.raises(DataError, match=r"deep\.png: PNG mode .*8 bits") as info:
        read_png(tmp_path / "deep.png")
    assert "not a readable" not in str(info.value)
    pal = Image.fromarray(np.array([[0, 1, 2], [1, 1, 2]], np.uint8), "P")  # index 0 is used
    pal.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255])
    pal.save(tmp_path / "pt.png", transparency=0)            # ... and transparent
    with pytest.raises(DataError, match=r"pt\.png: transparent pixels") as info:
        read_png(tmp_path / "pt.png")
    assert "not a readable" not in str(info.value)
    (tmp_path / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(DataError, match=r"junk\.png: not a readable PNG"):
        read_png(tmp_path / "junk.png")


def test_mixed_sizes_and_modes_name_the_file(tmp_path):
    a = tmp_path / "sizes"
    write(a / "a.png", grey(1)[0])
    write(a / "b.png", grey(1, 6, 4)[0])
    with pytest.raises(DataError, match=r"b\.png: 4 x 6 pixels, but .*a\.png has 4 x 5"):
        load_images(a)
    m = tmp_path / "modes"
    write(m / "a.png", grey(1)[0])
    write(m / "b.png", rgb(1)[0])
    with pytest.raises(DataError, match=r"b\.png: RGB \(3 channels\), but .*a\.png is greyscale"):
        load_images(m)


def test_directory_layout_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="empty: no PNG files"):
        load_images(empty)
    both = tmp_path / "both"
    write(both / "a.png", grey(1)[0])
    write(both / "cls" / "b.png", grey(1)[0])
    with pytest.raises(DataError, match="both PNG files and subdirectories"):
        load_images(both)
    hollow = tmp_path / "hollow"
    write(hollow / "one" / "a.png", grey(1)[0])
    (hollow / "two").mkdir()
    with pytest.raises(DataError, match=r"two: class directory without PNG files"):
        load_images(hollow)
    jpg = tmp_path / "jpg"
    write(jpg / "a.png", grey(1)[0])
    Image.fromarray(grey(1)[0]).save(jpg / "b.jpg")
    with pytest.raises(DataError, match=r"b\.jpg: only PNG images are read"):
        load_images(jpg)
    with pytest.raises(DataError, match="no such file or directory"):
        load_images(tmp_path / "missing")
    (tmp_path / "x.csv").write_text("a\n")
    with pytest.raises(DataError, match="not a directory of PNG files or an .npz"):
        load_images(tmp_path / "x.csv")


# --------------------------------------------------------------------------- npz files
def test_npz_round_trips(tmp_path):
    x = rgb(6)
    y = np.array([0, 2, 1, 2, 0, 1], dtype=np.int16)
    np.savez(tmp_path / "c.npz", images=x, labels=y, classes=np.array(["a", "b", "c"]))
    got = load_images(tmp_path / "c.npz")
    assert got.images.shape == (6, 3, 5, 4) and got.images.dtype == torch.uint8
    assert np.array_equal(got.images.numpy().transpose(0, 2, 3, 1), x)
    assert got.labels.tolist() == y.tolist() and got.labels.dtype == torch.int64
    assert got.classes == ("a", "b", "c")
    g = grey(3)
    np.savez_compressed(tmp_path / "g.npz", g, labels=np.array([4, 0, 1]))   # unnamed array
    got = load_npz_images(tmp_path / "g.npz")
    assert got.images.shape == (3, 1, 5, 4) and np.array_equal(got.images[:, 0].numpy(), g)
    assert got.classes == ("0", "1", "2", "3", "4")           # max(labels) + 1 classes
    np.savez(tmp_path / "n.npz", images=g[..., None])
    got = load_images(tmp_path / "n.npz")
    assert got.labels is None and got.images.shape == (3, 1, 5, 4)


@pytest.mark.parametrize("arrays, message", [
    ({"images": np.zeros((2, 5, 4), np.float32)}, "is float32; images must be uint8"),
    ({"images": np.zeros((2, 5), np.uint8)}, r"shape \(2, 5\); expected \(N, H, W, C\)"),
    ({"images": np.zeros((2, 3, 5, 4), np.uint8)}, "4 channels.*channel-first"),
    ({"images": np.zeros((2, 5, 4, 2), np.uint8)}, "2 channels"),
    ({"images": np.zeros((0, 5, 4), np.uint8)}, "holds no images"),
    ({"images": np.zeros((2, 5, 4), np.uint8), "labels": np.array([0])}, "2 integers"),
    ({"images": np.zeros((2, 5, 4), np.uint8), "labels": np.array([0.0, 1.0])}, "2 integers"),
    ({"images": np.zeros((2, 5, 4), np.uint8), "labels": np.array([0, -1])}, ">= 0"),
    ({"images": np.zeros((2, 5, 4), np.uint8), "labels": np.array([0, 2]),
      "classes": np.array(["a", "b"])}, "label 2 but only 2 classes"),
    ({"a": np.zeros((2, 5, 4), np.uint8), "b": np.zeros(2)}, "no 'images' array"),
])
def test_npz_errors_name_the_file(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=message) as info:
        load_images(path)
    assert "bad.npz" in str(info.value)


def test_npz_that_is_not_one(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"x\.npz: not a readable \.npz"):
        load_images(tmp_path / "x.npz")
    with pytest.raises(DataError, match="no such file"):
        load_images(tmp_path / "y.npz")


# --------------------------------------------------------------------------- the split
def test_holdout_split_is_deterministic_disjoint_and_ten_percent():
    for n in (2, 9, 10, 55, 1000):
        train, valid = holdout_split(n)
        assert len(valid) == max(1, n // 10) and len(train) == n - len(valid)
        assert sorted(np.concatenate([train, valid]).tolist()) == list(range(n))
        assert (np.diff(train) > 0).all() and (np.diff(valid) > 0).all()
        again = holdout_split(n)
        assert np.array_equal(again[0], train) and np.array_equal(again[1], valid)
    assert not np.array_equal(holdout_split(1000, seed=1)[1], holdout_split(1000)[1])
    assert holdout_split(1000)[1].min() < 900                 # a permutation, not the tail
    with pytest.raises(DataError, match="at least 2"):
        holdout_split(1)
