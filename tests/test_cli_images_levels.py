"""``pgm-ar fit / evaluate / sample`` on multi-level and colour images: quantized MNIST
(tiny IDX files made here), the embedded digits coloured, and the user's own images
(``--images`` with an .npz or a PNG directory)."""
from __future__ import annotations

import gzip
import hashlib
import json
import math
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from pgm_ar import cli_model
from pgm_ar.cli import main
from pgm_ar.model import CompiledModel
from pgm_ar.datasets import coloured_embedded_digits, mnist
from pgm_ar.imaging import make_grid

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TINY = "{family: pixelcnn, channels: 6, layers: 1}"


def spec_file(tmp_path, shape, levels, states=None, name="s"):
    label = f"  - {{name: label, type: categorical, states: {states}}}\n" if states else ""
    text = (f"name: {name}\nvariables:\n{label}"
            f"  - {{name: img, type: image, shape: {list(shape)}, levels: {levels}, "
            "ordering: raster}\n"
            + ("edges: [[label, img]]\n" if states else "edges: []\n")
            + f"conditionals:\n  img: {TINY}\n")
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def idx_gz(array: np.ndarray) -> bytes:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """An MNIST-shaped directory of 30 training and 12 test images; the checksums are those
    of these files and the validation part is the last 10 training images."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (30, 28, 28)),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, 30),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (12, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, 12),
    }
    d = tmp_path / "mnist"
    d.mkdir()
    for name, array in arrays.items():
        raw = idx_gz(array)
        (d / name).write_bytes(raw)
        monkeypatch.setitem(mnist.MNIST_SHA256, name, hashlib.sha256(gzip.decompress(raw)).hexdigest())
    monkeypatch.setattr(cli_model, "MNIST_VALID", 10)
    return d, arrays


def check_evaluation(res, model, columns, d):
    """The reported numbers against the model scored here: label summed out, bits/dim."""
    image = columns["img"]
    marginal = -float(model.log_prob({"img": image}).mean())
    assert res["n"] == len(image) and math.isfinite(res["nll_nats"])
    assert math.isclose(res["nll_nats"], marginal, rel_tol=1e-7)
    assert abs(res["bits_per_dim"] - res["nll_nats"] / (d * math.log(2))) < 1e-9
    if "label" in columns:
        joint = -float(model.log_prob(columns).mean())
        assert math.isclose(res["nll_joint_nats"], joint, rel_tol=1e-7)


def check_png(path, size_at_least=50):
    assert path.read_bytes()[:8] == PNG_MAGIC
    with Image.open(path) as im:
        assert im.mode in ("RGB", "RGBA") and min(im.size) >= size_at_least


def test_four_level_mnist_fit_evaluate_sample(tmp_path, tiny_mnist, capsys):
    d, arrays = tiny_mnist
    spec = spec_file(tmp_path, (1, 28, 28), 4, states=10)
    run = tmp_path / "run"
    assert main(["fit", str(spec), "--data-dir", str(d), "--out", str(run), "--epochs", "1",
                 "--max-train", "12", "--batch-size", "6", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "on 12 images" in out and "floor(v * 4 / 256)" in out
    log = json.loads((run / "fit_log.json").read_text())
    assert log["train"] == 12 and log["valid"] == 10 and "binarization" not in log
    assert log["data_dir"] == str(d)

    assert main(["evaluate", str(run), "--data-dir", str(d), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert "4 levels" in res["data"]
    test_x = (arrays["t10k-images-idx3-ubyte.gz"].astype(np.int64) * 4) // 256  # closed form
    columns = {"img": torch.from_numpy(test_x).reshape(12, 1, 28, 28),
               "label": torch.from_numpy(arrays["t10k-labels-idx1-ubyte.gz"])}
    check_evaluation(res, CompiledModel.load(run / "model.pt"), columns, 784)

    grid = tmp_path / "grid.png"
    assert main(["sample", str(run), "-n", "3", "-o", str(grid), "--seed", "0",
                 "--evidence", "label=3"]) == 0
    assert "3 samples of 'img' given label=3" in capsys.readouterr().out
    check_png(grid)


def test_coloured_embedded_digits_fit_evaluate_sample(tmp_path, capsys):
    spec = spec_file(tmp_path, (3, 14, 14), 4, states=10)
    run = tmp_path / "run"
    assert main(["fit", str(spec), "--data-dir", "embedded", "--out", str(run), "--epochs", "1",
                 "--max-train", "40", "--batch-size", "20", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "colouring: " in out and "default_rng(0)" in out
    log = json.loads((run / "fit_log.json").read_text())
    assert log["train"] == 40 and log["valid"] == 500 and "coloured" in log["data"]
    assert "foreground" in log["colouring"]

    assert main(["evaluate", str(run), "--data-dir", "embedded", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    x, y = coloured_embedded_digits("valid")
    columns = {"img": (x.long() * 4) // 256, "label": y}
    model = CompiledModel.load(run / "model.pt")
    check_evaluation(res, model, columns, 3 * 14 * 14)
    assert abs(log["best_val_nll"] - res["nll_joint_nats"]) < 1e-3   # validation = this split

    grid = tmp_path / "grid.png"
    assert main(["sample", str(run), "-n", "4", "-o", str(grid), "--label", "7", "--seed", "1"]) == 0
    assert "given label=7" in capsys.readouterr().out
    check_png(grid)


def test_own_colour_images_from_an_npz(tmp_path, capsys):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (30, 6, 5, 3)).astype(np.uint8)       # (N, H, W, C)
    y = rng.integers(0, 3, 30)
    np.savez(tmp_path / "mine.npz", images=x, labels=y, classes=np.array(["c", "a", "b"]))
    # the label's states are the class names in another order: matched by name
    spec = tmp_path / "own.yaml"
    spec.write_text("name: own\nvariables:\n  - {name: label, type: categorical, states: [a, b, c]}\n"
                    "  - {name: img, type: image, shape: [3, 6, 5], levels: 8}\n"
                    f"edges: [[label, img]]\nconditionals:\n  img: {TINY}\n")
    run = tmp_path / "run"
    assert main(["fit", str(spec), "--images", str(tmp_path / "mine.npz"), "--out", str(run),
                 "--epochs", "1", "--batch-size", "9", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "on 27 images" in out and "3 of 30 images held out" in out and "by name" in out
    log = json.loads((run / "fit_log.json").read_text())
    assert log["train"] == 27 and log["valid"] == 3 and log["images"] == str(tmp_path / "mine.npz")

    assert main(["evaluate", str(run), "--images", str(tmp_path / "mine.npz"), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    names = ["c", "a", "b"]
    columns = {"img": torch.from_numpy((x.astype(np.int64) * 8 // 256).transpose(0, 3, 1, 2)),
               "label": torch.tensor([["a", "b", "c"].index(names[k]) for k in y])}
    check_evaluation(res, CompiledModel.load(run / "model.pt"), columns, 90)
    grid = tmp_path / "grid.png"
    assert main(["sample", str(run), "-n", "6", "-o", str(grid), "--seed", "0"]) == 0
    check_png(grid, size_at_least=20)


def test_own_greyscale_pngs_without_labels(tmp_path, capsys):
    rng = np.random.default_rng(2)
    pngs = tmp_path / "pngs"
    pngs.mkdir()
    x = rng.integers(0, 256, (12, 4, 4)).astype(np.uint8)
    for i, a in enumerate(x):
        Image.fromarray(a).save(pngs / f"{i:03d}.png")
    spec = spec_file(tmp_path, (1, 4, 4), 256)
    run = tmp_path / "run"
    assert main(["fit", str(spec), "--images", str(pngs), "--out", str(run), "--epochs", "1",
                 "--no-progress"]) == 0
    assert "the 8-bit values as they are" in capsys.readouterr().out
    assert main(["evaluate", str(run), "--images", str(pngs), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    check_evaluation(res, CompiledModel.load(run / "model.pt"),
                     {"img": torch.from_numpy(x.astype(np.int64))[:, None]}, 16)
    assert main(["sample", str(run), "-n", "4", "-o", str(tmp_path / "g.png")]) == 0
    check_png(tmp_path / "g.png", size_at_least=20)


def test_image_source_mistakes_are_one_line_errors(tmp_path, capsys):
    np.savez(tmp_path / "a.npz", images=np.zeros((5, 6, 6, 3), np.uint8),
             labels=np.array([0, 1, 2, 0, 1]))
    np.savez(tmp_path / "nolabels.npz", images=np.zeros((5, 6, 6, 3), np.uint8))
    cases = [
        (spec_file(tmp_path, (3, 14, 14), 4, 3, "wrong_shape"), ["--images", str(tmp_path / "a.npz")],
         ["[3, 14, 14]", "[3, 6, 6]", "a.npz"]),
        (spec_file(tmp_path, (3, 6, 6), 4, 10, "wrong_states"), ["--images", str(tmp_path / "a.npz")],
         ["10 states", "3 classes"]),
        (spec_file(tmp_path, (3, 6, 6), 4, 3, "needs_labels"),
         ["--images", str(tmp_path / "nolabels.npz")], ["no labels", "'label'"]),
        (spec_file(tmp_path, (1, 14, 14), 4, 10, "grey_levels"), ["--data-dir", "embedded"],
         ["levels 4", "binary"]),
        (spec_file(tmp_path, (2, 14, 14), 2, 10, "two_channels"), ["--data-dir", "embedded"],
         ["[1, 14, 14]", "[3, 14, 14]"]),
        (spec_file(tmp_path, (1, 14, 14), 2, 5, "five_digits"), ["--data-dir", "embedded"],
         ["5 states", "10 classes"]),
        (spec_file(tmp_path, (1, 6, 6), 2, None, "missing"), ["--images", str(tmp_path / "none")],
         ["no such file or directory"]),
    ]
    for spec, source, needles in cases:
        assert main(["fit", str(spec), *source, "--out", str(tmp_path / "r")]) == 2, spec
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1, err
        for needle in needles:
            assert needle in err, (needle, err)
        assert not (tmp_path / "r").exists()


def test_grids_scale_levels_and_keep_colour_channels():
    x = torch.tensor([[[[0, 1], [2, 3]]]])                          # one 2 x 2 image, 4 levels
    assert make_grid(x, levels=4, padding=0).tolist() == [[0, 1 / 3], [2 / 3, 1]]
    # without levels a batch is stretched to its own range; with them it is not
    assert make_grid(x[:, :, :1], padding=0).tolist() == [[0, 1]]
    assert make_grid(x[:, :, :1], levels=4, padding=0).tolist() == [[0, 1 / 3]]
    rgb = torch.zeros(2, 3, 1, 1, dtype=torch.long)
    rgb[0, 0] = 7                                                    # pure red, 8 levels
    rgb[1, 2] = 7                                                    # pure blue
    grid = make_grid(rgb, nrow=2, padding=1, levels=8)
    assert grid.shape == (3, 5, 3)
    assert grid[1, 1].tolist() == [1, 0, 0] and grid[1, 3].tolist() == [0, 0, 1]
    assert grid[0, 0].tolist() == [0.5, 0.5, 0.5]                   # the border
    with pytest.raises(Exception, match="0..3"):
        make_grid(x + 1, levels=4)



def test_example_specs_compile_and_count(capsys):
    from conftest import REPO
    from pgm_ar.io import load_any

    for name, shape, levels in (("digit14_colour_pixelcnn", (3, 14, 14), 4),
                                ("mnist_levels4_pixelcnn", (1, 28, 28), 4),
                                ("mnist_colour_pixelcnn", (3, 28, 28), 8)):
        path = REPO / "examples" / "specs" / f"{name}.yaml"
        image = load_any(path).network.variable("digit")
        assert tuple(image.shape) == shape and image.levels == levels
        assert main(["count", str(path), "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["compiled"]["families"]["digit"]["family"] == "pixelcnn"
        assert data["compiled"]["per_variable"]["digit"] > 0
