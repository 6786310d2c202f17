"""The seed policy (pgm_ar.utils.seeding): None, an integer or a generator, the decorator that
applies it, and the forked global generator."""
from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from pgm_ar.errors import PgmArError
from pgm_ar.utils.seeding import forked_global_rng, torch_generator, torch_random_state


def draws(gen: torch.Generator, n: int = 5) -> list:
    return torch.rand(n, generator=gen).tolist()


@pytest.mark.parametrize("seed", [0, 7, 2 ** 40, np.int64(3)])
def test_an_integer_seeds_a_generator(seed):
    assert draws(torch_generator(seed)) == draws(torch.Generator().manual_seed(int(seed)))


def test_none_is_fresh_entropy():
    # two fresh 64-bit seeds coincide with probability 2**-64
    assert torch_generator(None).initial_seed() != torch_generator(None).initial_seed()
    assert draws(torch_generator()) != draws(torch_generator())


def test_a_generator_is_used_as_it_is():
    g = torch.Generator().manual_seed(1)
    assert torch_generator(g) is g
    first, second = draws(torch_generator(g)), draws(torch_generator(g))
    ref = torch.Generator().manual_seed(1)
    assert first == draws(ref) and second == draws(ref)


@pytest.mark.parametrize("bad", [1.5, True, "3", [1]])
def test_other_seeds_are_errors(bad):
    with pytest.raises(PgmArError, match="a seed must be an integer"):
        torch_generator(bad)


def test_the_decorator_converts_every_way_of_passing_the_seed():
    @torch_random_state("seed")
    def noise(n, seed=None):
        assert isinstance(seed, torch.Generator)
        return torch.rand(n, generator=seed).tolist()

    want = draws(torch.Generator().manual_seed(4), 3)
    assert noise(3, 4) == noise(3, seed=4) == noise(n=3, seed=4) == want
    assert noise(3) != noise(3)                     # the default None: fresh entropy
    g = torch.Generator().manual_seed(4)
    assert noise(3, g) == want and noise(3, g) != want   # one generator threaded through
    assert inspect.signature(noise) == inspect.signature(noise.__wrapped__)


def test_the_decorator_needs_the_parameter():
    with pytest.raises(TypeError, match="no parameter 'seed'"):
        @torch_random_state("seed")
        def f(n):
            return n


def test_forked_global_rng_seeds_a_copy_and_restores_the_global_state():
    torch.manual_seed(123)
    expected_next = torch.rand(4).tolist()
    torch.manual_seed(123)
    with forked_global_rng(9):
        inside = torch.rand(4).tolist()
    assert torch.rand(4).tolist() == expected_next          # the caller's stream is untouched
    torch.manual_seed(9)
    assert inside == torch.rand(4).tolist()


def test_forked_global_rng_from_a_generator_or_none():
    with forked_global_rng(torch.Generator().manual_seed(2)):
        a = torch.rand(3).tolist()
    with forked_global_rng(torch.Generator().manual_seed(2)):
        b = torch.rand(3).tolist()
    assert a == b
    torch.manual_seed(5)
    with forked_global_rng(None):
        c = torch.rand(3).tolist()
    with forked_global_rng(None):
        d = torch.rand(3).tolist()
    assert c == d                                           # None: the same state each time
    with pytest.raises(PgmArError):
        with forked_global_rng(0.5):
            pass


def test_families_seeded_through_the_policy_build_equal_modules():
    from pgm_ar.conditionals.fvsbn import FVSBN
    from pgm_ar.variables import Image

    img = Image("x", shape=(1, 3, 3))
    a, b = FVSBN(seed=3).build(img, []), FVSBN(seed=3).build(img, [])
    c = FVSBN(seed=4).build(img, [])
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.weight, c.weight)
