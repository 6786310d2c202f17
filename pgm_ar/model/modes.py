"""Train/eval mode: the public methods of a compiled model answer the same in either.

Some conditionals behave differently in training mode (a MADE ensemble scores one mask per
call and moves to the next; dropout-like behaviour in user families).  A user who has just
compiled a model, or who ran their own training loop, should not get answers that depend on
that flag, so every public method that scores, samples or queries runs in evaluation mode and
puts back each module's own mode afterwards (:func:`in_eval_mode`).  Fitting sets training
mode itself.
"""
from __future__ import annotations

import functools
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar

from torch import nn

__all__ = ["eval_mode", "in_eval_mode"]

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """Run a block with ``module`` and all its sub-modules in evaluation mode, then restore
    every sub-module's own ``training`` flag (not just the top one's).

    >>> lin = nn.Linear(2, 2)
    >>> with eval_mode(lin):
    ...     lin.training
    False
    >>> lin.training
    True
    """
    flags = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for m, flag in flags:
            m.training = flag


def in_eval_mode(method: F) -> F:
    """Decorate a method of an ``nn.Module`` so that it runs under :func:`eval_mode`."""

    @functools.wraps(method)
    def wrapper(self: nn.Module, *args: Any, **kwargs: Any) -> Any:
        with eval_mode(self):
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
