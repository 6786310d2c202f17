"""Counts and d-separation on published networks beyond the shipped example networks.

pgmpy (a test-only dependency) ships more bnlearn networks in its package; each is read by
pgm_ar's own BIF reader and compared with pgmpy's reading of the same file.
"""
from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import pytest

import pgm_ar

import pgmpy
from pgmpy.readwrite import BIFReader

EXAMPLES = Path(pgmpy.__file__).parent / "utils" / "example_models"
# Medium networks: a few seconds in pgmpy's reader all together.
NAMES = ["hailfinder", "hepar2", "win95pts", "water", "andes"]


@pytest.fixture(scope="module", params=NAMES)
def pair(request):
    path = EXAMPLES / f"{request.param}.bif.gz"
    if not path.exists():
        pytest.fail(f"pgmpy no longer ships {path}")
    theirs = BIFReader(string=gzip.open(path, "rt").read()).get_model()
    return pgm_ar.read_bif(path), theirs


def test_free_parameter_counts_match_pgmpy(pair):
    ours, theirs = pair
    expected = sum((c.cardinality[0] - 1) * math.prod(c.cardinality[1:]) for c in theirs.get_cpds())
    assert pgm_ar.count_parameters(ours).total == expected
    assert set(ours.edges) == set(theirs.edges())


def test_d_separation_matches_pgmpy(pair):
    ours, theirs = pair
    rng = np.random.default_rng(0)
    names = list(ours.names)
    for _ in range(60):
        picked = rng.choice(len(names), size=2 + int(rng.integers(0, 4)), replace=False)
        x, y, *given = [names[i] for i in picked]
        assert ours.is_independent(x, y, given) == (not theirs.is_dconnected(x, y, observed=given))
