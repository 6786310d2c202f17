"""Logistic conditionals: softmax (or, for two states, sigmoid) regression on the parents.

``p(x = k | parents) = softmax(W u + b)_k`` where ``u`` is the parents' encoding (one-hot for
discrete parents, the value for real ones, flattened pixels for images).  The first state's
logit is fixed at zero, so the parameters are identifiable: ``(card - 1) * (width(u) + 1)``.
For a binary node with binary parents this is a sigmoid belief net unit.

>>> from pgm_ar import Bernoulli, Gaussian
>>> Logistic().build(Bernoulli("y"), [Gaussian("a"), Bernoulli("b")]).num_parameters()
4
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Mapping, Optional, Sequence

import pyro.distributions as dist
import torch
from torch import nn

from ..errors import PgmArError
from ..variables import Variable
from .base import Conditional, Family, context_size, encode_context


def discrete_logits(free: torch.Tensor) -> torch.Tensor:
    """``(..., card - 1)`` free logits -> ``(..., card)`` with the first state's logit at 0."""
    return torch.cat([torch.zeros_like(free[..., :1]), free], dim=-1)


def expand_root(logits: torch.Tensor, batch_size: Optional[int]) -> torch.Tensor:
    """A parentless node's ``(card,)`` logits, expanded to ``(batch_size, card)`` when given."""
    return logits if batch_size is None else logits.expand((batch_size,) + logits.shape)


def check_discrete_node(variable: Variable, family: str) -> Optional[str]:
    if not variable.is_discrete_scalar:
        return (f"{family} models a discrete scalar node; {variable.name!r} is "
                f"{type(variable).__name__}"
                + (" (use LinearGaussian or MLPGaussian)" if not variable.is_discrete else ""))
    return None


class LogisticConditional(Conditional):
    """Softmax regression of a discrete node on its parents (built by :class:`Logistic`)."""

    def __init__(self, variable: Variable, parents: Sequence[Variable]) -> None:
        super().__init__(variable, parents)
        self.card = int(variable.cardinality)  # type: ignore[arg-type]
        self.width = context_size(parents)
        self.bias = nn.Parameter(torch.zeros(self.card - 1))
        self.weight = nn.Parameter(torch.zeros(self.card - 1, self.width)) if self.width else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            if self.weight is not None:
                bound = 1.0 / math.sqrt(self.width)
                self.weight.uniform_(-bound, bound)
            self.bias.normal_(0.0, 0.1)

    def forward(self, parent_values: Mapping[str, torch.Tensor], batch_size: Optional[int] = None):
        if self.weight is None:
            return dist.Categorical(logits=expand_root(discrete_logits(self.bias), batch_size))
        u = encode_context(self.parent_vars, parent_values, dtype=self.bias.dtype)
        free = torch.nn.functional.linear(u, self.weight, self.bias)
        return dist.Categorical(logits=discrete_logits(free))


@dataclass(frozen=True)
class Logistic(Family):
    """Softmax / sigmoid regression of a discrete node on its (discrete or real) parents."""

    name: ClassVar[str] = "logistic"
    exact: ClassVar[bool] = True

    def supports(self, variable: Variable, parents: Sequence[Variable]) -> Optional[str]:
        return check_discrete_node(variable, "Logistic")

    def build(self, variable: Variable, parents: Sequence[Variable]) -> LogisticConditional:
        reason = self.supports(variable, parents)
        if reason:
            raise PgmArError(f"variable {variable.name!r}: {reason}")
        return LogisticConditional(variable, parents)
