"""The embedded digits, loaded once for the training-loop tests."""
from __future__ import annotations

import pytest

from pgm_ar.datasets import load_embedded_digits


@pytest.fixture(scope="package")
def digits():
    (xt, yt), (xv, yv) = load_embedded_digits("train"), load_embedded_digits("valid")
    return xt, yt, xv, yv
