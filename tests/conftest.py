"""Shared test setup: one torch thread (see DESIGN.md, "Threads"), the example networks shipped
with the package, and the optional full MNIST files."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

from pgm_ar.io.examples import NETWORKS_DIR, example_networks, example_path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
#: the BIF networks are the ones shipped inside the package: tests need nothing beside the repo
BIF_DIR = NETWORKS_DIR
BIF_NAMES = list(example_networks())
#: the full MNIST IDX files are optional: the few tests that need them skip without them
SHARED_DATA = Path(os.environ.get("PGM_AR_SHARED_DATA", REPO.parent / "shared" / "data"))
MNIST_DIR = SHARED_DATA / "mnist"
MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def require_mnist() -> Path:
    """The MNIST directory, or skip the calling test saying what it needs."""
    missing = [name for name in MNIST_FILES if not (MNIST_DIR / name).is_file()]
    if missing:
        pytest.skip(f"needs the full MNIST IDX files in {MNIST_DIR} (missing {', '.join(missing)}; "
                    "set PGM_AR_SHARED_DATA to a folder holding mnist/, or fetch them with "
                    "pgm_ar.datasets.download_mnist)")
    return MNIST_DIR


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    try:
        import torch
    except ImportError:  # structure-only tests do not need torch
        yield
        return
    torch.set_num_threads(1)
    yield


@pytest.fixture
def bif_path():
    """``bif_path("alarm")``: the shipped ``.bif.gz`` file of an example network."""
    return example_path


@pytest.fixture
def mnist_dir() -> Path:
    """The full MNIST directory; the test skips (with the reason) where it is absent."""
    return require_mnist()
