"""Same family seed, same initial weights, context weights included, whatever the global RNG."""
from __future__ import annotations

import pytest
import torch

from pgm_ar import Categorical, Image
from pgm_ar.conditionals.ark import ARk
from pgm_ar.conditionals.fvsbn import FVSBN
from pgm_ar.conditionals.made import MADE
from pgm_ar.conditionals.nade import NADE


@pytest.mark.parametrize("family", [NADE(hidden=4, seed=3), MADE(hidden=(5,), seed=3),
                                    FVSBN(seed=3), ARk(k=2, seed=3)])
def test_build_is_deterministic_given_the_seed(family):
    img, label = Image("x", (1, 2, 3)), Categorical("label", 3)
    torch.manual_seed(0)
    a = family.build(img, [label]).state_dict()
    torch.manual_seed(12345)  # a different global state must not matter
    b = family.build(img, [label]).state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
