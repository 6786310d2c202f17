"""MLP conditionals: a multilayer perceptron from the parents to a discrete node's logits.

``p(x | parents) = softmax(MLP(u))`` with ``u`` the parents' encoding (one-hot for discrete
parents, the value for real ones) and ReLU hidden layers of the given widths.  As in
:mod:`.logistic`, the first state's logit is fixed at zero.  Without parents the node is a
plain categorical (``card - 1`` logits).  Parameters: those of the layers
``width(u) -> hidden[0] -> ... -> hidden[-1] -> card - 1`` (weights and biases).

>>> from pgm_ar import Bernoulli, Gaussian
>>> MLP(hidden=(8,)).build(Bernoulli("y"), [Gaussian("a"), Gaussian("b")]).num_parameters()
33
>>> (2 * 8 + 8) + (8 * 1 + 1)
33
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Mapping, Optional, Sequence, Tuple

import pyro.distributions as dist
import torch
from torch import nn

from ..errors import PgmArError
from ..variables import Variable
from .base import Conditional, Family, context_size, encode_context
from .logistic import check_discrete_node, discrete_logits, expand_root


def make_mlp(width_in: int, hidden: Sequence[int], width_out: int) -> nn.Sequential:
    """``Linear -> ReLU -> ... -> Linear`` through the given hidden widths."""
    layers = []
    prev = width_in
    for h in hidden:
        layers += [nn.Linear(prev, int(h)), nn.ReLU()]
        prev = int(h)
    layers.append(nn.Linear(prev, width_out))
    return nn.Sequential(*layers)


def check_hidden(hidden: object, family: str) -> Tuple[int, ...]:
    if isinstance(hidden, (int,)) and not isinstance(hidden, bool):
        hidden = (hidden,)
    try:
        out = tuple(int(h) for h in hidden)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise PgmArError(f"{family}: hidden must be a list of layer widths, got {hidden!r}")
    if any(h < 1 for h in out) or any(isinstance(h, bool) for h in hidden):  # type: ignore
        raise PgmArError(f"{family}: hidden layer widths must be positive integers, got {hidden!r}")
    return out


class MLPConditional(Conditional):
    """An MLP from the parents to a discrete node's logits (built by :class:`MLP`)."""

    def __init__(self, variable: Variable, parents: Sequence[Variable],
                 hidden: Sequence[int]) -> None:
        super().__init__(variable, parents)
        self.card = int(variable.cardinality)  # type: ignore[arg-type]
        self.width = context_size(parents)
        if self.width:
            self.net = make_mlp(self.width, hidden, self.card - 1)
            self.root_logits = None
        else:
            self.net = None
            self.root_logits = nn.Parameter(torch.zeros(self.card - 1))

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.root_logits is not None:
            with torch.no_grad():
                self.root_logits.normal_(0.0, 0.1)

    def forward(self, parent_values: Mapping[str, torch.Tensor], batch_size: Optional[int] = None):
        if self.net is None:
            return dist.Categorical(logits=expand_root(discrete_logits(self.root_logits),
                                                       batch_size))
        dtype = self.net[0].weight.dtype
        u = encode_context(self.parent_vars, parent_values, dtype=dtype)
        return dist.Categorical(logits=discrete_logits(self.net(u)))


@dataclass(frozen=True)
class MLP(Family):
    """A discrete node's logits from an MLP of its parents: ``MLP(hidden=(64,))``."""

    name: ClassVar[str] = "mlp"
    hidden: Tuple[int, ...] = (64,)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", check_hidden(self.hidden, "MLP"))

    def supports(self, variable: Variable, parents: Sequence[Variable]) -> Optional[str]:
        return check_discrete_node(variable, "MLP")

    def build(self, variable: Variable, parents: Sequence[Variable]) -> MLPConditional:
        reason = self.supports(variable, parents)
        if reason:
            raise PgmArError(f"variable {variable.name!r}: {reason}")
        return MLPConditional(variable, parents, self.hidden)
