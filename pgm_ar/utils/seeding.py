"""The seed policy: one way to turn a user's ``seed`` into randomness.

A ``seed`` argument anywhere in pgm_ar means the same thing:

* ``None`` — fresh entropy from the operating system (a different result each call);
* an integer — a generator seeded with it (same seed, same result);
* a :class:`torch.Generator` — used as it is, so a caller can thread one generator
  through several calls.

:func:`torch_generator` applies the policy, :func:`torch_random_state` is a
decorator (in the manner of networkx's ``py_random_state``) that applies it to a
function's ``seed`` argument before the body runs, and :func:`forked_global_rng`
seeds torch's *global* generator for code that only draws from it (Pyro's
distributions) without disturbing the caller's global state.

torch is imported when a generator is made, not when this module is: structure-only
modules (drawing, counting) may decorate their functions without importing torch.

>>> g = torch_generator(7)
>>> bool(torch_generator(7).initial_seed() == g.initial_seed() == 7)
True
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import numbers
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar, Union

from ..errors import PgmArError

if TYPE_CHECKING:
    import torch

__all__ = ["SeedLike", "torch_generator", "torch_random_state", "forked_global_rng"]

SeedLike = Union[None, int, "torch.Generator"]
F = TypeVar("F", bound=Callable[..., Any])


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise PgmArError(f"a seed must be an integer, a torch.Generator or None, got {seed!r}")
    if not 0 <= int(seed) < 2 ** 63:
        # torch and numpy take 64-bit seeds; a larger one would fail deep inside them
        raise PgmArError(f"a seed must be an integer from 0 to 2**63-1, got {seed!r}")
    return int(seed)


def torch_generator(seed: SeedLike = None,
                    device: Union[str, "torch.device", None] = None) -> "torch.Generator":
    """A :class:`torch.Generator` following the seed policy.

    Parameters
    ----------
    seed
        ``None`` (fresh entropy), an integer (seeded), or a generator (returned as is).
    device
        Where a new generator lives (default the CPU); ignored for a given generator.

    Returns
    -------
    torch.Generator

    Raises
    ------
    PgmArError
        For a seed of another type (a float, a bool, text).

    Examples
    --------
    >>> import torch
    >>> a = torch.rand(3, generator=torch_generator(0))
    >>> bool((a == torch.rand(3, generator=torch.Generator().manual_seed(0))).all())
    True
    >>> g = torch.Generator()
    >>> torch_generator(g) is g
    True
    """
    import torch

    if isinstance(seed, torch.Generator):
        return seed
    gen = torch.Generator(device=device if device is not None else "cpu")
    if seed is None:
        gen.seed()  # a non-deterministic seed from the operating system
        return gen
    return gen.manual_seed(_check_seed(seed))


def torch_random_state(argument: str = "seed") -> Callable[[F], F]:
    """Decorator: the function's ``argument`` arrives as a :class:`torch.Generator`.

    Callers pass ``None``, an integer or a generator (see :func:`torch_generator`);
    the body always gets a generator, so it never repeats the conversion.

    Parameters
    ----------
    argument
        The name of the parameter to convert (positional or keyword, with or
        without a default).

    Examples
    --------
    >>> import torch
    >>> @torch_random_state("seed")
    ... def noise(n, seed=None):
    ...     return torch.rand(n, generator=seed)
    >>> bool((noise(4, seed=3) == noise(4, 3)).all())
    True
    """
    def decorate(func: F) -> F:
        signature = inspect.signature(func)
        if argument not in signature.parameters:
            # a programming error in pgm_ar itself, raised when the module is imported
            raise TypeError(f"{func.__qualname__} has no parameter {argument!r} to seed")

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            bound.arguments[argument] = torch_generator(bound.arguments[argument])
            return func(*bound.args, **bound.kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


@contextlib.contextmanager
def forked_global_rng(seed: SeedLike = None,
                      device: Union[str, "torch.device", None] = None) -> Iterator[None]:
    """Run a block on a private copy of torch's global generator.

    For code that can only draw from the global generator (Pyro's ``sample``
    statements, modules' ``reset_parameters``): the global state (of the CPU, and
    of ``device`` when it is a CUDA device) is saved on entry and restored on exit,
    so the caller's own random stream is not disturbed.

    Parameters
    ----------
    seed
        An integer seeds the copy; a generator seeds it with a number drawn from
        that generator; ``None`` leaves the copy as the global state was, so the
        block's draws repeat on every call.
    device
        The device whose CUDA generator is forked too (CPU only by default).

    Examples
    --------
    >>> import torch
    >>> with forked_global_rng(5):
    ...     a = torch.rand(2)
    >>> with forked_global_rng(5):
    ...     b = torch.rand(2)
    >>> bool((a == b).all())
    True
    """
    import torch

    dev = torch.device(device) if device is not None else torch.device("cpu")
    if isinstance(seed, torch.Generator):
        seed = int(torch.randint(0, 2 ** 62, (1,), generator=seed, device=seed.device))
    elif seed is not None:
        seed = _check_seed(seed)
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        if seed is not None:
            torch.manual_seed(seed)
        yield
