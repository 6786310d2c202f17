"""MNIST IDX reading and checking, downloads from a local HTTP server, binarization, splits,
and the embedded digit set."""
from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import importlib.util
import socket
import struct
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from pgm_ar.datasets import (EMBEDDED_DIGITS_PATH, MIRROR_ENV, MNIST_FILES, MNIST_SHA256,
                             DynamicBinarization, DynamicBinarizedDataset, binarize,
                             binarized_mnist_test, download_mnist, load_embedded_digits,
                             load_mnist, read_idx, train_valid_split)
from pgm_ar.errors import DataError, PgmArError

from conftest import REPO, require_mnist

# Published class frequencies of the canonical MNIST sets (e.g. LeCun's page, torchvision):
# an independent check that the shared files are the original data.
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file written here, independently of the reader: magic, sizes, big-endian data."""
    codes = {np.dtype(np.uint8): 0x08, np.dtype(np.int32): 0x0C, np.dtype(np.float64): 0x0E}
    header = struct.pack(">HBB", 0, codes[array.dtype], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


# The full MNIST files are optional (about 11 MB, not shipped): the tests of the original data
# below skip, saying so, where they are absent; every other test writes its own small IDX files.
@pytest.fixture(scope="module")
def mnist_dir():
    return require_mnist()


@pytest.fixture(scope="module")
def mnist_train(mnist_dir):
    return load_mnist(mnist_dir, "train")


@pytest.fixture(scope="module")
def mnist_test(mnist_dir):
    return load_mnist(mnist_dir, "test")


# --------------------------------------------------------------------------- the full files
def test_shared_mnist_train(mnist_train):
    images, labels = mnist_train
    assert images.shape == (60000, 1, 28, 28) and images.dtype == torch.uint8
    assert labels.shape == (60000,) and labels.dtype == torch.int64
    assert torch.bincount(labels, minlength=10).tolist() == TRAIN_COUNTS
    assert int(images.min()) == 0 and int(images.max()) == 255
    assert labels[:5].tolist() == [5, 0, 4, 1, 9]  # the well-known first training digits


def test_shared_mnist_test(mnist_test):
    images, labels = mnist_test
    assert images.shape == (10000, 1, 28, 28) and labels.shape == (10000,)
    assert torch.bincount(labels, minlength=10).tolist() == TEST_COUNTS
    assert labels[:3].tolist() == [7, 2, 1]


def test_checksums_are_of_the_decompressed_shared_files(mnist_dir):
    for split, names in MNIST_FILES.items():
        for name in names:
            content = gzip.decompress((mnist_dir / name).read_bytes())
            assert hashlib.sha256(content).hexdigest() == MNIST_SHA256[name]


def test_read_idx_agrees_with_a_plain_numpy_parse(mnist_dir):
    raw = gzip.decompress((mnist_dir / "t10k-images-idx3-ubyte.gz").read_bytes())
    expected = np.frombuffer(raw[16:], dtype=np.uint8).reshape(10000, 28, 28)
    got = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")
    assert got.shape == (10000, 28, 28) and np.array_equal(got, expected)


# --------------------------------------------------------------------------- crafted files
@pytest.mark.parametrize("array", [
    np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
    np.array([-5, 7, 1 << 20], dtype=np.int32),
    np.linspace(-1, 1, 6).reshape(3, 2),
])
def test_read_idx_round_trip(tmp_path, array):
    plain, packed = tmp_path / "a.idx", tmp_path / "a.idx.gz"
    plain.write_bytes(idx_bytes(array))
    packed.write_bytes(gzip.compress(idx_bytes(array)))
    for path in (plain, packed):
        got = read_idx(path)
        assert got.dtype == array.dtype and np.array_equal(got, array)


def corruptions():
    good = idx_bytes(np.arange(60, dtype=np.uint8).reshape(5, 3, 4))
    gz = gzip.compress(good)
    flipped = bytearray(gz)
    flipped[len(gz) // 2] ^= 0xFF
    flipped[len(gz) // 2 + 1] ^= 0xFF
    return {
        "bad magic": (b"\x01\x00" + good[2:], "not an IDX file"),
        "unknown type": (good[:2] + b"\x07" + good[3:], "not an IDX file"),
        "short header": (good[:9], "truncated IDX header"),
        "truncated data": (good[:-7], "truncated IDX file"),
        "trailing bytes": (good + b"\x00\x00", "corrupt IDX file"),
        "tiny": (b"\x00\x00", "not an IDX file"),
        "truncated gzip": (gz[: len(gz) // 2], "truncated gzip"),
        "corrupt gzip": (bytes(flipped), "gzip"),
    }


@pytest.mark.parametrize("case", list(corruptions()))
def test_read_idx_rejects_damaged_files(tmp_path, case):
    data, message = corruptions()[case]
    path = tmp_path / "damaged-idx3-ubyte.gz"
    path.write_bytes(data)
    with pytest.raises(DataError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def write_split(directory: Path, images: np.ndarray, labels: np.ndarray, split="test",
                compress=True) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, array in zip(MNIST_FILES[split], (images, labels)):
        data = idx_bytes(array)
        if compress:
            (directory / name).write_bytes(gzip.compress(data))
        else:
            (directory / name[:-3]).write_bytes(data)


def small_split(n: int, seed: int = 0):
    """``n`` random 28 x 28 grey images and digit labels, a stand-in for an MNIST split."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, n).astype(np.uint8))


def test_load_mnist_checks_checksum_shape_and_labels(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    write_split(tmp_path / "ok", images, labels)
    with pytest.raises(DataError, match="checksum mismatch") as info:
        load_mnist(tmp_path / "ok", "test")
    assert "t10k-images-idx3-ubyte.gz" in str(info.value)
    x, y = load_mnist(tmp_path / "ok", "test", verify=False)  # e.g. another IDX data set
    assert torch.equal(x[:, 0], torch.from_numpy(images)) and y.tolist() == [3, 1, 4, 1, 5]

    write_split(tmp_path / "plain", images, labels, compress=False)
    assert torch.equal(load_mnist(tmp_path / "plain", "test", verify=False)[0], x)

    write_split(tmp_path / "count", images, labels[:4])
    with pytest.raises(DataError, match="5 images .* 4 labels"):
        load_mnist(tmp_path / "count", "test", verify=False)
    write_split(tmp_path / "label", images, np.array([3, 1, 12, 1, 5], dtype=np.uint8))
    with pytest.raises(DataError, match="row 2, value 12"):
        load_mnist(tmp_path / "label", "test", verify=False)
    write_split(tmp_path / "shape", images[:, :27], labels)
    with pytest.raises(DataError, match=r"shape \(5, 27, 28\)"):
        load_mnist(tmp_path / "shape", "test", verify=False)


def test_load_mnist_missing_or_truncated_copy(tmp_path, small_test_split):
    with pytest.raises(DataError, match="not found.*download=True"):
        load_mnist(tmp_path, "test")
    for name, data in small_test_split[2].items():
        (tmp_path / name).write_bytes(data)
    assert torch.equal(load_mnist(tmp_path, "test")[1], small_test_split[1])
    label_file = tmp_path / "t10k-labels-idx1-ubyte.gz"
    label_file.write_bytes(label_file.read_bytes()[:60])
    with pytest.raises(DataError, match="truncated gzip") as info:
        load_mnist(tmp_path, "test")
    assert str(label_file) in str(info.value)
    with pytest.raises(PgmArError, match="unknown MNIST split 'validation'"):
        load_mnist(tmp_path, "validation")


# --------------------------------------------------------------------------- downloads
class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        if self.path.startswith("/short/"):
            # promises more bytes than it sends, then hangs up: an interrupted transfer
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"\x1f\x8b" + b"\x00" * 100)
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture
def small_test_split(monkeypatch):
    """A small stand-in for the MNIST test files, made the canonical ones for this test (their
    checksums replace the real ones), as ``(images, labels, {file name: gzip bytes})``."""
    images, labels = small_split(300, seed=1)
    files = {}
    for name, array in zip(MNIST_FILES["test"], (images, labels)):
        raw = idx_bytes(array)
        monkeypatch.setitem(MNIST_SHA256, name, hashlib.sha256(raw).hexdigest())
        files[name] = gzip.compress(raw)
    return torch.from_numpy(images)[:, None], torch.from_numpy(labels).long(), files


@pytest.fixture
def mirror(tmp_path_factory, small_test_split):
    """An HTTP server on 127.0.0.1 with mirrors good/, trunc/, corrupt/, badgzip/ (test split)."""
    root = tmp_path_factory.mktemp("www")
    images_name, labels_name = MNIST_FILES["test"]
    files = small_test_split[2]
    labels_gz = files[labels_name]
    content = bytearray(gzip.decompress(labels_gz))
    content[100] = (content[100] + 1) % 10  # a valid file with one label changed
    flipped = bytearray(labels_gz)
    flipped[len(flipped) // 2] ^= 0xFF
    variants = {"good": labels_gz, "trunc": labels_gz[: len(labels_gz) // 2],
                "corrupt": gzip.compress(bytes(content)), "badgzip": bytes(flipped)}
    for sub, labels_bytes in variants.items():
        (root / sub).mkdir()
        (root / sub / images_name).write_bytes(files[images_name])
        (root / sub / labels_name).write_bytes(labels_bytes)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_download_from_a_mirror(tmp_path, mirror, small_test_split):
    target = tmp_path / "mnist"
    x, y = load_mnist(target, "test", download=True, mirrors=[mirror + "missing/", mirror + "good"])
    assert torch.equal(x, small_test_split[0]) and torch.equal(y, small_test_split[1])
    assert sorted(p.name for p in target.iterdir()) == sorted(MNIST_FILES["test"])
    # present files are used as they are: a dead mirror is never asked
    x2, _ = load_mnist(target, "test", download=True, mirrors=[mirror + "missing/"])
    assert torch.equal(x2, x)


def test_download_mirror_from_environment(tmp_path, mirror, monkeypatch):
    monkeypatch.setenv(MIRROR_ENV, f"{mirror}missing/, {mirror}good/")
    paths = download_mnist(tmp_path, ["test"])
    assert sorted(paths) == sorted(MNIST_FILES["test"])
    assert all(p.exists() for p in paths.values())


@pytest.mark.parametrize("sub, message", [
    ("trunc", "truncated gzip"), ("corrupt", "checksum mismatch"), ("badgzip", "gzip"),
    ("short", "incomplete download"), ("missing", "HTTP 404"),
])
def test_bad_download_leaves_no_file(tmp_path, mirror, sub, message):
    with pytest.raises(DataError, match=message) as info:
        load_mnist(tmp_path, "test", download=True, mirrors=[mirror + sub + "/"])
    assert "t10k-" in str(info.value)
    labels_name = MNIST_FILES["test"][1]
    left = [p.name for p in tmp_path.iterdir()]
    # at most the (complete, verified) images file; no labels file, no temporary file
    assert labels_name not in left and all(n == MNIST_FILES["test"][0] for n in left)


def test_unreachable_mirror_is_named(tmp_path):
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    with pytest.raises(DataError, match=f"could not download .*{port}"):
        download_mnist(tmp_path, ["test"], mirrors=url, timeout=2)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- binarization
def test_binarize_threshold_and_stochastic():
    x = torch.tensor([[0, 1, 127, 128, 200, 255]], dtype=torch.uint8)
    assert binarize(x, "threshold").tolist() == [[0, 0, 0, 1, 1, 1]]
    assert binarize(x.float() / 255, "threshold", threshold=0.7).tolist() == [[0, 0, 0, 0, 1, 1]]
    grey = torch.full((20000,), 64, dtype=torch.uint8)
    a = binarize(grey, seed=1)
    assert torch.equal(a, binarize(grey, seed=1)) and not torch.equal(a, binarize(grey, seed=2))
    p = 64 / 255
    assert abs(float(a.mean()) - p) < 4 * (p * (1 - p) / grey.numel()) ** 0.5
    assert binarize(x, seed=0)[0, 0] == 0 and binarize(x, seed=0)[0, -1] == 1  # p = 0 and 1
    g = torch.Generator().manual_seed(5)
    assert torch.equal(binarize(grey, generator=g), binarize(grey, seed=5))
    assert binarize(x, "threshold", dtype=torch.uint8).dtype == torch.uint8


def test_binarize_rejects_bad_input():
    with pytest.raises(PgmArError, match="unknown binarization 'otsu'"):
        binarize(torch.zeros(3), "otsu")
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        binarize(torch.tensor([0.5, 1.5]))
    with pytest.raises(PgmArError, match="not both"):
        binarize(torch.zeros(3), seed=1, generator=torch.Generator())


def test_binarized_test_set_is_fixed(mnist_dir, mnist_test):
    a, labels = binarized_mnist_test(mnist_dir, seed=0)
    b, _ = binarized_mnist_test(mnist_dir, seed=0)
    c, _ = binarized_mnist_test(mnist_dir, seed=1)
    assert a.shape == (10000, 1, 28, 28) and a.dtype == torch.float32
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert set(a.unique().tolist()) == {0.0, 1.0} and torch.equal(labels, mnist_test[1])
    grey_mean = float(mnist_test[0].double().mean()) / 255
    assert abs(float(a.double().mean()) - grey_mean) < 1e-3  # 7.8M Bernoulli draws
    always = mnist_test[0] == 255
    assert bool((a[always] == 1).all()) and bool((a[mnist_test[0] == 0] == 0).all())


def test_dynamic_binarization_transform():
    grey = torch.randint(0, 256, (8, 1, 4, 4), dtype=torch.uint8,
                         generator=torch.Generator().manual_seed(0))
    t = DynamicBinarization()
    out = t(grey, torch.Generator().manual_seed(3))
    assert torch.equal(out, binarize(grey, seed=3))
    labels = torch.arange(8)
    pair = t((grey, labels), torch.Generator().manual_seed(3))
    assert torch.equal(pair[0], out) and pair[1] is labels
    d = DynamicBinarization(key="img")({"img": grey, "y": labels}, torch.Generator().manual_seed(3))
    assert torch.equal(d["img"], out) and d["y"] is labels
    with pytest.raises(DataError, match="'img'"):
        DynamicBinarization(key="img")({"x": grey}, None)


def test_dynamic_binarized_dataset_resamples_per_epoch():
    grey = torch.full((50, 1, 4, 4), 100, dtype=torch.uint8)
    labels = torch.arange(50)
    ds = DynamicBinarizedDataset(grey, labels, seed=7)
    e0 = ds[:][0].clone()
    ds.set_epoch(1)
    e1 = ds[:][0].clone()
    assert not torch.equal(e0, e1)
    twin = DynamicBinarizedDataset(grey, labels, seed=7)
    twin.set_epoch(1)
    assert torch.equal(twin[:][0], e1)
    ds.set_epoch(0)
    assert torch.equal(ds[:][0], e0)
    image, label = ds[3]
    assert image.shape == (1, 4, 4) and int(label) == 3
    loader = torch.utils.data.DataLoader(ds, batch_size=20)
    assert torch.equal(torch.cat([b[0] for b in loader]), e0)


def test_train_valid_split_is_the_last_10k():
    # the split only slices: numbered stand-ins for the 60,000 training digits show which
    images = torch.arange(60000).view(60000, 1, 1, 1)
    labels = torch.arange(60000) % 10
    (xt, yt), (xv, yv) = train_valid_split(images, labels)
    assert len(xt) == 50000 and len(xv) == 10000
    assert torch.equal(xv, images[50000:]) and torch.equal(yt, labels[:50000])
    with pytest.raises(PgmArError, match="n_valid=70000"):
        train_valid_split(images, labels, n_valid=70000)


# --------------------------------------------------------------------------- embedded set
def test_embedded_digits():
    images, labels = load_embedded_digits()
    assert images.shape == (3000, 1, 14, 14) and images.dtype == torch.float32
    assert set(images.unique().tolist()) == {0.0, 1.0}
    assert torch.bincount(labels, minlength=10).tolist() == [300] * 10
    assert EMBEDDED_DIGITS_PATH.stat().st_size < 300 * 1024
    train, valid = load_embedded_digits("train"), load_embedded_digits("valid", dtype=torch.uint8)
    assert len(train[0]) == 2500 and len(valid[0]) == 500 and valid[0].dtype == torch.uint8
    assert torch.equal(torch.cat([train[0], valid[0].float()]), images)
    with pytest.raises(PgmArError, match="'test'"):
        load_embedded_digits("test")


def test_embedded_digits_are_reproduced_by_their_script(mnist_dir, mnist_train):
    """Provenance: the script rebuilds the shipped file's content from MNIST, bit for bit,
    and the recorded source indices point at MNIST training digits with the same labels."""
    spec = importlib.util.spec_from_file_location(
        "make_embedded_digits", REPO / "scripts" / "make_embedded_digits.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    bits, labels, index = script.make(mnist_dir, per_class=300, seed=0)
    images, shipped_labels = load_embedded_digits(dtype=torch.uint8)
    assert np.array_equal(bits, images.numpy()) and np.array_equal(labels, shipped_labels.numpy())
    with np.load(EMBEDDED_DIGITS_PATH) as npz:
        assert np.array_equal(npz["mnist_train_index"], index)
    assert torch.equal(mnist_train[1][torch.from_numpy(index).long()], shipped_labels)
    # each small image is a 2x2-average downsampling: a pixel can be on only where some
    # grey level of its block is non-zero
    blocks = mnist_train[0][torch.from_numpy(index).long()].float()
    block_max = torch.nn.functional.max_pool2d(blocks, 2)
    assert bool((images[block_max == 0] == 0).all())
