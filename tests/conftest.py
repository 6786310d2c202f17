"""Shared test setup: one torch thread (see DESIGN.md, "Threads") and paths to shared data."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("PGM_AR_SHARED_DATA", REPO.parent / "shared" / "data"))
BIF_DIR = SHARED_DATA / "bif"
MNIST_DIR = SHARED_DATA / "mnist"
BIF_NAMES = ["asia", "cancer", "earthquake", "survey", "sachs", "child", "alarm", "insurance"]


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
    def get(name: str) -> Path:
        path = BIF_DIR / f"{name}.bif.gz"
        if not path.exists():
            pytest.fail(f"shared data missing: {path} (set PGM_AR_SHARED_DATA)")
        return path
    return get
