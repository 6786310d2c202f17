"""Image inputs are sized from their headers before anything is decoded: a PNG declaring a
huge picture (a decompression bomb), a directory of too many images, an ``.npz`` whose array
header claims terabytes -- each refused with the file, the size, the limit and how to raise it,
before PIL or numpy decodes (or allocates) a byte of pixels."""
from __future__ import annotations

import io
import struct
import zipfile
import zlib

import numpy as np
import pytest

from pgm_ar.cli import main
from pgm_ar.datasets import folders, load_images
from pgm_ar.errors import PgmArError
from pgm_ar.limits import limits_raised


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def crafted_png(width: int, height: int, colour_type: int = 0) -> bytes:
    """A PNG whose header declares ``width x height`` but whose data is a few bytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (folders.PNG_SIGNATURE + _chunk(b"IHDR", ihdr)
            + _chunk(b"IDAT", zlib.compress(b"\0" * 64)) + _chunk(b"IEND", b""))


def real_png(path, size=(4, 3)):
    from PIL import Image

    Image.fromarray(np.full(size[::-1], 200, dtype=np.uint8), mode="L").save(path)


@pytest.fixture()
def no_decoding(monkeypatch):
    """Any attempt to decode a PNG or load an .npz fails the test."""
    import PIL.Image

    def refuse(*args, **kwargs):
        raise AssertionError("decoded before the budget check")

    monkeypatch.setattr(PIL.Image, "open", refuse)
    monkeypatch.setattr(np, "load", refuse)


def test_png_bomb_refused_from_its_header(tmp_path, no_decoding):
    d = tmp_path / "pics"
    d.mkdir()
    bomb = d / "bomb.png"
    bomb.write_bytes(crafted_png(100_000, 100_000))
    assert bomb.stat().st_size < 200
    with pytest.raises(PgmArError) as info:
        load_images(d)
    msg = str(info.value)
    # the file, the size (computed here independently), the limit and how to raise it
    assert str(bomb) in msg and "100000 x 100000" in msg
    assert f"{100_000 * 100_000} values is over the limit max_image_values" in msg
    assert "PGM_AR_LIMITS" in msg
    # colour types count their decoded values: an RGBA bomb 4 per pixel
    bomb.write_bytes(crafted_png(3000, 2000, colour_type=6))
    with pytest.raises(PgmArError, match=f"{3000 * 2000 * 4} values is over the limit "
                                         "max_image_values"):
        load_images(d)


def test_directory_count_and_total_bytes_checked_before_decoding(tmp_path, monkeypatch):
    d = tmp_path / "pics"
    d.mkdir()
    for i in range(3):
        real_png(d / f"{i}.png", size=(4, 3))  # 4 wide, 3 high, grey: 12 bytes each
    with limits_raised(max_images=2):
        with pytest.raises(PgmArError, match=r"pics: 3 PNG files: 3 images is over the limit "
                                             r"max_images = 2"):
            load_images(d)
    decoded = []
    original = folders.read_png
    monkeypatch.setattr(folders, "read_png", lambda p: decoded.append(p) or original(p))
    with limits_raised(max_image_bytes=3 * 12 - 1):
        with pytest.raises(PgmArError, match=r"3 images of 4 x 3 x 1 values: 36 bytes is over "
                                             r"the limit max_image_bytes = 35"):
            load_images(d)
    assert len(decoded) == 1  # only the first, whose decoded size sets the others'
    with limits_raised(max_image_bytes=3 * 12):  # exactly the budget: read
        assert tuple(load_images(d).images.shape) == (3, 1, 3, 4)


def test_a_bomb_among_good_images_refused_before_decoding(tmp_path, monkeypatch):
    d = tmp_path / "pics"
    d.mkdir()
    real_png(d / "a.png")
    (d / "b.png").write_bytes(crafted_png(4000, 4000))  # under max_image_values: size differs
    decoded = []
    original = folders.read_png
    monkeypatch.setattr(folders, "read_png", lambda p: decoded.append(p.name) or original(p))
    with pytest.raises(PgmArError, match=r"b\.png: 4000 x 4000 pixels, but .*a\.png has 4 x 3"):
        load_images(d)
    assert decoded == ["a.png"]


def _npz_with_header(path, shape, dtype="|u1", name="images"):
    """An .npz whose array header declares ``shape`` but which holds no data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False,
                                               "shape": shape})
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{name}.npy", buf.getvalue())


def test_npz_header_claiming_a_huge_array_refused(tmp_path, no_decoding):
    path = tmp_path / "x.npz"
    _npz_with_header(path, (10 ** 6, 1000, 1000))
    assert path.stat().st_size < 1000
    with pytest.raises(PgmArError, match=rf"x\.npz: array 'images' of shape \(1000000, 1000, "
                                         rf"1000\) \(uint8\): {10 ** 12} bytes is over the "
                                         r"limit max_image_bytes"):
        load_images(path)
    _npz_with_header(path, (1, 5000, 5000))  # 25 MB: one image over max_image_values
    with pytest.raises(PgmArError, match=rf"images of shape \(5000, 5000\): {25 * 10 ** 6} "
                                         r"values is over the limit max_image_values"):
        load_images(path)
    _npz_with_header(path, (10 ** 9,), dtype="<i8", name="labels")  # any array is bounded
    with pytest.raises(PgmArError, match=rf"array 'labels' .*: {8 * 10 ** 9} bytes is over"):
        load_images(path)


def test_cli_images_bomb_is_a_one_line_error(tmp_path, capsys):
    d = tmp_path / "pics"
    d.mkdir()
    (d / "bomb.png").write_bytes(crafted_png(50_000, 50_000))
    spec = tmp_path / "s.yaml"
    spec.write_text("name: s\nvariables:\n  - {name: x, type: image, shape: [1, 4, 4], "
                    "levels: 2}\nstructure: independent\nconditionals:\n  x: {family: nade, hidden: 4}\n")
    code = main(["fit", str(spec), "--images", str(d), "--out", str(tmp_path / "run"),
                 "--epochs", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "bomb.png" in err and "max_image_values" in err
    assert not (tmp_path / "run").exists()
